"""Robot commands of the ``cobotsim`` command line (registered by :mod:`simulator.cli`).

``cobotsim check-robot PATH [--json]``
    checks a robot folder (``PATH/robot.yaml`` and its URDF; a catalogue name also works)
    and reports every problem in one pass (:func:`simulator.robot_check.check_robot`),
    then the contact parameters its URDF declares and what they act on
    (:mod:`simulator.robot_contacts`). Exit code 0 when it is sound, 1 with the list of
    problems.
"""
from __future__ import annotations

import json
from pathlib import Path

from simulator.robot_contacts import NOTE, describe, urdf_contact_tags


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
    contacts = _contact_tags(folder)
    if args.json:
        print(json.dumps({"folder": str(folder), "ok": not problems,
                          "problems": problems_as_dicts(problems),
                          "urdf_contacts": contacts,
                          "urdf_contacts_note": NOTE if contacts else ""}, indent=2))
        return 1 if problems else 0
    if problems:
        print(f"{folder}: {len(problems)} problem(s)")
        for p in problems:
            print(f"  {p}")
    else:
        print(f"{folder}: no problems")
    lines = describe(contacts)
    if lines:
        print("URDF contact parameters:")
        for line in lines:
            print(f"  {line}")
    return 1 if problems else 0


def _contact_tags(folder: Path) -> list[dict]:
    """The URDF's <contact> values of the robot in ``folder`` ([] when it cannot be read)."""
    from simulator.errors import SpecError
    from simulator.spec.loading import load_spec
    from simulator.spec.robot import RobotSpec
    try:
        spec, _ = load_spec(RobotSpec, folder / "robot.yaml")
    except (SpecError, OSError):
        return []
    return urdf_contact_tags(spec.urdf_path(folder))
