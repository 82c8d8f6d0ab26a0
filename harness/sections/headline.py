"""Headline: the ratios a user asks about first, in one table (``analysis.Analysis.table``).

Per interpreter, the flagship workload's speedup at the headline worker count in each
mode (threads, a process pool, subinterpreters), native threads that release the GIL
(the native workload), and for a free-threaded build its free-threading overhead and
net speedup; each ratio with its half-width and, on hover, its 95% interval.  The
findings' sentences on the flagship in threads and on the net gain read the same table.
"""

from __future__ import annotations

import pandas as pd

from harness import charts
from harness.analysis import QUANTITIES
from harness.page import Row, Section, Table, Text
from harness.sections._cells import fmt, p, records
from harness.sections._context import Context
from workloads.host import PAIRED_MODES

HEADINGS = {
    "threads": "threads",
    "processes": "process pool",
    "interpreters": "subinterpreters",
    "threads-nogil": "native, GIL released",
    "free-threading overhead": "free-threading overhead",
    "net speedup": "net speedup",
}


def _cell(row: dict) -> Text:
    """A ratio as ``1.75× ±10.0%``, its interval as detail; muted where it contains 1."""
    if row["problem"]:
        return Text("problem", detail=row["problem"], tone="bad")
    if pd.isna(row["value"]):
        return Text("")
    hw = "" if pd.isna(row["hw"]) else " ±%.1f%%" % (100 * row["hw"])
    interval = "" if pd.isna(row["lo"]) else "95%% CI %.2f–%.2f, " % (row["lo"], row["hi"])
    method = "moderated t" if row["moderated"] else "Student's t"
    detail = "%s%s over %d rounds%s" % (interval, method, row["n"], "" if row["matched"] else "; not a matched build")
    return Text("%.2f×%s" % (row["value"], hw), detail=detail, tone="" if row["significant"] else "muted")


def build(ctx: Context) -> list[Section]:
    table = ctx.analysis.table
    if table.empty:
        return []
    rows = records(table)
    shown = [q for q in QUANTITIES if q in set(table["quantity"])]
    envs = sorted({r["env"] for r in rows}, key=lambda e: charts.natural_key(ctx.who(e)))
    cells = {(r["env"], r["quantity"]): _cell(r) for r in rows}
    grid = Table(
        "headline",
        ["interpreter", *(HEADINGS.get(q, q) for q in shown)],
        [Row([Text(ctx.who(env)), *(cells.get((env, q)) or Text("") for q in shown)]) for env in envs],
    )
    workloads = ", ".join(dict.fromkeys(table.loc[table["quantity"] != "threads-nogil", "workload"]))
    pools = table[table["mode"].isin(PAIRED_MODES)]
    over = (
        "a process pool and subinterpreters over one worker of their own mode"
        if pools["other_name"].str.contains(",w=1]", regex=False).all()
        else "a process pool and subinterpreters over one worker of their mode where the run measured one, else "
        "over serial"
    )
    text = (
        "%s at %d workers: threads over one thread, %s; the free-threading overhead is a free-threaded build's "
        "serial time over its matched default build's, the net speedup its %d threads over one thread of that "
        "build. ± is the 95%% interval's half-width (hover for the interval); grey: not significant. Median ±%.1f%% "
        "over these %d ratios." % (workloads, ctx.k, over, ctx.k, 100 * table["hw"].median(), table["hw"].notna().sum())
    )
    return [Section("headline", "Headline", paragraphs=[p(text)], tables=[grid])]


# -- sentences -----------------------------------------------------------------------------


def _said(row: pd.Series) -> str:
    return fmt(row["value"], row["lo"], row["hi"], bool(row["significant"]))


def _span(values: pd.Series) -> str:
    low, high = values.min(), values.max()
    return "%.2f×" % low if round(low, 2) == round(high, 2) else "%.2f–%.2f×" % (low, high)


def _quotable(ctx: Context, quantity: str) -> pd.DataFrame:
    """The table's rows of ``quantity`` a sentence may quote: gated ones left out."""
    table = ctx.analysis.table
    return table[(table["quantity"] == quantity) & (table["problem"] == "")]


def threads(ctx: Context) -> list[str]:
    """The flagship loop in threads: under a GIL they take turns; without one they run in
    parallel, which is said only of a significant interval (the moderated one, whose
    coverage docs/how-sure.md measures)."""
    rows = _quotable(ctx, "threads")
    if rows.empty:
        return []
    flagship = rows["workload"].iloc[0]
    gil = ~rows["flagship"].astype(bool).to_numpy()  # the table marks the threads rows without the GIL
    out = []
    held = rows[gil].sort_values("value")
    if not held.empty:
        each = ", ".join("%s %.2f×" % (ctx.who(r["env"]), r["value"]) for _, r in held.iterrows())
        above = held[held["significant"] & (held["value"] > 1.1)]
        caveat = (
            " Above 1.1×, %s: more than a lock that lets one thread run at a time allows, so read it as the "
            "machine's noise (see the intervals)." % ", ".join(ctx.who(e) for e in above["env"])
            if len(above)
            else ""
        )
        out.append(
            "Under the GIL, %d threads run %s at %s the speed of one thread (%s): they take turns.%s"
            % (ctx.k, flagship, _span(held["value"]), each, caveat)
        )
    for _, row in rows[~gil].iterrows():
        verdict = "they run in parallel" if row["value"] >= 1.5 and row["significant"] else "little gain"
        out.append(
            "Without the GIL, on %s, %d threads run %s %s faster than one: %s."
            % (ctx.who(row["env"]), ctx.k, flagship, _said(row), verdict)
        )
    return out


def net(ctx: Context) -> list[str]:
    """What threads on a free-threaded build gain over one thread of the default build,
    and the free-threading overhead that explains the difference."""
    nets = _quotable(ctx, "net speedup")
    speedups = _quotable(ctx, "threads").set_index("env")
    overheads = _quotable(ctx, "free-threading overhead").set_index("env")
    out = []
    for _, row in nets.iterrows():
        env, base = row["env"], ctx.who(row["other_env"])
        if env not in speedups.index:
            continue
        because = (
            ", because one thread takes %s of %s's time" % (_said(overheads.loc[env]), base)
            if env in overheads.index
            else ""
        )
        matched = "" if row["matched"] else " (not a matched build: versions differ)"
        out.append(
            "Net gain on %s: %d threads run %s %s faster than one, but %s faster than %s on one thread%s%s."
            % (ctx.who(env), ctx.k, row["workload"], _said(speedups.loc[env]), _said(row), base, matched, because)
        )
    return out
