"""Where a suite's episodes run: local worker processes (the default) or Ray.

A backend has ``check()`` (everything that can fail before an episode starts) and
``run(tasks, out, sink)``: it runs the planned episodes and reports each to the sink
(``started(task)``, ``progress(index, fraction)``, ``finished(outcome)``) until all are
finished or ``sink.stop_requested`` is set and the ones in flight have ended.
"""
from __future__ import annotations

from simulator.errors import ConfigError

BACKENDS = ("local", "ray")


def make_backend(name: str, workers: int, address: str | None = None,
                 worker_init: str | None = None):
    """The backend called ``name`` with ``workers`` episodes in flight."""
    if name == "local":
        if address:
            raise ConfigError("--address names a Ray cluster; use it with --backend ray")
        from benchmarks.backends.local import LocalBackend
        return LocalBackend(workers, worker_init=worker_init)
    if name == "ray":
        if worker_init:
            raise ConfigError("worker_init is for the local backend only")
        from benchmarks.backends.ray_backend import RayBackend
        return RayBackend(workers, address)
    raise ConfigError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
