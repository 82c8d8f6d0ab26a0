"""The ``Analysis`` record: every derived frame of a collection of runs, the headline
ratios read off it, and how precise they are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from harness import stats
from harness.analysis._builds import build_overheads, object_memory, object_memory_unmeasured
from harness.analysis._checks import aa_calibration, provenance_problems, warmup_problems
from harness.analysis._latency import latency
from harness.analysis._pyperformance import is_pyperformance, memory_unmeasured, pyperformance_geomeans
from harness.analysis._speedups import CapacityByRound, derive, headline_workers, one_worker
from harness.analysis._verdicts import scaling_gains, scaling_table
from harness.analysis._versions import ft_versions, gated_ratios


@dataclass
class Analysis:
    """Every derived frame of a collection of runs, and the checks' findings: what the
    report's sections read."""

    derived: pd.DataFrame
    overheads: pd.DataFrame
    latency: pd.DataFrame
    aa: pd.DataFrame
    warmups: pd.DataFrame
    one_worker: pd.DataFrame
    # bench-all --pyperformance: its benchmarks' build overheads (as ``overheads``, which
    # holds gilbench's own workloads only) and their geometric means (``pyperformance_geomeans``)
    pyperformance: pd.DataFrame = field(default_factory=pd.DataFrame)
    geomeans: pd.DataFrame = field(default_factory=pd.DataFrame)
    # resident bytes per object of the memory-probing workloads (``object_memory``)
    objects: pd.DataFrame = field(default_factory=pd.DataFrame)
    # the envs that recorded no peak RSS for pyperformance (``memory_unmeasured``) and no
    # bytes per object (``object_memory_unmeasured``), and what compares different code
    # (``provenance_problems``)
    memory_unmeasured: list[str] = field(default_factory=list)
    objects_unmeasured: list[str] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)
    # two free-threaded minor versions, each against its own default build, at one worker
    # and at the headline worker count (``ft_versions``)
    versions: pd.DataFrame = field(default_factory=pd.DataFrame)
    # the scaling family: each threads speedup's verdict and reason (``scaling_table``), and
    # each free-threaded release's speedups over the previous release's (``scaling_gains``)
    scaling: pd.DataFrame = field(default_factory=pd.DataFrame)
    scaling_gains: pd.DataFrame = field(default_factory=pd.DataFrame)

    def headline(self) -> pd.DataFrame:
        """Every headline ratio with the benchmarks it uses and the precision it reached:
        speedups and net speedups at every worker count, one pool worker or subinterpreter
        against serial, free-threading and forced-GIL overheads.  Columns: kind, run_id,
        env, name, other_env, other_name, value, hw (relative half-width), n (rounds
        behind it)."""
        parts = []
        d, w = self.derived, self.one_worker
        if not d.empty:
            parts.append(_headline_rows("speedup", d, "env", "baseline_name", "speedup"))
            netted = d[d["net_baseline_env"] != d["env"]]
            parts.append(_headline_rows("net speedup", netted, "net_baseline_env", "serial_name", "net_speedup"))
        if not w.empty:
            parts.append(_headline_rows("one worker", w, "env", "baseline_bench", "vs_serial"))
        for o in (self.overheads, self.pyperformance):
            if not o.empty:
                parts.append(_headline_rows(o["kind"] + " overhead", o, "baseline_env", "name", "overhead"))
        columns = ["kind", "run_id", "env", "name", "other_env", "other_name", "value", "hw", "n"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _headline_rows(kind: Any, frame: pd.DataFrame, other_env: str, other_name: str, prefix: str) -> pd.DataFrame:
    """``frame``'s ``prefix`` ratios as rows of ``Analysis.headline``: what they compare
    (``env``/``name`` against the ``other_env``/``other_name`` columns) and their precision."""
    return pd.DataFrame(
        {
            "kind": kind,
            "run_id": frame["run_id"],
            "env": frame["env"],
            "name": frame["name"],
            "other_env": frame[other_env],
            "other_name": frame[other_name],
            "value": frame[prefix],
            "hw": frame[prefix + "_hw"],
            "n": frame[prefix + "_n"],
        }
    )


def analyse(benchmarks: pd.DataFrame, envs: pd.DataFrame, capacity: CapacityByRound | None = None) -> Analysis:
    """Every derived frame of the collected benchmarks (``capacity``: see ``derive``)."""
    derived = derive(benchmarks, envs, capacity)
    single = one_worker(benchmarks)
    pp = is_pyperformance(benchmarks)
    scaling = scaling_table(derived, benchmarks)
    return Analysis(
        derived=derived,
        overheads=build_overheads(benchmarks[~pp], envs),
        pyperformance=build_overheads(benchmarks[pp], envs),
        geomeans=pyperformance_geomeans(benchmarks, envs),
        latency=latency(benchmarks),
        aa=aa_calibration(benchmarks),
        warmups=warmup_problems(benchmarks),
        one_worker=single,
        objects=object_memory(benchmarks[~pp], envs),
        memory_unmeasured=memory_unmeasured(benchmarks),
        objects_unmeasured=object_memory_unmeasured(benchmarks),
        provenance=provenance_problems(benchmarks),
        versions=ft_versions(benchmarks[~pp], envs, (1, headline_workers(derived)), gated_ratios(derived, single)),
        scaling=scaling,
        scaling_gains=scaling_gains(scaling, benchmarks, envs),
    )


def precision_summary(analysis: Analysis, target: float) -> dict[str, Any]:
    """How precise the headline ratios are: counts, the widest, those above ``target``,
    and the rounds the median and the 90th-percentile ratio would need to reach it."""
    head = analysis.headline()
    missed = head[~(head["hw"] <= target)]
    needed = {}
    for key, q in (("median", 0.5), ("p90", 0.9)):
        row = head.loc[(head["hw"] - head["hw"].quantile(q)).abs().idxmin()] if head["hw"].notna().any() else None
        needed[key] = None if row is None else stats.rounds_needed(float(row["hw"]), int(row["n"]), target)
    return {
        "ratios": len(head),
        "target": target,
        "met": int(len(head) - len(missed)),
        "median_hw": float(head["hw"].median()) if len(head) else np.nan,
        "rounds_needed": needed,
        "widest": missed.sort_values("hw", ascending=False, na_position="first"),
    }
