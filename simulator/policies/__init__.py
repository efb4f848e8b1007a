"""Policies: anything that maps observations to actions.

A policy has ``reset(seed, info)`` and ``act(observation) -> action``. The scripted
baselines live in :mod:`simulator.policies.scripted`; :func:`make_policy` resolves a
policy name given on the command line.
"""
from simulator.errors import UnknownNameError
from simulator.policies.scripted import SCRIPTED, make_scripted


def make_policy(name: str, env):
    """The policy called ``name`` for ``env`` (for now: ``scripted``)."""
    if name == "scripted":
        return make_scripted(env)
    raise UnknownNameError("policy", name, ["scripted"])


__all__ = ["SCRIPTED", "make_policy", "make_scripted"]
