"""``cobotsim serve-policy``: serve any Python policy over the remote-policy protocol.

``cobotsim serve-policy module:factory [--host 127.0.0.1] [--port N] [--token T]``
    makes one policy per connection with ``factory(interface, context)`` (see
    docs/policies.md) and serves it until interrupted. It prints the address it listens
    on as the first line of stdout (``listening on ws://127.0.0.1:PORT``), so a script
    that starts it with ``--port 0`` can read the port.
"""
from __future__ import annotations

import os
import sys

from simulator.policies.wire import MAX_MESSAGE


def _serve(args) -> int:
    from simulator.policies.loading import load_factory
    from simulator.policies.server import PolicyServer

    factory = load_factory(args.factory)
    token = args.token if args.token is not None else os.environ.get("COBOTSIM_POLICY_TOKEN")
    server = PolicyServer(factory, host=args.host, port=args.port, token=token,
                          max_size=args.max_size)
    print(f"listening on {server.url}", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"cobotsim: warning: listening on {args.host}, not only loopback"
              + ("" if token else ", and without a token"), file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


def add_commands(sub) -> None:
    serve = sub.add_parser("serve-policy", help="serve a Python policy over WebSocket "
                           "(docs/policies.md)")
    serve.add_argument("factory", help="module:factory or file.py:factory; called as "
                       "factory(interface, context) once per connection")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0: any free)")
    serve.add_argument("--token", default=None, help="shared secret clients must send "
                       "(default: COBOTSIM_POLICY_TOKEN if set, else none)")
    serve.add_argument("--max-size", type=int, default=MAX_MESSAGE,
                       help=f"largest message accepted, bytes (default {MAX_MESSAGE})")
    serve.set_defaults(func=_serve)
