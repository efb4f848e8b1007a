"""The command line: run, list, traces on disk, bad input."""
from __future__ import annotations

import json
import platform

import numpy as np
import pytest

from simulator.cli import main
from simulator.env import CellEnv
from simulator.runner import run_episode
from simulator.traces import iter_traces, read_trace
from simulator.version import pybullet_build


def test_run_writes_a_complete_trace_per_episode(tmp_path, capsys):
    assert main(["run", "handover", "--seed", "2", "--episodes", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("status=complete") == 2 and str(tmp_path / "traces") in out
    files = sorted((tmp_path / "traces").glob("*.h5"))
    assert [f.name for f in files] == ["handover_scripted_seed00002.h5", "handover_scripted_seed00003.h5"]
    trace = read_trace(files[0])
    a = trace.attrs
    assert a["schema"] == "cobotsim-trace" and a["status"] == "complete"
    assert a["scenario"] == "handover" and a["robot"] == "panda" and a["policy"] == "scripted"
    assert a["seed"] == 2 and a["success"] in (True, False)
    assert "id: handover" in a["scenario_spec"]
    assert a["pybullet_build"] == pybullet_build() and a["pybullet_build"].startswith("pybullet")
    assert a["numpy_version"] == np.__version__ and a["python_version"] == platform.python_version()
    n = a["n_steps"]
    assert trace["/time"].shape == (n,) and trace["/robot/q"].shape == (n, 7)
    assert trace["/human/link_pos"].shape[1:] == (15, 3)
    assert list(trace.dataset_attrs["/human/link_pos"]["regions"])[0] == "pelvis"
    assert trace["/action"].shape == (n, 7) and trace["/reward"].shape == (n,)
    assert np.all(np.diff(trace["/time"]) > 0)


def test_same_seed_gives_identical_trace_datasets(tmp_path):
    for run in ("a", "b"):
        assert main(["run", "handover", "--seed", "4", "--out", str(tmp_path / run)]) == 0
    ta = read_trace(next((tmp_path / "a" / "traces").glob("*.h5")))
    tb = read_trace(next((tmp_path / "b" / "traces").glob("*.h5")))
    assert ta.datasets.keys() == tb.datasets.keys()
    # the policy's compute time is wall-clock time, the one measurement that may differ
    assert np.all(np.isfinite(ta["/policy/compute_time"])) and np.all(ta["/policy/called"])
    for key in set(ta.datasets) - {"/policy/compute_time"}:
        a, b = ta[key], tb[key]
        if a.dtype.names:  # tables: compare column by column, NaN equal to NaN
            assert all(np.array_equal(a[n], b[n], equal_nan=a[n].dtype.kind == "f")
                       for n in a.dtype.names), key
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), key


def test_existing_traces_are_never_overwritten(tmp_path, capsys):
    assert main(["run", "handover", "--out", str(tmp_path)]) == 0
    path = next((tmp_path / "traces").glob("*.h5"))
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["run", "handover", "--seed", "0", "--episodes", "2", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "exist already" in err and "--overwrite" in err and "nothing was run" in err
    assert path.read_bytes() == before
    assert len(list((tmp_path / "traces").glob("*.h5"))) == 1  # seed 1 was not run either


def test_video_is_written_next_to_the_trace(tmp_path):
    import cv2
    assert main(["run", "handover", "--out", str(tmp_path), "--video"]) == 0
    video = next((tmp_path / "traces").glob("*.mp4"))
    cap = cv2.VideoCapture(str(video))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    trace = read_trace(next((tmp_path / "traces").glob("*.h5")))
    assert frames == trace.attrs["n_steps"] + 1  # the reset frame plus one per step


def test_unknown_policy_is_a_clear_error(capsys):
    assert main(["run", "handover", "--policy", "telepathy", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "unknown policy 'telepathy'" in err and "scripted" in err


def test_unknown_scenario_lists_the_known_ones(capsys):
    assert main(["run", "handovr", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "unknown scenario 'handovr'" in err and "handover" in err


def test_list_scenarios_and_robots_as_json(capsys):
    assert main(["list", "scenarios", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    handover = next(r for r in rows if r["id"] == "handover")  # rows in name order
    assert handover["gym_id"] == "cobotsim/Handover-v0"
    assert main(["list", "robots", "--json"]) == 0
    robots = json.loads(capsys.readouterr().out)
    panda = next(r for r in robots if r["id"] == "panda")
    assert panda["joints"] == 7


class _RaisingPolicy:
    def reset(self, seed=None, info=None):
        self.n = 0

    def act(self, obs):
        self.n += 1
        if self.n == 5:
            raise RuntimeError("model crashed")
        return np.zeros(7, dtype=np.float32)


class _NanPolicy(_RaisingPolicy):
    def act(self, obs):
        return np.full(7, np.nan, dtype=np.float32)


def test_policy_faults_mark_the_episode_and_the_next_one_runs(tmp_path):
    env = CellEnv("handover")
    try:
        crashed = run_episode(env, _RaisingPolicy(), 0, tmp_path, "raising")
        nan = run_episode(env, _NanPolicy(), 1, tmp_path, "nan")
        from simulator.policies import make_policy
        fine = run_episode(env, make_policy("scripted", env), 2, tmp_path, "scripted")
    finally:
        env.close()
    assert crashed.status == "policy_error" and not crashed.success
    assert "model crashed" in crashed.error
    assert nan.status == "policy_error" and "non-finite" in nan.error and not nan.success
    assert fine.status == "complete"
    by_policy = {t.attrs["policy"]: t for t in iter_traces(tmp_path / "traces", include_incomplete=True)}
    assert by_policy["raising"].attrs["status"] == "policy_error"
    assert by_policy["raising"].attrs["n_steps"] == 4  # the steps before the fault are kept
    assert "the policy returned non-finite values" in by_policy["nan"].attrs["error"]
    complete = [t.attrs["policy"] for t in iter_traces(tmp_path / "traces")]
    assert complete == ["scripted"]


def test_interrupted_episode_is_not_a_result(tmp_path):
    class _Interrupt(_RaisingPolicy):
        def act(self, obs):
            self.n += 1
            if self.n == 3:
                raise KeyboardInterrupt
            return np.zeros(7, dtype=np.float32)

    env = CellEnv("handover")
    try:
        with pytest.raises(KeyboardInterrupt):
            run_episode(env, _Interrupt(), 0, tmp_path, "interrupt")
    finally:
        env.close()
    assert list(iter_traces(tmp_path / "traces")) == []
    (trace,) = list(iter_traces(tmp_path / "traces", include_incomplete=True))
    assert trace.attrs["status"] == "interrupted"
