"""The contact monitor on the real Panda and person of the handover cell."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from simulator.control import POSITION_STEP
from simulator.env import CellEnv
from simulator.safety.areas import AreaMap
from simulator.safety.contact import ContactMonitor
from simulator.safety.limits import ContactSurface

ZERO = np.zeros(7, dtype=np.float32)
CLOSED = np.array([0, 0, 0, 0, 0, 0, -1], dtype=np.float32)


def make(seed=0, monitor=True, **kwargs):
    env = CellEnv("handover")
    env.reset(seed=seed)
    mon = None
    if monitor:
        mon = ContactMonitor(env.sim, env.robot, env.human, env.cell.fixed_bodies,
                             springs=env.cell.springs, **kwargs)
        mon.attach()
    return env, mon


def towards(env, obs, goal, gain=0.6):
    """An ee_delta action moving the TCP towards ``goal`` (m), gripper closed."""
    step = np.clip((np.asarray(goal) - obs["ee_pos"].astype(float)) / POSITION_STEP, -gain, gain)
    return np.array([*step, 0, 0, 0, -1], dtype=np.float32)


def push_forearm(env, mon=None, steps=40):
    """The person extends the hand (3 s), then the TCP drives through the forearm."""
    obs = None
    for _ in range(60):
        obs, *_ = env.step(ZERO)
    row = env.human_link_names.index("forearm_right")
    start = obs["human_keypoints"][row].astype(float)
    goal = start + (start - env.scenario.robot.position) * np.array([0.25, 0.25, 0.0])
    for _ in range(steps):
        obs, *_ = env.step(towards(env, obs, goal))
        if mon is not None:
            mon.control_step_samples(env.sim.time)
    return obs


def test_the_robot_pushing_the_forearm_gives_samples_events_and_predictions():
    env, mon = make(robot_surfaces={"panda_hand": ContactSurface("flat", 4.0)})
    seen = []   # every robot-human contact pair with force, per substep, seen independently
    env.sim.add_post_step(lambda: seen.extend(
        (env.sim.time, c.link_a, c.link_b) for c in env.cell.springs.contacts
        if c.normal_force > 0))
    try:
        push_forearm(env, mon)
        mon.finish(env.sim.time)
        assert mon.samples and {s.human_link for s in mon.samples} <= {"forearm_right", "hand_right"}
        forearm = [s for s in mon.samples if s.human_link == "forearm_right"]
        assert forearm and all(s.region == "lower_arm" and s.area_id in (14, 15, 16) for s in forearm)
        assert all(s.force > 0 and s.pressure == pytest.approx(s.force / s.contact_area)
                   for s in mon.samples)
        hand = [s for s in mon.samples if s.robot_link == "panda_hand"]
        assert all(s.contact_area == pytest.approx(4e-4) for s in hand)
        others = [s for s in mon.samples if s.robot_link != "panda_hand"]
        assert all(s.contact_area == pytest.approx(1e-4) for s in others)      # the default
        by_step: dict = {}
        for s in mon.samples:
            by_step[(s.t, s.human_link)] = by_step.get((s.t, s.human_link), 0.0) + s.force
        for s in mon.samples:   # the force limit is on the body part: every robot part's force
            assert s.link_force == pytest.approx(by_step[(s.t, s.human_link)])
            assert s.ratio == pytest.approx(max(s.link_force / s.force_limit,
                                                s.pressure / s.pressure_limit))
        assert any(s.link_force > s.force for s in mon.samples)  # two robot links at once
        # every contact shows up as a sample, and nothing else does
        index = {j.link_name: j.index for j in env.sim.joints(env.robot.body)}
        assert {(round(t, 9), a, b) for t, a, b in seen} == {
            (round(s.t, 9), index[s.robot_link], env.human.link(s.human_link).index)
            for s in mon.samples}
        # one event per continuous contact, each opened by an impact prediction
        assert mon.events and len(mon.impacts) == len(mon.events)
        for e in mon.events:
            assert e.start <= e.end and e.peak_force > 0 and e.violated == (e.peak_ratio > 1)
        for p in mon.impacts:
            assert 0.5 < p.reflected_mass < env.robot.spec.moving_mass
            assert p.standard_mass == pytest.approx(15.06 / 2 + 3.0)
        fast = max(mon.impacts, key=lambda p: p.relative_speed)
        assert fast.relative_speed > 0.05 and fast.predicted_force > 0
        assert mon.speed_samples and all(s.v_rel_max > 0 for s in mon.speed_samples)
        news = mon.drain()
        assert len(news["samples"]) == len(mon.samples) and mon.drain()["samples"] == []
    finally:
        env.close()


def test_the_envs_own_monitor_sees_every_contact():
    """In the env (contact sub-stepping, reads skipped while out of reach, the person's
    pre-contact motion taken at the control step) every contact is still a sample."""
    env, _ = make(monitor=False)
    seen = []
    env.sim.add_post_step(lambda: seen.extend(
        (env.sim.time, c.link_a, c.link_b) for c in env.cell.springs.contacts
        if c.normal_force > 0))
    try:
        push_forearm(env)
        mon = env.monitors.contact
        index = {j.link_name: j.index for j in env.sim.joints(env.robot.body)}
        assert seen and {(round(t, 9), a, b) for t, a, b in seen} == {
            (round(s.t, 9), index[s.robot_link], env.human.link(s.human_link).index)
            for s in mon.samples}
        assert mon.impacts and all(p.relative_speed > -0.05 for p in mon.impacts)
    finally:
        env.close()


def test_the_monitor_changes_nothing():
    """The same seed and actions give bit-identical trajectories with and without it."""
    runs = []
    for with_monitor in (True, False):
        env, mon = make(seed=3, monitor=with_monitor)
        track = []
        env.sim.add_post_step(lambda: track.append(np.concatenate(
            [env.robot.joint_state()[0], env.human.link_positions().ravel()])))
        try:
            push_forearm(env, mon, steps=30)
            runs.append(np.array(track))
            if mon is not None:
                assert mon.samples          # it did see the contact
        finally:
            env.close()
    np.testing.assert_array_equal(runs[0], runs[1])


def test_a_robot_touching_the_table_is_no_human_contact():
    env, mon = make()
    try:
        obs, *_ = env.step(ZERO)
        goal = np.array([0.35, -0.3, 0.70])          # below the table top, far from the person
        touched = False
        for _ in range(50):
            obs, *_ = env.step(towards(env, obs, goal, gain=1.0))
            touched = touched or bool(env.sim.contacts(env.robot.body, env.cell.bodies["table"]))
        assert touched and mon.samples == [] and mon.events == [] and mon.impacts == []
    finally:
        env.close()


def hand_out(env):
    """Hold the right hand out over the table (no motion program); returns (obs, hand
    centre, lowest point of the hand capsule), world, m."""
    h, sim = env.human, env.sim
    h.set_program(None)
    h.set_arm_target("right", (0.66, 0.15, 0.98))
    for _ in range(30):
        obs, *_ = env.step(ZERO)
    link = h.link("hand_right")
    wrist, _ = sim.link_state(h.body_id, link.index)
    centre = sim.link_com_states(h.body_id, [link.index]).position[0]
    tip = 2 * centre - wrist
    low = min((wrist, tip), key=lambda p: p[2]) - np.array([0, 0, link.radius])
    return obs, centre, low


def press(env, obs, point, steps, depth=0.06, speed=0.4):
    """TCP above ``point``, then down through it by ``depth`` m (gripper closed)."""
    above = point + np.array([0.0, 0.0, 0.10])
    for _ in range(40):
        obs, *_ = env.step(towards(env, obs, above))
    for _ in range(steps):
        obs, *_ = env.step(towards(env, obs, point - np.array([0, 0, depth]), gain=speed))
    return obs


def test_a_hand_pressed_onto_a_fixed_shelf_is_clamped():
    env, _ = make(monitor=False)
    try:
        obs, centre, low = hand_out(env)
        top = low[2] - 0.003
        shelf = env.sim.create_body("shelf", "box", (0.07, 0.07, 0.02), 0.0,
                                    position=(low[0], low[1], top - 0.02))
        mon = ContactMonitor(env.sim, env.robot, env.human, env.cell.fixed_bodies + [shelf],
                             springs=env.cell.springs)
        mon.attach()
        press(env, obs, centre, steps=20)
        mon.finish(env.sim.time)
        hand = [s for s in mon.samples if s.human_link == "hand_right"]
        assert hand and all(s.region == "hand" for s in hand)
        first = min(e.start for e in mon.events if e.human_link == "hand_right")
        early = [s for s in hand if s.t - first < 0.3]
        assert any(s.kind == "quasi_static" for s in early), "clamping not recognised"
        clamped = [s for s in hand if s.kind == "quasi_static"]
        assert all(s.force_limit == 140.0 for s in clamped)
        assert any(e.kind == "quasi_static" for e in mon.events if e.human_link == "hand_right")
    finally:
        env.close()


def test_a_brief_tap_is_one_transient_event():
    env, mon = make()
    try:
        obs, centre, _ = hand_out(env)
        above = centre + np.array([0.0, 0.0, 0.10])
        for _ in range(40):
            obs, *_ = env.step(towards(env, obs, above))
        tapped = False
        for _ in range(30):
            if not tapped:
                obs, *_ = env.step(towards(env, obs, centre - np.array([0, 0, 0.05]), gain=0.5))
                tapped = bool(mon.samples)
            else:
                obs, *_ = env.step(towards(env, obs, above, gain=1.0))
        mon.finish(env.sim.time)
        assert tapped
        pairs = {(e.robot_link, e.human_link) for e in mon.events}
        assert len(mon.events) == len(pairs)                  # one event per touching pair
        for e in mon.events:
            assert e.kind == "transient" and e.end - e.start < 0.3 and e.region == "hand"
            assert e.area_id in (17, 19, 21, 22, 24)           # dominant (right) hand areas
            assert e.force_limit == 280.0
    finally:
        env.close()


def test_contact_points_are_attributed_to_the_area_of_their_anchor():
    """Read through Bullet, or from link motion another monitor read (numpy), alike; with
    the person mid-reach, so that no link frame is the identity."""
    env, mon = make()
    try:
        for _ in range(50):
            env.step(ZERO)
        sim, h = env.sim, env.human
        links = [link.index for link in h.links]
        motion = (links, sim.link_com_states(h.body_id, links, velocity=True))
        areas = AreaMap(h)
        checked = 0
        for link in h.links:
            pos, orn = sim.link_state(h.body_id, link.index)
            for anchor in areas.anchors(link.index):
                world, _ = sim.multiply_transforms(pos, orn, anchor.point, (0, 0, 0, 1))
                assert mon._area(link.index, world) == anchor.area_id
                assert mon._area(link.index, world, motion) == anchor.area_id
                checked += 1
        assert checked >= 29
    finally:
        env.close()


def test_contacts_are_not_read_while_the_robot_is_out_of_reach():
    """Farther apart than the env's reach: no contact read per physics step; a touch
    found at the control step all the same (the bound failed) is read then."""
    env, mon = make()
    calls = []
    read = mon._contact_groups

    def counting():  # this monitor's reads of the contacts
        calls.append(env.sim.time)
        return read()

    mon._contact_groups = counting
    try:
        mon.control_step_samples(env.sim.time)        # the person is ~0.4 m away
        assert mon._nearest > 0.1
        mon.pre_contact_range = 0.1
        env.sim.step(12)
        assert calls == [] and mon._skipped
        mon.pre_contact_range = 1.0                   # now within reach: read every step
        env.sim.step(12)
        assert len(calls) == 12
        calls.clear()
        touching = SimpleNamespace(distance=-0.001, normal=(1.0, 0.0, 0.0), link_a=8,
                                   link_b=env.human.links[0].index, position_on_a=(0, 0, 1),
                                   position_on_b=(0, 0, 1))
        mon.pre_contact_range, mon._skipped = 0.1, True
        mon.control_step_samples(env.sim.time, closest=touching)
        assert len(calls) >= 1 and not mon._skipped   # read at once
    finally:
        env.close()


def test_the_pre_step_state_is_the_state_before_the_last_physics_step():
    env, _ = make(monitor=False)
    try:
        env.step(np.array([0.5, 0, 0, 0, 0, 0, -1], dtype=np.float32))
        before = env.robot.joint_state()
        env.sim.step(1)
        q, qd = env.robot.pre_step_state()
        assert np.array_equal(q, before[0]) and np.array_equal(qd, before[1])
        assert not np.array_equal(qd, env.robot.joint_state()[1])
    finally:
        env.close()


def test_a_zero_limit_makes_any_contact_a_violation():
    """Transient contact on skull, forehead or face has limit 0: ratio inf, violated."""
    from simulator.safety.records import ratio_to_limits
    assert ratio_to_limits(1.0, 1e4, 0.0, 0.0) == math.inf
    assert ratio_to_limits(0.0, 0.0, 0.0, 0.0) == 0.0
    assert ratio_to_limits(70.0, 50e4, 140.0, 200e4) == pytest.approx(0.5)


def test_bad_monitor_settings_are_refused():
    env, _ = make(monitor=False)
    try:
        with pytest.raises(ValueError, match="transient_window"):
            ContactMonitor(env.sim, env.robot, env.human, transient_window=0.0)
        with pytest.raises(ValueError, match="not links of the robot"):
            ContactMonitor(env.sim, env.robot, env.human,
                           robot_surfaces={"flange": ContactSurface("flat", 2.0)})
    finally:
        env.close()


def test_a_part_held_by_the_robot_counts_as_the_robot():
    """Contacts of a held part with the person are robot contacts (payload:<name>); the same
    part, not held, is not the robot."""
    from simulator.env import CellEnv

    def press_part_on_forearm(held: bool):
        env = CellEnv("handover")
        try:
            env.reset(seed=0)
            human, part = env.human, env.task.part
            row = env.human_link_names.index("forearm_right")
            centre = human.link_positions()[row]
            env.sim.reset_base_pose(part, centre + np.array([0.0, 0.0, 0.045]))  # scene building
            env.monitors.set_payload([(part, "part")] if held else [])
            contact = env.monitors.contact
            env.sim.step(24)
            return ([s for s in contact.samples if s.robot_link == "payload:part"],
                    contact.impacts)
        finally:
            env.close()

    held, impacts = press_part_on_forearm(True)
    assert held and all(s.force > 0 for s in held)
    assert "lower_arm" in {s.region for s in held}
    assert any(i.robot_link == "payload:part" for i in impacts)
    assert all(s.contact_area == pytest.approx(1e-4) for s in held)  # the 1 cm² default
    free, _ = press_part_on_forearm(False)
    assert free == []


def test_a_hand_between_the_two_fingers_is_clamped():
    """ISO/TS 15066 counts a body part trapped between two moving parts of the robot
    system: the hand squeezed between the Panda's fingers is quasi-static at once, with no
    fixed body behind it (the hand is held out in the air)."""
    env, mon = make()
    try:
        obs, centre, _ = hand_out(env)
        open_ = lambda a: np.array([*a[:6], 1.0], dtype=np.float32)  # noqa: E731
        for _ in range(40):  # open fingers above the hand, then down around it
            obs, *_ = env.step(open_(towards(env, obs, centre + np.array([0, 0, 0.10]))))
        for _ in range(40):
            obs, *_ = env.step(open_(towards(env, obs, centre, gain=0.3)))
        assert not [s for s in mon.samples if s.robot_link.endswith("finger")], "touched early"
        closing = env.sim.time
        for _ in range(20):  # close the gripper on the hand
            obs, *_ = env.step(np.array([0, 0, 0, 0, 0, 0, -1], dtype=np.float32))
        mon.finish(env.sim.time)
        hand = [s for s in mon.samples if s.human_link == "hand_right"
                and s.robot_link.endswith("finger") and s.t > closing]
        fingers = {s.robot_link for s in hand}
        assert {"panda_leftfinger", "panda_rightfinger"} <= fingers, fingers
        first = min(s.t for s in hand)
        both = [s for s in hand if s.t - first < 0.3 and s.kind == "quasi_static"]
        assert both, "the squeeze between two robot links was not recognised as clamping"
    finally:
        env.close()


def test_a_hand_between_a_held_part_and_a_shelf_is_clamped():
    """A part the robot holds, pressed down on a hand lying on a fixed shelf: the part's
    contact with the hand (robot link payload:part) is quasi-static."""
    env, _ = make(monitor=False)
    try:
        obs, centre, low = hand_out(env)
        link = env.human.link("hand_right")
        shelf = env.sim.create_body("shelf", "box", (0.07, 0.07, 0.02), 0.0,
                                    position=(low[0], low[1], low[2] - 0.003 - 0.02))
        part = env.task.part
        env.sim.reset_base_pose(part, centre + np.array([0.0, 0.0, link.radius + 0.051]))
        mon = ContactMonitor(env.sim, env.robot, env.human, env.cell.fixed_bodies + [shelf],
                             springs=env.cell.springs)
        mon.set_payload([(part, "part")])
        mon.attach()
        press(env, obs, centre + np.array([0.0, 0.0, link.radius + 0.10]), steps=20, depth=0.04)
        mon.finish(env.sim.time)
        held = [s for s in mon.samples if s.robot_link == "payload:part" and s.human_link == "hand_right"]
        assert held, "the held part never touched the hand"
        assert any(s.kind == "quasi_static" for s in held)
    finally:
        env.close()
