"""Replaying a BVH motion-capture clip on the person (the ``clip`` motion program).

Retargeting (:func:`retarget`), per frame:

1. Axes. The BVH world is taken as Y up with the character facing +Z (X to its left),
   the common convention; it is turned into the person's frame (x forward, y left,
   z up) by ``C``: person x = BVH z, y = BVH x, z = BVH y.
2. Global rotations. Forward kinematics of the clip gives each joint's rotation
   ``G_j`` relative to the rest pose (rest: all channels zero), in the person's axes
   ``C·G_j·Cᵀ``. Joints the body lacks (clavicles, extra spine joints) are thereby folded
   into the next mapped joint.
3. Rest-pose difference. The clip's rest pose need not be the body's (a T-pose has the
   arms horizontal, the body's neutral pose lets them hang). For each mapped joint the
   bone direction in the clip's rest pose ``b_j`` (towards the joint that drives the
   next link of the body's chain, else its End Site or first child) and the link's
   neutral direction ``d_j`` (+z trunk, -z limbs) give the smallest rotation ``A_j``
   with ``A_j·d_j = b_j``; the link's wanted global orientation is
   ``R_j = C·G_j·Cᵀ·A_j``, which points the link where the clip points the bone.
4. Root. The pelvis is held upright by its constraint, so only its heading is taken:
   ψ = the angle of ``R_pelvis``'s x axis about z. The pelvis' tilt goes into the
   abdomen and hips (their targets are relative to the upright pelvis). The horizontal
   root translation, relative to the first frame, is scaled by the ratio of leg lengths
   (body: thigh + lower leg, hip joint to sole; clip: the rest height of its thigh joint
   above its lowest rest point; without legs, statures) and turned so that the clip's
   first heading is the person's facing; the root height is not replayed.
5. Joint targets, parent before child: a spherical joint gets ``B_parentᵀ·R_j`` (B the
   orientation the body's links actually get, so the chain stays consistent), an elbow
   or knee the flexion angle of the clip's bone direction in the parent link's frame
   (its out-of-plane part is dropped), clipped to the joint's limits. Links whose joint
   the clip lacks stay neutral.

Playback: the clip time is the program time × the person's ``speed_factor``; targets are
interpolated between frames (quaternions normalized-linearly, angles and root linearly).
At the end the clip starts again from the pose the root reached (``loop``) or holds the
last frame. Phases: ``clip``, and ``done`` once a clip that does not loop has ended.
"""
from __future__ import annotations

import logging

import numpy as np

from simulator.human.arm_ik import matrix_to_quat
from simulator.human.bvh import BvhClip, map_joints
from simulator.human.layout import (BUILD_ORDER, ELBOW_REST, JOINT_LIMITS, REVOLUTE,
                                    SPHERICAL, joints, segment_name)

log = logging.getLogger(__name__)

C = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # BVH (Y up, +Z facing) -> person
CHAIN = {"pelvis": "abdomen", "abdomen": "chest", "chest": "neck", "neck": "head",
         **{f"{a}_{s}": f"{b}_{s}" for s in ("left", "right")
            for a, b in (("upper_arm", "forearm"), ("forearm", "hand"), ("thigh", "lower_leg"))}}


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation (3x3) turning unit vector a into unit vector b."""
    v, c = np.cross(a, b), float(np.dot(a, b))
    if c < -1.0 + 1e-9:  # opposite: turn by π about any axis normal to a
        axis = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(axis) < 1e-6:
            axis = np.cross(a, [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


def _rot_z(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    m = np.zeros((len(angle), 3, 3))
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1], m[:, 2, 2] = c, -s, s, c, 1.0
    return m


def _axis_angle_matrices(axis, angle: np.ndarray) -> np.ndarray:
    a = np.asarray(axis, float)
    k = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


def _rest_direction(clip: BvhClip, rest: np.ndarray, joint: int, towards: int | None):
    """Unit bone direction of ``joint`` in the clip's rest pose (file axes), or None."""
    if towards is not None:
        d = rest[towards] - rest[joint]
    elif clip.joints[joint].end_site is not None:
        d = clip.joints[joint].end_site
    else:
        kids = [k for k, j in enumerate(clip.joints) if j.parent == joint]
        if not kids:
            return None
        d = clip.joints[kids[0]].offset
    n = float(np.linalg.norm(d))
    return None if n < 1e-9 else d / n


def retarget(clip: BvhClip, table, name_map: dict | None = None) -> dict:
    """Joint targets of the body of ``table`` (a SegmentTable) for every frame of ``clip``.

    Returns ``spherical`` (n_frames, 10, 4) quaternions xyzw in :data:`SPHERICAL` order and
    ``revolute`` (n_frames, 4) angles (rad) in :data:`REVOLUTE` order, relative to the
    neutral pose; ``root`` (n_frames, 2) horizontal root displacement from the first frame
    (m, in the frame of the first heading: x forward, y left) and ``heading`` (n_frames,)
    rad from the first heading; ``scale`` (m per file unit) and ``mapped`` (link -> joint).
    """
    mapped = map_joints(clip, name_map)
    layout = joints(table)
    n = len(clip.frames)
    local = clip.rotations()
    glob = np.empty_like(local)
    for k, j in enumerate(clip.joints):
        glob[:, k] = local[:, k] if j.parent < 0 else glob[:, j.parent] @ local[:, k]
    rest = clip.rest_positions()
    wanted: dict[str, np.ndarray] = {}  # link -> (n, 3, 3) global orientation, person axes
    for link, k in mapped.items():
        align = np.eye(3)
        if link != "pelvis":
            d = np.array([0.0, 0.0, float(layout[link].direction)])
            towards = mapped.get(CHAIN.get(link, ""))
            b = _rest_direction(clip, rest, k, towards)
            if b is not None:
                align = _rotation_between(d, C @ b)
        wanted[link] = C @ glob[:, k] @ C.T @ align
    forward = wanted["pelvis"][:, :, 0]
    heading = np.unwrap(np.arctan2(forward[:, 1], forward[:, 0]))
    orient = {"pelvis": _rot_z(heading)}
    sph = np.tile([0.0, 0.0, 0.0, 1.0], (n, len(SPHERICAL), 1))
    rev = np.tile([ELBOW_REST, ELBOW_REST, 0.0, 0.0], (n, 1))
    for link in BUILD_ORDER:
        parent = orient[layout[link].parent]
        if link in SPHERICAL:
            if link in wanted:
                rel = np.swapaxes(parent, 1, 2) @ wanted[link]
                sph[:, SPHERICAL.index(link)] = [matrix_to_quat(m) for m in rel]
                orient[link] = parent @ rel
            else:
                orient[link] = parent
            continue
        row = REVOLUTE.index(link)
        if link in wanted:
            bone = wanted[link] @ np.array([0.0, 0.0, -1.0])          # (n, 3) world
            v = np.einsum("nji,nj->ni", parent, bone)                   # in the parent frame
            sign = 1.0 if link.startswith("forearm") else -1.0          # elbow: +x, knee: -x
            lo, hi = JOINT_LIMITS[segment_name(link)]
            rev[:, row] = np.clip(np.arctan2(sign * v[:, 0], -v[:, 2]), lo, hi)
        orient[link] = parent @ _axis_angle_matrices(layout[link].axis, rev[:, row])
    root = (C @ (clip.root_positions() - clip.root_positions()[0]).T).T
    turn = _rot_z(-heading[:1])[0]
    root_xy = (turn @ root.T).T[:, :2] * _scale(clip, table, mapped, rest)
    return {"spherical": sph, "revolute": rev, "root": root_xy, "heading": heading - heading[0],
            "scale": _scale(clip, table, mapped, rest), "mapped": mapped}


def _scale(clip: BvhClip, table, mapped: dict, rest: np.ndarray) -> float:
    """Metres of the body per unit of the clip: the ratio of leg lengths (module doc)."""
    points = [rest] + [rest[k] + j.end_site for k, j in enumerate(clip.joints)
                       if j.end_site is not None]
    up = np.concatenate([p.reshape(-1, 3) for p in points])[:, 1]  # BVH y is up
    hip = mapped.get("thigh_left", mapped.get("thigh_right"))
    if hip is not None and rest[hip, 1] - up.min() > 1e-9:
        return (table["thigh_left"].length + table["lower_leg_left"].length) / float(
            rest[hip, 1] - up.min())
    extent = float(up.max() - up.min())
    return table.body.stature / extent if extent > 1e-9 else 1.0


def _nlerp(q0: np.ndarray, q1: np.ndarray, a: float) -> np.ndarray:
    q1 = np.where((np.sum(q0 * q1, axis=-1) < 0.0)[..., None], -q1, q1)
    q = (1.0 - a) * q0 + a * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


class Clip:
    """Replay ``clip`` (a :class:`~simulator.human.bvh.BvhClip`) retargeted onto the
    person (module doc). ``loop``: start again at the end, else hold the last frame;
    ``name_map``: joint name -> link (or ``"none"``) on top of the default name map."""

    def __init__(self, clip: BvhClip, loop: bool = True, name_map: dict | None = None) -> None:
        self.clip, self.loop, self.name_map = clip, bool(loop), dict(name_map or {})
        self.phase = "clip"
        self.targets: dict | None = None

    def start(self, human, t: float) -> None:
        self.targets = retarget(self.clip, human.table, self.name_map)
        self.t0, self.phase = t, "clip"
        xy, yaw = human.root_target
        self._origin = (xy, yaw)    # root pose at the start of the current loop
        self._loops = 0
        log.debug("clip %s: %d frames of %.4f s, scale %.4f m/unit", self.clip.path,
                  len(self.clip.frames), self.clip.frame_time, self.targets["scale"])

    def _root_at(self, f: int, a: float, origin) -> tuple[np.ndarray, float]:
        tg, (xy, yaw) = self.targets, origin
        g = min(f + 1, len(tg["root"]) - 1)
        d = (1.0 - a) * tg["root"][f] + a * tg["root"][g]
        h = (1.0 - a) * tg["heading"][f] + a * tg["heading"][g]
        c, s = np.cos(yaw), np.sin(yaw)
        return xy + np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]]), yaw + float(h)

    def update(self, human, t: float, dt: float) -> None:
        tg = self.targets
        last = len(self.clip.frames) - 1
        u = (t + dt - self.t0) * getattr(human, "speed_factor", 1.0) / self.clip.frame_time
        if last == 0:
            f, a = 0, 0.0
        elif self.loop:
            loops = int(u // last)
            while self._loops < loops:   # a new loop starts where the last one ended
                self._origin = self._root_at(last, 0.0, self._origin)
                self._loops += 1
            u -= loops * last
            f = min(int(u), last - 1)
            a = u - f
        elif u >= last:
            f, a, self.phase = last, 0.0, "done"
        else:
            f = int(u)
            a = u - f
        g = min(f + 1, last)
        sph = _nlerp(tg["spherical"][f], tg["spherical"][g], a)
        rev = (1.0 - a) * tg["revolute"][f] + a * tg["revolute"][g]
        for i, name in enumerate(SPHERICAL):
            human.set_joint(name, sph[i])
        for i, name in enumerate(REVOLUTE):
            human.set_joint(name, rev[i])
        xy, yaw = self._root_at(f, a, self._origin)
        human.set_root(xy, yaw)
