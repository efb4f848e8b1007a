"""Scripted baselines of the work tasks (shared_assembly, crossing, clamping,
co_manipulation, conveyor_inspection); observation-only, ``control="ee_delta"``.

:class:`PlaceScript` picks the part and sets it down at the task's goal (a constant of
the scenario, like the robot's base), through the stages

``above``    over the part (its position predicted from its observed velocity, for a
             part on a belt), gripper open;
``descend``  down around the part;
``close``    close the gripper (``CLOSE_TIME``);
``lift``     straight up to ``CARRY_CLEARANCE`` above the goal;
``transfer`` over the goal;
``lower``    down until the part is at the goal;
``press``    (clamping) on down by ``press_depth`` and hold ``press_hold`` s;
``release``  open and hold still (``OPEN_TIME``);
``withdraw`` up and back towards the robot's base.

Each task adds a rule when to wait (hold still): shared_assembly enters the shared zone
only after the person's first turn and while their hand is outside it; crossing scales its
speed down with the distance to the nearest point of the person (zero within
``STOP_DISTANCE``). :class:`ScrewScript` (co_manipulation) waits until the person holds
the workpiece, then for the screw point of the phase it is in: over it, down slowly until
the tool is stopped (``touch``), pressing ``TOUCH_DEPTH`` below that (``screw``) until the
task counts the point, and back up (``retract``).
Distances in m (world frame), times in s, speeds in m/s.
"""
from __future__ import annotations

import numpy as np

from simulator.kinematics import quat_to_matrix
from simulator.policies.scripted import GRASP_ORIENTATION, HandoverScript, withdraw_target

APPROACH_HEIGHT = 0.12
SPEED = 0.35
SLOW = 0.10
CLOSE_TIME = 0.6
OPEN_TIME = 0.5
CARRY_CLEARANCE = 0.10
LOWER_TIMEOUT = 3.0
DESCEND_TIMEOUT = 3.0
STOP_DISTANCE = 0.40   # crossing: hold still when the person is this close to the TCP
SLOW_DISTANCE = 0.80   # crossing: full speed beyond this distance
LOOKAHEAD = 0.25       # s: how far ahead a moving part's position is predicted
TOUCH_DEPTH = 0.0005   # co_manipulation: TCP target below where the tool touched, m (the
# Panda then presses with about 20 N on the workpiece, measured)
TOUCH_REACH = 0.03     # co_manipulation: how far below the point the touch-down aims, m
CONTACT_LAG = 0.0004   # co_manipulation: the TCP lagging its target this much: contact
SCREW_TIMEOUT = 6.0
SCREW_GRACE = 0.4      # co_manipulation: s past press_time before pressing deeper
SCREW_RAMP = 0.001     # co_manipulation: m/s the press target then moves down
# co_manipulation: TCP pointing at the floor with the fingers closing along world y, so the
# gripper's long side runs along y, away from the person across the workpiece (x, y, z, w)
TOOL_ORIENTATION = np.array([1.0, 0.0, 0.0, 0.0])
SETTLE_HEIGHT = 0.02   # clamping: slow down this far above the seated TCP height
SETTLE_SPEED = 0.008   # clamping: touch-down and press speed
TOOL_CLEARANCE = 0.06  # co_manipulation: height over a screw point before and after it
TOUCH_SPEED = 0.008    # co_manipulation: touch-down speed, within TOUCH_ZONE above the point
TOUCH_ZONE = 0.015     # m
SEATED = 0.0015        # clamping: the part is this close above its goal height: seated
PRESS_DEPTH = 0.003    # clamping: press target below the target at which the part seated, m
# (the Panda then presses with about 40 N and the UR5e with about 25 N, measured)
SUCTION_GAP = 0.008    # a suction cup's face this far inside its reach of the part's top, m


def pointing_down(quat) -> np.ndarray:
    """The orientation (quaternion x, y, z, w) nearest ``quat`` whose z axis points at the
    floor: ``quat`` turned by the smallest rotation that takes its z axis to -z (world)."""
    from simulator.kinematics import axis_angle_matrix, matrix_to_quat
    rot = quat_to_matrix(np.asarray(quat, float))
    z = rot[:, 2]
    axis = np.cross(z, [0.0, 0.0, -1.0])
    angle = float(np.arctan2(np.linalg.norm(axis), -z[2]))
    if np.linalg.norm(axis) < 1e-9:
        return matrix_to_quat(rot) if z[2] < 0 else matrix_to_quat(
            axis_angle_matrix(np.array([1.0, 0.0, 0.0]), np.pi) @ rot)
    return matrix_to_quat(axis_angle_matrix(axis / np.linalg.norm(axis), angle) @ rot)


class _Oriented:
    """The tool orientation: a fixed quaternion, or (None) the TCP's orientation in the
    first observation turned to point at the floor (:func:`pointing_down`), for tools
    whose yaw does not matter (a suction cup)."""

    orientation = None

    def _orientation(self, obs) -> np.ndarray:
        if self._fixed is None:
            self._fixed = (pointing_down(obs["ee_quat"]) if self.orientation is None
                           else np.asarray(self.orientation, float))
        return self._fixed


class PlaceScript(_Oriented, HandoverScript):
    """Pick the part and place it at ``goal`` (see module docstring).

    Args:
        dt: control period, s.
        phase_names: the task's phase names.
        goal: where the part's centre goes (world, m).
        robot_base: the robot's base position (world, m).
        hand_index: row of the person's working hand in ``human_keypoints``.
        grip_height: TCP height above the part's centre when gripping, m.
        orientation: the tool's orientation (quaternion x, y, z, w); None: the first
            observed one turned to point at the floor.
        zone: shared_assembly: (lower, upper) corners of the shared zone, else None.
        avoid: crossing: scale the speed by the distance to the person.
        press_depth, press_hold: clamping: how far below the seated position the target
            goes (m) and how long it stays there (s); 0: no press.
    """

    def __init__(self, dt: float, phase_names, goal, robot_base, hand_index: int,
                 grip_height: float = 0.01, zone=None, avoid: bool = False,
                 press_depth: float = 0.0, press_hold: float = 0.0,
                 orientation=GRASP_ORIENTATION) -> None:
        self.goal = np.asarray(goal, float)
        self.orientation = orientation
        self.grip_height, self.zone, self.avoid = grip_height, zone, avoid
        self.press_depth, self.press_hold = press_depth, press_hold
        super().__init__(dt, phase_names, hand_index, hand_index, robot_base)

    def reset(self, seed: int | None = None, info: dict | None = None) -> None:
        super().reset(seed, info)
        self.prev_part = None
        self.part_vel = np.zeros(3)
        self.offset = np.array([0.0, 0.0, self.grip_height])
        self.turns, self.hand_in = 0, False
        self._fixed = None

    # ------------------------------------------------------------------ rules
    def _in_zone(self, p) -> bool:
        lo, hi = self.zone
        return bool(np.all(p >= lo) and np.all(p <= hi))

    def _zone_free(self, obs) -> bool:
        """shared_assembly: the person has had a turn and their hand is out of the zone."""
        if self.zone is None:
            return True
        hand = obs["human_keypoints"][self.hand_index].astype(float)
        inside = self._in_zone(hand)
        if self.hand_in and not inside:
            self.turns += 1
        self.hand_in = inside
        return self.turns >= 1 and not inside

    def _speed_scale(self, obs) -> float:
        """crossing: 0 within STOP_DISTANCE of the person, 1 beyond SLOW_DISTANCE."""
        if not self.avoid:
            return 1.0
        d = float(np.min(np.linalg.norm(obs["human_keypoints"] - obs["ee_pos"], axis=1)))
        return float(np.clip((d - STOP_DISTANCE) / (SLOW_DISTANCE - STOP_DISTANCE), 0.0, 1.0))

    # ------------------------------------------------------------------ act
    def act(self, obs: dict) -> np.ndarray:
        self._track(obs)
        ee, part = obs["ee_pos"].astype(float), obs["part_pos"].astype(float)
        if self.prev_part is not None:
            self.part_vel = 0.5 * self.part_vel + 0.5 * (part - self.prev_part) / self.dt
        self.prev_part = part
        phase = self.phase_names[int(obs["phase"])]
        self.timer += self.dt
        zone_free = self._zone_free(obs)
        scale = self._speed_scale(obs)
        gripper, speed, target = -1.0, SPEED, ee
        if phase == "approach" and self.stage == "transfer":
            self._enter("above")  # lost the part on the way: start again
        ahead = part + self.part_vel * LOOKAHEAD
        place = self.goal + self.offset
        stage = self.stage
        if stage == "above":
            gripper, target = 1.0, ahead + [0.0, 0.0, APPROACH_HEIGHT]
            err = target - ee
            if np.linalg.norm(err[:2]) < 0.01 and abs(err[2]) < 0.02:
                self._enter("descend")
        elif stage == "descend":
            gripper, speed = 1.0, SLOW
            target = ahead + [0.0, 0.0, self.grip_height]
            if ee[2] < part[2] + self.grip_height + 0.01 or self.timer > DESCEND_TIMEOUT:
                self._enter("close")
                self.close_from, self.close_vel = target.copy(), self.part_vel.copy()
        elif stage == "close":  # follow the part's motion before the gripper touched it
            target = self.close_from + self.close_vel * self.timer
            if self.timer >= CLOSE_TIME:
                self.offset = ee - part
                self._enter("lift")
                self.lift_xy = ee[:2].copy()
                self.lift_z = max(place[2], ee[2]) + CARRY_CLEARANCE
        elif stage == "lift":
            target = np.array([*self.lift_xy, self.lift_z])
            if ee[2] >= target[2] - 0.02:
                self._enter("transfer" if phase == "carry" else "above")
        elif stage == "transfer":
            target = place + [0.0, 0.0, CARRY_CLEARANCE]
            if not zone_free:
                target = ee if self.zone is None or not self._in_zone(ee) else ee + [0, 0, 0.05]
            err = target - ee  # over the goal; the height need not be exact
            if zone_free and np.linalg.norm(err[:2]) < 0.01 and abs(err[2]) < 0.03:
                self._enter("lower")
        elif stage == "lower":
            speed, target = SLOW, place + [0.0, 0.0, 0.003]
            if self.press_depth > 0:  # press: touch down gently, then press from there
                target = place - [0.0, 0.0, self.press_depth]
                if ee[2] - place[2] < SETTLE_HEIGHT:
                    speed = SETTLE_SPEED
                if part[2] - self.goal[2] < SEATED:
                    # from the target (not the TCP): a sagging arm presses as hard
                    self.press_z = self._cmd_pos[2] - self.press_depth
                    self._enter("press")
            elif (np.linalg.norm(part - self.goal) < 0.008 or self.timer > LOWER_TIMEOUT):
                self._enter("release")
        elif stage == "press":
            speed, target = SETTLE_SPEED, np.array([*place[:2], self.press_z])
            if self.timer >= self.press_hold:
                self._enter("release")
        elif stage == "release":
            gripper, target = 1.0, ee if self.press_depth <= 0 else place
            if self.timer >= OPEN_TIME:
                self._enter("withdraw")
                self.withdraw_from = ee.copy()
        elif stage == "withdraw":
            gripper = 1.0
            target = withdraw_target(self.withdraw_from, ee, self.robot_base)
        return np.concatenate([self._move(target, speed * scale),
                               self._turn(self._orientation(obs)), [gripper]]).astype(np.float32)


class ScrewScript(_Oriented, HandoverScript):
    """co_manipulation: press the closed gripper on each screw point in turn.

    Args:
        dt: control period, s.
        phase_names: ``wait, screw_1 .. screw_n, done``.
        points: the screw points in the workpiece's frame, m.
        robot_base: the robot's base position (world, m).
        depth: how far below the TCP target at the touch the target goes, m.
        orientation: as for :class:`PlaceScript`.
        gripper: the gripper action held throughout: -1 closes the fingers into a tool
            tip; a suction cup is left open (+1), or it would pick the workpiece up.
        press_time: the task's time per point, s; a point not counted ``SCREW_GRACE`` s
            after it presses deeper at ``SCREW_RAMP`` (the arm's stiffness is unknown).
    """

    def __init__(self, dt: float, phase_names, points, robot_base,
                 depth: float = TOUCH_DEPTH, orientation=TOOL_ORIENTATION,
                 gripper: float = -1.0, press_time: float = 1.0) -> None:
        self.points, self.depth = np.asarray(points, float).reshape(-1, 3), depth
        self.press_time = float(press_time)
        self.orientation, self.gripper = orientation, float(gripper)
        self.clearance = TOOL_CLEARANCE
        super().__init__(dt, phase_names, 0, 0, robot_base)

    def reset(self, seed: int | None = None, info: dict | None = None) -> None:
        super().reset(seed, info)
        self.stage, self.point, self._fixed = "wait", None, None

    def _world(self, obs, i: int) -> np.ndarray:
        rot = quat_to_matrix(obs["part_quat"].astype(float))
        return obs["part_pos"].astype(float) + rot @ self.points[i]

    def act(self, obs: dict) -> np.ndarray:
        self._track(obs)
        ee = obs["ee_pos"].astype(float)
        phase = self.phase_names[int(obs["phase"])]
        self.timer += self.dt
        speed, target = SPEED, ee
        index = int(phase.split("_")[1]) - 1 if phase.startswith("screw_") else None
        if phase == "wait":
            if self.stage != "wait":
                self._enter("wait")
            target = self._world(obs, 0) + [0.0, 0.0, APPROACH_HEIGHT + 0.05]
        elif phase in ("clear", "done"):
            if self.stage != "withdraw":
                self._enter("withdraw")
            target = self._world(obs, 0) + [0.0, 0.0, APPROACH_HEIGHT + 0.05]
        elif self.stage in ("wait", "retract") and index != self.point:
            if self.stage == "wait" or ee[2] > self._world(obs, self.point)[2] + 0.05:
                self.point = index
                self._enter("above")
            else:
                target = self._world(obs, self.point) + [0.0, 0.0, self.clearance]
        elif self.stage in ("touch", "screw") and index != self.point:
            self._enter("retract")
        if phase.startswith("screw_"):
            if self.stage == "above":
                target = self._world(obs, self.point) + [0.0, 0.0, self.clearance]
                if np.linalg.norm(target - ee) < 0.015:
                    self._enter("touch")
            elif self.stage == "touch":  # down slowly until the tool is stopped
                point = self._world(obs, self.point)
                near = ee[2] < point[2] + TOUCH_ZONE
                speed = TOUCH_SPEED if near else SLOW
                target = point - [0.0, 0.0, TOUCH_REACH]
                if near and self._cmd_pos[2] < ee[2] - CONTACT_LAG:
                    self.press_z = ee[2] - self.depth
                    self._enter("screw")
                elif self.timer > SCREW_TIMEOUT:
                    self._enter("retract")
            elif self.stage == "screw":  # press from where it touched; the task counts
                speed = SETTLE_SPEED
                if self.timer > self.press_time + SCREW_GRACE:  # not counted yet: too soft
                    self.press_z -= SCREW_RAMP * self.dt
                target = np.append(self._world(obs, self.point)[:2], self.press_z)
                if self.timer > SCREW_TIMEOUT:
                    self._enter("retract")
            elif self.stage == "retract":
                target = self._world(obs, self.point) + [0.0, 0.0, self.clearance]
                if index == self.point and np.linalg.norm(target - ee) < 0.015:
                    self._enter("above")  # the point did not count: again
        return np.concatenate([self._move(target, speed), self._turn(self._orientation(obs)),
                               [self.gripper]]).astype(np.float32)


def make_work_script(env):
    """The baseline of ``env``'s work task kind."""
    from simulator.tasks.base import half_height

    base = env.unwrapped
    spec, task = base.scenario, base.task
    kind = spec.task.kind
    names = base.human_link_names
    hand = names.index(f"hand_{task.side}")
    suction = base.robot.suction
    # a suction cup: the TCP just within the cup's reach above the part's top face
    grip = (half_height(task.part_spec) + max(base.robot.spec.gripper.reach - SUCTION_GAP,
                                               0.002)) if suction else 0.01
    if kind == "co_manipulation":
        return ScrewScript(base.dt, base.phase_names, spec.task.tool_points, spec.robot.position,
                           orientation=None if suction else TOOL_ORIENTATION,
                           gripper=1.0 if suction else -1.0, press_time=spec.task.press_time)
    options = {"orientation": None} if suction else {}
    if kind == "shared_assembly":
        options["zone"] = (np.asarray(spec.task.zone_lower), np.asarray(spec.task.zone_upper))
    elif kind == "crossing":
        options["avoid"] = True
    elif kind == "clamping":
        options.update(press_depth=PRESS_DEPTH, press_hold=spec.task.press_time + 1.0)
    return PlaceScript(base.dt, base.phase_names, spec.task.goal, spec.robot.position, hand,
                       grip_height=grip, **options)
