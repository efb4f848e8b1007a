"""Stable-Baselines3 models as policies (optional: ``pip install stable-baselines3``).

Given as ``sb3:ALGORITHM:path/to/model.zip`` (``sb3:PPO:runs/ppo_handover.zip``). An SB3
model file holds pickled Python objects, and loading it can execute code from the file,
so it is loaded only when the user says the file is trusted (``trusted=True``, the
command line's ``--trusted-model``); otherwise nothing is read and the refusal says why.

The model acts deterministically (``predict(..., deterministic=True)``) on the env's
observation dict, restricted to the keys of the model's own observation space; a model
trained on a flat Box observation gets the keys named in ``keys``, flattened and
concatenated in that order. The model's spaces are checked against the env's before the
first step, like any declared interface.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.errors import ConfigError
from simulator.policies.interface import ArraySpec, Interface

ALGORITHMS = ("PPO", "SAC", "TD3", "A2C", "DDPG", "DQN")


def parse(spec: str) -> tuple[str, Path]:
    """``sb3:ALGORITHM:path`` -> (algorithm, path)."""
    parts = spec.split(":", 2)
    if len(parts) != 3 or parts[0] != "sb3" or parts[1] not in ALGORITHMS:
        raise ConfigError(f"policy {spec!r}: expected 'sb3:ALGORITHM:model.zip' with ALGORITHM "
                          f"one of {', '.join(ALGORITHMS)}")
    return parts[1], Path(parts[2])


class Sb3Policy:
    """A Stable-Baselines3 model (see the module docstring).

    Args:
        spec: ``sb3:ALGORITHM:path``.
        interface: the env's interface.
        trusted: the user vouches for the file (it can execute code when loaded).
        keys: for a model with a flat Box observation: the env's observation keys it was
            trained on, in order.
    """

    def __init__(self, spec: str, interface: Interface, trusted: bool = False,
                 keys=None) -> None:
        algorithm, path = parse(spec)
        if not path.is_file():
            raise ConfigError(f"policy {spec!r}: no model file {path}")
        if not trusted:
            raise ConfigError(f"policy {spec!r}: a Stable-Baselines3 file can execute code when "
                              "it is loaded; load it only if you trust where it comes from, "
                              "with --trusted-model (trusted=True in Python)")
        try:
            import stable_baselines3
        except ImportError:
            raise ConfigError("Stable-Baselines3 policies need: pip install stable-baselines3") from None
        self.model = getattr(stable_baselines3, algorithm).load(str(path), device="cpu")
        self.keys = list(keys) if keys else None
        self.interface = self._interface(interface)

    def _interface(self, env: Interface) -> Interface:
        from gymnasium import spaces
        space = self.model.observation_space
        if isinstance(space, spaces.Dict):
            obs = {k: ArraySpec(tuple(s.shape), str(s.dtype)) for k, s in space.spaces.items()}
        else:
            if not self.keys:
                raise ConfigError("this model takes one flat observation vector: name the env's "
                                  "observation keys it was trained on (keys=[...])")
            size = sum(int(np.prod(env.observation[k].shape)) for k in self.keys
                       if k in env.observation)
            if size != int(np.prod(space.shape)):
                raise ConfigError(f"the model takes {int(np.prod(space.shape))} observation "
                                  f"values; the keys {self.keys} give {size}")
            obs = {k: env.observation[k] for k in self.keys}
        action = ArraySpec(tuple(self.model.action_space.shape), str(self.model.action_space.dtype))
        return Interface(obs, action)

    def reset(self, seed=None, info=None) -> None:
        """Stateless (a recurrent model would keep its state here)."""

    def act(self, observation):
        if self.keys:
            obs = np.concatenate([np.asarray(observation[k], np.float32).ravel() for k in self.keys])
        else:
            obs = {k: np.asarray(observation[k]) for k in self.interface.observation}
        action, _ = self.model.predict(obs, deterministic=True)
        return np.asarray(action, dtype=np.float64)
