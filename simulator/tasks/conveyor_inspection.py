"""Conveyor inspection: the robot picks parts off a running conveyor while the person
reaches in to take away a rejected part.

The belt is the fixture ``task.belt``: before every physics step each free body resting on
it (in contact with it, not touched by the robot, not held by the person) gets the belt's
surface velocity ``task.belt_velocity`` (x, y in m/s, world; its own z velocity is kept,
its rotation stopped), a kinematic belt. The robot picks the part (``task.part``) from the
moving belt and sets it down at ``task.goal`` (a tray). The person (program
``remove_reject``, :class:`simulator.human.work.RemoveReject`) waits a seeded time drawn
from ``task.human_interval``, then reaches for the rejected part ``task.reject`` on the
belt, takes it and holds it at ``human.motion.point``. Both parts start at their
positions plus the seeded ``task.part_jitter``.

Phases: ``approach``, ``carry``, ``placed`` (as in :class:`simulator.tasks.base.PlaceTask`).
Success: ``placed`` without any robot-person contact. Reward terms: the common ones
(:meth:`simulator.tasks.base.WorkTask.base_terms`).
"""
from __future__ import annotations

import numpy as np

from simulator.human.work import RemoveReject
from simulator.tasks.base import PlaceTask


class ConveyorInspectionTask(PlaceTask):
    def __init__(self, spec, cell) -> None:
        super().__init__(spec, cell)
        t = spec.task
        self.belt = cell.bodies[t.belt]
        self.reject = cell.bodies[t.reject]
        self.reject_spec = next(b for b in spec.objects if b.name == t.reject)
        self.belt_velocity = np.array([*t.belt_velocity, 0.0])
        self.sim.add_pre_step(self._drive_belt)  # the world is rebuilt with a new task

    def reset(self, rng: np.random.Generator) -> None:
        """Place both parts and draw when the person reaches for the reject."""
        self.place_part(rng)
        jitter = rng.uniform(-1.0, 1.0, size=2) * np.asarray(self.spec.task.part_jitter)
        x, y, z = self.reject_spec.position
        self.sim.reset_base_pose(self.reject, (x + jitter[0], y + jitter[1], z),
                                 self.sim.quaternion_from_euler((0.0, 0.0, np.deg2rad(
                                     self.reject_spec.yaw_deg))))
        motion = self.spec.human.motion
        self.program = RemoveReject(lambda: self.sim.base_pose(self.reject)[0], self.reject,
                                    self.side, self.need_point(), delay=self.draw_wait(rng),
                                    speed=motion.speed)
        self.human.set_program(self.program)

    def _drive_belt(self) -> None:
        """Before a physics step: carry the bodies resting on the belt at its velocity."""
        riders = {c.body_b for c in self.sim.contacts(self.belt)} - {
            self.robot.body, self.human.body_id}
        held = {self.human.holding(s) for s in ("left", "right")} | set(self.robot.attached())
        for body in sorted(riders):
            if body in held or self.sim.contacts(self.robot.body, body):
                continue
            vz = self.sim.base_velocity(body)[0][2]
            self.sim.set_base_velocity(body, (self.belt_velocity[0], self.belt_velocity[1], vz))
