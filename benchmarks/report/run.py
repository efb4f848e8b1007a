"""A run folder as a report reads it: files only, never the simulation.

A run is the folder of a ``cobotsim bench`` suite (``manifest.json``, ``episodes.csv``,
``summary.json``, ``traces/``) or of ``cobotsim run`` (``traces/`` alone). Every episode
row is recomputed from its trace (:func:`benchmarks.metrics.episode_row`) after the trace
passed the checks of :mod:`benchmarks.report.integrity`; an episode whose trace is
missing, corrupt or fails a check is kept with the status ``unreadable`` and the reason,
counted among the planned episodes and left out of every rate. Episodes of the table
without a trace keep their status (``not_run``, ``interrupted``).

A folder that is empty, is not a run, or holds a trace (or manifest) of a newer format
than this cobotsim reads is refused with :class:`ReportInputError`.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import yaml

from simulator.errors import CobotsimError
from simulator.traces import PARTIAL_SUFFIX, SCHEMA_VERSION, TraceError, read_trace

from benchmarks.metrics import empty_row, episode_row, summarize
from benchmarks.report.integrity import problems
from benchmarks.report.verdicts import TraceFacts, trace_facts
from benchmarks.results import EPISODES, MANIFEST, SUMMARY, TRACES, read_rows

log = logging.getLogger(__name__)
MANIFEST_VERSION = 1
UNREADABLE = "unreadable"


class ReportInputError(CobotsimError):
    """The folder cannot be reported on (empty, not a run, a newer format)."""


@dataclass
class RunData:
    """What the report is built from. ``rows``: one per episode (planned, or found for a
    ``cobotsim run`` folder), recomputed from verified traces; ``facts``: what the
    verdicts need of each verified trace; ``notes``: facts about the folder itself that
    make the report incomplete (a missing table, traces outside the table)."""

    folder: Path
    kind: str                       # "suite" (cobotsim bench) or "run" (cobotsim run)
    manifest: dict | None
    rows: list[dict]
    facts: list[TraceFacts]
    pairs: list[tuple[str, str]]
    summary: dict
    summary_file: dict | None
    notes: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def unreadable(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == UNREADABLE]

    @property
    def not_complete(self) -> list[dict]:
        return [r for r in self.rows if r["status"] != "complete"]

    @property
    def incomplete(self) -> bool:
        return bool(self.not_complete or self.notes)

    def trace_path(self, row: dict) -> Path:
        return self.folder / row["trace"]


def _newer_schema(path: Path) -> int | None:
    """The trace's schema_version when it is newer than this cobotsim reads."""
    try:
        with h5py.File(path, "r") as file:
            version = file.attrs.get("schema_version")
    except OSError:
        return None
    try:
        version = int(version)
    except (TypeError, ValueError):
        return None
    return version if version > SCHEMA_VERSION else None


def _manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportInputError(f"{path} cannot be read ({exc}); not a cobotsim bench run") from None
    if not isinstance(record, dict) or record.get("format") != "cobotsim-bench":
        raise ReportInputError(f"{path} is not the manifest of a cobotsim bench run")
    version = record.get("format_version")
    if not isinstance(version, int) or version > MANIFEST_VERSION:
        raise ReportInputError(f"{path} has format_version {version!r}; this cobotsim reads "
                               f"1..{MANIFEST_VERSION}: report on it with the newer cobotsim that wrote it")
    return record


def _check_folder(folder: Path, manifest: dict | None, traces: list[Path]) -> None:
    if not folder.is_dir():
        raise ReportInputError(f"{folder}: no such run folder")
    if manifest is None and not traces:
        content = sorted(p.name for p in folder.iterdir())
        if not content:
            raise ReportInputError(f"{folder} is empty: no manifest.json and no traces/ "
                                   "(a run of cobotsim bench or cobotsim run)")
        raise ReportInputError(f"{folder} is not a cobotsim run: it has no manifest.json and no "
                               f"traces/*.h5 (it holds {', '.join(content[:5])}"
                               f"{', ...' if len(content) > 5 else ''})")
    for path in traces:
        version = _newer_schema(path)
        if version is not None:
            raise ReportInputError(f"{path} has trace schema_version {version}; this cobotsim "
                                   f"reads 1..{SCHEMA_VERSION}: report on it with the newer "
                                   "cobotsim that wrote it")


def _label(row: dict) -> str:
    """The configuration of a ``cobotsim run`` episode: its policy and shields."""
    return row["configuration"] or f"{row['policy'] or '?'} (shields: {row['shields'] or '?'})"


def _verify(folder: Path, path: Path, planned: dict | None) -> tuple[dict, TraceFacts | None]:
    """The episode's row from its trace and the trace's facts; an ``unreadable`` row
    (with the reason in ``error``) when the trace is missing or fails a check."""
    relative = str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)
    try:
        if not path.exists():
            raise TraceError("the trace file is missing")
        trace = read_trace(path)
        found = problems(trace)
        if found:
            raise TraceError("; ".join(found))
        row = episode_row(trace, relative_to=folder)
        return row, trace_facts(trace, _label(row))
    except (TraceError, OSError, KeyError, ValueError, TypeError) as exc:
        log.warning("%s: unreadable: %s", path, exc)
        identity = {k: planned[k] for k in ("episode", "configuration", "scenario", "robot",
                                            "policy", "shields", "latency", "seed")} if planned \
            else {"episode": path.stem}
        return empty_row(**identity, status=UNREADABLE, error=str(exc), trace=relative), None


def _pairs(manifest: dict | None, rows: list[dict]) -> list[tuple[str, str]]:
    names = list(dict.fromkeys(r["configuration"] for r in rows))
    try:
        compare = yaml.safe_load(manifest["suite"]["text"]).get("compare") if manifest else None
    except (KeyError, TypeError, AttributeError, yaml.YAMLError):
        compare = None
    if compare:
        return [tuple(p) for p in compare if len(p) == 2]
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]


def load_run(folder) -> RunData:
    """Read the run folder (module docstring)."""
    folder = Path(folder)
    manifest = _manifest(folder) if folder.is_dir() else None
    traces = sorted((folder / TRACES).glob("*.h5")) if (folder / TRACES).is_dir() else []
    _check_folder(folder, manifest, traces)
    notes = [("{file}: an unfinished trace (.partial) left by a run that died",
              {"file": str(p.relative_to(folder))})
             for p in sorted((folder / TRACES).glob(f"*{PARTIAL_SUFFIX}"))]
    rows, facts = [], []
    table = folder / EPISODES
    if manifest is not None and table.exists():
        planned = read_rows(table)
        used = set()
        for plan in planned:
            if not plan["trace"]:
                rows.append(plan)
                continue
            used.add((folder / plan["trace"]).resolve())
            row, fact = _verify(folder, folder / plan["trace"], plan)
            rows.append(row)
            facts.append(fact)
        notes += [("{file}: a trace that is not in episodes.csv (not reported)",
                   {"file": str(p.relative_to(folder))}) for p in traces if p.resolve() not in used]
    else:
        if manifest is not None:
            notes.append(("episodes.csv is missing (the run stopped before writing its tables): "
                          "the report holds the {found} traces found of {planned} planned episodes",
                          {"found": len(traces), "planned": manifest.get("planned", "?")}))
        for path in traces:
            row, fact = _verify(folder, path, None)
            rows.append(row)
            facts.append(fact)
    if not rows:
        raise ReportInputError(f"{folder} holds no episode to report on (no traces, and no rows in "
                               f"{EPISODES})")
    for row in rows:
        row["configuration"] = _label(row)
    pairs = _pairs(manifest, rows)
    summary_file = None
    if (folder / SUMMARY).exists():
        try:
            summary_file = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            notes.append(("summary.json cannot be read ({error}); the statistics are recomputed",
                          {"error": str(exc)}))
    return RunData(folder, "suite" if manifest else "run", manifest, rows,
                   [f for f in facts if f is not None], pairs, summarize(rows, pairs),
                   summary_file, notes)
