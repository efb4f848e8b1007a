"""Still frames of a moment of an episode, with the separation and the contact force
drawn on them, from files alone.

When the run holds a video of the episode (``videos/<trace name>.mp4`` written by
``record.worst_videos``, or ``traces/<trace name>.mp4`` by ``cobotsim run --video``), the
frame is the video's picture at that moment (frame k shows the state after control step
k, frame 0 the reset state). Otherwise it is a drawing from the trace: the person's 15
link centres joined as a stick figure (``/human/link_pos``), the robot's base (the
scenario's ``robot.position``) joined to its TCP (``/robot/ee_pos``) with the TCP's path
over the second before and after, seen from above and from the side. Either way the
picture carries the separation and S_p of that control step (``/safety/ssm/*``) and the
force and pressure of the contact samples at that moment against their limits.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import yaml
from matplotlib.figure import Figure

from benchmarks.report.figures import DPI, SP_COLOUR

log = logging.getLogger(__name__)
BONES = (("pelvis", "abdomen"), ("abdomen", "chest"), ("chest", "neck"), ("neck", "head"),
         ("chest", "upper_arm_left"), ("upper_arm_left", "forearm_left"),
         ("forearm_left", "hand_left"), ("chest", "upper_arm_right"),
         ("upper_arm_right", "forearm_right"), ("forearm_right", "hand_right"),
         ("pelvis", "thigh_left"), ("thigh_left", "lower_leg_left"),
         ("pelvis", "thigh_right"), ("thigh_right", "lower_leg_right"))


def video_for(trace_path: Path, run_folder: Path) -> Path | None:
    """The video of the trace's episode in the run folder, if there is one."""
    for candidate in (run_folder / "videos" / f"{trace_path.stem}.mp4",
                      trace_path.with_suffix(".mp4")):
        if candidate.is_file():
            return candidate
    return None


def _video_frame(video: Path, index: int) -> np.ndarray | None:
    import cv2

    capture = cv2.VideoCapture(str(video))
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
    finally:
        capture.release()
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok else None


def moment_text(trace, row: int, when: float, t) -> list[str]:
    """The lines drawn on a frame: time, separation, S_p, and each contact at that time."""
    lines = [f"t = {when:.2f} s"]
    if "/safety/ssm/distance" in trace:
        d = float(trace["/safety/ssm/distance"][row])
        sp = float(trace["/safety/ssm/protective_distance"][row])
        lines.append(f"{t('separation')} {d:.3f} m, S_p {sp:.3f} m")
    contacts = trace["/safety/contacts"] if "/safety/contacts" in trace else []
    if len(contacts):
        near = contacts[np.abs(contacts["t"] - when) <= 0.5 / float(trace.attrs.get("control_rate", 20))]
        for c in near[np.argsort(-near["force"])][:2]:
            lines.append(f"{c['human_link']}: {c['force']:.0f} / {c['force_limit']:.0f} N, "
                         f"{c['pressure'] / 1e4:.0f} / {c['pressure_limit'] / 1e4:.0f} N/cm²")
    return lines


def _robot_base(trace) -> np.ndarray | None:
    try:
        spec = yaml.safe_load(trace.attrs.get("scenario_spec", "")) or {}
        return np.asarray(spec["robot"]["position"], float)[:3]
    except (yaml.YAMLError, KeyError, TypeError, ValueError):
        return None


def _schematic(fig: Figure, trace, row: int, when: float, t) -> None:
    names = list(trace.dataset_attrs["/human/link_pos"].get("link_names", []))
    links = trace["/human/link_pos"][row]
    ee = trace["/robot/ee_pos"]
    base = _robot_base(trace)
    time = trace["/time"]
    near = np.abs(time - when) <= 1.0
    touched = set()
    if "/safety/contacts" in trace and len(trace["/safety/contacts"]):
        c = trace["/safety/contacts"]
        touched = set(c["human_link"][np.abs(c["t"] - when) <= 0.05])
    for ax, (i, j), title in zip(fig.subplots(1, 2), ((0, 1), (0, 2)),
                                 (t("seen from above"), t("seen from the side"))):
        for a, b in BONES:
            if a in names and b in names:
                p, q = links[names.index(a)], links[names.index(b)]
                ax.plot([p[i], q[i]], [p[j], q[j]], color="#7f6f5f", lw=2.5, solid_capstyle="round")
        for k, name in enumerate(names):
            hit = name in touched
            ax.plot(links[k, i], links[k, j], "o", ms=6 if hit else 3,
                    color=SP_COLOUR if hit else "#7f6f5f", zorder=3)
        ax.plot(ee[near, i], ee[near, j], color="#1f5fa8", lw=0.8, alpha=0.5)
        if base is not None:
            ax.plot([base[i], ee[row, i]], [base[j], ee[row, j]], color="#1f5fa8", lw=2, ls="--")
            ax.plot(base[i], base[j], "s", color="#1f5fa8", ms=7)
        ax.plot(ee[row, i], ee[row, j], "D", color="#1f5fa8", ms=6, label=t("robot TCP"))
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)" if j == 1 else "z (m)")
        ax.set_title(title, fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)


def _english(text: str, **values) -> str:
    return text.format(**values) if values else text


def still_frame(trace, run_folder: Path, when: float, t=_english) -> tuple[Figure, str]:
    """The picture of the moment ``when`` (s) and where it came from (``video`` or
    ``trace``); ``t`` translates the labels (default: English)."""
    run_folder = Path(run_folder)
    time = trace["/time"]
    row = int(np.argmin(np.abs(time - when)))
    fig = Figure(figsize=(7.6, 3.9), dpi=DPI)
    video = video_for(Path(trace.path), run_folder)
    picture = _video_frame(video, row + 1) if video is not None else None
    if picture is not None:
        ax = fig.subplots()
        ax.imshow(picture)
        ax.axis("off")
        source = "video"
    else:
        _schematic(fig, trace, row, float(time[row]), t)
        source = "trace"
    fig.text(0.01, 0.99, "\n".join(moment_text(trace, row, float(time[row]), t)), va="top",
             fontsize=7.5, bbox={"fc": "white", "ec": "#999999", "alpha": 0.9})
    fig.tight_layout(rect=(0, 0, 1, 0.86))
    return fig, source
