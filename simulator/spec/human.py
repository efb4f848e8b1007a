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

    program: Literal["idle", "reach", "handover", "walk", "clip", "assemble", "steady",
                     "hold_workpiece", "remove_reject"] = spec_field(
        "idle", doc="motion program (assemble, steady, hold_workpiece, remove_reject: "
        "simulator/human/work.py, built by their task)")
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
    clip: str | None = spec_field(None, doc="clip: BVH motion-capture file, relative to the "
                                  "scenario file's folder or absolute (docs/human.md)")
    loop: bool = spec_field(True, doc="clip: start again at the end (false: hold the last frame)")
    clip_map: dict[str, str] = spec_field(default_factory=dict, doc="clip: BVH joint name -> body "
                                          "link (pelvis, abdomen, chest, neck, head, upper_arm_left, "
                                          "...) or 'none' to ignore it; added to the default map")

    def __post_init__(self) -> None:
        if self.program in ("reach", "handover") and self.point is None:
            raise ValueError(f"program {self.program!r} needs a point (x, y, z in m)")
        if self.program == "walk" and not self.path:
            raise ValueError("program 'walk' needs a path of at least one (x, y) waypoint")
        if self.program == "clip" and not self.clip:
            raise ValueError("program 'clip' needs a clip (the path of a .bvh file)")


def _known_body(name: str) -> str | None:
    from simulator.anthropometry import reference_bodies
    known = sorted(reference_bodies())
    return None if name in known else f"one of the reference bodies {', '.join(known)}"


BEHAVIOURS = ("none", "stop", "retreat")


def _in_span(lo: float, hi: float, unit: str):
    def check(v) -> str | None:
        return None if lo <= v <= hi else f"a number in [{lo}, {hi}] {unit}".rstrip()
    return check


def _range(lo: float, hi: float, unit: str):
    """A variation range [a, b]: a < b, both within [lo, hi]."""
    def check(v) -> str | None:
        a, b = v
        if not a < b:
            return (f"a range [low, high] with low < high (this one is "
                    f"{'empty' if a == b else 'reversed'})")
        if not (lo <= a and b <= hi):
            return f"a range [low, high] within [{lo}, {hi}] {unit}".rstrip()
        return None
    return check


def _choices(allowed):
    def check(v) -> str | None:
        if not v:
            return f"a non-empty list of choices among {', '.join(allowed())}"
        bad = [x for x in v if x not in allowed()]
        return f"choices among {', '.join(allowed())} (not {', '.join(bad)})" if bad else None
    return check


def _reference_bodies() -> list[str]:
    from simulator.anthropometry import reference_bodies
    return sorted(reference_bodies())


@dataclass(frozen=True, kw_only=True)
class ReactionSpec:
    """How the person reacts to the robot coming close (docs/human.md#reactions)."""

    behaviour: Literal["none", "stop", "retreat"] = spec_field(
        "none", doc="none: ignore the robot; stop: freeze the motion; retreat: step back")
    distance: float = spec_field(0.5, unit="m", doc="closest robot-person distance that "
                                 "triggers the reaction", check=positive)
    reaction_time: float = spec_field(0.3, unit="s", doc="how long the robot must stay within "
                                      "(or, to resume, beyond) distance before the person reacts",
                                      check=non_negative)
    retreat_distance: float = spec_field(0.3, unit="m", doc="retreat: how far the pelvis steps "
                                         "back, horizontally away from the robot", check=positive)
    retreat_speed: float = spec_field(0.5, unit="m/s", doc="retreat: speed of the step back "
                                      "(and of the return)", check=positive)


@dataclass(frozen=True, kw_only=True)
class DistractionSpec:
    """Unplanned reaches into the shared zone at random times (docs/human.md#distractions)."""

    rate: float = spec_field(0.0, unit="1/s", doc="mean number of distractions per second "
                             "(Poisson); 0: none", check=non_negative)
    duration: float = spec_field(2.0, unit="s", doc="how long one distraction lasts (reach, "
                                 "hold, return)", check=positive)
    point: Vec3 | None = spec_field(None, unit="m", doc="where the hand reaches (world)")
    side: Literal["left", "right", "dominant"] = spec_field("dominant", doc="hand used")
    speed: float = spec_field(0.5, unit="m/s", doc="hand speed of the reach (times "
                              "speed_factor)", check=positive)

    def __post_init__(self) -> None:
        if self.rate > 0 and self.point is None:
            raise ValueError("a distraction with rate > 0 needs a point (x, y, z in m)")


@dataclass(frozen=True, kw_only=True)
class VariationsSpec:
    """What is drawn per episode from the seed. Lists of names are choices (drawn with equal
    probability); numeric keys take a range [low, high] drawn uniformly. Absent: not varied."""

    body: tuple[str, ...] | None = spec_field(None, doc="choices of reference body",
                                              check=_choices(_reference_bodies))
    height: tuple[float, float] | None = spec_field(None, unit="m", doc="range of stature "
                                                    "(scales the body's tables)",
                                                    check=_range(0.5, 2.5, "m"))
    mass: tuple[float, float] | None = spec_field(None, unit="kg", doc="range of body mass",
                                                  check=_range(10.0, 300.0, "kg"))
    handedness: tuple[str, ...] | None = spec_field(None, doc="choices of left, right",
                                                    check=_choices(lambda: ["left", "right"]))
    speed_factor: tuple[float, float] | None = spec_field(None, doc="range of speed_factor",
                                                          check=_range(0.05, 10.0, ""))
    gait_speed: tuple[float, float] | None = spec_field(None, unit="m/s", doc="range of "
                                                        "gait_speed", check=_range(0.05, 3.0, "m/s"))
    reaction: tuple[str, ...] | None = spec_field(None, doc="choices of reaction.behaviour",
                                                  check=_choices(lambda: list(BEHAVIOURS)))
    reaction_distance: tuple[float, float] | None = spec_field(
        None, unit="m", doc="range of reaction.distance", check=_range(0.01, 5.0, "m"))
    reaction_time: tuple[float, float] | None = spec_field(
        None, unit="s", doc="range of reaction.reaction_time", check=_range(0.0, 10.0, "s"))

    @property
    def empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)


@dataclass(frozen=True, kw_only=True)
class HumanSpec:
    """The person in the cell."""

    body: str = spec_field("p50_male", doc="reference body: p05_female, p50_male or p95_male",
                           check=_known_body)
    position: Vec2 = spec_field((1.0, 0.0), unit="m", doc="standing position (x, y) on the floor")
    yaw_deg: float = spec_field(180.0, unit="deg", doc="facing direction about z (0 faces +x)")
    height: float | None = spec_field(None, unit="m", doc="stature; with mass, scales the "
                                      "segment tables of body's sex (default: body's stature)",
                                      check=_in_span(0.5, 2.5, "m"))
    mass: float | None = spec_field(None, unit="kg", doc="body mass (default: body's mass)",
                                    check=_in_span(10.0, 300.0, "kg"))
    handedness: Literal["left", "right"] = spec_field("right", doc="dominant hand")
    speed_factor: float = spec_field(1.0, doc="scales the hand speeds of every motion program "
                                     "(and a clip's playback rate)", check=positive)
    gait_speed: float | None = spec_field(None, unit="m/s", doc="walking speed; when set, walk "
                                          "programs use it instead of their own", check=positive)
    reaction: ReactionSpec = spec_field(default_factory=ReactionSpec, doc="reaction to the robot")
    distraction: DistractionSpec = spec_field(default_factory=DistractionSpec,
                                              doc="unplanned reaches into the shared zone")
    motion: MotionSpec = spec_field(default_factory=MotionSpec, doc="motion program")
    variations: VariationsSpec = spec_field(default_factory=VariationsSpec,
                                            doc="what is drawn per episode from the seed")


