"""Shields: the safety functions change what the robot does, measurably and only when on."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from simulator import catalogue
from simulator.control import POSITION_STEP
from simulator.env import CellEnv
from simulator.errors import ConfigError, SpecError
from simulator.policies import make_policy
from simulator.runner import run_episode
from simulator.traces import read_trace

ZERO = np.zeros(7, dtype=np.float32)


def _variant(tmp_path, safety_changes: dict) -> str:
    data = yaml.safe_load(catalogue.scenario_path("handover").read_text())
    for dotted, value in safety_changes.items():
        node = data["safety"]
        *path, last = dotted.split(".")
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    path = tmp_path / "handover.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _scripted(env, seeds, steps=None):
    """Per seed: (robot q per step, SSM violation steps, the env's shield scales)."""
    policy = make_policy("scripted", env)
    out = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        policy.reset(seed)
        qs, violations, scales = [], 0, []
        for k in range(steps or 10 ** 6):
            obs, _, term, trunc, info = env.step(policy.act(obs))
            qs.append(obs["robot_q"])
            violations += info["safety"]["ssm"]["violation"]
            scales.append(info["shields"]["scale"])
            if term or trunc:
                break
        out.append((np.array(qs), violations, scales))
    return out


def _drive_through_forearm(env, gain):
    """The person extends the hand (3 s); then the TCP is driven through the forearm at
    ``gain`` of full scale (0.5 m/s at 1.0)."""
    obs, _ = env.reset(seed=0)
    for _ in range(60):
        obs, *_ = env.step(ZERO)
    row = env.human_link_names.index("forearm_right")
    start = obs["human_keypoints"][row].astype(float)
    goal = start + (start - env.scenario.robot.position) * np.array([0.25, 0.25, 0.0])
    for _ in range(40):
        step = np.clip((goal - obs["ee_pos"]) / POSITION_STEP, -gain, gain)
        obs, *_ = env.step(np.array([*step, 0, 0, 0, -1], dtype=np.float32))
    env.monitors.finish(env.sim.time)
    return env.monitors.contact


def test_shields_that_do_not_intervene_change_nothing():
    """A shield that never proposes a lower scale leaves the trajectory bit-identical (the
    handover's TCP stays below its 1 m/s limit), and no shield is the default."""
    plain, zone = CellEnv("handover"), CellEnv("handover", shields=["zone_speed"])
    try:
        assert plain.shields.names == []
        (q_plain, *_), = _scripted(plain, [3], steps=120)
        (q_zone, _, scales), = _scripted(zone, [3], steps=120)
        assert set(scales) == {1.0} and np.array_equal(q_plain, q_zone)
    finally:
        plain.close()
        zone.close()


def test_the_ssm_shield_lowers_the_time_below_the_protective_distance(tmp_path):
    plain, shielded = CellEnv("handover"), CellEnv("handover", shields=["ssm"])
    try:
        seeds = [0, 1]
        without = sum(v for _, v, _ in _scripted(plain, seeds))
        with_shield = _scripted(shielded, seeds, steps=200)
        below = sum(v for _, v, _ in with_shield)
        steps = sum(len(q) for q, _, _ in with_shield)
        print(f"control steps below S_p while moving: {without} without the shield, "
              f"{below} of {steps} with it")
        assert below < without
        assert min(min(s) for _, _, s in with_shield) == 0.0     # it stopped the robot
        r = run_episode(shielded, make_policy("scripted", shielded), 0, tmp_path, "scripted")
        trace = read_trace(r.trace)
        table = trace["/safety/shields"]
        assert len(table) > 0 and set(table["shield"].astype(str)) == {"ssm"}
        assert np.all((table["scale"] >= 0) & (table["scale"] < 1))
        assert trace["/safety/shield_scale"].min() == 0.0
        assert '"ssm"' in trace.attrs["shields"] and "safety.shields" in trace.attrs["overrides"]
    finally:
        plain.close()
        shielded.close()


def test_the_pfl_shield_caps_the_approach_speed_at_v_rel_max(tmp_path):
    """The forearm's v_rel,max (about 1.4 m/s) is above the Panda's top speed in this
    control mode (0.5 m/s), so the shield is set to allow a quarter of it."""
    path = _variant(tmp_path, {"shields.pfl.factor": 0.25})
    runs = {}
    for shields in ([], ["pfl"]):
        env = CellEnv(path, shields=shields)
        try:
            contact = _drive_through_forearm(env, gain=1.0)
            fast = max((p.relative_speed for p in contact.impacts), default=0.0)
            force = max((p.predicted_force for p in contact.impacts), default=0.0)
            limited = [i for i in env.shields.interventions if i.shield == "pfl"]
            runs[tuple(shields)] = (fast, force, limited)
        finally:
            env.close()
    (v0, f0, none), (v1, f1, capped) = runs[()], runs[("pfl",)]
    print(f"fastest impact: {v0:.3f} m/s ({f0:.0f} N) without, {v1:.3f} m/s ({f1:.0f} N) "
          f"with the PFL shield (0: no impact; the person's own approach used up the allowance)")
    assert none == [] and capped and all(i.value > i.limit for i in capped)
    assert v1 < v0 and f1 < f0


def test_the_contact_stop_shield_stops_after_detection_and_reaction_time():
    durations = {}
    for shields in ([], ["contact_stop"]):
        env = CellEnv("handover", shields=shields)
        try:
            contact = _drive_through_forearm(env, gain=0.6)
            durations[tuple(shields)] = sum(e.end - e.start for e in contact.events)
            if shields:
                spec = env.scenario.safety.shields.contact_stop
                first = next(s for s in contact.samples if s.force > spec.force_threshold)
                trigger = next(i for i in env.shields.interventions
                               if "over the threshold" in i.reason)
                assert trigger.t == pytest.approx(first.t) and trigger.value > spec.force_threshold
                stop_at = first.t + spec.detection_time + spec.reaction_time
                assert f"stop at t = {stop_at:.4f} s" in trigger.reason
        finally:
            env.close()
    print(f"total contact time: {durations[()]:.3f} s without, "
          f"{durations[('contact_stop',)]:.3f} s with the contact stop")
    assert durations[("contact_stop",)] < durations[()]


def test_the_zone_speed_shield_holds_the_reduced_speed(tmp_path):
    path = _variant(tmp_path, {"speed.reduced_speed": True})
    speeds = {}
    for shields in ([], ["zone_speed"]):
        env = CellEnv(path, shields=shields)
        try:
            policy = make_policy("scripted", env)
            obs, _ = env.reset(seed=0)
            policy.reset(0)
            tcp = []
            for _ in range(120):
                obs, _, term, trunc, info = env.step(policy.act(obs))
                tcp.append(info["safety"]["speed"]["tcp_speed"])
            speeds[tuple(shields)] = np.array(tcp)
        finally:
            env.close()
    plain, shielded = speeds[()], speeds[("zone_speed",)]
    capped = np.median(shielded[shielded > 0.2])
    print(f"largest TCP speed: {plain.max():.3f} m/s without; with the shield {shielded.max():.3f} "
          f"m/s (the drive overshoots when it starts from rest; tolerance +25 %) and a median of "
          f"{capped:.3f} m/s while moving fast (reduced speed 0.25 m/s, tolerance 0.005 m/s)")
    assert plain.max() > 0.3 and shielded.max() <= 0.25 * 1.25 and capped <= 0.25 + 0.005


def test_a_shield_without_its_monitor_or_an_unknown_one_is_refused(tmp_path):
    path = _variant(tmp_path, {"separation.enabled": False, "shields.ssm.enabled": True})
    with pytest.raises(SpecError) as err:
        CellEnv(path)
    assert path in str(err.value) and "shields.ssm needs the separation monitor" in str(err.value)
    with pytest.raises(ConfigError, match="unknown shield"):
        CellEnv("handover", shields=["airbag"])
    path = _variant(tmp_path, {"shields.contact_stop.force_threshold": -5})
    with pytest.raises(SpecError, match="shields.contact_stop.force_threshold"):
        CellEnv(path)


def test_no_shields_on_a_shielded_scenario_reproduces_the_unshielded_trace(tmp_path):
    path = _variant(tmp_path, {"shields.ssm.enabled": True, "shields.pfl.enabled": True})
    shielded, switched_off, plain = (CellEnv(path), CellEnv(path, shields=[]),
                                     CellEnv("handover"))
    try:
        assert shielded.shields.names == ["ssm", "pfl"] and switched_off.shields.names == []
        (q_on, *_), = _scripted(shielded, [5], steps=150)
        (q_off, *_), = _scripted(switched_off, [5], steps=150)
        (q_plain, *_), = _scripted(plain, [5], steps=150)
        assert np.array_equal(q_off, q_plain) and not np.array_equal(q_on[:len(q_plain)], q_plain)
        assert switched_off.overrides["safety.shields"] == ""
    finally:
        for e in (shielded, switched_off, plain):
            e.close()


def test_on_the_crossing_cell_the_ssm_shield_lowers_the_time_below_s_p():
    """The crossing cell ships with the SSM shield on; over seeds 0-3 it cuts the control
    steps spent below S_p while moving, and --no-shields reproduces the unshielded run."""
    shielded, plain = CellEnv("crossing"), CellEnv("crossing", shields=[])
    try:
        assert shielded.shields.names == ["ssm"]
        seeds = [0, 1, 2, 3]
        on, off = _scripted(shielded, seeds), _scripted(plain, seeds)
        below_on, below_off = sum(v for _, v, _ in on), sum(v for _, v, _ in off)
        print(f"crossing, seeds 0-3: {below_off} control steps below S_p without the shield, "
              f"{below_on} with it")
        assert below_on < below_off
        assert min(min(s) for _, _, s in on) < 1.0 and {1.0} == {x for _, _, s in off for x in s}
        again = _scripted(plain, [2])[0][0]
        assert np.array_equal(again, off[2][0])   # the same seed, the same unshielded run
    finally:
        shielded.close()
        plain.close()
