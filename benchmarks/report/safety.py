"""Sections of the verdicts: the configurations, every rate with its interval, the power
and force limiting verdict per body region and area with the body map, speed and
separation monitoring, and safety against productivity."""
from __future__ import annotations

import math

from benchmarks.report import bodymap, figures
from benchmarks.report.document import FAIL, PASS, WARN, Cell, Figure, Paragraph, Section, Table
from benchmarks.report.run import RunData
from benchmarks.report.text import number, percent
from benchmarks.report.verdicts import KINDS, area_rate, body_map_values, pfl_table, ssm_rows

RATES = ("success", "unsafe", "contact_violation", "ssm_violation", "speed_violation", "fault")
RATE_NAMES = {"success": "success", "unsafe": "unsafe (violation or fault)",
              "contact_violation": "contact over its limit", "ssm_violation": "separation below S_p",
              "speed_violation": "speed limit exceeded", "fault": "fault"}


def seed_ranges(seeds) -> str:
    """Sorted seeds as ranges: ``0-9, 12``."""
    seeds = sorted(set(seeds))
    parts, start = [], None
    for i, s in enumerate(seeds):
        if start is None:
            start = s
        if i + 1 == len(seeds) or seeds[i + 1] != s + 1:
            parts.append(f"{start}" if start == s else f"{start}–{s}")
            start = None
    return ", ".join(parts)


def configurations(run: RunData, t) -> Section:
    section = Section("configurations", t("Configurations"))
    rows = []
    for name, s in run.summary["configurations"].items():
        mine = [r for r in run.rows if r["configuration"] == name]
        rows.append([name, ", ".join(sorted({r["policy"] for r in mine if r["policy"]})),
                     ", ".join(sorted({r["shields"] for r in mine if r["shields"]})),
                     ", ".join(sorted({r["scenario"] for r in mine if r["scenario"]})),
                     ", ".join(sorted({r["robot"] for r in mine if r["robot"]})),
                     seed_ranges(r["seed"] for r in mine), str(s["episodes"]), str(s["ended"]),
                     str(s["status"]["complete"])])
    section.add(Table([t("configuration"), t("policy"), t("shields"), t("scenarios"), t("robots"),
                       t("seeds"), t("planned"), t("ended"), t("complete")], rows,
                      widths=[1.4, 1, 1.2, 1.4, 0.8, 0.8, 0.7, 0.7, 0.8]))
    return section


def rates(run: RunData, t) -> Section:
    section = Section("rates", t("Rates with 95 % intervals"))
    section.add(Paragraph(t("Each rate is k of n ended episodes (complete, policy error or "
                            "simulation error) with its 95 % Wilson score interval. Interrupted, "
                            "not run and unreadable episodes are left out of every rate and "
                            "listed under Incomplete episodes.")))
    rows = []
    for name, s in run.summary["configurations"].items():
        few = Cell(t("fewer than {n} ended episodes", n=run.summary["min_episodes"]), WARN) \
            if s["few_episodes"] else ""
        rows.append([name] + [percent(s["rates"][r]) for r in RATES] + [few])
    section.add(Table([t("configuration")] + [t(RATE_NAMES[r]) for r in RATES] + [t("note")], rows,
                      widths=[1.2, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1]))
    if run.summary["paired"]:
        section.add(Paragraph(t("Paired differences (first minus second, on the same scenario, "
                                "robot and seed): rates with Newcombe's interval for paired "
                                "proportions, means with a Student t interval.")))
        rows = []
        for p in run.summary["paired"]:
            if not p["pairs"]:
                rows.append([f"{p['first']} − {p['second']}", "0", "-", "-", "-", "-"])
                continue
            def rate_diff(d):
                return f"{100 * d['difference']:+.1f} pts [{100 * d['ci95'][0]:+.1f}, {100 * d['ci95'][1]:+.1f}]"
            def mean_diff(d, unit):
                return "-" if d["pairs"] < 2 else (f"{d['mean']:+.3g} {unit} [{d['ci95'][0]:+.3g}, "
                                                   f"{d['ci95'][1]:+.3g}]").replace("  ", " ")
            rows.append([f"{p['first']} − {p['second']}", str(p["pairs"]), rate_diff(p["success"]),
                         rate_diff(p["unsafe"]), mean_diff(p["min_ssm_margin_m"], "m"),
                         mean_diff(p["cycle_time_s"], "s")])
        section.add(Table([t("pair"), t("pairs"), t("success"), t("unsafe (violation or fault)"),
                           t("minimum SSM margin"), t("cycle time")], rows))
    return section


def _pfl_rows(table: dict, ended: int, names: dict[int, str], t) -> list[list]:
    rows = []
    for (region, area, kind), w in sorted(table.items(), key=lambda kv: (-kv[1].risk, kv[0])):
        governing = t("force") if w.governing == "force" else t("pressure")
        rows.append([f"{t.region(region)} / {area} {t.area(area, names.get(area, ''))}",
                     t.kind(kind),
                     f"{number(w.peak_force)} / {number(w.force_limit)} = {number(w.force_ratio, 2)}",
                     f"{number(w.peak_pressure / 1e4)} / {number(w.pressure_limit / 1e4)} = "
                     f"{number(w.pressure_ratio, 2)}",
                     governing, Cell(number(w.risk, 3), PASS if w.passed else FAIL),
                     f"{100 * w.margin:+.0f} %" if math.isfinite(w.margin) else "-∞",
                     Cell(t.verdict(w.passed), PASS if w.passed else FAIL),
                     f"{len(w.episodes)}", percent(area_rate(w, ended))])
    return rows


def pfl(run: RunData, t, fonts) -> Section:
    section = Section("pfl", t("Power and force limiting: verdict per body region and area"))
    section.add(Paragraph(t("For every configuration, body area and kind of contact, the highest "
                            "force and pressure reached against the ISO/TS 15066 limits of that area "
                            "and kind (transient and quasi-static apart). The risk index is the larger "
                            "of the two ratios, and its limit governs; the margin is 1 minus the risk "
                            "index; an area passes when the risk index is at most 1.")))
    names = {int(r["area_id"]): str(r["area"]) for r in run.facts[0].limits} \
        if run.facts and run.facts[0].limits else {}
    tables = pfl_table(run.facts)
    for name, s in run.summary["configurations"].items():
        table = tables.get(name, {})
        monitored = [f for f in run.facts if f.configuration == name]
        if not table:
            section.add(Paragraph(t("{name}: no robot–person contact in {n} episodes.", name=name,
                                    n=len(monitored))))
            continue
        worst = max(table.values(), key=lambda w: w.risk)
        verdict = t("pass") if all(w.passed for w in table.values()) else t("fail")
        section.add(Paragraph(t("{name}: {verdict}; highest risk index {risk} ({kinds}).", name=name,
                                verdict=verdict, risk=number(worst.risk),
                                kinds=", ".join(t.kind(k) for k in KINDS
                                                if any(key[2] == k for key in table))),
                              "" if worst.passed else FAIL))
        section.add(Table([t("region / area"), t("kind"), t("force N: peak / limit = ratio"),
                           t("pressure N/cm²: peak / limit = ratio"), t("governing limit"),
                           t("risk index"), t("margin"), t("verdict"), t("episodes with contact"),
                           t("episodes over the limit")], _pfl_rows(table, s["ended"], names, t),
                          caption=name, widths=[2.2, 0.9, 1.5, 1.5, 0.9, 0.8, 0.7, 0.7, 0.8, 1.6]))
    for name in run.summary["configurations"]:
        with fonts.figure_fonts(t.lang):
            fig = bodymap.draw(body_map_values(run.facts, name), (t("front"), t("back")),
                               t("worst risk index (force or pressure / limit)"),
                               t("white: no contact; dominant hand drawn as the right hand"), name)
            png = figures.png(fig)
        section.add(Figure(png, t("Body map of {name}: the 29 areas of ISO/TS 15066 coloured by the "
                                  "worst risk index reached.", name=name), f"bodymap-{name}", 0.8))
    return section


def ssm(run: RunData, t) -> Section:
    section = Section("ssm", t("Speed and separation monitoring"))
    section.add(Paragraph(t("Margin = separation − protective separation distance S_p (negative: "
                            "closer than S_p). A violation is a separation below S_p while the robot "
                            "moves. Time below S_p counts every control step below S_p, the robot "
                            "moving or not.")))
    rows = []
    for name, r in ssm_rows(run.summary, run.rows).items():
        m = r["margin"]
        rows.append([name, str(r["monitored"]),
                     Cell(number(m["worst"], 3, "m"), FAIL if m["n"] and m["worst"] < 0 else PASS),
                     f"{number(m['p5'], 3)} / {number(m['p50'], 3)} m",
                     number(r["min_separation"]["worst"], 3, "m"),
                     f"{number(r['below_total'], 3)} / {number(r['below_median'], 3)} / "
                     f"{number(r['below_max'], 3)} s", str(r["events"]), percent(r["rate"])])
    section.add(Table([t("configuration"), t("episodes monitored"), t("minimum margin (worst)"),
                       t("5th / 50th percentile of the minimum margin"), t("minimum separation"),
                       t("time below S_p: total / median / largest"), t("violations"),
                       t("episodes with a violation")], rows,
                      widths=[1.3, 0.8, 1, 1.3, 1, 1.5, 0.8, 1.6]))
    return section


def productivity(run: RunData, t, fonts) -> Section:
    section = Section("productivity", t("Safety against productivity"))
    section.add(Paragraph(t("Each configuration's rate of unsafe episodes against the cycle time of "
                            "its successful episodes: a shield that makes the cell safer shows its "
                            "cost as a longer cycle or fewer successes.")))
    with fonts.figure_fonts(t.lang):
        png = figures.png(figures.safety_productivity(run.summary, t))
    section.add(Figure(png, t("Unsafe rate against cycle time, per configuration."), "productivity"))
    rows = []
    for name, s in run.summary["configurations"].items():
        c, sh = s["spread"]["cycle_time_s"], s["spread"]["shield_time_s"]
        rows.append([name, percent(s["rates"]["success"]),
                     f"{number(c['p50'], 3)} [{number(c['p5'], 3)}–{number(c['p95'], 3)}] s",
                     percent(s["rates"]["unsafe"]), f"{number(sh['p50'], 3)} / {number(sh['worst'], 3)} s"])
    section.add(Table([t("configuration"), t("success"), t("cycle time: median [5–95 %]"),
                       t("unsafe (violation or fault)"), t("time slowed by shields: median / largest")],
                      rows))
    return section
