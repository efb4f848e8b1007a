"""Traces as pandas DataFrames (the optional extra ``tables``: ``pip install -e ".[tables]"``).

:func:`trace_tables` turns one trace into named DataFrames, :func:`run_tables` does it for
every trace of a run folder in one call (each row then carries its episode). Strings are
decoded, every column name ends with its unit (``time_s``, ``robot_q_0_rad``,
``safety_ssm_distance_m``, ``force_N``, ``pressure_Pa``; no suffix for dimensionless
values and text), body regions and areas are named, and events are joined to their
samples. The tables (docs/trace-format.md says what each dataset means):

``steps``
    one row per control step: every per-step dataset, one column per component
    (``robot_q_3_rad``; ``human_link_pos_hand_right_x_m`` by link name; ``_x/_y/_z``,
    ``_qx/_qy/_qz/_qw`` for positions and quaternions), ``task_phase_name`` beside the
    phase index, and ``ssm_event``: the index (in ``events``) of the separation event the
    step belongs to, -1 for none.
``events``
    ``/safety/events`` with ``details`` parsed into columns, named with their units
    (``details_peak_force_N``, ``details_min_margin_m``, ...), and the index ``event``.
``contacts``, ``impacts``, ``speed_limits``
    the safety tables, with ``area`` (the area's name) beside ``area_id``; every contact
    sample carries ``event``, the index of the ``pfl`` event it belongs to.
``shields``, ``limits``
    ``/safety/shields`` and the limit table the episode ran under.
``attrs``
    one row of root attributes (JSON attributes left as text).

A table the trace does not hold is an empty DataFrame.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from simulator.traces.reader import Trace, read_trace

TABLES = ("contacts", "impacts", "speed_limits", "shields", "limits")
_UNIT_SUFFIX = {"": "", "1": "", "index": "", "see details": "", "see reason": "",
                "quaternion xyzw": "", "m": "_m", "m/s": "_m_s", "rad": "_rad",
                "rad/s": "_rad_s", "s": "_s", "N": "_N", "Pa": "_Pa", "kg": "_kg",
                "N/m": "_N_m", "N/cm²": "_N_cm2", "m²": "_m2"}
_AXES = {3: ("x", "y", "z"), 4: ("qx", "qy", "qz", "qw")}
#: units of the ``details`` fields of events (docs/safety-monitors.md)
DETAIL_UNITS = {"peak_force": "N", "force_limit": "N", "peak_pressure": "Pa",
                "pressure_limit": "Pa", "min_margin": "m", "min_distance": "m",
                "max_protective_distance": "m", "peak_speed": "m/s", "speed": "m/s"}


def _pandas():
    try:
        import pandas
    except ImportError:
        raise ImportError('traces as tables need the optional extra "tables": '
                          'pip install -e ".[tables]" (pandas)') from None
    return pandas


def unit_suffix(unit: str) -> str:
    """The column-name suffix of a unit (``m/s`` -> ``_m_s``; none for dimensionless)."""
    unit = unit if isinstance(unit, str) else ""
    if unit in _UNIT_SUFFIX:
        return _UNIT_SUFFIX[unit]
    return "_" + "".join(c if c.isalnum() else "_" for c in unit).strip("_")


def column_name(name: str, unit: str) -> str:
    """``name`` with the suffix of ``unit``, unless the name already ends with it
    (``quasi_static_pressure_pa`` stays as it is)."""
    suffix = unit_suffix(unit)
    return name if name.lower().endswith(suffix.lower()) else name + suffix


def _components(trace: Trace, path: str, array: np.ndarray) -> dict[str, np.ndarray]:
    """The columns of one per-step dataset: one per component, named with its unit."""
    base = path.strip("/").replace("/", "_")
    suffix = unit_suffix(trace.units(path))
    if array.ndim == 1:
        return {column_name(base, trace.units(path)): array}
    attrs = trace.dataset_attrs.get(path, {})
    names = attrs.get("link_names")
    if array.ndim == 3 and names is not None:
        axes = _AXES.get(array.shape[2], range(array.shape[2]))
        return {f"{base}_{link}_{axis}{suffix}": array[:, i, j]
                for i, link in enumerate(names) for j, axis in enumerate(axes)}
    flat = array.reshape(len(array), -1)
    labels = _AXES.get(flat.shape[1]) if path.endswith(("_pos", "_quat", "/pos", "/quat")) else None
    labels = labels or [str(i) for i in range(flat.shape[1])]
    return {f"{base}_{label}{suffix}": flat[:, i] for i, label in enumerate(labels)}


def _table(trace: Trace, path: str, areas: dict[int, str]):
    """A compound dataset as a DataFrame, unit suffixes on the numeric columns, ``area``
    beside ``area_id``."""
    pd = _pandas()
    if path not in trace:
        return pd.DataFrame()
    array = trace[path]
    units = trace.units(path)
    units = units if isinstance(units, list) else [""] * len(array.dtype.names)
    columns = {}
    for name, unit in zip(array.dtype.names, units):
        columns[column_name(name, unit)] = array[name]
        if name == "area_id" and path != "/safety/limits":
            columns["area"] = [areas.get(int(a), "") for a in array[name]]
    return pd.DataFrame(columns)


def _events(trace: Trace):
    pd = _pandas()
    frame = _table(trace, "/safety/events", {})
    if frame.empty:
        return frame
    details = pd.DataFrame([json.loads(d or "{}") for d in frame.pop("details")])
    details = details.drop(columns=[c for c in ("monitor", "kind", "start", "end", "region")
                                    if c in details.columns])
    details.columns = ["details_" + column_name(c, DETAIL_UNITS.get(c, "")) for c in details.columns]
    frame = pd.concat([frame, details], axis=1)
    frame.insert(0, "event", np.arange(len(frame)))
    return frame


def _join_contacts(contacts, events):
    """``event`` of each contact sample: the ``pfl`` event of the same link pair whose
    interval holds the sample's time; -1 where none does."""
    index = np.full(len(contacts), -1)
    if len(contacts) and len(events):
        pfl = events[events["monitor"] == "pfl"]
        for e in pfl.itertuples():
            hit = ((contacts["robot_link"] == e.details_robot_link)
                   & (contacts["human_link"] == e.details_human_link)
                   & (contacts["t_s"] >= e.start_s - 1e-9) & (contacts["t_s"] <= e.end_s + 1e-9))
            index[hit.to_numpy()] = e.event
    contacts.insert(0, "event", index)
    return contacts


def _steps(trace: Trace, events):
    pd = _pandas()
    n = int(trace.attrs.get("n_steps", len(trace["/time"]) if "/time" in trace else 0))
    columns: dict[str, np.ndarray] = {}
    for path, array in trace.datasets.items():
        if array.dtype.names is None and array.ndim >= 1 and len(array) == n:
            columns.update(_components(trace, path, array))
    frame = pd.DataFrame(columns)
    if "/task/phase" in trace:
        names = list(trace.dataset_attrs["/task/phase"].get("phase_names", []))
        frame["task_phase_name"] = [names[p] if 0 <= p < len(names) else ""
                                    for p in trace["/task/phase"].astype(int)]
    ssm_event = np.full(len(frame), -1)
    if len(events) and "time_s" in frame:
        time = frame["time_s"].to_numpy()
        for e in events[events["monitor"] == "ssm"].itertuples():
            ssm_event[(time >= e.start_s - 1e-9) & (time < e.end_s - 1e-9)] = e.event
            ssm_event[np.isclose(time, e.end_s) & (e.end_s == e.start_s)] = e.event
    frame["ssm_event"] = ssm_event
    return frame


def trace_tables(trace: Trace | str | os.PathLike) -> dict:
    """The DataFrames of one trace (module docstring), by name."""
    pd = _pandas()
    trace = trace if isinstance(trace, Trace) else read_trace(trace)
    limits = trace["/safety/limits"] if "/safety/limits" in trace else None
    areas = {int(r["area_id"]): str(r["area"]) for r in limits} if limits is not None else {}
    events = _events(trace)
    tables = {"steps": _steps(trace, events), "events": events}
    for name in TABLES:
        tables[name] = _table(trace, f"/safety/{name}", areas)
    tables["contacts"] = _join_contacts(tables["contacts"], events)
    attrs = {k: (", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
             for k, v in trace.attrs.items()}
    attrs["trace"] = str(trace.path)
    tables["attrs"] = pd.DataFrame([attrs])
    return tables


IDENTITY = ("episode", "configuration", "scenario", "robot", "policy", "seed", "status")


def run_tables(folder: str | os.PathLike, include_incomplete: bool = False) -> dict:
    """The DataFrames of every finished trace of a run folder (``folder/traces/*.h5``, or
    ``folder`` itself when it holds the ``.h5`` files), concatenated, each row with the
    columns of :data:`IDENTITY` first; ``attrs`` becomes ``episodes``, one row per trace.
    Traces whose status is not ``complete`` are left out unless ``include_incomplete``."""
    pd = _pandas()
    folder = Path(folder)
    traces = folder / "traces" if (folder / "traces").is_dir() else folder
    parts: dict[str, list] = {}
    for path in sorted(traces.glob("*.h5")):
        trace = read_trace(path)
        if trace.status != "complete" and not include_incomplete:
            continue
        a = trace.attrs
        identity = {"episode": a.get("episode") or path.stem, "configuration": a.get("configuration", ""),
                    "scenario": a.get("scenario", ""), "robot": a.get("robot", ""),
                    "policy": a.get("policy", ""), "seed": a.get("seed", -1), "status": trace.status}
        for name, frame in trace_tables(trace).items():
            for i, (column, value) in enumerate(identity.items()):
                if column not in frame.columns:
                    frame.insert(i, column, value)
            parts.setdefault("episodes" if name == "attrs" else name, []).append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
