"""One worker against serial: one pool worker or subinterpreter against serial, the
baseline of that mode's speedups, as its own ratio."""

from __future__ import annotations

from harness.page import Number, Row, Section, Table, Text
from harness.sections._cells import est, p, records, value
from harness.sections._context import Context

NOTE = (
    "The speedups of processes and interpreters are over one worker of the same mode, so that both sides run "
    "in the same kind of process or interpreter; this is that one worker against serial (>1: faster). Serial "
    "is timed in the same process as the worker, alternately with it, and paired with it: another process's "
    "incidental state moves a pure-Python loop by several percent on its own. Runs made before that compare "
    "with the serial benchmark, and name it."
)


def build(ctx: Context) -> list[Section]:
    one, labels = ctx.analysis.one_worker, ctx.labels
    if ctx.analysis.derived.empty or one.empty:
        return []
    rows = [
        Row(
            [
                Text(labels.get(r["env"], r["env"])),
                Text(r["name"]),
                Text(r["baseline_name"]),
                est(r, "vs_serial", problem=r["problem"]),
                Number(value(100 * r["vs_serial_hw"]), "%.1f", "%"),
                Text(r["problem"] or ""),
            ],
            muted=not r["vs_serial_significant"],
        )
        for r in records(one)
    ]
    columns = ["interpreter", "benchmark", "serial", "vs serial (95% CI)", "±", "problem"]
    return [
        Section(
            "one-worker",
            "One worker against serial",
            paragraphs=[p(NOTE, meta=True)],
            tables=[Table("one-worker", columns, rows)],
        )
    ]
