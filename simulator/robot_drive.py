"""Joint impedance drive of the robot: explicit PD torques around a speed-limited
reference, plus a gravity and Coriolis feed-forward; the way a torque-controlled cobot
(such as the Panda) runs its joints.

Why not pybullet's position motors: each motor is a row in the constraint solver, and
the Panda's nine motors doubled the cost of a physics step in the handover cell
(measured: 177 µs against 89 µs per 1/480 s step, docs/performance.md). Here the
torques are computed in numpy once per physics step and applied as joint torques.

Per physics step (SI units; rad or m per joint):

* the reference ``q_ref`` moves towards the commanded target in a straight line, so as
  to arrive when the next command is due (the control period), and never faster than
  the joint's speed limit; ``q̇_ref`` is its rate;
* ``τ = clip(b + M·(kp·(q_ref − q) + kd·(q̇_ref − q̇)), ±τ_max)`` with ``M`` the
  joint-space mass matrix and ``b`` the torque that holds the arm against gravity and
  Coriolis forces, both updated once per control step.

Multiplying by the full ``M`` decouples the joints (each error then obeys
``ë = −kp·e − kd·ė``), which an explicit step keeps stable; gains on the diagonal of
``M`` alone let the coupled wrist joints chatter at the step rate (found by
tests/test_control.py). ``kp = ω²``, ``kd = 2·ω`` (critical damping) with
``ω = min(bandwidth, MAX_OMEGA_DT/dt)``; prismatic finger joints get the stiffness at which
their force bound is reached at ``FINGER_SATURATION`` of error (within the same
stability bound), so a closed gripper squeezes with its rated force.
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
        self.last_state = None
        self.coasting: list[int] = []
        self.q_ref = self.target.copy()
        self.qd_ref = np.zeros_like(self.target)
        self._rate = self.velocity.copy()  # rad/s or m/s per joint
        self.update_model()

    def set_target(self, q, duration: float = 0.0) -> None:
        """The position the reference moves to (rad or m per joint), spread evenly over
        ``duration`` seconds (0: as fast as the speed limits allow)."""
        self.target = np.array(q, float)
        span = max(duration, self.sim.time_step)
        self._rate = np.minimum(np.abs(self.target - self.q_ref) / span, self.velocity)

    def update_model(self) -> None:
        """Mass matrix, gains and feed-forward at the current state (once per control step)."""
        q, qd = self.sim.joint_states(self.body, self.joints)
        self.mass = self.sim.mass_matrix(self.body, q)
        limit = MAX_OMEGA_DT / self.dt
        finger = np.minimum(self.effort / (FINGER_SATURATION * np.diag(self.mass)), limit ** 2)
        self.kp = np.where(self.prismatic, finger, self.omega ** 2)
        self.kd = np.minimum(2.0 * np.sqrt(self.kp), 0.5 / self.dt)
        self.bias = self.sim.inverse_dynamics(self.body, q, qd, np.zeros_like(q))

    def torques(self, q: np.ndarray, qd: np.ndarray) -> np.ndarray:
        """Advance the reference by one physics step and return the bounded torques."""
        h = self.sim.time_step  # the step may change (contact sub-stepping)
        step = np.clip(self.target - self.q_ref, -self._rate * h, self._rate * h)
        self.q_ref = self.q_ref + step
        self.qd_ref = step / h
        accel = self.kp * (self.q_ref - q) + self.kd * (self.qd_ref - qd)
        return np.clip(self.bias + self.mass @ accel, -self.effort, self.effort)

    def coast(self, columns) -> None:
        """Let the joints at ``columns`` (positions in ``joints``) move freely from now on:
        they get only the torque that cancels gravity and the Coriolis and centrifugal
        forces at each physics step's state, so the arm moves as a free body in zero
        gravity, the robot of the two-body model of ISO/TS 15066 Annex A during an impact
        (a validation strike; :mod:`simulator.validation.strike`). ``[]`` drives them again."""
        self.coasting = list(columns)

    def apply(self) -> None:
        """Send this physics step's torques (registered as a pre-step callback)."""
        q, qd = self.sim.joint_states(self.body, self.joints)
        self.last_state = (q, qd)  # the state this step starts from (see Robot.pre_step_state)
        torques = self.torques(q, qd)
        if self.coasting:
            free = self.sim.inverse_dynamics(self.body, q, qd, np.zeros_like(q))
            torques[self.coasting] = free[self.coasting]
        self.sim.apply_joint_torques(self.body, [], (), self.joints, torques)
