"""The policy contract: what a controller receives and returns, and the check that a
policy and an env agree before the first step.

A **policy** is any object with

``reset(seed, info)``
    called at the start of each episode with the episode's seed and the env's reset
    ``info``;
``act(observation) -> action``
    the env's observation (a dict of arrays) in, one action or an **action chunk** out: an
    array of the action's shape, or of shape (H, *action shape) for H actions to be
    executed one per control step;

and optionally an ``interface`` attribute (a :class:`Interface`) declaring what it
expects. The interface is checked against the env's before the first step
(:func:`check_interface`): a mismatch fails at once and names every difference, instead
of a wrong shape surfacing as a crash many steps later.

An :class:`Interface` is plain data (shapes and dtypes of every observation key and of
the action) and travels as JSON-like maps in the remote protocol (docs/policies.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from gymnasium import spaces

from simulator.errors import ConfigError


@dataclass(frozen=True)
class ArraySpec:
    """Shape and dtype (numpy name, e.g. ``float32``) of one array; a text observation
    (the language instruction) is shape () with dtype ``str``."""

    shape: tuple[int, ...]
    dtype: str

    def as_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_dict(cls, data: dict, where: str) -> "ArraySpec":
        try:
            dtype = "str" if data["dtype"] == "str" else str(np.dtype(data["dtype"]))
            return cls(tuple(int(n) for n in data["shape"]), dtype)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: expected {{'shape': [ints], 'dtype': numpy dtype "
                              f"name}}, got {data!r} ({exc})") from None


@dataclass(frozen=True)
class Interface:
    """What a policy takes and gives: observation keys with their array specs, and the
    action's array spec (one action; a chunk adds a leading axis)."""

    observation: dict[str, ArraySpec]
    action: ArraySpec
    extras: dict = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict:
        return {"observation": {k: v.as_dict() for k, v in sorted(self.observation.items())},
                "action": self.action.as_dict()}

    @classmethod
    def from_dict(cls, data: dict, where: str = "interface") -> "Interface":
        if not isinstance(data, dict) or "observation" not in data or "action" not in data:
            raise ConfigError(f"{where}: expected a map with 'observation' and 'action', got "
                              f"{data!r}")
        obs = data["observation"]
        if not isinstance(obs, dict):
            raise ConfigError(f"{where}.observation: expected a map of key -> array spec")
        return cls({str(k): ArraySpec.from_dict(v, f"{where}.observation.{k}")
                    for k, v in obs.items()},
                   ArraySpec.from_dict(data["action"], f"{where}.action"))


def _space_spec(space) -> ArraySpec:
    if isinstance(space, spaces.Box):
        return ArraySpec(tuple(space.shape), str(space.dtype))
    if isinstance(space, spaces.Discrete):
        return ArraySpec((), "int64")
    if isinstance(space, spaces.Text):
        return ArraySpec((), "str")
    raise ConfigError(f"observation space {space!r} has no array form in the policy interface")


def env_interface(env) -> Interface:
    """The interface an env offers: its observation and action spaces."""
    base = env.unwrapped
    obs = base.observation_space
    keys = obs.spaces if isinstance(obs, spaces.Dict) else {"observation": obs}
    return Interface({k: _space_spec(s) for k, s in keys.items()}, _space_spec(base.action_space))


def interface_differences(wanted: Interface, offered: Interface) -> list[str]:
    """Every way ``offered`` (the env's) fails what ``wanted`` (the policy's) expects: a
    key it lacks, a shape or dtype that differs. Keys the env offers beyond those wanted
    are fine (a policy may ignore observations)."""
    out = []
    for key, spec in sorted(wanted.observation.items()):
        have = offered.observation.get(key)
        if have is None:
            out.append(f"observation {key!r}: the policy needs it, the env has no such key "
                       f"(it has {', '.join(sorted(offered.observation))})")
        elif have.shape != spec.shape:
            out.append(f"observation {key!r}: policy expects shape {spec.shape}, env gives "
                       f"{have.shape}")
        elif have.dtype != spec.dtype:
            out.append(f"observation {key!r}: policy expects dtype {spec.dtype}, env gives "
                       f"{have.dtype}")
    if wanted.action.shape != offered.action.shape:
        out.append(f"action: policy gives shape {wanted.action.shape}, env takes "
                   f"{offered.action.shape}")
    return out


def check_interface(policy, env) -> None:
    """Raise :class:`ConfigError` naming every difference when ``policy`` declares an
    interface the env does not offer; a policy without ``interface`` passes."""
    wanted = getattr(policy, "interface", None)
    if wanted is None:
        return
    if isinstance(wanted, dict):
        wanted = Interface.from_dict(wanted, "policy interface")
    problems = interface_differences(wanted, env_interface(env))
    if problems:
        raise ConfigError("the policy does not fit the env: " + "; ".join(problems))


def as_action_chunk(action, action_spec: ArraySpec) -> np.ndarray:
    """The policy's output as an (H, *action shape) float64 chunk, H >= 1; raises
    ValueError naming what is wrong (shape, non-finite values)."""
    a = np.asarray(action, dtype=np.float64)
    shape = tuple(action_spec.shape)
    if a.shape == shape:
        a = a[None]
    elif not (a.ndim == len(shape) + 1 and a.shape[1:] == shape and a.shape[0] >= 1):
        raise ValueError(f"the policy returned shape {a.shape}; expected {shape} or (H, "
                         f"{', '.join(map(str, shape))}) for a chunk of H actions")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"the policy returned non-finite values at "
                         f"{np.argwhere(~np.isfinite(a)).tolist()[:5]}")
    return a


class CallablePolicy:
    """Any Python callable ``fn(observation) -> action`` as a policy (reset does nothing
    unless ``reset`` is given: ``reset(seed, info)``)."""

    def __init__(self, fn, reset=None, interface: Interface | None = None) -> None:
        if not callable(fn):
            raise ConfigError(f"a callable policy needs a callable, got {fn!r}")
        self._fn, self._reset, self.interface = fn, reset, interface

    def reset(self, seed=None, info=None) -> None:
        if self._reset is not None:
            self._reset(seed, info)

    def act(self, observation):
        return self._fn(observation)
