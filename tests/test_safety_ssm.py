"""SSM math: protective separation distance and its inverse against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.safety.ssm import (HUMAN_SPEED_ISO13855, SsmParameters, StoppingData,
                                  StoppingRangeError, max_robot_speed, protective_distance)

TABLE = StoppingData.from_rows([(0.0, 0.05, 0.0), (0.5, 0.20, 0.05), (1.0, 0.30, 0.15),
                                (2.0, 0.45, 0.50)])


def decel(**kw) -> SsmParameters:
    base = dict(reaction_time=0.1, braking="constant_deceleration", deceleration=2.0,
                intrusion_distance=0.2, human_uncertainty=0.1, robot_uncertainty=0.05)
    return SsmParameters(**{**base, **kw})


def table(**kw) -> SsmParameters:
    base = dict(reaction_time=0.1, stopping=TABLE, intrusion_distance=0.2,
                human_uncertainty=0.1, robot_uncertainty=0.05)
    return SsmParameters(**{**base, **kw})


def test_constant_deceleration_closed_form_by_hand():
    # T_s = 1.0/2 = 0.5 s; S_s = 1/(2*2) = 0.25; S_h = 1.6*(0.1+0.5) = 0.96; S_r = 0.1
    t = protective_distance(1.6, 1.0, decel())
    assert (t.t_s, t.s_s, t.s_h, t.s_r) == pytest.approx((0.5, 0.25, 0.96, 0.1), abs=1e-12)
    assert (t.c, t.z_d, t.z_r) == (0.2, 0.1, 0.05)
    assert t.s_p == pytest.approx(0.96 + 0.1 + 0.25 + 0.35, abs=1e-9)
    # robot at rest: only the person's travel during the reaction time and the constants
    rest = protective_distance(2.0, 0.0, decel(reaction_time=0.25))
    assert rest.s_p == pytest.approx(2.0 * 0.25 + 0.35, abs=1e-9)
    assert protective_distance(0.0, 0.8, decel(deceleration=4.0)).s_p == pytest.approx(
        0.08 + 0.08 + 0.35, abs=1e-9)   # S_r = 0.08, S_s = 0.64/8 = 0.08


def test_stopping_data_closed_form_and_exact_at_table_points():
    t = protective_distance(1.6, 1.0, table())
    # T_s = 0.30, S_s = 0.15 from the table; S_h = 1.6*(0.1+0.3) = 0.64; S_r = 0.1
    assert t.s_p == pytest.approx(0.64 + 0.1 + 0.15 + 0.35, abs=1e-9)
    for v, ts, ss in zip(TABLE.speeds, TABLE.times, TABLE.distances):
        assert TABLE.at(v) == (ts, ss)
    assert TABLE.at(0.75) == pytest.approx((0.25, 0.10), abs=1e-12)   # linear in between
    # a looked-up speed other than v_r (e.g. the robot's full speed): used only for T_s, S_s
    t2 = protective_distance(1.0, 0.5, table(), stopping_speed=2.0)
    assert (t2.t_s, t2.s_s, t2.s_r) == pytest.approx((0.45, 0.50, 0.05), abs=1e-12)


def test_below_the_first_row_uses_it_and_beyond_the_last_refuses():
    data = StoppingData((0.2, 1.0), (0.1, 0.3), (0.01, 0.2))
    assert data.at(0.0) == (0.1, 0.01)       # upper bound: the columns never decrease
    with pytest.raises(StoppingRangeError, match="2.5000 m/s is beyond the stopping data"):
        TABLE.at(2.5)
    with pytest.raises(StoppingRangeError):
        protective_distance(0.0, 2.1, table())


@pytest.mark.parametrize("params", [decel(), table()], ids=["deceleration", "table"])
def test_protective_distance_is_monotonic_in_both_speeds(params):
    speeds = np.linspace(0.0, 2.0, 41)
    grid = np.array([[protective_distance(vh, vr, params).s_p for vr in speeds] for vh in speeds])
    assert np.all(np.diff(grid, axis=0) > 0)     # in v_h
    assert np.all(np.diff(grid, axis=1) > 0)     # in v_r


@pytest.mark.parametrize("params", [decel(), decel(deceleration=6.5, reaction_time=0.3), table()],
                         ids=["deceleration", "deceleration2", "table"])
def test_max_robot_speed_inverts_protective_distance(params):
    rng = np.random.default_rng(3)
    for _ in range(50):
        v_h = rng.uniform(0.0, 2.0)
        v_r = rng.uniform(0.01, 1.99)
        d = protective_distance(v_h, v_r, params).s_p
        assert max_robot_speed(d, v_h, params) == pytest.approx(v_r, abs=1e-9)
        assert protective_distance(v_h, max_robot_speed(d, v_h, params), params).s_p <= d + 1e-9


def test_max_robot_speed_limits():
    p = decel()
    too_close = p.uncertainty + 1.6 * p.reaction_time - 1e-6
    assert max_robot_speed(too_close, 1.6, p) == 0.0
    assert max_robot_speed(0.0, 0.0, p) == 0.0
    assert max_robot_speed(100.0, 1.6, table()) == TABLE.max_speed   # never beyond the data
    # closed form by hand: a=2, T_r=0.1, v_h=0, C+Z=0.35, d=0.6: v^2/4 + 0.1 v = 0.25
    assert max_robot_speed(0.6, 0.0, p) == pytest.approx(-0.2 + np.sqrt(0.04 + 1.0), abs=1e-12)


@pytest.mark.parametrize("field", ["reaction_time", "intrusion_distance", "human_uncertainty",
                                   "robot_uncertainty", "human_speed_default"])
def test_negative_parameters_are_refused_naming_the_field(field):
    with pytest.raises(ValueError, match=field):
        decel(**{field: -0.1})


def test_bad_braking_and_stopping_data_are_refused():
    with pytest.raises(ValueError, match="braking"):
        decel(braking="magic")
    with pytest.raises(ValueError, match="stopping"):
        SsmParameters(reaction_time=0.1)
    with pytest.raises(ValueError, match="deceleration"):
        decel(deceleration=0.0)
    with pytest.raises(ValueError, match="increase strictly"):
        StoppingData((0.0, 1.0, 1.0), (0.1, 0.2, 0.3), (0.0, 0.1, 0.2))
    with pytest.raises(ValueError, match="distances must not decrease"):
        StoppingData((0.0, 1.0), (0.1, 0.2), (0.2, 0.1))
    with pytest.raises(ValueError, match="times\\[1\\]"):
        StoppingData((0.0, 1.0), (0.1, -0.2), (0.0, 0.1))
    with pytest.raises(ValueError, match="two rows"):
        StoppingData((1.0,), (0.1,), (0.1,))
    with pytest.raises(ValueError, match="v_h"):
        protective_distance(-0.1, 0.0, decel())


def test_defaults_and_conservative_deceleration():
    assert decel().human_speed_default == HUMAN_SPEED_ISO13855 == 1.6
    # v^2 / (2 S_s) per row: 2.5, 3.333, 4.0 -> the smallest
    assert TABLE.conservative_deceleration() == pytest.approx(2.5)


def test_beyond_the_stopping_data_extrapolates_only_when_asked_and_never_to_the_last_row():
    """Above the table's top speed: an error by default; with ``extrapolate`` the stop goes
    on at the table's smallest mean deceleration (longer than the last row, never equal)."""
    from simulator.safety.ssm import StoppingData, StoppingRangeError
    data = StoppingData.from_rows([(0.5, 0.2, 0.05), (1.0, 0.4, 0.2)])
    with pytest.raises(StoppingRangeError, match="beyond the stopping data"):
        data.at(1.5)
    a = data.conservative_deceleration()
    t, s = data.at(1.5, extrapolate=True)
    assert t == pytest.approx(0.4 + 0.5 / a) and s == pytest.approx(0.2 + (1.5 ** 2 - 1.0) / (2 * a))
    assert s > 0.2 and t > 0.4
    assert data.at(0.75, extrapolate=True) == data.at(0.75)   # inside: unchanged
