"""``cobotsim serve-policy`` and ``cobotsim policy-conformance``: the remote-policy
protocol's server and its conformance kit (docs/policies.md).

``cobotsim serve-policy module:factory|scripted [--host 127.0.0.1] [--port N] [--token T]``
    makes one policy per connection with ``factory(interface, context)`` (``scripted``:
    the scripted baseline of the client's scenario) and serves it until interrupted. It
    prints the address it listens on as the first line of stdout (``listening on
    ws://127.0.0.1:PORT``), so a script that starts it with ``--port 0`` can read the port.
``cobotsim policy-conformance ws://HOST:PORT [--scenario S] [--token T]``
    runs a short scripted exchange against a server and prints every deviation from the
    specification; exit code 0 when there is none, 1 otherwise.
"""
from __future__ import annotations

import os
import sys

from simulator.policies.wire import MAX_MESSAGE


def _serve(args) -> int:
    from simulator.policies.loading import load_factory
    from simulator.policies.server import PolicyServer

    from simulator.policies.server import scripted_factory

    factory = scripted_factory if args.factory == "scripted" else load_factory(args.factory)
    token = args.token if args.token is not None else os.environ.get("COBOTSIM_POLICY_TOKEN")
    server = PolicyServer(factory, host=args.host, port=args.port, token=token,
                          max_size=args.max_size, name=args.factory)
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


def _conformance(args) -> int:
    from simulator.policies.conformance import run_conformance

    token = args.token if args.token is not None else os.environ.get("COBOTSIM_POLICY_TOKEN")
    checks = run_conformance(args.url, scenario=args.scenario, token=token,
                             timeout=args.timeout, steps=args.steps)
    for check in checks:
        print("\n".join(check.lines()))
    failed = sum(not c.passed for c in checks)
    print(f"{len(checks) - failed}/{len(checks)} checks passed; "
          + (f"{failed} failed: the server deviates from protocol version 2" if failed
             else "the server follows protocol version 2"))
    return 1 if failed else 0


def add_commands(sub) -> None:
    serve = sub.add_parser("serve-policy", help="serve a Python policy over WebSocket "
                           "(docs/policies.md)")
    serve.add_argument("factory", help="module:factory or file.py:factory, called as "
                       "factory(interface, context) once per connection; or scripted (the "
                       "scripted baseline of the client's scenario)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0: any free)")
    serve.add_argument("--token", default=None, help="shared secret clients must send "
                       "(default: COBOTSIM_POLICY_TOKEN if set, else none)")
    serve.add_argument("--max-size", type=int, default=MAX_MESSAGE,
                       help=f"largest message accepted, bytes (default {MAX_MESSAGE})")
    serve.set_defaults(func=_serve)
    check = sub.add_parser("policy-conformance", help="check a policy server against "
                           "protocol version 2 (docs/policies.md)")
    check.add_argument("url", help="the server, ws://HOST:PORT")
    check.add_argument("--scenario", default="handover",
                       help="the cell whose observations are sent (default handover)")
    check.add_argument("--token", default=None, help="the server's shared secret (default: "
                       "COBOTSIM_POLICY_TOKEN if set); also checks a hello without it is refused")
    check.add_argument("--timeout", type=float, default=10.0,
                       help="s to wait for each reply (default 10)")
    check.add_argument("--steps", type=int, default=5, help="act requests per episode (default 5)")
    check.set_defaults(func=_conformance)
