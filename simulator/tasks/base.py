"""What the work tasks share: the part, grasp tests for fingers and suction, placing at a
goal, robot-person contact bookkeeping and the reward terms.

World frame, positions in m, forces in N, times in s. A task is judged from the physical
state after every control step (:meth:`WorkTask.update`); the env reads ``phase``,
``phase_index``, ``success``, ``dropped``, :meth:`reward`, :meth:`part_pose` and
:meth:`held_by_robot`.

Every work task fails (``success`` stays false) once the robot has touched the person:
these cells are about close work next to people, and an episode with a robot-person
contact is not a good run even if the part arrived (the contact monitor reports its
forces; ``person_contact`` says whether it happened).
"""
from __future__ import annotations

import numpy as np

from simulator.errors import ConfigError
from simulator.spec.scenario import ScenarioSpec

LIFT_HEIGHT = 0.02     # m above its resting height before a held part counts as carried
DROP_DEPTH = 0.05      # m below its support before a part counts as dropped
REST_SPEED = 0.05      # m/s: a part slower than this is at rest


def half_height(body) -> float:
    """Half the z extent (m) of a BodySpec at rest (upright)."""
    return {"box": lambda s: s[2] / 2.0, "cylinder": lambda s: s[1] / 2.0,
            "sphere": lambda s: s[0]}[body.shape](body.size)


def top_of(spec: ScenarioSpec, name: str) -> float:
    """Height (m) of the top face of the fixture or object ``name`` in its start pose."""
    body = next(b for b in spec.fixtures + spec.objects if b.name == name)
    return body.position[2] + half_height(body)


def place_with_jitter(sim, body: int, body_spec, jitter, rng: np.random.Generator) -> float:
    """Put ``body`` at its spec's start pose plus a seeded x, y offset uniform in
    ±``jitter`` (m; two draws from ``rng``); returns the start height z (m)."""
    offset = rng.uniform(-1.0, 1.0, size=2) * np.asarray(jitter)
    x, y, z = body_spec.position
    yaw = np.deg2rad(body_spec.yaw_deg)
    sim.reset_base_pose(body, (x + offset[0], y + offset[1], z),
                        sim.quaternion_from_euler((0.0, 0.0, yaw)))
    return z


class WorkTask:
    """Base of the work tasks (not a task kind itself)."""

    phase_names: tuple[str, ...] = ()

    def __init__(self, spec: ScenarioSpec, cell) -> None:
        self.spec, self.cell = spec, cell
        self.sim, self.robot, self.human = cell.sim, cell.robot, cell.human
        self.part = cell.bodies[spec.task.part]
        self.part_spec = next(b for b in spec.objects if b.name == spec.task.part)
        motion = spec.human.motion
        self.side = spec.human.handedness if motion.side == "dominant" else motion.side
        self.support_height = self.part_spec.position[2] - half_height(self.part_spec)
        self.goal = None if spec.task.goal is None else np.asarray(spec.task.goal, float)
        # the lowest surface the part belongs on: its start support or the goal's
        self.lowest_support = self.support_height if self.goal is None else min(
            self.support_height, self.goal[2] - half_height(self.part_spec))
        self.phase = self.phase_names[0]
        self.dropped = False
        self.person_contact = False

    def need_point(self) -> np.ndarray:
        """``human.motion.point``; a ConfigError without one."""
        point = self.spec.human.motion.point
        if point is None:
            raise ConfigError(f"scenario {self.spec.id!r}: a {self.spec.task.kind} task needs "
                              f"human.motion.point")
        return np.asarray(point, float)

    # ------------------------------------------------------------------ episode
    def place_part(self, rng: np.random.Generator) -> None:
        """Put the part at its start pose plus the seeded ``task.part_jitter`` (x, y)."""
        self.rest_height = place_with_jitter(self.sim, self.part, self.part_spec,
                                             self.spec.task.part_jitter, rng)
        self.phase = self.phase_names[0]
        self.dropped = False
        self.person_contact = False

    def draw_wait(self, rng: np.random.Generator) -> float:
        """A seeded wait (s) drawn uniformly from ``task.human_interval``."""
        lo, hi = self.spec.task.human_interval
        return float(rng.uniform(lo, hi)) if hi > lo else float(lo)

    # ------------------------------------------------------------------ state
    def part_position(self) -> np.ndarray:
        return self.sim.base_pose(self.part)[0]

    def part_pose(self) -> tuple[np.ndarray, np.ndarray]:
        return self.sim.base_pose(self.part)

    def robot_touches(self, body: int | None = None) -> bool:
        """The robot (any link) touches ``body`` (default: the part), or its suction cup
        holds it."""
        body = self.part if body is None else body
        return bool(self.sim.contacts(self.robot.body, body)) or body in self.robot.attached()

    def robot_holds(self, body: int | None = None) -> bool:
        """The robot grips ``body`` (default: the part): both fingers touch it, or the
        suction cup holds it."""
        body = self.part if body is None else body
        if self.robot.suction:
            return body in self.robot.attached()
        fingers = self.robot.fingers
        touching = {c.link_a for c in self.sim.contacts(self.robot.body, body)}
        return bool(fingers) and all(f in touching for f in fingers)

    def held_by_robot(self) -> list[tuple[int, str]]:
        """The bodies the robot carries, as (body id, name), for the payload of the
        contact monitor."""
        if self.robot_holds() and self.human.holding(self.side) != self.part:
            return [(self.part, self.spec.task.part)]
        return []

    def at_goal(self) -> bool:
        """The part's centre is within ``task.goal_tolerance`` of the goal and at rest."""
        if self.goal is None:
            return False
        close = np.linalg.norm(self.part_position() - self.goal) <= self.spec.task.goal_tolerance
        speed = np.linalg.norm(self.sim.base_velocity(self.part)[0])
        return bool(close and speed < REST_SPEED)

    def carried(self) -> bool:
        """The robot holds the part and has lifted it: it is above its start height or
        touches nothing but the robot."""
        if not self.robot_holds():
            return False
        if self.part_position()[2] > self.rest_height + LIFT_HEIGHT:
            return True
        return all(c.body_b == self.robot.body for c in self.sim.contacts(self.part))

    def check_safety(self) -> None:
        """Remember a robot-person contact and a part fallen below both its start support
        and its goal's (``DROP_DEPTH`` m under the lower one), held by nobody."""
        if self.cell.springs.contacts:
            self.person_contact = True
        if (self.human.holding(self.side) != self.part and not self.robot_holds()
                and self.part_position()[2] < self.lowest_support - DROP_DEPTH):
            self.dropped = True

    @property
    def phase_index(self) -> int:
        return self.phase_names.index(self.phase)

    @property
    def done(self) -> bool:
        """The task's own goal is reached (``success`` adds the contact rule)."""
        return self.phase == self.phase_names[-1]

    @property
    def success(self) -> bool:
        return self.done and not self.person_contact

    # ------------------------------------------------------------------ reward
    def base_terms(self, action: np.ndarray) -> dict[str, float]:
        """The terms every work task reports: reach (-|TCP - part| before the grasp), carry
        (-|part - goal| while carried), grasp (while carried), success and action."""
        w = self.spec.task.reward
        part = self.part_position()
        ee, _ = self.robot.ee_pose()
        carrying = self.phase == "carry"
        return {
            "reach": -w.reach * float(np.linalg.norm(ee - part)) if self.phase == "approach" else 0.0,
            "carry": (-w.carry * float(np.linalg.norm(part - self.goal))
                      if carrying and self.goal is not None else 0.0),
            "grasp": w.grasp if carrying else 0.0,
            "success": w.success if self.success else 0.0,
            "action": -w.action * float(np.dot(action, action)),
        }

    def reward(self, action: np.ndarray) -> tuple[float, dict[str, float]]:
        """Total reward and its named, weighted terms."""
        terms = self.terms(action)
        return float(sum(terms.values())), terms

    def terms(self, action: np.ndarray) -> dict[str, float]:
        return self.base_terms(action)


class PlaceTask(WorkTask):
    """Pick the part and set it down at ``task.goal``: ``approach -> carry -> placed``.

    ``placed``: the part rests within ``goal_tolerance`` of the goal and the robot does
    not touch it. Subclasses add the person's program and their own rules.
    """

    phase_names = ("approach", "carry", "placed")

    def judge_place(self) -> None:
        """Set the phase from the state (call once per control step)."""
        self.check_safety()
        if self.at_goal() and not self.robot_touches():
            self.phase = "placed"
        elif self.carried():
            self.phase = "carry"
        else:
            self.phase = "approach"

    def update(self) -> None:
        self.judge_place()
