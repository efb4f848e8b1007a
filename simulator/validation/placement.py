"""Where the person stands, and in what posture, for a strike at one body area in a cell.

A strike validation (:mod:`simulator.validation.strike`) needs the area facing the robot
and within its reach, on the real person of the cell. :func:`place_for` builds the
scenario's cell with its person (body, handedness; no variations, no program), poses them
(:data:`POSTURES`), lets them settle, reads where the area's anchor is and which way its
surface faces, and builds the cell again with the person turned and moved so that the
anchor lies ``distance`` m from the robot's base axis along ``direction`` (unit, world xy)
at its own height, its surface facing the base. The person's own drives hold the posture.

Frames: world, m; the anchor and its outward normal as in :mod:`simulator.safety.areas`.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import numpy as np

from simulator import catalogue
from simulator.cell import Cell
from simulator.human.arm_ik import axis_angle_quat
from simulator.human.layout import segment_name
from simulator.kinematics import quat_to_matrix
from simulator.safety.areas import AreaMap
from simulator.spec.human import VariationsSpec

log = logging.getLogger(__name__)

SETTLE_TIME = 1.5        # s the person settles into a posture
CONTROL_PERIOD = 0.05    # s, the control step of the settling loop
FAR = (6.0, 6.0)         # m: where the person stands for the first look (out of everyone's way)
ARM_SEGMENTS = ("upper_arm", "forearm", "hand")
#: posture -> the palm of the arm on the struck side, from its shoulder in the person's
#: frame (forward, outward, up; m), or ``None`` (arms hanging); ``head_up`` tilts the head
#: back by HEAD_UP rad (exposing the front of the neck)
POSTURES = {"standing": None, "reaching": (0.40, 0.0, -0.12), "abducted": (0.0, 0.45, 0.0),
            "head_up": None}
HEAD_UP = 0.5


@dataclass(frozen=True)
class Target:
    """A body area on the placed person: area id, the human link (name, pybullet index),
    the anchor point (m, world) and the outward surface normal there (unit, world)."""

    area_id: int
    link: str
    link_index: int
    point: np.ndarray
    normal: np.ndarray


def postures_for(link: str) -> tuple[str, ...]:
    """The postures that may expose an area of ``link``, in the order tried: for the
    arm's areas the arm reaching forward or held out sideways (their inner side faces the
    trunk while the arm hangs); the neck with the head tilted back; the chest's shoulder
    joint with the arm out of the way; standing for the rest."""
    segment = segment_name(link)
    if segment in ARM_SEGMENTS:
        return ("reaching", "abducted")
    if segment == "neck":
        return ("head_up", "standing")
    if segment == "chest":
        return ("standing", "abducted")
    return ("standing",)


def person_spec(spec, position, yaw_deg: float):
    """The scenario's person standing at ``position`` facing ``yaw_deg``: no variations,
    reactions or distractions (a validation strikes a person who holds still)."""
    human = spec.human
    return replace(human, position=tuple(float(v) for v in position), yaw_deg=float(yaw_deg),
                   variations=VariationsSpec(), reaction=replace(human.reaction, behaviour="none"),
                   distraction=replace(human.distraction, rate=0.0))


def cell_spec(scenario: str, robot: str, mount: str = "cell"):
    """The scenario's spec with ``robot``; ``mount="floor"``: the robot's base on the
    floor at its place in the cell, the fixtures removed (for areas below the reach of
    the cell's mount: the legs of a standing person under a robot on a 0.75 m table)."""
    spec, _ = catalogue.load_scenario(scenario)
    placed = replace(spec.robot, id=robot)
    if mount == "floor":
        placed = replace(placed, position=(*spec.robot.position[:2], 0.0))
        spec = replace(spec, fixtures=())
    elif mount != "cell":
        raise ValueError(f"mount must be 'cell' or 'floor', got {mount!r}")
    return replace(spec, robot=placed)


def build_cell(scenario: str, robot: str, position, yaw_deg: float, mount: str = "cell") -> Cell:
    """The cell of ``scenario`` with ``robot`` (on ``mount``) and its person at
    ``position`` (m, world xy) facing ``yaw_deg`` (deg)."""
    spec = cell_spec(scenario, robot, mount)
    spec = replace(spec, human=person_spec(spec, position, yaw_deg))
    return Cell(spec, catalogue.load_robot(robot), catalogue.robot_folder(robot))


def pose_and_settle(cell: Cell, posture: str, side: str | None, seconds: float = SETTLE_TIME) -> None:
    """Hold the person in ``posture`` (the arm of ``side`` for ``reaching``) and the robot
    at home for ``seconds`` of control steps."""
    human, robot, sim = cell.human, cell.robot, cell.sim
    palm = POSTURES[posture]
    side = side or human.handedness
    if palm is not None:
        _, yaw = human.root_target
        forward = np.array([math.cos(yaw), math.sin(yaw), 0.0])
        outward = np.array([-math.sin(yaw), math.cos(yaw), 0.0]) * (1.0 if side == "left" else -1.0)
        human.set_arm_target(side, human.shoulder_position(side) + palm[0] * forward
                             + palm[1] * outward + np.array([0.0, 0.0, palm[2]]))
    if posture == "head_up":
        human.set_joint("head", axis_angle_quat((0.0, 1.0, 0.0), -HEAD_UP))
    cell.springs.watch(None)
    steps = max(1, int(round(CONTROL_PERIOD / sim.time_step)))
    for _ in range(int(round(seconds / CONTROL_PERIOD))):
        human.update(sim.time, CONTROL_PERIOD)
        robot.apply_commands(CONTROL_PERIOD)
        sim.step(steps)


def anchor_target(cell: Cell, area_id: int, link: str | None = None, nth: int = 0) -> Target:
    """The ``nth`` anchor of ``area_id`` (on ``link`` if given) on the cell's person, now."""
    human, sim = cell.human, cell.sim
    areas = AreaMap(human)
    for hl in human.links:
        if link is not None and hl.name != link:
            continue
        anchors = [a for a in areas.anchors(hl.index) if a.area_id == area_id]
        for anchor in anchors[nth:nth + 1]:
            pos, orn = sim.link_state(human.body_id, hl.index)
            rot = quat_to_matrix(orn)
            return Target(area_id, hl.name, hl.index, pos + rot @ np.asarray(anchor.point),
                          rot @ np.asarray(anchor.normal))
    raise ValueError(f"no anchor {nth} of area {area_id}" + (f" on {link}" if link else ""))


def area_anchors(human, area_id: int) -> list[tuple[str, int]]:
    """Every (link, nth) anchor of ``area_id`` on the person."""
    areas = AreaMap(human)
    return [(l.name, n) for l in human.links
            for n in range(sum(a.area_id == area_id for a in areas.anchors(l.index)))]


def place_for(scenario: str, robot: str, area_id: int, link: str, distance: float,
              direction=(1.0, 0.0), mount: str = "cell", nth: int = 0,
              posture: str | None = None) -> tuple[Cell, Target]:
    """A cell whose person presents ``area_id`` of ``link`` to the robot (module
    docstring); returns the settled cell and the target. Raises ``ValueError`` when the
    person would stand in a fixture."""
    posture = posture or postures_for(link)[0]
    side = link.rsplit("_", 1)[1] if link.endswith(("_left", "_right")) else None
    spec = cell_spec(scenario, robot, mount)
    yaw0 = 0.0
    look = build_cell(scenario, robot, FAR, yaw0, mount)
    try:
        pose_and_settle(look, posture, side)
        seen = anchor_target(look, area_id, link, nth)
        root0 = np.append(np.asarray(FAR, float), 0.0)
    finally:
        look.close()
    u = np.asarray(direction, float) / np.linalg.norm(direction)
    # turn the person so that the normal's horizontal part points back at the base (-u)
    normal_angle = math.atan2(seen.normal[1], seen.normal[0])
    turn = math.atan2(-u[1], -u[0]) - normal_angle
    rot = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    base = np.asarray(spec.robot.position[:2], float)
    anchor_xy = base + distance * u
    root = anchor_xy - rot @ (seen.point[:2] - root0[:2])
    yaw = math.degrees(yaw0 + turn)
    cell = build_cell(scenario, robot, root, yaw, mount)
    try:
        for fixed in cell.fixed_bodies[1:]:  # the floor is fixed_bodies[0]
            if cell.sim.closest_points(cell.human.body_id, fixed, 0.01):
                raise ValueError(f"the person would stand in fixture "
                                 f"{cell.sim.body_name(fixed)!r} at {distance} m")
        pose_and_settle(cell, posture, side)
        target = anchor_target(cell, area_id, link, nth)
    except Exception:
        cell.close()
        raise
    log.debug("area %d (%s): person at (%.3f, %.3f) yaw %.1f deg, anchor at %s", area_id,
              link, root[0], root[1], yaw, np.round(target.point, 3))
    return cell, target
