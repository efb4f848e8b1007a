"""Co-manipulation: the person holds a workpiece while the robot screws on it (close,
intended contact with the workpiece, never with the person).

The part (``task.part``) is the workpiece. The person (program ``hold_workpiece``,
:class:`simulator.human.work.HoldWorkpiece`) reaches for it after
``human.motion.start_delay`` s, grasps it at ``human.motion.point`` (world, m, for the
workpiece's start pose; it moves with the seeded start), lifts it by
``LIFT`` m, holds it still until every screw point is done, sets it down and lets go.
The screw points are ``task.tool_points`` (m, in the workpiece's frame). A point is
screwed once the robot's contact force on the workpiece within ``task.point_tolerance``
of it has stayed within ``task.press_force`` [minimum, maximum] for ``task.press_time``
s in total while the robot's TCP (the tool point) is within ``task.point_tolerance`` of the
point (the summed normal force of all robot-workpiece contacts at the last physics step of
each control step).

Phases: ``wait`` (the person is not yet holding the workpiece), ``screw_1`` ..
``screw_n`` (working on that point), ``done`` (all points screwed and the robot does not
touch the workpiece); in between, ``clear`` (all points screwed, the robot still on the
workpiece).

Success: ``done``, the force never above the maximum, no robot-person contact and the
workpiece not dropped. Reward terms: the common ones, with ``reach`` the distance from the
TCP to the current screw point, plus ``progress`` (``reward.progress`` per step while a
point is being screwed within bounds, and ``10 * reward.progress`` when it is finished)
and ``conflict`` (``-reward.conflict`` per step above the maximum force).
"""
from __future__ import annotations

import numpy as np

from simulator.human.work import HoldWorkpiece
from simulator.tasks.base import WorkTask

LIFT = 0.0  # m the person lifts the workpiece off its stand


class CoManipulationTask(WorkTask):
    def __init__(self, spec, cell) -> None:
        self.points = np.asarray(spec.task.tool_points, float).reshape(-1, 3)
        self.phase_names = ("wait", *(f"screw_{i + 1}" for i in range(len(self.points))),
                            "clear", "done")
        super().__init__(spec, cell)
        self.dt = spec.physics.substeps * spec.physics.time_step
        self._clear()

    def _clear(self) -> None:
        self.current, self.point_time = 0, 0.0
        self.force, self.over_force, self.in_bounds, self.finished_now = 0.0, False, False, False

    def reset(self, rng: np.random.Generator) -> None:
        """Place the workpiece and start the person's hold."""
        self.place_part(rng)
        pos, quat = self.part_pose()
        inv = self.sim.invert_transform(pos, quat)
        self.grip_local = self.sim.multiply_transforms(*inv, self.need_point(), (0, 0, 0, 1))[0]
        motion = self.spec.human.motion
        self.program = HoldWorkpiece(self.grip_point, self.part, self.side,
                                     finished=lambda: self.current >= len(self.points),
                                     delay=motion.start_delay, speed=motion.speed, lift=LIFT)
        self.human.set_program(self.program)
        self._clear()

    def grip_point(self) -> np.ndarray:
        """Where the person's palm holds the workpiece (world, m)."""
        return self.sim.multiply_transforms(*self.part_pose(), self.grip_local, (0, 0, 0, 1))[0]

    def point_world(self, i: int) -> np.ndarray:
        """Screw point ``i`` in the world (m)."""
        return self.sim.multiply_transforms(*self.part_pose(), self.points[i], (0, 0, 0, 1))[0]

    def tool_force(self, i: int) -> float:
        """Summed normal force (N) of the robot's contacts on the workpiece while its TCP
        is within ``task.point_tolerance`` of point i (else 0)."""
        tcp, _ = self.robot.ee_pose()
        if np.linalg.norm(tcp - self.point_world(i)) > self.spec.task.point_tolerance:
            return 0.0
        return float(sum(c.normal_force for c in self.sim.contacts(self.robot.body, self.part)))

    def held_by_robot(self) -> list[tuple[int, str]]:
        return []  # the robot works on the workpiece, it never carries it

    def update(self) -> None:
        self.check_safety()
        lo, hi = self.spec.task.press_force
        n = len(self.points)
        self.finished_now = False
        total = float(sum(c.normal_force for c in self.sim.contacts(self.robot.body, self.part)))
        self.over_force |= total > hi
        self.force = self.tool_force(self.current) if self.current < n else 0.0
        self.in_bounds = self.current < n and self.program.holding and lo <= self.force <= hi
        if self.in_bounds:
            self.point_time += self.dt
            if self.point_time >= self.spec.task.press_time:
                self.current, self.point_time, self.finished_now = self.current + 1, 0.0, True
        if self.current >= n:
            self.phase = "clear" if self.robot_touches() else "done"
        elif self.program.holding or self.current > 0:
            self.phase = f"screw_{self.current + 1}"
        else:
            self.phase = "wait"

    @property
    def success(self) -> bool:
        return (self.done and not self.person_contact and not self.over_force
                and not self.dropped)

    def terms(self, action: np.ndarray) -> dict[str, float]:
        w = self.spec.task.reward
        ee, _ = self.robot.ee_pose()
        n = len(self.points)
        target = self.point_world(min(self.current, n - 1))
        terms = self.base_terms(action)
        terms["reach"] = -w.reach * float(np.linalg.norm(ee - target)) if self.current < n else 0.0
        terms["progress"] = (w.progress if self.in_bounds else 0.0) + (
            10.0 * w.progress if self.finished_now else 0.0)
        terms["conflict"] = -w.conflict if self.force > self.spec.task.press_force[1] else 0.0
        return terms
