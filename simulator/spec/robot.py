"""Robot specification: the data in ``robots/<id>/robot.yaml``.

Angles in rad, angular speeds in rad/s, joint efforts in N·m (N for prismatic joints),
lengths in m, masses in kg. The URDF is named either as ``pybullet_data:<path>`` (a file
shipped with pybullet) or as a path relative to the robot's folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from simulator.spec.schema import non_empty, non_negative, positive, spec_field


@dataclass(frozen=True, kw_only=True)
class JointSpec:
    """One actuated arm joint and its limits."""

    name: str = spec_field(doc="joint name in the URDF")
    lower: float = spec_field(unit="rad", doc="lower position limit")
    upper: float = spec_field(unit="rad", doc="upper position limit")
    velocity: float = spec_field(unit="rad/s", doc="maximum joint speed", check=positive)
    effort: float = spec_field(unit="N·m", doc="maximum joint torque", check=positive)

    def __post_init__(self) -> None:
        if not self.lower < self.upper:
            raise ValueError(f"joint {self.name}: lower limit {self.lower} must be below upper {self.upper}")


@dataclass(frozen=True, kw_only=True)
class GripperSpec:
    """The gripper: a parallel gripper whose finger joints move together, or a suction
    cup at the TCP.

    ``suction``: when the gripper is commanded closed (opening below one half) and a free
    rigid body's surface is within ``reach`` m of the TCP, the body is held by a fixed
    constraint at its relative pose of that moment, with at most ``force`` N; a load that
    needs more pulls it off the cup (the grip is lost when it has slid ``reach`` m away).
    Opening releases it. See :class:`simulator.robot.Robot`.
    """

    kind: Literal["parallel", "suction"] = spec_field("parallel", doc="parallel: finger "
                                                      "joints; suction: a vacuum cup at the TCP")
    joints: tuple[str, ...] = spec_field((), doc="parallel: finger joint names in the URDF")
    open: float | None = spec_field(None, unit="m", doc="parallel: finger joint position "
                                    "when open", check=non_negative)
    closed: float | None = spec_field(None, unit="m", doc="parallel: finger joint position "
                                      "when closed", check=non_negative)
    force: float = spec_field(unit="N", doc="parallel: maximum force per finger; suction: "
                              "holding force of the cup", check=positive)
    speed: float = spec_field(0.1, unit="m/s", doc="parallel: maximum finger speed",
                              check=positive)
    reach: float | None = spec_field(None, unit="m", doc="suction: largest distance from "
                                     "the TCP to a body's surface at which the cup grips it",
                                     check=positive)

    def __post_init__(self) -> None:
        if self.kind == "parallel":
            missing = [k for k in ("open", "closed") if getattr(self, k) is None]
            if not self.joints or missing:
                raise ValueError("a parallel gripper needs joints (the finger joints), open and "
                                 f"closed; missing: {', '.join(missing or ['joints'])}")
            if self.reach is not None:
                raise ValueError("reach is for a suction gripper; a parallel gripper has none")
        else:
            if self.joints or self.open is not None or self.closed is not None:
                raise ValueError("a suction gripper has no finger joints: leave out joints, "
                                 "open and closed")
            if self.reach is None:
                raise ValueError("a suction gripper needs reach (m from the TCP)")


@dataclass(frozen=True, kw_only=True)
class SurfaceSpec:
    """The contact surface of one robot link, for pressure = force / area."""

    link: str = spec_field(doc="URDF link name")
    kind: Literal["flat", "edge"] = spec_field("flat", doc="flat face or rounded edge")
    area_cm2: float | None = spec_field(None, unit="cm²", doc="flat: contact area",
                                        check=positive)
    edge_radius_mm: float | None = spec_field(None, unit="mm", doc="edge: radius",
                                              check=positive)

    def __post_init__(self) -> None:
        if self.kind == "flat" and self.area_cm2 is None:
            raise ValueError(f"link {self.link}: a flat surface needs area_cm2")
        if self.kind == "edge" and self.edge_radius_mm is None:
            raise ValueError(f"link {self.link}: an edge needs edge_radius_mm")


@dataclass(frozen=True, kw_only=True)
class StoppingRow:
    """One measured stop: TCP speed before the stop, stopping time and distance."""

    speed: float = spec_field(unit="m/s", doc="TCP speed when the stop was triggered",
                              check=non_negative)
    time: float = spec_field(unit="s", doc="from the stop signal to standstill",
                             check=non_negative)
    distance: float = spec_field(unit="m", doc="TCP travel during the stop", check=non_negative)


@dataclass(frozen=True, kw_only=True)
class RobotSpec:
    """Everything cobotsim needs to know about one robot model."""

    id: str = spec_field(doc="catalogue name, equal to the folder name")
    name: str = spec_field(doc="human-readable model name")
    maker: str = spec_field(doc="manufacturer")
    urdf: str = spec_field(doc="URDF: 'pybullet_data:<path>' or a path relative to the robot folder")
    joints: tuple[JointSpec, ...] = spec_field(doc="the arm joints, base to tip", check=non_empty)
    end_effector_link: str = spec_field(doc="URDF link whose frame is the tool centre point (TCP)")
    home: tuple[float, ...] = spec_field(unit="rad", doc="home joint positions, one per joint")
    moving_mass: float = spec_field(unit="kg", doc="total mass of the moving parts (M of ISO/TS 15066)",
                                    check=positive)
    payload: float = spec_field(unit="kg", doc="rated payload", check=non_negative)
    max_tcp_speed: float = spec_field(unit="m/s", doc="maximum Cartesian TCP speed", check=positive)
    gripper: GripperSpec | None = spec_field(None, doc="the gripper, or null for none")
    contact_surfaces: tuple[SurfaceSpec, ...] = spec_field((), doc="declared contact "
                                                           "surfaces; other links: 1 cm² flat")
    stopping: tuple[StoppingRow, ...] = spec_field((), doc="category-1 stopping data at the "
                                                   "TCP, by increasing speed (for SSM)")
    joint_bandwidth: float = spec_field(60.0, unit="rad/s", doc="bandwidth ω of the joint "
                                        "impedance drive: τ = b + M·(ω²·e + 2ω·ė)",
                                        check=positive)
    link_inertia_floor: float = spec_field(0.0, unit="kg·m²", doc="lower bound on every "
                                           "moving link's principal moments of inertia (0: the "
                                           "URDF's); stands in for the drives' reflected rotor "
                                           "inertia, which the physics engine lacks, and keeps "
                                           "light wrist links stable at the physics step",
                                           check=non_negative)

    def __post_init__(self) -> None:
        speeds = [row.speed for row in self.stopping]
        if any(b <= a for a, b in zip(speeds, speeds[1:])) or len(speeds) == 1:
            raise ValueError(f"stopping: needs at least two rows with increasing speed, got {speeds}")
        if speeds and speeds[-1] < self.max_tcp_speed:
            raise ValueError(f"stopping: the data end at {speeds[-1]} m/s, below max_tcp_speed "
                             f"{self.max_tcp_speed} m/s; measure up to the top speed")
        if len(self.home) != len(self.joints):
            raise ValueError(f"home has {len(self.home)} values for {len(self.joints)} joints")
        for q, j in zip(self.home, self.joints):
            if not j.lower <= q <= j.upper:
                raise ValueError(f"home position {q} of {j.name} is outside [{j.lower}, {j.upper}]")

    def urdf_path(self, folder: Path) -> str:
        """Absolute URDF path, resolving ``pybullet_data:`` to the installed pybullet data."""
        if self.urdf.startswith("pybullet_data:"):
            from simulator.physics import resolve_data_path
            return resolve_data_path(self.urdf.split(":", 1)[1])
        return str((folder / self.urdf).resolve())
