"""openpi policy servers (``--policy openpi://HOST:PORT --map MAPPING.yaml``).

openpi (Physical Intelligence's π0 / π0.5 family) serves a policy over a WebSocket:
on connection the server sends its **metadata** (a msgpack map); then each binary
message from the client is an observation dict and each reply a dict with an
``actions`` chunk, (H, width). Arrays travel as msgpack maps with the binary keys
``__ndarray__`` (true), ``data`` (C-order bytes), ``dtype`` (numpy type string) and
``shape``; numpy scalars as ``__npgeneric__`` maps. A server that fails sends a text
frame (its traceback) and closes with code 1011. There is no reset message: every
request stands alone. An optional API key travels in the header ``Authorization:
Api-Key KEY``. This module speaks that protocol itself (with websockets and msgpack, the
``remote`` extra); :mod:`simulator.policies.openpi_map` maps the cell's observations
and actions.

The policy connects, reads and checks the metadata, and sends one request built from
a blank observation (zeros, the cell's instruction) when it is made, so a server or a
mapping that does not fit is one error before the first episode.
"""
from __future__ import annotations

import json
import logging
import time

import numpy as np

from simulator.errors import ConfigError
from simulator.policies.wire import MAX_MESSAGE

log = logging.getLogger(__name__)


def _msgpack():
    from simulator.policies.wire import _msgpack as load
    return load()


def _default(obj):
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "OVc":
            raise ValueError(f"arrays of dtype {obj.dtype} cannot be sent to openpi")
        a = obj if obj.flags.c_contiguous else obj.copy(order="C")
        return {b"__ndarray__": True, b"data": a.tobytes(), b"dtype": a.dtype.str,
                b"shape": list(a.shape)}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    raise TypeError(f"cannot send {type(obj).__name__} to openpi")


def _hook(obj: dict):
    if b"__ndarray__" in obj:
        dtype = np.dtype(obj[b"dtype"])
        if dtype.hasobject:
            raise ValueError("object arrays are not accepted")
        return np.frombuffer(obj[b"data"], dtype=dtype).reshape(obj[b"shape"]).copy()
    if b"__npgeneric__" in obj:
        return np.dtype(obj[b"dtype"]).type(obj[b"data"])
    return obj


def pack(message) -> bytes:
    """``message`` in openpi's msgpack encoding."""
    return _msgpack().packb(message, default=_default, use_bin_type=True)


def unpack(data: bytes):
    return _msgpack().unpackb(data, raw=False, object_hook=_hook, strict_map_key=False)


def blank_observation(env) -> dict:
    """An observation of the env's spaces with every value zero (text: the instruction)."""
    out = {}
    for key, space in env.unwrapped.observation_space.spaces.items():
        if key == "instruction":
            out[key] = env.unwrapped.instruction
        elif hasattr(space, "n"):
            out[key] = 0
        else:
            out[key] = np.zeros(space.shape, dtype=space.dtype)
    out["ee_quat"] = np.array([0, 0, 0, 1], dtype=np.float32)
    return out


class OpenpiPolicy:
    """A policy served by an openpi server, through a mapping (module docstring).

    Args:
        url: ``openpi://HOST:PORT`` (or ``ws://...``, ``wss://...``).
        mapping: an :class:`~simulator.policies.openpi_map.OpenpiMapping`.
        env: the cell (for the blank observation of the check).
        token: API key, sent as ``Authorization: Api-Key KEY``.
        timeout: s to wait for the connection and for each reply.
    """

    def __init__(self, url: str, mapping, env, token: str | None = None,
                 timeout: float = 10.0) -> None:
        self.url = "ws://" + url[len("openpi://"):] if url.startswith("openpi://") else url
        self.mapping, self.token, self.timeout = mapping, token, float(timeout)
        self.metadata: dict = {}
        self.compute_times: list[float] = []  # s: server_timing.infer_ms, else the round trip
        self._conn = None
        self.connect()
        try:
            self.mapping.actions(self._infer(self.mapping.request(blank_observation(env))),
                                 blank_observation(env))
        except (ValueError, RuntimeError) as exc:
            self.close()
            raise ConfigError(f"the openpi server at {self.url} does not fit the mapping: {exc}") from None

    def connect(self) -> None:
        from simulator.policies.remote import open_connection

        self.close()
        try:
            self._conn = open_connection(self.url, self.timeout, MAX_MESSAGE, headers=(
                {"Authorization": f"Api-Key {self.token}"} if self.token else None))
            data = self._conn.recv(timeout=self.timeout)
        except TimeoutError:
            self.close()
            raise ConfigError(f"the server at {self.url} sent no metadata within {self.timeout:g} s: "
                              "not an openpi server (a cobotsim policy server: use --policy ws://...)") from None
        except Exception as exc:
            self.close()
            raise ConfigError(f"cannot connect to the openpi server at {self.url}: "
                              f"{type(exc).__name__}: {exc}") from None
        try:
            metadata = unpack(data) if isinstance(data, bytes) else None
        except Exception:
            metadata = None
        if not isinstance(metadata, dict):
            self.close()
            raise ConfigError(f"the server at {self.url} is not an openpi server: its first "
                              f"message is not a msgpack map of metadata")
        self.metadata = metadata
        wrong = [f"{k}: the mapping needs {v!r}, the server has {metadata.get(k, '(nothing)')!r}"
                 for k, v in self.mapping.metadata.items() if metadata.get(k) != v]
        if wrong:
            self.close()
            raise ConfigError(f"the openpi server at {self.url} does not fit the mapping "
                              f"{self.mapping.file} (metadata): " + "; ".join(wrong))

    def _infer(self, request: dict) -> dict:
        start = time.perf_counter()
        from simulator.policies.remote import round_trip
        data = round_trip(self._conn, pack(request), self.timeout, self.url, "a request", self.close)
        if isinstance(data, str):  # openpi's error report: a traceback, then close 1011
            self.close()
            last = data.strip().splitlines()[-1] if data.strip() else data
            raise RuntimeError(f"the openpi server at {self.url} failed: {last}")
        reply = unpack(data)
        timing = reply.get("server_timing") if isinstance(reply, dict) else None
        infer_ms = timing.get("infer_ms") if isinstance(timing, dict) else None
        self.compute_times.append(float(infer_ms) / 1000.0 if isinstance(infer_ms, (int, float))
                                  else time.perf_counter() - start)
        return reply

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def trace_attrs(self) -> dict:
        return {"policy_protocol": "openpi",
                "policy_server": json.dumps(self.metadata, sort_keys=True, default=str),
                "policy_map": self.mapping.file}

    # the policy -----------------------------------------------------------
    def reset(self, seed=None, info=None) -> None:
        """openpi has no episodes: connects again if the connection was lost."""
        if self._conn is None:
            self.connect()
        self.compute_times = []

    def act(self, observation):
        if self._conn is None:
            raise RuntimeError(f"no connection to the openpi server at {self.url} (lost "
                               "earlier in this episode)")
        return self.mapping.actions(self._infer(self.mapping.request(observation)), observation)
