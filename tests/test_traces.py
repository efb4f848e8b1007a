"""Traces: writer, reader and the recording wrapper (docs/trace-format.md)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium
import h5py
import numpy as np
import pytest

from simulator.traces import (
    VOLATILE_ATTRS, TraceError, TraceRecorder, TraceWriter, iter_traces, partial_path, read_trace,
)

UNITS = {"/time": "s", "/robot/q": "rad", "/human/link_pos": "m", "/task/phase": "1"}


def rows(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for k in range(n):
        yield {"/time": (k + 1) * 0.02, "/robot/q": rng.normal(size=7),
               "/human/link_pos": rng.normal(size=(15, 3)), "/task/phase": k // 10}


def write(path: Path, n: int = 5, status: str = "complete", **options) -> Path:
    writer = TraceWriter(path, {"scenario": "handover"}, UNITS, **options)
    for row in rows(n):
        writer.append(row)
    return writer.close(status)


def test_round_trip_is_exact(tmp_path):
    spec = "scenario: handover\n" + "# padding\n" * 20_000  # ~200 kB of YAML
    attrs = {"scenario": "handover", "robot": "panda", "seed": 3, "control_rate": 50.0,
             "shielded": True, "regions": ["hand", "forearm"], "scenario_spec": spec}
    writer = TraceWriter(tmp_path / "a.h5", attrs, UNITS, compact={"/robot/q"}, flush_every=16)
    writer.set_dataset_attrs("/human/link_pos", link_names=["head", "neck"], regions=["skull", "neck"])
    written = list(rows(150))
    for row in written:
        writer.append(row)
    writer.set_dataset_attrs("/task/phase", phase_names=["reach", "handover"])
    writer.close("complete", success=True, error="", n_steps=150, sim_time=3.0)

    trace = read_trace(tmp_path / "a.h5")
    np.testing.assert_array_equal(trace["/time"], [r["/time"] for r in written])
    np.testing.assert_array_equal(trace["/human/link_pos"], np.stack([r["/human/link_pos"] for r in written]))
    np.testing.assert_array_equal(trace["/robot/q"], np.stack([r["/robot/q"] for r in written]).astype(np.float32))
    np.testing.assert_array_equal(trace["/task/phase"], [r["/task/phase"] for r in written])
    assert trace["/time"].dtype == np.float64 and trace["/robot/q"].dtype == np.float32
    assert trace["/task/phase"].dtype == np.int64 and trace["/human/link_pos"].shape == (150, 15, 3)
    assert {k: trace.attrs[k] for k in attrs} == attrs
    assert trace.attrs["schema"] == "cobotsim-trace" and trace.attrs["schema_version"] == 1
    assert (trace.status, trace.complete, trace.attrs["success"], trace.attrs["n_steps"]) == ("complete", True, True, 150)
    assert {path: trace.units(path) for path in UNITS} == UNITS
    assert trace.dataset_attrs["/human/link_pos"]["regions"] == ["skull", "neck"]
    assert trace.dataset_attrs["/task/phase"]["phase_names"] == ["reach", "handover"]
    with pytest.raises(KeyError, match="/robot/qd"):
        trace["/robot/qd"]


def test_strings_are_utf8_attributes(tmp_path):
    write(tmp_path / "a.h5")
    with h5py.File(tmp_path / "a.h5") as file:
        string_type = file.attrs.get_id("scenario").get_type()
        assert string_type.get_cset() == h5py.h5t.CSET_UTF8


def test_partial_exists_only_while_writing(tmp_path):
    final = tmp_path / "traces" / "ep.h5"
    writer = TraceWriter(final, {}, UNITS)
    writer.append(next(rows(1)))
    assert partial_path(final).exists() and not final.exists()
    with pytest.raises(TraceError, match="unfinished"):
        read_trace(partial_path(final))
    assert read_trace(partial_path(final), allow_partial=True).status == "running"
    assert writer.close("complete") == final
    assert final.exists() and not partial_path(final).exists()


def test_abandoned_writer_leaves_no_result(tmp_path):
    writer = TraceWriter(tmp_path / "a.h5", {}, UNITS, flush_every=2)
    for row in rows(5):
        writer.append(row)
    del writer
    assert [p.name for p in tmp_path.iterdir()] == ["a.h5.partial"]
    assert list(iter_traces(tmp_path, include_incomplete=True)) == []


def test_process_death_leaves_only_partial(tmp_path):
    script = ("import os, sys\nfrom simulator.traces import TraceWriter\n"
              "w = TraceWriter(sys.argv[1], {}, {'/time': 's'}, flush_every=2)\n"
              "[w.append({'/time': float(k)}) for k in range(5)]\nos._exit(3)\n")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "a.h5")], cwd=root)
    assert done.returncode == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5.partial"]


@pytest.mark.parametrize("status", ["running", "done", "", "Complete"])
def test_unknown_status_raises_and_keeps_the_writer_open(tmp_path, status):
    writer = TraceWriter(tmp_path / "a.h5", {}, UNITS)
    writer.append(next(rows(1)))
    with pytest.raises(ValueError, match="status"):
        writer.close(status)
    assert not writer.closed and not (tmp_path / "a.h5").exists()
    writer.close("sim_error", error="boom")
    assert read_trace(tmp_path / "a.h5").attrs["error"] == "boom"


def test_finished_trace_is_not_overwritten(tmp_path):
    path = write(tmp_path / "a.h5", n=3)
    with pytest.raises(FileExistsError, match=str(path)):
        TraceWriter(path, {}, UNITS)
    assert read_trace(path)["/time"].shape == (3,)
    write(path, n=7, overwrite=True)
    assert read_trace(path)["/time"].shape == (7,)


def test_reserved_attrs_and_bad_rows_raise(tmp_path):
    with pytest.raises(ValueError, match="status"):
        TraceWriter(tmp_path / "a.h5", {"status": "complete"})
    writer = TraceWriter(tmp_path / "b.h5", {}, UNITS)
    first = next(rows(1))
    writer.append(first)
    with pytest.raises(ValueError, match="/robot/q"):
        writer.append({**first, "/robot/q": np.zeros(6)})
    with pytest.raises(KeyError, match="/time"):
        writer.append({k: v for k, v in first.items() if k != "/time"})
    with pytest.raises(TypeError, match="/task/phase"):
        writer.append({**first, "/task/phase": 1.5})
    with pytest.raises(TypeError, match="bad"):
        TraceWriter(tmp_path / "c.h5", {"bad": None})


def test_table_round_trip(tmp_path):
    events = [{"monitor": "pfl", "region": "hand", "start": 1.25, "end": 1.5, "step": 62, "breach": True},
              {"monitor": "ssm", "region": "chest", "start": 2.0, "end": 2.75, "step": 100, "breach": False}]
    writer = TraceWriter(tmp_path / "a.h5", {}, UNITS)
    writer.add_table("/events", events, units={"start": "s", "end": "s"})
    writer.add_table("/no_events", [], dtype=np.dtype([("monitor", h5py.string_dtype()), ("start", "f8")]))
    with pytest.raises(ValueError, match="dtype"):
        writer.add_table("/empty", [])
    writer.close("complete")
    trace = read_trace(tmp_path / "a.h5")
    table = trace["/events"]
    assert [dict(zip(table.dtype.names, record.tolist())) for record in table] == events
    assert trace.units("/events") == ["", "", "s", "s", "", ""]
    assert trace["/no_events"].shape == (0,) and trace["/no_events"].dtype.names == ("monitor", "start")


def test_iter_traces_skips_partial_and_incomplete(tmp_path):
    write(tmp_path / "b.h5", status="complete")
    write(tmp_path / "a.h5", status="interrupted")
    write(tmp_path / "c.h5", status="complete")
    TraceWriter(tmp_path / "d.h5", {}, UNITS).append(next(rows(1)))
    assert [t.path.name for t in iter_traces(tmp_path)] == ["b.h5", "c.h5"]
    assert [t.path.name for t in iter_traces(tmp_path, include_incomplete=True)] == ["a.h5", "b.h5", "c.h5"]


def test_wrong_schema_is_a_clear_error(tmp_path):
    with h5py.File(tmp_path / "none.h5", "w") as file:
        file.attrs["creator"] = "someone"
    with h5py.File(tmp_path / "other.h5", "w") as file:
        file.attrs["schema"] = "robomimic"
    with pytest.raises(TraceError, match=r"none\.h5.*no 'schema'"):
        read_trace(tmp_path / "none.h5")
    with pytest.raises(TraceError, match=r"other\.h5.*'robomimic'"):
        read_trace(tmp_path / "other.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(TraceError, match=r"text\.h5"):
        read_trace(tmp_path / "text.h5")
    assert issubclass(TraceError, ValueError)


class FakeCell(gymnasium.Env):
    """A tiny deterministic env with the trace interface of CellEnv."""

    def __init__(self, length: int = 6, fail_at: int | None = None):
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float64)
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (7,), np.float64)
        self.length, self.fail_at = length, fail_at

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.k, self.q = 0, self.np_random.normal(size=7)
        return self.q.copy(), {}

    def step(self, action):
        self.k += 1
        if self.k == self.fail_at:
            raise RuntimeError("physics exploded")
        self.q = self.q + 0.01 * np.resize(action, 7) + 0.001 * self.np_random.normal(size=7)
        done = self.k >= self.length
        return self.q.copy(), -float(self.q @ self.q), done, False, {"success": done}

    def trace_header(self):
        return {"scenario": "fake", "robot": "panda", "scenario_spec": "id: fake\n", "control_rate": 50.0}

    def trace_units(self):
        return {"/time": "s", "/robot/q": "rad", "/human/link_pos": "m", "/action": "rad/s"}

    def trace_dataset_attrs(self):
        return {"/human/link_pos": {"link_names": ["head", "hand"]}}

    def trace_row(self):
        return {"/time": self.k * 0.02, "/robot/q": self.q.copy(), "/human/link_pos": np.tile(self.q[:3], (2, 1))}


def run(env: TraceRecorder, seed: int, steps: int, episodes: int = 1) -> None:
    for _ in range(episodes):
        env.reset(seed=seed)
        for k in range(steps):
            env.step(np.array([0.5, -0.25]) * k)


def test_recorder_writes_one_complete_file_per_episode(tmp_path):
    env = TraceRecorder(FakeCell(length=6), tmp_path / "fake_seed{seed:04d}_ep{episode:04d}.h5", {"policy": "scripted"})
    run(env, seed=3, steps=6, episodes=2)
    env.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["fake_seed0003_ep0000.h5", "fake_seed0003_ep0001.h5"]
    assert env.last_path == tmp_path / names[1]
    trace = read_trace(env.last_path)
    assert trace.status == "complete" and trace.attrs["success"] is True and trace.attrs["error"] == ""
    assert {k: trace.attrs[k] for k in ("policy", "scenario", "seed", "n_steps", "control_rate")} == \
        {"policy": "scripted", "scenario": "fake", "seed": 3, "n_steps": 6, "control_rate": 50.0}
    assert trace.attrs["sim_time"] == pytest.approx(0.12) and trace.attrs["wall_time"] > 0
    np.testing.assert_array_equal(trace["/time"], np.arange(1, 7) * 0.02)  # no reset row
    np.testing.assert_array_equal(trace["/action"], [np.array([0.5, -0.25]) * k for k in range(6)])
    assert trace["/reward"].shape == (6,) and trace.units("/action") == "rad/s"
    assert trace.dataset_attrs["/human/link_pos"] == {"units": "m", "link_names": ["head", "hand"]}


def test_recorder_statuses(tmp_path):
    env = TraceRecorder(FakeCell(length=50), tmp_path / "ep{episode}.h5")
    run(env, seed=0, steps=3)
    env.mark("policy_error", "policy raised ValueError")
    assert env.mark("interrupted") is None  # nothing open any more
    run(env, seed=0, steps=2)
    env.reset(seed=1)  # resetting mid-episode interrupts it
    env.close()  # closing mid-episode interrupts it
    traces = {t.path.name: t for t in iter_traces(tmp_path, include_incomplete=True)}
    assert [traces[f"ep{i}.h5"].status for i in range(3)] == ["policy_error", "interrupted", "interrupted"]
    assert traces["ep0.h5"].attrs["error"] == "policy raised ValueError"
    assert traces["ep0.h5"].attrs["n_steps"] == 3 and traces["ep2.h5"].attrs["n_steps"] == 0
    assert list(iter_traces(tmp_path)) == []


def test_recorder_marks_sim_error_when_step_raises(tmp_path):
    env = TraceRecorder(FakeCell(fail_at=3), tmp_path / "ep.h5")
    with pytest.raises(RuntimeError, match="exploded"):
        run(env, seed=0, steps=5)
    trace = read_trace(tmp_path / "ep.h5")
    assert trace.status == "sim_error" and "physics exploded" in trace.attrs["error"]
    assert trace["/time"].shape == (2,)


def test_recorder_needs_trace_row_and_a_seed_for_seeded_paths(tmp_path):
    with pytest.raises(TypeError, match="trace_row"):
        TraceRecorder(gymnasium.make("CartPole-v1"), tmp_path / "x.h5")
    env = TraceRecorder(FakeCell(), tmp_path / "s{seed}.h5")
    with pytest.raises(ValueError, match="seed"):
        env.reset()


def test_two_identical_runs_give_identical_traces(tmp_path):
    for name in ("a", "b"):
        env = TraceRecorder(FakeCell(length=20), tmp_path / name / "ep.h5")
        run(env, seed=7, steps=20)
    first, second = read_trace(tmp_path / "a" / "ep.h5"), read_trace(tmp_path / "b" / "ep.h5")
    assert first.datasets.keys() == second.datasets.keys()
    for path, values in first.datasets.items():
        np.testing.assert_array_equal(values, second[path], strict=True)
    assert first.dataset_attrs == second.dataset_attrs
    drop = set(VOLATILE_ATTRS)
    assert {k: v for k, v in first.attrs.items() if k not in drop} == \
        {k: v for k, v in second.attrs.items() if k not in drop}
