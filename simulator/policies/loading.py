"""Resolve a policy given by name on the command line or in a suite.

``scripted``          the scripted baseline of the env's task kind;
``module:factory``    a Python factory ``factory(interface, context) -> policy`` in an
                      importable module (or a ``.py`` file path before the colon);
``ws://host:port``    a policy served by ``cobotsim serve-policy`` (or any server that
                      speaks the protocol of docs/policies.md);
``openpi://host:port`` an openpi policy server, with a mapping file
                      (:mod:`simulator.policies.openpi`);
``model.onnx``        an ONNX model with its mapping ``model.onnx.yaml``
                      (:mod:`simulator.policies.onnx_policy`);
``sb3:ALGO:model.zip`` a Stable-Baselines3 model, loaded only with ``trusted=True``
                      (:mod:`simulator.policies.sb3_policy`).

The factory gets the env's :class:`~simulator.policies.interface.Interface` and a plain
``context`` dict (:func:`policy_context`), the same two things a remote server's factory
gets in the handshake, so one factory serves in process and remotely alike.
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from simulator.errors import ConfigError
from simulator.policies.interface import env_interface


def policy_context(env) -> dict:
    """What a policy may want to know about the cell beyond the observation (plain data):
    scenario id, Gymnasium id, robot id, task kind, control period (s), the task's phase
    names, the person's link names and handedness, the robot's base position (m), the
    action's control mode and the arm's joint names (the order of ``robot_q``)."""
    base = env.unwrapped
    spec = base.scenario
    return {"scenario": spec.id, "gym_id": spec.gym_id, "robot": spec.robot.id,
            "task": spec.task.kind, "dt": float(base.dt),
            "phase_names": list(base.phase_names),
            "human_link_names": list(base.human_link_names),
            "handedness": spec.human.handedness,
            "robot_base": [float(v) for v in spec.robot.position],
            "control": base.control.name,
            "joint_names": [j.name for j in base.robot.spec.joints]}


def load_factory(spec: str):
    """The callable named by ``module:attribute`` or ``path/to/file.py:attribute``."""
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise ConfigError(f"policy {spec!r}: expected 'module:factory' or 'file.py:factory'")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise ConfigError(f"policy {spec!r}: no file {path}")
            loader = importlib.util.spec_from_file_location(f"cobotsim_policy_{path.stem}", path)
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"policy {spec!r}: cannot import {module_name!r}: "
                          f"{type(exc).__name__}: {exc}") from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigError(f"policy {spec!r}: {module_name!r} has no callable {attribute!r}")
    return factory


def _remote(url: str, env, token: str | None, timeout: float | None):
    """A connected :class:`~simulator.policies.remote.RemotePolicy`: a server that is
    down, refuses, or does not fit the env is a ConfigError before the first episode."""
    from simulator.policies.protocol import describe_env
    from simulator.policies.remote import DEFAULT_TIMEOUT, RemotePolicy, RemotePolicyError

    policy = RemotePolicy(url, env_interface(env), policy_context(env), token=token,
                          timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
                          description=describe_env(env))
    try:
        policy.connect()
    except RemotePolicyError as exc:
        raise ConfigError(str(exc)) from None
    return policy


def _openpi(url: str, env, mapping: str | None, token: str | None, timeout: float | None):
    from simulator.policies.openpi import OpenpiPolicy
    from simulator.policies.openpi_map import OpenpiMapping

    if mapping is None:
        raise ConfigError(f"policy {url!r}: an openpi server needs a mapping file (--map "
                          "MAPPING.yaml; docs/policies.md)")
    return OpenpiPolicy(url, OpenpiMapping(mapping, env), env, token=token,
                        timeout=10.0 if timeout is None else timeout)


def load_policy(spec: str, env, token: str | None = None, timeout: float | None = None,
                trusted: bool = False, mapping: str | None = None):
    """The policy ``spec`` names (see the module docstring) for ``env``; ``token`` and
    ``timeout`` (s) for a policy server, ``trusted`` for a file format that can execute
    code when loaded (Stable-Baselines3), ``mapping`` the mapping file of an openpi
    server."""
    from simulator.policies.scripted import make_scripted

    if spec == "scripted":
        return make_scripted(env)
    if spec.startswith(("ws://", "wss://")):
        return _remote(spec, env, token, timeout)
    if spec.startswith("openpi://"):
        return _openpi(spec, env, mapping, token, timeout)
    if spec.startswith("sb3:"):
        from simulator.policies.sb3_policy import Sb3Policy
        return Sb3Policy(spec, env_interface(env), trusted=trusted)
    if spec.endswith(".onnx"):
        from simulator.policies.onnx_policy import OnnxPolicy
        return OnnxPolicy(spec, env_interface(env))
    if ":" in spec:
        factory = load_factory(spec)
        try:
            return factory(env_interface(env), policy_context(env))
        except Exception as exc:
            raise ConfigError(f"policy {spec!r}: the factory failed: {type(exc).__name__}: "
                              f"{exc}") from None
    raise ConfigError(f"unknown policy {spec!r}: expected 'scripted', 'module:factory', "
                      "'file.py:factory', 'ws://host:port', 'openpi://host:port', 'model.onnx' or "
                      "'sb3:ALGORITHM:model.zip'")
