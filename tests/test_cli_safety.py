"""Safety commands: stopping-test, validate pfl, validate ssm (on a parser of our own)."""
from __future__ import annotations

import argparse
import json

import pytest

from simulator import catalogue
from simulator.bodymodel import load_body_model
from simulator import cli_safety
from simulator.safety import stopping

SHIPPED = catalogue.robot_folder("panda") / "stopping.yaml"


def run(argv) -> int:
    parser = argparse.ArgumentParser(prog="cobotsim")
    cli_safety.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_validate_pfl_prints_every_region_and_passes(capsys):
    assert run(["validate", "pfl"]) == 0
    out = capsys.readouterr().out
    for region in load_body_model().regions:
        assert region in out
    assert "impact-device" in out and "impact-free" in out and "clamping" in out
    assert "0 outside tolerance" in out


def test_validate_ssm_prints_the_comparisons_and_passes(capsys):
    assert run(["validate", "ssm"]) == 0
    out = capsys.readouterr().out
    assert "tolerance 1 mm" in out and "0 outside tolerance" in out
    for check in ("sphere-sphere distance", "box face-sphere", "S_p constant deceleration",
                  "S_p stopping data", "Panda-person distance", "Panda-person S_p"):
        assert check in out
    assert run(["validate", "ssm", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows and all(r["passed"] and abs(r["error"]) <= 1e-3 for r in rows)


def test_validate_ssm_fails_with_exit_1(monkeypatch, capsys):
    bad = cli_safety._row("made-up check", 0.1, 0.2)
    monkeypatch.setattr(cli_safety, "ssm_checks", lambda: [bad])
    assert run(["validate", "ssm"]) == 1
    assert "1 outside tolerance" in capsys.readouterr().out


def test_stopping_test_prints_and_writes_yaml(monkeypatch, capsys, tmp_path):
    shipped = stopping.from_yaml(SHIPPED.read_text(), "panda")
    monkeypatch.setattr(stopping, "stopping_table", lambda robot: shipped)
    out_file = tmp_path / "stopping.yaml"
    assert run(["stopping-test", "panda", "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "panda_joint4" in out and "category 1 TCP table" in out
    assert stopping.from_yaml(out_file.read_text()).tcp == shipped.tcp
    assert run(["stopping-test", "panda", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["robot"] == "panda" and len(data["records"]) == 12


def test_unknown_robot_is_an_error():
    with pytest.raises(Exception, match="nobot"):
        run(["stopping-test", "nobot"])


@pytest.mark.slow
def test_validate_pfl_full_grid(capsys):
    assert run(["validate", "pfl", "--full"]) == 0
