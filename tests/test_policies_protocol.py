"""Protocol version 2: what the hello says, the checks of the welcome, ids per episode,
the end message, the trace's record of the server, ``serve-policy scripted`` and the
conformance kit against a correct and a deliberately wrong server."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from simulator.cli import main
from simulator.env import CellEnv
from simulator.errors import ConfigError
from simulator.policies import make_policy
from simulator.policies.conformance import run_conformance
from simulator.policies.protocol import describe_env
from simulator.runner import run_episode, trace_name
from simulator.traces import read_trace
from tests.fixtures import fake_servers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 25


@pytest.fixture(scope="module")
def env():
    e = CellEnv("handover")
    e.unwrapped.max_steps = STEPS
    yield e
    e.close()


@pytest.fixture(scope="module")
def scripted_server():
    """``cobotsim serve-policy scripted`` in its own process, on a free loopback port."""
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "serve-policy", "scripted",
                             "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on ws://127.0.0.1:"), line
    yield line.split()[-1]
    proc.terminate()
    proc.wait(timeout=10)


def test_the_hello_describes_control_bounds_elements_and_dtypes_as_sent(env):
    d = describe_env(env)
    action = d["action"]
    assert action["control"] == "ee_delta" and action["shape"] == [7]
    assert action["low"] == [-1.0] * 7 and action["high"] == [1.0] * 7
    assert [e["name"] for e in action["elements"]] == ["dx", "dy", "dz", "rx", "ry", "rz",
                                                      "gripper"]
    assert action["elements"][0]["unit"] == "m" and action["elements"][0]["scale"] == 0.025
    assert d["observation"]["robot_q"]["dtype"] == "<f4"
    assert d["observation"]["phase"] == {"shape": [], "dtype": "<i8", "unit": "index",
                                         "meaning": d["observation"]["phase"]["meaning"]}
    joint = CellEnv("crossing", robot="ur5e", control="joint_position")
    try:
        elements = describe_env(joint)["action"]["elements"]
    finally:
        joint.close()
    assert len(elements) == 7 and elements[0]["name"] == "shoulder_pan_joint"
    assert elements[0]["at_minus_1"] < elements[0]["at_plus_1"]


def test_serve_policy_scripted_gives_the_in_process_trace(env, scripted_server, tmp_path):
    local = run_episode(env, make_policy("scripted", env), 3, tmp_path / "local", "scripted")
    remote = make_policy(scripted_server, env)
    try:
        served = run_episode(env, remote, 3, tmp_path / "remote", scripted_server)
    finally:
        remote.close()
    assert served.status == "complete" and served.steps == STEPS
    a, b = read_trace(local.trace), read_trace(served.trace)
    assert np.array_equal(np.asarray(a["/robot/q"]), np.asarray(b["/robot/q"]))
    assert b.attrs["policy_protocol"] == "cobotsim 2"
    server = json.loads(b.attrs["policy_server"])
    assert server["name"] == "cobotsim serve-policy" and server["policy"] == "scripted"
    assert served.trace.name == "handover_ws_127.0.0.1_seed00003.h5"  # no port in the name
    assert trace_name("handover", "openpi://gpu-box:8000", 1) == "handover_openpi_gpu-box_seed00001"


def test_conformance_passes_against_serve_policy(scripted_server, capsys):
    assert main(["policy-conformance", scripted_server, "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "the server follows protocol version 2" in out
    assert out.count("PASS") == 10


def test_conformance_names_every_deviation_of_a_wrong_server(capsys):
    with fake_servers.serving(fake_servers.wrong) as url:
        checks = run_conformance(url, steps=2, timeout=2.0)
        assert main(["policy-conformance", url, "--steps", "2", "--timeout", "2"]) == 1
    problems = {c.name: c.problems for c in checks}
    assert problems["hello -> welcome"] == [
        "welcome.server must be a map with a string 'name', got 'wrong 0.1'"]
    # the welcome failed, so no episode ran; the refusals were still checked
    assert "a version-1 hello -> refused, then closed" in problems
    assert "reply type 'welcome'; expected 'refused'" in problems[
        "a version-1 hello -> refused, then closed"]
    assert "FAIL  a reset before the hello" in capsys.readouterr().out


def test_conformance_checks_ids_actions_and_error_replies():
    server = fake_servers.wrong
    with fake_servers.serving(server) as url:
        from simulator.policies import conformance
        env = CellEnv("handover")
        ex = conformance._Exchange(url, 2.0)
        try:
            ex.ask({"type": "hello"})
            checks = conformance._episode(ex, env, 0, 2, "e") + [conformance._error_replies(ex)]
        finally:
            ex.close()
            env.close()
    acts = checks[1].problems
    assert "act 1: action.id is 7; expected 1 (the id of the request)" in acts
    assert "act 1: action.action has dtype <f2; expected <f4 or <f8" in acts
    assert checks[3].problems == ["unknown type: reply type 'ready'; expected 'error'",
                                  "undecodable frame: reply type 'ready'; expected 'error'"]


@pytest.mark.parametrize("server, message", [
    (fake_servers.version_1, "speaks protocol version 1; this cobotsim speaks version 2 only"),
    (fake_servers.list_welcome, "does not speak cobotsim's policy protocol"),
    (fake_servers.openpi_like, "use --policy openpi://HOST:PORT --map MAPPING.yaml"),
])
def test_a_server_of_another_protocol_is_one_error_before_the_first_episode(
        env, server, message, tmp_path, capsys):
    with fake_servers.serving(server) as url:
        with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
            make_policy(url, env, timeout=2.0)
        assert main(["run", "handover", "--policy", url, "--timeout", "2",
                     "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("cobotsim: error:") == 1 and message in err
    assert not (tmp_path / "traces").exists() or not list((tmp_path / "traces").iterdir())


def test_a_welcome_that_does_not_fit_the_env_names_every_difference(env):
    with fake_servers.serving(fake_servers.mismatched) as url:
        with pytest.raises(ConfigError) as err:
            make_policy(url, env, timeout=2.0)
    message = str(err.value)
    assert "observation 'scene_rgb': the policy needs it, the env has no such key" in message
    assert "action: policy gives shape (6,), env takes (7,)" in message
    assert "action: policy expects control 'joint_position', env takes 'ee_delta'" in message


def test_ids_restart_per_episode_and_the_server_is_told_how_each_ended(env, tmp_path):
    recorder = fake_servers.Recorder(as_list=True)
    with fake_servers.serving(recorder) as url:
        policy = make_policy(url, env, timeout=2.0)
        try:
            results = [run_episode(env, policy, s, tmp_path, "r") for s in (0, 1)]
        finally:
            policy.close()
    assert [r.status for r in results] == ["complete", "complete"]
    kinds = [m["type"] for m in recorder.messages]
    assert kinds == ["hello"] + (["reset"] + ["act"] * STEPS + ["end"]) * 2
    ids = [m["id"] for m in recorder.messages if m["type"] == "act"]
    assert ids == list(range(1, STEPS + 1)) * 2
    hello = recorder.messages[0]
    assert hello["protocol"] == 2 and hello["context"]["control"] == "ee_delta"
    act = recorder.messages[2]["observation"]
    assert act["phase"]["dtype"] == "<i8" and act["phase"]["shape"] == []
    assert act["ee_pos"]["dtype"] == "<f4"
    reset = recorder.messages[1]
    assert reset["seed"] == 0 and set(reset["info"]) == {"phase", "time", "person"}
    end = recorder.messages[STEPS + 2]
    assert end["status"] == "complete" and end["steps"] == STEPS and end["success"] is False
    assert set(end["safety"]) == {"violation_steps", "min_separation_margin",
                                  "max_contact_ratio", "events"}
    assert end["safety"]["min_separation_margin"] is not None
    # the server sent no compute_time: the trace holds NaN where the policy was asked
    compute = np.asarray(read_trace(results[0].trace)["/policy/compute_time"])
    assert np.all(np.isnan(compute))


def test_the_server_refuses_version_1_by_name(scripted_server):
    from simulator.policies import conformance
    check = conformance._refusal(scripted_server, 5.0, "v1", {"type": "hello", "protocol": 1,
                                                              "interface": {}})
    assert check.passed
    ex = conformance._Exchange(scripted_server, 5.0)
    try:
        reply, _ = ex.ask({"type": "hello", "protocol": 1, "interface": {}})
    finally:
        ex.close()
    assert reply == {"type": "refused", "reason": "protocol version 1 is no longer served: this "
                     "server speaks version 2 (docs/policies.md); update the client"}


def test_the_example_server_of_the_guide_conforms_and_runs_an_episode(env, tmp_path):
    from tests.test_docs import code_blocks
    source = [body for tag, body in code_blocks("policies.md")
              if tag == "python" and body.startswith("# my_server.py")]
    assert len(source) == 1 and len(source[0].splitlines()) < 70
    (tmp_path / "my_server.py").write_text(source[0])
    proc = subprocess.Popen([sys.executable, str(tmp_path / "my_server.py"), "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[-1]
        checks = run_conformance(url, steps=3, timeout=5.0)
        assert [c.name for c in checks if not c.passed] == []
        policy = make_policy(url, env, timeout=5.0)
        try:
            r = run_episode(env, policy, 0, tmp_path, url)
        finally:
            policy.close()
        assert r.status == "complete" and r.steps == STEPS
        assert json.loads(read_trace(r.trace).attrs["policy_server"])["name"] == "above-the-part"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
