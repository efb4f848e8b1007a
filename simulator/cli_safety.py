"""Safety commands of the ``cobotsim`` command line (registered by :mod:`simulator.cli`).

``cobotsim stopping-test ROBOT [--json] [--out FILE]``
    measures category 0 and 1 stopping time and distance (ISO 10218-1 Annex B grid) and
    prints them; ``--out`` writes the ``stopping:`` YAML block.
``cobotsim validate pfl [--json] [--full]``
    peak contact force against the two-body model of ISO/TS 15066 Annex A (fast subset,
    or the full grid); exit 1 when a judged row is outside its tolerance.
``cobotsim validate ssm [--json]``
    separation distance and S_p against closed forms on known geometry (1 mm); exit 1
    on failure.

Each command returns its exit code.
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict
from pathlib import Path

SSM_TOLERANCE = 1e-3   # m
#: the fast subset of ``validate pfl``: every region, one mass, one speed, the fine step
#: and the sub-stepped configuration the simulator uses, one clamping force
PFL_FAST = dict(speeds=(0.5,), robot_masses=(10.0,), time_steps=(1 / 4000,),
                clamp_forces=(140.0,))


def add_commands(subparsers) -> None:
    """Add ``stopping-test`` and ``validate {pfl,ssm}`` to an argparse sub-parser set."""
    stop = subparsers.add_parser("stopping-test", help="measure stopping time and distance "
                                 "(ISO 10218-1 Annex B) in simulation")
    stop.add_argument("robot", help="robot name (see 'cobotsim list robots')")
    stop.add_argument("--json", action="store_true", help="print JSON")
    stop.add_argument("--out", default=None, help="write the stopping: YAML block to FILE")
    stop.set_defaults(func=stopping_test)
    val = subparsers.add_parser("validate", help="rerun the safety validations")
    which = val.add_subparsers(dest="validation", required=True)
    pfl = which.add_parser("pfl", help="contact force against ISO/TS 15066 Annex A")
    pfl.add_argument("--json", action="store_true", help="print JSON")
    pfl.add_argument("--full", action="store_true", help="the full grid (slow)")
    pfl.add_argument("--in-cell", action="store_true",
                     help="strike the real person in a cell at every body area with every "
                          "robot (slow: about an hour for the whole grid)")
    pfl.add_argument("--robot", action="append", default=None,
                     help="--in-cell: only this robot (repeatable; default: every robot the "
                          "scenario supports)")
    pfl.add_argument("--scenario", default="crossing", help="--in-cell: the cell (default crossing)")
    pfl.add_argument("--area", type=int, action="append", default=None,
                     help="--in-cell: only this body area, 1-29 (repeatable)")
    pfl.add_argument("--striker", choices=("tcp", "link"), action="append", default=None,
                     help="--in-cell: only this striker (repeatable; default both)")
    pfl.add_argument("--speed", type=float, action="append", default=None,
                     help="--in-cell: strike speed in m/s (repeatable; default 0.25, 0.5, 1.0)")
    pfl.add_argument("--figure", default=None, help="--in-cell: write the ratio figure (PNG)")
    pfl.set_defaults(func=validate_pfl)
    ssm = which.add_parser("ssm", help="separation and S_p against closed forms")
    ssm.add_argument("--json", action="store_true", help="print JSON")
    ssm.set_defaults(func=validate_ssm)


# ------------------------------------------------------------------ stopping-test
def stopping_test(args) -> int:
    from simulator.safety.stopping import stopping_table, to_yaml

    table = stopping_table(args.robot)
    if args.json:
        print(json.dumps(table.as_dict(), indent=2))
    else:
        print(format_stopping(table))
    if args.out:
        Path(args.out).write_text(to_yaml(table))
        print(f"stopping data written to {args.out}")
    return 0


def format_stopping(table) -> str:
    """The records and the TCP tables as text."""
    lines = [f"stopping data of {table.robot} (payload {table.conditions.get('payload')} kg)",
             f"{'cat':>3} {'axis':>4} {'joint':<13}{'%':>5}{'rad/s':>8}{'time s':>8}{'rad':>8}"
             f"{'TCP m/s':>9}{'TCP m':>8}"]
    for r in table.records:
        lines.append(f"{r.category:>3} {r.joint:>4} {r.joint_name:<13}{100 * r.speed_fraction:>5.0f}"
                     f"{r.speed:>8.3f}{r.time:>8.3f}{r.distance:>8.4f}{r.tcp_speed:>9.3f}"
                     f"{r.tcp_distance:>8.4f}")
    for category, data in sorted(table.tcp.items()):
        lines.append(f"category {category} TCP table: speed m/s -> time s, distance m")
        for row in zip(data.speeds, data.times, data.distances):
            lines.append("  {:>7.3f} {:>7.3f} {:>7.4f}".format(*row))
    return "\n".join(lines)


# ------------------------------------------------------------------ validate pfl
def judged(row) -> bool:
    """Whether a PFL row counts for the exit code: clamping, and impacts at the steps the
    simulator relies on (sub-stepped, or 1/4000 s and finer). Coarser steps are printed to
    show why the simulator sub-steps (they are meant to fail)."""
    if row.test.startswith("clamp"):
        return True
    return row.fine_steps > 1 or row.time_step <= 1 / 4000 + 1e-12


def validate_pfl(args) -> int:
    if getattr(args, "in_cell", False):
        return validate_pfl_in_cell(args)
    from simulator.safety import validation

    rows = validation.validate_pfl() if args.full else validation.validate_pfl(**PFL_FAST)
    failed = [r for r in rows if judged(r) and not r.passed]
    if args.json:
        print(json.dumps({"rows": [dict(asdict(r), judged=judged(r)) for r in rows],
                          "failed": len(failed)}, indent=2, default=_json_number))
    else:
        print(validation.format_table(rows))
        print(f"\n{sum(judged(r) for r in rows)} judged rows, {len(failed)} outside tolerance")
    return 1 if failed else 0


def validate_pfl_in_cell(args) -> int:
    from simulator import catalogue
    from simulator.validation import in_cell
    from simulator.version import __version__

    spec, _ = catalogue.load_scenario(args.scenario)
    robots = args.robot or list(spec.robots)
    unknown = [r for r in robots if r not in spec.robots]
    if unknown:
        print(f"cobotsim: error: scenario {args.scenario!r} does not support robot(s) "
              f"{unknown}; supported: {', '.join(spec.robots)}", file=sys.stderr)
        return 2
    bad = [a for a in (args.area or []) if not 1 <= a <= 29]
    if bad or any(not (v > 0 and math.isfinite(v)) for v in (args.speed or [])):
        print(f"cobotsim: error: --area takes 1-29 and --speed a positive speed in m/s "
              f"(got areas {args.area}, speeds {args.speed})", file=sys.stderr)
        return 2
    rows = in_cell.grid(robots, args.area, tuple(args.striker or in_cell.STRIKERS),
                        tuple(args.speed or in_cell.SPEEDS), args.scenario)
    failed = [r for r in rows if in_cell.judged(r) and not r["passed"]]
    if args.figure:
        in_cell.figure(rows, args.figure)
    if args.json:
        finite = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                   for k, v in r.items()} for r in rows]
        print(json.dumps({"software_version": __version__, "scenario": args.scenario,
                          "tolerance": in_cell.TOLERANCE, "rows": finite,
                          "failed": len(failed)}, indent=2))
    else:
        print(in_cell.format_rows(rows))
    return 1 if failed or not any(in_cell.judged(r) for r in rows) else 0


def _json_number(x):
    return None if isinstance(x, float) and not math.isfinite(x) else str(x)


# ------------------------------------------------------------------ validate ssm
def validate_ssm(args) -> int:
    rows = ssm_checks()
    failed = [r for r in rows if not r["passed"]]
    if args.json:
        print(json.dumps({"rows": rows, "failed": len(failed)}, indent=2))
    else:
        print(f"{'check':<44}{'computed m':>12}{'closed form m':>15}{'error mm':>10}  pass "
              f"(tolerance {SSM_TOLERANCE * 1000:g} mm)")
        for r in rows:
            print(f"{r['check']:<44}{r['computed']:>12.5f}{r['expected']:>15.5f}"
                  f"{1000 * r['error']:>10.4f}  {r['passed']}")
        print(f"{len(rows)} checks, {len(failed)} outside tolerance")
    return 1 if failed else 0


def _row(check: str, computed: float, expected: float) -> dict:
    err = float(computed) - float(expected)
    return {"check": check, "computed": float(computed), "expected": float(expected),
            "error": err, "tolerance": SSM_TOLERANCE, "passed": abs(err) <= SSM_TOLERANCE}


def ssm_checks() -> list[dict]:
    """All SSM comparisons: primitive distances, S_p closed forms, a Panda and a person."""
    return _primitive_distances() + _closed_forms() + _panda_and_person()


def _primitive_distances() -> list[dict]:
    from simulator.physics import Sim
    from simulator.safety.separation import BodyDistance

    rows = []
    with Sim(gravity=0.0) as sim:
        a = sim.create_body("a", "sphere", (0.1,), 0.0, position=(0, 0, 1))
        b = sim.create_body("b", "sphere", (0.05,), 0.0, position=(0.5, 0, 1))
        box = sim.create_body("box", "box", (0.1, 0.2, 0.3), 0.0, position=(0, 2, 1))
        spheres = BodyDistance(sim, a, [-1], b, [-1])
        for gap in (0.02, 0.3, 1.0):
            sim.reset_base_pose(b, (0.15 + gap, 0.3 * gap, 1 - 0.2 * gap))
            centre = math.dist((0, 0, 1), (0.15 + gap, 0.3 * gap, 1 - 0.2 * gap))
            rows.append(_row(f"sphere-sphere distance ({gap} m gap)",
                             spheres.closest().distance, centre - 0.15))
        to_box = BodyDistance(sim, box, [-1], b, [-1])
        for x in (0.2, 0.6):
            sim.reset_base_pose(b, (x, 2.05, 1.1))
            rows.append(_row(f"box face-sphere distance (x = {x} m)",
                             to_box.closest().distance, x - 0.1 - 0.05))
    return rows


def _closed_forms() -> list[dict]:
    from simulator.safety.ssm import (SsmParameters, StoppingData, max_robot_speed,
                                      protective_distance)

    rows = []
    c, z_d, z_r, t_r = 0.2, 0.1, 0.05, 0.1
    decel = SsmParameters(reaction_time=t_r, braking="constant_deceleration", deceleration=2.5,
                          intrusion_distance=c, human_uncertainty=z_d, robot_uncertainty=z_r)
    for v_h, v_r in ((1.6, 0.25), (1.6, 1.0), (0.5, 1.5)):
        t_s = v_r / 2.5
        expected = v_h * (t_r + t_s) + v_r * t_r + v_r ** 2 / 5.0 + c + z_d + z_r
        rows.append(_row(f"S_p constant deceleration v_h={v_h} v_r={v_r}",
                         protective_distance(v_h, v_r, decel).s_p, expected))
    data = _panda_stopping() or StoppingData((0.2, 1.0, 2.0), (0.1, 0.3, 0.5), (0.02, 0.15, 0.5))
    table = SsmParameters(reaction_time=t_r, stopping=data, intrusion_distance=c,
                          human_uncertainty=z_d, robot_uncertainty=z_r)
    for v_r in (0.5 * data.max_speed, data.max_speed):
        t_s = float(_interp(v_r, data.speeds, data.times))
        s_s = float(_interp(v_r, data.speeds, data.distances))
        expected = 1.6 * (t_r + t_s) + v_r * t_r + s_s + c + z_d + z_r
        rows.append(_row(f"S_p stopping data v_r={v_r:.3f}",
                         protective_distance(1.6, v_r, table).s_p, expected))
    d = protective_distance(1.6, 0.8, decel).s_p
    rows.append(_row("S_p at v_r,max(S_p(0.8 m/s))",
                     protective_distance(1.6, max_robot_speed(d, 1.6, decel), decel).s_p, d))
    return rows


def _interp(x, xs, ys) -> float:
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return ys[0] if x < xs[0] else ys[-1]


def _panda_stopping():
    from simulator import catalogue
    from simulator.safety.stopping import from_yaml

    path = catalogue.robot_folder("panda") / "stopping.yaml"
    return from_yaml(path.read_text()).tcp.get(1) if path.is_file() else None


def _panda_and_person() -> list[dict]:
    import numpy as np

    from simulator import catalogue
    from simulator.human import Human
    from simulator.physics import Sim
    from simulator.robot import Robot
    from simulator.safety.separation import SeparationMonitor
    from simulator.safety.ssm import SsmParameters

    params = SsmParameters(reaction_time=0.1, braking="constant_deceleration", deceleration=2.0,
                           intrusion_distance=0.1, human_uncertainty=0.02, robot_uncertainty=0.01)
    rows = []
    with Sim() as sim:
        robot = Robot(sim, catalogue.load_robot("panda"), catalogue.robot_folder("panda"),
                      position=(0.0, 0.0, 0.75))
        human = Human(sim, "human", position=(0.85, 0.1), yaw=np.pi)
        monitor = SeparationMonitor(sim, robot, human, params, tracked=False)
        poses = {"home": robot.home,
                 "reaching": robot.home + np.array([0.3, 0.6, 0.0, 0.9, 0.0, -0.3, 0.0])}
        for name, q in poses.items():
            robot.reset(q)
            s = monitor.measure(0.0)
            dense = min(c.distance for c in sim.closest_points(robot.body, human.body_id, 5.0))
            rows.append(_row(f"Panda-person distance ({name})", s.distance, dense))
            # S_p by hand from its terms (ISO/TS 15066 5.5.4), independent of the monitor's
            # composition: the robot is at rest here, so T_s and S_s are the table's first row
            v_h, v_r = s.human_speed, max(s.robot_speed, 0.0)
            t_s, s_s = params.stopping_at(0.0)
            expected = (v_h * (params.reaction_time + t_s) + v_r * params.reaction_time + s_s
                        + params.intrusion_distance + params.human_uncertainty
                        + params.robot_uncertainty)
            rows.append(_row(f"Panda-person S_p ({name})", s.protective_distance, expected))
    return rows
