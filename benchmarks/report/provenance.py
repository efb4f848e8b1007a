"""The reproducibility block: versions, git commit, platform, seeds, hashes and the exact
command that reproduces the run, with the suite and scenario texts as they ran."""
from __future__ import annotations

import hashlib
import json
import shlex

from benchmarks.report.document import WARN, Paragraph, Preformatted, Section, Table
from benchmarks.report.run import RunData
from benchmarks.report.safety import seed_ranges


def _distinct(run: RunData, name: str) -> str:
    values = dict.fromkeys(str(f.attrs[name]) for f in run.facts if name in f.attrs)
    return ", ".join(values) or "-"


def versions(run: RunData, t) -> list[list[str]]:
    software = (run.manifest or {}).get("software") or {}
    machine = (run.manifest or {}).get("machine") or {}
    git = software.get("git") or {}
    rows = [[t("cobotsim (traces)"), _distinct(run, "software_version")],
            [t("pybullet build"), _distinct(run, "pybullet_build")],
            ["numpy", _distinct(run, "numpy_version")],
            ["Python", _distinct(run, "python_version")],
            [t("git commit"), (git.get("commit", "-") + (f" ({t('with uncommitted changes')})"
                                                          if git.get("modified") else ""))
             if git else t("not recorded")]]
    for name, version in sorted((software.get("dependencies") or {}).items()):
        rows.append([name, version or t("not installed")])
    for key in ("platform", "cpu", "cores", "host"):
        rows.append([t(key), str(machine.get(key, t("not recorded")))])
    return rows


def run_commands(run: RunData) -> list[str]:
    """``cobotsim run`` commands that reproduce a run folder's episodes, one per scenario,
    robot, policy, shields and block of consecutive seeds."""
    groups: dict[tuple, list[int]] = {}
    for f in run.facts:
        a = f.attrs
        overrides = json.loads(a.get("overrides") or "{}")
        shields = sorted(json.loads(a.get("shields") or "{}"))
        key = (a.get("scenario"), a.get("robot") if "robot.id" in overrides else None,
               a.get("policy"), tuple(shields) if "safety.shields" in overrides else None)
        groups.setdefault(key, []).append(int(a.get("seed", -1)))
    out = []
    for (scenario, robot, policy, shields), seeds in groups.items():
        base = ["cobotsim", "run", str(scenario)]
        base += ["--robot", robot] if robot else []
        base += ["--policy", str(policy)] if policy and policy != "scripted" else []
        if shields is not None:
            base += [x for s in shields for x in ("--shield", s)] or ["--no-shields"]
        for block in seed_ranges(seeds).split(", "):
            first, _, last = block.partition("–")
            count = int(last or first) - int(first) + 1
            out.append(shlex.join(base + ["--seed", first, "--episodes", str(count), "--out", "NEW_FOLDER"]))
    return out


def reproducibility(run: RunData, t) -> Section:
    section = Section("reproducibility", t("Reproducibility"))
    section.add(Table([t("item"), t("value")], versions(run, t), widths=[1, 4]))
    manifest = run.manifest or {}
    hashes = []
    suite = manifest.get("suite") or {}
    if suite:
        hashes.append([t("suite {id} ({file})", id=suite.get("id", "?"), file=suite.get("file", "?")),
                       suite.get("sha256", "-")])
    hashes += [[t("scenario {name}", name=k), v] for k, v in sorted((manifest.get("scenarios") or {}).items())]
    hashes += [[t("robot {name}", name=k), v] for k, v in sorted((manifest.get("robots") or {}).items())]
    hashes += [[t("limit table {name}", name=k), v] for k, v in sorted((manifest.get("limit_tables") or {}).items())]
    specs = {}
    for f in run.facts:
        text = f.attrs.get("scenario_spec")
        if text:
            specs.setdefault(hashlib.sha256(text.encode("utf-8")).hexdigest(), (f.attrs.get("scenario"), text))
    hashes += [[t("scenario as it ran: {name}", name=name), digest] for digest, (name, _) in specs.items()]
    section.add(Table([t("file"), "SHA-256"], hashes, widths=[2, 3]))
    seeds = {}
    for r in run.rows:
        seeds.setdefault((r["configuration"], r["scenario"], r["robot"]), []).append(r["seed"])
    section.add(Table([t("configuration"), t("scenario"), t("robot"), t("seeds")],
                      [[c, s, rb, seed_ranges(v)] for (c, s, rb), v in seeds.items()]))
    if run.kind == "suite":
        command = manifest.get("command") or []
        section.add(Paragraph(t("Ran as: {command}", command=shlex.join(map(str, command)) or "-")))
        section.add(Preformatted(f"cobotsim bench {shlex.quote(str(suite.get('file', 'SUITE.yaml')))} "
                                 f"--out NEW_FOLDER", t("The command that reproduces the run (the same "
                                                        "suite file, software and versions).")))
        if manifest.get("shard"):
            section.add(Paragraph(t("This folder holds shard {shard} of the suite.", shard=manifest["shard"]), WARN))
        if suite.get("text"):
            section.add(Preformatted(suite["text"], t("The suite file as it ran")))
    else:
        section.add(Paragraph(t("A folder of cobotsim run keeps no manifest: the git commit, the "
                                "dependencies and the machine are not recorded.")))
        section.add(Preformatted("\n".join(run_commands(run)),
                                 t("The commands that reproduce the episodes (the same software and "
                                   "versions; a scenario file of your own needs its path).")))
    for digest, (name, text) in specs.items():
        section.add(Preformatted(text, t("Scenario {name} as it ran (SHA-256 {digest})", name=name,
                                         digest=digest[:16])))
    return section
