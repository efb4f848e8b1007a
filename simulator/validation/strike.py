"""An isolated strike of a robot on the real person of a cell, compared with Annex A.

The robot is put just short of a body area (:class:`~simulator.validation.placement.
Target`), 3 mm from touching, with the TCP (tool axis along the area's inward normal) or
with an arm link, and set moving along the inward normal at ``speed``: its joint
velocities are the least-norm ones that move the striking point (the TCP without turning
the tool, or the link's centre of mass) at that velocity. Then its joints coast: they get
only the torques that cancel gravity and the Coriolis forces
(:meth:`~simulator.robot_drive.JointImpedance.coast`), so the arm meets the person as the
free body of ISO/TS 15066 Annex A's two-body model. The person keeps their own drives.
The world runs at the cell's fine contact step through the cell's contact springs.

What is compared (one :class:`StrikeResult`):

* ``simulated``: the peak, over the physics steps, of the total spring force on the struck
  person link (N);
* ``predicted``: Annex A, F = v·sqrt(μ·k), with v the relative approach speed at the start
  of the contact's first step, k the struck area's region spring constant, μ from the
  region's m_H (Table A.3) and the robot's reflected mass at the contact point along the
  contact normal, m_R = 1/(nᵀ J M⁻¹ Jᵀ n), at the joint state of that instant;
* ``ratio`` = simulated / predicted, and the person's apparent mass that would explain
  the simulated peak, m = 1 / (k·v²/F² − 1/m_R) (∞ when F ≥ v·sqrt(m_R·k));
* ``monitor_predicted``: the contact monitor's own impact prediction for the same onset,
  which must equal ``predicted`` (the monitor predicts from the state before onset).

A strike is *isolated* when its first contact is on the target link and no other person
link carries more than 5 % of the peak before the peak; only isolated strikes are judged.
"""
from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from simulator.bodymodel import load_body_model
from simulator.kinematics import matrix_to_quat, quat_to_matrix
from simulator.robot import moving_links
from simulator.safety.contact import ContactMonitor
from simulator.safety.impact import reflected_mass, two_body_peak_force

log = logging.getLogger(__name__)

GAP = 0.003            # m between robot and person when the strike starts
ISOLATION = 0.05       # share of the peak another person link may carry before the peak
TOLERANCE = 0.15       # the in-cell target: |simulated / Annex A - 1| <= 15 %
IK_TOLERANCE = 0.002   # m
PULSE_ROUNDS = 1       # impulse tests (more: each shaped like a strike on the mass the last found)


class PlacementError(ValueError):
    """The robot cannot be put at the target (out of reach, or another part first)."""


@dataclass(frozen=True)
class StrikeResult:
    """One strike; forces N, speeds m/s, masses kg, times s (module docstring)."""

    robot: str
    scenario: str
    area_id: int
    area: str
    region: str
    human_link: str
    striker: str
    robot_link: str
    speed: float
    relative_speed: float
    reflected_mass: float
    m_h: float
    k: float
    apparent_mass: float
    simulated: float
    predicted: float
    ratio: float
    monitor_predicted: float
    contact_time: float
    isolated: bool
    note: str
    pulse_mass: float = math.nan
    predicted_pulse: float = math.nan
    spring_stiffness: float = math.nan
    tolerance: float = TOLERANCE

    @property
    def passed(self) -> bool:
        """Within the tolerance of Annex A with Table A.3's m_H."""
        return self.isolated and abs(self.ratio - 1.0) <= self.tolerance

    @property
    def ratio_pulse(self) -> float:
        """Simulated over the two-body model with the person's apparent mass measured by
        the impulse test at the same point: the check of the contact physics itself."""
        return self.simulated / self.predicted_pulse if self.predicted_pulse else math.nan

    @property
    def physics_passed(self) -> bool:
        return self.isolated and abs(self.ratio_pulse - 1.0) <= self.tolerance

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed, "ratio_pulse": self.ratio_pulse,
                "physics_passed": self.physics_passed}


def tool_quaternion(inward) -> np.ndarray:
    """A TCP orientation whose z axis (the tool axis) points along ``inward``."""
    z = np.asarray(inward, float) / np.linalg.norm(inward)
    helper = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    return matrix_to_quat(np.column_stack([x, np.cross(z, x), z]))


def _com_point_ik(robot, link: int, target, q, iterations: int = 200) -> np.ndarray:
    """Joint positions that put the centre of mass of ``link`` at ``target`` (m, world),
    damped least squares from ``q``, within the joint limits."""
    sim = robot.sim
    offset, offset_orn = sim.inertial_frame(robot.body, link)
    for _ in range(iterations):
        pos, quat = robot.forward_kinematics(q, link)
        com = pos + quat_to_matrix(quat) @ np.asarray(offset)
        error = np.asarray(target, float) - com
        if np.linalg.norm(error) < 1e-4:
            break
        jac = robot.jacobian(q, link, (0.0, 0.0, 0.0))[:3]
        q = np.clip(q + jac.T @ np.linalg.solve(jac @ jac.T + 4e-4 * np.eye(3), error),
                    robot.lower, robot.upper)
    return q


def _gap(cell, target) -> tuple[float, int]:
    """The smallest distance (m) from the robot to the target link and the robot link."""
    rows = cell.sim.closest_points(cell.robot.body, cell.human.body_id, 0.5,
                                   link_b=target.link_index)
    best = min(rows, key=lambda c: c.distance, default=None)
    return (math.inf, -1) if best is None else (best.distance, best.link_a)


def _touches_fixture(cell, margin: float) -> bool:
    """Whether a moving link of the robot is within ``margin`` m of a fixed body (floor,
    fixtures); the base and links fixed to it rest on their mount."""
    moving = set(moving_links(cell.sim, cell.robot.body))
    for body in cell.fixed_bodies:
        for c in cell.sim.closest_points(cell.robot.body, body, margin):
            if c.link_a in moving:
                return True
    return False


def _seeds(robot, towards, count: int = 12):
    """IK starting points: home with the first joint turned towards the target, then
    configurations drawn within the limits (a fixed generator: the same every run)."""
    first = robot.home.copy()
    first[0] = np.clip(first[0] + math.atan2(towards[1], towards[0]), robot.lower[0], robot.upper[0])
    yield first
    rng = np.random.default_rng(0)
    for _ in range(count):
        q = rng.uniform(robot.lower, robot.upper)
        q[0] = first[0]
        yield q


def _reach(cell, striker: str, link, goal, inward, q):
    """Joint positions reaching ``goal`` from ``q`` and the residual (m)."""
    robot = cell.robot
    if striker == "tcp":
        q = robot.inverse_kinematics(goal, tool_quaternion(inward), iterations=200, seed=q)
        return q, float(np.linalg.norm(robot.forward_kinematics(q)[0] - goal))
    q = _com_point_ik(robot, link, goal, q)
    pos, quat = robot.forward_kinematics(q, link)
    offset = cell.sim.inertial_frame(robot.body, link)[0]
    return q, float(np.linalg.norm(pos + quat_to_matrix(quat) @ np.asarray(offset) - goal))


def place(cell, target, striker: str, link: int | None = None) -> tuple[np.ndarray, int]:
    """Joint positions putting the robot ``GAP`` m short of ``target``; returns them and
    the striking link. ``striker``: ``"tcp"`` or ``"link"`` (``link``: the arm link)."""
    robot = cell.robot
    inward = -np.asarray(target.normal, float)
    base_pos, base_orn = cell.sim.base_pose(robot.body)
    towards = quat_to_matrix(base_orn).T @ (np.asarray(target.point) - base_pos)
    start = 0.06 if striker == "tcp" else 0.12
    best = math.inf
    for seed in _seeds(robot, towards):
        q, miss = _reach(cell, striker, link, np.asarray(target.point) - inward * start, inward, seed)
        best = min(best, miss)
        if miss <= IK_TOLERANCE:
            break
    else:
        raise PlacementError(f"{striker} out of reach ({best * 1000:.0f} mm short)")
    standoff = start
    for _ in range(16):
        robot.reset(q, gripper_open=False)  # closed fingers: one tip
        gap, hit = _gap(cell, target)
        if abs(gap - GAP) < 5e-4:
            if _touches_fixture(cell, 0.005):
                raise PlacementError("the robot would touch a fixture or the floor")
            return q, (hit if striker == "tcp" else link)
        standoff -= 0.8 * (gap - GAP)
        q, miss = _reach(cell, striker, link, np.asarray(target.point) - inward * standoff,
                         inward, q)
        if miss > IK_TOLERANCE:
            raise PlacementError(f"{striker} out of reach ({miss * 1000:.0f} mm short)")
    raise PlacementError(f"could not settle the gap at {GAP * 1000:.0f} mm")


def strike(cell, target, striker: str, speed: float, link: int | None = None,
           scenario: str = "", duration: float | None = None) -> StrikeResult:
    """Strike ``target`` on ``cell``'s person (module docstring)."""
    sim, robot, human, springs = cell.sim, cell.robot, cell.human, cell.springs
    q, strike_link = place(cell, target, striker, link)
    inward = -np.asarray(target.normal, float)
    pulse_mass = _pulse_mass(cell, target, strike_link, inward)
    if striker == "tcp":
        jac = robot.jacobian(q, point=robot._tcp_in_com)
        qd = np.linalg.pinv(jac) @ np.concatenate([inward * speed, np.zeros(3)])
    else:
        qd = np.linalg.pinv(robot.jacobian(q, link)[:3]) @ (inward * speed)
    if np.any(np.abs(qd) > robot.max_velocity):
        raise PlacementError(f"the strike needs joint speeds beyond the limits "
                             f"({np.max(np.abs(qd) / robot.max_velocity):.1f}× at most)")
    full_q, _ = robot.movable_state()
    full_qd = np.zeros_like(full_q)
    full_qd[robot._arm_cols] = qd
    sim.reset_joints(robot.body, robot.movable, full_q, full_qd)
    robot.drive.reset(full_q)
    robot.drive.coast(robot._arm_cols)
    monitor = ContactMonitor(sim, robot, human, cell.fixed_bodies, springs=springs)
    monitor.attach()
    springs.watch(None)
    coarse = cell.spec.physics.time_step
    sim.set_time_step(coarse / cell.spec.physics.contact_substeps)
    model = load_body_model()
    k_max = max(r.spring_constant for r in model.regions.values())
    limit = duration or (GAP / speed + 6 * math.pi * math.sqrt(robot.spec.moving_mass / k_max) + 0.06)
    peak, onset, first, others, start, end = 0.0, None, None, 0.0, None, None
    t0, fixture_hit = sim.time, False
    moving = set(moving_links(sim, robot.body))
    while sim.time - t0 < limit and end is None:
        state = robot.joint_state()
        sim.step(1)
        on_target = [c for c in springs.contacts if c.link_b == target.link_index]
        elsewhere = sum(c.normal_force for c in springs.contacts if c.link_b != target.link_index)
        force = sum(c.normal_force for c in on_target)
        if not fixture_hit and any(c.link_a in moving and c.normal_force > 0
                                   for body in cell.fixed_bodies
                                   for c in sim.contacts(robot.body, body)):
            fixture_hit = True
        if springs.contacts and onset is None:
            onset, first, start = state, list(springs.contacts), sim.time
        if force >= peak:  # up to the peak: what else is touched
            peak, others = force, max(others, elsewhere)
        if start is not None and force <= 0.02 * peak:
            end = sim.time
    result = _result(cell, target, striker, speed, scenario, peak, onset, first, others,
                     start, end, monitor, model, pulse_mass)
    if fixture_hit:
        result = replace(result, isolated=False,
                         note="; ".join(filter(None, [result.note, "the robot hit a fixture"])))
    return result


def _pulse_mass(cell, target, strike_link: int, inward) -> float:
    """The person's apparent mass at the target along ``inward``, by the impulse test of
    :mod:`simulator.validation.apparent_mass` with the robot's reflected mass there; the
    world is put back as it was."""
    from simulator.validation.apparent_mass import pulse
    sim, robot, human = cell.sim, cell.robot, cell.human
    model = load_body_model()
    region = model.region(model.area(target.area_id).region_id)
    q, _ = robot.joint_state()
    rows = sim.closest_points(robot.body, human.body_id, 0.1, link_a=strike_link,
                              link_b=target.link_index)
    m_r = 10.0
    if rows:
        c = min(rows, key=lambda r: r.distance)
        com = sim.link_com_states(robot.body, [strike_link])
        local = quat_to_matrix(com.orientation[0]).T @ (np.asarray(c.position_on_a) - com.position[0])
        m_r = reflected_mass(robot.jacobian(q, strike_link, local)[:3], robot.mass_matrix(q), inward)
    pos, orn = sim.link_state(human.body_id, target.link_index)
    rot = quat_to_matrix(orn)
    saved = sim.save_state()
    mass = region.effective_mass
    for _ in range(PULSE_ROUNDS):  # the pulse of a strike on the mass found so far
        mass = pulse(cell, target.link_index, rot.T @ (np.asarray(target.point) - pos),
                     rot.T @ np.asarray(target.normal), region, robot_mass=m_r,
                     person_mass=min(mass, 1e4))[0]
        sim.restore_state(saved)
    return mass


def _result(cell, target, striker, speed, scenario, peak, onset, first, others, start, end,
            monitor, model, pulse_mass=math.nan) -> StrikeResult:
    robot = cell.robot
    names = {j.index: j.link_name for j in cell.sim.joints(robot.body)}
    area = model.area(target.area_id)
    region = model.region(area.region_id)
    if first is None:
        return StrikeResult(robot.spec.id, scenario, target.area_id, area.name, region.id,
                            target.link, striker, "", speed, math.nan, math.nan,
                            region.effective_mass, region.spring_constant, math.nan, 0.0,
                            math.nan, math.nan, math.nan, math.nan, False, "no contact")
    c0 = max(first, key=lambda c: -c.distance)
    hit_area = model.area(c0.area_id)
    hit_region = model.region(hit_area.region_id)
    q0, _ = onset
    com = cell.sim.link_com_states(robot.body, [c0.link_a])
    local = quat_to_matrix(com.orientation[0]).T @ (np.asarray(c0.position_on_a) - com.position[0])
    jac = robot.jacobian(q0, c0.link_a, local)[:3]
    m_r = reflected_mass(jac, robot.mass_matrix(q0), c0.normal)
    v = max(c.approach_speed for c in first)
    k, m_h = hit_region.spring_constant, hit_region.effective_mass
    predicted = two_body_peak_force(v, k, m_h, m_r)
    inverse = k * v * v / (peak * peak) - 1.0 / m_r if peak > 0 else math.nan
    apparent = 1.0 / inverse if inverse > 0 else math.inf
    notes = []
    isolated = all(c.link_b == target.link_index for c in first) and others <= ISOLATION * peak
    if not isolated:
        notes.append("not isolated: another person link was touched")
    if c0.area_id != target.area_id:
        notes.append(f"struck area {c0.area_id} next to area {target.area_id}")
    impacts = [i for i in monitor.impacts if i.human_link == target.link]
    mon = impacts[0].predicted_force if impacts else math.nan
    return StrikeResult(robot.spec.id, scenario, c0.area_id, hit_area.name, hit_region.id,
                        target.link, striker, names.get(c0.link_a, "base"), speed, v, m_r,
                        m_h, k, apparent, peak, predicted, peak / predicted if predicted else math.nan,
                        mon, (end - start) if end is not None else math.nan, isolated,
                        "; ".join(notes), pulse_mass, two_body_peak_force(v, k, pulse_mass, m_r),
                        sum(c.stiffness for c in first if c.link_b == target.link_index))
