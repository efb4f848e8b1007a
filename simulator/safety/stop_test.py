"""The mechanics of one simulated stop test (ISO 10218-1 Annex B): test pose, payload,
run-up and the category 0 / 1 stop. The public API is :mod:`simulator.safety.stopping`.

Annex B axes: 1 the base, 2 the shoulder, 3 the elbow, numbered as in the standard, not
as in the URDF. The elbow is the first joint after the shoulder whose axis is parallel to
the shoulder's (panda_joint4 on the Panda: its joint 3 is an upper-arm roll).

Test pose (:func:`stop_test_pose`): a coordinate search over the arm joints maximises the
TCP's horizontal lever arm about the tested joint's axis (full extension as far as the
joint limits allow). The base's axis must be vertical (horizontal motion); the shoulder's
and the elbow's must be horizontal, and they turn the way that moves the TCP *down*
(gravity-assisted). The trigger angle leaves the run-up before it and ``stop_room`` after.

Payload: a solid sphere (radius :data:`PAYLOAD_RADIUS`) centred on the TCP, set as the
end-effector link's mass. pybullet's inverse dynamics and mass matrix do not see a mass
changed after their first use (bullet3 issue #4809: the model is cached per body), so the
drive's model gets the payload's terms added here after every update: the holding torque
``m·g·J_zᵀ`` and the inertia ``m·J_vᵀJ_v`` (point mass; its Coriolis terms are left out).

Stops, from the signal on:

* category 0 (drive power removed): the drive's torque bounds are set to zero and every
  arm joint gets a brake that opposes its motion with at most ``brake`` N·m and holds it
  at rest up to the same torque (Coulomb brake, solved implicitly by the physics engine
  as a zero-speed velocity motor of that maximum torque: no chatter at standstill),
  after ``delay`` s of free coasting.
* category 1 (controlled stop): the tested joint's target follows a constant-deceleration
  ramp to rest (:meth:`Robot.command_joints` every physics step) and is then held; the
  deceleration is the largest the drive's torque bounds allow at the signal, for all arm
  joints together (:func:`deceleration_limit`). Simply holding the joint where it is
  (damping term alone, saturated) was tried first: for the elbow the coupled torques of
  the 12 N·m wrist joints saturate and the arm goes unstable, which no real controller
  would do; the ramp keeps the path.

Standstill: tested joint below :data:`STANDSTILL_JOINT_SPEED` and TCP below
:data:`STANDSTILL_TCP_SPEED`.
"""
from __future__ import annotations

import math

import numpy as np

from simulator.errors import CobotsimError
from simulator.kinematics import quat_to_matrix
from simulator.robot import Robot
from simulator.safety.separation import ROBOT_MOVING_SPEED

STANDSTILL_JOINT_SPEED = 0.01              # rad/s (0.57 °/s)
STANDSTILL_TCP_SPEED = ROBOT_MOVING_SPEED  # m/s: the SSM monitor's "robot moves" bound
PAYLOAD_RADIUS = 0.05                      # m
LIMIT_MARGIN = 0.05                        # rad kept from every joint limit
PARALLEL = 0.99                            # |cos| of two axes taken as parallel
HORIZONTAL = 0.05                          # |axis · z| of an axis taken as horizontal
GRID = 49                                  # values per joint in the pose search


class StopTestError(CobotsimError, RuntimeError):
    """A stop test could not be set up or the robot did not stop."""


class NearLimitError(StopTestError):
    """The tested joint ran within half the limit margin of its limit while stopping."""


def annex_b_joints(robot: Robot) -> dict[int, int]:
    """Annex B axis (1 base, 2 shoulder, 3 elbow) -> index among the robot's arm joints."""
    _, shoulder = joint_axis(robot, robot.home, 1)
    for k in range(2, len(robot.arm)):
        if abs(float(joint_axis(robot, robot.home, k)[1] @ shoulder)) > PARALLEL:
            return {1: 0, 2: 1, 3: k}
    raise StopTestError(f"{robot.spec.id}: no joint after the shoulder has an axis parallel "
                        "to it; cannot tell the elbow")


def joint_axis(robot: Robot, q, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A point (m) on arm joint ``k``'s axis and its unit direction, world frame, at ``q``."""
    link = robot.arm[k]
    pos, quat = robot.forward_kinematics(q, link)
    # pybullet gives the axis in the link's centre-of-mass frame, turned from the link
    # frame when the URDF's inertia is not diagonal (the xArm6's)
    com = quat_to_matrix(robot.sim.inertial_frame(robot.body, link)[1])
    axis = quat_to_matrix(quat) @ com @ np.asarray(robot.sim.joint_info(robot.body, link).axis, float)
    return pos, axis / np.linalg.norm(axis)


def lever(robot: Robot, q, k: int, pitch: bool) -> tuple[float, int, np.ndarray]:
    """Horizontal lever arm (m) of the TCP about joint ``k``, the sign of joint motion
    that moves the TCP down (+1 when not ``pitch``) and the joint's axis."""
    point, axis = joint_axis(robot, q, k)
    r = robot.forward_kinematics(q)[0] - point
    r_perp = r - (r @ axis) * axis
    sign = (-1 if np.cross(axis, r)[2] > 0 else 1) if pitch else 1
    return float(np.hypot(r_perp[0], r_perp[1])), sign, axis


def stop_test_pose(robot: Robot, k: int, pitch: bool, run_up: float, stop_room: float
                   ) -> tuple[np.ndarray, int, float]:
    """The trigger pose (rad), the direction of motion (±1) and the lever (m) of arm
    joint ``k``; raises :class:`StopTestError` when no pose leaves the room asked for."""
    lo, hi = robot.lower + LIMIT_MARGIN, robot.upper - LIMIT_MARGIN

    def score(q) -> float:
        arm, sign, axis = lever(robot, q, k, pitch)
        if abs(axis[2]) > HORIZONTAL if pitch else abs(axis[2]) < 1 - HORIZONTAL:
            return -math.inf
        room = hi[k] - q[k] if sign > 0 else q[k] - lo[k]
        if not lo[k] <= q[k] - sign * run_up <= hi[k] or room < stop_room:
            return -math.inf
        return arm + 1e-3 * min(room, 1.0)   # ties: more room to stop

    best, best_score = None, -math.inf
    for q in (np.clip(robot.home, lo, hi), np.clip(np.zeros_like(lo), lo, hi)):
        s = score(q)
        for _ in range(3):
            for i in range(len(q)):
                for value in np.linspace(lo[i], hi[i], GRID):
                    trial = q.copy()
                    trial[i] = value
                    t = score(trial)
                    if t > s + 1e-9:
                        q, s = trial, t
        if s > best_score:
            best, best_score = q, s
    if not math.isfinite(best_score):
        raise StopTestError(f"{robot.spec.id}: no pose of joint {robot.spec.joints[k].name} "
                            f"leaves {run_up:.2f} rad of run-up and {stop_room:.2f} rad to stop")
    arm, sign, _ = lever(robot, best, k, pitch)
    return best, sign, arm


class Payload:
    """A point mass ``mass`` (kg) at the TCP: in the physics, and in the drive's model."""

    def __init__(self, robot: Robot, mass: float) -> None:
        self.robot, self.mass = robot, float(mass)
        self._cols = [robot.movable.index(a) for a in robot.arm]
        if self.mass > 0:
            inertia = 0.4 * self.mass * PAYLOAD_RADIUS ** 2
            robot.sim.change_dynamics(robot.body, robot.ee_link, mass=self.mass,
                                      localInertiaDiagonal=[inertia] * 3)

    def update_drive(self) -> None:
        """Add the payload's holding torque and inertia to the drive's model (call after
        every ``apply_commands`` or ``drive.reset``)."""
        if self.mass <= 0:
            return
        jv = self.robot.jacobian()[:3]
        drive, cols = self.robot.drive, self._cols
        drive.bias[cols] += self.mass * -self.robot.sim.gravity * jv[2]
        drive.mass[np.ix_(cols, cols)] += self.mass * jv.T @ jv


def run_up(robot: Robot, payload: Payload, k: int, sign: int, start, trigger: float,
           speed: float, accel: float) -> None:
    """Ramp joint ``k`` from ``start`` up to ``speed`` (rad/s; trapezoid of ``accel``
    rad/s²), the other joints held, until it passes ``trigger`` (rad)."""
    dt = robot.sim.time_step
    ramp = speed / accel
    for n in range(1, int((ramp + 2 * abs(trigger - start[k]) / speed + 1.0) / dt)):
        t = n * dt
        target = start.copy()
        target[k] += sign * (0.5 * accel * t * t if t < ramp else speed * (t - ramp / 2))
        robot.command_joints(target)
        robot.apply_commands(dt)
        payload.update_drive()
        robot.sim.step()
        if sign * (robot.joint_state()[0][k] - trigger) >= 0:
            return
    raise StopTestError(f"joint {robot.spec.joints[k].name} never reached its trigger angle")


def deceleration_limit(robot: Robot, k: int, direction: float) -> float:
    """The largest deceleration (rad/s², > 0) of arm joint ``k``, moving in ``direction``
    (±1), with the other joints still, for which every arm joint's torque ``b + M[:, k]·a``
    (the drive's current model) stays within its bound."""
    cols = [robot.movable.index(a) for a in robot.arm]
    bias, effort = robot.drive.bias[cols], robot.max_effort
    c = -direction * robot.drive.mass[np.ix_(cols, cols)][:, k]
    bounds = [((effort[i] - bias[i]) if c[i] > 0 else (effort[i] + bias[i])) / abs(c[i])
              for i in range(len(cols)) if abs(c[i]) > 1e-9]
    a = min(bounds)
    if a <= 0:
        raise StopTestError(f"the drive cannot decelerate {robot.spec.joints[k].name} here: "
                            "gravity takes all of a joint's torque")
    return float(a)


def stop(robot: Robot, payload: Payload, k: int, category: int, brake, delay: float,
         max_time: float) -> tuple[float, float, np.ndarray, float | None]:
    """Give the stop signal now and step to standstill. Returns the stopping time (s), the
    TCP path length (m), the arm joint positions (rad) at standstill and, for category 1,
    the deceleration of the ramp (rad/s²)."""
    sim, dt = robot.sim, robot.sim.time_step
    q0, qd0 = robot.joint_state()
    target, v0, decel = robot.joint_target, float(qd0[k]), None
    if category == 0:
        robot.drive.effort[[robot.movable.index(a) for a in robot.arm]] = 0.0
    else:
        robot.apply_commands(dt)      # refresh the drive's model at the signal
        payload.update_drive()
        decel = deceleration_limit(robot, k, np.sign(v0))
    t0, tcp = sim.time, robot.ee_pose()[0]
    path, braking = 0.0, True
    lo, hi = robot.lower[k] + LIMIT_MARGIN / 2, robot.upper[k] - LIMIT_MARGIN / 2
    while sim.time - t0 < max_time:
        t = sim.time - t0 + dt
        if category == 1:
            t = min(t, abs(v0) / decel)
            target[k] = q0[k] + v0 * t - 0.5 * np.sign(v0) * decel * t * t
            robot.command_joints(target)
            robot.apply_commands(dt)
            payload.update_drive()
        elif braking and t - dt >= delay - 1e-12:
            sim.velocity_control(robot.body, robot.arm, [0.0] * len(robot.arm), brake)
            braking = False
        sim.step()
        q, qd = robot.joint_state()
        if not lo <= q[k] <= hi:
            raise NearLimitError(f"{robot.spec.joints[k].name} ran to its limit while stopping")
        now = robot.ee_pose()[0]
        path, tcp = path + float(np.linalg.norm(now - tcp)), now
        if (abs(qd[k]) < STANDSTILL_JOINT_SPEED
                and np.linalg.norm(robot.ee_velocity()[0]) < STANDSTILL_TCP_SPEED):
            return sim.time - t0, path, q, decel
    raise StopTestError(f"{robot.spec.joints[k].name} did not stop within {max_time} s "
                        f"(category {category}); is the brake weaker than gravity?")
