"""Suite files and bad input: every mistake is a clear error naming the file, the key and
what was expected, before any episode starts, and nothing already written is touched."""
from __future__ import annotations

import json

import pytest
import yaml

from benchmarks.bench import run_suite
from benchmarks.plan import plan_episodes
from benchmarks.results import FolderError
from benchmarks.suite import load_suite
from simulator.catalogue import scenario_path
from simulator.cli import main
from simulator.errors import CobotsimError, ConfigError, SpecError
from tests.fixtures.bench import tiny_suite


def _run(suite, out, **options):
    return run_suite(str(suite), out, workers=1, progress=False, echo=lambda *a: None, **options)


@pytest.mark.parametrize("change, key, expected", [
    ({"scenarios": ["handovr"]}, "scenarios[0]", "Did you mean 'handover'"),
    ({"robots": ["ur5"]}, "robots[0]", "a robot of the catalogue"),
    ({"robots": ["ur5e"]}, "robots[0]", "a robot that scenario 'handover'"),
    ({"configurations": [{"name": "a", "policy": "magic"}]}, "configurations[0].policy",
     "a policy: 'scripted'"),
    ({"configurations": [{"name": "a", "policy": "no_such_module:factory"}]},
     "configurations[0].policy", "cannot import"),
    ({"configurations": [{"name": "a", "policy": "model.onnx"}]}, "configurations[0].policy",
     "model file exists"),
    ({"configurations": [{"name": "a", "policy": "sb3:PPO:model.zip"}]},
     "configurations[0].policy", "Stable-Baselines3 files can execute code"),
    ({"configurations": [{"name": "a", "shields": ["laser"]}]}, "configurations[0].shields",
     "one of 'ssm'"),
    ({"configurations": [{"name": "a", "latency": "uniform:0.2:0.1"}]},
     "configurations[0].latency", "reversed"),
    ({"configurations": [{"name": "a"}, {"name": "a"}]}, "configurations[1].name",
     "no other configuration"),
    ({"configurations": [{"name": "a b"}]}, "configurations[0].name", "letters, digits"),
    ({"compare": [["ssm", "nope"]]}, "compare[0][1]", "a configuration: ssm, bare"),
    ({"seeds": {"first": 0, "count": 0}}, "seeds.count", "a number > 0"),
    ({"seeds": {"first": 0}}, "seeds.count", "the key is missing"),
    ({"seed": {"count": 3}}, "seed", "one of the keys"),
    ({"configurations": [{"name": "a", "person": {"height": [1.9, 1.5]}}]},
     "configurations[0].person.height", "reversed"),
    ({"episode": {"max_duration": -1}}, "episode.max_duration", "a number > 0"),
    ({"id": "other"}, "id", "the file name without .yaml"),
])
def test_a_bad_suite_names_file_key_and_expectation_before_any_episode(tmp_path, change, key,
                                                                       expected):
    suite = tiny_suite(tmp_path, **change)
    with pytest.raises(SpecError) as error:
        _run(suite, tmp_path / "out")
    assert error.value.file == str(suite) and error.value.key == key
    assert expected in str(error.value)
    assert not (tmp_path / "out").exists()


def test_a_shield_whose_monitor_the_scenario_switches_off(tmp_path):
    data = yaml.safe_load(scenario_path("handover").read_text())
    data["id"] = "quiet_handover"
    data["safety"]["separation"]["enabled"] = False
    data["safety"]["shields"] = {}
    (tmp_path / "quiet_handover.yaml").write_text(yaml.safe_dump(data))
    suite = tiny_suite(tmp_path, scenarios=["quiet_handover.yaml"])
    with pytest.raises(SpecError, match="configurations\\[0\\].shields.*needs the separation monitor"):
        _run(suite, tmp_path / "out")


def test_the_command_line_reports_a_bad_suite_with_exit_code_2(tmp_path, capsys):
    suite = tiny_suite(tmp_path, configurations=[{"name": "a", "policy": "magic"}])
    assert main(["bench", str(suite), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"cobotsim: error: {suite}: configurations[0].policy: found 'magic'" in err


@pytest.mark.parametrize("shard, message", [("3/2", "1 <= I <= N"), ("0/2", "1 <= I <= N"),
                                            ("1-2", "expected I/N"), ("1/3", "at most 2 shards")])
def test_a_bad_shard_is_refused(tmp_path, capsys, shard, message):
    suite = tiny_suite(tmp_path)
    assert main(["bench", str(suite), "--out", str(tmp_path / "out"), "--shard", shard]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_folder_holding_another_suites_run_is_refused_untouched(tmp_path):
    out = tmp_path / "out"
    (out / "traces").mkdir(parents=True)
    record = {"suite": {"id": "other", "file": "other.yaml", "sha256": "0" * 64},
              "started": "2026-01-01T00:00:00+00:00", "shard": None}
    (out / "manifest.json").write_text(json.dumps(record))
    (out / "traces" / "x.h5").write_bytes(b"kept")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for resume in (False, True):
        with pytest.raises(FolderError, match="holds a run of suite 'other'"):
            _run(tiny_suite(tmp_path), out, resume=resume)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_folder_with_this_suites_run_needs_resume_and_others_need_a_new_folder(tmp_path):
    suite = tiny_suite(tmp_path, seeds=1, configurations=[{"name": "bare", "shields": []}],
                       scenarios=["crossing"])
    _run(suite, tmp_path / "out")
    with pytest.raises(FolderError, match="pass --resume"):
        _run(suite, tmp_path / "out")
    with pytest.raises(FolderError, match="holds the whole suite of this suite, not shard 1/1"):
        _run(suite, tmp_path / "out", resume=True, shard="1/1")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FolderError, match="not empty"):
        _run(suite, tmp_path / "other")


def test_an_unwritable_output_folder_is_refused_before_any_episode(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(FolderError, match="cannot write to the output folder"):
        _run(tiny_suite(tmp_path), blocker / "out")


def test_address_without_ray_backend_and_unknown_suite_name(tmp_path):
    with pytest.raises(ConfigError, match="--address names a Ray cluster"):
        _run(tiny_suite(tmp_path), tmp_path / "out", address="127.0.0.1:6379")
    with pytest.raises(CobotsimError, match="Did you mean 'quickstart'"):
        run_suite("quickstrat", tmp_path / "out")


def test_the_shipped_suites_load_and_cover_what_they_promise():
    quick = plan_episodes(load_suite("quickstart"))
    assert len(quick) <= 60 and {e.configuration for e in quick} == {"shields", "no-shields"}
    standard = load_suite("standard")
    episodes = plan_episodes(standard)
    from simulator import catalogue
    cells = {(s, r) for s in catalogue.scenario_names() for r in catalogue.load_scenario(s)[0].robots}
    assert {(e.scenario, e.robot) for e in episodes} == cells
    assert standard.spec.seeds.count >= 100
    assert {e.shields for e in episodes} == {("ssm", "contact_stop"), ()}
