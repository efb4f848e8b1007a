"""Force fidelity on the real person in a cell (issue 9): isolated strikes against Annex A,
each body area meeting its own region's spring, the monitor's impact prediction from the
state before onset, and the apparent-mass impulse test. The full grid (every area, robot,
striker and speed) is the slow test at the end; docs/safety-monitors.md §9 has its table."""
from __future__ import annotations

import math

import pytest

from simulator.bodymodel import load_body_model
from simulator.validation import in_cell
from simulator.validation.apparent_mass import measure
from simulator.validation.strike import TOLERANCE

MODEL = load_body_model()


def one(robot, area, striker="tcp", speed=0.5):
    (result, place), = in_cell.strike_area(robot, area, striker, speeds=(speed,))
    print(f"{robot} area {area} {striker}: {result.robot_link} v {result.relative_speed:.3f} "
          f"m/s, m_R {result.reflected_mass:.2f} kg, simulated {result.simulated:.1f} N, "
          f"Annex A {result.predicted:.1f} N, ratio {result.ratio:.3f} (±{TOLERANCE:.0%}), "
          f"apparent mass {result.apparent_mass:.2f} kg (m_H {result.m_h}) {result.note}")
    return result, place


@pytest.mark.parametrize("area,striker", [(8, "tcp"), (24, "tcp"), (26, "tcp"), (8, "link")])
def test_isolated_panda_strikes_agree_with_annex_a(area, striker):
    """Chest, back of the hand and thigh with the TCP, the chest with link 6: within ±15 %
    of F = v·sqrt(μk) with Table A.3's m_H, and the contact monitor predicts the same
    force from the state before onset (issue 9 items 4 and 6)."""
    result, place = one("panda", area, striker)
    assert place is not None and result.isolated, result
    assert result.relative_speed == pytest.approx(0.5, rel=0.25)  # the person moves a little too
    assert abs(result.ratio - 1.0) <= TOLERANCE, result
    assert result.monitor_predicted == pytest.approx(result.predicted, rel=0.02)


@pytest.mark.parametrize("robot", ["iiwa7", "xarm6"])
def test_the_other_robots_strike_the_chest_within_tolerance(robot):
    result, _ = one(robot, 8)
    assert result.isolated and abs(result.ratio - 1.0) <= TOLERANCE, result


@pytest.mark.parametrize("area", [7, 10, 1, 3])
def test_every_area_meets_its_own_regions_spring(area):
    """The back of the abdomen link (area 7) is as stiff as the back (35 N/mm), its front
    (area 10) as the abdomen (10 N/mm); on the head the forehead (1) as the skull
    (150 N/mm), the jaw (3) as the face (75 N/mm)."""
    result, _ = one("panda", area)
    region = MODEL.region(MODEL.area(area).region_id)
    assert result.area_id == area, result
    assert result.spring_stiffness == pytest.approx(region.spring_constant)


def test_an_unreachable_area_says_so_instead_of_a_number(monkeypatch):
    monkeypatch.setattr(in_cell, "MAX_TRIES", 1)
    monkeypatch.setattr(in_cell, "DISTANCES", (5.0,))   # far out of every reach
    result, place = one("panda", 8)
    assert place is None and not result.isolated and math.isnan(result.simulated)
    assert "no isolated strike" in result.note and not result.passed


def test_the_impulse_test_finds_the_mass_of_a_free_body():
    """The method on a known case: the hand in the reaching posture is nearly a free body
    at its centre for a short pulse; the apparent mass lies between the hand's own mass and
    the hand and forearm together."""
    row = measure("crossing", "panda", "hand", "reaching")
    human_hand = 0.0061 * 85.5                       # de Leva male hand fraction × mass
    assert human_hand * 0.9 <= row.apparent_mass <= (0.0061 + 0.0162) * 85.5, row
    assert row.duration == pytest.approx(math.pi * math.sqrt(
        1 / (1 / 0.6 + 1 / 10) / 75e3), rel=0.05)


@pytest.mark.slow
def test_full_grid():
    """Every area, robot, striker and speed: each isolated strike whose person's apparent
    mass (from the strike) is within ±20 % of Table A.3's m_H agrees with Annex A within
    ±15 %; the rows are all there (none silently missing)."""
    rows = in_cell.grid()
    assert len(rows) == 29 * 4 * 2 * 3
    consistent = [r for r in rows if r["isolated"] and math.isfinite(r["apparent_mass"])
                  and abs(r["apparent_mass"] / r["m_h"] - 1.0) <= 0.2]
    assert consistent
    for r in consistent:
        assert abs(r["ratio"] - 1.0) <= TOLERANCE, r
