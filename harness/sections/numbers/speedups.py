"""Every speedup, with intervals: a row per ratio of ``analysis.derive``, folded away;
and the findings' count of the speedups that are not significant."""

from __future__ import annotations

import pandas as pd

from harness.page import Number, Row, Section, Table, Text
from harness.sections._cells import est, records, value, versus
from harness.sections._context import Context

COLUMNS = [
    "interpreter",
    "workload",
    "params",
    "mode",
    "workers",
    "over",
    "speedup (95% CI)",
    "±",
    "efficiency",
    "machine capacity",
    "speedup / capacity (95% CI)",
    "waiting",
    "net speedup (95% CI)",
    "net vs",
]


def build(ctx: Context) -> list[Section]:
    derived, labels = ctx.analysis.derived, ctx.labels
    if derived.empty:
        return []
    rows = []
    for r in records(derived):
        netted = r["net_baseline_env"] != r["env"] and not pd.isna(r["net_speedup"])
        rows.append(
            Row(
                [
                    Text(labels.get(r["env"], r["env"])),
                    Text(r["workload"]),
                    Text(r["params"]),
                    Text(r["mode"]),
                    Number(value(r["workers"]), "%d"),
                    Text(r["baseline_name"]),
                    est(r, "speedup", problem=r["problem"]),
                    Number(value(100 * r["speedup_hw"]), "%.1f", "%"),
                    Number(value(100 * r["efficiency"]), "%.0f", "%"),
                    Number(value(r.get("capacity")), "%.2f", "×"),
                    est(r, "vs_capacity") if value(r.get("vs_capacity")) is not None else Text(""),
                    Number(value(100 * r["waiting"]), "%.0f", "%"),
                    est(r, "net_speedup") if netted else Text(""),
                    Text(versus(labels, r["net_baseline_env"], r["net_matched"]) if netted else ""),
                ],
                muted=not r["speedup_significant"],
            )
        )
    title = "Every speedup, with intervals (%d rows)" % len(rows)
    return [Section("speedups", title, tables=[Table("speedups", COLUMNS, rows)], collapsed=True)]


def sentences(ctx: Context) -> list[str]:
    """How many speedups are noise: their interval contains 1."""
    d = ctx.analysis.derived
    rated = d[d["speedup_lo"].notna()]
    if rated.empty:
        return ["No speedup has an interval: one round per benchmark cannot say how sure a number is."]
    ns = int((~rated["speedup_significant"]).sum())
    return [
        "%d of %d speedups are not significant (their 95%% interval contains 1): read them as “no measurable "
        "difference”, not as small gains or losses." % (ns, len(rated))
    ]
