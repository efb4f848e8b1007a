"""The safety monitors inside the env and the trace: info, costs, tables, no side effects."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from simulator import catalogue
from simulator.env import CellEnv
from simulator.errors import SpecError
from simulator.policies import make_policy
from simulator.runner import run_episode
from simulator.safety.separation import UnsafeStartError
from simulator.spec.loading import load_spec
from simulator.spec.scenario import ScenarioSpec
from simulator.traces import read_trace


def _variant(tmp_path, **safety):
    data = yaml.safe_load(catalogue.scenario_path("handover").read_text())
    for key, value in safety.items():
        node = data["safety"]
        *path, last = key.split("__")
        for k in path:
            node = node.setdefault(k, {})
        node[last] = value
    path = tmp_path / "handover.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _rollout(env, seed=3, steps=60):
    policy = make_policy("scripted", env)
    obs, _ = env.reset(seed=seed)
    policy.reset(seed)
    states, infos = [], []
    for _ in range(steps):
        obs, _, term, trunc, info = env.step(policy.act(obs))
        states.append(np.concatenate([obs["robot_q"], obs["human_keypoints"].ravel(), obs["part_pos"]]))
        infos.append(info)
        if term or trunc:
            break
    return np.array(states), infos


def test_info_carries_samples_events_and_a_cost_sum(handover_env):
    _, infos = _rollout(handover_env)
    info = infos[-1]
    assert set(info["costs"]) == {"contact", "separation", "speed"}
    assert info["cost"] == pytest.approx(sum(info["costs"].values()))
    ssm = info["safety"]["ssm"]
    assert ssm["distance"] > 0 and ssm["protective_distance"] >= 0
    assert ssm["margin"] == pytest.approx(ssm["distance"] - ssm["protective_distance"])
    assert "tcp_speed" in info["safety"]["speed"]
    assert set(info["safety"]["contact"]) >= {"samples", "events", "impacts"}


def test_monitors_never_change_the_simulation(tmp_path, handover_env):
    off = CellEnv(_variant(tmp_path, contact__enabled=False, separation__enabled=False,
                           speed__enabled=False))
    try:
        a, infos_off = _rollout(off)
        b, _ = _rollout(handover_env)
    finally:
        off.close()
    assert infos_off[-1]["safety"] == {"events": []} and infos_off[-1]["cost"] == 0.0
    assert np.array_equal(a, b)


def test_terminate_on_violation(tmp_path):
    env = CellEnv(_variant(tmp_path, speed__limit=0.05, terminate_on_violation=True))
    try:
        _, infos = _rollout(env, steps=200)
    finally:
        env.close()
    assert infos[-1]["costs"]["speed"] == 1.0
    assert len(infos) < 40  # ended at the first fast step, not at the end of the task
    assert not infos[-1]["success"]


def test_an_episode_that_starts_inside_the_protective_distance_raises(tmp_path):
    env = CellEnv(_variant(tmp_path, separation__intrusion_distance=5.0))
    try:
        with pytest.raises(UnsafeStartError, match="S_p"):
            env.reset(seed=0)
    finally:
        env.close()


def test_the_trace_holds_the_safety_record(tmp_path):
    env = CellEnv("handover")
    try:
        result = run_episode(env, make_policy("scripted", env), 1, tmp_path, "scripted")
    finally:
        env.close()
    trace = read_trace(result.trace)
    n = trace.attrs["n_steps"]
    for name in ("distance", "protective_distance", "margin", "human_speed", "robot_speed"):
        assert trace[f"/safety/ssm/{name}"].shape == (n,)
    assert np.all(np.isfinite(trace["/safety/ssm/distance"]))
    assert trace["/safety/limits"].shape == (29,)
    assert trace["/safety/contacts"].dtype.names[:4] == ("t", "robot_link", "human_link", "region")
    events = trace["/safety/events"]
    assert set(events["monitor"]) <= {"pfl", "ssm", "speed"}
    assert '"terminate_on_violation": false' in trace.attrs["safety_config"]
    contacts = trace["/safety/contacts"]
    if len(contacts):  # the part handed over: the hand may touch the fingers
        assert np.all(contacts["force"] >= 0) and set(contacts["kind"]) <= {"transient", "quasi_static"}


@pytest.mark.parametrize("key, value, expected", [
    ("separation__reaction_time", -0.1, "a number >= 0"),
    ("separation__latency", 0.1, "one of the keys"),
    ("speed__zones", [{"name": "z", "lower": [1, 0, 0], "upper": [0, 1, 1], "speed_limit": 0.1}],
     "must be below upper"),
    ("speed__zones", [{"name": "z", "lower": [0, 0, 0], "upper": [1, 1, 1]}], "keep_out"),
])
def test_bad_safety_blocks_fail_at_load(tmp_path, key, value, expected):
    path = _variant(tmp_path, **{key: value})
    with pytest.raises(SpecError) as err:
        load_spec(ScenarioSpec, path)
    assert expected in str(err.value) and "safety" in err.value.key


def test_robot_safety_data_are_checked_at_load(tmp_path):
    from simulator.spec.robot import RobotSpec
    from simulator.spec.schema import to_mapping
    data = to_mapping(catalogue.load_robot("panda"))
    data["stopping"] = data["stopping"][:3]  # ends at 0.68 m/s, the robot reaches 2 m/s
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match="below max_tcp_speed"):
        load_spec(RobotSpec, path)
    data = to_mapping(catalogue.load_robot("panda"))
    data["contact_surfaces"] = [{"link": "panda_hand", "kind": "flat"}]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match="needs area_cm2"):
        load_spec(RobotSpec, path)


def test_a_contact_surface_on_an_unknown_link_names_the_key(monkeypatch, handover_env):
    import dataclasses
    from simulator.safety.suite import SafetyMonitors
    from simulator.spec.robot import SurfaceSpec
    robot = handover_env.robot
    bad = dataclasses.replace(robot.spec, contact_surfaces=(
        SurfaceSpec(link="panda_flange", kind="flat", area_cm2=2.0),))
    monkeypatch.setattr(robot, "spec", bad)
    with pytest.raises(SpecError) as err:
        SafetyMonitors(handover_env.cell, handover_env.scenario.safety)
    assert err.value.key == "contact_surfaces[0].link" and "panda_hand" in str(err.value)


def test_stopping_terms_use_the_robots_own_speed(handover_env):
    """A robot moving sideways (no speed towards the person) still needs its full stopping
    time and distance: S_s and T_s follow the TCP speed, not the directed speed."""
    handover_env.reset(seed=0)
    sep = handover_env.monitors.separation
    sep._tcp_speed = lambda: 0.0
    still = sep.measure(handover_env.sim.time)
    sep._tcp_speed = lambda: 1.5
    moving = sep.measure(handover_env.sim.time)
    table = handover_env.monitors.ssm_parameters.stopping
    assert moving.terms.s_s == pytest.approx(table.at(1.5)[1])
    assert moving.terms.t_s == pytest.approx(table.at(1.5)[0])
    assert moving.protective_distance > still.protective_distance


def test_an_episode_that_starts_in_contact_raises(handover_env, monkeypatch):
    from simulator.physics import Contact
    handover_env.reset(seed=0)
    fake = Contact(0, 1, 3, 5, (0, 0, 0), (0, 0, 0), (1, 0, 0), -0.001, 0.0)  # overlapping
    monkeypatch.setattr(handover_env.sim, "closest_points", lambda *a, **k: [fake])
    with pytest.raises(UnsafeStartError, match="touching the person"):
        handover_env.monitors.start()
