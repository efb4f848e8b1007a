"""The report's charts, drawn from trace contents and the episode table alone.

* :func:`timeline` - one episode: separation against the protective separation distance
  S_p (m) over time, the intervals below S_p, and the contact ratios (force and pressure
  to their limits) of every contact sample against 1;
* :func:`event_bars` - one episode: force and pressure of each contact event against
  its limits (peak / limit, with the values in N and N/cm²);
* :func:`safety_productivity` - per configuration: the rate of unsafe episodes (with its
  95 % Wilson interval) against the cycle time of the successful episodes (median, 5th
  and 95th percentile), so the cost of each shield shows;
* :func:`png` - a figure as PNG bytes.

Every label comes through ``t`` (the report's language).
"""
from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.figure import Figure

from benchmarks.report.verdicts import ratios

DPI = 130
SP_COLOUR, DIST_COLOUR, BELOW = "#d7301f", "#1f5fa8", "#f6c9c0"


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _below_spans(ax, time: np.ndarray, below: np.ndarray, label: str) -> None:
    first = True
    edges = np.flatnonzero(np.diff(np.r_[0, below.astype(int), 0]))
    dt = float(np.median(np.diff(time))) if len(time) > 1 else 0.05
    for start, end in zip(edges[::2], edges[1::2]):
        ax.axvspan(time[start] - dt, time[end - 1], color=BELOW, lw=0,
                   label=label if first else None)
        first = False


def timeline(trace, t, moment: float | None = None) -> Figure:
    """Separation and S_p (m) over time, and the contact ratios, of one trace."""
    time = trace["/time"]
    fig = Figure(figsize=(7.6, 4.6), dpi=DPI)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    if "/safety/ssm/distance" in trace:
        d, sp = trace["/safety/ssm/distance"], trace["/safety/ssm/protective_distance"]
        _below_spans(top, time, ~np.isnan(d) & (d < sp), t("below S_p"))
        top.plot(time, d, color=DIST_COLOUR, lw=1.2, label=t("separation"))
        top.plot(time, sp, color=SP_COLOUR, lw=1.2, ls="--", label="S_p")
        top.set_ylim(bottom=min(0.0, float(np.nanmin(d)) if np.isfinite(d).any() else 0.0))
    else:
        top.text(0.5, 0.5, t("separation monitor off"), transform=top.transAxes, ha="center")
    top.set_ylabel(t("distance (m)"))
    top.legend(loc="upper right", fontsize=7)
    top.grid(alpha=0.3)
    contacts = trace["/safety/contacts"] if "/safety/contacts" in trace else []
    if len(contacts):
        fr = ratios(contacts["force"], contacts["force_limit"])
        pr = ratios(contacts["pressure"], contacts["pressure_limit"])
        bottom.plot(contacts["t"], np.minimum(fr, 3.0), ".", ms=3, color="#6a3d9a", label=t("force / limit"))
        bottom.plot(contacts["t"], np.minimum(pr, 3.0), ".", ms=3, color="#ff7f00", label=t("pressure / limit"))
        bottom.legend(loc="upper right", fontsize=7)
    else:
        bottom.text(0.5, 0.5, t("no contact"), transform=bottom.transAxes, ha="center", va="center")
    bottom.axhline(1.0, color=SP_COLOUR, lw=1.0, ls="--")
    bottom.set_ylim(0, max(1.3, bottom.get_ylim()[1]))
    bottom.set_ylabel(t("ratio to limit"))
    bottom.set_xlabel(t("time (s)"))
    bottom.grid(alpha=0.3)
    if moment is not None:
        for ax in (top, bottom):
            ax.axvline(moment, color="black", lw=0.8, ls=":")
    fig.tight_layout()
    return fig


def event_bars(events: list[dict], t) -> Figure | None:
    """Force and pressure ratios of each contact event (``pfl`` details), with values."""
    if not events:
        return None
    fig = Figure(figsize=(7.6, 0.5 + 0.55 * len(events)), dpi=DPI)
    ax = fig.subplots()
    y = np.arange(len(events))
    fr = ratios([e["peak_force"] for e in events], [e["force_limit"] for e in events])
    pr = ratios([e["peak_pressure"] for e in events], [e["pressure_limit"] for e in events])
    ax.barh(y - 0.18, np.minimum(fr, 3.0), 0.34, color="#6a3d9a", label=t("force / limit"))
    ax.barh(y + 0.18, np.minimum(pr, 3.0), 0.34, color="#ff7f00", label=t("pressure / limit"))
    for i, e in enumerate(events):
        ax.text(min(fr[i], 3.0) + 0.02, i - 0.18, f"{e['peak_force']:.0f} / {e['force_limit']:.0f} N",
                va="center", fontsize=6.5)
        ax.text(min(pr[i], 3.0) + 0.02, i + 0.18,
                f"{e['peak_pressure'] / 1e4:.0f} / {e['pressure_limit'] / 1e4:.0f} N/cm²",
                va="center", fontsize=6.5)
    ax.axvline(1.0, color=SP_COLOUR, lw=1.0, ls="--")
    ax.set_yticks(y, [f"{e['start']:.2f} s {e['area']}" for e in events], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, max(1.4, float(np.nanmax(np.minimum(np.r_[fr, pr], 3.0))) + 0.6))
    ax.set_xlabel(t("ratio to limit (bars end at 3)"))
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return fig


def safety_productivity(summary: dict, t) -> Figure:
    """Unsafe rate (with its interval) against cycle time, one point per configuration."""
    fig = Figure(figsize=(7.2, 4.2), dpi=DPI)
    ax = fig.subplots()
    for i, (name, s) in enumerate(summary["configurations"].items()):
        unsafe, cycle = s["rates"]["unsafe"], s["spread"]["cycle_time_s"]
        if not unsafe["n"]:
            continue
        x = 100 * unsafe["rate"]
        low, high = (100 * v for v in unsafe["ci95"])
        y = cycle["p50"] if cycle["n"] else math.nan
        colour = f"C{i % 10}"
        if math.isnan(y):
            ax.errorbar([x], [0], xerr=[[x - low], [high - x]], fmt="x", color=colour, capsize=3,
                        label=f"{name} ({t('no success')})")
            continue
        ax.errorbar([x], [y], xerr=[[x - low], [high - x]],
                    yerr=[[y - cycle["p5"]], [cycle["p95"] - y]], fmt="o", color=colour,
                    capsize=3, label=name)
    ax.set_xlabel(t("unsafe episodes (%, 95 % Wilson interval)"))
    ax.set_ylabel(t("cycle time of successful episodes (s, median and 5-95 %)"))
    ax.set_xlim(-5, 105)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig
