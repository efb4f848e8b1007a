"""The progress of a run on stderr: episodes done, ETA, failures and violations so far,
and how far the episodes in flight are.

With tqdm (the optional extra ``progress``: ``pip install -e ".[progress]"``) and a
terminal, a bar; otherwise (no tqdm, or output to a file or a CI log) a plain line at
most every :data:`PLAIN_PERIOD` s and at the end.
"""
from __future__ import annotations

import sys
import time

PLAIN_PERIOD = 10.0  # s between plain progress lines


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    """Args:
        total: episodes this run runs (kept ones of a resumed run not counted).
        enabled: False shows nothing (``--quiet``).
        stream: where to write (stderr).
    """

    def __init__(self, total: int, enabled: bool = True, stream=None) -> None:
        self.total, self.enabled = total, enabled
        self.stream = stream or sys.stderr
        self.done = self.failures = self.violations = 0
        self.running: dict[int, float] = {}
        self.started = time.monotonic()
        self._last_line = 0.0
        self._bar = None
        if enabled and total and self.stream.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, unit="episode", file=self.stream,
                                 dynamic_ncols=True, smoothing=0.1)

    def _counts(self) -> str:
        running = " ".join(f"{100 * f:.0f}%" for f in self.running.values())
        return (f"failed {self.failures}, with violations {self.violations}"
                + (f", running {running}" if running else ""))

    def start(self, index: int) -> None:
        self.running[index] = 0.0
        self._show()

    def step(self, index: int, fraction: float) -> None:
        if index in self.running:
            self.running[index] = fraction
            self._show()

    def finish(self, index: int, row: dict) -> None:
        self.running.pop(index, None)
        self.done += 1
        self.failures += row["status"] in ("policy_error", "sim_error")
        self.violations += bool(row["violated"])
        if self._bar is not None:
            self._bar.update(1)
        self._show()

    def _show(self, force: bool = False) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.set_postfix_str(self._counts(), refresh=False)
            self._bar.refresh()
            return
        now = time.monotonic()
        if not force and now - self._last_line < PLAIN_PERIOD:
            return
        self._last_line = now
        elapsed = now - self.started
        eta = (f", about {_duration(elapsed / self.done * (self.total - self.done))} left"
               if self.done else "")
        print(f"[{self.done}/{self.total} episodes, {_duration(elapsed)}{eta}] {self._counts()}",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled and self.total:
            self._show(force=True)
