"""Findings: the sentences the other sections contributed, most telling first.

Every sentence quotes a ratio with its 95% interval, and says "not significant"
when the interval contains 1: noise is never reported as a finding.  A ratio that
failed a sanity gate is never quoted.  Workloads are picked by role (the ``roles``
of ``@workload``), never by name.  A sentence function returns nothing when the run
lacks the data it needs, so a partial run (say, no free-threaded build) still reads
correctly.  Their order is ``harness.sections.READING_ORDER``.
"""

from __future__ import annotations

from harness.page import Section
from harness.sections._cells import p
from harness.sections._context import Context

NOTE = (
    "Speedup = T(serial) / T(mode, k workers) on the same interpreter for the same total work; serial is the work "
    "in one fresh worker thread, timed by the same code as k threads. Every benchmark is measured in rounds (a "
    "pyperf process per workload and interpreter per round, in shuffled order; with a precision target, rounds go "
    "to the workloads whose ratios are widest); a ratio is computed round by round and its 95% interval is a "
    "moderated t on the per-round log ratios: each ratio's rounds stay paired, and its variance is pooled with the "
    "run's other ratios through a prior fitted on the run (Student's t where a run has too few ratios; see "
    "Precision). “±” is the precision reached (the interval's relative half-width); “not significant” means the "
    "interval contains 1."
)


def build(ctx: Context) -> list[Section]:
    paragraphs = [] if ctx.findings else [p("No comparisons could be made from these results.")]
    items = [p(f) for f in ctx.findings]
    return [Section("findings", "Findings", paragraphs=paragraphs, items=items, notes=[p(NOTE, meta=True)])]
