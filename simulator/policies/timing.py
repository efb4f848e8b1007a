"""When a policy's answer reaches the robot: action chunks, re-planning and inference
latency, all in simulated time.

:class:`PolicyExecutor` sits between the runner and the policy. At control step k (time
t_k = k · dt) it asks the policy when a re-plan is due, and the answer, one action or a
chunk of H actions, takes effect at the first control step at or after t_k + L, L the
inference latency drawn for this call (:class:`Latency`). Until then the robot keeps
executing what it has: the rest of the previous chunk, and once that is used up the last
action again (a streaming controller holds its last command; for ``ee_delta`` that keeps
the TCP moving, which is exactly why a late answer can be unsafe). Before the first answer
arrives the action is all zeros (hold still).

Re-planning: with ``replan_every`` = None the policy is asked when its chunk is used up
(and no answer is on its way); with ``replan_every`` = r it is asked every r control
steps, and a new answer replaces what is left of the old chunk when it takes effect.

Latency draws come from a generator made from the episode's seed alone, separate from
the env's, so switching latency on does not change any random draw of the cell.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.errors import ConfigError
from simulator.policies.interface import as_action_chunk

LATENCY_STREAM = 0x1A7E  # mixed with the seed: the latency draws' own generator


@dataclass(frozen=True)
class Latency:
    """Inference latency in s: ``fixed`` (``value``), ``uniform`` (``low``..``high``) or
    ``normal`` (``mean``, ``std``, clipped at 0). Parse from ``"0.1"``,
    ``"uniform:0.05:0.15"`` or ``"normal:0.1:0.02"``."""

    kind: str = "fixed"
    a: float = 0.0
    b: float = 0.0

    @classmethod
    def parse(cls, text: str | float | None) -> "Latency":
        if text is None:
            return cls()
        if isinstance(text, (int, float)):
            text = str(text)
        parts = str(text).split(":")
        try:
            if len(parts) == 1:
                latency = cls("fixed", float(parts[0]))
            elif parts[0] in ("uniform", "normal") and len(parts) == 3:
                latency = cls(parts[0], float(parts[1]), float(parts[2]))
            else:
                raise ValueError
        except ValueError:
            raise ConfigError(f"latency {text!r}: expected seconds (0.1), 'uniform:LOW:HIGH' "
                              "or 'normal:MEAN:STD'") from None
        latency.check(text)
        return latency

    def check(self, text) -> None:
        values = (self.a, self.b)
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise ConfigError(f"latency {text!r}: times must be finite and >= 0 s")
        if self.kind == "uniform" and self.b < self.a:
            raise ConfigError(f"latency {text!r}: the range is reversed ({self.a} > {self.b})")

    def draw(self, rng: np.random.Generator) -> float:
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return float(rng.uniform(self.a, self.b))
        return max(0.0, float(rng.normal(self.a, self.b)))

    def __str__(self) -> str:
        return {"fixed": f"{self.a:g}", "uniform": f"uniform:{self.a:g}:{self.b:g}",
                "normal": f"normal:{self.a:g}:{self.b:g}"}[self.kind]


class PolicyExecutor:
    """Turns a policy's answers into one action per control step (module docstring).

    Args:
        policy: the policy (``act(observation)``).
        action_spec: the env's action :class:`~simulator.policies.interface.ArraySpec`.
        dt: control period, s.
        replan_every: ask every this many control steps (None: when the chunk is used up).
        latency: a :class:`Latency` (default none).
    """

    def __init__(self, policy, action_spec, dt: float, replan_every: int | None = None,
                 latency: Latency | None = None) -> None:
        if replan_every is not None and int(replan_every) < 1:
            raise ConfigError(f"replan_every must be at least 1 control step, got {replan_every!r}")
        self.policy, self.spec, self.dt = policy, action_spec, float(dt)
        self.replan_every = None if replan_every is None else int(replan_every)
        self.latency = latency or Latency()

    def reset(self, seed) -> None:
        self._rng = np.random.default_rng([LATENCY_STREAM, 0 if seed is None else int(seed)])
        self._step = 0
        self._queue: list[np.ndarray] = []
        self._pending: list[tuple[int, int, list]] = []  # (effective step, order, chunk)
        self._last = np.zeros(self.spec.shape)
        self._asked = 0

    def next_action(self, observation, timer) -> tuple[np.ndarray, bool, float]:
        """The action of this control step; also whether the policy was asked now and the
        latency (s) drawn for that call (NaN when not asked). ``timer(fn)`` calls the
        policy and measures it (the runner's)."""
        k = self._step
        due = (k % self.replan_every == 0 if self.replan_every is not None
               else not self._queue and not self._pending)
        latency = float("nan")
        if due:
            chunk = list(as_action_chunk(timer(lambda: self.policy.act(observation)), self.spec))
            latency = self.latency.draw(self._rng)
            delay = math.ceil(latency / self.dt - 1e-9)  # whole control steps, rounded up
            self._pending.append((k + delay, self._asked, chunk))
            self._pending.sort(key=lambda p: (p[0], p[1]))
            self._asked += 1
        while self._pending and self._pending[0][0] <= k:
            self._queue = self._pending.pop(0)[2]   # a newer answer replaces the old chunk
        if self._queue:
            self._last = self._queue.pop(0)
        self._step += 1
        return self._last, due, latency
