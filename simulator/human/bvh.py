"""Reading BVH motion-capture files and naming their joints after the person's links.

A BVH file has a HIERARCHY (a tree of joints: ``ROOT``/``JOINT`` name, ``OFFSET`` x y z
from the parent in the rest pose, ``CHANNELS``, ``End Site`` leaves) and a MOTION section
(``Frames:`` count, ``Frame Time:`` s, then one line of channel values per frame, in the
order the channels were declared, depth first). Rotation channels are Euler angles in
degrees; a joint's rotation is the product of its three rotation channels in the order
they are listed (``Zrotation Xrotation Yrotation`` gives ``R = Rz·Rx·Ry``), relative to
its parent, in the parent's axes. The root has 6 channels (3 positions, 3 rotations),
every other joint 3 rotations (position channels of other joints are read and ignored).

Errors name the file and the line: a truncated file (fewer frames than ``Frames:``
declares), a frame with the wrong number of values, a malformed hierarchy.

Joint names map to the person's links by :data:`DEFAULT_NAME_MAP` (see
:func:`link_for`), extended or overridden per clip.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulator.errors import SpecError


class BvhError(SpecError):
    """A BVH file is malformed, or names a joint the person does not have."""


@dataclass
class BvhJoint:
    """One joint: its parent's index (-1 for the root), offset from the parent in the rest
    pose (file units, usually cm), channel names, first column of its channels in a frame
    line, and the offset of its End Site (None without one)."""

    name: str
    parent: int
    offset: np.ndarray
    channels: list[str] = field(default_factory=list)
    column: int = 0
    end_site: np.ndarray | None = None
    line: int = 0


@dataclass
class BvhClip:
    """A parsed BVH file: ``joints`` in file (depth-first) order, ``frame_time`` in s and
    ``frames`` (n_frames, n_channels) of raw channel values (degrees, file units)."""

    path: str
    joints: list[BvhJoint]
    frame_time: float
    frames: np.ndarray

    @property
    def duration(self) -> float:
        """Time (s) from the first to the last frame."""
        return (len(self.frames) - 1) * self.frame_time

    def joint(self, name: str) -> BvhJoint:
        for j in self.joints:
            if j.name == name:
                return j
        raise KeyError(name)

    def rotations(self) -> np.ndarray:
        """Local rotation matrices (n_frames, n_joints, 3, 3) of every joint and frame."""
        n = len(self.frames)
        out = np.tile(np.eye(3), (n, len(self.joints), 1, 1))
        for k, j in enumerate(self.joints):
            for c, name in enumerate(j.channels):
                if name.endswith("rotation"):
                    angle = np.radians(self.frames[:, j.column + c])
                    out[:, k] = out[:, k] @ _axis_rotations("XYZ".index(name[0]), angle)
        return out

    def root_positions(self) -> np.ndarray:
        """(n_frames, 3) root position from its position channels (file units, file axes),
        plus the root's offset."""
        root = self.joints[0]
        pos = np.tile(root.offset, (len(self.frames), 1))
        for c, name in enumerate(root.channels):
            if name.endswith("position"):
                pos[:, "XYZ".index(name[0])] += self.frames[:, root.column + c]
        return pos

    def rest_positions(self) -> np.ndarray:
        """(n_joints, 3) joint positions in the rest pose (all rotations zero, root at its
        offset), file units and axes."""
        pos = np.zeros((len(self.joints), 3))
        for k, j in enumerate(self.joints):
            pos[k] = j.offset + (pos[j.parent] if j.parent >= 0 else 0.0)
        return pos


def _axis_rotations(axis: int, angle: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotations by ``angle`` (rad, (n,)) about the coordinate axis ``axis``."""
    c, s = np.cos(angle), np.sin(angle)
    m = np.tile(np.eye(3), (len(angle), 1, 1))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m[:, i, i], m[:, i, j], m[:, j, i], m[:, j, j] = c, -s, s, c
    return m


ROTATIONS = ("Xrotation", "Yrotation", "Zrotation")
POSITIONS = ("Xposition", "Yposition", "Zposition")


def load_bvh(path) -> BvhClip:
    """Parse the BVH file at ``path``; :class:`BvhError` names the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BvhError(str(path), "", f"an unreadable file ({exc.strerror})",
                       "a readable BVH file") from exc
    return parse_bvh(text, str(path))


def parse_bvh(text: str, file: str = "<bvh>") -> BvhClip:
    """Parse BVH ``text``; ``file`` names it in errors."""
    lines = text.splitlines()
    tokens = [(i + 1, tok) for i, line in enumerate(lines) for tok in line.split()]
    pos = 0

    def fail(line: int, found, expected: str):
        return BvhError(file, f"line {line}", found, expected)

    def take(expected: str | None = None) -> tuple[int, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise fail(len(lines), "the end of the file", expected or "more of the hierarchy")
        line, tok = tokens[pos]
        if expected is not None and tok.upper() != expected.upper():
            raise fail(line, tok, repr(expected))
        pos += 1
        return line, tok

    def number(kind: str = "a number") -> float:
        line, tok = take()
        try:
            value = float(tok)
        except ValueError:
            raise fail(line, tok, kind) from None
        if not np.isfinite(value):
            raise fail(line, tok, "a finite number")
        return value

    joints: list[BvhJoint] = []
    columns = 0

    def joint(parent: int, line: int, name: str) -> None:
        nonlocal columns
        take("{")
        take("OFFSET")
        offset = np.array([number("an OFFSET value") for _ in range(3)])
        cline, _ = take("CHANNELS")
        n = number("a channel count")
        if n not in (3.0, 6.0):
            raise fail(cline, int(n) if n.is_integer() else n, "3 or 6 channels")
        channels = [take()[1] for _ in range(int(n))]
        bad = [c for c in channels if c not in ROTATIONS + POSITIONS]
        if bad:
            raise fail(cline, bad[0], f"channel names among {', '.join(POSITIONS + ROTATIONS)}")
        rot = [c for c in channels if c in ROTATIONS]
        if sorted(rot) != list(ROTATIONS):
            raise fail(cline, channels, "one each of Xrotation, Yrotation, Zrotation")
        if parent < 0 and sorted(c for c in channels if c in POSITIONS) != list(POSITIONS):
            raise fail(cline, channels, "6 root channels: Xposition, Yposition, Zposition and "
                       "three rotations")
        index = len(joints)
        joints.append(BvhJoint(name, parent, offset, channels, columns, None, line))
        columns += len(channels)
        while True:
            kline, key = take()
            if key == "}":
                return
            if key.upper() == "JOINT":
                jline, child = take()
                joint(index, jline, child)
            elif key.upper() == "END":
                take("Site")
                take("{")
                take("OFFSET")
                joints[index].end_site = np.array([number("an OFFSET value") for _ in range(3)])
                take("}")
            else:
                raise fail(kline, key, "JOINT, End Site or '}'")

    take("HIERARCHY")
    rline, _ = take("ROOT")
    _, root = take()
    joint(-1, rline, root)
    take("MOTION")
    take("Frames:")
    fline = tokens[pos - 1][0]
    n_frames = number("a frame count")
    if n_frames < 1 or not n_frames.is_integer():
        raise fail(fline, n_frames, "a whole number of frames >= 1")
    take("Frame")
    tline, _ = take("Time:")
    frame_time = number("a frame time in s")
    if frame_time <= 0:
        raise fail(tline, frame_time, "a frame time > 0 s")
    # frames: one per line after the Frame Time line
    first = tokens[pos - 1][0]  # the Frame Time line; frames start on the next line
    frames = np.empty((int(n_frames), columns))
    body = [(i + 1, lines[i]) for i in range(first, len(lines)) if lines[i].strip()]
    for k in range(int(n_frames)):
        if k >= len(body):
            raise fail(len(lines) + 1, "the end of the file",
                       f"frame {k + 1} of the {int(n_frames)} declared (the file is truncated)")
        line, content = body[k]
        values = content.split()
        if len(values) != columns:
            raise fail(line, f"{len(values)} values", f"{columns} values in frame {k + 1} "
                       "(one per channel)")
        try:
            frames[k] = [float(v) for v in values]
        except ValueError:
            raise fail(line, content.strip()[:40], "numbers only") from None
        if not np.all(np.isfinite(frames[k])):
            raise fail(line, content.strip()[:40], "finite numbers")
    if len(body) > n_frames:
        raise fail(body[int(n_frames)][0], f"{len(body)} frame lines",
                   f"{int(n_frames)} frames, as declared")
    return BvhClip(file, joints, frame_time, frames)


# ----------------------------------------------------------------------------- names
LINKS = ("pelvis", "abdomen", "chest", "neck", "head", "upper_arm_left", "upper_arm_right",
         "forearm_left", "forearm_right", "hand_left", "hand_right", "thigh_left",
         "thigh_right", "lower_leg_left", "lower_leg_right")
# trunk joint names (normalized: lower case, no '_', '-', ' ', no 'xxx:' prefix) -> link;
# None: a joint the body lacks whose rotation is folded into the next mapped joint
TRUNK_NAMES = {"hips": "pelvis", "hip": "pelvis", "pelvis": "pelvis",
               "spine": "abdomen", "abdomen": "abdomen", "spine1": "chest", "chest": "chest",
               "neck": "neck", "head": "head",
               "lowerback": None, "spine2": None, "spine3": None, "upperchest": None,
               "chest2": None, "chest3": None, "chest4": None, "neck1": None, "neck2": None,
               "headtop": None, "headend": None}
# limb joint names after the side word (left/l, right/r) -> segment
LIMB_NAMES = {"arm": "upper_arm", "uparm": "upper_arm", "upperarm": "upper_arm",
              "humerus": "upper_arm", "shldr": "upper_arm",
              "forearm": "forearm", "lowarm": "forearm", "lowerarm": "forearm",
              "radius": "forearm", "elbow": "forearm",
              "hand": "hand", "wrist": "hand",
              "upleg": "thigh", "upperleg": "thigh", "thigh": "thigh", "femur": "thigh",
              "hip": "thigh",
              "leg": "lower_leg", "lowleg": "lower_leg", "lowerleg": "lower_leg",
              "shin": "lower_leg", "tibia": "lower_leg", "knee": "lower_leg",
              "shoulder": None, "collar": None, "clavicle": None, "foot": None, "ankle": None,
              "toe": None, "toes": None, "toebase": None, "toeend": None, "heel": None,
              "footend": None, "handend": None, "fingers": None}
# limb names starting with these (after the side word) are fingers: ignored
FINGER_PREFIXES = ("handthumb", "handindex", "handmiddle", "handring", "handpinky", "thumb",
                   "index", "middle", "ring", "pinky", "finger")
SIDE_WORDS = (("left", "left"), ("right", "right"), ("l", "left"), ("r", "right"))
DEFAULT_NAME_MAP = {"trunk": TRUNK_NAMES, "limbs": LIMB_NAMES, "fingers": FINGER_PREFIXES,
                    "sides": SIDE_WORDS}
UNMAPPED = object()


def normalize(name: str) -> str:
    """``mixamorig:Left_Fore-Arm`` -> ``leftforearm``."""
    return name.rsplit(":", 1)[-1].lower().replace("_", "").replace("-", "").replace(" ", "")


def link_for(name: str, overrides: dict | None = None):
    """The person's link a BVH joint drives: a link name, None (ignored: its rotation is
    folded into the next mapped joint) or :data:`UNMAPPED`. ``overrides`` maps joint names
    to link names or ``"none"`` and is consulted first."""
    key = normalize(name)
    for k, v in (overrides or {}).items():
        if normalize(k) == key:
            return None if v is None or str(v).lower() == "none" else v
    if key in TRUNK_NAMES:
        return TRUNK_NAMES[key]
    for word, side in SIDE_WORDS:
        if key.startswith(word):
            rest = key[len(word):]
            if rest in LIMB_NAMES:
                segment = LIMB_NAMES[rest]
                return None if segment is None else f"{segment}_{side}"
            if rest.startswith(FINGER_PREFIXES):
                return None
    return UNMAPPED


def map_joints(clip: BvhClip, overrides: dict | None = None) -> dict[str, int]:
    """The person's links driven by the clip: link name -> joint index. A joint the map
    does not know, a mapping to an unknown link, or two joints driving one link are
    :class:`BvhError`\\ s naming the file and the joint."""
    out: dict[str, int] = {}
    for k, j in enumerate(clip.joints):
        link = link_for(j.name, overrides)
        where = f"line {j.line}"
        if link is UNMAPPED:
            raise BvhError(clip.path, where, f"joint {j.name!r}",
                           "a joint of the default name map or of motion.clip_map "
                           "(docs/human.md#bvh-joint-names); the body has no such joint")
        if link is None:
            continue
        if link not in LINKS:
            raise BvhError(clip.path, where, f"joint {j.name!r} mapped to {link!r}",
                           f"one of the links {', '.join(LINKS)} or 'none'")
        if link in out:
            raise BvhError(clip.path, where, f"joint {j.name!r}",
                           f"one joint per link; {clip.joints[out[link]].name!r} already "
                           f"drives {link}")
        out[link] = k
    if "pelvis" not in out or out["pelvis"] != 0:
        raise BvhError(clip.path, f"line {clip.joints[0].line}", f"root {clip.joints[0].name!r}",
                       "a root joint that maps to the pelvis (Hips)")
    return out
