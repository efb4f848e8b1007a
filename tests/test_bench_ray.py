"""The Ray backend (a local Ray instance started by the test) gives the local backend's
rows and trace datasets; a Ray address that does not answer fails before any episode."""
from __future__ import annotations

import socket

import numpy as np
import pytest

from benchmarks.bench import run_suite
from benchmarks.metrics import same_row
from simulator.errors import ConfigError
from simulator.traces import read_trace
from tests.fixtures.bench import tiny_suite

pytest.importorskip("ray", reason="the Ray backend needs the extra 'ray' (in 'test')")

VOLATILE_DATASETS = ("/policy/compute_time",)  # wall-clock


def _same_dataset(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.names is None:
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a.dtype.names == b.dtype.names and all(_same_dataset(a[n], b[n]) for n in a.dtype.names)


def test_ray_and_local_backends_give_identical_rows_and_traces(tmp_path):
    suite = tiny_suite(tmp_path)
    local = run_suite(str(suite), tmp_path / "local", workers=2, progress=False,
                      echo=lambda *a: None)
    ray = run_suite(str(suite), tmp_path / "ray", workers=2, backend="ray", progress=False,
                    echo=lambda *a: None)
    assert ray.exit_code == 0 and len(ray.rows) == len(local.rows) == 8
    assert all(same_row(a, b) for a, b in zip(local.rows, ray.rows))
    for row in local.rows:
        a, b = read_trace(local.out / row["trace"]), read_trace(ray.out / row["trace"])
        assert sorted(a.datasets) == sorted(b.datasets)
        different = [k for k in a.datasets if k not in VOLATILE_DATASETS
                     and not _same_dataset(a[k], b[k])]
        assert not different, (row["trace"], different)


def test_a_ray_address_that_does_not_answer_fails_before_any_episode(tmp_path):
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    suite = tiny_suite(tmp_path)
    with pytest.raises(ConfigError, match=f"no Ray cluster answers at 127.0.0.1:{port}"):
        run_suite(str(suite), tmp_path / "out", backend="ray", address=f"127.0.0.1:{port}",
                  progress=False, echo=lambda *a: None)
    assert not (tmp_path / "out").exists()
