"""Stopping data measured in simulation (ISO 10218-1 Annex B): physics, table, YAML."""
from __future__ import annotations

import math

import numpy as np
import pytest

from simulator import catalogue
from simulator.physics import Sim
from simulator.robot import Robot
from simulator.safety.ssm import SsmParameters, StoppingData, protective_distance
from simulator.safety.stop_test import annex_b_joints
from simulator.safety.stopping import (StoppingTable, StopRecord, from_yaml, measure_stopping,
                                       stopping_table, tcp_table, to_yaml)

SHIPPED = catalogue.robot_folder("panda") / "stopping.yaml"


@pytest.fixture(scope="module")
def base_stops():
    """Category 1 of the base axis at 33 and 100 %, category 0 with two brake torques."""
    return {"c1_33": measure_stopping("panda", 1, 1, 0.33),
            "c1_100": measure_stopping("panda", 1, 1, 1.0),
            "c0": measure_stopping("panda", 0, 1, 1.0),
            "c0_strong": measure_stopping("panda", 0, 1, 1.0, brake_torque_factor=2.0)}


def test_category_1_time_and_distance_grow_with_speed(base_stops):
    slow, fast = base_stops["c1_33"], base_stops["c1_100"]
    assert fast.speed == pytest.approx(2.175, rel=0.01) and slow.speed == pytest.approx(0.718, rel=0.01)
    assert fast.time > slow.time and fast.distance > slow.distance
    assert fast.tcp_distance > slow.tcp_distance and fast.tcp_speed > slow.tcp_speed
    # constant-deceleration ramp: joint travel about v²/(2a), plus the drive's tracking lag
    assert fast.distance == pytest.approx(fast.speed ** 2 / (2 * fast.deceleration), rel=0.15)
    assert fast.pose == slow.pose                 # one test pose for every fraction


def test_category_0_is_a_constant_torque_brake(base_stops):
    weak, strong = base_stops["c0"], base_stops["c0_strong"]
    assert weak.brake_torque == 87.0 and strong.brake_torque == 174.0
    # a stronger brake stops sooner and shorter
    assert strong.time < weak.time and strong.distance < weak.distance
    # constant deceleration: the joint travels v·T/2 (the base axis feels no gravity torque)
    for r in (weak, strong):
        assert r.distance == pytest.approx(r.speed * r.time / 2, rel=0.05)
    # and about twice the torque gives about half the time (the wrist brakes slip a little)
    assert strong.time / weak.time == pytest.approx(0.5, abs=0.1)


def test_records_are_positive_and_finite(base_stops):
    for r in base_stops.values():
        for value in (r.speed, r.time, r.distance, r.tcp_speed, r.tcp_distance, r.lever):
            assert math.isfinite(value) and value > 0
        assert r.payload == 3.0 and r.joint_name == "panda_joint1"


def test_panda_elbow_is_joint_4():
    with Sim() as sim:
        robot = Robot(sim, catalogue.load_robot("panda"), catalogue.robot_folder("panda"))
        assert annex_b_joints(robot) == {1: 0, 2: 1, 3: 3}


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="category"):
        measure_stopping("panda", 2, 1, 1.0)
    with pytest.raises(ValueError, match="Annex B"):
        measure_stopping("panda", 1, 4, 1.0)
    with pytest.raises(ValueError, match="speed_fraction"):
        measure_stopping("panda", 1, 1, 1.5)


def _record(category, joint, fraction, speed, time, distance, tcp_speed, tcp_distance):
    return StopRecord("panda", category, joint, f"panda_joint{joint}", fraction, speed, time,
                      distance, tcp_speed, tcp_distance, 3.0)


def test_tcp_table_is_a_monotone_envelope():
    records = [_record(1, 1, 1.0, 2.0, 0.30, 0.20, 1.9, 0.20),
               _record(1, 2, 1.0, 2.0, 0.50, 0.30, 1.5, 0.40),     # slower TCP, longer stop
               _record(1, 1, 0.5, 1.0, 0.20, 0.05, 0.9, 0.05),
               _record(1, 2, 0.5, 1.0, 0.25, 0.10, 0.902, 0.08)]  # merged with 0.9 m/s
    data = tcp_table(records)
    assert data.speeds == (0.902, 1.5, 1.9)
    assert data.times == (0.25, 0.5, 0.5) and data.distances == (0.08, 0.4, 0.4)


def test_shipped_panda_table_loads_as_stopping_data():
    table = from_yaml(SHIPPED.read_text(), "panda")
    assert set(table.tcp) == {0, 1}
    for data in table.tcp.values():
        assert isinstance(data, StoppingData)
        assert np.all(np.diff(data.speeds) > 0)
        assert np.all(np.diff(data.times) >= 0) and np.all(np.diff(data.distances) >= 0)
        assert data.max_speed > 2.0                 # the base axis at full speed: ~2.06 m/s
    params = SsmParameters(reaction_time=0.1, stopping=table.tcp[1])
    assert protective_distance(1.6, 1.0, params).s_p > 0
    grid = {(r.category, r.joint, r.speed_fraction) for r in table.records}
    assert grid == {(1, j, f) for j in (1, 2, 3) for f in (0.33, 0.66, 1.0)} | {
        (0, j, 1.0) for j in (1, 2, 3)}
    for joint in (1, 2, 3):
        rows = table.rows(1, joint)
        assert [r.time for r in rows] == sorted(r.time for r in rows)
        assert [r.distance for r in rows] == sorted(r.distance for r in rows)


def test_yaml_round_trips():
    records = (_record(0, 1, 1.0, 2.175, 0.173, 0.1878, 2.058, 0.1776),
               _record(0, 2, 1.0, 2.175, 0.709, 0.743, 1.879, 0.644),
               _record(1, 1, 0.33, 0.718, 0.156, 0.021, 0.679, 0.0277),
               _record(1, 1, 1.0, 2.175, 0.362, 0.1917, 2.058, 0.2435))
    table = StoppingTable("panda", records, {c: tcp_table([r for r in records if r.category == c])
                                             for c in (0, 1)}, {"payload": 3.0, "time_step": 0.001})
    text = to_yaml(table)
    back = from_yaml(text, "panda")
    assert back.tcp == table.tcp and back.conditions == table.conditions
    key = lambda r: (r.category, r.joint, r.speed_fraction, r.speed, r.time, r.distance)
    assert sorted(map(key, back.records)) == sorted(map(key, records))
    assert to_yaml(from_yaml(text, "panda")) == text
    assert from_yaml(SHIPPED.read_text()).tcp == from_yaml(to_yaml(from_yaml(SHIPPED.read_text()))).tcp


@pytest.mark.slow
def test_full_grid_reproduces_the_shipped_file():
    """The whole Annex B grid (about 20 s): deterministic, so it writes the shipped data."""
    table = stopping_table("panda")
    assert to_yaml(table) == SHIPPED.read_text()
