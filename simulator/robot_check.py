"""Checking a robot folder completely: every problem in one report.

Loading a ``robot.yaml`` (:func:`simulator.spec.loading.load_spec`) stops at the first
problem, which is right for running a cell but slow for writing a robot. :func:`check_robot`
reads the folder leniently and reports every problem it can find, each naming the file,
the key, what was found and what was expected (the text of a
:class:`~simulator.errors.SpecError`):

* the file: YAML syntax, unknown and missing keys, types and ranges of every key (each
  list entry on its own), ``id`` equal to the folder name;
* combinations: ``home`` (one value per joint, within the limits), the stopping data
  (increasing speeds, at least two rows, up to ``max_tcp_speed``; missing data are a
  problem too, the separation monitor needs them);
* against the URDF: that it loads; the named joints (movable), the end-effector link, the
  finger joints and the links of the contact surfaces exist; the joint limits lie within
  the URDF's (position, speed, torque); every moving link with geometry or a joint has a
  mass; ``moving_mass`` within :data:`MASS_TOLERANCE` of the URDF's moving links;
* behaviour, when the file itself is sound: the drive holds ``home`` (within
  :data:`HOLD_TOLERANCE` after :data:`HOLD_TIME`), the TCP at home is above the base, and
  inverse kinematics reaches :data:`IK_OFFSETS` around the home TCP (same orientation)
  within :data:`IK_TOLERANCE`.
"""
from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import get_args, get_origin, get_type_hints

import numpy as np

from simulator.errors import SpecError
from simulator.spec.loading import read_yaml
from simulator.spec.robot import RobotSpec
from simulator.spec.schema import _convert, from_mapping

log = logging.getLogger(__name__)

MASS_TOLERANCE = 0.05      # relative: moving_mass against the URDF's moving links
LIMIT_TOLERANCE = 1e-4     # rad, rad/s, N·m: rounding allowed against the URDF's limits
HOLD_TIME = 0.5            # s of holding home
HOLD_TOLERANCE = 0.01      # rad: largest joint drift while holding home
HOLD_STEP = 1.0 / 240.0    # s: the physics step of the shipped cells
IK_TOLERANCE = 1e-3        # m (and rad for the orientation)
IK_ITERATIONS = 200
#: m, world frame (the robot's x axis forward, base yaw 0): points around the home TCP
IK_OFFSETS = ((0.10, 0.0, 0.0), (0.0, 0.10, 0.0), (0.0, -0.10, 0.0), (0.0, 0.0, -0.10),
              (0.05, 0.05, 0.05))


@dataclass(frozen=True)
class Problem:
    """One problem: the file, the key path inside it and the full message."""

    file: str
    key: str
    message: str

    @classmethod
    def of(cls, error: SpecError) -> "Problem":
        return cls(error.file, error.key, str(error))

    def __str__(self) -> str:
        return self.message


class _Report:
    def __init__(self, file: str) -> None:
        self.file, self.problems = file, []

    def add(self, key: str, found, expected: str) -> None:
        self.problems.append(Problem.of(SpecError(self.file, key, found, expected)))

    def error(self, exc: SpecError) -> None:
        self.problems.append(Problem.of(exc))


def check_robot(folder: str | Path) -> list[Problem]:
    """Every problem of the robot folder ``folder`` (an empty list: it is sound)."""
    folder = Path(folder)
    file = folder / "robot.yaml"
    report = _Report(str(file))
    if not file.is_file():
        report.add("", "no robot.yaml" if folder.is_dir() else "no such folder",
                   "a robot folder holding robot.yaml")
        return report.problems
    try:
        data, _ = read_yaml(file)
    except SpecError as exc:
        report.error(exc)
        return report.problems
    if not isinstance(data, dict):
        report.add("(top level)", data, "a mapping of the robot's keys")
        return report.problems
    values = _lenient(data, report)
    _combinations(values, folder, report)
    spec = None
    if not report.problems:
        try:
            spec = from_mapping(RobotSpec, data, str(file))
        except SpecError as exc:   # a combination the checks above missed
            report.error(exc)
    if "urdf" in values:
        _against_urdf(values, spec, folder, report)
    log.info("%s: %d problem(s)", file, len(report.problems))
    return report.problems


# ------------------------------------------------------------------ the file
def _lenient(data: dict, report: _Report) -> dict:
    """The keys of ``data`` that are sound, converted; each bad one is reported. A list
    of mappings keeps its sound entries as (index, value) pairs."""
    hints = get_type_hints(RobotSpec)
    fields = {f.name: f for f in dataclasses.fields(RobotSpec)}
    for key in data:
        if key not in fields:
            report.add(str(key), key, f"one of the keys {', '.join(fields)}")
    values: dict = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING:
                report.add(name, "nothing (the key is missing)", _type_phrase(hints[name]))
            continue
        tp, value = hints[name], data[name]
        item = _list_item_class(tp)
        if item is not None and isinstance(value, list):
            check = f.metadata.get("check")
            problem = check(value) if check is not None else None
            if problem:
                report.add(name, value, problem)
            good = []
            for i, entry in enumerate(value):
                try:
                    good.append((i, from_mapping(item, entry, report.file, f"{name}[{i}]")))
                except SpecError as exc:
                    report.error(exc)
            values[name] = good
            continue
        try:
            converted = _convert(value, tp, report.file, name)
        except SpecError as exc:
            report.error(exc)
            continue
        check = f.metadata.get("check")
        problem = check(converted) if check is not None and converted is not None else None
        if problem:
            report.add(name, value, problem)
            continue
        values[name] = converted
    return values


def _list_item_class(tp):
    if get_origin(tp) is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis and dataclasses.is_dataclass(args[0]):
            return args[0]
    return None


def _type_phrase(tp) -> str:
    from simulator.spec.schema import _type_name
    return _type_name(tp)


def _combinations(values: dict, folder: Path, report: _Report) -> None:
    if "id" in values and values["id"] != folder.name:
        report.add("id", values["id"], f"the folder name {folder.name!r}")
    joints = dict(values.get("joints", []))
    n_joints = len(values.get("joints", []))
    if "home" in values and "joints" in values:
        home = values["home"]
        if len(home) != n_joints or len(joints) != n_joints:
            report.add("home", list(home), f"one value per joint ({n_joints})")
        for i, q in enumerate(home):
            j = joints.get(i)
            if j is not None and not j.lower <= q <= j.upper:
                report.add(f"home[{i}]", q, f"a position of {j.name} within [{j.lower}, {j.upper}] rad")
    rows = [row for _, row in values.get("stopping", [])]
    if "stopping" in values or "max_tcp_speed" in values:
        speeds = [r.speed for r in rows]
        top = values.get("max_tcp_speed")
        if not rows:
            report.add("stopping", "no stopping data", "category-1 stopping rows up to max_tcp_speed "
                       "(measure them with 'cobotsim stopping-test')")
        elif len(rows) == 1 or any(b <= a for a, b in zip(speeds, speeds[1:])):
            report.add("stopping", speeds, "at least two rows with increasing speed")
        elif top is not None and speeds[-1] < top:
            report.add("stopping", f"data up to {speeds[-1]} m/s",
                       f"data up to max_tcp_speed {top} m/s at least (measure up to the top speed)")


# ------------------------------------------------------------------ against the URDF
def _urdf_path(urdf: str, folder: Path) -> Path:
    if urdf.startswith("pybullet_data:"):
        from simulator.physics import resolve_data_path
        return Path(resolve_data_path(urdf.split(":", 1)[1]))
    return (folder / urdf).resolve()


def _against_urdf(values: dict, spec: RobotSpec | None, folder: Path, report: _Report) -> None:
    from simulator.physics import Sim, SimError
    from simulator.robot import moving_links

    path = _urdf_path(values["urdf"], folder)
    if not path.is_file():
        report.add("urdf", values["urdf"], f"a URDF file ({path} does not exist)")
        return
    with Sim(time_step=HOLD_STEP) as sim:
        try:
            body = sim.load_urdf("robot", str(path), fixed_base=True)
        except SimError as exc:
            report.add("urdf", values["urdf"], f"a URDF pybullet can load ({exc})")
            return
        infos = sim.joints(body)
        by_name = {j.name: j for j in infos}
        links = [j.link_name for j in infos]
        movable = [n for n, j in by_name.items() if j.kind in ("revolute", "prismatic")]
        for i, j in values.get("joints", []):
            _check_joint(i, j, by_name.get(j.name), movable, report)
        ee = values.get("end_effector_link")
        if ee is not None and ee not in links:
            report.add("end_effector_link", ee, f"a link of the URDF: {', '.join(links)}")
        gripper = values.get("gripper")
        for i, name in enumerate(gripper.joints if gripper else ()):
            if name not in movable:
                report.add(f"gripper.joints[{i}]", name,
                           f"a movable joint of the URDF: {', '.join(movable)}")
        for i, s in values.get("contact_surfaces", []):
            if s.link not in links:
                report.add(f"contact_surfaces[{i}].link", s.link,
                           f"a link of the URDF: {', '.join(links)}")
        moving = moving_links(sim, body)
        for link in moving:
            info = infos[link]
            mass = sim.link_mass(body, link)
            has_shape = sim.link_has_collision(body, link)
            if not mass > 0 and (has_shape or info.kind in ("revolute", "prismatic")):
                report.add("urdf", f"link {info.link_name} of mass {mass} kg",
                           f"a mass > 0 for every moving link with geometry or a joint ({path.name})")
        urdf_mass = sum(sim.link_mass(body, link) for link in moving)
        if "moving_mass" in values:
            m = values["moving_mass"]
            if abs(urdf_mass - m) > MASS_TOLERANCE * max(m, urdf_mass):
                report.add("moving_mass", m, f"the URDF's moving links' total {urdf_mass:.4g} kg "
                           f"within {MASS_TOLERANCE:.0%}")
    if spec is not None and not report.problems:
        _behaviour(spec, folder, report)


def _check_joint(i: int, j, urdf, movable: list[str], report: _Report) -> None:
    key = f"joints[{i}]"
    if urdf is None or urdf.kind not in ("revolute", "prismatic"):
        what = "a fixed joint" if urdf is not None else "no joint of that name"
        report.add(f"{key}.name", j.name, f"a movable joint of the URDF ({what}); movable: "
                   f"{', '.join(movable)}")
        return
    if urdf.lower <= urdf.upper:           # pybullet reports a continuous joint as (0, -1)
        if j.lower < urdf.lower - LIMIT_TOLERANCE:
            report.add(f"{key}.lower", j.lower, f"a limit within the URDF's [{urdf.lower:.6g}, "
                       f"{urdf.upper:.6g}] rad")
        if j.upper > urdf.upper + LIMIT_TOLERANCE:
            report.add(f"{key}.upper", j.upper, f"a limit within the URDF's [{urdf.lower:.6g}, "
                       f"{urdf.upper:.6g}] rad")
    if urdf.max_velocity > 0 and j.velocity > urdf.max_velocity + LIMIT_TOLERANCE:
        report.add(f"{key}.velocity", j.velocity, f"at most the URDF's {urdf.max_velocity:.6g} rad/s")
    if urdf.max_force > 0 and j.effort > urdf.max_force + LIMIT_TOLERANCE:
        report.add(f"{key}.effort", j.effort, f"at most the URDF's {urdf.max_force:.6g} N·m")


# ------------------------------------------------------------------ behaviour
def _behaviour(spec: RobotSpec, folder: Path, report: _Report) -> None:
    """Holding home and reaching points around it (base at the origin, yaw 0)."""
    from simulator.kinematics import quat_to_matrix, rotation_vector
    from simulator.physics import Sim
    from simulator.robot import Robot

    with Sim(time_step=HOLD_STEP) as sim:
        robot = Robot(sim, spec, folder)
        robot.reset()
        per_control = round(0.05 / HOLD_STEP)
        for _ in range(round(HOLD_TIME / 0.05)):
            robot.apply_commands(0.05)
            sim.step(per_control)
        drift = np.abs(robot.joint_state()[0] - robot.home)
        if not np.all(np.isfinite(drift)) or drift.max() > HOLD_TOLERANCE:
            k = int(np.nanargmax(np.where(np.isfinite(drift), drift, np.inf)))
            report.add("home", list(spec.home), f"a pose the drive holds: {spec.joints[k].name} "
                       f"drifted {drift[k]:.3g} rad in {HOLD_TIME} s (more than {HOLD_TOLERANCE}); "
                       "light links may need link_inertia_floor, or joint_bandwidth is too high")
        home_pos, home_quat = robot.forward_kinematics(robot.home)
        if home_pos[2] <= 0.0:
            report.add("home", list(spec.home), f"a pose with the TCP above the base (TCP z = "
                       f"{home_pos[2]:.3f} m)")
        target_rot = quat_to_matrix(home_quat)
        for offset in IK_OFFSETS:
            target = home_pos + np.asarray(offset)
            q = robot.inverse_kinematics(target, home_quat, iterations=IK_ITERATIONS,
                                         seed=robot.home, tolerance=IK_TOLERANCE / 10)
            pos, quat = robot.forward_kinematics(q)
            err = float(np.linalg.norm(pos - target))
            rot = float(np.linalg.norm(rotation_vector(target_rot @ quat_to_matrix(quat).T)))
            if not (err <= IK_TOLERANCE and rot <= IK_TOLERANCE) or not math.isfinite(err):
                report.add("end_effector_link", spec.end_effector_link,
                           f"a TCP that inverse kinematics moves from home to home + {offset} m "
                           f"(same orientation) within {IK_TOLERANCE} m: missed by {err:.4f} m "
                           f"and {rot:.4f} rad")


def problems_as_dicts(problems: list[Problem]) -> list[dict]:
    return [dataclasses.asdict(p) for p in problems]


__all__ = ["Problem", "check_robot", "problems_as_dicts"]
