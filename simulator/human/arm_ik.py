"""Analytic inverse kinematics of a two-link arm: spherical shoulder, revolute elbow.

Frames (the human's link conventions): the upper arm hangs along -z of its shoulder
frame, which in the neutral pose is aligned with the chest frame (x forward, y left,
z up). The elbow flexes about -y, so a positive elbow angle swings the forearm forward
(+x). The wrist is kept straight, so the "lower" segment runs from the elbow to the palm
point (forearm length plus the wrist-to-palm distance).

All lengths in m, angles in rad, quaternions in (x, y, z, w) order. Pure numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ELBOW_MIN = 0.05   # rad: keeps the swivel plane defined (arm never locked fully straight)
ELBOW_MAX = 2.5    # rad: about 145° of flexion, the anatomical range


@dataclass(frozen=True)
class ArmSolution:
    """Shoulder quaternion (in the chest frame), elbow angle (rad), palm point reached
    (in the chest frame, relative to the shoulder, m) and whether the target was reachable."""

    shoulder: np.ndarray
    elbow: float
    palm: np.ndarray
    reachable: bool


def quat_to_matrix(q) -> np.ndarray:
    """3x3 rotation matrix of a unit quaternion (x, y, z, w)."""
    x, y, z, w = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of a 3x3 rotation matrix (w kept non-negative)."""
    t = np.trace(m)
    if t > 0:
        s = 2.0 * np.sqrt(t + 1.0)
        q = np.array([(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s,
                      (m[1, 0] - m[0, 1]) / s, 0.25 * s])
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q = np.empty(4)
        q[i] = 0.25 * s
        q[j] = (m[j, i] + m[i, j]) / s
        q[k] = (m[k, i] + m[i, k]) / s
        q[3] = (m[k, j] - m[j, k]) / s
    q /= np.linalg.norm(q)
    return q if q[3] >= 0 else -q


def axis_angle_quat(axis, angle: float) -> np.ndarray:
    """Quaternion (x, y, z, w) of a rotation by ``angle`` (rad) about ``axis``."""
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    return np.append(a * np.sin(angle / 2.0), np.cos(angle / 2.0))


def _palm_local(upper: float, lower: float, elbow: float) -> np.ndarray:
    """Palm point in the shoulder frame for an elbow angle, shoulder at identity."""
    return np.array([lower * np.sin(elbow), 0.0, -upper - lower * np.cos(elbow)])


def _unit(v: np.ndarray) -> tuple[np.ndarray, float]:
    n = float(np.linalg.norm(v))
    return (v / n if n > 1e-9 else v), n


def solve_arm(target: np.ndarray, upper: float, lower: float, side: str) -> ArmSolution:
    """Shoulder rotation and elbow angle that put the palm point at ``target``.

    Args:
        target: palm target relative to the shoulder joint, in the chest frame (m).
        upper: shoulder-to-elbow length (m); lower: elbow-to-palm length (m).
        side: ``left`` or ``right``; the elbow swivels down, back and outwards.

    A target out of reach is projected onto the reachable shell along its direction;
    ``reachable`` then is False.
    """
    d, dist = _unit(np.asarray(target, dtype=float))
    if dist < 1e-9:
        d, dist = np.array([0.0, 0.0, -1.0]), 0.0
    far = float(np.linalg.norm(_palm_local(upper, lower, ELBOW_MIN)))
    near = float(np.linalg.norm(_palm_local(upper, lower, ELBOW_MAX)))
    reach = min(max(dist, near), far)
    reachable = near - 1e-6 <= dist <= far + 1e-6
    cos_inner = (upper ** 2 + lower ** 2 - reach ** 2) / (2.0 * upper * lower)
    elbow = float(np.pi - np.arccos(np.clip(cos_inner, -1.0, 1.0)))
    elbow = min(max(elbow, ELBOW_MIN), ELBOW_MAX)

    p_local = _palm_local(upper, lower, elbow)
    a_l, _ = _unit(p_local)
    e_local = np.array([0.0, 0.0, -upper])
    b_l, _ = _unit(e_local - np.dot(e_local, a_l) * a_l)
    out = 1.0 if side == "left" else -1.0
    pole = np.array([-0.3, 0.5 * out, -1.0])
    b_w, n = _unit(pole - np.dot(pole, d) * d)
    if n < 1e-6:  # reaching straight along the pole: swivel the elbow backwards instead
        back = np.array([-1.0, 0.0, 0.0])
        b_w, _ = _unit(back - np.dot(back, d) * d)
    local = np.column_stack([a_l, b_l, np.cross(a_l, b_l)])
    world = np.column_stack([d, b_w, np.cross(d, b_w)])
    rot = world @ local.T
    return ArmSolution(matrix_to_quat(rot), elbow, rot @ p_local, reachable)
