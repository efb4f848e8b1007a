"""Traces as pandas DataFrames: every column equals its dataset, units in the names,
names of areas and phases, events joined to their samples, a whole run in one call."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.traces import read_trace
from tests.fixtures.report import shared_run

pd = pytest.importorskip("pandas")

from simulator.traces.tables import run_tables, trace_tables, unit_suffix  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return shared_run(tmp_path_factory)


@pytest.fixture(scope="module")
def strike(run):
    path = sorted((run / "traces").glob("strike_*.h5"))[0]
    return read_trace(path), trace_tables(path)


def test_step_columns_equal_the_datasets_with_units_in_their_names(strike):
    trace, tables = strike
    steps = tables["steps"]
    assert len(steps) == trace.attrs["n_steps"]
    assert np.array_equal(steps["time_s"], trace["/time"])
    for j in range(trace["/robot/q"].shape[1]):
        assert np.array_equal(steps[f"robot_q_{j}_rad"], trace["/robot/q"][:, j])
    assert np.array_equal(steps["robot_ee_pos_z_m"], trace["/robot/ee_pos"][:, 2])
    names = list(trace.dataset_attrs["/human/link_pos"]["link_names"])
    k = names.index("forearm_right")
    assert np.array_equal(steps["human_link_pos_forearm_right_y_m"], trace["/human/link_pos"][:, k, 1])
    assert np.array_equal(steps["safety_ssm_distance_m"], trace["/safety/ssm/distance"], equal_nan=True)
    assert np.array_equal(steps["safety_speed_tcp_speed_m_s"], trace["/safety/speed/tcp_speed"], equal_nan=True)
    phases = list(trace.dataset_attrs["/task/phase"]["phase_names"])
    assert list(steps["task_phase_name"]) == [phases[p] for p in trace["/task/phase"]]
    assert unit_suffix("m/s") == "_m_s" and unit_suffix("N/cm²") == "_N_cm2" and unit_suffix("1") == ""


def test_tables_are_decoded_named_and_joined(strike):
    trace, tables = strike
    contacts, events = tables["contacts"], tables["events"]
    raw = trace["/safety/contacts"]
    assert len(contacts) == len(raw) > 0
    assert np.array_equal(contacts["force_N"], raw["force"])
    assert np.array_equal(contacts["pressure_Pa"], raw["pressure"])
    assert all(isinstance(v, str) for v in contacts["human_link"])
    limits = {int(r["area_id"]): r["area"] for r in trace["/safety/limits"]}
    assert list(contacts["area"]) == [limits[int(a)] for a in raw["area_id"]]
    pfl = events[events["monitor"] == "pfl"]
    assert len(pfl) == int(np.sum(trace["/safety/events"]["monitor"] == "pfl"))
    assert {"details_peak_force_N", "details_pressure_limit_Pa", "details_area_id"} <= set(events.columns)
    # every contact sample belongs to the pfl event of its link pair whose interval holds it
    assert (contacts["event"] >= 0).all()
    joined = contacts.merge(events, on="event", suffixes=("", "_event"))
    assert (joined["robot_link"] == joined["details_robot_link"]).all()
    assert ((joined["t_s"] >= joined["start_s"] - 1e-9) & (joined["t_s"] <= joined["end_s"] + 1e-9)).all()
    peaks = joined.groupby("event")["force_N"].max()
    assert np.allclose(peaks.to_numpy(), pfl.set_index("event").loc[peaks.index, "details_peak_force_N"])
    steps = tables["steps"]
    in_ssm = steps[steps["ssm_event"] >= 0]
    assert len(in_ssm) and (in_ssm["safety_ssm_margin_m"] < 0).all()
    assert tables["attrs"].loc[0, "episode"] == trace.attrs["episode"]


def test_a_whole_run_in_one_call(run):
    tables = run_tables(run)
    traces = sorted((run / "traces").glob("*.h5"))
    assert len(tables["episodes"]) == len(traces)
    assert set(tables["steps"]["configuration"]) == {"strike", "strike-stop", "scripted"}
    total = sum(read_trace(p).attrs["n_steps"] for p in traces)
    assert len(tables["steps"]) == total
    assert list(tables["contacts"].columns[:7]) == ["episode", "configuration", "scenario", "robot",
                                                     "policy", "seed", "status"]
