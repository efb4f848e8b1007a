"""The in-cell force validation: every body area struck on the real person of a cell, by
every robot of the catalogue, with the TCP and with an arm link, at several speeds.

For each (robot, area, striker) the person is placed to present the area
(:func:`~simulator.validation.placement.place_for`): each anchor of the area in turn, on
the cell's own robot mount and, for areas below its reach, with the robot on the floor,
at several distances and directions from the robot's base, until a strike is isolated
(:mod:`simulator.validation.strike`). The placement found at the first speed serves the
others. An area no placement reaches gives a row that says so (never a silent gap).

``cobotsim validate pfl --in-cell`` prints the table; :func:`figure` draws the ratio of
every strike by region and robot.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from simulator import catalogue
from simulator.bodymodel import load_body_model
from simulator.validation.placement import FAR, area_anchors, build_cell, place_for, postures_for
from simulator.validation.strike import TOLERANCE, PlacementError, StrikeResult, strike

log = logging.getLogger(__name__)

SCENARIO = "crossing"           # every catalogue robot works in it, the floor around is open
SPEEDS = (0.25, 0.5, 1.0)       # m/s
STRIKERS = ("tcp", "link")
DISTANCES = (0.5, 0.6, 0.4, 0.7)            # m from the robot's base axis to the anchor
DIRECTIONS = ((-1.0, 0.0), (0.0, -1.0), (0.0, 1.0), (1.0, 0.0))
MOUNTS = ("cell", "floor")
MAX_TRIES = 32                  # placements tried per (robot, area, striker)


@dataclass(frozen=True)
class Placement:
    """Where a strike was made: the anchor (person link, nth anchor of the area), the
    person's posture, the robot's mount, the direction (world xy) and distance (m) from
    its base."""

    link: str
    nth: int
    posture: str
    mount: str
    direction: tuple
    distance: float


def arm_link(robot) -> int:
    """The arm link an arm-link strike uses: the link of the second-to-last arm joint (the
    Panda's and the iiwa's link 6, the UR5e's wrist 2, the xArm6's link 5), a housing of
    the forearm or wrist that leads the arm into a person in front of it; the elbow (link
    4) was tried first and was rarely isolated (the hand or the wrist touched first)."""
    return robot.arm[-2]


def _attempt(scenario, robot, area_id, striker, speed, place: Placement):
    cell, target = place_for(scenario, robot, area_id, place.link, place.distance,
                             place.direction, place.mount, place.nth, place.posture)
    try:
        link = arm_link(cell.robot) if striker == "link" else None
        return strike(cell, target, striker, speed, link=link, scenario=scenario)
    finally:
        cell.close()


def placements(scenario: str, robot: str, area_id: int):
    """The placements to try for an area, in order: the cell's mount first, the nearer
    distances first, every anchor, posture and direction at each."""
    look = build_cell(scenario, robot, FAR, 0.0)
    try:
        anchors = area_anchors(look.human, area_id)
    finally:
        look.close()
    for mount in MOUNTS:
        for distance in DISTANCES:
            for link, nth in anchors:
                for posture in postures_for(link):
                    for direction in DIRECTIONS:
                        yield Placement(link, nth, posture, mount, direction, distance)


def strike_area(robot: str, area_id: int, striker: str, speeds=SPEEDS,
                scenario: str = SCENARIO) -> list[tuple[StrikeResult, Placement | None]]:
    """The strikes of one (robot, area, striker) at every speed (module docstring)."""
    found, first, tries = None, None, 0
    for place in placements(scenario, robot, area_id):
        if tries >= MAX_TRIES:
            break
        tries += 1
        try:
            result = _attempt(scenario, robot, area_id, striker, speeds[0], place)
        except (PlacementError, ValueError) as exc:
            log.debug("area %d %s %s: %s", area_id, striker, place, exc)
            continue
        if result.isolated:
            found, first = place, result
            break
    if found is None:
        return [(_unplaced(robot, scenario, area_id, striker, speed, tries), None)
                for speed in speeds]
    out = [(first, found)]
    for speed in speeds[1:]:
        try:
            out.append((_attempt(scenario, robot, area_id, striker, speed, found), found))
        except (PlacementError, ValueError) as exc:
            out.append((_unplaced(robot, scenario, area_id, striker, speed, tries,
                                  f"placement failed at this speed: {exc}"), found))
    return out


def _unplaced(robot, scenario, area_id, striker, speed, tries, note=None) -> StrikeResult:
    model = load_body_model()
    area = model.area(area_id)
    region = model.region(area.region_id)
    nan = math.nan
    return StrikeResult(robot, scenario, area_id, area.name, region.id, "", striker, "", speed,
                        nan, nan, region.effective_mass, region.spring_constant, nan, nan,
                        nan, nan, nan, nan, False,
                        note or f"no isolated strike in {tries} placements")


def grid(robots=None, areas=None, strikers=STRIKERS, speeds=SPEEDS,
         scenario: str = SCENARIO) -> list[dict]:
    """Every strike of the grid as a row (StrikeResult fields, ``passed``, ``ratio_pulse``
    and the placement)."""
    robots = list(robots) if robots else list(catalogue.load_scenario(scenario)[0].robots)
    areas = list(areas) if areas else sorted(load_body_model().areas)
    rows = []
    for robot in robots:
        for area_id in areas:
            for striker in strikers:
                for result, place in strike_area(robot, area_id, striker, speeds, scenario):
                    row = result.as_dict()
                    row.update(mount=place.mount if place else "", nth=place.nth if place else -1,
                               posture=place.posture if place else "",
                               distance=place.distance if place else math.nan,
                               direction=list(place.direction) if place else [])
                    rows.append(row)
                    log.info("%s area %d %s %.2f m/s: ratio %.3f %s", robot, area_id, striker,
                             result.speed, result.ratio, result.note)
    return rows


def judged(row: dict) -> bool:
    """Rows the verdict counts: isolated strikes."""
    return bool(row["isolated"])


def format_rows(rows) -> str:
    """The rows as a text table, then the count outside the tolerance."""
    head = (f"{'robot':<7}{'area':>5} {'region':<15}{'striker':<8}{'robot link':<19}{'v m/s':>7}"
            f"{'m_R kg':>8}{'m_app':>8}{'m_H':>6}{'sim N':>8}{'A N':>8}{'ratio':>7}  verdict")
    out = [head]
    for r in rows:
        verdict = ("pass" if r["passed"] else "FAIL") if r["isolated"] else f"n/a: {r['note']}"
        out.append(f"{r['robot']:<7}{r['area_id']:>5} {r['region']:<15}{r['striker']:<8}"
                   f"{r['robot_link']:<19}{r['relative_speed']:>7.3f}{r['reflected_mass']:>8.2f}"
                   f"{r['apparent_mass']:>8.2f}{r['m_h']:>6.1f}{r['simulated']:>8.1f}"
                   f"{r['predicted']:>8.1f}{r['ratio']:>7.3f}  {verdict}")
    judged_rows = [r for r in rows if judged(r)]
    failed = [r for r in judged_rows if not r["passed"]]
    out.append(f"{len(judged_rows)} isolated strikes of {len(rows)}, {len(failed)} outside "
               f"±{TOLERANCE:.0%} of Annex A (m_H of Table A.3)")
    return "\n".join(out)


def figure(rows, path) -> None:
    """Ratio simulated / Annex A of every isolated strike, by region (x) and robot
    (marker), with the ±15 % band; written to ``path`` (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regions = list(load_body_model().regions)
    robots = sorted({r["robot"] for r in rows})
    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.axhspan(1 - TOLERANCE, 1 + TOLERANCE, color="0.9", label=f"±{TOLERANCE:.0%}")
    for j, robot in enumerate(robots):
        own = [r for r in rows if r["robot"] == robot and judged(r)]
        xs = [regions.index(r["region"]) + (j - len(robots) / 2) * 0.12 for r in own]
        ax.scatter(xs, [r["ratio"] for r in own], s=14, marker="os^D"[j % 4], label=robot)
    ax.set_xticks(range(len(regions)), regions, rotation=35, ha="right")
    ax.set_ylabel("simulated peak / Annex A")
    ax.axhline(1.0, color="0.4", lw=0.8)
    ax.legend(ncol=5, fontsize=8, loc="upper left")
    ax.set_title("In-cell strikes: isolated strikes, TCP and arm link, all speeds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
