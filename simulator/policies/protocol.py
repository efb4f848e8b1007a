"""Protocol version 2 of remote policies: the messages a client sends and the checks of
what a server answers (docs/policies.md is the specification; this module follows it).

The client (:mod:`simulator.policies.remote`), the server
(:mod:`simulator.policies.server`) and the conformance kit
(:mod:`simulator.policies.conformance`) share these builders and checks, so that a
deviation is named the same way wherever it is found.
"""
from __future__ import annotations

import math

import numpy as np

from simulator.policies.interface import ArraySpec, Interface, interface_differences
from simulator.policies.wire import PROTOCOL

OBSERVATION_MEANING = {  # key -> (unit, meaning); camera keys are described by suffix
    "robot_q": ("rad", "arm joint positions, in the order of context.joint_names"),
    "robot_qd": ("rad/s", "arm joint velocities, same order"),
    "ee_pos": ("m", "TCP position, world frame"),
    "ee_quat": ("1", "TCP orientation, quaternion (x, y, z, w), world frame"),
    "gripper": ("m", "distance between the fingers"),
    "human_keypoints": ("m", "centre of each of the person's links, world frame, in the "
                        "order of context.human_link_names"),
    "part_pos": ("m", "centre of the handled part, world frame"),
    "part_quat": ("1", "orientation of the handled part, quaternion (x, y, z, w)"),
    "phase": ("index", "task phase, an index into context.phase_names"),
    "instruction": ("text", "the task in words"),
}
REPLY_TYPES = {"hello": ("welcome", "refused"), "reset": ("ready",), "act": ("action",),
               "end": ("ended",)}


def _observation_meaning(key: str) -> tuple[str, str]:
    if key in OBSERVATION_MEANING:
        return OBSERVATION_MEANING[key]
    camera, _, kind = key.rpartition("_")
    if kind == "rgb":
        return "1", f"{camera} camera colour image, rows top to bottom, RGB, 0-255"
    if kind == "depth":
        return "m", f"{camera} camera depth image, distance along the view axis"
    return "", ""


def wire_dtype(spec: ArraySpec) -> str:
    """The dtype of an observation as it travels: a numpy type string with byte order
    (``<f4``, ``|u1``, ``<i8``), or ``str`` for text."""
    return "str" if spec.dtype == "str" else np.dtype(spec.dtype).newbyteorder("<").str


def action_elements(env) -> list[dict]:
    """Name, unit and meaning of each element of the env's action (docs/policies.md)."""
    from simulator.control import POSITION_STEP, ROTATION_STEP

    base = env.unwrapped
    gripper = {"name": "gripper", "unit": "1",
               "meaning": "gripper command: -1 closes the fingers, +1 opens them"}
    if base.control.name == "ee_delta":
        moves = [{"name": f"d{axis}", "unit": "m", "scale": POSITION_STEP,
                  "meaning": f"TCP displacement along world {axis} per control step, "
                             f"{POSITION_STEP} m at 1"} for axis in "xyz"]
        turns = [{"name": f"r{axis}", "unit": "rad", "scale": ROTATION_STEP,
                  "meaning": f"TCP rotation about world {axis} per control step, "
                             f"{ROTATION_STEP} rad at 1"} for axis in "xyz"]
        return moves + turns + [gripper]
    robot = base.robot
    joints = [{"name": j.name, "unit": "rad", "at_minus_1": float(lo), "at_plus_1": float(hi),
               "meaning": f"target position of joint {j.name}: -1 is {lo:.6g} rad, +1 is "
                          f"{hi:.6g} rad, linear between"}
              for j, lo, hi in zip(robot.spec.joints, robot.lower, robot.upper)]
    return joints + [gripper]


def describe_env(env) -> dict:
    """The ``interface`` map of a version-2 hello: every observation key with its shape,
    dtype as sent, unit and meaning; the action with its shape, dtype, control mode,
    bounds and per-element meaning."""
    from simulator.policies.interface import env_interface

    offered = env_interface(env)
    observation = {}
    for key, spec in sorted(offered.observation.items()):
        unit, meaning = _observation_meaning(key)
        observation[key] = {"shape": list(spec.shape), "dtype": wire_dtype(spec),
                            "unit": unit, "meaning": meaning}
    space = env.unwrapped.action_space
    action = {"shape": list(offered.action.shape), "dtype": wire_dtype(offered.action),
              "control": env.unwrapped.control.name,
              "low": [float(v) for v in np.ravel(space.low)],
              "high": [float(v) for v in np.ravel(space.high)],
              "elements": action_elements(env)}
    return {"observation": observation, "action": action}


def wire_observation(observation: dict) -> dict:
    """The observation as version 2 sends it: every number an array (an integer such as
    ``phase`` a 0-d ``<i8`` array), text as a string."""
    out = {}
    for key, value in observation.items():
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, (bool, int, np.integer)):
            out[key] = np.asarray(value, dtype="<i8")
        else:
            out[key] = np.asarray(value)
    return out


def reset_info(info: dict | None) -> dict:
    """The documented part of the env's reset ``info`` that a ``reset`` carries: ``phase``
    (str), ``time`` (s) and ``person`` (the person of the episode, plain data)."""
    info = info or {}
    out = {}
    if "phase" in info:
        out["phase"] = str(info["phase"])
    if "time" in info:
        out["time"] = float(info["time"])
    if "person" in info:
        out["person"] = info["person"]
    return out


# ----------------------------------------------------------------- checks of replies
def reply_problems(sent: str, reply) -> list[str]:
    """Deviations of a reply to a ``sent`` message from the specification's envelope:
    a map whose ``type`` is one the specification allows (``error`` too, except for a
    hello)."""
    if not isinstance(reply, dict):
        return [f"the reply to {sent!r} is not a map (got {type(reply).__name__})"]
    allowed = REPLY_TYPES.get(sent, ()) + (() if sent == "hello" else ("error",))
    if reply.get("type") not in allowed:
        return [f"the reply to {sent!r} has type {reply.get('type')!r}; expected "
                f"{' or '.join(map(repr, allowed))}"]
    return []


def welcome_problems(reply: dict, env_iface: Interface, control: str) -> list[str]:
    """Every way a welcome deviates from the specification or does not fit the env whose
    interface is ``env_iface`` (action mode ``control``)."""
    problems = []
    if reply.get("protocol") != PROTOCOL:
        problems.append(f"welcome.protocol is {reply.get('protocol')!r}; expected {PROTOCOL}")
    server = reply.get("server")
    if not isinstance(server, dict) or not isinstance(server.get("name"), str):
        problems.append(f"welcome.server must be a map with a string 'name', got {server!r}")
    offered = reply.get("interface")
    if offered is None:
        return problems
    try:
        wanted = Interface.from_dict(offered, "welcome.interface")
    except Exception as exc:
        return problems + [str(exc)]
    problems += interface_differences(wanted, env_iface)
    action = offered.get("action") or {}
    if action.get("control") not in (None, control):
        problems.append(f"action: policy expects control {action.get('control')!r}, env takes "
                        f"{control!r}")
    return problems


def action_problems(reply: dict, expected_id: int, shape: tuple) -> list[str]:
    """Deviations of an ``action`` reply to request ``expected_id`` for an action of
    ``shape``: the id echoed, an array (or list) of (A,) or (H, A) finite numbers,
    ``compute_time`` a number of seconds >= 0 when present."""
    problems = []
    if reply.get("id") != expected_id:
        problems.append(f"action.id is {reply.get('id')!r}; expected {expected_id} (the id "
                        "of the request)")
    action = reply.get("action")
    try:
        a = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError):
        return problems + [f"action.action is not numeric: {type(action).__name__}"]
    if not (a.shape == tuple(shape) or (a.ndim == len(shape) + 1 and a.shape[1:] == tuple(shape)
                                        and a.shape[0] >= 1)):
        problems.append(f"action.action has shape {a.shape}; expected {tuple(shape)} or (H, "
                        f"{', '.join(map(str, shape))})")
    elif not np.all(np.isfinite(a)):
        problems.append("action.action has non-finite values")
    if isinstance(action, np.ndarray) and action.dtype.str not in ("<f4", "<f8"):
        problems.append(f"action.action has dtype {action.dtype.str}; expected <f4 or <f8")
    t = reply.get("compute_time")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))
                          or not math.isfinite(t) or t < 0):
        problems.append(f"action.compute_time is {t!r}; expected seconds >= 0")
    return problems


# ----------------------------------------------------------------- the end of an episode
class EpisodeTally:
    """Counts what the safety monitors reported during an episode, for the ``end``
    message: steps with each cost, the smallest separation margin (m), the largest
    contact ratio (force or pressure over its limit) and the number of events."""

    def __init__(self) -> None:
        self.cost_steps = {"contact": 0, "separation": 0, "speed": 0}
        self.min_margin = math.inf
        self.max_ratio = 0.0
        self.events = 0

    def add(self, info: dict) -> None:
        for name, value in (info.get("costs") or {}).items():
            if value:
                self.cost_steps[name] = self.cost_steps.get(name, 0) + 1
        safety = info.get("safety") or {}
        margin = (safety.get("ssm") or {}).get("margin")
        if margin is not None and math.isfinite(margin):
            self.min_margin = min(self.min_margin, float(margin))
        for sample in (safety.get("contact") or {}).get("samples", []):
            self.max_ratio = max(self.max_ratio, float(sample.get("ratio", 0.0)))
        self.events += len(safety.get("events") or [])

    def summary(self) -> dict:
        return {"violation_steps": dict(self.cost_steps),
                "min_separation_margin": (None if math.isinf(self.min_margin)
                                          else self.min_margin),
                "max_contact_ratio": self.max_ratio, "events": self.events}
