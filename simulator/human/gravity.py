"""Gravity compensation of the person's joints: the torque that holds the links beyond
each joint against gravity, in the frame the joint drive uses.

For joint j with pivot p_j and the links k beyond it (masses m_k, centres c_k), the
static torque is ``τ_j = Σ_k (c_k − p_j) × m_k·g`` (world frame, N·m); the drive needs
it in the child link's frame (spherical joints) or along the joint axis (revolute).
Computed once per control step; within 50 ms the pose changes little.
"""
from __future__ import annotations

import numpy as np

from simulator.kinematics import quats_to_matrices


class GravityCompensation:
    """Args:
        sim: the physics world; body: the person's body id.
        links: pybullet indices of the non-base links, in the order of ``masses``.
        masses: (n_links,) kg.
        spherical, revolute: joint (= child link) indices of the drive.
        beyond: for each joint, the set of link indices it carries (itself included).
        revolute_axes: (n_revolute, 3) joint axes in the child frames.
    """

    def __init__(self, sim, body: int, links, masses, spherical, revolute, beyond,
                 revolute_axes) -> None:
        self.sim, self.body, self.links = sim, body, list(links)
        column = {l: i for i, l in enumerate(self.links)}
        joints = list(spherical) + list(revolute)
        self._carried = np.zeros((len(joints), len(self.links)))
        for row, j in enumerate(joints):
            for link in beyond[j]:
                self._carried[row, column[link]] = 1.0
        self._joint_rows = np.array([column[j] for j in joints])
        self._weights = np.outer(masses, [0.0, 0.0, sim.gravity])  # (n_links, 3) N
        self._carried_weight = self._carried @ self._weights  # (n_joints, 3)
        self._n_spherical = len(spherical)
        self._axes = np.asarray(revolute_axes, float)

    def torques(self) -> tuple[np.ndarray, np.ndarray]:
        """Holding torques: (n_spherical, 3) in child frames and (n_revolute,) in N·m."""
        pivots, quats, coms = self.sim.link_frames(self.body, self.links)
        moments = np.cross(coms, self._weights)  # about the world origin
        p = pivots[self._joint_rows]
        world = self._carried @ moments - np.cross(p, self._carried_weight)
        rot = quats_to_matrices(quats[self._joint_rows])
        local = np.einsum("nji,nj->ni", rot, world)  # Rᵀ τ
        # the drive must supply the opposite of gravity's torque on the carried links
        hold = -local
        ns = self._n_spherical
        return hold[:ns], np.einsum("ni,ni->n", hold[ns:], self._axes)
