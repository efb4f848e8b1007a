"""Generate the key tables of docs/scenarios.md and docs/benchmarks.md from the spec
dataclasses.

The rows come from :func:`simulator.spec.schema.describe`, so the tables follow the
code: a new key, unit, default or description appears here once it is in the spec.

    python docs/gen_spec_tables.py            # print the tables (Markdown)
    python docs/gen_spec_tables.py --check    # exit 1 if a guide is stale
    python docs/gen_spec_tables.py --write    # replace the tables in the guides

A guide embeds each table between the markers ``<!-- BEGIN <name> -->`` and
``<!-- END <name> -->`` with ``<name>`` one of ``scenario-keys`` and ``robot-keys``
(docs/scenarios.md) and ``suite-keys`` (docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.suite import SuiteSpec  # noqa: E402
from simulator.spec.robot import RobotSpec  # noqa: E402
from simulator.spec.scenario import ScenarioSpec  # noqa: E402
from simulator.spec.schema import describe  # noqa: E402

DOCS = Path(__file__).resolve().parent
GUIDE = DOCS / "scenarios.md"
TABLES = {"scenario-keys": ScenarioSpec, "robot-keys": RobotSpec}
GUIDES = {GUIDE: TABLES, DOCS / "benchmarks.md": {"suite-keys": SuiteSpec}}


def _value(value) -> str:
    """A default as it would be written in YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value == "(required)" else f'"{value}"' if value == "" else value
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return repr(value)


def _has_children(rows: list[dict], i: int) -> bool:
    key = rows[i]["key"]
    return i + 1 < len(rows) and rows[i + 1]["key"].startswith((key + ".", key + "[]."))


def _plain(text: str) -> str:
    """describe()'s type phrase, shortened for a table: ``a list of 3 (a number, a number,
    a number)`` becomes ``list of 3 numbers``."""
    def fixed(match: re.Match) -> str:
        items = [i.strip() for i in match.group(2).split(",")]
        same = len(set(items)) == 1 and items[0] in ("a number", "a string")
        return (f"list of {match.group(1)} {items[0][2:]}s" if same
                else f"list of {match.group(1)} ({match.group(2)})")
    text = re.sub(r"a list of (\d+) \(([^()]*)\)", fixed, text)
    text = re.sub(r"a list of a (number|string|mapping)\b", r"list of \1s", text)
    text = text.replace("a list of list", "list of lists")
    return re.sub(r"\b(a|an) (string|number|integer|mapping)\b", r"\2", text)


def _type(row: dict, nested: bool) -> str:
    text = row["type"]
    if nested:  # the keys of the mapping follow as their own rows
        if text.startswith("a list of a mapping"):
            text = "a list of a mapping"
        elif text.startswith("a mapping"):
            text = "a mapping" + (" or null" if text.endswith(" or null") else "")
    return _plain(text)


def table(cls) -> str:
    """The Markdown table of every key of ``cls`` (nested keys included)."""
    rows = describe(cls)
    lines = ["| key | type | unit | default | meaning |", "|---|---|---|---|---|"]
    for i, row in enumerate(rows):
        nested = _has_children(rows, i)
        default = row["default"]
        if nested and isinstance(default, dict):
            default = "(see its keys)"
        cells = [f"`{row['key']}`", _type(row, nested), row["unit"] or "-",
                 _value(default), row["doc"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def _block(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- BEGIN {name} -->\n)(.*?)(<!-- END {name} -->)", re.S)


def embedded(text: str, name: str) -> str | None:
    match = _block(name).search(text)
    return None if match is None else match.group(2).strip("\n")


def _update(guide: Path, tables: dict, write: bool) -> int:
    """Check (or with ``write`` replace) the tables embedded in one guide."""
    text = guide.read_text(encoding="utf-8")
    stale = []
    for name, cls in tables.items():
        fresh = table(cls)
        current = embedded(text, name)
        if current is None:
            print(f"{guide}: markers <!-- BEGIN {name} --> / <!-- END {name} --> not found",
                  file=sys.stderr)
            return 1
        if current != fresh:
            stale.append(name)
            text = _block(name).sub(lambda m: m.group(1) + fresh + "\n" + m.group(3), text)
    if write:
        guide.write_text(text, encoding="utf-8")
        print(f"{guide}: " + (f"updated {', '.join(stale)}" if stale else "up to date"))
        return 0
    if stale:
        print(f"{guide}: the tables {', '.join(stale)} differ from the spec classes; "
              "run python docs/gen_spec_tables.py --write", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if a guide's tables are stale")
    mode.add_argument("--write", action="store_true", help="update the tables in the guides")
    args = parser.parse_args(argv)
    if not (args.check or args.write):
        for tables in GUIDES.values():
            for name, cls in tables.items():
                print(f"<!-- BEGIN {name} -->\n{table(cls)}\n<!-- END {name} -->\n")
        return 0
    return max(_update(guide, tables, args.write) for guide, tables in GUIDES.items())


if __name__ == "__main__":
    sys.exit(main())
