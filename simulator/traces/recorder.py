"""A Gymnasium wrapper that records every episode of an env to its own trace file.

The wrapped env provides (on ``env.unwrapped``):

* ``trace_row() -> dict[str, array]`` (required): the state after the last step, by
  absolute dataset path (``/time``, ``/robot/q``, ``/human/link_pos``, ...);
* ``trace_header() -> dict`` (optional): root attributes (scenario, robot,
  scenario_spec, software_version, control_rate, ...);
* ``trace_units() -> dict[str, str]`` (optional): unit of each dataset path;
* ``trace_dataset_attrs() -> dict[str, dict]`` (optional): extra dataset attributes
  (``link_names``, ``regions``, ``phase_names``, ...).

The recorder adds ``/action`` (the action passed to ``step``, flattened, float64) and
``/reward``. Row k is the state after step k+1; the reset state is not a row.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Mapping

import gymnasium
import numpy as np

from simulator.traces.writer import TraceWriteError, TraceWriter

log = logging.getLogger(__name__)

RECORDER_UNITS = {"/action": "", "/reward": "1"}  # the env may declare /action units
NO_SEED = -1


def _flat_action(space: gymnasium.Space, action: Any) -> np.ndarray:
    """``action`` as a flat float64 vector (Box and Discrete as given, Dict/Tuple flattened)."""
    try:
        return np.asarray(action, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return np.asarray(gymnasium.spaces.flatten(space, action), dtype=np.float64)


class TraceRecorder(gymnasium.Wrapper):
    """Writes one trace per episode to ``path``, finishing it when the episode ends.

    Args:
        env: the env; ``env.unwrapped`` must have ``trace_row()``.
        path: file name, may contain ``{seed}`` and ``{episode}`` (the index of the
            reset, from 0), e.g. ``"traces/handover_seed{seed:04d}_ep{episode:04d}.h5"``.
        attrs: root attributes from the caller (policy, suite, ...); they must not
            contradict the env's ``trace_header()``.
        units: units overriding/adding to ``trace_units()``.
        writer_options: passed to :class:`TraceWriter` (``compact``, ``flush_every``,
            ``overwrite``).
    """

    def __init__(self, env: gymnasium.Env, path: str | os.PathLike,
                 attrs: Mapping[str, Any] | None = None, units: Mapping[str, str] | None = None,
                 **writer_options: Any) -> None:
        super().__init__(env)
        if not callable(getattr(env.unwrapped, "trace_row", None)):
            raise TypeError(f"{type(env.unwrapped).__name__} has no trace_row() method; "
                            "TraceRecorder needs it to record the state after each step")
        self.path_template = str(path)
        self.attrs = dict(attrs or {})
        self.units = dict(units or {})
        self.writer_options = writer_options
        self.episode = -1
        self.last_path: Path | None = None
        self._writer: TraceWriter | None = None
        self._started = 0.0
        self._last_time: float | None = None
        self._extras: dict[str, Any] = {}
        self._final_attrs: dict[str, Any] = {}

    def add_final_attrs(self, values: Mapping[str, Any]) -> None:
        """Root attributes known only once the episode has begun (e.g. a policy server's
        self-description after its welcome), written when the trace is finished."""
        self._final_attrs.update(values)

    def add_to_next_row(self, values: Mapping[str, Any]) -> None:
        """Datasets the caller adds to the row of the next ``step`` (e.g. the runner's
        ``/policy/compute_time``); a caller that adds one must add it at every step."""
        self._extras.update(values)

    @property
    def recording(self) -> bool:
        """True between a reset and the end of its episode."""
        return self._writer is not None

    def _optional(self, name: str) -> dict:
        method = getattr(self.env.unwrapped, name, None)
        return dict(method()) if callable(method) else {}

    def _episode_path(self, seed: int | None) -> Path:
        if seed is None and "{seed" in self.path_template:
            raise ValueError(f"trace path {self.path_template!r} names the seed; call reset(seed=...)")
        return Path(self.path_template.format(seed=seed, episode=self.episode))

    def _header(self, seed: int | None) -> dict[str, Any]:
        header = self._optional("trace_header")
        clashes = sorted(k for k in set(header) & set(self.attrs) if header[k] != self.attrs[k])
        if clashes:
            raise ValueError(f"trace attributes {clashes} differ between the caller and the env's "
                             "trace_header()")
        return {**self.attrs, **header, "seed": NO_SEED if seed is None else int(seed)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if self._writer is not None:
            self.mark("interrupted", "reset before the episode ended")
        started = time.perf_counter()
        result = self.env.reset(seed=seed, options=options)
        self.episode += 1
        writer = TraceWriter(self._episode_path(seed), self._header(seed),
                             {**RECORDER_UNITS, **self._optional("trace_units"), **self.units},
                             **self.writer_options)
        self._writer, self._started, self._last_time = writer, started, None
        self._final_attrs = {}
        try:
            for dataset, dataset_attrs in self._optional("trace_dataset_attrs").items():
                writer.set_dataset_attrs(dataset, **dataset_attrs)
        except KeyboardInterrupt:
            self.mark("interrupted", "KeyboardInterrupt")
            raise
        return result

    def step(self, action: Any):
        if self._writer is None:
            return self.env.step(action)
        try:
            obs, reward, terminated, truncated, info = self.env.step(action)
            row = dict(self.env.unwrapped.trace_row())
            if "/action" in row or "/reward" in row:
                raise KeyError("trace_row() must not return /action or /reward; the recorder adds them")
            row["/action"] = _flat_action(self.action_space, action)
            row["/reward"] = float(reward)
            row.update(self._extras)
            self._extras = {}
            self._writer.append(row)
        except KeyboardInterrupt:
            self.mark("interrupted", "KeyboardInterrupt")
            raise
        except TraceWriteError:  # the writer abandoned the episode; nothing left to mark
            self._writer = None
            raise
        except Exception as exc:
            self.mark("sim_error", f"{type(exc).__name__}: {exc}")
            raise
        if "/time" in row:
            self._last_time = float(np.asarray(row["/time"]).reshape(-1)[0])
        if terminated or truncated:
            self._finish(info.get("status", "complete"), success=bool(info.get("success", False)),
                         error=str(info.get("error", "")))
        return obs, reward, terminated, truncated, info

    def mark(self, status: str, error: str = "") -> Path | None:
        """End the open episode now with ``status`` (e.g. ``policy_error``, ``interrupted``).

        Returns the finished path, or None when no episode is open (already finished,
        e.g. because the env raised inside ``step`` and the recorder marked it).
        """
        if self._writer is None:
            log.debug("mark(%r) with no open episode; nothing to do", status)
            return None
        return self._finish(status, success=False, error=error)

    def _finish(self, status: str, *, success: bool, error: str) -> Path:
        writer = self._writer
        try:
            tables = getattr(self.env.unwrapped, "trace_tables", None)
            for path, (records, dtype, units) in (tables() if callable(tables) else {}).items():
                writer.add_table(path, records, dtype=dtype, units=units)
            final = {**self._final_attrs, "success": success, "error": error,
                     "n_steps": writer.n_rows,
                     "wall_time": time.perf_counter() - self._started}
            if self._last_time is not None:
                final["sim_time"] = self._last_time
            path = writer.close(status, **final)  # an unknown status raises, writer stays open
        finally:
            if writer.closed:
                self._writer = None
        self.last_path = path
        return path

    def close(self) -> None:
        """Finish an open episode as ``interrupted``, then close the env."""
        try:
            self.mark("interrupted", "recorder closed before the episode ended")
        finally:
            super().close()
