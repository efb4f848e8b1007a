"""The versions written into every trace: cobotsim's and that of the pybullet build it runs.

Two distributions install the same modules ``pybullet`` and ``pybullet_data``: the
official ``pybullet`` and the maintained fork ``pybullet-arm64``; setup.cfg requires
exactly one of them per platform (docs/platforms.md). They are told apart here through
their installed metadata (``importlib.metadata``), without importing pybullet.
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import platform
from pathlib import Path

__version__ = "0.1.0"

#: the distributions that install the module ``pybullet``
PYBULLET_DISTRIBUTIONS = ("pybullet", "pybullet-arm64")


def installed_pybullet_distributions() -> dict[str, str]:
    """Every installed distribution of :data:`PYBULLET_DISTRIBUTIONS`: name -> version.
    More than one is a broken environment: they overwrite each other's files."""
    found = {}
    for name in PYBULLET_DISTRIBUTIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _module_owner(names: list[str]) -> str | None:
    """The one of ``names`` whose installed record lists the importable pybullet
    extension with its size on disk (the last one installed), else None."""
    spec = importlib.util.find_spec("pybullet")
    if spec is None or not spec.origin:
        return None
    origin = Path(spec.origin).resolve()
    size = origin.stat().st_size
    owners = []
    for name in names:
        try:
            files = importlib.metadata.distribution(name).files or ()
        except importlib.metadata.PackageNotFoundError:
            continue
        if any(f.name == origin.name and f.size == size and Path(f.locate()).resolve() == origin
               for f in files):
            owners.append(name)
    return owners[0] if len(owners) == 1 else None


@functools.lru_cache(maxsize=1)
def pybullet_build() -> str:
    """The pybullet build this process runs: ``"<distribution> <version>"``, e.g.
    ``"pybullet 3.2.7"`` or ``"pybullet-arm64 3.2.8"``. With both installed, the one
    whose files are on disk, followed by ``"(conflict: ...)"``; ``"unknown"`` when no
    known distribution is installed (e.g. a build from a source checkout)."""
    found = installed_pybullet_distributions()
    if not found:
        return "unknown"
    if len(found) == 1:
        (name, version), = found.items()
        return f"{name} {version}"
    both = " and ".join(f"{n} {v}" for n, v in found.items())
    owner = _module_owner(list(found))
    running = f"{owner} {found[owner]}" if owner else "unknown"
    return f"{running} (conflict: {both} are installed; docs/platforms.md)"


def trace_versions() -> dict[str, str]:
    """The versions a trace records besides cobotsim's: what decides whether two runs of
    the same episode are bit-identical (docs/platforms.md measures each one's effect)."""
    import numpy

    return {"pybullet_build": pybullet_build(), "numpy_version": numpy.__version__,
            "python_version": platform.python_version()}


def version_text() -> str:
    """One line for ``cobotsim --version``: cobotsim, the pybullet build, the Python."""
    return (f"cobotsim {__version__} with {pybullet_build()} on Python "
            f"{platform.python_version()} ({platform.system()} {platform.machine()})")
