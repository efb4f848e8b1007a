"""A robot arm built from its :class:`~simulator.spec.robot.RobotSpec`.

All quantities are SI (rad, rad/s, m, m/s, kg, N·m) in the world frame unless stated.
The robot receives the :class:`~simulator.physics.Sim` it lives in and never imports
pybullet itself.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from simulator.errors import SpecError
from simulator.kinematics import KinematicChain, quat_to_matrix, rotation_vector
from simulator.physics import Sim
from simulator.robot_drive import JointImpedance
from simulator.spec.robot import RobotSpec

log = logging.getLogger(__name__)

IK_DAMPING = 0.02  # damped-least-squares damping (m, rad): keeps steps bounded near singularities
#: m, what :meth:`Robot.gripper_width` reports for a suction cup that holds nothing (the
#: Panda's open width, so that "open" reads alike across robots); 0 while it holds a body
SUCTION_OPEN_WIDTH = 0.08


def moving_links(sim: Sim, body: int) -> list[int]:
    """The links of ``body`` that move with a joint: those with a revolute or prismatic
    joint between them and the base (a link fixed to the base, e.g. a URDF's
    ``world -> link_base`` joint, does not move)."""
    infos = sim.joints(body)
    moving: list[int] = []
    for j in infos:
        link, moves = j.index, False
        while link >= 0 and not moves:
            moves = infos[link].kind in ("revolute", "prismatic")
            link = infos[link].parent_index
        if moves:
            moving.append(j.index)
    return moving


class Robot:
    """One arm (and gripper) in a :class:`Sim`.

    Grippers (``spec.gripper.kind``): ``parallel`` fingers are joints driven like the arm.
    A ``suction`` cup has no joints: while it is commanded closed (:meth:`command_gripper`
    below one half), before every physics step it looks for a free rigid body (one link,
    mass > 0, not this robot: a part, never the articulated person) whose surface is
    within ``gripper.reach`` m of the TCP and holds the nearest one with a fixed
    constraint at the relative pose of that moment, limited to ``gripper.force`` N (the
    constraint's maximum force), so a heavier load or a collision pulls the body away;
    once it has slid more than ``reach`` m from where it was gripped the seal is lost and
    it is let go. Opening releases it. :meth:`attached` lists the bodies held.

    Args:
        sim: the physics world.
        spec: the robot's data.
        folder: the robot's catalogue folder (for a relative URDF path and messages).
        name: the unique body name in the world.
        position: base position (m, world).
        yaw: base rotation about z (rad).
    """

    def __init__(self, sim: Sim, spec: RobotSpec, folder: Path, name: str = "robot",
                 position=(0.0, 0.0, 0.0), yaw: float = 0.0) -> None:
        self.sim, self.spec, self.name = sim, spec, name
        self._file = str(Path(folder) / "robot.yaml")
        orientation = sim.quaternion_from_euler((0.0, 0.0, yaw))
        self.body = sim.load_urdf(name, spec.urdf_path(Path(folder)), position, orientation,
                                  fixed_base=True)
        infos = sim.joints(self.body)
        if spec.link_inertia_floor > 0:   # before any model is built: pybullet caches it
            self._raise_inertias(spec.link_inertia_floor)
        by_name = {j.name: j for j in infos}
        links = {j.link_name: j.index for j in infos}
        self.arm = [self._joint(by_name, j.name, f"joints[{i}].name") for i, j in enumerate(spec.joints)]
        gripper = spec.gripper
        self.suction = gripper is not None and gripper.kind == "suction"
        self.fingers = ([self._joint(by_name, n, f"gripper.joints[{i}]")
                         for i, n in enumerate(gripper.joints)] if gripper and not self.suction
                        else [])
        self._suction_on = False
        self._held: dict[int, tuple[int, np.ndarray]] = {}  # body -> (constraint, grip offset)
        if spec.end_effector_link not in links:
            raise SpecError(self._file, "end_effector_link", spec.end_effector_link,
                            f"a link of the URDF: {', '.join(links)}")
        self.ee_link = links[spec.end_effector_link]
        # the TCP (the end-effector link's frame) seen from that link's centre of mass:
        # its offset in the link frame and the TCP's position in the centre-of-mass frame
        com_position, com_orientation = sim.inertial_frame(self.body, self.ee_link)
        self._tcp_from_com = -np.asarray(com_position, float)
        self._tcp_in_com = quat_to_matrix(com_orientation).T @ self._tcp_from_com
        self.movable = [j.index for j in infos if j.kind in ("revolute", "prismatic")]
        self._arm_cols = [self.movable.index(j) for j in self.arm]
        self.lower = np.array([j.lower for j in spec.joints])
        self.upper = np.array([j.upper for j in spec.joints])
        self.max_velocity = np.array([j.velocity for j in spec.joints])
        self.max_effort = np.array([j.effort for j in spec.joints])
        self.home = np.array(spec.home)
        self.link_indices = list(range(sim.num_joints(self.body)))
        self.chain = KinematicChain.from_sim(sim, self.body, self.movable)
        self._base_rotation = quat_to_matrix(orientation)
        self.urdf_moving_mass = sum(sim.link_mass(self.body, j) for j in moving_links(sim, self.body))
        if abs(self.urdf_moving_mass - spec.moving_mass) > 0.05 * spec.moving_mass:
            log.warning("%s: moving_mass %.2f kg differs from the URDF's %.2f kg (links that "
                        "move) by more than 5%%", self._file, spec.moving_mass,
                        self.urdf_moving_mass)
        for link in [-1] + self.link_indices:
            sim.change_dynamics(self.body, link, linearDamping=0.0, angularDamping=0.0)
        for f in self.fingers:
            sim.change_dynamics(self.body, f, lateralFriction=1.5, spinningFriction=0.002)
        self._q_target = self.home.copy()
        self._finger_target = gripper.open if self.fingers else 0.0
        sim.free_joints(self.body, [], self.movable)
        efforts = np.zeros(len(self.movable))
        speeds = np.zeros(len(self.movable))
        efforts[self._arm_cols], speeds[self._arm_cols] = self.max_effort, self.max_velocity
        self._finger_cols = [self.movable.index(f) for f in self.fingers]
        if self.fingers:
            efforts[self._finger_cols] = gripper.force
            speeds[self._finger_cols] = gripper.speed
        prismatic = [sim.joint_info(self.body, j).kind == "prismatic" for j in self.movable]
        self.drive = JointImpedance(sim, self.body, self.movable, efforts, speeds, prismatic,
                                    bandwidth=spec.joint_bandwidth)
        sim.add_pre_step(self.drive.apply)
        if self.suction:
            sim.add_pre_step(self._suction_step)

    def _raise_inertias(self, floor: float) -> None:
        """Raise every moving link's principal inertias (kg·m²) to at least ``floor``."""
        for link in moving_links(self.sim, self.body):
            if self.sim.link_mass(self.body, link) > 0:
                diagonal = np.maximum(self.sim.inertia_diagonal(self.body, link), floor)
                self.sim.change_dynamics(self.body, link, localInertiaDiagonal=diagonal.tolist())

    def _joint(self, by_name, name: str, key: str) -> int:
        if name not in by_name:
            raise SpecError(self._file, key, name, f"a joint of the URDF: {', '.join(by_name)}")
        return by_name[name].index

    # ------------------------------------------------------------------ state
    def reset(self, q=None, gripper_open: bool = True) -> None:
        """Put the arm at ``q`` (default: home) at rest and hold it there."""
        q = self.home if q is None else np.asarray(q, dtype=float)
        self.sim.reset_joints(self.body, self.arm, q)
        if self.fingers:
            width = self.spec.gripper.open if gripper_open else self.spec.gripper.closed
            self.sim.reset_joints(self.body, self.fingers, [width] * len(self.fingers))
            self._finger_target = width
        if self.suction:
            self.release()
            self._suction_on = not gripper_open
        self._q_target = q.copy()
        self.drive.reset(self.movable_state()[0])

    def joint_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Arm joint positions (rad) and velocities (rad/s)."""
        return self.sim.joint_states(self.body, self.arm)

    def pre_step_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Arm joint positions (rad) and velocities (rad/s) at the start of the last physics
        step, as the joint drive read them (now, before any step): the state just before
        whatever that step did, e.g. the pre-contact state of a contact it started."""
        state = self.drive.last_state
        if state is None:
            return self.joint_state()
        return state[0][self._arm_cols], state[1][self._arm_cols]

    def movable_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities of every movable joint (arm and fingers), URDF order."""
        return self.sim.joint_states(self.body, self.movable)

    def gripper_width(self) -> float:
        """Distance between the fingers (m); 0 without a gripper. A suction cup reports 0
        while it holds a body and :data:`SUCTION_OPEN_WIDTH` otherwise, so the observation
        has the same meaning (small: gripping) for every robot."""
        if self.suction:
            return 0.0 if self._held else SUCTION_OPEN_WIDTH
        if not self.fingers:
            return 0.0
        return float(np.sum(self.sim.joint_states(self.body, self.fingers)[0]))

    def attached(self) -> list[int]:
        """Body ids the suction cup holds now (empty for other grippers)."""
        return list(self._held)

    def ee_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """TCP position (m) and orientation quaternion (x, y, z, w), world frame."""
        return self.sim.link_state(self.body, self.ee_link)

    def ee_velocity(self) -> tuple[np.ndarray, np.ndarray]:
        """TCP linear (m/s) and angular (rad/s) velocity, world frame: the end-effector
        link's centre-of-mass velocity, moved to the link frame (``v + ω × r``) when the
        link's inertial origin is not its frame (the Panda's massless
        ``panda_grasptarget`` has them equal; the iiwa's link 7 has its centre of mass
        20 mm from the frame)."""
        _, quat, lin, ang = self.sim.link_state(self.body, self.ee_link, velocity=True)
        if self._tcp_from_com.any():
            lin = lin + np.cross(ang, quat_to_matrix(quat) @ self._tcp_from_com)
        return lin, ang

    def link_velocities(self) -> np.ndarray:
        """Linear velocity (m/s, world) of every link's centre of mass (pybullet's
        ``getLinkState`` velocity; not that of the link frame), shape (n_links, 3)."""
        return np.array([self.sim.link_state(self.body, l, velocity=True)[2]
                         for l in self.link_indices])

    # ------------------------------------------------------------------ models
    def forward_kinematics(self, q, link: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """World pose (position, quaternion) of ``link`` (default: the TCP) for arm joint
        positions ``q``, computed from the URDF's joint frames without touching the world."""
        full = self._full_q(q)
        return self.chain.link_pose(full, self.ee_link if link is None else link)

    def jacobian(self, q=None, link: int | None = None, point=(0.0, 0.0, 0.0)) -> np.ndarray:
        """Geometric Jacobian (6 × n_arm: linear rows first) of a point fixed in ``link``
        (``point`` in that link's centre-of-mass frame, m), at ``q`` (default: now)."""
        full = self._full_q(self.joint_state()[0] if q is None else q)
        lin, ang = self.sim.jacobian(self.body, self.ee_link if link is None else link, point, full)
        # pybullet expresses the Jacobian in the base frame; rotate it into the world frame
        rot = self._base_rotation
        return np.vstack([rot @ lin, rot @ ang])[:, self._arm_cols]

    def mass_matrix(self, q=None) -> np.ndarray:
        """Joint-space mass matrix of the arm joints (n_arm × n_arm), at ``q`` (default: now)."""
        full = self._full_q(self.joint_state()[0] if q is None else q)
        return self.sim.mass_matrix(self.body, full)[np.ix_(self._arm_cols, self._arm_cols)]

    def inverse_kinematics(self, position, orientation=None, iterations: int = 8,
                           seed=None, tolerance: float = 1e-4) -> np.ndarray:
        """Arm joint positions (rad) that put the TCP at ``position`` (m, world) and, if
        given, ``orientation`` (quaternion xyzw), within the joint limits.

        Damped least squares on the world-frame Jacobian, started from ``seed`` (default:
        the last commanded joint positions), so successive solutions move the joints as
        little as possible and a redundant arm does not wander in its null space. Stops
        when the pose error is below ``tolerance`` (m and rad) or after ``iterations``.
        """
        q = self._q_target.copy() if seed is None else np.asarray(seed, dtype=float).copy()
        target_rot = None if orientation is None else quat_to_matrix(orientation)
        for _ in range(iterations):
            pos, quat = self.forward_kinematics(q)
            error = np.asarray(position, dtype=float) - pos
            jac = self.jacobian(q, point=self._tcp_in_com)
            if target_rot is not None:
                error = np.concatenate([error, rotation_vector(target_rot @ quat_to_matrix(quat).T)])
            else:
                jac = jac[:3]
            if np.linalg.norm(error) < tolerance:
                break
            damping = IK_DAMPING ** 2 * np.eye(len(error))
            q = np.clip(q + jac.T @ np.linalg.solve(jac @ jac.T + damping, error),
                        self.lower, self.upper)
        return q

    def _full_q(self, q) -> np.ndarray:
        full = self.movable_state()[0]
        full[self._arm_cols] = q
        return full

    # ------------------------------------------------------------------ commands
    def command_joints(self, q_target) -> None:
        """Set arm joint position targets (rad), clipped to the limits."""
        self._q_target = np.clip(np.asarray(q_target, dtype=float), self.lower, self.upper)

    def command_gripper(self, opening: float) -> None:
        """Set the gripper opening as a fraction: 0 closed, 1 open. A suction cup sucks
        below one half and releases what it holds at one half and above."""
        if self.suction:
            self._suction_on = float(opening) < 0.5
            if not self._suction_on:
                self.release()
        elif self.fingers:
            g = self.spec.gripper
            self._finger_target = g.closed + (g.open - g.closed) * float(np.clip(opening, 0.0, 1.0))

    # ------------------------------------------------------------------ suction
    def release(self) -> None:
        """Let go of every body the suction cup holds."""
        for body, (constraint, _) in list(self._held.items()):
            self.sim.remove_constraint(constraint)
            log.debug("%s released body %d", self.name, body)
        self._held.clear()

    def _suction_candidates(self) -> list[int]:
        """Free rigid bodies: a single link with mass, not this robot."""
        sim = self.sim
        out = []
        for name in sim.body_names:
            body = sim.body(name)
            if body != self.body and sim.num_joints(body) == 0 and sim.link_mass(body, -1) > 0:
                out.append(body)
        return out

    def _ee_com_pose(self) -> tuple[np.ndarray, np.ndarray]:
        states = self.sim.link_com_states(self.body, [self.ee_link])
        return states.position[0], states.orientation[0]

    def _relative(self, body: int) -> tuple[np.ndarray, np.ndarray]:
        """Pose of ``body``'s centre-of-mass frame in the TCP link's centre-of-mass frame."""
        inv_pos, inv_orn = self.sim.invert_transform(*self._ee_com_pose())
        return self.sim.multiply_transforms(inv_pos, inv_orn, *self.sim.base_pose(body))

    def _suction_step(self) -> None:
        """Before each physics step: grip the nearest body in reach, or lose a slid one."""
        reach = self.spec.gripper.reach
        for body, (constraint, offset) in list(self._held.items()):
            slid = float(np.linalg.norm(self._relative(body)[0] - offset))
            if slid > reach:
                self.sim.remove_constraint(constraint)
                del self._held[body]
                log.info("%s: suction lost body %d (slid %.3f m)", self.name, body, slid)
        if not self._suction_on or self._held:
            return
        tcp = self.ee_pose()[0]
        best, best_d = None, np.inf
        for body in self._suction_candidates():
            for c in self.sim.point_closest_points(tcp, body, reach):
                if c.distance <= reach and c.distance < best_d:
                    best, best_d = body, c.distance
        if best is None:
            return
        pos, orn = self._relative(best)
        constraint = self.sim.create_fixed_constraint(self.body, self.ee_link, best,
                                                      parent_pivot=pos, parent_orientation=orn,
                                                      max_force=self.spec.gripper.force)
        self._held[best] = (constraint, pos)
        log.debug("%s: suction holds body %d (%.4f m from the TCP)", self.name, best, best_d)

    @property
    def joint_target(self) -> np.ndarray:
        return self._q_target.copy()

    def apply_commands(self, duration: float = 0.0) -> None:
        """Hand the current targets to the joint drive, to be reached over ``duration``
        seconds (the control period; 0: at full joint speed), and refresh its model. Call
        once per control step; the drive then runs before every physics step."""
        target = self.movable_state()[0]
        target[self._arm_cols] = self._q_target
        target[self._finger_cols] = self._finger_target
        self.drive.set_target(target, duration)
        self.drive.update_model()
