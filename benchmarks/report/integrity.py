"""Is a trace whole enough to report on? The checks a report makes before it counts an
episode, from the trace format alone (docs/trace-format.md).

A trace that fails a check is listed in the report as unreadable, with the reason, and
left out of every table and rate: a missing group (``/human``, ``/safety``), a per-step
dataset shorter or longer than ``n_steps``, the safety datasets of a monitor that ran
missing, or a NaN where the format allows none (times, robot and person state, the
separation of a monitor that ran, contact forces and pressures, event times). The checks
for NaN apply to complete episodes: an episode that ended on ``sim_error`` may end on a
non-finite state, and its status already says so.
"""
from __future__ import annotations

import json

import numpy as np

from simulator.traces import Trace

REQUIRED = ("/time", "/robot/q", "/robot/ee_pos", "/human/link_pos")
FINITE = ("/time", "/robot/q", "/robot/ee_pos", "/human/link_pos")
SSM = ("/safety/ssm/distance", "/safety/ssm/protective_distance", "/safety/ssm/margin")
CONTACT = ("/safety/contacts", "/safety/limits", "/safety/events")
FINITE_FIELDS = {"/safety/contacts": ("t", "force", "pressure"),
                 "/safety/events": ("start", "end")}


def _safety_config(trace: Trace) -> dict:
    try:
        return json.loads(trace.attrs.get("safety_config") or "{}")
    except ValueError:
        return {}


def _groups(trace: Trace) -> set[str]:
    return {"/" + path.strip("/").split("/")[0] for path in trace.datasets}


def missing(trace: Trace) -> list[str]:
    """The groups and datasets the trace should hold and does not."""
    groups = _groups(trace)
    config = _safety_config(trace)
    wanted = list(REQUIRED)
    if config.get("contact", {}).get("enabled"):
        wanted += CONTACT
    if config.get("separation", {}).get("enabled"):
        wanted += SSM
    out = []
    for path in wanted:
        group = "/" + path.strip("/").split("/")[0]
        if group not in groups:
            if f"the group {group}" not in out:
                out.append(f"the group {group}")
        elif path not in trace:
            out.append(f"the dataset {path}")
    if "safety_config" not in trace.attrs:
        out.append("the root attribute safety_config")
    return out


def not_finite(trace: Trace) -> list[str]:
    """Datasets (and table fields) holding NaN or infinity where the format allows none."""
    paths = list(FINITE)
    if _safety_config(trace).get("separation", {}).get("enabled"):
        paths += SSM
    out = []
    for path in paths:
        if path in trace:
            values = np.asarray(trace[path], float)
            bad = ~np.isfinite(values)
            if bad.any():
                row = int(np.argwhere(bad)[0][0])
                out.append(f"{path} is not finite ({int(bad.sum())} values, first at row {row})")
    for path, fields in FINITE_FIELDS.items():
        if path in trace and len(trace[path]):
            for name in fields:
                values = np.asarray(trace[path][name], float)
                if not np.all(np.isfinite(values)):
                    out.append(f"{path} field {name} is not finite")
    return out


def wrong_lengths(trace: Trace) -> list[str]:
    """Per-step datasets whose length is not the trace's ``n_steps``."""
    n = trace.attrs.get("n_steps")
    if not isinstance(n, int):
        return ["the root attribute n_steps is missing"]
    return [f"{path} has {len(array)} rows, n_steps is {n}"
            for path, array in trace.datasets.items()
            if array.dtype.names is None and array.ndim >= 1 and len(array) != n]


def problems(trace: Trace) -> list[str]:
    """Everything that keeps this trace out of a report (empty: it can be used)."""
    found = [f"missing {what}" for what in missing(trace)] + wrong_lengths(trace)
    if trace.status == "complete":
        found += not_finite(trace)
    return found
