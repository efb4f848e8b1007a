"""``manifest.json``: what a run was, so its numbers can be traced and reproduced.

Software (cobotsim's version, the git commit and whether the tree had changes when run
from a clone, dependency versions), the platform, the suite (file, SHA-256 and full
text), SHA-256 of every scenario and robot file and of the ISO/TS 15066 limit tables it
ran with, the command line, backend, workers and shard, start and end (UTC), and the
episodes by status.
"""
from __future__ import annotations

import hashlib
import os
import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from simulator import catalogue
from simulator.resources import data_dir
from simulator.version import __version__

DEPENDENCIES = ("pybullet", "numpy", "gymnasium", "h5py", "PyYAML", "opencv-python-headless",
                "matplotlib", "ray", "tqdm")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_revision() -> dict | None:
    """The commit of the clone cobotsim runs from (None for an installed package)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=root, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "modified": bool(status.strip())}


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def software() -> dict:
    versions = {}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cobotsim": __version__, "git": git_revision(), "python": platform.python_version(),
            "dependencies": versions}


def machine() -> dict:
    return {"platform": platform.platform(), "cpu": _cpu(), "cores": os.cpu_count(),
            "host": socket.gethostname()}


def inputs(suite, episodes) -> dict:
    """SHA-256 of the suite, of every scenario (its file, or the variant text that ran)
    and robot file, and of the limit tables."""
    scenarios, robots = {}, {}
    for e in episodes:
        key = f"{e.configuration}/{e.scenario}"
        if key not in scenarios:
            text = (e.scenario_text if e.scenario_text is not None
                    else catalogue.scenario_path(e.source).read_text(encoding="utf-8"))
            scenarios[key] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if e.robot not in robots:
            robots[e.robot] = _sha256(catalogue.robot_folder(e.robot) / "robot.yaml")
    limits = {p.name: _sha256(p) for p in sorted((data_dir() / "iso_ts_15066").glob("*.csv"))}
    return {"suite": {"id": suite.spec.id, "file": str(suite.file), "sha256": suite.sha256,
                      "text": suite.text},
            "scenarios": scenarios, "robots": robots, "limit_tables": limits}


def manifest(suite, episodes, *, backend: str, workers: int, shard, started: str,
             argv: list[str] | None = None) -> dict:
    """The manifest of a run as it starts (``ended`` and ``episodes`` filled at the end)."""
    return {"format": "cobotsim-bench", "format_version": 1, "software": software(),
            "machine": machine(), **inputs(suite, episodes),
            "command": list(sys.argv if argv is None else argv), "backend": backend,
            "workers": workers, "shard": None if shard is None else f"{shard[0]}/{shard[1]}",
            "planned": len(episodes), "started": started, "ended": None, "episodes": None}
