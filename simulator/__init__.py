"""cobotsim: a safety simulator for collaborative robots that share their cell with people.

Importing this package registers one Gymnasium id per scenario, e.g.
``gymnasium.make("cobotsim/Handover-v0")``: the shipped ones and those in the user's
catalogue folders (``COBOTSIM_CATALOGUE``; see :mod:`simulator.catalogue`).
"""
from simulator.version import __version__
from simulator.catalogue import gym_ids, register_all

ENV_IDS = register_all(strict=False)

__all__ = ["__version__", "ENV_IDS", "gym_ids"]
