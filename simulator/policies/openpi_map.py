"""The mapping between a cobotsim cell and an openpi policy server (docs/policies.md,
"openpi servers"): which observation feeds each key the server expects, and how its
action chunk becomes the cell's actions. Validated against the env when loaded; every
error names the mapping file and the key.

Request entries (``observation:``, request key -> one of):

``{image: KEY, size: [H, W], resize: pad|stretch, flip: none|vertical|horizontal|both}``
    a camera observation (``scene_rgb``, ``wrist_rgb``: (h, w, 3) uint8) resized to H × W
    pixels (``pad``: keep the aspect ratio and pad with black, ``stretch``: scale each
    axis), then flipped; sent as (H, W, 3) uint8.
``{state: [PART, ...]}``
    the parts concatenated into one float32 vector; a part is an observation key, or
    ``{key: KEY, scale: S, offset: O}`` for S · value + O; ``ee_axis_angle`` is the TCP
    orientation as an axis-angle vector (3, rad).
``{prompt: instruction}`` or ``{text: "..."}``
    the cell's instruction observation, or a fixed text.

Action (``action:``): ``key`` (reply key, default ``actions``), ``width`` (values per
action in the reply), ``horizon`` (use the first N of each chunk), ``control`` (the
cell's action mode), ``mode`` (``direct``: action = scale · reply[select] + offset;
``joint_velocity``: the joint elements are velocities in rad/s after scaling, integrated
from the observed joint positions over the chunk's control steps into ``joint_position``
targets), ``select``, ``scale``, ``offset``.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml

from simulator.errors import SpecError

FLIPS = {"none": None, "vertical": 0, "horizontal": 1, "both": -1}
DERIVED = {"ee_axis_angle": 3}  # state parts computed from the observation


def axis_angle(quat) -> np.ndarray:
    """A quaternion (x, y, z, w) as an axis-angle vector (rad)."""
    q = np.asarray(quat, dtype=np.float64)
    w = float(np.clip(q[3], -1.0, 1.0))
    s = np.sqrt(max(1.0 - w * w, 0.0))
    return np.zeros(3) if s < 1e-9 else q[:3] * (2.0 * np.arccos(w) / s)


def resize_image(image: np.ndarray, height: int, width: int, how: str) -> np.ndarray:
    """``image`` (h, w, 3) uint8 as (height, width, 3): ``stretch`` scales each axis,
    ``pad`` keeps the aspect ratio and centres it on black."""
    if image.shape[:2] == (height, width):
        return image
    if how == "stretch":
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    ratio = max(image.shape[0] / height, image.shape[1] / width)
    h, w = max(1, int(image.shape[0] / ratio)), max(1, int(image.shape[1] / ratio))
    out = np.zeros((height, width, image.shape[2]), dtype=image.dtype)
    top, left = (height - h) // 2, (width - w) // 2
    out[top:top + h, left:left + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return out


class OpenpiMapping:
    """A mapping file, checked against the env (see the module docstring).

    Args:
        path: the YAML file.
        env: the cell it is used with.
    """

    def __init__(self, path, env) -> None:
        self.file = str(path)
        base = env.unwrapped
        self.spaces = base.observation_space.spaces
        self.control = base.control.name
        self.dt = float(base.dt)
        self.n_action = int(base.action_space.shape[0])
        self.lower, self.upper = np.asarray(base.robot.lower), np.asarray(base.robot.upper)
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SpecError(self.file, "", None, f"a readable mapping file ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise SpecError(self.file, "", None, f"valid YAML ({exc})") from None
        self._map(data, "", {"observation", "action", "metadata"}, required={"observation", "action"})
        self.metadata = dict(self._map(data.get("metadata", {}), "metadata"))
        self.entries = {str(k): self._entry(v, f"observation.{k}")
                        for k, v in self._map(data["observation"], "observation").items()}
        self._action(data["action"])

    # ------------------------------------------------------------ validation
    def _fail(self, key: str, found, expected: str):
        raise SpecError(self.file, key, found, expected)

    def _map(self, value, key: str, allowed=None, required=()) -> dict:
        if not isinstance(value, dict):
            self._fail(key, value, "a map")
        for name in required:
            if name not in value:
                self._fail(f"{key}.{name}".strip("."), None, "this key (it is required)")
        for name in value:
            if allowed is not None and name not in allowed:
                self._fail(f"{key}.{name}".strip("."), name, f"one of {', '.join(sorted(allowed))}")
        return value

    def _observation(self, name, key: str, hint: str = ""):
        if name not in self.spaces and name not in DERIVED:
            extra = {"scene_rgb": " (run with --camera scene)", "wrist_rgb": " (run with --camera "
                     "wrist)", "instruction": " (run with --instruction)"}.get(name, "")
            self._fail(key, name, f"an observation of the cell{hint}; it has "
                       f"{', '.join(sorted(self.spaces))}{extra}")
        return name

    def _entry(self, value, key: str) -> dict:
        value = self._map(value, key)
        kinds = [k for k in ("image", "state", "prompt", "text") if k in value]
        if len(kinds) != 1:
            self._fail(key, value, "exactly one of image, state, prompt, text")
        kind = kinds[0]
        if kind == "image":
            self._map(value, key, {"image", "size", "resize", "flip"}, required={"size"})
            name = self._observation(value["image"], f"{key}.image")
            space = self.spaces[name]
            if space.dtype != np.uint8 or len(space.shape) != 3:
                self._fail(f"{key}.image", name, "a colour image (h, w, 3) uint8: scene_rgb or wrist_rgb")
            size = value["size"]
            if not (isinstance(size, list) and len(size) == 2 and all(
                    isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size)):
                self._fail(f"{key}.size", size, "[height, width] in pixels, positive integers")
            if value.get("resize", "pad") not in ("pad", "stretch"):
                self._fail(f"{key}.resize", value["resize"], "pad or stretch")
            if value.get("flip", "none") not in FLIPS:
                self._fail(f"{key}.flip", value["flip"], ", ".join(FLIPS))
            return {"kind": kind, "name": name, "size": tuple(size),
                    "resize": value.get("resize", "pad"), "flip": FLIPS[value.get("flip", "none")]}
        if kind == "state":
            self._map(value, key, {"state"})
            parts = value["state"]
            if not isinstance(parts, list) or not parts:
                self._fail(f"{key}.state", parts, "a list of observation keys")
            return {"kind": kind, "parts": [self._part(p, f"{key}.state[{i}]")
                                            for i, p in enumerate(parts)]}
        if kind == "prompt":
            self._map(value, key, {"prompt"})
            if value["prompt"] != "instruction":
                self._fail(f"{key}.prompt", value["prompt"], "instruction")
            return {"kind": kind, "name": self._observation("instruction", f"{key}.prompt")}
        self._map(value, key, {"text"})
        if not isinstance(value["text"], str):
            self._fail(f"{key}.text", value["text"], "a string")
        return {"kind": kind, "text": value["text"]}

    def _part(self, part, key: str) -> tuple:
        if isinstance(part, str):
            part = {"key": part}
        part = self._map(part, key, {"key", "scale", "offset"}, required={"key"})
        name = self._observation(part["key"], f"{key}.key" if "scale" in part or "offset" in part
                                 else key)
        if name in self.spaces and not np.issubdtype(self.spaces[name].dtype, np.number):
            self._fail(key, name, "a numeric observation")
        for field in ("scale", "offset"):
            if not isinstance(part.get(field, 0.0), (int, float)) or isinstance(part.get(field), bool):
                self._fail(f"{key}.{field}", part[field], "a number")
        return name, float(part.get("scale", 1.0)), float(part.get("offset", 0.0))

    def _vector(self, value, key: str, default: float) -> np.ndarray:
        values = [default] if value is None else (value if isinstance(value, list) else [value])
        if len(values) not in (1, self.n_action) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            self._fail(key, value, f"a number or a list of {self.n_action} numbers")
        return np.broadcast_to(np.asarray(values, dtype=np.float64), (self.n_action,)).copy()

    def _action(self, value) -> None:
        a = self._map(value, "action", {"key", "width", "horizon", "control", "mode", "select",
                                         "scale", "offset"}, required={"width"})
        self.key = a.get("key", "actions")
        self.width = a["width"]
        if not isinstance(self.width, int) or isinstance(self.width, bool) or self.width < 1:
            self._fail("action.width", self.width, "a positive integer")
        self.horizon = a.get("horizon")
        if self.horizon is not None and (not isinstance(self.horizon, int) or self.horizon < 1):
            self._fail("action.horizon", self.horizon, "a positive integer (control steps)")
        if a.get("control", self.control) != self.control:
            self._fail("action.control", a["control"], f"the cell's action mode {self.control!r} "
                       f"(run with --control {a['control']})")
        self.mode = a.get("mode", "direct")
        if self.mode not in ("direct", "joint_velocity"):
            self._fail("action.mode", self.mode, "direct or joint_velocity")
        if self.mode == "joint_velocity" and self.control != "joint_position":
            self._fail("action.mode", self.mode, "direct (joint_velocity needs the cell's "
                       "control joint_position: run with --control joint_position)")
        self.select = a.get("select", list(range(self.n_action)))
        if not (isinstance(self.select, list) and len(self.select) == self.n_action and all(
                isinstance(i, int) and 0 <= i < self.width for i in self.select)):
            self._fail("action.select", self.select, f"{self.n_action} indices into the server's "
                       f"action of width {self.width} (0..{self.width - 1})")
        self.scale = self._vector(a.get("scale"), "action.scale", 1.0)
        self.offset = self._vector(a.get("offset"), "action.offset", 0.0)

    # ------------------------------------------------------------ use
    def request(self, observation: dict) -> dict:
        """The request dict the server expects, from one cobotsim observation."""
        out = {}
        for key, e in self.entries.items():
            if e["kind"] == "image":
                image = resize_image(np.asarray(observation[e["name"]], dtype=np.uint8), *e["size"],
                                     e["resize"])
                out[key] = np.ascontiguousarray(image if e["flip"] is None
                                                else cv2.flip(image, e["flip"]))
            elif e["kind"] == "state":
                out[key] = np.concatenate([scale * np.ravel(self._value(observation, name)) + offset
                                           for name, scale, offset in e["parts"]]).astype(np.float32)
            elif e["kind"] == "prompt":
                out[key] = str(observation[e["name"]])
            else:
                out[key] = e["text"]
        return out

    @staticmethod
    def _value(observation: dict, name: str) -> np.ndarray:
        if name == "ee_axis_angle":
            return axis_angle(observation["ee_quat"])
        return np.asarray(observation[name], dtype=np.float64)

    def actions(self, reply: dict, observation: dict) -> np.ndarray:
        """The cell's action chunk (H, action size) from the server's reply; raises
        ValueError naming what does not fit."""
        if not isinstance(reply, dict) or self.key not in reply:
            keys = sorted(map(str, reply)) if isinstance(reply, dict) else type(reply).__name__
            raise ValueError(f"the reply has no {self.key!r} (it has {keys}; {self.file}: action.key)")
        chunk = np.asarray(reply[self.key], dtype=np.float64)
        if chunk.ndim == 1:
            chunk = chunk[None]
        if chunk.ndim != 2 or chunk.shape[1] != self.width or chunk.shape[0] < 1:
            raise ValueError(f"the server's {self.key!r} has shape {chunk.shape}; the mapping "
                             f"expects (H, {self.width}) ({self.file}: action.width)")
        if self.horizon is not None:
            if chunk.shape[0] < self.horizon:
                raise ValueError(f"the server's chunk has {chunk.shape[0]} actions; the mapping "
                                 f"uses {self.horizon} ({self.file}: action.horizon)")
            chunk = chunk[:self.horizon]
        out = self.scale * chunk[:, self.select] + self.offset
        if self.mode == "joint_velocity":  # rad/s -> positions, then the [-1, 1] joint scale
            n = len(self.lower)
            q = np.asarray(observation["robot_q"], dtype=np.float64)
            targets = q + np.cumsum(out[:, :n], axis=0) * self.dt
            out[:, :n] = 2.0 * (targets - self.lower) / (self.upper - self.lower) - 1.0
        return out
