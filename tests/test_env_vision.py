"""Camera and language observations for physical-AI controllers."""
from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from simulator.env import CellEnv
from simulator.errors import ConfigError
from simulator.policies.interface import env_interface
from simulator.policies.wire import decode, encode


def test_scene_and_wrist_cameras_with_depth_and_an_instruction():
    env = CellEnv("handover", cameras=("scene", "wrist"), camera_size=(64, 48),
                  camera_depth=True, instruction=True)
    try:
        check_env(env, skip_render_check=True)
        obs, _ = env.reset(seed=0)
        for cam in ("scene", "wrist"):
            rgb, depth = obs[f"{cam}_rgb"], obs[f"{cam}_depth"]
            assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8 and rgb.std() > 5
            assert depth.shape == (48, 64) and depth.dtype == np.float32
            assert 0.02 <= depth.min() and depth.max() <= 5.0
        # the wrist camera looks down along the gripper at the table: nearer than the scene
        assert np.median(obs["wrist_depth"]) < np.median(obs["scene_depth"])
        before = obs["wrist_rgb"].copy()
        for _ in range(10):
            obs, *_ = env.step(np.array([0.8, 0, -0.5, 0, 0, 0, 1], dtype=np.float32))
        assert np.abs(obs["wrist_rgb"].astype(int) - before).mean() > 1.0   # it moved along
        assert obs["instruction"] == env.scenario.description
        iface = env_interface(env)
        assert iface.observation["wrist_rgb"].shape == (48, 64, 3)
        back = decode(encode({"type": "act", "observation": obs}))["observation"]
        assert np.array_equal(back["scene_rgb"], obs["scene_rgb"])
        assert back["instruction"] == obs["instruction"]
    finally:
        env.close()


def test_no_cameras_by_default_and_bad_camera_settings():
    env = CellEnv("handover")
    try:
        assert not any(k.endswith("_rgb") for k in env.observation_space.spaces)
        assert "instruction" not in env.observation_space.spaces
    finally:
        env.close()
    with pytest.raises(ConfigError, match="unknown camera"):
        CellEnv("handover", cameras=("ceiling",))
    with pytest.raises(ConfigError, match="8 to 2048"):
        CellEnv("handover", cameras=("scene",), camera_size=(4, 4))
