"""The evidence a report shows, read from files in the run folder (reports never run the
simulation):

``validation/pfl.json``, ``validation/ssm.json``, ``validation/pfl_in_cell.json``
    the JSON of ``cobotsim validate pfl --json``, ``validate ssm --json`` and
    ``validate pfl --in-cell --json``, as ``cobotsim bench`` saves them at the start of a
    suite (``record.validations``; :mod:`benchmarks.validations`), or as a user saved
    them (``cobotsim validate ssm --json > RUN/validation/ssm.json``). Either a mapping
    with ``rows`` (and ``software_version`` when bench wrote it) or a bare list of rows.
``assess/*.json``
    hazard tables of ``cobotsim assess SCENARIO --json``: rows with ``robot_link``,
    ``region``, ``area_id``, ``kind``, ``reflected_mass``, ``v_max_formula``,
    ``v_max_simulated``, ``programmed_speed``, ``margin``.

Every file is read tolerantly: a missing file is reported as "not run", a file that does
not parse or has no rows as unreadable with the reason; fields a row lacks show as "-".
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

VALIDATION_DIR = "validation"
ASSESS_DIR = "assess"
VALIDATIONS = ("pfl", "ssm", "pfl_in_cell")


@dataclass
class Evidence:
    """One evidence file: ``status`` is ``ok``, ``missing`` or ``unreadable``."""

    name: str
    path: Path
    status: str
    rows: list[dict] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    error: str = ""

    @property
    def software_version(self) -> str | None:
        return self.meta.get("software_version")


def read_evidence(path: Path, name: str) -> Evidence:
    """One JSON file of rows (module docstring)."""
    if not path.is_file():
        return Evidence(name, path, "missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return Evidence(name, path, "unreadable", error=f"not JSON ({exc})")
    meta = {} if isinstance(data, list) else dict(data) if isinstance(data, dict) else {}
    rows = data if isinstance(data, list) else meta.pop("rows", meta.pop("hazards", None))
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return Evidence(name, path, "unreadable", meta=meta,
                        error="no list of rows ('rows') in the file")
    return Evidence(name, path, "ok", rows, meta)


def validations(folder: Path) -> dict[str, Evidence]:
    return {name: read_evidence(folder / VALIDATION_DIR / f"{name}.json", name)
            for name in VALIDATIONS}


def assessments(folder: Path) -> list[Evidence]:
    return [read_evidence(p, p.stem) for p in sorted((folder / ASSESS_DIR).glob("*.json"))]


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def judged(row: dict) -> bool:
    """A rig row that counts (``judged`` as written by validate pfl; true when absent)."""
    return bool(row.get("judged", True))


def rig_summary(rows: list[dict]) -> list[dict]:
    """Per rig test (impact-device, impact-free, clamp...): judged rows, passed, the
    worst relative error and the tolerances."""
    out: dict[str, dict] = {}
    for r in rows:
        if not judged(r):
            continue
        s = out.setdefault(str(r.get("test", "?")), {"rows": 0, "passed": 0, "worst": 0.0,
                                                     "tolerances": set()})
        s["rows"] += 1
        s["passed"] += bool(r.get("passed"))
        error = _number(r.get("error"))
        if abs(error) > abs(s["worst"]):
            s["worst"] = error
        s["tolerances"].add(_number(r.get("tolerance")))
    return [{"test": k, **v} for k, v in out.items()]


def in_cell_summary(rows: list[dict]) -> list[dict]:
    """Per robot and region: strikes, passed, and the range of simulated / predicted."""
    out: dict[tuple, dict] = {}
    for r in rows:
        key = (str(r.get("robot", "?")), str(r.get("region", "?")))
        s = out.setdefault(key, {"strikes": 0, "passed": 0, "low": math.inf, "high": -math.inf,
                                 "tolerances": set()})
        s["strikes"] += 1
        s["passed"] += bool(r.get("passed"))
        ratio = _number(r.get("ratio"))
        if not math.isnan(ratio):
            s["low"], s["high"] = min(s["low"], ratio), max(s["high"], ratio)
        s["tolerances"].add(_number(r.get("tolerance")))
    return [{"robot": k[0], "region": k[1], **v} for k, v in sorted(out.items())]


def failed(rows: list[dict]) -> list[dict]:
    return [r for r in rows if judged(r) and not r.get("passed", False)]
