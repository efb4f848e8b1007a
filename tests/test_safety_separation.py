"""Separation and speed monitors: exact distances, S_p, measured speeds, events, no side effects."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from simulator import catalogue
from simulator.human import Human, Walk
from simulator.physics import Sim
from simulator.robot import Robot
from simulator.safety.geometry import segment_distances
from simulator.safety.separation import SeparationMonitor, UnsafeStartError
from simulator.safety.speed import REDUCED_SPEED, SpeedMonitor, SpeedZone
from simulator.safety.ssm import SsmParameters, protective_distance

PARAMS = SsmParameters(reaction_time=0.1, braking="constant_deceleration", deceleration=2.0,
                       intrusion_distance=0.1, human_uncertainty=0.02, robot_uncertainty=0.01)
DT, SUBSTEPS = 1.0 / 20.0, 12      # control step (s) and physics steps of 1/240 s


class Slider:
    """A 'robot': a sphere of ``radius`` on a prismatic joint along x, driven at a set
    velocity (a stiff velocity motor, so its speed is exactly what is commanded)."""

    def __init__(self, sim: Sim, x0: float, radius: float = 0.1, z: float = 1.0) -> None:
        self.sim = sim
        self.body = sim.create_multibody("slider", {"mass": 0.0}, [{
            "mass": 1.0, "collision": sim.collision_shape("sphere", (radius,)), "visual": -1,
            "parent": -1, "position": (x0, 0.0, z), "joint": "prismatic", "axis": (1, 0, 0)}])
        self.link_indices = [0]
        self.drive(0.0)

    def drive(self, speed: float) -> None:
        self.sim.velocity_control(self.body, [0], [speed], [1e5])

    def ee_pose(self):
        return self.sim.link_state(self.body, 0)

    def ee_velocity(self):
        return self.sim.link_state(self.body, 0, velocity=True)[2:]


def ball(sim: Sim, position, radius: float = 0.1):
    """A static 'person': one sphere, region hand."""
    body = sim.create_body("ball", "sphere", (radius,), 0.0, position=position)
    return SimpleNamespace(body_id=body, links=[SimpleNamespace(name="ball", index=-1,
                                                                regions=("hand",))])


def zero_g_sim() -> Sim:
    return Sim(time_step=1.0 / 240.0, gravity=0.0)


def run(sim, monitors, steps: int, each=None) -> list:
    samples = []
    for _ in range(steps):
        t = sim.time
        if each is not None:
            each(t)
        sim.step(SUBSTEPS)
        samples.append([m.on_control_step(t, DT) for m in monitors])
    return samples


def test_segment_distances_match_dense_sampling():
    rng = np.random.default_rng(0)
    p0, p1, q0, q1 = (rng.normal(size=(6, 3)) for _ in range(4))
    p1[0] = p0[0]                        # a point
    q1[1] = q0[1] + 0.5 * (p1[1] - p0[1])  # parallel
    got = segment_distances(p0, p1, q0, q1)
    s = np.linspace(0, 1, 801)[:, None]
    for i in range(6):
        for j in range(6):
            a, b = p0[i] + s * (p1[i] - p0[i]), q0[j] + s * (q1[j] - q0[j])
            dense = np.min(np.linalg.norm(a[:, None] - b[None], axis=2))
            assert got[i, j] <= dense + 1e-12 and got[i, j] == pytest.approx(dense, abs=2e-3)
    # crossing segments (distance 0) and the same 0.3 m apart: never above the exact
    # distance, below it by less than 1e-6 m
    x0, x1 = np.array([[-1.0, 0.0, 0.0]]), np.array([[1.0, 0.0, 0.0]])
    y0 = np.array([[0.0, -1.0, 0.0], [0.0, -1.0, 0.3]])
    y1 = y0 + [0.0, 2.0, 0.0]
    got = segment_distances(x0, x1, y0, y1)[0]
    assert np.all(got <= [0.0, 0.3]) and np.all(got > [-1e-6, 0.3 - 1e-6]), got


def test_sphere_distance_speed_and_protective_distance_are_exact():
    sim = zero_g_sim()
    robot = Slider(sim, x0=0.0, radius=0.1)
    human = ball(sim, (1.5, 0.0, 1.0), radius=0.12)
    monitor = SeparationMonitor(sim, robot, human, PARAMS, tracked=False)
    robot.drive(0.6)
    (s,), = run(sim, [monitor], 4)[-1:]
    x = sim.link_state(robot.body, 0)[0][0]
    assert s.distance == pytest.approx(1.5 - x - 0.22, abs=1e-3)
    assert s.exact and s.robot_link == sim.joint_info(robot.body, 0).link_name
    assert (s.human_link, s.human_region) == ("ball", "hand")
    assert s.robot_speed == pytest.approx(0.6, rel=1e-3)
    assert s.human_speed == 1.6                                   # untracked: ISO 13855
    expected = protective_distance(1.6, 0.6, PARAMS)
    assert s.protective_distance == pytest.approx(expected.s_p, abs=1e-3)
    assert s.terms.s_h == pytest.approx(1.6 * (0.1 + 0.3), abs=1e-3)
    assert s.margin == pytest.approx(s.distance - s.protective_distance, abs=1e-12)
    sim.close()


@pytest.fixture(scope="module")
def panda_and_person():
    sim = Sim()
    sim.load_urdf("floor", "plane.urdf", fixed_base=True)
    robot = Robot(sim, catalogue.load_robot("panda"), catalogue.robot_folder("panda"),
                  position=(0.0, 0.0, 0.75))
    robot.reset()
    human = Human(sim, "human", position=(0.85, 0.1), yaw=np.pi)
    yield sim, robot, human
    sim.close()


def test_panda_to_person_distance_agrees_with_a_dense_query(panda_and_person):
    sim, robot, human = panda_and_person
    monitor = SeparationMonitor(sim, robot, human, PARAMS)
    rng = np.random.default_rng(5)
    seen = []
    for q in [robot.home] + [rng.uniform(robot.lower, robot.upper) for _ in range(14)]:
        robot.reset(q)
        s = monitor.measure(0.0)
        dense = min(sim.closest_points(robot.body, human.body_id, 5.0), key=lambda c: c.distance)
        assert s.distance == pytest.approx(dense.distance, abs=1e-3)
        assert s.exact
        seen.append(s.distance)
    assert min(seen) < 0.1 and max(seen) > 0.3     # near and far poses both covered
    robot.reset()


def test_query_radius_reports_a_conservative_bound_when_far(panda_and_person):
    sim, robot, human = panda_and_person
    robot.reset()
    exact = SeparationMonitor(sim, robot, human, PARAMS).measure(0.0)
    coarse = SeparationMonitor(sim, robot, human, PARAMS, query_radius=0.05).measure(0.0)
    assert exact.exact and not coarse.exact
    assert exact.distance - 0.3 < coarse.distance <= exact.distance


def test_walking_person_speed_towards_the_robot_is_measured():
    sim = Sim(time_step=1.0 / 240.0)
    sim.load_urdf("floor", "plane.urdf", fixed_base=True)
    robot = Slider(sim, x0=3.0, radius=0.1, z=1.2)
    human = Human(sim, "human", position=(0.0, 0.0))
    human.set_program(Walk([(2.2, 0.0)], speed=1.0))
    tracked = SeparationMonitor(sim, robot, human, PARAMS)
    untracked = SeparationMonitor(sim, robot, human, PARAMS, tracked=False)
    frames, samples = [], []
    for k in range(30):
        human.update(sim.time, DT)
        sim.step(SUBSTEPS)
        samples.append((tracked.on_control_step(k * DT, DT), untracked.on_control_step(k * DT, DT)))
        com = sim.link_com_states(human.body_id, [l.index for l in human.links])
        frames.append({l.name: (com.position[i], com.orientation[i])
                       for i, l in enumerate(human.links)})
    # reference: central difference of the closest material point, from link poses only
    measured, reference, trunk = [], [], []
    for k in range(12, 28):      # after the start ramp (about 0.5 s), before arriving
        s = samples[k][0]
        pos, quat = frames[k][s.human_link]
        local = sim.rotation_matrix(quat).T @ (np.asarray(s.human_point) - pos)
        ahead, behind = (frames[k + d][s.human_link] for d in (1, -1))
        moved = (ahead[0] + sim.rotation_matrix(ahead[1]) @ local
                 - behind[0] - sim.rotation_matrix(behind[1]) @ local)
        reference.append(float(np.dot(moved / (2 * DT), _unit(s))))
        measured.append(s.human_speed)
        if s.human_link == "abdomen":   # carried along rigidly at the walking speed
            trunk.append(s.human_speed / _unit(s)[0])
    assert np.mean(measured) == pytest.approx(np.mean(reference), rel=0.10)
    assert len(trunk) >= 5 and np.allclose(trunk, 1.0, rtol=0.10)
    for _, u in samples:
        assert u.human_speed == 1.6
        assert u.terms.s_h == pytest.approx(1.6 * (PARAMS.reaction_time + u.terms.t_s))
    sim.close()


def _unit(sample) -> np.ndarray:
    d = np.subtract(sample.robot_point, sample.human_point)
    return d / np.linalg.norm(d)


def test_violation_events_open_and_close():
    sim = zero_g_sim()
    robot = Slider(sim, x0=0.0)
    human = ball(sim, (1.0, 0.0, 1.0))
    monitor = SeparationMonitor(sim, robot, human, PARAMS)   # tracked: the ball stands still
    # S_p at 0.5 m/s: 0.05 + 0.0625 + 0.13 = 0.2425 m; the gap starts at 0.8 m
    plan = [0.5] * 24 + [0.0] * 6 + [-0.5] * 6 + [0.5] * 8
    samples = [s for (s,) in run(sim, [monitor], len(plan),
                                 each=lambda t: robot.drive(plan[int(round(t / DT))]))]
    assert len(monitor.events) == 1
    first = monitor.pop_events()
    assert first == monitor.events and monitor.pop_events() == []
    e = first[0]
    violating = [s for s in samples if s.violation]
    assert e.start == pytest.approx(violating[0].time) and e.end <= 24 * DT + 2 * DT
    assert e.min_margin == pytest.approx(min(s.margin for s in violating if s.time < e.end))
    assert e.max_protective_distance == pytest.approx(0.2425, abs=1e-3)
    assert not samples[26].moving and not samples[26].violation   # stopped inside S_p: no violation
    assert (e.robot_link, e.human_region) == (samples[0].robot_link, "hand")
    # the final approach opens a second interval; finish() closes it
    assert monitor.in_violation
    monitor.finish(sim.time)
    assert len(monitor.events) == 2 and monitor.events[1].end == pytest.approx(sim.time)
    sim.close()


def test_an_episode_that_starts_inside_s_p_raises():
    sim = zero_g_sim()
    robot = Slider(sim, x0=0.0)
    human = ball(sim, (0.3, 0.0, 1.0))
    # untracked: S_p = 1.6 m/s * 0.1 s + 0.13 m = 0.29 m, the gap is 0.1 m
    with pytest.raises(UnsafeStartError, match=r"distance 0\.1000 m .* below S_p = 0\.2900 m"):
        SeparationMonitor(sim, robot, human, PARAMS, tracked=False).check_start()
    sim.close()
    sim = zero_g_sim()
    robot = Slider(sim, x0=0.0)
    human = ball(sim, (0.35, 0.0, 1.0))
    ok = SeparationMonitor(sim, robot, human, PARAMS, tracked=True).check_start()
    assert ok.distance == pytest.approx(0.15, abs=1e-6)
    assert ok.protective_distance == pytest.approx(0.13)
    sim.close()


def test_speed_monitor_limits_zones_and_events():
    sim = zero_g_sim()
    robot = Slider(sim, x0=0.0)
    zones = [SpeedZone("slow", (0.15, -1, 0), (0.31, 1, 2), speed_limit=0.1),
             SpeedZone("keep_out", (0.35, -1, 0), (0.5, 1, 2), keep_out=True)]
    monitor = SpeedMonitor(robot, limit=REDUCED_SPEED, zones=zones)
    plan = [0.2] * 10 + [0.4] * 15 + [0.0] * 5
    samples = [s for (s,) in run(sim, [monitor], len(plan),
                                 each=lambda t: robot.drive(plan[int(round(t / DT))]))]
    assert samples[3].tcp_speed == pytest.approx(0.2, rel=1e-3) and samples[3].violations == ()
    kinds = {(e.kind, e.zone) for e in monitor.events}
    assert kinds == {("speed_limit", None), ("zone_speed", "slow")}
    limit = next(e for e in monitor.events if e.kind == "speed_limit")
    assert limit.peak_speed == pytest.approx(0.4, rel=1e-3) and limit.limit == REDUCED_SPEED
    assert limit.end == pytest.approx(26 * DT)
    monitor.finish(sim.time)      # the TCP stopped inside the keep-out zone
    keep_out = [e for e in monitor.events if e.kind == "keep_out"]
    assert len(keep_out) == 1 and keep_out[0].zone == "keep_out"
    assert samples[-1].zones == ("keep_out",) and samples[-1].limit == REDUCED_SPEED
    with pytest.raises(ValueError, match="either speed_limit or keep_out"):
        SpeedZone("bad", (0, 0, 0), (1, 1, 1))
    with pytest.raises(ValueError, match="below upper"):
        SpeedZone("bad", (0, 0, 0), (1, 0, 1), keep_out=True)
    sim.close()


def _episode(with_monitors: bool):
    sim = Sim(time_step=1.0 / 240.0)
    sim.load_urdf("floor", "plane.urdf", fixed_base=True)
    robot = Robot(sim, catalogue.load_robot("panda"), catalogue.robot_folder("panda"),
                  position=(0.0, 0.0, 0.75))
    robot.reset()
    human = Human(sim, "human", position=(1.6, 0.0), yaw=np.pi)
    human.set_program(Walk([(0.9, 0.0)], speed=0.8))
    monitors = [SeparationMonitor(sim, robot, human, PARAMS),
                SpeedMonitor(robot, limit=REDUCED_SPEED)] if with_monitors else []
    for k in range(30):
        robot.command_joints(robot.home + np.array([0.6, 0.3, 0.0, 0.3, 0.0, 0.0, 0.0]) * k / 30)
        robot.apply_commands(DT)
        human.update(sim.time, DT)
        sim.step(SUBSTEPS)
        for m in monitors:
            m.on_control_step(k * DT, DT)
    state = (robot.movable_state()[0], human.link_positions())
    sim.close()
    return state


def test_monitors_never_change_the_simulation():
    (q_a, h_a), (q_b, h_b) = _episode(False), _episode(True)
    np.testing.assert_array_equal(q_a, q_b)
    np.testing.assert_array_equal(h_a, h_b)


def test_a_held_part_is_part_of_the_robot_for_the_separation():
    """With the part held, the separation is measured from it when it is the nearest."""
    from simulator.env import CellEnv

    env = CellEnv("handover")
    try:
        env.reset(seed=0)
        sep, part = env.monitors.separation, env.task.part
        human_point = env.human.link_positions()[env.human_link_names.index("chest")]
        env.sim.reset_base_pose(part, human_point + np.array([-0.25, 0.0, 0.0]))  # scene building
        alone = sep.measure(env.sim.time)
        sep.set_payload([(part, "part")])
        held = sep.measure(env.sim.time)
        assert held.robot_link == "payload:part"
        assert held.distance < alone.distance
        dense = min(c.distance for c in env.sim.closest_points(part, env.human.body_id, 2.0))
        assert held.distance == pytest.approx(dense, abs=1e-3)
        sep.set_payload([])
        assert sep.measure(env.sim.time).robot_link == alone.robot_link
    finally:
        env.close()
