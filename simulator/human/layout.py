"""The person's skeleton: link names, joints, regions, torque bounds and capsule placement.

Frames: every link frame sits at the joint with its parent and, in the neutral standing
pose, is aligned with the person's frame (x forward, y left, z up). Trunk, neck and head
extend along +z from their joint, arms and legs along -z. The pelvis (base) frame is at
the centre of the pelvis capsule. Lengths in m, angles in rad, torques in N·m.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDES = ("left", "right")
SPHERICAL = ("abdomen", "chest", "neck", "head", "upper_arm_left", "upper_arm_right",
             "hand_left", "hand_right", "thigh_left", "thigh_right")
REVOLUTE = ("forearm_left", "forearm_right", "lower_leg_left", "lower_leg_right")
# pybullet numbers the links of a multibody depth-first: creating them in this order keeps
# the pybullet link index equal to the position in this tuple (the pelvis is the base, -1)
BUILD_ORDER = ("abdomen", "chest", "neck", "head", "upper_arm_left", "forearm_left", "hand_left",
               "upper_arm_right", "forearm_right", "hand_right", "thigh_left", "lower_leg_left",
               "thigh_right", "lower_leg_right")
FREE_ENDS = ("head", "hand_left", "hand_right", "lower_leg_left", "lower_leg_right")
# Bounded joint torques, N·m per axis: well below adult isometric maxima (trunk extension
# ~200, hip ~150-200, knee extension ~150-250, shoulder flexion ~50-70, elbow flexion
# ~50-70, wrist ~10, neck ~20-30), so the person holds a posture against gravity with
# margin but a robot can push a limb away.
JOINT_TORQUE = {"abdomen": 120.0, "chest": 120.0, "neck": 20.0, "head": 15.0, "upper_arm": 50.0,
                "forearm": 35.0, "hand": 8.0, "thigh": 120.0, "lower_leg": 120.0}
JOINT_LIMITS = {"forearm": (0.0, 2.5), "lower_leg": (0.0, 2.4)}  # elbow and knee flexion, rad
REGIONS = {"pelvis": ("pelvis",), "abdomen": ("abdomen", "back_shoulders"),
           "chest": ("chest", "back_shoulders"), "neck": ("neck",),
           "head": ("skull_forehead", "face"), "upper_arm": ("upper_arm",),
           "forearm": ("lower_arm",), "hand": ("hand",), "thigh": ("thigh",),
           "lower_leg": ("lower_leg",)}
# Default area: the lowest quasi-static pressure limit of the primary region; hands get the
# back of the hand, dominant (24) or non-dominant (25).
DEFAULT_AREA = {"pelvis": 11, "abdomen": 10, "chest": 8, "neck": 4, "head": 2, "upper_arm": 12,
                "forearm": 15, "thigh": 27, "lower_leg": 29}
HAND_AREA = {"dominant": 24, "non_dominant": 25}
ELBOW_REST = 0.15        # rad: relaxed elbow flexion of the neutral pose
SKIN = (0.87, 0.72, 0.6, 1.0)


@dataclass(frozen=True)
class HumanLink:
    """One link: pybullet ``index`` (-1 for the pelvis), ISO regions (primary first),
    default ISO area id, mass (kg), length (m), capsule radius (m) and the primary
    region's spring constant (N/m; a robot contact uses the spring of the area it touches,
    :mod:`simulator.contact_springs`)."""

    name: str
    index: int
    regions: tuple[str, ...]
    area_id: int
    mass: float
    length: float
    radius: float
    stiffness: float


@dataclass(frozen=True)
class Joint:
    """The joint of a link: parent name, position in the parent's frame (m), pybullet kind,
    axis (revolute), and the direction (+1 up, -1 down) the link extends along z."""

    parent: str
    position: tuple
    kind: str
    axis: tuple
    direction: int


def segment_name(link: str) -> str:
    """``upper_arm_left`` -> ``upper_arm``; trunk link names are unchanged."""
    return link.rsplit("_", 1)[0] if link.endswith(("_left", "_right")) else link


def joints(table) -> dict[str, Joint]:
    """The 14 joints of a :class:`simulator.anthropometry.SegmentTable`, by child link."""
    half_pelvis, chest = table["pelvis"].length / 2, table["chest"].length
    out = {"abdomen": Joint("pelvis", (0, 0, half_pelvis), "spherical", (0, 0, 1), 1),
           "chest": Joint("abdomen", (0, 0, table["abdomen"].length), "spherical", (0, 0, 1), 1),
           "neck": Joint("chest", (0, 0, chest), "spherical", (0, 0, 1), 1),
           "head": Joint("neck", (0, 0, table["neck"].length), "spherical", (0, 0, 1), 1)}
    for side, s in (("left", 1.0), ("right", -1.0)):
        out[f"upper_arm_{side}"] = Joint("chest", (0, s * table.shoulder_spacing / 2, chest),
                                         "spherical", (0, 0, 1), -1)
        out[f"forearm_{side}"] = Joint(f"upper_arm_{side}",
                                       (0, 0, -table[f"upper_arm_{side}"].length),
                                       "revolute", (0, -1, 0), -1)     # flexion: forearm forward
        out[f"hand_{side}"] = Joint(f"forearm_{side}", (0, 0, -table[f"forearm_{side}"].length),
                                    "spherical", (0, 0, 1), -1)
        out[f"thigh_{side}"] = Joint("pelvis", (0, s * table.hip_spacing / 2, -half_pelvis),
                                     "spherical", (0, 0, 1), -1)
        out[f"lower_leg_{side}"] = Joint(f"thigh_{side}", (0, 0, -table[f"thigh_{side}"].length),
                                         "revolute", (0, 1, 0), -1)    # flexion: shank back
    return out


def capsule(name: str, table, direction: int) -> tuple[float, np.ndarray]:
    """Cylinder length (m) and centre (m, link frame) of the link's capsule.

    Between two joints the cylinder spans the segment and its caps overlap the neighbours;
    at a free end (top of the head, fingertips, sole) the cap ends at the segment's end,
    so the person is as tall as the stature and the soles touch the floor.
    """
    seg = table[name]
    length = seg.length - seg.radius if name in FREE_ENDS else seg.length
    if name == "pelvis":
        return length, np.zeros(3)
    return length, np.array([0.0, 0.0, direction * length / 2])
