"""Sections of the record: the evidence (validations), the hazard table of
``cobotsim assess``, the limit table with its sources and hash, and the assumptions."""
from __future__ import annotations

import csv
import hashlib
import json
import math

import yaml

from simulator import catalogue
from simulator.resources import data_dir

from benchmarks.report import evidence as ev
from benchmarks.report.document import FAIL, PASS, WARN, Cell, Paragraph, Section, Table
from benchmarks.report.run import RunData
from benchmarks.report.text import number

HAZARD_COLUMNS = ("robot_link", "region", "area_id", "kind", "reflected_mass", "v_max_formula",
                  "v_max_simulated", "programmed_speed", "margin")


def _versions(run: RunData) -> set[str]:
    return {f.attrs.get("software_version") for f in run.facts if f.attrs.get("software_version")}


def _provenance(item: ev.Evidence, versions: set[str], t) -> Paragraph:
    version = item.software_version
    if version is None:
        return Paragraph(t("{file}: the file does not record the software version it was run "
                           "with.", file=item.path.name), WARN)
    same = versions == {version}
    return Paragraph(t("{file}: run by cobotsim {version}; the episodes ran with {episodes}.",
                       file=item.path.name, version=version, episodes=", ".join(sorted(versions)) or "-"),
                     "" if same else WARN)


def _not_run(item: ev.Evidence, command: str, t) -> Paragraph:
    if item.status == "missing":
        return Paragraph(t("Not run for this run folder ({path} is absent). To add it: {command}",
                           path=f"{ev.VALIDATION_DIR}/{item.path.name}", command=command), WARN)
    return Paragraph(t("{path} cannot be read: {error}", path=item.path.name, error=item.error), FAIL)


def evidence(run: RunData, t) -> Section:
    section = Section("evidence", t("Evidence: the validations"))
    section.add(Paragraph(t("The force-fidelity validation compares simulated contact forces with the "
                            "two-body model of ISO/TS 15066 Annex A, F = v·sqrt(μk), on a rig and on "
                            "the person in the cells; the SSM validation compares distances and S_p "
                            "with closed forms. The report reads their saved results; it runs "
                            "nothing.")))
    items = ev.validations(run.folder)
    versions = _versions(run)
    rig, ssm, in_cell = items["pfl"], items["ssm"], items["pfl_in_cell"]
    section.add(Paragraph(t("Force fidelity on the rig (cobotsim validate pfl)")))
    if rig.status == "ok":
        section.add(_provenance(rig, versions, t))
        section.add(Table([t("test"), t("judged rows"), t("passed"), t("worst error"), t("tolerance")],
                          [[s["test"], str(s["rows"]), Cell(str(s["passed"]), PASS if s["passed"] == s["rows"] else FAIL),
                            f"{100 * s['worst']:+.1f} %",
                            ", ".join(f"±{100 * x:g} %" for x in sorted(s["tolerances"]) if not math.isnan(x))]
                           for s in ev.rig_summary(rig.rows)]))
    else:
        section.add(_not_run(rig, "cobotsim validate pfl --json > RUN/validation/pfl.json", t))
    section.add(Paragraph(t("Force fidelity in the cells (cobotsim validate pfl --in-cell)")))
    if in_cell.status == "ok":
        section.add(_provenance(in_cell, versions, t))
        section.add(Table([t("robot"), t("region"), t("strikes"), t("passed"),
                           t("simulated / predicted"), t("tolerance")],
                          [[s["robot"], t.region(s["region"]), str(s["strikes"]),
                            Cell(str(s["passed"]), PASS if s["passed"] == s["strikes"] else FAIL),
                            f"{number(s['low'], 3)}–{number(s['high'], 3)}",
                            ", ".join(f"±{100 * x:g} %" for x in sorted(s["tolerances"]) if not math.isnan(x))]
                           for s in ev.in_cell_summary(in_cell.rows)]))
    else:
        section.add(_not_run(in_cell, "cobotsim validate pfl --in-cell --json > "
                             "RUN/validation/pfl_in_cell.json", t))
    section.add(Paragraph(t("Speed and separation monitoring (cobotsim validate ssm)")))
    if ssm.status == "ok":
        section.add(_provenance(ssm, versions, t))
        section.add(Table([t("check"), t("computed"), t("closed form"), t("error"), t("tolerance"),
                           t("verdict")],
                          [[r.get("check", "?"), number(r.get("computed"), 5, "m"),
                            number(r.get("expected"), 5, "m"), number(1000 * float(r.get("error", math.nan)), 3, "mm"),
                            number(1000 * float(r.get("tolerance", math.nan)), 3, "mm"),
                            Cell(t.verdict(bool(r.get("passed"))), PASS if r.get("passed") else FAIL)]
                           for r in ssm.rows], widths=[3, 1, 1, 1, 0.8, 0.7]))
    else:
        section.add(_not_run(ssm, "cobotsim validate ssm --json > RUN/validation/ssm.json", t))
    return section


def hazards(run: RunData, t) -> Section:
    section = Section("hazards", t("Hazards: maximum permissible speed (cobotsim assess)"))
    items = ev.assessments(run.folder)
    if not items:
        return section.add(Paragraph(t("No hazard assessment in this run folder ({path}). To add one: "
                                       "cobotsim assess SCENARIO --json > RUN/assess/SCENARIO.json",
                                       path="assess/*.json"), WARN))
    for item in items:
        if item.status != "ok":
            section.add(Paragraph(t("{path} cannot be read: {error}", path=item.path.name,
                                    error=item.error), FAIL))
            continue
        section.add(_provenance(item, _versions(run), t))
        rows = []
        for r in item.rows:
            margin = r.get("margin")
            state = "" if not isinstance(margin, (int, float)) else PASS if margin >= 0 else FAIL
            rows.append([r.get("robot_link", "-"), t.region(str(r.get("region", "-"))),
                         str(r.get("area_id", "-")), t.kind(str(r.get("kind", "-"))),
                         number(r.get("reflected_mass"), 3, "kg"), number(r.get("v_max_formula"), 3, "m/s"),
                         number(r.get("v_max_simulated"), 3, "m/s"), number(r.get("programmed_speed"), 3, "m/s"),
                         Cell(number(margin, 3), state)])
        section.add(Table([t("robot link"), t("region"), t("area"), t("kind"), t("reflected mass"),
                           t("v_max (Annex A)"), t("v_max (simulated)"), t("programmed speed"),
                           t("margin")], rows, caption=item.path.name))
    return section


def _rows(name: str) -> list[dict]:
    with open(data_dir() / "iso_ts_15066" / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def installed_hashes() -> dict[str, str]:
    """SHA-256 of the installed ISO/TS 15066 data files (as the manifest records them)."""
    folder = data_dir() / "iso_ts_15066"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}


def _same_values(limits: list[dict], areas: dict[int, dict]) -> bool:
    """The trace's table has the installed files' quasi-static pressures (N/cm²)."""
    try:
        return all(math.isclose(float(r["quasi_static_pressure"]),
                                float(areas[int(r["area_id"])]["quasi_static_pressure_N_per_cm2"]))
                   for r in limits) and len(limits) == len(areas)
    except (KeyError, ValueError):
        return False


def limits(run: RunData, t) -> Section:
    section = Section("limits", t("The limit table"))
    if not run.facts or not run.facts[0].limits:
        return section.add(Paragraph(t("No trace of this run holds a limit table (the contact "
                                       "monitor did not run)."), WARN))
    digests = sorted({f.limits_sha256 for f in run.facts if f.limits_sha256})
    table = run.facts[0].limits
    section.add(Paragraph(t("The biomechanical limits of ISO/TS 15066:2016 Annex A (Tables A.2 and "
                            "A.3) as every trace recorded them (/safety/limits). SHA-256 of the table "
                            "in the traces: {digest}.", digest=", ".join(digests))))
    if len(digests) > 1:
        section.add(Paragraph(t("The traces of this run hold {n} different limit tables; the table "
                                "below is that of the first trace.", n=len(digests)), FAIL))
    installed = installed_hashes()
    recorded = (run.manifest or {}).get("limit_tables") or {}
    areas = {int(r["area_id"]): r for r in _rows("areas.csv")}
    regions = {r["region_id"]: r for r in _rows("regions.csv")}
    if recorded:
        section.add(Table([t("file"), t("SHA-256 when the run started"), t("SHA-256 installed now")],
                          [[name, recorded.get(name, "-"),
                            Cell(installed.get(name, "-"), PASS if installed.get(name) == recorded.get(name) else WARN)]
                           for name in sorted(set(recorded) | set(installed))], widths=[1, 3, 3]))
    sourced = (recorded == installed) if recorded else _same_values(table, areas)
    if not sourced:
        section.add(Paragraph(t("The installed data files differ from those of the run: the sources "
                                "are not shown."), WARN))
    rows = []
    for r in table:
        area = areas.get(int(r["area_id"]), {})
        region = regions.get(r["region_id"], {})
        rows.append([str(r["area_id"]), t.area(r["area_id"], str(r["area"])), t.region(r["region_id"], str(r["region"])),
                     number(r["quasi_static_force"]), number(r["transient_force"]) if math.isfinite(r["transient_force"]) else t("not permitted"),
                     number(r["quasi_static_pressure"]), number(r["transient_pressure"]) if math.isfinite(r["transient_pressure"]) else t("not permitted"),
                     number(r["spring_constant"] / 1000), number(r["effective_mass"]),
                     f"{area.get('sources', '-')} / {region.get('sources', '-')}" if sourced else "-"])
    section.add(Table(["#", t("area"), t("region"), t("F quasi-static N"), t("F transient N"),
                       t("p quasi-static N/cm²"), t("p transient N/cm²"), "k N/mm", "m_H kg",
                       t("sources (area / region)")], rows,
                      widths=[0.4, 2.2, 1.8, 0.9, 0.9, 0.9, 0.9, 0.7, 0.7, 1.6]))
    if sourced:
        section.add(Table([t("key"), t("source")], [[r["key"], f"{r['citation']} {r.get('url') or ''}".strip()]
                                                    for r in _rows("sources.csv")], widths=[0.5, 6]))
    return section


def _distinct(run: RunData, name: str) -> list:
    return list(dict.fromkeys(f.attrs.get(name) for f in run.facts if f.attrs.get(name) is not None))


def _robot_file(run: RunData, robot: str) -> dict | None:
    """The installed robot.yaml of ``robot`` when it is the file the run used (its SHA-256
    in the manifest), or any installed one for a cobotsim run folder."""
    try:
        path = catalogue.robot_folder(robot) / "robot.yaml"
        text = path.read_bytes()
    except Exception:  # an unknown robot: nothing to show
        return None
    recorded = ((run.manifest or {}).get("robots") or {}).get(robot)
    if recorded is not None and recorded != hashlib.sha256(text).hexdigest():
        return None
    return yaml.safe_load(text) or {}


def assumptions(run: RunData, t) -> Section:
    section = Section("assumptions", t("Assumptions"))
    section.add(Paragraph(t("How the monitors measure (docs/safety-monitors.md): the contact force "
                            "is the sum of the normal forces of a robot link and a person link after "
                            "every physics step; the pressure is that force over the contact area the "
                            "robot link declares (1 cm² when it declares none); a contact is "
                            "quasi-static while a fixed body pushes the touched link against the "
                            "robot, or once it has lasted longer than the transient window; the area "
                            "is the nearest anchor on the touched link.")))
    rows = []
    for config in _distinct(run, "safety_config"):
        data = json.loads(config)
        contact, sep = data.get("contact", {}), data.get("separation", {})
        rows.append([number(contact.get("transient_window"), 3, "s") if contact.get("enabled") else t("off"),
                     number(sep.get("reaction_time"), 3, "s") if sep.get("enabled") else t("off"),
                     t("measured") if sep.get("tracked") else number(sep.get("human_speed"), 3, "m/s"),
                     "/".join(number(sep.get(k), 3) for k in ("intrusion_distance", "human_uncertainty",
                                                              "robot_uncertainty")) + " m",
                     number(sep.get("deceleration"), 3, "m/s²") if sep.get("deceleration") else t("stopping data")])
    section.add(Table([t("transient window"), t("reaction time T_r"), t("person's speed"),
                       "C / Z_d / Z_r", t("braking")], rows))
    section.add(Paragraph(t("Physics step {step} s, control rate {rate} Hz.",
                            step=", ".join(number(v, 4) for v in _distinct(run, "physics_time_step")),
                            rate=", ".join(number(v, 4) for v in _distinct(run, "control_rate")))))
    used = {}
    for f in run.facts:
        used.update(f.contact_areas)
    if used:
        section.add(Table([t("robot link"), t("contact area used")],
                          [[k, number(v * 1e4, 3, "cm²")] for k, v in sorted(used.items())],
                          caption=t("Contact areas of the contact samples")))
    for robot in _distinct(run, "robot"):
        data = _robot_file(run, robot)
        if data is None:
            section.add(Paragraph(t("{robot}: the installed robot file differs from the run's; its "
                                    "contact surfaces and stopping data are not shown.", robot=robot), WARN))
            continue
        surfaces = data.get("contact_surfaces") or []
        section.add(Paragraph(t("{robot}: declared contact surfaces {surfaces}; other links 1 cm².",
                                robot=robot, surfaces=", ".join(
                                    f"{s.get('link')} {s.get('kind')} {s.get('area_cm2', s.get('edge_radius_mm', ''))}"
                                    for s in surfaces) or "-")))
        stopping = data.get("stopping") or []
        if stopping:
            section.add(Table([t("TCP speed"), t("stopping time"), t("stopping distance")],
                              [[number(r.get("speed"), 4, "m/s"), number(r.get("time"), 3, "s"),
                                number(r.get("distance"), 3, "m")] for r in stopping],
                              caption=t("{robot}: category 1 stopping data (robot.yaml)", robot=robot)))
    return section
