"""The other supported Pythons: a fresh install and one episode each (slow; needs their
interpreters and the package index). docs/platforms.md; `pytest -m slow tests/test_platforms.py`."""
from __future__ import annotations

import platform
import sys

import pytest

from benchmarks.platforms import SUPPORTED, check_install, find_interpreter
from simulator.traces import read_attrs

#: the pybullet distribution setup.cfg requires on Linux for each Python
LINUX_BUILD = {"3.10": "pybullet", "3.11": "pybullet", "3.12": "pybullet-arm64", "3.13": "pybullet-arm64"}


def test_every_supported_python_has_a_linux_build():
    assert set(LINUX_BUILD) == set(SUPPORTED)


@pytest.mark.slow
@pytest.mark.parametrize("version", SUPPORTED)
def test_install_and_one_episode(version, tmp_path):
    if version == "%d.%d" % sys.version_info[:2]:
        pytest.skip(f"Python {version} runs this test suite: its install is the one CI makes")
    if platform.system() != "Linux":
        pytest.skip("the expected pybullet builds are listed for Linux")
    interpreter = find_interpreter(version)
    if interpreter is None:
        pytest.skip(f"no Python {version} interpreter (python{version} on the PATH or pyenv's "
                    f"versions/{version}.*)")
    check = check_install(interpreter, tmp_path)
    assert check.ok, f"{check.step} failed with Python {check.python}:\n{check.detail}"
    build = LINUX_BUILD[version]
    assert check.version_line.startswith("cobotsim ") and f" with {build} " in check.version_line
    assert f"on Python {version}." in check.version_line
    attrs = read_attrs(check.trace)
    assert attrs["status"] == "complete" and attrs["python_version"].startswith(f"{version}.")
    assert attrs["pybullet_build"].split()[0] == build
