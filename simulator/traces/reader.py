"""Read cobotsim traces back: one file (:func:`read_trace`) or a folder (:func:`iter_traces`).

Only finished files (``*.h5``) are results; ``*.h5.partial`` files are episodes that
are still running or whose process died, and are never returned by :func:`iter_traces`.
The format is described in ``docs/trace-format.md``.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np

from simulator.traces.writer import PARTIAL_SUFFIX, SCHEMA, SCHEMA_VERSION

log = logging.getLogger(__name__)


class TraceError(ValueError):
    """A file that is not a cobotsim trace this version can read."""


@dataclass
class Trace:
    """One episode read from a trace file.

    ``attrs`` are the root attributes (str, bool, int, float, list[str] or arrays),
    ``datasets`` maps absolute paths (``"/robot/q"``) to arrays whose first axis is the
    step, ``dataset_attrs`` maps the same paths to their attributes (``units``, ...).
    """

    path: Path
    attrs: dict[str, Any]
    datasets: dict[str, np.ndarray] = field(default_factory=dict)
    dataset_attrs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``complete``, ``policy_error``, ``sim_error``, ``interrupted`` (or ``running``)."""
        return self.attrs["status"]

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    def units(self, path: str) -> Any:
        """The ``units`` attribute of dataset ``path`` (a str; per field for tables)."""
        return self.dataset_attrs[path].get("units", "")

    def __contains__(self, path: str) -> bool:
        return path in self.datasets

    def __getitem__(self, path: str) -> np.ndarray:
        try:
            return self.datasets[path]
        except KeyError:
            raise KeyError(f"trace {self.path} has no dataset {path!r}; "
                           f"it has {sorted(self.datasets)}") from None


def _python_value(value: Any) -> Any:
    """An attribute as a plain Python value where one exists (np.bool_ -> bool, ...)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "OSU":
        return [_python_value(v) for v in value.tolist()]
    return value


def _decode_table(array: np.ndarray) -> np.ndarray:
    """A structured array with its variable-length string fields decoded to str."""
    if array.dtype.names is None or not any(array.dtype[n].kind == "O" for n in array.dtype.names):
        return array
    decoded = array.copy()
    for name in array.dtype.names:
        if array.dtype[name].kind == "O":
            decoded[name] = [_python_value(v) for v in array[name]]
    return decoded


def _check_schema(path: Path, file: h5py.File) -> None:
    schema = file.attrs.get("schema")
    if schema is None:
        raise TraceError(f"{path} is not a cobotsim trace: it has no 'schema' attribute "
                         f"(root attributes: {sorted(file.attrs)})")
    if _python_value(schema) != SCHEMA:
        raise TraceError(f"{path} is not a cobotsim trace: schema is {_python_value(schema)!r}, "
                         f"expected {SCHEMA!r}")
    version = _python_value(file.attrs.get("schema_version"))
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        raise TraceError(f"{path}: schema_version {version!r} cannot be read by this cobotsim "
                         f"(reads versions 1..{SCHEMA_VERSION})")


def _open(path: Path, allow_partial: bool) -> h5py.File:
    if path.name.endswith(PARTIAL_SUFFIX) and not allow_partial:
        raise TraceError(f"{path} is an unfinished trace (.partial); it is not a result")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise TraceError(f"{path} cannot be opened as HDF5: {exc}") from exc


def read_attrs(path: str | os.PathLike, *, allow_partial: bool = False) -> dict[str, Any]:
    """Only the root attributes of the trace at ``path`` (fast; no datasets are read)."""
    path = Path(path)
    with _open(path, allow_partial) as file:
        _check_schema(path, file)
        return {key: _python_value(value) for key, value in file.attrs.items()}


def read_trace(path: str | os.PathLike, *, allow_partial: bool = False) -> Trace:
    """Read the whole trace at ``path``.

    Raises :class:`TraceError` for a file that is not a cobotsim trace, and for a
    ``.partial`` file unless ``allow_partial`` (for debugging a crashed episode).
    """
    path = Path(path)
    with _open(path, allow_partial) as file:
        _check_schema(path, file)
        trace = Trace(path=path, attrs={key: _python_value(v) for key, v in file.attrs.items()})

        def visit(name: str, item: Any) -> None:
            if isinstance(item, h5py.Dataset):
                key = "/" + name
                trace.datasets[key] = _decode_table(item[()])
                trace.dataset_attrs[key] = {k: _python_value(v) for k, v in item.attrs.items()}

        file.visititems(visit)
    return trace


def iter_traces(folder: str | os.PathLike, include_incomplete: bool = False) -> Iterator[Trace]:
    """The finished traces (``*.h5``) in ``folder``, sorted by file name.

    ``.partial`` files are always skipped; traces whose status is not ``complete``
    (policy_error, sim_error, interrupted) are skipped unless ``include_incomplete``.
    A file that is not a cobotsim trace raises :class:`TraceError`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"trace folder {folder} does not exist")
    for path in sorted(folder.glob("*.h5")):
        if not include_incomplete and read_attrs(path).get("status") != "complete":
            log.debug("skipping incomplete trace %s", path)
            continue
        yield read_trace(path)
