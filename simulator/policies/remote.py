"""The client of remote policies: a policy served over WebSocket, used like a local one.
The protocol (version 2) is specified in docs/policies.md; messages and checks are in
:mod:`simulator.policies.protocol`, the codec in :mod:`simulator.policies.wire`, the
server in :mod:`simulator.policies.server`.

Conversation (client first; every message a msgpack map in a binary frame):

``hello``  {protocol, token, interface, context}  -> ``welcome`` {protocol, server, interface}
                                                     or ``refused`` {reason}, then close
``reset``  {seed, info}                           -> ``ready``
``act``    {id, observation}                      -> ``action`` {id, action, compute_time}
``end``    {status, success, steps, sim_time, safety} -> ``ended``
a request the server cannot serve                 -> ``error`` {message}

``id`` counts from 1 in each episode. :meth:`RemotePolicy.connect` (called by
:func:`~simulator.policies.make_policy` before the first episode) refuses a server that
speaks another protocol or version, or whose welcome does not fit the env, naming every
difference. Within a run a lost connection or a late reply ends the episode
``policy_error``; the client connects again at the next episode.
"""
from __future__ import annotations

import inspect
import json
import logging
import math

from simulator.errors import ConfigError
from simulator.policies.interface import Interface
from simulator.policies.protocol import (action_problems, reply_problems, reset_info,
                                         welcome_problems, wire_observation)
from simulator.policies.wire import MAX_MESSAGE, OLD_PROTOCOLS, PROTOCOL, decode, encode

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0  # s, for the handshake and for each reply


class RemotePolicyError(RuntimeError):
    """The remote policy server refused, failed, went away or answered too late."""


def _websockets():
    try:
        import websockets.sync.client
        import websockets.sync.server
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("remote policies need the optional extra: pip install "
                          "'cobotsim[remote]'") from exc
    return websockets


def open_connection(url: str, timeout: float, max_size: int, headers: dict | None = None):
    """A WebSocket client connection to ``url`` (no compression, no proxy; ``headers``:
    extra HTTP headers of the opening handshake)."""
    ws = _websockets()
    # websockets 17 asks for legacy=True to keep connect() as it was; 16 (the last for
    # Python 3.10) and older have no such argument and behave that way anyway
    legacy = {"legacy": True} if "legacy" in inspect.signature(ws.sync.client.connect).parameters else {}
    extra = {"additional_headers": headers} if headers else {}
    return ws.sync.client.connect(url, open_timeout=timeout, max_size=max_size,
                                  compression=None, proxy=None, **legacy, **extra)


def round_trip(conn, data: bytes, timeout: float, url: str, what: str, close):
    """Send ``data`` on ``conn`` and return the reply frame; a reply later than
    ``timeout`` s or a lost connection calls ``close()`` and raises
    :class:`RemotePolicyError` naming the server and ``what`` was asked."""
    try:
        conn.send(data)
        return conn.recv(timeout=timeout)
    except TimeoutError:
        close()
        raise RemotePolicyError(f"the policy server at {url} did not answer {what} within "
                                f"{timeout:g} s") from None
    except Exception as exc:
        close()
        raise RemotePolicyError(f"the connection to the policy server at {url} was lost "
                                f"during {what}: {type(exc).__name__}: {exc}") from None


def not_ours(url: str, what: str) -> str:
    """The message for a server that answers outside cobotsim's protocol."""
    return (f"the server at {url} does not speak cobotsim's policy protocol: {what} (an openpi "
            "server sends its metadata first: use --policy openpi://HOST:PORT --map MAPPING.yaml)")


class RemotePolicy:
    """A policy served at ``url`` (``ws://host:port``), used like a local one.

    Args:
        url: the server's address.
        interface: the env's :class:`Interface`; the welcome's interface is checked
            against it.
        context: plain data about the cell (scenario id, robot, control period, ...).
        token: shared secret, if the server requires one.
        timeout: s to wait for the connection and for each reply.
        max_size: largest message accepted, bytes.
        description: the hello's ``interface`` map (:func:`~simulator.policies.protocol.
            describe_env`); default: shapes and dtypes from ``interface``.
    """

    def __init__(self, url: str, interface: Interface, context: dict | None = None,
                 token: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 max_size: int = MAX_MESSAGE, description: dict | None = None) -> None:
        if not str(url).startswith(("ws://", "wss://")):
            raise ConfigError(f"a remote policy address must start with ws:// or wss://, got {url!r}")
        self.url, self.interface = url, interface
        self.context, self.token = dict(context or {}), token
        self.timeout, self.max_size = float(timeout), int(max_size)
        self.description = description or interface.as_dict()
        self.server_interface: Interface | None = None
        self.server: dict | None = None   # the welcome's self-description
        self.compute_times: list[float] = []  # s, the server's compute time per act
        self._conn = None
        self._next_id = 0

    # the connection -------------------------------------------------------
    def connect(self) -> None:
        """Open the connection and shake hands; raises :class:`RemotePolicyError` naming
        every problem of the welcome."""
        self.close()
        try:
            self._conn = open_connection(self.url, self.timeout, self.max_size)
        except Exception as exc:
            raise RemotePolicyError(f"cannot connect to the policy server at {self.url}: "
                                    f"{type(exc).__name__}: {exc}") from None
        reply = self._ask({"type": "hello", "protocol": PROTOCOL, "token": self.token,
                           "interface": self.description, "context": self.context})
        problems = reply_problems("hello", reply)
        if reply.get("type") == "refused":
            self.close()
            reason = str(reply.get("reason"))
            hint = (f" (this cobotsim speaks protocol version {PROTOCOL}: update the server)"
                    if "protocol" in reason else "")
            raise RemotePolicyError(f"the policy server at {self.url} refused: {reason}{hint}")
        if reply.get("protocol") in OLD_PROTOCOLS:
            self.close()
            raise RemotePolicyError(f"the policy server at {self.url} speaks protocol version "
                                    f"{reply.get('protocol')}; this cobotsim speaks version "
                                    f"{PROTOCOL} only (docs/policies.md): update the server")
        control = (self.description.get("action") or {}).get("control", "")
        problems += [] if problems else welcome_problems(reply, self.interface, control)
        if problems:
            self.close()
            raise RemotePolicyError(f"the welcome of the policy server at {self.url} does not "
                                    "fit: " + "; ".join(problems))
        offered = reply.get("interface")
        self.server_interface = Interface.from_dict(offered, "welcome.interface") if offered else None
        self.server = dict(reply["server"])
        log.info("connected to policy server %s (%s)", self.url, self.server)

    def _ask(self, message: dict) -> dict:
        data = round_trip(self._conn, encode(message), self.timeout, self.url,
                          repr(message["type"]), self.close)
        if isinstance(data, str):
            self.close()
            raise RemotePolicyError(not_ours(self.url, f"it answered {message['type']!r} with a "
                                             f"text frame: {data[:200]!r}"))
        try:
            reply = decode(data, self.max_size)
        except ValueError as exc:
            self.close()
            raise RemotePolicyError(not_ours(self.url, f"its answer to {message['type']!r} is "
                                             f"not a message ({exc})")) from None
        if reply["type"] == "error":
            raise RemotePolicyError(f"the policy server at {self.url} failed: {reply.get('message')}")
        return reply

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # already gone
                pass
            self._conn = None

    def trace_attrs(self) -> dict:
        """Root attributes for the trace: the protocol version and the server's
        self-description (JSON), once a welcome was received."""
        if self.server is None:
            return {}
        return {"policy_protocol": f"cobotsim {PROTOCOL}",
                "policy_server": json.dumps(self.server, sort_keys=True, default=str)}

    # the policy -----------------------------------------------------------
    def reset(self, seed=None, info=None) -> None:
        """Start an episode; connects (again) first if there is no connection."""
        if self._conn is None:
            self.connect()
        self.compute_times = []
        self._next_id = 0
        self._ask({"type": "reset", "seed": None if seed is None else int(seed),
                   "info": reset_info(info)})

    def act(self, observation):
        if self._conn is None:
            raise RemotePolicyError(f"no connection to the policy server at {self.url} "
                                    "(lost earlier in this episode)")
        self._next_id += 1
        reply = self._ask({"type": "act", "id": self._next_id,
                           "observation": wire_observation(observation)})
        problems = reply_problems("act", reply) or action_problems(
            reply, self._next_id, self.interface.action.shape)
        if problems:
            raise RemotePolicyError(f"the policy server at {self.url}: " + "; ".join(problems))
        t = reply.get("compute_time")
        self.compute_times.append(math.nan if t is None else float(t))
        return reply["action"]

    def end(self, summary: dict) -> None:
        """Tell the server how the episode ended (an ``end`` message); a server that
        does not answer is logged, the episode's result stands."""
        if self._conn is None:
            return
        try:
            self._ask({"type": "end", **summary})
        except RemotePolicyError as exc:
            log.warning("the policy server did not take the episode's end: %s", exc)


def __getattr__(name):  # PolicyServer moved to simulator.policies.server
    if name == "PolicyServer":
        from simulator.policies.server import PolicyServer
        return PolicyServer
    raise AttributeError(name)
