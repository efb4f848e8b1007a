"""The Gymnasium env: API conformance, determinism, isolation, bad actions, rendering."""
from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import simulator
from simulator.env import CellEnv
from simulator.policies import make_policy
from tests.conftest import run_policy


@pytest.mark.parametrize("env_id", simulator.ENV_IDS)
@pytest.mark.parametrize("control", ["ee_delta", "joint_position"])
def test_check_env_passes_for_every_registered_id(env_id, control):
    env = gymnasium.make(env_id, control=control)
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


def test_registered_ids_cover_the_catalogue():
    assert "cobotsim/Handover-v0" in simulator.ENV_IDS
    assert set(simulator.ENV_IDS) <= set(gymnasium.registry)


def test_async_vector_env_steps():
    envs = gymnasium.make_vec("cobotsim/Handover-v0", num_envs=2, vectorization_mode="async")
    try:
        obs, _ = envs.reset(seed=[3, 4])
        assert obs["robot_q"].shape == (2, 7)
        for _ in range(3):
            obs, reward, term, trunc, info = envs.step(envs.action_space.sample())
        assert reward.shape == (2,)
        assert not np.allclose(obs["part_pos"][0], obs["part_pos"][1])  # different seeds
    finally:
        envs.close()


def _rollout(env, seed, n=40):
    policy = make_policy("scripted", env)
    obs, _ = env.reset(seed=seed)
    policy.reset(seed)
    frames = [obs]
    for _ in range(n):
        obs, *_ = env.step(policy.act(obs))
        frames.append(obs)
    return frames


def _same(a, b):
    return all(np.array_equal(x[k], y[k]) for x, y in zip(a, b) for k in x)


def test_same_seed_same_trajectory_and_reset_is_reproducible(handover_env):
    first = _rollout(handover_env, 7)
    again = _rollout(handover_env, 7)  # same env, reset restores the saved state
    assert _same(first, again)
    other = _rollout(handover_env, 8)
    assert not _same(first, other)


def test_two_envs_in_one_process_do_not_affect_each_other():
    alone = CellEnv("handover")
    reference = _rollout(alone, 5)
    alone.close()
    a, b = CellEnv("handover"), CellEnv("handover")
    try:
        pa, pb = make_policy("scripted", a), make_policy("scripted", b)
        oa, _ = a.reset(seed=5)
        ob, _ = b.reset(seed=11)
        pa.reset(5)
        pb.reset(11)
        frames = [oa]
        for _ in range(40):  # interleave the two worlds step by step
            oa, *_ = a.step(pa.act(oa))
            ob, *_ = b.step(pb.act(ob))
            frames.append(oa)
        assert _same(frames, reference)
        assert a.sim.body_names == b.sim.body_names  # same names, separate worlds
    finally:
        a.close()
        b.close()


def test_out_of_range_actions_are_clipped(handover_env):
    handover_env.reset(seed=0)
    handover_env.step(np.full(7, 50.0, dtype=np.float32))
    clipped = handover_env.control._pos.copy()
    handover_env.reset(seed=0)
    handover_env.step(np.ones(7, dtype=np.float32))
    assert np.allclose(clipped, handover_env.control._pos)


def test_nan_action_ends_the_episode_as_policy_error(handover_env):
    handover_env.reset(seed=0)
    action = np.zeros(7, dtype=np.float32)
    action[2] = np.nan
    obs, reward, terminated, truncated, info = handover_env.step(action)
    assert terminated and not truncated
    assert info["status"] == "policy_error"
    assert "non-finite" in info["error"] and "[2]" in info["error"]
    assert handover_env.observation_space.contains(obs)


def test_reward_terms_are_named_and_sum_to_the_reward(handover_env):
    obs, _ = handover_env.reset(seed=1)
    _, reward, _, _, info = handover_env.step(np.zeros(7, dtype=np.float32))
    terms = info["reward_terms"]
    assert set(terms) == {"reach", "carry", "grasp", "success", "action"}
    assert reward == pytest.approx(sum(terms.values()))
    assert terms["reach"] < 0  # the gripper starts away from the part


def test_observation_has_human_keypoints_per_region(handover_env):
    obs, _ = handover_env.reset(seed=0)
    assert obs["human_keypoints"].shape == (len(handover_env.human_link_names), 3)
    assert len(handover_env.human_regions) == len(handover_env.human_link_names) >= 15
    head = handover_env.human_link_names.index("head")
    pelvis = handover_env.human_link_names.index("pelvis")
    assert obs["human_keypoints"][head][2] > obs["human_keypoints"][pelvis][2] + 0.4


def test_rgb_array_render_works_headless():
    env = CellEnv("handover", render_mode="rgb_array", render_size=(160, 120))
    try:
        env.reset(seed=0)
        frame = env.render()
        assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
        assert frame.std() > 5  # not a blank image
    finally:
        env.close()


def test_unknown_robot_and_render_mode_are_refused():
    from simulator.errors import UnknownNameError
    with pytest.raises(UnknownNameError, match="Known robots: .*panda"):
        CellEnv("handover", robot="ur3")
    with pytest.raises(ValueError, match="render_mode"):
        CellEnv("handover", render_mode="human")


def test_joint_position_control_reaches_its_targets():
    env = CellEnv("handover", control="joint_position")
    try:
        env.reset(seed=0)
        q = env.robot.home + np.array([0.2, 0.1, -0.1, 0.2, 0.0, 0.1, 0.0])
        action = env.control.action_for(q, 1.0)
        for _ in range(30):
            obs, *_ = env.step(action)
        assert np.max(np.abs(obs["robot_q"] - q)) < 0.02
    finally:
        env.close()


def test_scripted_policy_succeeds_on_a_few_seeds(handover_env):
    policy = make_policy("scripted", handover_env)
    results = [run_policy(handover_env, policy, seed)[1]["success"] for seed in range(3)]
    assert sum(results) >= 2, results
