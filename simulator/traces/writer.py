"""Write one episode to an HDF5 trace, incrementally, and finish it atomically.

The file is written as ``<path>.partial`` and renamed to ``<path>`` by
:meth:`TraceWriter.close` (``os.replace`` after the HDF5 file is flushed, closed and
fsynced). A process that dies leaves only the ``.partial`` file, which readers never
count as a result. The format is described in ``docs/trace-format.md``.

Rows are buffered in memory and written every ``flush_every`` rows (default 64) and at
close, so a crash loses at most the last ``flush_every - 1`` rows of a file that is
unfinished anyway.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import h5py
import numpy as np

log = logging.getLogger(__name__)

SCHEMA = "cobotsim-trace"
SCHEMA_VERSION = 1
PARTIAL_SUFFIX = ".partial"
RUNNING = "running"
STATUSES = ("complete", "policy_error", "sim_error", "interrupted")
# Root attributes the writer owns; callers may not pass them at open.
RESERVED_ATTRS = ("schema", "schema_version", "status", "created")
# Root attributes that differ between two runs of the same episode.
VOLATILE_ATTRS = ("created", "wall_time")
_CHUNK_BYTES = 64 * 1024


def partial_path(path: str | os.PathLike) -> Path:
    """The name a trace has while it is being written: ``<path>.partial``."""
    path = Path(path)
    return path.with_name(path.name + PARTIAL_SUFFIX)


def attr_value(key: str, value: Any) -> Any:
    """``value`` as something h5py stores portably (str as UTF-8, bool, int64, float64).

    Lists/tuples of str become string arrays; other sequences become numeric arrays.
    Raises ``TypeError`` (naming ``key``) for None, dicts and other objects.
    """
    if isinstance(value, (bool, np.bool_)):
        return np.bool_(value)
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value) and value:
        return np.array(value, dtype=h5py.string_dtype())
    if isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value)
        if array.dtype.kind in "biuf":
            return array
    raise TypeError(f"trace attribute {key!r}: cannot store {type(value).__name__} {value!r}; "
                    "use str, bool, int, float, a list of str or a numeric array")


def _row_array(key: str, value: Any, compact: bool) -> np.ndarray:
    """One row of dataset ``key`` with the dtype it is stored as."""
    array = np.asarray(value)
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(np.float32 if compact else np.float64, copy=False)
    if kind in "iu":
        return array.astype(np.int64, copy=False)
    if kind == "b":
        return array
    raise TypeError(f"trace dataset {key!r}: cannot store dtype {array.dtype} ({value!r})")


class TraceWriter:
    """Writes one episode to ``path`` (an HDF5 file), finishing it atomically.

    Args:
        path: final file name, e.g. ``runs/x/traces/handover_seed0003_ep0003.h5``;
            parent folders are created.
        attrs: root attributes written at open (scenario, robot, policy, seed, ...).
        units: unit of each dataset by absolute path, e.g. ``{"/time": "s"}``; written
            as the dataset attribute ``units`` (a missing unit is logged and stored "").
        compact: dataset paths stored as float32 instead of float64.
        flush_every: rows buffered in memory between writes to the file.
        overwrite: replace an existing finished trace (it is removed at open) instead
            of raising ``FileExistsError``.

    As a context manager it closes with ``complete`` on a normal exit, ``interrupted``
    on KeyboardInterrupt and ``sim_error`` on any other exception.
    """

    def __init__(self, path: str | os.PathLike, attrs: Mapping[str, Any],
                 units: Mapping[str, str] | None = None, *, compact: Iterable[str] = (),
                 flush_every: int = 64, overwrite: bool = False) -> None:
        if flush_every < 1:
            raise ValueError(f"flush_every must be >= 1, got {flush_every}")
        reserved = sorted(set(attrs) & set(RESERVED_ATTRS))
        if reserved:
            raise ValueError(f"trace attributes {reserved} are set by the writer, not the caller")
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.overwrite = overwrite
        self._check_target()
        if self.path.exists():
            log.info("overwriting finished trace %s", self.path)
            self.path.unlink()
        if self.partial.exists():
            log.warning("removing stale unfinished trace %s", self.partial)
            self.partial.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.units = dict(units or {})
        self.compact = frozenset(compact)
        self.flush_every = flush_every
        self.n_rows = 0
        self._pending_attrs: dict[str, dict[str, Any]] = {}
        self._buffers: dict[str, np.ndarray] | None = None
        self._datasets: dict[str, h5py.Dataset] = {}
        self._buffered = 0
        self._file: h5py.File | None = h5py.File(self.partial, "w")
        root = self._file.attrs
        root["schema"] = SCHEMA
        root["schema_version"] = np.int64(SCHEMA_VERSION)
        root["status"] = RUNNING
        root["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for key, value in attrs.items():
            root[key] = attr_value(key, value)

    def _check_target(self) -> None:
        if self.path.exists() and not self.overwrite:
            raise FileExistsError(f"trace {self.path} already exists; pass overwrite=True to replace it")

    @property
    def closed(self) -> bool:
        return self._file is None

    def _open_file(self) -> h5py.File:
        if self._file is None:
            raise RuntimeError(f"trace {self.path} is already closed")
        return self._file

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one row (absolute dataset path -> array or scalar) to every dataset.

        The first row fixes the dataset paths, shapes and dtypes; later rows must match.
        """
        self._open_file()
        if self._buffers is None:
            self._buffers = {key: np.empty((self.flush_every, *value.shape), value.dtype)
                             for key, value in self._first_row(row).items()}
        if row.keys() != self._buffers.keys():
            missing = sorted(self._buffers.keys() - row.keys())
            extra = sorted(row.keys() - self._buffers.keys())
            raise KeyError(f"trace {self.path} row {self.n_rows}: missing {missing}, unexpected {extra}")
        for key, buffer in self._buffers.items():
            value = row[key]
            if np.shape(value) != buffer.shape[1:]:
                raise ValueError(f"trace {self.path} row {self.n_rows} {key!r}: expected shape "
                                 f"{buffer.shape[1:]}, got {np.shape(value)}")
            if buffer.dtype.kind != "f" and np.asarray(value).dtype.kind not in "biu":
                raise TypeError(f"trace {self.path} row {self.n_rows} {key!r}: dataset holds "
                                f"{buffer.dtype}, got {np.asarray(value).dtype}")
            buffer[self._buffered] = value
        self._buffered += 1
        self.n_rows += 1
        if self._buffered == self.flush_every:
            self.flush()

    def _first_row(self, row: Mapping[str, Any]) -> dict[str, np.ndarray]:
        arrays = {}
        for key, value in row.items():
            if not key.startswith("/"):
                raise KeyError(f"trace dataset paths are absolute ('/robot/q'), got {key!r}")
            arrays[key] = _row_array(key, value, key in self.compact)
            self._create_dataset(key, arrays[key])
        return arrays

    def _create_dataset(self, key: str, example: np.ndarray) -> None:
        row_bytes = max(example.nbytes, 1)
        chunk_rows = int(np.clip(_CHUNK_BYTES // row_bytes, 64, 4096))
        dataset = self._open_file().create_dataset(
            key, shape=(0, *example.shape), maxshape=(None, *example.shape),
            dtype=example.dtype, chunks=(chunk_rows, *example.shape))
        self._datasets[key] = dataset
        if key not in self.units:
            log.warning("trace %s: no unit declared for dataset %s", self.path, key)
        dataset.attrs["units"] = self.units.get(key, "")
        for name, value in self._pending_attrs.pop(key, {}).items():
            dataset.attrs[name] = value

    def flush(self) -> None:
        """Write the buffered rows to the file (called every ``flush_every`` rows)."""
        file = self._open_file()
        if self._buffers is None or self._buffered == 0:
            return
        start = self.n_rows - self._buffered
        for key, buffer in self._buffers.items():
            dataset = self._datasets[key]
            dataset.resize(self.n_rows, axis=0)
            dataset.write_direct(buffer, np.s_[:self._buffered], np.s_[start:self.n_rows])
        self._buffered = 0
        file.flush()

    def set_dataset_attrs(self, path: str, **attrs: Any) -> None:
        """Set attributes of dataset ``path`` (now, or when its first row arrives)."""
        file = self._open_file()
        values = {name: attr_value(f"{path}@{name}", value) for name, value in attrs.items()}
        if path in file:
            file[path].attrs.update(values)
        else:
            self._pending_attrs.setdefault(path, {}).update(values)

    def add_table(self, path: str, records: list[Mapping[str, Any]], *,
                  dtype: np.dtype | None = None, units: Mapping[str, str] | None = None) -> None:
        """Write ``records`` (dicts with the same keys) as one structured dataset.

        Fields are float64, int64, bool or UTF-8 str, inferred from the first record
        unless ``dtype`` is given (needed for an empty table). ``units`` (field -> unit)
        is stored as the attribute ``units``: one string per field, in field order.
        """
        file = self._open_file()
        if dtype is None:
            if not records:
                raise ValueError(f"trace table {path!r}: an empty table needs an explicit dtype")
            dtype = np.dtype([(name, _field_dtype(path, name, value)) for name, value in records[0].items()])
        table = np.zeros(len(records), dtype=dtype)
        for index, record in enumerate(records):
            if set(record) != set(dtype.names):
                raise KeyError(f"trace table {path!r} record {index}: fields {sorted(record)}, "
                               f"expected {sorted(dtype.names)}")
            table[index] = tuple(record[name] for name in dtype.names)
        dataset = file.create_dataset(path, data=table, maxshape=(None,))
        dataset.attrs["units"] = np.array([(units or {}).get(name, "") for name in dtype.names],
                                          dtype=h5py.string_dtype())

    def close(self, status: str, **final_attrs: Any) -> Path:
        """Flush, set ``status`` and ``final_attrs``, and rename to the final name.

        ``status`` is one of :data:`STATUSES`; anything else raises ``ValueError`` and
        leaves the writer open. Returns the final path.
        """
        if status not in STATUSES:
            raise ValueError(f"trace status must be one of {STATUSES}, got {status!r}")
        file = self._open_file()
        self.flush()
        file.attrs["status"] = status
        for key, value in final_attrs.items():
            file.attrs[key] = attr_value(key, value)
        file.flush()
        file.close()
        self._file = None
        with open(self.partial, "rb+") as handle:
            os.fsync(handle.fileno())
        self._check_target()
        os.replace(self.partial, self.path)
        log.debug("finished trace %s (%s, %d rows)", self.path, status, self.n_rows)
        return self.path

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self.closed:
            return
        if exc_type is None:
            self.close("complete")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close("interrupted", error="KeyboardInterrupt")
        else:
            self.close("sim_error", error=f"{exc_type.__name__}: {exc}")


def _field_dtype(path: str, name: str, value: Any) -> Any:
    if isinstance(value, str):
        return h5py.string_dtype()
    if isinstance(value, (bool, np.bool_)):
        return np.bool_
    if isinstance(value, (int, np.integer)):
        return np.int64
    if isinstance(value, (float, np.floating)):
        return np.float64
    raise TypeError(f"trace table {path!r} field {name!r}: cannot store {type(value).__name__}")
