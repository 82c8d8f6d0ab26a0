"""The report's content: what one or more runs say, before any layout.

``build`` turns collected and analysed results into a ``Report``: the data, its
analysis, display labels, and what several sections read besides the analysis (the
summary table, the machine noise probed while measuring).  ``harness.sections`` lays
it out as a page of sections, tables, charts and sentences; ``report`` renders that
page as HTML and the docs extension as a Sphinx page.  The pipeline runs one way:
collect -> analysis -> model -> sections -> report / docs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness import charts, noise
from harness.analysis import AA_SUFFIX, Analysis, analyse
from harness.collect import RunData, summary_frame
from workloads.host import PROFILES

MACHINE_COLUMNS = ["machine", "hostname", "cpu_model", "cpu_count"]


@dataclass
class Report:
    """What a report is made of; ``publish`` reuses the same pieces."""

    data: RunData
    analysis: Analysis
    labels: dict[str, str]
    summary: pd.DataFrame  # a row per benchmark, no raw values (``collect.summary_frame``): summary.csv
    machine_noise: str  # the noise of the machine, probed before every round (``noise.describe``), or ''

    @property
    def derived(self) -> pd.DataFrame:
        return self.analysis.derived

    @property
    def precision_target(self) -> float:
        """The precision the run's profile aims at (the widest of several runs' profiles; 0: none)."""
        targets = {PROFILES[p].precision for p in set(self.data.benchmarks["profile"]) if p in PROFILES}
        return max(targets, default=0.0)


def env_labels(benchmarks: pd.DataFrame) -> dict[str, str]:
    """A human name per env; an A/A twin (``--aa``) is named as such, not as its interpreter again."""
    first = benchmarks.drop_duplicates("env").set_index("env")
    return {
        env: charts.label(r["implementation"], r["version"], r["free_threaded_build"], r["python_gil_env"])
        + (" (A/A twin)" if env.endswith(AA_SUFFIX) else "")
        for env, r in first.iterrows()
    }


def build(data: RunData, analysis: Analysis | None = None) -> Report:
    """The report of ``data``, from its ``analysis`` (analysed here when not given)."""
    analysis = analysis or analyse(data.benchmarks, data.envs, data.capacity)
    probes = [noise.NoiseProbe.from_json(p) for m in data.manifests for p in m.get("noise", [])]
    return Report(data, analysis, env_labels(data.benchmarks), summary_frame(data.benchmarks), noise.describe(probes))


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
    target = report.precision_target
    out["precision_target"] = target or np.nan
    out["speedup_target_met"] = out["speedup_hw"] <= target if target else np.nan
    return out
