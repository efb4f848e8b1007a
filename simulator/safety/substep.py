"""Contact sub-stepping: fine physics steps only while a robot-human contact is imminent
or ongoing, the coarse step everywhere else.

Why. The robot-person contact is an explicit spring (:mod:`simulator.contact_springs`):
its force in a step comes from the penetration at the start of the step. That is accurate
and stable while ω·h, with ω = sqrt(k/μ) the contact's natural frequency (k the region's
spring constant, μ the two-body reduced mass) and h the step, stays small: the peak of a
free impact is within 1 % of v·sqrt(μk) at ω·h ≤ 0.4 and the spring is unstable beyond
ω·h = 2 (:mod:`simulator.safety.validation` measures it). A hand (75 N/mm) struck by a 5 kg
arm has ω = 374 rad/s: ω·h = 1.6 at 1/240 s (the peak 52 % high), 0.08 at 1/4800 s.
Running the whole cell at such a step costs ten to twenty times the wall time;
sub-stepping pays it only around contacts. (Bullet's own soft contact, which the cells
used before, is implicit: it never diverges but damps the impact numerically, 14-67 % low
at 1/240 s, and gives every point of a contact manifold the full stiffness.)

How. :meth:`SubStepper.step` advances the world by one coarse step. Before it, one cheap
``getClosestPoints`` query between the robot and the human with radius

    r = v_rel · dt_coarse · safety + margin

tells whether a contact can start within this coarse step (``v_rel`` a bound on the
relative speed, a number or a callable). If any point is within ``r`` (contact ongoing or
imminent) the coarse step is run as ``fine_steps`` physics steps of ``dt_coarse /
fine_steps``; otherwise as one step of ``dt_coarse``. The link pairs found within ``r`` are
the contact springs' candidates for the coarse step. Step callbacks of the
:class:`~simulator.physics.Sim` (drives, springs, contact monitors) run on every physics
step, fine or coarse, and the clock ends each coarse step on the same multiple of
``dt_coarse`` (up to rounding) either way.

A contact that has lasted ``max_fine_duration`` seconds may go back to coarse steps
(default: off; it must stay off with the explicit springs). The step changes only at
coarse-step boundaries. :meth:`Sim.set_time_step` sets every constraint's ``maxForce``
again, because pybullet stores it as an impulse bound computed with the step in force
when it was set (a 100 N bound set at 1/240 s holds 2000 N at 1/4800 s otherwise); joint
motors driven by position or velocity control have the same trait and must be commanded
again after a change.

Cost (bare two-body world, hand struck at 1 m/s, 1 s simulated, see
:func:`simulator.safety.validation.substep_cost`): 1/240 s alone 240 physics steps;
1/4800 s everywhere 4800 steps; sub-stepped 1/240 s ÷ 20 about 410 steps.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

log = logging.getLogger(__name__)

#: Largest ω·h of the fine step: the explicit spring's peak is then within about 0.1 %.
DEFAULT_OMEGA_H = 0.1


def contact_omega(stiffness: float, mass_a: float, mass_b: float | None = None) -> float:
    """Natural frequency sqrt(k/μ) (rad/s) of a contact of stiffness ``stiffness`` (N/m)
    between masses ``mass_a`` and ``mass_b`` (kg; ``None``: fixed, μ = mass_a)."""
    mu = mass_a if mass_b is None else 1.0 / (1.0 / mass_a + 1.0 / mass_b)
    return math.sqrt(stiffness / mu)


def fine_steps_for(dt_coarse: float, omega: float, omega_h: float = DEFAULT_OMEGA_H) -> int:
    """Number of fine steps per coarse step so that ``omega · dt_fine <= omega_h``."""
    return max(1, math.ceil(omega * dt_coarse / omega_h - 1e-9))


@dataclass
class SubStepStats:
    """What a :class:`SubStepper` did: coarse steps taken as one step or as fine steps,
    physics steps in all, and the simulated time spent in fine steps (s)."""

    coarse: int = 0
    refined: int = 0
    physics_steps: int = 0
    fine_time: float = 0.0
    checks: int = 0


@dataclass
class SubStepper:
    """Advance a :class:`~simulator.physics.Sim` by coarse steps, refining around contacts.

    Args:
        sim: the world; its current ``time_step`` is taken as the coarse step unless
            ``dt_coarse`` is given.
        robot: body id(s) of the robot; human: body id(s) of the person. Distances are
            checked between every robot body and every human body.
        fine_steps: physics steps per coarse step while a contact is imminent or ongoing
            (see :func:`fine_steps_for`); 1 disables sub-stepping.
        relative_speed: a bound on the robot-human closing speed (m/s), or a callable
            returning the current bound (called once per coarse step).
        safety: factor on ``relative_speed · dt_coarse`` (> 1 covers acceleration within
            the step).
        margin: added to the query radius (m).
        max_fine_duration: after a contact has lasted this long (s), coarse steps resume
            although it is ongoing (a quasi-static, e.g. clamping, contact); ``None``:
            stay fine while in contact (needed with ``springs``: an explicit spring is
            stable only at the fine step).
        springs: the :class:`~simulator.contact_springs.ContactSprings` between the two
            sides, told before every coarse step which link pairs can touch within it
            (those the distance query found within its radius).
    """

    sim: object
    robot: int | Sequence[int]
    human: int | Sequence[int]
    fine_steps: int = 10
    relative_speed: float | Callable[[], float] = 2.5
    safety: float = 2.0
    margin: float = 0.01
    dt_coarse: float | None = None
    max_fine_duration: float | None = None
    springs: object = None
    stats: SubStepStats = field(default_factory=SubStepStats)

    def __post_init__(self) -> None:
        self.robot = _ids(self.robot)
        self.human = _ids(self.human)
        if self.dt_coarse is None:
            self.dt_coarse = float(self.sim.time_step)
        if int(self.fine_steps) < 1:
            raise ValueError(f"fine_steps must be >= 1, got {self.fine_steps!r}")
        self.fine_steps = int(self.fine_steps)
        self.dt_fine = self.dt_coarse / self.fine_steps
        self._contact_since: float | None = None
        self.sim.set_time_step(self.dt_coarse)

    # ---------------------------------------------------------------- the check
    def query_radius(self) -> float:
        v = self.relative_speed() if callable(self.relative_speed) else self.relative_speed
        return max(0.0, float(v)) * self.dt_coarse * self.safety + self.margin

    def closest_distance(self, radius: float) -> float:
        """Smallest robot-human distance within ``radius`` (m; negative = penetration),
        ``inf`` when nothing is that close."""
        best, pairs = math.inf, set()
        for a in self.robot:
            for b in self.human:
                for c in self.sim.closest_points(a, b, radius):
                    best = min(best, c.distance)
                    pairs.add((a, c.link_a, c.link_b))
        if self.springs is not None:
            self.springs.candidates = sorted(pairs)
        return best

    def needs_fine(self) -> bool:
        """Whether the next coarse step must be refined (one distance query)."""
        if self.fine_steps == 1:
            if self.springs is not None:
                self.springs.watch(None)  # every pair, every step
            return False
        self.stats.checks += 1
        d = self.closest_distance(self.query_radius())
        now = self.sim.time
        if d <= 0.0:
            if self._contact_since is None:
                self._contact_since = now
            if (self.max_fine_duration is not None
                    and now - self._contact_since >= self.max_fine_duration):
                return False
            return True
        self._contact_since = None
        return d < math.inf

    # ---------------------------------------------------------------- stepping
    def step(self, n: int = 1) -> int:
        """Advance ``n`` coarse steps; returns how many of them were refined."""
        refined = 0
        for _ in range(int(n)):
            if self.needs_fine():
                self.sim.set_time_step(self.dt_fine)
                self.sim.step(self.fine_steps)
                self.sim.set_time_step(self.dt_coarse)
                self.stats.physics_steps += self.fine_steps
                self.stats.fine_time += self.dt_coarse
                self.stats.refined += 1
                refined += 1
            else:
                self.sim.step(1)
                self.stats.physics_steps += 1
            self.stats.coarse += 1
        return refined


def _ids(bodies) -> tuple[int, ...]:
    if isinstance(bodies, int):
        return (bodies,)
    return tuple(int(b) for b in bodies)
