"""Force-fidelity validation of power and force limiting (PFL) on bare physics worlds.

ARCHITECTURE decision 3: the peak force of a robot striking a body region must agree with
the two-body model of ISO/TS 15066 Annex A, F = v·sqrt(μ·k), and the physics step (and the
contact sub-stepping of :mod:`simulator.safety.substep`) is chosen from this test. The
contact is the one the cells use: a :class:`~simulator.contact_springs.ContactSprings`
spring of the region's k between striker and body (Bullet's own collision between them
off). The same rigs are struck in the real cells by :mod:`simulator.validation.in_cell`.

Set-ups (each one a fresh :class:`~simulator.physics.Sim`, gravity 0, no friction, no
linear or angular damping):

* ``device`` -- measuring-device impact. A rigid sphere (radius 5 cm) of the robot's
  reflected mass m_R moves at v along +x and strikes the face of a *fixed* box through a
  spring of the region's constant k (N/m). Model: F = v·sqrt(m_R·k).
* ``free`` -- free-body impact. The box is free and has the region's effective mass m_H.
  Model: F = v·sqrt(μ·k), μ = (1/m_H + 1/m_R)⁻¹.
* ``clamp`` -- a hand-like capsule (hand region's k, 0.6 kg) lies on a rigid table; a
  pusher box is pulled down onto it by a fixed constraint whose ``maxForce`` is the
  commanded force F_c (the constraint's target lies deep below, so it saturates), or by
  an external force F_c. The settled pusher-hand force must be F_c within ±5 %.

The peak force is the largest, over all physics steps, of the spring force between the
striker and the body. One spring acts per touching pair of links whatever the shapes: a
cube striking face on face meets k, not four times k as it did with Bullet's soft contact,
which gives every point of a contact manifold the full stiffness
(:func:`contact_point_stiffness_check`).

What the step does: the spring is explicit (its force from the penetration at the start
of each step; symplectic Euler): it neither damps the impact numerically, as Bullet's
implicit soft contact did (peaks 14-67 % low at 1/240 s), nor holds it exactly: the
step at which the spring first engages and the discrete sampling of the peak leave an
error of the order of ω·h (ω = sqrt(k/μ), h the step) either way, which the tables
measure.

Run ``validate_pfl()`` for the rows and ``format_table(rows)`` for the text tables.
"""
from __future__ import annotations

import logging
import math
import time as _time
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

from simulator.bodymodel import load_body_model
from simulator.physics import Sim
from simulator.safety.substep import SubStepper, contact_omega
from simulator.contact_springs import ContactSprings

log = logging.getLogger(__name__)

IMPACT_TOLERANCE = 0.10      # relative, peak force vs v·sqrt(μ·k)
CLAMP_TOLERANCE = 0.05       # relative, settled force vs commanded force
SPEEDS = (0.1, 0.25, 0.5, 0.75, 1.0)            # m/s
ROBOT_MASSES = (5.0, 10.0, 20.0)                # kg, reflected mass m_R
TIME_STEPS = (1 / 240, 1 / 480, 1 / 1000, 1 / 2000, 1 / 4000)   # s
CLAMP_FORCES = (50.0, 100.0, 140.0)             # N

#: The recommendation that follows from the tables: the cell's coarse step and the fine
#: step used around robot-human contacts (see :mod:`simulator.safety.substep`).
RECOMMENDED_COARSE_STEP = 1 / 240
RECOMMENDED_FINE_STEP = 1 / 4800

STRIKER_RADIUS = 0.05        # m
BODY_HALF_EXTENTS = (0.05, 0.10, 0.10)   # m, the struck box (face at x = 0)
START_GAP = 1e-4             # m, striker surface to face at t = 0 ("just before contact")


@dataclass(frozen=True)
class Row:
    """One comparison. Forces in N, masses in kg, speed in m/s, steps in s.

    ``error`` = simulated / expected - 1; ``passed`` = |error| <= ``tolerance``.
    ``fine_steps`` > 1: sub-stepped (coarse step ``time_step``, fine ``time_step/fine_steps``
    around the contact); ``coarse_steps``/``refined_steps`` count the coarse steps taken as
    one physics step and as fine steps. ``omega_h``: sqrt(k/μ) times the step the contact
    ran at. Clamping rows: ``expected`` is the commanded force, ``simulated`` the settled
    force and ``transient_peak`` the largest force while the pusher lands (from a 2 mm gap).
    """

    test: str
    region: str
    k: float
    m_h: float
    m_r: float
    speed: float
    time_step: float
    fine_steps: int
    expected: float
    simulated: float
    error: float
    tolerance: float
    passed: bool
    omega_h: float = math.nan
    contact_time: float = math.nan
    contact_pairs: int = 0
    coarse_steps: int = 0
    refined_steps: int = 0
    clamped: bool = False
    transient_peak: float = math.nan
    wall_time: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------- models
def reduced_mass(m_h: float | None, m_r: float) -> float:
    """μ = (1/m_H + 1/m_R)⁻¹; ``m_h=None`` is a fixed body (μ = m_R)."""
    return m_r if m_h is None else 1.0 / (1.0 / m_h + 1.0 / m_r)


def two_body_peak(speed: float, mu: float, k: float) -> float:
    """ISO/TS 15066 Annex A: F = v·sqrt(μ·k) (N)."""
    return speed * math.sqrt(mu * k)


# --------------------------------------------------------------------- impacts
def _no_losses(sim: Sim, body: int) -> None:
    sim.change_dynamics(body, -1, linearDamping=0.0, angularDamping=0.0, lateralFriction=0.0,
                        spinningFriction=0.0, rollingFriction=0.0, restitution=0.0)


def spring_between(sim: Sim, striker: int, body: int, k: float,
                   friction: float = 0.0) -> ContactSprings:
    """The cells' contact spring of constant ``k`` (N/m) between ``striker`` (the robot
    side) and ``body`` (the person side, one link)."""
    return ContactSprings(sim, striker, body, [-1], lambda link, point: (float(k), 0),
                          friction=friction)


def impact(k: float, m_r: float, speed: float, time_step: float, m_h: float | None = None,
           fine_steps: int = 1, gap: float = START_GAP, striker: str = "sphere") -> dict:
    """Strike a body of spring constant ``k`` (N/m), fixed (``m_h=None``) or free of mass
    ``m_h``, with a striker of mass ``m_r`` at ``speed``. With ``fine_steps`` > 1 the world
    runs at ``time_step`` through a :class:`SubStepper`. Returns peak force (N), contact
    time (s), springs at the peak, coarse/refined step counts and the wall time (s)."""
    wall = _time.perf_counter()
    with Sim(time_step=time_step, gravity=0.0, solver_iterations=50) as sim:
        body = sim.create_body("body", "box", BODY_HALF_EXTENTS, 0.0 if m_h is None else m_h,
                               position=(BODY_HALF_EXTENTS[0], 0.0, 0.0))
        if striker == "sphere":
            size, half = (STRIKER_RADIUS,), STRIKER_RADIUS
        else:  # a cube striker: face on face, a manifold of four points in Bullet
            size, half = (0.03, 0.03, 0.03), 0.03
        robot = sim.create_body("striker", striker, size, m_r, position=(-half - gap, 0.0, 0.0))
        _no_losses(sim, body)
        _no_losses(sim, robot)
        springs = spring_between(sim, robot, body, k)
        sim.set_base_velocity(robot, (speed, 0.0, 0.0))

        state = {"peak": 0.0, "pairs": 0, "start": None, "end": None}

        def record() -> None:
            f = sum(c.normal_force for c in springs.contacts)
            if f > 0.0:
                if state["start"] is None:
                    state["start"] = sim.time - sim.time_step
                if f > state["peak"]:
                    state["peak"], state["pairs"] = f, len(springs.contacts)
            elif state["start"] is not None and state["end"] is None:
                state["end"] = sim.time - sim.time_step

        sim.add_post_step(record)
        mu = reduced_mass(m_h, m_r)
        limit = gap / max(speed, 1e-9) + 4.0 * math.pi * math.sqrt(mu / k) + 0.05
        stepper = SubStepper(sim, robot, body, fine_steps=fine_steps, relative_speed=speed,
                             safety=2.0, margin=0.005, springs=springs) if fine_steps > 1 else None
        while sim.time < limit and state["end"] is None:
            if stepper is None:
                sim.step()
            else:
                stepper.step()
        stats = stepper.stats if stepper is not None else None
    contact = (state["end"] - state["start"]) if state["end"] is not None else math.nan
    return {"peak": state["peak"], "contact_time": contact, "pairs": state["pairs"],
            "coarse": stats.coarse - stats.refined if stats else 0,
            "refined": stats.refined if stats else 0,
            "wall": _time.perf_counter() - wall}


def impact_row(region, m_r: float, speed: float, time_step: float, mode: str = "device",
               fine_steps: int = 1, gap: float = START_GAP,
               tolerance: float = IMPACT_TOLERANCE) -> Row:
    """One impact of ``region`` (a :class:`~simulator.bodymodel.Region`) compared with the
    two-body model; ``mode`` is ``device`` (fixed body) or ``free`` (body of mass m_H)."""
    if mode not in ("device", "free"):
        raise ValueError(f"mode must be 'device' or 'free', got {mode!r}")
    k, m_h = region.spring_constant, region.effective_mass
    body_mass = None if mode == "device" else m_h
    mu = reduced_mass(body_mass, m_r)
    res = impact(k, m_r, speed, time_step, m_h=body_mass, fine_steps=fine_steps, gap=gap)
    expected = two_body_peak(speed, mu, k)
    err = res["peak"] / expected - 1.0
    h = time_step / fine_steps
    return Row(f"impact-{mode}", region.id, k, m_h, m_r, speed, time_step, fine_steps,
               expected, res["peak"], err, tolerance, abs(err) <= tolerance,
               omega_h=contact_omega(k, mu) * h, contact_time=res["contact_time"],
               contact_pairs=res["pairs"], coarse_steps=res["coarse"],
               refined_steps=res["refined"], wall_time=res["wall"])


def contact_point_stiffness_check(k: float = 50e3, m_r: float = 10.0, speed: float = 0.5,
                                  time_step: float = 1 / 4000) -> dict:
    """Peak force over v·sqrt(m_R·k) of a sphere and of a cube striker (face on face, where
    Bullet's soft contact holds four manifold points, each with the full stiffness, and
    read about twice the force) on a fixed body of spring constant ``k``: with the contact
    springs both meet k once."""
    out = {}
    for shape in ("sphere", "box"):
        res = impact(k, m_r, speed, time_step, striker=shape)
        out[shape] = {"ratio": res["peak"] / two_body_peak(speed, m_r, k),
                      "contact_pairs": res["pairs"]}
    return out


# --------------------------------------------------------------------- clamping
def clamp(force: float, k: float, m_hand: float, time_step: float, method: str = "constraint",
          duration: float = 1.5, settle: float = 0.25) -> dict:
    """A hand capsule (radius 3 cm, 10 cm long, mass ``m_hand``) on a rigid table, pressed
    through a spring of constant ``k`` by a 2 kg pusher driven down with ``force`` N by a
    saturated constraint (``method="constraint"``) or an external force (``"external"``).
    Returns the mean pusher-hand and hand-table normal forces over the last ``settle`` s,
    the peak pusher-hand force, and whether both contacts carry force at the end (the hand
    is clamped)."""
    if method not in ("constraint", "external"):
        raise ValueError(f"method must be 'constraint' or 'external', got {method!r}")
    wall = _time.perf_counter()
    radius, length = 0.03, 0.10
    with Sim(time_step=time_step, gravity=0.0, solver_iterations=50) as sim:
        table = sim.create_body("table", "box", (0.3, 0.3, 0.02), 0.0, position=(0, 0, -0.02))
        along_y = tuple(Sim.quaternion_from_euler((math.pi / 2, 0.0, 0.0)))
        hand = sim.create_body("hand", "capsule", (radius, length), m_hand,
                               position=(0, 0, radius), orientation=along_y)
        pusher = sim.create_body("pusher", "box", (0.05, 0.08, 0.02), 2.0,
                                 position=(0, 0, 2 * radius + 0.02 + 0.002))
        for b in (table, hand, pusher):
            sim.change_dynamics(b, -1, linearDamping=0.0, angularDamping=0.0, lateralFriction=0.8)
        springs = spring_between(sim, pusher, hand, k, friction=0.5)
        if method == "constraint":
            # target 10 cm below the pusher's resting height: the constraint saturates.
            sim.create_fixed_constraint(pusher, -1, None, child_pivot=(0, 0, -0.05),
                                        max_force=force)
        else:  # the pusher pressed straight down cannot turn: a single spring holds no
            # torque, and a free box balanced on a round limb would tip off it
            sim.change_dynamics(pusher, -1, localInertiaDiagonal=[1e6, 1e6, 1e6])
            sim.add_pre_step(lambda: sim.apply_external_force(pusher, -1, (0.0, 0.0, -force)))
        n = int(round(duration / time_step))
        m = max(1, int(round(settle / time_step)))
        top, bottom = np.zeros(n), np.zeros(n)
        for i in range(n):
            sim.step()
            top[i] = sum(c.normal_force for c in springs.contacts)
            bottom[i] = sum(c.normal_force for c in sim.contacts(hand, table))
    return {"settled": float(top[-m:].mean()), "table": float(bottom[-m:].mean()),
            "peak": float(top.max()), "ripple": float(top[-m:].max() - top[-m:].min()),
            "clamped": bool(top[-1] > 0 and bottom[-1] > 0),
            "wall": _time.perf_counter() - wall}


def clamp_row(force: float, time_step: float, method: str = "constraint", region=None,
              tolerance: float = CLAMP_TOLERANCE) -> Row:
    region = region if region is not None else load_body_model().region("hand")
    res = clamp(force, region.spring_constant, region.effective_mass, time_step, method)
    err = res["settled"] / force - 1.0
    return Row(f"clamp-{method}", region.id, region.spring_constant, region.effective_mass,
               0.0, 0.0, time_step, 1, force, res["settled"], err, tolerance,
               abs(err) <= tolerance and res["clamped"], transient_peak=res["peak"],
               clamped=res["clamped"], wall_time=res["wall"])


# --------------------------------------------------------------------- cost
@dataclass(frozen=True)
class CostRow:
    """Wall time per simulated second (s/s) of a 1 s world holding one impact, the peak
    error, and the physics steps taken, for one stepping strategy."""

    strategy: str
    time_step: float
    fine_steps: int
    wall_per_sim_s: float
    physics_steps: int
    error: float


def substep_cost(region: str = "hand", m_r: float = 10.0, speed: float = 1.0,
                 coarse_step: float = RECOMMENDED_COARSE_STEP,
                 fine_step: float = RECOMMENDED_FINE_STEP, duration: float = 1.0,
                 repeats: int = 3) -> list[CostRow]:
    """A striker flies ``duration``/2 s towards a free body of ``region`` and strikes it;
    the world runs for ``duration`` s (coarse step alone, fine step alone, sub-stepped).
    Returns the median wall time per simulated second of each (bare two-body worlds: the
    figure is the per-step overhead; in a cell the ratio of physics steps is what
    carries over)."""
    reg = load_body_model().region(region)
    k, m_h = reg.spring_constant, reg.effective_mass
    expected = two_body_peak(speed, reduced_mass(m_h, m_r), k)
    n = max(1, round(coarse_step / fine_step))
    out = []
    for name, h, fine in (("coarse", coarse_step, 1), ("fine", coarse_step / n, 1),
                          ("sub-stepped", coarse_step, n)):
        walls = []
        for _ in range(repeats):
            with Sim(time_step=h, gravity=0.0, solver_iterations=50) as sim:
                body = sim.create_body("body", "box", BODY_HALF_EXTENTS, m_h,
                                       position=(BODY_HALF_EXTENTS[0], 0.0, 0.0))
                gap = 0.5 * duration * speed
                robot = sim.create_body("striker", "sphere", (STRIKER_RADIUS,), m_r,
                                        position=(-STRIKER_RADIUS - gap, 0.0, 0.0))
                _no_losses(sim, body)
                _no_losses(sim, robot)
                springs = spring_between(sim, robot, body, k)
                sim.set_base_velocity(robot, (speed, 0.0, 0.0))
                peak = [0.0]
                sim.add_post_step(lambda: peak.__setitem__(0, max(peak[0], sum(
                    c.normal_force for c in springs.contacts))))
                stepper = SubStepper(sim, robot, body, fine_steps=fine, relative_speed=speed,
                                     margin=0.005, springs=springs)
                t0 = _time.perf_counter()
                stepper.step(int(round(duration / h)))
                walls.append(_time.perf_counter() - t0)
                steps = stepper.stats.physics_steps
        out.append(CostRow(name, h, fine, float(np.median(walls)) / duration, steps,
                           peak[0] / expected - 1.0))
    return out


def format_cost(rows: Sequence[CostRow]) -> str:
    lines = [f"{'strategy':<13}{'step':>10}{'physics steps':>15}{'wall ms/sim s':>15}{'error':>8}"]
    for r in rows:
        step = f"1/{round(1 / r.time_step)}" + (f"÷{r.fine_steps}" if r.fine_steps > 1 else "")
        lines.append(f"{r.strategy:<13}{step:>10}{r.physics_steps:>15}"
                     f"{1000 * r.wall_per_sim_s:>15.1f}{r.error:>+8.1%}")
    return "\n".join(lines)


# --------------------------------------------------------------------- the suite
def validate_pfl(speeds: Sequence[float] = SPEEDS, robot_masses: Sequence[float] = ROBOT_MASSES,
                 time_steps: Sequence[float] = TIME_STEPS, regions: Iterable[str] | None = None,
                 modes: Sequence[str] = ("device", "free"),
                 substep: bool = True, clamp_forces: Sequence[float] = CLAMP_FORCES,
                 coarse_step: float = RECOMMENDED_COARSE_STEP,
                 fine_step: float = RECOMMENDED_FINE_STEP) -> list[Row]:
    """All comparison rows: impacts for every region × m_R × speed × step × mode,
    the same impacts sub-stepped (coarse ``coarse_step``, fine ``fine_step``, starting
    50 ms of free flight away so that the approach runs coarse), and clamping at every
    commanded force and step with both force methods."""
    model = load_body_model()
    chosen = [model.region(r) for r in (regions if regions is not None else model.regions)]
    rows: list[Row] = []
    for mode in modes:
        for region in chosen:
            for m_r in robot_masses:
                for v in speeds:
                    for h in time_steps:
                        rows.append(impact_row(region, m_r, v, h, mode))
                    if substep:
                        n = max(1, round(coarse_step / fine_step))
                        rows.append(impact_row(region, m_r, v, coarse_step, mode,
                                               fine_steps=n, gap=0.05 * v))
    for force in clamp_forces:
        for h in time_steps:
            for method in ("constraint", "external"):
                rows.append(clamp_row(force, h, method))
    failed = [r for r in rows if not r.passed]
    log.info("PFL validation: %d rows, %d outside tolerance", len(rows), len(failed))
    return rows


def _step_label(row: Row) -> str:
    base = f"1/{round(1 / row.time_step)}"
    return base if row.fine_steps == 1 else f"{base}÷{row.fine_steps}"


def format_table(rows: Sequence[Row]) -> str:
    """Text tables: per test and step, the worst error over regions, masses and
    speeds; then per region the worst error at each step; then the clamping rows."""
    out: list[str] = []
    impacts = [r for r in rows if r.test.startswith("impact")]
    clamps = [r for r in rows if r.test.startswith("clamp")]
    groups: dict = {}
    for r in impacts:
        groups.setdefault(r.test, []).append(r)
    for test, grp in groups.items():
        labels = list(dict.fromkeys(_step_label(r) for r in grp))
        out.append(f"{test}  tolerance ±{grp[0].tolerance:.0%}  "
                   f"(simulated/model − 1, worst over m_R {sorted({r.m_r for r in grp})} kg "
                   f"and v {sorted({r.speed for r in grp})} m/s)")
        out.append(f"{'region':<16}{'k N/mm':>8}{'m_H':>6}" + "".join(f"{l:>12}" for l in labels))
        regions = list(dict.fromkeys(r.region for r in grp))
        for reg in regions:
            rr = [r for r in grp if r.region == reg]
            cells = []
            for l in labels:
                errs = [r for r in rr if _step_label(r) == l]
                worst = max(errs, key=lambda r: abs(r.error))
                cells.append(f"{worst.error:+.1%}{'' if worst.passed else '*':<1}")
            out.append(f"{reg:<16}{rr[0].k / 1000:>8.0f}{rr[0].m_h:>6.1f}"
                       + "".join(f"{c:>12}" for c in cells))
        passing = [l for l in labels if all(r.passed for r in grp if _step_label(r) == l)]
        out.append(f"steps meeting ±{grp[0].tolerance:.0%} everywhere: "
                   f"{', '.join(passing) if passing else 'none'}   (* outside tolerance)")
        out.append("")
    if clamps:
        out.append(f"clamping (hand, k 75 N/mm): settled pusher-hand force, "
                   f"tolerance ±{clamps[0].tolerance:.0%}")
        out.append(f"{'method':<18}{'step':>8}{'F_cmd N':>9}{'settled N':>11}{'error':>8}"
                   f"{'peak N':>9}{'clamped':>9}")
        for r in clamps:
            out.append(f"{r.test:<18}{_step_label(r):>8}{r.expected:>9.0f}{r.simulated:>11.1f}"
                       f"{r.error:>+8.1%}{r.transient_peak:>9.1f}{str(r.clamped):>9}")
    return "\n".join(out)


def main() -> None:  # pragma: no cover - manual run
    logging.basicConfig(level=logging.INFO)
    print(format_table(validate_pfl()))
    print()
    print(format_cost(substep_cost()))


if __name__ == "__main__":  # pragma: no cover
    main()
