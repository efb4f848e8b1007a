"""Robot commands of the ``cobotsim`` command line (registered by :mod:`simulator.cli`).

``cobotsim check-robot PATH [--json]``
    checks a robot folder (``PATH/robot.yaml`` and its URDF; a catalogue name also works)
    and reports every problem in one pass (:func:`simulator.robot_check.check_robot`).
    Exit code 0 when it is sound, 1 with the list of problems.
"""
from __future__ import annotations

import json
from pathlib import Path


def add_commands(subparsers) -> None:
    """Add ``check-robot`` to an argparse sub-parser set."""
    check = subparsers.add_parser("check-robot", help="check a robot folder and report every "
                                  "problem (exit 1 if there is any)")
    check.add_argument("path", help="robot folder holding robot.yaml (or a catalogue robot name)")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=check_robot)


def robot_folder(path: str) -> Path:
    """The folder ``path``, or the catalogue robot of that name when no such folder exists."""
    folder = Path(path)
    if folder.is_dir() or "/" in path or "\\" in path:
        return folder
    from simulator import catalogue
    return catalogue.robot_folder(path)


def check_robot(args) -> int:
    from simulator.robot_check import check_robot as check, problems_as_dicts

    folder = robot_folder(args.path)
    problems = check(folder)
    if args.json:
        print(json.dumps({"folder": str(folder), "ok": not problems,
                          "problems": problems_as_dicts(problems)}, indent=2))
    elif problems:
        print(f"{folder}: {len(problems)} problem(s)")
        for p in problems:
            print(f"  {p}")
    else:
        print(f"{folder}: no problems")
    return 1 if problems else 0
