"""Speed and separation monitoring and TCP speed monitoring, per control step.

Monitors observe: they read the world through the :class:`~simulator.physics.Sim` and
never change it. Positions are in m in the world frame, speeds in m/s, times in s.

The distance between robot and person is exact (the collision shapes Bullet simulates)
but cheap: :class:`BodyDistance` bounds every robot-link / human-link pair by capsules that
enclose the links (numpy, all pairs at once) and asks Bullet for the exact distance of
link pairs only, nearest bound first, with a query radius no larger than the best
distance found so far; it stops when no remaining pair's lower bound can beat it.

SSM violation: the separation is below S_p while the robot moves, i.e. while a bound on
the speed of any point of the robot exceeds :data:`ROBOT_MOVING_SPEED`. A robot at
standstill inside S_p is a monitored stop, not a violation.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from simulator.errors import CobotsimError
from simulator.safety.ssm import SsmParameters, SsmTerms, protective_distance

log = logging.getLogger(__name__)

# m/s: the robot "moves" above this bound on the speed of its fastest point. A simulation
# choice: 5x below the 50 mm/s speed tolerance of a typical cobot safety controller
# (UR e-Series), far above the creep of the joint drive holding a pose (< 1e-4 m/s).
ROBOT_MOVING_SPEED = 0.01


class UnsafeStartError(CobotsimError, RuntimeError):
    """An episode starts with the person inside the protective separation distance."""


@dataclass(frozen=True)
class ClosestPair:
    """The closest pair of points between body A (robot) and body B (person), world frame.

    ``distance`` in m (negative when the shapes overlap); ``normal`` is the unit vector
    from B's point towards A's; ``velocity_a``/``velocity_b`` are the velocities (m/s) of
    the two points as fixed in their links; ``motion_a`` bounds the speed (m/s) of every
    point of body A. ``exact`` is False when every pair lay beyond the query radius and
    ``distance`` is the (smaller) bounding-capsule bound; ``queries`` counts the exact
    link-pair queries made."""

    distance: float
    link_a: int
    link_b: int
    point_a: np.ndarray
    point_b: np.ndarray
    normal: np.ndarray
    velocity_a: np.ndarray
    velocity_b: np.ndarray
    motion_a: float
    exact: bool
    queries: int


class BodyDistance:
    """Minimum distance between the collision shapes of two bodies' links.

    Each link is enclosed once, at construction, by a capsule fixed in its centre-of-mass
    frame: exact for a single sphere or capsule, otherwise fitted around the shape's
    points (mesh vertices, box corners) along their principal axis; every radius is padded
    by :data:`BOUND_PAD` for Bullet's collision margin. Per call the capsule-capsule
    distances of all link pairs are lower bounds, and exact Bullet queries are made for
    link pairs in order of their bound until no remaining bound can beat the best exact
    distance. ``query_radius`` (m, optional): when every lower bound exceeds it, no exact
    query is made and the smallest bound is returned (``exact=False``; conservative).
    """

    def __init__(self, sim, body_a: int, links_a, body_b: int, links_b,
                 query_radius: float | None = None) -> None:
        self.sim, self.body_a, self.body_b = sim, body_a, body_b
        self.links_a = [l for l in links_a if sim.link_has_collision(body_a, l)]
        self.links_b = [l for l in links_b if sim.link_has_collision(body_b, l)]
        if not self.links_a or not self.links_b:
            raise ValueError("both bodies need links with collision shapes")
        self.query_radius = query_radius
        bounds = np.array([_link_capsule(sim.link_collision_shapes(body, l))
                           for body, links in ((body_a, self.links_a), (body_b, self.links_b))
                           for l in links])    # (n_a + n_b, 7): end0, end1, radius
        self._ends = bounds[:, :6].reshape(-1, 2, 3)
        self.radius = bounds[:, 6]
        self._half = np.linalg.norm(self._ends[:, 1] - self._ends[:, 0], axis=1) / 2
        self._reach = np.linalg.norm(self._ends, axis=2).max(axis=1) + self.radius
        self._na = len(self.links_a)

    def capsules(self) -> np.ndarray:
        """World end points (n_a + n_b, 2, 3) of the bounding capsules now (A first), m."""
        return self._capsules(*self._kinematics()[:2])

    def _kinematics(self):
        ka = self.sim.link_com_kinematics(self.body_a, self.links_a)
        kb = self.sim.link_com_kinematics(self.body_b, self.links_b)
        return tuple(np.vstack([x, y]) for x, y in zip(ka, kb))

    def _capsules(self, pos: np.ndarray, orn: np.ndarray) -> np.ndarray:
        return pos[:, None, :] + _rotate(orn[:, None, :], self._ends)

    def closest(self) -> ClosestPair:
        """The closest pair of points of the two bodies now."""
        pos, orn, lin, ang = self._kinematics()
        ends, na, nb = self._capsules(pos, orn), self._na, len(self.links_b)
        a, b = ends[:na], ends[na:]
        spread = self.radius[:na, None] + self.radius[None, na:]
        lower = segment_distances(a[:, 0], a[:, 1], b[:, 0], b[:, 1]) - spread
        order = np.argsort(lower, axis=None, kind="stable").tolist()
        lower = lower.ravel().tolist()
        i, j = divmod(order[0], nb)   # the first query's radius: an upper bound of its pair
        radius = (float(np.linalg.norm(ends[i].sum(0) - ends[na + j].sum(0))) / 2
                  + self.radius[i] + self.radius[na + j] + self._half[i] + self._half[na + j])
        best, queries = None, 0
        if self.query_radius is None or lower[order[0]] <= self.query_radius:
            for k in order:
                if best is not None:
                    if lower[k] >= best[0]:
                        break
                    radius = best[0]
                i, j = divmod(k, nb)
                queries += 1
                for p in self.sim.closest_points(self.body_a, self.body_b, radius + 1e-6,
                                                 self.links_a[i], self.links_b[j]):
                    if best is None or p.distance < best[0]:
                        best = (p.distance, i, j, p.position_on_a, p.position_on_b, p.normal)
        if best is None:   # beyond the query radius: the bound of the nearest pair
            i, j = divmod(order[0], nb)
            pa, pb = ends[i].mean(axis=0), ends[na + j].mean(axis=0)
            best = (lower[order[0]], i, j, pa, pb, (pa - pb) / np.linalg.norm(pa - pb))
        dist, i, j, pa, pb, normal = best
        self.frames_b = (pos[na:], orn[na:])
        points, rows = np.array([pa, pb], dtype=float), [i, na + j]
        velocity = lin[rows] + _cross(ang[rows], points - pos[rows])
        speed = (np.sqrt(np.sum(lin[:na] ** 2, axis=1))
                 + np.sqrt(np.sum(ang[:na] ** 2, axis=1)) * self._reach[:na])
        return ClosestPair(float(dist), self.links_a[i], self.links_b[j], points[0], points[1],
                           np.asarray(normal, dtype=float), velocity[0], velocity[1],
                           float(speed.max()), queries > 0, queries)


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cross product over the last axis (faster than numpy's for small arrays)."""
    return np.stack([u[..., 1] * v[..., 2] - u[..., 2] * v[..., 1],
                     u[..., 2] * v[..., 0] - u[..., 0] * v[..., 2],
                     u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]], axis=-1)


def _rotate(quat: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``quat`` (..., 4, xyzw)."""
    q, w = quat[..., :3], quat[..., 3:]
    t = 2.0 * _cross(q, v)
    return v + w * t + _cross(q, t)


BOUND_PAD = 0.005  # m, added to every bounding radius (Bullet's margin is about 1 mm)
_CORNERS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)


def _link_capsule(shapes: list[dict]) -> np.ndarray:
    """A capsule (end0, end1, radius; m, centre-of-mass frame) enclosing a link's shapes."""
    if len(shapes) == 1 and shapes[0]["kind"] in ("sphere", "capsule"):
        s = shapes[0]
        half = 0.0 if s["kind"] == "sphere" else s["dimensions"][0] / 2
        axis = _rotate(s["orientation"], np.array([0.0, 0.0, half]))
        radius = s["dimensions"][0] if s["kind"] == "sphere" else s["dimensions"][1]
        return np.concatenate([s["position"] - axis, s["position"] + axis, [radius + BOUND_PAD]])
    points = np.vstack([_shape_points(s) for s in shapes])
    centre = points.mean(axis=0)
    axis = np.linalg.svd(points - centre)[2][0]
    t = (points - centre) @ axis
    radius = np.linalg.norm(points - centre - np.outer(t, axis), axis=1).max()
    return np.concatenate([centre + t.min() * axis, centre + t.max() * axis, [radius + BOUND_PAD]])


def _shape_points(s: dict) -> np.ndarray:
    """Points whose convex hull encloses one collision shape, centre-of-mass frame, m."""
    if s["kind"] == "mesh":
        return s["vertices"]
    d = s["dimensions"]
    if s["kind"] == "box":
        half = np.asarray(d, float) / 2
    elif s["kind"] == "sphere":
        half = np.full(3, d[0])
    elif s["kind"] in ("capsule", "cylinder"):
        half = np.array([d[1], d[1], d[0] / 2 + (d[1] if s["kind"] == "capsule" else 0.0)])
    else:
        raise ValueError(f"cannot bound a collision shape of kind {s['kind']!r}")
    return s["position"] + _rotate(s["orientation"][None], _CORNERS * half)


def segment_distances(p0, p1, q0, q1) -> np.ndarray:
    """Distances (m) between every segment [p0, p1] (n, 3) and every [q0, q1] (m, 3),
    shape (n, m); a segment may be a point. After Ericson, Real-Time Collision Detection
    5.1.9: the closest points of the two lines, clamped to the segments; the parameter of
    a degenerate or parallel segment is arbitrary and fixed up by the clamping."""
    d1, d2 = (p1 - p0)[:, None, :], (q1 - q0)[None, :, :]
    r = p0[:, None, :] - q0[None, :, :]
    tiny = 1e-12
    a, e = np.sum(d1 * d1, -1) + tiny, np.sum(d2 * d2, -1) + tiny
    b, c, f = np.sum(d1 * d2, -1), np.sum(d1 * r, -1), np.sum(d2 * r, -1)
    s = np.clip((b * f - c * e) / (a * e - b * b + tiny), 0.0, 1.0)
    t = (b * s + f) / e
    t_in = np.clip(t, 0.0, 1.0)
    s = np.where(t == t_in, s, np.clip((b * t_in - c) / a, 0.0, 1.0))
    gap = r + d1 * s[..., None] - d2 * t_in[..., None]
    return np.sqrt(np.sum(gap * gap, axis=-1))


@dataclass(frozen=True)
class SeparationSample:
    """One SSM sample, of the state at ``time`` (s). Speeds are directed, m/s:
    ``human_speed`` towards the robot (measured, or the default when untracked),
    ``robot_speed`` towards the person (negative: moving away); S_p uses them clipped at 0.
    ``robot_motion`` bounds the speed of every robot point (m/s)."""

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
    terms: SsmTerms
    protective_distance: float
    margin: float
    moving: bool
    violation: bool
    exact: bool

    def as_dict(self) -> dict:
        d = asdict(self)
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
        self.distance = BodyDistance(sim, robot.body, [-1] + list(robot.link_indices),
                                     human.body_id, [l.index for l in human.links], query_radius)
        self._robot_names = {l: "base" if l == -1 else sim.joint_info(robot.body, l).link_name
                             for l in self.distance.links_a}
        self._human_info = {l.index: (l.name, l.regions[0]) for l in human.links}
        self.events: list[SeparationEvent] = []
        self._new: list[SeparationEvent] = []
        self._open: dict | None = None
        # (time s, positions, orientations) of the person's links at the previous sample
        self._previous = self._latest = None

    def measure(self, time: float) -> SeparationSample:
        """Read the world now and compute the sample of ``time`` (s).

        The person's point velocity is measured the way a tracking sensor would: from
        positions, as the displacement of the closest material point since the previous
        sample. Bullet's velocity state of the person under-reports motion imposed through
        the root constraint (whose error is corrected on positions): 0.42 against 1.0 m/s
        measured during a walk. Without a previous sample the velocity state is used."""
        pair = self.distance.closest()
        v_r = float(-np.dot(pair.velocity_a, pair.normal))
        velocity_b, prev = pair.velocity_b, self._previous
        if prev is not None and time > prev[0]:
            row = self.distance.links_b.index(pair.link_b)
            pos, orn = (f[row] for f in self.distance.frames_b)
            local = _rotate(orn * [-1, -1, -1, 1], pair.point_b - pos)
            before = prev[1][row] + _rotate(prev[2][row], local)
            velocity_b = (pair.point_b - before) / (time - prev[0])
        self._latest = (float(time), *self.distance.frames_b)
        v_h = (float(np.dot(velocity_b, pair.normal)) if self.tracked
               else self.params.human_speed_default)
        terms = protective_distance(max(v_h, 0.0), max(v_r, 0.0), self.params)
        moving = pair.motion_a > self.moving_speed
        human_link, region = self._human_info[pair.link_b]
        return SeparationSample(
            float(time), pair.distance, self._robot_names[pair.link_a], human_link, region,
            tuple(pair.point_a), tuple(pair.point_b), v_h, v_r, pair.motion_a, terms,
            terms.s_p, pair.distance - terms.s_p, moving,
            bool(moving and pair.distance < terms.s_p), pair.exact)

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



# ---------------------------------------------------------------------- TCP speed
REDUCED_SPEED = 0.25  # m/s: the reduced speed of ISO 10218-1 (5.5.3), an optional limit


@dataclass(frozen=True)
class SpeedZone:
    """An axis-aligned box (corners ``lower``, ``upper`` in m, world) in which the TCP
    must stay below ``speed_limit`` (m/s) or, with ``keep_out``, must not be at all."""

    name: str
    lower: tuple
    upper: tuple
    speed_limit: float | None = None
    keep_out: bool = False

    def __post_init__(self) -> None:
        lo, hi = np.asarray(self.lower, float), np.asarray(self.upper, float)
        if lo.shape != (3,) or hi.shape != (3,) or not np.all(lo < hi):
            raise ValueError(f"zone {self.name!r}: lower {self.lower} must be below upper "
                             f"{self.upper} on every axis (3 values each, m)")
        if self.keep_out == (self.speed_limit is not None):
            raise ValueError(f"zone {self.name!r}: give either speed_limit or keep_out")
        if self.speed_limit is not None and not self.speed_limit >= 0:
            raise ValueError(f"zone {self.name!r}: speed_limit must be >= 0 m/s")

    def contains(self, point) -> bool:
        p = np.asarray(point, float)
        return bool(np.all(p >= self.lower) and np.all(p <= self.upper))


@dataclass(frozen=True)
class SpeedSample:
    """TCP position (m) and speed (m/s) at ``time`` (s), the zones it is in, the
    smallest speed limit that applies (None: none) and what is violated."""

    time: float
    tcp_position: tuple
    tcp_speed: float
    zones: tuple[str, ...]
    limit: float | None
    violations: tuple[str, ...]


@dataclass(frozen=True)
class SpeedEvent:
    """An interval [start, end) s of one violation: ``kind`` is ``speed_limit`` (the
    global limit), ``zone_speed`` or ``keep_out`` (of ``zone``); peak TCP speed in m/s."""

    kind: str
    zone: str | None
    start: float
    end: float
    peak_speed: float
    limit: float | None

    def as_dict(self) -> dict:
        return {"monitor": "speed", **asdict(self)}


class SpeedMonitor:
    """TCP speed against an optional global ``limit`` (m/s; e.g. :data:`REDUCED_SPEED`)
    and speed or keep-out ``zones``. ``robot`` has ``ee_pose()`` and ``ee_velocity()``."""

    def __init__(self, robot, limit: float | None = None, zones=()) -> None:
        if limit is not None and not limit >= 0:
            raise ValueError(f"limit must be >= 0 m/s, got {limit!r}")
        self.robot, self.limit, self.zones = robot, limit, tuple(zones)
        self.events: list[SpeedEvent] = []
        self._new: list[SpeedEvent] = []
        self._open: dict[tuple, dict] = {}

    def on_control_step(self, t: float, dt: float) -> SpeedSample:
        """Sample the TCP at the end of the control step [t, t + dt) (s)."""
        time = t + dt
        pos = self.robot.ee_pose()[0]
        speed = float(np.linalg.norm(self.robot.ee_velocity()[0]))
        inside = [z for z in self.zones if z.contains(pos)]
        active: dict[tuple, float | None] = {}
        if self.limit is not None and speed > self.limit:
            active[("speed_limit", None)] = self.limit
        for z in inside:
            if z.keep_out:
                active[("keep_out", z.name)] = None
            elif speed > z.speed_limit:
                active[("zone_speed", z.name)] = z.speed_limit
        for key in [k for k in self._open if k not in active]:
            self._close(key, time)
        for key, limit in active.items():
            o = self._open.setdefault(key, {"start": time, "peak_speed": 0.0, "limit": limit})
            o["peak_speed"] = max(o["peak_speed"], speed)
        limits = [l for l in [self.limit] + [z.speed_limit for z in inside] if l is not None]
        return SpeedSample(time, tuple(pos), speed, tuple(z.name for z in inside),
                           min(limits) if limits else None, tuple(k[0] for k in active))

    def _close(self, key: tuple, end: float) -> None:
        event = SpeedEvent(key[0], key[1], end=float(end), **self._open.pop(key))
        self.events.append(event)
        self._new.append(event)

    def finish(self, t: float) -> None:
        """End of episode at ``t`` (s): close every open violation."""
        for key in list(self._open):
            self._close(key, t)

    def pop_events(self) -> list[SpeedEvent]:
        """The events closed since the last call."""
        new, self._new = self._new, []
        return new
