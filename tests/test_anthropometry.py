"""Segment tables: masses add up to the body, lengths to the stature, radii follow the rule."""
from __future__ import annotations

import math
import shutil

import pytest

from simulator.anthropometry import (BODY_DENSITY, LINK_NAMES, capsule_radius,
                                     reference_bodies, segment_table)
from simulator.errors import DataError
from simulator.resources import data_dir

BODIES = ["p05_female", "p50_male", "p95_male"]


def test_reference_bodies():
    bodies = reference_bodies()
    assert sorted(bodies) == sorted(BODIES)
    assert bodies["p05_female"].sex == "female" and bodies["p95_male"].sex == "male"
    assert bodies["p05_female"].stature < bodies["p50_male"].stature < bodies["p95_male"].stature
    assert bodies["p05_female"].mass < bodies["p50_male"].mass < bodies["p95_male"].mass


@pytest.mark.parametrize("body", BODIES)
def test_masses_sum_to_the_body_mass(body):
    table = segment_table(body)
    assert [s.name for s in table.segments] == list(LINK_NAMES)
    assert table.total_mass == pytest.approx(table.body.mass, rel=0.01)
    assert all(s.mass > 0 and s.length > 0 and s.radius > 0 for s in table.segments)


@pytest.mark.parametrize("body", BODIES)
def test_vertical_chain_is_the_stature(body):
    t = segment_table(body)
    chain = sum(t[n].length for n in ("lower_leg_left", "thigh_left", "pelvis", "abdomen",
                                      "chest", "neck", "head"))
    assert chain == pytest.approx(t.body.stature, rel=0.005)
    assert t["upper_arm_left"].length == t["upper_arm_right"].length
    assert 0.2 < t.shoulder_spacing / t.body.stature < 0.3


def test_de_leva_spot_checks():
    t = segment_table("p50_male")
    m = t.body.mass
    assert t["thigh_left"].mass / m == pytest.approx(0.1416)
    assert t["lower_leg_left"].mass / m == pytest.approx(0.0433 + 0.0137)   # shank + foot
    assert (t["head"].mass + t["neck"].mass) / m == pytest.approx(0.0694, abs=1e-4)
    assert 4.0 < t["head"].mass < 6.0


def test_radius_rule_and_custom_body():
    t = segment_table((1.70, 70.0, "female"))
    assert t.total_mass == pytest.approx(70.0, rel=0.01)
    s = t["thigh_left"]
    volume = math.pi * s.radius ** 2 * s.length + 4 / 3 * math.pi * s.radius ** 3
    assert volume * BODY_DENSITY == pytest.approx(s.mass, rel=1e-6)
    assert capsule_radius(1.0, 0.0) == pytest.approx((3 / (4 * math.pi * BODY_DENSITY)) ** (1 / 3))
    with pytest.raises(KeyError, match="p50_male"):
        segment_table("giant")
    with pytest.raises(ValueError):
        segment_table((1.7, 70.0, "other"))


def test_fractions_that_do_not_sum_to_one_are_rejected(tmp_path):
    folder = tmp_path / "anthro"
    shutil.copytree(data_dir() / "anthropometry", folder)
    path = folder / "segments.csv"
    path.write_text(path.read_text().replace("thigh,male,0.1416", "thigh,male,0.2416"))
    with pytest.raises(DataError, match="mass_fraction"):
        segment_table("p50_male", path=folder)
    path.write_text(path.read_text().replace("thigh,male,0.2416", "thigh,male,heavy"))
    with pytest.raises(DataError, match="row 20, column 'mass_fraction'"):
        segment_table("p50_male", path=folder)
