"""The output folder's lock (shared by cobotsim run and bench), SIGTERM as Ctrl-C, and a
trace the file system refuses to write."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from simulator.cli import main
from simulator.run_folder import (LOCK_NAME, FolderBusyError, RunFolderLock, Terminated,
                                  lock_holder, sigterm_as_interrupt)
from simulator.traces import TraceWriteError, TraceWriter, read_trace
from simulator.traces import writer as writer_module


def test_a_second_lock_is_refused_naming_the_first_and_released_after(tmp_path):
    with RunFolderLock(tmp_path / "out", "cobotsim run crossing"):
        holder = lock_holder(tmp_path / "out")
        assert holder["pid"] == os.getpid() and holder["command"] == "cobotsim run crossing"
        with pytest.raises(FolderBusyError, match=f"cobotsim run crossing \\(pid {os.getpid()} on host"):
            RunFolderLock(tmp_path / "out", "cobotsim bench x").acquire()
    assert lock_holder(tmp_path / "out") is None and not (tmp_path / "out" / LOCK_NAME).exists()
    with RunFolderLock(tmp_path / "out", "again"):
        pass


def test_a_lock_dies_with_its_process_even_by_sigkill(tmp_path):
    code = ("import sys, time; from simulator.run_folder import RunFolderLock; "
            f"RunFolderLock({str(tmp_path)!r}, 'holder').acquire(); print('held', flush=True); "
            "time.sleep(60)")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    assert lock_holder(tmp_path)["pid"] == process.pid
    process.kill()
    process.wait(10)
    assert lock_holder(tmp_path) is None  # the stale file is no obstacle
    with RunFolderLock(tmp_path, "next"):
        assert lock_holder(tmp_path)["command"] == "next"


def test_cobotsim_run_is_refused_while_another_run_holds_the_folder(tmp_path, capsys):
    with RunFolderLock(tmp_path, "cobotsim bench quickstart"):
        assert main(["run", "crossing", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is in use by cobotsim bench quickstart" in err
    assert not (tmp_path / "traces").exists()


def test_sigterm_raises_like_ctrl_c_inside_the_block():
    with pytest.raises(Terminated):
        with sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_cobotsim_run_sigterm_finishes_the_trace_as_interrupted(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "simulator", "run", "clamping",
                                "--episodes", "3", "--out", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "traces").glob("*.partial")):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert not list((tmp_path / "traces").glob("*.partial"))
    statuses = [read_trace(p).status for p in sorted((tmp_path / "traces").glob("*.h5"))]
    assert statuses and statuses[-1] == "interrupted"


def test_a_refused_write_raises_naming_the_file_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    with TraceWriter(tmp_path / "done.h5", {"seed": 0}, {"/x": "m"}) as writer:
        writer.append({"/x": 1.0})
    monkeypatch.setattr(writer_module, "MIN_FREE_BYTES", 10 ** 18)  # no disk is that large
    with pytest.raises(TraceWriteError, match="cannot write trace .*late.h5.partial: No space left"):
        writer = TraceWriter(tmp_path / "late.h5", {"seed": 1}, {"/x": "m"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done.h5"]
    assert read_trace(tmp_path / "done.h5").status == "complete"


def test_hdf5s_own_write_failure_becomes_a_trace_write_error(tmp_path, monkeypatch):
    writer = TraceWriter(tmp_path / "t.h5", {"seed": 0}, {"/x": "m"}, flush_every=1)

    def failing_flush(*args, **kwargs):
        raise RuntimeError("Can't flush cache (file write failed: errno = 28, error message = "
                           "'No space left on device')")
    monkeypatch.setattr(writer._file, "flush", failing_flush)
    with pytest.raises(TraceWriteError) as error:
        writer.append({"/x": np.float64(1.0)})
    assert error.value.errno == 28 and "No space left on device" in str(error.value)
    assert writer.closed and not list(tmp_path.iterdir())
