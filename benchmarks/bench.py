"""Running a suite into a folder: ``cobotsim bench`` as a function (:func:`run_suite`).

The story of a run, one call per stage: load and check the suite (a bad file fails
here, naming the key), plan its episodes and take this shard's, check the backend (a Ray
address that does not answer fails here), prove the folder writable and take its lock
(a second run is refused, naming the first), check what the folder holds (another
suite's run is refused; a resumed run keeps its complete traces), write the manifest,
run the episodes (Ctrl-C and SIGTERM stop them as ``interrupted``; a full disk stops the
run), write the episode table, the summary and the manifest, replay the worst episodes
with video, print the table. Every planned episode of the shard gets a row with a status:
complete, policy_error, sim_error, interrupted (stopped in flight) or not_run.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from simulator.run_folder import RunFolderLock

from benchmarks.backends import make_backend
from benchmarks.episode import EnvCache, execute, plan_row
from benchmarks.manifest import manifest, now
from benchmarks.metrics import format_table, json_ready, same_row, summarize
from benchmarks.plan import parse_shard, plan_episodes, shard_of
from benchmarks.progress import Progress
from benchmarks.results import (EPISODES, MANIFEST, SUMMARY, TRACES, VIDEOS, check_folder,
                                check_writable, complete_trace, remove_partials, write_json,
                                write_rows)
from benchmarks.suite import load_suite
from benchmarks.validations import save_validations

log = logging.getLogger(__name__)
EXIT_STORAGE, EXIT_SIGINT, EXIT_SIGTERM = 1, 130, 143


@dataclass
class RunResult:
    """What a run left: its rows (one per planned episode of the shard), the summary,
    why it stopped early (None: it ran everything) and the exit code."""

    out: Path
    rows: list[dict]
    summary: dict
    stopped: str | None
    exit_code: int


class _Sink:
    """Collects the backend's reports; ``stop_requested`` says why the run should stop."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.rows: dict[int, dict] = {}
        self.in_flight: set[int] = set()
        self.stop_requested: str | None = None
        self.exit_code = 0

    def started(self, task) -> None:
        self.in_flight.add(task.index)
        self.bar.start(task.index)

    def progress(self, index: int, fraction: float) -> None:
        self.bar.step(index, fraction)

    def finished(self, task, outcome) -> None:
        self.in_flight.discard(task.index)
        self.rows[task.index] = outcome.row
        self.bar.finish(task.index, outcome.row)
        if outcome.fatal:
            self.stop(outcome.fatal, EXIT_STORAGE)

    def stop(self, why: str, code: int) -> None:
        if self.stop_requested is None:
            self.stop_requested, self.exit_code = why, code


@contextlib.contextmanager
def _stop_on_signals(sink: _Sink):
    """SIGINT and SIGTERM ask the run to stop (the episodes in flight end as interrupted);
    a second one stops waiting for them."""
    def handler(signum, frame):
        if sink.stop_requested is not None and signum in (signal.SIGINT, signal.SIGTERM):
            raise KeyboardInterrupt
        name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
        sink.stop(f"interrupted ({name})", EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM)
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run_suite(suite_name: str, out: str | os.PathLike, *, workers: int | None = None,
              backend: str = "local", address: str | None = None, resume: bool = False,
              shard: str | None = None, progress: bool = True, worker_init: str | None = None,
              echo=print) -> RunResult:
    """Run a suite (module docstring); ``echo`` prints the header and the table."""
    suite = load_suite(suite_name)
    shard_range = parse_shard(shard)
    plan = plan_episodes(suite)
    seeds = list(range(suite.spec.seeds.first, suite.spec.seeds.first + suite.spec.seeds.count))
    tasks = shard_of(plan, shard_range, seeds)
    workers = int(workers or os.cpu_count() or 1)
    runner = make_backend(backend, workers, address, worker_init)
    runner.check()
    out = Path(out)
    check_writable(out)
    with RunFolderLock(out, f"cobotsim bench {suite.spec.id} --out {out}"):
        old = check_folder(out, suite, shard, resume)
        (out / TRACES).mkdir(exist_ok=True)
        removed = remove_partials(out)
        kept = {t.index: row for t in tasks if old and (row := complete_trace(out, t))}
        todo = [t for t in tasks if t.index not in kept]
        record = manifest(suite, tasks, backend=backend, workers=workers, shard=shard_range,
                          started=old["started"] if old else now())
        record["resumed"] = (old.get("resumed", []) + [now()]) if old else []
        write_json(out / MANIFEST, record)
        echo(f"cobotsim bench {suite.spec.id}: {len(tasks)} episodes"
             + (f" (shard {shard} of {len(plan)})" if shard else "")
             + (f", {len(kept)} kept from the earlier run" if old else "")
             + (f", {removed} unfinished trace(s) removed" if removed else "")
             + f"; {len(todo)} to run on {backend} with {workers} worker(s) into {out}")
        save_validations(out, suite.spec.record.validations, echo)
        bar = Progress(len(todo), enabled=progress)
        sink = _Sink(bar)
        try:
            with _stop_on_signals(sink):
                runner.run(todo, out, sink)
        except KeyboardInterrupt:
            sink.stop("interrupted (a second signal)", sink.exit_code or EXIT_SIGINT)
        finally:
            bar.close()
        rows = [kept.get(t.index) or sink.rows.get(t.index) or _unfinished(t, sink) for t in tasks]
        summary = summarize(rows, suite.spec.pairs)
        record.update(ended=now(), episodes=_counts(rows), stopped=sink.stop_requested)
        try:
            write_rows(out / EPISODES, rows)
            write_json(out / SUMMARY, json_ready(summary))
            write_json(out / MANIFEST, record)
        except OSError as exc:
            sink.stop(f"the tables could not be written ({exc.strerror or exc})", EXIT_STORAGE)
            echo(f"cobotsim bench: cannot write the tables into {out}: {exc.strerror or exc}; "
                 "every finished trace is intact; free space and rerun with --resume to "
                 "rebuild them")
        if sink.stop_requested is None and suite.spec.record.worst_videos:
            worst_videos(suite, tasks, rows, out)
    echo(format_table(summary))
    if sink.stop_requested:
        echo(f"cobotsim bench: stopped early: {sink.stop_requested}; every finished trace is "
             f"intact; rerun with --resume to run the rest")
    else:
        echo(f"tables: {out / EPISODES}, {out / SUMMARY}; traces in {out / TRACES}")
    return RunResult(out, rows, summary, sink.stop_requested, sink.exit_code)


def _unfinished(task, sink: _Sink) -> dict:
    if task.index in sink.in_flight:
        return plan_row(task, "interrupted", sink.stop_requested or "stopped")
    return plan_row(task, "not_run", f"the run stopped before it: {sink.stop_requested}")


def _counts(rows: list[dict]) -> dict:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


def worst_videos(suite, tasks, rows, out: Path) -> list[Path]:
    """Replay the worst complete episodes (``record.worst_by``) with video into
    ``out/videos/``; a replay whose row differs from the run's is logged (it should not:
    same scenario, policy, seed and version)."""
    column = suite.spec.record.worst_by
    sign = 1.0 if column == "min_ssm_margin_m" else -1.0
    ranked = sorted((sign * r[column], i) for i, r in enumerate(rows)
                    if r["status"] == "complete" and r[column] == r[column])
    chosen = [i for _, i in ranked[:suite.spec.record.worst_videos]]
    (out / VIDEOS).mkdir(exist_ok=True)
    cache, written = EnvCache(), []
    try:
        for i in chosen:
            with tempfile.TemporaryDirectory(prefix="cobotsim-video-") as scratch:
                outcome = execute(tasks[i], Path(scratch), cache, video=True)
                if not same_row({**outcome.row, "trace": rows[i]["trace"]}, rows[i]):
                    log.warning("%s: the replay for its video differs from the run",
                                tasks[i].episode_id)
                video = Path(scratch) / TRACES / f"{tasks[i].name}.mp4"
                if video.exists():
                    written.append(Path(shutil.move(str(video), out / VIDEOS / video.name)))
    finally:
        cache.close()
    return written
