"""Memory per object: resident bytes per object of the memory-probing workloads, and the
free-threaded build's against its matched default build; one line per env that could
not measure it."""

from __future__ import annotations

from harness.page import Estimate, Number, Row, Section, Table, Text
from harness.sections._cells import est, p, records, said, value, versus
from harness.sections._context import Context

NOTE = (
    "Resident bytes per object: each round, a fresh benchmark process builds a known number of objects of "
    "the kind, holds them, and divides its resident-set growth by the count (allocator overhead included, the "
    "list that holds them not; workloads/memory.py). The interval is Student's t over rounds; the "
    "free-threaded ratio is paired by round."
)
COLUMNS = ["interpreter", "workload", "bytes per object (95% CI)", "rounds", "free-threaded / default", "vs"]


def build(ctx: Context) -> list[Section]:
    labels, missing = ctx.labels, ctx.analysis.objects_unmeasured
    rows = [
        Row(
            [
                Text(labels.get(r["env"], r["env"])),
                Text(r["workload"]),
                Estimate(value(r["bytes"]), value(r["bytes_lo"]), value(r["bytes_hi"]), fmt="%.1f", unit=" B"),
                Number(value(r["bytes_n"]), "%d"),
                est(r, "vs_default") if value(r["vs_default"]) is not None else Text(""),
                Text(versus(labels, r["baseline_env"], r["matched"]) if r["baseline_env"] else ""),
            ]
        )
        for r in records(ctx.analysis.objects)
    ]
    if not rows and not missing:
        return []
    section = Section("objects", "Memory per object", paragraphs=[p(NOTE, True)])
    if rows:
        section.tables.append(Table("objects", COLUMNS, rows))
    section.items = [
        p("Bytes per object not measured on %s (%s): no /proc/self/status here." % (labels.get(env, env), env))
        for env in missing
    ]
    return [section]


def sentences(ctx: Context) -> list[str]:
    """Bytes per object of the free-threaded build against its matched default build."""
    o = ctx.analysis.objects
    if o.empty:
        return []
    out = []
    for env, group in o[o["vs_default"].notna()].groupby("env", sort=False):
        parts = [
            "%s %.0f B vs %.0f B, %s" % (r["workload"], r["bytes"], r["baseline_bytes"], said(r, "vs_default"))
            for _, r in group.iterrows()
        ]
        out.append(
            "Memory per object held, %s vs %s: %s."
            % (ctx.who(env), ctx.who(group.iloc[0]["baseline_env"]), "; ".join(parts))
        )
    return out
