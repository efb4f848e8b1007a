"""Handover: the robot picks a part and places it into the person's waiting hand.

Phases (``phase_names``), judged from the physical state after every control step:

``approach``  neither the robot nor the person holds the part;
``carry``     the robot holds it (both fingers touch it and it is off the table);
``transfer``  the person's hand has closed on it while the robot still holds it;
``released``  the person holds it and the robot does not touch it: success.

The part falling below the table top ends the episode as a failure (``dropped``).
"""
from __future__ import annotations

import numpy as np

from simulator.human import Handover
from simulator.spec.scenario import ScenarioSpec
from simulator.tasks.base import place_with_jitter

PHASES = ("approach", "carry", "transfer", "released")
LIFT_HEIGHT = 0.02  # m above its resting height before the part counts as carried


class HandoverTask:
    phase_names = PHASES

    def __init__(self, spec: ScenarioSpec, cell) -> None:
        self.spec, self.cell = spec, cell
        self.sim, self.robot, self.human = cell.sim, cell.robot, cell.human
        self.part = cell.bodies[spec.task.part]
        self.part_spec = next(b for b in spec.objects if b.name == spec.task.part)
        motion = spec.human.motion
        self.side = spec.human.handedness if motion.side == "dominant" else motion.side
        # the support surface under the part's start: its centre minus half its height
        half = {"box": lambda s: s[2] / 2.0, "cylinder": lambda s: s[1] / 2.0,
                "sphere": lambda s: s[0]}[self.part_spec.shape](self.part_spec.size)
        self.support_height = self.part_spec.position[2] - half
        self.phase = "approach"
        self.dropped = False

    # ------------------------------------------------------------------ episode
    def reset(self, rng: np.random.Generator) -> None:
        """Place the part and start the person's handover motion, drawing from ``rng``."""
        t = self.spec.task
        self.rest_height = place_with_jitter(self.sim, self.part, self.part_spec, t.part_jitter, rng)
        motion = self.spec.human.motion
        offset = rng.uniform(-1.0, 1.0, size=2) * np.asarray(t.human_jitter)
        point = np.asarray(motion.point) + np.array([offset[0], offset[1], 0.0])
        self.handover_point = point
        self.human.set_program(Handover(point=point, side=self.side,
                                        object_position=self.part_position, object_id=self.part,
                                        wait_timeout=motion.wait_timeout,
                                        close_radius=motion.close_radius, speed=motion.speed,
                                        start_delay=motion.start_delay,
                                        close_time=motion.hold_time))
        self.phase = "approach"
        self.dropped = False

    def part_position(self) -> np.ndarray:
        return self.sim.base_pose(self.part)[0]

    def part_pose(self) -> tuple[np.ndarray, np.ndarray]:
        return self.sim.base_pose(self.part)

    def robot_holds(self) -> bool:
        """Both fingers touch the part."""
        fingers = self.robot.fingers
        touching = {c.link_a for c in self.sim.contacts(self.robot.body, self.part)}
        return bool(fingers) and all(f in touching for f in fingers)

    def held_by_robot(self) -> list[tuple[int, str]]:
        """The bodies the robot holds, as (body id, name): the part while both fingers
        touch it and the person does not hold it."""
        if self.robot_holds() and self.human.holding(self.side) != self.part:
            return [(self.part, self.spec.task.part)]
        return []

    def robot_touches(self) -> bool:
        return bool(self.sim.contacts(self.robot.body, self.part))

    def update(self) -> None:
        """Judge the phase after the physics has advanced."""
        human_holds = self.human.holding(self.side) == self.part
        pos = self.part_position()
        if not human_holds and pos[2] < self.support_height - 0.05:
            self.dropped = True
        if human_holds:
            self.phase = "transfer" if self.robot_touches() else "released"
        elif self.robot_holds() and pos[2] > self.rest_height + LIFT_HEIGHT:
            self.phase = "carry"
        else:
            self.phase = "approach"

    @property
    def success(self) -> bool:
        return self.phase == "released"

    @property
    def phase_index(self) -> int:
        return PHASES.index(self.phase)

    # ------------------------------------------------------------------ reward
    def reward(self, action: np.ndarray) -> tuple[float, dict[str, float]]:
        """Total reward and its named, weighted terms."""
        w = self.spec.task.reward
        part = self.part_position()
        ee, _ = self.robot.ee_pose()
        hand = self.human.link_positions()[self.human.hand_link(self.side)]
        terms = {
            "reach": -w.reach * float(np.linalg.norm(ee - part)) if self.phase == "approach" else 0.0,
            "carry": -w.carry * float(np.linalg.norm(part - hand)) if self.phase == "carry" else 0.0,
            "grasp": w.grasp if self.phase in ("carry", "transfer") else 0.0,
            "success": w.success if self.success else 0.0,
            "action": -w.action * float(np.dot(action, action)),
        }
        return float(sum(terms.values())), terms
