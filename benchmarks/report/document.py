"""The report as data: sections of paragraphs, tables, figures and preformatted text, in
the report's language. The HTML and the PDF are two renderings of the same document, so
they hold the same content.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# a cell's state: how a verdict cell is marked (colour in HTML and PDF)
PASS, FAIL, WARN = "pass", "fail", "warn"


@dataclass
class Cell:
    """A table cell with a state (``pass``, ``fail``, ``warn`` or ``""``)."""

    text: str
    state: str = ""


@dataclass
class Table:
    columns: list[str]
    rows: list[list]                  # str or Cell
    caption: str = ""
    widths: list[float] | None = None  # relative column widths (PDF)

    def cells(self):
        """Rows of :class:`Cell`."""
        return [[c if isinstance(c, Cell) else Cell(str(c)) for c in row] for row in self.rows]


@dataclass
class Figure:
    png: bytes
    caption: str
    name: str                          # a stable id (file-name-like), for tests and anchors
    width: float = 1.0                 # fraction of the text width


@dataclass
class Paragraph:
    text: str
    state: str = ""                    # "fail"/"warn": a highlighted note


@dataclass
class Heading:
    text: str


@dataclass
class Preformatted:
    text: str
    caption: str = ""


@dataclass
class Section:
    key: str                           # stable id: anchors, tests
    title: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> "Section":
        self.blocks.extend(b for b in blocks if b is not None)
        return self

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]


@dataclass
class Document:
    title: str
    subtitle: str
    lang: str
    facts: list[tuple[str, str]]       # the first page's key facts (label, value)
    incomplete: str                    # "" or the note on the first page
    sections: list[Section]

    @property
    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]

    def text(self) -> str:
        """Every text of the document (for font subsetting)."""
        parts = [self.title, self.subtitle, self.incomplete]
        parts += [f"{a}{b}" for a, b in self.facts]
        for s in self.sections:
            parts.append(s.title)
            for b in s.blocks:
                if isinstance(b, Table):
                    parts += b.columns + [c.text for row in b.cells() for c in row] + [b.caption]
                elif isinstance(b, (Paragraph, Heading)):
                    parts.append(b.text)
                elif isinstance(b, (Figure, Preformatted)):
                    parts.append(b.caption)
                    parts.append(getattr(b, "text", ""))
        return "".join(parts)
