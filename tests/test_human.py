"""The physical person: build, stiffness, standing, reach, handover, push, walk, isolation."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.bodymodel import load_body_model
from simulator.human import Handover, Human, Idle, Reach, Walk
from tests.people import DT, SUBSTEPS, make, run







def test_links_regions_and_contact_stiffness_read_back():
    sim, human = make()
    model = load_body_model()
    assert human.link_names[0] == "pelvis" and len(human.links) == 15
    assert human.links[0].index == -1
    assert sorted(l.index for l in human.links) == list(range(-1, 14))
    for link, region in zip(human.links, human.link_regions):
        assert region in model.regions and link.regions[0] == region
        assert model.area(link.area_id).region_id == region
        info = sim.dynamics_info(human.body_id, link.index)
        # Bullet's own contacts of the person (fixtures, parts) are soft with the primary
        # region's k; a robot meets the area springs of simulator.contact_springs instead
        assert info["contact_stiffness"] == pytest.approx(model.region(region).spring_constant)
        assert info["contact_damping"] == 0.0 and link.stiffness == info["contact_stiffness"]
        assert info["mass"] == pytest.approx(link.mass)
    assert human.link("head").regions == ("skull_forehead", "face")
    assert human.link("hand_right").stiffness == 75000.0
    assert human.link("hand_right").area_id == 24 and human.link("hand_left").area_id == 25
    assert sum(l.mass for l in human.links) == pytest.approx(human.total_mass)
    sim.close()


def test_placement_yaw_and_feet_on_floor():
    sim, human = make(position=(1.0, -0.5), yaw=np.pi / 2)
    pos = human.link_positions()
    pelvis, left_shoulder = pos[0], human.shoulder_position("left")
    assert pelvis[:2] == pytest.approx([1.0, -0.5], abs=1e-6)
    # facing +y: the left shoulder is on the -x side
    assert left_shoulder[0] < 0.9 and left_shoulder[1] == pytest.approx(-0.5, abs=1e-6)
    floor = sim.body("floor")
    for name in ("lower_leg_left", "lower_leg_right"):
        gap = sim.closest_points(human.body_id, floor, 0.05, link_a=human.link(name).index)
        assert gap and abs(gap[0].distance) < 2e-3
    assert pos[:, 2].max() + human.link("head").radius < 1.756 + 0.07
    sim.close()


@pytest.mark.parametrize("body", ["p05_female", "p50_male", "p95_male"])
def test_person_stands_during_idle(body):
    sim, human = make(body)
    human.set_program(Idle(amplitude=0.01, period=2.0, rng=np.random.default_rng(3)))
    z0 = human.link_positions()[:, 2].copy()
    heights = []
    run(sim, human, 2.0, each=lambda: heights.append(human.link_positions()[:, 2]))
    heights = np.array(heights)
    assert np.abs(heights[:, 0] - z0[0]).max() < 0.03      # pelvis
    assert np.abs(heights[:, 4] - z0[4]).max() < 0.03      # head stays up too
    assert human.phase == "idle"
    sim.close()


def test_reach_gets_the_palm_within_2cm():
    sim, human = make(yaw=0.3)
    rot = np.array([[np.cos(0.3), -np.sin(0.3), 0], [np.sin(0.3), np.cos(0.3), 0], [0, 0, 1]])
    for side, offset in (("right", (0.35, -0.1, -0.15)), ("left", (0.3, 0.15, 0.05))):
        target = human.shoulder_position(side) + rot @ np.array(offset)
        program = Reach(target, side=side, speed=0.5)
        human.set_program(program)
        run(sim, human, 2.0)
        assert program.phase == "hold"
        assert np.linalg.norm(human.palm_position(side) - target) < 0.02
    sim.close()


def test_handover_goes_through_every_phase():
    sim, human = make()
    point = np.array([0.45, -0.2, 1.1])
    above, rest = point + (0.0, 0.0, 0.35), point + (0.0, 0.0, 0.06)   # lowered onto the hand
    box = sim.create_body("part", "box", (0.03, 0.03, 0.03), 0.3, position=above)
    carrier = sim.create_fixed_constraint(box, -1, None, child_pivot=above, max_force=50.0)
    program = Handover(point, "right", object_position=lambda: sim.base_pose(box)[0],
                       object_id=box, wait_timeout=10.0, close_radius=0.07, speed=0.4,
                       start_delay=0.2)
    human.set_program(program)
    carried = {"s": 0.0, "on": True}

    def bring():
        if program.phase == "wait" and carried["on"]:
            carried["s"] = min(1.0, carried["s"] + 0.5 * DT)   # 0.29 m in 2 s
            sim.move_constraint(carrier, above + carried["s"] * (rest - above))
        if program.phase in ("close", "withdraw") and carried["on"]:
            sim.remove_constraint(carrier)   # the robot lets go
            carried["on"] = False

    run(sim, human, 9.0, each=bring)
    assert program.history == ["idle", "extend", "wait", "close", "withdraw", "done"]
    assert program.received and human.holding("right") == box
    assert np.linalg.norm(sim.base_pose(box)[0] - human.palm_position("right")) < 0.1
    assert np.linalg.norm(sim.base_pose(box)[0] - point) > 0.1   # it went with the hand
    human.release("right")
    assert human.holding("right") is None
    sim.close()


def test_grasp_refuses_a_far_object():
    sim, human = make()
    far = sim.create_body("far", "box", (0.03, 0.03, 0.03), 0.3, position=(1.0, 0.0, 1.0))
    assert human.grasp(far, "right") is False and human.holding("right") is None
    sim.close()


def test_a_pushing_box_displaces_the_forearm_without_teleporting():
    sim, human = make()
    row = human.link_names.index("forearm_right")
    start = human.link_positions()
    fx, fy, fz = start[row]
    x0 = fx + 0.12          # in front of the forearm; the person faces +x
    pusher = sim.create_body("pusher", "box", (0.04, 0.06, 0.06), 20.0, position=(x0, fy, fz))
    drive = sim.create_fixed_constraint(pusher, -1, None, child_pivot=(x0, fy, fz),
                                        max_force=500.0)
    prev, max_jump, touched = start.copy(), 0.0, False
    for k in range(int(1.0 / DT)):
        x = x0 - 0.3 * (k + 1) * DT     # 0.3 m/s towards -x, into the forearm
        sim.move_constraint(drive, (x, fy, fz))
        human.update(sim.time, DT)
        for _ in range(SUBSTEPS):
            sim.step()
            now = human.link_positions()
            max_jump = max(max_jump, float(np.abs(now - prev).max()))
            prev = now
            touched = touched or bool(sim.contacts(pusher, human.body_id))
    moved = human.link_positions()[row] - start[row]
    assert touched
    assert moved[0] < -0.05                       # pushed backwards, measurably
    assert max_jump < 0.01                        # no link jumps > 1 cm in one 2 ms step
    assert np.linalg.norm(human.link_positions()[0] - start[0]) < 0.02   # pelvis held
    sim.close()


def test_walk_follows_the_path_at_the_commanded_speed():
    sim, human = make()
    program = Walk([(1.0, 0.0), (1.0, 1.0)], speed=1.0)
    human.set_program(program)
    track = []
    run(sim, human, 3.0, each=lambda: track.append(human.link_positions()[0, :2].copy()))
    track = np.array(track)
    assert program.phase == "done"
    assert track[-1] == pytest.approx([1.0, 1.0], abs=0.05)
    # speed along the path between 0.5 s and 1.5 s (after the start ramp)
    a, b = int(0.5 / DT), int(1.5 / DT)
    path_len = np.sum(np.linalg.norm(np.diff(track[a:b + 1], axis=0), axis=1))
    assert path_len / (b - a) / DT == pytest.approx(1.0, rel=0.2)
    # never off the path by more than 5 cm (corner cut bounded by the turn)
    off = np.minimum(np.abs(track[:, 1]) + np.maximum(track[:, 0] - 1.0, 0),
                     np.abs(track[:, 0] - 1.0))
    assert off.max() < 0.05
    _, yaw = human.root_target
    assert yaw == pytest.approx(np.pi / 2, abs=0.05)
    sim.close()


def test_two_sims_do_not_affect_each_other():
    sim_a, walker = make()
    sim_b, idle_b = make()
    sim_c, idle_c = make()
    walker.set_program(Walk([(2.0, 0.0)], speed=1.0))
    idle_b.set_program(Idle(0.01, 2.0, rng=np.random.default_rng(7)))
    idle_c.set_program(Idle(0.01, 2.0, rng=np.random.default_rng(7)))
    for _ in range(60):
        for sim, h in ((sim_a, walker), (sim_b, idle_b), (sim_c, idle_c)):
            h.update(sim.time, DT)
            sim.step(SUBSTEPS)
    assert walker.link_positions()[0, 0] > 0.5
    np.testing.assert_array_equal(idle_b.link_positions(), idle_c.link_positions())
    assert np.abs(idle_b.link_positions()[0, :2]).max() < 1e-3
    for sim in (sim_a, sim_b, sim_c):
        sim.close()


def test_reset_after_restore_returns_to_the_start():
    sim, human = make()
    box = sim.create_body("part", "box", (0.03, 0.03, 0.03), 0.3, position=(0.3, -0.25, 0.75))
    state = sim.save_state()
    start = human.link_positions()
    human.set_program(Reach(human.shoulder_position("right") + (0.35, 0.0, -0.1), "right", 0.5))
    run(sim, human, 1.0)
    human.grasp(box, "right")
    sim.restore_state(state)
    human.reset()
    assert human.holding("right") is None and human.phase == "reach"
    np.testing.assert_allclose(human.link_positions(), start, atol=1e-9)
    run(sim, human, 0.5)
    assert np.linalg.norm(human.link_positions() - start) > 0.01   # the program runs again
    sim.close()


def test_velocities_shape_and_custom_body():
    sim, human = make(body=(1.60, 60.0, "female"))
    assert human.total_mass == pytest.approx(60.0, rel=0.01)
    assert human.link_velocities().shape == (15, 3)
    assert human.hand_link("left") == human.link_names.index("hand_left")
    with pytest.raises(ValueError):
        human.hand_link("middle")
    sim.close()


def test_the_robot_pushing_a_forearm_moves_it():
    """The Panda's TCP driven into the waiting forearm pushes it: the person is dynamic."""
    from simulator.control import POSITION_STEP
    from simulator.env import CellEnv

    env = CellEnv("handover")
    try:
        obs, _ = env.reset(seed=0)
        row = env.human_link_names.index("forearm_right")
        zero = np.zeros(7, dtype=np.float32)
        for _ in range(60):  # the person extends the hand and waits (3 s)
            obs, *_ = env.step(zero)
        start = obs["human_keypoints"][row].astype(float)
        forearm_link = env.human.links[row].index
        touched = False
        for _ in range(40):  # TCP towards the forearm centre and 0.1 m through it
            ee = obs["ee_pos"].astype(float)
            goal = start + (start - env.scenario.robot.position) * np.array([0.25, 0.25, 0.0])
            step = np.clip((goal - ee) / POSITION_STEP, -0.6, 0.6)
            obs, *_ = env.step(np.array([*step, 0, 0, 0, -1], dtype=np.float32))
            touched = touched or any(c.link_b == forearm_link for c in
                                     env.cell.springs.contacts)
        moved = obs["human_keypoints"][row].astype(float) - start
        assert touched
        assert np.linalg.norm(moved) > 0.02, moved
        # pushed away from the robot, not pulled towards it
        away = (start - env.scenario.robot.position)[:2]
        assert np.dot(moved[:2], away) > 0
    finally:
        env.close()


def test_walking_velocity_reported_by_the_physics_matches_the_motion():
    """The root target slides within each control step: Bullet's pelvis velocity equals its
    displacement per control step within 10 % (a target jumping once per control step left
    the reported velocity at 0.42 of the real 1.0 m/s)."""
    sim, human = make(position=(0.0, 0.0))
    human.set_program(Walk([(4.0, 0.0)], speed=1.0))
    ratios = []
    prev = human.link_positions()[0].copy()
    for k in range(int(round(3.0 / DT))):
        human.update(sim.time, DT)
        sim.step(SUBSTEPS)
        now = human.link_positions()[0].copy()
        if k > int(1.0 / DT):  # past the acceleration
            reported = human.link_velocities()[0][0]
            measured = (now[0] - prev[0]) / DT
            ratios.append(reported / measured)
        prev = now
    print(f"reported/measured pelvis speed: {min(ratios):.3f}-{max(ratios):.3f}")
    assert 0.9 < min(ratios) and max(ratios) < 1.1
    sim.close()


def test_arm_targets_round_trip_and_person_defaults_change_nothing():
    """``arm_targets``/``set_arm_targets`` restore an arm exactly; a person built from the
    default HumanSpec (speed_factor 1, no gait speed, no behaviour) moves bit-identically to
    a plain ``Human``."""
    from simulator.human.person import build_human
    from simulator.physics import Sim
    from simulator.spec.human import HumanSpec

    sim, human = make()
    saved = human.arm_targets("right")
    human.set_arm_target("right", human.shoulder_position("right") + np.array([0.3, 0.0, 0.1]))
    assert not np.allclose(human.arm_targets("right")[0], saved[0])
    human.set_arm_targets("right", saved)
    restored = human.arm_targets("right")
    assert all(np.array_equal(a, b) for a, b in zip(restored, saved))
    sim.close()

    tracks = []
    for built in (False, True):
        sim = Sim()
        sim.load_urdf("floor", "plane.urdf", fixed_base=True)
        person = (build_human(sim, HumanSpec(position=(0.0, 0.0), yaw_deg=0.0)) if built
                  else Human(sim, "human", body="p50_male", position=(0.0, 0.0), yaw=0.0))
        assert person.behaviour is None and person.speed_factor == 1.0
        target = person.shoulder_position("right") + np.array([0.35, -0.1, -0.1])
        person.set_program(Reach(target, side="right", speed=0.4))
        track = []
        run(sim, person, 1.0, each=lambda: track.append(person.link_positions()))
        tracks.append(np.array(track))
        sim.close()
    assert np.array_equal(tracks[0], tracks[1])


def test_a_paused_program_keeps_its_own_clock():
    """While a behaviour pauses the program (here a distraction), the program's time
    stands still: a handover's start delay is not used up by the pause."""
    from simulator.human.behaviour import Behaviour
    from simulator.spec.human import DistractionSpec, ReactionSpec

    sim, human = make()
    human.behaviour = Behaviour(ReactionSpec(), DistractionSpec(rate=1.0, duration=0.5,
                                                                point=(0.4, -0.2, 1.1)),
                                "right", sim, None)
    human.behaviour.start(np.random.default_rng(0))
    human.behaviour.next_distraction = 0.0          # distracted right away
    program = Handover(point=(0.45, -0.2, 1.0), side="right",
                       object_position=lambda: np.array([9.0, 9.0, 9.0]), object_id=-1,
                       start_delay=0.5)
    human.set_program(program)
    run(sim, human, 1.0)
    assert human.behaviour.label == "distracted" and human.behaviour.paused > 0.9
    assert program.phase == "idle"                 # its 0.5 s delay has not run
    sim.close()


@pytest.mark.parametrize("body", ["p05_female", "p50_male", "p95_male"])
def test_a_person_standing_still_is_still_at_the_cells_step(body):
    """At the cells' 1/240 s step a person without a program comes to rest and stays
    there: no link's centre moves faster than 5 mm/s and none turns faster than 0.1 rad/s.
    (The elbow's drive, sized for the forearm about the elbow, once made the upper arms
    chatter at the step rate: 0.15 m/s and 3.3 rad/s while standing still.)"""
    from simulator.physics import Sim

    sim = Sim(time_step=1.0 / 240.0)
    sim.load_urdf("floor", "plane.urdf", fixed_base=True)
    human = Human(sim, "human", body=body)
    links = [link.index for link in human.links]
    fastest, turning = 0.0, 0.0
    for step in range(60):  # 3 s of control steps of 1/20 s
        human.update(sim.time, 0.05)
        sim.step(12)
        if step >= 20:
            state = sim.link_com_states(human.body_id, links, velocity=True)
            fastest = max(fastest, float(np.linalg.norm(state.linear, axis=1).max()))
            turning = max(turning, float(np.linalg.norm(state.angular, axis=1).max()))
    sim.close()
    print(f"{body}: fastest link {fastest * 1000:.3f} mm/s, fastest turn {turning:.4f} rad/s")
    assert fastest < 0.005 and turning < 0.1
