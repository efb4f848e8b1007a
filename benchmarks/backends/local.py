"""The embedded backend: episodes on worker processes of this machine.

Each worker is a process of its own (started with ``spawn``) that runs one episode at a
time, asked over a pipe, and answers with the episode's row; the parent always knows
which episode each worker has, so nothing is dropped whatever the number of workers:

* a worker that dies (a crash in the physics engine, the out-of-memory killer) takes only
  its episode down, reported as ``sim_error`` with the exit code or signal, and is
  replaced; one that dies during its set-up (before any episode: a broken install)
  stops the run instead, since every other worker would fail the same way;
* an episode running longer than the suite's ``episode.timeout`` (wall-clock) is asked to
  stop (SIGINT: its trace is finished as ``interrupted``), and killed after the grace
  period if it does not;
* when the run is asked to stop (:attr:`Sink.stop_requested`: Ctrl-C, SIGTERM, a full
  disk), no new episode starts and the episodes in flight are stopped the same way.

Workers run in their own process group, so a Ctrl-C in the terminal reaches only the
parent, which forwards it once; on Linux they are killed when the parent dies (SIGKILL
included), so no orphan keeps writing into the folder.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

from benchmarks.episode import EnvCache, Outcome, execute, plan_row

log = logging.getLogger(__name__)

GRACE = 20.0  # s a stopped episode gets to finish its trace before its worker is killed


@dataclass
class _Worker:
    process: multiprocessing.Process
    conn: object
    task: object = None
    started: float = 0.0
    signalled: float | None = None
    reason: str = ""
    ready: bool = False  # it said so after its set-up


class LocalBackend:
    """Args:
        workers: worker processes (at most one per episode is started).
        worker_init: ``module:function`` called once in every worker before its first
            episode (for tests and site set-up; :func:`simulator.policies.loading.load_factory`).
        grace: s an asked-to-stop episode may take before its worker is killed.
    """

    name = "local"

    def __init__(self, workers: int, worker_init: str | None = None, grace: float = GRACE) -> None:
        self.workers, self.worker_init, self.grace = max(1, int(workers)), worker_init, grace

    def check(self) -> None:
        """Nothing can fail before the first episode that the run would not find then."""

    def _start(self, ctx, out: Path) -> _Worker:
        parent, child = ctx.Pipe()
        process = ctx.Process(target=worker_main, args=(child, str(out), self.worker_init,
                                                         os.getpid()), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def run(self, tasks: list, out: Path, sink) -> None:
        """Run ``tasks``, reporting to ``sink`` (``started``, ``progress``, ``finished``)
        until all are done or ``sink.stop_requested`` and the ones in flight ended."""
        ctx = multiprocessing.get_context("spawn")
        pending = deque(tasks)
        pool = [self._start(ctx, out) for _ in range(min(self.workers, len(tasks)))]
        try:
            while True:
                self._assign(pool, pending, sink)
                busy = [w for w in pool if w.task is not None]
                if not busy:
                    break
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], 0.2)
                for worker in busy:
                    self._collect(worker, ready, sink)
                    if worker.task is not None and not worker.process.is_alive():
                        self._collect(worker, {worker.conn}, sink)  # its last words first
                        if worker.task is not None:
                            self._lost(worker, sink)
                self._police(busy, sink)
                for i, worker in enumerate(pool):  # replace the dead ones while work is left
                    if worker.task is None and not worker.process.is_alive():
                        worker.conn.close()
                        if pending and not sink.stop_requested:
                            pool[i] = self._start(ctx, out)
                pool = [w for w in pool if w.process.is_alive() or w.task is not None]
        finally:
            for worker in pool:
                _stop(worker)

    @staticmethod
    def _assign(pool, pending, sink) -> None:
        for worker in pool:
            if worker.task is None and pending and not sink.stop_requested \
                    and worker.process.is_alive():
                task = pending.popleft()
                try:
                    worker.conn.send(task)
                except OSError:  # it died since the last look: the task waits for another
                    pending.appendleft(task)
                    continue
                worker.task = task
                worker.started, worker.signalled, worker.reason = time.monotonic(), None, ""
                sink.started(task)

    def _collect(self, worker: _Worker, ready, sink) -> None:
        while worker.task is not None and (worker.conn in ready or worker.process.sentinel in ready):
            try:
                if not worker.conn.poll():
                    return
                message = worker.conn.recv()
            except (EOFError, OSError):
                return
            if message[0] == "ready":
                worker.ready = True
            elif message[0] == "progress":
                sink.progress(message[1], message[2])
            elif message[0] == "done":
                outcome: Outcome = message[2]
                if worker.reason and outcome.row["status"] == "interrupted":
                    outcome.row["error"] = worker.reason
                task, worker.task = worker.task, None
                sink.finished(task, outcome)

    def _lost(self, worker: _Worker, sink) -> None:
        code = worker.process.exitcode
        how = (f"killed by signal {signal.Signals(-code).name}" if code is not None and code < 0
               else f"exit code {code}")
        if not worker.ready:  # its set-up failed: every other worker's would too
            task, worker.task = worker.task, None
            why = f"a worker process failed to start ({how}; its error is above)"
            sink.finished(task, Outcome(plan_row(task, "not_run", why)))
            sink.stop(why, 1)
            return
        status = "interrupted" if worker.signalled is not None else "sim_error"
        reason = worker.reason or "the worker process died"
        log.warning("%s: %s (%s)", worker.task.episode_id, reason, how)
        task, worker.task = worker.task, None
        sink.finished(task, Outcome(plan_row(task, status, f"{reason} ({how})")))

    def _police(self, busy, sink) -> None:
        """Stop episodes past their timeout or when the run stops; kill the ones that do
        not stop within the grace period."""
        now = time.monotonic()
        for worker in busy:
            if worker.task is None:
                continue
            if worker.signalled is None:
                timeout = worker.task.timeout
                if timeout is not None and now - worker.started > timeout:
                    worker.reason = f"timed out after {timeout:g} s (episode.timeout)"
                elif sink.stop_requested:
                    worker.reason = f"stopped: {sink.stop_requested}"
                else:
                    continue
                worker.signalled = now
                _signal(worker, signal.SIGINT)
            elif now - worker.signalled > self.grace:
                worker.reason += f"; killed after {self.grace:g} s"
                _signal(worker, signal.SIGKILL)
                worker.process.join(5)


def _signal(worker: _Worker, signum) -> None:
    try:
        os.kill(worker.process.pid, signum)
    except ProcessLookupError:
        pass


def _stop(worker: _Worker) -> None:
    """End an idle worker: ask it, then make sure."""
    try:
        worker.conn.send(None)
    except (OSError, ValueError):  # dead already, or its pipe closed
        pass
    worker.process.join(5)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join(5)
    if not worker.conn.closed:
        worker.conn.close()


def _die_with_parent(parent: int) -> None:
    """Linux: get SIGKILL when the parent dies (PR_SET_PDEATHSIG); elsewhere nothing."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the call
        os._exit(1)


def _send(conn, message) -> None:
    """Send without a signal cutting the message in half."""
    blocked = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        conn.send(message)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def worker_main(conn, out: str, worker_init: str | None, parent: int) -> None:
    """A worker's loop: receive a task, run it, send its outcome; None ends the loop."""
    os.setpgrp()
    _die_with_parent(parent)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    cache = None
    fatal = False
    try:
        if worker_init:
            from simulator.policies.loading import load_factory
            load_factory(worker_init)()
        cache = EnvCache()
        _send(conn, ("ready",))
        while True:
            task = conn.recv()
            if task is None:
                break
            outcome = execute(task, Path(out), cache,
                              progress=lambda f, i=task.index: _send(conn, ("progress", i, f)))
            _send(conn, ("done", task.index, outcome))
            if outcome.fatal or outcome.interrupted:
                fatal = bool(outcome.fatal)
                break
    except (KeyboardInterrupt, EOFError):
        pass
    finally:
        if fatal:  # HDF5 may hold the file it could not write; its exit handler could crash
            os._exit(3)
        if cache is not None:
            cache.close()
