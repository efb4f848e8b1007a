"""A suite as the list of its episodes, and the slices (shards) of that list.

Every planned episode is a :class:`PlannedEpisode`: plain, picklable data that a worker
process or a Ray task needs to run it and nothing else. The plan is ordered seed first
(all configurations, scenarios and robots of seed s, then s + 1, ...), so an unfinished
run and every shard hold complete pairs for the comparisons. ``--shard I/N`` takes the
I-th of N contiguous blocks of the seeds: disjoint slices whose union is the whole plan.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from simulator import catalogue
from simulator.errors import ConfigError

from benchmarks.suite import Suite, shields_of, with_variations
from benchmarks.suite_check import scenario_source


@dataclass(frozen=True)
class PlannedEpisode:
    """One episode of a suite (times in s)."""

    index: int                   # position in the whole suite's plan
    suite: str
    configuration: str
    scenario: str                # the scenario's id
    source: str                  # catalogue name or absolute path of its file
    robot: str
    seed: int
    policy: str
    shields: tuple[str, ...]
    latency: str
    replan_every: int | None
    cameras: tuple[str, ...]
    scenario_text: str | None    # a variant of the file (person, max_duration), else None
    timeout: float | None        # wall-clock

    @property
    def name(self) -> str:
        """The trace's file name without ``.h5``."""
        return f"{self.configuration}_{self.scenario}_{self.robot}_seed{self.seed:05d}"

    @property
    def episode_id(self) -> str:
        return f"{self.configuration}/{self.scenario}/{self.robot}/{self.seed}"

    @property
    def pair_key(self) -> tuple[str, str, int]:
        """What two configurations' episodes share when they are compared."""
        return (self.scenario, self.robot, self.seed)


def _robots(choice, scenario) -> list[str]:
    if choice == "scenario":
        return [scenario.robot.id]
    if choice == "all":
        return list(scenario.robots)
    return list(choice)


def variant_text(source: str, person, max_duration: float | None, note: str) -> str | None:
    """The scenario file with ``human.variations`` and ``task.max_duration`` replaced (None
    when neither is); a motion clip's relative path is made absolute so the variant runs
    from anywhere."""
    if person is None and max_duration is None:
        return None
    path = catalogue.scenario_path(source)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    human = data.setdefault("human", {})
    if person is not None:
        human["variations"] = with_variations(person)
    clip = human.get("motion", {}).get("clip")
    if clip and not Path(clip).is_absolute():
        human["motion"]["clip"] = str((path.parent / clip).resolve())
    if max_duration is not None:
        data.setdefault("task", {})["max_duration"] = float(max_duration)
    return f"# {note}; variant of {path}\n" + yaml.safe_dump(data, sort_keys=False)


def plan_episodes(suite: Suite) -> list[PlannedEpisode]:
    """Every episode of ``suite``, seed first (module docstring)."""
    from simulator.policies.timing import Latency

    spec = suite.spec
    rows = []
    for config in spec.configurations:
        sources = [scenario_source(s, suite.file) for s in (config.scenarios or spec.scenarios)]
        robots = config.robots if config.robots is not None else spec.robots
        for source in sources:
            scenario, _ = catalogue.load_scenario(source)
            text = variant_text(source, config.person, spec.episode.max_duration,
                                f"suite {spec.id}, configuration {config.name}")
            for robot in _robots(robots, scenario):
                rows.append((config, scenario, source, robot, text))
    first, count = spec.seeds.first, spec.seeds.count
    episodes = []
    for seed in range(first, first + count):
        for config, scenario, source, robot, text in rows:
            episodes.append(PlannedEpisode(
                index=len(episodes), suite=spec.id, configuration=config.name,
                scenario=scenario.id, source=source, robot=robot, seed=seed,
                policy=config.policy, shields=shields_of(config, scenario),
                latency=str(Latency.parse(config.latency)), replan_every=config.replan_every,
                cameras=tuple(config.cameras), scenario_text=text,
                timeout=spec.episode.timeout))
    names = [e.name for e in episodes]
    if len(set(names)) != len(names):  # e.g. two scenario files with one id
        twice = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"{suite.file}: two episodes of the suite would write the trace "
                          f"{twice}.h5; list each scenario and robot once per configuration")
    return episodes


SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"I/N"`` as (I, N) with 1 <= I <= N; None for None."""
    if text is None:
        return None
    match = SHARD.match(text.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ConfigError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. 1/4 "
                          "(the first of four slices)")
    return int(match.group(1)), int(match.group(2))


def shard_of(episodes: list[PlannedEpisode], shard: tuple[int, int] | None,
             seeds: list[int]) -> list[PlannedEpisode]:
    """The episodes of shard (I, N): those whose seed is in the I-th of N contiguous
    blocks of ``seeds``; all of them for None."""
    if shard is None:
        return list(episodes)
    i, n = shard
    if n > len(seeds):
        raise ConfigError(f"--shard {i}/{n}: the suite has {len(seeds)} seed(s), so at most "
                          f"{len(seeds)} shards")
    block = set(seeds[(i - 1) * len(seeds) // n: i * len(seeds) // n])
    return [e for e in episodes if e.seed in block]
