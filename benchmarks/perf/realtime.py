"""Real-time factor of cobotsim: simulated seconds per wall-clock second, on one core.

Measures the handover scenario with the scripted policy in three configurations:

``physics``  the physics steps alone (robot, person, table, part; no env, no policy);
``env``      full env steps with the scripted policy (control, human motion, task);
``bare``     full env steps with the scripted policy, safety monitors and contact
             sub-stepping off (a scenario variant written to a temporary folder);
``monitors``  the same with the monitors on, sub-stepping off (the monitors' overhead);
``env``      the scenario as shipped: monitors on, contact sub-stepping on;
``traced``   the same with HDF5 trace writing on (what ``cobotsim run`` does).

It also times the monitors from inside the ``monitors`` configuration's episodes and
reports their share of the rest of the env step, which a shared machine's drift does not
distort the way a difference of two real-time factors is.

Run ``python -m benchmarks.perf.realtime [--episodes N] [--repeat R] [--json FILE]``;
the numbers and the machine they came from go to docs/performance.md. Timings use
``time.perf_counter``; the first episode of each configuration is a warm-up and is not
counted; with ``--repeat`` the whole measurement runs R times and the median real-time
factor is reported with the range, since shared machines vary from run to run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    from simulator.version import __version__, pybullet_build
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": version("numpy"), "pybullet": pybullet_build(), "cobotsim": __version__,
            "platform": platform.platform()}


def _episodes(make_env, episodes: int, traced: bool, out: Path) -> tuple[float, float, int]:
    from simulator.policies import make_policy
    from simulator.runner import run_episode

    env = make_env()
    policy = make_policy("scripted", env)
    sim_time = wall = 0.0
    steps = 0
    try:
        for seed in range(episodes + 1):
            start = time.perf_counter()
            if traced:
                r = run_episode(env, policy, seed, out, "scripted", overwrite=True)
                n, t = r.steps, r.sim_time
            else:
                obs, _ = env.reset(seed=seed)
                policy.reset(seed)
                n = 0
                while True:
                    obs, _, term, trunc, _ = env.step(policy.act(obs))
                    n += 1
                    if term or trunc:
                        break
                t = env.unwrapped.sim.time
            if seed == 0:
                continue  # warm-up
            wall += time.perf_counter() - start
            sim_time += t
            steps += n
    finally:
        env.close()
    return sim_time, wall, steps


def _physics_only(make_env, seconds: float) -> tuple[float, float]:
    env = make_env()
    env.reset(seed=0)
    sim = env.unwrapped.sim
    n = int(seconds / sim.time_step)
    start = time.perf_counter()
    sim.step(n)
    wall = time.perf_counter() - start
    env.close()
    return n * sim.time_step, wall


def _variant(scenario: str, folder: Path, monitors: bool) -> str:
    """The scenario with contact sub-stepping off and the monitors on or off."""
    import yaml

    from simulator.catalogue import scenario_path
    data = yaml.safe_load(scenario_path(scenario).read_text())
    data.setdefault("physics", {})["contact_substeps"] = 1
    safety = data.setdefault("safety", {})
    for name in ("contact", "separation", "speed"):
        safety.setdefault(name, {})["enabled"] = monitors
    path = folder / ("monitors" if monitors else "bare") / f"{data['id']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return str(path)


def monitor_overhead(scenario: str, folder: Path, episodes: int) -> dict:
    """Time spent inside the safety monitors against the rest of the env step, measured
    in the same episodes (robust to a shared machine's drift, unlike a difference of two
    real-time factors): monitors on, contact sub-stepping off."""
    from simulator.env import CellEnv
    from simulator.policies import make_policy

    env = CellEnv(_variant(scenario, folder, True))
    policy = make_policy("scripted", env)
    spent = {"monitors": 0.0}

    def timed(fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent["monitors"] += time.perf_counter() - start
        return wrapper

    total = 0.0
    try:
        for seed in range(episodes):
            obs, _ = env.reset(seed=seed)
            policy.reset(seed)
            monitors = env.unwrapped.monitors  # rebuilt at every reset
            monitors.control_step = timed(monitors.control_step)
            if monitors.contact is not None:  # its post-step hook calls this attribute
                monitors.contact.on_substep = timed(monitors.contact.on_substep)
            start = time.perf_counter()
            while True:
                obs, _, term, trunc, _ = env.step(policy.act(obs))
                if term or trunc:
                    break
            total += time.perf_counter() - start
    finally:
        env.close()
    rest = total - spent["monitors"]
    return {"monitors_s": spent["monitors"], "rest_s": rest, "overhead": spent["monitors"] / rest}


def measure(episodes: int = 5, scenario: str = "handover") -> dict:
    from simulator.env import CellEnv

    results = {"scenario": scenario, "episodes": episodes, "machine": machine()}
    sim_t, wall = _physics_only(lambda: CellEnv(scenario), 20.0)
    results["physics"] = {"sim_time_s": sim_t, "wall_time_s": wall, "rtf": sim_t / wall}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        configs = (("bare", _variant(scenario, tmp, False), False),
                   ("monitors", _variant(scenario, tmp, True), False),
                   ("env", scenario, False), ("traced", scenario, True))
        for name, source, traced in configs:
            sim_t, wall, steps = _episodes(lambda s=source: CellEnv(s), episodes, traced, tmp)
            results[name] = {"sim_time_s": sim_t, "wall_time_s": wall, "rtf": sim_t / wall,
                             "env_steps_per_s": steps / wall}
        results["overhead"] = monitor_overhead(scenario, tmp, episodes)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=5, help="measured episodes (plus 1 warm-up)")
    parser.add_argument("--scenario", default="handover")
    parser.add_argument("--repeat", type=int, default=1, help="repeat the measurement R times")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    runs = [measure(args.episodes, args.scenario) for _ in range(max(1, args.repeat))]
    m = runs[0]["machine"]
    print(f"machine: {m['cpu']} ({m['cores']} cores), Python {m['python']}, cobotsim {m['cobotsim']}")
    print(f"{args.scenario}, scripted policy, {args.episodes} episodes per run, {len(runs)} run(s)")
    for name in ("physics", "bare", "monitors", "env", "traced"):
        rtfs = sorted(r[name]["rtf"] for r in runs)
        median = rtfs[len(rtfs) // 2]
        rate = ""
        if "env_steps_per_s" in runs[0][name]:
            steps = sorted(r[name]["env_steps_per_s"] for r in runs)[len(runs) // 2]
            rate = f"  {steps:7.1f} env steps/s"
        print(f"{name:<8} real-time factor {median:6.1f}x  (range {rtfs[0]:.1f}-{rtfs[-1]:.1f}){rate}")
    shares = sorted(r["overhead"]["overhead"] for r in runs)
    print(f"monitors take {100 * shares[len(shares) // 2]:.0f} % of the rest of the env step "
          f"(range {100 * shares[0]:.0f}-{100 * shares[-1]:.0f} %; timed inside the same episodes)")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
