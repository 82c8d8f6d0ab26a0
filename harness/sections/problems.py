"""Failed & unavailable: what the run could not measure and why; and the findings'
warning where one workload was measured with different source code."""

from __future__ import annotations

from harness.page import Code, Paragraph, Row, Section, Table, Text
from harness.sections._cells import p, records
from harness.sections._context import Context


def build(ctx: Context) -> list[Section]:
    data = ctx.report.data
    outcomes = data.outcomes
    bad = outcomes[outcomes["status"] != "ok"] if not outcomes.empty else outcomes
    section = Section(
        "problems", "Failed & unavailable", items=[Paragraph([Text(m, tone="bad")]) for m in data.problems]
    )
    unavailable = bad[bad["status"] == "unavailable"] if not bad.empty else bad
    if not unavailable.empty:
        rows = [
            Row([Text(env), Text("%d benchmark(s)" % len(group), detail=", ".join(group["name"])), Text(reason)])
            for (env, reason), group in unavailable.groupby(["env", "reason"], sort=True)
        ]
        section.tables.append(Table("unavailable", ["env", "unavailable", "why"], rows))
    failed = records(bad[bad["status"] != "unavailable"]) if not bad.empty else []
    if failed:
        rows = [
            Row([Text(o["env"]), Text(o["name"]), Text(o["status"], tone="bad"), Code(str(o["reason"]), block=True)])
            for o in failed
        ]
        section.tables.append(Table("problems", ["env", "benchmark", "status", "reason"], rows))
    elif unavailable.empty:
        section.paragraphs.append(p("Every planned benchmark ran."))
    return [section]


def provenance(ctx: Context) -> list[str]:
    """A warning per workload measured with different source code in different envs."""
    return ["Warning: %s; its ratios compare different code." % m for m in ctx.analysis.provenance]
