"""docs/benchmarks.md stays true: its quickstart is the shipped file, every column of the
episode table is explained, and the README's main command runs the quickstart suite."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from benchmarks.metrics import COLUMNS
from benchmarks.suite import SUITES_DIR

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")


def test_the_guides_quickstart_is_the_shipped_suite():
    blocks = re.findall(r"```yaml\n(id: quickstart\n.*?)```", GUIDE, re.S)
    assert len(blocks) == 1
    shipped = yaml.safe_load((SUITES_DIR / "quickstart.yaml").read_text(encoding="utf-8"))
    assert yaml.safe_load(blocks[0]) == shipped


def test_every_column_of_the_episode_table_is_explained():
    table = GUIDE.split("### `episodes.csv`", 1)[1].split("###", 1)[0]
    named = set(re.findall(r"`([a-z_0-9]+)`", table))
    assert set(COLUMNS) <= named, sorted(set(COLUMNS) - named)


def test_the_readme_quickstart_runs_the_quickstart_suite():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quickstart, re.S)
    assert len(commands) == 2
    assert "cobotsim bench quickstart --out" in commands[0] and commands[0].startswith("python3 -m venv")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci == commands[1]
