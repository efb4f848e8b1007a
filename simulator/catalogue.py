"""The catalogue of robots and scenarios, and their Gymnasium registration.

Robots are folders ``robots/<id>/robot.yaml``; scenarios are files ``scenarios/<id>.yaml``.
Each scenario file is registered once as the Gymnasium id its spec names
(``cobotsim/Handover-v0``) when :mod:`simulator` is imported.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from simulator.errors import SpecError, UnknownNameError
from simulator.resources import robots_dir, scenarios_dir
from simulator.spec.loading import load_spec
from simulator.spec.robot import RobotSpec
from simulator.spec.scenario import ScenarioSpec

log = logging.getLogger(__name__)
ENTRY_POINT = "simulator.env:CellEnv"


def robot_names() -> list[str]:
    """Names of the shipped robots (folders holding a robot.yaml)."""
    return sorted(p.parent.name for p in robots_dir().glob("*/robot.yaml"))


def scenario_names() -> list[str]:
    """Names of the shipped scenarios (YAML files)."""
    return sorted(p.stem for p in scenarios_dir().glob("*.yaml"))


def robot_folder(name: str) -> Path:
    if name not in robot_names():
        raise UnknownNameError("robot", name, robot_names())
    return robots_dir() / name


@lru_cache(maxsize=None)
def load_robot(name: str) -> RobotSpec:
    """The spec of the shipped robot ``name``."""
    folder = robot_folder(name)
    spec, _ = load_spec(RobotSpec, folder / "robot.yaml")
    if spec.id != name:
        raise SpecError(str(folder / "robot.yaml"), "id", spec.id, f"the folder name {name!r}")
    return spec


def scenario_path(name_or_path: str) -> Path:
    """The file of a scenario given by catalogue name or by a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    if name_or_path not in scenario_names():
        raise UnknownNameError("scenario", str(name_or_path), scenario_names())
    return scenarios_dir() / f"{name_or_path}.yaml"


def load_scenario(name_or_path: str) -> tuple[ScenarioSpec, str]:
    """A scenario's spec and the exact text it was read from."""
    path = scenario_path(name_or_path)
    spec, text = load_spec(ScenarioSpec, path)
    if spec.id != path.stem:
        raise SpecError(str(path), "id", spec.id, f"the file name without .yaml ({path.stem!r})")
    for robot in spec.robots:
        if robot not in robot_names():
            raise SpecError(str(path), "robots", robot, f"robots of the catalogue: {', '.join(robot_names())}")
    return spec, text


def gym_ids() -> list[str]:
    """The Gymnasium ids of every shipped scenario (for tests that run over all envs)."""
    return [load_scenario(n)[0].gym_id for n in scenario_names()]


def register_all() -> list[str]:
    """Register one Gymnasium id per shipped scenario; returns the ids."""
    import gymnasium

    ids = []
    for name in scenario_names():
        spec, _ = load_scenario(name)
        if spec.gym_id not in gymnasium.registry:
            gymnasium.register(id=spec.gym_id, entry_point=ENTRY_POINT,
                               kwargs={"scenario": name},
                               max_episode_steps=None, disable_env_checker=True)
        ids.append(spec.gym_id)
    return ids
