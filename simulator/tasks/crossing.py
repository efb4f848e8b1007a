"""Crossing: the robot moves a part between two stations while a person walks through
the cell on a path crossing its reach (the speed and separation monitoring case).

The person (program ``walk``: :class:`simulator.human.work.Delayed` around
:class:`simulator.human.motion.Walk`) stands for a seeded wait drawn from
``task.human_interval`` and then walks ``human.motion.path`` at ``human.motion.speed``
(or the person's ``gait_speed``); or, with program ``clip``, replays a motion-capture clip
(``human.motion.clip``, e.g. someone walking through) after the same wait. The robot picks the part at its start station and sets
it down at ``task.goal`` on the other one.

Phases: ``approach``, ``carry``, ``placed`` (as in :class:`simulator.tasks.base.PlaceTask`).
Success: ``placed`` without any robot-person contact. Reward terms: the common ones
(:meth:`simulator.tasks.base.WorkTask.base_terms`).
"""
from __future__ import annotations

import numpy as np

from simulator.human.motion import Walk
from simulator.human.work import Delayed
from simulator.tasks.base import PlaceTask


class CrossingTask(PlaceTask):
    def reset(self, rng: np.random.Generator) -> None:
        """Place the part and draw when the person starts walking."""
        self.place_part(rng)
        motion = self.spec.human.motion
        self.walk_delay = self.draw_wait(rng)
        if motion.program == "clip":  # a motion-capture clip, path relative to the scenario
            from simulator.human.person import program_from_spec
            program = program_from_spec(motion, self.human, rng,
                                        getattr(self.cell, "scenario_file", None))
        else:
            program = Walk(motion.path, speed=motion.speed)
        self.human.set_program(Delayed(program, self.walk_delay))
