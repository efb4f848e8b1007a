"""Joining the shards of a suite (``cobotsim bench --merge SHARD_DIR... --out DIR``).

Each shard folder was written by ``cobotsim bench SUITE --shard I/N``. The merge checks
that they ran the same suite file (same SHA-256) as distinct shards of one N, copies
their traces (a hard link where the file system allows) into the new folder, and writes
the episode table, summary and manifest of the whole suite: rows of traces are
recomputed from the files, rows of episodes without a trace (a worker that died, an
episode interrupted before it wrote one) come from the shard's table, and the episodes
of a missing shard appear as ``not_run``. The validations the shards saved
(``validation/*.json``) are copied, the first shard's of each name.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from simulator.run_folder import RunFolderLock

from benchmarks.bench import RunResult, _counts
from benchmarks.episode import plan_row
from benchmarks.manifest import manifest, now
from benchmarks.metrics import episode_row, format_table, json_ready, summarize
from benchmarks.plan import parse_shard, plan_episodes, shard_of
from benchmarks.results import (EPISODES, MANIFEST, SUMMARY, TRACES, FolderError, check_folder,
                                check_writable, read_manifest, read_rows, write_json, write_rows)
from benchmarks.suite import load_suite
from benchmarks.validations import FOLDER as VALIDATION


def _shards(folders: list[Path]) -> tuple[object, dict]:
    """The suite the shard folders ran and {(I, N): folder}; FolderError on a mismatch."""
    found, first = {}, None
    for folder in folders:
        record = read_manifest(folder)
        if record is None:
            raise FolderError(f"{folder} holds no suite run (no {MANIFEST}); nothing to merge")
        if first is None:
            first = record
        elif record["suite"]["sha256"] != first["suite"]["sha256"]:
            raise FolderError(f"{folder} ran suite {record['suite']['id']!r} ({record['suite']['file']}, "
                              f"sha256 {record['suite']['sha256'][:12]}), not the suite of "
                              f"{folders[0]} ({first['suite']['file']}, {first['suite']['sha256'][:12]})")
        shard = parse_shard(record.get("shard")) or (1, 1)
        if shard in found:
            raise FolderError(f"{folder} and {found[shard]} both hold shard {shard[0]}/{shard[1]}")
        found[shard] = folder
    counts = {n for _, n in found}
    if len(counts) > 1:
        raise FolderError(f"the folders hold shards of different splits: "
                          f"{', '.join(f'{i}/{n}' for i, n in sorted(found))}")
    suite = load_suite(first["suite"]["file"])
    if suite.sha256 != first["suite"]["sha256"]:
        raise FolderError(f"the suite file {suite.file} changed since the shards ran "
                          "(its SHA-256 differs from their manifests)")
    return suite, found


def _copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _copy_validations(found: dict, out: Path) -> None:
    """The validations saved by the shards (the first shard's file of each name)."""
    for (_, _), folder in sorted(found.items()):
        for source in sorted((folder / VALIDATION).glob("*.json")):
            target = out / VALIDATION / source.name
            if not target.exists():
                target.parent.mkdir(exist_ok=True)
                shutil.copy2(source, target)


def merge_runs(folders: list[str | os.PathLike], out: str | os.PathLike, echo=print) -> RunResult:
    """Merge shard folders into ``out`` (module docstring)."""
    folders = [Path(f) for f in folders]
    suite, found = _shards(folders)
    plan = plan_episodes(suite)
    seeds = list(range(suite.spec.seeds.first, suite.spec.seeds.first + suite.spec.seeds.count))
    n = next(iter(found))[1]
    owner = {t.index: found.get((i, n)) for i in range(1, n + 1)
             for t in shard_of(plan, (i, n) if n > 1 else None, seeds)}
    out = Path(out)
    check_writable(out)
    with RunFolderLock(out, f"cobotsim bench --merge --out {out}"):
        check_folder(out, suite, None, resume=False)
        (out / TRACES).mkdir(exist_ok=True)
        tables = {f: {r["episode"]: r for r in read_rows(f / EPISODES)}
                  for f in found.values() if (f / EPISODES).exists()}
        rows = []
        for task in plan:
            folder = owner[task.index]
            source = folder / TRACES / f"{task.name}.h5" if folder else None
            if source is not None and source.exists():
                _copy(source, out / TRACES / source.name)
                rows.append(episode_row(out / TRACES / source.name, relative_to=out))
            elif folder is not None and task.episode_id in tables.get(folder, {}):
                rows.append(tables[folder][task.episode_id])
            else:
                rows.append(plan_row(task, "not_run", "its shard was not merged" if folder is None
                                     else "its shard did not run it"))
        _copy_validations(found, out)
        summary = summarize(rows, suite.spec.pairs)
        record = manifest(suite, plan, backend="merge", workers=0, shard=None, started=now())
        record.update(ended=now(), episodes=_counts(rows),
                      merged=[{"folder": str(f), "shard": f"{i}/{m}",
                               **{k: read_manifest(f).get(k) for k in ("started", "ended", "backend")}}
                              for (i, m), f in sorted(found.items())])
        write_rows(out / EPISODES, rows)
        write_json(out / SUMMARY, json_ready(summary))
        write_json(out / MANIFEST, record)
    missing = [f"{i}/{n}" for i in range(1, n + 1) if (i, n) not in found]
    echo(f"merged {len(found)} shard(s) of suite {suite.spec.id} into {out}"
         + (f"; missing shards {', '.join(missing)} (their episodes are not_run)" if missing else ""))
    echo(format_table(summary))
    return RunResult(out, rows, summary, None, 0)
