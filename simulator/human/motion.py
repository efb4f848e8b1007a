"""Motion programs: what the person does, step by step.

A program is a plain object with ``start(human, t)``, ``update(human, t, dt)`` and a
``phase`` name. ``update`` is called once per control step (t in s, dt in s) before the
physics substeps; it sets joint targets and the pelvis target on the :class:`Human`.
Positions are world-frame metres, speeds m/s. Randomness only from an injected
``numpy.random.Generator``.
"""
from __future__ import annotations

import logging
from typing import Callable, Sequence

import numpy as np

from simulator.human.arm_ik import axis_angle_quat

log = logging.getLogger(__name__)

ARRIVED = 0.03      # m: palm-to-goal distance at which a hand motion counts as arrived
SETTLE_TIME = 1.0   # s: longest wait for the palm to arrive once the commanded point has


class _HandPath:
    """A commanded palm point moving in a straight line to a goal at a bounded speed."""

    def __init__(self, human, side: str, goal, speed: float) -> None:
        # the person's speed_factor scales every hand speed (simulator.human.person)
        self.human, self.side = human, side
        self.speed = float(speed) * getattr(human, "speed_factor", 1.0)
        self.point = human.palm_position(side)
        self.goal = np.asarray(goal, dtype=float)
        self.done_at: float | None = None

    def step(self, t: float, dt: float) -> bool:
        """Advance by dt and aim the arm; True once the palm is at the goal (or settled)."""
        delta = self.goal - self.point
        dist = float(np.linalg.norm(delta))
        move = self.speed * dt
        self.point = self.goal.copy() if dist <= move else self.point + delta * (move / dist)
        self.human.set_arm_target(self.side, self.point)
        if dist > move:
            return False
        if self.done_at is None:
            self.done_at = t
        near = np.linalg.norm(self.human.palm_position(self.side) - self.goal) < ARRIVED
        return bool(near or t - self.done_at > SETTLE_TIME)


class Idle:
    """Standing with a small sway of the upper body: the shoulders move by ``amplitude``
    (m) with ``period`` (s), with phases drawn from ``rng`` (zero without one)."""

    def __init__(self, amplitude: float = 0.01, period: float = 4.0,
                 rng: np.random.Generator | None = None) -> None:
        self.amplitude, self.period = float(amplitude), float(period)
        self._phases = rng.uniform(0.0, 2 * np.pi, size=2) if rng is not None else np.zeros(2)
        self.phase = "idle"

    def start(self, human, t: float) -> None:
        self.t0 = t
        self._lever = sum(human.link(n).length for n in ("abdomen", "chest"))
        for side in ("left", "right"):
            human.set_arm_rest(side)

    def update(self, human, t: float, dt: float) -> None:
        w = 2 * np.pi * (t + dt - self.t0) / self.period
        angle = self.amplitude / self._lever
        forward = angle * np.sin(w + self._phases[0])
        lateral = 0.5 * angle * np.sin(0.5 * w + self._phases[1])
        q = axis_angle_quat((lateral, -forward, 0.0), np.hypot(forward, lateral)) \
            if forward or lateral else np.array([0.0, 0.0, 0.0, 1.0])
        human.set_joint("abdomen", q)


class Reach:
    """Move the palm of ``side`` to ``target_xyz`` (world, m) at ``speed`` (m/s) and hold it
    there. Phases: ``reach`` then ``hold``."""

    def __init__(self, target_xyz, side: str = "right", speed: float = 0.3) -> None:
        self.target, self.side, self.speed = np.asarray(target_xyz, float), side, float(speed)
        self.phase = "reach"

    def start(self, human, t: float) -> None:
        self.phase = "reach"
        self._path = _HandPath(human, self.side, self.target, self.speed)

    def update(self, human, t: float, dt: float) -> None:
        if self._path.step(t, dt):
            self.phase = "hold"


class Handover:
    """Receive an object: ``idle -> extend -> wait -> close -> withdraw -> done``.

    The palm of ``side`` moves to ``point`` (world, m) at ``speed`` (m/s), waits until
    ``object_position()`` is within ``close_radius`` (m) of the palm (at most
    ``wait_timeout`` s) and the hand can close on ``object_id`` (:meth:`Human.grasp`), holds
    still for ``close_time`` s and withdraws to ``withdraw_to`` (world, m; default 0.25 m in
    front of the shoulder and 0.3 m below it). ``received`` tells whether the hand got the
    object; ``history`` lists the phases in the order they were entered.
    """

    def __init__(self, point, side: str, object_position: Callable[[], np.ndarray],
                 object_id: int, wait_timeout: float = 30.0, close_radius: float = 0.06,
                 withdraw_to=None, speed: float = 0.3, start_delay: float = 0.0,
                 close_time: float = 0.3) -> None:
        self.point, self.side = np.asarray(point, float), side
        self.object_position, self.object_id = object_position, object_id
        self.wait_timeout, self.close_radius = float(wait_timeout), float(close_radius)
        self.withdraw_to = None if withdraw_to is None else np.asarray(withdraw_to, float)
        self.speed, self.start_delay, self.close_time = float(speed), float(start_delay), close_time
        self.phase, self.history, self.received = "idle", ["idle"], False

    def _enter(self, phase: str, t: float) -> None:
        self.phase, self._since = phase, t
        self.history.append(phase)
        log.debug("handover: %s at t=%.3f s", phase, t)

    def start(self, human, t: float) -> None:
        self.phase, self.history, self.received, self._since = "idle", ["idle"], False, t
        self._path = None
        for side in ("left", "right"):
            human.set_arm_rest(side)

    def _withdraw_goal(self, human) -> np.ndarray:
        if self.withdraw_to is not None:
            return self.withdraw_to
        _, yaw = human.root_target
        forward = np.array([np.cos(yaw), np.sin(yaw), 0.0])
        return human.shoulder_position(self.side) + 0.25 * forward + np.array([0.0, 0.0, -0.3])

    def update(self, human, t: float, dt: float) -> None:
        now = t + dt
        if self.phase == "idle" and now - self._since >= self.start_delay:
            self._enter("extend", t)
            self._path = _HandPath(human, self.side, self.point, self.speed)
        if self.phase == "extend" and self._path.step(now, dt):
            self._enter("wait", now)
        elif self.phase == "wait":
            self._path.step(now, dt)
            gap = np.linalg.norm(np.asarray(self.object_position()) - human.palm_position(self.side))
            if gap <= self.close_radius and human.grasp(self.object_id, self.side):
                self.received = True
                self._enter("close", now)
            elif now - self._since > self.wait_timeout:
                self._enter("withdraw", now)
                self._path = _HandPath(human, self.side, self._withdraw_goal(human), self.speed)
        elif self.phase == "close":
            self._path.step(now, dt)
            if now - self._since >= self.close_time:
                self._enter("withdraw", now)
                self._path = _HandPath(human, self.side, self._withdraw_goal(human), self.speed)
        elif self.phase == "withdraw" and self._path.step(now, dt):
            self._enter("done", now)
        elif self.phase == "done":
            self._path.step(now, dt)


class Walk:
    """Walk through the waypoints ``path`` [(x, y), ...] (world, m) at ``speed`` (m/s; the
    person's ``gait_speed`` instead when it is set), turning to face the direction of travel. The pelvis target moves smoothly (bounded
    acceleration ``accel`` m/s², bounded turn rate ``turn_rate`` rad/s) while the legs and
    arms swing. Phases: ``walk`` then ``done``."""

    def __init__(self, path: Sequence[Sequence[float]], speed: float = 1.0, accel: float = 2.0,
                 turn_rate: float = 3.0, stride: float = 1.2) -> None:
        if not path:
            raise ValueError("Walk needs at least one waypoint")
        self.path = np.asarray(path, dtype=float).reshape(-1, 2)
        self.speed, self.accel, self.turn_rate, self.stride = float(speed), accel, turn_rate, stride
        self.phase = "walk"

    def start(self, human, t: float) -> None:
        gait = getattr(human, "gait_speed", None)  # the person's own gait speed, when set
        if gait is not None:
            self.speed = float(gait)
        start, self._yaw = human.root_target
        self._points = np.vstack([start, self.path])
        seg = np.diff(self._points, axis=0)
        self._lengths = np.linalg.norm(seg, axis=1)
        self._cum = np.concatenate([[0.0], np.cumsum(self._lengths)])
        self._s, self._v, self.phase = 0.0, 0.0, "walk"

    def _at(self, s: float) -> tuple[np.ndarray, float | None]:
        i = int(np.clip(np.searchsorted(self._cum, s, side="right") - 1, 0, len(self._lengths) - 1))
        while i < len(self._lengths) - 1 and self._lengths[i] < 1e-9:
            i += 1
        if self._lengths[i] < 1e-9:
            return self._points[-1], None
        u = self._points[i + 1] - self._points[i]
        frac = np.clip((s - self._cum[i]) / self._lengths[i], 0.0, 1.0)
        return self._points[i] + frac * u, float(np.arctan2(u[1], u[0]))

    def update(self, human, t: float, dt: float) -> None:
        total = self._cum[-1]
        remaining = total - self._s
        v_stop = np.sqrt(2.0 * self.accel * max(remaining, 0.0))
        self._v = min(self.speed, self._v + self.accel * dt, v_stop)
        self._s = min(total, self._s + self._v * dt)
        xy, heading = self._at(self._s)
        if heading is not None:
            turn = (heading - self._yaw + np.pi) % (2 * np.pi) - np.pi
            self._yaw += float(np.clip(turn, -self.turn_rate * dt, self.turn_rate * dt))
        human.set_root(xy, self._yaw)
        swing = 0.35 * (self._v / self.speed) * np.sin(2 * np.pi * self._s / self.stride)
        for side, sign in (("left", 1.0), ("right", -1.0)):
            hip = sign * swing
            human.set_joint(f"thigh_{side}", axis_angle_quat((0.0, -1.0, 0.0), hip))
            human.set_joint(f"lower_leg_{side}", 0.6 * max(hip, 0.0))
            human.set_joint(f"upper_arm_{side}", axis_angle_quat((0.0, -1.0, 0.0), -0.5 * hip))
        if self._s >= total - 1e-9:
            self.phase = "done"
