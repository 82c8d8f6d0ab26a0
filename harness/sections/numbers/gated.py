"""Measurement problems: the ratios that failed a sanity gate (``analysis``'s
``problem``), which no finding quotes, and the findings' count of them."""

from __future__ import annotations

from harness.page import Number, Row, Section, Table, Text
from harness.sections._cells import records, value
from harness.sections._context import Context


def build(ctx: Context) -> list[Section]:
    derived, one, labels = ctx.analysis.derived, ctx.analysis.one_worker, ctx.labels
    if derived.empty:
        return []
    gated = records(derived[derived["problem"] != ""])
    gated += [{**r, "speedup": r["vs_serial"]} for r in records(one[one["problem"] != ""] if not one.empty else one)]
    if not gated:
        return []
    rows = [
        Row(
            [
                Text(labels.get(r["env"], r["env"])),
                Text(r["name"]),
                Number(value(r["speedup"]), "%.2f", "×"),
                Text(r["problem"]),
            ]
        )
        for r in gated
    ]
    table = Table("gated", ["interpreter", "benchmark", "ratio", "why it is not a result"], rows)
    return [Section("measurement-problems", "Measurement problems", tables=[table])]


def sentences(ctx: Context) -> list[str]:
    a = ctx.analysis
    bad = sum(int((f["problem"] != "").sum()) for f in (a.derived, a.one_worker) if not f.empty)
    if not bad:
        return []
    return [
        "%d ratio(s) failed a sanity gate (above the physical limit, or one worker not within 5%% of serial) "
        "and are shown as measurement problems, not results." % bad
    ]
