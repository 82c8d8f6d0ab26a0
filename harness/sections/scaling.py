"""Scaling kernels: whether each kernel of the ``scaling`` family scales with threads on
each free-threaded build, in words decided on the speedup's interval; what its process
did, beside each verdict but "scales"; each free-threaded release against the previous
one, kernel by kernel; and the findings' sentences on both.

Reads ``Analysis.scaling`` (``scaling_table``) and ``Analysis.scaling_gains``; absent when
the run measured none of the family.  One row per kernel: each free-threaded build gets a
column group (speedup with its interval, efficiency, verdict); builds with a GIL, whose
threads take turns, a compact column each (the speedup, its interval on hover) and a note
counting their verdicts.  The reasons are long phrases, so they get a table of their own,
a row per kernel and build that does not scale, worst first, rather than a narrow column
per build (and on hover over each verdict).
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


def _speedup(row: dict[str, Any], fmt: str = "%.2f", unit: str = "×", scale: float = 1.0, **kw: Any) -> Estimate:
    """The speedup with its interval (× ``scale``), not flagged "not significant": whether it
    differs from 1 is the verdict's to say."""
    got = [value(row[c]) for c in ("speedup", "speedup_lo", "speedup_hi")]
    return Estimate(*(None if v is None else v * scale for v in got), None, fmt=fmt, unit=unit, **kw)


def _efficiency(row: dict[str, Any]) -> Estimate | Text:
    """Speedup / k as a percentage, its interval on hover; nothing for a gated speedup,
    whose cell beside it says why."""
    if row["problem"]:
        return Text("")
    return _speedup(row, "%.0f", "%", 100.0 / float(row["workers"]), brief=True)


def _verdict(row: dict[str, Any], hover: bool = True) -> Text:
    """The verdict's words; with ``hover``, its reason, where it has one, as detail (a hover
    in HTML, appended on paper)."""
    if row["problem"]:
        return Text("not judged", detail="the speedup failed a sanity gate: " + row["problem"], tone="muted")
    return Text(row["verdict_text"], detail=row["reason"] if hover else "", tone=TONES.get(row["verdict"], ""))


def _group(row: dict[str, Any] | None) -> list[Any]:
    """A free-threaded build's cells at one thread count: speedup, efficiency, verdict."""
    if row is None:
        return [Text("")] * 3
    return [_speedup(row, problem=row["problem"], brief=bool(row["problem"])), _efficiency(row), _verdict(row)]


def _compact(row: dict[str, Any] | None) -> Any:
    """A GIL build's cell: the speedup alone, its interval on hover."""
    return Text("") if row is None else est(row, "speedup", problem=row["problem"], brief=True)


def _verdict_table(ctx: Context, table: pd.DataFrame) -> Table:
    """One row per kernel; per free-threaded build a column group (speedup, efficiency and
    verdict at each worker count), per other build one speedup column per count."""
    free = table[_free(table)]
    locked = table[~_free(table)]
    counts = sorted(set(table["workers"]))
    cells = {(r["env"], _kernel(r), r["workers"]): r for r in records(table)}
    columns = ["kernel"]
    for env in _envs(ctx, free):
        for k in counts:
            columns += ["%s, %d threads" % (ctx.who(env), k), "efficiency", "verdict"]
    columns += ["%s, %d threads" % (ctx.who(env), k) for env in _envs(ctx, locked) for k in counts]
    rows = []
    for kernel in sorted({_kernel(r) for r in cells.values()}):
        row: list[Any] = [Text(kernel)]
        row += [c for env in _envs(ctx, free) for k in counts for c in _group(cells.get((env, kernel, k)))]
        row += [_compact(cells.get((env, kernel, k))) for env in _envs(ctx, locked) for k in counts]
        rows.append(Row(row))
    return Table("scaling", columns, rows)


def _reason_table(ctx: Context, table: pd.DataFrame) -> Table | None:
    """A row per kernel and free-threaded build whose verdict is not "scales", worst first:
    its verdict beside what its process recorded at one thread and at N."""
    wanting = table[_free(table) & (table["reason"] != "") & (table["problem"] == "")]
    if wanting.empty:
        return None
    rows = [
        Row([Text(ctx.who(r["env"])), Text(_kernel(r)), _speedup(r), _verdict(r, hover=False), Text(r["reason"])])
        for env in _envs(ctx, wanting)
        for r in records(wanting[wanting["env"] == env].sort_values(["speedup", "workload", "workers"]))
    ]
    return Table("scaling-reasons", ["interpreter", "kernel", "speedup (95% CI)", "verdict", "why not"], rows)


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


def _rule(table: pd.DataFrame) -> Paragraph:
    """How the verdicts were decided, with the scaling cut of each thread count."""
    cuts = sorted({(int(k), round(float(c), 2)) for k, c in table[["workers", "scaling_cut"]].itertuples(index=False)})
    return p(
        "Each verdict is decided on the speedup's 95%% interval, never on its point: scales where the whole "
        "interval lies above half of the gain the machine allowed (%s), partly between 1.1× and there, does not "
        "scale where it holds 1 or ends by 1.1×, slower than serial where it lies below 1, undecided where it "
        "spans two of these; an interval may overhang a cut by 2%%. Efficiency: the speedup over the thread "
        "count; hover a verdict for why not." % "; ".join("%.2f× at %d threads" % (c, k) for k, c in cuts),
        meta=True,
    )


def _notes(ctx: Context, table: pd.DataFrame) -> list[Paragraph]:
    out = []
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
    if (_free(table) & (table["reason"] != "")).any():
        out.append(
            p(
                "Why not: what the kernel's benchmark processes recorded at N threads and, in parentheses, at "
                "one: the share of the time its threads waited (for a core, or for a lock), the garbage "
                "collections started while a value was timed and their pause, and the resident set's growth "
                "across a value, means over rounds. No interpreter here counts lock contention: CPython does "
                "only in a --enable-pystats build.",
                meta=True,
            )
        )
    return out


def _gains_section(ctx: Context, gains: pd.DataFrame, table: pd.DataFrame) -> list[Section]:
    """A subsection per pair of releases: each kernel's speedups on both and their ratio."""
    if gains.empty:
        return []
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
                        *(_speedup(s, problem=s["problem"], brief=bool(s["problem"])) for s in sides),
                        est(r, "gain", problem=r["problem"], brief=bool(r["problem"])),
                        Text(_change(r)),
                    ],
                    muted=not r["gain_significant"] or bool(r["problem"]),
                )
            )
        columns = [
            "kernel",
            "threads",
            old + " speedup",
            new + " speedup",
            "%s over %s (95%% CI)" % (new, old),
            "change",
        ]
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
            paragraphs=[intro, _rule(table)],
            tables=[t for t in (_verdict_table(ctx, table), _reason_table(ctx, table)) if t is not None],
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
