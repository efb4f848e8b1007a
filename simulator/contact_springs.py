"""Robot-person contact as the spring of ISO/TS 15066 Annex A: one spring per touching
pair of links, of the stiffness of the body area under the contact.

Why not Bullet's soft contact. pybullet gives every point of a contact manifold the
link's full ``contactStiffness``, and a manifold holds one to four points: a finger's
edge lying along a forearm, or a flat housing on the chest, collects two to four points
within a few steps, so the same contact was two to four times as stiff as the region's k
and its force jumped whenever a point was added (measured in the cells: a Panda finger
on the forearm read 1.6x Annex A with two points, 410 N against 288 N in the step a third
point appeared). A link's contact stiffness is also one number, so a link carrying two
regions (the back of the chest, the jaw) could only have one of them.

How. Bullet's collision response between the robot's links and the person is switched
off; the shapes stay visible to distance
queries. Before every physics step, for each candidate pair of a robot-side link and a
person link, the exact penetration depth d (``getClosestPoints``, negative distance) gives
the normal force ``F = k·d`` along the contact normal, with k (N/m) the spring constant of
the body area under the person's contact point (``stiffness(link, point)``; Table A.3 by
region). ``F`` pushes the robot link at its contact point and ``−F`` the person's link at
theirs, for that step only (an explicit spring: stable while ``sqrt(k/μ)·h`` stays well
below 2, which the contact sub-stepping of :mod:`simulator.safety.substep` guarantees by
running every step in contact at the fine step). A regularised Coulomb friction acts
tangentially: ``−min(μ_f·F, c·|v_t|)`` along the sliding velocity ``v_t``, with ``c``
bounded by the lighter link's mass over the step. While the spring extends (the two sides
separate) a damper of ratio :data:`UNLOADING_DAMPING` on the lighter link takes energy out,
the hysteresis of soft tissue, so that a pressed limb settles instead of bouncing for ever;
it never acts while the spring is compressed further, so the impact peak, reached at the
deepest compression, is the undamped spring's of Annex A.

Each step's springs are kept as :class:`SpringContact` records (:attr:`ContactSprings.
contacts`), the contact monitor's input: one per touching pair, with the force the step
applied and the approach speed at the start of that step (the state just before the force
acted: at the first step of a contact, the impact speed).

Candidates. Querying every link pair costs about 60 µs; one pair about 5 µs. The owner
names the candidate pairs for the coarse step ahead (:meth:`ContactSprings.watch`, with the
distance the two sides can close in within it), or leaves them to a query of every pair
before each step (the default, for rigs and tests).
"""
from __future__ import annotations

import logging
import math
from typing import Callable, NamedTuple, Sequence

import numpy as np

log = logging.getLogger(__name__)

FRICTION = 0.5          # Coulomb coefficient between robot and skin (dry skin on metal or
                        # plastic is 0.3-0.8); Annex A's model has none, clamping needs some
FRICTION_DAMPING = 0.5  # c·h / m_light: the regularisation of the friction, explicit-stable
UNLOADING_DAMPING = 0.5  # damping ratio while the spring extends (never while it loads)


class SpringContact(NamedTuple):
    """One robot-person contact in one physics step (the fields of
    :class:`simulator.physics.Contact` first, so readers of contacts can take either).

    ``normal`` points from the person (B) towards the robot side (A); ``distance`` is the
    negative penetration depth (m) at the start of the step; ``normal_force`` (N) the
    spring force applied during the step; ``stiffness`` (N/m) and ``area_id`` the body
    area's; ``approach_speed`` (m/s) the relative speed along −normal at the start of the
    step (> 0 approaching); ``friction_force`` (N) the tangential force's magnitude."""

    body_a: int
    body_b: int
    link_a: int
    link_b: int
    position_on_a: tuple
    position_on_b: tuple
    normal: tuple
    distance: float
    normal_force: float
    stiffness: float
    area_id: int
    approach_speed: float
    friction_force: float


class ContactSprings:
    """The springs between one robot and one person (module docstring). Parts the robot
    holds meet the person through Bullet's soft contact (switching their collisions
    per grasp resets the manifold that holds the grip, and the refinement around a carried
    part made the Panda's URDF finger contacts let go of it).

    Args:
        sim: the physics world.
        robot: body id of the robot; its links (base included) are the robot side.
        person: body id of the person; person_links: its link indices (-1: the base).
        stiffness: ``(person_link, world_point) -> (k N/m, area id)``.
        friction: Coulomb coefficient; 0 switches friction off.
    """

    def __init__(self, sim, robot: int, person: int, person_links: Sequence[int],
                 stiffness: Callable[[int, np.ndarray], tuple[float, int]],
                 friction: float = FRICTION) -> None:
        self.sim, self.robot, self.person = sim, int(robot), int(person)
        self.person_links = [int(l) for l in person_links]
        self.stiffness, self.friction = stiffness, float(friction)
        self._mass = {(self.person, l): sim.link_mass(self.person, l) for l in self.person_links}
        self.robot_links = [-1] + list(range(sim.num_joints(self.robot)))
        for link in self.robot_links:
            self._mass[(self.robot, link)] = sim.link_mass(self.robot, link)
        self.sim.set_collisions([(self.robot, a, self.person, b) for a in self.robot_links
                                 for b in self.person_links], False)
        self.candidates: list[tuple[int, int, int]] | None = None  # None: query all pairs
        self.contacts: list[SpringContact] = []
        sim.add_pre_step(self.apply)

    def side_bodies(self) -> list[int]:
        """The robot side's bodies (for distance checks)."""
        return [self.robot]

    # ------------------------------------------------------------------ candidates
    def watch(self, radius: float | None) -> None:
        """Name the candidate pairs for the steps ahead: every robot-side/person link pair
        closer than ``radius`` (m) now; ``radius=None``: query every pair before each step;
        ``0``: none (nothing can touch)."""
        if radius is None:
            self.candidates = None
        elif radius <= 0.0:
            self.candidates = []
        else:
            self.candidates = self._pairs_within(radius)

    def _pairs_within(self, radius: float) -> list[tuple[int, int, int]]:
        pairs = set()
        for c in self.sim.closest_points(self.robot, self.person, radius):
            pairs.add((self.robot, c.link_a, c.link_b))
        return sorted(pairs)

    # ------------------------------------------------------------------ per step
    def apply(self) -> None:
        """Before a physics step: the spring and friction forces of every touching pair."""
        self.contacts = []
        pairs = self.candidates if self.candidates is not None else self._pairs_within(0.0)
        h = self.sim.time_step
        touching = []
        for body, link_a, link_b in pairs:
            rows = self.sim.closest_points(body, self.person, 0.0, link_a=link_a, link_b=link_b)
            deepest = min(rows, key=lambda c: c.distance, default=None)
            if deepest is not None and deepest.distance < 0.0:
                touching.append((body, deepest))
        shared: dict[int, int] = {}
        for _, c in touching:
            shared[c.link_b] = shared.get(c.link_b, 0) + 1
        for body, c in touching:
            self.contacts.append(self._push(body, c, h, shared[c.link_b]))

    def _push(self, body: int, c, h: float, sharing: int) -> SpringContact:
        """The spring of one pair; ``sharing`` robot-side links touch the same person link
        in this step and share its spring (springs in parallel, k/sharing each), so that
        two fingers on a forearm meet the forearm's k, not twice it."""
        sim = self.sim
        n = np.asarray(c.normal, float)
        on_a, on_b = np.asarray(c.position_on_a, float), np.asarray(c.position_on_b, float)
        k, area = self.stiffness(c.link_b, on_b)
        k = k / sharing
        relative = (sim.point_velocity(body, c.link_a, on_a)
                    - sim.point_velocity(self.person, c.link_b, on_b))
        approach = -float(relative @ n)
        masses = [m for m in (self._mass[(body, c.link_a)], self._mass[(self.person, c.link_b)])
                  if m > 0.0]
        light = min(masses) if masses else 0.0
        force = k * -c.distance
        if approach < 0.0 and light > 0.0:   # unloading: the tissue's hysteresis
            force = max(0.0, force + UNLOADING_DAMPING * 2.0 * math.sqrt(k * light) * approach)
        total = force * n
        friction = 0.0
        if self.friction > 0.0:
            sliding = relative + approach * n          # tangential part
            speed = float(np.linalg.norm(sliding))
            if speed > 1e-9 and light > 0.0:
                friction = min(self.friction * force, FRICTION_DAMPING * light / h * speed)
                total = total - friction * sliding / speed
        sim.apply_external_force(body, c.link_a, total, on_a)
        sim.apply_external_force(self.person, c.link_b, -total, on_b)
        return SpringContact(body, self.person, c.link_a, c.link_b, tuple(on_a), tuple(on_b),
                             tuple(n), float(c.distance), float(force), float(k), int(area),
                             approach, float(friction))
