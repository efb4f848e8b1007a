"""The server of remote policies (``cobotsim serve-policy``): serves any Python policy,
or a scenario's scripted baseline, over protocol version 2 (docs/policies.md).

The server makes one policy per connection with its factory, from the client's
interface and context; it listens on loopback unless told otherwise, limits message
sizes, and can require a shared token. After a ``refused`` it closes the connection with
code 1008; at shutdown it closes open connections with 1001.
"""
from __future__ import annotations

import hmac
import logging
import threading
import time

from simulator.policies.interface import Interface, interface_differences
from simulator.policies.remote import DEFAULT_TIMEOUT, _websockets
from simulator.policies.wire import MAX_MESSAGE, OLD_PROTOCOLS, PROTOCOL, decode, encode
from simulator.version import __version__

log = logging.getLogger(__name__)

REFUSED = 1008    # close code after a refused hello (policy violation)
GOING_AWAY = 1001  # close code at shutdown


def scripted_factory(interface, context):
    """The scripted baseline of the client's scenario and robot (``context["scenario"]``,
    ``context["robot"]``, ``context["control"]``), found in this server's catalogue."""
    from simulator.env import CellEnv
    from simulator.errors import ConfigError
    from simulator.policies.scripted import make_scripted

    if "scenario" not in context:
        raise ConfigError("the hello's context names no scenario")
    env = CellEnv(context["scenario"], robot=context.get("robot"),
                  control=context.get("control", "ee_delta"))
    try:
        return make_scripted(env)  # plain data about the cell; the env is not kept
    finally:
        env.close()


class PolicyServer:
    """Serves the policies a ``factory(interface, context)`` makes, one per connection.

    Args:
        factory: called with the client's :class:`Interface` and context dict; returns a
            policy (``reset``, ``act``, optionally ``interface`` and ``end``).
        host: address to listen on (default loopback only).
        port: TCP port (0: any free one; see :attr:`port`).
        token: shared secret a client must send, or None.
        max_size: largest message accepted, bytes.
        name: what the welcome says the server serves (its ``server.policy``).
    """

    def __init__(self, factory, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, max_size: int = MAX_MESSAGE,
                 name: str = "") -> None:
        ws = _websockets()
        self.factory, self.token, self.max_size = factory, token, int(max_size)
        self.name = name or getattr(factory, "__name__", "policy")
        self._open: set = set()   # the connections being served
        self._open_lock = threading.Lock()
        self._server = ws.sync.server.serve(self._serve, host, port, max_size=self.max_size,
                                            compression=None)
        self.host, self.port = self._server.socket.getsockname()[:2]

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def shutdown(self) -> None:
        """Stop listening and close the open connections (code 1001, going away)."""
        self._server.shutdown()
        # websockets 17 closes them in shutdown(); 16 (the last for Python 3.10) only stops
        # listening
        with self._open_lock:
            open_now = list(self._open)
        for conn in open_now:
            conn.close(code=GOING_AWAY)

    def _serve(self, conn) -> None:
        with self._open_lock:
            self._open.add(conn)
        try:
            self._handle(conn)
        finally:
            with self._open_lock:
                self._open.discard(conn)

    def _welcome(self, conn):
        """Read the hello and answer it; the policy, or None after a refusal."""
        try:
            hello = decode(conn.recv(timeout=DEFAULT_TIMEOUT), self.max_size)
        except Exception as exc:
            hello = {"type": None}
            log.warning("policy server: no valid hello from %s: %s", conn.remote_address, exc)
        reason, policy = self._refusal(hello), None
        if reason is None:
            try:
                client = Interface.from_dict(hello["interface"], "hello.interface")
                policy = self.factory(client, dict(hello.get("context") or {}))
                own = getattr(policy, "interface", None)
                if own is not None:
                    own = Interface.from_dict(own) if isinstance(own, dict) else own
                    problems = interface_differences(own, client)
                    if problems:
                        reason = "the interfaces differ: " + "; ".join(problems)
            except Exception as exc:
                reason = f"the policy could not be made: {type(exc).__name__}: {exc}"
        if reason is not None:
            log.warning("policy server: refused %s: %s", conn.remote_address, reason)
            conn.send(encode({"type": "refused", "reason": reason}))
            conn.close(code=REFUSED, reason="refused")
            return None
        own = getattr(policy, "interface", None)
        conn.send(encode({"type": "welcome", "protocol": PROTOCOL,
                          "server": {"name": "cobotsim serve-policy", "version": __version__,
                                     "policy": self.name},
                          "interface": own.as_dict() if isinstance(own, Interface) else own}))
        return policy

    def _handle(self, conn) -> None:
        policy = self._welcome(conn)
        if policy is None:
            return
        for data in conn:
            try:
                if isinstance(data, str):
                    raise ValueError("a text frame; every message is a binary frame")
                reply = self._answer(policy, decode(data, self.max_size))
            except Exception as exc:  # the policy's or the message's fault: report, keep serving
                log.warning("policy server: %s: %s", type(exc).__name__, exc)
                reply = {"type": "error", "message": f"{type(exc).__name__}: {exc}"}
            conn.send(encode(reply))

    @staticmethod
    def _answer(policy, message: dict) -> dict:
        kind = message["type"]
        if kind == "reset":
            policy.reset(message.get("seed"), message.get("info"))
            return {"type": "ready"}
        if kind == "act":
            start = time.perf_counter()
            action = policy.act(message["observation"])
            return {"type": "action", "id": message.get("id"), "action": action,
                    "compute_time": time.perf_counter() - start}
        if kind == "end":
            if callable(getattr(policy, "end", None)):
                policy.end({k: v for k, v in message.items() if k != "type"})
            return {"type": "ended"}
        return {"type": "error", "message": f"unknown message type {kind!r}"}

    def _refusal(self, hello: dict) -> str | None:
        if hello.get("type") != "hello":
            return f"expected a 'hello' first, got {hello.get('type')!r}"
        version = hello.get("protocol")
        if version in OLD_PROTOCOLS:
            return (f"protocol version {version} is no longer served: this server speaks "
                    f"version {PROTOCOL} (docs/policies.md); update the client")
        if version != PROTOCOL:
            return f"protocol {version!r} is not supported (this server speaks {PROTOCOL})"
        if self.token is not None and not hmac.compare_digest(str(hello.get("token") or ""),
                                                              self.token):
            return "a valid token is required"
        if not isinstance(hello.get("interface"), dict):
            return "the hello carries no interface map"
        return None
