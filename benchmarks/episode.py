"""Run one planned episode where a worker runs it (a local process or a Ray task).

:func:`execute` builds (or reuses) the env and policy of the episode, runs it with
:func:`simulator.runner.run_episode` into ``<out>/traces/<name>.h5`` and returns its row,
computed from the trace file it just wrote (:func:`benchmarks.metrics.episode_row`): the
row of a run and the row recomputed later from the trace are the same by construction.
Nothing an episode does can stop the suite: a fault of the policy or of the physics is
the episode's status (``policy_error``, ``sim_error``, with the reason in ``error``);
only a trace the file system refuses to write (a full disk) is ``fatal``, because every
episode after it would fail the same way.
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import gymnasium

from benchmarks.metrics.columns import empty_row, episode_row, shields_label
from benchmarks.plan import PlannedEpisode

log = logging.getLogger(__name__)

PROGRESS_PERIOD = 0.5  # s of wall-clock between progress reports of one episode
CACHED_ENVS = 4        # envs (with their policies) a worker keeps for later episodes


@dataclass
class Outcome:
    """What running one episode gave: its row; ``fatal`` (why the run cannot go on) or
    ``interrupted`` (the worker was asked to stop)."""

    row: dict
    fatal: str | None = None
    interrupted: bool = False


def plan_row(task: PlannedEpisode, status: str, error: str = "") -> dict:
    """The row of an episode that has no trace: what the plan says, and its status."""
    return empty_row(episode=task.episode_id, configuration=task.configuration,
                     scenario=task.scenario, robot=task.robot, policy=task.policy,
                     shields=shields_label(task.shields), latency=task.latency,
                     seed=task.seed, status=status, error=error)


class _Progress(gymnasium.Wrapper):
    """Reports the fraction of the episode's step limit done, at most every
    :data:`PROGRESS_PERIOD` s."""

    def __init__(self, env, report) -> None:
        super().__init__(env)
        self.report, self.steps, self.last = report, 0, time.monotonic()

    def step(self, action):
        result = self.env.step(action)
        self.steps += 1
        now = time.monotonic()
        if now - self.last >= PROGRESS_PERIOD:
            self.last = now
            self.report(min(1.0, self.steps / max(1, self.env.unwrapped.max_steps)))
        return result


class PolicyBuildError(Exception):
    """The policy of an episode could not be made (the message says why)."""


class EnvCache:
    """The envs and policies a worker built, reused by later episodes of the same kind
    (each reset rebuilds the world, so an episode does not depend on the ones before)."""

    def __init__(self) -> None:
        self._entries: OrderedDict = OrderedDict()
        self._folder = Path(tempfile.mkdtemp(prefix="cobotsim-variants-"))

    def _scenario(self, task: PlannedEpisode) -> str:
        if task.scenario_text is None:
            return task.source
        digest = hashlib.sha1(task.scenario_text.encode()).hexdigest()[:16]
        path = self._folder / digest / f"{task.scenario}.yaml"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(task.scenario_text, encoding="utf-8")
        return str(path)

    def get(self, task: PlannedEpisode, video: bool = False):
        """(env, policy) for ``task``; ConfigError and the like propagate."""
        from simulator.env import CellEnv
        from simulator.policies import make_policy

        key = (task.source, task.scenario_text, task.robot, task.shields, task.cameras,
               task.policy, video)
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        env = CellEnv(self._scenario(task), robot=task.robot, shields=list(task.shields),
                      cameras=task.cameras, render_mode="rgb_array" if video else None)
        try:
            policy = make_policy(task.policy, env)
        except Exception as exc:
            env.close()
            raise PolicyBuildError(_reason(exc)) from exc
        self._entries[key] = (env, policy)
        while len(self._entries) > CACHED_ENVS:
            self._close(self._entries.popitem(last=False)[1])
        return env, policy

    def drop(self, task: PlannedEpisode, video: bool = False) -> None:
        """Forget ``task``'s env (after a fault, its state is not trusted)."""
        key = (task.source, task.scenario_text, task.robot, task.shields, task.cameras,
               task.policy, video)
        if key in self._entries:
            self._close(self._entries.pop(key))

    @staticmethod
    def _close(entry) -> None:
        env, policy = entry
        try:
            if hasattr(policy, "close"):
                policy.close()
        finally:
            env.close()

    def close(self) -> None:
        while self._entries:
            self._close(self._entries.popitem()[1])


def _reason(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    place = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{place}"


def execute(task: PlannedEpisode, out: Path, cache: EnvCache, progress=None,
            video: bool = False) -> Outcome:
    """Run ``task`` into ``out/traces/`` (module docstring); ``progress(fraction)`` is
    called during the episode; ``video`` also writes ``<name>.mp4`` beside the trace."""
    from simulator.runner import run_episode
    from simulator.traces import TraceWriteError

    out = Path(out)
    try:
        env, policy = cache.get(task, video)
    except KeyboardInterrupt:
        return Outcome(plan_row(task, "interrupted", "interrupted before the episode began"),
                       interrupted=True)
    except PolicyBuildError as exc:
        log.warning("%s: cannot build the policy: %s", task.episode_id, exc)
        return Outcome(plan_row(task, "policy_error", str(exc)))
    except Exception as exc:
        log.warning("%s: cannot build the cell: %s", task.episode_id, _reason(exc))
        return Outcome(plan_row(task, "sim_error", _reason(exc)))
    stepped = _Progress(env, progress) if progress is not None else env
    interrupted = False
    try:
        result = run_episode(stepped, policy, task.seed, out, task.policy, video=video,
                             overwrite=True, replan_every=task.replan_every,
                             latency=task.latency, name=task.name,
                             attrs={"suite": task.suite, "configuration": task.configuration,
                                    "episode": task.episode_id})
        trace = result.trace
    except TraceWriteError as exc:
        cache.drop(task, video)
        return Outcome(plan_row(task, "interrupted", str(exc)), fatal=str(exc))
    except KeyboardInterrupt:
        cache.drop(task, video)
        trace, interrupted = out / "traces" / f"{task.name}.h5", True
    except Exception as exc:  # e.g. an episode that would start unsafe: no trace
        cache.drop(task, video)
        log.warning("%s: %s", task.episode_id, _reason(exc))
        return Outcome(plan_row(task, "sim_error", _reason(exc)))
    if trace is None or not Path(trace).exists():
        return Outcome(plan_row(task, "interrupted" if interrupted else "sim_error",
                                "the episode ended without a trace"), interrupted=interrupted)
    return Outcome(episode_row(trace, relative_to=out), interrupted=interrupted)
