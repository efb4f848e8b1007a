"""The catalogue of robots and scenarios, and their Gymnasium registration.

Robots are folders ``robots/<id>/robot.yaml``; scenarios are files ``scenarios/<id>.yaml``.
Besides the shipped catalogue, a user's own catalogue folders are searched: each has the
same layout (``<dir>/robots/<id>/robot.yaml``, ``<dir>/scenarios/<id>.yaml``) and is named
in the environment variable :data:`CATALOGUE_ENV` (several folders separated by
``os.pathsep``) or with ``cobotsim --catalogue DIR`` (which sets the variable, so worker
processes see the same catalogue). A name found twice, in the shipped catalogue and a
user folder or in two user folders, is an error naming both places: nothing is shadowed
silently. Each scenario is registered once as the Gymnasium id its spec names
(``cobotsim/Handover-v0``) when :mod:`simulator` is imported, or by :func:`register_all`.
"""
from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

from simulator.errors import ConfigError, SpecError, UnknownNameError
from simulator.resources import robots_dir, scenarios_dir
from simulator.spec.loading import load_spec
from simulator.spec.robot import RobotSpec
from simulator.spec.scenario import ScenarioSpec

log = logging.getLogger(__name__)
ENTRY_POINT = "simulator.env:CellEnv"
CATALOGUE_ENV = "COBOTSIM_CATALOGUE"


class CatalogueClashError(ConfigError):
    """The same robot or scenario name is defined in two catalogue folders."""


def user_folders() -> list[Path]:
    """The user's catalogue folders named in :data:`CATALOGUE_ENV`, in order."""
    value = os.environ.get(CATALOGUE_ENV, "")
    folders = []
    for part in value.split(os.pathsep):
        if not part.strip():
            continue
        folder = Path(part).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"{CATALOGUE_ENV}: catalogue folder {str(folder)!r} does not exist "
                              "(expected a folder holding robots/<id>/robot.yaml and/or "
                              "scenarios/<id>.yaml)")
        folders.append(folder.resolve())
    return folders


def use_catalogue(folders) -> None:
    """Add user catalogue folders (before any named in :data:`CATALOGUE_ENV`), for this
    process and the processes it starts; clears the cached robot specs."""
    current = [p for p in os.environ.get(CATALOGUE_ENV, "").split(os.pathsep) if p.strip()]
    added = [str(Path(f).expanduser().resolve()) for f in folders]
    os.environ[CATALOGUE_ENV] = os.pathsep.join(dict.fromkeys(added + current))
    user_folders()  # a missing folder fails here, naming it
    load_robot.cache_clear()


def _entries(kind: str) -> dict[str, Path]:
    """name -> path of every robot folder (``kind="robots"``) or scenario file, shipped
    first, then the user folders; raises :class:`CatalogueClashError` on a repeated name."""
    roots = [robots_dir() if kind == "robots" else scenarios_dir()]
    roots += [folder / kind for folder in user_folders()]
    found: dict[str, Path] = {}
    for root in roots:
        if not root.is_dir():
            continue
        items = (sorted(p.parent for p in root.glob("*/robot.yaml")) if kind == "robots"
                 else sorted(root.glob("*.yaml")))
        for item in items:
            name = item.name if kind == "robots" else item.stem
            if name in found:
                what = "robot" if kind == "robots" else "scenario"
                raise CatalogueClashError(
                    f"{what} {name!r} is defined twice: {found[name]} and {item}; rename one "
                    f"(its 'id' and its {'folder' if kind == 'robots' else 'file'} name)")
            found[name] = item
    return found


def robot_names() -> list[str]:
    """Names of the robots (folders holding a robot.yaml), shipped and the user's."""
    return sorted(_entries("robots"))


def scenario_names() -> list[str]:
    """Names of the scenarios (YAML files), shipped and the user's."""
    return sorted(_entries("scenarios"))


def robot_folder(name: str) -> Path:
    entries = _entries("robots")
    if name not in entries:
        raise UnknownNameError("robot", name, sorted(entries))
    return entries[name]


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
    entries = _entries("scenarios")
    if name_or_path not in entries:
        raise UnknownNameError("scenario", str(name_or_path), sorted(entries))
    return entries[name_or_path]


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
    """The Gymnasium ids of every scenario (for tests that run over all envs)."""
    return [load_scenario(n)[0].gym_id for n in scenario_names()]


def register_all(strict: bool = True) -> list[str]:
    """Register one Gymnasium id per scenario (shipped and the user's); returns the ids.
    Two scenarios whose specs name the same Gymnasium id are an error. With ``strict``
    False (at import of :mod:`simulator`) a scenario that does not load, or a clash, is
    logged and left out instead: importing must not fail on a user's file, which fails
    with its full message when it is used by name."""
    import gymnasium

    from simulator.errors import CobotsimError

    ids, owners = [], {}
    try:
        names = scenario_names()
    except CobotsimError as exc:
        if strict:
            raise
        log.error("cobotsim catalogue: %s", exc)
        names = sorted(p.stem for p in scenarios_dir().glob("*.yaml"))
    for name in names:
        try:
            spec, _ = load_scenario(name)
        except CobotsimError as exc:
            if strict:
                raise
            log.error("cobotsim catalogue: scenario %r not registered: %s", name, exc)
            continue
        if spec.gym_id in owners:
            raise CatalogueClashError(f"scenarios {owners[spec.gym_id]!r} and {name!r} both "
                                      f"register the Gymnasium id {spec.gym_id}")
        owners[spec.gym_id] = name
        if spec.gym_id not in gymnasium.registry:
            gymnasium.register(id=spec.gym_id, entry_point=ENTRY_POINT,
                               kwargs={"scenario": name},
                               max_episode_steps=None, disable_env_checker=True)
        ids.append(spec.gym_id)
    return ids
