"""Running episodes of a policy in an env and recording each one as a trace.

A policy that raises, or returns an action of the wrong shape or with non-finite
values, ends its episode with ``status = policy_error``; a physics failure with
``sim_error``. Neither stops the episodes that follow, and neither is ever counted as a
success. A policy may return an action chunk (H actions); when the policy is asked and
when its answers take effect (re-planning interval, inference latency in simulated time)
is :mod:`simulator.policies.timing`'s. A policy that declares an interface the
env does not offer is refused before the first step (ConfigError naming every
difference).
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from simulator.policies.interface import check_interface, env_interface
from simulator.policies.protocol import EpisodeTally
from simulator.policies.timing import Latency, PolicyExecutor
from simulator.run_folder import raise_if_terminated
from simulator.traces import TraceRecorder, TraceWriteError
from simulator.video import VideoRecorder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpisodeResult:
    """What one episode did (times in s)."""

    seed: int
    status: str
    success: bool
    steps: int
    sim_time: float
    wall_time: float
    trace: Path | None
    video: Path | None
    error: str = ""


POLICY_UNITS = {"/policy/called": "1", "/policy/compute_time": "s", "/policy/latency": "s"}


def _compute_time(policy, wall: float) -> float:
    """The policy's own compute time for its last answer (s): a remote server's report
    when there is one (the network round trip left out), else the wall time of ``act``."""
    reported = getattr(policy, "compute_times", None)
    return float(reported[-1]) if reported else float(wall)


def trace_name(scenario: str, policy: str, seed: int) -> str:
    """``<scenario>_<policy>_seed<NNNNN>``; a server address keeps its scheme and host
    only (``ws://gpu-box:8765`` -> ``ws_gpu-box``: the name does not depend on the port),
    and characters that do not belong in a file name (``module:factory``) become ``_``."""
    address = re.fullmatch(r"([a-z]+)://(\[[^\]]*\]|[^:/]*)(:\d*)?(/.*)?", policy)
    if address:
        policy = f"{address[1]}_{address[2]}"
    label = re.sub(r"[^A-Za-z0-9.+-]+", "_", policy).strip("_") or "policy"
    return f"{scenario}_{label}_seed{seed:05d}"


def _tell_end(policy, status: str, success: bool, steps: int, sim_time: float,
              tally: EpisodeTally) -> None:
    """Tell a policy that has ``end(summary)`` how its episode ended (a remote policy
    passes it to its server as an ``end`` message); its failure changes no result."""
    end = getattr(policy, "end", None)
    if not callable(end):
        return
    try:
        end({"status": status, "success": bool(success), "steps": int(steps),
             "sim_time": float(sim_time), "safety": tally.summary()})
    except Exception as exc:
        log.warning("the policy's end() failed: %s: %s", type(exc).__name__, exc)


def run_episode(env, policy, seed: int, out_dir: Path, policy_name: str,
                video: bool = False, overwrite: bool = False, replan_every: int | None = None,
                latency: Latency | str | float | None = None, name: str | None = None,
                attrs: dict | None = None) -> EpisodeResult:
    """Run one seeded episode, writing ``out_dir/traces/<name>.h5`` (and ``.mp4``).

    ``replan_every`` (control steps) and ``latency`` (s, or a :class:`Latency` spec such
    as ``"uniform:0.05:0.15"``) set when the policy is asked and when its answers take
    effect (:mod:`simulator.policies.timing`). ``name`` replaces the default file name
    (:func:`trace_name`); ``attrs`` are extra root attributes of the trace (a benchmark
    suite's ``suite``, ``configuration``, ``episode``). A trace the file system refuses to
    write raises :class:`~simulator.traces.TraceWriteError` (the run cannot go on)."""
    base = env.unwrapped
    check_interface(policy, env)
    latency = latency if isinstance(latency, Latency) else Latency.parse(latency)
    executor = PolicyExecutor(policy, env_interface(env).action, base.dt, replan_every, latency)
    name = name or trace_name(base.scenario.id, policy_name, seed)
    traces = Path(out_dir) / "traces"
    traces.mkdir(parents=True, exist_ok=True)
    wrapped = VideoRecorder(env, traces / f"{name}.mp4", overwrite=overwrite) if video else env
    recorder = TraceRecorder(wrapped, traces / f"{name}.h5",
                             {**(attrs or {}), "policy": policy_name,
                              "policy_latency": str(latency),
                              "policy_replan_every": replan_every or 0},
                             units=POLICY_UNITS, overwrite=overwrite)
    start = time.perf_counter()
    obs, info = recorder.reset(seed=seed)
    steps, status, error = 0, "complete", ""
    tally = EpisodeTally()
    executor.reset(seed)
    try:
        try:
            policy.reset(seed, info)
        except Exception as exc:  # e.g. a policy server that is down
            status, error = "policy_error", f"{type(exc).__name__}: {exc}"
            log.warning("seed %d: policy reset failed: %s", seed, error)
        recorder.add_final_attrs(getattr(policy, "trace_attrs", dict)())
        if status != "complete":
            recorder.mark(status, error)
        while status == "complete":
            try:
                compute = [float("nan")]

                def timed(call):
                    began = time.perf_counter()
                    answer = call()
                    compute[0] = _compute_time(policy, time.perf_counter() - began)
                    return answer
                action, called, delay = executor.next_action(obs, timed)
                recorder.add_to_next_row({"/policy/called": called,
                                          "/policy/compute_time": compute[0],
                                          "/policy/latency": delay})
            except Exception as exc:  # any fault of the policy marks the episode
                status, error = "policy_error", f"{type(exc).__name__}: {exc}"
                log.warning("seed %d: policy raised %s", seed, error)
                recorder.mark(status, error)
                break
            try:
                obs, _, terminated, truncated, info = recorder.step(action)
            except TraceWriteError:
                raise
            except Exception as exc:  # a physics fault marks the episode
                status, error = "sim_error", f"{type(exc).__name__}: {exc}"
                log.warning("seed %d: simulation failed: %s", seed, error)
                recorder.mark(status, error)
                break
            steps += 1
            tally.add(info)
            raise_if_terminated()
            if terminated or truncated:
                status, error = info["status"], info.get("error", "")
                break
    except KeyboardInterrupt:
        recorder.mark("interrupted", "interrupted by the user")
        raise
    success = status == "complete" and bool(info.get("success", False))
    _tell_end(policy, status, success, steps, base.sim.time, tally)
    if video:
        wrapped.finish()  # also after an early end (policy or physics fault)
    return EpisodeResult(seed, status, success, steps, base.sim.time,
                         time.perf_counter() - start, recorder.last_path,
                         wrapped.last_path if video else None, error)
