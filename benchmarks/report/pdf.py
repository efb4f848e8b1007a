"""The report as a PDF (fpdf2, extra ``report``): A4, the figures as images, the tables as
tables, an outline (bookmarks) with one entry per section, page numbers. Fonts are
embedded (subsets): DejaVu Sans from matplotlib for English, IPAexGothic from
matplotlib-fontja for Japanese, with DejaVu Sans as the fallback for the symbols the
Japanese font lacks.
"""
from __future__ import annotations

import io
from pathlib import Path

from benchmarks.report import fonts
from benchmarks.report.document import FAIL, PASS, WARN, Document, Figure, Heading, Paragraph, \
    Preformatted, Table

FILLS = {PASS: (227, 244, 229), FAIL: (249, 211, 207), WARN: (255, 241, 201), "": None}
BODY, SMALL, TABLE = 9.5, 8, 7


def _fpdf():
    try:
        import fpdf
    except ImportError:
        raise ImportError('PDF reports need the optional extra "report": pip install -e ".[report]" '
                          "(fpdf2)") from None
    return fpdf


class _Pdf:
    """An fpdf2 document with the report's fonts and page footer."""

    def __init__(self, lang: str, footer: str) -> None:
        fpdf = _fpdf()

        class Pages(fpdf.FPDF):
            def footer(inner):
                inner.set_y(-10)
                inner.set_font(size=7)
                inner.set_text_color(110)
                inner.cell(0, 5, f"{footer}  {inner.page_no()} / {{nb}}", align="C")
                inner.set_text_color(0)

        self.pdf = Pages(format="A4", unit="mm")
        self.pdf.set_margins(14, 14, 14)
        self.pdf.set_auto_page_break(True, margin=15)
        latin = fonts.latin_font_paths()
        self.pdf.add_font("dejavu", "", str(latin[""]))
        self.pdf.add_font("dejavu", "B", str(latin["B"]))
        if lang == "ja":
            path = str(fonts.japanese_font_path())
            self.pdf.add_font("ipaexg", "", path)
            self.pdf.add_font("ipaexg", "B", path)
            self.family = "ipaexg"
            self.pdf.set_fallback_fonts(["dejavu"], exact_match=False)
        else:
            self.family = "dejavu"
        self.pdf.set_font(self.family, size=BODY)
        self.pdf.set_title(footer)
        self.pdf.set_creator("cobotsim report")

    @property
    def width(self) -> float:
        return self.pdf.epw

    def text(self, text: str, size: float = BODY, style: str = "", fill=None, height=None) -> None:
        self.pdf.set_font(self.family, style, size)
        if fill is not None:
            self.pdf.set_fill_color(*fill)
        self.pdf.multi_cell(0, height or size * 0.5, text, fill=fill is not None, align="L",
                            new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_fill_color(255)
        self.pdf.ln(1.2)

    def table(self, columns, rows, widths=None, caption: str = "", size: float = TABLE) -> None:
        fpdf = _fpdf()
        if caption:
            self.text(caption, SMALL, "B")
        self.pdf.set_font(self.family, "", size)
        head = fpdf.FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
        headed = any(columns)
        with self.pdf.table(col_widths=widths or None, text_align="LEFT", line_height=size * 0.48,
                            headings_style=head, first_row_as_headings=headed, width=self.width,
                            padding=0.8) as table:
            if headed:
                header = table.row()
                for c in columns:
                    header.cell(c)
            for row in rows:
                line = table.row()
                for c in row:
                    fill = FILLS.get(c.state)
                    line.cell(c.text, style=fpdf.FontFace(fill_color=fill) if fill else None)
        self.pdf.ln(2)

    def figure(self, figure: Figure) -> None:
        from PIL import Image

        with Image.open(io.BytesIO(figure.png)) as image:
            ratio = image.height / image.width
        width = min(self.width, 180.0) * figure.width
        height = width * ratio
        if self.pdf.get_y() + height + 10 > self.pdf.h - self.pdf.b_margin:
            self.pdf.add_page()
        self.pdf.image(io.BytesIO(figure.png), x=self.pdf.l_margin + (self.width - width) / 2,
                       w=width, h=height)
        self.text(figure.caption, SMALL)


def _first_page(out: _Pdf, doc: Document, contents: str) -> None:
    out.pdf.add_page()
    out.text(doc.title, 20, "B", height=10)
    out.text(doc.subtitle, 12)
    if doc.incomplete:
        out.text(doc.incomplete, 10, "B", fill=FILLS[FAIL], height=6)
    from benchmarks.report.document import Cell
    out.table(["", ""], [[Cell(a), Cell(b)] for a, b in doc.facts], widths=[1, 3], size=8)
    out.text(contents, 12, "B")
    for i, s in enumerate(doc.sections, 1):
        out.text(f"{i}. {s.title}", BODY)


def render_pdf(doc: Document) -> bytes:
    """The document as PDF bytes."""
    from benchmarks.report.text import Text

    t = Text(doc.lang)
    out = _Pdf(doc.lang, f"{doc.title}: {doc.subtitle}")
    _first_page(out, doc, t("Contents"))
    for i, section in enumerate(doc.sections, 1):
        out.pdf.add_page()
        out.pdf.start_section(f"{i}. {section.title}")
        out.text(f"{i}. {section.title}", 14, "B", height=8)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                out.text(block.text, BODY, fill=FILLS.get(block.state))
            elif isinstance(block, Heading):
                out.text(block.text, 11, "B", height=6)
            elif isinstance(block, Table):
                out.table(block.columns, block.cells(), block.widths, block.caption)
            elif isinstance(block, Figure):
                out.figure(block)
            elif isinstance(block, Preformatted):
                if block.caption:
                    out.text(block.caption, SMALL, "B")
                out.text(block.text, 6.5, fill=(246, 246, 246), height=3)
    return bytes(out.pdf.output())


def write_pdf(doc: Document, path: Path) -> Path:
    from benchmarks.results import write_atomic

    write_atomic(Path(path), render_pdf(doc))
    return Path(path)
