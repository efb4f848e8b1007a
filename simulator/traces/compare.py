"""Compare two traces dataset by dataset: the same episode run with two pybullet builds,
Pythons, numpy versions or machines (docs/platforms.md).

Every dataset of either file is compared over the rows both have; a table (compound
dataset) is compared field by field, as ``"/safety/contacts:force"``. Numbers are
compared as float64 (NaN in the same place counts as equal), text as text.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.traces.reader import Trace, read_trace
from simulator.traces.writer import VOLATILE_ATTRS

#: datasets that hold wall-clock times, which differ between any two runs
WALL_CLOCK_DATASETS = ("/policy/compute_time",)


@dataclass(frozen=True)
class DatasetDifference:
    """How one dataset (or table field) of trace A differs from trace B.

    ``shape_a``/``shape_b`` are None where the dataset is missing; ``max_abs`` is the
    largest absolute difference in the dataset's unit (NaN for text, and where no row is
    shared), ``different`` the number of elements that differ, ``first_row`` the first
    row with a difference (None: none)."""

    path: str
    units: str
    shape_a: tuple[int, ...] | None
    shape_b: tuple[int, ...] | None
    max_abs: float
    different: int
    first_row: int | None

    @property
    def identical(self) -> bool:
        return self.shape_a == self.shape_b and self.different == 0

    @property
    def wall_clock(self) -> bool:
        return self.path.split(":")[0] in WALL_CLOCK_DATASETS


def _compare(path: str, units: Any, a: np.ndarray | None, b: np.ndarray | None) -> DatasetDifference:
    shape_a = None if a is None else a.shape
    shape_b = None if b is None else b.shape
    units = units if isinstance(units, str) else ""
    if a is None or b is None or a.shape[1:] != b.shape[1:]:
        return DatasetDifference(path, units, shape_a, shape_b, float("nan"), 0, None)
    rows = min(len(a), len(b))
    a, b = a[:rows], b[:rows]
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        x, y = a.astype(np.float64), b.astype(np.float64)
        same = (x == y) | (np.isnan(x) & np.isnan(y))
        max_abs = float(np.max(np.where(same, 0.0, np.abs(x - y)))) if rows else float("nan")
    else:
        same = np.asarray(a == b, dtype=bool).reshape(a.shape)
        max_abs = float("nan")
    rows_differing = np.flatnonzero(~same.reshape(rows, -1).all(axis=1)) if same.size else []
    return DatasetDifference(path, units, shape_a, shape_b, max_abs, int(np.count_nonzero(~same)),
                             int(rows_differing[0]) if len(rows_differing) else None)


def _fields(trace: Trace, path: str) -> dict[str, tuple[Any, np.ndarray]]:
    """``{path or path:field: (units, array)}`` of one dataset of ``trace``."""
    array = trace.datasets[path]
    units = trace.dataset_attrs[path].get("units", "")
    if array.dtype.names is None:
        return {path: (units, array)}
    per_field = units if isinstance(units, list) else [""] * len(array.dtype.names)
    return {f"{path}:{name}": (unit, array[name]) for name, unit in zip(array.dtype.names, per_field)}


def compare_traces(a: str | os.PathLike | Trace, b: str | os.PathLike | Trace) -> list[DatasetDifference]:
    """One :class:`DatasetDifference` per dataset or table field of either trace, by path."""
    a = a if isinstance(a, Trace) else read_trace(a)
    b = b if isinstance(b, Trace) else read_trace(b)
    fields_a = {k: v for path in a.datasets for k, v in _fields(a, path).items()}
    fields_b = {k: v for path in b.datasets for k, v in _fields(b, path).items()}
    out = []
    for key in sorted(set(fields_a) | set(fields_b)):
        units, x = fields_a.get(key, (None, None))
        units_b, y = fields_b.get(key, (None, None))
        out.append(_compare(key, units if units is not None else units_b, x, y))
    return out


def attribute_differences(a: str | os.PathLike | Trace, b: str | os.PathLike | Trace) -> dict[str, tuple[Any, Any]]:
    """The root attributes whose values differ, ``{name: (value_a, value_b)}`` (None where
    missing), leaving out those that differ between any two runs (``created``, ``wall_time``)."""
    a = a if isinstance(a, Trace) else read_trace(a)
    b = b if isinstance(b, Trace) else read_trace(b)
    out = {}
    for name in sorted(set(a.attrs) | set(b.attrs)):
        if name in VOLATILE_ATTRS:
            continue
        x, y = a.attrs.get(name), b.attrs.get(name)
        if not np.array_equal(np.asarray(x, dtype=object), np.asarray(y, dtype=object)):
            out[name] = (x, y)
    return out
