"""Speed and separation monitoring (SSM), per control step.

Monitors observe: they read the world through the :class:`~simulator.physics.Sim` and
never change it. Positions are in m in the world frame, speeds in m/s, times in s.

The distance between robot and person is exact (the collision shapes Bullet simulates)
but cheap: see :class:`~simulator.safety.geometry.BodyDistance`.

SSM violation: the separation is below S_p while the robot moves, i.e. while a bound on
the speed of any point of the robot exceeds :data:`ROBOT_MOVING_SPEED`. A robot at
standstill inside S_p is a monitored stop, not a violation.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from simulator.errors import CobotsimError
from simulator.safety.geometry import (BodyDistance, ClosestPair, cross_one, rotate_one,
                                       segment_distances)
from simulator.safety.ssm import SsmParameters, SsmTerms, protective_distance

log = logging.getLogger(__name__)

# m/s: the robot "moves" above this bound on the speed of its fastest point. A simulation
# choice: 5x below the 50 mm/s speed tolerance of a typical cobot safety controller
# (UR e-Series), far above the creep of the joint drive holding a pose (< 1e-4 m/s).
ROBOT_MOVING_SPEED = 0.01


class UnsafeStartError(CobotsimError, RuntimeError):
    """An episode starts with the person inside the protective separation distance."""


@dataclass(frozen=True)
class SeparationSample:
    """One SSM sample, of the state at ``time`` (s). Speeds are directed, m/s:
    ``human_speed`` towards the robot (measured, or the default when untracked),
    ``robot_speed`` towards the person (negative: moving away); S_p uses them clipped at 0.
    ``robot_motion`` and ``human_motion`` bound the speed of every robot point and of
    every point of the person (m/s)."""

    time: float
    distance: float
    robot_link: str
    human_link: str
    human_region: str
    robot_point: tuple
    human_point: tuple
    human_speed: float
    robot_speed: float
    robot_motion: float
    human_motion: float
    terms: SsmTerms
    protective_distance: float
    margin: float
    moving: bool
    violation: bool
    exact: bool
    stopping_extrapolated: bool = False

    def as_dict(self) -> dict:
        # field by field: dataclasses.asdict deep-copies and costs ~0.2 ms per sample
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d["terms"] = self.terms.as_dict()
        return d


@dataclass(frozen=True)
class SeparationEvent:
    """An interval [start, end) s in which separation was below S_p while the robot moved,
    with the smallest margin (m), where it occurred, and the largest S_p (m)."""

    start: float
    end: float
    min_margin: float
    min_distance: float
    max_protective_distance: float
    robot_link: str
    human_link: str
    human_region: str

    def as_dict(self) -> dict:
        return {"monitor": "ssm", "kind": "separation", **asdict(self)}


class SeparationMonitor:
    """Speed and separation monitoring between one robot and one person.

    Args:
        sim: the physics world.
        robot: has ``body``, ``link_indices`` (the base, -1, is added).
        human: has ``body_id`` and ``links`` (``name``, ``index``, ``regions``).
        params: the SSM safety block.
        tracked: the person's speed is measured from the simulated body; otherwise
            ``params.human_speed_default`` (1.6 m/s) is assumed.
        query_radius: see :class:`BodyDistance` (None: the distance is always exact).
        moving_speed: robot speed (m/s) above which the robot counts as moving.

    Call :meth:`check_start` after reset, :meth:`on_control_step` after the physics
    steps of every control step, :meth:`finish` at the end of the episode.
    """

    def __init__(self, sim, robot, human, params: SsmParameters, tracked: bool = True,
                 query_radius: float | None = None,
                 moving_speed: float = ROBOT_MOVING_SPEED) -> None:
        self.sim, self.params, self.tracked = sim, params, bool(tracked)
        self.moving_speed = float(moving_speed)
        self._robot, self._human = robot.body, human.body_id
        self._tcp_speed = lambda: float(np.linalg.norm(robot.ee_velocity()[0]))
        self.distance = BodyDistance(sim, robot.body, [-1] + list(robot.link_indices),
                                     human.body_id, [l.index for l in human.links], query_radius)
        self._robot_names = {l: "base" if l == -1 else sim.joint_info(robot.body, l).link_name
                             for l in self.distance.links_a}
        self._human_info = {l.index: (l.name, l.regions[0]) for l in human.links}
        self._human_links = [l.index for l in human.links]
        self._query_radius = query_radius
        self._warned_beyond = False  # logged once: a speed beyond the stopping data
        self._payload: list[tuple[int, float, str]] = []
        self._payload_cache: dict[int, float] = {}  # body -> bounding-sphere radius, m
        self.events: list[SeparationEvent] = []
        self._new: list[SeparationEvent] = []
        self._open: dict | None = None
        # (time s, positions, orientations) of the person's links at the previous sample
        self._previous = self._latest = None

    def set_payload(self, bodies) -> None:
        """The ``(body id, name)`` pairs the robot holds now: the separation is measured
        from them too (robot link ``payload:<name>``)."""
        self._payload = []
        for body, name in bodies:
            if body not in self._payload_cache:  # its bounding sphere, fitted once
                self._payload_cache[body] = float(BodyDistance(
                    self.sim, body, [-1], self._human, self._human_links).reach[0])
            self._payload.append((int(body), self._payload_cache[body], f"payload:{name}"))

    def _closest(self):
        """The closest robot-person pair, the robot's held parts included, and the name of
        its robot link."""
        pair = self.distance.closest()
        name, body = self._robot_names[pair.link_a], self._robot
        ends, radii = self.distance.capsules_b
        for held_body, reach, label in self._payload:
            # a sphere around the held part bounds it from below: no query unless it can be
            # nearer than the robot; then one Bullet query, the person's motion reused
            centre, _ = self.sim.base_pose(held_body)
            gap = segment_distances(centre[None, :], centre[None, :], ends[:, 0], ends[:, 1])[0]
            if float((gap - radii).min()) - reach >= pair.distance:
                continue
            points = self.sim.closest_points(held_body, self._human, pair.distance)
            if not points:
                continue
            p = min(points, key=lambda c: c.distance)
            if p.distance >= pair.distance:
                continue
            lin, ang = self.sim.base_velocity(held_body)
            pa, pb = np.asarray(p.position_on_a, float), np.asarray(p.position_on_b, float)
            com_b, lin_b, ang_b = (k[self.distance.links_b.index(p.link_b)]
                                   for k in self.distance.kinematics_b)
            pair = ClosestPair(float(p.distance), -1, p.link_b, pa, pb,
                               np.asarray(p.normal, float), lin + cross_one(ang, pa - centre),
                               lin_b + cross_one(ang_b, pb - com_b),
                               max(pair.motion_a, float(np.linalg.norm(lin)
                                                        + np.linalg.norm(ang) * reach)),
                               pair.motion_b, True, 1)
            name, body = label, held_body
        self.last_body = body  # the body of the pair's robot side: the robot or a held part
        return pair, name

    def measure(self, time: float) -> SeparationSample:
        """Read the world now and compute the sample of ``time`` (s).

        The person's point velocity is measured the way a tracking sensor would: from
        positions, as the displacement of the closest material point since the previous
        sample (Bullet's velocity state agrees since the person's root target slides within
        the control step; it read 0.42 against 1.0 m/s during a walk when the target
        jumped). Without a previous sample the velocity state is used."""
        pair, robot_link = self._closest()
        # other monitors reuse it (no second distance query); only a pair on the robot
        self.last_pair = pair
        v_r = float(-np.dot(pair.velocity_a, pair.normal))
        velocity_b, prev = pair.velocity_b, self._previous
        if prev is not None and time > prev[0]:
            row = self.distance.links_b.index(pair.link_b)
            pos, orn = (f[row] for f in self.distance.frames_b)
            local = rotate_one(orn, pair.point_b - pos, inverse=True)
            before = prev[1][row] + rotate_one(prev[2][row], local)
            velocity_b = (pair.point_b - before) / (time - prev[0])
        self._latest = (float(time), *self.distance.frames_b)
        v_h = (float(np.dot(velocity_b, pair.normal)) if self.tracked
               else self.params.human_speed_default)
        self.last_human_speed = v_h  # m/s towards the robot (a shield reads it)
        # T_s and S_s at the robot's own speed (the TCP's, as the stopping data are
        # measured), not at its speed towards the person: a robot moving sideways still
        # needs its full stopping time, during which the person keeps coming
        stopping_speed = max(self._tcp_speed(), max(v_r, 0.0))
        beyond = (self.params.stopping is not None
                  and stopping_speed > self.params.stopping.max_speed)
        if beyond and not self._warned_beyond:
            self._warned_beyond = True
            log.warning("t=%.3f s: robot speed %.3f m/s beyond its stopping data (up to %.3f "
                        "m/s): S_s extrapolated at the data's smallest deceleration", time,
                        stopping_speed, self.params.stopping.max_speed)
        terms = protective_distance(max(v_h, 0.0), max(v_r, 0.0), self.params,
                                    stopping_speed=stopping_speed, extrapolate=True)
        moving = pair.motion_a > self.moving_speed
        human_link, region = self._human_info[pair.link_b]
        return SeparationSample(
            float(time), pair.distance, robot_link, human_link, region,
            tuple(pair.point_a), tuple(pair.point_b), v_h, v_r, pair.motion_a, pair.motion_b,
            terms,
            terms.s_p, pair.distance - terms.s_p, moving,
            bool(moving and pair.distance < terms.s_p), pair.exact, beyond)

    def check_start(self) -> SeparationSample:
        """Raise :class:`UnsafeStartError` when the person is inside S_p at the start of an
        episode (moving robot or not); otherwise return the first sample."""
        s = self.measure(self.sim.time)
        self._previous = self._latest
        if s.distance < s.protective_distance:
            raise UnsafeStartError(
                f"the episode starts inside the protective separation distance: distance "
                f"{s.distance:.4f} m between robot link {s.robot_link} and human link "
                f"{s.human_link} ({s.human_region}) is below S_p = {s.protective_distance:.4f} m")
        return s

    def on_control_step(self, t: float, dt: float) -> SeparationSample:
        """Sample the state reached at the end of the control step [t, t + dt) (s)."""
        s = self.measure(t + dt)
        self._previous = self._latest
        if s.violation:
            o = self._open
            if o is None:
                self._open = o = {"start": s.time, "min_margin": np.inf, "min_distance": np.inf,
                                  "max_protective_distance": -np.inf}
            if s.margin < o["min_margin"]:
                o.update(min_margin=s.margin, robot_link=s.robot_link, human_link=s.human_link,
                         human_region=s.human_region)
            o["min_distance"] = min(o["min_distance"], s.distance)
            o["max_protective_distance"] = max(o["max_protective_distance"], s.protective_distance)
        elif self._open is not None:
            self._close(s.time)
        return s

    def _close(self, end: float) -> None:
        o, self._open = self._open, None
        event = SeparationEvent(end=float(end), **o)
        self.events.append(event)
        self._new.append(event)
        log.debug("ssm violation %.3f-%.3f s, min margin %.4f m", event.start, end,
                  event.min_margin)

    def finish(self, t: float) -> None:
        """End of episode at ``t`` (s): close a violation still open."""
        if self._open is not None:
            self._close(t)

    @property
    def in_violation(self) -> bool:
        return self._open is not None

    def pop_events(self) -> list[SeparationEvent]:
        """The events closed since the last call."""
        new, self._new = self._new, []
        return new
