"""Rigid transforms and forward kinematics in plain numpy (simulator.kinematics)."""
from __future__ import annotations

import numpy as np
import pytest

from simulator import catalogue
from simulator.kinematics import (KinematicChain, axis_angle_matrix, matrix_to_quat,
                                  quat_to_matrix, quats_to_matrices, rotation_vector)
from simulator.physics import Sim
from simulator.robot import Robot


def random_quats(rng, n: int) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def random_axes(rng, n: int) -> np.ndarray:
    a = rng.normal(size=(n, 3))
    return a / np.linalg.norm(a, axis=1, keepdims=True)


# Half turns about each axis and near-half turns exercise every branch of matrix_to_quat.
EDGE_QUATS = [(1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, -1),
              (0.6, 0.8, 0, 0), (0, 0.6, -0.8, 0), (1e-9, 0, 0, 1), (0.7, 0.1, -0.7, 1e-6)]


# ---------------------------------------------------------------- quaternions and matrices
def test_quat_to_matrix_gives_proper_rotations_matching_pybullet():
    rng = np.random.default_rng(0)
    for q in random_quats(rng, 50):
        m = quat_to_matrix(q)
        assert np.allclose(m @ m.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(m) == pytest.approx(1.0, abs=1e-12)
        assert np.allclose(m, Sim.rotation_matrix(q), atol=1e-12)


@pytest.mark.parametrize("q", EDGE_QUATS)
def test_matrix_to_quat_round_trips_edge_cases(q):
    q = np.asarray(q, float) / np.linalg.norm(q)
    back = matrix_to_quat(quat_to_matrix(q))
    assert back[3] >= 0.0
    assert np.linalg.norm(back) == pytest.approx(1.0, abs=1e-12)
    assert min(np.linalg.norm(back - q), np.linalg.norm(back + q)) < 1e-9


def test_quaternion_matrix_round_trips_for_random_unit_quaternions():
    rng = np.random.default_rng(1)
    for q in random_quats(rng, 500):
        back = matrix_to_quat(quat_to_matrix(q))
        assert back[3] >= 0.0  # the documented sign convention
        assert min(np.linalg.norm(back - q), np.linalg.norm(back + q)) < 1e-12
        m = quat_to_matrix(q)
        assert np.allclose(quat_to_matrix(matrix_to_quat(m)), m, atol=1e-12)


def test_quats_to_matrices_matches_quat_to_matrix():
    rng = np.random.default_rng(2)
    qs = np.vstack([random_quats(rng, 100), np.asarray(EDGE_QUATS[:5], float)])
    batch = quats_to_matrices(qs)
    assert batch.shape == (len(qs), 3, 3)
    for q, m in zip(qs, batch):
        assert np.array_equal(m, quat_to_matrix(q))


# ---------------------------------------------------------------- axis-angle
def test_axis_angle_matrix_matches_the_quaternion_of_the_same_rotation():
    rng = np.random.default_rng(3)
    for axis, angle in zip(random_axes(rng, 50), rng.uniform(-np.pi, np.pi, 50)):
        q = np.append(axis * np.sin(angle / 2), np.cos(angle / 2))
        assert np.allclose(axis_angle_matrix(axis, angle), quat_to_matrix(q), atol=1e-12)


def test_rotation_vector_inverts_axis_angle_matrix_in_the_open_range():
    """Away from 0 and π the rotation vector is exact to 1e-9 rad."""
    rng = np.random.default_rng(4)
    for axis, angle in zip(random_axes(rng, 300), rng.uniform(1e-3, np.pi - 1e-3, 300)):
        rv = rotation_vector(axis_angle_matrix(axis, angle))
        assert np.allclose(rv, axis * angle, atol=1e-9)


@pytest.mark.parametrize("angle", [1e-3, 1e-5, 1e-7, 1e-8, 1e-10])
def test_rotation_vector_near_zero(angle):
    """Small angles: the vector is axis·angle within 1e-12 rad absolute (no 0/0)."""
    rng = np.random.default_rng(5)
    for axis in random_axes(rng, 50):
        rv = rotation_vector(axis_angle_matrix(axis, angle))
        assert np.all(np.isfinite(rv))
        assert np.allclose(rv, axis * angle, atol=1e-12)
    assert np.array_equal(rotation_vector(np.eye(3)), np.zeros(3))


def check_near_pi(gap: float, seed: int) -> None:
    """Within ``gap`` of a half turn: the angle is right within 1e-6 rad, the matrix is
    reproduced within 1e-6, and the axis is right up to its sign (a half turn about a
    and about -a are the same rotation) within 1e-6 + 4·gap."""
    rng = np.random.default_rng(seed)
    angle = np.pi - gap
    for axis in random_axes(rng, 100):
        m = axis_angle_matrix(axis, angle)
        rv = rotation_vector(m)
        assert np.linalg.norm(rv) == pytest.approx(angle, abs=1e-6)
        assert np.allclose(axis_angle_matrix(rv / np.linalg.norm(rv), np.linalg.norm(rv)), m,
                           atol=1e-6)
        err = min(np.linalg.norm(rv - axis * angle), np.linalg.norm(rv + axis * angle))
        assert err < 1e-6 + 4 * gap


@pytest.mark.parametrize("gap", [1e-3, 1e-4, 1e-5, 2e-6, 1.1e-6, 5e-7, 1e-7, 1e-9, 0.0])
def test_rotation_vector_near_pi(gap):
    """Regression: the arccos-based version lost ~1e-16/gap² of relative precision just
    outside its half-turn branch (2e-3 rad at π - 1.1e-6)."""
    check_near_pi(gap, seed=6)


@pytest.mark.parametrize("gap", [0.0, 1e-8])
@pytest.mark.parametrize("axis", [(0.0, 0.6, -0.8), (0.0, -0.8, 0.6), (0.6, 0.0, -0.8),
                                  (0.6, -0.8, 0.0), (1.0, 0.0, 0.0)])
def test_rotation_vector_half_turn_about_axes_with_zero_components(axis, gap):
    """Regression: the old half-turn branch took the y and z signs from row 0 only, so a
    half turn about (0, 0.6, -0.8) came back as one about (0, 0.6, 0.8)."""
    axis = np.asarray(axis)
    m = axis_angle_matrix(axis, np.pi - gap)
    rv = rotation_vector(m)
    assert np.linalg.norm(rv) == pytest.approx(np.pi - gap, abs=1e-6)
    assert np.allclose(axis_angle_matrix(rv / np.linalg.norm(rv), np.linalg.norm(rv)), m,
                       atol=1e-6)


# ---------------------------------------------------------------- forward kinematics
@pytest.fixture(scope="module")
def panda():
    sim = Sim()
    robot = Robot(sim, catalogue.load_robot("panda"), catalogue.robot_folder("panda"),
                  position=(0.3, -0.1, 0.75), yaw=-0.7)
    robot.reset()
    yield robot
    sim.close()


def test_kinematic_chain_matches_pybullet_link_states_for_random_q(panda):
    """Every link frame, computed without touching the world, matches pybullet within
    1e-6 m and 1e-6 in |<q, q_pybullet>|."""
    rng = np.random.default_rng(7)
    sim = panda.sim
    g = panda.spec.gripper
    for _ in range(10):
        q = rng.uniform(panda.lower, panda.upper)
        fingers = rng.uniform(g.closed, g.open, len(panda.fingers))
        sim.reset_joints(panda.body, panda.fingers, fingers)
        panda.reset(panda.home)  # the world is elsewhere when FK is computed
        sim.reset_joints(panda.body, panda.fingers, fingers)
        predicted = {link: panda.forward_kinematics(q, link) for link in panda.link_indices}
        panda.reset(q)
        sim.reset_joints(panda.body, panda.fingers, fingers)
        for link in panda.link_indices:
            pos, quat = sim.link_state(panda.body, link)
            fk_pos, fk_quat = predicted[link]
            assert np.allclose(pos, fk_pos, atol=1e-6), link
            assert abs(abs(np.dot(quat, fk_quat)) - 1.0) < 1e-6, link


def test_kinematic_chain_from_sim_on_full_q(panda):
    """The chain itself (all movable joints, fingers included) agrees with pybullet."""
    rng = np.random.default_rng(8)
    sim = panda.sim
    panda.reset()
    chain = KinematicChain.from_sim(sim, panda.body, panda.movable)
    lower = np.array([sim.joint_info(panda.body, j).lower for j in panda.movable])
    upper = np.array([sim.joint_info(panda.body, j).upper for j in panda.movable])
    for _ in range(5):
        full = rng.uniform(lower, upper)
        sim.reset_joints(panda.body, panda.movable, full)
        frames = chain.link_frames(full)
        assert len(frames) == sim.num_joints(panda.body)
        for link in panda.link_indices:
            pos, quat = sim.link_state(panda.body, link)
            fk_pos, fk_quat = chain.link_pose(full, link)
            assert np.allclose(pos, fk_pos, atol=1e-6)
            assert np.allclose(quat_to_matrix(quat), quat_to_matrix(fk_quat), atol=1e-6)
