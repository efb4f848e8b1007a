"""The person in a scenario: the data of the ``human`` block of ``scenarios/<id>.yaml``.

World frame: z up, origin on the floor. Positions in m, yaw angles in degrees about z,
times in s, speeds in m/s.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simulator.spec.schema import non_negative, positive, spec_field

Vec3 = tuple[float, float, float]
Vec2 = tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class MotionSpec:
    """The person's motion program (see docs/scenarios.md for each program's keys)."""

    program: Literal["idle", "reach", "handover", "walk"] = spec_field("idle", doc="motion program")
    side: Literal["left", "right", "dominant"] = spec_field("dominant", doc="hand used")
    point: Vec3 | None = spec_field(None, unit="m", doc="reach target / handover point (world)")
    start_delay: float = spec_field(0.0, unit="s", doc="time before the program starts",
                                    check=non_negative)
    wait_timeout: float = spec_field(30.0, unit="s", doc="handover: how long the hand waits",
                                     check=positive)
    close_radius: float = spec_field(0.06, unit="m", doc="handover: part-to-palm distance "
                                     "at which the hand closes", check=positive)
    hold_time: float = spec_field(1.0, unit="s", doc="handover: how long the closed hand stays "
                                  "still (for the giver to let go) before withdrawing",
                                  check=non_negative)
    speed: float = spec_field(0.3, unit="m/s", doc="hand speed (reach, handover) or gait speed "
                              "(walk)", check=positive)
    path: tuple[Vec2, ...] = spec_field((), unit="m", doc="walk: waypoints (x, y)")
    sway_amplitude: float = spec_field(0.01, unit="m", doc="idle: sway amplitude",
                                       check=non_negative)

    def __post_init__(self) -> None:
        if self.program in ("reach", "handover") and self.point is None:
            raise ValueError(f"program {self.program!r} needs a point (x, y, z in m)")
        if self.program == "walk" and not self.path:
            raise ValueError("program 'walk' needs a path of at least one (x, y) waypoint")


def _known_body(name: str) -> str | None:
    from simulator.anthropometry import reference_bodies
    known = sorted(reference_bodies())
    return None if name in known else f"one of the reference bodies {', '.join(known)}"


@dataclass(frozen=True, kw_only=True)
class HumanSpec:
    """The person in the cell."""

    body: str = spec_field("p50_male", doc="reference body: p05_female, p50_male or p95_male",
                           check=_known_body)
    position: Vec2 = spec_field((1.0, 0.0), unit="m", doc="standing position (x, y) on the floor")
    yaw_deg: float = spec_field(180.0, unit="deg", doc="facing direction about z (0 faces +x)")
    handedness: Literal["left", "right"] = spec_field("right", doc="dominant hand")
    motion: MotionSpec = spec_field(default_factory=MotionSpec, doc="motion program")


