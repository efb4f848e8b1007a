"""Where the 29 ISO/TS 15066 body areas sit on the simulated person.

Every area is anchored on the link that carries its region, by one or more points on
that link's capsule surface, in the link frame (m). A contact point on a link is
attributed to the area of the nearest anchor of that link (:meth:`AreaMap.nearest`).

Link frames (see :mod:`simulator.human.body`): the frame sits at the joint with the
parent; trunk, neck and head extend along +z, arms and legs along -z; the person faces +x,
y points to the person's left. The pelvis frame is at the centre of its capsule. An
anchor is written as ``(area, t, direction)``: the point on the capsule axis at the
fraction ``t`` of the link length from the joint (for the pelvis: from its lower end),
moved by the capsule radius along ``direction`` (normalised). Limb anchors are written
for the LEFT limb (+y is lateral, -y medial); the right limb mirrors y.

Anatomical conventions (neutral standing pose, arms hanging, palms towards the thighs,
thumbs forward): the palm faces medially, the back of the hand laterally, the thumb and
forefinger forwards (+x). Hand areas 17-25 are split into dominant and non-dominant by
the person's handedness. The upper back on the chest link, which no area of Table A.2
names, is anchored to area 6 (shoulder joint): the back-and-shoulders area nearest to
it, and the lower of that region's two pressure limits (160 against 210 N/cm²).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from simulator.human.layout import segment_name

log = logging.getLogger(__name__)

_SQ = 0.7071067811865476
# Hand areas by (key, dominant?): forefinger pad, forefinger end joint, palm, back of hand.
HAND_AREAS = {("pad", True): 17, ("pad", False): 18, ("end_joint", True): 19,
              ("end_joint", False): 20, ("thenar", True): 21, ("thenar", False): 21,
              ("palm", True): 22, ("palm", False): 23, ("back", True): 24, ("back", False): 25}

# segment -> list of (area id or hand key, t, direction (x, y, z)); limbs written for the left side
TEMPLATES: dict[str, list[tuple]] = {
    "head": [(1, 0.75, (1, 0, 0)),                                   # middle of forehead
             (2, 0.65, (0, 1, 0)), (2, 0.65, (0, -1, 0)),            # temples
             (3, 0.30, (1, 0, 0)), (3, 0.30, (0.6, 0.8, 0)), (3, 0.30, (0.6, -0.8, 0))],  # jaw
    "neck": [(4, 0.5, (1, 0, 0)), (4, 0.5, (0, 1, 0)), (4, 0.5, (0, -1, 0)),
             (5, 0.2, (-1, 0, 0))],                                  # seventh neck muscle: back
    "chest": [(8, 0.55, (1, 0, 0)),                                  # sternum
              (9, 0.65, (_SQ, _SQ, 0)), (9, 0.65, (_SQ, -_SQ, 0)),   # pectoral muscles
              (6, 1.0, (0, _SQ, _SQ)), (6, 1.0, (0, -_SQ, _SQ)),     # shoulder joints
              (6, 0.6, (-1, 0, 0))],                                 # upper back (see above)
    "abdomen": [(10, 0.5, (1, 0, 0)), (10, 0.5, (0, 1, 0)), (10, 0.5, (0, -1, 0)),
                (7, 0.3, (-1, 0, 0))],                               # fifth lumbar vertebra
    "pelvis": [(11, 0.5, (1, 0, 0)), (11, 0.5, (0, 1, 0)), (11, 0.5, (0, -1, 0)),
               (11, 0.5, (-1, 0, 0))],
    "upper_arm": [(12, 0.12, (0, 1, 0)), (12, 0.12, (1, 0, 0)), (12, 0.12, (-1, 0, 0)),
                  (13, 0.6, (0, 1, 0)), (13, 0.6, (1, 0, 0)), (13, 0.6, (-1, 0, 0)),
                  (13, 0.6, (0, -1, 0))],
    "forearm": [(16, 0.2, (0, -1, 0)),                               # arm nerve: inner elbow
                (15, 0.35, (1, 0, 0)), (15, 0.35, (0, 1, 0)), (15, 0.35, (-1, 0, 0)),
                (15, 0.75, (-1, 0, 0)), (15, 0.75, (0, -1, 0)),
                (14, 0.75, (_SQ, _SQ, 0))],                          # radial bone: thumb side
    "hand": [("palm", 0.5, (0, -1, 0)), ("back", 0.5, (0, 1, 0)),
             ("thenar", 0.3, (_SQ, -_SQ, 0)),
             ("pad", 0.92, (_SQ, -_SQ, 0)), ("end_joint", 0.85, (_SQ, _SQ, 0))],
    "thigh": [(26, 0.4, (1, 0, 0)), (26, 0.4, (0, 1, 0)), (26, 0.4, (0, -1, 0)),
              (26, 0.4, (-1, 0, 0)), (27, 0.95, (1, 0, 0))],         # kneecap
    "lower_leg": [(28, 0.5, (1, 0, 0)), (29, 0.3, (-1, 0, 0))],      # shin, calf
}
UP = ("pelvis", "abdomen", "chest", "neck", "head")


@dataclass(frozen=True)
class Anchor:
    """One anchor: the body area it stands for, its human link, the point (m) on the
    capsule surface in that link's frame and the outward surface normal there (unit, link
    frame)."""

    area_id: int
    link: str
    point: tuple[float, float, float]
    normal: tuple[float, float, float] = (0.0, 0.0, 0.0)


def link_anchors(link_name: str, length: float, radius: float, handedness: str) -> list[Anchor]:
    """The anchors of one human link of ``length`` and capsule ``radius`` (m)."""
    seg = segment_name(link_name)
    side = link_name.rsplit("_", 1)[1] if seg != link_name else None
    mirror = -1.0 if side == "right" else 1.0
    out = []
    for key, t, direction in TEMPLATES[seg]:
        area = HAND_AREAS[(key, side == handedness)] if seg == "hand" else key
        d = np.array([direction[0], mirror * direction[1], direction[2]], dtype=float)
        d /= np.linalg.norm(d)
        if seg == "pelvis":
            axis = np.array([0.0, 0.0, (t - 0.5) * length])
        else:
            axis = np.array([0.0, 0.0, (1.0 if seg in UP else -1.0) * t * length])
        out.append(Anchor(int(area), link_name, tuple(float(v) for v in axis + radius * d),
                          tuple(float(v) for v in d)))
    return out


class AreaMap:
    """Anchors of every link of one :class:`~simulator.human.Human`, by pybullet link index.

    ``human`` needs ``links`` (with ``name``, ``index``, ``length``, ``radius``, ``regions``)
    and ``handedness``; only the build-time geometry is read, never the world.
    """

    def __init__(self, human, handedness: str | None = None) -> None:
        handedness = handedness if handedness is not None else human.handedness
        self.handedness = handedness
        self._anchors: dict[int, list[Anchor]] = {}
        self._points: dict[int, np.ndarray] = {}
        self.link_regions: dict[int, tuple[str, ...]] = {}
        self.link_names: dict[int, str] = {}
        for link in human.links:
            anchors = link_anchors(link.name, link.length, link.radius, handedness)
            self._anchors[link.index] = anchors
            self._points[link.index] = np.array([a.point for a in anchors])
            self.link_regions[link.index] = tuple(link.regions)
            self.link_names[link.index] = link.name

    def anchors(self, link_index: int) -> list[Anchor]:
        """The anchors of the link with pybullet index ``link_index`` (-1: pelvis)."""
        return list(self._anchors[link_index])

    def nearest(self, link_index: int, local_point) -> tuple[int, float]:
        """(area id, distance in m) of the anchor of ``link_index`` nearest to
        ``local_point`` (m, in that link's frame)."""
        d = np.linalg.norm(self._points[link_index] - np.asarray(local_point, float), axis=1)
        i = int(np.argmin(d))
        return self._anchors[link_index][i].area_id, float(d[i])
