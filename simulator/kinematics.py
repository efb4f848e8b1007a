"""Rigid transforms and forward kinematics in plain numpy.

Quaternions are (x, y, z, w) like pybullet's. :class:`KinematicChain` reads the joint
frames of a body once and then computes link poses for any joint positions without
touching the physics world (fast, and safe to call while a simulation runs).
"""
from __future__ import annotations

import math

import numpy as np


def quat_to_matrix(q) -> np.ndarray:
    """3×3 rotation matrix of a unit quaternion (x, y, z, w)."""
    x, y, z, w = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def quats_to_matrices(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) of unit quaternions (n, 4, xyzw)."""
    x, y, z, w = q.T
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz, wx, wy, wz = x * y, x * z, y * z, w * x, w * y, w * z
    return np.stack([1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy),
                     2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx),
                     2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy)], axis=-1).reshape(-1, 3, 3)


def matrix_to_quat(m) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of a 3×3 rotation matrix (w >= 0)."""
    m = np.asarray(m)
    t = np.trace(m)
    if t > 0:
        s = np.sqrt(t + 1.0) * 2
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
    q = np.asarray(q)
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def axis_angle_matrix(axis, angle: float) -> np.ndarray:
    """Rotation by ``angle`` (rad) about the unit ``axis`` (Rodrigues' formula)."""
    x, y, z = (float(a) for a in axis)
    c, s = math.cos(angle), math.sin(angle)
    v = 1.0 - c
    return np.array([[c + x * x * v, x * y * v - z * s, x * z * v + y * s],
                     [x * y * v + z * s, c + y * y * v, y * z * v - x * s],
                     [x * z * v - y * s, y * z * v + x * s, c + z * z * v]])


def rotation_vector(m) -> np.ndarray:
    """Rotation vector (axis × angle, rad, angle in [0, π]) of a 3×3 rotation matrix.

    Goes through the quaternion (:func:`matrix_to_quat`, stable for every angle) and
    ``θ = 2·atan2(|v|, w)``, so it keeps full precision near 0 and near a half turn."""
    q = matrix_to_quat(m)
    v, w = q[:3], q[3]
    norm = np.linalg.norm(v)
    if norm < 1e-12:
        return 2.0 * v  # tiny angle: θ·axis ≈ 2·v
    return v * (2.0 * np.arctan2(norm, w) / norm)


def transform(position, quaternion) -> np.ndarray:
    """4×4 homogeneous transform."""
    t = np.eye(4)
    t[:3, :3] = quat_to_matrix(quaternion)
    t[:3, 3] = position
    return t


class KinematicChain:
    """Forward kinematics of a body from its joint frames (URDF link frames).

    Args:
        base: base centre-of-mass pose as a 4×4 transform (world).
        joints: per link ``(parent, T_parent_com_to_joint, T_link_to_com, kind, axis)``.
        movable: link indices of the movable joints, in the order of ``q``.
    """

    def __init__(self, base: np.ndarray, joints: list[tuple], movable: list[int]) -> None:
        self.base, self.joints, self.movable = base, joints, movable
        self._q_slot = {j: i for i, j in enumerate(movable)}
        # link frame i = link frame of the parent @ fixed_i @ motion_i(q), with fixed_i the
        # parent's link-to-COM transform times the joint frame (or the base pose)
        self._fixed = []
        for parent, to_joint, _, _, _ in joints:
            before = self.base if parent < 0 else joints[parent][2]
            self._fixed.append(before @ to_joint)
        self._chains: dict[int, list[int]] = {}

    @classmethod
    def from_sim(cls, sim, body: int, movable: list[int]) -> "KinematicChain":
        base = transform(*sim.base_pose(body))
        joints = []
        for info in sim.joints(body):
            # pybullet reports the joint frame's orientation inverted (parent-from-child
            # rotation conjugated); measured against getLinkState in tests/test_robot.py.
            # Both that rotation and the joint axis are of the child's centre-of-mass
            # frame, which pybullet turns onto the principal axes of a non-diagonal URDF
            # inertia: turning back by that rotation gives the link frame (measured
            # against getLinkState for the xArm6's and UR5e's URDFs, tests/test_robot_catalogue.py).
            x, y, z, w = info.parent_frame_orientation
            com_position, com_orientation = sim.inertial_frame(body, info.index)
            com_rotation = quat_to_matrix(com_orientation)
            back = np.eye(4)
            back[:3, :3] = com_rotation.T
            to_joint = transform(info.parent_frame_position, (-x, -y, -z, w)) @ back
            to_com = transform(com_position, com_orientation)
            joints.append((info.parent_index, to_joint, to_com, info.kind,
                           com_rotation @ np.asarray(info.axis)))
        return cls(base, joints, movable)

    def _chain(self, link: int) -> list[int]:
        if link not in self._chains:
            chain, i = [], link
            while i >= 0:
                chain.append(i)
                i = self.joints[i][0]
            self._chains[link] = chain[::-1]
        return self._chains[link]

    def _motion(self, i: int, q) -> np.ndarray | None:
        slot = self._q_slot.get(i)
        if slot is None:
            return None
        _, _, _, kind, axis = self.joints[i]
        motion = np.eye(4)
        if kind == "revolute":
            motion[:3, :3] = axis_angle_matrix(axis, q[slot])
        else:
            motion[:3, 3] = axis * q[slot]
        return motion

    def link_transform(self, q, link: int) -> np.ndarray:
        """World transform (4×4) of one link frame, walking only the links above it."""
        t = None
        for i in self._chain(link):
            step = self._fixed[i] if t is None else t @ self._fixed[i]
            motion = self._motion(i, q)
            t = step if motion is None else step @ motion
        return t.copy()

    def link_frames(self, q) -> list[np.ndarray]:
        """World transforms of every link frame for movable-joint positions ``q``."""
        frames: list[np.ndarray] = []
        for i, (parent, *_rest) in enumerate(self.joints):
            step = self._fixed[i] if parent < 0 else frames[parent] @ self._fixed[i]
            motion = self._motion(i, q)
            frames.append(step if motion is None else step @ motion)
        return frames

    def link_pose(self, q, link: int) -> tuple[np.ndarray, np.ndarray]:
        """World position and quaternion of one link frame."""
        t = self.link_transform(q, link)
        return t[:3, 3].copy(), matrix_to_quat(t[:3, :3])
