"""Scaling kernels: whether each kernel of the ``scaling`` family scales with threads on
each free-threaded build, in words decided on the speedup's interval, with what its
process did beside those that do not; each free-threaded release against the previous
one, kernel by kernel; and the findings' sentences on both.

Reads ``Analysis.scaling`` (``scaling_table``) and ``Analysis.scaling_gains``; absent when
the run measured none of the family.  The default builds' threads take turns under the
GIL, so they get one compact column each (the speedup, its interval on hover) and a note
counting their verdicts, where each free-threaded build gets speedup, efficiency, verdict
and reason.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness import charts
from harness.analysis import SCALING_VERDICTS
from harness.page import Estimate, Paragraph, Row, Section, Table, Text
from harness.sections._cells import est, p, records, said, value
from harness.sections._context import Context

SLOWER, DOES_NOT, PARTLY, SCALES, UNDECIDED = SCALING_VERDICTS
NOT_SCALING = (SLOWER, DOES_NOT)  # what the findings call "do not scale"
TONES = {SLOWER: "bad", DOES_NOT: "bad", UNDECIDED: "muted"}
QUOTED = 5  # kernels a findings sentence names, worst first


def _kernel(row: dict[str, Any]) -> str:
    return row["workload"] + ("[%s]" % row["params"] if row["params"] else "")


def _free(table: pd.DataFrame) -> pd.Series:
    """Rows of free-threaded builds that ran without the GIL: the builds whose threads may scale."""
    return table["free_threaded_build"].astype(bool) & ~table["gil_enabled"].astype(bool)


def _envs(ctx: Context, table: pd.DataFrame) -> list[str]:
    return sorted(set(table["env"]), key=lambda e: charts.natural_key(ctx.who(e)))


def _efficiency(row: dict[str, Any]) -> Estimate | Text:
    """Speedup / k as a percentage, its interval the speedup's over k; nothing for a gated
    speedup, whose cell beside it says why."""
    if row["problem"]:
        return Text("")
    k = float(row["workers"])
    pct = [None if v is None else 100 * v / k for v in (value(row[c]) for c in ("speedup", "speedup_lo", "speedup_hi"))]
    return Estimate(pct[0], pct[1], pct[2], None, fmt="%.0f", unit="%")


def _verdict(row: dict[str, Any]) -> Text:
    if row["problem"]:
        return Text("not judged", detail="the speedup failed a sanity gate: " + row["problem"], tone="muted")
    return Text(row["verdict_text"], tone=TONES.get(row["verdict"], ""))


def _reason(rows: list[dict[str, Any]]) -> Text:
    """The reason at the most threads where the kernel did not scale (it names its thread counts)."""
    wanting = [r for r in rows if r["reason"] and not r["problem"]]
    return Text(max(wanting, key=lambda r: r["workers"])["reason"]) if wanting else Text("")


def _verdict_table(ctx: Context, table: pd.DataFrame) -> Table:
    """One row per kernel; per free-threaded build a column group (speedup, efficiency and
    verdict at each worker count, one reason), per other build one speedup column per count."""
    free = table[_free(table)]
    locked = table[~_free(table)]
    counts = sorted(set(table["workers"]))
    cells = {(r["env"], _kernel(r), r["workers"]): r for r in records(table)}
    columns = ["kernel"]
    for env in _envs(ctx, free):
        for k in counts:
            columns += ["%s: %d threads" % (ctx.who(env), k), "efficiency", "verdict"]
        columns.append("%s: why not" % ctx.who(env))
    columns += ["%s: %d threads" % (ctx.who(env), k) for env in _envs(ctx, locked) for k in counts]
    rows = []
    for kernel in sorted({_kernel(r) for r in cells.values()}):
        row: list[Any] = [Text(kernel)]
        for env in _envs(ctx, free):
            got = [cells[(env, kernel, k)] for k in counts if (env, kernel, k) in cells]
            for k in counts:
                r = cells.get((env, kernel, k))
                row += [est(r, "speedup", problem=r["problem"]), _efficiency(r), _verdict(r)] if r else [Text("")] * 3
            row.append(_reason(got))
        for env in _envs(ctx, locked):
            row += [
                est(cells[(env, kernel, k)], "speedup", problem=cells[(env, kernel, k)]["problem"], brief=True)
                if (env, kernel, k) in cells
                else Text("")
                for k in counts
            ]
        rows.append(Row(row))
    return Table("scaling", columns, rows)


PLURAL = {
    SCALES: "scale",
    PARTLY: "partly",
    DOES_NOT: "do not scale",
    SLOWER: "slower than serial",
    UNDECIDED: "undecided",
}


def _counts(rows: pd.DataFrame) -> str:
    """``20 scale, 3 partly, 2 undecided``: the verdicts of ``rows`` in axis order, those
    without an interval and the gated ones apart."""
    judged = rows[rows["problem"] == ""]
    bare = judged["speedup_lo"].isna()  # a single round: undecided, and said so apart
    counts = [(int(((judged["verdict"] == word) & ~bare).sum()), text) for word, text in PLURAL.items()]
    counts += [(int(bare.sum()), "without an interval"), (len(rows) - len(judged), "gated")]
    return ", ".join("%d %s" % (n, text) for n, text in counts if n)


def _notes(ctx: Context, table: pd.DataFrame) -> list[Paragraph]:
    cuts = sorted({(int(k), round(float(c), 2)) for k, c in table[["workers", "scaling_cut"]].itertuples(index=False)})
    out = [
        p(
            "Each verdict is decided on the speedup's 95%% interval, never on its point: scales where the "
            "whole interval lies above half of the gain the machine allowed (%s), partly between 1.1× and "
            "there, does not scale where it holds 1 or ends by 1.1×, slower than serial where it lies below 1, "
            "undecided where it spans two of these; an interval may overhang a cut by 2%%. Efficiency is the "
            "speedup over the thread count. Why not: what the kernel's process recorded at one thread and at "
            "N, beside every verdict but scales."
            % "; ".join("%.2f× at %d threads" % (c, k) for k, c in sorted(set(cuts))),
            meta=True,
        )
    ]
    locked = table[~_free(table)]
    if not locked.empty:
        each = "; ".join("%s: %s" % (ctx.who(env), _counts(locked[locked["env"] == env])) for env in _envs(ctx, locked))
        out.append(
            p(
                "Builds with a GIL, whose threads take turns, show the speedup alone (its interval on hover). "
                "Their verdicts: %s." % each,
                meta=True,
            )
        )
    return out


def _gains_section(ctx: Context, gains: pd.DataFrame, table: pd.DataFrame) -> list[Section]:
    """A subsection per pair of releases: each kernel's speedups on both and their ratio."""
    speedups = {(r["env"], _kernel(r), r["workers"]): r for r in records(table)}
    out = []
    for (env, base), pair in gains.groupby(["env", "baseline_env"], sort=False):
        new, old = ctx.who(env), ctx.who(base)
        rows = []
        for r in records(pair.sort_values(["workload", "params", "workers"])):
            kernel = _kernel(r)
            sides = [speedups[(e, kernel, r["workers"])] for e in (base, env)]
            rows.append(
                Row(
                    [
                        Text(kernel),
                        Text(str(r["workers"])),
                        *(est(s, "speedup", problem=s["problem"]) for s in sides),
                        est(r, "gain", problem=r["problem"]),
                        Text(_change(r)),
                    ],
                    muted=not r["gain_significant"] or bool(r["problem"]),
                )
            )
        columns = ["kernel", "threads", old + " speedup", new + " speedup", "%s over %s (95%% CI)" % (new, old), ""]
        note = p(
            "The ratio of the two speedups, round by round: both builds were measured in the same rounds, "
            "so a round that slowed the machine cancels. Above 1: the kernel scales better on %s." % new,
            meta=True,
        )
        out.append(
            Section(
                "scaling-releases-" + env,
                "%s against %s, per kernel" % (new, old),
                paragraphs=[note],
                tables=[Table("scaling-releases", columns, rows)],
            )
        )
    return out


def _change(row: dict[str, Any]) -> str:
    if row["problem"] or pd.isna(row["gain_lo"]):
        return ""
    return "better" if row["gain_lo"] > 1 else "worse" if row["gain_hi"] < 1 else "no change shown"


def build(ctx: Context) -> list[Section]:
    table = ctx.analysis.scaling
    if table.empty:
        return []
    intro = p(
        "The scaling family (docs: workloads, the scaling family): small kernels, each a loop over one "
        "language feature, after CPython's Tools/ftscalingbench, plus state every thread shares. The "
        "speedup of k threads over one, the same total work split across them.",
        meta=True,
    )
    return [
        Section(
            "scaling",
            "Scaling kernels: do threads scale?",
            paragraphs=[intro],
            tables=[_verdict_table(ctx, table)],
            notes=_notes(ctx, table),
            subsections=_gains_section(ctx, ctx.analysis.scaling_gains, table),
        )
    ]


# -- sentences -----------------------------------------------------------------------------


def _quoted(rows: pd.DataFrame, prefix: str) -> str:
    """The first ``QUOTED`` of ``rows`` as ``kernel 0.41× (95% CI 0.38–0.44)``, the ``prefix``
    ratio, with the threads' waiting share where the rows have one."""
    parts = []
    for r in records(rows.head(QUOTED)):
        waiting = value(r.get("waiting"))
        tail = "" if waiting is None else ", waiting %.0f%%" % (100 * waiting)
        parts.append("%s %s%s" % (_kernel(r), said(r, prefix), tail))
    more = len(rows) - QUOTED
    return "; ".join(parts) + ("; and %d more" % more if more > 0 else "")


def sentences(ctx: Context) -> list[str]:
    """Per free-threaded build: how many kernels do not scale at the headline thread count,
    the worst of them with their intervals and waiting share; gated speedups are counted
    apart, never quoted."""
    table = ctx.analysis.scaling
    if table.empty:
        return []
    at_k = table[_free(table) & (table["workers"] == ctx.k)]
    out = []
    for env in _envs(ctx, at_k):
        every = at_k[at_k["env"] == env]
        rows = every[every["problem"] == ""]
        if rows.empty:
            continue
        bad = rows[rows["verdict"].isin(NOT_SCALING)].sort_values("speedup")
        if len(bad):
            head = "%d of %d scaling kernels do not scale at %d threads: %s" % (
                len(bad),
                len(rows),
                ctx.k,
                _quoted(bad, "speedup"),
            )
        else:
            head = "none of %d scaling kernels is shown not to scale at %d threads" % (len(rows), ctx.k)
        out.append("On %s, %s (verdicts: %s)." % (ctx.who(env), head, _counts(every)))
    return out


def releases(ctx: Context) -> list[str]:
    """Per pair of free-threaded releases: the kernels whose speedup at the headline thread
    count rose or fell, as far as their intervals tell, the largest changes first; gated
    ones are neither counted nor quoted."""
    gains = ctx.analysis.scaling_gains
    if gains.empty:
        return []
    out = []
    rows = gains[(gains["workers"] == ctx.k) & (gains["problem"] == "")]
    for (env, base), pair in rows.groupby(["env", "baseline_env"], sort=False):
        up = pair[pair["gain_lo"] > 1].sort_values("gain", ascending=False)
        down = pair[pair["gain_hi"] < 1].sort_values("gain")
        bare = int(pair["gain_lo"].isna().sum())
        same = len(pair) - len(up) - len(down) - bare
        clauses = ["rose on %d%s" % (len(up), ": " + _quoted(up, "gain") if len(up) else "")]
        clauses.append("fell on %d%s" % (len(down), ": " + _quoted(down, "gain") if len(down) else ""))
        clauses += ["the interval contains 1 on %d" % same] if same else []
        clauses += ["%d have no interval" % bare] if bare else []
        out.append(
            "From %s to %s, of %d scaling kernels, the %d-thread speedup (%s's over %s's, paired by round) %s."
            % (ctx.who(base), ctx.who(env), len(pair), ctx.k, ctx.who(env), ctx.who(base), "; ".join(clauses))
        )
    return out
