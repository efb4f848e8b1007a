"""Benchmark suites: the data in ``benchmarks/suites/<id>.yaml`` (docs/benchmarks.md).

A suite names configurations (a policy with its shields, inference latency and person
variations) and crosses each with scenarios × robots × seeds. Like every spec, the file
is a serialization of frozen dataclasses and fails at load, before any episode runs,
with a :class:`~simulator.errors.SpecError` naming the file, the key path, what was found
and what was expected: unknown keys and types (:func:`~simulator.spec.schema.from_mapping`)
and then, against the catalogue, unknown scenarios, robots, policies and shields, shields
whose monitor a scenario switches off, and comparisons of unknown configurations.

Times in s (simulated unless called wall-clock).
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from simulator.errors import CobotsimError, SpecError, UnknownNameError
from simulator.spec.human import VariationsSpec
from simulator.spec.loading import read_yaml
from simulator.spec.safety import SHIELD_NAMES
from simulator.spec.schema import from_mapping, non_empty, non_negative, positive, spec_field

SUITES_DIR = Path(__file__).resolve().parent / "suites"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
Shield = Literal[SHIELD_NAMES]
RobotChoice = Literal["scenario", "all"] | tuple[str, ...]
WORST_BY = ("min_ssm_margin_m", "worst_contact_ratio")
Validation = Literal["pfl", "ssm", "pfl_in_cell"]


def _name(value: str) -> str | None:
    return None if NAME.match(value) else ("a name of letters, digits, '.', '+' and '-' "
                                            "(it becomes part of file names)")


@dataclass(frozen=True, kw_only=True)
class SeedsSpec:
    """The seeds every configuration runs: first, first + 1, ..., first + count - 1."""

    first: int = spec_field(0, doc="the first seed", check=non_negative)
    count: int = spec_field(doc="how many seeds (at least 75 per configuration before "
                            "comparing rates)", check=positive)


@dataclass(frozen=True, kw_only=True)
class EpisodeSpec:
    """Limits of every episode of the suite."""

    max_duration: float | None = spec_field(None, unit="s", doc="replaces each scenario's "
                                            "task.max_duration; null: the scenario's",
                                            check=positive)
    timeout: float | None = spec_field(None, unit="s (wall-clock)", doc="an episode still "
                                       "running after this long is stopped and marked "
                                       "interrupted; null: no limit", check=positive)


@dataclass(frozen=True, kw_only=True)
class RecordSpec:
    """What is written besides a trace per episode (traces are always written)."""

    worst_videos: int = spec_field(0, doc="replay the N worst complete episodes with video "
                                   "into videos/ after the run", check=non_negative)
    worst_by: Literal["min_ssm_margin_m", "worst_contact_ratio"] = spec_field(
        "min_ssm_margin_m", doc="which column ranks the episodes for worst_videos (smallest "
        "margin, or largest contact ratio)")
    validations: tuple[Validation, ...] = spec_field(
        ("pfl", "ssm"), doc="validations run before the first episode and saved in validation/ "
        "as the report's evidence: pfl (validate pfl, fast subset), ssm (validate ssm), "
        "pfl_in_cell (validate pfl --in-cell); [] for none")


@dataclass(frozen=True, kw_only=True)
class ConfigurationSpec:
    """One named way of running the cells: a policy and the cell's safety settings."""

    name: str = spec_field(doc="configuration name (in file names and tables)", check=_name)
    policy: str = spec_field("scripted", doc="the policy, as for cobotsim run --policy "
                             "(docs/policies.md)")
    shields: Literal["scenario"] | tuple[Shield, ...] = spec_field(
        "scenario", doc="'scenario': each scenario's own shields; a list (may be empty []): "
        "exactly these")
    latency: str | float = spec_field(0.0, unit="s", doc="inference latency in simulated "
                                      "time: seconds, 'uniform:LOW:HIGH' or 'normal:MEAN:STD'")
    replan_every: int | None = spec_field(None, doc="ask the policy every K control steps; "
                                          "null: when its action chunk is used up",
                                          check=positive)
    cameras: tuple[Literal["scene", "wrist"], ...] = spec_field(
        (), doc="camera images added to the policy's observation (not recorded)")
    person: VariationsSpec | None = spec_field(None, doc="replaces every scenario's "
                                               "human.variations (docs/scenarios.md); null: "
                                               "the scenario's own")
    scenarios: tuple[str, ...] | None = spec_field(None, doc="this configuration's scenarios; "
                                                   "null: the suite's", check=non_empty)
    robots: RobotChoice | None = spec_field(None, doc="this configuration's robots; null: "
                                            "the suite's")


@dataclass(frozen=True, kw_only=True)
class SuiteSpec:
    """A benchmark suite."""

    id: str = spec_field(doc="suite name; equals the file name without .yaml", check=_name)
    description: str = spec_field("", doc="one line")
    scenarios: tuple[str, ...] = spec_field(doc="catalogue names, or .yaml paths relative to "
                                            "the suite file", check=non_empty)
    robots: RobotChoice = spec_field("scenario", doc="'scenario': each scenario's own robot; "
                                     "'all': every robot a scenario supports; or a list of "
                                     "robot names (each scenario must support them)")
    seeds: SeedsSpec = spec_field(doc="the seeds")
    configurations: tuple[ConfigurationSpec, ...] = spec_field(doc="the configurations",
                                                               check=non_empty)
    compare: tuple[tuple[str, str], ...] | None = spec_field(
        None, doc="pairs [a, b] of configurations whose paired differences (a - b on the same "
        "scenario, robot and seed) are reported; null: every pair")
    episode: EpisodeSpec = spec_field(default_factory=EpisodeSpec, doc="episode limits")
    record: RecordSpec = spec_field(default_factory=RecordSpec, doc="what else is recorded")

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The compared configuration pairs (``compare``, or every pair in file order)."""
        if self.compare is not None:
            return [tuple(p) for p in self.compare]
        names = [c.name for c in self.configurations]
        return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]


@dataclass(frozen=True)
class Suite:
    """A loaded, validated suite: the spec, its file and text, and what it resolved to."""

    spec: SuiteSpec
    file: Path
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def suite_path(name_or_path: str) -> Path:
    """A shipped suite's file (``quickstart``) or the path of a suite file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise CobotsimError(f"suite file {path} does not exist")
        return path
    shipped = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
    if name_or_path not in shipped:
        raise UnknownNameError("suite", name_or_path, shipped)
    return SUITES_DIR / f"{name_or_path}.yaml"


def load_suite(name_or_path: str) -> Suite:
    """Load and validate a suite (module docstring); raises SpecError on the first problem."""
    path = suite_path(name_or_path)
    data, text = read_yaml(path)
    spec = from_mapping(SuiteSpec, data, str(path))
    if spec.id != path.stem:
        raise SpecError(str(path), "id", spec.id, f"the file name without .yaml ({path.stem!r})")
    from benchmarks.suite_check import check_suite
    check_suite(spec, path)
    return Suite(spec, path, text)


def shields_of(config: ConfigurationSpec, scenario_spec) -> tuple[str, ...]:
    """The shields a configuration runs in a scenario, in the catalogue's order."""
    if config.shields == "scenario":
        return tuple(scenario_spec.safety.shields.enabled)
    return tuple(dict.fromkeys(config.shields))


def with_variations(person: VariationsSpec) -> dict:
    """``person`` as the plain mapping of a scenario's ``human.variations`` (unset keys
    left out)."""
    return {f.name: list(v) for f in dataclasses.fields(person)
            if (v := getattr(person, f.name)) is not None}
