"""ONNX policies: a model built in the test with the onnx helper API runs through the
adapter and gives the actions numpy computes from the same weights."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

import onnx  # the test extra installs it
from onnx import TensorProto, helper, numpy_helper

from simulator.env import CellEnv
from simulator.errors import SpecError
from simulator.policies import make_policy
from simulator.runner import run_episode


def linear_model(path, n_in: int, n_out: int, seed: int = 0):
    """actions = tanh(obs @ W + b), obs (batch, n_in) -> actions (batch, n_out)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(scale=0.3, size=(n_in, n_out)).astype(np.float32)
    b = rng.normal(scale=0.1, size=n_out).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "W"], ["xw"]),
         helper.make_node("Add", ["xw", "b"], ["z"]),
         helper.make_node("Tanh", ["z"], ["actions"])],
        "linear_policy",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", n_in])],
        [helper.make_tensor_value_info("actions", TensorProto.FLOAT, ["batch", n_out])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")])
    # IR version 7, the first to carry opset 13: onnx writes its own newest IR version by
    # default, newer than older onnxruntime releases read (1.23, the last for Python 3.10)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return w, b


@pytest.fixture(scope="module")
def env():
    e = CellEnv("handover")
    e.unwrapped.max_steps = 20
    yield e
    e.close()


def test_an_onnx_model_drives_the_robot_through_the_adapter(env, tmp_path):
    model = tmp_path / "policy.onnx"
    w, b = linear_model(model, 3 + 7, 7)
    (tmp_path / "policy.onnx.yaml").write_text(yaml.safe_dump(
        {"inputs": {"obs": ["ee_pos", "robot_q"]}, "action": {"output": "actions", "scale": 0.5}}))
    policy = make_policy(str(model), env)
    obs, info = env.reset(seed=0)
    action = policy.act(obs)
    x = np.concatenate([obs["ee_pos"], obs["robot_q"]]).astype(np.float32)
    expected = 0.5 * np.tanh(x @ w + b)
    print(f"adapter vs numpy: max |Δ| = {np.abs(action - expected).max():.2e} (tolerance 1e-5)")
    assert action.shape == (7,) and np.allclose(action, expected, atol=1e-5)
    result = run_episode(env, policy, 0, tmp_path, "onnx")
    assert result.status == "complete" and result.steps == 20


def test_a_mapping_that_does_not_fit_names_the_file_and_key(env, tmp_path):
    model = tmp_path / "p.onnx"
    linear_model(model, 10, 7)
    mapping = tmp_path / "p.onnx.yaml"
    cases = [({"inputs": {"obs": ["ee_pos", "robot_qq"]}}, "inputs.obs[1]", "observation key"),
             ({"inputs": {"obs": ["ee_pos"]}}, "inputs.obs", "10 values in all"),
             ({"inputs": {"x": ["ee_pos"]}}, "inputs.x", "an input of the model"),
             ({"inputs": {"obs": ["ee_pos", "robot_q"]}, "action": {"output": "y"}},
              "action.output", "an output of the model")]
    for data, key, expected in cases:
        mapping.write_text(yaml.safe_dump(data))
        with pytest.raises(SpecError) as err:
            make_policy(str(model), env)
        assert str(mapping) in str(err.value) and key in str(err.value) and expected in str(err.value)
    mapping.unlink()
    with pytest.raises(SpecError, match="a mapping file next to the model"):
        make_policy(str(model), env)
