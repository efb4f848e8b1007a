"""The ISO/TS 15066 limit table, the robot contact surfaces and the body-area anchors."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from simulator.errors import DataError
from simulator.human import Human
from simulator.physics import Sim
from simulator.resources import data_dir
from simulator.safety.areas import AreaMap, link_anchors
from simulator.safety.limits import (DEFAULT_SURFACE, AreaLimit, ContactSurface, LimitTable,
                                     resolve_surfaces)

DATA = data_dir() / "iso_ts_15066"


def _rows(name):
    with (DATA / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _num(cell):
    return None if cell.strip() == "" else float(cell)


@pytest.fixture(scope="module")
def table():
    return LimitTable.from_body_model()


@pytest.fixture(scope="module")
def human():
    sim = Sim()
    yield Human(sim, "human", handedness="right")
    sim.close()


def test_every_area_matches_the_shipped_csv(table):
    regions = {r["region_id"]: r for r in _rows("regions.csv")}
    areas = _rows("areas.csv")
    assert len(areas) == 29 and sorted(table.areas) == list(range(1, 30))
    for row in areas:
        a, reg = table.area(int(row["area_id"])), regions[row["region"]]
        assert (a.region_id, a.area) == (row["region"], row["area"])
        assert a.quasi_static_pressure == float(row["quasi_static_pressure_N_per_cm2"])
        assert a.transient_pressure == _num(row["transient_pressure_N_per_cm2"])
        assert a.quasi_static_pressure_pa == pytest.approx(a.quasi_static_pressure * 1e4)
        assert a.quasi_static_force == float(reg["quasi_static_force_N"])
        assert a.transient_force == _num(reg["transient_force_N"])
        assert a.spring_constant == pytest.approx(float(reg["spring_constant_N_per_mm"]) * 1e3)
        assert a.effective_mass == float(reg["effective_mass_kg"])


def test_hard_spot_checks(table):
    assert table.for_contact("skull_forehead", 1, "quasi_static") == (130.0, 130e4)
    assert table.for_contact("face", 3, "quasi_static") == (65.0, 110e4)
    assert table.for_contact("hand", 17, "transient") == (280.0, 600e4)
    assert table.for_contact("hand", 25, "quasi_static") == (140.0, 190e4)
    assert table.for_contact("abdomen", 10, "transient") == (220.0, 280e4)
    assert table.for_contact("lower_leg", 28, "quasi_static") == (130.0, 220e4)
    assert table.area(8).spring_constant == 25_000.0 and table.area(26).effective_mass == 75.0


def test_transient_is_twice_quasi_static_and_not_permitted_on_the_head(table):
    for a in table.areas.values():
        if a.region_id in ("skull_forehead", "face"):
            assert a.transient_force is None and a.transient_pressure is None
            assert table.for_contact(a.region_id, a.area_id, "transient") == (0.0, 0.0)
        else:
            f, p = table.for_contact(a.region_id, a.area_id, "transient")
            fq, pq = table.for_contact(a.region_id, a.area_id, "quasi_static")
            assert (f, p) == (2 * fq, 2 * pq)


def test_a_table_breaking_the_rules_is_refused(table):
    good = table.area(15)
    bad = AreaLimit(**{**good.__dict__, "transient_pressure": 300.0})
    with pytest.raises(DataError, match="area 15.*expected 2 x"):
        LimitTable({15: bad})
    head = AreaLimit(**{**table.area(1).__dict__, "transient_force": 260.0})
    with pytest.raises(DataError, match="not permitted"):
        LimitTable({1: head})


def test_bad_queries_name_the_problem(table):
    with pytest.raises(ValueError, match="belongs to region 'hand'"):
        table.for_contact("chest", 17, "transient")
    with pytest.raises(ValueError, match="contact kind"):
        table.for_contact("hand", 17, "sideways")
    with pytest.raises(KeyError):
        table.area(30)


def test_records_for_a_trace(table):
    records = table.as_records()
    assert [r["area_id"] for r in records] == list(range(1, 30))
    assert records[0]["transient_force"] is None and records[16]["transient_pressure_pa"] == 600e4
    json.dumps(records)
    assert set(table.record_units()) <= set(records[0])
    assert table.region_ids[0] == "skull_forehead" and len(table.region_ids) == 12


def test_contact_surfaces():
    assert DEFAULT_SURFACE.kind == "flat" and DEFAULT_SURFACE.area_m2 == pytest.approx(1e-4)
    assert ContactSurface("flat", 2.5).area_m2 == pytest.approx(2.5e-4)
    assert ContactSurface("edge", edge_radius_mm=2.0).area_m2 == pytest.approx(0.2e-4)
    for bad in (dict(kind="flat"), dict(kind="flat", area_cm2=-1.0), dict(kind="edge"),
                dict(kind="edge", edge_radius_mm=0.0), dict(kind="round", area_cm2=1.0)):
        with pytest.raises(ValueError):
            ContactSurface(**bad)
    out = resolve_surfaces({"hand": ContactSurface("flat", 4.0)}, ["base", "hand", "finger"])
    assert out["hand"].area_cm2 == 4.0 and out["finger"] is DEFAULT_SURFACE
    with pytest.raises(ValueError, match="not links of the robot"):
        resolve_surfaces({"flange": ContactSurface("flat", 4.0)}, ["base", "hand"])


def test_every_area_is_anchored_on_a_link_carrying_its_region(table, human):
    areas = AreaMap(human)
    anchored = set()
    for link in human.links:
        for anchor in areas.anchors(link.index):
            assert table.area(anchor.area_id).region_id in link.regions, (link.name, anchor)
            anchored.add(anchor.area_id)
    assert anchored == set(range(1, 30))


def test_points_at_anchors_are_attributed_to_their_area(human):
    areas = AreaMap(human)
    for link in human.links:
        for anchor in areas.anchors(link.index):
            area, dist = areas.nearest(link.index, anchor.point)
            assert area == anchor.area_id and dist == 0.0
            # a point 1 cm further out along the same surface normal stays in the area
            p = np.asarray(anchor.point)
            out = p + 0.01 * np.array([p[0], p[1], 0.0]) / max(np.hypot(p[0], p[1]), 1e-9)
            assert areas.nearest(link.index, out)[0] == anchor.area_id


def test_handedness_decides_dominant_hand_areas(human):
    right = {a.area_id for a in AreaMap(human, "right").anchors(human.link("hand_right").index)}
    left = {a.area_id for a in AreaMap(human, "left").anchors(human.link("hand_right").index)}
    assert right == {17, 19, 21, 22, 24} and left == {18, 20, 21, 23, 25}


def test_anchor_geometry_follows_the_link_frames(human):
    """Forehead in front (+x) of the head, temples at the sides, the seventh neck muscle
    behind, the kneecap in front at the bottom of the thigh; anchors on the capsule."""
    seg = {l.name: l for l in human.links}
    head = {a.area_id: np.array(a.point) for a in
            link_anchors("head", seg["head"].length, seg["head"].radius, "right")}
    assert head[1][0] > 0.05 and abs(head[1][1]) < 1e-9
    knee = [a for a in link_anchors("thigh_left", seg["thigh_left"].length,
                                    seg["thigh_left"].radius, "right") if a.area_id == 27][0]
    assert knee.point[0] > 0 and knee.point[2] < -0.9 * seg["thigh_left"].length
    sim = human.sim
    probe = sim.create_body("probe", "sphere", (0.001,), 0.0, position=(5, 5, 5))
    areas = AreaMap(human)
    for link in human.links:
        pos, orn = sim.link_state(human.body_id, link.index)
        for anchor in areas.anchors(link.index):
            world, _ = sim.multiply_transforms(pos, orn, anchor.point, (0, 0, 0, 1))
            sim.reset_base_pose(probe, world)
            near = sim.closest_points(probe, human.body_id, 0.05, link_b=link.index)
            assert near and abs(min(c.distance for c in near)) < 0.012, (link.name, anchor)
    sim.reset_base_pose(probe, (5, 5, 5))
