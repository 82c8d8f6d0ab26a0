"""What a report shows: the page of one or more runs, one module per section.

Each section module builds its part of the page from the analysis (``model.Report``,
seen through a ``Context``) with one function, ``build(ctx) -> list[Section]`` (empty
when the run lacks what it shows), and writes its own sentences for the Findings
section, each a function ``(ctx) -> list[str]``.  This module holds the two orders:

- ``PAGE``: the sections, top to bottom (``numbers.PARTS``: the subsections of Numbers,
  whose modules are in ``harness/sections/numbers/``);
- ``READING_ORDER``: the findings' sentences, most telling first.

``machines`` is a page of its own (``build_machines``): runs from several machines in one
picture, from the same ``Report`` of them all.

``build`` collects the sentences, builds every section, then draws every chart the
sections placed (``Context.chart``), together.  To add a section: write its module
(see docs/architecture.md), then name it in ``PAGE`` or ``numbers.PARTS``, and its
sentence functions in ``READING_ORDER``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from harness import model
from harness._gc import paused
from harness.drawing import Drawer
from harness.page import Page
from harness.sections import (
    environment,
    figures,
    findings,
    ft_versions,
    header,
    headline,
    machines,
    numbers,
    problems,
    pyperformance,
    scaling,
)
from harness.sections._context import Context
from harness.sections.numbers import aa, at_k, gated, latency, objects, overheads, speedups

PAGE = (findings, headline, figures, pyperformance, ft_versions, scaling, numbers, environment, problems)
READING_ORDER = (
    problems.provenance,
    environment.gil_flags,
    headline.threads,
    headline.net,
    at_k.across_cpu,
    scaling.sentences,
    scaling.releases,
    at_k.processes,
    overheads.summary,
    pyperformance.sentences,
    ft_versions.sentences,
    at_k.native,
    at_k.contention,
    at_k.io,
    latency.convoy,
    overheads.memory,
    objects.sentences,
    at_k.waiting,
    gated.sentences,
    aa.sentences,
    speedups.sentences,
)


@dataclass
class View:
    """A report laid out: its page, and the SVG of each chart the page shows, by name."""

    page: Page
    svgs: dict[str, str]


def sentences(ctx: Context) -> list[str]:
    """Every section's sentences, in ``READING_ORDER``; none where nothing was compared
    (no speedup: no serial baseline was measured)."""
    if ctx.analysis.derived.empty:
        return []
    return [sentence for write in READING_ORDER for sentence in write(ctx)]


def _report_page(ctx: Context) -> Page:
    ctx.findings = sentences(ctx)
    page = header.build(ctx)
    page.sections = [section for module in PAGE for section in module.build(ctx)]
    return page


def _view(report: model.Report, draw: bool, make: Callable[[Context], Page]) -> View:
    """``make``'s page of ``report`` and its charts, drawn while the page is built."""
    with Drawer(workers=None if draw else 0) as drawer, paused():  # a page is some 300,000 objects
        page = make(Context(report, drawer))
        svgs = drawer.result() if draw else {d.name: "" for d in drawer.drawings}
    return View(page, svgs)


def build(report: model.Report, draw: bool = True) -> View:
    """The page of ``report`` and its charts, drawn while the page is built
    (``harness.drawing``).  ``draw=False`` leaves every chart's SVG empty, for readers of
    the page alone: drawing is most of the time a report takes."""
    return _view(report, draw, _report_page)


def build_machines(report: model.Report, draw: bool = True) -> View:
    """The machines page of ``report``'s runs, from one machine or several (``machines``):
    every interpreter's curves with a line per machine, the build overheads per machine."""
    return _view(report, draw, machines.page)
