"""TCP speed monitoring, per control step: a global speed limit and speed or keep-out
zones. Positions are in m in the world frame, speeds in m/s, times in s."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

REDUCED_SPEED = 0.25  # m/s: the reduced speed of ISO 10218-1 (5.5.3), an optional limit


@dataclass(frozen=True)
class SpeedZone:
    """An axis-aligned box (corners ``lower``, ``upper`` in m, world) in which the TCP
    must stay below ``speed_limit`` (m/s) or, with ``keep_out``, must not be at all."""

    name: str
    lower: tuple
    upper: tuple
    speed_limit: float | None = None
    keep_out: bool = False

    def __post_init__(self) -> None:
        lo, hi = np.asarray(self.lower, float), np.asarray(self.upper, float)
        if lo.shape != (3,) or hi.shape != (3,) or not np.all(lo < hi):
            raise ValueError(f"zone {self.name!r}: lower {self.lower} must be below upper "
                             f"{self.upper} on every axis (3 values each, m)")
        if self.keep_out == (self.speed_limit is not None):
            raise ValueError(f"zone {self.name!r}: give either speed_limit or keep_out")
        if self.speed_limit is not None and not self.speed_limit >= 0:
            raise ValueError(f"zone {self.name!r}: speed_limit must be >= 0 m/s")

    def contains(self, point) -> bool:
        p = np.asarray(point, float)
        return bool(np.all(p >= self.lower) and np.all(p <= self.upper))


@dataclass(frozen=True)
class SpeedSample:
    """TCP position (m) and speed (m/s) at ``time`` (s), the zones it is in, the
    smallest speed limit that applies (None: none) and what is violated."""

    time: float
    tcp_position: tuple
    tcp_speed: float
    zones: tuple[str, ...]
    limit: float | None
    violations: tuple[str, ...]

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class SpeedEvent:
    """An interval [start, end) s of one violation: ``kind`` is ``speed_limit`` (the
    global limit), ``zone_speed`` or ``keep_out`` (of ``zone``); peak TCP speed in m/s."""

    kind: str
    zone: str | None
    start: float
    end: float
    peak_speed: float
    limit: float | None

    def as_dict(self) -> dict:
        return {"monitor": "speed", **asdict(self)}


class SpeedMonitor:
    """TCP speed against an optional global ``limit`` (m/s; e.g. :data:`REDUCED_SPEED`)
    and speed or keep-out ``zones``. ``robot`` has ``ee_pose()`` and ``ee_velocity()``."""

    def __init__(self, robot, limit: float | None = None, zones=()) -> None:
        if limit is not None and not limit >= 0:
            raise ValueError(f"limit must be >= 0 m/s, got {limit!r}")
        self.robot, self.limit, self.zones = robot, limit, tuple(zones)
        self.events: list[SpeedEvent] = []
        self._new: list[SpeedEvent] = []
        self._open: dict[tuple, dict] = {}

    def on_control_step(self, t: float, dt: float) -> SpeedSample:
        """Sample the TCP at the end of the control step [t, t + dt) (s)."""
        time = t + dt
        pos = self.robot.ee_pose()[0]
        speed = float(np.linalg.norm(self.robot.ee_velocity()[0]))
        inside = [z for z in self.zones if z.contains(pos)]
        active: dict[tuple, float | None] = {}
        if self.limit is not None and speed > self.limit:
            active[("speed_limit", None)] = self.limit
        for z in inside:
            if z.keep_out:
                active[("keep_out", z.name)] = None
            elif speed > z.speed_limit:
                active[("zone_speed", z.name)] = z.speed_limit
        for key in [k for k in self._open if k not in active]:
            self._close(key, time)
        for key, limit in active.items():
            o = self._open.setdefault(key, {"start": time, "peak_speed": 0.0, "limit": limit})
            o["peak_speed"] = max(o["peak_speed"], speed)
        limits = [l for l in [self.limit] + [z.speed_limit for z in inside] if l is not None]
        return SpeedSample(time, tuple(pos), speed, tuple(z.name for z in inside),
                           min(limits) if limits else None, tuple(k[0] for k in active))

    def _close(self, key: tuple, end: float) -> None:
        event = SpeedEvent(key[0], key[1], end=float(end), **self._open.pop(key))
        self.events.append(event)
        self._new.append(event)

    def finish(self, t: float) -> None:
        """End of episode at ``t`` (s): close every open violation."""
        for key in list(self._open):
            self._close(key, t)

    def pop_events(self) -> list[SpeedEvent]:
        """The events closed since the last call."""
        new, self._new = self._new, []
        return new
