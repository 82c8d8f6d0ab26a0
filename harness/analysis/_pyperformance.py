"""pyperformance's benchmarks (bench-all --pyperformance): geometric means over them,
time and peak memory, held against PEP 779's bars for a supported free-threaded build."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from harness import stats
from harness.analysis._pairs import forced_gil_envs, partner_envs, reference_envs
from harness.analysis._ratios import PerRound, rounds_of
from harness.pyperformance import TAG as PYPERFORMANCE

# PEP 779's bars for a supported free-threaded build, as pyperformance geometric means
# against the default build: at most 15% more CPU time and 20% more memory.
PEP779_TIME_BAR = 1.15
PEP779_MEMORY_BAR = 1.20


def is_pyperformance(benchmarks: pd.DataFrame) -> pd.Series:
    """Which rows are pyperformance benchmarks (bench-all --pyperformance), not gilbench's workloads."""
    if "tags" not in benchmarks:
        return pd.Series(False, index=benchmarks.index)
    return benchmarks["tags"].map(lambda tags: PYPERFORMANCE in tags).astype(bool)


def geomean(pairs: Sequence[tuple[PerRound, PerRound, float]]) -> dict[str, float]:
    """The geometric mean over benchmarks of ``scale`` × A/B, with its 95% interval, paired by round.

    Per round in which every pair has both sides: the mean over the pairs of
    log(scale × A/B); the interval is Student's t over those rounds (``stats.ratio_matrix``
    on the per-round geometric means), as for one ratio.  PerRound that lack one benchmark
    are left out, so every round averages the same benchmarks.  Keys: value, lo, hi, hw
    (relative half-width), rounds, benchmarks.
    """
    empty = {"value": np.nan, "lo": np.nan, "hi": np.nan, "hw": np.nan, "rounds": 0, "benchmarks": len(pairs)}
    if not pairs:
        return empty
    common = set.intersection(*(set(a) & set(b) for a, b, _ in pairs))
    rounds = sorted(common)
    if not rounds:
        return empty
    logs = np.array([[np.log(scale * a[r] / b[r]) for r in rounds] for a, b, scale in pairs])
    per_round = np.exp(logs.mean(axis=0))
    got = stats.ratio_matrix(per_round[None, :], np.ones((1, len(rounds))))
    return {
        "value": float(got["value"][0]),
        "lo": float(got["lo"][0]),
        "hi": float(got["hi"][0]),
        "hw": float(got["half_width"][0]),
        "rounds": len(rounds),
        "benchmarks": len(pairs),
    }


def verdict(lo: float, hi: float, bar: float) -> str:
    """``within`` or ``above`` ``bar`` when the whole 95% interval is on that side;
    ``undecided`` when it straddles the bar; '' without an interval."""
    if np.isnan(lo) or np.isnan(hi):
        return ""
    if hi <= bar:
        return "within"
    if lo > bar:
        return "above"
    return "undecided"


GEOMEAN_KINDS = ("free-threading", "forced GIL", "vs reference")


def pyperformance_geomeans(benchmarks: pd.DataFrame, envs: pd.DataFrame) -> pd.DataFrame:
    """Geometric means over the pyperformance benchmarks, time and peak memory, each with
    its 95% interval paired by round (``geomean``): the free-threaded build over its
    matched default build and the forced-GIL env over the same free-threaded build, each
    held against PEP 779's bars (``time_verdict``, ``memory_verdict``), and every
    interpreter over one reference CPython (``reference_envs``).  Time is per unit of work
    (per pyperf loop: pyperf's values are per loop).  A row per comparison; the benchmarks
    both sides measured are averaged (``benchmarks``), memory over those where both sides
    recorded a peak RSS (``memory_benchmarks``; 0 where it could not be measured)."""
    rows_ = benchmarks[(benchmarks["mode"] == "serial") & is_pyperformance(benchmarks)]
    if rows_.empty:
        return pd.DataFrame()
    by_env: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in rows_[["run_id", "env", "workload", "params", "rounds", "rss", "work_size"]].to_dict("records"):
        by_env.setdefault((r["run_id"], r["env"]), {})[(r["workload"], r["params"])] = r
    comparisons = [
        ("free-threading", run_id, env, base, matched) for (run_id, env), (base, matched) in partner_envs(envs).items()
    ]
    comparisons += [("forced GIL", run_id, env, base, True) for (run_id, env), base in forced_gil_envs(envs).items()]
    for run_id, ref in reference_envs(envs, set(by_env)).items():
        comparisons += [
            ("vs reference", run_id, env, ref, True) for (rid, env) in sorted(by_env) if rid == run_id and env != ref
        ]
    out = []
    for kind, run_id, env, base_env, matched in comparisons:
        mine, theirs = by_env.get((run_id, env), {}), by_env.get((run_id, base_env), {})
        common = sorted(set(mine) & set(theirs))
        if not common:
            continue
        time = geomean(
            [(mine[k]["rounds"], theirs[k]["rounds"], theirs[k]["work_size"] / mine[k]["work_size"]) for k in common]
        )
        measured = [k for k in common if rounds_of(mine[k]["rss"]) and rounds_of(theirs[k]["rss"])]
        memory = geomean([(mine[k]["rss"], theirs[k]["rss"], 1.0) for k in measured])
        row: dict[str, Any] = {
            "kind": kind,
            "run_id": run_id,
            "env": env,
            "baseline_env": base_env,
            "matched": matched,
            "benchmarks": len(common),
            "memory_benchmarks": len(measured),
        }
        for prefix, got in (("time", time), ("memory", memory)):
            row.update({prefix: got["value"], prefix + "_lo": got["lo"], prefix + "_hi": got["hi"]})
            row.update({prefix + "_hw": got["hw"], prefix + "_rounds": got["rounds"]})
        graded = kind != "vs reference"
        row["time_verdict"] = verdict(time["lo"], time["hi"], PEP779_TIME_BAR) if graded else ""
        row["memory_verdict"] = verdict(memory["lo"], memory["hi"], PEP779_MEMORY_BAR) if graded else ""
        out.append(row)
    return pd.DataFrame(out)


def memory_unmeasured(benchmarks: pd.DataFrame) -> list[str]:
    """The envs whose pyperformance processes recorded no peak RSS (no ``/proc``, or a run
    older than that record), sorted."""
    rows_ = benchmarks[is_pyperformance(benchmarks)]
    if rows_.empty:
        return []
    missing = rows_[rows_["rss"].map(lambda d: not rounds_of(d))]
    return sorted(set(missing["env"]))
