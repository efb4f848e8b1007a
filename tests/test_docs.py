"""The documentation stays true: generated key tables, listed commands, the worked example."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.catalogue import load_scenario
from simulator.cli import main
from simulator.env import CellEnv

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.S | re.M)


def code_blocks(page: str) -> list[tuple[str, str]]:
    """(tag, body) of every fenced code block of ``docs/<page>``."""
    return FENCE.findall((DOCS / page).read_text(encoding="utf-8"))


def test_spec_tables_are_current():
    result = subprocess.run([sys.executable, str(DOCS / "gen_spec_tables.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _list_commands() -> list[list[str]]:
    commands = []
    for _, body in code_blocks("cli.md"):
        for line in body.splitlines():
            if line.strip().startswith("cobotsim list"):
                commands.append(shlex.split(line.split("#")[0])[1:])
    return commands


def test_cli_page_shows_list_commands():
    assert ["list", "scenarios"] in _list_commands() and ["list", "robots"] in _list_commands()


@pytest.mark.parametrize("argv", _list_commands(), ids=" ".join)
def test_list_commands_of_the_cli_page_run(argv, capsys):
    assert main(argv) == 0
    assert capsys.readouterr().out.strip()


def _example_yaml() -> str:
    blocks = [body for tag, body in code_blocks("scenarios.md")
              if tag == "yaml" and body.startswith("# example: workbench_handover\n")]
    assert len(blocks) == 1, "docs/scenarios.md needs one ```yaml block starting with the example comment"
    return blocks[0]


def test_worked_example_loads_and_steps(tmp_path):
    path = tmp_path / "workbench_handover.yaml"
    path.write_text(_example_yaml(), encoding="utf-8")
    spec, _ = load_scenario(str(path))
    assert spec.id == "workbench_handover" and spec.gym_id == "cobotsim/WorkbenchHandover-v0"
    env = CellEnv(str(path))
    try:
        obs, info = env.reset(seed=0)
        for _ in range(3):
            obs, reward, terminated, truncated, info = env.step(np.zeros(env.action_space.shape))
            assert np.isfinite(reward) and not terminated and not truncated
        assert info["status"] == "running" and info["time"] == pytest.approx(3 * env.dt)
    finally:
        env.close()
