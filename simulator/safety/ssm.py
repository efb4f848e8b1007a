"""Speed and separation monitoring (SSM): the protective separation distance, pure math.

Restates ISO/TS 15066:2016 clause 5.5.4 (see ``docs/safety-monitors.md`` and the
sources in ``standards/ssm.md``). All quantities are SI: metres, seconds, m/s, m/s².
Speeds are *directed* speeds, non-negative: ``v_h`` is the person's speed towards the
robot, ``v_r`` the robot's speed towards the person. With the constant-speed reading of
the standard (the speeds stay what they are now during the stop)::

    S_p = S_h + S_r + S_s + C + Z_d + Z_r
    S_h = v_h · (T_r + T_s)      person, during reaction and stop
    S_r = v_r · T_r              robot, during the reaction time (still at speed)
    S_s = stopping distance      robot, while braking

Two braking models give T_s and S_s at the robot's speed:

* ``"stopping_data"``: the robot's measured stopping time and distance
  (ISO 10218-1 Annex B), linearly interpolated at the current speed (:class:`StoppingData`).
* ``"constant_deceleration"`` with a_s: ``T_s = v_r / a_s``, ``S_s = v_r² / (2 a_s)``
  (the braking-only form, source S8). a_s must be the *smallest* deceleration
  measured over the stop tests (:meth:`StoppingData.conservative_deceleration`), or S_p
  is optimistic. The variant after Pupa et al. (source S1),
  ``S_s = v_r·T_s + a_max·T_s²/2``, assumes the robot may still accelerate while it
  stops; it is larger and is **not** used here: measured stopping data already contain
  what the robot really does while it stops.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HUMAN_SPEED_ISO13855 = 1.6   # m/s: walking speed assumed when the person is not tracked
BRAKING_MODELS = ("stopping_data", "constant_deceleration")


class StoppingRangeError(ValueError):
    """A speed beyond the measured stopping data was looked up."""


def _check_non_negative(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


@dataclass(frozen=True)
class StoppingData:
    """Measured stopping behaviour: at robot speed ``speeds[i]`` (m/s, increasing) the
    robot stops within ``times[i]`` (s) over ``distances[i]`` (m).

    Between rows T_s and S_s are linearly interpolated. Below the first row the first
    row's values are used (an upper bound, since both columns must be non-decreasing).
    Above the last row a lookup raises :class:`StoppingRangeError` (no number is made up
    beyond what was measured) unless asked to ``extrapolate``: then the stop goes on from
    the last row at the table's smallest mean deceleration a = min v²/(2 S_s)
    (:meth:`conservative_deceleration`): T_s = T_last + (v − v_last)/a and
    S_s = S_last + (v² − v_last²)/(2a). The monitor extrapolates, and says so in its sample
    (``stopping_extrapolated``); ``cobotsim assess`` refuses.
    """

    speeds: tuple[float, ...]
    times: tuple[float, ...]
    distances: tuple[float, ...]

    def __post_init__(self) -> None:
        cols = {"speeds": self.speeds, "times": self.times, "distances": self.distances}
        for name, col in cols.items():
            checked = (_check_non_negative(f"stopping data {name}[{i}]", v)
                       for i, v in enumerate(col))
            object.__setattr__(self, name, tuple(checked))
        if len({len(c) for c in cols.values()}) != 1 or len(self.speeds) < 2:
            raise ValueError("stopping data need at least two rows and columns of equal length "
                             f"(speeds {len(self.speeds)}, times {len(self.times)}, "
                             f"distances {len(self.distances)})")
        if np.any(np.diff(self.speeds) <= 0):
            raise ValueError(f"stopping data speeds must increase strictly, got {self.speeds}")
        for name in ("times", "distances"):
            if np.any(np.diff(cols[name]) < 0):
                raise ValueError(f"stopping data {name} must not decrease with speed, "
                                 f"got {getattr(self, name)}")

    @classmethod
    def from_rows(cls, rows) -> "StoppingData":
        """From ``[(speed m/s, time s, distance m), ...]`` sorted by speed."""
        speeds, times, distances = zip(*rows)
        return cls(speeds, times, distances)

    @property
    def max_speed(self) -> float:
        """The highest speed the table covers, m/s."""
        return self.speeds[-1]

    def at(self, speed: float, extrapolate: bool = False) -> tuple[float, float]:
        """Stopping time (s) and distance (m) at robot ``speed`` (m/s)."""
        speed = _check_non_negative("robot speed", speed)
        if speed > self.speeds[-1] and extrapolate:
            a = self.conservative_deceleration()
            v0 = self.speeds[-1]
            return (self.times[-1] + (speed - v0) / a,
                    self.distances[-1] + (speed * speed - v0 * v0) / (2.0 * a))
        if speed > self.speeds[-1]:
            raise StoppingRangeError(
                f"robot speed {speed:.4f} m/s is beyond the stopping data, which cover "
                f"{self.speeds[0]:g}-{self.speeds[-1]:g} m/s; measure the stop at this speed")
        return (float(np.interp(speed, self.speeds, self.times)),
                float(np.interp(speed, self.speeds, self.distances)))

    def conservative_deceleration(self) -> float:
        """The smallest mean deceleration v²/(2 S_s) over the rows with v > 0 (m/s²): the
        a_s to use with the constant-deceleration model."""
        rows = zip(self.speeds, self.distances)
        return min(v * v / (2.0 * s) for v, s in rows if v > 0 and s > 0)


@dataclass(frozen=True)
class SsmParameters:
    """The safety block of SSM. Times in s, distances in m, speeds in m/s.

    Args:
        reaction_time: T_r, from detecting the person to triggering the stop.
        braking: ``"stopping_data"`` (needs ``stopping``) or ``"constant_deceleration"``
            (needs ``deceleration``).
        stopping: the robot's measured stopping data.
        deceleration: a_s in m/s² for the constant-deceleration model.
        intrusion_distance: C, reach of a body part past the sensing field (ISO 13855).
        human_uncertainty: Z_d, position uncertainty of the person (sensor tolerance).
        robot_uncertainty: Z_r, position uncertainty of the robot.
        human_speed_default: v_h assumed when the person is not tracked (ISO 13855: 1.6).
    """

    reaction_time: float
    braking: str = "stopping_data"
    stopping: StoppingData | None = None
    deceleration: float | None = None
    intrusion_distance: float = 0.0
    human_uncertainty: float = 0.0
    robot_uncertainty: float = 0.0
    human_speed_default: float = HUMAN_SPEED_ISO13855

    def __post_init__(self) -> None:
        for name in ("reaction_time", "intrusion_distance", "human_uncertainty",
                     "robot_uncertainty", "human_speed_default"):
            object.__setattr__(self, name, _check_non_negative(name, getattr(self, name)))
        if self.braking not in BRAKING_MODELS:
            raise ValueError(f"braking must be one of {BRAKING_MODELS}, got {self.braking!r}")
        if self.braking == "stopping_data" and not isinstance(self.stopping, StoppingData):
            raise ValueError("stopping: braking 'stopping_data' needs StoppingData, "
                             f"got {self.stopping!r}")
        if self.braking == "constant_deceleration":
            a = self.deceleration
            if a is None or not (math.isfinite(float(a)) and float(a) > 0):
                raise ValueError(f"deceleration must be a number > 0 (m/s²) for braking "
                                 f"'constant_deceleration', got {a!r}")
            object.__setattr__(self, "deceleration", float(a))

    @property
    def uncertainty(self) -> float:
        """C + Z_d + Z_r, m: the part of S_p that does not depend on speed."""
        return self.intrusion_distance + self.human_uncertainty + self.robot_uncertainty

    def stopping_at(self, speed: float, extrapolate: bool = False) -> tuple[float, float]:
        """Stopping time T_s (s) and distance S_s (m) at robot ``speed`` (m/s); beyond
        measured stopping data only with ``extrapolate`` (:class:`StoppingData`)."""
        if self.braking == "stopping_data":
            return self.stopping.at(speed, extrapolate)
        speed = _check_non_negative("robot speed", speed)
        return speed / self.deceleration, speed * speed / (2.0 * self.deceleration)


@dataclass(frozen=True)
class SsmTerms:
    """The terms of S_p (m) and the stopping time used (s); ``s_p`` is their sum."""

    s_h: float
    s_r: float
    s_s: float
    c: float
    z_d: float
    z_r: float
    t_s: float
    s_p: float

    def as_dict(self) -> dict[str, float]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def protective_distance(v_h: float, v_r: float, params: SsmParameters,
                        stopping_speed: float | None = None,
                        extrapolate: bool = False) -> SsmTerms:
    """S_p (m) and its terms for the person approaching at ``v_h`` and the robot at
    ``v_r`` (directed speeds, m/s, >= 0). Stopping time and distance are looked up at
    ``stopping_speed`` (m/s; default ``v_r``, the standard's directed reading), beyond the
    stopping data only with ``extrapolate``."""
    v_h = _check_non_negative("v_h", v_h)
    v_r = _check_non_negative("v_r", v_r)
    t_s, s_s = params.stopping_at(v_r if stopping_speed is None else stopping_speed,
                                  extrapolate)
    t_r = params.reaction_time
    s_h, s_r = v_h * (t_r + t_s), v_r * t_r
    c, z_d, z_r = params.intrusion_distance, params.human_uncertainty, params.robot_uncertainty
    return SsmTerms(s_h, s_r, s_s, c, z_d, z_r, t_s, s_h + s_r + s_s + c + z_d + z_r)


def max_robot_speed(distance: float, v_h: float, params: SsmParameters) -> float:
    """The largest directed robot speed (m/s) for which S_p <= ``distance`` (m) with the
    person approaching at ``v_h`` (m/s); 0 when even a standing robot is too close.

    Constant deceleration: the exact inverse (S8), with b = a_s·T_r + v_h,
    ``v_r,max = sqrt(b² + 2 a_s (d − C − Z_d − Z_r − v_h·T_r)) − b``.
    Stopping data: S_p is non-decreasing in v_r, so the inverse is found by bisection
    (to 1e-12 m/s) within the table; the table's top speed when even that is allowed.
    """
    v_h = _check_non_negative("v_h", v_h)
    free = float(distance) - params.uncertainty - v_h * params.reaction_time
    if params.braking == "constant_deceleration":
        a = params.deceleration
        b = a * params.reaction_time + v_h
        return max(0.0, math.sqrt(b * b + 2.0 * a * free) - b) if free > 0 else 0.0

    def fits(v: float) -> bool:
        return protective_distance(v_h, v, params).s_p <= distance

    lo, hi = 0.0, params.stopping.max_speed
    if not fits(lo):
        return 0.0
    if fits(hi):
        return hi
    while hi - lo > 1e-12:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo
