"""Segment masses, lengths and radii of the simulated person.

Data in ``data/anthropometry/`` (see the README there): ``segments.csv`` (mass fractions
after de Leva 1996, length fractions of stature after Drillis & Contini 1966 / Winter
2009), ``breadths.csv`` (joint spacings as fractions of stature) and ``bodies.csv`` (the
reference bodies ``p05_female``, ``p50_male``, ``p95_male`` from ANSUR II 2012).

Radius rule: each link is a capsule of the segment length L (m) whose volume equals
its mass over the whole-body density 1050 kg/m³, i.e. π r² L + 4/3 π r³ = m / ρ.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from simulator.bodymodel import CsvRows
from simulator.errors import DataError
from simulator.resources import data_dir

log = logging.getLogger(__name__)

BODY_DENSITY = 1050.0  # kg/m³, whole-body density used for the capsule radius
SEXES = ("female", "male")
TRUNK_SEGMENTS = ("pelvis", "abdomen", "chest", "neck", "head")
LIMB_SEGMENTS = ("upper_arm", "forearm", "hand", "thigh", "lower_leg")
LINK_NAMES = ("pelvis", "abdomen", "chest", "neck", "head",
              "upper_arm_left", "upper_arm_right", "forearm_left", "forearm_right",
              "hand_left", "hand_right", "thigh_left", "thigh_right",
              "lower_leg_left", "lower_leg_right")
BREADTHS = ("shoulder_joint_spacing", "hip_joint_spacing")


@dataclass(frozen=True)
class BodySize:
    """A person's stature (m), body mass (kg) and sex (``female`` | ``male``)."""

    stature: float
    mass: float
    sex: str
    id: str = "custom"


@dataclass(frozen=True)
class Segment:
    """One link of the person: mass (kg), length (m, joint to joint or to the free end),
    radius (m) of its capsule."""

    name: str
    mass: float
    length: float
    radius: float


@dataclass(frozen=True)
class SegmentTable:
    """All 15 links of one body, in :data:`LINK_NAMES` order, plus joint spacings (m)."""

    body: BodySize
    segments: tuple[Segment, ...]
    shoulder_spacing: float
    hip_spacing: float

    def __getitem__(self, name: str) -> Segment:
        for s in self.segments:
            if s.name == name:
                return s
        raise KeyError(f"no link {name!r}; known: {', '.join(LINK_NAMES)}")

    @property
    def total_mass(self) -> float:
        return sum(s.mass for s in self.segments)


def capsule_radius(mass: float, length: float, density: float = BODY_DENSITY) -> float:
    """Radius (m) of a capsule with cylinder length ``length`` (m) and volume mass/density."""
    volume = mass / density
    lo, hi = 0.0, max(length, (3.0 * volume / (4.0 * math.pi)) ** (1.0 / 3.0)) + 1.0
    for _ in range(60):  # bisection: the volume grows monotonically with r
        mid = 0.5 * (lo + hi)
        if math.pi * mid * mid * length + 4.0 / 3.0 * math.pi * mid ** 3 > volume:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


@lru_cache(maxsize=4)
def _fractions(folder: Path) -> dict:
    rows = CsvRows(folder / "segments.csv", ("segment", "sex", "mass_fraction", "length_fraction",
                                           "sources"))
    table: dict = {}
    for i, r in rows.rows:
        seg, sex = rows.text(i, r, "segment"), rows.text(i, r, "sex")
        if seg not in TRUNK_SEGMENTS + LIMB_SEGMENTS:
            raise rows.fail(i, "segment", seg, f"one of {TRUNK_SEGMENTS + LIMB_SEGMENTS}")
        if sex not in SEXES:
            raise rows.fail(i, "sex", sex, f"one of {SEXES}")
        rows.text(i, r, "sources")
        table[(seg, sex)] = (rows.number(i, r, "mass_fraction", positive=True),
                             rows.number(i, r, "length_fraction", positive=True))
    for sex in SEXES:
        missing = [s for s in TRUNK_SEGMENTS + LIMB_SEGMENTS if (s, sex) not in table]
        if missing:
            raise DataError(f"{rows.path}: no rows for {sex} segments {missing}; expected all of "
                            f"{TRUNK_SEGMENTS + LIMB_SEGMENTS}")
        total = sum(table[(s, sex)][0] * (2 if s in LIMB_SEGMENTS else 1)
                    for s in TRUNK_SEGMENTS + LIMB_SEGMENTS)
        if abs(total - 1.0) > 0.005:
            raise DataError(f"{rows.path}: column 'mass_fraction': {sex} fractions sum to "
                            f"{total:.4f}; expected 1 within 0.005 (limbs counted twice)")
    brows = CsvRows(folder / "breadths.csv", ("dimension", "fraction_of_stature", "sources"))
    breadths = {brows.text(i, r, "dimension"): brows.number(i, r, "fraction_of_stature",
                                                            positive=True) for i, r in brows.rows}
    missing = [b for b in BREADTHS if b not in breadths]
    if missing:
        raise DataError(f"{brows.path}: column 'dimension': missing {missing}; expected {BREADTHS}")
    return {"segments": table, "breadths": breadths}


@lru_cache(maxsize=4)
def _bodies(folder: Path) -> dict[str, BodySize]:
    rows = CsvRows(folder / "bodies.csv", ("body_id", "stature_m", "mass_kg", "sex", "sources"))
    out = {}
    for i, r in rows.rows:
        bid, sex = rows.text(i, r, "body_id"), rows.text(i, r, "sex")
        if sex not in SEXES:
            raise rows.fail(i, "sex", sex, f"one of {SEXES}")
        rows.text(i, r, "sources")
        out[bid] = BodySize(rows.number(i, r, "stature_m", positive=True),
                            rows.number(i, r, "mass_kg", positive=True), sex, bid)
    return out


def _folder(path) -> Path:
    return (Path(path) if path is not None else data_dir() / "anthropometry").resolve()


def reference_bodies(path=None) -> dict[str, BodySize]:
    """The reference bodies of ``bodies.csv`` by id."""
    return dict(_bodies(_folder(path)))


def body_size(body, path=None) -> BodySize:
    """A :class:`BodySize` from a body id or a ``(stature_m, mass_kg, sex)`` tuple."""
    if isinstance(body, BodySize):
        return body
    if isinstance(body, str):
        bodies = _bodies(_folder(path))
        if body not in bodies:
            raise KeyError(f"unknown body {body!r}; known: {', '.join(bodies)}")
        return bodies[body]
    stature, mass, sex = body
    if not (0.5 < float(stature) < 2.5 and 10.0 < float(mass) < 300.0 and sex in SEXES):
        raise ValueError(f"body {body!r}: expected (stature 0.5-2.5 m, mass 10-300 kg, "
                         f"sex in {SEXES})")
    return BodySize(float(stature), float(mass), str(sex))


def segment_table(body="p50_male", path=None) -> SegmentTable:
    """Per-link mass (kg), length (m) and capsule radius (m) of ``body`` (an id of
    ``bodies.csv`` or ``(stature_m, mass_kg, sex)``)."""
    size = body_size(body, path)
    data = _fractions(_folder(path))
    segments = []
    for name in LINK_NAMES:
        seg = name.rsplit("_", 1)[0] if name.endswith(("_left", "_right")) else name
        mass_fraction, length_fraction = data["segments"][(seg, size.sex)]
        mass, length = mass_fraction * size.mass, length_fraction * size.stature
        segments.append(Segment(name, mass, length, capsule_radius(mass, length)))
    b = data["breadths"]
    log.debug("segment table for %s: %.3f m, %.1f kg, %s", size.id, size.stature, size.mass, size.sex)
    return SegmentTable(size, tuple(segments), b["shoulder_joint_spacing"] * size.stature,
                        b["hip_joint_spacing"] * size.stature)
