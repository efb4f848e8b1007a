"""Clamping: the robot presses a part into a fixture while the person's hand steadies the
work next to it (the quasi-static contact case of ISO/TS 15066).

The person (program ``steady``, :class:`simulator.human.work.Steady`) rests the palm at
``human.motion.point`` beside the fixture ``task.fixture`` after ``human.motion.start_delay``
s, with a small seeded tremor. The robot picks the part, sets it onto the fixture at
``task.goal`` and presses it down: the press force is the summed normal force (N) of the
part-fixture contacts at the last physics step of each control step.

Phases: ``approach``, ``carry`` (held and lifted), ``press`` (the part is on the fixture
and the robot touches it), ``clamped`` (the force has stayed within ``task.press_force``
[minimum, maximum] for ``task.press_time`` s in total, then the robot let go and the part
rests at the goal).

Success: ``clamped``, the force never above the maximum and no robot-person contact.
Reward terms: the common ones plus ``progress`` (``reward.progress`` per step while the
force is within bounds) and ``conflict`` (``-reward.conflict`` per step above the maximum).
"""
from __future__ import annotations

import numpy as np

from simulator.human.work import Steady
from simulator.tasks.base import WorkTask

TREMOR = 0.003  # m, amplitude of the steadying hand's tremor


class ClampingTask(WorkTask):
    phase_names = ("approach", "carry", "press", "clamped")

    def __init__(self, spec, cell) -> None:
        super().__init__(spec, cell)
        self.fixture = cell.bodies[spec.task.fixture]
        self.dt = spec.physics.substeps * spec.physics.time_step
        self._clear()

    def _clear(self) -> None:
        self.force, self.max_force, self.pressed_time = 0.0, 0.0, 0.0
        self.over_force = False
        self.in_bounds = False

    def reset(self, rng: np.random.Generator) -> None:
        """Place the part and start the steadying hand (tremor phases from ``rng``)."""
        self.place_part(rng)
        motion = self.spec.human.motion
        self.human.set_program(Steady(self.need_point(), self.side, delay=motion.start_delay,
                                      speed=motion.speed, tremor=TREMOR,
                                      phases=rng.uniform(0.0, 2 * np.pi, size=2)))
        self._clear()

    def press_force(self) -> float:
        """Summed normal force (N) between the part and the fixture, last physics step."""
        return float(sum(c.normal_force for c in self.sim.contacts(self.part, self.fixture)))

    def update(self) -> None:
        self.check_safety()
        lo, hi = self.spec.task.press_force
        self.force = self.press_force()
        self.max_force = max(self.max_force, self.force)
        self.over_force |= self.force > hi
        self.in_bounds = lo <= self.force <= hi
        if self.in_bounds:
            self.pressed_time += self.dt
        near = (np.linalg.norm(self.part_position() - self.goal) <= self.spec.task.goal_tolerance)
        touching = self.robot_touches()
        if (self.pressed_time >= self.spec.task.press_time and self.at_goal()
                and not touching):
            self.phase = "clamped"
        elif near and touching:
            self.phase = "press"
        elif self.carried():
            self.phase = "carry"
        else:
            self.phase = "approach"

    @property
    def success(self) -> bool:
        return self.done and not self.person_contact and not self.over_force

    def terms(self, action: np.ndarray) -> dict[str, float]:
        w = self.spec.task.reward
        terms = self.base_terms(action)
        terms["progress"] = w.progress if self.in_bounds else 0.0
        terms["conflict"] = -w.conflict if self.force > self.spec.task.press_force[1] else 0.0
        return terms
