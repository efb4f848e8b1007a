"""Scenario specification: the data in ``scenarios/<id>.yaml``.

World frame: z up, origin on the floor. Positions in m, yaw angles in degrees about z
(keys ending in ``_deg``), masses in kg, times in s, rates in Hz.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simulator.spec.human import HumanSpec, MotionSpec  # noqa: F401  (re-exported)
from simulator.spec.safety import SafetySpec
from simulator.spec.schema import (each_non_negative, each_positive, in_range, non_empty,
                                   non_negative, positive, spec_field)

Vec3 = tuple[float, float, float]
Vec2 = tuple[float, float]
RGBA = tuple[float, float, float, float]


@dataclass(frozen=True, kw_only=True)
class PhysicsSpec:
    """The fixed-step physics and the control rate."""

    time_step: float = spec_field(1.0 / 240.0, unit="s", doc="physics step", check=positive)
    control_rate: float = spec_field(20.0, unit="Hz", doc="env steps per simulated second",
                                     check=positive)
    gravity: float = spec_field(-9.81, unit="m/s²", doc="z component of gravity")
    solver_iterations: int = spec_field(50, doc="constraint solver iterations per step",
                                        check=positive)
    contact_substeps: int = spec_field(20, doc="physics steps per time_step while a robot-"
                                       "person contact is imminent or going on (1: off); "
                                       "see docs/safety-monitors.md", check=positive)

    @property
    def substeps(self) -> int:
        """Physics steps per control step."""
        return max(1, round(1.0 / (self.control_rate * self.time_step)))

    def __post_init__(self) -> None:
        ratio = 1.0 / (self.control_rate * self.time_step)
        if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
            raise ValueError(f"the control period 1/{self.control_rate} s must be a whole number of "
                             f"physics steps of {self.time_step} s")


@dataclass(frozen=True, kw_only=True)
class RobotPlacement:
    """Which robot stands where."""

    id: str = spec_field("panda", doc="robot catalogue name")
    position: Vec3 = spec_field((0.0, 0.0, 0.0), unit="m", doc="base position")
    yaw_deg: float = spec_field(0.0, unit="deg", doc="base rotation about z")


@dataclass(frozen=True, kw_only=True)
class BodySpec:
    """A fixture (static when mass is 0) or a movable object of one primitive shape."""

    name: str = spec_field(doc="unique body name")
    shape: Literal["box", "cylinder", "sphere"] = spec_field("box", doc="primitive shape")
    size: tuple[float, ...] = spec_field(unit="m", doc="box: full x, y, z extents; cylinder: "
                                         "radius, height; sphere: radius", check=each_positive)
    position: Vec3 = spec_field(unit="m", doc="centre position")
    yaw_deg: float = spec_field(0.0, unit="deg", doc="rotation about z")
    mass: float = spec_field(0.0, unit="kg", doc="0 for a fixed body", check=non_negative)
    friction: float = spec_field(0.8, doc="lateral friction coefficient", check=non_negative)
    color: RGBA = spec_field((0.6, 0.6, 0.6, 1.0), doc="RGBA in [0, 1]")

    def __post_init__(self) -> None:
        need = {"box": 3, "cylinder": 2, "sphere": 1}[self.shape]
        if len(self.size) != need:
            raise ValueError(f"{self.name}: a {self.shape} needs {need} size values, got {len(self.size)}")


@dataclass(frozen=True, kw_only=True)
class RewardSpec:
    """Weights of the named reward terms (each term is reported in ``info['reward_terms']``)."""

    reach: float = spec_field(1.0, doc="weight of -distance(gripper, part) before the grasp")
    carry: float = spec_field(1.0, doc="weight of -distance(part, hand) after the grasp")
    grasp: float = spec_field(1.0, doc="bonus per step while the robot holds the part")
    success: float = spec_field(10.0, doc="bonus on success")
    action: float = spec_field(0.01, doc="weight of -|action|²")
    progress: float = spec_field(1.0, doc="bonus per step while a sub-goal advances (press, "
                                 "screw point) and per finished sub-goal")
    conflict: float = spec_field(1.0, doc="penalty per step of a rule broken (turn conflict, "
                                 "press force above its bound)")


TASK_KINDS = ("handover", "shared_assembly", "crossing", "clamping", "co_manipulation",
              "conveyor_inspection")
# the person's motion program each task kind runs (the task builds it)
# the person's programs each task kind runs (the first is its own; crossing can also
# replay a motion-capture clip of someone walking through)
TASK_PROGRAMS = {"handover": "handover", "shared_assembly": "assemble", "crossing": ("walk", "clip"),
                 "clamping": "steady", "co_manipulation": "hold_workpiece",
                 "conveyor_inspection": "remove_reject"}


def _ordered_pair(v) -> str | None:
    return None if 0 <= v[0] <= v[1] else "a range [low, high] with 0 <= low <= high"


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """What the robot has to do, and how long it has."""

    kind: Literal["handover", "shared_assembly", "crossing", "clamping", "co_manipulation",
                  "conveyor_inspection"] = spec_field("handover", doc="task kind "
                                                      "(docs/scenarios.md#task-kinds)")
    instruction: str = spec_field("", doc="the task in words, for language-conditioned "
                                  "policies (observation 'instruction'); empty: the "
                                  "scenario's description")
    max_duration: float = spec_field(25.0, unit="s", doc="episode length before truncation",
                                     check=positive)
    part: str = spec_field("part", doc="name of the body the robot handles")
    reward: RewardSpec = spec_field(default_factory=RewardSpec, doc="reward weights")
    part_jitter: Vec2 = spec_field((0.03, 0.03), unit="m", doc="half-range of the seeded x, y "
                                   "offset of the part's start", check=each_non_negative)
    human_jitter: Vec2 = spec_field((0.05, 0.05), unit="m", doc="half-range of the seeded x, y "
                                    "offset of the handover point", check=each_non_negative)
    goal: Vec3 | None = spec_field(None, unit="m", doc="shared_assembly, crossing, clamping, "
                                   "conveyor_inspection: where the part's centre must come to "
                                   "rest (world)")
    goal_tolerance: float = spec_field(0.03, unit="m", doc="largest distance of the part's "
                                       "centre from goal that counts as placed", check=positive)
    human_interval: Vec2 = spec_field((1.0, 3.0), unit="s", doc="range of the seeded wait "
                                      "before the person acts (reach into the shared zone, "
                                      "start walking, remove the reject)",
                                      check=_ordered_pair)
    turn_time: float = spec_field(6.0, unit="s", doc="shared_assembly: shortest pause between "
                                  "two reaches of the person (the robot's turn)",
                                  check=non_negative)
    zone_lower: Vec3 | None = spec_field(None, unit="m", doc="shared_assembly: lower corner of "
                                         "the shared zone (world)")
    zone_upper: Vec3 | None = spec_field(None, unit="m", doc="shared_assembly: upper corner of "
                                         "the shared zone (world)")
    fixture: str | None = spec_field(None, doc="clamping: the fixture the part is pressed into")
    press_force: Vec2 = spec_field((20.0, 100.0), unit="N", doc="clamping, co_manipulation: "
                                   "the contact force must reach the first value and never "
                                   "exceed the second", check=_ordered_pair)
    press_time: float = spec_field(1.0, unit="s", doc="clamping: how long the press force "
                                   "must be held; co_manipulation: per screw point",
                                   check=positive)
    tool_points: tuple[Vec3, ...] = spec_field((), unit="m", doc="co_manipulation: the screw "
                                               "points on the part, in the part's frame")
    point_tolerance: float = spec_field(0.015, unit="m", doc="co_manipulation: largest distance "
                                        "of the tool contact from a screw point", check=positive)
    belt: str | None = spec_field(None, doc="conveyor_inspection: the fixture that is the belt")
    belt_velocity: Vec2 = spec_field((0.0, 0.05), unit="m/s", doc="conveyor_inspection: the "
                                     "belt surface's (x, y) velocity (world)")
    reject: str | None = spec_field(None, doc="conveyor_inspection: the object the person "
                                    "removes from the belt")


@dataclass(frozen=True, kw_only=True)
class ScenarioSpec:
    """One collaboration cell: layout, robot, person, task and physics."""

    id: str = spec_field(doc="scenario name, equal to the file name without .yaml")
    version: int = spec_field(0, doc="Gymnasium id version: cobotsim/<Name>-v<version>",
                              check=in_range(0, 1000))
    description: str = spec_field("", doc="one line for listings")
    robots: tuple[str, ...] = spec_field(("panda",), doc="robots this scenario supports",
                                         check=non_empty)
    robot: RobotPlacement = spec_field(default_factory=RobotPlacement, doc="robot placement")
    fixtures: tuple[BodySpec, ...] = spec_field((), doc="fixed bodies (tables, fixtures)")
    objects: tuple[BodySpec, ...] = spec_field((), doc="movable bodies (parts)")
    human: HumanSpec = spec_field(default_factory=HumanSpec, doc="the person")
    task: TaskSpec = spec_field(default_factory=TaskSpec, doc="the task")
    physics: PhysicsSpec = spec_field(default_factory=PhysicsSpec, doc="physics and control rate")
    safety: SafetySpec = spec_field(default_factory=SafetySpec, doc="safety monitors")

    def __post_init__(self) -> None:
        if self.robot.id not in self.robots:
            raise ValueError(f"robot {self.robot.id!r} is not among the supported robots {list(self.robots)}")
        names = [b.name for b in self.fixtures + self.objects]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"body names must be unique; repeated: {dupes}")
        if self.task.part not in [b.name for b in self.objects]:
            raise ValueError(f"task.part {self.task.part!r} is not one of the objects {[b.name for b in self.objects]}")
        programs = TASK_PROGRAMS[self.task.kind]
        programs = (programs,) if isinstance(programs, str) else programs
        if self.human.motion.program not in programs:
            allowed = " or ".join(repr(p) for p in programs)
            raise ValueError(f"a {self.task.kind} task needs human.motion.program {allowed}, "
                             f"not {self.human.motion.program!r}")
        t, names = self.task, [b.name for b in self.fixtures + self.objects]
        need = {"shared_assembly": ("goal", "zone_lower", "zone_upper"), "crossing": ("goal",),
                "clamping": ("goal", "fixture"), "co_manipulation": ("tool_points",),
                "conveyor_inspection": ("goal", "belt", "reject")}.get(t.kind, ())
        missing = [k for k in need if not getattr(t, k)]
        if missing:
            raise ValueError(f"a {t.kind} task needs task.{', task.'.join(missing)}")
        for key in ("fixture", "belt", "reject"):
            if getattr(t, key) is not None and getattr(t, key) not in names:
                raise ValueError(f"task.{key} {getattr(t, key)!r} is not one of the bodies {names}")

    @property
    def gym_id(self) -> str:
        name = "".join(w.capitalize() for w in self.id.split("_"))
        return f"cobotsim/{name}-v{self.version}"
