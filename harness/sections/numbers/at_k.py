"""Speedup at k workers: a table per mode at the headline worker count (a row per
workload, a cell per interpreter), and the findings' sentences on the CPU workloads in
threads, processes, native code, contention, I/O and waiting at that count (the
flagship in threads and the net gain: ``harness.sections.headline``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness import charts
from harness.page import Estimate, Row, Section, Table, Text
from harness.sections._cells import est, p, records, said, value
from harness.sections._context import Context
from workloads.host import PAIRED_MODES


def build(ctx: Context) -> list[Section]:
    derived, labels, k = ctx.analysis.derived, ctx.labels, ctx.k
    if derived.empty:
        return []
    rows = records(derived[(derived["workers"] == k) & (derived["params"] == "")])
    envs = sorted({r["env"] for r in rows}, key=lambda e: charts.natural_key(labels.get(e, e)))
    cells: dict[tuple[str, str, str], Estimate] = {
        (r["mode"], r["workload"], r["env"]): est(r, "speedup", problem=r["problem"], brief=True) for r in rows
    }
    modes = {r["mode"] for r in rows}
    caps = [c for c in (value(r.get("capacity")) for r in rows) if c is not None]
    note = (
        [
            p(
                "The machine's parallel capacity at %d workers in the same rounds: %.2f× (%d busy processes against "
                "one, probed before every slot of every round); each speedup over its own rounds' capacity is in "
                "'Every speedup'." % (k, float(np.median(caps)), k),
                meta=True,
            )
        ]
        if caps
        else []
    )
    out = []
    for mode in [m for m in charts.MODE_STYLE if m in modes]:
        workloads = sorted({w for m, w, _ in cells if m == mode})
        table = Table(
            "at-k",
            ["workload", *(labels.get(e, e) for e in envs)],
            [Row([Text(w), *(cells.get((mode, w, e)) or Text("") for e in envs)]) for w in workloads],
        )
        over = " (over one %s worker)" % mode if mode in PAIRED_MODES else ""
        out.append(
            Section(
                "at-k-" + mode, "Speedup at %d workers: %s%s" % (k, mode, over), paragraphs=list(note), tables=[table]
            )
        )
    return out


# -- sentences -----------------------------------------------------------------------------


def quotable(ctx: Context, workload: str | list[str], mode: str) -> pd.DataFrame:
    """The derived rows these sentences may quote: at the headline worker count, for one
    workload or several, without params, gated ones left out."""
    d = ctx.analysis.derived
    names = [workload] if isinstance(workload, str) else workload
    return d[
        (d["params"] == "")
        & d["workload"].isin(names)
        & (d["mode"] == mode)
        & (d["workers"] == ctx.k)
        & (d["problem"] == "")
    ]


def _span(values: pd.Series) -> str:
    low, high = values.min(), values.max()
    return "%.2f×" % low if round(low, 2) == round(high, 2) else "%.2f–%.2f×" % (low, high)


def across_cpu(ctx: Context) -> list[str]:
    """How many of the per-thread CPU workloads threads speed up, per interpreter."""
    cpu = ctx.tagged("cpu")
    rows = quotable(ctx, cpu, "threads")
    parts = []
    for env, group in rows.groupby("env", sort=False):
        scaled = group[(group["speedup"] >= 1.5) & group["speedup_significant"]]
        parts.append("%s %d of %d (median %.2f×)" % (ctx.who(env), len(scaled), len(group), group["speedup"].median()))
    if not parts:
        return []
    return [
        "Across the %d per-thread CPU workloads, %d threads reached at least 1.5× on: %s."
        % (len(cpu), ctx.k, "; ".join(parts))
    ]


def processes(ctx: Context) -> list[str]:
    """The flagship loop in a process pool, on every interpreter."""
    rows = quotable(ctx, ctx.role("flagship"), "processes")
    if rows.empty:
        return []
    caveat = "" if rows["speedup_significant"].all() else " (some not significant)"
    over = "one pool worker" if (rows["baseline_name"] != rows["serial_name"]).all() else "serial"
    return [
        "multiprocessing.Pool with %d processes ran %s %s faster than %s on the %d interpreters%s. Each "
        "process has its own interpreter and its own GIL."
        % (ctx.k, ctx.role("flagship"), _span(rows["speedup"]), over, len(rows), caveat)
    ]


def native(ctx: Context) -> list[str]:
    """A C loop that releases the GIL against the same loop holding it."""
    workload = ctx.role("native")
    nogil, holding = quotable(ctx, workload, "threads-nogil"), quotable(ctx, workload, "threads-holding-gil")
    out = []
    for gil, label in ((True, "GIL builds"), (False, "free-threaded builds")):
        free = nogil[nogil["gil_enabled"] == gil]["speedup"]
        held = holding[holding["gil_enabled"] == gil]["speedup"]
        if free.empty or held.empty:
            continue
        out.append(
            "Native code on %s: a Cython C loop that releases the GIL runs %s faster on %d threads; the same "
            "loop holding the GIL runs at %s%s."
            % (label, _span(free), ctx.k, _span(held), "" if gil else " (there is no GIL to hold)")
        )
    return out


def contention(ctx: Context) -> list[str]:
    """The worst shared-state workload without the GIL, beside the same on GIL builds."""
    rows = quotable(ctx, ctx.tagged("contention"), "threads")
    free = rows[~rows["gil_enabled"]]
    if free.empty:
        return []
    worst = free.loc[free["speedup"].idxmin()]
    gil = rows[rows["gil_enabled"] & (rows["workload"] == worst["workload"])]["speedup"]
    tail = " On GIL builds the same ran at %s." % _span(gil) if len(gil) else ""
    return [
        "Shared-state contention: on %s, %d threads doing %s run at %s of serial speed — contended objects get "
        "slower without the GIL.%s" % (ctx.who(worst["env"]), ctx.k, worst["workload"], said(worst, "speedup"), tail)
    ]


def io(ctx: Context) -> list[str]:
    """Blocking I/O scales with threads, GIL or not."""
    workloads = ctx.tagged("io")
    rows = quotable(ctx, workloads, "threads")
    if rows.empty:
        return []
    return [
        "Blocking I/O (%s) scales with threads on every interpreter, GIL or not: %d threads ran %s faster, "
        "because a thread blocked in I/O releases the GIL." % (", ".join(workloads), ctx.k, _span(rows["speedup"]))
    ]


def waiting(ctx: Context) -> list[str]:
    """Why threads do not scale: the share of thread time spent not running."""
    rows = quotable(ctx, ctx.role("flagship"), "threads").dropna(subset=["waiting"])
    if rows.empty:
        return []
    parts = ["%s %.0f%%" % (ctx.who(r["env"]), 100 * r["waiting"]) for _, r in rows.iterrows()]
    return [
        "Time spent waiting: with %d threads running %s, each thread spent this share of the run not running "
        "(for the GIL, a lock or a CPU): %s." % (ctx.k, ctx.role("flagship"), ", ".join(parts))
    ]
