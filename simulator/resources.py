"""Where the shipped catalogue and reference data live.

In a source checkout or an editable install the folders ``robots/``, ``scenarios/`` and
``data/`` sit next to the ``simulator`` package. A regular (non-editable) install ships
them as the packages ``cobotsim_robots``, ``cobotsim_scenarios`` and ``cobotsim_data``
(mapped in ``setup.cfg``); both layouts are found here.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=None)
def shipped_dir(name: str) -> Path:
    """The shipped folder ``name`` (``robots``, ``scenarios`` or ``data``)."""
    candidate = _SOURCE_ROOT / name
    if candidate.is_dir() and (_SOURCE_ROOT / "simulator").is_dir():
        return candidate
    spec = importlib.util.find_spec(f"cobotsim_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"cobotsim's shipped folder {name!r} is missing from this install")
    return Path(list(spec.submodule_search_locations)[0])


def data_dir() -> Path:
    return shipped_dir("data")


def robots_dir() -> Path:
    return shipped_dir("robots")


def scenarios_dir() -> Path:
    return shipped_dir("scenarios")
