"""Sections about single episodes: the worst ones in detail (separation against S_p over
time, force and pressure at each contact event against its limits, a still frame of the
worst moment) and every episode that is not in the statistics, with the reason."""
from __future__ import annotations

import json
import math

import numpy as np

from simulator.traces import read_trace

from benchmarks.report import figures, frames
from benchmarks.report.document import FAIL, PASS, WARN, Cell, Figure, Heading, Paragraph, Section, Table
from benchmarks.report.run import RunData
from benchmarks.report.text import number
from benchmarks.report.verdicts import ratios

MAX_EVENTS = 20


def worst_rows(rows: list[dict], n: int) -> list[tuple[dict, str]]:
    """Up to ``n`` complete episodes with the highest contact ratio and up to ``n`` with
    the smallest SSM margin below S_p, each once, with why it was chosen."""
    complete = [r for r in rows if r["status"] == "complete"]
    contact = sorted((r for r in complete if r["worst_contact_ratio"] > 0),
                     key=lambda r: -r["worst_contact_ratio"])[:n]
    margin = sorted((r for r in complete if r["min_ssm_margin_m"] < 0),
                    key=lambda r: r["min_ssm_margin_m"])[:n]
    chosen: dict[str, tuple[dict, str]] = {}
    for r in contact:
        chosen[r["episode"]] = (r, "contact")
    for r in margin:
        chosen.setdefault(r["episode"], (r, "margin"))
    return list(chosen.values())


def _details(events) -> list[dict]:
    out = []
    for e in events:
        try:
            out.append({**json.loads(e["details"] or "{}"), "monitor": e["monitor"]})
        except ValueError:
            out.append({"monitor": e["monitor"], "start": float(e["start"]), "end": float(e["end"])})
    return out


def moment(trace) -> float:
    """The worst moment (s): the contact sample with the highest ratio, else the control
    step with the smallest SSM margin, else the end."""
    contacts = trace["/safety/contacts"] if "/safety/contacts" in trace else []
    if len(contacts):
        r = np.maximum(ratios(contacts["force"], contacts["force_limit"]),
                       ratios(contacts["pressure"], contacts["pressure_limit"]))
        return float(contacts["t"][int(np.argmax(r))])
    if "/safety/ssm/margin" in trace and np.isfinite(trace["/safety/ssm/margin"]).any():
        return float(trace["/time"][int(np.nanargmin(trace["/safety/ssm/margin"]))])
    return float(trace["/time"][-1])


def _event_rows(events: list[dict], names: dict[int, str], t) -> list[list]:
    rows = []
    for e in events[:MAX_EVENTS]:
        if e["monitor"] == "pfl":
            what = f"{t.area(e.get('area_id', 0), names.get(e.get('area_id'), ''))} ({t.kind(e.get('kind', ''))})"
            value = (f"{number(e.get('peak_force'))} / {number(e.get('force_limit'))} N; "
                     f"{number(e.get('peak_pressure', math.nan) / 1e4)} / "
                     f"{number(e.get('pressure_limit', math.nan) / 1e4)} N/cm²")
            bad = bool(e.get("violated"))
        elif e["monitor"] == "ssm":
            what = f"{e.get('robot_link', '')} → {e.get('human_link', '')}"
            value = (f"{t('margin')} {number(e.get('min_margin'), 3)} m, "
                     f"{t('separation')} {number(e.get('min_distance'), 3)} m")
            bad = True
        else:
            what, value, bad = e.get("kind", ""), number(e.get("peak_speed", math.nan), 3, "m/s"), True
        rows.append([f"{number(e.get('start'), 4)}–{number(e.get('end'), 4)} s", e["monitor"], what,
                     value, Cell(t.verdict(not bad), FAIL if bad else PASS)])
    return rows


def worst_episodes(run: RunData, t, fonts, n: int) -> Section:
    section = Section("worst", t("Worst episodes"))
    chosen = worst_rows(run.rows, n)
    if n == 0:
        return section.add(Paragraph(t("Not shown (--worst 0).")))
    if not chosen:
        return section.add(Paragraph(t("No complete episode had a contact or a separation below S_p.")))
    section.add(Paragraph(t("The {n} complete episodes with the highest contact ratio and the {n} "
                            "with the smallest separation margin.", n=n)))
    for row, why in chosen:
        trace = read_trace(run.trace_path(row))
        names = {int(r["area_id"]): str(r["area"]) for r in trace["/safety/limits"]} \
            if "/safety/limits" in trace else {}
        section.add(Heading(f"{row['episode']}"))
        section.add(Paragraph(t("Chosen for its {why}: worst contact ratio {ratio}, minimum SSM margin "
                                "{margin} m; seed {seed}, person {body}; trace {trace}.",
                                why=t("contact ratio") if why == "contact" else t("separation margin"),
                                ratio=number(row["worst_contact_ratio"]),
                                margin=number(row["min_ssm_margin_m"], 3), seed=row["seed"],
                                body=row["person_body"], trace=row["trace"])))
        when = moment(trace)
        events = _details(trace["/safety/events"]) if "/safety/events" in trace else []
        with fonts.figure_fonts(t.lang):
            timeline = figures.png(figures.timeline(trace, t, when))
            pfl = [dict(e, area=t.area(e.get("area_id", 0), names.get(e.get("area_id"), "")))
                   for e in events if e["monitor"] == "pfl"]
            bars = figures.event_bars(pfl[:MAX_EVENTS], t)
            bars = figures.png(bars) if bars is not None else None
            still, source = frames.still_frame(trace, run.folder, when, t)
            still = figures.png(still)
        stem = row["trace"].replace("/", "_")
        section.add(Figure(timeline, t("Separation against S_p and contact ratios over time; the dotted "
                                       "line marks the worst moment ({when} s).", when=f"{when:.2f}"),
                           f"timeline-{stem}"))
        if bars is not None:
            section.add(Figure(bars, t("Force and pressure of each contact event against its limits."),
                               f"events-{stem}"))
        section.add(Figure(still, t("The worst moment, from the episode's video.") if source == "video"
                           else t("The worst moment, drawn from the trace: the person's links, the "
                                  "robot's base joined to its TCP (the robot's own links are not in "
                                  "the trace), touched links in red."), f"frame-{stem}"))
        if events:
            section.add(Table([t("time"), t("monitor"), t("where"), t("value against limit"),
                               t("verdict")], _event_rows(events, names, t),
                              caption=t("{shown} of {n} events", shown=min(len(events), MAX_EVENTS),
                                        n=len(events)), widths=[1.3, 0.7, 2, 2.6, 0.7]))
    return section


def incomplete(run: RunData, t) -> Section:
    section = Section("incomplete", t("Incomplete episodes"))
    missing = run.not_complete
    if not missing and not run.notes:
        return section.add(Paragraph(t("None: every planned episode is complete and its trace was "
                                       "read.")))
    for note, values in run.notes:
        section.add(Paragraph(t(note, **values), WARN))
    if missing:
        section.add(Paragraph(t("Unreadable episodes are left out of every table and rate; episodes "
                                "that ended on a fault count as ended (never as safe); interrupted and "
                                "not-run episodes are left out of the rates.")))
        section.add(Table([t("episode"), t("status"), t("reason"), t("trace")],
                          [[r["episode"], Cell(t(r["status"]), FAIL if r["status"] == "unreadable" else WARN),
                            r["error"] or "-", r["trace"] or "-"] for r in missing],
                          widths=[1.8, 0.9, 3.2, 1.8]))
    return section
