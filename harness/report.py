"""Render: collected + analysed results -> one self-contained HTML file.

Charts are inlined SVG and the stylesheet is inlined, so the file works from
``file://`` and offline.  Jinja2 autoescaping is on: every string that came from a
results file (hostnames, metadata, error text) is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from harness import charts
from harness.analysis import Analysis, aa_summary, analyse, headline_workers, precision_summary
from harness.collect import RunData, summary_frame
from harness.findings import MEMORY_BAR, findings
from workloads._registry import PROFILES

TEMPLATES = Path(__file__).parent / "templates"
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
    first = benchmarks.drop_duplicates("env").set_index("env")
    return {
        env: charts.label(r["implementation"], r["version"], r["free_threaded_build"], r["python_gil_env"])
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
    """The workload that holds ``role`` (see ``workloads._registry.ROLES``), or ''."""
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
        caption = "Speedup at %d workers for each way of running in parallel; error bars are 95%% intervals." % k
        svg = charts.around_gil(derived, labels, k, around_picks(data.benchmarks))
        out.append(Chart("around-gil", "What gets around the GIL", caption, svg))
        if flagship in set(derived["workload"]):
            caption = (
                "Speedup against worker count, same total work split k ways; bands are 95% intervals. The dashed "
                "line is the most k workers can give on this machine: min(k, CPUs)."
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


def build(data: RunData) -> Report:
    analysis = analyse(data.benchmarks, data.envs)
    labels = env_labels(data.benchmarks)
    return Report(data, analysis, labels, _charts(data, analysis, labels), findings(data.benchmarks, analysis, labels))


def at_workers(derived: pd.DataFrame, labels: dict[str, str], workers: int) -> list[dict[str, Any]]:
    """One table per mode at ``workers``: a row per workload, a cell per interpreter."""
    if derived.empty:
        return []
    d = derived[(derived["workers"] == workers) & (derived["params"] == "")]
    envs = sorted(set(d["env"]), key=lambda e: charts.natural_key(labels.get(e, e)))
    tables = []
    for mode in [m for m in charts.MODE_STYLE if m in set(d["mode"])]:
        rows = []
        for workload, group in d[d["mode"] == mode].groupby("workload"):
            by_env = group.set_index("env")
            rows.append(
                {"workload": workload,
                 "cells": [by_env.loc[e].to_dict() if e in by_env.index else None for e in envs]}
            )  # fmt: skip
        tables.append({"mode": mode, "interpreters": [labels.get(e, e) for e in envs], "rows": rows})
    return tables


def derived_csv(report: Report) -> pd.DataFrame:
    """``derived.csv``: a row per ratio, with the precision reached (``*_hw``, the 95%
    interval's relative half-width) and whether it met the profile's target."""
    derived = report.analysis.derived
    if derived.empty:
        return derived
    out = derived.drop(columns=["tags", "roles"]).copy()
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


def render(report: Report) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["num"] = lambda v, fmt="%.3g": "" if pd.isna(v) else fmt % v
    bench = report.data.benchmarks
    numbers = summary_frame(bench).copy()
    numbers["interpreter"] = numbers["env"].map(report.labels)
    problems = report.data.outcomes
    problems = problems[problems["status"] != "ok"] if not problems.empty else problems

    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        if frame.empty:
            return []
        frame = frame.copy()
        frame["interpreter"] = frame["env"].map(report.labels)
        return frame.to_dict("records")

    derived = report.analysis.derived
    gated = derived[derived["problem"] != ""] if not derived.empty else derived
    flagship = role_workload(bench, "flagship")
    main = [c for c in report.charts if not c.name.startswith("scaling-") or c.name == "scaling-" + flagship]
    unavailable = problems[problems["status"] == "unavailable"] if not problems.empty else problems
    problems = problems[problems["status"] != "unavailable"] if not problems.empty else problems
    k = headline_workers(report.analysis.derived)
    context = {
        "title": "gilbench report — " + ", ".join(sorted(set(bench["run_id"]))),
        "run_ids": sorted(set(bench["run_id"])),
        "machines": bench.drop_duplicates("machine")[MACHINE_COLUMNS].to_dict("records"),
        "profiles": sorted(set(bench["profile"])),
        "findings": report.findings,
        "main_charts": main,
        "gallery": [c for c in report.charts if c not in main],
        "numbers": numbers.to_dict("records"),
        "speedups": records(report.analysis.derived),
        "gated": records(gated),
        "precision": precision_context(report.analysis, bench),
        "headline_k": k,
        "at_k": at_workers(report.analysis.derived, report.labels, k),
        "overheads": records(report.analysis.overheads),
        "latency": records(report.analysis.latency),
        "envs": report.data.envs.to_dict("records") if not report.data.envs.empty else [],
        "labels": report.labels,
        "problems": problems.to_dict("records") if not problems.empty else [],
        "unavailable": [
            {"env": env, "reason": reason, "count": len(group), "names": ", ".join(group["name"])}
            for (env, reason), group in unavailable.groupby(["env", "reason"], sort=True)
        ]
        if not unavailable.empty
        else [],
        "warmups": records(report.analysis.warmups),
        "aa": aa_summary(report.analysis.aa),
        "load_problems": report.data.problems,
        "skipped": [
            {"env": env, "reason": info.get("reason", "")}
            for manifest in report.data.manifests
            for env, info in manifest.get("envs", {}).items()
            if info.get("status") == "skipped"
        ],
        "stylesheet": (TEMPLATES / "report.css").read_text(),
    }
    return env.get_template("report.html").render(**context)


def write(report: Report, out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text(render(report), encoding="utf-8")
    return path
