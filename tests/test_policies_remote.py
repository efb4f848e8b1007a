"""The policy contract and remote policies: a real WebSocket server on loopback."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from simulator.env import CellEnv
from simulator.errors import ConfigError
from simulator.policies import make_policy
from simulator.policies.interface import (ArraySpec, CallablePolicy, Interface,
                                          as_action_chunk, check_interface, env_interface)
from simulator.policies.remote import RemotePolicy, RemotePolicyError
from simulator.policies.server import PolicyServer
from simulator.policies.wire import decode, encode
from simulator.runner import run_episode
from simulator.traces import read_trace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "policies.py")
STEPS = 30


@pytest.fixture(scope="module")
def env():
    e = CellEnv("handover")
    e.unwrapped.max_steps = STEPS  # short episodes: the comparison needs no more
    yield e
    e.close()


@pytest.fixture(scope="module")
def server_process():
    """``cobotsim serve-policy`` in its own process, on a free loopback port."""
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "serve-policy",
                             f"{FIXTURES}:towards", "--port", "0", "--token", "s3cret"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on ws://127.0.0.1:"), (line, proc.stderr.read())
    yield proc, line.split()[-1]
    proc.terminate()
    proc.wait(timeout=10)


def _robot_q(path):
    t = read_trace(path, allow_partial=True)
    return np.asarray(t["/robot/q"]), t.attrs["status"]


def test_a_served_policy_gives_the_same_trace_as_in_process(env, server_process, tmp_path):
    _, url = server_process
    local = run_episode(env, make_policy(f"{FIXTURES}:towards", env), 7, tmp_path / "local", "p")
    remote_policy = make_policy(url, env, token="s3cret")
    try:
        remote = run_episode(env, remote_policy, 7, tmp_path / "remote", "p")
        other_seed = run_episode(env, remote_policy, 8, tmp_path / "other", "p")
    finally:
        remote_policy.close()
    assert local.status == remote.status == "complete" and remote.steps == STEPS
    q_local, _ = _robot_q(local.trace)
    q_remote, _ = _robot_q(remote.trace)
    print(f"in process vs served: max |Δq| = {np.abs(q_local - q_remote).max():.3g} rad")
    assert np.array_equal(q_local, q_remote)
    assert not np.array_equal(q_remote, _robot_q(other_seed.trace)[0])  # it does depend on the seed
    assert len(remote_policy.compute_times) == STEPS
    # the trace holds the server's own compute times (here: of the last episode, seed 8)
    served = np.asarray(read_trace(other_seed.trace)["/policy/compute_time"])
    assert np.array_equal(served, remote_policy.compute_times)
    assert all(0 <= t < 1.0 for t in remote_policy.compute_times)


def test_the_server_refuses_a_bad_token_and_a_mismatched_interface(env, server_process):
    _, url = server_process
    bad = RemotePolicy(url, env_interface(env), token="guess")
    with pytest.raises(RemotePolicyError, match="refused: a valid token is required"):
        bad.reset(0)
    server = PolicyServer(lambda i, c: __import__("tests.fixtures.policies",
                                                  fromlist=["x"]).wrong_action(i, c))
    thread = __import__("threading").Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = RemotePolicy(server.url, env_interface(env))
        with pytest.raises(RemotePolicyError) as err:
            client.reset(0)
        assert "interfaces differ" in str(err.value)
        assert "action: policy gives shape (3,), env takes (7,)" in str(err.value)
    finally:
        server.shutdown()


def test_a_server_that_is_down_slow_or_gone_marks_the_episode(env, tmp_path):
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = RemotePolicy(f"ws://127.0.0.1:{port}", env_interface(env), timeout=1.0)
    r = run_episode(env, down, 0, tmp_path / "down", "down")
    assert r.status == "policy_error" and "cannot connect" in r.error and not r.success

    from tests.fixtures.policies import slow
    server = PolicyServer(slow)
    thread = __import__("threading").Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        late = RemotePolicy(server.url, env_interface(env), timeout=0.5)
        r = run_episode(env, late, 0, tmp_path / "slow", "slow")
        assert r.status == "policy_error" and "did not answer 'act' within 0.5 s" in r.error
        t = read_trace(r.trace, allow_partial=True)
        assert t.attrs["status"] == "policy_error" and "did not answer" in t.attrs["error"]
    finally:
        server.shutdown()
    # the next episode goes on (here with a local policy)
    assert run_episode(env, make_policy(f"{FIXTURES}:towards", env), 1, tmp_path / "next",
                       "next").status == "complete"


def test_a_server_closing_mid_episode_is_a_policy_error(env, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "serve-policy",
                             f"{FIXTURES}:towards", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = proc.stdout.readline().split()[-1]
    policy = RemotePolicy(url, env_interface(env), timeout=2.0)
    calls = {"n": 0}
    act = policy.act

    def act_then_kill(obs):
        calls["n"] += 1
        if calls["n"] == 5:
            proc.kill()
            proc.wait(timeout=10)
            time.sleep(0.2)
        return act(obs)
    policy.act = act_then_kill
    r = run_episode(env, policy, 0, tmp_path, "gone")
    assert r.status == "policy_error" and "lost" in r.error and r.steps == 4


def test_action_chunks_are_executed_before_the_policy_is_asked_again(env, tmp_path):
    policy = make_policy(f"{FIXTURES}:chunked", env)
    r = run_episode(env, policy, 3, tmp_path, "chunked")
    assert r.status == "complete" and r.steps == STEPS
    assert policy.calls == STEPS // 4 + (STEPS % 4 > 0)
    t = read_trace(r.trace)
    called = np.asarray(t["/policy/called"])
    assert called.tolist() == [k % 4 == 0 for k in range(STEPS)]
    compute = np.asarray(t["/policy/compute_time"])
    assert np.all(np.isfinite(compute[called])) and np.all(np.isnan(compute[~called]))
    spec = env_interface(env).action
    with pytest.raises(ValueError, match=r"shape \(2, 6\)"):
        as_action_chunk(np.zeros((2, 6)), spec)
    assert as_action_chunk(np.zeros(7), spec).shape == (1, 7)


def test_the_interface_is_checked_before_the_first_step(env, tmp_path):
    wants_camera = CallablePolicy(lambda obs: np.zeros(7), interface=Interface(
        {"ee_pos": ArraySpec((3,), "float32"), "rgb": ArraySpec((96, 96, 3), "uint8"),
         "robot_q": ArraySpec((6,), "float32")}, ArraySpec((7,), "float32")))
    with pytest.raises(ConfigError) as err:
        run_episode(env, wants_camera, 0, tmp_path, "camera")
    message = str(err.value)
    assert "observation 'rgb': the policy needs it, the env has no such key" in message
    assert "observation 'robot_q': policy expects shape (6,), env gives (7,)" in message
    assert not (tmp_path / "traces").exists() or not list((tmp_path / "traces").iterdir())
    check_interface(CallablePolicy(lambda obs: obs), env)  # no interface declared: passes


def test_the_wire_format_round_trips_arrays_and_refuses_garbage():
    msg = {"type": "act", "id": 3, "observation": {
        "rgb": np.arange(24, dtype=np.uint8).reshape(2, 4, 3), "q": np.linspace(0, 1, 7),
        "phase": np.int64(2), "flag": np.bool_(True), "text": "pick the part"}}
    back = decode(encode(msg))
    for key in ("rgb", "q"):
        assert back["observation"][key].dtype == msg["observation"][key].dtype
        assert np.array_equal(back["observation"][key], msg["observation"][key])
    assert back["observation"]["phase"] == 2 and back["observation"]["flag"] is True
    with pytest.raises(ValueError, match="not a valid msgpack"):
        decode(b"\xc1\x00garbage")
    with pytest.raises(ValueError, match="exceeds the limit"):
        decode(encode({"type": "x", "blob": b"0" * 2000}), max_size=1000)
    with pytest.raises(ValueError, match="a map with a 'type'"):
        decode(encode([1, 2, 3]))


def test_bad_policy_specs_are_clear_errors(env):
    with pytest.raises(ConfigError, match="unknown policy 'telepathy'"):
        make_policy("telepathy", env)
    with pytest.raises(ConfigError, match="no callable 'nothing'"):
        make_policy(f"{FIXTURES}:nothing", env)
    with pytest.raises(ConfigError, match="the factory failed: RuntimeError: no model file"):
        make_policy(f"{FIXTURES}:raises_in_factory", env)
    with pytest.raises(ConfigError, match="must start with ws://"):
        RemotePolicy("http://x", env_interface(env))


def test_the_client_connects_again_at_the_next_episode(env, tmp_path):
    from tests.fixtures.policies import towards
    import threading
    first = PolicyServer(towards)
    threading.Thread(target=first.serve_forever, daemon=True).start()
    port = first.port
    policy = RemotePolicy(first.url, env_interface(env), timeout=2.0)
    assert run_episode(env, policy, 0, tmp_path / "a", "p").status == "complete"
    first.shutdown()
    lost = run_episode(env, policy, 1, tmp_path / "b", "p")
    assert lost.status == "policy_error"
    second = PolicyServer(towards, port=port)           # the server is back
    threading.Thread(target=second.serve_forever, daemon=True).start()
    try:
        again = run_episode(env, policy, 2, tmp_path / "c", "p")
        assert again.status == "complete" and again.steps == STEPS
    finally:
        policy.close()
        second.shutdown()


def test_the_server_limits_message_sizes(env, tmp_path):
    from tests.fixtures.policies import towards
    import threading
    server = PolicyServer(towards, max_size=4096)   # the hello fits, an observation does not
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        big = CellEnv("handover", cameras=("scene",), camera_size=(64, 64))
        try:
            big.unwrapped.max_steps = 3
            policy = RemotePolicy(server.url, env_interface(big), timeout=2.0)
            r = run_episode(big, policy, 0, tmp_path, "big")
        finally:
            big.close()
        assert r.status == "policy_error" and "lost" in r.error and r.steps == 0
    finally:
        server.shutdown()
