"""Write one episode to an HDF5 trace, incrementally, and finish it atomically.

The file is written as ``<path>.partial`` and renamed to ``<path>`` by
:meth:`TraceWriter.close` (``os.replace`` after the HDF5 file is flushed, closed and
fsynced). A process that dies leaves only the ``.partial`` file, which readers never
count as a result. The format is described in ``docs/trace-format.md``.

Rows are buffered in memory and written every ``flush_every`` rows (default 64) and at
close, so a crash loses at most the last ``flush_every - 1`` rows of a file that is
unfinished anyway.

A write that the file system refuses (a full disk, a quota, a folder that became
read-only) raises :class:`TraceWriteError` naming the file and the reason; the writer
then abandons the episode and removes its ``.partial`` file, so nothing half-written is
left behind and finished traces are untouched.
"""
from __future__ import annotations

import contextlib
import errno as errno_codes
import logging
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import h5py
import numpy as np

from simulator.errors import CobotsimError
from simulator.interrupts import deferred

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
MIN_FREE_BYTES = 1024 * 1024  # a write that would leave less free space is refused


class TraceWriteError(CobotsimError, OSError):
    """The file system refused a write to a trace (``errno`` as found, e.g. ENOSPC).

    ``hdf5_broken``: HDF5 itself met the failed write and could not close the file; the
    process should end with ``os._exit`` (HDF5's exit handler may crash on it)."""

    hdf5_broken = False

    def __str__(self) -> str:
        return self.strerror


def _write_error(path: Path, exc: Exception) -> TraceWriteError:
    """``exc`` (h5py's RuntimeError/OSError, whose text holds ``errno = N``) as a
    :class:`TraceWriteError` naming the file and the operating system's reason."""
    code = getattr(exc, "errno", None)
    if code is None:
        found = re.search(r"errno = (\d+)", str(exc))
        code = int(found.group(1)) if found else None
    reason = os.strerror(code) if code else f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    error = TraceWriteError(code or errno_codes.EIO, f"cannot write trace {path}: {reason}")
    error.filename = str(path)
    return error


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
        self._file: h5py.File | None = None
        self._hdf5_broken = False
        values = {key: attr_value(key, value) for key, value in attrs.items()}
        self._check_space(_CHUNK_BYTES)
        try:
            with self._writing():
                self._file = h5py.File(self.partial, "w")
                root = self._file.attrs
                root["schema"] = SCHEMA
                root["schema_version"] = np.int64(SCHEMA_VERSION)
                root["status"] = RUNNING
                root["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
                for key, value in values.items():
                    root[key] = value
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM while opening: finish, never leave it
            if self._file is not None:
                self.close("interrupted", error="KeyboardInterrupt while the trace was opened")
            raise

    @contextlib.contextmanager
    def _writing(self):
        """Turn the file system's refusal inside the block into :class:`TraceWriteError`,
        abandoning the episode (module docstring). Ctrl-C and SIGTERM wait until the
        block has ended (:func:`simulator.interrupts.deferred`), so a write is never cut
        in half."""
        try:
            with deferred():
                yield
        except (OSError, RuntimeError) as exc:
            if isinstance(exc, FileExistsError):
                raise
            error = _write_error(self.partial, exc)
            self._abandon()
            error.hdf5_broken = self._hdf5_broken
            raise error from exc

    def _abandon(self) -> None:
        """Close the file and remove the ``.partial``. The descriptor is first pointed at
        an anonymous in-memory file, so that whatever HDF5 still holds for this file
        goes there instead of to the refusing disk. After HDF5 itself met a failed write
        its state can stay broken (the close fails and its exit handler can crash the
        process): :attr:`TraceWriteError.hdf5_broken` says so, and a program should then
        exit without running HDF5's exit handler (``os._exit``)."""
        file, self._file = self._file, None
        self._datasets = {}
        if file is not None:
            try:
                scratch = os.memfd_create("abandoned-trace") if hasattr(os, "memfd_create") \
                    else os.open(os.devnull, os.O_RDWR)
                try:
                    os.dup2(scratch, file.id.get_vfd_handle())
                finally:
                    os.close(scratch)
                file.close()
            except Exception as exc:  # the data cannot reach the disk anyway
                self._hdf5_broken = True
                log.debug("closing the abandoned trace %s: %s", self.partial, exc)
        try:
            self.partial.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot remove the abandoned trace %s: %s", self.partial, exc)
        log.info("abandoned trace %s: the file system refused a write", self.partial)

    def _check_space(self, nbytes: int) -> None:
        """Refuse (ENOSPC) before HDF5 writes ``nbytes`` to a disk without room for them
        and :data:`MIN_FREE_BYTES` more: HDF5 recovers badly from a failed write."""
        try:
            stat = os.statvfs(self.partial.parent)
        except (OSError, AttributeError):  # no statvfs (Windows): let HDF5 find out
            return
        free = stat.f_bavail * stat.f_frsize
        if free < 2 * nbytes + MIN_FREE_BYTES:
            error = TraceWriteError(errno_codes.ENOSPC, f"cannot write trace {self.partial}: "
                                    f"{os.strerror(errno_codes.ENOSPC)} ({free // 1024} kB "
                                    f"free, at least {(2 * nbytes + MIN_FREE_BYTES) // 1024} "
                                    "kB wanted)")
            error.filename = str(self.partial)
            self._abandon()
            raise error

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
            with self._writing():
                first = self._first_row(row)
            self._buffers = {key: np.empty((self.flush_every, *value.shape), value.dtype)
                             for key, value in first.items()}
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
        self._check_space(sum(b[:self._buffered].nbytes for b in self._buffers.values()))
        with self._writing():
            for key, buffer in self._buffers.items():
                dataset = self._datasets[key]
                dataset.resize(self.n_rows, axis=0)
                dataset.write_direct(buffer, np.s_[:self._buffered], np.s_[start:self.n_rows])
            file.flush()
        self._buffered = 0

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
        self._check_space(table.nbytes + _CHUNK_BYTES)
        with self._writing():
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
        values = {key: attr_value(key, value) for key, value in final_attrs.items()}
        with deferred():  # a signal now would leave the .partial behind
            self.flush()
            self._check_space(_CHUNK_BYTES)
            with self._writing():
                file.attrs["status"] = status
                file.attrs.update(values)
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
