"""Numbers: every table of the run, a module per subsection, in ``PARTS`` order."""

from __future__ import annotations

from harness.page import Section
from harness.sections._cells import p
from harness.sections._context import Context
from harness.sections.numbers import (
    aa,
    at_k,
    gated,
    latency,
    objects,
    one_worker,
    overheads,
    precision,
    speedups,
    timings,
    warmups,
)

PARTS = (at_k, one_worker, gated, warmups, aa, precision, speedups, overheads, objects, latency, timings)
NOTE = (
    "Grey: not significant (the 95% interval contains 1); hover a number for its interval. “problem”: the "
    "ratio failed a sanity gate (see Measurement problems) and is not a result."
)


def build(ctx: Context) -> list[Section]:
    section = Section("numbers", "Numbers")
    if ctx.analysis.derived.empty:
        section.paragraphs.append(p("No speedups: no serial baseline was measured."))
    else:
        section.paragraphs.append(p(NOTE, meta=True))
    section.subsections = [s for part in PARTS for s in part.build(ctx)]
    return [section]
