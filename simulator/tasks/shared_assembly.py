"""Shared assembly: robot and person take turns placing parts into one fixture.

The person (program ``assemble``, :class:`simulator.human.work.Assemble`) reaches into the
shared zone (``task.zone_lower`` .. ``task.zone_upper``, world, m) to place a part of their
own at ``human.motion.point``: the first time after a seeded wait drawn from
``task.human_interval``, then again after ``task.turn_time`` plus a seeded extra of up to
the width of that interval, ``TURNS`` times in all. The robot picks its part and places it
at ``task.goal`` on the fixture, entering the zone only while the person's hand is out.

Phases: ``approach`` (the robot does not carry the part), ``carry`` (it holds it lifted),
``placed`` (the part rests within ``goal_tolerance`` of the goal, untouched by the robot).

Success: ``placed``, no robot-person contact and no turn conflict (a control step at which
both the robot's TCP and the person's hand are inside the shared zone). Reward terms: the
common ones (:meth:`simulator.tasks.base.WorkTask.base_terms`) plus ``conflict``
(``-reward.conflict`` per step of a turn conflict).
"""
from __future__ import annotations

import numpy as np

from simulator.human.work import Assemble
from simulator.tasks.base import PlaceTask

TURNS = 3  # reaches of the person per episode


class SharedAssemblyTask(PlaceTask):
    def __init__(self, spec, cell) -> None:
        super().__init__(spec, cell)
        t = spec.task
        self.zone = (np.asarray(t.zone_lower, float), np.asarray(t.zone_upper, float))
        self.conflicts = 0
        self.conflict = False

    def reset(self, rng: np.random.Generator) -> None:
        """Place the part and draw the person's pauses from ``rng``."""
        self.place_part(rng)
        t, motion = self.spec.task, self.spec.human.motion
        width = t.human_interval[1] - t.human_interval[0]
        pauses = [self.draw_wait(rng)] + [t.turn_time + float(rng.uniform(0.0, width))
                                          for _ in range(TURNS - 1)]
        self.program = Assemble(self.need_point(), self.side, pauses,
                                hold_time=motion.hold_time, speed=motion.speed)
        self.human.set_program(self.program)
        self.conflicts, self.conflict = 0, False

    def in_zone(self, point) -> bool:
        """``point`` (world, m) lies inside the shared zone."""
        lo, hi = self.zone
        return bool(np.all(point >= lo) and np.all(point <= hi))

    def update(self) -> None:
        self.judge_place()
        hand = self.human.palm_position(self.side)
        self.conflict = self.in_zone(self.robot.ee_pose()[0]) and self.in_zone(hand)
        self.conflicts += int(self.conflict)

    @property
    def success(self) -> bool:
        return self.done and not self.person_contact and self.conflicts == 0

    def terms(self, action: np.ndarray) -> dict[str, float]:
        terms = self.base_terms(action)
        terms["conflict"] = -self.spec.task.reward.conflict if self.conflict else 0.0
        return terms
