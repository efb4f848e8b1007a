"""Exact, cheap distance between two bodies' collision shapes, world frame, m.

:class:`BodyDistance` bounds every link pair of body A (robot) and body B (person) by
capsules that enclose the links (numpy, all pairs at once) and asks Bullet for the exact
distance of link pairs only, nearest bound first, with a query radius no larger than the
best distance found so far; it stops when no remaining pair's lower bound can beat it.
It reads the world through the :class:`~simulator.physics.Sim` and never changes it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.kinematics import quats_to_matrices

BOUND_PAD = 0.005  # m, added to every bounding radius (Bullet's margin is about 1 mm)
_CORNERS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)


@dataclass(frozen=True)
class ClosestPair:
    """The closest pair of points between body A (robot) and body B (person), world frame.

    ``distance`` in m (negative when the shapes overlap); ``normal`` is the unit vector
    from B's point towards A's; ``velocity_a``/``velocity_b`` are the velocities (m/s) of
    the two points as fixed in their links; ``motion_a`` and ``motion_b`` bound the speed
    (m/s) of every point of body A and of body B. ``exact`` is False when every pair lay beyond the query radius and
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
    motion_b: float
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
        bounds = np.array([_bound(sim, body, l)
                           for body, links in ((body_a, self.links_a), (body_b, self.links_b))
                           for l in links])    # (n_a + n_b, 7): end0, end1, radius
        self._ends = bounds[:, :6].reshape(-1, 2, 3)
        self._ends_t = np.ascontiguousarray(self._ends.transpose(0, 2, 1))  # (n, 3, 2)
        self.radius = bounds[:, 6]
        self._half = np.linalg.norm(self._ends[:, 1] - self._ends[:, 0], axis=1) / 2
        self._reach = np.linalg.norm(self._ends, axis=2).max(axis=1) + self.radius
        self._na = len(self.links_a)

    @property
    def reach(self) -> np.ndarray:
        """Per link (A first, then B), the radius (m) of a sphere about its centre of mass
        that encloses its bounding capsule."""
        return self._reach

    def capsules(self) -> np.ndarray:
        """World end points (n_a + n_b, 2, 3) of the bounding capsules now (A first), m."""
        return self._capsules(*self._kinematics()[:2])

    def _kinematics(self):
        k = np.concatenate([self.sim.link_com_array(self.body_a, self.links_a, velocity=True),
                            self.sim.link_com_array(self.body_b, self.links_b, velocity=True)])
        return k[:, 0:3], k[:, 3:7], k[:, 7:10], k[:, 10:13]

    def _capsules(self, pos: np.ndarray, orn: np.ndarray) -> np.ndarray:
        return pos[:, None, :] + (quats_to_matrices(orn) @ self._ends_t).transpose(0, 2, 1)

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
        self.capsules_b = (b, self.radius[na:])  # world ends (m, 2, 3) and radii (m,)
        self.kinematics_b = (pos[na:], lin[na:], ang[na:])  # B's COM positions, velocities
        pa, pb = np.asarray(pa, dtype=float), np.asarray(pb, dtype=float)
        velocity_a = lin[i] + cross_one(ang[i], pa - pos[i])
        velocity_b = lin[na + j] + cross_one(ang[na + j], pb - pos[na + j])
        speed = (np.sqrt(np.einsum("ij,ij->i", lin, lin))
                 + np.sqrt(np.einsum("ij,ij->i", ang, ang)) * self._reach)
        return ClosestPair(float(dist), self.links_a[i], self.links_b[j], pa, pb,
                           np.array(normal, dtype=float), velocity_a, velocity_b,
                           float(speed[:na].max()), float(speed[na:].max()), queries > 0, queries)


def cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cross product over the last axis (faster than ``np.cross`` for small arrays)."""
    return np.stack([u[..., 1] * v[..., 2] - u[..., 2] * v[..., 1],
                     u[..., 2] * v[..., 0] - u[..., 0] * v[..., 2],
                     u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]], axis=-1)


def rotate_one(quat, v, inverse: bool = False) -> np.ndarray:
    """Rotate one vector ``v`` (3,) by one unit quaternion (xyzw), or by its inverse;
    plain float arithmetic, several times faster than numpy for a single vector."""
    x, y, z, w = (float(c) for c in quat)
    if inverse:
        x, y, z = -x, -y, -z
    vx, vy, vz = (float(c) for c in v)
    tx, ty, tz = 2.0 * (y * vz - z * vy), 2.0 * (z * vx - x * vz), 2.0 * (x * vy - y * vx)
    return np.array([vx + w * tx + y * tz - z * ty, vy + w * ty + z * tx - x * tz,
                     vz + w * tz + x * ty - y * tx])


def cross_one(u, v) -> np.ndarray:
    """Cross product of two vectors (3,) in plain float arithmetic."""
    ux, uy, uz = (float(c) for c in u)
    vx, vy, vz = (float(c) for c in v)
    return np.array([uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx])


def rotate(quat: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``quat`` (..., 4, xyzw)."""
    q, w = quat[..., :3], quat[..., 3:]
    t = 2.0 * cross(q, v)
    return v + w * t + cross(q, t)


_BOUNDS: dict[tuple, np.ndarray] = {}


def _bound(sim, body: int, link: int) -> np.ndarray:
    """The bounding capsule of a link, fitted once per distinct set of shapes (a robot
    is rebuilt at every reset; fitting its meshes again would cost ~0.1 s each time)."""
    shapes = sim.link_collision_shapes(body, link, vertices=False)
    key = tuple((s["kind"], s["file"], s["dimensions"], tuple(np.round(s["position"], 9)),
                 tuple(np.round(s["orientation"], 9))) for s in shapes)
    if key not in _BOUNDS:
        _BOUNDS[key] = _link_capsule(sim.link_collision_shapes(body, link))
    return _BOUNDS[key]


def _link_capsule(shapes: list[dict]) -> np.ndarray:
    """A capsule (end0, end1, radius; m, centre-of-mass frame) enclosing a link's shapes."""
    if len(shapes) == 1 and shapes[0]["kind"] in ("sphere", "capsule"):
        s = shapes[0]
        half = 0.0 if s["kind"] == "sphere" else s["dimensions"][0] / 2
        axis = rotate(s["orientation"], np.array([0.0, 0.0, half]))
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
    return s["position"] + rotate(s["orientation"][None], _CORNERS * half)


def segment_distances(p0, p1, q0, q1) -> np.ndarray:
    """Distances (m) between every segment [p0, p1] (n, 3) and every [q0, q1] (m, 3),
    shape (n, m); a segment may be a point. After Ericson, Real-Time Collision Detection
    5.1.9: the closest points of the two lines, clamped to the segments; the parameter of
    a degenerate or parallel segment is arbitrary and fixed up by the clamping.

    Every dot product is a matrix product or a per-segment sum, so the work is a fixed
    number of (n, m) operations (numpy's per-call cost dominates at these sizes). The
    squared distance is expanded into dot products, whose rounding is a few 1e-16 of
    the squared lengths involved; 1e-13 of them is taken off, so the result never exceeds
    the exact distance (it is a bound) and is below it by under 1e-6 m at metre scale."""
    d1, d2 = p1 - p0, q1 - q0
    a = (d1 * d1).sum(1)[:, None] + 1e-12           # |d1|²
    e = (d2 * d2).sum(1) + 1e-12                    # |d2|²
    b = d1 @ d2.T                                   # d1·d2
    c = (d1 * p0).sum(1)[:, None] - d1 @ q0.T       # d1·r, r = p0 - q0
    f = p0 @ d2.T - (d2 * q0).sum(1)                # d2·r
    s = (b * f - c * e) / (a * e - b * b + 1e-12)
    np.minimum(np.maximum(s, 0.0, out=s), 1.0, out=s)
    t = (b * s + f) / e
    t_in = np.minimum(np.maximum(t, 0.0), 1.0)
    outside = t != t_in
    if outside.any():  # t was clamped: s again for the clamped t
        s_t = (b * t_in - c) / a
        s = np.where(outside, np.minimum(np.maximum(s_t, 0.0), 1.0), s)
    t = t_in
    rr = (p0 * p0).sum(1)[:, None] + (q0 * q0).sum(1) - 2.0 * (p0 @ q0.T)   # |r|²
    sq = rr + s * (s * a + 2.0 * (c - t * b)) + t * (t * e - 2.0 * f)   # |r + s d1 - t d2|²
    sq -= 1e-13 * (rr + a + e)
    return np.sqrt(np.maximum(sq, 0.0, out=sq), out=sq)
