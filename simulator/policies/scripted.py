"""Scripted baseline policies, one per task kind; they use only the observation.

:class:`HandoverScript` drives the ``ee_delta`` action: above the part, down, close,
lift, carry the part next to the person's palm, wait for the hand to close, open and
withdraw. Gains and speeds are constants below (SI units).
"""
from __future__ import annotations

import numpy as np

from simulator.control import POSITION_STEP, ROTATION_STEP

DOWN = np.array([1.0, 0.0, 0.0, 0.0])  # TCP pointing at the floor, fingers along y
APPROACH_HEIGHT = 0.12  # m above the part before descending
SPEED = 0.35  # m/s cruise speed of the TCP
SLOW = 0.12  # m/s near the part and the hand
CLOSE_TIME = 0.6  # s to close the fingers
OPEN_TIME = 0.5  # s to open them after the person holds the part
HAND_OFFSET = 0.055  # m: where the part's centre is put relative to the palm, towards the robot


def _rotation_error(q: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation vector (rad, world frame) that turns orientation ``q`` into ``target``."""
    x1, y1, z1, w1 = target
    x2, y2, z2, w2 = -q[0], -q[1], -q[2], q[3]  # conjugate of q
    err = np.array([w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                    w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
                    w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
                    w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2])
    if err[3] < 0:
        err = -err
    return 2.0 * err[:3]


class HandoverScript:
    """The handover baseline (see module docstring). Needs ``control="ee_delta"``."""

    def __init__(self, dt: float, phase_names, hand_index: int, robot_base) -> None:
        self.dt, self.phase_names, self.hand_index = dt, list(phase_names), hand_index
        self.robot_base = np.asarray(robot_base, dtype=float)
        self.reset()

    def reset(self, seed: int | None = None, info: dict | None = None) -> None:
        self.stage, self.timer = "above", 0.0

    def _move(self, ee, target, speed) -> np.ndarray:
        step = target - ee
        dist = np.linalg.norm(step)
        limit = speed * self.dt
        if dist > limit:
            step *= limit / dist
        return np.clip(step / POSITION_STEP, -1.0, 1.0)

    def act(self, obs: dict) -> np.ndarray:
        ee, part = obs["ee_pos"].astype(float), obs["part_pos"].astype(float)
        phase = self.phase_names[int(obs["phase"])]
        hand = obs["human_keypoints"][self.hand_index].astype(float)
        gripper = 1.0
        target, speed = ee, SPEED
        if phase in ("transfer", "released") and self.stage not in ("release", "withdraw"):
            self.stage, self.timer = "release", 0.0
        if self.stage == "above":
            target = part + [0.0, 0.0, APPROACH_HEIGHT]
            if np.linalg.norm(target - ee) < 0.01:
                self.stage = "descend"
        elif self.stage == "descend":
            target, speed = part + [0.0, 0.0, 0.005], SLOW
            if np.linalg.norm(target - ee) < 0.008:
                self.stage, self.timer = "close", 0.0
        elif self.stage == "close":
            target, gripper = part + [0.0, 0.0, 0.005], -1.0
            self.timer += self.dt
            if self.timer >= CLOSE_TIME:
                self.stage = "lift"
        elif self.stage == "lift":
            gripper = -1.0
            target = np.array([ee[0], ee[1], max(part[2], hand[2]) + 0.10])
            if phase == "carry" and ee[2] >= target[2] - 0.02:
                self.stage = "carry"
            elif phase == "approach" and ee[2] >= target[2] - 0.02:
                self.stage = "above"  # lost the part: try again
        elif self.stage == "carry":
            gripper = -1.0
            towards_robot = self.robot_base[:2] - hand[:2]
            towards_robot /= max(np.linalg.norm(towards_robot), 1e-9)
            goal = hand + np.append(towards_robot * HAND_OFFSET, 0.0)
            target = goal + (part - ee) * -1.0  # put the part's centre, not the TCP, on the goal
            if np.linalg.norm(goal - part) < 0.06:
                speed = SLOW
            if phase == "approach":
                self.stage = "above"
        elif self.stage == "release":
            target = ee
            self.timer += self.dt
            if self.timer >= OPEN_TIME:
                self.stage = "withdraw"
        elif self.stage == "withdraw":
            target = ee + np.append((self.robot_base[:2] - ee[:2]) * 0.5, 0.05)
        rot = np.clip(_rotation_error(obs["ee_quat"].astype(float), DOWN) / ROTATION_STEP * 0.5, -1, 1)
        return np.concatenate([self._move(ee, target, speed), rot, [gripper]]).astype(np.float32)


def make_scripted(env):
    """The scripted baseline of ``env``'s task kind."""
    base = env.unwrapped
    kind = base.scenario.task.kind
    if kind == "handover":
        side = base.task.side
        hand_index = base.human_link_names.index(f"hand_{side}")
        return HandoverScript(base.dt, base.phase_names, hand_index, base.scenario.robot.position)
    raise ValueError(f"no scripted policy for task kind {kind!r}")


SCRIPTED = {"handover": make_scripted}
