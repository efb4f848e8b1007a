"""Policies: anything that maps observations to actions.

A policy has ``reset(seed, info)`` and ``act(observation) -> action or action chunk``
(the contract: :mod:`simulator.policies.interface`). The scripted baselines live in
:mod:`simulator.policies.scripted`, remote policies in :mod:`simulator.policies.remote`;
:func:`make_policy` resolves a policy given on the command line
(:mod:`simulator.policies.loading`).
"""
from simulator.policies.interface import CallablePolicy, Interface, check_interface
from simulator.policies.scripted import SCRIPTED, make_scripted


def make_policy(spec: str, env, **options):
    """The policy ``spec`` names for ``env``: ``scripted``, ``module:factory``,
    ``file.py:factory``, ``ws://host:port``, ``openpi://host:port``, ``model.onnx`` or
    ``sb3:ALGO:model.zip`` (options: ``token``, ``timeout``, ``trusted``, ``mapping``)."""
    from simulator.policies.loading import load_policy
    return load_policy(spec, env, **options)


__all__ = ["SCRIPTED", "CallablePolicy", "Interface", "check_interface", "make_policy",
           "make_scripted"]
