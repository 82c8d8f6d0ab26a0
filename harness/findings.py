"""Findings: the numbers as plain sentences, most telling first.

Every sentence quotes a ratio with its 95% interval, and says "not significant"
when the interval contains 1: noise is never reported as a finding.  A ratio that
failed a sanity gate (``analysis.derive``'s ``problem``) is never quoted.  Workloads
are picked by role (the ``roles`` of ``@workload``), never by name.  Each section
returns nothing when the run lacks the data it needs, so a partial run (say, no
free-threaded build) still reads correctly.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from harness.analysis import (
    DEFAULT_SWITCH_MS,
    PEP779_MEMORY_BAR,
    PEP779_TIME_BAR,
    Analysis,
    aa_summary,
    headline_workers,
    provenance_problems,
)
from workloads.host import gil_forced

MEMORY_BAR = PEP779_MEMORY_BAR  # PEP 779: a supported free-threaded build uses at most 20% more memory
KIND_NAMES = {"free-threading": "Free-threading", "forced GIL": "Forced-GIL"}


def fmt(value: float, lo: float, hi: float, significant: bool | None = None) -> str:
    """``1.86× (95% CI 1.80–1.91)``, with ``not significant`` where the CI contains 1."""
    if pd.isna(value):
        return "n/a"
    if pd.isna(lo) or pd.isna(hi):
        return "%.2f× (no interval: too few rounds)" % value
    text = "%.2f× (95%% CI %.2f–%.2f" % (value, lo, hi)
    return text + (", not significant)" if significant is False else ")")


def _r(row: pd.Series, prefix: str) -> str:
    return fmt(row[prefix], row[prefix + "_lo"], row[prefix + "_hi"], bool(row[prefix + "_significant"]))


def _ms(seconds: float) -> str:
    return "%.2f ms" % (seconds * 1e3) if seconds < 0.1 else "%.0f ms" % (seconds * 1e3)


def _ms_span(seconds: pd.Series) -> str:
    low, high = _ms(seconds.min()), _ms(seconds.max())
    return low if low == high else "%s–%s" % (low.replace(" ms", ""), high)


def _span(values: pd.Series) -> str:
    low, high = values.min(), values.max()
    return "%.2f×" % low if round(low, 2) == round(high, 2) else "%.2f–%.2f×" % (low, high)


def _g(row: pd.Series, prefix: str) -> str:
    """A geometric mean of ``analysis.pyperformance_geomeans`` as ``fmt`` writes a ratio."""
    lo, hi = row[prefix + "_lo"], row[prefix + "_hi"]
    return fmt(row[prefix], lo, hi, None if pd.isna(lo) else bool(lo > 1.0 or hi < 1.0))


def _bar(verdict: str, bar: float) -> str:
    """PEP 779's verdict, said only when the whole interval is on one side of ``bar``."""
    limit = "PEP 779's bar of %.0f%% more" % (100 * (bar - 1))
    if verdict == "within":
        return "within " + limit
    if verdict == "above":
        return "above " + limit
    if verdict == "undecided":
        return "the interval straddles %s, so no verdict" % limit
    return "no interval, so no verdict against %s" % limit


class _Writer:
    """Sentences for one collection of runs; one method per topic."""

    def __init__(self, benchmarks: pd.DataFrame, analysis: Analysis, labels: dict[str, str]) -> None:
        self.bench = benchmarks
        self.a = analysis
        self.labels = labels
        self.k = headline_workers(analysis.derived)
        first = benchmarks.drop_duplicates("workload").set_index("workload")
        self.tags, self.roles = first["tags"], first["roles"]

    def role(self, role: str) -> str:
        """The workload holding ``role`` in these runs ('' when none does)."""
        return next((w for w, roles in self.roles.items() if role in roles), "")

    def who(self, env: str) -> str:
        return self.labels.get(env, env)

    def tagged(self, tag: str) -> list[str]:
        return sorted(w for w, tags in self.tags.items() if tag in tags and "latency" not in tags)

    def at(self, workload: str | list[str], mode: str) -> pd.DataFrame:
        """Derived rows at the headline worker count, for one workload or several."""
        d = self.a.derived
        names = [workload] if isinstance(workload, str) else workload
        return d[
            (d["params"] == "")
            & d["workload"].isin(names)
            & (d["mode"] == mode)
            & (d["workers"] == self.k)
            & (d["problem"] == "")
        ]

    def overhead(self, env: str, workload: str, kind: str) -> pd.Series | None:
        o = self.a.overheads
        if o.empty:
            return None
        rows = o[(o["env"] == env) & (o["workload"] == workload) & (o["kind"] == kind) & (o["params"] == "")]
        return None if rows.empty else rows.iloc[0]

    def gil_flags(self) -> list[str]:
        b = self.bench
        flagged = b[b["free_threaded_build"] & b["gil_enabled"] & ~b["python_gil_env"].map(gil_forced)]
        return [
            "Warning: on %s, %d benchmark(s) ran with the GIL enabled although the build is free-threaded and "
            "PYTHON_GIL is not set (%s): an imported extension switched it back on."
            % (self.who(env), len(group), ", ".join(sorted(set(group["workload"]))))
            for env, group in flagged.groupby("env")
        ]

    def provenance(self) -> list[str]:
        return ["Warning: %s; its ratios compare different code." % p for p in provenance_problems(self.bench)]

    def gil_threads(self) -> list[str]:
        rows = self.at(self.role("flagship"), "threads")
        out = []
        gil = rows[rows["gil_enabled"]].sort_values("speedup")
        if not gil.empty:
            each = ", ".join("%s %.2f×" % (self.who(r["env"]), r["speedup"]) for _, r in gil.iterrows())
            above = gil[gil["speedup_significant"] & (gil["speedup"] > 1.1)]
            caveat = (
                " Above 1.1×, %s: more than a lock that lets one thread run at a time allows, so read it as the "
                "machine's noise (see the intervals)." % ", ".join(self.who(e) for e in above["env"])
                if len(above)
                else ""
            )
            out.append(
                "Under the GIL, %d threads run %s at %s the speed of one thread (%s): they take turns.%s"
                % (self.k, self.role("flagship"), _span(gil["speedup"]), each, caveat)
            )
        for _, row in rows[~rows["gil_enabled"]].iterrows():
            verdict = "they run in parallel" if row["speedup"] >= 1.5 and row["speedup_significant"] else "little gain"
            out.append(
                "Without the GIL, on %s, %d threads run %s %s faster than one: %s."
                % (self.who(row["env"]), self.k, self.role("flagship"), _r(row, "speedup"), verdict)
            )
        return out

    def across_cpu(self) -> list[str]:
        cpu = self.tagged("cpu")
        rows = self.at(cpu, "threads")
        parts = []
        for env, group in rows.groupby("env", sort=False):
            scaled = group[(group["speedup"] >= 1.5) & group["speedup_significant"]]
            parts.append(
                "%s %d of %d (median %.2f×)" % (self.who(env), len(scaled), len(group), group["speedup"].median())
            )
        if not parts:
            return []
        return [
            "Across the %d per-thread CPU workloads, %d threads reached at least 1.5× on: %s."
            % (len(cpu), self.k, "; ".join(parts))
        ]

    def processes(self) -> list[str]:
        rows = self.at(self.role("flagship"), "processes")
        if rows.empty:
            return []
        caveat = "" if rows["speedup_significant"].all() else " (some not significant)"
        over = "one pool worker" if (rows["baseline_name"] != rows["serial_name"]).all() else "serial"
        return [
            "multiprocessing.Pool with %d processes ran %s %s faster than %s on the %d interpreters%s. Each "
            "process has its own interpreter and its own GIL."
            % (self.k, self.role("flagship"), _span(rows["speedup"]), over, len(rows), caveat)
        ]

    def net(self) -> list[str]:
        rows = self.at(self.role("flagship"), "threads")
        if "net_speedup" not in rows:
            return []
        rows = rows[
            rows["free_threaded_build"]
            & ~rows["python_gil_env"].map(gil_forced)
            & rows["net_speedup"].notna()
            & (rows["net_baseline_env"] != rows["env"])
        ]
        out = []
        for _, row in rows.iterrows():
            base = self.who(row["net_baseline_env"])
            over = self.overhead(row["env"], self.role("flagship"), "free-threading")
            because = (
                "" if over is None else ", because one thread takes %s of %s's time" % (_r(over, "overhead"), base)
            )
            matched = "" if row["net_matched"] else " (not a matched build: versions differ)"
            out.append(
                "Net gain on %s: %d threads run %s %s faster than one, but %s faster than %s on one thread%s%s."
                % (
                    self.who(row["env"]),
                    self.k,
                    self.role("flagship"),
                    _r(row, "speedup"),
                    _r(row, "net_speedup"),
                    base,
                    matched,
                    because,
                )
            )
        return out

    def overhead_summary(self) -> list[str]:
        o = self.a.overheads
        if o.empty:
            return []
        out = []
        for (kind, env), group in o[o["params"] == ""].groupby(["kind", "env"], sort=False):
            low, high = group.loc[group["overhead"].idxmin()], group.loc[group["overhead"].idxmax()]
            out.append(
                "%s overhead of %s vs %s (serial time ratio, >1 = slower): median %.2f× over %d workloads, from "
                "%.2f× (%s) to %.2f× (%s)."
                % (
                    KIND_NAMES[kind],
                    self.who(env),
                    self.who(group.iloc[0]["baseline_env"]),
                    group["overhead"].median(),
                    len(group),
                    low["overhead"],
                    low["workload"],
                    high["overhead"],
                    high["workload"],
                )
            )
        return out

    def pyperformance(self) -> list[str]:
        """One sentence per free-threaded build: its pyperformance geometric means, time and
        memory, against its matched default build and PEP 779's bars."""
        geo = self.a.geomeans
        if geo.empty:
            return []
        out = []
        for _, row in geo[geo["kind"] == "free-threading"].iterrows():
            memory = (
                "%s its peak memory (%s)" % (_g(row, "memory"), _bar(row["memory_verdict"], PEP779_MEMORY_BAR))
                if pd.notna(row["memory"])
                else "its peak memory could not be measured"
            )
            matched = "" if row["matched"] else " (not a matched build)"
            out.append(
                "On %d pyperformance benchmarks, %s takes %s the time of %s%s (geometric mean over %d rounds; %s) "
                "and %s."
                % (
                    row["benchmarks"],
                    self.who(row["env"]),
                    _g(row, "time"),
                    self.who(row["baseline_env"]),
                    matched,
                    row["time_rounds"],
                    _bar(row["time_verdict"], PEP779_TIME_BAR),
                    memory,
                )
            )
        return out

    def native(self) -> list[str]:
        native = self.role("native")
        nogil, holding = self.at(native, "threads-nogil"), self.at(native, "threads-holding-gil")
        out = []
        for gil, label in ((True, "GIL builds"), (False, "free-threaded builds")):
            free = nogil[nogil["gil_enabled"] == gil]["speedup"]
            held = holding[holding["gil_enabled"] == gil]["speedup"]
            if free.empty or held.empty:
                continue
            out.append(
                "Native code on %s: a Cython C loop that releases the GIL runs %s faster on %d threads; the same "
                "loop holding the GIL runs at %s%s."
                % (label, _span(free), self.k, _span(held), "" if gil else " (there is no GIL to hold)")
            )
        return out

    def contention(self) -> list[str]:
        rows = self.at(self.tagged("contention"), "threads")
        free = rows[~rows["gil_enabled"]]
        if free.empty:
            return []
        worst = free.loc[free["speedup"].idxmin()]
        gil = rows[rows["gil_enabled"] & (rows["workload"] == worst["workload"])]["speedup"]
        tail = " On GIL builds the same ran at %s." % _span(gil) if len(gil) else ""
        return [
            "Shared-state contention: on %s, %d threads doing %s run at %s of serial speed — contended objects get "
            "slower without the GIL.%s"
            % (self.who(worst["env"]), self.k, worst["workload"], _r(worst, "speedup"), tail)
        ]

    def io(self) -> list[str]:
        io = self.tagged("io")
        rows = self.at(io, "threads")
        if rows.empty:
            return []
        return [
            "Blocking I/O (%s) scales with threads on every interpreter, GIL or not: %d threads ran %s faster, "
            "because a thread blocked in I/O releases the GIL." % (", ".join(io), self.k, _span(rows["speedup"]))
        ]

    def convoy(self) -> list[str]:
        """One sentence: echo latency with the fewest CPU-bound threads measured, by kind of build."""
        lat = self.a.latency
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

    def memory(self) -> list[str]:
        """Peak memory of the free-threaded build against its partner, held against PEP 779's bar."""
        o = self.a.overheads
        if o.empty or "memory" not in o:
            return []
        out = []
        rows = o[(o["kind"] == "free-threading") & (o["params"] == "") & o["memory"].notna()]
        for env, group in rows.groupby("env", sort=False):
            over = group[group["memory_lo"] > MEMORY_BAR]
            worst = group.loc[group["memory"].idxmax()]
            out.append(
                "Peak memory (RSS of the benchmark process) of %s vs %s: median %.2f×, at most %s for %s; %s."
                % (
                    self.who(env),
                    self.who(group.iloc[0]["baseline_env"]),
                    group["memory"].median(),
                    _r(worst, "memory"),
                    worst["workload"],
                    "%d of %d workloads are above PEP 779's bar of 20%% more memory" % (len(over), len(group))
                    if len(over)
                    else "every workload is within PEP 779's bar of 20% more memory (or not significantly above it)",
                )
            )
        return out

    def objects(self) -> list[str]:
        """Bytes per object of the free-threaded build against its matched default build."""
        o = self.a.objects
        if o.empty:
            return []
        out = []
        for env, group in o[o["vs_default"].notna()].groupby("env", sort=False):
            parts = [
                "%s %.0f B vs %.0f B, %s"
                % (
                    r["workload"],
                    r["bytes"],
                    r["baseline_bytes"],
                    _r(r, "vs_default"),
                )
                for _, r in group.iterrows()
            ]
            out.append(
                "Memory per object held, %s vs %s: %s."
                % (self.who(env), self.who(group.iloc[0]["baseline_env"]), "; ".join(parts))
            )
        return out

    def waiting(self) -> list[str]:
        """Why threads do not scale: the share of thread time spent not running."""
        rows = self.at(self.role("flagship"), "threads").dropna(subset=["waiting"])
        if rows.empty:
            return []
        parts = ["%s %.0f%%" % (self.who(r["env"]), 100 * r["waiting"]) for _, r in rows.iterrows()]
        return [
            "Time spent waiting: with %d threads running %s, each thread spent this share of the run not running "
            "(for the GIL, a lock or a CPU): %s." % (self.k, self.role("flagship"), ", ".join(parts))
        ]

    def problems(self) -> list[str]:
        bad = sum(int((f["problem"] != "").sum()) for f in (self.a.derived, self.a.one_worker) if not f.empty)
        if not bad:
            return []
        return [
            "%d ratio(s) failed a sanity gate (above the physical limit, or one worker not within 5%% of serial) "
            "and are shown as measurement problems, not results." % bad
        ]

    def aa(self) -> list[str]:
        """The A/A figure: how often an interval excludes 1 when nothing differs."""
        aa = aa_summary(self.a.aa)
        if aa is None:
            return []
        return [
            "A/A calibration: %s measured twice in the same rounds; %d of %d 95%% intervals exclude 1 (%.1f%%; a "
            "calibrated method excludes about 5%%), median precision ±%.1f%%."
            % (", ".join(aa["envs"]), aa["excluding"], aa["n"], 100 * aa["share"], 100 * aa["median_hw"])
        ]

    def noise(self) -> list[str]:
        d = self.a.derived
        rated = d[d["speedup_lo"].notna()]
        if rated.empty:
            return ["No speedup has an interval: one round per benchmark cannot say how sure a number is."]
        ns = int((~rated["speedup_significant"]).sum())
        return [
            "%d of %d speedups are not significant (their 95%% interval contains 1): read them as “no measurable "
            "difference”, not as small gains or losses." % (ns, len(rated))
        ]


SECTIONS: tuple[Callable[[_Writer], list[str]], ...] = (
    _Writer.provenance,
    _Writer.gil_flags,
    _Writer.gil_threads,
    _Writer.across_cpu,
    _Writer.processes,
    _Writer.net,
    _Writer.overhead_summary,
    _Writer.pyperformance,
    _Writer.native,
    _Writer.contention,
    _Writer.io,
    _Writer.convoy,
    _Writer.memory,
    _Writer.objects,
    _Writer.waiting,
    _Writer.problems,
    _Writer.aa,
    _Writer.noise,
)


def findings(benchmarks: pd.DataFrame, analysis: Analysis, labels: dict[str, str]) -> list[str]:
    """All findings for a collection of runs, in reading order."""
    if analysis.derived.empty:
        return []
    writer = _Writer(benchmarks, analysis, labels)
    return [sentence for section in SECTIONS for sentence in section(writer)]
