"""The commands ``cobotsim bench`` and ``cobotsim metrics`` (docs/cli.md).

They reach the ``cobotsim`` program through the entry-point group ``cobotsim.commands``
(setup.cfg): :func:`add_commands` is called with its subparsers, so the simulator never
imports benchmarks. Heavy imports wait until a command runs.
"""
from __future__ import annotations

import json
from pathlib import Path

from simulator.errors import CobotsimError


def _bench(args) -> int:
    if args.merge:
        if args.suite or args.resume or args.shard:
            raise CobotsimError("--merge takes shard folders only: cobotsim bench --merge "
                                "SHARD_DIR [SHARD_DIR ...] --out DIR")
        from benchmarks.merge import merge_runs
        return merge_runs(args.merge, args.out).exit_code
    if not args.suite:
        raise CobotsimError("name a suite (a file, or one of the shipped suites: quickstart, "
                            "standard), or --merge shard folders")
    if args.workers is not None and args.workers < 1:
        raise CobotsimError(f"--workers {args.workers}: at least 1")
    from benchmarks.bench import run_suite
    result = run_suite(args.suite, args.out, workers=args.workers, backend=args.backend,
                       address=args.address, resume=args.resume, shard=args.shard,
                       progress=not args.quiet)
    return result.exit_code


def _trace_files(paths: list[str]) -> list[Path]:
    files = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            folder = path / "traces" if (path / "traces").is_dir() else path
            found = sorted(folder.glob("*.h5"))
            if not found:
                raise CobotsimError(f"{path}: no traces (*.h5) in it")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise CobotsimError(f"{path}: no such trace file or folder")
    return files


def _metrics(args) -> int:
    from simulator.traces import TraceError

    from benchmarks.metrics import episode_row, json_ready
    rows = []
    for path in _trace_files(args.traces):
        try:
            rows.append(episode_row(path))
        except TraceError as exc:
            raise CobotsimError(str(exc)) from None
    if args.json:
        print(json.dumps(json_ready(rows), indent=2))
        return 0
    for row in rows:
        print(row["trace"])
        for name, value in row.items():
            if name != "trace":
                print(f"  {name:<24} {value}")
    return 0


def add_commands(sub) -> None:
    """Register ``bench`` and ``metrics`` with the ``cobotsim`` subparsers."""
    bench = sub.add_parser("bench", help="run a benchmark suite on local processes or Ray, "
                           "with resume, shards and statistics (docs/benchmarks.md)")
    bench.add_argument("suite", nargs="?", help="a shipped suite (quickstart, standard) or a "
                       "suite file (.yaml)")
    bench.add_argument("--out", required=True, help="output folder (one suite run per folder)")
    bench.add_argument("--workers", type=int, default=None, metavar="N",
                       help="episodes run at once (default: the number of cores)")
    bench.add_argument("--backend", choices=["local", "ray"], default="local",
                       help="local worker processes (default) or Ray (extra 'ray')")
    bench.add_argument("--address", default=None, metavar="ADDR",
                       help="the Ray cluster to join (HOST:PORT, ray://HOST:PORT or auto); "
                            "default: start Ray on this machine")
    bench.add_argument("--resume", action="store_true",
                       help="keep the complete traces of the run in --out; run the rest")
    bench.add_argument("--shard", default=None, metavar="I/N",
                       help="run only the I-th of N slices of the seeds (for job arrays)")
    bench.add_argument("--merge", nargs="+", default=None, metavar="SHARD_DIR",
                       help="join the shard folders into --out instead of running")
    bench.add_argument("--quiet", action="store_true", help="no progress display")
    bench.set_defaults(func=_bench)
    metrics = sub.add_parser("metrics", help="the episode-table row of traces, computed from "
                             "the files alone")
    metrics.add_argument("traces", nargs="+", help="trace files, or folders of them")
    metrics.add_argument("--json", action="store_true", help="print a JSON list of rows")
    metrics.set_defaults(func=_metrics)
