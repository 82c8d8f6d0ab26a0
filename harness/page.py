"""The page: what every renderer of a report shows, and its JSON form.

A ``Page`` holds sections; a section holds paragraphs, bulleted items, charts, tables
and subsections; a table holds typed cells.  ``harness.sections`` builds it from a
run's analysis; the HTML report (``harness.report``) and the docs page (the
``gilbench-run`` directive, reading ``view.json``) render it.  So the two can never
disagree about what a run found, and neither renderer formats a number or decides
what is significant: numbers are formatted here, once, and renderers copy strings.

Every string is plain text, whatever it came from: renderers escape it (markupsafe
in HTML) or put it in text nodes (docutils), never parse it as markup.  This module
imports nothing of the harness, so the docs extension reads a page without pandas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Union

# -- cells -----------------------------------------------------------------------------


@dataclass
class Text:
    """Plain text; ``detail`` is more of it (a hover in HTML, appended on paper);
    ``tone`` is ``muted`` or ``bad`` where the text is a verdict."""

    text: str
    detail: str = ""
    tone: str = ""
    kind: ClassVar[str] = "text"


@dataclass
class Number:
    """A number shown as ``fmt % value`` + ``unit``; empty when missing."""

    value: float | None
    fmt: str = "%.3g"
    unit: str = ""
    kind: ClassVar[str] = "number"

    @property
    def text(self) -> str:
        return "" if self.value is None else self.fmt % self.value + self.unit


@dataclass
class Estimate:
    """A ratio (or a latency) with its 95% interval.

    ``significant`` is False where the interval contains 1 (None: not a test);
    ``problem`` says why a ratio that failed a sanity gate is not a result.  A
    ``brief`` estimate shows the value alone, its interval as detail: the compact
    cells of the k-workers tables."""

    value: float | None
    lo: float | None = None
    hi: float | None = None
    significant: bool | None = None
    problem: str = ""
    fmt: str = "%.2f"
    unit: str = "×"
    brief: bool = False
    kind: ClassVar[str] = "estimate"

    @property
    def interval(self) -> str:
        if self.lo is None or self.hi is None:
            return ""
        return "%s–%s" % (self.fmt % self.lo, self.fmt % self.hi)

    @property
    def text(self) -> str:
        if self.brief:
            return "problem" if self.problem else "" if self.value is None else self.fmt % self.value + self.unit
        if self.value is None:
            return ""
        text = self.fmt % self.value + self.unit + (" (%s)" % self.interval if self.interval else "")
        if self.problem:
            return text + " problem: " + self.problem
        return text + (" not significant" if self.significant is False else "")

    @property
    def detail(self) -> str:
        """What a brief estimate leaves out."""
        if not self.brief:
            return ""
        return self.problem or ("95% CI " + self.interval if self.interval else "")


@dataclass
class Code:
    """Literal text: a path, or a block such as an error message (``block``)."""

    text: str
    block: bool = False
    kind: ClassVar[str] = "code"


@dataclass
class Link:
    """A link to a file of the run; ``href`` is relative to the page."""

    text: str
    href: str
    kind: ClassVar[str] = "link"


Cell = Union[Text, Number, Estimate, Code, Link]
CELL_KINDS: dict[str, type] = {c.kind: c for c in (Text, Number, Estimate, Code, Link)}


# -- structure -------------------------------------------------------------------------


@dataclass
class Paragraph:
    """Inline cells in a row; ``meta`` paragraphs explain rather than report."""

    parts: list[Cell]
    meta: bool = False


@dataclass
class Row:
    cells: list[Cell]
    muted: bool = False  # the whole row is not significant, or not a measurement


@dataclass
class Table:
    name: str  # a CSS class in HTML: ``at-k``, ``speedups``, ...
    columns: list[str]
    rows: list[Row]


@dataclass
class ChartRef:
    """A chart by name: the HTML inlines its SVG (``sections.View.svgs``), the docs link ``<name>.svg``."""

    name: str
    title: str
    caption: str


@dataclass
class Section:
    """``collapsed`` sections are long listings, folded away in HTML."""

    id: str
    title: str
    paragraphs: list[Paragraph] = field(default_factory=list)
    items: list[Paragraph] = field(default_factory=list)
    charts: list[ChartRef] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[Paragraph] = field(default_factory=list)  # after the tables
    subsections: list[Section] = field(default_factory=list)
    collapsed: bool = False


@dataclass
class Page:
    title: str
    run_ids: list[str]
    meta: list[Paragraph]
    sections: list[Section]


# -- JSON ------------------------------------------------------------------------------


def _encode(obj: Any) -> Any:
    """Dataclasses as dicts of their non-default fields; cells tagged with their kind."""
    if isinstance(obj, list):
        return [_encode(v) for v in obj]
    if not hasattr(obj, "__dataclass_fields__"):
        return obj
    out: dict[str, Any] = {"kind": obj.kind} if type(obj) in CELL_KINDS.values() else {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.default is not value and f.default != value:
            out[f.name] = _encode(value)
    return out


def to_json(page: Page) -> str:
    """``page`` as JSON, the same bytes for the same page (``view.json`` of a published run)."""
    return json.dumps(_encode(page), ensure_ascii=False, separators=(",", ":")) + "\n"


def _cell(d: dict[str, Any]) -> Cell:
    d = dict(d)
    return CELL_KINDS[d.pop("kind")](**d)


def _paragraphs(items: list[dict[str, Any]]) -> list[Paragraph]:
    return [Paragraph([_cell(c) for c in p["parts"]], p.get("meta", False)) for p in items]


def _row(d: dict[str, Any]) -> Row:
    return Row([_cell(c) for c in d["cells"]], d.get("muted", False))


def _section(d: dict[str, Any]) -> Section:
    return Section(
        id=d["id"],
        title=d["title"],
        paragraphs=_paragraphs(d.get("paragraphs", [])),
        items=_paragraphs(d.get("items", [])),
        charts=[ChartRef(**c) for c in d.get("charts", [])],
        tables=[Table(t["name"], t["columns"], [_row(r) for r in t.get("rows", [])]) for t in d.get("tables", [])],
        notes=_paragraphs(d.get("notes", [])),
        subsections=[_section(s) for s in d.get("subsections", [])],
        collapsed=d.get("collapsed", False),
    )


def from_json(text: str) -> Page:
    d = json.loads(text)
    return Page(d["title"], d["run_ids"], _paragraphs(d["meta"]), [_section(s) for s in d["sections"]])
