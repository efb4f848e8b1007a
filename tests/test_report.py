"""cobotsim report: every section from a small run's files, figures that are images, a
self-contained and escaped HTML, a PDF with its pages, outline, text and embedded fonts,
the Japanese report, the evidence files, and what the report does with incomplete and
bad run folders."""
from __future__ import annotations

import io
import json
import math
import re
import shutil

import h5py
import numpy as np
import pytest

from tests.fixtures.report import shared_run

pytest.importorskip("jinja2")
pytest.importorskip("fpdf")
pypdf = pytest.importorskip("pypdf")

from benchmarks.report import ReportInputError, build_report, document, load_run  # noqa: E402
from benchmarks.report import bodymap, fonts  # noqa: E402
from benchmarks.report.html import render_html  # noqa: E402
from benchmarks.report.pdf import render_pdf  # noqa: E402
from simulator.cli import main  # noqa: E402

SECTIONS = ["summary", "configurations", "rates", "pfl", "ssm", "hazards", "worst", "productivity",
            "evidence", "limits", "assumptions", "incomplete", "reproducibility"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return shared_run(tmp_path_factory)


@pytest.fixture(scope="module")
def english(run):
    return document(load_run(run), "en")


@pytest.fixture(scope="module")
def japanese(run):
    return document(load_run(run), "ja")


def _copy(run, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run, target)
    return target


def test_the_report_has_every_section_and_every_figure_is_an_image(english, run):
    doc, t = english
    assert [s.key for s in doc.sections] == SECTIONS
    assert not doc.incomplete
    names = [f.name for f in doc.figures]
    assert {"bodymap-strike", "bodymap-strike-stop", "bodymap-scripted", "productivity"} <= set(names)
    assert any(n.startswith("timeline-") for n in names) and any(n.startswith("frame-") for n in names)
    from PIL import Image
    for figure in doc.figures:
        assert figure.png[:8] == b"\x89PNG\r\n\x1a\n", figure.name
        with Image.open(io.BytesIO(figure.png)) as image:
            assert image.width > 300 and image.height > 150
            assert len(np.unique(np.asarray(image.convert("L")))) > 10, f"{figure.name} is blank"


def test_the_pfl_verdict_agrees_with_the_episode_table(english, run):
    """The highest risk index per configuration is the worst contact ratio of its episodes
    (both from the traces, by different code), and the strike fails."""
    data = load_run(run)
    from benchmarks.report.verdicts import pfl_table
    tables = pfl_table(data.facts)
    for name in ("strike", "strike-stop"):
        worst = max(r["worst_contact_ratio"] for r in data.rows if r["configuration"] == name)
        assert math.isclose(max(w.risk for w in tables[name].values()), worst, rel_tol=1e-9)
        assert not all(w.passed for w in tables[name].values())
        assert all(region in ("lower_arm", "hand", "upper_arm") for region, _, _ in tables[name])
    assert "scripted" not in tables  # the scripted handover does not touch the person here
    summary = next(s for s in english[0].sections if s.key == "summary").blocks[0]
    verdicts = {row[0].text: row[1] for row in summary.cells()}
    assert verdicts["strike"].state == "fail" and verdicts["scripted"].state == "pass"


def test_the_body_map_places_all_29_areas_on_both_views():
    areas = {area for area, *_ in bodymap.markers()}
    assert areas == set(range(1, 30))
    views = {view for _, view, *_ in bodymap.markers()}
    assert views == {"front", "back"}
    assert bodymap.colour(None) == "white" and bodymap.colour(math.inf) != bodymap.colour(0.2)


def test_the_html_is_self_contained_and_shows_spec_text_escaped(run, tmp_path):
    folder = _copy(run, tmp_path)
    trace = sorted((folder / "traces").glob("strike_*.h5"))[0]
    with h5py.File(trace, "r+") as f:
        f.attrs["scenario_spec"] = f.attrs["scenario_spec"] + "\n# <script>alert('x')</script> & <b>"
    html = render_html(document(load_run(folder), "en")[0])
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;" in html
    assert "<script" not in html and "<link" not in html
    sources = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    assert sources and all(s.startswith(("data:image/png;base64,", "#")) for s in sources)
    assert not re.search(r"url\((?!data:)", html)
    assert len(re.findall(r"<img ", html)) == len(document(load_run(folder), "en")[0].figures)


def test_the_pdf_has_its_pages_outline_text_and_embedded_fonts(english):
    doc, _ = english
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(doc)))
    assert len(reader.pages) >= len(doc.sections) + 1  # a first page, then a page per section
    outline = [item.title for item in reader.outline]
    assert outline == [f"{i}. {s.title}" for i, s in enumerate(doc.sections, 1)]
    first = reader.pages[0].extract_text()
    assert "Safety evidence report" in first and "strike" in " ".join(
        p.extract_text() for p in reader.pages[:3])
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Power and force limiting" in text and "Reproducibility" in text
    fonts_used = _embedded_fonts(reader)
    assert fonts_used and all(embedded for embedded in fonts_used.values())
    assert any("DejaVuSans" in name for name in fonts_used)
    assert sum(len(page.images) for page in reader.pages) == len(doc.figures)


def _embedded_fonts(reader) -> dict[str, bool]:
    found = {}
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            found[str(font["/BaseFont"])] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return found


def test_the_japanese_report_is_japanese_with_its_font_embedded(japanese):
    doc, t = japanese
    assert t.missing == set(), sorted(t.missing)
    assert doc.title == "安全性評価報告書"
    titles = [s.title for s in doc.sections]
    assert "動力及び力の制限：身体部位及び特定部位ごとの判定" in titles and "速度及び間隔の監視" in titles
    assert fonts.resolved_font("ja").name == "ipaexg.ttf"
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(doc)))
    used = _embedded_fonts(reader)
    assert any("IPAexGothic" in name for name in used) and all(used.values())
    assert "安全性評価報告書" in reader.pages[0].extract_text()
    html = render_html(doc)
    assert '<html lang="ja">' in html and "安全性評価報告書" in html
    assert re.search(r"@font-face \{ font-family: 'IPAexGothic'; src: url\(data:font/ttf;base64,", html)


def test_the_evidence_saved_by_bench_is_shown_with_its_version(english, run):
    pfl = json.loads((run / "validation" / "pfl.json").read_text())
    assert pfl["software_version"] and pfl["rows"] and "exit_code" in pfl
    section = next(s for s in english[0].sections if s.key == "evidence")
    tables = [b for b in section.blocks if type(b).__name__ == "Table"]
    assert len(tables) == 2  # the rig and the SSM validation; the in-cell one was not run
    notes = [b.text for b in section.blocks if type(b).__name__ == "Paragraph"]
    assert any("validation/pfl_in_cell.json is absent" in n for n in notes)
    assert any(f"run by cobotsim {pfl['software_version']}" in n for n in notes)


def test_in_cell_validation_and_hazard_files_are_read(run, tmp_path):
    folder = _copy(run, tmp_path)
    rows = [{"robot": "panda", "scenario": "handover", "region": "hand", "area_id": 22,
             "area": "Palm (dominant)", "striker": "tcp", "robot_link": "panda_hand", "speed": 0.5,
             "relative_speed": 0.49, "reflected_mass": 3.1, "m_h": 0.6, "apparent_mass": 0.62,
             "simulated": 118.0, "predicted": 110.0, "ratio": r, "tolerance": 0.15,
             "passed": abs(r - 1) <= 0.15} for r in (1.07, 1.2)]
    (folder / "validation" / "pfl_in_cell.json").write_text(json.dumps(
        {"software_version": "9.9.9", "rows": rows}))
    (folder / "assess").mkdir()
    (folder / "assess" / "handover.json").write_text(json.dumps({"software_version": "9.9.9", "rows": [
        {"robot_link": "panda_hand", "region": "hand", "area_id": 22, "kind": "transient",
         "reflected_mass": 3.1, "v_max_formula": 0.68, "v_max_simulated": 0.66,
         "programmed_speed": 0.8, "margin": -0.12}]}))
    (folder / "validation" / "ssm.json").write_text("not json")
    doc, _ = document(load_run(folder), "en")
    evidence = next(s for s in doc.sections if s.key == "evidence")
    in_cell = [b for b in evidence.blocks if type(b).__name__ == "Table"][1]
    assert in_cell.cells()[0][2].text == "2" and in_cell.cells()[0][3].state == "fail"
    assert in_cell.cells()[0][4].text == "1.07–1.2"
    notes = [(b.text, b.state) for b in evidence.blocks if type(b).__name__ == "Paragraph"]
    assert any("ssm.json cannot be read" in text and state == "fail" for text, state in notes)
    assert any("9.9.9" in text and state == "warn" for text, state in notes)  # another version
    hazards = next(s for s in doc.sections if s.key == "hazards")
    table = next(b for b in hazards.blocks if type(b).__name__ == "Table")
    assert table.cells()[0][8].state == "fail" and table.cells()[0][5].text == "0.68 m/s"


def test_an_incomplete_run_lists_every_missing_episode_and_is_marked(run, tmp_path):
    folder = _copy(run, tmp_path)
    traces = sorted((folder / "traces").glob("*.h5"))
    (traces[0]).write_bytes(b"not an HDF5 file")                 # corrupt
    traces[1].unlink()                                           # missing
    with h5py.File(traces[2], "r+") as f:                        # a NaN
        q = f["/robot/q"][()]
        q[3, 2] = np.nan
        f["/robot/q"][...] = q
    with h5py.File(traces[3], "r+") as f:                        # a missing group
        del f["/human"]
    data = load_run(folder)
    unreadable = {r["trace"]: r["error"] for r in data.unreadable}
    assert len(unreadable) == 4
    reasons = [unreadable[f"traces/{p.name}"] for p in traces[:4]]
    assert "cannot be opened as HDF5" in reasons[0]
    assert "the trace file is missing" in reasons[1]
    assert "/robot/q is not finite" in reasons[2] and "row 3" in reasons[2]
    assert "missing the group /human" in reasons[3]
    ended = sum(s["ended"] for s in data.summary["configurations"].values())
    assert ended == 2 and data.incomplete
    doc, _ = document(data, "en")
    assert doc.incomplete.startswith("INCOMPLETE: 4 of 6 episodes are not complete")
    listed = next(s for s in doc.sections if s.key == "incomplete").blocks[-1]
    assert {row[3].text for row in listed.cells()} == {f"traces/{p.name}" for p in traces[:4]}
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(doc)))
    assert "INCOMPLETE" in reader.pages[0].extract_text()


@pytest.mark.parametrize("case", ["empty", "not a run", "newer schema", "missing"])
def test_bad_run_folders_are_refused_clearly(case, run, tmp_path, capsys):
    folder = tmp_path / "folder"
    if case == "empty":
        folder.mkdir()
        expected = "is empty"
    elif case == "not a run":
        folder.mkdir()
        (folder / "notes.txt").write_text("hello")
        expected = "is not a cobotsim run"
    elif case == "newer schema":
        folder = _copy(run, tmp_path)
        with h5py.File(sorted((folder / "traces").glob("*.h5"))[0], "r+") as f:
            f.attrs["schema_version"] = 99
        expected = "schema_version 99"
    else:
        expected = "no such run folder"
    with pytest.raises(ReportInputError, match=expected):
        load_run(folder)
    assert main(["report", str(folder)]) == 2
    assert expected in capsys.readouterr().err


def test_cobotsim_report_writes_both_formats_and_a_cobotsim_run_folder_works(tmp_path, capsys):
    out = tmp_path / "single"
    assert main(["run", "handover", "--seed", "0", "--out", str(out)]) == 0
    assert main(["report", str(out), "--out", str(tmp_path / "review" / "r.html")]) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "review" / "r.html").stat().st_size > 10000
    assert (tmp_path / "review" / "r.pdf").read_bytes()[:5] == b"%PDF-"
    assert "html:" in printed and "pdf:" in printed
    data = load_run(out)
    assert data.kind == "run" and data.rows[0]["configuration"] == "scripted (shields: none)"
    doc, _ = document(data, "en")
    block = next(s for s in doc.sections if s.key == "reproducibility").blocks
    commands = [b.text for b in block if type(b).__name__ == "Preformatted"][0]
    assert commands == "cobotsim run handover --seed 0 --episodes 1 --out NEW_FOLDER"
    assert main(["report", str(out), "--format", "docx"]) == 2


def test_a_video_of_the_episode_gives_the_still_frame(run, tmp_path):
    import cv2

    from benchmarks.report.frames import still_frame
    from simulator.traces import read_trace
    folder = _copy(run, tmp_path)
    path = sorted((folder / "traces").glob("strike_*.h5"))[0]
    trace = read_trace(path)
    (folder / "videos").mkdir()
    writer = cv2.VideoWriter(str(folder / "videos" / f"{path.stem}.mp4"),
                             cv2.VideoWriter_fourcc(*"mp4v"), 20, (64, 48))
    for k in range(len(trace["/time"]) + 1):
        writer.write(np.full((48, 64, 3), (k * 2) % 255, np.uint8))
    writer.release()
    _, source = still_frame(trace, folder, float(trace["/time"][40]))
    assert source == "video"
    _, source = still_frame(trace, run, float(trace["/time"][40]))
    assert source == "trace"
