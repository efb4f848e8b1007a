"""Behaviours around a motion program: reacting to the robot and getting distracted.

:class:`Behaviour` wraps whatever motion program the person runs (``Human.update`` calls
``behaviour.update(human, program, t, dt)`` instead of ``program.update``), so every
program, present or future, gets the same reactions and distractions without knowing of
them. The program runs on its own clock: while the behaviour pauses it (a reaction, a
distraction) the clock stands still, so a program's delays and timeouts do not run out
during a pause. ``paused`` is how far (s) the program's clock lags the simulation's.

Reaction (``reaction.behaviour``):

* the robot counts as *near* when the closest robot-person distance (m, from the last
  control step: the separation monitor's when it runs, else :meth:`Sim.closest_points`
  with a radius of ``distance``) is below ``distance``;
* once it has been near for ``reaction_time`` s (counted from the first control step at
  which the distance was seen below ``distance``), the person reacts: ``stop`` freezes
  the program (the joint and pelvis targets stay as they are, the PD drive holds them);
  ``retreat`` freezes it and moves the pelvis target horizontally away from the robot's
  closest point by ``retreat_distance`` m at ``retreat_speed`` m/s;
* once the robot has been farther than ``distance`` for ``reaction_time`` s the person
  resumes: after a retreat the pelvis target first returns to where it was at the same
  speed, then the program continues. While retreated, the robot counts as far only
  beyond ``distance`` plus how far the pelvis target has stepped back, so that a robot
  standing still does not make the person step back and forth.

The reaction therefore starts at most ``reaction_time`` plus one control step after the
robot came within ``distance`` (the distance is sampled once per control step).

Distraction (``distraction.rate`` > 0): the waits between distractions are exponential
with mean 1/``rate`` s (a Poisson process on the program's running time), drawn one after
the other from the episode's generator. A distraction pauses the program, moves the palm
of ``side`` in a straight line to ``point`` (world, m) at ``speed`` × ``speed_factor`` m/s,
holds it there ``duration`` s after it arrives, moves it back to where it started, puts
the arm's joint targets back as they were and resumes the program. A reaction pauses a
distraction too (it continues afterwards).

Times in s, distances in m, positions world frame.
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from simulator.human.motion import _HandPath

log = logging.getLogger(__name__)

RUN, STOPPED, RETREAT, RETURN = "program", "stopped", "retreat", "return"


class Behaviour:
    """Reaction and distraction around the person's motion program.

    Args:
        reaction: a :class:`simulator.spec.human.ReactionSpec` (or any object with its
            attributes).
        distraction: a :class:`simulator.spec.human.DistractionSpec`.
        handedness: the person's dominant hand (``side: dominant`` of a distraction).
        sim, robot_body: the physics world and the robot whose distance counts (``None``:
            no robot, never near).
    """

    def __init__(self, reaction, distraction, handedness: str, sim=None,
                 robot_body: int | None = None) -> None:
        self.reaction, self.distraction = reaction, distraction
        self.side = handedness if distraction.side == "dominant" else distraction.side
        self.sim, self.robot_body = sim, robot_body
        self.rng: np.random.Generator | None = None
        self.monitor_distance: Callable[[], float | None] | None = None
        self.start(None)

    # ------------------------------------------------------------------ episode
    def start(self, rng: np.random.Generator | None,
              monitor_distance: Callable[[], float | None] | None = None, t: float = 0.0) -> None:
        """Begin an episode at time ``t`` (s): ``rng`` draws the distraction times (only
        when ``distraction.rate`` > 0); ``monitor_distance()`` returns the separation
        monitor's closest robot-person distance (m) of the last control step, or None when
        the monitor does not run."""
        self.rng, self.monitor_distance = rng, monitor_distance
        self.state, self.paused = RUN, 0.0
        self.near_since: float | None = None
        self.far_since: float | None = None
        self.distance: float | None = None
        self.reactions: list[tuple[float, str]] = []     # (t, state entered)
        self.distractions: list[float] = []              # start times, s
        self._distraction: dict | None = None
        self._retreat: dict | None = None
        self.next_distraction = self._draw_wait(t)

    def _draw_wait(self, t: float) -> float:
        rate = float(self.distraction.rate)
        if rate <= 0.0 or self.rng is None:
            return float("inf")
        return t + float(self.rng.exponential(1.0 / rate))

    @property
    def label(self) -> str:
        """What the behaviour is doing: ``program``, ``stopped``, ``retreat``, ``return`` or
        ``distracted``."""
        if self.state == RUN and self._distraction is not None:
            return "distracted"
        return self.state

    # ------------------------------------------------------------------ distance
    def robot_distance(self, human, radius: float | None = None) -> float | None:
        """Closest robot-person distance (m) now, or None when farther than ``radius`` (m,
        default the reaction distance) or there is no robot."""
        if self.monitor_distance is not None:
            d = self.monitor_distance()
            if d is not None:
                return float(d)
        if self.sim is None or self.robot_body is None:
            return None
        radius = float(self.reaction.distance if radius is None else radius)
        points = self.sim.closest_points(self.robot_body, human.body_id, radius)
        return min((p.distance for p in points), default=None)

    def _away(self, human) -> np.ndarray:
        """Unit horizontal direction from the robot's closest point to the person's."""
        points = self.sim.closest_points(self.robot_body, human.body_id,
                                         float(self.reaction.distance) + 0.5)
        if points:
            p = min(points, key=lambda c: c.distance)
            d = np.asarray(p.position_on_b, float) - np.asarray(p.position_on_a, float)
        else:
            d = human.link_positions()[0] - np.asarray(self.sim.base_pose(self.robot_body)[0])
        d = np.array([d[0], d[1]])
        n = float(np.linalg.norm(d))
        if n < 1e-9:  # straight above or below: step back along the person's facing
            _, yaw = human.root_target
            return -np.array([np.cos(yaw), np.sin(yaw)])
        return d / n

    # ------------------------------------------------------------------ control step
    def update(self, human, program, t: float, dt: float) -> None:
        """One control step [t, t + dt) of the program inside the behaviour."""
        if self.reaction.behaviour != "none":
            self._watch(human, t)
        if self.state == RUN:
            if self._distraction is None and t - self.paused >= self.next_distraction:
                self._begin_distraction(human, t)
            if self._distraction is not None:
                self._distract(human, t, dt)
                self.paused += dt
            elif program is not None:
                program.update(human, t - self.paused, dt)
            return
        self.paused += dt
        if self.state in (RETREAT, RETURN):
            self._move_root(human, t, dt)

    def _watch(self, human, t: float) -> None:
        limit = float(self.reaction.distance)
        if self.state == RETREAT:  # far only if stepping back in would keep it far
            limit += float(np.linalg.norm(human.root_target[0] - self._retreat["home"]))
        self.distance = self.robot_distance(human, limit)
        near = self.distance is not None and self.distance < limit
        wait = float(self.reaction.reaction_time)
        if near:
            self.far_since = None
            if self.near_since is None:
                self.near_since = t
            if self.state in (RUN, RETURN) and t - self.near_since >= wait - 1e-9:
                self._react(human, t)
        else:
            self.near_since = None
            if self.far_since is None:
                self.far_since = t
            if self.state in (STOPPED, RETREAT) and t - self.far_since >= wait - 1e-9:
                self._resume(human, t)

    def _enter(self, state: str, t: float) -> None:
        self.state = state
        self.reactions.append((t, state))
        log.debug("person behaviour: %s at t=%.3f s (distance %s m)", state, t, self.distance)

    def _react(self, human, t: float) -> None:
        if self.reaction.behaviour == "stop":
            self._enter(STOPPED, t)
            return
        if self._retreat is None:  # not already on the way back from an earlier retreat
            xy, yaw = human.root_target
            self._retreat = {"home": xy, "yaw": yaw}
        home = self._retreat["home"]
        self._retreat["goal"] = home + float(self.reaction.retreat_distance) * self._away(human)
        self._enter(RETREAT, t)

    def _resume(self, human, t: float) -> None:
        if self.state == RETREAT:
            self._retreat["goal"] = self._retreat["home"]
            self._enter(RETURN, t)
        else:
            self._enter(RUN, t)

    def _move_root(self, human, t: float, dt: float) -> None:
        xy, _ = human.root_target
        goal = self._retreat["goal"]
        gap = goal - xy
        dist = float(np.linalg.norm(gap))
        step = float(self.reaction.retreat_speed) * dt
        human.set_root(goal if dist <= step else xy + gap * (step / dist), self._retreat["yaw"])
        if dist <= step and self.state == RETURN:
            self._retreat = None
            self._enter(RUN, t + dt)

    # ------------------------------------------------------------------ distraction
    def _begin_distraction(self, human, t: float) -> None:
        side = self.side
        self.distractions.append(t)
        self._distraction = {
            "phase": "reach", "arm": human.arm_targets(side), "from": human.palm_position(side),
            "path": _HandPath(human, side, self.distraction.point, self.distraction.speed)}
        log.debug("person distracted at t=%.3f s: %s hand to %s", t, side, self.distraction.point)

    def _distract(self, human, t: float, dt: float) -> None:
        d, now = self._distraction, t + dt
        arrived = d["path"].step(now, dt)
        if d["phase"] == "reach" and arrived:
            d["phase"], d["since"] = "hold", now
        elif d["phase"] == "hold" and now - d["since"] >= float(self.distraction.duration):
            d["phase"] = "back"
            d["path"] = _HandPath(human, self.side, d["from"], self.distraction.speed)
        elif d["phase"] == "back" and arrived:
            human.set_arm_targets(self.side, d["arm"])
            self._distraction = None
            self.next_distraction = self._draw_wait(now - self.paused - dt)
