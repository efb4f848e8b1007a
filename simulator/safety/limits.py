"""The ISO/TS 15066 limit table the power-and-force-limiting monitors judge contacts by.

One :class:`AreaLimit` per specific body area (29, Table A.2), carrying the limits of its
body region (Table A.2 forces, Table A.3 spring constant and effective mass). Units: forces
in N, pressures in N/cm² with ``*_pa`` twins in Pa (1 N/cm² = 10⁴ Pa), spring constants in
N/m, masses in kg. The numbers come from :func:`simulator.bodymodel.load_body_model`
(``data/iso_ts_15066``); nothing here restates them.

Two rules of the standard are checked when the table is built, so a bad data file fails
early instead of judging contacts wrongly:

* transient limits are twice the quasi-static ones, for force and for pressure (Table A.2,
  footnote c);
* skull/forehead and face have no transient values: transient contact there is not
  permitted, so :meth:`LimitTable.for_contact` returns a limit of 0 and any transient
  contact is a violation (ratio = inf).
"""
from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

from simulator.bodymodel import BodyModel, PressuresInPa, load_body_model
from simulator.errors import DataError

log = logging.getLogger(__name__)

TRANSIENT = "transient"
QUASI_STATIC = "quasi_static"
KINDS = (TRANSIENT, QUASI_STATIC)
TRANSIENT_FACTOR = 2.0          # transient limit / quasi-static limit (Table A.2, footnote c)
NO_TRANSIENT_REGIONS = ("skull_forehead", "face")
_RULE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class AreaLimit(PressuresInPa):
    """The limits that apply to one specific body area.

    Forces (N) belong to the region, pressures (N/cm²) to the area; a transient value of
    ``None`` means transient contact is not permitted there. ``spring_constant`` (N/m) and
    ``effective_mass`` (kg) are the region's Table A.3 values for the two-body model.
    """

    area_id: int
    area: str
    region_id: str
    region: str
    quasi_static_force: float
    transient_force: float | None
    quasi_static_pressure: float
    transient_pressure: float | None
    spring_constant: float
    effective_mass: float

    def limits(self, kind: str) -> tuple[float, float]:
        """(force limit in N, pressure limit in Pa) for a contact of ``kind``; (0, 0) for a
        transient contact where transient contact is not permitted."""
        if kind == QUASI_STATIC:
            return self.quasi_static_force, self.quasi_static_pressure_pa
        if kind != TRANSIENT:
            raise ValueError(f"contact kind {kind!r}: expected one of {KINDS}")
        if self.transient_force is None or self.transient_pressure is None:
            return 0.0, 0.0
        return self.transient_force, self.transient_pressure_pa


class LimitTable:
    """The 29 area limits by area id (see the module docstring for units and rules)."""

    def __init__(self, areas: dict[int, AreaLimit]) -> None:
        if not areas:
            raise DataError("limit table: no body areas; expected the 29 areas of ISO/TS 15066")
        self.areas = dict(sorted(areas.items()))
        for limit in self.areas.values():
            _check_rules(limit)

    @classmethod
    def from_body_model(cls, model: BodyModel | None = None) -> "LimitTable":
        """The table of ``model`` (default: the shipped ``data/iso_ts_15066``)."""
        model = model if model is not None else load_body_model()
        out = {}
        for area in model.areas.values():
            region = model.region(area.region_id)
            out[area.id] = AreaLimit(area.id, area.name, region.id, region.name,
                                     region.quasi_static_force, region.transient_force,
                                     area.quasi_static_pressure, area.transient_pressure,
                                     region.spring_constant, region.effective_mass)
        return cls(out)

    def area(self, area_id: int) -> AreaLimit:
        try:
            return self.areas[int(area_id)]
        except KeyError:
            raise KeyError(f"no limits for body area {area_id!r}; known: "
                           f"{min(self.areas)}-{max(self.areas)}") from None

    def region_areas(self, region_id: str) -> list[AreaLimit]:
        """The areas of one region, in id order."""
        return [a for a in self.areas.values() if a.region_id == region_id]

    @property
    def region_ids(self) -> list[str]:
        return list(dict.fromkeys(a.region_id for a in self.areas.values()))

    def for_contact(self, region_id: str, area_id: int, kind: str) -> tuple[float, float]:
        """(force limit in N, pressure limit in Pa) of a contact of ``kind`` (``"transient"``
        or ``"quasi_static"``) on ``area_id`` of ``region_id``. A transient contact on
        skull/forehead or face gets (0, 0): any such contact is a violation."""
        limit = self.area(area_id)
        if limit.region_id != region_id:
            raise ValueError(f"body area {area_id} ({limit.area}) belongs to region "
                             f"{limit.region_id!r}, not {region_id!r}")
        return limit.limits(kind)

    def as_records(self) -> list[dict]:
        """One flat dict per area (fields of :class:`AreaLimit` plus the Pa values), for a
        trace's ``/safety/limits`` table; ``None`` marks 'transient contact not permitted'."""
        rows = []
        for a in self.areas.values():
            row = asdict(a)
            row["quasi_static_pressure_pa"] = a.quasi_static_pressure_pa
            row["transient_pressure_pa"] = a.transient_pressure_pa
            rows.append(row)
        return rows

    @staticmethod
    def record_units() -> dict[str, str]:
        """Unit of each numeric column of :meth:`as_records`."""
        return {"quasi_static_force": "N", "transient_force": "N",
                "quasi_static_pressure": "N/cm²", "transient_pressure": "N/cm²",
                "quasi_static_pressure_pa": "Pa", "transient_pressure_pa": "Pa",
                "spring_constant": "N/m", "effective_mass": "kg"}


def _check_rules(a: AreaLimit) -> None:
    """Raise :class:`DataError` if ``a`` breaks the 2x rule or the no-transient rule."""
    where = f"limit table: area {a.area_id} ({a.area}, region {a.region_id})"
    if a.region_id in NO_TRANSIENT_REGIONS:
        if a.transient_force is not None or a.transient_pressure is not None:
            raise DataError(f"{where}: has transient limits; expected none (transient contact "
                            f"is not permitted on skull, forehead and face)")
        return
    for what, qs, tr in (("force", a.quasi_static_force, a.transient_force),
                         ("pressure", a.quasi_static_pressure, a.transient_pressure)):
        if tr is None:
            raise DataError(f"{where}: no transient {what}; expected {TRANSIENT_FACTOR:g} x "
                            f"the quasi-static {qs:g}")
        if not math.isclose(tr, TRANSIENT_FACTOR * qs, rel_tol=_RULE_TOLERANCE):
            raise DataError(f"{where}: transient {what} {tr:g}; expected {TRANSIENT_FACTOR:g} x "
                            f"the quasi-static {qs:g} = {TRANSIENT_FACTOR * qs:g}")


# ---------------------------------------------------------------- contact surfaces
FLAT, EDGE = "flat", "edge"
DEFAULT_AREA_CM2 = 1.0          # cm², flat contact of an undeclared robot link
EDGE_CONTACT_LENGTH_MM = 10.0   # mm, length of skin loaded along an edge
CM2_TO_M2 = 1.0e-4


@dataclass(frozen=True)
class ContactSurface:
    """The surface of a robot link that a pressure is judged on: p = F / A.

    ``kind="flat"``: ``area_cm2`` is the contact area A (cm²).
    ``kind="edge"``: an edge of radius ``edge_radius_mm``; the loaded skin is taken as a
    strip as wide as the edge's chord over ±30° of wrap (2·ρ·sin 30° = ρ) and
    :data:`EDGE_CONTACT_LENGTH_MM` long, so A = ρ × 10 mm (a 2 mm edge: 0.2 cm²). A
    short, narrow strip is deliberately small: a smaller area gives a higher pressure.

    The default for a link that declares nothing is a flat 1 cm² (:data:`DEFAULT_SURFACE`):
    the pressure limits were measured with a flat 1.4 cm × 1.4 cm probe (about 2 cm²), and
    taking half that area doubles the pressure, which errs on the safe side for the small
    features (screw heads, finger tips, flanges) an undeclared link may present.
    """

    kind: str
    area_cm2: float | None = None
    edge_radius_mm: float | None = None

    def __post_init__(self) -> None:
        if self.kind == FLAT:
            if self.area_cm2 is None or not self.area_cm2 > 0 or not math.isfinite(self.area_cm2):
                raise ValueError(f"flat contact surface: area_cm2 {self.area_cm2!r}; expected a "
                                 f"positive number of cm²")
        elif self.kind == EDGE:
            r = self.edge_radius_mm
            if r is None or not r > 0 or not math.isfinite(r):
                raise ValueError(f"edge contact surface: edge_radius_mm {r!r}; expected a "
                                 f"positive number of mm")
        else:
            raise ValueError(f"contact surface kind {self.kind!r}; expected {FLAT!r} or {EDGE!r}")

    @property
    def area_m2(self) -> float:
        """The contact area A in m² used for the pressure."""
        if self.kind == FLAT:
            return self.area_cm2 * CM2_TO_M2
        return self.edge_radius_mm * EDGE_CONTACT_LENGTH_MM * 1.0e-6


DEFAULT_SURFACE = ContactSurface(FLAT, DEFAULT_AREA_CM2)


def resolve_surfaces(declared: dict, link_names) -> dict[str, ContactSurface]:
    """The contact surface of every robot link: the declared one, else
    :data:`DEFAULT_SURFACE`. A declared name that is not a link of the robot raises."""
    names = list(link_names)
    unknown = sorted(set(declared) - set(names))
    if unknown:
        raise ValueError(f"contact surfaces declared for {unknown}, which are not links of the "
                         f"robot; links: {', '.join(names)}")
    for name, surface in declared.items():
        if not isinstance(surface, ContactSurface):
            raise ValueError(f"contact surface of {name!r}: {surface!r}; expected a ContactSurface")
    return {n: declared.get(n, DEFAULT_SURFACE) for n in names}
