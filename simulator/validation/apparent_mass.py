"""The person's apparent mass at each body region, measured with an impulse test.

ISO/TS 15066 Annex A's two-body model gives each region an effective mass m_H (Table A.3:
0.6 kg at the hand to 75 kg at the legs, for a 75 kg adult): the mass the region presents
to a striking robot. The simulated person has no such number; its apparent mass emerges
from its segment masses, joints, drives and the root that holds it. This module measures
it the way a pendulum impact does: a half-sine force pulse of the duration of an impact,
F(t) = A·sin(π t / T) for 0 ≤ t ≤ T, pushes the region's centre (the anchor of
:data:`CENTRES`) inwards along the surface normal; the apparent mass is the impulse over
the velocity change of that material point along the push (the change the same time
brings without the pulse, e.g. in a gait, taken off),

    m_app = (2·A·T/π) / Δv,

with T = π·sqrt(μ/k) the contact time of the region's spring k against a 10 kg robot
(μ = (1/m_H + 1/10 kg)⁻¹) and A = 0.5 m/s·sqrt(μ·k), the Annex A peak at 0.5 m/s, so the
drives and joints meet forces and times of a real strike. The pulse runs at the cell's fine
contact step, the person in a posture of the cells (:data:`POSTURES`), alone in the cell
(the robot at home, far away).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from simulator.bodymodel import load_body_model
from simulator.human.motion import Walk
from simulator.kinematics import quat_to_matrix
from simulator.safety.areas import AreaMap
from simulator.validation.placement import FAR, build_cell, pose_and_settle

#: the area whose anchor stands for each region's centre (ISO/TS 15066 Table A.2 numbers)
CENTRES = {"skull_forehead": 1, "face": 3, "neck": 4, "back_shoulders": 7, "chest": 8,
           "abdomen": 10, "pelvis": 11, "upper_arm": 13, "lower_arm": 15, "hand": 22,
           "thigh": 26, "lower_leg": 28}
POSTURES = ("standing", "reaching", "walking")
ROBOT_MASS = 10.0       # kg, the striker the pulse stands for
PULSE_SPEED = 0.5       # m/s, the strike speed the pulse's amplitude stands for
WALK_SPEED = 1.0        # m/s, gait of the walking posture
TOLERANCE = 0.20        # the target: |m_app / m_H - 1| <= 20 %


@dataclass(frozen=True)
class ApparentMass:
    """One measurement: region, area, link, posture; the pulse's amplitude (N) and
    duration (s); Δv (m/s); the apparent mass and Table A.3's m_H (kg)."""

    region: str
    area_id: int
    link: str
    posture: str
    amplitude: float
    duration: float
    delta_v: float
    apparent_mass: float
    m_h: float
    tolerance: float = TOLERANCE

    @property
    def ratio(self) -> float:
        return self.apparent_mass / self.m_h

    @property
    def within(self) -> bool:
        return abs(self.ratio - 1.0) <= self.tolerance

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "within": self.within}


def _anchor(human, area_id: int, link: str | None):
    areas = AreaMap(human)
    for hl in human.links:
        if link is not None and hl.name != link:
            continue
        for a in areas.anchors(hl.index):
            if a.area_id == area_id:
                return hl, np.asarray(a.point), np.asarray(a.normal)
    raise ValueError(f"no anchor of area {area_id}")


def _point_state(sim, human, link, local, normal):
    """World position and inward-normal velocity (m, m/s) of a point fixed in ``link``."""
    pos, orn = sim.link_state(human.body_id, link)
    rot = quat_to_matrix(orn)
    point = pos + rot @ local
    inward = -(rot @ normal)
    return point, inward, float(sim.point_velocity(human.body_id, link, point) @ inward)


def pulse(cell, link: int, local, normal, region, robot_mass: float = ROBOT_MASS,
          speed: float = PULSE_SPEED, person_mass: float | None = None
          ) -> tuple[float, float, float, float]:
    """Push the point ``local`` (m, frame of person link ``link``) inwards along the
    surface ``normal`` (link frame) with the half-sine pulse of an Annex A strike of
    ``region`` by ``robot_mass`` at ``speed`` (with ``person_mass`` in place of m_H when
    given), at the cell's fine step; returns the apparent mass (kg), amplitude (N),
    duration (s) and Δv (m/s). The world moves on."""
    sim, human = cell.sim, cell.human
    m_h = region.effective_mass if person_mass is None else person_mass
    mu = 1.0 / (1.0 / m_h + 1.0 / robot_mass)
    duration = math.pi * math.sqrt(mu / region.spring_constant)
    amplitude = speed * math.sqrt(mu * region.spring_constant)
    sim.set_time_step(cell.spec.physics.time_step / cell.spec.physics.contact_substeps)
    h = sim.time_step
    steps = max(4, int(round(duration / h)))
    local, normal = np.asarray(local, float), np.asarray(normal, float)

    def run(push: bool) -> tuple[float, float]:
        impulse = 0.0
        for i in range(steps):
            point, inward, _ = _point_state(sim, human, link, local, normal)
            force = amplitude * math.sin(math.pi * (i + 0.5) / steps) if push else 0.0
            if push:
                sim.apply_external_force(human.body_id, link, force * inward, point)
            impulse += force * h
            sim.step(1)
        return impulse, _point_state(sim, human, link, local, normal)[2]

    # the same steps without the pulse first: what the person's own motion (a gait)
    # changes in that time is not the pulse's doing
    saved, root = sim.save_state(), human.root_motion_state()
    _, unpushed = run(False)
    sim.restore_state(saved)
    human.set_root_motion_state(root)
    impulse, after = run(True)
    dv = after - unpushed
    return (impulse / dv if dv > 0 else math.inf), amplitude, steps * h, dv


def measure(scenario: str, robot: str, region: str, posture: str = "standing",
            area_id: int | None = None, link: str | None = None) -> ApparentMass:
    """The apparent mass at ``region``'s centre (or ``area_id`` on ``link``) in
    ``posture`` (module docstring)."""
    reg = load_body_model().region(region)
    area_id = CENTRES[region] if area_id is None else area_id
    cell = build_cell(scenario, robot, FAR, 0.0)
    try:
        human = cell.human
        hl, local, normal = _anchor(human, area_id, link)
        side = hl.name.rsplit("_", 1)[1] if hl.name.endswith(("_left", "_right")) else human.handedness
        if posture == "walking":
            human.set_program(Walk([(FAR[0] + 10.0, FAR[1])], speed=WALK_SPEED))
        pose_and_settle(cell, "reaching" if posture == "reaching" else "standing", side)
        apparent, amplitude, duration, dv = pulse(cell, hl.index, local, normal, reg)
    finally:
        cell.close()
    return ApparentMass(region, area_id, hl.name, posture, amplitude, duration, dv, apparent,
                        reg.effective_mass)


def table(scenario: str = "crossing", robot: str = "panda",
          postures=POSTURES) -> list[ApparentMass]:
    """Every region in every posture (arm regions in the reaching posture on the arm that
    reaches)."""
    return [measure(scenario, robot, region, posture)
            for region in CENTRES for posture in postures]
