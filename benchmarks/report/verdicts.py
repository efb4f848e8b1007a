"""Verdicts per configuration: power and force limiting per body region and area (each
contact kind apart), speed and separation monitoring, from the traces' safety tables.

PFL (ISO/TS 15066 Annex A): for every contact sample (``/safety/contacts``) the force
ratio F / F_lim and the pressure ratio p / p_lim against the limits of its area and kind
(transient or quasi-static) that the monitor recorded with it; a limit of 0 (transient
contact on the skull, forehead or face is not permitted) makes any positive value an
infinite ratio. Per configuration, area and kind: the highest force ratio and the highest
pressure ratio reached, the **risk index** (the larger of the two; the limit that gives
it *governs*), the **margin** 1 - risk index (negative: over the limit), and the
verdict: pass when the risk index is at most 1.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np

from benchmarks.metrics.stats import rate

KINDS = ("transient", "quasi_static")


@dataclass
class Worst:
    """The highest force and pressure ratios of one area and kind in one configuration,
    with the peak values (N, Pa) and their limits."""

    force_ratio: float = 0.0
    pressure_ratio: float = 0.0
    peak_force: float = 0.0          # N
    force_limit: float = math.nan    # N
    peak_pressure: float = 0.0       # Pa
    pressure_limit: float = math.nan  # Pa
    samples: int = 0
    episodes: set = field(default_factory=set)
    over: set = field(default_factory=set)

    @property
    def risk(self) -> float:
        return max(self.force_ratio, self.pressure_ratio)

    @property
    def governing(self) -> str:
        return "force" if self.force_ratio >= self.pressure_ratio else "pressure"

    @property
    def margin(self) -> float:
        return 1.0 - self.risk

    @property
    def passed(self) -> bool:
        return self.risk <= 1.0

    def merge(self, other: "Worst") -> None:
        if other.force_ratio > self.force_ratio or self.samples == 0:
            self.force_ratio, self.peak_force, self.force_limit = (
                other.force_ratio, other.peak_force, other.force_limit)
        if other.pressure_ratio > self.pressure_ratio or self.samples == 0:
            self.pressure_ratio, self.peak_pressure, self.pressure_limit = (
                other.pressure_ratio, other.peak_pressure, other.pressure_limit)
        self.samples += other.samples
        self.episodes |= other.episodes
        self.over |= other.over


def ratios(values: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """value / limit, infinite for a positive value against a zero limit, 0 for none."""
    values, limits = np.asarray(values, float), np.asarray(limits, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(limits > 0, values / np.where(limits > 0, limits, 1.0), np.inf)
    return np.where(values > 0, out, 0.0)


def side(human_link: str) -> str:
    """``left``, ``right`` or ``""`` (a link on the body's middle)."""
    return "left" if human_link.endswith("_left") else "right" if human_link.endswith("_right") else ""


@dataclass
class TraceFacts:
    """What the report keeps of one verified trace (the rest is re-read when needed)."""

    episode: str
    configuration: str
    worst: dict                      # (region, area_id, kind, side) -> Worst
    limits: list                     # /safety/limits rows as dicts
    limits_sha256: str
    contact_areas: dict              # robot link -> contact area (m²) the samples used
    attrs: dict                      # root attributes for provenance (no big ones)


def _worst(trace, episode: str) -> dict:
    out: dict = {}
    if "/safety/contacts" not in trace:
        return out
    table = trace["/safety/contacts"]
    if not len(table):
        return out
    force_r = ratios(table["force"], table["force_limit"])
    pressure_r = ratios(table["pressure"], table["pressure_limit"])
    keys = list(zip(table["region"], table["area_id"].astype(int), table["kind"],
                    [side(h) for h in table["human_link"]]))
    for key in dict.fromkeys(keys):
        rows = np.array([k == key for k in keys])
        i, j = np.argmax(np.where(rows, force_r, -1)), np.argmax(np.where(rows, pressure_r, -1))
        w = Worst(float(force_r[i]), float(pressure_r[j]), float(table["force"][i]),
                  float(table["force_limit"][i]), float(table["pressure"][j]),
                  float(table["pressure_limit"][j]), int(rows.sum()), {episode})
        if w.risk > 1.0:
            w.over.add(episode)
        out[(str(key[0]), int(key[1]), str(key[2]), key[3])] = w
    return out


def _limits(trace) -> tuple[list, str]:
    if "/safety/limits" not in trace:
        return [], ""
    table = trace["/safety/limits"]
    rows = [{name: (v.item() if hasattr(v, "item") else v) for name, v in zip(table.dtype.names, r)}
            for r in table]
    text = json.dumps(rows, sort_keys=True, default=str)
    return rows, hashlib.sha256(text.encode("utf-8")).hexdigest()


PROVENANCE_ATTRS = ("scenario", "robot", "policy", "seed", "software_version", "pybullet_build",
                    "numpy_version", "python_version", "control_rate", "physics_time_step",
                    "safety_config", "shields", "overrides", "suite", "configuration",
                    "human_body", "scenario_spec", "policy_latency")


def trace_facts(trace, configuration: str) -> TraceFacts:
    """The facts of one trace (its episode's id from the trace's own attributes)."""
    a = trace.attrs
    episode = a.get("episode") or trace.path.stem
    limits, digest = _limits(trace)
    areas = {}
    if "/safety/contacts" in trace and len(trace["/safety/contacts"]):
        table = trace["/safety/contacts"]
        for link, area in zip(table["robot_link"], table["contact_area"]):
            areas[str(link)] = float(area)
    return TraceFacts(episode, configuration, _worst(trace, episode), limits, digest, areas,
                      {k: a[k] for k in PROVENANCE_ATTRS if k in a})


def pfl_table(facts: list[TraceFacts]) -> dict[str, dict]:
    """``{configuration: {(region, area_id, kind): Worst}}`` over both sides of the body."""
    out: dict = {}
    for f in facts:
        for (region, area, kind, _), w in f.worst.items():
            target = out.setdefault(f.configuration, {}).setdefault((region, area, kind), Worst())
            target.merge(w)
    return out


def body_map_values(facts: list[TraceFacts], configuration: str) -> dict[tuple[int, str], float]:
    """``{(area_id, side): worst risk index}`` of one configuration, both kinds; a link on
    the body's middle gives ``side`` ""."""
    out: dict = {}
    for f in facts:
        if f.configuration != configuration:
            continue
        for (_, area, _, s), w in f.worst.items():
            out[(area, s)] = max(out.get((area, s), 0.0), w.risk)
    return out


def area_rate(w: Worst, ended: int) -> dict:
    """Episodes over the limit at this area, of the configuration's ended episodes, with
    the Wilson interval."""
    return rate(len(w.over), ended)


def ssm_rows(summary: dict, rows: list[dict]) -> dict[str, dict]:
    """Per configuration: the episodes with the separation monitor, the worst and median
    minimum margin (m), the time below S_p (s: total, median and largest per episode) and
    the rate of episodes with a separation violation."""
    out = {}
    for name, s in summary["configurations"].items():
        mine = [r for r in rows if r["configuration"] == name and r["status"] == "complete"
                and not math.isnan(r["min_ssm_margin_m"])]
        below = np.array([r["time_below_sp_s"] for r in mine], float)
        events = sum(r["ssm_events"] for r in mine)
        out[name] = {"monitored": len(mine), "margin": s["spread"]["min_ssm_margin_m"],
                     "min_separation": s["spread"]["min_separation_m"],
                     "below_total": float(below.sum()) if below.size else math.nan,
                     "below_median": float(np.median(below)) if below.size else math.nan,
                     "below_max": float(below.max()) if below.size else math.nan,
                     "events": events, "rate": s["rates"]["ssm_violation"]}
    return out
