"""Ctrl-C and SIGTERM that never cut a file write in half.

Python raises ``KeyboardInterrupt`` (and the run folder's SIGTERM handler raises
:class:`~simulator.run_folder.Terminated`) between any two bytecodes, including inside
HDF5's bookkeeping, where the exception can be swallowed ("Exception ignored in ...")
or leave an unfinished ``.partial`` behind. :func:`deferred` holds SIGINT and SIGTERM
back for the length of a block (the trace writer's file operations) and delivers them
to the handler that was in place as soon as the outermost such block ends. Outside the
main thread, where no signal handler can be installed, it does nothing.
"""
from __future__ import annotations

import contextlib
import signal
import threading

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_state = {"depth": 0, "pending": [], "previous": {}}


def _remember(signum, frame) -> None:
    if signum not in _state["pending"]:
        _state["pending"].append(signum)


@contextlib.contextmanager
def deferred():
    """Within the block, SIGINT and SIGTERM are delivered only when it ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _state["depth"] == 0:
        _state["previous"] = {s: signal.signal(s, _remember) for s in _SIGNALS}
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
        if _state["depth"] == 0:
            previous, pending = _state["previous"], _state["pending"]
            _state["pending"] = []
            for s in _SIGNALS:
                signal.signal(s, previous[s])
            for signum in pending:
                _deliver(signum, previous[signum])


def _deliver(signum: int, handler) -> None:
    """Hand a held-back signal to the handler that was in place."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)
