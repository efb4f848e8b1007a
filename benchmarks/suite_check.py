"""A suite against the catalogue: every name it uses must exist and fit together.

Checked before any episode runs, each failure a :class:`~simulator.errors.SpecError`
naming the suite file and key path: configuration names unique and the compared ones
known; scenarios and robots in the catalogue (or scenario files that load), each robot
supported by its scenario; the policy loadable as far as it can be without a cell
(the form of the name, model files present, factories importable); the latency
parseable; shields whose monitors each scenario runs.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from simulator import catalogue
from simulator.errors import CobotsimError, SpecError
from simulator.spec.safety import SHIELD_NAMES

POLICY_FORMS = ("'scripted', 'module:factory', 'file.py:factory', 'ws://host:port', "
                "'model.onnx' or 'sb3:ALGORITHM:model.zip'")


def scenario_source(name: str, suite_file: Path) -> str:
    """A suite's scenario entry as :class:`~simulator.env.CellEnv` takes it: a catalogue
    name, or a .yaml path made absolute against the suite file's folder."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        return str(path if path.is_absolute() else (suite_file.parent / path).resolve())
    return name


def check_suite(spec, path: Path) -> None:
    """Raise SpecError on the first problem of ``spec`` (read from ``path``)."""
    file = str(path)
    names = [c.name for c in spec.configurations]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(file, f"configurations[{i}].name", name, "a name no other "
                            "configuration has")
    for i, pair in enumerate(spec.pairs):
        for j, name in enumerate(pair):
            if name not in names:
                raise SpecError(file, f"compare[{i}][{j}]", name, f"a configuration: "
                                f"{', '.join(names)}")
        if pair[0] == pair[1]:
            raise SpecError(file, f"compare[{i}]", list(pair), "two different configurations")
    scenarios = _check_scenarios(spec.scenarios, "scenarios", file, path)
    _check_robots(spec.robots, "robots", scenarios, file)
    for i, config in enumerate(spec.configurations):
        key = f"configurations[{i}]"
        own = (_check_scenarios(config.scenarios, f"{key}.scenarios", file, path)
               if config.scenarios is not None else scenarios)
        if config.robots is not None:
            _check_robots(config.robots, f"{key}.robots", own, file)
        elif config.scenarios is not None:
            _check_robots(spec.robots, "robots", own, file)
        _check_policy(config.policy, f"{key}.policy", file, path)
        _check_latency(config.latency, f"{key}.latency", file)
        for scenario_key, scenario in own.items():
            _check_shields(config, scenario, f"{key}.shields", scenario_key, file)


def _check_scenarios(entries, key: str, file: str, path: Path) -> dict:
    """{key path: ScenarioSpec} of every entry; an unknown name lists the known ones."""
    found = {}
    for i, name in enumerate(entries):
        try:
            spec, _ = catalogue.load_scenario(scenario_source(name, path))
        except CobotsimError as exc:
            raise SpecError(file, f"{key}[{i}]", name, f"a scenario that loads ({exc})") from None
        found[f"{key}[{i}]"] = spec
    return found


def _check_robots(choice, key: str, scenarios: dict, file: str) -> None:
    if isinstance(choice, str):
        return  # 'scenario' or 'all': the scenarios' own lists
    known = catalogue.robot_names()
    for i, robot in enumerate(choice):
        if robot not in known:
            raise SpecError(file, f"{key}[{i}]", robot, f"a robot of the catalogue: "
                            f"{', '.join(known)}")
        for scenario_key, scenario in scenarios.items():
            if robot not in scenario.robots:
                raise SpecError(file, f"{key}[{i}]", robot, f"a robot that scenario "
                                f"{scenario.id!r} ({scenario_key}) supports: "
                                f"{', '.join(scenario.robots)}")


def _check_policy(policy: str, key: str, file: str, path: Path) -> None:
    if policy == "scripted" or policy.startswith(("ws://", "wss://")):
        return
    if policy.startswith("sb3:"):
        raise SpecError(file, key, policy, "a policy a suite may load: Stable-Baselines3 files "
                        "can execute code when loaded, so only 'cobotsim run --trusted-model' "
                        "loads them; export the model to ONNX for a suite")
    model = policy if policy.endswith(".onnx") else None
    if model is not None:
        if not Path(model).is_file():
            raise SpecError(file, key, policy, f"a policy whose model file exists (no file "
                            f"{model!r}, relative to the folder the command runs in)")
        return
    if ":" not in policy:
        raise SpecError(file, key, policy, f"a policy: {POLICY_FORMS}")
    from simulator.policies.loading import load_factory
    try:
        load_factory(policy)
    except CobotsimError as exc:
        raise SpecError(file, key, policy, f"a policy factory that can be imported ({exc})") from None


def _check_latency(latency, key: str, file: str) -> None:
    from simulator.policies.timing import Latency
    try:
        Latency.parse(latency)
    except CobotsimError as exc:
        raise SpecError(file, key, latency, str(exc)) from None


def _check_shields(config, scenario, key: str, scenario_key: str, file: str) -> None:
    if config.shields == "scenario":
        return
    safety = scenario.safety
    switched = {n: dataclasses.replace(getattr(safety.shields, n), enabled=n in config.shields)
                for n in SHIELD_NAMES}
    try:
        dataclasses.replace(safety, shields=dataclasses.replace(safety.shields, **switched))
    except ValueError as exc:
        raise SpecError(file, key, list(config.shields), f"shields that scenario "
                        f"{scenario.id!r} ({scenario_key}) can run: {exc}") from None
