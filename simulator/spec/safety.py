"""The ``safety`` block of a scenario: which monitors run and with what parameters.

Times in s, distances in m, speeds in m/s, decelerations in m/s². The numbers of the
standards (limits per body region, S_p formula) are not configured here: they come from
``data/iso_ts_15066`` and ``simulator.safety``; this block holds the cell's own
parameters (reaction time, sensor uncertainty, speed limits, zones).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simulator.spec.schema import non_negative, positive, spec_field

Vec3 = tuple[float, float, float]


@dataclass(frozen=True, kw_only=True)
class ContactMonitorSpec:
    """Power and force limiting: contact force and pressure per body region."""

    enabled: bool = spec_field(True, doc="run the contact monitor")
    transient_window: float = spec_field(0.5, unit="s", doc="a contact lasting longer is "
                                         "quasi-static (measurement practice, not a number "
                                         "of ISO/TS 15066)", check=positive)


@dataclass(frozen=True, kw_only=True)
class SeparationSpec:
    """Speed and separation monitoring: S_p = S_h + S_r + S_s + C + Z_d + Z_r."""

    enabled: bool = spec_field(True, doc="run the separation monitor")
    tracked: bool = spec_field(True, doc="the person's speed is measured; false: assume "
                               "human_speed towards the robot")
    human_speed: float = spec_field(1.6, unit="m/s", doc="assumed speed of an untracked "
                                    "person (ISO 13855)", check=non_negative)
    reaction_time: float = spec_field(0.1, unit="s", doc="T_r: detection, processing and "
                                      "stop trigger", check=non_negative)
    intrusion_distance: float = spec_field(0.0, unit="m", doc="C (ISO 13855)",
                                           check=non_negative)
    human_uncertainty: float = spec_field(0.0, unit="m", doc="Z_d: person position "
                                          "uncertainty", check=non_negative)
    robot_uncertainty: float = spec_field(0.0, unit="m", doc="Z_r: robot position "
                                          "uncertainty", check=non_negative)
    deceleration: float | None = spec_field(None, unit="m/s²", doc="a_s for a constant-"
                                            "deceleration stop; null: the robot's stopping "
                                            "data", check=positive)


@dataclass(frozen=True, kw_only=True)
class ZoneSpec:
    """An axis-aligned box of the cell where the TCP is slowed down or kept out."""

    name: str = spec_field(doc="zone name, for events")
    lower: Vec3 = spec_field(unit="m", doc="corner with the smallest x, y, z (world)")
    upper: Vec3 = spec_field(unit="m", doc="corner with the largest x, y, z (world)")
    speed_limit: float | None = spec_field(None, unit="m/s", doc="TCP speed limit inside; "
                                           "null with keep_out", check=non_negative)
    keep_out: bool = spec_field(False, doc="the TCP must not enter")

    def __post_init__(self) -> None:
        if any(lo >= hi for lo, hi in zip(self.lower, self.upper)):
            raise ValueError(f"zone {self.name!r}: lower {list(self.lower)} must be below "
                             f"upper {list(self.upper)} on every axis")
        if self.keep_out == (self.speed_limit is not None):
            raise ValueError(f"zone {self.name!r}: give either speed_limit or keep_out: true")


@dataclass(frozen=True, kw_only=True)
class SpeedSpec:
    """TCP speed limits."""

    enabled: bool = spec_field(True, doc="run the speed monitor")
    limit: float | None = spec_field(None, unit="m/s", doc="TCP speed limit everywhere; "
                                     "null: none", check=positive)
    reduced_speed: bool = spec_field(False, doc="apply the 0.25 m/s reduced speed of "
                                     "ISO 10218-1 (overrides limit)")
    zones: tuple[ZoneSpec, ...] = spec_field((), doc="speed and keep-out zones")


@dataclass(frozen=True, kw_only=True)
class SsmShieldSpec:
    """Speed and separation monitoring as a safety function: slow the robot so that the
    separation stays at or above S_p; stop when even a standing robot is too close."""

    enabled: bool = spec_field(False, doc="run the shield (needs the separation monitor)")
    margin: float = spec_field(0.0, unit="m", doc="extra distance kept beyond S_p",
                               check=non_negative)
    stop_category: Literal[1, 2] = spec_field(2, doc="protective stop category (IEC 60204-1): "
                                              "2 resumes as soon as the separation allows, 1 "
                                              "only after restart_delay of clear separation")
    restart_delay: float = spec_field(0.5, unit="s", doc="category 1: clear time before the "
                                      "robot may move again", check=non_negative)


@dataclass(frozen=True, kw_only=True)
class PflShieldSpec:
    """Power and force limiting as a safety function: cap the robot's speed towards the
    nearest body region at the region's permitted relative speed v_rel,max."""

    enabled: bool = spec_field(False, doc="run the shield (needs the contact monitor)")
    factor: float = spec_field(1.0, doc="fraction of v_rel,max allowed (1: the limit itself)",
                               check=positive)


@dataclass(frozen=True, kw_only=True)
class ContactStopShieldSpec:
    """A cobot's collision detection: a protective stop when the measured contact force
    exceeds a threshold, effective after the detection and reaction times."""

    enabled: bool = spec_field(False, doc="run the shield (needs the contact monitor)")
    force_threshold: float = spec_field(50.0, unit="N", doc="contact force that triggers the "
                                        "stop", check=positive)
    detection_time: float = spec_field(0.002, unit="s", doc="from the force crossing the "
                                       "threshold to the detection", check=non_negative)
    reaction_time: float = spec_field(0.02, unit="s", doc="from the detection to the stop "
                                      "command reaching the drives", check=non_negative)
    hold_time: float = spec_field(0.5, unit="s", doc="the robot stays stopped this long after "
                                  "the last contact", check=non_negative)
    reaction: Literal["stop", "retract"] = spec_field("retract", doc="stop: hold where the "
                                                      "stop finds the arm; retract: go back along "
                                                      "the path of the last retract_time and hold "
                                                      "there (releases a pinched body part)")
    retract_time: float = spec_field(0.1, unit="s", doc="retract: how far back along the "
                                     "commanded path, in time", check=non_negative)


@dataclass(frozen=True, kw_only=True)
class ZoneSpeedShieldSpec:
    """Reduced speed inside a zone: cap the TCP speed at the speed block's limits (the
    global limit or reduced speed, and each zone's speed_limit) and stop before a keep-out
    zone."""

    enabled: bool = spec_field(False, doc="run the shield (uses safety.speed's limits and zones)")


@dataclass(frozen=True, kw_only=True)
class ShieldsSpec:
    """Safety functions acting on the robot command (docs/safety-monitors.md, shields)."""

    ssm: SsmShieldSpec = spec_field(default_factory=SsmShieldSpec, doc="speed and separation")
    pfl: PflShieldSpec = spec_field(default_factory=PflShieldSpec, doc="power and force limiting")
    contact_stop: ContactStopShieldSpec = spec_field(default_factory=ContactStopShieldSpec,
                                                     doc="protective stop on contact")
    zone_speed: ZoneSpeedShieldSpec = spec_field(default_factory=ZoneSpeedShieldSpec,
                                                 doc="reduced speed inside zones")

    @property
    def enabled(self) -> list[str]:
        """Names of the shields switched on."""
        return [n for n in SHIELD_NAMES if getattr(self, n).enabled]


SHIELD_NAMES = ("ssm", "pfl", "contact_stop", "zone_speed")


@dataclass(frozen=True, kw_only=True)
class SafetySpec:
    """The monitors of the cell, its safety functions (shields) and what a violation does."""

    contact: ContactMonitorSpec = spec_field(default_factory=ContactMonitorSpec,
                                             doc="contact force and pressure monitor")
    separation: SeparationSpec = spec_field(default_factory=SeparationSpec,
                                            doc="speed and separation monitor")
    speed: SpeedSpec = spec_field(default_factory=SpeedSpec, doc="TCP speed monitor")
    terminate_on_violation: bool = spec_field(False, doc="end the episode at the first "
                                              "step with a violation")
    shields: ShieldsSpec = spec_field(default_factory=ShieldsSpec, doc="safety functions "
                                      "acting on the robot command")

    def __post_init__(self) -> None:
        needs = {"ssm": ("separation", self.separation.enabled),
                 "pfl": ("contact", self.contact.enabled),
                 "contact_stop": ("contact", self.contact.enabled)}
        for name, (monitor, running) in needs.items():
            if getattr(self.shields, name).enabled and not running:
                raise ValueError(f"shields.{name} needs the {monitor} monitor: set "
                                 f"safety.{monitor}.enabled: true")
