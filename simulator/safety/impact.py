"""The two-body impact model of ISO/TS 15066 Annex A, as pure functions (SI units).

A robot of effective mass m_R (kg) strikes a body region of effective mass m_H (kg) and
effective spring constant k (N/m) at relative speed v (m/s). All kinetic energy of the
relative motion goes into the spring:

    E = ½ μ v² = F² / (2k),   μ = (1/m_H + 1/m_R)⁻¹          (reduced mass, kg)

so the peak force is F = v·sqrt(μ·k) (N) and the largest permitted relative speed for a
force limit F_max is v_rel,max = F_max / sqrt(μ·k); with a pressure limit p_max (Pa) on a
contact area A (m²) it is p_max·A / sqrt(μ·k), and the lower of the two applies.

m_R is either the standard's simplification M/2 + m_L (half the moving mass plus the
effective payload) or the robot's reflected mass along the contact normal n at the
contact point, m_R = 1 / (nᵀ J M⁻¹ Jᵀ n), with J the 3 × n linear Jacobian of that point
(world frame) and M the joint-space mass matrix: the mass the contact "feels" when the
joints are free (drives compliant during the short impact), the usual pose-dependent
refinement of Annex A.
"""
from __future__ import annotations

import math

import numpy as np


def reflected_mass(jacobian_linear, mass_matrix, normal) -> float:
    """Reflected (apparent) mass in kg of the robot at a point along ``normal``.

    Args:
        jacobian_linear: 3 × n linear Jacobian of the contact point, world frame (m/rad).
        mass_matrix: n × n joint-space mass matrix (kg·m²), symmetric positive definite.
        normal: direction (3,), world frame; normalised here, sign irrelevant.

    Returns ``inf`` if the direction cannot be moved by the joints (nᵀ J M⁻¹ Jᵀ n = 0).
    """
    j = np.asarray(jacobian_linear, dtype=float)
    n = np.asarray(normal, dtype=float)
    norm = np.linalg.norm(n)
    if not norm > 0:
        raise ValueError(f"normal {normal!r} has no direction")
    jn = j.T @ (n / norm)
    inv_mass = float(jn @ np.linalg.solve(np.asarray(mass_matrix, dtype=float), jn))
    return math.inf if inv_mass <= 0.0 else 1.0 / inv_mass


def cartesian_inertia(jacobian_linear, mass_matrix) -> np.ndarray:
    """Translational operational-space inertia Λ = (J M⁻¹ Jᵀ)⁻¹ (3 × 3, kg) of a point."""
    j = np.asarray(jacobian_linear, dtype=float)
    return np.linalg.inv(j @ np.linalg.solve(np.asarray(mass_matrix, dtype=float), j.T))


def standard_robot_mass(moving_mass: float, payload: float = 0.0) -> float:
    """The standard's effective robot mass m_R = M/2 + m_L (kg): ``moving_mass`` M is the
    total mass of the robot's moving parts, ``payload`` m_L the effective payload
    including tool and workpiece."""
    if moving_mass < 0 or payload < 0:
        raise ValueError(f"masses must be non-negative, got M={moving_mass}, m_L={payload}")
    return moving_mass / 2.0 + payload


def reduced_mass(m_h: float, m_r: float) -> float:
    """μ = (1/m_H + 1/m_R)⁻¹ in kg; an infinite m_R gives μ = m_H."""
    if not (m_h > 0 and m_r > 0):
        raise ValueError(f"masses must be positive, got m_H={m_h}, m_R={m_r}")
    return 1.0 / (1.0 / m_h + 1.0 / m_r)


def two_body_peak_force(v: float, k: float, m_h: float, m_r: float) -> float:
    """Peak contact force F = v·sqrt(μ·k) in N for relative speed ``v`` (m/s, the
    approaching component; a separating speed gives 0), spring constant ``k`` (N/m)."""
    return max(float(v), 0.0) * math.sqrt(reduced_mass(m_h, m_r) * k)


def max_relative_speed(force_limit: float, k: float, m_h: float, m_r: float,
                       pressure_limit: float | None = None, area: float | None = None) -> float:
    """Largest permitted relative speed v_rel,max in m/s.

    ``force_limit`` F_max in N gives F_max/sqrt(μk); with ``pressure_limit`` p_max (Pa) and
    contact ``area`` A (m²) the pressure form p_max·A/sqrt(μk) is also computed and the
    lower speed returned. A limit of 0 (contact not permitted) gives 0.
    """
    root = math.sqrt(reduced_mass(m_h, m_r) * k)
    speed = force_limit / root
    if pressure_limit is not None:
        if area is None or not area > 0:
            raise ValueError(f"the pressure form needs a positive contact area, got {area!r}")
        speed = min(speed, pressure_limit * area / root)
    return speed


def transfer_energy(force: float, k: float) -> float:
    """Energy (J) stored in a spring of rate ``k`` (N/m) at force ``force`` (N): F²/(2k)."""
    return force * force / (2.0 * k)
