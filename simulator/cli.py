"""The ``cobotsim`` command line.

``cobotsim run SCENARIO [--policy scripted] [--seed N] [--episodes K] [--out DIR] [--video]``
    runs K seeded episodes (seeds N .. N+K-1) and writes one HDF5 trace per episode
    under ``DIR/traces/``, printing one line per episode.
``cobotsim list scenarios|robots [--json]``
    lists the catalogue.
``cobotsim --catalogue DIR ...`` (repeatable; or the environment variable
    ``COBOTSIM_CATALOGUE``) adds a user's catalogue folder with ``robots/`` and
    ``scenarios/`` next to the shipped ones.
``cobotsim stopping-test ROBOT``, ``cobotsim validate pfl|ssm``
    measure stopping data and rerun the monitors' validations (simulator/cli_safety.py).
``cobotsim check-robot PATH [--json]``
    checks a robot folder and reports every problem (simulator/cli_robot.py).
``cobotsim --version``
    prints the versions of cobotsim, of the pybullet build it runs and of Python.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from pathlib import Path

from simulator.errors import CobotsimError, ConfigError


def _run(args) -> int:
    from simulator.env import CellEnv
    from simulator.policies import make_policy
    from simulator.run_folder import RunFolderLock, sigterm_as_interrupt
    from simulator.runner import run_episode, trace_name

    if args.no_shields and args.shield:
        raise ConfigError("--shield and --no-shields contradict each other")
    shields = [] if args.no_shields else (args.shield or None)
    width, height = _size(args.camera_size)
    env = CellEnv(args.scenario, robot=args.robot, control=args.control,
                  render_mode="rgb_array" if args.video else None,
                  shields=shields, cameras=tuple(args.camera), camera_size=(width, height),
                  camera_depth=args.depth, instruction=args.instruction)
    policy = None
    stack = contextlib.ExitStack()
    try:
        token = args.token if args.token is not None else os.environ.get("COBOTSIM_POLICY_TOKEN")
        from simulator.policies.timing import Latency
        latency = Latency.parse(args.latency)
        policy = make_policy(args.policy, env, token=token, timeout=args.timeout,
                             trusted=args.trusted_model, mapping=args.map)
        out = Path(args.out)
        stack.enter_context(RunFolderLock(out, f"cobotsim run {args.scenario} --out {out}"))
        stack.enter_context(sigterm_as_interrupt())
        seeds = range(args.seed, args.seed + args.episodes)
        taken = [p for s in seeds if (p := out / "traces" / f"{trace_name(env.scenario.id, args.policy, s)}.h5").exists()]
        if taken and not args.overwrite:
            raise FileExistsError(f"{len(taken)} trace(s) exist already, e.g. {taken[0]}; nothing "
                                  "was run. Pass --overwrite to replace them or choose another --out")
        print(f"cobotsim run {env.scenario.id} ({env.scenario.gym_id}) robot={env.scenario.robot.id} "
              f"policy={args.policy} shields={','.join(env.shields.names) or 'none'} "
              f"seeds {args.seed}..{args.seed + args.episodes - 1}")
        results = []
        for seed in seeds:
            r = run_episode(env, policy, seed, out, args.policy, video=args.video,
                            overwrite=args.overwrite, replan_every=args.replan_every,
                            latency=latency)
            results.append(r)
            extra = f"  error: {r.error}" if r.error else ""
            print(f"seed {r.seed:5d}  status={r.status:<12} success={str(r.success):<5} "
                  f"sim_time={r.sim_time:6.2f} s  wall_time={r.wall_time:6.2f} s  "
                  f"rtf={r.sim_time / max(r.wall_time, 1e-9):5.1f}x{extra}")
    finally:
        stack.close()  # the folder's lock, SIGTERM's handler
        if hasattr(policy, "close"):
            policy.close()
        env.close()
    ok = sum(r.success for r in results)
    print(f"{ok}/{len(results)} episodes succeeded; traces in {out / 'traces'}"
          + (" (videos next to them)" if args.video else ""))
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--camera-size {text!r}: expected WIDTHxHEIGHT in pixels, e.g. 96x96") from None
    return width, height


def _list(args) -> int:
    from simulator import catalogue

    if args.what == "robots":
        rows = []
        for name in catalogue.robot_names():
            spec = catalogue.load_robot(name)
            rows.append({"id": spec.id, "name": spec.name, "maker": spec.maker,
                         "joints": len(spec.joints), "payload_kg": spec.payload,
                         "moving_mass_kg": spec.moving_mass,
                         "folder": str(catalogue.robot_folder(name))})
    else:
        rows = []
        for name in catalogue.scenario_names():
            spec, _ = catalogue.load_scenario(name)
            rows.append({"id": spec.id, "gym_id": spec.gym_id, "task": spec.task.kind,
                         "robots": list(spec.robots), "description": spec.description,
                         "file": str(catalogue.scenario_path(name))})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print("  ".join(f"{k}={v}" for k, v in row.items()))
    return 0


class _VersionAction(argparse.Action):
    """``--version``: cobotsim's version, the pybullet build (distribution and version) and
    the Python; computed only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from simulator.version import version_text

        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cobotsim", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action=_VersionAction,
                        help="print the versions of cobotsim, pybullet (the build: "
                             "pybullet or pybullet-arm64) and Python, and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    parser.add_argument("--catalogue", action="append", default=[], metavar="DIR",
                        help="a catalogue folder of your own (robots/<id>/robot.yaml, "
                             "scenarios/<id>.yaml), searched besides the shipped one; "
                             "repeatable; also COBOTSIM_CATALOGUE")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run seeded episodes of a scenario and write traces")
    run.add_argument("scenario", help="scenario name (see 'cobotsim list scenarios') or YAML path")
    run.add_argument("--policy", default="scripted",
                     help="scripted (default), module:factory, file.py:factory, "
                          "ws://host:port (a policy server) or openpi://host:port (with --map; "
                          "docs/policies.md)")
    run.add_argument("--map", default=None, metavar="MAPPING.yaml",
                     help="how the cell's observations and actions map to an openpi server's")
    run.add_argument("--control", default="ee_delta", choices=["ee_delta", "joint_position"],
                     help="the action's control mode (default ee_delta)")
    run.add_argument("--token", default=None, help="shared secret for a policy server "
                     "(default: COBOTSIM_POLICY_TOKEN if set)")
    run.add_argument("--timeout", type=float, default=None,
                     help="s to wait for a policy server's reply (default 10)")
    run.add_argument("--trusted-model", action="store_true",
                     help="load a policy file whose format can execute code (Stable-Baselines3); "
                          "only for files you trust")
    run.add_argument("--latency", default=None, metavar="SPEC",
                     help="inference latency in simulated time: seconds (0.1), "
                          "uniform:LOW:HIGH or normal:MEAN:STD (default: none)")
    run.add_argument("--replan-every", type=int, default=None, metavar="K",
                     help="ask the policy every K control steps (default: when its action "
                          "chunk is used up)")
    run.add_argument("--camera", action="append", default=[], choices=["scene", "wrist"],
                     help="add this camera's RGB image to the observation (repeatable)")
    run.add_argument("--camera-size", default="96x96", metavar="WxH",
                     help="camera image size in pixels (default 96x96)")
    run.add_argument("--depth", action="store_true", help="add depth images (m) to the cameras")
    run.add_argument("--instruction", action="store_true",
                     help="add the task in words as the observation 'instruction'")
    run.add_argument("--robot", default=None, help="robot (default: the scenario's)")
    run.add_argument("--shield", action="append", default=[], metavar="NAME",
                     choices=["ssm", "pfl", "contact_stop", "zone_speed"],
                     help="run this shield (repeatable; replaces the scenario's choice)")
    run.add_argument("--no-shields", action="store_true", help="run no shield")
    run.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    run.add_argument("--episodes", type=int, default=1, help="number of episodes (default 1)")
    run.add_argument("--out", default="runs/latest", help="output folder (default runs/latest)")
    run.add_argument("--video", action="store_true", help="write an MP4 next to each trace")
    run.add_argument("--overwrite", action="store_true", help="replace traces that exist")
    run.set_defaults(func=_run)
    lst = sub.add_parser("list", help="list the catalogue")
    lst.add_argument("what", choices=["scenarios", "robots"])
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=_list)
    from simulator import cli_policy, cli_robot, cli_safety
    cli_safety.add_commands(sub)
    cli_robot.add_commands(sub)
    cli_policy.add_commands(sub)
    _add_plugin_commands(sub)
    return parser


PLUGIN_GROUP = "cobotsim.commands"


def _add_plugin_commands(sub) -> None:
    """Commands of installed packages that declare an entry point in the group
    ``cobotsim.commands`` (``name = module:add_commands``, called with the subparsers):
    ``bench`` and ``metrics`` come from ``benchmarks`` this way, so the simulator never
    imports benchmarks. A plugin that fails to load is logged and left out."""
    from importlib.metadata import entry_points

    for entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        try:
            entry.load()(sub)
        except Exception as exc:  # a broken plugin must not take the other commands down
            logging.getLogger(__name__).warning("cobotsim: the commands of %s (%s) are not "
                                                "available: %s: %s", entry.name, entry.value,
                                                type(exc).__name__, exc)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "episodes", 1) < 1:
        print("cobotsim: error: --episodes must be at least 1", file=sys.stderr)
        return 2
    try:
        if args.catalogue:
            from simulator.catalogue import use_catalogue
            use_catalogue(args.catalogue)
        return args.func(args)
    except (CobotsimError, FileExistsError) as exc:
        print(f"cobotsim: error: {exc}", file=sys.stderr)
        if getattr(exc, "hdf5_broken", False):  # a trace write failed inside HDF5
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(2)  # HDF5's exit handler would crash on the file it could not write
        return 2
    except KeyboardInterrupt as exc:
        print("cobotsim: interrupted; the current episode's trace is marked 'interrupted'",
              file=sys.stderr)
        return 143 if type(exc).__name__ == "Terminated" else 130


if __name__ == "__main__":
    sys.exit(main())
