"""All timings: a row per benchmark (the run's summary table), folded away."""

from __future__ import annotations

from harness.page import Number, Row, Section, Table, Text
from harness.sections._cells import records, value
from harness.sections._context import Context

COLUMNS = ["interpreter", "benchmark", "n", "mean", "std dev", "work size"]


def build(ctx: Context) -> list[Section]:
    rows = [
        Row(
            [
                Text(ctx.who(r["env"])),
                Text(r["name"]),
                Number(value(r["n"]), "%d"),
                Number(value(r["mean"] * 1e3), "%.3f", " ms"),
                Number(value(r["stdev"] * 1e3), "%.3f", " ms"),
                Number(value(r["work_size"]), "%d"),
            ]
        )
        for r in records(ctx.report.summary)
    ]
    title = "All timings (%d benchmarks)" % len(rows)
    return [Section("timings", title, tables=[Table("timings", COLUMNS, rows)], collapsed=True)]
