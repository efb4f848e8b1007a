"""Stable-Baselines3 models: refused unless trusted; when SB3 is installed, a model made
in the test runs through the adapter and acts as SB3 itself predicts."""
from __future__ import annotations

import sys

import gymnasium
import numpy as np
import pytest

from simulator.env import CellEnv
from simulator.errors import ConfigError
from simulator.policies import make_policy
from simulator.runner import run_episode


@pytest.fixture(scope="module")
def env():
    e = CellEnv("handover")
    e.unwrapped.max_steps = 10
    yield e
    e.close()


def test_an_untrusted_model_file_is_not_loaded(env, tmp_path):
    model = tmp_path / "model.zip"
    model.write_bytes(b"PK\x05\x06" + b"\x00" * 18)   # an empty zip: never opened
    loaded_before = "stable_baselines3" in sys.modules
    with pytest.raises(ConfigError, match="can execute code.*--trusted-model"):
        make_policy(f"sb3:PPO:{model}", env)
    assert ("stable_baselines3" in sys.modules) == loaded_before   # not even imported
    with pytest.raises(ConfigError, match="ALGORITHM one of PPO"):
        make_policy(f"sb3:XYZ:{model}", env)
    with pytest.raises(ConfigError, match="no model file"):
        make_policy(f"sb3:PPO:{tmp_path / 'missing.zip'}", env, trusted=True)


class _Spaces(gymnasium.Env):
    """Only the spaces an SB3 model is built for: two of the cell's observation keys."""

    def __init__(self, cell):
        obs = cell.observation_space.spaces
        self.observation_space = gymnasium.spaces.Dict({k: obs[k] for k in ("ee_pos", "robot_q")})
        self.action_space = cell.action_space

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def test_a_trusted_sb3_model_acts_as_sb3_predicts(env, tmp_path):
    sb3 = pytest.importorskip("stable_baselines3")  # an optional extra; see docs/policies.md
    model = sb3.PPO("MultiInputPolicy", _Spaces(env), n_steps=16, seed=0, device="cpu")
    model.save(tmp_path / "ppo")
    policy = make_policy(f"sb3:PPO:{tmp_path / 'ppo.zip'}", env, trusted=True)
    assert set(policy.interface.observation) == {"ee_pos", "robot_q"}
    obs, _ = env.reset(seed=0)
    expected, _ = model.predict({k: obs[k] for k in ("ee_pos", "robot_q")}, deterministic=True)
    assert np.allclose(policy.act(obs), expected)
    assert run_episode(env, policy, 0, tmp_path, "ppo").status == "complete"
