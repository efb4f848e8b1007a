"""Robot stopping data (ISO 10218-1 Annex B) measured in simulation, as a table and as YAML.

:func:`measure_stopping` runs one stop test in a fresh :class:`~simulator.physics.Sim`
with the robot alone (mechanics and models: :mod:`simulator.safety.stop_test`): Annex B
axis ``joint`` (1 base, 2 shoulder, 3 elbow) turns alone at ``speed_fraction`` of its speed
limit in its worst-case pose with the rated payload at the TCP, the stop signal is given,
and the stopping time (s, signal to standstill) and distance (rad at the joint, m of TCP
path) are measured. Category 0 brakes with a constant torque, ``brake_torque_factor`` × the
joint's effort limit (default 1: the effort limit; a holding brake is sized to hold at
least the rated torque, and a stronger real brake only stops sooner); category 1
decelerates the joint along a ramp at the largest deceleration the drive's torque
bounds allow (all arm joints together), then holds.

:func:`stopping_table` runs the Annex B grid and derives, per category, the TCP table the
SSM monitor reads (:class:`~simulator.safety.ssm.StoppingData`): every test of the
category as a row (TCP speed at the signal -> stopping time, TCP stopping distance),
sorted by speed, each column replaced by its running maximum so that it never decreases
and a lookup at any speed is no smaller than any stop measured at that speed or below.

:func:`to_yaml` / :func:`from_yaml` write and read the ``stopping:`` block (units: rad/s,
s, rad; m/s, m).
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import yaml

from simulator import catalogue
from simulator.physics import Sim
from simulator.robot import Robot
from simulator.safety import stop_test
from simulator.safety.ssm import StoppingData
from simulator.safety.stop_test import NearLimitError, StopTestError

log = logging.getLogger(__name__)

CATEGORIES = (0, 1)
AXES = {1: "base", 2: "shoulder", 3: "elbow"}
FRACTIONS = (0.33, 0.66, 1.0)
TIME_STEP = 1.0 / 1000.0       # s, physics step of a stop test
RUN_UP_ACCELERATION = 5.0      # rad/s², ramp of the joint up to the test speed
CRUISE_TIME = 0.2              # s at the test speed before the trigger
STOP_ROOM = 0.15               # rad of range after the trigger at first; doubled on need
MAX_STOP_ROOM = 2.5            # rad
ROOM_BISECTIONS = 3            # halvings of the room between a failed and a good trigger
MAX_STOP_TIME = 3.0            # s: a stop that takes longer fails the test
MERGE_SPEED = 0.005            # m/s: TCP rows closer than this become one

__all__ = ["StopRecord", "StoppingTable", "StopTestError", "measure_stopping",
           "stopping_table", "to_yaml", "from_yaml"]


@dataclass(frozen=True)
class StopRecord:
    """One stop. ``speed`` (rad/s) and ``tcp_speed`` (m/s) are measured at the signal;
    ``time`` s; ``distance`` rad at the joint; ``tcp_distance`` m of TCP path;
    ``payload`` kg; ``brake_torque`` N·m at the tested joint (category 0, else None);
    ``deceleration`` rad/s² of the category 1 ramp (else None); ``lever`` m, the TCP's
    horizontal distance from the joint axis at the trigger; ``stop_room`` rad of range
    the pose left after the trigger; ``pose`` the arm joint positions (rad) there."""

    robot: str
    category: int
    joint: int
    joint_name: str
    speed_fraction: float
    speed: float
    time: float
    distance: float
    tcp_speed: float
    tcp_distance: float
    payload: float
    brake_torque: float | None = None
    deceleration: float | None = None
    lever: float = 0.0
    stop_room: float = 0.0
    pose: tuple = ()


def measure_stopping(robot_id: str, category: int, joint: int, speed_fraction: float, *,
                     payload: float | None = None, brake_torque_factor: float = 1.0,
                     brake_delay: float = 0.0, time_step: float = TIME_STEP,
                     run_up_acceleration: float = RUN_UP_ACCELERATION,
                     cruise_time: float = CRUISE_TIME, max_stop_time: float = MAX_STOP_TIME,
                     stop_room: float = STOP_ROOM) -> StopRecord:
    """Stop catalogue robot ``robot_id`` in ``category`` (0 or 1) while Annex B axis
    ``joint`` (1-3) turns at ``speed_fraction`` (0-1] of its speed limit, ``payload`` kg
    at the TCP (default: the rated payload). The test pose leaves ``stop_room`` rad of
    range after the trigger; the room is doubled (the trigger moves back from the worst
    pose) while the joint would run into its limit, then bisected back towards the worst
    pose (:data:`ROOM_BISECTIONS`). The pose does not depend on
    ``speed_fraction`` (the run-up of full speed is reserved)."""
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {CATEGORIES}, got {category!r}")
    if joint not in AXES:
        raise ValueError(f"joint must be one of {sorted(AXES)} (Annex B axes), got {joint!r}")
    if not 0 < speed_fraction <= 1:
        raise ValueError(f"speed_fraction must be in (0, 1], got {speed_fraction!r}")
    if not (brake_torque_factor > 0 and brake_delay >= 0):
        raise ValueError("brake_torque_factor must be > 0 and brake_delay >= 0")
    spec = catalogue.load_robot(robot_id)
    payload = spec.payload if payload is None else float(payload)
    args = (robot_id, category, joint, speed_fraction, payload, brake_torque_factor,
            brake_delay, time_step, run_up_acceleration, cruise_time, max_stop_time)
    failed, room, best = 0.0, float(stop_room), None
    while best is None:
        try:
            best = _attempt(*args, room)
        except NearLimitError:
            if room >= MAX_STOP_ROOM:
                raise
            failed, room = room, min(2 * room, MAX_STOP_ROOM)
            log.info("axis %d ran into its limit; trigger moved back to leave %.2f rad", joint, room)
    for _ in range(ROOM_BISECTIONS if failed else 0):   # back towards the worst pose
        mid = 0.5 * (failed + best.stop_room)
        try:
            best = _attempt(*args, mid)
        except NearLimitError:
            failed = mid
    return best


def _attempt(robot_id, category, joint, fraction, payload, brake_factor, brake_delay,
             time_step, accel, cruise_time, max_stop_time, room) -> StopRecord:
    spec = catalogue.load_robot(robot_id)
    with Sim(time_step=time_step) as sim:
        robot = Robot(sim, spec, catalogue.robot_folder(robot_id), name=robot_id)
        load = stop_test.Payload(robot, payload)
        k = stop_test.annex_b_joints(robot)[joint]
        speed = fraction * robot.max_velocity[k]
        full = robot.max_velocity[k]
        reserve = full ** 2 / (2 * accel) + full * cruise_time
        run_up = speed ** 2 / (2 * accel) + speed * cruise_time
        pose, sign, lever = stop_test.stop_test_pose(robot, k, joint > 1, reserve, room)
        start = pose.copy()
        start[k] -= sign * run_up
        robot.reset(start)
        stop_test.run_up(robot, load, k, sign, start, pose[k], speed, accel)
        q, qd = robot.joint_state()
        tcp_speed = float(np.linalg.norm(robot.ee_velocity()[0]))
        brake = brake_factor * robot.max_effort if category == 0 else None
        time, tcp_path, q_end, decel = stop_test.stop(robot, load, k, category, brake,
                                                      brake_delay, max_stop_time)
    record = StopRecord(robot_id, category, joint, spec.joints[k].name, fraction,
                        abs(float(qd[k])), float(time), abs(float(q_end[k] - q[k])), tcp_speed,
                        tcp_path, payload, None if brake is None else float(brake[k]), decel,
                        lever, room, tuple(round(float(x), 4) for x in pose))
    log.info("stop cat %d axis %d (%s) %.0f%%: %.3f rad/s %.3f s %.4f rad; TCP %.3f m/s %.4f m",
             category, joint, record.joint_name, 100 * fraction, record.speed, record.time,
             record.distance, record.tcp_speed, record.tcp_distance)
    return record


@dataclass(frozen=True)
class StoppingTable:
    """The Annex B records of one robot, the TCP table per category, and the conditions
    they were measured under (payload kg, thresholds, brake model, time step)."""

    robot: str
    records: tuple[StopRecord, ...]
    tcp: dict[int, StoppingData]
    conditions: dict = field(default_factory=dict)

    def rows(self, category: int, joint: int) -> list[StopRecord]:
        return sorted((r for r in self.records if r.category == category and r.joint == joint),
                      key=lambda r: r.speed_fraction)

    def as_dict(self) -> dict:
        return {"robot": self.robot, "conditions": dict(self.conditions),
                "records": [asdict(r) for r in self.records],
                "tcp": {c: [list(row) for row in zip(d.speeds, d.times, d.distances)]
                        for c, d in self.tcp.items()}}


def tcp_table(records) -> StoppingData:
    """TCP speed (m/s) -> stopping time (s) and TCP distance (m): one row per record,
    sorted by speed, running maxima of both columns (see the module docstring); rows less
    than :data:`MERGE_SPEED` apart are merged."""
    rows = sorted((r.tcp_speed, r.time, r.tcp_distance) for r in records)
    speeds, times, dists = [], [], []
    for v, t, d in rows:
        t, d = max([t] + times[-1:]), max([d] + dists[-1:])
        if speeds and v <= speeds[-1] + MERGE_SPEED:   # one row: the higher speed, the maxima
            speeds[-1], times[-1], dists[-1] = v, t, d
            continue
        speeds.append(v), times.append(t), dists.append(d)
    return StoppingData(tuple(speeds), tuple(times), tuple(dists))


def stopping_table(robot_id: str, categories=CATEGORIES, joints=tuple(AXES),
                   fractions=FRACTIONS, **options) -> StoppingTable:
    """The Annex B grid: category 1 at every fraction, category 0 at 100 % only, for
    every joint; ``options`` go to :func:`measure_stopping`."""
    records = []
    for joint in joints:
        # the same pose for every category and fraction of a joint: the room the worst
        # (full-speed) stops needed
        full = {c: measure_stopping(robot_id, c, joint, 1.0, **options) for c in categories}
        room = max(r.stop_room for r in full.values())
        for category in categories:
            if full[category].stop_room < room:
                full[category] = measure_stopping(robot_id, category, joint, 1.0,
                                                  stop_room=room, **options)
            for fraction in (fractions if category == 1 else (1.0,)):
                records.append(full[category] if fraction == 1.0 else measure_stopping(
                    robot_id, category, joint, fraction, stop_room=room, **options))
    records.sort(key=lambda r: (r.category, r.joint, r.speed_fraction))
    tcp = {c: tcp_table([r for r in records if r.category == c]) for c in categories}
    conditions = {"payload": records[0].payload,
                  "standstill_joint_speed": stop_test.STANDSTILL_JOINT_SPEED,
                  "standstill_tcp_speed": stop_test.STANDSTILL_TCP_SPEED,
                  "brake_torque_factor": options.get("brake_torque_factor", 1.0),
                  "brake_delay": options.get("brake_delay", 0.0),
                  "time_step": options.get("time_step", TIME_STEP)}
    return StoppingTable(robot_id, tuple(records), tcp, conditions)


_HEADER = """\
# Stopping data of {robot}, measured in simulation ({tool}) as ISO 10218-1 Annex B asks:
# axes 1-3 = Annex B base, shoulder, elbow (the URDF joint is named), each turning alone at
# full extension as far as limits allow, rated payload at the TCP; axis 1 moving
# horizontally, axes 2 and 3 moving down (gravity-assisted). Category 0: drive power
# removed, constant brake torque = brake_torque_factor x effort limit at every joint;
# category 1: constant-deceleration ramp at the largest deceleration the drive's torque
# bounds allow, then hold. Model: simulator/safety/stop_test.py.
# Time from the stop signal to standstill (joint < standstill_joint_speed rad/s and TCP <
# standstill_tcp_speed m/s). joints rows: speed rad/s, time s, distance rad (at the joint).
# tcp rows: TCP speed m/s at the signal, time s, TCP path m; running maxima over the tests.
"""


def _num(x: float) -> str:
    return f"{float(x):.6g}"


def to_yaml(table: StoppingTable) -> str:
    """The ``stopping:`` block (see :data:`_HEADER` in the text for units)."""
    c = table.conditions
    out = [_HEADER.format(robot=table.robot, tool="cobotsim stopping-test"), "stopping:"]
    out.append("  conditions: {" + ", ".join(f"{k}: {_num(v)}" for k, v in c.items()) + "}")
    for category in sorted(table.tcp):
        out.append(f"  category_{category}:")
        out.append("    joints:")
        for joint in sorted({r.joint for r in table.records if r.category == category}):
            rows = table.rows(category, joint)
            out.append(f"      - {{axis: {joint}, name: {rows[0].joint_name}, rows: [")
            for r in rows:
                out.append(f"          {{fraction: {_num(r.speed_fraction)}, speed: {_num(r.speed)}, "
                           f"time: {_num(r.time)}, distance: {_num(r.distance)}}},")
            out.append("        ]}")
        data = table.tcp[category]
        out.append("    tcp:      # [speed m/s, time s, distance m]")
        for row in zip(data.speeds, data.times, data.distances):
            out.append(f"      - [{', '.join(_num(x) for x in row)}]")
    return "\n".join(out) + "\n"


def from_yaml(text: str, robot: str = "") -> StoppingTable:
    """Read a ``stopping:`` block written by :func:`to_yaml` (records hold what the file
    holds: TCP speeds and distances per test are not in it)."""
    block = yaml.safe_load(text)["stopping"]
    records, tcp = [], {}
    conditions = dict(block.get("conditions", {}))
    for key, cat in block.items():
        if not key.startswith("category_"):
            continue
        category = int(key.split("_")[1])
        for j in cat["joints"]:
            for row in j["rows"]:
                records.append(StopRecord(robot, category, int(j["axis"]), j["name"],
                                          float(row["fraction"]), float(row["speed"]),
                                          float(row["time"]), float(row["distance"]),
                                          float("nan"), float("nan"),
                                          float(conditions.get("payload", 0.0))))
        tcp[category] = StoppingData.from_rows([tuple(map(float, r)) for r in cat["tcp"]])
    return StoppingTable(robot, tuple(records), tcp, conditions)
