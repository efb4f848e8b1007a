"""Evidence reports of a run folder, built from its files alone (docs/reports.md).

``cobotsim report RUN_DIR [--format html,pdf] [--lang en|ja] [--out PATH] [--worst N]``
writes a self-contained HTML file and a PDF: the verdict per configuration (power and
force limiting per body region and area, speed and separation monitoring, every rate with
its interval), the body map, the worst episodes, safety against productivity, the
evidence (validations), the hazard table, the limit table with its sources and hash, the
assumptions, the incomplete episodes and a reproducibility block. In Python::

    from benchmarks.report import build_report
    build_report("runs/quickstart", formats=("html", "pdf"), lang="ja")

Needs the optional extra ``report`` (Jinja2, fpdf2, matplotlib-fontja).
"""
from benchmarks.report.build import build_report, document
from benchmarks.report.run import ReportInputError, load_run

__all__ = ["ReportInputError", "build_report", "document", "load_run"]
