"""Shields: the cell's safety functions, acting on the robot command.

Monitors only watch; a shield changes what the robot does. Each control step, after the
policy's action has become a joint target and before the physics runs, every enabled
shield proposes a **speed scale** s in [0, 1] for this control step's motion: the arm's
joint target is pulled back to ``q_ref + s · (q_target − q_ref)``, q_ref being the joint
drive's reference now (s = 1: the command as given; s = 0: a protective stop, the
reference held where it is and the drive braking the arm to it). The smallest proposal
applies. The shields and what they use (all from the monitors of the same cell, at the
end of the previous control step, i.e. now):

``ssm``          speed and separation monitoring: the largest robot speed for which
                 S_p ≤ distance − margin (the inverse of S_p,
                 :func:`~simulator.safety.ssm.max_robot_speed`), against the larger of the
                 commanded speed of the robot's closest point towards the person and the
                 commanded TCP speed (the monitor takes the stopping time and distance at
                 the TCP speed), with the control period added to the reaction time (the
                 command holds that long before the next check); s = 0 when even a
                 standing robot is too close. Stop category 2 resumes as soon as the
                 separation allows; category 1 only after ``restart_delay`` s of clear
                 separation (a restart after the drives were switched off).
``pfl``          power and force limiting: the commanded relative speed of the robot's
                 point nearest to the person, towards the nearest body region, capped at
                 ``factor`` · v_rel,max of that region (ISO/TS 15066 Annex A).
``contact_stop`` a cobot's collision detection: after every physics step, a robot-person
                 contact force above ``force_threshold`` N is detected ``detection_time``
                 s later and stops the robot ``reaction_time`` s after that, in the
                 physics step where that time falls (not at the next control step). With
                 ``reaction: stop`` the drive holds where the stop finds the arm; with
                 ``retract`` (the default, the reflex of most cobots) it goes back to where
                 its reference was ``retract_time`` s earlier and holds there, which
                 releases a pinched body part. The robot stays stopped until no contact
                 has been seen for ``hold_time`` s.
``zone_speed``   reduced speed: the commanded TCP speed capped at the speed block's limit
                 (or the 0.25 m/s reduced speed) and each speed zone's limit while the TCP
                 is inside it; s = 0 before a commanded TCP target inside a keep-out zone.

Every intervention (s < 1) is recorded: time, shield, scale, the value that drove it and
its limit. The trace gets the table ``/safety/shields``, the per-step ``/safety/shield_scale``
and the root attribute ``shields`` (which ran, with their configuration).
"""
from __future__ import annotations

import collections
import dataclasses
import json
import logging
import math
from dataclasses import dataclass

import numpy as np

from simulator.safety.geometry import rotate_one
from simulator.safety.speed import REDUCED_SPEED
from simulator.safety.ssm import max_robot_speed

log = logging.getLogger(__name__)

FIELDS = (("t", float), ("shield", str), ("scale", float), ("value", float), ("limit", float),
          ("reason", str))
UNITS = {"t": "s", "scale": "1", "value": "see reason", "limit": "see reason"}


@dataclass(frozen=True)
class Intervention:
    """One shield's proposal at one control step (or physics step, contact_stop)."""

    t: float
    shield: str
    scale: float
    value: float
    limit: float
    reason: str

    def as_record(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class _Motion:
    """The commanded arm motion of this control step: Δq = q_target − q_ref (rad) over dt."""

    def __init__(self, robot, dt: float) -> None:
        self.robot, self.dt = robot, dt
        cols = [robot.movable.index(j) for j in robot.arm]
        self.q_ref = np.asarray(robot.drive.q_ref, float)[cols]
        self.delta = robot.joint_target - self.q_ref

    def point_velocity(self, jacobian: np.ndarray) -> np.ndarray:
        """Commanded velocity (m/s, world) of a point with the 3 × n ``jacobian``."""
        return jacobian @ self.delta / self.dt

    def tcp_velocity(self) -> np.ndarray:
        return self.point_velocity(self.robot.jacobian()[:3])


class SsmShield:
    name = "ssm"

    def __init__(self, spec, separation) -> None:
        self.spec, self.separation = spec, separation
        self._clear_since: float | None = None
        self._stopped = False

    def propose(self, t: float, motion: _Motion) -> Intervention | None:
        pair = getattr(self.separation, "last_pair", None)
        if pair is None:
            return None
        # the command holds for a control period before the next check: it adds to the
        # reaction time (robot and person keep moving for T_r + dt before a stop begins)
        params = dataclasses.replace(self.separation.params,
                                     reaction_time=self.separation.params.reaction_time + motion.dt)
        v_h = (max(0.0, self.separation.last_human_speed) if self.separation.tracked
               else params.human_speed_default)
        allowed = max_robot_speed(pair.distance - self.spec.margin, v_h, params)
        u = -np.asarray(pair.normal, float)   # robot point -> person
        # the monitor takes T_s and S_s at the robot's own (TCP) speed, and v_r towards
        # the person: both must fit, so the larger of the two commanded speeds is capped
        towards = float(np.dot(motion.point_velocity(self._jacobian(pair, motion)), u))
        commanded = max(towards, float(np.linalg.norm(motion.tcp_velocity())))
        if allowed <= 0.0:
            self._stopped, self._clear_since = True, None
            return Intervention(t, self.name, 0.0, pair.distance, self.spec.margin,
                                "stop: even a standing robot is inside S_p (value: distance m)")
        if self._stopped and self.spec.stop_category == 1:
            self._clear_since = t if self._clear_since is None else self._clear_since
            if t - self._clear_since < self.spec.restart_delay:
                return Intervention(t, self.name, 0.0, t - self._clear_since,
                                    self.spec.restart_delay,
                                    "category 1 stop: waiting for the restart delay (s)")
        self._stopped = False
        if commanded <= allowed:
            return None
        return Intervention(t, self.name, allowed / commanded, commanded, allowed,
                            "speed towards the person capped so that S_p <= distance (m/s)")

    def _jacobian(self, pair, motion: _Motion) -> np.ndarray:
        robot = motion.robot
        link = pair.link_a if self.separation.last_body == robot.body else robot.ee_link
        if link < 0:  # the fixed base does not move
            return np.zeros((3, len(robot.arm)))
        com = robot.sim.link_com_states(robot.body, [link])
        local = rotate_one(com.orientation[0], np.asarray(pair.point_a, float) - com.position[0],
                           inverse=True)
        return robot.jacobian(None, link, local)[:3]


class PflShield:
    name = "pfl"

    def __init__(self, spec, contact) -> None:
        self.spec, self.contact = spec, contact

    def propose(self, t: float, motion: _Motion) -> Intervention | None:
        near = self.contact.nearest
        if near is None:
            return None
        robot_along = float(np.dot(motion.point_velocity(near.jacobian), near.u))
        limit = self.spec.factor * near.v_rel_max
        relative = robot_along - near.human_along_u   # commanded relative approach speed
        if relative <= limit or robot_along <= 0.0:
            return None
        scale = min(1.0, max(0.0, (limit + near.human_along_u) / robot_along))
        return Intervention(t, self.name, scale, relative, limit,
                            "relative speed towards the nearest region capped at v_rel,max (m/s)")


class ContactStopShield:
    name = "contact_stop"

    def __init__(self, spec, contact, robot, sim) -> None:
        self.spec, self.contact, self.robot, self.sim = spec, contact, robot, sim
        self._stop_at: float | None = None     # s, when the stop reaches the drives
        self._stopped_at: float | None = None
        self._last_contact = -math.inf
        self._seen = 0
        self._history: collections.deque = collections.deque()  # (t, drive reference)
        self.interventions: list[Intervention] = []
        sim.add_post_step(self._after_step)
        sim.add_pre_step(self._before_step)

    def _after_step(self) -> None:
        samples = self.contact.samples
        new, self._seen = samples[self._seen:], len(samples)
        t = self.sim.time
        if new:
            self._last_contact = t
        over = [s for s in new if s.force > self.spec.force_threshold]
        if over and self._stop_at is None and self._stopped_at is None:
            self._stop_at = t + self.spec.detection_time + self.spec.reaction_time
            peak = max(s.force for s in over)
            self.interventions.append(Intervention(
                t, self.name, 0.0, peak, self.spec.force_threshold,
                f"contact force over the threshold (N); stop at t = {self._stop_at:.4f} s"))

    def _before_step(self) -> None:
        t = self.sim.time
        drive = self.robot.drive
        if self.spec.reaction == "retract" and self._stopped_at is None:
            self._history.append((t, drive.q_ref.copy()))
            while self._history and self._history[0][0] < t - self.spec.retract_time - 1e-9:
                self._history.popleft()
        if self._stop_at is not None and t + 1e-12 >= self._stop_at:
            self._stop_at, self._stopped_at = None, t
            back = self._history[0][1] if self._history else drive.q_ref
            self._hold = back.copy() if self.spec.reaction == "retract" else drive.q_ref.copy()
            drive.set_target(self._hold, self.spec.retract_time)
            log.info("contact stop (%s) at t=%.4f s", self.spec.reaction, t)

    def hold_target(self) -> np.ndarray | None:
        """The arm's joint target while stopped (rad), None when not stopped."""
        if self._stopped_at is None:
            return None
        cols = [self.robot.movable.index(j) for j in self.robot.arm]
        return self._hold[cols]

    @property
    def stopped(self) -> bool:
        return self._stopped_at is not None

    def propose(self, t: float, motion: _Motion) -> Intervention | None:
        if self._stopped_at is None:
            return None
        if t - self._last_contact >= self.spec.hold_time:
            self._stopped_at = None
            self._history.clear()
            return None
        return Intervention(t, self.name, 0.0, t - self._last_contact, self.spec.hold_time,
                            "stopped after a contact; time since the last contact (s)")


class ZoneSpeedShield:
    name = "zone_speed"

    def __init__(self, spec, speed_spec, robot) -> None:
        self.spec, self.robot = spec, robot
        self.limit = REDUCED_SPEED if speed_spec.reduced_speed else speed_spec.limit
        self.zones = speed_spec.zones

    def propose(self, t: float, motion: _Motion) -> Intervention | None:
        pos = self.robot.ee_pose()[0]
        velocity = motion.tcp_velocity()
        target = pos + velocity * motion.dt
        for zone in self.zones:
            if zone.keep_out and all(lo <= x <= hi for x, lo, hi in zip(target, zone.lower, zone.upper)):
                return Intervention(t, self.name, 0.0, 0.0, 0.0,
                                    f"stop before keep-out zone {zone.name!r}")
        limits = [self.limit] if self.limit is not None else []
        limits += [z.speed_limit for z in self.zones if not z.keep_out and
                   all(lo <= x <= hi for x, lo, hi in zip(pos, z.lower, z.upper))]
        if not limits:
            return None
        limit, speed = min(limits), float(np.linalg.norm(velocity))
        if speed <= limit:
            return None
        return Intervention(t, self.name, limit / speed, speed, limit,
                            "TCP speed capped at the zone's limit (m/s)")


class Shields:
    """The enabled shields of one episode (see the module docstring).

    Args:
        spec: the scenario's ``safety.shields`` (:class:`~simulator.spec.safety.ShieldsSpec`).
        safety_spec: the whole safety block (the speed limits and zones).
        monitors: the episode's :class:`~simulator.safety.suite.SafetyMonitors`.
        robot: the :class:`~simulator.robot.Robot`; sim: the physics world.
        enabled: names of the shields to run (default: those the spec enables).
    """

    def __init__(self, spec, safety_spec, monitors, robot, sim, enabled=None) -> None:
        self.spec, self.robot = spec, robot
        self.names = list(spec.enabled if enabled is None else enabled)
        self.shields = []
        for name in self.names:
            if name == "ssm":
                self.shields.append(SsmShield(spec.ssm, _need(monitors.separation, name)))
            elif name == "pfl":
                self.shields.append(PflShield(spec.pfl, _need(monitors.contact, name)))
            elif name == "contact_stop":
                self.shields.append(ContactStopShield(spec.contact_stop,
                                                      _need(monitors.contact, name), robot, sim))
            elif name == "zone_speed":
                self.shields.append(ZoneSpeedShield(spec.zone_speed, safety_spec.speed, robot))
            else:
                raise ValueError(f"unknown shield {name!r}")
        self.interventions: list[Intervention] = []
        self.scale = 1.0

    def apply(self, t: float, dt: float) -> dict:
        """Shield this control step's command (the robot's joint target is already set by
        the control); returns ``info["shields"]``: the applied scale and the interventions."""
        self.scale, new = 1.0, []
        if self.shields:
            motion = _Motion(self.robot, dt)
            for shield in self.shields:
                if isinstance(shield, ContactStopShield):  # recorded per physics step
                    new.extend(shield.interventions)
                    shield.interventions = []
                proposal = shield.propose(t, motion)
                if proposal is not None:
                    new.append(proposal)
                    self.scale = min(self.scale, proposal.scale)
            if self.scale < 1.0:
                self.robot.command_joints(motion.q_ref + self.scale * motion.delta)
            for shield in self.shields:  # a contact stop holds its own target
                hold = getattr(shield, "hold_target", lambda: None)()
                if hold is not None:
                    self.robot.command_joints(hold)
        self.interventions.extend(new)
        return {"scale": self.scale, "interventions": [i.as_record() for i in new]}

    def config(self) -> str:
        """Which shields ran, with their configuration (JSON; a root attribute of the trace)."""
        from simulator.spec.schema import to_mapping
        return json.dumps({n: to_mapping(getattr(self.spec, n)) for n in self.names},
                          sort_keys=True)

    def table(self) -> tuple[list[dict], np.dtype, dict]:
        import h5py
        kinds = {str: h5py.string_dtype(), float: "f8"}
        dtype = np.dtype([(n, kinds[tp]) for n, tp in FIELDS])
        return [i.as_record() for i in self.interventions], dtype, UNITS


def _need(monitor, shield: str):
    if monitor is None:
        raise ValueError(f"shield {shield!r} needs its monitor enabled in the safety block")
    return monitor
