"""The Ray backend: the same episodes as Ray tasks, on a cluster or on this machine.

``--backend ray`` needs the optional extra ``ray`` (``pip install -e ".[ray]"``), and on
a cluster cobotsim installed on every node (the same version: the trace records it).
With ``--address`` the run joins that cluster (``host:port`` of its head, ``ray://...``
for Ray Client, or ``auto``); the address is probed before anything else, so one that
does not answer is an error before any episode starts. Without it, a Ray instance with
``--workers`` CPUs is started on this machine and shut down at the end.

A task runs :func:`benchmarks.episode.execute` into a scratch folder of its node and
sends the finished trace back as bytes, which this process writes into ``<out>/traces/``
(written as ``.partial``, fsynced, renamed): no shared file system is needed, and the
rows and trace datasets are the local backend's. A task that dies (its worker process
or node lost) takes only its episode down (``sim_error`` with Ray's reason); tasks are
never retried, so a crash is reported, not hidden. Progress inside an episode is not
reported from Ray tasks (the bar moves per episode).
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import time
from collections import deque
from pathlib import Path

from simulator.errors import ConfigError
from simulator.traces import PARTIAL_SUFFIX

from benchmarks.episode import EnvCache, Outcome, execute, plan_row
from benchmarks.results import write_atomic

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 5.0  # s to wait for a cluster's head to answer
_CACHE: EnvCache | None = None  # per Ray worker process


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray: pip install -e \".[ray]\" (or pip install "
                          "'ray>=2.9')") from None
    return ray


def probe(address: str) -> None:
    """Raise ConfigError unless something listens at ``address`` (``host:port`` or
    ``ray://host:port``; ``auto`` is left to Ray)."""
    if address == "auto":
        return
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT).close()
    except OSError as exc:
        raise ConfigError(f"--address {address}: no Ray cluster answers at {host}:{port} "
                          f"({exc.strerror or exc}); start one with 'ray start --head' there, "
                          "or leave --address out to start Ray on this machine") from None


def _task(task) -> tuple[Outcome, bytes | None]:
    """Run in a Ray worker: the episode into a scratch folder, its trace as bytes."""
    global _CACHE
    if _CACHE is None:
        _CACHE = EnvCache()
    folder = Path(tempfile.mkdtemp(prefix="cobotsim-ray-"))
    try:
        outcome = execute(task, folder, _CACHE)
        path = folder / "traces" / f"{task.name}.h5"
        return outcome, path.read_bytes() if path.exists() else None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _store(out: Path, name: str, data: bytes) -> None:
    """Write a trace received from a task: ``.partial``, fsync, rename."""
    (out / "traces").mkdir(parents=True, exist_ok=True)
    write_atomic(out / "traces" / f"{name}.h5", data, suffix=PARTIAL_SUFFIX)


class RayBackend:
    """Args:
        workers: tasks in flight at once (and the CPUs of a Ray started here).
        address: the cluster to join; None starts Ray on this machine.
    """

    name = "ray"

    def __init__(self, workers: int, address: str | None = None) -> None:
        self.workers, self.address = max(1, int(workers)), address

    def check(self) -> None:
        """Before any episode: Ray importable and the cluster answering."""
        _ray()
        if self.address:
            probe(self.address)

    def _init(self, ray) -> None:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reports over the network
        env = {k: v for k, v in os.environ.items() if k == "COBOTSIM_CATALOGUE"}
        options = {"runtime_env": {"env_vars": env}, "log_to_driver": False,
                   "include_dashboard": False}
        try:
            if self.address:
                ray.init(address=self.address, **options)
            else:
                ray.init(num_cpus=self.workers, **options)
        except Exception as exc:  # Ray's own errors vary by version
            raise ConfigError(f"cannot start or join Ray ({self.address or 'local'}): "
                              f"{type(exc).__name__}: {exc}") from None

    def run(self, tasks: list, out: Path, sink) -> None:
        """Run ``tasks`` as Ray tasks, reporting to ``sink`` like the local backend."""
        ray = _ray()
        self._init(ray)
        try:
            remote = ray.remote(num_cpus=1, max_retries=0)(_task)
            pending, flight = deque(tasks), {}
            while pending or flight:
                while pending and len(flight) < self.workers and not sink.stop_requested:
                    task = pending.popleft()
                    flight[remote.remote(task)] = [task, time.monotonic(), ""]
                    sink.started(task)
                if not flight:
                    break
                done, _ = ray.wait(list(flight), num_returns=1, timeout=0.2)
                for ref in done:
                    task, _, reason = flight.pop(ref)
                    sink.finished(task, self._result(ray, ref, task, reason, out))
                self._police(ray, flight, sink)
        finally:
            ray.shutdown()

    @staticmethod
    def _result(ray, ref, task, reason: str, out: Path) -> Outcome:
        try:
            outcome, data = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            return Outcome(plan_row(task, "interrupted", reason or "cancelled"))
        except ray.exceptions.RayError as exc:
            log.warning("%s: the Ray task failed: %s", task.episode_id, exc)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return Outcome(plan_row(task, "interrupted" if reason else "sim_error",
                                    reason or f"the Ray task failed: {type(exc).__name__}: {first}"))
        if reason and outcome.row["status"] == "interrupted":
            outcome.row["error"] = reason
        if data is not None and not outcome.fatal:
            try:
                _store(out, task.name, data)
            except OSError as exc:
                message = f"cannot write trace {out / 'traces' / task.name}.h5: {exc.strerror or exc}"
                return Outcome(plan_row(task, "interrupted", message), fatal=message)
        return outcome

    @staticmethod
    def _police(ray, flight: dict, sink) -> None:
        now = time.monotonic()
        for ref, entry in flight.items():
            task, started, reason = entry
            if reason:
                continue
            if task.timeout is not None and now - started > task.timeout:
                entry[2] = f"timed out after {task.timeout:g} s (episode.timeout)"
            elif sink.stop_requested:
                entry[2] = f"stopped: {sink.stop_requested}"
            else:
                continue
            ray.cancel(ref)
