"""The output folder of a suite run and its files (docs/benchmarks.md#outputs).

```
OUT/manifest.json     what ran (benchmarks.manifest), written first and again at the end
OUT/traces/*.h5       one trace per episode that produced one
OUT/episodes.csv      one row per planned episode, every one with its status
OUT/summary.json      per configuration statistics and paired differences
OUT/videos/*.mp4      the worst episodes replayed (record.worst_videos)
```

Files are written to a temporary name, fsynced and renamed, so a reader never sees half
a table. A folder holds one suite's run: :func:`check_folder` refuses another suite's
run, and a rerun of the same suite unless it resumes. The traces are the record: the
rows of complete traces are recomputed from them on resume and merge.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
from pathlib import Path

from simulator.errors import CobotsimError
from simulator.run_folder import LOCK_NAME
from simulator.traces import PARTIAL_SUFFIX, TraceError, read_attrs

from benchmarks.metrics.columns import COLUMNS, episode_row

log = logging.getLogger(__name__)

MANIFEST, EPISODES, SUMMARY, TRACES, VIDEOS = ("manifest.json", "episodes.csv", "summary.json",
                                               "traces", "videos")


class FolderError(CobotsimError):
    """The output folder cannot take this run (another suite's run, not writable, ...)."""


def write_atomic(path: Path, data: str | bytes, suffix: str = ".tmp") -> None:
    """Write ``data`` (str as UTF-8) to ``path`` through ``<path><suffix>``, fsync and
    rename; nothing is left at either name when the write fails."""
    temporary = path.with_name(path.name + suffix)
    try:
        with open(temporary, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise


def write_json(path: Path, data) -> None:
    write_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def write_rows(path: Path, rows: list[dict]) -> None:
    """``episodes.csv``: a header of :data:`COLUMNS`, one line per row (NaN empty)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([_cell(row[name]) for name in COLUMNS] for row in rows)
    write_atomic(path, text.getvalue())


def _parse(kind: type, text: str):
    if kind is float:
        return float(text) if text else math.nan
    if kind is int:
        return int(text) if text else 0
    if kind is bool:
        return text == "True"
    return text


def read_rows(path: Path) -> list[dict]:
    """The rows of an ``episodes.csv``, typed as :data:`COLUMNS` says."""
    with open(path, encoding="utf-8", newline="") as handle:
        return [{name: _parse(kind, record.get(name, "")) for name, kind in COLUMNS.items()}
                for record in csv.DictReader(handle)]


def read_manifest(folder: Path) -> dict | None:
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FolderError(f"{path} cannot be read ({exc}); it is not a cobotsim bench run") from None


def check_writable(folder: Path) -> None:
    """Create ``folder`` and prove a file can be written and removed in it."""
    probe = folder / ".write-probe"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "w") as handle:
            handle.write("probe")
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
    except OSError as exc:
        raise FolderError(f"cannot write to the output folder {folder}: "
                          f"{exc.strerror or exc}") from None


def check_folder(folder: Path, suite, shard: str | None, resume: bool) -> dict | None:
    """Refuse a folder holding another suite's run (or shard), or this suite's run
    without ``resume``, or other files; returns the existing manifest (None if new)."""
    old = read_manifest(folder)
    if old is None:
        others = [p.name for p in folder.iterdir() if p.name not in (LOCK_NAME,)] \
            if folder.is_dir() else []
        if others:
            raise FolderError(f"output folder {folder} is not empty ({', '.join(sorted(others)[:5])}"
                              f"{', ...' if len(others) > 5 else ''}) and holds no suite run "
                              "(no manifest.json); choose a new or empty folder")
        return None
    ran = old.get("suite", {})
    if ran.get("sha256") != suite.sha256:
        same_id = ran.get("id") == suite.spec.id
        raise FolderError(f"output folder {folder} holds a run of "
                          f"{'another version of ' if same_id else ''}suite {ran.get('id')!r} "
                          f"({ran.get('file')}, started {old.get('started')}); choose another "
                          "folder for suite " f"{suite.spec.id!r} ({suite.file})")
    if old.get("shard") != shard:
        held = f"shard {old['shard']}" if old.get("shard") else "the whole suite"
        raise FolderError(f"output folder {folder} holds {held} of this suite, not "
                          f"{'shard ' + shard if shard else 'the whole suite'}")
    if not resume:
        raise FolderError(f"output folder {folder} holds a run of this suite (started "
                          f"{old.get('started')}); pass --resume to keep its complete traces "
                          "and run the rest, or choose another folder")
    return old


def remove_partials(folder: Path) -> int:
    """Remove unfinished traces (``*.partial``) left by a run that died; the caller holds
    the folder's lock, so none of them is still being written. Returns how many."""
    removed = 0
    for path in (folder / TRACES).glob(f"*{PARTIAL_SUFFIX}"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def complete_trace(folder: Path, task) -> dict | None:
    """The row of ``task``'s trace in ``folder`` if it is a complete, readable trace of
    this very episode (else None: the episode runs again)."""
    path = folder / TRACES / f"{task.name}.h5"
    if not path.exists():
        return None
    try:
        attrs = read_attrs(path)
        if attrs.get("status") != "complete" or attrs.get("episode") != task.episode_id \
                or attrs.get("suite") != task.suite:
            return None
        return episode_row(path, relative_to=folder)
    except (TraceError, OSError, KeyError, ValueError) as exc:
        log.warning("%s cannot be read (%s); the episode runs again", path, exc)
        return None
