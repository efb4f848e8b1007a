"""Metrics from a trace file alone, and the statistics of the summary."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks.metrics import (MIN_EPISODES, empty_row, episode_row, format_table, json_ready,
                                paired_mean, paired_proportions, summarize, wilson)
from benchmarks.metrics.stats import t_quantile
from simulator.cli import main
from simulator.safety.suite import EVENT_FIELDS, _dtype
from simulator.traces import TraceWriter


def test_wilson_matches_a_hand_worked_case():
    # k = 8, n = 10, z = 1.96: p = 0.8, z²/n = 0.38416,
    # centre = (0.8 + 3.8416/20) / 1.38416 = 0.716738,
    # half = 1.96 / 1.38416 * sqrt(0.016 + 3.8416/400) = 1.416021 * 0.160012 = 0.226581
    low, high = wilson(8, 10, z=1.96)
    assert low == pytest.approx(0.716738 - 0.226581, abs=1e-5)
    assert high == pytest.approx(0.716738 + 0.226581, abs=1e-5)


@pytest.mark.parametrize("k, n, low, high", [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605),
                                             (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
def test_wilson_matches_newcombes_published_intervals(k, n, low, high):
    # Newcombe (1998), Statistics in Medicine 17:857, Table II, the score method
    assert wilson(k, n) == pytest.approx((low, high), abs=1e-4)


def test_wilson_edge_cases():
    assert all(math.isnan(v) for v in wilson(0, 0))
    assert wilson(10, 10)[1] == pytest.approx(1.0) and wilson(0, 10)[0] == 0.0
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_paired_proportions():
    first = [True, True, False, True, False, True, True, True]
    second = [True, False, False, False, False, True, True, False]
    d = paired_proportions(first, second)
    assert d["difference"] == pytest.approx(3 / 8) and (d["only_first"], d["only_second"]) == (3, 0)
    assert d["ci95"][0] < 3 / 8 < d["ci95"][1] and -1 <= d["ci95"][0] and d["ci95"][1] <= 1
    swapped = paired_proportions(second, first)
    assert swapped["difference"] == pytest.approx(-3 / 8)
    assert swapped["ci95"] == pytest.approx([-d["ci95"][1], -d["ci95"][0]])
    same = paired_proportions(first, first)
    assert same["difference"] == 0 and same["ci95"][0] <= 0 <= same["ci95"][1]


def test_t_quantile_and_paired_mean():
    for dof, table in [(1, 12.706), (2, 4.303), (3, 3.182), (5, 2.571), (10, 2.228), (30, 2.042)]:
        assert t_quantile(0.975, dof) == pytest.approx(table, abs=5e-3)
    m = paired_mean([1.0, 2.0, 3.0, np.nan], [0.0, 1.0, 1.0, 5.0])
    assert m["pairs"] == 3 and m["mean"] == pytest.approx(4 / 3)
    sd = np.std([1.0, 1.0, 2.0], ddof=1)
    half = 4.303 * sd / math.sqrt(3)
    assert m["ci95"] == pytest.approx([4 / 3 - half, 4 / 3 + half], abs=1e-3)


def _write_trace(path):
    """A trace with known contents: 4 control steps at 20 Hz."""
    attrs = {"scenario": "crossing", "robot": "panda", "policy": "scripted", "seed": 7,
             "control_rate": 20.0, "configuration": "c", "episode": "c/crossing/panda/7",
             "person": json.dumps({"body": "p05_female", "height": 1.5, "mass": 50.0}),
             "shields": json.dumps({"ssm": {"enabled": True}}), "policy_latency": "0.1",
             "safety_config": json.dumps({"contact": {"enabled": True}}), "n_steps": 4}
    units = {"/time": "s", "/safety/ssm/margin": "m", "/safety/ssm/distance": "m",
             "/safety/speed/tcp_speed": "m/s", "/safety/shield_scale": "1", "/policy/called": "1",
             "/policy/compute_time": "s"}
    with TraceWriter(path, attrs, units=units) as writer:
        for k, (margin, scale) in enumerate([(0.1, 1.0), (-0.05, 0.5), (-0.02, 0.0), (0.2, 1.0)]):
            writer.append({"/time": 0.05 * (k + 1), "/safety/ssm/margin": margin,
                           "/safety/ssm/distance": margin + 0.3, "/safety/speed/tcp_speed": 0.1 * k,
                           "/safety/shield_scale": scale, "/policy/called": k % 2 == 0,
                           "/policy/compute_time": 0.001 * (k + 1)})
        events = [{"monitor": "pfl", "kind": "transient", "start": 0.1, "end": 0.1, "region": "hand",
                   "value": 0.5, "limit": 1.0, "violated": False, "details": "{}"},
                  {"monitor": "pfl", "kind": "quasi_static", "start": 0.1, "end": 0.2,
                   "region": "chest", "value": 1.4, "limit": 1.0, "violated": True, "details": "{}"},
                  {"monitor": "ssm", "kind": "separation", "start": 0.1, "end": 0.15, "region": "hand",
                   "value": -0.05, "limit": 0.0, "violated": True, "details": "{}"}]
        writer.add_table("/safety/events", events, dtype=_dtype(EVENT_FIELDS))
        writer.add_table("/safety/shields", [{"t": 0.1, "scale": 0.5}, {"t": 0.15, "scale": 0.0}])
    return path


def test_every_column_from_a_trace_with_known_contents(tmp_path):
    row = episode_row(_write_trace(tmp_path / "t.h5"))
    assert (row["episode"], row["configuration"], row["seed"], row["shields"], row["latency"]) == \
        ("c/crossing/panda/7", "c", 7, "ssm", "0.1")
    assert (row["person_body"], row["person_height_m"], row["person_mass_kg"]) == ("p05_female", 1.5, 50.0)
    assert row["status"] == "complete" and row["steps"] == 4 and not row["success"]
    assert row["min_ssm_margin_m"] == pytest.approx(-0.05)
    assert row["min_separation_m"] == pytest.approx(0.25)
    assert row["time_below_sp_s"] == pytest.approx(0.1) and row["max_tcp_speed_m_s"] == pytest.approx(0.3)
    assert (row["contact_events"], row["contact_violations"], row["worst_contact_ratio"]) == (2, 1, 1.4)
    assert (row["transient_events"], row["transient_worst_ratio"]) == (1, 0.5)
    assert (row["quasi_static_events"], row["quasi_static_worst_ratio"]) == (1, 1.4)
    assert row["contact_regions"] == "chest:1:1.4;hand:1:0.5"
    assert (row["ssm_events"], row["speed_events"], row["violated"], row["safe"]) == (1, 0, True, False)
    assert row["shield_interventions"] == 2
    assert row["shield_time_s"] == pytest.approx(0.1) and row["shield_stop_time_s"] == pytest.approx(0.05)
    assert row["policy_calls"] == 2 and row["policy_compute_mean_s"] == pytest.approx(0.002)


def test_cobotsim_metrics_prints_rows(tmp_path, capsys):
    _write_trace(tmp_path / "t.h5")
    assert main(["metrics", str(tmp_path / "t.h5"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["worst_contact_ratio"] == 1.4
    assert main(["metrics", str(tmp_path / "missing.h5")]) == 2


def _row(config, seed, status="complete", success=True, safe=True):
    return empty_row(configuration=config, scenario="s", robot="r", seed=seed, status=status,
                     success=success, safe=safe, min_ssm_margin_m=0.1 * seed)


def test_summary_counts_faults_as_unsafe_and_flags_few_episodes():
    rows = ([_row("a", s) for s in range(8)] + [_row("a", 8, "sim_error", False, False),
                                                 _row("a", 9, "interrupted", False, False)]
            + [_row("b", s, success=s % 2 == 0, safe=s % 2 == 0) for s in range(10)])
    summary = summarize(rows, [("a", "b")])
    a = summary["configurations"]["a"]
    assert a["episodes"] == 10 and a["ended"] == 9 and a["status"]["interrupted"] == 1
    assert a["rates"]["unsafe"]["k"] == 1 and a["rates"]["success"]["k"] == 8
    assert a["few_episodes"] and MIN_EPISODES == 75
    paired = summary["paired"][0]
    assert paired["pairs"] == 9 and paired["success"]["only_first"] == 4
    table = format_table(summary)
    assert "* fewer than 75 ended episodes" in table and "interrupted 1" in table
    json.dumps(json_ready(summary), allow_nan=False)
    assert json_ready({"x": float("inf"), "y": float("nan")}) == {"x": "inf", "y": None}
