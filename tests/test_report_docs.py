"""The pages on traces and reports stay true: docs/trace-format.md names everything a trace
holds, docs/reports.md and docs/cli.md show the command's real usage and every section."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.traces import read_trace
from tests.fixtures.report import shared_run

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return shared_run(tmp_path_factory)


def test_the_trace_format_page_names_every_attribute_and_dataset(run):
    page = (DOCS / "trace-format.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([^`\s]+)`", page))
    for path in sorted((run / "traces").glob("*.h5")):
        trace = read_trace(path)
        assert set(trace.attrs) <= named, sorted(set(trace.attrs) - named)
        assert set(trace.datasets) <= named, sorted(set(trace.datasets) - named)
    assert "ARCHITECTURE.md" not in page  # no citation of a file outside the repository


def _usage() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["report", "--help"])
    return out.getvalue().split("\n\n", 1)[0].strip()


@pytest.mark.parametrize("page", ["reports.md", "cli.md"])
def test_the_pages_show_the_report_commands_usage(page, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert _usage() in (DOCS / page).read_text(encoding="utf-8")


def test_the_reading_guide_explains_every_section(run):
    pytest.importorskip("jinja2")
    from benchmarks.report import document, load_run
    guide = (DOCS / "reports.md").read_text(encoding="utf-8")
    doc, _ = document(load_run(run), "en", worst=0)
    for i, section in enumerate(doc.sections, 1):
        title = section.title.split(":")[0]
        assert re.search(rf"^{i}\. \*\*{re.escape(title)}", guide, re.M), section.title
