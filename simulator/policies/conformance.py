"""The conformance kit: a short scripted exchange with a policy server that reports every
deviation from protocol version 2 (docs/policies.md), for ``cobotsim
policy-conformance ws://HOST:PORT``.

The exchange uses a real cell (``handover`` unless told otherwise) so that the server
sees true observations: hello, two episodes (reset, a few acts whose actions are
executed, end; ids start at 1 in each), an unknown message type and an undecodable
frame (each must get an ``error`` reply on a connection that stays open), and on fresh
connections a version-1 hello, a first message that is not a hello and, when a token is
given, a hello without it (each must be refused and the connection closed).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from simulator.errors import ConfigError
from simulator.policies.protocol import (action_problems, describe_env, reply_problems,
                                         reset_info, welcome_problems, wire_observation)
from simulator.policies.wire import MAX_MESSAGE, PROTOCOL, decode, encode

log = logging.getLogger(__name__)


@dataclass
class Check:
    """One step of the exchange: its name, the deviations found (``problems``: MUST,
    ``warnings``: SHOULD of the specification)."""

    name: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        head = f"{'PASS' if self.passed else 'FAIL'}  {self.name}"
        return ([head] + [f"      deviation: {p}" for p in self.problems]
                + [f"      warning: {w}" for w in self.warnings])


class _Exchange:
    """One connection, raw: sends a message, returns the decoded reply or a problem."""

    def __init__(self, url: str, timeout: float) -> None:
        from simulator.policies.remote import open_connection

        self.timeout = timeout
        self.conn = open_connection(url, timeout, MAX_MESSAGE)

    def ask(self, message, raw: bytes | None = None):
        """(reply, problem): the reply map, or None and what went wrong."""
        try:
            self.conn.send(raw if raw is not None else encode(message))
            data = self.conn.recv(timeout=self.timeout)
        except TimeoutError:
            return None, f"no reply within {self.timeout:g} s"
        except Exception as exc:
            return None, f"the connection closed ({type(exc).__name__}: {exc})"
        if isinstance(data, str):
            return None, f"a text frame ({data[:120]!r}); every message is a binary frame"
        try:
            return decode(data), None
        except ValueError as exc:
            return None, f"the reply is not a message: {exc}"

    def closed_by_server(self) -> str | None:
        """None when the server closes the connection now; else what happened."""
        try:
            extra = self.conn.recv(timeout=self.timeout)
        except TimeoutError:
            return f"the server kept the connection open {self.timeout:g} s after refusing"
        except Exception:
            return None
        return f"the server sent another frame after refusing ({len(extra)} bytes)"

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass


def _episode(ex: _Exchange, env, seed: int, steps: int, name: str) -> list[Check]:
    """reset, ``steps`` acts whose actions the env executes, end."""
    obs, info = env.reset(seed=seed)
    reset = Check(f"{name}: reset (seed {seed}) -> ready")
    reply, problem = ex.ask({"type": "reset", "seed": seed, "info": reset_info(info)})
    reset.problems += [problem] if problem else reply_problems("reset", reply)
    if reset.problems or reply.get("type") == "error":
        reset.problems += [f"error reply: {reply.get('message')}"] if reply else []
        return [reset]
    acts = Check(f"{name}: {steps} act -> action (ids 1..{steps})")
    shape = env.action_space.shape
    for i in range(1, steps + 1):
        reply, problem = ex.ask({"type": "act", "id": i, "observation": wire_observation(obs)})
        found = [problem] if problem else reply_problems("act", reply)
        if not found and reply["type"] == "error":
            found = [f"error reply: {reply.get('message')}"]
        found = found or action_problems(reply, i, shape)
        if found:
            acts.problems += [f"act {i}: {p}" for p in found]
            break
        if "compute_time" not in reply:
            acts.warnings.append(f"act {i}: no compute_time (the trace records NaN)")
        if not isinstance(reply["action"], np.ndarray):
            acts.warnings.append(f"act {i}: the action is a list, not an array map")
        chunk = np.asarray(reply["action"], dtype=np.float64).reshape(-1, *shape)
        obs, _, terminated, truncated, _ = env.step(chunk[0])
        if terminated or truncated:
            break
    end = Check(f"{name}: end -> ended")
    reply, problem = ex.ask({"type": "end", "status": "complete", "success": False,
                             "steps": steps, "sim_time": float(env.unwrapped.sim.time),
                             "safety": {"violation_steps": {"contact": 0, "separation": 0,
                                                            "speed": 0},
                                        "min_separation_margin": None,
                                        "max_contact_ratio": 0.0, "events": 0}})
    end.problems += [problem] if problem else reply_problems("end", reply)
    return [reset, acts, end]


def _error_replies(ex: _Exchange) -> Check:
    check = Check("an unknown type and an undecodable frame -> error, connection open")
    for what, message, raw in (("unknown type", {"type": "conformance-probe"}, None),
                               ("undecodable frame", None, b"\xc1not msgpack")):
        reply, problem = ex.ask(message, raw)
        if problem:
            check.problems.append(f"{what}: {problem}")
            break
        if reply.get("type") != "error":
            check.problems.append(f"{what}: reply type {reply.get('type')!r}; expected 'error'")
        elif not isinstance(reply.get("message"), str):
            check.problems.append(f"{what}: error.message is not a string")
    return check


def _refusal(url: str, timeout: float, name: str, message: dict) -> Check:
    check = Check(name)
    try:
        ex = _Exchange(url, timeout)
    except Exception as exc:
        check.problems.append(f"cannot connect: {exc}")
        return check
    try:
        reply, problem = ex.ask(message)
        if problem:
            check.problems.append(problem)
        elif reply.get("type") != "refused":
            check.problems.append(f"reply type {reply.get('type')!r}; expected 'refused'")
        elif not isinstance(reply.get("reason"), str) or not reply["reason"]:
            check.problems.append("refused.reason is not a non-empty string")
        else:
            closed = ex.closed_by_server()
            check.problems += [closed] if closed else []
    finally:
        ex.close()
    return check


def run_conformance(url: str, scenario: str = "handover", token: str | None = None,
                    timeout: float = 10.0, steps: int = 5) -> list[Check]:
    """The exchange of the module docstring against the server at ``url``; raises
    :class:`ConfigError` when no connection can be opened at all."""
    from simulator.env import CellEnv
    from simulator.policies.interface import env_interface
    from simulator.policies.loading import policy_context

    env = CellEnv(scenario)
    try:
        description = describe_env(env)
        hello = {"type": "hello", "protocol": PROTOCOL, "token": token,
                 "interface": description, "context": policy_context(env)}
        try:
            ex = _Exchange(url, timeout)
        except Exception as exc:
            raise ConfigError(f"cannot connect to {url}: {type(exc).__name__}: {exc}") from None
        checks = [Check("hello -> welcome")]
        try:
            reply, problem = ex.ask(hello)
            welcome = checks[0]
            welcome.problems += [problem] if problem else reply_problems("hello", reply)
            if not welcome.problems and reply["type"] == "refused":
                welcome.problems.append(f"refused: {reply.get('reason')}")
            if not welcome.problems:
                welcome.problems += welcome_problems(reply, env_interface(env),
                                                     env.unwrapped.control.name)
            if welcome.passed:
                checks += _episode(ex, env, 0, steps, "episode 1")
                checks.append(_error_replies(ex))
                checks += _episode(ex, env, 1, steps, "episode 2")
        finally:
            ex.close()
        checks.append(_refusal(url, timeout, "a version-1 hello -> refused, then closed",
                               {**hello, "protocol": 1}))
        checks.append(_refusal(url, timeout, "a reset before the hello -> refused, then closed",
                               {"type": "reset", "seed": 0, "info": {}}))
        if token is not None:
            checks.append(_refusal(url, timeout, "a hello without the token -> refused, then "
                                   "closed", {**hello, "token": None}))
        return checks
    finally:
        env.close()
