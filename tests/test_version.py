"""Which pybullet build runs: `cobotsim --version`, the trace header, a broken install
with both builds (docs/platforms.md)."""
from __future__ import annotations

import configparser
import importlib.metadata
import platform
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from simulator import version
from simulator.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _required_build() -> str:
    """The pybullet distribution that setup.cfg's markers choose for this interpreter."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    requirements = [Requirement(line) for line in cfg.get("options", "install_requires").splitlines()
                    if line.strip()]
    chosen = [r.name for r in requirements
              if r.name in version.PYBULLET_DISTRIBUTIONS and r.marker.evaluate()]
    assert len(chosen) == 1, chosen
    return chosen[0]


def test_the_installed_build_is_the_one_setup_cfg_requires_here():
    installed = version.installed_pybullet_distributions()
    required = _required_build()
    assert list(installed) == [required], \
        f"installed {installed}, setup.cfg requires {required} on this Python (docs/platforms.md)"
    assert version.pybullet_build() == f"{required} {importlib.metadata.version(required)}"


def test_the_module_in_use_is_traced_to_its_distribution():
    (name, _), = version.installed_pybullet_distributions().items()
    assert version._module_owner([name]) == name


def test_version_names_cobotsim_the_pybullet_build_and_python(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out == version.version_text()
    assert out.startswith(f"cobotsim {version.__version__} with {version.pybullet_build()} on Python "
                          f"{platform.python_version()} ")


def test_both_builds_installed_is_reported_as_a_conflict(monkeypatch):
    (name, real), = version.installed_pybullet_distributions().items()
    other = next(n for n in version.PYBULLET_DISTRIBUTIONS if n != name)
    monkeypatch.setattr(version, "installed_pybullet_distributions", lambda: {name: real, other: "9.9.9"})
    version.pybullet_build.cache_clear()
    try:
        text = version.pybullet_build()
    finally:
        version.pybullet_build.cache_clear()
    # the module on disk is the real one's; the other is named with the way out
    assert text.startswith(f"{name} {real} (conflict: ")
    assert f"{other} 9.9.9" in text and "docs/platforms.md" in text
