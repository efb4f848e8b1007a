"""One row of the episode table, computed from a trace file alone.

Everything comes from what docs/trace-format.md documents (root attributes, per-step
datasets, the safety tables), so any trace, of a suite or of ``cobotsim run``, can be
judged again later, and the same file gives the same row. :data:`COLUMNS` lists every
column with its type; docs/benchmarks.md says what each means. Columns of a monitor that
did not run are NaN; :data:`VOLATILE` columns are wall-clock times that differ between
two runs of the same episode.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from simulator.spec.safety import SHIELD_NAMES
from simulator.traces import Trace, read_trace

COLUMNS: dict[str, type] = {
    "episode": str, "configuration": str, "scenario": str, "robot": str, "policy": str,
    "shields": str, "latency": str, "seed": int,
    "person_body": str, "person_height_m": float, "person_mass_kg": float,
    "status": str, "error": str, "success": bool, "violated": bool, "safe": bool,
    "steps": int, "sim_time_s": float, "cycle_time_s": float,
    "min_separation_m": float, "min_ssm_margin_m": float, "time_below_sp_s": float,
    "ssm_events": int, "max_tcp_speed_m_s": float, "speed_events": int,
    "contact_events": int, "contact_violations": int, "worst_contact_ratio": float,
    "transient_events": int, "transient_worst_ratio": float,
    "quasi_static_events": int, "quasi_static_worst_ratio": float, "contact_regions": str,
    "shield_interventions": int, "shield_time_s": float, "shield_stop_time_s": float,
    "policy_calls": int, "policy_compute_mean_s": float, "policy_compute_max_s": float,
    "wall_time_s": float, "trace": str,
}
VOLATILE = ("policy_compute_mean_s", "policy_compute_max_s", "wall_time_s")
NAN = float("nan")


def empty_row(**identity) -> dict:
    """A row with every column unknown (NaN, 0, False, "") except ``identity``."""
    blank = {float: NAN, int: 0, bool: False, str: ""}
    row = {name: blank[kind] for name, kind in COLUMNS.items()}
    unknown = set(identity) - set(COLUMNS)
    if unknown:
        raise KeyError(f"unknown episode columns {sorted(unknown)}")
    row.update(identity)
    return row


def shields_label(names) -> str:
    """Shield names joined with '+' in the catalogue's order; ``none`` for none."""
    return "+".join(n for n in SHIELD_NAMES if n in set(names)) or "none"


def _json_attr(trace: Trace, name: str) -> dict:
    try:
        return json.loads(trace.attrs.get(name) or "{}")
    except ValueError:
        return {}


def _nanmin(values) -> float:
    values = np.asarray(values, float)
    finite = values[~np.isnan(values)]
    return float(finite.min()) if finite.size else NAN


def _steps_where(mask, rate: float) -> float:
    """Simulated time (s) of the control steps where ``mask`` holds."""
    return float(np.count_nonzero(mask)) / rate


def identity(trace: Trace) -> dict:
    """The columns that say which episode this is and how it ended."""
    a = trace.attrs
    person = _json_attr(trace, "person")
    configuration = str(a.get("configuration", ""))
    episode = a.get("episode") or f"{configuration}/{a.get('scenario')}/{a.get('robot')}/{a.get('seed')}"
    success = bool(a.get("success", False)) and a.get("status") == "complete"
    return {"episode": episode, "configuration": configuration,
            "scenario": str(a.get("scenario", "")), "robot": str(a.get("robot", "")),
            "policy": str(a.get("policy", "")),
            "shields": shields_label(_json_attr(trace, "shields")),  # the ones that ran
            "latency": str(a.get("policy_latency", "0")), "seed": int(a.get("seed", -1)),
            "person_body": str(person.get("body", a.get("human_body", ""))),
            "person_height_m": float(person.get("height") or NAN),
            "person_mass_kg": float(person.get("mass") or NAN),
            "status": str(a.get("status", "")), "error": str(a.get("error", "")),
            "success": success, "steps": int(a.get("n_steps", 0)),
            "sim_time_s": float(a.get("sim_time", NAN)),
            "cycle_time_s": float(a.get("sim_time", NAN)) if success else NAN,
            "wall_time_s": float(a.get("wall_time", NAN))}


def separation(trace: Trace, rate: float) -> dict:
    """Minimum separation and SSM margin (m), time below S_p (s), TCP speed (m/s)."""
    margin = trace["/safety/ssm/margin"] if "/safety/ssm/margin" in trace else np.array([])
    below = ~np.isnan(margin) & (margin < 0)
    ran = margin.size > 0 and not np.all(np.isnan(margin))
    return {"min_separation_m": _nanmin(trace["/safety/ssm/distance"])
            if "/safety/ssm/distance" in trace else NAN,
            "min_ssm_margin_m": _nanmin(margin),
            "time_below_sp_s": _steps_where(below, rate) if ran else NAN,
            "max_tcp_speed_m_s": -_nanmin(-trace["/safety/speed/tcp_speed"])
            if "/safety/speed/tcp_speed" in trace else NAN}


def contacts(trace: Trace) -> dict:
    """Contact (``pfl``) events: counts and worst force/pressure ratio, by kind and body
    region; events of the other monitors; NaN ratios when the contact monitor was off."""
    events = trace["/safety/events"] if "/safety/events" in trace else np.array([])
    monitor = events["monitor"] if len(events) else np.array([], dtype=object)
    pfl = events[monitor == "pfl"] if len(events) else events
    contact_ran = _json_attr(trace, "safety_config").get("contact", {}).get("enabled", False)
    zero = 0.0 if contact_ran else NAN

    def worst(rows) -> float:
        return float(np.max(rows["value"])) if len(rows) else zero

    row = {"ssm_events": int(np.count_nonzero(monitor == "ssm")),
           "speed_events": int(np.count_nonzero(monitor == "speed")),
           "contact_events": int(len(pfl)),
           "contact_violations": int(np.count_nonzero(pfl["violated"])) if len(pfl) else 0,
           "worst_contact_ratio": worst(pfl)}
    for kind in ("transient", "quasi_static"):
        of_kind = pfl[pfl["kind"] == kind] if len(pfl) else pfl
        row[f"{kind}_events"] = int(len(of_kind))
        row[f"{kind}_worst_ratio"] = worst(of_kind)
    regions = sorted(set(pfl["region"])) if len(pfl) else []
    row["contact_regions"] = ";".join(
        f"{r}:{np.count_nonzero(pfl['region'] == r)}:{worst(pfl[pfl['region'] == r]):.3g}"
        for r in regions)
    pfl_violated = row["contact_violations"] > 0
    row["violated"] = bool(pfl_violated or row["ssm_events"] or row["speed_events"])
    return row


def shields_and_policy(trace: Trace, rate: float) -> dict:
    """Shield interventions and the time (s) the shields slowed or stopped the robot;
    policy calls and compute time (s, wall-clock)."""
    scale = trace["/safety/shield_scale"] if "/safety/shield_scale" in trace else np.ones(0)
    called = trace["/policy/called"].astype(bool) if "/policy/called" in trace else np.zeros(0, bool)
    compute = (trace["/policy/compute_time"][called] if "/policy/compute_time" in trace
               else np.zeros(0))
    compute = compute[~np.isnan(compute)]
    return {"shield_interventions": int(len(trace["/safety/shields"]))
            if "/safety/shields" in trace else 0,
            "shield_time_s": _steps_where(scale < 1.0, rate),
            "shield_stop_time_s": _steps_where(scale == 0.0, rate),
            "policy_calls": int(np.count_nonzero(called)),
            "policy_compute_mean_s": float(compute.mean()) if compute.size else NAN,
            "policy_compute_max_s": float(compute.max()) if compute.size else NAN}


def episode_row(trace: Trace | str | os.PathLike, relative_to: str | os.PathLike | None = None) -> dict:
    """Every column of :data:`COLUMNS` for one trace (a :class:`Trace` or a path);
    ``trace`` is the file's path relative to ``relative_to`` when given."""
    if not isinstance(trace, Trace):
        trace = read_trace(trace)
    rate = float(trace.attrs.get("control_rate", 20.0))
    row = empty_row(**identity(trace))
    row.update(separation(trace, rate))
    row.update(contacts(trace))
    row.update(shields_and_policy(trace, rate))
    row["safe"] = row["status"] == "complete" and not row["violated"]
    path = Path(trace.path)
    row["trace"] = (os.path.relpath(path, relative_to) if relative_to is not None else str(path))
    return row


def same_row(a: dict, b: dict, ignore=VOLATILE) -> bool:
    """Rows equal in every column but ``ignore`` (NaN equals NaN)."""
    for name in COLUMNS:
        if name in ignore:
            continue
        x, y = a.get(name), b.get(name)
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True
