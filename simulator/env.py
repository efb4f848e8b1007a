"""CellEnv: a collaboration cell as a Gymnasium environment.

Observation (``spaces.Dict``; positions in m and world frame, angles in rad):

=================  ==========  ==========================================================
key                shape       meaning
=================  ==========  ==========================================================
``robot_q``        (n,)        arm joint positions, rad
``robot_qd``       (n,)        arm joint velocities, rad/s
``ee_pos``         (3,)        TCP position, m
``ee_quat``        (4,)        TCP orientation, quaternion (x, y, z, w)
``gripper``        (1,)        finger opening, m
``human_keypoints`` (15, 3)    centre of each human link, m; names and ISO/TS 15066 body
                               regions in ``env.unwrapped.human_link_names`` / ``human_regions``
``part_pos``       (3,)        the part's centre, m
``part_quat``      (4,)        the part's orientation
``phase``          Discrete    task phase index into ``env.unwrapped.phase_names``
=================  ==========  ==========================================================

Actions: see :mod:`simulator.control` (``control="ee_delta"`` or ``"joint_position"``).
Actions outside [-1, 1] are clipped; a non-finite action ends the episode with
``info["status"] = "policy_error"`` and ``info["error"]`` saying why. A physics fault
(a non-finite state) ends it with ``"sim_error"``.

``info`` at reset carries ``person``: the person of the episode, drawn from the seed when
the scenario has ``human.variations`` (:func:`simulator.human.person.person_record`).
``info`` carries ``reward_terms`` (named, weighted), ``success``, ``phase``, ``time`` (s)
and ``status``: ``running`` during the episode, ``complete`` on its last step when it
ended normally, ``policy_error`` or ``sim_error`` when it ended on a fault. Safety
(:mod:`simulator.safety.suite`, docs/safety-monitors.md): ``info["safety"]`` holds each
monitor's samples and new events of the step, ``info["costs"]`` the named costs
(``contact``, ``separation``, ``speed``; 0 or 1) and ``info["cost"]`` their sum. With the
scenario's ``safety.terminate_on_violation`` a violation ends the episode. An episode that
would start with the robot touching the person or inside S_p raises
:class:`~simulator.safety.separation.UnsafeStartError` from ``reset``.

Physics: fixed steps of ``physics.time_step``, refined ``physics.contact_substeps``-fold
while a robot-person contact can start within the step or is going on; robot-person
contacts are the springs of :mod:`simulator.contact_springs`.
"""
from __future__ import annotations

import json
import logging
import string

import gymnasium
import numpy as np
from gymnasium import spaces

from simulator import catalogue
from simulator.cell import Cell
from simulator.control import make_control
from simulator.errors import ConfigError
from simulator.human.person import draw_person, person_record
from simulator.cameras import CameraSet
from simulator.safety.shields import Shields
from simulator.safety.substep import SubStepper
from simulator.safety.suite import COSTS, SafetyMonitors
from simulator.tasks import make_task
from simulator.version import __version__, trace_versions

log = logging.getLogger(__name__)

HUMAN_SPEED = 2.0  # m/s, bound on the person's speed towards the robot (ISO 13855 K = 2000 mm/s)
CLOSING_ACCELERATION = 10.0  # m/s², bound on how fast the closing speed can grow
INSTRUCTION_LENGTH = 512  # characters of the instruction observation
PRINTABLE = frozenset(string.printable)
CAMERA = {"eye": (1.9, -1.6, 1.9), "target": (0.45, 0.0, 0.9)}


class CellEnv(gymnasium.Env):
    """One scenario of the catalogue as a Gymnasium env.

    Args:
        scenario: catalogue name or path of a scenario YAML file.
        robot: robot catalogue name (default: the scenario's).
        control: ``"ee_delta"`` or ``"joint_position"``.
        render_mode: ``None`` or ``"rgb_array"`` (headless software rendering).
        render_size: (width, height) of rendered frames in pixels.
        gui: open the pybullet GUI (needs a display).
        shields: names of the shields to run (``ssm``, ``pfl``, ``contact_stop``,
            ``zone_speed``; ``[]`` for none); default: those the scenario enables.
        cameras: camera observations to add: ``"scene"``, ``"wrist"``
            (:mod:`simulator.cameras`); keys ``<camera>_rgb`` and, with ``camera_depth``,
            ``<camera>_depth``.
        camera_size: (width, height) of the camera images in pixels.
        camera_depth: add depth images (m) too.
        instruction: add the task in words as the observation ``instruction`` (str).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, scenario: str = "handover", robot: str | None = None,
                 control: str = "ee_delta", render_mode: str | None = None,
                 render_size: tuple[int, int] = (480, 360), gui: bool = False,
                 shields=None, cameras=(), camera_size: tuple[int, int] = (96, 96),
                 camera_depth: bool = False, instruction: bool = False) -> None:
        self.scenario_file = str(catalogue.scenario_path(scenario))
        spec, self.spec_text = catalogue.load_scenario(scenario)
        self.overrides: dict[str, str] = {}  # changes to the file's spec, kept in the trace
        # ``self.spec`` belongs to Gymnasium (its EnvSpec); the scenario is ``self.scenario``
        if robot is not None and robot != spec.robot.id:
            from dataclasses import replace
            catalogue.robot_folder(robot)  # an unknown name lists the known robots
            if robot not in spec.robots:
                raise ConfigError(f"scenario {spec.id!r} does not support robot {robot!r}; "
                                  f"supported: {', '.join(spec.robots)}")
            spec = replace(spec, robot=replace(spec.robot, id=robot))
            self.overrides["robot.id"] = robot
        self.cameras = CameraSet(tuple(cameras), *map(int, camera_size), bool(camera_depth))
        self.instruction = ((spec.task.instruction or spec.description) if instruction else None)
        if self.instruction is not None and len(self.instruction) > INSTRUCTION_LENGTH:
            raise ConfigError(f"{self.scenario_file}: task.instruction has {len(self.instruction)} "
                              f"characters; at most {INSTRUCTION_LENGTH}")
        self._shield_names = None if shields is None else list(shields)
        if shields is not None:
            from simulator.spec.safety import SHIELD_NAMES
            unknown = [n for n in shields if n not in SHIELD_NAMES]
            if unknown:
                raise ConfigError(f"unknown shield(s) {unknown}; known: {', '.join(SHIELD_NAMES)}")
            if sorted(shields) != sorted(spec.safety.shields.enabled):
                self.overrides["safety.shields"] = ",".join(shields)
        if render_mode not in (None, "rgb_array"):
            raise ConfigError(f"render_mode {render_mode!r} is not supported; use None or 'rgb_array'")
        self.scenario = spec
        self.render_mode, self.render_size = render_mode, tuple(render_size)
        self.metadata = {**self.metadata, "render_fps": int(round(spec.physics.control_rate))}
        self.cell = Cell(spec, catalogue.load_robot(spec.robot.id),
                         catalogue.robot_folder(spec.robot.id), gui=gui)
        self.cell.scenario_file = self.scenario_file  # relative paths in it (motion clips)
        self.sim = self.cell.sim
        self._control_name = control
        self._started = False
        self.substeps = spec.physics.substeps
        self.dt = self.substeps * spec.physics.time_step
        self._bind()
        self.max_steps = int(round(spec.task.max_duration / self.dt))
        self.phase_names = self.task.phase_names
        self.human_link_names = list(self.human.link_names)
        self.human_regions = list(self.human.link_regions)
        self.action_space = self.control.action_space
        self.observation_space = self._observation_space()
        self._steps = 0
        self._rng = np.random.default_rng()

    def _bind(self) -> None:
        """(Re)attach the parts that live in the cell's current world."""
        self.robot, self.human = self.cell.robot, self.cell.human
        self.control = make_control(self._control_name, self.robot)
        self.task = make_task(self.scenario.task.kind, self.cell.spec, self.cell)
        self.monitors = SafetyMonitors(self.cell, self.scenario.safety, self.scenario_file)
        try:
            self.shields = Shields(self.scenario.safety.shields, self.scenario.safety,
                                   self.monitors, self.robot, self.sim, self._shield_names)
        except ValueError as exc:
            raise ConfigError(f"{self.scenario_file}: {exc}") from None
        self._shield_info = {"scale": 1.0, "interventions": []}
        # every step of a robot-person contact runs fine: the contact springs are
        # explicit (simulator.contact_springs)
        self.stepper = SubStepper(self.sim, self.robot.body, self.human.body_id,
                                  fine_steps=self.scenario.physics.contact_substeps,
                                  relative_speed=self._closing_speed,
                                  margin=0.005, springs=self.cell.springs)
        self._safety, self._costs = {}, dict.fromkeys(COSTS, 0.0)

    def _rebuild(self) -> None:
        self.cell.rebuild(self.person)
        self._bind()

    # ------------------------------------------------------------------ spaces
    def _observation_space(self) -> spaces.Dict:
        r = self.robot
        big = np.float32(100.0)
        f32 = np.float32
        return spaces.Dict({
            "robot_q": spaces.Box(r.lower.astype(f32) - 0.1, r.upper.astype(f32) + 0.1, dtype=f32),
            "robot_qd": spaces.Box(-3 * r.max_velocity.astype(f32), 3 * r.max_velocity.astype(f32), dtype=f32),
            "ee_pos": spaces.Box(-big, big, shape=(3,), dtype=f32),
            "ee_quat": spaces.Box(-1.0, 1.0, shape=(4,), dtype=f32),
            "gripper": spaces.Box(0.0, 1.0, shape=(1,), dtype=f32),
            "human_keypoints": spaces.Box(-big, big, shape=(len(self.human_link_names), 3), dtype=f32),
            "part_pos": spaces.Box(-big, big, shape=(3,), dtype=f32),
            "part_quat": spaces.Box(-1.0, 1.0, shape=(4,), dtype=f32),
            "phase": spaces.Discrete(len(self.phase_names)),
            **self.cameras.spaces(),
            **({"instruction": spaces.Text(max_length=INSTRUCTION_LENGTH,
                                           charset=PRINTABLE | set(self.instruction))}
               if self.instruction is not None else {}),
        })

    def _observation(self) -> dict:
        q, qd = self.robot.joint_state()
        ee, quat = self.robot.ee_pose()
        part, part_quat = self.task.part_pose()
        f32 = np.float32
        return {
            "robot_q": q.astype(f32), "robot_qd": np.clip(qd, -6.0, 6.0).astype(f32),
            "ee_pos": ee.astype(f32), "ee_quat": quat.astype(f32),
            "gripper": np.array([self.robot.gripper_width()], dtype=f32),
            "human_keypoints": self.human.link_positions().astype(f32),
            "part_pos": part.astype(f32), "part_quat": part_quat.astype(f32),
            "phase": self.task.phase_index,
            **self.cameras.render(self.sim, self.robot),
            **({"instruction": self.instruction} if self.instruction is not None else {}),
        }

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._rng = self.np_random  # the one generator every part of the episode draws from
        # the person of this episode (human.variations; nothing is drawn without them)
        self.person = draw_person(self.scenario.human, self._rng)
        if self._started or self.person != self.cell.human_spec:
            self._rebuild()  # a fresh world: bit-identical episodes for the same seed
        self._started = True
        self.task.reset(self._rng)
        if self.human.behaviour is not None:  # reactions watch the monitor's distance
            self.human.behaviour.start(self._rng, lambda: self._safety.get("ssm", {}).get("distance"))
        self.control.reset()
        self.monitors.start()  # an episode that starts inside S_p raises
        self._steps = 0
        self.task.update()
        info = self._info({}, "running")
        info["person"] = person_record(self.person)
        return self._observation(), info

    def step(self, action):
        action = np.asarray(action, dtype=np.float64).reshape(self.action_space.shape)
        if not np.all(np.isfinite(action)):
            bad = np.flatnonzero(~np.isfinite(action)).tolist()
            error = f"action has non-finite values at indices {bad}"
            log.warning("policy_error: %s", error)
            return self._end("policy_error", error)
        action = np.clip(action, self.action_space.low, self.action_space.high)
        self.control.apply(action)
        self._shield_info = self.shields.apply(self.sim.time, self.dt)
        self.robot.apply_commands(self.dt)
        start = self.sim.time
        self.human.update(start, self.dt)
        self.monitors.expect_contact_within(self._reach())
        springs = self.cell.springs
        if self.stepper.fine_steps == 1:
            springs.watch(None)  # no sub-stepping: every pair is checked every step
            self.sim.step(self.substeps)
        elif self._far_from_contact():
            springs.watch(0.0)  # no robot-person contact can start in this control step
            self.sim.step(self.substeps)
        else:  # a robot-human contact may start or is going on: refine (docs/safety-monitors.md)
            self.stepper.step(self.substeps)
        self._safety, self._costs = self.monitors.control_step(start, self.dt)
        self._steps += 1
        obs = self._observation()
        if not all(np.all(np.isfinite(v)) for v in obs.values() if not isinstance(v, str)):
            return self._end("sim_error", "the physics state became non-finite")
        self.task.update()
        self.monitors.set_payload(self.task.held_by_robot())
        reward, terms = self.task.reward(action)
        violated = any(self._costs.values())
        stop = violated and self.scenario.safety.terminate_on_violation
        terminated = self.task.success or self.task.dropped or stop
        truncated = self._steps >= self.max_steps and not terminated
        status = "complete" if terminated or truncated else "running"
        return obs, reward, terminated, truncated, self._info(terms, status)

    def _closing_speed(self) -> float:
        """A bound on the robot-person closing speed (m/s) over the next control step: the
        speeds measured at the last one plus what an acceleration of CLOSING_ACCELERATION
        adds in a control step; the robot's top speed plus a walking person when unknown."""
        ssm = self._safety.get("ssm")
        if ssm is None:
            return self.robot.spec.max_tcp_speed + HUMAN_SPEED
        # the motions bound the speed of every robot point and every point of the person,
        # not only of the closest ones
        return (max(ssm["robot_motion"], 0.0) + max(ssm["human_motion"], 0.0)
                + CLOSING_ACCELERATION * self.dt)

    def _far_from_contact(self) -> bool:
        """No robot-person contact can start within this control step: the separation at
        the last one exceeds what the closing-speed bound covers in it (with the stepper's
        safety factor and margin)."""
        distance = self._safety.get("ssm", {}).get("distance")
        return distance is not None and distance > self._reach()

    def _reach(self) -> float:
        """How far (m) the robot and the person can close in within one control step."""
        return self._closing_speed() * self.dt * self.stepper.safety + self.stepper.margin

    def _end(self, status: str, error: str):
        obs = self._observation()
        obs = {k: (np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
                   if isinstance(v, np.ndarray) else v) for k, v in obs.items()}
        self._steps += 1
        info = self._info({}, status)
        info["error"] = error
        return obs, 0.0, True, False, info

    def _info(self, terms: dict, status: str) -> dict:
        return {"reward_terms": terms, "success": self.task.success, "phase": self.task.phase,
                "dropped": self.task.dropped, "time": self.sim.time, "status": status,
                "safety": self._safety, "shields": self._shield_info, "costs": dict(self._costs),
                "cost": float(sum(self._costs.values()))}

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        w, h = self.render_size
        rgb, _ = self.sim.render(w, h, CAMERA["eye"], CAMERA["target"])
        return rgb

    def close(self) -> None:
        if getattr(self, "cell", None) is not None and self.sim.connected:
            self.cell.close()

    # ------------------------------------------------------------------ traces
    def trace_header(self) -> dict:
        """Root attributes of a trace of this env (see docs/trace-format.md)."""
        return {"scenario": self.scenario.id, "gym_id": self.scenario.gym_id, "robot": self.scenario.robot.id,
                "control": self.control.name, "scenario_spec": self.spec_text,
                "software_version": __version__, **trace_versions(),
                "control_rate": self.scenario.physics.control_rate,
                "physics_time_step": self.scenario.physics.time_step,
                "human_body": self.cell.human_spec.body,
                "person": json.dumps(person_record(self.cell.human_spec), sort_keys=True),
                "overrides": json.dumps(self.overrides, sort_keys=True),
                "safety_config": self.monitors.config(), "shields": self.shields.config()}

    def trace_units(self) -> dict:
        return {"/time": "s", "/robot/q": "rad", "/robot/qd": "rad/s", "/robot/ee_pos": "m",
                "/robot/ee_quat": "quaternion xyzw", "/robot/gripper": "m",
                "/human/link_pos": "m", "/human/link_vel": "m/s", "/part/pos": "m",
                "/part/quat": "quaternion xyzw", "/task/phase": "index", "/action": "1",
                "/reward": "1", "/safety/ssm/distance": "m", "/safety/ssm/protective_distance": "m",
                "/safety/ssm/margin": "m", "/safety/ssm/human_speed": "m/s",
                "/safety/shield_scale": "1",
                "/safety/ssm/robot_speed": "m/s", "/safety/speed/tcp_speed": "m/s",
                "/safety/cost": "1"}

    def trace_dataset_attrs(self) -> dict:
        return {"/human/link_pos": {"link_names": self.human_link_names, "regions": self.human_regions},
                "/human/link_vel": {"link_names": self.human_link_names, "regions": self.human_regions},
                "/task/phase": {"phase_names": list(self.phase_names)},
                "/action": {"control": self.control.name}}

    def trace_row(self) -> dict:
        q, qd = self.robot.joint_state()
        ee, quat = self.robot.ee_pose()
        part, part_quat = self.task.part_pose()
        return {"/time": self.sim.time, "/robot/q": q, "/robot/qd": qd, "/robot/ee_pos": ee,
                "/robot/ee_quat": quat, "/robot/gripper": self.robot.gripper_width(),
                "/human/link_pos": self.human.link_positions(),
                "/human/link_vel": self.human.link_velocities(),
                "/part/pos": part, "/part/quat": part_quat, "/task/phase": self.task.phase_index,
                **self._safety_row()}

    def _safety_row(self) -> dict:
        ssm, speed = self._safety.get("ssm", {}), self._safety.get("speed", {})
        nan = float("nan")
        return {"/safety/ssm/distance": ssm.get("distance", nan),
                "/safety/ssm/protective_distance": ssm.get("protective_distance", nan),
                "/safety/ssm/margin": ssm.get("margin", nan),
                "/safety/ssm/human_speed": ssm.get("human_speed", nan),
                "/safety/ssm/robot_speed": ssm.get("robot_speed", nan),
                "/safety/speed/tcp_speed": speed.get("tcp_speed", nan),
                "/safety/cost": float(sum(self._costs.values())),
                "/safety/shield_scale": float(self._shield_info["scale"])}

    def trace_tables(self) -> dict:
        """Tables written when the episode's trace is finished: every contact sample,
        impact prediction and event, and the limit table the episode ran under."""
        self.monitors.finish(self.sim.time)
        return {**self.monitors.tables(), "/safety/shields": self.shields.table()}
