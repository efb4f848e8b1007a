"""The notebooks execute in a real Jupyter kernel (nbclient) on a small run, show their
figures inline, and leave no temporary folder behind."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.report import shared_run

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return shared_run(tmp_path_factory)


def _execute(path: Path, run_folder: str, cwd: Path) -> "nbformat.NotebookNode":
    """Execute the notebook with ``RUN`` set after its parameters cell (as papermill does)."""
    book = nbformat.read(path, as_version=4)
    i = next(k for k, c in enumerate(book.cells) if "parameters" in c.metadata.get("tags", []))
    book.cells.insert(i + 1, nbformat.v4.new_code_cell(f"RUN = {run_folder!r}"))
    nbclient.NotebookClient(book, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}}).execute()
    return book


def test_there_are_the_three_notebooks():
    assert [p.stem for p in NOTEBOOKS] == ["01_quickstart", "02_compare_configurations",
                                          "03_contact_forensics"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_with_inline_figures_and_leaves_no_temporary_folder(path, run, tmp_path,
                                                                         monkeypatch):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))  # the kernel's temporary folder
    work = tmp_path / "work"
    work.mkdir()
    target = "runs/notebook" if path.stem == "01_quickstart" else str(run)
    book = _execute(path, target, work)
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "figures must show inline"
    assert all(len(o["data"]["image/png"]) > 1000 for o in images)
    assert list(temporary.iterdir()) == []
    if path.stem == "01_quickstart":
        assert [p.name for p in work.iterdir()] == ["runs"]  # only its named output folder
        assert len(list((work / "runs" / "notebook" / "traces").glob("*.h5"))) == 1
    else:
        assert list(work.iterdir()) == []
