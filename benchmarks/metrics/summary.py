"""Suite statistics from the episode table: per configuration, and paired between two.

Per configuration (docs/benchmarks.md#summary): the episodes planned and how each ended;
over the episodes that *ended* (complete, policy_error or sim_error; interrupted and not
run ones are left out and counted) the success rate and the violation rates with 95 %
Wilson intervals. A fault is never counted as safe: ``unsafe`` counts the episodes with
any violation or a fault. Margins, ratios and times are summarised over the complete
episodes (worst, 5th, 50th, 95th percentile). A configuration with fewer than
:data:`MIN_EPISODES` ended episodes is flagged: its rates are too noisy to compare.

Paired differences (first - second) use the episodes both configurations ended on the
same scenario, robot and seed.
"""
from __future__ import annotations

import math
from collections import Counter

from benchmarks.metrics.stats import distribution, paired_mean, paired_proportions, rate

MIN_EPISODES = 75
ENDED = ("complete", "policy_error", "sim_error")
STATUSES = ("complete", "policy_error", "sim_error", "interrupted", "not_run")
RATES = {"success": lambda r: r["success"], "unsafe": lambda r: not r["safe"],
         "contact_violation": lambda r: r["contact_violations"] > 0,
         "ssm_violation": lambda r: r["ssm_events"] > 0,
         "speed_violation": lambda r: r["speed_events"] > 0,
         "fault": lambda r: r["status"] != "complete"}
SPREADS = {"min_ssm_margin_m": "min", "min_separation_m": "min",
           "worst_contact_ratio": "max", "time_below_sp_s": "max", "cycle_time_s": "max",
           "shield_time_s": "max"}
PAIRED_MEANS = ("min_ssm_margin_m", "time_below_sp_s", "worst_contact_ratio", "cycle_time_s")


def configuration_summary(rows: list[dict]) -> dict:
    """The statistics of one configuration's rows (module docstring)."""
    ended = [r for r in rows if r["status"] in ENDED]
    complete = [r for r in ended if r["status"] == "complete"]
    counts = Counter(r["status"] for r in rows)
    return {"episodes": len(rows), "status": {s: counts.get(s, 0) for s in STATUSES},
            "ended": len(ended), "few_episodes": len(ended) < MIN_EPISODES,
            "rates": {name: rate(sum(1 for r in ended if test(r)), len(ended))
                      for name, test in RATES.items()},
            "spread": {column: distribution((r[column] for r in complete), worst)
                       for column, worst in SPREADS.items()}}


def paired_summary(first: list[dict], second: list[dict]) -> dict:
    """Differences first - second over the pairs both ended (module docstring)."""
    def by_key(rows):
        return {(r["scenario"], r["robot"], r["seed"]): r for r in rows if r["status"] in ENDED}
    a, b = by_key(first), by_key(second)
    keys = sorted(set(a) & set(b))
    result = {"pairs": len(keys)}
    for name in ("success", "unsafe"):
        result[name] = paired_proportions([RATES[name](a[k]) for k in keys],
                                          [RATES[name](b[k]) for k in keys])
    for column in PAIRED_MEANS:
        result[column] = paired_mean([a[k][column] for k in keys], [b[k][column] for k in keys])
    return result


def summarize(rows: list[dict], pairs: list[tuple[str, str]]) -> dict:
    """``{"configurations": {name: ...}, "paired": [...]}`` over the episode rows."""
    names = list(dict.fromkeys(r["configuration"] for r in rows))
    groups = {n: [r for r in rows if r["configuration"] == n] for n in names}
    return {"min_episodes": MIN_EPISODES,
            "configurations": {n: configuration_summary(groups[n]) for n in names},
            "paired": [{"first": a, "second": b, **paired_summary(groups.get(a, []), groups.get(b, []))}
                       for a, b in pairs]}


def json_ready(value):
    """``value`` with NaN as null and infinities as the strings "inf"/"-inf" (JSON has
    neither)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def _pct(r: dict) -> str:
    if not r["n"]:
        return "-"
    low, high = r["ci95"]
    return f"{100 * r['rate']:5.1f}% [{100 * low:.0f}-{100 * high:.0f}]"


def _num(value: float, unit: str = "") -> str:
    return "-" if math.isnan(value) else f"{value:.3g}{unit}"


def format_table(summary: dict) -> str:
    """The summary as text: one line per configuration, then the paired differences."""
    lines = [f"{'configuration':<24} {'episodes':>8} {'ended':>6}  {'success [95% CI]':<20}"
             f"{'unsafe [95% CI]':<20}{'min margin':>11} {'worst ratio':>11}"]
    for name, s in summary["configurations"].items():
        flag = " *" if s["few_episodes"] else ""
        lines.append(f"{name:<24} {s['episodes']:>8} {s['ended']:>6}  "
                     f"{_pct(s['rates']['success']):<20}{_pct(s['rates']['unsafe']):<20}"
                     f"{_num(s['spread']['min_ssm_margin_m']['worst'], ' m'):>11} "
                     f"{_num(s['spread']['worst_contact_ratio']['worst']):>11}{flag}")
        other = {k: v for k, v in s["status"].items() if k != "complete" and v}
        if other:
            lines.append(f"{'':<24} not complete: " + ", ".join(f"{k} {v}" for k, v in other.items()))
    if any(s["few_episodes"] for s in summary["configurations"].values()):
        lines.append(f"* fewer than {summary['min_episodes']} ended episodes: the rates are too "
                     "noisy to compare configurations")
    for p in summary["paired"]:
        if not p["pairs"]:
            lines.append(f"{p['first']} - {p['second']}: no episodes in common")
            continue
        parts = []
        for name in ("success", "unsafe"):
            d = p[name]
            parts.append(f"{name} {100 * d['difference']:+.1f} pts [{100 * d['ci95'][0]:+.1f}, "
                         f"{100 * d['ci95'][1]:+.1f}]")
        m = p["min_ssm_margin_m"]
        if m["pairs"] > 1:
            parts.append(f"min margin {m['mean']:+.3f} m [{m['ci95'][0]:+.3f}, {m['ci95'][1]:+.3f}]")
        lines.append(f"{p['first']} - {p['second']} ({p['pairs']} pairs): " + "; ".join(parts))
    return "\n".join(lines)
