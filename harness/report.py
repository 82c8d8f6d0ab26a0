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
import pandas as pd

from harness import analysis, charts
from harness.collect import RunData, summary_frame

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Report:
    """What a report is made of; ``publish`` reuses the same pieces."""

    data: RunData
    derived: pd.DataFrame
    overhead: pd.DataFrame
    labels: dict[str, str]
    charts: dict[str, str]
    findings: list[str]


def env_labels(benchmarks: pd.DataFrame) -> dict[str, str]:
    first = benchmarks.drop_duplicates("env").set_index("env")
    return {
        env: charts.label(r["implementation"], r["version"], r["free_threaded_build"], r["python_gil_env"])
        for env, r in first.iterrows()
    }


def _fmt_ratio(value: float, lo: float, hi: float) -> str:
    return "%.2f× (95%% CI %.2f–%.2f)" % (value, lo, hi)


def findings(derived: pd.DataFrame, labels: dict[str, str]) -> list[str]:
    """Plain sentences from the numbers: thread scaling at 2 workers per interpreter."""
    out = []
    if derived.empty:
        return out
    at2 = derived[(derived["mode"] == "threads") & (derived["workers"] == 2) & (derived["params"] == "")]
    for _, row in at2.sort_values(["workload", "env"]).iterrows():
        who = labels.get(row["env"], row["env"])
        ci = _fmt_ratio(row["speedup"], row["speedup_lo"], row["speedup_hi"])
        if not row["speedup_significant"]:
            verdict = "no significant difference from one thread"
        elif row["speedup"] >= 1.5:
            verdict = "threads run in parallel"
        elif row["speedup"] <= 1.1:
            verdict = "the GIL serialises them" if row["gil_enabled"] else "they do not scale"
        else:
            verdict = "partial scaling"
        out.append("On %s, 2 threads run %s at %s of serial speed: %s." % (who, row["workload"], ci, verdict))
    return out


def build(data: RunData) -> Report:
    derived = analysis.derive(data.benchmarks, data.envs)
    overhead = analysis.ft_overhead(data.benchmarks, data.envs)
    labels = env_labels(data.benchmarks)
    colors = charts.env_colors(list(labels))
    figures = {}
    if not derived.empty:
        for workload in sorted(set(derived["workload"])):
            figures["scaling-" + workload] = charts.scaling(derived, labels, colors, workload)
    return Report(data, derived, overhead, labels, figures, findings(derived, labels))


def _table(frame: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    return {"columns": columns, "rows": frame[columns].to_dict("records") if not frame.empty else []}


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
    numbers["mean_ms"] = numbers["mean"] * 1e3
    numbers["stdev_ms"] = numbers["stdev"] * 1e3
    problems = report.data.outcomes
    problems = problems[problems["status"] != "ok"] if not problems.empty else problems
    speed = report.derived.copy()
    if not speed.empty:
        speed["interpreter"] = speed["env"].map(report.labels)
    context = {
        "title": "gilbench report — " + ", ".join(sorted(set(bench["run_id"]))),
        "run_ids": sorted(set(bench["run_id"])),
        "machines": bench.drop_duplicates("machine")[["machine", "hostname", "cpu_model", "cpu_count"]].to_dict(
            "records"
        ),
        "profiles": sorted(set(bench["profile"])),
        "findings": report.findings,
        "charts": report.charts,
        "numbers": _table(
            numbers, ["interpreter", "workload", "params", "mode", "workers", "n", "mean_ms", "stdev_ms"]
        ),
        "speedups": speed.to_dict("records") if not speed.empty else [],
        "envs": report.data.envs.to_dict("records") if not report.data.envs.empty else [],
        "labels": report.labels,
        "problems": problems.to_dict("records") if not problems.empty else [],
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
