"""The catalogue: a user's own folders next to the shipped robots and scenarios."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import gymnasium
import numpy as np
import pytest
import yaml

from simulator import catalogue
from simulator.env import CellEnv
from simulator.errors import ConfigError, UnknownNameError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def user_catalogue(tmp_path, monkeypatch):
    """A catalogue folder with one robot (the Panda under another name) and one scenario
    (the handover cell using it), named in COBOTSIM_CATALOGUE."""
    folder = tmp_path / "my_catalogue"
    robot = folder / "robots" / "my_panda"
    shutil.copytree(catalogue.robot_folder("panda"), robot)
    data = yaml.safe_load((robot / "robot.yaml").read_text())
    data["id"], data["name"] = "my_panda", "Panda, my copy"
    (robot / "robot.yaml").write_text(yaml.safe_dump(data))
    scenario = yaml.safe_load(catalogue.scenario_path("handover").read_text())
    scenario.update(id="my_cell", description="The handover cell with my robot.",
                    robots=["my_panda"])
    scenario["robot"]["id"] = "my_panda"
    (folder / "scenarios").mkdir()
    (folder / "scenarios" / "my_cell.yaml").write_text(yaml.safe_dump(scenario))
    monkeypatch.setenv(catalogue.CATALOGUE_ENV, str(folder))
    catalogue.load_robot.cache_clear()
    yield folder
    catalogue.load_robot.cache_clear()


def test_a_users_robot_and_scenario_are_found_next_to_the_shipped_ones(user_catalogue):
    assert "my_panda" in catalogue.robot_names() and "panda" in catalogue.robot_names()
    assert "my_cell" in catalogue.scenario_names() and "handover" in catalogue.scenario_names()
    assert catalogue.robot_folder("my_panda") == user_catalogue / "robots" / "my_panda"
    env = CellEnv("my_cell")
    try:
        obs, _ = env.reset(seed=0)
        obs, *_ = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        assert env.robot.spec.id == "my_panda" and np.all(np.isfinite(obs["ee_pos"]))
    finally:
        env.close()
    assert "cobotsim/MyCell-v0" in catalogue.register_all()
    env = gymnasium.make("cobotsim/MyCell-v0")
    try:
        assert env.unwrapped.scenario.id == "my_cell"
    finally:
        env.close()


def test_the_cli_takes_catalogue_folders(user_catalogue, monkeypatch):
    monkeypatch.delenv(catalogue.CATALOGUE_ENV)
    out = subprocess.run([sys.executable, "-m", "simulator", "--catalogue", str(user_catalogue),
                          "list", "scenarios", "--json"], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows["my_cell"]["robots"] == ["my_panda"]
    assert rows["my_cell"]["gym_id"] == "cobotsim/MyCell-v0"
    assert rows["my_cell"]["file"] == str(user_catalogue / "scenarios" / "my_cell.yaml")
    assert rows["handover"]["task"] == "handover" and rows["handover"]["description"]
    out = subprocess.run([sys.executable, "-m", "simulator", "list", "scenarios", "--json"],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "my_cell" not in {r["id"] for r in json.loads(out)}


def test_a_name_defined_twice_is_an_error_naming_both_files(user_catalogue):
    clash = user_catalogue / "scenarios" / "handover.yaml"
    shutil.copy(catalogue.scenario_path("handover"), clash)
    with pytest.raises(catalogue.CatalogueClashError) as err:
        catalogue.scenario_names()
    assert str(clash) in str(err.value) and "handover" in str(err.value)
    assert str(catalogue.scenarios_dir() / "handover.yaml") in str(err.value)
    result = subprocess.run([sys.executable, "-m", "simulator", "list", "scenarios"],
                            capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ})
    assert result.returncode == 2 and "defined twice" in result.stderr
    shutil.copytree(catalogue.robots_dir() / "panda", user_catalogue / "robots" / "panda")
    with pytest.raises(catalogue.CatalogueClashError, match="robot 'panda' is defined twice"):
        catalogue.robot_names()


def test_a_missing_folder_or_an_unknown_name_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(catalogue.CATALOGUE_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="COBOTSIM_CATALOGUE.*nowhere.*does not exist"):
        catalogue.robot_names()
    monkeypatch.setenv(catalogue.CATALOGUE_ENV, str(tmp_path))
    with pytest.raises(UnknownNameError, match="unknown scenario 'handvoer'.*Did you mean 'handover'"):
        catalogue.scenario_path("handvoer")


def test_a_broken_user_scenario_does_not_break_the_import(user_catalogue):
    (user_catalogue / "scenarios" / "broken.yaml").write_text("id: broken\nrobots: [nope]\n")
    result = subprocess.run([sys.executable, "-c", "import simulator; print(simulator.ENV_IDS)"],
                            capture_output=True, text=True, cwd=ROOT, env={**os.environ})
    assert result.returncode == 0, result.stderr
    assert "Handover-v0" in result.stdout and "MyCell-v0" in result.stdout
    assert "broken" in result.stderr and "not registered" in result.stderr
    with pytest.raises(Exception, match="broken.yaml"):
        catalogue.load_scenario("broken")
