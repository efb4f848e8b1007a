"""The ISO/TS 15066 body model: numbers match the standard; bad files name the fault."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from simulator.bodymodel import load_body_model
from simulator.errors import DataError
from simulator.resources import data_dir

ISO = data_dir() / "iso_ts_15066"


def test_counts_and_ids():
    model = load_body_model()
    assert list(model.regions) == ["skull_forehead", "face", "neck", "back_shoulders", "chest",
                                   "abdomen", "pelvis", "upper_arm", "lower_arm", "hand",
                                   "thigh", "lower_leg"]
    assert sorted(model.areas) == list(range(1, 30))
    assert sum(len(r.areas) for r in model.regions.values()) == 29
    assert load_body_model() is model   # cached


def test_spot_checks_against_the_standard():
    model = load_body_model()
    hand = model.region("hand")
    assert hand.quasi_static_force == 140.0 and hand.transient_force == 280.0
    assert hand.spring_constant == 75000.0 and hand.effective_mass == 0.6
    skull = model.region("skull_forehead")
    assert skull.transient_force is None and skull.quasi_static_force == 130.0
    assert model.region("face").transient_force is None
    assert model.region("face").quasi_static_force == 65.0
    assert model.region("chest").spring_constant == 25000.0
    assert model.region("abdomen").spring_constant == 10000.0
    assert model.area(17).quasi_static_pressure == 300.0
    assert model.area(17).quasi_static_pressure_pa == 3.0e6
    assert model.area(17).transient_pressure == 600.0
    assert model.area(3).transient_pressure is None and model.area(3).transient_pressure_pa is None
    assert model.area(3).region_id == "face"
    assert model.area(25).quasi_static_pressure == 190.0


def test_transient_is_twice_quasi_static_where_permitted():
    model = load_body_model()
    for r in model.regions.values():
        if r.transient_force is not None:
            assert r.transient_force == 2 * r.quasi_static_force
    for a in model.areas.values():
        if a.transient_pressure is None:
            assert a.region_id in ("skull_forehead", "face")
        else:
            assert a.transient_pressure == 2 * a.quasi_static_pressure


def test_unknown_region_lists_known_ids():
    with pytest.raises(KeyError, match="skull_forehead"):
        load_body_model().region("elbow")


def _broken(tmp_path: Path, name: str, old: str, new: str) -> Path:
    folder = tmp_path / "iso"
    shutil.copytree(ISO, folder)
    path = folder / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return folder


@pytest.mark.parametrize("name, old, new, expect", [
    ("regions.csv", "spring_constant_N_per_mm", "spring_constant",
     ["regions.csv", "row 1", "spring_constant_N_per_mm"]),
    ("regions.csv", "hand,Hands and fingers,140", "hand,Hands and fingers,lots",
     ["regions.csv", "row 11", "quasi_static_force_N", "'lots'"]),
    ("regions.csv", "neck,Neck,150,300,50", "neck,Neck,150,300,-50",
     ["regions.csv", "row 4", "spring_constant_N_per_mm", "'-50'"]),
    ("regions.csv", "chest,Chest,140,280", "chest,Chest,,280",
     ["regions.csv", "row 6", "quasi_static_force_N", "positive number"]),
    ("areas.csv", "17,hand,", "17,palm,",
     ["areas.csv", "row 18", "region", "'palm'"]),
    ("areas.csv", "8,chest,Sternum,120", "8,chest,Sternum,abc",
     ["areas.csv", "row 9", "quasi_static_pressure_N_per_cm2"]),
    ("regions.csv", "S1;S2;S4;S6;S23", "S1;S99",
     ["regions.csv", "row 11", "sources", "S99"]),
])
def test_bad_csv_names_file_row_and_column(tmp_path, name, old, new, expect):
    folder = _broken(tmp_path, name, old, new)
    with pytest.raises(DataError) as err:
        load_body_model(folder)
    for part in expect:
        assert part in str(err.value)


def test_region_without_areas_is_an_error(tmp_path):
    folder = tmp_path / "iso"
    shutil.copytree(ISO, folder)
    lines = (folder / "areas.csv").read_text().splitlines(keepends=True)
    (folder / "areas.csv").write_text("".join(l for l in lines if ",pelvis," not in l))
    with pytest.raises(DataError, match="pelvis"):
        load_body_model(folder)
