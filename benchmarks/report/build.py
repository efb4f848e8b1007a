"""Build the report of a run folder: read the folder (:mod:`benchmarks.report.run`), make
the document's sections in the report's language, and write it as HTML and PDF.

The story, one call per stage: load the run (a bad folder fails here), the first page
(key facts, the verdict per configuration, and the mark of an incomplete run), the
sections (configurations, rates, power and force limiting with the body map, speed and
separation, hazards, worst episodes, safety against productivity, evidence, limit
table, assumptions, incomplete episodes, reproducibility), then each format.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.report import episodes, fonts, provenance, records, safety
from benchmarks.report.document import FAIL, PASS, Cell, Document, Paragraph, Section, Table
from benchmarks.report.run import RunData, load_run
from benchmarks.report.text import Text, number, percent
from benchmarks.report.verdicts import pfl_table

log = logging.getLogger(__name__)
FORMATS = ("html", "pdf")
WORST = 3


def _verdicts(run: RunData, t) -> Section:
    section = Section("summary", t("Verdict per configuration"))
    tables = pfl_table(run.facts)
    rows = []
    for name, s in run.summary["configurations"].items():
        table = tables.get(name, {})
        risk = max((w.risk for w in table.values()), default=0.0)
        margin = s["spread"]["min_ssm_margin_m"]["worst"]
        found = f"{t.verdict(risk <= 1.0)} ({number(risk)})" if table else f"{t.verdict(True)} ({t('no contact')})"
        rows.append([name, Cell(found, PASS if risk <= 1.0 else FAIL),
                     Cell(number(margin, 3, "m"), FAIL if not math.isnan(margin) and margin < 0 else PASS),
                     percent(s["rates"]["unsafe"]), percent(s["rates"]["success"])])
    section.add(Table([t("configuration"), t("power and force limiting (highest risk index)"),
                       t("minimum SSM margin"), t("unsafe (violation or fault)"), t("success")], rows,
                      widths=[1.4, 1.6, 1.1, 1.6, 1.6]))
    return section


def _incomplete_note(run: RunData, t) -> str:
    if not run.incomplete:
        return ""
    note = t("INCOMPLETE: {k} of {n} episodes are not complete or could not be read; the report is "
             "built from the rest. See 'Incomplete episodes'.", k=len(run.not_complete), n=len(run.rows))
    if run.notes:
        note += " " + t("{notes} problem(s) of the run folder are listed there too.", notes=len(run.notes))
    return note


def document(run: RunData, lang: str = "en", worst: int = WORST) -> tuple[Document, Text]:
    """The report of ``run`` in ``lang`` (and its :class:`Text`, whose ``missing`` lists
    untranslated texts)."""
    t = Text(lang)
    fonts.families(lang)  # a missing Japanese font fails here, before any drawing
    manifest = run.manifest or {}
    suite = (manifest.get("suite") or {}).get("id")
    scenarios = sorted({r["scenario"] for r in run.rows if r["scenario"]})
    facts = [(t("run folder"), str(run.folder)),
             (t("made by"), f"cobotsim bench {suite}" if suite else "cobotsim run"),
             (t("scenarios"), ", ".join(scenarios)),
             (t("episodes"), t("{n} planned or found, {c} complete, {u} unreadable",
                               n=len(run.rows), c=sum(r["status"] == "complete" for r in run.rows),
                               u=len(run.unreadable))),
             (t("software"), ", ".join(sorted({f.attrs.get("software_version", "?") for f in run.facts})) or "-"),
             (t("report written"), datetime.now(timezone.utc).isoformat(timespec="seconds"))]
    sections = [_verdicts(run, t), safety.configurations(run, t), safety.rates(run, t),
                safety.pfl(run, t, fonts), safety.ssm(run, t), records.hazards(run, t),
                episodes.worst_episodes(run, t, fonts, worst), safety.productivity(run, t, fonts),
                records.evidence(run, t), records.limits(run, t), records.assumptions(run, t),
                episodes.incomplete(run, t), provenance.reproducibility(run, t)]
    if run.summary_file is not None and not _summary_agrees(run):
        sections[2].add(Paragraph(t("summary.json of the run differs from the statistics recomputed "
                                    "from the traces; the report shows the recomputed ones."), FAIL))
    title = t("Safety evidence report")
    subtitle = t("Collaborative robot cell, ISO/TS 15066: {what}", what=suite or ", ".join(scenarios))
    return Document(title, subtitle, lang, facts, _incomplete_note(run, t), sections), t


def _summary_agrees(run: RunData) -> bool:
    """The rates of summary.json equal the recomputed ones (k and n of each)."""
    saved = run.summary_file.get("configurations", {})
    for name, s in run.summary["configurations"].items():
        for rate, value in s["rates"].items():
            other = saved.get(name, {}).get("rates", {}).get(rate, {})
            if (other.get("k"), other.get("n")) != (value["k"], value["n"]):
                return False
    return True


def output_paths(folder: Path, out: str | None, formats: list[str], lang: str) -> dict[str, Path]:
    """Where each format goes: ``OUT.html``/``OUT.pdf`` (a suffix of ``OUT`` that is one
    of the formats is dropped); by default ``RUN_DIR/report[_ja].html|pdf``."""
    base = Path(out) if out else folder / ("report" if lang == "en" else f"report_{lang}")
    if base.suffix.lower() in (".html", ".pdf"):
        base = base.with_suffix("")
    return {f: base.with_name(base.name + f".{f}") for f in formats}


def build_report(folder, formats=FORMATS, lang: str = "en", out: str | None = None,
                 worst: int = WORST) -> dict[str, Path]:
    """Write the report of the run in ``folder``; returns the files by format."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"report formats {unknown}: expected html and/or pdf")
    run = load_run(folder)
    doc, t = document(run, lang, worst)
    if t.missing:
        log.warning("untranslated texts in the %s report: %s", lang, sorted(t.missing))
    paths = output_paths(Path(folder), out, list(formats), lang)
    for fmt, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "html":
            from benchmarks.report.html import write_html
            write_html(doc, path)
        else:
            from benchmarks.report.pdf import write_pdf
            write_pdf(doc, path)
    return paths
