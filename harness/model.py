"""The report's content: what one or more runs say, before any layout.

``build`` turns collected and analysed results into a ``Report``: the data, its
analysis, display labels, the charts (SVG, ``harness.charts``) and the findings
(sentences, ``harness.findings``).  ``views`` lays it out as sections and tables,
and ``report`` renders that as HTML; the docs extension renders the same view.  The
pipeline runs one way: collect -> analysis -> model -> views -> report / docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness import charts
from harness.analysis import AA_SUFFIX, Analysis, analyse, headline_workers, precision_summary
from harness.collect import RunData
from harness.findings import MEMORY_BAR, findings
from workloads.host import PROFILES

MACHINE_COLUMNS = ["machine", "hostname", "cpu_model", "cpu_count"]


@dataclass
class Chart:
    name: str
    title: str
    caption: str
    svg: str


@dataclass
class Report:
    """What a report is made of; ``publish`` reuses the same pieces."""

    data: RunData
    analysis: Analysis
    labels: dict[str, str]
    charts: list[Chart]
    findings: list[str]

    @property
    def derived(self) -> pd.DataFrame:
        return self.analysis.derived


def env_labels(benchmarks: pd.DataFrame) -> dict[str, str]:
    """A human name per env; an A/A twin (``--aa``) is named as such, not as its interpreter again."""
    first = benchmarks.drop_duplicates("env").set_index("env")
    return {
        env: charts.label(r["implementation"], r["version"], r["free_threaded_build"], r["python_gil_env"])
        + (" (A/A twin)" if env.endswith(AA_SUFFIX) else "")
        for env, r in first.iterrows()
    }


def timeline_captures(timelines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Which timelines to draw: the newest GIL CPython, the newest free-threaded one, PyPy."""

    def newest(pred: Any) -> list[dict[str, Any]]:
        chosen = [t for t in timelines if pred(t["interpreter"])]
        return sorted(chosen, key=lambda t: [int(p) for p in t["interpreter"]["version"].split(".")])[-1:]

    return (
        newest(lambda i: i["implementation"] == "cpython" and not i["free_threaded_build"])
        + newest(lambda i: i["implementation"] == "cpython" and not i["gil_enabled"])
        + newest(lambda i: i["implementation"] == "pypy")
    )


def role_workload(benchmarks: pd.DataFrame, role: str) -> str:
    """The workload that holds ``role`` (see ``@workload(roles=...)``), or ''."""
    held = benchmarks.loc[benchmarks["roles"].map(lambda r: role in r), "workload"]
    return str(held.iloc[0]) if len(held) else ""


def around_picks(benchmarks: pd.DataFrame) -> list[tuple[str, str]]:
    """(mode, workload) bars of "what gets around the GIL": the flagship loop in every
    parallel mode, the native loop releasing and holding the GIL."""
    flagship, native = role_workload(benchmarks, "flagship"), role_workload(benchmarks, "native")
    return [(m, flagship) for m in ("threads", "processes", "interpreters")] + [
        (m, native) for m in ("threads-nogil", "threads-holding-gil")
    ]


def _charts(data: RunData, analysis: Analysis, labels: dict[str, str]) -> list[Chart]:
    """The report's figures, most telling first; per-workload scaling curves last.

    Ratios that failed a sanity gate are left out of every chart: they are listed
    as measurement problems instead."""
    derived, out = analysis.derived, []
    if not derived.empty:
        derived = derived[derived["problem"] == ""]
    colors = charts.env_colors(list(labels))
    flagship = role_workload(data.benchmarks, "flagship")
    if not derived.empty:
        k = headline_workers(derived)
        caption = (
            "Speedup at %d workers for each way of running in parallel: threads over serial (one fresh thread), "
            "processes and interpreters over one worker of their own mode; error bars are 95%% intervals." % k
        )
        svg = charts.around_gil(derived, labels, k, around_picks(data.benchmarks))
        out.append(Chart("around-gil", "What gets around the GIL", caption, svg))
        if flagship in set(derived["workload"]):
            caption = (
                "Speedup against worker count, same total work split k ways (processes and interpreters over one "
                "worker of their mode); bands are 95% intervals. The dashed line is the most k workers can give on "
                "this machine: min(k, CPUs)."
            )
            svg = charts.scaling(derived, labels, colors, flagship)
            out.append(Chart("scaling-" + flagship, "Scaling: " + flagship, caption, svg))
            caption = (
                "Each thread's time spent not running (1 − its CPU time / the makespan): waiting for the GIL, a "
                "lock, or a CPU. The dashed line is what waiting for a CPU alone costs."
            )
            svg = charts.waiting(derived, labels, colors, flagship)
            out.append(Chart("waiting-" + flagship, "Why threads do not scale: " + flagship, caption, svg))
        caption = "The best speedup threads reached (any worker count) per interpreter and workload."
        out.append(Chart("heatmap", "Best thread speedup, every workload", caption, charts.heatmap(derived, labels)))
    if not analysis.overheads.empty:
        caption = (
            "Serial time of a free-threaded build over its matched default build, and with PYTHON_GIL=1 over the "
            "same free-threaded build."
        )
        svg = charts.overheads(analysis.overheads, labels, colors)
        out.append(Chart("overheads", "Free-threading and forced-GIL overhead", caption, svg))
        if (analysis.overheads["kind"] == "free-threading").any() and analysis.overheads["memory"].notna().any():
            caption = (
                "Peak memory (RSS) of the same serial benchmark processes, free-threaded build over its matched "
                "default build; the dashed line is PEP 779's bar for a supported free-threaded build."
            )
            svg = charts.memory(analysis.overheads, labels, colors, MEMORY_BAR)
            out.append(Chart("memory", "Free-threading memory overhead", caption, svg))
    if not analysis.latency.empty:
        caption = "Loopback echo latency while k threads spin in pure Python."
        svg = charts.convoy(analysis.latency, labels, colors)
        out.append(Chart("convoy", "Convoy effect: I/O latency beside CPU-bound threads", caption, svg))
    captures = timeline_captures(data.timelines)
    if captures:
        caption = "When each of two %s threads ran, from their own clocks (first %.0f ms)." % (
            captures[0].get("workload", "CPU-bound"),
            charts.TIMELINE_MS,
        )
        out.append(Chart("timeline", "GIL timeline", caption, charts.timeline(captures, labels)))
    others = sorted(set(derived["workload"]) - {flagship}) if not derived.empty else []
    for workload in others:
        svg = charts.scaling(derived, labels, colors, workload)
        out.append(Chart("scaling-" + workload, "Scaling: " + workload, "", svg))
    return out


def build(data: RunData, analysis: Analysis | None = None) -> Report:
    """Charts and findings of ``data``, from its ``analysis`` (analysed here when not given)."""
    analysis = analysis or analyse(data.benchmarks, data.envs, data.capacity)
    labels = env_labels(data.benchmarks)
    return Report(data, analysis, labels, _charts(data, analysis, labels), findings(data.benchmarks, analysis, labels))


def derived_csv(report: Report) -> pd.DataFrame:
    """``derived.csv``: a row per ratio, with the precision reached (``*_hw``, the 95%
    interval's relative half-width) and whether it met the profile's target.  Each row
    names its baseline (``baseline_name``); one pool worker or subinterpreter against
    serial is a row too, its ``speedup`` over serial."""
    derived = report.analysis.derived
    one = report.analysis.one_worker
    if not one.empty:  # one worker against serial: a ratio too, with serial as its baseline
        columns = {c: c.replace("vs_serial", "speedup") for c in one.columns if c.startswith("vs_serial")}
        derived = pd.concat([derived, one.rename(columns=columns)], ignore_index=True)
    if derived.empty:
        return derived
    out = derived.drop(columns=["tags", "roles"], errors="ignore").copy()
    targets = {PROFILES[p].precision for p in set(report.data.benchmarks["profile"]) if p in PROFILES}
    target = max(targets, default=0.0)
    out["precision_target"] = target or np.nan
    out["speedup_target_met"] = out["speedup_hw"] <= target if target else np.nan
    return out


def precision_context(analysis: Analysis, benchmarks: pd.DataFrame) -> dict[str, Any] | None:
    """The precision reached by the headline ratios, against the profile's target."""
    targets = {PROFILES[p].precision for p in set(benchmarks["profile"]) if p in PROFILES}
    target = max(targets, default=0.0)
    if not target:
        return None
    summary = precision_summary(analysis, target)
    missed = [
        "%s %s of %s: ±%s" % (r["kind"], r["name"], r["env"], "n/a" if pd.isna(r["hw"]) else "%.1f%%" % (100 * r["hw"]))
        for _, r in summary["widest"].iterrows()
    ]
    return {**summary, "missed": missed}
