"""cobotsim bench on local worker processes: every planned episode with a status, metrics
from traces equal to the rows, resume after SIGKILL, SIGTERM, the folder lock, a full
disk, a dying worker, a failing policy, shards merged."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.bench import run_suite
from benchmarks.merge import merge_runs
from benchmarks.metrics import episode_row, json_ready, same_row
from benchmarks.results import read_rows
from simulator.cli import main
from simulator.run_folder import FolderBusyError, lock_holder
from simulator.traces import read_attrs
from tests.fixtures.bench import tiny_suite

ROOT = Path(__file__).resolve().parent.parent
STATUSES = {"complete", "policy_error", "sim_error", "interrupted", "not_run"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny suite (4 seeds) run whole with 2 workers: (suite file, result)."""
    folder = tmp_path_factory.mktemp("reference")
    suite = tiny_suite(folder, seeds=4)
    return suite, run_suite(str(suite), folder / "out", workers=2, progress=False,
                            echo=lambda *a: None)


def _bench_until(suite: Path, out: Path, traces: int) -> subprocess.Popen:
    """``cobotsim bench`` with one worker in a process of its own, once it has finished
    ``traces`` traces."""
    process = subprocess.Popen([sys.executable, "-m", "simulator", "bench", str(suite), "--out",
                                str(out), "--quiet", "--workers", "1"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list((out / "traces").glob("*.h5"))) < traces:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no traces appeared"
        time.sleep(0.05)
    return process


def _tiny_run(folder: Path, worker_init: str | None = None, **suite):
    """The tiny suite (with ``suite`` keys replaced) run in this process, 2 workers."""
    return run_suite(str(tiny_suite(folder, **suite)), folder / "out", workers=2,
                     progress=False, worker_init=worker_init, echo=lambda *a: None)


def test_every_planned_episode_has_a_row_and_the_rows_are_the_traces(reference):
    suite, result = reference
    assert result.exit_code == 0 and result.stopped is None
    assert len(result.rows) == 16 and {r["status"] for r in result.rows} == {"complete"}
    written = read_rows(result.out / "episodes.csv")
    assert len(written) == 16
    for row in written:  # every column recomputed from the trace file alone
        assert same_row(episode_row(result.out / row["trace"], relative_to=result.out), row,
                        ignore=())
    summary = json.loads((result.out / "summary.json").read_text())
    assert summary["configurations"]["ssm"]["episodes"] == 8
    assert summary["configurations"]["ssm"]["few_episodes"] is True
    assert summary["paired"][0]["pairs"] == 8
    manifest = json.loads((result.out / "manifest.json").read_text())
    assert manifest["episodes"] == {"complete": 16} and manifest["ended"]
    assert manifest["suite"]["text"] == suite.read_text()
    assert set(manifest["limit_tables"]) >= {"regions.csv", "areas.csv"}


def test_a_second_run_resumes_with_nothing_to_do(reference, tmp_path):
    suite, result = reference
    again = run_suite(str(suite), result.out, workers=2, resume=True, progress=False,
                      echo=lambda *a: None)
    assert all(same_row(a, b, ignore=()) for a, b in zip(again.rows, result.rows))


def test_sigkill_then_resume_gives_the_rows_of_an_uninterrupted_run(reference, tmp_path):
    suite, whole = reference
    out = tmp_path / "killed"
    process = _bench_until(suite, out, 3)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    assert lock_holder(out) is None  # the lock died with the process
    assert not (out / "episodes.csv").exists()
    resumed = run_suite(str(suite), out, workers=2, resume=True, progress=False,
                        echo=lambda *a: None)
    assert resumed.exit_code == 0
    assert all(same_row(a, b) for a, b in zip(resumed.rows, whole.rows))
    assert not list((out / "traces").glob("*.partial"))


def test_sigterm_marks_the_episodes_in_flight_and_exits_non_zero(reference, tmp_path):
    suite, _ = reference
    out = tmp_path / "terminated"
    process = _bench_until(suite, out, 2)
    process.send_signal(signal.SIGTERM)
    text, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "stopped early: interrupted (SIGTERM)" in text
    rows = read_rows(out / "episodes.csv")
    assert len(rows) == 16 and {r["status"] for r in rows} <= STATUSES
    assert "not_run" in {r["status"] for r in rows}
    for row in rows:
        if row["trace"]:
            assert read_attrs(out / row["trace"])["status"] == row["status"]
    assert not list((out / "traces").glob("*.partial"))


def test_a_second_run_into_the_folder_is_refused_and_the_first_is_intact(reference, tmp_path):
    suite, _ = reference
    out = tmp_path / "shared"
    first = _bench_until(suite, out, 1)
    with pytest.raises(FolderBusyError, match=f"pid {first.pid}"):
        run_suite(str(suite), out, workers=1, resume=True, progress=False, echo=lambda *a: None)
    assert main(["run", "crossing", "--out", str(out)]) == 2  # cobotsim run: the same lock
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    rows = read_rows(out / "episodes.csv")
    assert [r["status"] for r in rows] == ["complete"] * 16
    assert all(read_attrs(out / r["trace"])["status"] == "complete" for r in rows)
    assert not (out / "traces" / "crossing_scripted_seed00000.h5").exists()


def test_a_full_disk_ends_the_run_cleanly_with_finished_traces_intact(tmp_path):
    result = _tiny_run(tmp_path, "tests.fixtures.bench:refuse_writes_from_seed_1")
    assert result.exit_code == 1 and "No space left on device" in result.stopped
    rows = read_rows(tmp_path / "out" / "episodes.csv")
    assert len(rows) == 8 and not [r for r in rows if r["seed"] == 1 and r["status"] == "complete"]
    finished = [r for r in rows if r["status"] == "complete"]
    assert finished and all(read_attrs(tmp_path / "out" / r["trace"])["status"] == "complete"
                            for r in finished)
    assert not list((tmp_path / "out" / "traces").glob("*.partial"))


def test_a_dying_worker_takes_only_its_episode(tmp_path):
    result = _tiny_run(tmp_path, "tests.fixtures.bench:die_on_bare_seed_1")
    assert result.exit_code == 0
    dead = [r for r in result.rows if r["configuration"] == "bare" and r["seed"] == 1]
    assert {r["status"] for r in dead} == {"sim_error"} and len(dead) == 2
    assert all("SIGKILL" in r["error"] and not r["safe"] for r in dead)
    others = [r for r in result.rows if r not in dead]
    assert len(others) == 6 and {r["status"] for r in others} == {"complete"}


def test_a_failing_policy_marks_its_episodes_and_is_never_safe(tmp_path):
    result = _tiny_run(tmp_path, seeds=1, configurations=[
        {"name": "crashing", "policy": "tests.fixtures.bench:raises_in_act"},
        {"name": "scripted"}])
    crashing = [r for r in result.rows if r["configuration"] == "crashing"]
    assert {r["status"] for r in crashing} == {"policy_error"}
    assert all("the model crashed" in r["error"] and not r["safe"] for r in crashing)
    unsafe = result.summary["configurations"]["crashing"]["rates"]["unsafe"]
    assert unsafe["k"] == unsafe["n"] == 2
    assert {r["status"] for r in result.rows if r["configuration"] == "scripted"} == {"complete"}


def test_shards_merged_equal_the_whole(reference, tmp_path):
    suite, whole = reference
    for i in (1, 2):
        part = run_suite(str(suite), tmp_path / f"shard{i}", workers=2, shard=f"{i}/2",
                         progress=False, echo=lambda *a: None)
        assert len(part.rows) == 8 and {r["seed"] for r in part.rows} == ({0, 1} if i == 1 else {2, 3})
    merged = merge_runs([tmp_path / "shard2", tmp_path / "shard1"], tmp_path / "all",
                        echo=lambda *a: None)
    assert len(merged.rows) == 16
    assert all(same_row(a, b) for a, b in zip(merged.rows, whole.rows))
    assert json_ready(merged.summary["paired"]) == json_ready(whole.summary["paired"])


def test_workers_that_cannot_start_stop_the_run_instead_of_failing_every_episode(tmp_path):
    result = _tiny_run(tmp_path, "tests.fixtures.bench:no_such_function")
    assert result.exit_code == 1 and "failed to start" in result.stopped
    assert {r["status"] for r in result.rows} == {"not_run"} and len(result.rows) == 8


def test_the_worst_episode_is_replayed_with_video(tmp_path):
    result = _tiny_run(tmp_path, scenarios=["crossing"],
                       configurations=[{"name": "bare", "shields": []}],
                       record={"worst_videos": 1, "worst_by": "min_ssm_margin_m"})
    worst = min(result.rows, key=lambda r: r["min_ssm_margin_m"])
    videos = list((tmp_path / "out" / "videos").glob("*.mp4"))
    assert [v.name for v in videos] == [Path(worst["trace"]).with_suffix(".mp4").name]
    assert videos[0].stat().st_size > 1000
