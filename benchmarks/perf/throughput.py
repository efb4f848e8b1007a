"""Throughput of ``cobotsim bench``: episodes per minute of a suite with 1 and N local
workers and with the Ray backend, on this machine.

Run ``python -m benchmarks.perf.throughput [--suite quickstart] [--workers 2] [--ray]
[--json FILE]``; each configuration runs the whole suite into a fresh temporary folder
(wall-clock time from the call to the end of the tables, worker start-up and, for Ray,
``ray.init`` included), and the numbers go to docs/performance.md with the machine
(:func:`benchmarks.perf.realtime.machine`).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.perf.realtime import machine


def measure(suite: str, workers: int, backend: str = "local") -> dict:
    """Run ``suite`` once; wall time (s), episodes and simulated seconds."""
    from benchmarks.bench import run_suite

    with tempfile.TemporaryDirectory(prefix="cobotsim-throughput-") as folder:
        start = time.perf_counter()
        result = run_suite(suite, Path(folder) / "out", workers=workers, backend=backend,
                           progress=False, echo=lambda *a: None)
        wall = time.perf_counter() - start
    if result.stopped:
        raise SystemExit(f"the {backend} run stopped early ({result.stopped}); no measurement")
    sim = sum(r["sim_time_s"] for r in result.rows if r["sim_time_s"] == r["sim_time_s"])
    return {"suite": suite, "backend": backend, "workers": workers, "episodes": len(result.rows),
            "wall_s": round(wall, 2), "episodes_per_min": round(60 * len(result.rows) / wall, 1),
            "sim_s": round(sim, 1), "real_time_factor": round(sim / wall, 1),
            "statuses": sorted({r["status"] for r in result.rows})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", default="quickstart")
    parser.add_argument("--workers", type=int, default=2, help="the parallel run's workers")
    parser.add_argument("--ray", action="store_true", help="also run the Ray backend")
    parser.add_argument("--json", default=None, help="write the results here too")
    args = parser.parse_args(argv)
    runs = [("local", 1), ("local", args.workers)] + ([("ray", args.workers)] if args.ray else [])
    results = []
    for backend, workers in runs:
        results.append(measure(args.suite, workers, backend))
        r = results[-1]
        print(f"{backend:<6} workers={workers}  {r['episodes']} episodes in {r['wall_s']:7.1f} s  "
              f"{r['episodes_per_min']:6.1f} episodes/min  real-time factor {r['real_time_factor']}x  "
              f"{','.join(r['statuses'])}", flush=True)
    one = results[0]["wall_s"]
    for r in results[1:]:
        print(f"{r['backend']} with {r['workers']} workers: {one / r['wall_s']:.2f}x one local worker")
    if args.ray:
        print(f"ray against local with {args.workers} workers: "
              f"{results[2]['wall_s'] / results[1]['wall_s'] - 1:+.0%} wall time")
    print(json.dumps(machine()))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "runs": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
