"""The validations a suite run saves as its evidence (``record.validations``), so that a
report, which never runs the simulation, can show them (docs/reports.md).

At the start of a run, before any episode, each named validation runs as the command
line would run it, with the same Python and cobotsim, and its JSON goes to
``OUT/validation/<name>.json`` wrapped with the software version, the command, when it
ran and its exit code (1: some rows outside their tolerance; the rows say which):

=============  ====================================================  ==================
name           command                                               cost (2 cores)
=============  ====================================================  ==================
``pfl``        ``cobotsim validate pfl --json`` (the fast subset)    about 2 s
``ssm``        ``cobotsim validate ssm --json``                      about 1 s
``pfl_in_cell`` ``cobotsim validate pfl --in-cell --json``           the in-cell grid
=============  ====================================================  ==================

A validation that fails to run (the command is not there, its output is not JSON)
leaves a file with ``error`` and the end of its standard error: the report says why
the evidence is missing. A resumed run keeps the files it has.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from simulator.version import __version__

from benchmarks.manifest import now
from benchmarks.metrics import json_ready
from benchmarks.results import write_json

log = logging.getLogger(__name__)
FOLDER = "validation"
COMMANDS = {"pfl": ["validate", "pfl", "--json"], "ssm": ["validate", "ssm", "--json"],
            "pfl_in_cell": ["validate", "pfl", "--in-cell", "--json"]}
TIMEOUT = 3600.0  # s of wall-clock for one validation


def run_validation(name: str) -> dict:
    """Run one validation (module docstring) and return what is saved of it."""
    command = [sys.executable, "-m", "simulator", *COMMANDS[name]]
    record = {"software_version": __version__, "command": "cobotsim " + " ".join(COMMANDS[name]),
              "created": now()}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {**record, "error": f"{type(exc).__name__}: {exc}"}
    record["exit_code"] = done.returncode
    try:
        data = json.loads(done.stdout)
    except ValueError:
        tail = "\n".join(done.stderr.strip().splitlines()[-3:])
        return {**record, "error": f"exit code {done.returncode}, no JSON output: {tail}"}
    return {**record, **(data if isinstance(data, dict) else {"rows": data})}


def save_validations(out: Path, names, echo=print) -> list[Path]:
    """Run the named validations that ``out/validation/`` does not hold yet."""
    written = []
    for name in names:
        path = Path(out) / FOLDER / f"{name}.json"
        if path.exists():
            continue
        path.parent.mkdir(exist_ok=True)
        echo(f"cobotsim bench: validation {name} ({' '.join(COMMANDS[name])}) for the report's evidence")
        record = run_validation(name)
        if "error" in record:
            log.warning("validation %s did not run: %s", name, record["error"])
        write_json(path, json_ready(record))  # NaN as null, infinity as "inf"
        written.append(path)
    return written
