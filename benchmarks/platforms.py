"""Checks across Python versions and pybullet builds (docs/platforms.md).

``python -m benchmarks.platforms install [--python 3.10 3.12 ...] [--keep DIR]``
    for each supported Python whose interpreter is found (``python3.X`` on the PATH, or
    pyenv's ``$PYENV_ROOT/versions/3.X.*``): a fresh venv, ``pip install -e <repo>``
    (the README's install), ``cobotsim --version`` and one handover episode with
    ``cobotsim run``; one line per interpreter, exit 1 if any check failed.
``python -m benchmarks.platforms compare A.h5 B.h5 [--json]``
    two traces of the same episode (e.g. from two Pythons or pybullet builds), dataset by
    dataset: shapes, largest absolute difference, elements and first row that differ;
    then the root attributes that differ.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")


def find_interpreter(version: str) -> Path | None:
    """A CPython ``version`` ("3.12") interpreter: ``python3.12`` on the PATH, else the
    newest pyenv install of it; None if there is none."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        installs = [p for p in pyenv.iterdir() if re.fullmatch(rf"{re.escape(version)}\.\d+", p.name)]
        installs.sort(key=lambda p: int(p.name.rsplit(".", 1)[1]), reverse=True)
        candidates += [str(p / "bin" / "python3") for p in installs]
    for candidate in filter(None, candidates):
        try:
            out = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return Path(candidate)
    return None


@dataclass
class InstallCheck:
    """What ``install`` found for one interpreter."""

    python: str
    interpreter: str
    ok: bool
    step: str              # the last step run: venv, install, version, run
    version_line: str      # the output of `cobotsim --version`
    trace: str             # the episode's trace file
    detail: str            # the end of the failing step's output, or the episode's line


def _step(argv: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def check_install(interpreter: Path, workdir: Path, repo: Path = ROOT,
                  timeout: float = 1200.0) -> InstallCheck:
    """Install cobotsim from ``repo`` with ``interpreter`` into a fresh venv under
    ``workdir`` and run one seeded handover episode; ``timeout`` s per step."""
    version = subprocess.run([str(interpreter), "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True).stdout.strip()
    check = InstallCheck(version, str(interpreter), False, "venv", "", "", "")
    venv = workdir / "venv"
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    steps = [("venv", [interpreter, "-m", "venv", venv]),
             ("install", [bin_dir / "python", "-m", "pip", "install", "-q", "-e", repo]),
             ("version", [bin_dir / "cobotsim", "--version"]),
             ("run", [bin_dir / "cobotsim", "run", "handover", "--seed", "0", "--out", workdir / "run"])]
    for check.step, argv in steps:
        result = _step(argv, workdir, timeout)
        if result.returncode != 0:
            check.detail = (result.stdout + result.stderr).strip()[-2000:]
            return check
        if check.step == "version":
            check.version_line = result.stdout.strip()
        if check.step == "run":
            check.detail = next((l for l in result.stdout.splitlines() if l.startswith("seed")), "")
    traces = sorted((workdir / "run" / "traces").glob("*.h5"))
    check.trace = str(traces[0]) if traces else ""
    check.ok = bool(traces) and "status=complete" in check.detail
    return check


def _install(args) -> int:
    failed = 0
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    for version in args.python:
        interpreter = find_interpreter(version)
        if interpreter is None:
            print(f"Python {version}: skipped, no interpreter found (python{version} on the PATH "
                  f"or pyenv's versions/{version}.*)")
            continue
        workdir = Path(tempfile.mkdtemp(prefix=f"cobotsim-py{version}-", dir=args.keep))
        check = check_install(interpreter, workdir)
        failed += not check.ok
        state = "ok" if check.ok else f"FAILED at {check.step}"
        print(f"Python {check.python} ({check.interpreter}): {state}\n  {check.version_line}\n  "
              f"{check.detail}")
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


def _number(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.3g}"


def _compare(args) -> int:
    from simulator.traces.compare import attribute_differences, compare_traces

    diffs = compare_traces(args.a, args.b)
    attrs = attribute_differences(args.a, args.b)
    if args.json:
        print(json.dumps({"datasets": [asdict(d) | {"identical": d.identical} for d in diffs],
                          "attributes": {k: [str(x), str(y)] for k, (x, y) in attrs.items()}},
                         indent=2))
        return 0
    width = max(len(d.path) for d in diffs)
    print(f"{'dataset':<{width}}  {'units':<16}{'shape A':<14}{'shape B':<14}{'max |A-B|':>11}"
          f"{'differ':>8}{'first row':>10}")
    for d in diffs:
        note = "  (wall clock)" if d.wall_clock else ""
        print(f"{d.path:<{width}}  {d.units:<16}{str(d.shape_a):<14}{str(d.shape_b):<14}"
              f"{_number(d.max_abs):>11}{d.different:>8}{str(d.first_row):>10}{note}")
    same = sum(d.identical for d in diffs)
    print(f"{same} of {len(diffs)} datasets and table fields identical")
    for name, (x, y) in attrs.items():
        print(f"attribute {name}: {x!r} | {y!r}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.platforms",
                                     description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="install and run one episode with other Pythons")
    inst.add_argument("--python", nargs="+", default=list(SUPPORTED), metavar="X.Y",
                      help=f"the Python versions (default: {' '.join(SUPPORTED)})")
    inst.add_argument("--keep", default=None, metavar="DIR",
                      help="keep the venvs and traces in DIR (default: removed)")
    inst.set_defaults(func=_install)
    cmp_ = sub.add_parser("compare", help="compare two traces dataset by dataset")
    cmp_.add_argument("a")
    cmp_.add_argument("b")
    cmp_.add_argument("--json", action="store_true", help="print JSON")
    cmp_.set_defaults(func=_compare)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
