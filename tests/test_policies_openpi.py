"""openpi servers: the worked LIBERO- and DROID-style mappings against a server that
follows openpi's protocol (tests/fixtures/openpi_server.py), and every bad input as one
error before the first episode."""
from __future__ import annotations

import os

import numpy as np
import pytest

from simulator.cli import main
from simulator.env import CellEnv
from simulator.errors import ConfigError, SpecError
from simulator.policies import make_policy
from simulator.policies.openpi_map import OpenpiMapping, axis_angle, resize_image
from simulator.runner import run_episode
from simulator.traces import read_trace
from tests.fixtures.openpi_server import OpenpiServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBERO = os.path.join(ROOT, "docs", "openpi", "libero.yaml")
DROID = os.path.join(ROOT, "docs", "openpi", "droid.yaml")
STEPS = 12
LIBERO_KEYS = ("observation/image", "observation/wrist_image", "observation/state", "prompt")


def _libero_chunk(request):
    """10 actions: row k moves +x by 0.1 (k + 1) and closes the gripper (LIBERO +1)."""
    chunk = np.zeros((10, 7), dtype=np.float32)
    chunk[:, 0] = 0.1 * np.arange(1, 11)
    chunk[:, 6] = 1.0
    return chunk


@pytest.fixture(scope="module")
def vision_env():
    env = CellEnv("handover", cameras=("scene", "wrist"), camera_size=(64, 48), instruction=True)
    env.unwrapped.max_steps = STEPS
    yield env
    env.close()


def test_libero_mapping_runs_chunks_under_latency_and_replanning(vision_env, tmp_path):
    server = OpenpiServer(_libero_chunk, metadata={"action_horizon": 10}, required=LIBERO_KEYS)
    with server.running() as url:
        policy = make_policy(url, vision_env, mapping=LIBERO, timeout=5.0)
        try:
            r = run_episode(vision_env, policy, 0, tmp_path, url, latency=0.1)
        finally:
            policy.close()
    assert r.status == "complete" and r.steps == STEPS
    first = server.requests[1]  # requests[0] is the check made when the policy was made
    for key in ("observation/image", "observation/wrist_image"):
        assert first[key].shape == (224, 224, 3) and first[key].dtype == np.uint8
    # a 48 x 64 image padded into 224 x 224: 168 rows of picture, 28 black rows above
    assert not first["observation/image"][:28].any() and first["observation/image"][28:196].any()
    assert first["prompt"] == vision_env.unwrapped.instruction
    env = CellEnv("handover")
    try:
        obs, _ = env.reset(seed=0)
    finally:
        env.close()
    expected = np.concatenate([obs["ee_pos"], axis_angle(obs["ee_quat"]),
                               0.5 * obs["gripper"], -0.5 * obs["gripper"]]).astype(np.float32)
    assert first["observation/state"].dtype == np.float32
    np.testing.assert_allclose(first["observation/state"], expected, atol=1e-6)
    t = read_trace(r.trace)
    called = np.asarray(t["/policy/called"])
    # asked at 0; its 5 actions (horizon 5) arrive at 2 (0.1 s = 2 control steps) and
    # last until 6; asked again at 7, when the chunk is used up
    assert np.flatnonzero(called).tolist() == [0, 7]
    action = np.asarray(t["/action"])
    assert not action[:2].any()                       # 0.1 s = 2 control steps of latency
    np.testing.assert_allclose(action[2], [0.2, 0, 0, 0, 0, 0, -1.0], atol=1e-6)  # row 0, mapped
    np.testing.assert_allclose(action[6, 0], 1.0)     # row 4: 0.5 x 2
    assert t.attrs["policy_protocol"] == "openpi" and '"action_horizon": 10' in t.attrs["policy_server"]
    assert np.allclose(np.asarray(t["/policy/compute_time"])[called], 0.0025)
    assert r.trace.name == "handover_openpi_127.0.0.1_seed00000.h5"


def test_droid_mapping_integrates_joint_velocities(tmp_path):
    env = CellEnv("handover", control="joint_position", cameras=("scene", "wrist"),
                  camera_size=(32, 32), instruction=True)
    env.unwrapped.max_steps = 4
    velocity = np.array([0.2, -0.1, 0, 0, 0, 0, 0.3, 1.0])  # rad/s ..., gripper closed
    server = OpenpiServer(lambda request: np.tile(velocity, (8, 1)))
    try:
        with server.running() as url:
            policy = make_policy(url, env, mapping=DROID, timeout=5.0)
            try:
                r = run_episode(env, policy, 1, tmp_path, "droid")
            finally:
                policy.close()
        q0 = server.requests[1]["observation/joint_position"]
        robot = env.unwrapped.robot
        lower, upper = robot.lower, robot.upper
    finally:
        env.close()
    assert r.status == "complete"
    assert server.requests[1]["observation/gripper_position"].shape == (1,)
    action = np.asarray(read_trace(r.trace)["/action"])
    for k in range(2):
        target = q0 + velocity[:7] * 0.05 * (k + 1)
        np.testing.assert_allclose(action[k, :7], 2 * (target - lower) / (upper - lower) - 1,
                                   atol=1e-5)
    assert action[0, 7] == -1.0  # gripper position 1 (closed) -> -1


def test_resize_pads_or_stretches_to_the_declared_size():
    image = np.full((10, 20, 3), 200, dtype=np.uint8)
    padded = resize_image(image, 20, 20, "pad")
    assert padded.shape == (20, 20, 3) and not padded[:5].any() and padded[5:15].all()
    assert resize_image(image, 20, 20, "stretch").all()


def _write(tmp_path, text):
    path = tmp_path / "map.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, key, expected", [
    ("observation: {img: {image: scene_rgb, size: [8, 8]}}\naction: {width: 7}\n",
     "observation.img.image", "run with --camera scene"),
    ("observation: {s: {state: [ee_pos, torque]}}\naction: {width: 7}\n",
     "observation.s.state[1]", "an observation of the cell"),
    ("observation: {s: {state: [ee_pos]}}\naction: {width: 7, select: [0, 1, 2, 3, 4, 5, 9]}\n",
     "action.select", "indices into the server's action of width 7"),
    ("observation: {s: {state: [ee_pos]}}\naction: {width: 8, control: joint_position}\n",
     "action.control", "run with --control joint_position"),
    ("observation: {s: {state: [ee_pos]}}\n", "action", "this key (it is required)"),
])
def test_a_bad_mapping_names_the_file_and_the_key(env_plain, tmp_path, text, key, expected):
    with pytest.raises(SpecError) as err:
        OpenpiMapping(_write(tmp_path, text), env_plain)
    assert f"map.yaml: {key}" in str(err.value) and expected in str(err.value)


@pytest.fixture(scope="module")
def env_plain():
    env = CellEnv("handover")
    yield env
    env.close()


def test_a_server_that_does_not_fit_is_one_error_before_the_first_episode(vision_env,
                                                                          tmp_path, capsys):
    wide = OpenpiServer(lambda request: np.zeros((10, 8), dtype=np.float32))
    with wide.running() as url:
        with pytest.raises(ConfigError, match=r"has shape \(10, 8\); the mapping expects \(H, 7\)"):
            make_policy(url, vision_env, mapping=LIBERO, timeout=5.0)
    mapping = _write(tmp_path, "metadata: {action_horizon: 50}\nobservation: {s: {state: [ee_pos]}}\n"
                               "action: {width: 7}\n")
    with OpenpiServer(_libero_chunk, metadata={"action_horizon": 10}).running() as url:
        assert main(["run", "handover", "--policy", url, "--map", mapping,
                     "--out", str(tmp_path / "run")]) == 2
        with pytest.raises(ConfigError, match="needs a mapping file"):
            make_policy(url, vision_env)
    err = capsys.readouterr().err
    assert err.count("cobotsim: error:") == 1
    assert "(metadata): action_horizon: the mapping needs 50, the server has 10" in err
    assert not (tmp_path / "run" / "traces").exists() or not list((tmp_path / "run" / "traces").iterdir())
    failing = OpenpiServer(_libero_chunk, required=("observation/never_sent",))
    with failing.running() as url:
        with pytest.raises(ConfigError, match="failed: KeyError"):
            make_policy(url, vision_env, mapping=LIBERO, timeout=5.0)


def test_the_guide_shows_the_tested_mappings():
    guide = open(os.path.join(ROOT, "docs", "policies.md"), encoding="utf-8").read()
    for path in (LIBERO, DROID):
        assert open(path, encoding="utf-8").read() in guide
