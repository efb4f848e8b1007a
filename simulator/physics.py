"""The physics facade: the only module of cobotsim that imports pybullet.

One :class:`Sim` owns one pybullet physics client (a :class:`_Client`), so several
simulations live in one process without seeing each other. Everything else in
cobotsim receives a ``Sim`` and calls its methods; nothing else touches pybullet.

Conventions (all methods):

* lengths in metres, masses in kilograms, angles in radians, forces in newtons,
  torques in newton-metres, time in seconds;
* positions and orientations in the world frame; orientations are quaternions in
  pybullet's ``(x, y, z, w)`` order;
* bodies are addressed by their unique name or integer id, links by index (``-1``
  is the base).
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import logging
import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple, Sequence

import numpy as np

from simulator.version import installed_pybullet_distributions, pybullet_build


@contextlib.contextmanager
def _silenced_stdout():
    """Hide what the pybullet C library prints on standard output (build banner,
    ``argv[0]=``), which would otherwise interleave with the command line's output."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured or replaced stdout
        yield
        return
    sys.stdout.flush()
    saved, devnull = os.dup(fd), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).fflush(None)
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


with _silenced_stdout():
    import pybullet
    import pybullet_data

log = logging.getLogger(__name__)

if len(_builds := installed_pybullet_distributions()) > 1:
    log.warning("%s are both installed and overwrite each other's files (the module in use is "
                "%s). Keep one: pip uninstall -y %s, then install cobotsim again "
                "(docs/platforms.md)", " and ".join(f"{n} {v}" for n, v in _builds.items()),
                pybullet_build().split(" (")[0], " ".join(_builds))


class _Client:
    """One pybullet physics client: ``client.fn(...)`` calls ``pybullet.fn(...,
    physicsClientId=id)``. Like pybullet_utils' ``BulletClient``, but each bound function
    is made once and cached on the instance (the env calls pybullet ~150 times per control
    step; building a ``functools.partial`` per call cost about 1.3 µs each)."""

    def __init__(self, mode: int) -> None:
        self.id = pybullet.connect(mode)
        if self.id < 0:
            raise SimError("pybullet could not create a physics client")
        self._pid = os.getpid()

    def __del__(self) -> None:
        # a Sim dropped without close() must not leave its client behind (not in a fork)
        if getattr(self, "id", -1) >= 0 and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                pybullet.disconnect(physicsClientId=self.id)
            self.id = -1

    def __getattr__(self, name: str):
        attribute = getattr(pybullet, name)
        if callable(attribute):
            attribute = functools.partial(attribute, physicsClientId=self.id)
            setattr(self, name, attribute)
        return attribute

PYBULLET_DATA = pybullet_data.getDataPath()
BASE_LINK = -1
POINT_PROBE_RADIUS = 1.0e-4  # m, the probe sphere of Sim.point_closest_points

_SHAPES = {
    "box": pybullet.GEOM_BOX,
    "sphere": pybullet.GEOM_SPHERE,
    "capsule": pybullet.GEOM_CAPSULE,
    "cylinder": pybullet.GEOM_CYLINDER,
}
_JOINT_TYPES = {
    "revolute": pybullet.JOINT_REVOLUTE,
    "prismatic": pybullet.JOINT_PRISMATIC,
    "spherical": pybullet.JOINT_SPHERICAL,
    "fixed": pybullet.JOINT_FIXED,
}
_JOINT_TYPE_NAMES = {v: k for k, v in _JOINT_TYPES.items()}
_JOINT_TYPE_NAMES[pybullet.JOINT_PLANAR] = "planar"
_JOINT_TYPE_NAMES[pybullet.JOINT_POINT2POINT] = "point2point"
_JOINT_TYPE_NAMES[pybullet.JOINT_GEAR] = "gear"


class SimError(RuntimeError):
    """A physics call failed or was given something the facade cannot honour."""


@dataclass(frozen=True)
class JointInfo:
    """Static description of one joint as pybullet reports it (SI units)."""

    index: int
    name: str
    kind: str  # revolute | prismatic | spherical | fixed | planar
    lower: float
    upper: float
    max_force: float
    max_velocity: float
    link_name: str
    parent_index: int
    axis: tuple
    parent_frame_position: tuple  # joint frame in the parent's centre-of-mass frame, m
    parent_frame_orientation: tuple


@dataclass(frozen=True)
class Contact:
    """One contact point between two bodies, as the last physics step solved it.

    ``normal`` points from body B towards body A (pybullet's convention: "contact normal
    on B, pointing towards A"); ``normal_force`` is the solved normal force in N.
    """

    body_a: int
    body_b: int
    link_a: int
    link_b: int
    position_on_a: tuple
    position_on_b: tuple
    normal: tuple
    distance: float
    normal_force: float


def _contact(row) -> Contact:
    return Contact(row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9])


class ComStates(NamedTuple):
    """Centre-of-mass frames of n links, world frame, one row per link asked.

    ``position`` (n, 3) m and ``orientation`` (n, 4) quaternion xyzw of each link's
    centre-of-mass (inertial) frame; with ``velocity``, ``linear`` (n, 3) m/s, the
    velocity of the centre of mass (not of the URDF link frame), and ``angular`` (n, 3)
    rad/s; both None without. The base (-1) is its centre-of-mass frame, as pybullet's
    base pose and velocity are."""

    position: np.ndarray
    orientation: np.ndarray
    linear: np.ndarray | None
    angular: np.ndarray | None


class Sim:
    """One physics world with a fixed step, a body registry and saved initial states.

    Args:
        time_step: physics step in s (fixed for the life of the world).
        gravity: z component of gravity in m/s².
        gui: open the pybullet GUI instead of the headless DIRECT client.
        solver_iterations: constraint-solver iterations per step.
    """

    def __init__(self, time_step: float = 1.0 / 480.0, gravity: float = -9.81,
                 gui: bool = False, solver_iterations: int = 50) -> None:
        if not time_step > 0:
            raise SimError(f"time_step must be positive, got {time_step!r}")
        self.time_step = float(time_step)
        self.gravity = float(gravity)
        self.gui = bool(gui)
        self.solver_iterations = int(solver_iterations)
        with _silenced_stdout():
            self._client = _Client(pybullet.GUI if gui else pybullet.DIRECT)
        if gui:
            self._client.configureDebugVisualizer(pybullet.COV_ENABLE_GUI, 0)
        self._configure()

    def _configure(self) -> None:
        self._client.setAdditionalSearchPath(PYBULLET_DATA)
        self._client.setGravity(0.0, 0.0, self.gravity)
        self._client.setPhysicsEngineParameter(fixedTimeStep=self.time_step,
                                               numSolverIterations=self.solver_iterations,
                                               deterministicOverlappingPairs=1)
        self._bodies: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._pre_step: list = []
        self._post_step: list = []
        self._point_probe = None  # collision shape of point_closest_points
        self.steps = 0
        self._clock = None  # set by set_time_step: (start, steps then, step)

    def reset_world(self) -> None:
        """Empty the world: remove every body, constraint and step callback, clear all
        caches (contact points, collision pairs) and set the clock to zero. Building the
        scene again after this gives bit-identical episodes; restoring a saved state does
        not, because pybullet's saved states leave the contact caches out (measured: the
        part of the handover cell moved 3.8e-6 m differently in the first step)."""
        self._client.resetSimulation()
        self._configure()

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Disconnect the client; the Sim is unusable afterwards."""
        if self._client is not None:
            try:
                self._client.disconnect()
            except pybullet.error:  # already gone
                pass
            self._client.id = -1
            self._client = None

    def __enter__(self) -> "Sim":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._client is not None

    # ------------------------------------------------------------------ registry
    def _register(self, name: str, body: int) -> int:
        if body < 0:
            raise SimError(f"pybullet could not create body {name!r}")
        # Bullet puts resting bodies to sleep, and a saved state does not hold the sleep
        # timers: a body would then move (by ~1e-6 m) differently in the first episode
        # than after a restore. Never sleeping keeps every reset reproducible.
        self._client.changeDynamics(body, -1, activationState=pybullet.ACTIVATION_STATE_DISABLE_SLEEPING)
        self._bodies[name] = body
        self._names[body] = name
        return body

    def _check_new_name(self, name: str) -> None:
        if name in self._bodies:
            raise SimError(f"a body named {name!r} already exists; body names must be unique")

    def body(self, name: str) -> int:
        """The id of the body registered as ``name``."""
        try:
            return self._bodies[name]
        except KeyError:
            raise SimError(f"no body named {name!r}; known: {sorted(self._bodies)}") from None

    def body_name(self, body: int) -> str:
        return self._names[body]

    @property
    def body_names(self) -> list[str]:
        return list(self._bodies)

    # ------------------------------------------------------------------ creation
    def load_urdf(self, name: str, path: str, position=(0, 0, 0), orientation=(0, 0, 0, 1),
                  fixed_base: bool = False, self_collision: bool = False,
                  global_scaling: float = 1.0) -> int:
        """Load a URDF file (absolute, or relative to pybullet_data) as body ``name``."""
        self._check_new_name(name)
        flags = pybullet.URDF_USE_INERTIA_FROM_FILE
        if self_collision:
            flags |= pybullet.URDF_USE_SELF_COLLISION | pybullet.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT
        try:
            with _silenced_stdout():   # importer warnings (b3Warning) would mix with output
                body = self._client.loadURDF(str(path), list(position), list(orientation),
                                             useFixedBase=bool(fixed_base), flags=flags,
                                             globalScaling=float(global_scaling))
        except pybullet.error as exc:
            raise SimError(f"cannot load URDF {path!s} for body {name!r}: {exc}") from exc
        return self._register(name, body)

    def collision_shape(self, shape: str, size: Sequence[float]) -> int:
        """A collision shape. ``size``: box half extents (3), sphere (radius,),
        capsule/cylinder (radius, length); metres. Capsule/cylinder axis is local z."""
        return self._shape(self._client.createCollisionShape, shape, size, None, "height")

    def visual_shape(self, shape: str, size: Sequence[float], rgba=(0.7, 0.7, 0.7, 1.0)) -> int:
        """A visual shape with the same ``size`` convention as :meth:`collision_shape`."""
        return self._shape(self._client.createVisualShape, shape, size, rgba, "length")

    def _shape(self, create, shape: str, size: Sequence[float], rgba, length_key: str) -> int:
        if shape not in _SHAPES:
            raise SimError(f"unknown shape {shape!r}; allowed: {sorted(_SHAPES)}")
        kwargs = {}
        if shape == "box":
            kwargs["halfExtents"] = [float(s) for s in size]
        elif shape == "sphere":
            kwargs["radius"] = float(size[0])
        else:
            kwargs["radius"] = float(size[0])
            kwargs[length_key] = float(size[1])
        if rgba is not None:
            kwargs["rgbaColor"] = list(rgba)
        return create(_SHAPES[shape], **kwargs)

    def create_body(self, name: str, shape: str, size: Sequence[float], mass: float,
                    position=(0, 0, 0), orientation=(0, 0, 0, 1),
                    rgba=(0.7, 0.7, 0.7, 1.0)) -> int:
        """A single rigid body of one primitive shape (``mass`` 0 makes it static)."""
        self._check_new_name(name)
        body = self._client.createMultiBody(
            baseMass=float(mass), baseCollisionShapeIndex=self.collision_shape(shape, size),
            baseVisualShapeIndex=self.visual_shape(shape, size, rgba),
            basePosition=list(position), baseOrientation=list(orientation))
        return self._register(name, body)

    def create_multibody(self, name: str, base: dict, links: Sequence[dict],
                         position=(0, 0, 0), orientation=(0, 0, 0, 1)) -> int:
        """An articulated body built from primitive shapes.

        ``base`` and each link are dicts with keys ``mass`` (kg), ``collision`` and
        ``visual`` (shape ids), ``inertial_position`` (m, in the link frame) and, for
        links only: ``parent`` (index of the parent link, -1 for the base),
        ``position``/``orientation`` of the joint frame in the parent's link frame,
        ``joint`` (one of revolute, prismatic, spherical, fixed) and ``axis``.
        """
        self._check_new_name(name)
        ident = [0.0, 0.0, 0.0, 1.0]
        body = self._client.createMultiBody(
            baseMass=float(base["mass"]),
            baseCollisionShapeIndex=base.get("collision", -1),
            baseVisualShapeIndex=base.get("visual", -1),
            basePosition=list(position), baseOrientation=list(orientation),
            baseInertialFramePosition=list(base.get("inertial_position", (0, 0, 0))),
            baseInertialFrameOrientation=ident,
            linkMasses=[float(l["mass"]) for l in links],
            linkCollisionShapeIndices=[l.get("collision", -1) for l in links],
            linkVisualShapeIndices=[l.get("visual", -1) for l in links],
            linkPositions=[list(l["position"]) for l in links],
            linkOrientations=[list(l.get("orientation", ident)) for l in links],
            linkInertialFramePositions=[list(l.get("inertial_position", (0, 0, 0))) for l in links],
            linkInertialFrameOrientations=[ident for _ in links],
            linkParentIndices=[int(l["parent"]) + 1 for l in links],
            linkJointTypes=[_JOINT_TYPES[l["joint"]] for l in links],
            linkJointAxis=[list(l.get("axis", (0, 0, 1))) for l in links],
            flags=pybullet.URDF_USE_SELF_COLLISION if base.get("self_collision") else 0)
        return self._register(name, body)

    # ------------------------------------------------------------------ stepping
    def add_pre_step(self, callback) -> None:
        """Call ``callback()`` before every physics step (e.g. a joint drive that computes
        torques from the current state). Callbacks run in the order they were added."""
        self._pre_step.append(callback)

    def add_post_step(self, callback) -> None:
        """Call ``callback()`` after every physics step (e.g. a monitor reading contacts)."""
        self._post_step.append(callback)

    def step(self, n: int = 1) -> None:
        """Advance the world by ``n`` fixed physics steps, running the step callbacks."""
        step = self._client.stepSimulation
        pre, post = self._pre_step, self._post_step
        for _ in range(int(n)):
            for callback in pre:
                callback()
            step()
            self.steps += 1
            for callback in post:
                callback()

    def save_state(self) -> int:
        """Save the full dynamic state in memory; returns a handle for :meth:`restore_state`."""
        return self._client.saveState()

    def restore_state(self, handle: int) -> None:
        """Restore a state saved by :meth:`save_state` and reset the clock to zero.

        Positions, velocities and joint states come back exactly; contact caches do not,
        so the motion that follows can differ in the last digits (see :meth:`reset_world`
        for bit-identical restarts)."""
        self._client.restoreState(stateId=handle)
        self.steps = 0
        self._clock = None  # set by set_time_step: (start, steps then, step)

    # ------------------------------------------------------------------ bodies
    def base_pose(self, body: int) -> tuple[np.ndarray, np.ndarray]:
        pos, orn = self._client.getBasePositionAndOrientation(body)
        return np.asarray(pos), np.asarray(orn)

    def base_velocity(self, body: int) -> tuple[np.ndarray, np.ndarray]:
        lin, ang = self._client.getBaseVelocity(body)
        return np.asarray(lin), np.asarray(ang)

    def reset_base_pose(self, body: int, position, orientation=(0, 0, 0, 1)) -> None:
        """Place a body (only for building a scene, never during contact)."""
        self._client.resetBasePositionAndOrientation(body, list(position), list(orientation))
        self._client.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0])

    def num_joints(self, body: int) -> int:
        return self._client.getNumJoints(body)

    def joint_info(self, body: int, joint: int) -> JointInfo:
        r = self._client.getJointInfo(body, joint)
        return JointInfo(r[0], r[1].decode(), _JOINT_TYPE_NAMES.get(r[2], str(r[2])), r[8], r[9],
                         r[10], r[11], r[12].decode(), r[16], tuple(r[13]), tuple(r[14]),
                         tuple(r[15]))

    def joints(self, body: int) -> list[JointInfo]:
        return [self.joint_info(body, j) for j in range(self.num_joints(body))]

    def link_mass(self, body: int, link: int) -> float:
        return float(self._client.getDynamicsInfo(body, link)[0])

    def inertia_diagonal(self, body: int, link: int) -> np.ndarray:
        """Principal moments of inertia (kg·m²) of a link about its centre of mass."""
        return np.asarray(self._client.getDynamicsInfo(body, link)[2], float)

    def inertial_frame(self, body: int, link: int) -> tuple[tuple, tuple]:
        """Centre-of-mass frame of a link relative to its link (joint) frame."""
        info = self._client.getDynamicsInfo(body, link)
        return tuple(info[3]), tuple(info[4])

    def joint_states(self, body: int, joints: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Positions (rad or m) and velocities (rad/s or m/s) of 1-DoF joints."""
        states = self._client.getJointStates(body, list(joints))
        return (np.array([s[0] for s in states], dtype=float),
                np.array([s[1] for s in states], dtype=float))

    def reset_joints(self, body: int, joints: Sequence[int], positions: Sequence[float],
                     velocities: Sequence[float] | None = None) -> None:
        """Set 1-DoF joint positions (rad or m) and velocities (rad/s or m/s; default zero):
        scene building, reset, and the start state of a validation strike only."""
        velocities = [0.0] * len(joints) if velocities is None else velocities
        for j, q, qd in zip(joints, positions, velocities):
            self._client.resetJointState(body, j, float(q), float(qd))

    def velocity_control(self, body: int, joints: Sequence[int], velocities: Sequence[float],
                         forces: Sequence[float]) -> None:
        """Drive 1-DoF joints at ``velocities`` with bounded motor force (0 frees them)."""
        self._client.setJointMotorControlArray(body, list(joints), pybullet.VELOCITY_CONTROL,
                                               targetVelocities=list(map(float, velocities)),
                                               forces=list(map(float, forces)))

    def free_joints(self, body: int, spherical: Sequence[int], revolute: Sequence[int]) -> None:
        """Switch off the default joint motors so the joints move only under torques."""
        if spherical:
            self._client.setJointMotorControlMultiDofArray(
                body, list(spherical), pybullet.POSITION_CONTROL,
                targetPositions=[[0.0, 0.0, 0.0, 1.0]] * len(spherical),
                positionGains=[0.0] * len(spherical), velocityGains=[0.0] * len(spherical),
                forces=[[0.0, 0.0, 0.0]] * len(spherical))
        if revolute:
            self.velocity_control(body, revolute, [0.0] * len(revolute), [0.0] * len(revolute))

    def spherical_joint_arrays(self, body: int, joints: Sequence[int]
                               ) -> tuple[np.ndarray, np.ndarray]:
        """Spherical joint rotations (n, 4, xyzw) and angular velocities (n, 3, rad/s, in
        the child link's frame)."""
        states = self._client.getJointStatesMultiDof(body, joints)
        return (np.array([s[0] for s in states]), np.array([s[1] for s in states]))

    def apply_joint_torques(self, body: int, spherical: Sequence[int], spherical_torques,
                            revolute: Sequence[int], revolute_torques) -> None:
        """Apply joint torques for the next step: (n, 3) N·m in the child frames of the
        spherical joints and (m,) N·m on the revolute joints."""
        if len(spherical):
            self._client.setJointMotorControlMultiDofArray(
                body, spherical, pybullet.TORQUE_CONTROL, forces=np.asarray(spherical_torques).tolist())
        if len(revolute):
            self._client.setJointMotorControlArray(body, revolute, pybullet.TORQUE_CONTROL,
                                                   forces=np.asarray(revolute_torques).tolist())

    def link_state(self, body: int, link: int, velocity: bool = False):
        """World pose of a link frame (the URDF link frame) and optionally its velocity.

        Returns ``(position, quaternion)`` or ``(position, quaternion, linear, angular)``
        with linear velocity in m/s and angular velocity in rad/s, world frame. The
        linear velocity is pybullet's: that of the link's centre of mass, not of the link
        frame (they differ by ω × offset when the inertial origin is offset); for the base
        both pose and velocity are of its centre-of-mass frame.
        """
        if link == BASE_LINK:
            pos, orn = self.base_pose(body)
            if not velocity:
                return pos, orn
            lin, ang = self.base_velocity(body)
            return pos, orn, lin, ang
        s = self._client.getLinkState(body, link, computeLinkVelocity=int(velocity),
                                      computeForwardKinematics=1)
        if not velocity:
            return np.asarray(s[4]), np.asarray(s[5])
        return np.asarray(s[4]), np.asarray(s[5]), np.asarray(s[6]), np.asarray(s[7])

    def link_com_states(self, body: int, links: Sequence[int], velocity: bool = False
                        ) -> ComStates:
        """Centre-of-mass frames of several links (base: -1) and, with ``velocity``,
        their linear (m/s) and angular (rad/s) velocities, world frame, in one batched
        pybullet call; see :class:`ComStates` for the shapes. Reads the world only."""
        out = self.link_com_array(body, links, velocity)
        if not velocity:
            return ComStates(out[:, 0:3], out[:, 3:7], None, None)
        return ComStates(out[:, 0:3], out[:, 3:7], out[:, 7:10], out[:, 10:13])

    def link_com_array(self, body: int, links: Sequence[int], velocity: bool = False
                       ) -> np.ndarray:
        """:meth:`link_com_states` as one array, a row per link: position (m), quaternion
        (xyzw) and, with ``velocity``, linear (m/s) and angular (rad/s) velocity, world
        frame: shape (n, 13), or (n, 7) without velocities."""
        links = list(links)
        width = 13 if velocity else 7
        rest = [l for l in links if l != BASE_LINK]
        states = (self._client.getLinkStates(body, rest, computeLinkVelocity=int(velocity),
                                             computeForwardKinematics=1) if rest else ())
        # pybullet's link state: [0] COM position, [1] COM orientation, [6]/[7] velocities
        rows = ((s[0] + s[1] + s[6] + s[7]) if velocity else (s[0] + s[1]) for s in states)
        if len(rest) != len(links):  # the base comes from other calls, in its place
            linked = iter(rows)
            rows = (self._base_row(body, velocity) if l == BASE_LINK else next(linked)
                    for l in links)
        return np.fromiter(itertools.chain.from_iterable(rows), float,
                           width * len(links)).reshape(len(links), width)

    def _base_row(self, body: int, velocity: bool) -> tuple:
        row = sum(self._client.getBasePositionAndOrientation(body), ())
        return row + sum(self._client.getBaseVelocity(body), ()) if velocity else row

    def change_dynamics(self, body: int, link: int, **kwargs) -> None:
        """Forward pybullet ``changeDynamics`` keywords (lateralFriction, contactStiffness,
        contactDamping, linearDamping, angularDamping, mass, ...)."""
        self._client.changeDynamics(body, link, **kwargs)

    def set_collision(self, body_a: int, link_a: int, body_b: int, link_b: int,
                      enabled: bool) -> None:
        self._client.setCollisionFilterPair(body_a, body_b, link_a, link_b, int(enabled))

    # ------------------------------------------------------------------ kinematics
    def inverse_kinematics(self, body: int, link: int, position, orientation=None, *,
                           lower=None, upper=None, ranges=None, rest=None,
                           max_iterations: int = 100, threshold: float = 1e-4) -> np.ndarray:
        """Damped-least-squares IK (pybullet); returns positions of all movable joints."""
        kwargs = dict(maxNumIterations=max_iterations, residualThreshold=threshold)
        if lower is not None:
            kwargs.update(lowerLimits=list(lower), upperLimits=list(upper),
                          jointRanges=list(ranges), restPoses=list(rest))
        if orientation is None:
            q = self._client.calculateInverseKinematics(body, link, list(position), **kwargs)
        else:
            q = self._client.calculateInverseKinematics(body, link, list(position),
                                                        list(orientation), **kwargs)
        return np.asarray(q)

    def jacobian(self, body: int, link: int, local_point, q, qd=None, qdd=None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Linear and angular Jacobians (3 × n each) of a point fixed in ``link``
        (``local_point`` in the link's centre-of-mass frame) for all movable joints."""
        n = len(q)
        zero = [0.0] * n
        lin, ang = self._client.calculateJacobian(body, link, list(local_point), list(map(float, q)),
                                                  list(map(float, qd)) if qd is not None else zero,
                                                  zero)
        return np.asarray(lin), np.asarray(ang)

    def inverse_dynamics(self, body: int, q, qd, qdd) -> np.ndarray:
        """Joint torques (N·m, or N for prismatic joints) that produce accelerations
        ``qdd`` at state (``q``, ``qd``) under gravity, over all movable joints of a
        fixed-base body."""
        return np.asarray(self._client.calculateInverseDynamics(
            body, np.asarray(q, float).tolist(), np.asarray(qd, float).tolist(),
            np.asarray(qdd, float).tolist()))

    def mass_matrix(self, body: int, q) -> np.ndarray:
        """Joint-space mass matrix M(q) (kg·m² for revolute joints) over movable joints."""
        return np.asarray(self._client.calculateMassMatrix(body, list(map(float, q))))

    # ------------------------------------------------------------------ contacts
    def contacts(self, body_a: int | None = None, body_b: int | None = None,
                 link_a: int | None = None) -> list[Contact]:
        """Contact points of the last step, optionally filtered by bodies and link."""
        kwargs = {}
        if body_a is not None:
            kwargs["bodyA"] = body_a
        if body_b is not None:
            kwargs["bodyB"] = body_b
        if link_a is not None:
            kwargs["linkIndexA"] = link_a
        return [_contact(r) for r in self._client.getContactPoints(**kwargs)]

    def closest_points(self, body_a: int, body_b: int, distance: float,
                       link_a: int | None = None, link_b: int | None = None) -> list[Contact]:
        """Closest points within ``distance`` (m); ``Contact.distance`` is the separation."""
        kwargs = {}
        if link_a is not None:
            kwargs["linkIndexA"] = link_a
        if link_b is not None:
            kwargs["linkIndexB"] = link_b
        return [_contact(r) for r in self._client.getClosestPoints(body_a, body_b, distance, **kwargs)]

    def point_closest_points(self, point, body: int, distance: float) -> list[Contact]:
        """Closest points of ``body`` to the world point ``point`` (m) within ``distance``
        (m): ``Contact.distance`` is the point's distance to the body's surface (negative
        inside it), ``position_on_b`` the nearest point on the body. Measured with a
        probe sphere of radius :data:`POINT_PROBE_RADIUS` centred on the point."""
        if self._point_probe is None:
            self._point_probe = self._client.createCollisionShape(
                pybullet.GEOM_SPHERE, radius=POINT_PROBE_RADIUS)
        rows = self._client.getClosestPoints(bodyA=-1, bodyB=body,
                                             distance=float(distance) + POINT_PROBE_RADIUS,
                                             collisionShapeA=self._point_probe,
                                             collisionShapePositionA=list(map(float, point)))
        return [Contact(r[1], r[2], r[3], r[4], tuple(map(float, point)), r[6], r[7],
                        r[8] + POINT_PROBE_RADIUS, r[9]) for r in rows]

    # ------------------------------------------------------------------ constraints
    def create_fixed_constraint(self, parent: int, parent_link: int, child: int | None,
                                child_link: int = BASE_LINK, parent_pivot=(0, 0, 0),
                                child_pivot=(0, 0, 0), parent_orientation=(0, 0, 0, 1),
                                child_orientation=(0, 0, 0, 1), max_force: float | None = None
                                ) -> int:
        """A fixed joint between two links (``child=None``: the world). With
        ``max_force`` (N) the constraint can be overpowered."""
        cid = self._client.createConstraint(parent, parent_link, -1 if child is None else child,
                                            child_link, pybullet.JOINT_FIXED, [0, 0, 0],
                                            list(parent_pivot), list(child_pivot),
                                            list(parent_orientation), list(child_orientation))
        if max_force is not None:
            self._client.changeConstraint(cid, maxForce=float(max_force))
        return cid

    def move_constraint(self, constraint: int, child_pivot, child_orientation=None,
                        max_force: float | None = None) -> None:
        """Move the world-side frame of a constraint (drives a body with bounded force)."""
        kwargs = {"jointChildPivot": list(child_pivot)}
        if child_orientation is not None:
            kwargs["jointChildFrameOrientation"] = list(child_orientation)
        if max_force is not None:
            kwargs["maxForce"] = float(max_force)
        self._client.changeConstraint(constraint, **kwargs)

    def remove_constraint(self, constraint: int) -> None:
        self._client.removeConstraint(constraint)

    # ------------------------------------------------------------------ rendering
    def render(self, width: int, height: int, eye, target, up=(0, 0, 1), fov: float = 60.0,
               near: float = 0.05, far: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
        """RGB image (height, width, 3) uint8 and depth (height, width) in m, rendered
        headless with the software renderer."""
        view = self._client.computeViewMatrix(list(eye), list(target), list(up))
        proj = self._client.computeProjectionMatrixFOV(fov, width / height, near, far)
        _, _, rgba, depth, _ = self._client.getCameraImage(
            int(width), int(height), view, proj, renderer=pybullet.ER_TINY_RENDERER,
            flags=pybullet.ER_NO_SEGMENTATION_MASK)
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3]
        zbuf = np.asarray(depth, dtype=np.float32).reshape(height, width)
        depth_m = far * near / (far - (far - near) * zbuf)
        return np.ascontiguousarray(rgb), depth_m

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def quaternion_from_euler(rpy) -> np.ndarray:
        return np.asarray(pybullet.getQuaternionFromEuler(list(rpy)))

    @staticmethod
    def rotation_matrix(q) -> np.ndarray:
        return np.asarray(pybullet.getMatrixFromQuaternion(list(q))).reshape(3, 3)

    @staticmethod
    def multiply_transforms(pos_a, orn_a, pos_b, orn_b) -> tuple[np.ndarray, np.ndarray]:
        p_, o_ = pybullet.multiplyTransforms(list(pos_a), list(orn_a), list(pos_b), list(orn_b))
        return np.asarray(p_), np.asarray(o_)

    @staticmethod
    def invert_transform(pos, orn) -> tuple[np.ndarray, np.ndarray]:
        p_, o_ = pybullet.invertTransform(list(pos), list(orn))
        return np.asarray(p_), np.asarray(o_)

    # ---- human support
    def collision_shape_at(self, shape: str, size: Sequence[float], frame_position,
                           frame_orientation=(0, 0, 0, 1)) -> int:
        """A collision shape offset from its link frame by ``frame_position`` (m) and
        ``frame_orientation`` (quaternion); ``size`` as in :meth:`collision_shape`."""
        return self._client.createCollisionShape(
            _SHAPES[shape], **_capsule_like(shape, size, "height"),
            collisionFramePosition=list(frame_position),
            collisionFrameOrientation=list(frame_orientation))

    def visual_shape_at(self, shape: str, size: Sequence[float], frame_position,
                        rgba=(0.7, 0.7, 0.7, 1.0), frame_orientation=(0, 0, 0, 1)) -> int:
        """A visual shape offset from its link frame, like :meth:`collision_shape_at`."""
        return self._client.createVisualShape(
            _SHAPES[shape], **_capsule_like(shape, size, "length"), rgbaColor=list(rgba),
            visualFramePosition=list(frame_position),
            visualFrameOrientation=list(frame_orientation))

    def dynamics_info(self, body: int, link: int) -> dict:
        """Mass (kg), friction, restitution, contact stiffness (N/m) and damping (N·s/m)."""
        r = self._client.getDynamicsInfo(body, link)
        return {"mass": float(r[0]), "lateral_friction": float(r[1]), "restitution": float(r[5]),
                "contact_damping": float(r[8]), "contact_stiffness": float(r[9])}

    def link_frames(self, body: int, links: Sequence[int]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Link frame positions (n, 3, m), orientations (n, 4, xyzw) and centres of mass
        (n, 3, m), world frame, for non-base links, in one batched call."""
        states = self._client.getLinkStates(body, list(links), computeForwardKinematics=1)
        return (np.array([s[4] for s in states]), np.array([s[5] for s in states]),
                np.array([s[0] for s in states]))

    # ---- separation support
    def link_has_collision(self, body: int, link: int) -> bool:
        """Whether a link (base: -1) has at least one collision shape."""
        return len(self._client.getCollisionShapeData(body, link)) > 0

    def link_collision_shapes(self, body: int, link: int, vertices: bool = True) -> list[dict]:
        """The collision shapes of a link (base: -1), each a dict with ``kind`` (sphere,
        box, capsule, cylinder, mesh, other), ``dimensions`` (pybullet's: sphere radius
        first; box full extents; capsule/cylinder height then radius; mesh scale),
        ``file`` (the mesh file, or ""), ``position``/``orientation`` of the shape in the
        link's centre-of-mass frame and, for meshes when ``vertices``, ``vertices``
        (n, 3, m) in the centre-of-mass frame."""
        kinds = {v: k for k, v in _SHAPES.items()}
        kinds[pybullet.GEOM_MESH] = "mesh"
        out = []
        for i, row in enumerate(self._client.getCollisionShapeData(body, link)):
            shape = {"kind": kinds.get(row[2], "other"), "dimensions": tuple(row[3]),
                     "file": row[4].decode(errors="replace") if isinstance(row[4], bytes) else "",
                     "position": np.asarray(row[5], float), "orientation": np.asarray(row[6], float)}
            if shape["kind"] == "mesh" and vertices:
                shape["vertices"] = np.asarray(self._client.getMeshData(body, link, i)[1], float)
            out.append(shape)
        return out

    # ---- validation support
    # The physics step may change at run time (contact sub-stepping,
    # simulator.safety.substep). The clock then stays exact: ``time`` is the time at the
    # last change plus the steps since, times the current step.
    @property
    def time(self) -> float:
        """Simulated time in s since the world was built, restored or emptied.

        Without a step change this is ``steps * time_step`` exactly as before; after one,
        the clock is summed in rationals (each step as the nearest fraction with a
        denominator below 10⁹, e.g. 1/4800), so 20 steps of 1/4800 s end on the same
        float as one step of 1/240 s."""
        if self._clock is None:
            return self.steps * self.time_step
        start, steps0, dt = self._clock
        return float(start + (self.steps - steps0) * dt)

    def set_time_step(self, dt: float) -> None:
        """Change the fixed physics step to ``dt`` s from the next step on.

        pybullet recomputes the soft-contact ERP/CFM from the step every step, so contact
        stiffness and damping keep their meaning in N/m and N·s/m. The clock continues
        exactly from the current time; ``steps`` keeps counting physics steps of any size.

        pybullet turns a constraint's ``maxForce`` into an impulse bound with the step in
        force when the bound is set (measured: a 100 N bound set at 1/240 s held 2000 N at
        1/4800 s), so every constraint's bound is set again here. Joint motors of
        :meth:`position_control` / :meth:`velocity_control` have the same behaviour and
        must be commanded again after a change (torque control is unaffected).
        """
        dt = float(dt)
        if not dt > 0:
            raise SimError(f"time_step must be positive, got {dt!r}")
        if dt == self.time_step:
            return
        if self._clock is None:
            now = Fraction(self.steps) * _fraction(self.time_step)
        else:
            start, steps0, old = self._clock
            now = start + (self.steps - steps0) * old
        self._clock = (now, self.steps, _fraction(dt))
        self.time_step = dt
        client = self._client
        client.setPhysicsEngineParameter(fixedTimeStep=dt)
        for i in range(client.getNumConstraints()):
            cid = client.getConstraintUniqueId(i)
            client.changeConstraint(cid, maxForce=float(client.getConstraintInfo(cid)[10]))

    def set_base_velocity(self, body: int, linear, angular=(0.0, 0.0, 0.0)) -> None:
        """Set a body's base velocity (m/s, rad/s, world frame): scene building, or a
        kinematic drive before each step (a conveyor belt, simulator/tasks)."""
        self._client.resetBaseVelocity(body, list(map(float, linear)), list(map(float, angular)))

    def point_velocity(self, body: int, link: int, point) -> np.ndarray:
        """Velocity (m/s, world) of the world point ``point`` (m) moving with ``link``
        (base: -1): v_com + ω × (point − com)."""
        row = self.link_com_array(body, [link], velocity=True)[0]
        return row[7:10] + np.cross(row[10:13], np.asarray(point, float) - row[0:3])

    def set_collisions(self, pairs, enabled: bool) -> None:
        """Switch Bullet's collision response on or off for each ``(body_a, link_a, body_b,
        link_b)`` in ``pairs`` (distance queries still see the shapes)."""
        flag = int(enabled)
        setter = self._client.setCollisionFilterPair
        for body_a, link_a, body_b, link_b in pairs:
            setter(body_a, body_b, link_a, link_b, flag)

    def apply_external_force(self, body: int, link: int, force, position=None) -> None:
        """Apply ``force`` (N, world frame) at ``position`` (m, world; default the link's
        centre of mass) during the next physics step only."""
        if position is None:
            position = self.link_com_states(body, [link]).position[0]
        self._client.applyExternalForce(body, link, list(map(float, force)),
                                        list(map(float, position)), pybullet.WORLD_FRAME)


def _fraction(dt: float) -> Fraction:
    """A physics step as an exact rational (validation support: the run-time step clock)."""
    return Fraction(dt).limit_denominator(10 ** 9)


def _capsule_like(shape: str, size: Sequence[float], length_key: str) -> dict:
    """pybullet size keywords of a sphere, capsule or cylinder (human support)."""
    if shape not in ("sphere", "capsule", "cylinder"):
        raise SimError(f"offset shapes must be sphere, capsule or cylinder, got {shape!r}")
    if shape == "sphere":
        return {"radius": float(size[0])}
    return {"radius": float(size[0]), length_key: float(size[1])}


def resolve_data_path(path: str) -> str:
    """Absolute path of a file shipped in pybullet_data (e.g. ``franka_panda/panda.urdf``)."""
    return os.path.join(PYBULLET_DATA, path)
