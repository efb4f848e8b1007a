"""Comparing two traces dataset by dataset (simulator/traces/compare.py, docs/platforms.md)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simulator.traces import TraceWriter
from simulator.traces.compare import attribute_differences, compare_traces

UNITS = {"/time": "s", "/robot/q": "rad", "/safety/ssm/margin": "m"}


def write(path: Path, n: int, *, nudge: float = 0.0, at: int = 0, attrs: dict | None = None,
          contacts: list[dict] = ()) -> Path:
    writer = TraceWriter(path, {"scenario": "handover", **(attrs or {})}, UNITS)
    rng = np.random.default_rng(0)
    for k in range(n):
        q = rng.normal(size=7)
        if k >= at:
            q[2] += nudge
        writer.append({"/time": (k + 1) * 0.05, "/robot/q": q,
                       "/safety/ssm/margin": math.nan if k == 1 else 0.1 * k})
    if contacts:
        writer.add_table("/safety/contacts", list(contacts), units={"t": "s", "region": "", "force": "N"})
    return writer.close("complete")


def by_path(diffs):
    return {d.path: d for d in diffs}


def test_a_trace_equals_itself_nan_included(tmp_path):
    a = write(tmp_path / "a.h5", 6, contacts=[{"t": 0.1, "region": "hand", "force": 3.0}])
    b = write(tmp_path / "b.h5", 6, contacts=[{"t": 0.1, "region": "hand", "force": 3.0}])
    diffs = compare_traces(a, b)
    assert {d.path for d in diffs} == {"/time", "/robot/q", "/safety/ssm/margin",
                                       "/safety/contacts:t", "/safety/contacts:region",
                                       "/safety/contacts:force"}
    assert all(d.identical and d.different == 0 and d.first_row is None for d in diffs)
    assert by_path(diffs)["/robot/q"].max_abs == 0.0 and by_path(diffs)["/robot/q"].units == "rad"
    assert attribute_differences(a, b) == {}  # created differs, and is left out


def test_differences_are_measured_per_dataset_and_table_field(tmp_path):
    a = write(tmp_path / "a.h5", 6, contacts=[{"t": 0.1, "region": "hand", "force": 3.0}],
              attrs={"pybullet_build": "pybullet 3.2.7"})
    b = write(tmp_path / "b.h5", 6, nudge=1e-4, at=4,
              contacts=[{"t": 0.1, "region": "lower_arm", "force": 3.5},
                        {"t": 0.2, "region": "hand", "force": 1.0}],
              attrs={"pybullet_build": "pybullet-arm64 3.2.8"})
    d = by_path(compare_traces(a, b))
    q = d["/robot/q"]
    assert not q.identical and q.first_row == 4 and q.different == 2
    assert q.max_abs == pytest.approx(1e-4, rel=1e-9)
    assert d["/time"].identical and d["/safety/ssm/margin"].identical
    force = d["/safety/contacts:force"]
    assert (force.shape_a, force.shape_b) == ((1,), (2,)) and not force.identical
    assert force.max_abs == 0.5 and force.units == "N"
    region = d["/safety/contacts:region"]
    assert region.different == 1 and math.isnan(region.max_abs)
    assert attribute_differences(a, b) == {"pybullet_build": ("pybullet 3.2.7", "pybullet-arm64 3.2.8")}


def test_a_dataset_missing_from_one_trace_is_listed(tmp_path):
    a = write(tmp_path / "a.h5", 3, contacts=[{"t": 0.1, "region": "hand", "force": 3.0}])
    b = write(tmp_path / "b.h5", 3)
    force = by_path(compare_traces(a, b))["/safety/contacts:force"]
    assert force.shape_a == (1,) and force.shape_b is None and not force.identical
