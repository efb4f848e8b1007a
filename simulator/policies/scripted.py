"""Scripted baseline policies, one per task kind; they use only the observation.

:class:`HandoverScript` drives the ``ee_delta`` action through these stages:

``above``     over the part, fingers closing along world x;
``descend``   down around the part;
``close``     close the fingers (``CLOSE_TIME``);
``lift``      straight up to ``LIFT_CLEARANCE`` above the waiting hand;
``over_hand`` to a point above the hand's side, where the part will be offered;
``offer``     down beside the palm, until the person's hand closes on the part;
``release``   open the fingers and hold still (``OPEN_TIME``);
``withdraw``  up and back towards the robot's base.

If the part is lost on the way it starts again from ``above``. The part is offered
beside the palm (not in front of the fingertips), on the side it comes from, with the
fingers along the forearm so that no finger is between the part and the hand.
Distances in m, times in s, speeds in m/s.
"""
from __future__ import annotations

import numpy as np

from simulator.control import MAX_LEAD, POSITION_STEP, ROTATION_STEP, limit_rotation_lead
from simulator.errors import ConfigError
from simulator.kinematics import axis_angle_matrix, quat_to_matrix, rotation_vector

# TCP pointing at the floor with the fingers closing along world x: a half turn about x,
# then a quarter turn about z (quaternion x, y, z, w)
GRASP_ORIENTATION = np.array([np.sqrt(0.5), np.sqrt(0.5), 0.0, 0.0])
APPROACH_HEIGHT = 0.15
SPEED = 0.35
SLOW = 0.10
CLOSE_TIME = 0.6
OPEN_TIME = 0.6
DESCEND_TIMEOUT = 3.0
OFFER_SIDE = 0.05  # part centre beside the palm centre: hand radius + half the part + margin
OFFER_ABOVE = 0.10
LIFT_CLEARANCE = 0.12
TURN_RATE = 1.0  # rad/s of the commanded orientation


def withdraw_target(withdraw_from, ee, robot_base) -> np.ndarray:
    """Where a withdrawing TCP heads (m, world): straight up 0.15 m from where the
    withdrawal began, then, once within 2 cm of that height, back towards the robot's
    base (to 40 % of the horizontal distance)."""
    up = np.asarray(withdraw_from, float) + [0.0, 0.0, 0.15]
    if ee[2] < up[2] - 0.02:
        return up
    return np.append(robot_base[:2] + 0.4 * (up[:2] - robot_base[:2]), up[2])


class HandoverScript:
    """The handover baseline (see module docstring). Needs ``control="ee_delta"``.

    Args:
        dt: control period, s.
        phase_names: the task's phase names (``observation["phase"]`` indexes them).
        hand_index, forearm_index: rows of the person's hand and forearm keypoints.
        robot_base: the robot's base position (world, m).
    """

    def __init__(self, dt: float, phase_names, hand_index: int, forearm_index: int,
                 robot_base) -> None:
        self.dt, self.phase_names = dt, list(phase_names)
        self.hand_index, self.forearm_index = hand_index, forearm_index
        self.robot_base = np.asarray(robot_base, dtype=float)
        self.reset()

    def reset(self, seed: int | None = None, info: dict | None = None) -> None:
        self.stage, self.timer = "above", 0.0
        self.lift_xy = None
        self.withdraw_from = None
        self._cmd_pos = self._cmd_rot = None  # the controller's target, mirrored here

    def _enter(self, stage: str) -> None:
        self.stage, self.timer = stage, 0.0

    def _track(self, obs) -> None:
        """Mirror the controller's target pose (it integrates the deltas and keeps them
        within a lead of the measured TCP), so the script streams a trajectory instead of
        closing a slow loop around the measured pose."""
        ee, rot = obs["ee_pos"].astype(float), quat_to_matrix(obs["ee_quat"].astype(float))
        if self._cmd_pos is None:
            self._cmd_pos, self._cmd_rot = ee.copy(), rot
        lead = self._cmd_pos - ee
        if np.linalg.norm(lead) > MAX_LEAD:
            self._cmd_pos = ee + lead * (MAX_LEAD / np.linalg.norm(lead))
        self._cmd_rot = limit_rotation_lead(self._cmd_rot, rot)

    def _move(self, target, speed) -> np.ndarray:
        step = target - self._cmd_pos
        dist = np.linalg.norm(step)
        limit = min(speed * self.dt, POSITION_STEP)
        if dist > limit:
            step *= limit / dist
        self._cmd_pos = self._cmd_pos + step
        return step / POSITION_STEP

    def _turn(self, target_quat) -> np.ndarray:
        rotvec = rotation_vector(quat_to_matrix(target_quat) @ self._cmd_rot.T)
        angle = np.linalg.norm(rotvec)
        limit = min(TURN_RATE * self.dt, ROTATION_STEP)
        if angle > limit:
            rotvec *= limit / angle
            angle = limit
        if angle > 1e-12:
            self._cmd_rot = axis_angle_matrix(rotvec / angle, angle) @ self._cmd_rot
        return rotvec / ROTATION_STEP

    def offer_point(self, obs) -> np.ndarray:
        """Beside the palm, horizontally across the forearm, on the part's side."""
        hand = obs["human_keypoints"][self.hand_index].astype(float)
        forearm = obs["human_keypoints"][self.forearm_index].astype(float)
        along = hand[:2] - forearm[:2]
        side = np.array([-along[1], along[0]]) / max(np.linalg.norm(along), 1e-9)
        if np.dot(side, obs["part_pos"][:2] - hand[:2]) < 0:
            side = -side
        return hand + np.append(side * OFFER_SIDE, 0.0)

    def act(self, obs: dict) -> np.ndarray:
        self._track(obs)
        ee, part = obs["ee_pos"].astype(float), obs["part_pos"].astype(float)
        phase = self.phase_names[int(obs["phase"])]
        hand = obs["human_keypoints"][self.hand_index].astype(float)
        self.timer += self.dt
        gripper, speed, target = -1.0, SPEED, ee
        if phase in ("transfer", "released") and self.stage not in ("release", "withdraw"):
            self._enter("release")
        elif phase == "approach" and self.stage in ("over_hand", "offer"):
            self._enter("above")  # lost the part on the way: start again
        stage = self.stage
        if stage == "above":
            gripper, target = 1.0, part + [0.0, 0.0, APPROACH_HEIGHT]
            err = target - ee
            if np.linalg.norm(err[:2]) < 0.01 and abs(err[2]) < 0.02:
                self._enter("descend")
        elif stage == "descend":
            gripper, speed, target = 1.0, SLOW, part + [0.0, 0.0, 0.01]
            if ee[2] < part[2] + 0.02 or self.timer > DESCEND_TIMEOUT:
                self._enter("close")
        elif stage == "close":
            target = part + [0.0, 0.0, 0.01]
            if self.timer >= CLOSE_TIME:
                self._enter("lift")
                self.lift_xy = ee[:2].copy()
        elif stage == "lift":
            target = np.array([*self.lift_xy, hand[2] + LIFT_CLEARANCE])
            if ee[2] >= target[2] - 0.02:
                self._enter("over_hand" if phase == "carry" else "above")
        elif stage == "over_hand":
            target = self.offer_point(obs) + [0.0, 0.0, OFFER_ABOVE] + (ee - part)
            if np.linalg.norm(target - ee) < 0.015:
                self._enter("offer")
        elif stage == "offer":
            speed = SLOW
            target = self.offer_point(obs) + (ee - part)  # the part's centre, not the TCP
        elif stage == "release":
            gripper = 1.0
            if self.timer >= OPEN_TIME:
                self._enter("withdraw")
                self.withdraw_from = ee.copy()
        elif stage == "withdraw":
            gripper = 1.0
            target = withdraw_target(self.withdraw_from, ee, self.robot_base)
        return np.concatenate([self._move(target, speed), self._turn(GRASP_ORIENTATION),
                               [gripper]]).astype(np.float32)


def make_scripted(env):
    """The scripted baseline of ``env``'s task kind."""
    base = env.unwrapped
    kind = base.scenario.task.kind
    if kind == "handover":
        side = base.task.side
        names = base.human_link_names
        return HandoverScript(base.dt, base.phase_names, names.index(f"hand_{side}"),
                              names.index(f"forearm_{side}"), base.scenario.robot.position)
    if kind in WORK_KINDS:
        from simulator.policies.scripted_work import make_work_script
        return make_work_script(env)
    raise ConfigError(f"no scripted policy for task kind {kind!r}")


# task kinds whose baseline is in simulator.policies.scripted_work
WORK_KINDS = ("shared_assembly", "crossing", "clamping", "co_manipulation", "conveyor_inspection")
SCRIPTED = {"handover": make_scripted, **dict.fromkeys(WORK_KINDS, make_scripted)}
