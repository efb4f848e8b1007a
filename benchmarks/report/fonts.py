"""Fonts of the report, all shipped by Python packages so a report renders the same on a
fresh machine: DejaVu Sans (shipped with matplotlib) for English, IPAexGothic (the
package ``matplotlib-fontja``, extra ``report``) for Japanese. Figures are drawn with
them, the PDF embeds them (subsets), and the Japanese HTML carries a subset of
IPAexGothic in its style sheet, so no system font is needed anywhere.
"""
from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
from functools import lru_cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager

JAPANESE_FAMILY = "IPAexGothic"
LATIN_FAMILY = "DejaVu Sans"


class FontMissing(ImportError):
    """The package that ships a font is not installed."""


@lru_cache(maxsize=None)
def japanese_font_path() -> Path:
    """IPAexGothic from ``matplotlib-fontja`` (found without importing the package, whose
    import changes matplotlib's default font)."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        raise FontMissing('Japanese reports need the optional extra "report": pip install -e '
                          '".[report]" (matplotlib-fontja ships the IPAexGothic font)')
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"
    if not path.is_file():
        raise FontMissing(f"matplotlib-fontja is installed but has no {path.name}")
    font_manager.fontManager.addfont(str(path))
    return path


def latin_font_paths() -> dict[str, Path]:
    """DejaVu Sans regular and bold, from matplotlib's own data."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return {"": folder / "DejaVuSans.ttf", "B": folder / "DejaVuSans-Bold.ttf"}


def families(lang: str) -> list[str]:
    """matplotlib font families for ``lang``, first choice first."""
    if lang == "ja":
        japanese_font_path()
        return [JAPANESE_FAMILY, LATIN_FAMILY]
    return [LATIN_FAMILY]


@contextlib.contextmanager
def figure_fonts(lang: str):
    """Draw (and save) figures with the report's fonts inside this block."""
    with matplotlib.rc_context({"font.family": families(lang), "axes.unicode_minus": lang != "ja"}):
        yield


def resolved_font(lang: str) -> Path:
    """The file matplotlib resolves for the report's text in ``lang`` (for the tests)."""
    with figure_fonts(lang):
        props = font_manager.FontProperties(family=families(lang))
        return Path(font_manager.findfont(props, fallback_to_default=False))


def subset_css(path: Path, text: str, family: str) -> str:
    """An ``@font-face`` rule with the glyphs of ``text`` from the font at ``path``,
    embedded as base64 (fontTools, a dependency of the PDF library)."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = None
    options.notdef_outline = True
    font = subset.load_font(str(path), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text))) + " ")
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f"@font-face {{ font-family: '{family}'; "
            f"src: url(data:font/ttf;base64,{data}) format('truetype'); }}")
