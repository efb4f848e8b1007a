"""The Robot: forward kinematics, Jacobian, mass matrix, IK and limits against pybullet."""
from __future__ import annotations

import numpy as np
import pytest

from simulator import catalogue
from simulator.physics import Sim
from simulator.robot import Robot


@pytest.fixture()
def robot():
    sim = Sim()
    r = Robot(sim, catalogue.load_robot("panda"), catalogue.robot_folder("panda"),
              position=(0.1, -0.2, 0.75), yaw=0.4)
    r.reset()
    yield r
    sim.close()


def test_forward_kinematics_matches_the_simulator(robot):
    rng = np.random.default_rng(1)
    for _ in range(5):
        q = rng.uniform(robot.lower, robot.upper)
        robot.reset(q)
        for link in (robot.ee_link, robot.arm[3]):
            pos, quat = robot.sim.link_state(robot.body, link)
            fk_pos, fk_quat = robot.forward_kinematics(q, link)
            assert np.allclose(pos, fk_pos, atol=1e-6)
            assert abs(abs(np.dot(quat, fk_quat)) - 1.0) < 1e-6


def test_jacobian_predicts_tcp_velocity(robot):
    q = robot.home + 0.1
    robot.reset(q)
    qd = np.array([0.2, -0.1, 0.3, 0.1, -0.2, 0.1, 0.3])
    dt = 1e-6
    p0, _ = robot.forward_kinematics(q)
    p1, _ = robot.forward_kinematics(q + qd * dt)
    numeric = (p1 - p0) / dt
    assert np.allclose(robot.jacobian(q)[:3] @ qd, numeric, atol=1e-4)


def test_mass_matrix_is_symmetric_positive_definite(robot):
    m = robot.mass_matrix()
    assert m.shape == (7, 7)
    assert np.allclose(m, m.T, atol=1e-9)
    assert np.all(np.linalg.eigvalsh(m) > 0)


def test_inverse_kinematics_reaches_a_pose(robot):
    target = np.array([0.55, -0.1, 1.05])
    down = np.array([1.0, 0.0, 0.0, 0.0])
    q = robot.inverse_kinematics(target, down, iterations=200)
    assert np.all(q >= robot.lower) and np.all(q <= robot.upper)
    pos, quat = robot.forward_kinematics(q)
    assert np.linalg.norm(pos - target) < 0.005
    assert abs(np.dot(quat, down)) > 0.999


def test_motors_track_targets_within_limits(robot):
    target = robot.home + np.array([0.3, 0.2, -0.2, 0.3, 0.2, -0.2, 0.3])
    robot.command_joints(target)
    for _ in range(480):
        robot.apply_commands()
        robot.sim.step()
    q, qd = robot.joint_state()
    assert np.max(np.abs(q - target)) < 0.02
    robot.command_joints(robot.upper + 1.0)
    assert np.allclose(robot.joint_target, robot.upper)


def test_gripper_opens_and_closes(robot):
    robot.command_gripper(0.0)
    for _ in range(240):
        robot.apply_commands()
        robot.sim.step()
    assert robot.gripper_width() < 0.005
    robot.command_gripper(1.0)
    for _ in range(480):
        robot.apply_commands()
        robot.sim.step()
    assert robot.gripper_width() > 0.075
