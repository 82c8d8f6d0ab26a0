"""Latency: p50 and p99 request latency of the self-timed workloads, and the findings'
sentence on the convoy effect."""

from __future__ import annotations

import pandas as pd

from harness.analysis import DEFAULT_SWITCH_MS
from harness.page import Estimate, Number, Row, Section, Table, Text
from harness.sections._cells import records, value
from harness.sections._context import Context

COLUMNS = [
    "interpreter",
    "workload",
    "CPU threads",
    "switch interval",
    "n",
    "p50 (95% CI)",
    "p99 (95% CI)",
    "requests/s",
]


def build(ctx: Context) -> list[Section]:
    rows = [
        Row(
            [
                Text(ctx.who(r["env"])),
                Text(r["workload"]),
                Number(value(r["workers"]), "%d"),
                Number(value(r["switch_ms"]), "%g", " ms"),
                Number(value(r["n"]), "%d"),
                *(
                    Estimate(
                        value(r[q] * 1e3),
                        value(r[q + "_lo"] * 1e3),
                        value(r[q + "_hi"] * 1e3),
                        fmt="%.3f",
                        unit=" ms",
                    )
                    for q in ("p50", "p99")
                ),
                Number(value(r["requests_per_s"]), "%.0f"),
            ]
        )
        for r in records(ctx.analysis.latency)
    ]
    if not rows:
        return []
    return [Section("latency", "Latency", tables=[Table("latency", COLUMNS, rows)])]


def _ms(seconds: float) -> str:
    return "%.2f ms" % (seconds * 1e3) if seconds < 0.1 else "%.0f ms" % (seconds * 1e3)


def _ms_span(seconds: pd.Series) -> str:
    low, high = _ms(seconds.min()), _ms(seconds.max())
    return low if low == high else "%s–%s" % (low.replace(" ms", ""), high)


def convoy(ctx: Context) -> list[str]:
    """One sentence: echo latency with the fewest CPU-bound threads measured, by kind of build."""
    lat = ctx.analysis.latency
    if lat.empty:
        return []
    at5 = lat[lat["switch_ms"] == DEFAULT_SWITCH_MS]
    loaded = at5[at5["workers"] > 0]
    if loaded.empty or at5[at5["workers"] == 0].empty:
        return []
    k = int(loaded["workers"].min())
    base, hit = at5[at5["workers"] == 0], loaded[loaded["workers"] == k]
    parts = []
    for label, pick in (
        ("GIL builds of CPython", (hit["implementation"] == "cpython") & hit["gil_enabled"]),
        ("PyPy", hit["implementation"] == "pypy"),
        ("free-threaded builds", ~hit["gil_enabled"]),
    ):
        group = hit[pick]
        if len(group):
            parts.append("%s on %s" % (_ms_span(group["p99"]), label))
    return [
        "Convoy effect: with %d CPU-bound thread(s) beside it, a loopback echo's p99 latency, %s with none, "
        "becomes %s (switch interval %g ms)." % (k, _ms_span(base["p99"]), "; ".join(parts), DEFAULT_SWITCH_MS)
    ]
