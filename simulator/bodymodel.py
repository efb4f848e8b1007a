"""The ISO/TS 15066 body model: force limits per body region, pressure limits per area.

Loaded from ``data/iso_ts_15066/`` (``regions.csv``, ``areas.csv``, ``sources.csv``; see
the README there). Units: forces in N, pressures in N/cm² (with a ``*_pa`` property in
Pa), spring constants in N/m (the CSV holds N/mm), effective masses in kg. A transient
limit of ``None`` means transient contact is not permitted (skull/forehead, face).

A malformed file raises :class:`simulator.errors.DataError` naming the file, the row
(1 is the header line), the column, what was found and what was expected.
"""
from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from simulator.errors import DataError
from simulator.resources import data_dir

log = logging.getLogger(__name__)

N_PER_MM_TO_N_PER_M = 1000.0
N_PER_CM2_TO_PA = 1.0e4

REGION_COLUMNS = ("region_id", "region", "quasi_static_force_N", "transient_force_N",
                  "spring_constant_N_per_mm", "effective_mass_kg", "sources")
AREA_COLUMNS = ("area_id", "region", "area", "quasi_static_pressure_N_per_cm2",
                "transient_pressure_N_per_cm2", "sources")
SOURCE_COLUMNS = ("key", "citation", "url")


class PressuresInPa:
    """The pressure limits of a record with ``quasi_static_pressure`` and
    ``transient_pressure`` in N/cm², in Pa (``None``: transient contact not permitted)."""

    @property
    def quasi_static_pressure_pa(self) -> float:
        return self.quasi_static_pressure * N_PER_CM2_TO_PA

    @property
    def transient_pressure_pa(self) -> float | None:
        p = self.transient_pressure
        return None if p is None else p * N_PER_CM2_TO_PA


@dataclass(frozen=True)
class Area(PressuresInPa):
    """One specific body area (ISO/TS 15066 Table A.2, numbered 1-29); pressures in N/cm²."""

    id: int
    region_id: str
    name: str
    quasi_static_pressure: float
    transient_pressure: float | None


@dataclass(frozen=True)
class Region:
    """One body region: forces in N, spring constant in N/m, effective mass in kg."""

    id: str
    name: str
    quasi_static_force: float
    transient_force: float | None
    spring_constant: float
    effective_mass: float
    areas: tuple[Area, ...]


@dataclass(frozen=True)
class BodyModel:
    """The 12 regions by id and the 29 areas by number, plus source citations by key."""

    regions: dict[str, Region]
    areas: dict[int, Area]
    sources: dict[str, str]

    def region(self, region_id: str) -> Region:
        try:
            return self.regions[region_id]
        except KeyError:
            raise KeyError(f"unknown body region {region_id!r}; known: "
                           f"{', '.join(self.regions)}") from None

    def area(self, area_id: int) -> Area:
        try:
            return self.areas[int(area_id)]
        except KeyError:
            raise KeyError(f"unknown body area {area_id!r}; known: 1-{max(self.areas)}") from None


class CsvRows:
    """Reads one CSV and turns its cells into checked values, naming the place of any fault."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self.path = path
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in columns if c not in header]
            if missing:
                raise DataError(f"{path}: row 1 (header): missing column(s) {missing}; "
                                f"found {header}; expected {list(columns)}")
            self.rows = [(i, row) for i, row in enumerate(reader, start=2)]

    def fail(self, row: int, column: str, found, expected: str) -> DataError:
        return DataError(f"{self.path}: row {row}, column {column!r}: found {found!r}; "
                         f"expected {expected}")

    def text(self, row: int, cells: dict, column: str) -> str:
        value = (cells.get(column) or "").strip()
        if not value:
            raise self.fail(row, column, value, "a non-empty text")
        return value

    def number(self, row: int, cells: dict, column: str, optional: bool = False,
               positive: bool = False) -> float | None:
        raw = (cells.get(column) or "").strip()
        if not raw and optional:
            return None
        what = "a positive number" if positive else "a non-negative number"
        if optional:
            what += " or an empty cell"
        try:
            value = float(raw)
        except ValueError:
            raise self.fail(row, column, raw, what) from None
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            raise self.fail(row, column, raw, what)
        return value

    def keys(self, row: int, cells: dict, column: str, known: dict) -> tuple[str, ...]:
        keys = tuple(k.strip() for k in self.text(row, cells, column).split(";") if k.strip())
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise self.fail(row, column, ";".join(unknown), f"keys of sources.csv: {sorted(known)}")
        return keys


def _load_sources(folder: Path) -> dict[str, str]:
    rows = CsvRows(folder / "sources.csv", SOURCE_COLUMNS)
    return {rows.text(i, r, "key"): rows.text(i, r, "citation") for i, r in rows.rows}


def _load_areas(folder: Path, region_ids: set[str], sources: dict) -> dict[int, Area]:
    rows = CsvRows(folder / "areas.csv", AREA_COLUMNS)
    areas: dict[int, Area] = {}
    for i, r in rows.rows:
        raw_id = (r.get("area_id") or "").strip()
        if not raw_id.isdigit() or int(raw_id) == 0:
            raise rows.fail(i, "area_id", raw_id, "a positive integer")
        if int(raw_id) in areas:
            raise rows.fail(i, "area_id", raw_id, "a number not used by an earlier row")
        region = rows.text(i, r, "region")
        if region not in region_ids:
            raise rows.fail(i, "region", region, f"a region_id of regions.csv: {sorted(region_ids)}")
        rows.keys(i, r, "sources", sources)
        areas[int(raw_id)] = Area(int(raw_id), region, rows.text(i, r, "area"),
                                  rows.number(i, r, "quasi_static_pressure_N_per_cm2", positive=True),
                                  rows.number(i, r, "transient_pressure_N_per_cm2", optional=True,
                                              positive=True))
    return areas


def _load_regions(folder: Path, sources: dict) -> list[tuple]:
    rows = CsvRows(folder / "regions.csv", REGION_COLUMNS)
    out, seen = [], set()
    for i, r in rows.rows:
        rid = rows.text(i, r, "region_id")
        if rid in seen:
            raise rows.fail(i, "region_id", rid, "an id not used by an earlier row")
        seen.add(rid)
        rows.keys(i, r, "sources", sources)
        out.append((rid, rows.text(i, r, "region"),
                    rows.number(i, r, "quasi_static_force_N", positive=True),
                    rows.number(i, r, "transient_force_N", optional=True, positive=True),
                    rows.number(i, r, "spring_constant_N_per_mm", positive=True) * N_PER_MM_TO_N_PER_M,
                    rows.number(i, r, "effective_mass_kg", positive=True)))
    if not out:
        raise DataError(f"{rows.path}: no regions; expected one row per body region")
    return out


@lru_cache(maxsize=8)
def _load(folder: Path) -> BodyModel:
    sources = _load_sources(folder)
    region_rows = _load_regions(folder, sources)
    areas = _load_areas(folder, {r[0] for r in region_rows}, sources)
    regions = {}
    for rid, name, fq, ft, k, m in region_rows:
        own = tuple(a for a in areas.values() if a.region_id == rid)
        if not own:
            raise DataError(f"{folder / 'areas.csv'}: column 'region': found no area of region "
                            f"{rid!r}; expected every region to have at least one area "
                            f"(its pressure limits)")
        regions[rid] = Region(rid, name, fq, ft, k, m, own)
    log.debug("loaded ISO/TS 15066 body model from %s: %d regions, %d areas",
              folder, len(regions), len(areas))
    return BodyModel(regions, areas, sources)


def load_body_model(path: str | Path | None = None) -> BodyModel:
    """The body model from the folder ``path`` (default ``data/iso_ts_15066``), cached."""
    folder = Path(path) if path is not None else data_dir() / "iso_ts_15066"
    return _load(folder.resolve())
