"""Render: a report's page -> one self-contained HTML file.

Charts are inlined SVG and the stylesheet is inlined, so the file works from
``file://`` and offline.  What the page shows is ``harness.sections``' page, built from
the content ``harness.model`` holds; this module only lays it out.  Jinja2 autoescaping is
on and tables are built with markupsafe's ``escape``: every string that came from a
results file (hostnames, metadata, error text) is escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import jinja2
from markupsafe import Markup, escape

from harness import sections
from harness.model import Report
from harness.page import Cell, Code, Estimate, Link, Number, Paragraph, Table, Text

TEMPLATES = Path(__file__).parent / "templates"


def _cell_classes(cell: Cell) -> str:
    """The ``report.css`` classes of a cell: ``num`` right-aligns figures, ``ns`` greys
    what is not significant, ``problem`` marks a gated ratio, ``bad`` a failure."""
    if isinstance(cell, Estimate):
        if cell.brief and cell.problem:
            return "num problem"
        return "num ns" if cell.brief and cell.significant is False else "num"
    if isinstance(cell, Number):
        return "num"
    if isinstance(cell, Text) and cell.tone:
        return "ns" if cell.tone == "muted" else cell.tone
    return ""


def _inline(cell: Cell) -> str:
    """One cell's content as HTML; every string is escaped, so nothing from a results
    file can become markup."""
    if isinstance(cell, Code):
        return ('<pre class="reason">%s</pre>' if cell.block else "<code>%s</code>") % escape(cell.text)
    if isinstance(cell, Link):
        return '<a href="%s">%s</a>' % (escape(cell.href), escape(cell.text))
    return str(escape(cell.text))


def _td(cell: Cell) -> str:
    classes, detail = _cell_classes(cell), getattr(cell, "detail", "")
    return "<td%s%s>%s</td>" % (
        ' class="%s"' % classes if classes else "",
        ' title="%s"' % escape(detail) if detail else "",
        _inline(cell),
    )


def table_html(table: Table) -> Markup:
    """A table built in Python rather than by Jinja: a report of 10,000 benchmarks has
    some 200,000 cells, and a template call per cell would dominate rendering."""
    head = "".join("<th>%s</th>" % escape(c) for c in table.columns)
    body = "\n".join(
        "<tr%s>%s</tr>" % (' class="ns"' if row.muted else "", "".join(map(_td, row.cells))) for row in table.rows
    )
    return Markup('<table class="%s">\n<thead><tr>%s</tr></thead>\n<tbody>\n%s\n</tbody></table>') % (
        table.name,
        Markup(head),
        Markup(body),
    )


def paragraph_html(paragraph: Paragraph) -> Markup:
    """A paragraph's inline cells, escaped; a bad verdict keeps its colour."""
    return Markup(
        "".join(
            '<span class="%s">%s</span>' % (_cell_classes(c), _inline(c)) if _cell_classes(c) else _inline(c)
            for c in paragraph.parts
        )
    )


def render(view: sections.View) -> str:
    """The HTML report: ``view``'s page through ``report.html``, with its charts' SVG inlined."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["table"] = table_html
    env.filters["paragraph"] = paragraph_html
    return env.get_template("report.html").render(
        page=view.page,
        svgs={name: Markup(svg) for name, svg in view.svgs.items()},  # matplotlib escaped its text
        stylesheet=Markup((TEMPLATES / "report.css").read_text()),
    )


def write(report: Report, out_dir: Path, build: Callable[[Report], sections.View] = sections.build) -> Path:
    """Write ``out_dir/index.html``, the page ``build`` makes of ``report`` (the run's
    report; ``sections.build_machines``: the machines page), and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text(render(build(report)), encoding="utf-8")
    return path
