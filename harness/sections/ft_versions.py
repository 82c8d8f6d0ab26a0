"""What changed from one free-threaded minor version to the next (3.13t → 3.14t).

Per workload and mode, each free-threaded build's speed against its own default build at
one worker and at the headline worker count, and the ratio of the two
(``analysis.ft_versions``); the two pairs' pyperformance geometric means against PEP 779's
bars and their memory per object, side by side; the published figures beside ours, each
with its build and machine; and the findings' sentences on the flagship loop and across
the workloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.analysis import PEP779_MEMORY_BAR, PEP779_TIME_BAR, VersionPair
from harness.page import Row, Section, Table, Text
from harness.sections._cells import bar_verdict, est, geomean_cell, p, records, said
from harness.sections._context import Context


@dataclass(frozen=True)
class Published:
    """A figure someone published for the cost of free threading, with what it measured."""

    figure: str
    interpreter: str
    build: str
    machine: str
    source: str
    url: str


# Each read at its source; docs/gil.md quotes the same ones.
PUBLISHED = (
    Published(
        "about 40% on pyperformance",
        "3.13t vs 3.13",
        "not stated",
        "not stated",
        "the free-threading HOWTO for 3.13",
        "https://docs.python.org/3.13/howto/free-threading-python.html",
    ),
    Published(
        "roughly 5–10% on single-threaded code, depending on platform and C compiler",
        "3.14t vs 3.14",
        "not stated",
        "not stated",
        "What's New in Python 3.14",
        "https://docs.python.org/3.14/whatsnew/3.14.html",
    ),
    Published(
        "pyperformance average from about 1% to 8%",
        "3.14t vs 3.14",
        "not stated",
        "1% on macOS aarch64, 8% on x86-64 Linux",
        "the free-threading HOWTO for 3.14",
        "https://docs.python.org/3.14/howto/free-threading-python.html",
    ),
    Published(
        "bars for supported status: at most 15% time and 20% memory (pyperformance geometric means); "
        "about 10% (macOS about 3%) and 15–20% memory when written",
        "3.14 development branch",
        "not stated",
        "the Faster CPython and Meta benchmark runs",
        "PEP 779",
        "https://peps.python.org/pep-0779/",
    ),
    Published(
        "1.096× time, 1.20× memory (pyperformance geometric means)",
        "3.15.0a0t vs 3.15.0a0, commit 880c952 (2025-10-04)",
        "PGO + full LTO, GCC 11.4",
        "x86-64 Linux, Intel Core i9-12900",
        "Faster CPython's public benchmark results",
        "https://github.com/faster-cpython/benchmarking-public",
    ),
    Published(
        "1.026× time (pyperformance geometric mean)",
        "3.15.0a0t vs 3.15.0a0, commit d3d94e0 (2025-08-30)",
        "PGO + full LTO",
        "macOS arm64",
        "Faster CPython's public benchmark results",
        "https://github.com/faster-cpython/benchmarking-public",
    ),
)

NOTE = (
    "Each free-threaded build against its own default build, so that what changed is the cost of free "
    "threading, not the speed of one version over the other. A figure is the default build's serial time over "
    "the free-threaded build's time at that worker count, per unit of work: at 1 worker in serial, the inverse of "
    "the free-threading overhead; at %d workers, the net speedup (what switching builds gains). The last column "
    "is the newer build's figure over the older one's (>1: the newer keeps more of what its default build does), "
    "computed round by round over the rounds all four benchmarks share, with its 95%% interval over those rounds."
)


UNMATCHED = (
    "%s or %s is compared with a default build that is not its matched build (another version, or other "
    "flags): its figures hold whatever else differs between the two interpreters."
)


def _build(ctx: Context, envs: list[str]) -> str:
    """Compiler and PGO/LTO of ``envs`` as their interpreters recorded them."""
    rows = ctx.report.data.envs
    if rows.empty or "pgo" not in rows:
        return "not recorded"
    rows = rows[rows["env"].isin(envs)]
    flags = {
        "%s, %s, %s" % (c or "compiler not recorded", "PGO" if pgo else "no PGO", "LTO" if lto else "no LTO")
        for c, pgo, lto in rows[["compiler", "pgo", "lto"]].itertuples(index=False)
    }
    return "; ".join(sorted(flags)) or "not recorded"


def _machine(ctx: Context) -> str:
    bench = ctx.report.data.benchmarks
    machines = bench.drop_duplicates("machine") if "machine" in bench else bench.iloc[:0]
    return "; ".join("%s, %s CPUs" % (m["cpu_model"], m["cpu_count"]) for m in records(machines)) or "not recorded"


def _side_by_side(ctx: Context, pair: VersionPair) -> list[Row]:
    """pyperformance geometric means and bytes per object of the two pairs, a column each."""
    rows: list[Row] = []
    sides = (pair.old, pair.new)
    geo = ctx.analysis.geomeans
    if not geo.empty:
        ft = {(r["run_id"], r["env"]): r for r in records(geo[geo["kind"] == "free-threading"])}
        got = [ft.get((pair.run_id, env)) for env in sides]
        if any(got):
            for label, prefix, bar in (
                ("pyperformance time, geometric mean", "time", PEP779_TIME_BAR),
                ("pyperformance peak memory, geometric mean", "memory", PEP779_MEMORY_BAR),
            ):
                rows.append(Row([Text(label), *(geomean_cell(g, prefix) if g else MISSING for g in got)]))
                verdicts = [bar_verdict(g[prefix + "_verdict"], bar) if g else Text("") for g in got]
                rows.append(Row([Text("PEP 779, " + prefix), *verdicts]))
    objects = ctx.analysis.objects
    if not objects.empty:
        held = objects[(objects["run_id"] == pair.run_id) & objects["env"].isin(sides) & objects["vs_default"].notna()]
        for workload, group in held.groupby("workload", sort=True):
            by_env = {r["env"]: r for r in records(group)}
            cells = [_bytes(by_env[env]) if env in by_env else MISSING for env in sides]
            rows.append(Row([Text("%s: bytes per object, free-threaded / default" % workload), *cells]))
    return rows


MISSING = Text("not measured", tone="muted")


def _bytes(row: dict[str, Any]) -> Text:
    return Text("%.0f B vs %.0f B: %s" % (row["bytes"], row["baseline_bytes"], said(row, "vs_default")))


def _each(ctx: Context, frame: pd.DataFrame) -> list[tuple[VersionPair, pd.DataFrame]]:
    """The version pairs the analysis compared, in order, each with its rows of ``frame``
    (``analysis.versions``, or the part of it a sentence may quote)."""
    v = ctx.analysis.versions
    if v.empty:
        return []
    columns = ["run_id", "old_env", "old_baseline_env", "env", "baseline_env", "matched"]
    out = []
    for run_id, old, old_default, new, new_default, matched in v[columns].drop_duplicates().itertuples(index=False):
        pair = VersionPair(run_id, old, old_default, new, new_default, bool(matched))
        out.append((pair, frame[(frame["run_id"] == run_id) & (frame["env"] == new) & (frame["old_env"] == old)]))
    return out


def _rows(group: pd.DataFrame) -> list[Row]:
    """A row per benchmark: the two builds' figures (brief) and their ratio; a gated one
    (either side's speedup failed a sanity gate) muted, with the reason on the ratio."""
    return [
        Row(
            [
                Text(r["workload"] + (" [%s]" % r["params"] if r["params"] else "")),
                Text(r["mode"]),
                Text(str(r["workers"])),
                est(r, "old", brief=True),
                est(r, "new", brief=True),
                est(r, "change", problem=r["problem"]),
            ],
            muted=bool(r["problem"]) or not r["change_significant"],
        )
        for r in records(group)
    ]


def _published(ctx: Context, pairs: list[VersionPair]) -> Section:
    """The published figures, and ours with the build flags and machine the run recorded."""
    envs = [e for pair in pairs for e in (pair.old, pair.old_default, pair.new, pair.new_default)]
    ours = Row(
        [
            Text("the tables above"),
            Text(", ".join("%s vs %s" % (ctx.who(e), ctx.who(d)) for e, d in zip(envs[::2], envs[1::2]))),
            Text(_build(ctx, envs)),
            Text(_machine(ctx)),
            Text("gilbench, this run"),
        ]
    )
    theirs = [
        Row([Text(f.figure), Text(f.interpreter), Text(f.build), Text(f.machine), Text(f.source, detail=f.url)])
        for f in PUBLISHED
    ]
    note = (
        "What others measured, each with its interpreter, build and machine. They come from different machines, "
        "builds and benchmark sets: read them beside ours, not as one series. PGO and LTO speed up both builds of "
        "a pair, not necessarily by the same factor."
    )
    columns = ["figure", "interpreter", "build", "machine", "source"]
    return Section(
        "ft-versions-published",
        "Published figures beside ours",
        paragraphs=[p(note, True)],
        tables=[Table("published", columns, [ours, *theirs])],
    )


def build(ctx: Context) -> list[Section]:
    out = []
    each = _each(ctx, ctx.analysis.versions)
    for pair, mine in each:
        old, new = ctx.who(pair.old), ctx.who(pair.new)
        columns = [
            "workload",
            "mode",
            "workers",
            "%s vs %s serial" % (old, ctx.who(pair.old_default)),
            "%s vs %s serial" % (new, ctx.who(pair.new_default)),
            "%s / %s (95%% CI)" % (new, old),
        ]
        headline = mine["mode"].isin(["serial", "threads"])
        unmatched = [] if pair.matched else [p(UNMATCHED % (old, new))]
        section = Section(
            "ft-versions" if not out else "ft-versions-%d" % (len(out) + 1),
            "What changed from %s to %s" % (old, new),
            paragraphs=[p(NOTE % ctx.k, True), *unmatched],
            tables=[Table("ft-versions", columns, _rows(mine[headline]))],
        )
        if (~headline).any():
            rest = mine[~headline].sort_values(["mode", "workers", "workload"])
            section.subsections.append(
                Section(
                    section.id + "-modes",
                    "Other modes (%d rows)" % len(rest),
                    tables=[Table("ft-versions", columns, _rows(rest))],
                    collapsed=True,
                )
            )
        side = _side_by_side(ctx, pair)
        if side:
            section.subsections.append(
                Section(
                    section.id + "-pyperformance",
                    "pyperformance and memory per object, side by side",
                    tables=[Table("ft-versions-side", ["", old, new], side)],
                )
            )
        out.append(section)
    if out:
        out[-1].subsections.append(_published(ctx, [pair for pair, _ in each]))
    return out


# -- sentences -----------------------------------------------------------------------------


def sentences(ctx: Context) -> list[str]:
    """Per version pair: the flagship loop on one thread and on k threads, each build
    against its own default build; then on how many workloads one thread keeps more or
    less of its default build's speed.  Rows with params or a gated speedup are not quoted."""
    v = ctx.analysis.versions
    if v.empty:
        return []
    flagship = ctx.role("flagship")
    out = []
    for pair, mine in _each(ctx, v[(v["params"] == "") & (v["problem"] == "")]):
        old, new = ctx.who(pair.old), ctx.who(pair.new)
        old_default, new_default = ctx.who(pair.old_default), ctx.who(pair.new_default)
        serial = mine[mine["mode"] == "serial"]
        one = serial[serial["workload"] == flagship]
        if not one.empty:
            r = one.iloc[0]
            text = (
                "%s runs %s on one thread at %s the speed of %s, where %s ran it at %s the speed of %s: "
                "%s as much of its default build's speed"
                % (new, flagship, said(r, "new"), new_default, old, said(r, "old"), old_default, said(r, "change"))
            )
            threads = mine[(mine["workload"] == flagship) & (mine["mode"] == "threads") & (mine["workers"] == ctx.k)]
            if not threads.empty:
                t = threads.iloc[0]
                text += "; with %d threads it runs %s faster than one thread of %s, %s %s: %s" % (
                    ctx.k,
                    said(t, "new"),
                    new_default,
                    old,
                    said(t, "old"),
                    said(t, "change"),
                )
            out.append(text + ("." if pair.matched else " (not matched builds: versions or flags differ)."))
        if len(serial) > 1:
            up = serial[serial["change_significant"] & (serial["change"] > 1)]
            down = serial[serial["change_significant"] & (serial["change"] < 1)]
            out.append(
                "On one thread, against its own default build, %s keeps significantly more speed than %s on %d of "
                "the %d workloads both measured and less on %d (median %.2f×); the others do not differ significantly."
                % (new, old, len(up), len(serial), len(down), serial["change"].median())
            )
    return out
