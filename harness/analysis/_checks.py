"""Checks: what makes a number not a result, or a run not what it claims.

Sanity gates.  A speedup is a measurement of physics: k workers cannot do CPU-bound
work more than min(k, CPUs) times faster, and one worker must match serial.  A ratio
whose 95% interval lies above ``min(k, CPUs) × 1.05`` (I/O workloads: k × 1.05), or a
one-worker ratio whose interval lies outside [0.95, 1.05], gets a ``problem`` text: the
report shows it as a measurement problem and the findings never quote it.

Beside the gates: A/A calibration (the same interpreter measured twice, whose true
ratio is 1), JIT warm-up that had not settled, and one workload measured with
different source code in different envs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness._frames import records
from harness.analysis._ratios import AA_KIND, Moderation, Sides, ratio_columns, within_of
from harness.collect import WITHIN

GATE_SLACK = 0.05  # speedups may exceed the physical limit by this much before they are flagged
ONE_WORKER = (0.95, 1.05)  # a one-worker ratio outside this range is a measurement problem
AA_SUFFIX = "-aa"  # bench-all --aa ENV measures ENV again as ENV-aa, in the same rounds
WARMUP_TOLERANCE = 0.05  # a JIT's last warm-up within 5% of the values that follow: steady state


def gate(speedup: float, lo: float, hi: float, workers: int, cpus: int, io: bool) -> str:
    """Why a speedup cannot be a result, or '' when it is physically possible.

    The test is on the 95% interval, not the point: a ratio is a problem when its whole
    interval lies outside what physics allows (one worker in [0.95, 1.05]; k workers at
    most min(k, CPUs) × 1.05).  A point estimate of four rounds wanders by ±15%: gating
    the point would flag noise, while gating the interval flags a bias the data show.  A ratio
    of a single round (no interval) is gated on its point.
    """
    if np.isnan(speedup):
        return ""
    low = speedup if np.isnan(lo) else lo
    high = speedup if np.isnan(hi) else hi
    if workers == 1 and (high < ONE_WORKER[0] or low > ONE_WORKER[1]):
        return "one worker ran %.2f× as fast as serial (%.2f–%.2f): outside [%.2f, %.2f]" % (
            speedup,
            low,
            high,
            *ONE_WORKER,
        )
    limit = workers if io else min(workers, cpus or workers)
    if low > limit * (1 + GATE_SLACK):
        return "%.2f× (%.2f–%.2f) is above the physical limit of %d× for %d workers on %d CPUs" % (
            speedup,
            low,
            high,
            limit,
            workers,
            cpus,
        )
    return ""


def aa_calibration(benchmarks: pd.DataFrame, moderation: Moderation | None = None) -> pd.DataFrame:
    """A/A: every benchmark of ENV against the same benchmark of ENV-aa (the same
    interpreter measured as two envs in one interleaved run).  The true ratio is 1, so
    the share of 95% intervals that exclude 1 is the method's false-positive rate: of the
    moderated interval with ``moderation``'s priors (the twins' ratios are part of the
    fit, as kind ``A/A``), Student's t without."""
    timed = benchmarks[~benchmarks["roles"].map(lambda r: "latency" in r)]
    twins = timed[timed["env"].str.endswith(AA_SUFFIX)].copy()
    if twins.empty:
        return pd.DataFrame()
    twins["base_env"] = twins["env"].str[: -len(AA_SUFFIX)]
    merged = twins.merge(
        timed, left_on=["run_id", "base_env", "name"], right_on=["run_id", "env", "name"], suffixes=("_aa", "")
    )
    pairs = [
        Sides(
            row["rounds"], twin["rounds"], 1.0, within_of(row), within_of(twin), row["run_id"], AA_KIND, row["workload"]
        )
        for row, twin in zip(_sides(merged, ""), _sides(merged, "_aa"))
    ]
    ratios = ratio_columns("ratio", pairs, moderation or Moderation())
    return pd.concat([merged[["run_id", "env", "env_aa", "name"]].reset_index(drop=True), ratios], axis=1)


def _sides(merged: pd.DataFrame, suffix: str) -> list[dict[str, Any]]:
    """One side of ``aa_calibration``'s merged rows: its rounds, within-process standard
    errors, run and workload, under their own names."""
    names = {"rounds" + suffix: "rounds", WITHIN + suffix: WITHIN, "run_id": "run_id", "workload": "workload"}
    return records(merged[[c for c in names if c in merged]].rename(columns=names))


def aa_summary(aa: pd.DataFrame) -> dict[str, Any] | None:
    """The A/A figure: how many intervals exclude 1 when nothing differs, and how many of
    them are the moderated interval (the rest Student's t); None without an A/A run."""
    rated = aa.dropna(subset=["ratio_lo"]) if not aa.empty else aa
    if rated.empty:
        return None
    return {
        "envs": sorted(set(rated["env"])),
        "n": len(rated),
        "excluding": int(rated["ratio_significant"].sum()),
        "share": float(rated["ratio_significant"].mean()),
        "median_hw": float(rated["ratio_hw"].median()),
        "moderated": int(rated["ratio_moderated"].sum()),
    }


def provenance_problems(benchmarks: pd.DataFrame) -> list[str]:
    """What a run compares that should not differ: one workload measured with different
    source code in different envs (a run resumed after an edit), or a free-threaded env
    compared with a default build from another build pair."""
    out = []
    for (run_id, workload), group in benchmarks.groupby(["run_id", "workload"]):
        hashes = sorted(set(group["workload_sha256"]) - {""})
        if len(hashes) > 1:
            out.append(
                "%s was measured with %d different versions of its source in run %s (envs: %s)"
                % (workload, len(hashes), run_id, ", ".join(sorted(set(group["env"]))))
            )
    return out


def warmup_problems(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Benchmarks on a JIT whose last warm-up was still more than 5% off the values:
    their values may include compilation, so they are listed beside the gated ratios."""
    jit = benchmarks[(benchmarks["jit"] == "on") & (benchmarks["warmup_drift"].abs() > WARMUP_TOLERANCE)]
    return jit[["run_id", "env", "name", "warmup_drift"]].reset_index(drop=True)
