"""pyperformance: what a build costs one thread (bench-all --pyperformance).

Geometric means against PEP 779's bars and a reference CPython, each benchmark's
ratios, the envs whose peak memory could not be measured, and the findings' sentence
on each free-threaded build.
"""

from __future__ import annotations

import pandas as pd

from harness.analysis import PEP779_MEMORY_BAR, PEP779_TIME_BAR
from harness.page import Number, Row, Section, Table, Text
from harness.sections._cells import bar_verdict, est, fmt, geomean_cell, p, records, value, versus
from harness.sections._context import Context

COMPARISONS = {  # analysis.GEOMEAN_KINDS, as the table names them
    "free-threading": "free-threaded build / default build",
    "forced GIL": "PYTHON_GIL=1 / free-threaded build",
    "vs reference": "interpreter / reference CPython",
}


def build(ctx: Context) -> list[Section]:
    geo, per, labels = ctx.analysis.geomeans, ctx.analysis.pyperformance, ctx.labels
    if geo.empty and per.empty:
        return []
    note = (
        "pyperformance benchmarks (bench-all --pyperformance) measured in the same interleaved rounds as the "
        "workloads: one pyperf worker process per benchmark, interpreter and round, every interpreter's back to "
        "back. Time is per pyperf loop; memory is the worker process's own peak RSS. A geometric mean is taken "
        "round by round over the benchmarks both sides measured, and its 95%% interval is Student's t over the "
        "rounds. PEP 779 asks a supported free-threaded build for at most %.0f%% more time and %.0f%% more memory "
        "(pyperformance geometric means); a verdict is given only where the whole interval is on one side of the bar."
        % (100 * (PEP779_TIME_BAR - 1), 100 * (PEP779_MEMORY_BAR - 1))
    )
    rows = []
    for r in records(geo):
        rows.append(
            Row(
                [
                    Text(COMPARISONS.get(r["kind"], r["kind"])),
                    Text(labels.get(r["env"], r["env"])),
                    Text(versus(labels, r["baseline_env"], r["matched"])),
                    Number(value(r["benchmarks"]), "%d"),
                    Number(value(r["time_rounds"]), "%d"),
                    geomean_cell(r, "time"),
                    bar_verdict(r["time_verdict"], PEP779_TIME_BAR),
                    geomean_cell(r, "memory"),
                    bar_verdict(r["memory_verdict"], PEP779_MEMORY_BAR),
                ]
            )
        )
    columns = [
        "comparison",
        "interpreter",
        "vs",
        "benchmarks",
        "rounds",
        "time, geometric mean (95% CI)",
        "PEP 779, time",
        "peak memory, geometric mean (95% CI)",
        "PEP 779, memory",
    ]
    section = Section("pyperformance", "pyperformance: what a build costs one thread", paragraphs=[p(note, True)])
    if rows:
        section.tables.append(Table("pyperformance-geomeans", columns, rows))
    section.items = [
        p(
            "Peak memory not measured on %s (%s): its pyperformance processes recorded no peak RSS "
            "(no /proc/self/status here)." % (labels.get(env, env), env)
        )
        for env in ctx.analysis.memory_unmeasured
    ]
    per_rows = [
        Row(
            [
                Text(str(r["workload"]).replace("pyperformance.", "", 1)),
                Text(r["kind"]),
                Text(labels.get(r["env"], r["env"])),
                Text(versus(labels, r["baseline_env"], r["matched"])),
                est(r, "overhead"),
                Number(value(100 * r["overhead_hw"]), "%.1f", "%"),
                est(r, "memory") if value(r["memory"]) is not None else Text(""),
            ],
            muted=not r["overhead_significant"],
        )
        for r in records(per.sort_values(["kind", "env", "workload"]) if not per.empty else per)
    ]
    if per_rows:
        columns = ["benchmark", "kind", "interpreter", "vs", "time ratio (95% CI)", "±", "peak memory ratio (95% CI)"]
        title = "Each benchmark (%d rows)" % len(per_rows)
        section.subsections.append(
            Section("pyperformance-each", title, tables=[Table("pyperformance", columns, per_rows)], collapsed=True)
        )
    return [section]


def _g(row: pd.Series, prefix: str) -> str:
    """A geometric mean as ``fmt`` writes a ratio."""
    lo, hi = row[prefix + "_lo"], row[prefix + "_hi"]
    return fmt(row[prefix], lo, hi, None if pd.isna(lo) else bool(lo > 1.0 or hi < 1.0))


def _bar(verdict: str, bar: float) -> str:
    """PEP 779's verdict, said only when the whole interval is on one side of ``bar``."""
    limit = "PEP 779's bar of %.0f%% more" % (100 * (bar - 1))
    if verdict == "within":
        return "within " + limit
    if verdict == "above":
        return "above " + limit
    if verdict == "undecided":
        return "the interval straddles %s, so no verdict" % limit
    return "no interval, so no verdict against %s" % limit


def sentences(ctx: Context) -> list[str]:
    """One sentence per free-threaded build: its pyperformance geometric means, time and
    memory, against its matched default build and PEP 779's bars."""
    geo = ctx.analysis.geomeans
    if geo.empty:
        return []
    out = []
    for _, row in geo[geo["kind"] == "free-threading"].iterrows():
        memory = (
            "%s its peak memory (%s)" % (_g(row, "memory"), _bar(row["memory_verdict"], PEP779_MEMORY_BAR))
            if pd.notna(row["memory"])
            else "its peak memory could not be measured"
        )
        matched = "" if row["matched"] else " (not a matched build)"
        out.append(
            "On %d pyperformance benchmarks, %s takes %s the time of %s%s (geometric mean over %d rounds; %s) "
            "and %s."
            % (
                row["benchmarks"],
                ctx.who(row["env"]),
                _g(row, "time"),
                ctx.who(row["baseline_env"]),
                matched,
                row["time_rounds"],
                _bar(row["time_verdict"], PEP779_TIME_BAR),
                memory,
            )
        )
    return out
