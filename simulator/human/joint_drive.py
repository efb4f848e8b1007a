"""Explicit PD joint drive of the person, with bounded torques.

Why not pybullet's joint motors: each motor is a row in the constraint solver, and the
person's 10 spherical and 4 revolute motors (34 rows) made the solver about ten times
slower than the whole body without them (measured: 527 µs against 30 µs per 1/480 s
step). Here the torques are computed in numpy once per physics step and applied as
external joint torques, so the solver handles only contacts and the root constraint.

Control law, per joint and per physics step (SI units):

* spherical joint: ``τ = clip(kp·e − kd·ω, ±τ_max)`` with ``e`` the rotation error (rad,
  see :func:`rotation_error`) that turns the current joint rotation into the target, and
  ``ω`` the joint's angular velocity, both in the child link's frame (pybullet's
  generalized coordinates);
* revolute joint: ``τ = clip(kp·(q_ref − q) − kd·(q̇ − q̇_ref), ±τ_max)``, with the
  reference ``q_ref`` sliding at a constant rate ``q̇_ref`` from where it was to the new
  target over the control period (like the robot's drive), so that the elbow tracks a
  moving target without the lag of a target that jumps once per control step;

each plus a feed-forward bias (``bias_s``, ``bias_r``), which the person sets once per
control step to the torque that holds its limbs against gravity
(:class:`simulator.human.gravity.GravityCompensation`), so that a pose is held without
the sag of a pure PD law.

Gains, per joint axis, follow from the torque bound and the smaller moment of inertia
``I`` of the two links the joint acts on: ``kp = τ_max/θ_sat`` (the full torque at an
error of ``THETA_SAT``), capped so that the natural frequency stays well inside the
explicit step's stability limit (``sqrt(kp/I)·dt ≤ 0.5``), and ``kd`` critically damped,
capped at ``0.5·I/dt`` so that even a light link between two joints (the neck between
chest and head) stays stable. For the elbows and knees ``I`` is the reduced moment of the
two links about their own centres (see ``Human._joint_inertias``). The torque bound is what a robot pushing the limb works
against.
"""
from __future__ import annotations

import numpy as np

THETA_SAT = 0.1  # rad: joint error at which the full torque is applied
MAX_OMEGA_DT = 0.5  # natural frequency × step, an explicit-integration stability margin


def error_matrices(q_target: np.ndarray) -> np.ndarray:
    """Matrices (n, 4, 4) that map a current rotation q (xyzw) to ``conj(q) ⊗ q_target``,
    the rotation from q to the target in q's own frame; built once per target change so
    that the per-step error is one batched matrix product."""
    x, y, z, w = q_target.T
    right = np.stack([np.stack([w, z, -y, x], 1), np.stack([-z, w, x, y], 1),
                      np.stack([y, -x, w, z], 1), np.stack([-x, -y, -z, w], 1)], 1)
    return right * np.array([-1.0, -1.0, -1.0, 1.0])  # conjugate the current rotation


def rotation_error(matrices: np.ndarray, q_current: np.ndarray) -> np.ndarray:
    """Rotation errors (n, 3) in the current child frame: ``2·sin(θ/2)·axis`` of the
    shortest rotation to the target, which equals the rotation vector ``θ·axis`` within
    1 % below 0.5 rad and keeps its direction beyond (the torque saturates at
    ``THETA_SAT`` anyway)."""
    prod = np.matmul(matrices, q_current[:, :, None])[:, :, 0]
    return prod[:, :3] * np.where(prod[:, 3:] < 0.0, -2.0, 2.0)


class JointDrive:
    """Bounded-torque PD drive of a body's spherical and revolute joints.

    Args:
        sim: the physics world.
        body: the body id.
        spherical, revolute: joint (link) indices.
        spherical_torque, revolute_torque: torque bounds per joint, N·m (per axis).
        spherical_inertia: (n, 3) inertia each spherical joint meets about the child
            link's x, y, z axes, kg·m² (gains are per axis).
        revolute_inertia: (m,) inertia each revolute joint meets about its axis, kg·m².
    """

    def __init__(self, sim, body: int, spherical, revolute, spherical_torque, revolute_torque,
                 spherical_inertia, revolute_inertia) -> None:
        self.sim, self.body = sim, body
        self.spherical, self.revolute = list(spherical), list(revolute)
        dt = sim.time_step
        self._tau_s = np.asarray(spherical_torque, float)[:, None]
        self._tau_r = np.asarray(revolute_torque, float)
        self.kp_s, self.kd_s = self._gains(self._tau_s, np.asarray(spherical_inertia, float), dt)
        self.kp_r, self.kd_r = self._gains(self._tau_r, np.asarray(revolute_inertia, float), dt)
        self.set_targets(np.tile([0.0, 0.0, 0.0, 1.0], (len(self.spherical), 1)),
                         np.zeros(len(self.revolute)))
        self.bias_s = np.zeros((len(self.spherical), 3))
        self.bias_r = np.zeros(len(self.revolute))
        sim.free_joints(body, self.spherical, self.revolute)

    @staticmethod
    def _gains(tau, inertia, dt):
        kp = np.minimum(tau / THETA_SAT, inertia * (MAX_OMEGA_DT / dt) ** 2)
        kd = np.minimum(2.0 * np.sqrt(kp * inertia), 0.5 * inertia / dt)
        return kp, kd

    def set_targets(self, spherical: np.ndarray, revolute: np.ndarray,
                    duration: float = 0.0) -> None:
        """Target rotations (n, 4, xyzw, relative to the parent) and angles (m,) in rad.

        With a ``duration`` (s, the control period) the revolute references slide from
        where they are to the new angles over that time, at a constant rate that also
        serves as the velocity reference of the damping term; without, they jump."""
        self.spherical_targets = np.array(spherical, dtype=float)
        self._error_matrices = error_matrices(self.spherical_targets)
        goal = np.array(revolute, dtype=float)
        if duration > 0.0 and hasattr(self, "revolute_reference"):
            self._revolute_rate = (goal - self.revolute_reference) / duration
            self._slide_left = duration
        else:
            self.revolute_reference = goal.copy()
            self._revolute_rate = np.zeros_like(goal)
            self._slide_left = 0.0
        self.revolute_targets = goal

    def _advance_reference(self) -> np.ndarray:
        """Move the revolute references one physics step towards their targets; returns
        their rate (rad/s) over this step."""
        if self._slide_left <= 0.0:
            return np.zeros_like(self.revolute_targets)
        h = min(self.sim.time_step, self._slide_left)
        self._slide_left -= self.sim.time_step
        if self._slide_left <= 1e-12:
            self.revolute_reference = self.revolute_targets.copy()
            self._slide_left = 0.0
        else:
            self.revolute_reference = self.revolute_reference + self._revolute_rate * h
        return self._revolute_rate

    def torques(self) -> tuple[np.ndarray, np.ndarray]:
        """The bounded torques for the current state: (n_spherical, 3) and (n_revolute,)."""
        quats, omegas = self.sim.spherical_joint_arrays(self.body, self.spherical)
        err = rotation_error(self._error_matrices, quats)
        tau_s = np.clip(self.bias_s + self.kp_s * err - self.kd_s * omegas, -self._tau_s, self._tau_s)
        q, qd = self.sim.joint_states(self.body, self.revolute)
        rate = self._advance_reference()
        tau_r = np.clip(self.bias_r + self.kp_r * (self.revolute_reference - q)
                        - self.kd_r * (qd - rate), -self._tau_r, self._tau_r)
        return tau_s, tau_r

    def apply(self) -> None:
        """Send this physics step's torques (call once before every physics step)."""
        tau_s, tau_r = self.torques()
        self.sim.apply_joint_torques(self.body, self.spherical, tau_s, self.revolute, tau_r)
