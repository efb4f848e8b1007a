"""Action chunks, re-planning and inference latency in simulated time."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.env import CellEnv
from simulator.errors import ConfigError
from simulator.policies.interface import ArraySpec, CallablePolicy
from simulator.policies.timing import Latency, PolicyExecutor
from simulator.runner import run_episode
from simulator.traces import read_trace


@pytest.fixture(scope="module")
def env():
    e = CellEnv("handover")
    e.unwrapped.max_steps = 40
    yield e
    e.close()


class StopAtPlane:
    """Drives the TCP along +x at full scale (0.5 m/s) and commands a stop once the
    observed TCP is past ``x_stop``: a late stop overshoots by speed × latency."""

    def __init__(self):
        self.x_stop = None

    def reset(self, seed=None, info=None):
        self.x_stop = None

    def act(self, obs):
        x = float(obs["ee_pos"][0])
        if self.x_stop is None:
            self.x_stop = x + 0.12
        a = np.zeros(7, dtype=np.float32)
        a[6] = 1.0
        if x < self.x_stop:
            a[0] = 1.0
        return a


def test_latency_makes_a_stop_late_by_speed_times_latency(env, tmp_path):
    reach = {}
    for latency in (0.0, 0.2):
        policy = StopAtPlane()
        r = run_episode(env, policy, 0, tmp_path / str(latency), "stop", latency=latency)
        t = read_trace(r.trace)
        x = np.asarray(t["/robot/ee_pos"])[:, 0]
        reach[latency] = x.max() - policy.x_stop
        delays = np.asarray(t["/policy/latency"])
        assert np.all(delays[np.asarray(t["/policy/called"])] == latency)
        assert t.attrs["policy_latency"] == f"{latency:g}"
    late = reach[0.2] - reach[0.0]
    print(f"overshoot past the stop plane: {reach[0.0]:.3f} m without latency, {reach[0.2]:.3f} m "
          f"with 0.2 s; difference {late:.3f} m against 0.5 m/s × 0.2 s = 0.100 m (±0.03 m)")
    assert late == pytest.approx(0.10, abs=0.03)


def test_chunks_are_replanned_at_the_configured_interval(env, tmp_path):
    chunks = []

    def plan(obs):
        chunk = np.zeros((4, 7), dtype=np.float32)
        chunk[:, 0] = 0.1 * (len(chunks) % 5) + 0.01 * np.arange(4)
        chunk[:, 6] = 1.0
        chunks.append(chunk)
        return chunk

    r = run_episode(env, CallablePolicy(plan), 1, tmp_path, "chunks", replan_every=2)
    t = read_trace(r.trace)
    called = np.asarray(t["/policy/called"]).tolist()
    assert called == [k % 2 == 0 for k in range(40)] and len(chunks) == 20
    executed = np.asarray(t["/action"])
    expected = np.concatenate([c[:2] for c in chunks])   # two of each four, then re-planned
    assert np.allclose(executed, expected)


def test_the_executor_holds_the_last_action_until_an_answer_arrives():
    spec = ArraySpec((2,), "float32")
    answers = iter([np.array([1.0, 0.0]), np.array([2.0, 0.0]), np.array([3.0, 0.0])])
    ex = PolicyExecutor(CallablePolicy(lambda obs: next(answers)), spec, dt=0.05,
                        replan_every=2, latency=Latency.parse(0.07))   # 2 control steps
    ex.reset(0)
    steps = [ex.next_action({}, lambda call: call()) for _ in range(6)]
    actions = [a[0] for a, _, _ in steps]
    assert actions == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]      # zeros until the first answer
    assert [asked for _, asked, _ in steps] == [True, False, True, False, True, False]


def test_latency_draws_depend_on_the_seed_only_and_bad_specs_fail():
    lat = Latency.parse("uniform:0.05:0.15")
    a = [lat.draw(np.random.default_rng([0x1A7E, 3])) for _ in range(3)]
    b = [lat.draw(np.random.default_rng([0x1A7E, 3])) for _ in range(3)]
    assert a == b and all(0.05 <= v <= 0.15 for v in a)
    assert str(Latency.parse("normal:0.1:0.02")) == "normal:0.1:0.02"
    for bad in ("fast", "uniform:0.2:0.1", "-0.1", "normal:0.1", "uniform:a:b"):
        with pytest.raises(ConfigError, match="latency"):
            Latency.parse(bad)
    with pytest.raises(ConfigError, match="replan_every"):
        PolicyExecutor(CallablePolicy(lambda o: o), ArraySpec((2,), "float32"), 0.05, replan_every=0)
