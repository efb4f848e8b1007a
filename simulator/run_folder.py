"""The output folder of a run: one run at a time, and SIGTERM ending a run like Ctrl-C.

Two runs writing into one folder delete each other's unfinished traces and mix their
episodes (issue 10), so every command that writes traces into a folder (``cobotsim run``,
``cobotsim bench``) first takes the folder's lock, :class:`RunFolderLock`: the file
``<folder>/.cobotsim.lock``, locked with ``flock`` and holding who has it (host, pid,
command, start time, as JSON). A second run into the folder is refused with
:class:`FolderBusyError` naming the first. The operating system releases the lock when
its process ends, however it ends (even by SIGKILL), so a lock is never stale; the file
itself is removed when the run ends normally.

:func:`sigterm_as_interrupt` makes SIGTERM (what ``timeout``, ``kill`` and job
schedulers send) raise ``KeyboardInterrupt`` like Ctrl-C, so the episode in flight is
finished as ``interrupted`` instead of being left as a ``.partial`` marked ``running``.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import threading
from datetime import datetime, timezone
from pathlib import Path

from simulator.errors import CobotsimError

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

log = logging.getLogger(__name__)

LOCK_NAME = ".cobotsim.lock"


class FolderBusyError(CobotsimError):
    """Another run holds the output folder's lock."""


def _holder_text(info: dict) -> str:
    return (f"{info.get('command', 'a cobotsim run')} (pid {info.get('pid', '?')} on host "
            f"{info.get('host', '?')}, since {info.get('started', '?')})")


class RunFolderLock:
    """The lock of one output folder (module docstring); a context manager.

    Args:
        folder: the output folder (created if missing).
        command: what holds it, in words (``"cobotsim bench quickstart"``), shown to a
            second run that is refused.
    """

    def __init__(self, folder: str | os.PathLike, command: str) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.command = command
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`FolderBusyError` naming the holder."""
        if fcntl is None:
            raise CobotsimError("locking an output folder needs fcntl (Linux or macOS)")
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                info = _read_info(fd)
                os.close(fd)
                raise FolderBusyError(f"output folder {self.folder} is in use by "
                                      f"{_holder_text(info)}; wait for it to end or choose "
                                      "another folder") from None
            try:  # the holder before us may have removed the file between open and flock
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        info = {"host": socket.gethostname(), "pid": os.getpid(), "command": self.command,
                "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        self._fd = fd
        log.debug("locked %s for %s", self.folder, self.command)

    def release(self) -> None:
        """Give the lock up and remove the lock file (nothing when not held)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            self.path.unlink(missing_ok=True)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> "RunFolderLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read_info(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 65536).decode() or "{}")
    except (OSError, ValueError):
        return {}


def lock_holder(folder: str | os.PathLike) -> dict | None:
    """Who holds ``folder``'s lock now (host, pid, command, started), or None."""
    path = Path(folder) / LOCK_NAME
    if fcntl is None or not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_info(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt (exit code 143 instead of 130)."""


_received: list[int] = []  # SIGTERMs received in this process


def _raise_terminated(signum, frame) -> None:
    _received.append(signum)
    raise Terminated(f"signal {signal.Signals(signum).name}")


def raise_if_terminated() -> None:
    """Raise :class:`Terminated` again if a SIGTERM arrived whose exception was lost (raised
    inside a finaliser or a weak-reference callback, where Python only prints it); the
    episode loops call this between steps."""
    if _received:
        raise Terminated(f"signal {signal.Signals(_received[-1]).name}")


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt). Only
    the main thread can install signal handlers; elsewhere the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    _received.clear()
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _received.clear()
