"""The report's words in English (the default) and Japanese.

English texts are their own keys; ``i18n/ja.yaml`` maps each to its Japanese, with the
terms of JIS B 8433-1/-2 (ISO 10218-1/-2) and TS B 0033 (ISO/TS 15066) where they have
one: 協働ロボット, 動力及び力の制限, 速度及び間隔の監視, 保護離隔距離, 過渡的接触, 準静的接触.
Body regions and areas are looked up as ``region:<id>`` and ``area:<number>``. A text
without a translation is shown in English and remembered in :attr:`Text.missing` (the
tests require none).
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import yaml

LANGUAGES = ("en", "ja")
FOLDER = Path(__file__).resolve().parent / "i18n"


@lru_cache(maxsize=None)
def _catalogue(lang: str) -> dict[str, str]:
    if lang == "en":
        return {}
    with open(FOLDER / f"{lang}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


class Text:
    """``t("text", **values)``: the text in the report's language, formatted."""

    def __init__(self, lang: str = "en") -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"language {lang!r}: expected one of {', '.join(LANGUAGES)}")
        self.lang = lang
        self.missing: set[str] = set()

    def __call__(self, key: str, **values) -> str:
        found = _catalogue(self.lang).get(key) if self.lang != "en" else key
        if found is None:
            self.missing.add(key)
            found = key
        return found.format(**values) if values else found

    def region(self, region_id: str, english: str = "") -> str:
        if self.lang == "en":
            return english or region_id.replace("_", " ")
        return self._named(f"region:{region_id}", english or region_id)

    def area(self, area_id: int, english: str = "") -> str:
        if self.lang == "en":
            return english or str(area_id)
        return self._named(f"area:{int(area_id)}", english or str(area_id))

    def _named(self, key: str, english: str) -> str:
        found = _catalogue(self.lang).get(key)
        if found is None:
            self.missing.add(key)
        return found or english

    def kind(self, kind: str) -> str:
        return self({"transient": "transient", "quasi_static": "quasi-static"}.get(kind, kind))

    def verdict(self, passed: bool) -> str:
        return self("pass") if passed else self("fail")


def number(value, digits: int = 3, unit: str = "") -> str:
    """A number for a table: ``-`` for NaN/None, ``∞`` for infinity, else ``digits``
    significant digits, with the unit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        text = str(value)
    else:
        text = f"{float(value):.{digits}g}"
    return f"{text} {unit}".strip() if unit else text


def percent(r: dict) -> str:
    """A rate ``{"k","n","rate","ci95"}`` as ``k/n = r % [low-high]``."""
    if not r["n"]:
        return f"0/0"
    low, high = r["ci95"]
    return f"{r['k']}/{r['n']} = {100 * r['rate']:.1f} % [{100 * low:.1f}–{100 * high:.1f}]"
