"""Shared fixtures. Every test is headless (pybullet DIRECT, software rendering)."""
from __future__ import annotations

import pytest

import simulator  # noqa: F401  (registers the Gymnasium ids)


@pytest.fixture()
def handover_env():
    from simulator.env import CellEnv

    env = CellEnv("handover")
    yield env
    env.close()


def run_policy(env, policy, seed: int, max_steps: int | None = None):
    """Run one episode; returns (steps, last info, rewards)."""
    obs, info = env.reset(seed=seed)
    policy.reset(seed, info)
    rewards = []
    steps = 0
    while True:
        obs, reward, terminated, truncated, info = env.step(policy.act(obs))
        rewards.append(reward)
        steps += 1
        if terminated or truncated or (max_steps is not None and steps >= max_steps):
            return steps, info, rewards
