"""Sphinx directives that keep the docs in step with the code and the published runs.

``workloads-table``  a table of every declared workload, straight from
                     ``workloads.host.load_all()``: a new workload needs no docs edit.
``profiles-table``   the measurement profiles, from ``workloads.host.PROFILES``.
``latest-chart``     the charts of the newest published run whose names match a glob
                     pattern, so the guide shows real numbers as soon as a run is published
                     and still builds, with a note in place of a figure that run lacks.
``gilbench-run``     a published run's page: its ``view.json`` (``harness.page.Page``,
                     the view the HTML report renders too) as sections, tables and
                     figures, then links to the run's files.
``gilbench-view``    the same for a page published beside the runs that is not a run:
                     the machines page (``results/machines/view.json``).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective


def _table(columns: list[str], rows: list[list[nodes.Node]]) -> nodes.table:
    """A docutils table; cells are nodes, so text is never parsed as markup."""
    group = nodes.tgroup(cols=len(columns))
    group += [nodes.colspec(colwidth=1) for _ in columns]
    group += nodes.thead("", nodes.row("", *(nodes.entry("", nodes.paragraph(text=c)) for c in columns)))
    group += nodes.tbody("", *(nodes.row("", *(nodes.entry("", cell) for cell in row)) for row in rows))
    return nodes.table("", group)


class WorkloadsTable(SphinxDirective):
    """Every workload: name, module, first docstring line, modes, default size, tags, families."""

    def run(self) -> list[nodes.Node]:
        from workloads import host

        self.env.note_reread()  # a new workload module must show up on the next build
        rows = [
            [
                nodes.literal(text=w.name),
                nodes.literal(text=w.module),
                nodes.paragraph(text=w.doc),
                nodes.paragraph(text=", ".join(w.modes)),
                nodes.paragraph(text=f"{w.size:,}"),
                nodes.paragraph(text=", ".join(w.tags)),
                nodes.paragraph(text=", ".join(w.suites)),
            ]
            for w in host.load_all().values()
        ]
        return [_table(["workload", "module", "what it does", "modes", "default size", "tags", "families"], rows)]


class ProfilesTable(SphinxDirective):
    """Every measurement profile, from ``workloads.host.PROFILES``."""

    def run(self) -> list[nodes.Node]:
        from workloads import host

        rows = [
            [nodes.literal(text=p.name)]
            + [
                nodes.paragraph(text=str(v))
                for v in (
                    "%d–%d" % (p.rounds, p.most_rounds) if p.max_rounds else p.rounds,
                    p.blocks.values,
                    p.latency_requests,
                    p.warmups,
                    p.warmups_for(jit=True),
                )
            ]
            + [nodes.paragraph(text="±%g%%" % (100 * p.precision) if p.precision else "none")]
            + [nodes.paragraph(text="%g×, values ≥ %g ms" % (p.scale * p.blocks.scale, 1e3 * p.blocks.min_value))]
            + [nodes.paragraph(text="%d value(s) ≥ %g ms" % (p.processes.values, 1e3 * p.processes.min_value))]
            + [nodes.paragraph(text=", ".join(map(str, p.workers)) if p.workers else "the machine's ladder")]
            + [nodes.paragraph(text="%g s" % p.timeout)]
            for p in host.PROFILES.values()
        ]
        columns = [
            "profile",
            "rounds",
            "values per benchmark and process",
            "latency requests",
            "warm-up passes",
            "warm-up passes (JIT)",
            "precision target",
            "work (× default size)",
            "processes layout",
            "worker counts",
            "timeout per process",
        ]
        return [_table(columns, rows)]


class LatestChart(SphinxDirective):
    """``latest-chart PATTERN``: figures of the newest published run's charts matching PATTERN."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from harness import publish

        self.env.note_reread()  # publishing a run changes what this shows
        pattern = self.arguments[0]
        root = Path(self.env.srcdir) / publish.RESULTS
        run_id = publish.latest_run(root)
        charts = sorted(p for p in (root / run_id).glob("*.svg") if fnmatch.fnmatch(p.stem, pattern)) if run_id else []
        if charts:
            return [self._figure(run_id, chart) for chart in charts]
        # A run of a few workloads lacks some charts: say so instead of failing the build.
        if run_id:
            text = "The newest published run, %s, has no chart matching %s." % (run_id, pattern)
        else:
            text = "The chart docs/results/<run-id>/%s.svg appears here once a run is published." % pattern
        return [nodes.note("", nodes.paragraph(text=text))]

    def _figure(self, run_id: str, chart: Path) -> nodes.figure:
        uri = "/%s/%s/%s" % (chart.parent.parent.name, run_id, chart.name)
        caption = "%s, from run %s" % (chart.stem, run_id)
        return nodes.figure("", nodes.image(uri=uri, alt=chart.stem, classes=["chart"]), nodes.caption(text=caption))


def _inline(cell: Any, docname: str) -> nodes.Node:
    """A view cell as an inline node: text stays text; a link is a download of the run's file."""
    from harness.page import Code, Link

    if isinstance(cell, Code):
        return nodes.literal(text=cell.text)
    if isinstance(cell, Link):
        return addnodes.download_reference(
            "", "", nodes.literal(text=cell.text), reftarget=cell.href, refdoc=docname, refexplicit=True
        )
    detail = getattr(cell, "detail", "")  # a hover in HTML; on paper it follows the text
    return nodes.Text(cell.text + (" (%s)" % detail if detail else ""))


def _cell(cell: Any, docname: str) -> nodes.Node:
    """A table cell: an error message keeps its lines, anything else is one paragraph."""
    from harness.page import Code

    if isinstance(cell, Code) and cell.block:
        return nodes.literal_block(text=cell.text)
    return nodes.paragraph("", "", _inline(cell, docname))


class GilbenchView(SphinxDirective):
    """``gilbench-view NAME``: the page published as ``results/NAME/view.json``, its charts
    beside it.  Must come last on its page: it adds sections."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from harness import publish
        from harness.page import from_json

        name = self.arguments[0]
        view = Path(self.env.srcdir) / publish.RESULTS / name / publish.VIEW
        self.env.note_dependency(str(view))
        page = from_json(view.read_text(encoding="utf-8"))
        out: list[nodes.Node] = [self._paragraph(p) for p in page.meta]
        return out + [self._section(s, name) for s in page.sections]

    def _paragraph(self, paragraph: Any) -> nodes.paragraph:
        node = nodes.paragraph("", "", *(_inline(c, self.env.docname) for c in paragraph.parts))
        if paragraph.meta:
            node["classes"].append("meta")
        return node

    def _section(self, section: Any, run_id: str) -> nodes.section:
        from harness import publish

        node = nodes.section(ids=[section.id], names=[nodes.fully_normalize_name(section.title)])
        node += nodes.title(text=section.title)
        node += [self._paragraph(p) for p in section.paragraphs]
        if section.items:
            node += nodes.bullet_list("", *(nodes.list_item("", self._paragraph(p)) for p in section.items), bullet="-")
        for chart in section.charts:
            uri = "%s/%s.svg" % (run_id, publish.chart_file(chart.name))
            caption = " ".join(filter(None, (chart.title + ".", chart.caption)))
            image = nodes.image(uri=uri, alt=chart.title, classes=["chart"])
            node += nodes.figure("", image, nodes.caption(text=caption), ids=["chart-" + chart.name], classes=["chart"])
        for table in section.tables:
            rows = [[_cell(c, self.env.docname) for c in row.cells] for row in table.rows]
            node += _table(table.columns, rows)
        node += [self._paragraph(p) for p in section.notes]
        node += [self._section(s, run_id) for s in section.subsections]
        self.state.document.note_implicit_target(node, node)
        return node


class GilbenchRun(GilbenchView):
    """``gilbench-run RUN_ID``: the page of the run published as ``results/RUN_ID/``,
    rendered from its ``view.json``, then links to the run's files."""

    def run(self) -> list[nodes.Node]:
        from harness import collect, publish
        from harness.page import Link, Paragraph, Section

        run_id = self.arguments[0]
        raw = Path(self.env.srcdir) / publish.RESULTS / run_id / publish.RAW
        files = ["summary.csv", "derived.csv"] + [
            "%s/%s" % (publish.RAW, p.relative_to(raw)) for p in collect.run_files(raw)
        ]
        links = [Paragraph([Link(f, "%s/%s" % (run_id, f))]) for f in files]
        return [*super().run(), self._section(Section("data", "Data", items=links), run_id)]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("workloads-table", WorkloadsTable)
    app.add_directive("profiles-table", ProfilesTable)
    app.add_directive("latest-chart", LatestChart)
    app.add_directive("gilbench-run", GilbenchRun)
    app.add_directive("gilbench-view", GilbenchView)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
