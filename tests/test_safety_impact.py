"""The two-body impact model of ISO/TS 15066 Annex A and the robot's reflected mass."""
from __future__ import annotations

import math

import numpy as np
import pytest

from simulator import catalogue
from simulator.physics import Sim
from simulator.robot import Robot
from simulator.safety.impact import (cartesian_inertia, max_relative_speed, reduced_mass,
                                     reflected_mass, standard_robot_mass, transfer_energy,
                                     two_body_peak_force)
from simulator.safety.limits import LimitTable

# Derived columns of the standards notes (energy_speed.csv), rounded there to 3 decimals:
# region: (E quasi-static J, E transient J, v_rel,max quasi-static m/s, transient m/s),
# v_rel,max for an effective robot mass m_R = 10 kg.
DERIVED = {
    "skull_forehead": (0.056, 0.225, 0.192, 0.384), "face": (0.028, 0.113, 0.136, 0.272),
    "neck": (0.225, 0.900, 0.648, 1.296), "back_shoulders": (0.630, 2.520, 0.397, 0.794),
    "chest": (0.392, 1.568, 0.313, 0.626), "abdomen": (0.605, 2.420, 0.389, 0.778),
    "pelvis": (0.648, 2.592, 0.402, 0.805), "upper_arm": (0.375, 1.500, 0.570, 1.140),
    "lower_arm": (0.320, 1.280, 0.620, 1.239), "hand": (0.131, 0.523, 0.679, 1.359),
    "thigh": (0.484, 1.936, 0.331, 0.662), "lower_leg": (0.141, 0.563, 0.179, 0.357),
}


def test_the_standards_worked_vector():
    """Hand, 140 N, 75 N/mm, 0.6 kg against m_R = 17.8/2 kg: 0.682 m/s (notes, S8)."""
    m_r = standard_robot_mass(17.8, 0.0)
    assert m_r == pytest.approx(8.9)
    assert reduced_mass(0.6, m_r) == pytest.approx(0.562, abs=1e-3)
    v = max_relative_speed(140.0, 75e3, 0.6, m_r)
    assert v == pytest.approx(0.682, abs=1e-3)
    assert two_body_peak_force(v, 75e3, 0.6, m_r) == pytest.approx(140.0)
    # energy balance: the spring stores the relative kinetic energy
    assert transfer_energy(140.0, 75e3) == pytest.approx(0.5 * reduced_mass(0.6, m_r) * v * v)


@pytest.mark.parametrize("region", sorted(DERIVED))
def test_energy_and_speed_of_every_region(region):
    """E = F²/(2k) and v_rel,max = F/sqrt(μk) with m_R = 10 kg from the shipped data; the
    published values are rounded to 3 decimals (abs 5e-4 allowed, plus 1e-3 relative)."""
    limit = LimitTable.from_body_model().region_areas(region)[0]
    k, m_h, fq = limit.spring_constant, limit.effective_mass, limit.quasi_static_force
    ft = 2.0 * fq      # the 2x rule (the head's transient values are for reference only)
    got = (transfer_energy(fq, k), transfer_energy(ft, k),
           max_relative_speed(fq, k, m_h, 10.0), max_relative_speed(ft, k, m_h, 10.0))
    for value, expected in zip(got, DERIVED[region]):
        assert abs(value - expected) <= 5e-4 + 1e-3 * expected, (region, got, DERIVED[region])


def test_pressure_form_takes_the_lower_speed():
    k, m_h, m_r = 75e3, 0.6, 8.9
    by_force = max_relative_speed(140.0, k, m_h, m_r)
    # 260 N/cm² on 0.5 cm² allows 130 N < 140 N: the pressure binds
    both = max_relative_speed(140.0, k, m_h, m_r, pressure_limit=260e4, area=0.5e-4)
    assert both == pytest.approx(by_force * 130.0 / 140.0)
    # on 2 cm² the force binds
    assert max_relative_speed(140.0, k, m_h, m_r, 260e4, 2e-4) == pytest.approx(by_force)
    assert max_relative_speed(0.0, k, m_h, m_r, 0.0, 1e-4) == 0.0
    with pytest.raises(ValueError):
        max_relative_speed(140.0, k, m_h, m_r, pressure_limit=260e4)


def test_two_body_limits_and_bad_masses():
    assert reduced_mass(2.0, math.inf) == 2.0
    assert two_body_peak_force(-0.3, 40e3, 2.0, 5.0) == 0.0     # separating: no impact
    assert two_body_peak_force(0.5, 40e3, 2.0, 2.0) == pytest.approx(0.5 * math.sqrt(40e3))
    with pytest.raises(ValueError):
        reduced_mass(0.0, 1.0)
    with pytest.raises(ValueError):
        standard_robot_mass(-1.0)
    with pytest.raises(ValueError):
        reflected_mass(np.eye(3), np.eye(3), (0, 0, 0))


@pytest.fixture(scope="module")
def panda():
    sim = Sim()
    robot = Robot(sim, catalogue.load_robot("panda"), catalogue.robot_folder("panda"))
    robot.reset()
    yield sim, robot
    sim.close()


DIRECTIONS = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, -2, 3), (-0.3, 0.2, -1)]


def test_reflected_mass_of_the_panda_at_home(panda):
    sim, robot = panda
    q = robot.home
    jac, mass = robot.jacobian(q)[:3], robot.mass_matrix(q)
    lam = cartesian_inertia(jac, mass)
    chol = np.linalg.cholesky(mass)
    links = [sim.link_mass(robot.body, l) for l in robot.link_indices]
    lightest = min(m for m in links if m > 0)
    for d in DIRECTIONS:
        n = np.asarray(d, float) / np.linalg.norm(d)
        m = reflected_mass(jac, mass, n)
        assert lightest < m < robot.spec.moving_mass, (d, m)
        # another way: nᵀ Λ⁻¹ n with Λ = (J M⁻¹ Jᵀ)⁻¹, and via the Cholesky factor of M
        assert m == pytest.approx(1.0 / (n @ np.linalg.solve(lam, n)), rel=1e-9)
        y = np.linalg.solve(chol, jac.T @ n)
        assert m == pytest.approx(1.0 / (y @ y), rel=1e-9)
        assert m == pytest.approx(reflected_mass(jac, mass, -n), rel=1e-12)
        assert m == pytest.approx(reflected_mass(jac, mass, 3.0 * n), rel=1e-12)
        assert m <= n @ lam @ n + 1e-9            # Cauchy-Schwarz bound


def test_reflected_mass_depends_on_the_pose(panda):
    """The reflected mass is a property of the pose, not a constant like M/2."""
    _, robot = panda
    home = robot.home
    stretched = home.copy()
    stretched[1], stretched[3] = 0.6, -0.3
    along_z = [reflected_mass(robot.jacobian(q)[:3], robot.mass_matrix(q), (0, 0, 1))
               for q in (home, stretched)]
    assert along_z[0] != pytest.approx(along_z[1], rel=0.05)
