"""The simulated person: 15 capsule links mapped to ISO/TS 15066 body regions.

Frames. The person's own frame has z up and faces +x (y to the left); it is placed at
world (x, y) with a yaw about z, feet on the floor z = 0. The base link ``pelvis`` has its
frame at the centre of the pelvis capsule. Every other link frame sits at the joint with
its parent and, in the neutral standing pose, is aligned with the person's frame; trunk,
neck and head extend along +z from their joint, arms and legs along -z. Elbows flex about
-y (forearm forwards), knees about +y (lower leg backwards). Each capsule's centre is the
link's centre of mass: :meth:`Human.link_positions` returns these centres.

Physics. Masses, lengths and radii come from :mod:`simulator.anthropometry`. The
person's contacts with the robot are the springs of :mod:`simulator.contact_springs` (the
spring constant of the body area under each contact, ISO/TS 15066 Table A.3). Bullet's own
contacts of the person (floor, fixtures, parts, a part the robot holds) are soft with the
link's primary region's spring constant and no damping; a body part clamped between the
robot and a table therefore meets the area spring and, in series, the link's.
The pelvis is held to the world by a fixed constraint of bounded force (default twice the
body weight) that the motion programs move; joints are driven by an explicit PD law with
bounded torques (:data:`JOINT_TORQUE`, :mod:`simulator.human.joint_drive`), so a robot can
push a limb away and the person is never teleported. The drive runs before every physics
step (registered with :meth:`Sim.add_pre_step`).
"""
from __future__ import annotations

import logging

import numpy as np

from simulator.anthropometry import LINK_NAMES, segment_table
from simulator.bodymodel import load_body_model
from simulator.human.arm_ik import ArmSolution, quat_to_matrix, solve_arm
from simulator.human.gravity import GravityCompensation
from simulator.human.joint_drive import JointDrive
from simulator.human.layout import (BUILD_ORDER, DEFAULT_AREA, ELBOW_REST, HAND_AREA,
                                    JOINT_LIMITS, JOINT_TORQUE, REGIONS, REVOLUTE, SIDES, SKIN,
                                    SPHERICAL, HumanLink, capsule, joints, segment_name)

log = logging.getLogger(__name__)

GRASP_RADIUS = 0.05      # m: the object's surface must be this close to the hand capsule
GRASP_MAX_FORCE = 60.0   # N: the hand lets go of (slips on) an object pulled harder


class Human:
    """A physical person standing at ``position`` (x, y in m, world) facing ``yaw`` (rad).

    ``body`` is a reference body id (``p05_female``, ``p50_male``, ``p95_male``) or
    ``(stature_m, mass_kg, sex)``. ``links`` and the rows of :meth:`link_positions` are in
    :data:`simulator.anthropometry.LINK_NAMES` order; ``links[i].index`` is the pybullet
    link index of row ``i`` (-1 for the pelvis).
    """

    def __init__(self, sim, name: str, body="p50_male", position=(0.0, 0.0), yaw: float = 0.0,
                 handedness: str = "right", root_max_force: float | None = None) -> None:
        if handedness not in SIDES:
            raise ValueError(f"handedness {handedness!r}: expected one of {SIDES}")
        self.sim, self.name, self.handedness = sim, name, handedness
        self.table = segment_table(body)
        self.total_mass = self.table.total_mass
        self._row = {n: i for i, n in enumerate(LINK_NAMES)}
        self._index = {"pelvis": -1, **{n: i for i, n in enumerate(BUILD_ORDER)}}
        self.body_id = self._build(position, yaw)
        self.links = self._set_link_dynamics()
        self.root_max_force = float(root_max_force if root_max_force is not None
                                    else 2.0 * self.total_mass * 9.81)
        self._initial_root = (np.asarray(position, dtype=float), float(yaw))
        self._root_z = self._pelvis_height
        self._root = sim.create_fixed_constraint(
            self.body_id, -1, None, child_pivot=self._root_pivot(*self._initial_root),
            child_orientation=self._yaw_quat(yaw), max_force=self.root_max_force)
        self._sph = [self._index[n] for n in SPHERICAL]
        self._rev = [self._index[n] for n in REVOLUTE]
        # start in the neutral pose (elbows at rest), not swinging into it from straight arms
        sim.reset_joints(self.body_id, self._rev, [ELBOW_REST, ELBOW_REST, 0.0, 0.0])
        self._sph_torque = [JOINT_TORQUE[segment_name(n)] for n in SPHERICAL]
        self._rev_torque = [JOINT_TORQUE[segment_name(n)] for n in REVOLUTE]
        self._held: dict[str, tuple[int, int]] = {}
        self.program = None
        # person-level modifiers (simulator.human.person): hand-speed factor of every motion
        # program, own gait speed (m/s) of walk programs, and the behaviour wrapper
        # (reactions, distractions) around the program
        self.speed_factor: float = 1.0
        self.gait_speed: float | None = None
        self.behaviour = None
        self._drive = JointDrive(sim, self.body_id, self._sph, self._rev, self._sph_torque,
                                 self._rev_torque, *self._joint_inertias())
        self._pivot, self._pivot_yaw, self._slide = None, 0.0, None
        self._gravity = self._gravity_compensation()
        self._neutral_targets()
        self._apply(force=True)
        sim.add_pre_step(self._slide_root)
        sim.add_pre_step(self._drive.apply)

    def _gravity_compensation(self) -> GravityCompensation:
        layout = joints(self.table)

        def beyond(name):
            kids = [n for n, j in layout.items() if j.parent == name]
            return [name] + [d for k in kids for d in beyond(k)]

        limbs = [l for l in self.links if l.index >= 0]
        carried = {self._index[n]: {self._index[d] for d in beyond(n)} for n in layout}
        return GravityCompensation(self.sim, self.body_id, [l.index for l in limbs],
                                   [l.mass for l in limbs], self._sph, self._rev, carried,
                                   [layout[n].axis for n in REVOLUTE])

    def _joint_inertias(self) -> tuple[np.ndarray, np.ndarray]:
        """The moments of inertia (kg·m²) that bound each joint's drive gains for stability
        (:mod:`simulator.human.joint_drive`), in the neutral pose, capsules as solid
        cylinders, the held pelvis infinite. Returns (n_spherical, 3) about the child
        link's x, y, z axes and (n_revolute,) about each revolute joint's axis.

        Spherical joints: per axis, the smaller of the two links' moments about the joint.
        Revolute joints (elbows, knees): the reduced moment (1/I_child + 1/I_parent)⁻¹ of
        the two links about their own centres of mass, a lower bound of what the joint
        meets whatever the rest of the body does. The moment about the joint is not: the
        upper arm hangs free from the shoulder, so the elbow's torque pair turns both
        links about their centres rather than about the elbow, and the elbow's damping,
        sized for the forearm about the elbow (5 times the bound), made the upper arm
        chatter at the step rate (0.15 m/s at its centre, 3.3 rad/s, in a person standing
        still at the 1/240 s step; tests/test_human.py)."""
        layout = joints(self.table)
        coms = {n: c for n, c in zip(LINK_NAMES, self.link_positions())}

        def own(name):
            if name == "pelvis":
                return np.full(3, np.inf)
            seg = self.table[name]
            transverse = seg.mass * (3 * seg.radius ** 2 + seg.length ** 2) / 12
            return np.array([transverse, transverse, seg.mass * seg.radius ** 2 / 2])

        def about(name, pivot):
            if name == "pelvis":
                return np.full(3, np.inf)
            d = coms[name] - pivot
            return own(name) + self.table[name].mass * (np.dot(d, d) - d * d)

        def axes(name):
            pivot = self.sim.link_state(self.body_id, self._index[name])[0]
            return np.minimum(about(name, pivot), about(layout[name].parent, pivot))

        def reduced(name):
            return 1.0 / (1.0 / own(name) + 1.0 / own(layout[name].parent))

        spherical = np.array([axes(n) for n in SPHERICAL])
        revolute = np.array([reduced(n)[int(np.argmax(np.abs(layout[n].axis)))]
                             for n in REVOLUTE])
        return spherical, revolute

    # ------------------------------------------------------------------ building
    def _build(self, position, yaw: float) -> int:
        sim, seg = self.sim, self.table
        self._pelvis_height = (seg["lower_leg_left"].length + seg["thigh_left"].length
                               + seg["pelvis"].length / 2)
        layout = joints(seg)
        self._centre, shapes = {}, {}   # capsule centres in the link frames, m
        for n in LINK_NAMES:
            cyl, centre = capsule(n, seg, 1 if n == "pelvis" else layout[n].direction)
            size = (seg[n].radius, cyl)
            self._centre[n] = centre
            shapes[n] = {"mass": seg[n].mass, "inertial_position": tuple(centre),
                         "collision": sim.collision_shape_at("capsule", size, centre),
                         "visual": sim.visual_shape_at("capsule", size, centre, SKIN)}
        links = [dict(shapes[n], parent=self._index[layout[n].parent], position=layout[n].position,
                      joint=layout[n].kind, axis=layout[n].axis) for n in BUILD_ORDER]
        self._shoulder_local = {side: np.asarray(layout[f"upper_arm_{side}"].position, float)
                                for side in SIDES}
        self._arm = {side: (seg[f"upper_arm_{side}"].length,
                            seg[f"forearm_{side}"].length - self._centre[f"hand_{side}"][2])
                     for side in SIDES}
        x, y = position
        return sim.create_multibody(self.name, shapes["pelvis"], links,
                                    position=(x, y, self._pelvis_height),
                                    orientation=self._yaw_quat(yaw))

    def _set_link_dynamics(self) -> list[HumanLink]:
        model = load_body_model()
        out = []
        for n in LINK_NAMES:
            segname, s, idx = segment_name(n), self.table[n], self._index[n]
            regions = REGIONS[segname]
            k = model.region(regions[0]).spring_constant
            if segname == "hand":
                area = HAND_AREA["dominant" if n.endswith(self.handedness) else "non_dominant"]
            else:
                area = DEFAULT_AREA[segname]
            self.sim.change_dynamics(self.body_id, idx, contactStiffness=k, contactDamping=0.0,
                                     lateralFriction=0.8, jointDamping=0.0,
                                     linearDamping=0.0, angularDamping=0.0)
            if segname in JOINT_LIMITS:
                lo, hi = JOINT_LIMITS[segname]
                self.sim.change_dynamics(self.body_id, idx, jointLowerLimit=lo, jointUpperLimit=hi)
            out.append(HumanLink(n, idx, regions, area, s.mass, s.length, s.radius, k))
        return out

    @staticmethod
    def _yaw_quat(yaw: float) -> np.ndarray:
        return np.array([0.0, 0.0, np.sin(yaw / 2.0), np.cos(yaw / 2.0)])

    def _root_pivot(self, xy, yaw: float) -> tuple[float, float, float]:
        return (float(xy[0]), float(xy[1]), self._root_z)

    # ------------------------------------------------------------------ description
    @property
    def link_names(self) -> list[str]:
        return list(LINK_NAMES)

    @property
    def link_regions(self) -> list[str]:
        """Primary ISO/TS 15066 region id of each link."""
        return [link.regions[0] for link in self.links]

    def link(self, name: str) -> HumanLink:
        return self.links[self._row[name]]

    def hand_link(self, side: str) -> int:
        """Row of the hand in :attr:`links` and :meth:`link_positions` (its pybullet link
        index is ``links[row].index``)."""
        return self._row[f"hand_{self._side(side)}"]

    @staticmethod
    def _side(side: str) -> str:
        if side not in SIDES:
            raise ValueError(f"side {side!r}: expected one of {SIDES}")
        return side

    @property
    def phase(self) -> str:
        return self.program.phase if self.program is not None else "idle"

    # ------------------------------------------------------------------ state (world frame)
    def link_positions(self) -> np.ndarray:
        """Centres of the 15 link capsules (their centres of mass), (15, 3), world, m."""
        return self.sim.link_com_states(self.body_id, [l.index for l in self.links]).position

    def link_velocities(self) -> np.ndarray:
        """Linear velocities of the 15 link centres, (15, 3), world, m/s."""
        return self.sim.link_com_states(self.body_id, [l.index for l in self.links],
                                       velocity=True).linear

    def palm_position(self, side: str) -> np.ndarray:
        """The palm point (centre of the hand capsule), world, m."""
        hand = self._index[f"hand_{self._side(side)}"]
        return self.sim.link_com_states(self.body_id, [hand]).position[0]

    def shoulder_position(self, side: str) -> np.ndarray:
        """The shoulder joint centre, world, m."""
        return self.sim.link_state(self.body_id, self._index[f"upper_arm_{self._side(side)}"])[0]

    @property
    def root_target(self) -> tuple[np.ndarray, float]:
        """Commanded pelvis (x, y) in m and yaw in rad (world)."""
        return self._root_xy.copy(), self._yaw

    # ------------------------------------------------------------------ commands
    def set_program(self, program) -> None:
        """Run ``program`` (a motion program) from the current simulation time (on the
        program's clock, which stands still while a behaviour pauses the program)."""
        self.program = program
        if program is not None:
            paused = self.behaviour.paused if self.behaviour is not None else 0.0
            program.start(self, self.sim.time - paused)

    def update(self, t: float, dt: float) -> None:
        """Advance the program over the control step [t, t + dt) and send the targets;
        with a :attr:`behaviour` the program runs inside it
        (:class:`simulator.human.behaviour.Behaviour`)."""
        if self.behaviour is not None:
            self.behaviour.update(self, self.program, t, dt)
        elif self.program is not None:
            self.program.update(self, t, dt)
        self._apply(duration=dt)

    def arm_targets(self, side: str) -> tuple[np.ndarray, float, np.ndarray]:
        """The current joint targets of the arm of ``side``: shoulder quaternion, elbow
        angle (rad), wrist quaternion (relative to the neutral pose)."""
        side = self._side(side)
        return (self._sph_targets[self._sph_row[f"upper_arm_{side}"]].copy(),
                float(self._rev_targets[REVOLUTE.index(f"forearm_{side}")]),
                self._sph_targets[self._sph_row[f"hand_{side}"]].copy())

    def set_arm_targets(self, side: str, targets) -> None:
        """Restore arm targets returned by :meth:`arm_targets`."""
        shoulder, elbow, wrist = targets
        self.set_joint(f"upper_arm_{self._side(side)}", shoulder)
        self.set_joint(f"forearm_{side}", elbow)
        self.set_joint(f"hand_{side}", wrist)

    def reset(self) -> None:
        """After :meth:`Sim.restore_state`: release grasps, neutral targets, program at t=0."""
        for side in list(self._held):
            self.release(side)
        self._neutral_targets()
        self._apply(force=True)
        if self.program is not None:
            self.program.start(self, 0.0)

    def set_joint(self, name: str, value) -> None:
        """Target of one joint: a quaternion (x, y, z, w) for spherical joints, an angle
        (rad) for elbows and knees, relative to the neutral pose."""
        if name in self._sph_row:
            self._sph_targets[self._sph_row[name]] = value
        else:
            self._rev_targets[REVOLUTE.index(name)] = float(value)
        self._dirty = True

    def set_root(self, xy, yaw: float | None = None) -> None:
        """Move the pelvis target to world (x, y) in m, optionally turning to ``yaw`` (rad)."""
        self._root_xy = np.asarray(xy, dtype=float)[:2].copy()
        if yaw is not None:
            self._yaw = float(yaw)
        self._root_dirty = True

    def set_arm_target(self, side: str, point) -> ArmSolution:
        """Aim the palm point of ``side`` at ``point`` (world, m) by analytic IK."""
        side = self._side(side)
        pos, orn = self.sim.link_state(self.body_id, self._index["chest"])
        rot = quat_to_matrix(orn)
        shoulder = pos + rot @ self._shoulder_local[side]
        sol = solve_arm(rot.T @ (np.asarray(point, float) - shoulder), *self._arm[side], side)
        self.set_joint(f"upper_arm_{side}", sol.shoulder)
        self.set_joint(f"forearm_{side}", sol.elbow)
        self.set_joint(f"hand_{side}", (0.0, 0.0, 0.0, 1.0))
        return sol

    def set_arm_rest(self, side: str) -> None:
        """Let the arm of ``side`` hang relaxed."""
        self.set_joint(f"upper_arm_{self._side(side)}", (0.0, 0.0, 0.0, 1.0))
        self.set_joint(f"forearm_{side}", ELBOW_REST)
        self.set_joint(f"hand_{side}", (0.0, 0.0, 0.0, 1.0))

    def _neutral_targets(self) -> None:
        self._sph_row = {n: i for i, n in enumerate(SPHERICAL)}
        self._sph_targets = np.tile([0.0, 0.0, 0.0, 1.0], (len(SPHERICAL), 1))
        self._rev_targets = np.array([ELBOW_REST, ELBOW_REST, 0.0, 0.0])
        self.set_root(*self._initial_root)
        self._dirty = True

    def _apply(self, force: bool = False, duration: float = 0.0) -> None:
        self._drive.bias_s, self._drive.bias_r = self._gravity.torques()
        if self._dirty or force:
            self._drive.set_targets(self._sph_targets, self._rev_targets,
                                    0.0 if force else duration)
            self._dirty = False
        if self._root_dirty or force:
            goal = np.asarray(self._root_pivot(self._root_xy, self._yaw), dtype=float)
            if force or duration <= 0.0 or self._pivot is None:
                self._pivot, self._pivot_yaw, self._slide = goal, self._yaw, None
                self._move_root()
            else:  # slide the target over the control step (see _slide_root)
                turn = (self._yaw - self._pivot_yaw + np.pi) % (2.0 * np.pi) - np.pi
                self._slide = (self._pivot.copy(), self._pivot_yaw, goal, turn, 0.0, duration)
            self._root_dirty = False

    def root_motion_state(self) -> tuple:
        """The state of the sliding root target (to go with :meth:`Sim.save_state`)."""
        return (None if self._pivot is None else self._pivot.copy(), self._pivot_yaw, self._slide)

    def set_root_motion_state(self, state: tuple) -> None:
        """Restore a state of :meth:`root_motion_state` (after :meth:`Sim.restore_state`)."""
        self._pivot, self._pivot_yaw, self._slide = state

    def _move_root(self) -> None:
        self.sim.move_constraint(self._root, self._pivot, self._yaw_quat(self._pivot_yaw),
                                 max_force=self.root_max_force)

    def _slide_root(self) -> None:
        """Before each physics step: move the root target a step's share of the way to its
        goal, so the pelvis moves smoothly instead of jumping once per control step (a
        jump is corrected on positions and leaves Bullet's velocity of the person far
        below its real motion: 0.42 against 1.0 m/s during a walk)."""
        if self._slide is None:
            return
        start, start_yaw, goal, turn, elapsed, total = self._slide
        elapsed += self.sim.time_step
        share = min(1.0, elapsed / total)
        self._pivot = start + share * (goal - start)
        self._pivot_yaw = start_yaw + share * turn
        self._move_root()
        self._slide = None if share >= 1.0 else (start, start_yaw, goal, turn, elapsed, total)

    # ------------------------------------------------------------------ grasping
    def grasp(self, body_id: int, side: str) -> bool:
        """Hold ``body_id`` in the hand of ``side`` at the current relative pose, if its
        surface is within :data:`GRASP_RADIUS` of the hand; the hold gives way above
        :data:`GRASP_MAX_FORCE`. Returns whether the object is held."""
        side = self._side(side)
        if side in self._held:
            return self._held[side][0] == body_id
        hand = self._index[f"hand_{side}"]
        if not self.sim.closest_points(self.body_id, body_id, GRASP_RADIUS, link_a=hand):
            return False
        com = self.sim.link_com_states(self.body_id, [hand])
        hand_pos, hand_orn = com.position[0], com.orientation[0]
        obj_pos, obj_orn = self.sim.base_pose(body_id)
        inv_pos, inv_orn = self.sim.invert_transform(hand_pos, hand_orn)
        rel_pos, rel_orn = self.sim.multiply_transforms(inv_pos, inv_orn, obj_pos, obj_orn)
        cid = self.sim.create_fixed_constraint(self.body_id, hand, body_id, -1,
                                               parent_pivot=rel_pos, parent_orientation=rel_orn,
                                               max_force=GRASP_MAX_FORCE)
        self.sim.set_collision(self.body_id, hand, body_id, -1, False)
        self._held[side] = (body_id, cid)
        log.debug("%s grasped body %d with the %s hand", self.name, body_id, side)
        return True

    def release(self, side: str) -> None:
        """Let go of whatever the hand of ``side`` holds (no-op when empty)."""
        held = self._held.pop(self._side(side), None)
        if held is not None:
            self.sim.remove_constraint(held[1])
            self.sim.set_collision(self.body_id, self._index[f"hand_{side}"], held[0], -1, True)

    def holding_links(self, body: int) -> set[int]:
        """The pybullet link indices of the hands that hold ``body`` (empty: none)."""
        return {self._index[f"hand_{side}"] for side, (held, _) in self._held.items()
                if held == body}

    def holding(self, side: str) -> int | None:
        held = self._held.get(self._side(side))
        return None if held is None else held[0]
