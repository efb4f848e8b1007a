"""The physics facade (simulator.physics.Sim): registry, isolation, stepping, states,
reset, rendering, contacts, distances and shapes. All headless (DIRECT client)."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.physics import Sim, SimError

G = 9.81  # m/s²


@pytest.fixture()
def sim():
    s = Sim()
    yield s
    s.close()


def build_scene(sim: Sim) -> None:
    """A plane, a box dropped on it with a spin, and a two-link multibody falling next to it."""
    sim.load_urdf("plane", "plane.urdf", fixed_base=True)
    sim.create_body("box", "box", (0.1, 0.08, 0.05), 1.0, position=(0.0, 0.0, 0.4),
                    orientation=sim.quaternion_from_euler((0.3, 0.2, 0.1)))
    base = {"mass": 0.5, "collision": sim.collision_shape("box", (0.05, 0.05, 0.05))}
    links = [{"mass": 0.3, "collision": sim.collision_shape("capsule", (0.03, 0.2)),
              "parent": -1, "position": (0.0, 0.0, 0.15), "joint": "revolute",
              "axis": (1, 0, 0), "inertial_position": (0.0, 0.0, 0.1)}]
    pendulum = sim.create_multibody("pendulum", base, links, position=(0.6, 0.0, 0.5),
                                    orientation=sim.quaternion_from_euler((0.4, 0.0, 0.0)))
    sim.free_joints(pendulum, [], [0])  # no default motor: the link swings freely


def trajectory(sim: Sim, steps: int = 400) -> np.ndarray:
    box, pend = sim.body("box"), sim.body("pendulum")
    rows = []
    for _ in range(steps):
        sim.step()
        rows.append(np.concatenate([*sim.base_pose(box), *sim.base_velocity(box),
                                    *sim.base_pose(pend), sim.joint_states(pend, [0])[0]]))
    return np.array(rows)


# ---------------------------------------------------------------- registry
def test_duplicate_body_names_raise_naming_the_name(sim):
    sim.create_body("crate", "box", (0.1, 0.1, 0.1), 1.0)
    with pytest.raises(SimError, match="'crate'"):
        sim.create_body("crate", "sphere", (0.1,), 1.0)
    with pytest.raises(SimError, match="'crate'"):
        sim.load_urdf("crate", "plane.urdf", fixed_base=True)
    with pytest.raises(SimError, match="'crate'"):
        sim.create_multibody("crate", {"mass": 1.0}, [])
    assert sim.body_names == ["crate"]


def test_unknown_body_lists_the_known_ones(sim):
    sim.create_body("crate", "box", (0.1, 0.1, 0.1), 1.0)
    sim.create_body("ball", "sphere", (0.1,), 1.0, position=(1, 0, 0))
    with pytest.raises(SimError, match=r"no body named 'pallet'; known: \['ball', 'crate'\]"):
        sim.body("pallet")
    assert sim.body("ball") != sim.body("crate")
    assert sim.body_name(sim.body("ball")) == "ball"


def test_two_sims_in_one_process_are_isolated():
    falling, floating = Sim(), Sim(gravity=0.0)
    try:
        for s in (falling, floating):
            s.create_body("box", "box", (0.05, 0.05, 0.05), 1.0, position=(0.0, 0.0, 1.0))
        falling.load_urdf("plane", "plane.urdf", fixed_base=True)
        assert falling.body_names == ["box", "plane"] and floating.body_names == ["box"]
        with pytest.raises(SimError, match="plane"):
            floating.body("plane")
        for _ in range(240):  # interleaved: a shared client or gravity would show
            falling.step()
            floating.step()
        dropped = falling.base_pose(falling.body("box"))[0]
        held = floating.base_pose(floating.body("box"))[0]
        assert dropped[2] == pytest.approx(0.05, abs=2e-3)  # landed on the plane
        assert np.array_equal(held, [0.0, 0.0, 1.0])
        assert np.array_equal(floating.base_velocity(floating.body("box"))[0], [0.0, 0.0, 0.0])
    finally:
        falling.close()
        floating.close()


# ---------------------------------------------------------------- stepping
def test_step_callbacks_run_once_per_step_in_order(sim):
    calls = []
    sim.add_pre_step(lambda: calls.append(("pre1", sim.steps)))
    sim.add_pre_step(lambda: calls.append(("pre2", sim.steps)))
    sim.add_post_step(lambda: calls.append(("post1", sim.steps)))
    sim.add_post_step(lambda: calls.append(("post2", sim.steps)))
    sim.step(3)
    expected = []
    for k in range(3):
        expected += [("pre1", k), ("pre2", k), ("post1", k + 1), ("post2", k + 1)]
    assert calls == expected
    assert sim.steps == 3 and sim.time == pytest.approx(3 * sim.time_step, rel=1e-12)
    sim.step()
    assert len(calls) == 16 and sim.time == pytest.approx(4 * sim.time_step, rel=1e-12)


def test_pre_step_sees_the_state_before_and_post_step_after_the_physics_step(sim):
    box = sim.create_body("box", "box", (0.05, 0.05, 0.05), 2.0, position=(0, 0, 1))
    before, after = [], []
    sim.add_pre_step(lambda: before.append(sim.base_pose(box)[0][2]))
    sim.add_post_step(lambda: after.append(sim.base_pose(box)[0][2]))
    sim.step(4)
    assert before[0] == 1.0
    assert before[1:] == after[:-1]  # nothing happens between a step's post and the next pre
    assert all(a < b for a, b in zip(after, before))  # the physics step ran in between


def test_invalid_time_step_is_refused():
    with pytest.raises(SimError, match="time_step"):
        Sim(time_step=0.0)


# ---------------------------------------------------------------- states and reset
def test_save_and_restore_state_bring_positions_and_velocities_back_exactly(sim):
    build_scene(sim)
    box, pend = sim.body("box"), sim.body("pendulum")
    sim.step(60)  # mid-air, moving
    handle = sim.save_state()
    saved = (sim.base_pose(box), sim.base_velocity(box), sim.base_pose(pend),
             sim.base_velocity(pend), sim.joint_states(pend, [0]))
    assert np.linalg.norm(saved[1][0]) > 0.1  # really moving when saved
    sim.step(300)
    moved = sim.base_pose(box)[0]
    assert not np.allclose(moved, saved[0][0])
    sim.restore_state(handle)
    restored = (sim.base_pose(box), sim.base_velocity(box), sim.base_pose(pend),
                sim.base_velocity(pend), sim.joint_states(pend, [0]))
    for a, b in zip(saved, restored):
        for x, y in zip(a, b):
            assert np.array_equal(x, y)
    assert sim.steps == 0 and sim.time == 0.0


def test_reset_world_empties_registry_and_callbacks(sim):
    build_scene(sim)
    calls = []
    sim.add_pre_step(lambda: calls.append("pre"))
    sim.add_post_step(lambda: calls.append("post"))
    sim.step(5)
    assert len(calls) == 10
    sim.reset_world()
    assert sim.body_names == [] and sim.steps == 0 and sim.time == 0.0
    with pytest.raises(SimError, match="no body named 'box'; known: \\[\\]"):
        sim.body("box")
    sim.step(5)
    assert len(calls) == 10
    assert sim.steps == 5
    build_scene(sim)  # the old names are free again
    assert sorted(sim.body_names) == ["box", "pendulum", "plane"]


def test_rebuilding_after_reset_world_gives_bit_identical_trajectories(sim):
    build_scene(sim)
    first = trajectory(sim)
    sim.reset_world()
    build_scene(sim)
    second = trajectory(sim)
    sim.reset_world()
    build_scene(sim)
    third = trajectory(sim)
    assert np.ptp(first[:, 2]) > 0.2  # the box fell
    assert np.ptp(first[:, -1]) > 0.1  # the pendulum swung
    assert np.array_equal(second, third)
    assert np.array_equal(first, second)  # the first episode included


# ---------------------------------------------------------------- rendering
def test_render_returns_rgb_and_metric_depth(sim):
    # Camera at (0, 0, 1) looking along +x; image left is +y. A red sphere 1 m ahead on
    # the left, a green one 3 m ahead on the right, at the same angle off the axis.
    sim.create_body("near", "sphere", (0.1,), 0.0, position=(1.0, 0.3, 1.0), rgba=(1, 0, 0, 1))
    sim.create_body("far", "sphere", (0.3,), 0.0, position=(3.0, -0.9, 1.0), rgba=(0, 1, 0, 1))
    w = h = 64
    rgb, depth = sim.render(w, h, eye=(0, 0, 1), target=(1, 0, 1), fov=60.0, near=0.05, far=10.0)
    assert rgb.shape == (h, w, 3) and rgb.dtype == np.uint8
    assert depth.shape == (h, w)
    offset = int(round(0.3 / np.tan(np.radians(30.0)) * w / 2))  # tan(angle)/tan(fov/2)
    near_px, far_px = (h // 2, w // 2 - offset), (h // 2, w // 2 + offset)
    # depth is the distance along the view axis: sphere centre minus radius at its front
    assert depth[near_px] == pytest.approx(0.9, abs=0.02)
    assert depth[far_px] == pytest.approx(2.7, abs=0.05)
    assert depth[near_px] < depth[far_px]
    assert depth[0, w // 2] == pytest.approx(10.0, rel=1e-3)  # nothing there: the far plane
    r, g, b = (int(c) for c in rgb[near_px])
    assert r > 100 and r > 2 * g and r > 2 * b
    r, g, b = (int(c) for c in rgb[far_px])
    assert g > 100 and g > 2 * r and g > 2 * b


# ---------------------------------------------------------------- contacts and distances
def test_resting_box_normal_forces_balance_its_weight(sim):
    mass = 3.0
    plane = sim.load_urdf("plane", "plane.urdf", fixed_base=True)
    box = sim.create_body("box", "box", (0.1, 0.1, 0.05), mass, position=(0.0, 0.0, 0.06))
    sim.step(480)  # 1 s to settle
    assert np.linalg.norm(sim.base_velocity(box)[0]) < 1e-3
    contacts = sim.contacts(box, plane)
    assert contacts, "a resting box must touch the plane"
    assert all(c.normal_force >= 0.0 for c in contacts)
    assert all(c.body_a == box and c.body_b == plane for c in contacts)
    # normal from B (plane) towards A (box): up
    assert all(np.allclose(c.normal, (0, 0, 1), atol=1e-6) for c in contacts)
    total = sum(c.normal_force for c in contacts)
    assert total == pytest.approx(mass * G, rel=0.05)
    assert sim.contacts(box, plane, link_a=-1)  # the link filter keeps the base's contacts


def test_closest_points_between_spheres_is_centre_distance_minus_radii(sim):
    rng = np.random.default_rng(3)
    a = sim.create_body("a", "sphere", (0.1,), 0.0, position=(0.0, 0.0, 1.0))
    b = sim.create_body("b", "sphere", (0.05,), 0.0, position=(0.5, 0.0, 1.0))
    for _ in range(5):
        pa, pb = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
        sim.reset_base_pose(a, pa)
        sim.reset_base_pose(b, pb)
        expected = np.linalg.norm(pa - pb) - 0.15
        points = sim.closest_points(a, b, expected + 0.1)
        assert len(points) >= 1
        assert points[0].distance == pytest.approx(expected, abs=1e-6)
        assert sim.closest_points(a, b, expected - 0.05) == []  # farther than asked


# ---------------------------------------------------------------- shapes
def test_unknown_shape_raises_sim_error(sim):
    with pytest.raises(SimError, match="'cone'.*allowed"):
        sim.collision_shape("cone", (0.1, 0.2))
    with pytest.raises(SimError, match="'cone'"):
        sim.visual_shape("cone", (0.1, 0.2))
    with pytest.raises(SimError, match="'cone'"):
        sim.create_body("c", "cone", (0.1, 0.2), 1.0)
    with pytest.raises(SimError, match="'box'"):
        sim.collision_shape_at("box", (0.1, 0.1, 0.1), (0, 0, 0))


def test_capsule_collision_shape_has_radius_and_cylinder_length_along_z(sim):
    radius, length = 0.05, 0.3
    shape = sim.collision_shape("capsule", (radius, length))
    assert shape >= 0
    cap = sim.create_multibody("capsule", {"mass": 0.0, "collision": shape}, [],
                               position=(0.0, 0.0, 1.0))
    probe = sim.create_body("probe", "sphere", (0.02,), 0.0)
    # along the axis (local z): half the cylinder plus the cap
    sim.reset_base_pose(probe, (0.0, 0.0, 1.5))
    d = sim.closest_points(cap, probe, 1.0)[0].distance
    assert d == pytest.approx(0.5 - (length / 2 + radius) - 0.02, abs=1e-6)
    # sideways: the radius only
    sim.reset_base_pose(probe, (0.4, 0.0, 1.05))
    d = sim.closest_points(cap, probe, 1.0)[0].distance
    assert d == pytest.approx(0.4 - radius - 0.02, abs=1e-6)
