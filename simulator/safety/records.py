"""Records the safety monitors emit: samples (one per monitor step) and events (one per
interval in which something happened). Each is a frozen dataclass with ``as_record()``
giving plain values for traces and ``info["safety"]``; units in :data:`UNITS`."""
from __future__ import annotations

import math
from dataclasses import dataclass


def ratio_to_limits(force: float, pressure: float, force_limit: float,
                    pressure_limit: float) -> float:
    """max(F/F_lim, p/p_lim); a zero limit (contact not permitted) gives inf for any
    positive value, and 0 when the value is not positive."""
    def one(value, limit):
        if value <= 0.0:
            return 0.0
        return math.inf if limit <= 0.0 else value / limit
    return max(one(force, force_limit), one(pressure, pressure_limit))


class _Record:
    def as_record(self) -> dict:
        """A flat dict of the fields (SI units; see ``UNITS``) for ``info`` and traces."""
        # field by field: the fields are scalars, and dataclasses.asdict deep-copies
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ContactSample(_Record):
    """One (robot link, human link) pair in contact after one physics step."""

    t: float                  # s
    robot_link: str
    human_link: str
    region: str
    area_id: int
    kind: str                 # transient | quasi_static
    force: float              # N, summed normal force
    pressure: float           # Pa, force / contact_area
    contact_area: float       # m², from the robot link's ContactSurface
    force_limit: float        # N (0: contact not permitted)
    pressure_limit: float     # Pa
    ratio: float              # max(F_link/F_lim, p/p_lim), inf where the limit is 0
    link_force: float = 0.0   # N, F_link: every robot part's force on the human link


@dataclass(frozen=True)
class ContactEvent(_Record):
    """One continuous contact of a pair; limits and ratio of its worst sample."""

    start: float              # s
    end: float                # s, last substep in contact
    robot_link: str
    human_link: str
    region: str
    area_id: int
    kind: str                 # quasi_static if it ever was
    peak_force: float         # N
    peak_pressure: float      # Pa
    force_limit: float        # N, of the worst sample
    pressure_limit: float     # Pa
    peak_ratio: float
    violated: bool            # peak_ratio > 1


@dataclass(frozen=True)
class ImpactPrediction(_Record):
    """The two-body prediction at the onset of a contact, from the state just before it."""

    t: float                  # s, first substep in contact
    robot_link: str
    human_link: str
    region: str
    area_id: int
    relative_speed: float     # m/s along the normal, > 0 approaching
    reflected_mass: float     # kg, 1/(nᵀ J M⁻¹ Jᵀ n) at the contact point
    standard_mass: float      # kg, M/2 + m_L
    predicted_force: float    # N, v·sqrt(μk) with the reflected mass
    predicted_force_standard: float  # N, with M/2 + m_L
    transient_force_limit: float     # N (0: transient contact not permitted)


@dataclass(frozen=True)
class SpeedLimitSample(_Record):
    """Per control step: the largest permitted relative speed towards the nearest region."""

    t: float                  # s
    robot_link: str
    human_link: str
    region: str
    area_id: int
    kind: str                 # limits used: transient, or quasi_static if it would clamp
    distance: float           # m, robot-person separation (< 0: penetrating)
    approach_speed: float     # m/s, relative speed along robot -> person
    reflected_mass: float     # kg
    standard_mass: float      # kg
    v_rel_max: float          # m/s, with the reflected mass
    v_rel_max_standard: float  # m/s, with M/2 + m_L
    ratio: float              # approach_speed / v_rel_max


UNITS = {"t": "s", "start": "s", "end": "s", "force": "N", "pressure": "Pa",
         "contact_area": "m²", "link_force": "N", "force_limit": "N", "pressure_limit": "Pa", "peak_force": "N",
         "peak_pressure": "Pa", "relative_speed": "m/s", "reflected_mass": "kg",
         "standard_mass": "kg", "predicted_force": "N", "predicted_force_standard": "N",
         "transient_force_limit": "N", "distance": "m", "approach_speed": "m/s",
         "v_rel_max": "m/s", "v_rel_max_standard": "m/s", "ratio": "1", "peak_ratio": "1"}
