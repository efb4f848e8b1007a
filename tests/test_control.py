"""Action interfaces (simulator.control) driven through the handover env: Cartesian
deltas with bounded lead, gripper, and absolute joint targets."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.control import MAX_LEAD, MAX_ROTATION_LEAD, POSITION_STEP, ROTATION_STEP
from simulator.env import CellEnv
from simulator.kinematics import quat_to_matrix, rotation_vector

ROTATION_TOLERANCE = 1e-4  # rad: pybullet TCP quaternions are unit only to ~1e-7, which
# shifts a measured angle near 0.2 rad by ~2e-6 rad



@pytest.fixture(scope="module")
def env():
    e = CellEnv("handover")
    yield e
    e.close()


@pytest.fixture(scope="module")
def joint_env():
    e = CellEnv("handover", control="joint_position")
    yield e
    e.close()


def action(**values) -> np.ndarray:
    """A 7-value ee_delta action; keywords x, y, z, roll, pitch, yaw, gripper."""
    a = np.zeros(7)
    for i, key in enumerate(("x", "y", "z", "roll", "pitch", "yaw", "gripper")):
        a[i] = values.get(key, 0.0)
    return a


def angle_between(a: np.ndarray, b: np.ndarray) -> float:
    """Angle (rad) of the rotation between two rotation matrices."""
    return float(np.arccos(np.clip((np.trace(a @ b.T) - 1.0) / 2.0, -1.0, 1.0)))


# ---------------------------------------------------------------- ee_delta
def test_zero_action_holds_the_tcp(env):
    env.reset(seed=0)
    start, start_quat = env.robot.ee_pose()
    worst = 0.0
    for _ in range(int(round(2.0 / env.dt))):
        env.step(action())
        worst = max(worst, np.linalg.norm(env.robot.ee_pose()[0] - start))
    assert env.sim.time == pytest.approx(2.0)
    assert worst < 0.002
    assert angle_between(quat_to_matrix(env.robot.ee_pose()[1]), quat_to_matrix(start_quat)) < 0.01


def test_arm_held_still_does_not_chatter(env):
    """After 1 s of zero actions every arm joint is at rest: below 0.01 rad/s on each of
    24 consecutive physics steps (a 120 Hz limit cycle shows as ±0.4 rad/s)."""
    env.reset(seed=0)
    for _ in range(int(round(1.0 / env.dt))):
        env.step(action())
    speeds = []
    for _ in range(24):
        env.sim.step()
        speeds.append(np.abs(env.robot.joint_state()[1]).max())
    assert max(speeds) < 0.01


def test_full_x_action_moves_one_position_step_per_control_step_with_bounded_lead(env):
    env.reset(seed=0)
    positions, leads = [env.robot.ee_pose()[0]], []
    for _ in range(20):  # far enough to reach the edge of the workspace
        measured = env.robot.ee_pose()[0]
        env.step(action(x=1.0))
        leads.append(np.linalg.norm(env.control._pos - measured))
        positions.append(env.robot.ee_pose()[0])
    steps = np.diff(np.array(positions), axis=0)
    cruise = steps[2:11]  # after the start-up transient, before the workspace edge
    assert np.mean(cruise[:, 0]) == pytest.approx(POSITION_STEP, rel=0.2)
    assert np.all(cruise[:, 0] > 0.5 * POSITION_STEP)
    assert np.all(np.abs(cruise[:, 1:]) < 0.2 * POSITION_STEP)  # straight along +x
    assert max(leads) <= MAX_LEAD + 1e-9
    assert max(leads) > 0.9 * MAX_LEAD  # the bound was reached at the workspace edge


def test_blocked_tcp_does_not_wind_up(env):
    """Pushing down into the table: the TCP stops, the target stays MAX_LEAD ahead."""
    env.reset(seed=0)
    leads = []
    for _ in range(30):
        measured = env.robot.ee_pose()[0]
        env.step(action(z=-1.0))
        leads.append(np.linalg.norm(env.control._pos - measured))
    assert env.robot.ee_pose()[0][2] > 0.74  # held up by the table top (z = 0.75)
    assert max(leads) <= MAX_LEAD + 1e-9
    assert leads[-1] == pytest.approx(MAX_LEAD, rel=1e-6)
    # and it comes back at once when the action reverses
    start = env.robot.ee_pose()[0][2]
    for _ in range(3):
        env.step(action(z=1.0))
    assert env.robot.ee_pose()[0][2] > start + 0.5 * POSITION_STEP


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_rotation_actions_turn_about_the_world_axis_asked(env, axis, sign):
    env.reset(seed=0)
    start = quat_to_matrix(env.robot.ee_pose()[1])
    a = np.zeros(7)
    a[3 + axis] = sign
    leads = []
    for _ in range(5):
        measured = quat_to_matrix(env.robot.ee_pose()[1])
        env.step(a)
        leads.append(angle_between(env.control._rot, measured))
    turn = rotation_vector(quat_to_matrix(env.robot.ee_pose()[1]) @ start.T)  # world frame
    expected = np.zeros(3)
    expected[axis] = sign
    angle = np.linalg.norm(turn)
    assert angle == pytest.approx(5 * ROTATION_STEP, rel=0.25)
    assert np.dot(turn / angle, expected) > 0.97  # the asked axis, the asked sign
    assert max(leads) <= MAX_ROTATION_LEAD + ROTATION_TOLERANCE


def test_rotation_lead_is_bounded_at_a_joint_limit(env):
    """Turning about z until the wrist runs out of range: the target stays within
    MAX_ROTATION_LEAD of the measured orientation and the bound is reached."""
    env.reset(seed=0)
    leads = []
    for _ in range(60):
        measured = quat_to_matrix(env.robot.ee_pose()[1])
        env.step(action(yaw=1.0))
        leads.append(angle_between(env.control._rot, measured))
    assert max(leads) <= MAX_ROTATION_LEAD + ROTATION_TOLERANCE
    assert max(leads) > 0.95 * MAX_ROTATION_LEAD


def test_gripper_minus_one_closes_and_plus_one_opens(env):
    env.reset(seed=0)
    g = env.robot.spec.gripper
    for _ in range(20):
        obs, *_ = env.step(action(gripper=-1.0))
    assert obs["gripper"][0] < 0.005
    assert obs["gripper"][0] == pytest.approx(2 * g.closed, abs=0.005)
    for _ in range(20):
        obs, *_ = env.step(action(gripper=1.0))
    assert obs["gripper"][0] == pytest.approx(2 * g.open, abs=0.003)


# ---------------------------------------------------------------- joint_position
def test_joint_position_action_for_round_trips(joint_env):
    joint_env.reset(seed=0)
    robot, control = joint_env.robot, joint_env.control
    rng = np.random.default_rng(0)
    g = robot.spec.gripper
    assert joint_env.action_space.shape == (len(robot.arm) + 1,)
    for _ in range(20):
        q, opening = rng.uniform(robot.lower, robot.upper), rng.uniform(0.0, 1.0)
        a = control.action_for(q, opening)
        assert a.dtype == np.float32 and np.all(np.abs(a) <= 1.0 + 1e-6)
        control.apply(a)
        assert np.allclose(robot.joint_target, q, atol=1e-5)  # float32 actions
        assert robot._finger_target == pytest.approx(g.closed + (g.open - g.closed) * opening,
                                                     abs=1e-6)
    assert np.allclose(control.action_for(robot.lower, 0.0), -1.0)
    assert np.allclose(control.action_for(robot.upper, 1.0), 1.0)


def test_joint_position_targets_outside_the_limits_are_clipped(joint_env):
    joint_env.reset(seed=0)
    robot, control = joint_env.robot, joint_env.control
    beyond = robot.upper + 0.5
    a = control.action_for(beyond, 1.5)
    assert np.all(a > 1.0)
    joint_env.step(a)  # the env clips the action to [-1, 1]
    assert np.allclose(robot.joint_target, robot.upper)
    control.apply(control.action_for(robot.lower - 0.5, -0.5))  # the robot clips its targets
    assert np.allclose(robot.joint_target, robot.lower)
    assert robot._finger_target == pytest.approx(robot.spec.gripper.closed)
