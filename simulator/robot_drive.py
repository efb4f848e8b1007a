"""Joint impedance drive of the robot: explicit PD torques around a speed-limited
reference, plus a gravity and Coriolis feed-forward; the way a torque-controlled cobot
(such as the Panda) runs its joints.

Why not pybullet's position motors: each motor is a row in the constraint solver, and
the Panda's nine motors doubled the cost of a physics step in the handover cell
(measured: 177 µs against 89 µs per 1/480 s step, docs/performance.md). Here the
torques are computed in numpy once per physics step and applied as joint torques.

Per physics step (SI units; rad or m per joint):

* the reference ``q_ref`` moves towards the commanded target at no more than the joint's
  speed limit, ``q̇_ref`` is its rate;
* ``τ = clip(b + kp·(q_ref − q) + kd·(q̇_ref − q̇), ±τ_max)`` with ``b`` the torque
  that holds the arm against gravity and Coriolis forces at the current state, updated
  once per control step.

Gains per joint from the joint-space inertia ``M_ii``: ``kp = M_ii·ω²``, ``kd = 2·ζ·M_ii·ω``
with ``ω = min(OMEGA, MAX_OMEGA_DT/dt)``, ``ζ = 1``; prismatic finger joints get the
stiffness at which their force bound is reached at ``FINGER_SATURATION`` of error
(within the same stability bound), so a closed gripper squeezes with its rated force.
"""
from __future__ import annotations

import numpy as np

OMEGA = 60.0  # rad/s: default closed-loop bandwidth of an arm joint (about 10 Hz)
MAX_OMEGA_DT = 0.5  # natural frequency × physics step: explicit-integration margin
FINGER_SATURATION = 0.005  # m of finger error at which the full finger force is applied


class JointImpedance:
    """Bounded-torque impedance drive of a fixed-base robot's movable joints.

    Args:
        sim: the physics world; body: the robot's body id.
        joints: all movable joint indices (the order of ``q`` everywhere here).
        efforts: torque (N·m) or force (N) bounds; velocities: speed limits (rad/s, m/s).
        prismatic: which joints are prismatic (the fingers).
        bandwidth: ``ω`` of the arm joints, rad/s (the robot spec's ``joint_bandwidth``).
    """

    def __init__(self, sim, body: int, joints, efforts, velocities, prismatic,
                 bandwidth: float = OMEGA) -> None:
        self.sim, self.body, self.joints = sim, body, list(joints)
        self.effort = np.asarray(efforts, float)
        self.velocity = np.asarray(velocities, float)
        self.prismatic = np.asarray(prismatic, bool)
        self.dt = sim.time_step
        self.omega = min(bandwidth, MAX_OMEGA_DT / self.dt)
        q, _ = sim.joint_states(body, self.joints)
        self.reset(q)

    def reset(self, q) -> None:
        """Hold still at ``q``."""
        self.target = np.array(q, float)
        self.q_ref = self.target.copy()
        self.qd_ref = np.zeros_like(self.target)
        self.update_model()

    def set_target(self, q) -> None:
        """The position the reference moves to (rad or m per joint)."""
        self.target = np.array(q, float)

    def update_model(self) -> None:
        """Gains and feed-forward for the current state (once per control step)."""
        q, qd = self.sim.joint_states(self.body, self.joints)
        inertia = np.diag(self.sim.mass_matrix(self.body, q)).copy()
        self.kp = inertia * self.omega ** 2
        self.kd = 2.0 * inertia * self.omega
        stiff = np.minimum(self.effort / FINGER_SATURATION,
                           inertia * (MAX_OMEGA_DT / self.dt) ** 2)
        self.kp = np.where(self.prismatic, stiff, self.kp)
        self.kd = np.where(self.prismatic, 2.0 * np.sqrt(stiff * inertia), self.kd)
        self.kd = np.minimum(self.kd, 0.5 * inertia / self.dt)
        self.bias = self.sim.inverse_dynamics(self.body, q, qd, np.zeros_like(q))

    def torques(self, q: np.ndarray, qd: np.ndarray) -> np.ndarray:
        """Advance the reference by one physics step and return the bounded torques."""
        step = np.clip(self.target - self.q_ref, -self.velocity * self.dt, self.velocity * self.dt)
        self.q_ref = self.q_ref + step
        self.qd_ref = step / self.dt
        tau = self.bias + self.kp * (self.q_ref - q) + self.kd * (self.qd_ref - qd)
        return np.clip(tau, -self.effort, self.effort)

    def apply(self) -> None:
        """Send this physics step's torques (registered as a pre-step callback)."""
        q, qd = self.sim.joint_states(self.body, self.joints)
        self.sim.apply_joint_torques(self.body, [], (), self.joints, self.torques(q, qd))
