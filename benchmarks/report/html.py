"""The report as one self-contained HTML file (Jinja2, extra ``report``): every image is
embedded as a data URI, the style sheet is inline, and the Japanese report carries the
glyphs it uses of IPAexGothic as an embedded font, so the page needs no network and no
system font. Text, including the scenario files shown, is escaped by Jinja2's
autoescaping.
"""
from __future__ import annotations

import base64
from pathlib import Path

from benchmarks.report import fonts
from benchmarks.report.document import Document

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _environment():
    try:
        import jinja2
    except ImportError:
        raise ImportError('HTML reports need the optional extra "report": pip install -e ".[report]" '
                          "(Jinja2)") from None
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                              autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                              trim_blocks=True, lstrip_blocks=True)


def render_html(doc: Document) -> str:
    """The document as HTML text."""
    from markupsafe import Markup

    from benchmarks.report.text import Text

    contents = Text(doc.lang)("Contents")
    images = {f.name: base64.b64encode(f.png).decode("ascii") for f in doc.figures}
    if doc.lang == "ja":
        family = f"'{fonts.JAPANESE_FAMILY}', sans-serif"
        font_css = fonts.subset_css(fonts.japanese_font_path(), doc.text() + contents + "0123456789.",
                                    fonts.JAPANESE_FAMILY)
    else:
        family = "'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif"
        font_css = ""
    template = _environment().get_template("report.html.j2")
    return template.render(doc=doc, images=images, family=Markup(family), font_css=Markup(font_css),
                           contents=contents)


def write_html(doc: Document, path: Path) -> Path:
    from benchmarks.results import write_atomic

    write_atomic(Path(path), render_html(doc))
    return Path(path)
