"""Packaging: the wheel ships every package, the catalogue, the reference data and the
console script; setup.cfg pins exactly the runtime dependencies."""
from __future__ import annotations

import configparser
import importlib.util
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = {"pybullet", "numpy", "gymnasium", "h5py", "opencv-python-headless", "matplotlib",
           "PyYAML"}
#: the builds of pybullet that install the same modules; exactly one is required per platform
PYBULLET_BUILDS = ("pybullet", "pybullet-arm64")


def _missing_build_tools() -> str | None:
    if importlib.util.find_spec("setuptools") is None:
        return "setuptools is not installed; cannot build the wheel offline"
    import setuptools

    major_minor = tuple(int(p) for p in re.findall(r"\d+", setuptools.__version__)[:2])
    # setuptools ships bdist_wheel itself only from 70.1; before that it needs `wheel`
    if major_minor < (70, 1) and importlib.util.find_spec("wheel") is None:
        return f"the `wheel` package is not installed (setuptools {setuptools.__version__})"
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[set[str], str]:
    """The names in the built wheel and its entry_points.txt."""
    reason = _missing_build_tools()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    # build from a copy so that no build/ or *.egg-info is left in the checkout
    src = build / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", "__pycache__", ".pytest_cache", "notebooks"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                             "--no-build-isolation", "-q", "-w", str(out), str(src)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    wheels = list(out.glob("cobotsim-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as zf:
        names = set(zf.namelist())
        entry_points = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert entry_points, "the wheel has no entry_points.txt"
        return names, zf.read(entry_points[0]).decode()


def test_wheel_holds_the_engine_and_every_subpackage(wheel):
    names, _ = wheel
    assert "simulator/physics.py" in names
    packages = sorted(p.relative_to(ROOT).as_posix()
                      for p in (ROOT / "simulator").rglob("__init__.py")
                      if "__pycache__" not in p.parts)
    assert len(packages) >= 6  # simulator and its subpackages
    missing = [p for p in packages if p not in names]
    assert not missing, f"packages missing from the wheel (setup.cfg `packages`): {missing}"


def test_wheel_holds_the_catalogue_and_reference_data(wheel):
    names, _ = wheel
    for path in ("cobotsim_robots/panda/robot.yaml", "cobotsim_scenarios/handover.yaml",
                 "cobotsim_data/iso_ts_15066/regions.csv", "cobotsim_data/iso_ts_15066/areas.csv"):
        assert path in names, path
    shipped = {n for n in names if re.fullmatch(r"cobotsim_data/anthropometry/[^/]+\.csv", n)}
    in_tree = {f"cobotsim_data/anthropometry/{p.name}"
               for p in (ROOT / "data" / "anthropometry").glob("*.csv")}
    assert in_tree and shipped == in_tree
    robots = {f"cobotsim_robots/{p.parent.name}/robot.yaml" for p in (ROOT / "robots").glob("*/robot.yaml")}
    scenarios = {f"cobotsim_scenarios/{p.name}" for p in (ROOT / "scenarios").glob("*.yaml")}
    assert robots <= names and scenarios <= names


def test_wheel_declares_the_console_script(wheel):
    _, entry_points = wheel
    parser = configparser.ConfigParser()
    parser.read_string(entry_points)
    assert parser.get("console_scripts", "cobotsim").strip() == "simulator.cli:main"


def _install_requires() -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = [l.strip() for l in cfg.get("options", "install_requires").splitlines() if l.strip()]
    return [Requirement(line) for line in lines]


def test_install_requires_names_exactly_the_runtime_dependencies_with_ranges():
    requirements = _install_requires()
    names = [r.name for r in requirements]
    assert set(names) == RUNTIME | set(PYBULLET_BUILDS)
    assert len(names) == len(set(names))  # no duplicates
    for r in requirements:
        bounds = [str(s) for s in r.specifier]
        assert any(b.startswith(">=") for b in bounds), f"{r.name}: no lower bound in {r}"
        assert any(b.startswith("<") and not b.startswith("<=") for b in bounds), \
            f"{r.name}: no exclusive upper bound in {r}"
        assert (r.marker is not None) == (r.name in PYBULLET_BUILDS), f"{r}: marker"


#: one environment per (Python, operating system, machine) the markers must decide
PLATFORMS = [(python, system, machine)
             for python in ("3.10", "3.11", "3.12", "3.13")
             for system, machine in (("Linux", "x86_64"), ("Linux", "aarch64"),
                                     ("Darwin", "arm64"), ("Darwin", "x86_64"),
                                     ("Windows", "AMD64"))]


@pytest.mark.parametrize("python,system,machine", PLATFORMS)
def test_exactly_one_pybullet_build_is_required_on_every_platform(python, system, machine):
    environment = {"python_version": python, "python_full_version": f"{python}.0",
                   "platform_system": system, "platform_machine": machine,
                   "sys_platform": {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}[system]}
    chosen = [r.name for r in _install_requires()
              if r.name in PYBULLET_BUILDS and r.marker.evaluate(environment)]
    assert len(chosen) == 1, (environment, chosen)
    # the official build where it publishes wheels (Linux x86_64, CPython <= 3.11; from
    # source on other Linux machines), the fork on 3.12+ and on Windows and macOS
    official = python in ("3.10", "3.11") and system == "Linux"
    assert chosen == ["pybullet" if official else "pybullet-arm64"]


def test_python_requires_is_the_supported_range():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    supported = SpecifierSet(cfg.get("options", "python_requires"))
    assert [v for v in ("3.9.18", "3.10.0", "3.11.7", "3.12.1", "3.13.0", "3.14.0")
            if v in supported] == ["3.10.0", "3.11.7", "3.12.1", "3.13.0"]
