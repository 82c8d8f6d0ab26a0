"""Build overheads: serial time (and peak memory) of a free-threaded build against its
matched default build, and of ``PYTHON_GIL=1`` against the same free-threaded build;
with the findings' summary of each and their memory against PEP 779's bar."""

from __future__ import annotations

from harness.analysis import PEP779_MEMORY_BAR
from harness.page import Number, Row, Section, Table, Text
from harness.sections._cells import est, records, said, value, versus
from harness.sections._context import Context

KIND_NAMES = {"free-threading": "Free-threading", "forced GIL": "Forced-GIL"}
COLUMNS = ["kind", "interpreter", "vs", "workload", "params", "time ratio (95% CI)", "±", "peak memory ratio (95% CI)"]


def build(ctx: Context) -> list[Section]:
    labels, rows = ctx.labels, []
    for r in records(ctx.analysis.overheads):
        rows.append(
            Row(
                [
                    Text(r["kind"]),
                    Text(labels.get(r["env"], r["env"])),
                    Text(versus(labels, r["baseline_env"], r["matched"])),
                    Text(r["workload"]),
                    Text(r["params"]),
                    est(r, "overhead"),
                    Number(value(100 * r["overhead_hw"]), "%.1f", "%"),
                    est(r, "memory") if value(r["memory"]) is not None else Text(""),
                ],
                muted=not r["overhead_significant"],
            )
        )
    if not rows:
        return []
    title = "Build overheads (serial time ratios)"
    return [Section("overheads", title, tables=[Table("overheads", COLUMNS, rows)])]


def summary(ctx: Context) -> list[str]:
    """Each build comparison's median overhead over the workloads, and its extremes."""
    o = ctx.analysis.overheads
    if o.empty:
        return []
    out = []
    for (kind, env), group in o[o["params"] == ""].groupby(["kind", "env"], sort=False):
        low, high = group.loc[group["overhead"].idxmin()], group.loc[group["overhead"].idxmax()]
        out.append(
            "%s overhead of %s vs %s (serial time ratio, >1 = slower): median %.2f× over %d workloads, from "
            "%.2f× (%s) to %.2f× (%s)."
            % (
                KIND_NAMES[kind],
                ctx.who(env),
                ctx.who(group.iloc[0]["baseline_env"]),
                group["overhead"].median(),
                len(group),
                low["overhead"],
                low["workload"],
                high["overhead"],
                high["workload"],
            )
        )
    return out


def memory(ctx: Context) -> list[str]:
    """Peak memory of the free-threaded build against its partner, held against PEP 779's bar."""
    o = ctx.analysis.overheads
    if o.empty or "memory" not in o:
        return []
    out = []
    rows = o[(o["kind"] == "free-threading") & (o["params"] == "") & o["memory"].notna()]
    for env, group in rows.groupby("env", sort=False):
        over = group[group["memory_lo"] > PEP779_MEMORY_BAR]
        worst = group.loc[group["memory"].idxmax()]
        out.append(
            "Peak memory (RSS of the benchmark process) of %s vs %s: median %.2f×, at most %s for %s; %s."
            % (
                ctx.who(env),
                ctx.who(group.iloc[0]["baseline_env"]),
                group["memory"].median(),
                said(worst, "memory"),
                worst["workload"],
                "%d of %d workloads are above PEP 779's bar of 20%% more memory" % (len(over), len(group))
                if len(over)
                else "every workload is within PEP 779's bar of 20% more memory (or not significantly above it)",
            )
        )
    return out
