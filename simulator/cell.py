"""A collaboration cell: the physics world with its robot, person, fixtures and parts.

The cell builds everything a :class:`~simulator.spec.scenario.ScenarioSpec` describes. A
reset empties the world and builds it again (about 40 ms), which makes every episode with
the same seed bit-identical, the first one included; nothing is nudged into place.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from simulator.bodymodel import load_body_model
from simulator.contact_springs import ContactSprings
from simulator.human.person import build_human
from simulator.kinematics import quat_to_matrix
from simulator.physics import Sim
from simulator.safety.areas import AreaMap
from simulator.robot import Robot
from simulator.spec.robot import RobotSpec
from simulator.spec.scenario import BodySpec, ScenarioSpec


def _shape_size(body: BodySpec) -> tuple[float, ...]:
    """Convert authoring sizes (full box extents) to the facade's (half extents)."""
    if body.shape == "box":
        return tuple(s / 2.0 for s in body.size)
    return body.size


class Cell:
    """Everything physical in one scenario.

    Attributes:
        sim: the physics world (owned: :meth:`close` disconnects it).
        robot: the arm.
        human: the person.
        springs: the robot-person contact springs (:mod:`simulator.contact_springs`).
        bodies: fixture and object ids by name.
    """

    def __init__(self, spec: ScenarioSpec, robot_spec: RobotSpec, robot_folder: Path,
                 gui: bool = False) -> None:
        self.spec, self._robot_spec, self._robot_folder = spec, robot_spec, Path(robot_folder)
        self.human_spec = spec.human  # the person of the episode (see rebuild)
        phys = spec.physics
        self.sim = Sim(time_step=phys.time_step, gravity=phys.gravity, gui=gui,
                       solver_iterations=phys.solver_iterations)
        self._build()

    def _build(self) -> None:
        spec = self.spec
        self.floor = self.sim.load_urdf("floor", "plane.urdf", fixed_base=True)
        self.bodies: dict[str, int] = {}
        for body in spec.fixtures + spec.objects:
            self.bodies[body.name] = self._create(body)
        placement = spec.robot
        self.robot = Robot(self.sim, self._robot_spec, self._robot_folder, "robot",
                           placement.position, math.radians(placement.yaw_deg))
        self.robot.reset()
        self.human = build_human(self.sim, self.human_spec, "human", robot_body=self.robot.body)
        self.springs = area_springs(self.sim, self.robot, self.human)
        self.fixed_bodies = [self.floor] + [self.bodies[b.name] for b in spec.fixtures]

    def rebuild(self, human=None) -> None:
        """Empty the world and build the scenario again (the start of every episode), with
        the person ``human`` (a HumanSpec drawn for the episode, see
        :func:`simulator.human.person.draw_person`; None: the last one). ``spec.human`` is
        then that person, so tasks see who is there."""
        if human is not None and human != self.human_spec:
            from dataclasses import replace
            self.human_spec = human
            self.spec = replace(self.spec, human=human)
        self.sim.reset_world()
        self._build()

    def _create(self, body: BodySpec) -> int:
        quat = self.sim.quaternion_from_euler((0.0, 0.0, math.radians(body.yaw_deg)))
        bid = self.sim.create_body(body.name, body.shape, _shape_size(body), body.mass,
                                   body.position, quat, body.color)
        self.sim.change_dynamics(bid, -1, lateralFriction=body.friction)
        return bid

    def close(self) -> None:
        self.sim.close()


def area_springs(sim: Sim, robot, human) -> ContactSprings:
    """The contact springs between ``robot`` and ``human``: each contact meets the spring
    constant (Table A.3) of the region of the body area nearest to its point on the person
    (:class:`simulator.safety.areas.AreaMap`), so the back of the chest is as stiff as the
    back (35 N/mm) and its front as the chest (25 N/mm), the jaw as the face."""
    areas, model = AreaMap(human), load_body_model()
    spring = {a.id: model.region(a.region_id).spring_constant for a in model.areas.values()}

    def stiffness(link: int, point) -> tuple[float, int]:
        pos, orn = sim.link_state(human.body_id, link)
        local = quat_to_matrix(orn).T @ (np.asarray(point, float) - pos)
        area = areas.nearest(link, local)[0]
        return spring[area], area

    return ContactSprings(sim, robot.body, human.body_id, [l.index for l in human.links],
                          stiffness)
