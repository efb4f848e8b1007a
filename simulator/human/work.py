"""Motion programs of the person at work, built by their tasks (:mod:`simulator.tasks`).

Like those of :mod:`simulator.human.motion`, a program is a plain object with
``start(human, t)``, ``update(human, t, dt)`` and a ``phase`` name; positions are world
frame metres, times seconds, speeds m/s. Every seeded choice (when the person acts) is
drawn by the task from the episode's generator and handed in, so a program itself draws
nothing.

=================  ==================================================================
name               program
=================  ==================================================================
``assemble``       :class:`Assemble`: reaches into the shared zone at given times
``walk``           :class:`Delayed` around :class:`~simulator.human.motion.Walk`
``steady``         :class:`Steady`: the hand rests next to a fixture, steadying the work
``hold_workpiece`` :class:`HoldWorkpiece`: grasps a workpiece and holds it still
``remove_reject``  :class:`RemoveReject`: takes a moving part off a conveyor
=================  ==================================================================
"""
from __future__ import annotations

import logging
from typing import Callable, Sequence

import numpy as np

from simulator.human.motion import _HandPath

log = logging.getLogger(__name__)

GRASP_TIMEOUT = 3.0  # s: how long a hand at the object keeps trying to grasp it


def rest_point(human, side: str) -> np.ndarray:
    """Where a withdrawn hand goes: 0.25 m in front of the shoulder, 0.3 m below it."""
    _, yaw = human.root_target
    forward = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    return human.shoulder_position(side) + 0.25 * forward + np.array([0.0, 0.0, -0.3])


class _Phased:
    """Phase bookkeeping shared by the programs: ``phase``, ``history`` and the time the
    phase was entered."""

    name = "program"

    def _enter(self, phase: str, t: float) -> None:
        self.phase, self._since = phase, t
        self.history.append(phase)
        log.debug("%s: %s at t=%.3f s", self.name, phase, t)


class Delayed:
    """Run ``program`` after ``delay`` s of standing idle (phase ``wait`` until then)."""

    def __init__(self, program, delay: float) -> None:
        self.program, self.delay = program, float(delay)
        self.phase = "wait"

    def start(self, human, t: float) -> None:
        self.t0, self.phase, self._running = t, "wait", False
        for side in ("left", "right"):
            human.set_arm_rest(side)

    def update(self, human, t: float, dt: float) -> None:
        if not self._running and t + dt - self.t0 >= self.delay:
            self.program.start(human, t)
            self._running = True
        if self._running:
            self.program.update(human, t, dt)
            self.phase = self.program.phase


class Assemble(_Phased):
    """Take turns at a shared fixture: ``away -> reach -> place -> withdraw -> away ...``.

    Before reach ``k`` the person waits ``pauses[k]`` s (after the start, then after the
    last withdrawal); the palm of ``side`` moves to ``point`` at ``speed``, stays there for
    ``hold_time`` s (placing a part) and returns to :func:`rest_point`. ``turns`` counts
    the finished reaches.
    """

    name = "assemble"

    def __init__(self, point, side: str, pauses: Sequence[float], hold_time: float = 1.0,
                 speed: float = 0.4) -> None:
        self.point, self.side = np.asarray(point, float), side
        self.pauses, self.hold_time, self.speed = [float(p) for p in pauses], hold_time, speed
        self.phase, self.history, self.turns = "away", ["away"], 0

    def start(self, human, t: float) -> None:
        self.phase, self.history, self.turns, self._since = "away", ["away"], 0, t
        self._path = None
        for side in ("left", "right"):
            human.set_arm_rest(side)

    def update(self, human, t: float, dt: float) -> None:
        now = t + dt
        if self.phase == "away":
            if self._path is not None and self._path.step(now, dt):
                human.set_arm_rest(self.side)
                self._path = None
            if self.turns < len(self.pauses) and now - self._since >= self.pauses[self.turns]:
                self._enter("reach", now)
                self._path = _HandPath(human, self.side, self.point, self.speed)
        elif self.phase == "reach":
            if self._path.step(now, dt):
                self._enter("place", now)
        elif self.phase == "place":
            self._path.step(now, dt)
            if now - self._since >= self.hold_time:
                self._enter("withdraw", now)
                self._path = _HandPath(human, self.side, rest_point(human, self.side), self.speed)
        elif self.phase == "withdraw" and self._path.step(now, dt):
            self.turns += 1
            self._enter("away", now)


class Steady(_Phased):
    """Steady the work: after ``delay`` s the palm of ``side`` rises at ``speed`` to
    ``approach_height`` m above ``point``'s height, moves over to ``point``, then down onto it at half that speed, and rests
    there with a small tremor (``tremor`` m amplitude, 0.5 Hz and 0.8 Hz components with
    the phases ``phases`` in rad). Phases: ``wait``, ``approach``, ``reach``, ``steady``."""

    name = "steady"

    def __init__(self, point, side: str, delay: float = 0.0, speed: float = 0.3,
                 tremor: float = 0.003, phases=(0.0, 0.0), approach_height: float = 0.08) -> None:
        self.point, self.side, self.delay = np.asarray(point, float), side, float(delay)
        self.approach_height = float(approach_height)
        self.speed, self.tremor, self.phases = speed, float(tremor), tuple(phases)
        self.phase, self.history = "wait", ["wait"]

    def start(self, human, t: float) -> None:
        self.phase, self.history, self._since, self._t0 = "wait", ["wait"], t, t
        self._path = None
        for side in ("left", "right"):
            human.set_arm_rest(side)

    def update(self, human, t: float, dt: float) -> None:
        now = t + dt
        above = self.point + [0.0, 0.0, self.approach_height]
        if self.phase == "wait" and now - self._since >= self.delay:
            self._enter("approach", now)
            # lift the hand to the approach height first, then over to the point: a
            # straight line from the hanging hand would skim the fixture's near edge
            lift = human.palm_position(self.side)
            lift[2] = max(lift[2], above[2])
            self._path = _HandPath(human, self.side, lift, self.speed)
            self._lifted = False
        if self.phase == "approach" and self._path.step(now, dt):
            if not self._lifted:
                self._lifted = True
                self._path = _HandPath(human, self.side, above, self.speed)
            else:
                self._enter("reach", now)
                self._path = _HandPath(human, self.side, self.point, 0.5 * self.speed)
        elif self.phase == "reach" and self._path.step(now, dt):
            self._enter("steady", now)
        elif self.phase == "steady":
            s = now - self._t0
            wobble = self.tremor * np.array([np.sin(np.pi * s + self.phases[0]),
                                             np.sin(1.6 * np.pi * s + self.phases[1]), 0.0])
            self._path.goal = self.point + wobble
            self._path.step(now, dt)


class HoldWorkpiece(_Phased):
    """Hold a workpiece for the robot: ``wait -> approach -> reach -> lift -> hold ->
    lower -> withdraw -> done``.

    After ``delay`` s the palm of ``side`` moves to ``approach_height`` m above
    ``grip_point()`` (world, m; the workpiece's handle, read every step) at ``speed``,
    then down onto it at half that speed, grasps ``object_id``
    (:meth:`Human.grasp`), lifts it by ``lift`` m and holds it still until ``finished()``
    says the work is done; then it sets it down again, lets go and withdraws.
    """

    name = "hold_workpiece"

    def __init__(self, grip_point: Callable[[], np.ndarray], object_id: int, side: str,
                 finished: Callable[[], bool], delay: float = 0.0, speed: float = 0.3,
                 lift: float = 0.0, approach_height: float = 0.08) -> None:
        self.grip_point, self.object_id, self.side = grip_point, object_id, side
        self.approach_height = float(approach_height)
        self.finished, self.delay, self.speed, self.lift = finished, float(delay), speed, lift
        self.phase, self.history = "wait", ["wait"]

    def start(self, human, t: float) -> None:
        self.phase, self.history, self._since = "wait", ["wait"], t
        self._path = None
        for side in ("left", "right"):
            human.set_arm_rest(side)

    def _above(self) -> np.ndarray:
        return np.asarray(self.grip_point(), float) + [0.0, 0.0, self.approach_height]

    @property
    def holding(self) -> bool:
        return self.phase == "hold"

    def update(self, human, t: float, dt: float) -> None:
        now = t + dt
        if self.phase == "wait" and now - self._since >= self.delay:
            self._enter("approach", now)
            self._path = _HandPath(human, self.side, self._above(), self.speed)
        if self.phase == "approach":
            self._path.goal = self._above()
            if self._path.step(now, dt):
                self._enter("reach", now)
                self._path = _HandPath(human, self.side, self.grip_point(), 0.5 * self.speed)
        elif self.phase == "reach":
            self._path.goal = np.asarray(self.grip_point(), float)
            arrived = self._path.step(now, dt)
            if arrived and human.grasp(self.object_id, self.side):
                self._enter("lift", now)
                self._path = _HandPath(human, self.side,
                                       human.palm_position(self.side) + [0.0, 0.0, self.lift],
                                       0.5 * self.speed)
        elif self.phase == "lift":
            if self._path.step(now, dt):
                self._enter("hold", now)
        elif self.phase == "hold":
            self._path.step(now, dt)
            if self.finished():
                self._enter("lower", now)
                self._path.goal = self._path.goal - [0.0, 0.0, self.lift]
        elif self.phase == "lower" and self._path.step(now, dt):
            human.release(self.side)
            self._enter("withdraw", now)
            self._path = _HandPath(human, self.side, rest_point(human, self.side), self.speed)
        elif self.phase == "withdraw" and self._path.step(now, dt):
            self._enter("done", now)


class RemoveReject(_Phased):
    """Take a rejected part off a conveyor: ``wait -> reach -> carry -> done``.

    After ``delay`` s the palm of ``side`` follows ``object_position()`` plus ``above``
    (m, world; the object moves with the belt) at ``speed`` until it can grasp
    ``object_id``, then carries it to ``drop_point`` (world, m) and holds it there.
    ``removed`` tells whether the hand got the part.
    """

    name = "remove_reject"

    def __init__(self, object_position: Callable[[], np.ndarray], object_id: int, side: str,
                 drop_point, delay: float = 0.0, speed: float = 0.4, above=(0.0, 0.0, 0.04)) -> None:
        self.object_position, self.object_id, self.side = object_position, object_id, side
        self.drop_point, self.delay = np.asarray(drop_point, float), float(delay)
        self.speed, self.above = speed, np.asarray(above, float)
        self.phase, self.history, self.removed = "wait", ["wait"], False

    def start(self, human, t: float) -> None:
        self.phase, self.history, self.removed, self._since = "wait", ["wait"], False, t
        self._path = None
        for side in ("left", "right"):
            human.set_arm_rest(side)

    def update(self, human, t: float, dt: float) -> None:
        now = t + dt
        if self.phase == "wait" and now - self._since >= self.delay:
            self._enter("reach", now)
            self._path = _HandPath(human, self.side, self.object_position() + self.above,
                                   self.speed)
        if self.phase == "reach":
            self._path.goal = np.asarray(self.object_position(), float) + self.above
            arrived = self._path.step(now, dt)
            if arrived and human.grasp(self.object_id, self.side):
                self.removed = True
                self._enter("carry", now)
                self._path = _HandPath(human, self.side, self.drop_point, self.speed)
            elif now - self._since > GRASP_TIMEOUT + 10.0:
                self._enter("done", now)  # gave up: the part went by
                self._path = _HandPath(human, self.side, rest_point(human, self.side), self.speed)
        elif self.phase == "carry" and self._path.step(now, dt):
            self._enter("done", now)
        elif self.phase == "done":
            self._path.step(now, dt)
