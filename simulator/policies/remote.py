"""Remote policies over WebSocket: a client that runs as a policy inside the env, and a
server that serves any Python policy (``cobotsim serve-policy``). The protocol is in
docs/policies.md; the message codec in :mod:`simulator.policies.wire`.

Conversation (client first; every message a msgpack map, binary WebSocket frames):

``hello``   {protocol, interface, context, token}     -> ``welcome`` {protocol, interface,
            server} or ``refused`` {reason}, then the server closes
``reset``   {seed, info}                               -> ``ready`` {}
``act``     {id, observation}                          -> ``action`` {id, action, compute_time}
anything wrong on the server                           -> ``error`` {message}

The server makes one policy per connection with its factory, from the client's
interface and context; it listens on loopback unless told otherwise, limits message
sizes, and can require a shared token. The client has a timeout on every reply and
connects again at the next episode after a connection was lost; a lost connection or
a late reply within an episode is a policy fault (the episode ends ``policy_error``).
"""
from __future__ import annotations

import hmac
import inspect
import logging
import threading
import time

from simulator.errors import ConfigError
from simulator.policies.interface import Interface, interface_differences
from simulator.policies.wire import MAX_MESSAGE, PROTOCOL, decode, encode
from simulator.version import __version__

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


# ---------------------------------------------------------------------- client
class RemotePolicy:
    """A policy served at ``url`` (``ws://host:port``), used like a local one.

    Args:
        url: the server's address.
        interface: the env's :class:`Interface`, sent in the handshake; the server refuses
            when its policy expects something else.
        context: plain data about the episode's cell (scenario id, robot, control
            period, ...) for the server's factory.
        token: shared secret, if the server requires one.
        timeout: s to wait for the connection and for each reply.
        max_size: largest message accepted, bytes.
    """

    def __init__(self, url: str, interface: Interface, context: dict | None = None,
                 token: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 max_size: int = MAX_MESSAGE) -> None:
        if not str(url).startswith(("ws://", "wss://")):
            raise ConfigError(f"a remote policy address must start with ws:// or wss://, got {url!r}")
        self.url, self.interface = url, interface
        self.context, self.token = dict(context or {}), token
        self.timeout, self.max_size = float(timeout), int(max_size)
        self.server_interface: Interface | None = None
        self.compute_times: list[float] = []  # s, the server's compute time per act
        self._conn = None
        self._next_id = 0

    # the connection -------------------------------------------------------
    def _connect(self) -> None:
        ws = _websockets()
        # websockets 17 asks for legacy=True to keep connect() as it was; 16 (the last for
        # Python 3.10) and older have no such argument and behave that way anyway
        legacy = {"legacy": True} if "legacy" in inspect.signature(ws.sync.client.connect).parameters else {}
        try:
            self._conn = ws.sync.client.connect(self.url, open_timeout=self.timeout,
                                                max_size=self.max_size, compression=None,
                                                proxy=None, **legacy)
        except Exception as exc:
            raise RemotePolicyError(f"cannot connect to the policy server at {self.url}: "
                                    f"{type(exc).__name__}: {exc}") from None
        reply = self._ask({"type": "hello", "protocol": PROTOCOL,
                           "interface": self.interface.as_dict(), "context": self.context,
                           "token": self.token})
        if reply["type"] == "refused":
            self.close()
            raise RemotePolicyError(f"the policy server at {self.url} refused: {reply.get('reason')}")
        if reply["type"] != "welcome":
            self.close()
            raise RemotePolicyError(f"the policy server at {self.url} answered the handshake "
                                    f"with {reply['type']!r}")
        offered = reply.get("interface")
        self.server_interface = Interface.from_dict(offered, "server interface") if offered else None
        log.info("connected to policy server %s (%s)", self.url, reply.get("server", "?"))

    def _ask(self, message: dict) -> dict:
        try:
            self._conn.send(encode(message))
            data = self._conn.recv(timeout=self.timeout)
        except TimeoutError:
            self.close()
            raise RemotePolicyError(f"the policy server at {self.url} did not answer "
                                    f"{message['type']!r} within {self.timeout:g} s") from None
        except Exception as exc:
            self.close()
            raise RemotePolicyError(f"the connection to the policy server at {self.url} was "
                                    f"lost during {message['type']!r}: {type(exc).__name__}: "
                                    f"{exc}") from None
        reply = decode(data if isinstance(data, bytes) else data.encode(), self.max_size)
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

    # the policy -----------------------------------------------------------
    def reset(self, seed=None, info=None) -> None:
        """Start an episode; connects (again) first if there is no connection."""
        if self._conn is None:
            self._connect()
        self.compute_times = []
        self._ask({"type": "reset", "seed": seed, "info": info or {}})

    def act(self, observation):
        if self._conn is None:
            raise RemotePolicyError(f"no connection to the policy server at {self.url} "
                                    "(lost earlier in this episode)")
        self._next_id += 1
        reply = self._ask({"type": "act", "id": self._next_id, "observation": observation})
        if reply["type"] != "action" or reply.get("id") != self._next_id:
            raise RemotePolicyError(f"expected the action for request {self._next_id}, got "
                                    f"{reply['type']!r} for {reply.get('id')!r}")
        self.compute_times.append(float(reply.get("compute_time", float("nan"))))
        return reply["action"]


# ---------------------------------------------------------------------- server
class PolicyServer:
    """Serves the policies a ``factory(interface, context)`` makes, one per connection.

    Args:
        factory: called with the client's :class:`Interface` and context dict; returns a
            policy (``reset``, ``act``, optionally ``interface``).
        host: address to listen on (default loopback only).
        port: TCP port (0: any free one; see :attr:`port`).
        token: shared secret a client must send, or None.
        max_size: largest message accepted, bytes.
    """

    def __init__(self, factory, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, max_size: int = MAX_MESSAGE) -> None:
        ws = _websockets()
        self.factory, self.token, self.max_size = factory, token, int(max_size)
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
            conn.close(code=1001)

    def _serve(self, conn) -> None:
        with self._open_lock:
            self._open.add(conn)
        try:
            self._handle(conn)
        finally:
            with self._open_lock:
                self._open.discard(conn)

    def _handle(self, conn) -> None:
        def send(message: dict) -> None:
            conn.send(encode(message))

        try:
            hello = decode(conn.recv(timeout=DEFAULT_TIMEOUT), self.max_size)
        except Exception as exc:
            log.warning("policy server: no valid hello from %s: %s", conn.remote_address, exc)
            return
        reason = self._refusal(hello)
        policy = None
        if reason is None:
            try:
                client = Interface.from_dict(hello["interface"], "client interface")
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
            send({"type": "refused", "reason": reason})
            conn.close()
            return
        own = getattr(policy, "interface", None)
        send({"type": "welcome", "protocol": PROTOCOL, "server": f"cobotsim {__version__}",
              "interface": (own.as_dict() if isinstance(own, Interface) else own)})
        for data in conn:
            try:
                message = decode(data if isinstance(data, bytes) else data.encode(), self.max_size)
                if message["type"] == "reset":
                    policy.reset(message.get("seed"), message.get("info"))
                    send({"type": "ready"})
                elif message["type"] == "act":
                    start = time.perf_counter()
                    action = policy.act(message["observation"])
                    send({"type": "action", "id": message.get("id"), "action": action,
                          "compute_time": time.perf_counter() - start})
                else:
                    send({"type": "error", "message": f"unknown message type {message['type']!r}"})
            except Exception as exc:  # the policy's fault: report it, keep serving
                log.warning("policy server: %s: %s", type(exc).__name__, exc)
                send({"type": "error", "message": f"{type(exc).__name__}: {exc}"})

    def _refusal(self, hello: dict) -> str | None:
        if hello.get("type") != "hello":
            return f"expected a 'hello' first, got {hello.get('type')!r}"
        if hello.get("protocol") != PROTOCOL:
            return f"protocol {hello.get('protocol')!r} is not supported (this server speaks {PROTOCOL})"
        if self.token is not None and not hmac.compare_digest(str(hello.get("token") or ""),
                                                              self.token):
            return "a valid token is required"
        if "interface" not in hello:
            return "the hello carries no interface"
        return None
