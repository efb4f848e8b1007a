"""ONNX models as policies (optional extra ``onnx``: onnxruntime, CPU).

A model file ``model.onnx`` comes with a small mapping, ``model.onnx.yaml`` next to it
(or given explicitly), that says which observation keys feed which model inputs and which
output is the action::

    inputs:
      obs: [ee_pos, robot_q, human_keypoints]   # flattened to float32 and concatenated
    action:
      output: actions        # the output holding the action (or an action chunk)
      scale: 1.0             # optional: action = scale * output + offset
      offset: 0.0

Each input gets one leading batch axis of size 1 when the model's input has one more
axis than the concatenated vector (the usual exported ``(batch, n)``); the output's
batch axis is dropped the same way. An output of shape (H, action size) is an action
chunk. Everything the mapping names is checked when the policy is made: an unknown input
or output name, an observation key the env does not have, or a size that does not match
the model is a :class:`~simulator.errors.SpecError` naming the mapping file and the key.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from simulator.errors import SpecError
from simulator.policies.interface import Interface


def _runtime():
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("ONNX policies need the optional extra: pip install "
                          "'cobotsim[onnx]'") from exc
    return onnxruntime


def mapping_path(model: Path) -> Path:
    return model.with_name(model.name + ".yaml")


class OnnxPolicy:
    """An ONNX model run with onnxruntime on the CPU (one thread, deterministic).

    Args:
        model: the ``.onnx`` file.
        interface: the env's :class:`Interface` (sizes of the observation keys, action).
        mapping: the mapping (a dict) or the path of its YAML file; default
            ``<model>.onnx.yaml``.
    """

    def __init__(self, model, interface: Interface, mapping=None) -> None:
        self.model = Path(model)
        if not self.model.is_file():
            raise SpecError(str(self.model), "", None, "an existing .onnx model file")
        where = "<mapping>"
        if mapping is None:
            mapping = mapping_path(self.model)
        if isinstance(mapping, (str, Path)):
            where = str(mapping)
            if not Path(mapping).is_file():
                raise SpecError(where, "", None, "a mapping file next to the model "
                                "(inputs: {name: [observation keys]}, action: {output: name})")
            mapping = yaml.safe_load(Path(mapping).read_text()) or {}
        options = _runtime().SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._session = _runtime().InferenceSession(str(self.model), options,
                                                    providers=["CPUExecutionProvider"])
        self._feeds = self._check_inputs(mapping, interface, where)
        self._output, self.scale, self.offset = self._check_action(mapping, interface, where)
        self.interface = Interface({k: interface.observation[k] for _, keys, _ in self._feeds
                                    for k in keys}, interface.action)

    def _check_inputs(self, mapping: dict, interface: Interface, where: str):
        inputs = mapping.get("inputs")
        model_inputs = {i.name: i for i in self._session.get_inputs()}
        if not isinstance(inputs, dict) or not inputs:
            raise SpecError(where, "inputs", inputs, "a map of model input name -> list of "
                            f"observation keys; the model's inputs: {sorted(model_inputs)}")
        feeds = []
        for name, keys in inputs.items():
            if name not in model_inputs:
                raise SpecError(where, f"inputs.{name}", name,
                                f"an input of the model: {sorted(model_inputs)}")
            keys = [keys] if isinstance(keys, str) else list(keys or [])
            for i, key in enumerate(keys):
                if key not in interface.observation:
                    raise SpecError(where, f"inputs.{name}[{i}]", key, "an observation key: "
                                    f"{', '.join(sorted(interface.observation))}")
            size = sum(int(np.prod(interface.observation[k].shape)) for k in keys)
            shape = model_inputs[name].shape
            batched = len(shape) == 2
            last = shape[-1] if shape else None
            if isinstance(last, int) and last != size:
                raise SpecError(where, f"inputs.{name}", keys, f"observation keys of {last} "
                                f"values in all, as the model's input {name!r} {shape} "
                                f"takes; these have {size}")
            feeds.append((name, keys, batched))
        missing = sorted(set(model_inputs) - set(inputs))
        if missing:
            raise SpecError(where, "inputs", sorted(inputs), f"every input of the model fed; "
                            f"missing: {missing}")
        return feeds

    def _check_action(self, mapping: dict, interface: Interface, where: str):
        action = mapping.get("action") or {}
        outputs = [o.name for o in self._session.get_outputs()]
        name = action.get("output", outputs[0] if len(outputs) == 1 else None)
        if name not in outputs:
            raise SpecError(where, "action.output", name, f"an output of the model: {outputs}")
        try:
            scale, offset = float(action.get("scale", 1.0)), float(action.get("offset", 0.0))
        except (TypeError, ValueError):
            raise SpecError(where, "action.scale", action, "numbers scale and offset") from None
        return name, scale, offset

    def reset(self, seed=None, info=None) -> None:
        """Stateless: nothing to reset."""

    def act(self, observation):
        feed = {}
        for name, keys, batched in self._feeds:
            x = np.concatenate([np.asarray(observation[k], dtype=np.float32).ravel() for k in keys])
            feed[name] = x[None] if batched else x
        out = self._session.run([self._output], feed)[0]
        out = np.asarray(out, dtype=np.float64)
        if any(batched for *_, batched in self._feeds) and out.ndim >= 2 and out.shape[0] == 1:
            out = out[0]  # the batch axis added to the inputs
        return self.scale * out + self.offset
