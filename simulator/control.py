"""Action interfaces: how an action in [-1, 1] becomes a robot command.

``ee_delta`` (default), 7 values per step:
    ``[dx, dy, dz, droll, dpitch, dyaw, gripper]``. The TCP target moves by
    ``POSITION_STEP`` m per unit of ``dx, dy, dz`` (world frame) and rotates by
    ``ROTATION_STEP`` rad per unit about the world x, y, z axes, once per control step;
    at 20 Hz a full-scale action is 0.5 m/s and 2 rad/s. ``gripper`` maps -1 to closed and
    +1 to open. The target never leads the measured TCP by more than ``MAX_LEAD`` m and
    ``MAX_ROTATION_LEAD`` rad, so a blocked arm does not wind up.
``joint_position``, n_joints + 1 values: absolute joint targets, -1 and +1 mapping to
    each joint's lower and upper limit, plus the gripper as above.
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces

from simulator.errors import ConfigError
from simulator.kinematics import axis_angle_matrix, matrix_to_quat, quat_to_matrix
from simulator.robot import Robot

POSITION_STEP = 0.025  # m per control step at full scale
ROTATION_STEP = 0.1  # rad per control step at full scale
MAX_LEAD = 0.05  # m
MAX_ROTATION_LEAD = 0.2  # rad


def limit_rotation_lead(target: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """The target rotation, pulled towards the measured one so that they differ by at most
    ``MAX_ROTATION_LEAD`` rad (so a blocked or limited wrist does not wind up)."""
    delta = target @ measured.T
    angle = np.arccos(np.clip((np.trace(delta) - 1.0) / 2.0, -1.0, 1.0))
    if angle <= MAX_ROTATION_LEAD:
        return target
    axis = np.array([delta[2, 1] - delta[1, 2], delta[0, 2] - delta[2, 0], delta[1, 0] - delta[0, 1]])
    norm = np.linalg.norm(axis)
    if norm < 1e-9:  # a half turn: no unique axis, keep the measured rotation
        return measured
    return axis_angle_matrix(axis / norm, MAX_ROTATION_LEAD) @ measured


class EeDeltaControl:
    """Cartesian TCP deltas plus gripper (see module docstring)."""

    name = "ee_delta"

    def __init__(self, robot: Robot) -> None:
        self.robot = robot
        self.action_space = spaces.Box(-1.0, 1.0, shape=(7,), dtype=np.float32)
        self.reset()

    def reset(self) -> None:
        pos, quat = self.robot.ee_pose()
        self._pos, self._rot = pos.copy(), quat_to_matrix(quat)

    def apply(self, action: np.ndarray) -> None:
        measured, measured_quat = self.robot.ee_pose()
        target = self._pos + action[:3] * POSITION_STEP
        lead = target - measured
        dist = np.linalg.norm(lead)
        if dist > MAX_LEAD:
            target = measured + lead * (MAX_LEAD / dist)
        self._pos = target
        rotvec = action[3:6] * ROTATION_STEP
        angle = np.linalg.norm(rotvec)
        if angle > 1e-9:
            self._rot = axis_angle_matrix(rotvec / angle, angle) @ self._rot
        self._rot = limit_rotation_lead(self._rot, quat_to_matrix(measured_quat))
        self.robot.command_joints(self.robot.inverse_kinematics(self._pos, matrix_to_quat(self._rot)))
        self.robot.command_gripper((action[6] + 1.0) / 2.0)


class JointPositionControl:
    """Absolute joint targets scaled to the joint limits, plus gripper."""

    name = "joint_position"

    def __init__(self, robot: Robot) -> None:
        self.robot = robot
        self.action_space = spaces.Box(-1.0, 1.0, shape=(len(robot.arm) + 1,), dtype=np.float32)

    def reset(self) -> None:
        pass

    def apply(self, action: np.ndarray) -> None:
        r = self.robot
        r.command_joints(r.lower + (action[:-1] + 1.0) / 2.0 * (r.upper - r.lower))
        r.command_gripper((action[-1] + 1.0) / 2.0)

    def action_for(self, q: np.ndarray, opening: float) -> np.ndarray:
        """The action that commands joint positions ``q`` and gripper ``opening`` (0..1)."""
        r = self.robot
        a = 2.0 * (np.asarray(q) - r.lower) / (r.upper - r.lower) - 1.0
        return np.append(a, 2.0 * opening - 1.0).astype(np.float32)


CONTROLS = {c.name: c for c in (EeDeltaControl, JointPositionControl)}


def make_control(name: str, robot: Robot):
    if name not in CONTROLS:
        raise ConfigError(f"unknown control mode {name!r}; allowed: {', '.join(CONTROLS)}")
    return CONTROLS[name](robot)
