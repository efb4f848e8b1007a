"""Spec loading: every error names the file, the key path, what was found and what is allowed."""
from __future__ import annotations

import textwrap

import pytest

from simulator import catalogue
from simulator.errors import SpecError, UnknownNameError
from simulator.spec.loading import load_spec
from simulator.spec.robot import RobotSpec
from simulator.spec.scenario import ScenarioSpec
from simulator.spec.schema import describe, from_mapping, to_mapping


def _write(tmp_path, text: str, name: str = "cell.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _handover_data():
    spec, _ = catalogue.load_scenario("handover")
    return to_mapping(spec)


def test_handover_round_trips_through_plain_data():
    spec, _ = catalogue.load_scenario("handover")
    assert from_mapping(ScenarioSpec, to_mapping(spec)) == spec
    assert spec.gym_id == "cobotsim/Handover-v0"
    assert spec.physics.substeps == 12


def test_every_key_is_documented():
    for cls in (ScenarioSpec, RobotSpec):
        rows = describe(cls)
        undocumented = [r["key"] for r in rows if not r["doc"]]
        assert not undocumented, undocumented


def test_wrong_type_names_file_key_found_and_allowed(tmp_path):
    data = _handover_data()
    data["human"]["motion"]["speed"] = "fast"
    import yaml
    path = _write(tmp_path, yaml.safe_dump(data))
    with pytest.raises(SpecError) as err:
        load_spec(ScenarioSpec, path)
    msg = str(err.value)
    assert str(path) in msg and "human.motion.speed" in msg and "'fast'" in msg and "a number" in msg


def test_unknown_key_lists_allowed_keys(tmp_path):
    data = _handover_data()
    data["human"]["hieght"] = 1.8
    import yaml
    path = _write(tmp_path, yaml.safe_dump(data))
    with pytest.raises(SpecError) as err:
        load_spec(ScenarioSpec, path)
    assert err.value.key == "human.hieght"
    assert "handedness" in str(err.value)


def test_missing_required_key(tmp_path):
    data = _handover_data()
    del data["objects"][0]["position"]
    import yaml
    path = _write(tmp_path, yaml.safe_dump(data))
    with pytest.raises(SpecError) as err:
        load_spec(ScenarioSpec, path)
    assert err.value.key == "objects[0].position"


@pytest.mark.parametrize("key, value, expected", [
    (("physics", "time_step"), -0.001, "> 0"),
    (("physics", "control_rate"), 7.0, "whole number"),
    (("task", "max_duration"), 0.0, "> 0"),
    (("human", "handedness"), "both", "'left', 'right'"),
    (("objects",), [], "not one of the objects"),
])
def test_bad_values_are_refused(tmp_path, key, value, expected):
    data = _handover_data()
    node = data
    for k in key[:-1]:
        node = node[k]
    node[key[-1]] = value
    import yaml
    path = _write(tmp_path, yaml.safe_dump(data))
    with pytest.raises(SpecError) as err:
        load_spec(ScenarioSpec, path)
    assert expected in str(err.value) and str(path) in str(err.value)


def test_malformed_yaml_names_line(tmp_path):
    path = _write(tmp_path, "id: x\nrobot: [unclosed\n")
    with pytest.raises(SpecError) as err:
        load_spec(ScenarioSpec, path)
    assert "line" in err.value.key and str(path) in str(err.value)


def test_robot_home_outside_limits(tmp_path):
    import yaml
    data = to_mapping(catalogue.load_robot("panda"))
    data["home"][3] = 1.0
    path = _write(tmp_path, yaml.safe_dump(data), "robot.yaml")
    with pytest.raises(SpecError) as err:
        load_spec(RobotSpec, path)
    assert "outside" in str(err.value)


def test_unknown_names_list_known_and_closest():
    with pytest.raises(UnknownNameError) as err:
        catalogue.load_scenario("handovr")
    assert "'handover'" in str(err.value) and "Did you mean" in str(err.value)
    with pytest.raises(UnknownNameError) as err:
        catalogue.load_robot("pand")
    assert "panda" in str(err.value)


def test_scenario_id_must_match_file_name(tmp_path):
    import yaml
    data = _handover_data()
    path = _write(tmp_path, yaml.safe_dump(data), "other.yaml")
    with pytest.raises(SpecError) as err:
        catalogue.load_scenario(str(path))
    assert err.value.key == "id"


@pytest.mark.parametrize("change, key, expected", [
    (lambda d: d["human"]["motion"].update(program="idle"), "(top level)", "needs human.motion.program 'handover'"),
    (lambda d: d["human"]["motion"].update(point=None), "human.motion", "needs a point"),
    (lambda d: d["human"]["motion"].update(program="walk", path=[]), "human.motion", "needs a path"),
    (lambda d: d["human"].update(body="p99_giant"), "human.body", "p05_female, p50_male, p95_male"),
])
def test_cross_key_rules_are_checked_at_load(tmp_path, change, key, expected):
    import yaml
    data = _handover_data()
    change(data)
    path = _write(tmp_path, yaml.safe_dump(data), "handover.yaml")
    with pytest.raises(SpecError) as err:
        load_spec(ScenarioSpec, path)
    assert err.value.key == key and expected in str(err.value)
    assert "inconsistent" not in str(err.value)
