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
from harness.analysis._ratios import NET_SPEEDUP, ONE_WORKER_KIND, SPEEDUP, Moderation
from harness.analysis._speedups import CapacityByRound, derive, headline_workers, one_worker
from harness.analysis._table import COLUMNS as TABLE_COLUMNS
from harness.analysis._table import headline_table, table_keys
from harness.analysis._verdicts import scaling_gains, scaling_table
from harness.analysis._versions import ft_versions, gated_ratios

HEADLINE_COLUMNS = [
    "kind",
    "run_id",
    "env",
    "name",
    "other_env",
    "other_name",
    "value",
    "hw",
    "n",
    "sd",
    "df",
    "moderated",
    "table",
    "flagship",
]


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
    # the moderated interval's prior of each run (run_id -> None where the run had too
    # few timing ratios to fit one: its intervals are Student's t)
    priors: dict[str, stats.Prior | None] = field(default_factory=dict)
    # the headline table (``headline_table``): the flagship's speedups at the headline
    # worker count per mode, the free-threading overhead and the net speedup, per interpreter
    table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TABLE_COLUMNS))

    def headline(self) -> pd.DataFrame:
        """Every headline ratio with the benchmarks it uses and the precision it reached:
        speedups and net speedups at every worker count, one pool worker or subinterpreter
        against serial, free-threading and forced-GIL overheads.  Columns: kind, run_id,
        env, name, other_env, other_name, value, hw (relative half-width), n (rounds
        behind it), sd and df (the per-round log SD and degrees of freedom its interval
        used: what another round would buy, ``stats.half_width_after``), moderated (False:
        Student's t), table (True for a ratio of the headline table) and flagship (True
        for the table's threads speedup of an interpreter running without the GIL: the
        findings' first sentences)."""
        parts = []
        d, w = self.derived, self.one_worker
        if not d.empty:
            parts.append(_headline_rows(SPEEDUP, d, "env", "baseline_name", "speedup"))
            netted = d[d["net_baseline_env"] != d["env"]]
            parts.append(_headline_rows(NET_SPEEDUP, netted, "net_baseline_env", "serial_name", "net_speedup"))
        if not w.empty:
            parts.append(_headline_rows(ONE_WORKER_KIND, w, "env", "baseline_bench", "vs_serial"))
        for o in (self.overheads, self.pyperformance):
            if not o.empty:
                parts.append(_headline_rows(o["kind"] + " overhead", o, "baseline_env", "name", "overhead"))
        if not parts:
            return pd.DataFrame(columns=HEADLINE_COLUMNS)
        head = pd.concat(parts, ignore_index=True)
        keys = list(
            head[["kind", "run_id", "env", "name", "other_env", "other_name"]].itertuples(index=False, name=None)
        )
        table = table_keys(self.table)
        head["table"] = [key in table for key in keys]
        flagship = table_keys(self.table[self.table["flagship"].astype(bool)])
        head["flagship"] = [key in flagship for key in keys]
        return head


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
            "sd": frame[prefix + "_sd"],
            "df": frame[prefix + "_df"],
            "moderated": frame[prefix + "_moderated"],
        }
    )


def _timing(
    benchmarks: pd.DataFrame,
    envs: pd.DataFrame,
    capacity: CapacityByRound | None,
    moderation: Moderation,
    pp: pd.Series,
) -> dict[str, pd.DataFrame]:
    """The frames of timing ratios, their intervals moderated with ``moderation``."""
    return {
        "derived": derive(benchmarks, envs, capacity, moderation),
        "overheads": build_overheads(benchmarks[~pp], envs, moderation),
        "pyperformance": build_overheads(benchmarks[pp], envs, moderation),
        "aa": aa_calibration(benchmarks, moderation),
        "one_worker": one_worker(benchmarks, moderation),
    }


def analyse(
    benchmarks: pd.DataFrame, envs: pd.DataFrame, capacity: CapacityByRound | None = None, *, moderate: bool = True
) -> Analysis:
    """Every derived frame of the collected benchmarks (``capacity``: see ``derive``).

    Every timing ratio's interval is the moderated t, with one prior per run fitted on
    all of that run's timing ratios (``Moderation``): a first pass computes them to fit
    the priors on, the second with them.  ``moderate=False`` keeps Student's t for every
    ratio (a run analysed as gilbench analysed it before the moderated interval).
    """
    pp = is_pyperformance(benchmarks)
    moderation = Moderation()
    if moderate:
        _timing(benchmarks, envs, None, moderation, pp)
        moderation = moderation.fitted()
    timing = _timing(benchmarks, envs, capacity, moderation, pp)
    derived = timing["derived"]
    scaling = scaling_table(derived, benchmarks)
    return Analysis(
        **timing,
        geomeans=pyperformance_geomeans(benchmarks, envs),
        latency=latency(benchmarks),
        warmups=warmup_problems(benchmarks),
        objects=object_memory(benchmarks[~pp], envs),
        memory_unmeasured=memory_unmeasured(benchmarks),
        objects_unmeasured=object_memory_unmeasured(benchmarks),
        provenance=provenance_problems(benchmarks),
        versions=ft_versions(
            benchmarks[~pp], envs, (1, headline_workers(derived)), gated_ratios(derived, timing["one_worker"])
        ),
        scaling=scaling,
        scaling_gains=scaling_gains(scaling, benchmarks, envs),
        priors=moderation.priors,
        table=headline_table(timing["derived"], timing["overheads"], benchmarks),
    )


def _quantile_row(head: pd.DataFrame, q: float) -> pd.Series | None:
    """The headline ratio whose half-width is nearest the ``q`` quantile of them all."""
    if not head["hw"].notna().any():
        return None
    return head.loc[(head["hw"] - head["hw"].quantile(q)).abs().idxmin()]


def precision_summary(analysis: Analysis, target: float) -> dict[str, Any]:
    """How precise the headline ratios are: counts, the widest, those above ``target``,
    the headline table's median half-width, and the rounds the median and the
    90th-percentile ratio would need to reach the target, from the SD and degrees of
    freedom of their interval (``stats.rounds_to_target``: the moderated interval's
    prior stays as rounds grow)."""
    head = analysis.headline()
    missed = head[~(head["hw"] <= target)]
    needed = {}
    for key, q in (("median", 0.5), ("p90", 0.9)):
        row = _quantile_row(head, q)
        needed[key] = None if row is None else stats.rounds_to_target(row["sd"], row["df"], int(row["n"]), target)
    return {
        "ratios": len(head),
        "target": target,
        "met": int(len(head) - len(missed)),
        "median_hw": float(head["hw"].median()) if len(head) else np.nan,
        "table_median_hw": float(analysis.table["hw"].median()) if len(analysis.table) else np.nan,
        "rounds_needed": needed,
        "widest": missed.sort_values("hw", ascending=False, na_position="first"),
    }


def prior_summary(priors: dict[str, stats.Prior | None]) -> list[dict[str, Any]]:
    """Each run's prior of the moderated interval, as a report says it: ``run_id``,
    ``ratios`` fitted (0: the run kept Student's t, having fewer than ``least``), ``d0``,
    ``slope`` (of log s0² in the log within-process variance), ``kinds`` (kind -> level)
    and ``groups`` (the workload levels, sorted)."""
    out = []
    for run_id, prior in sorted(priors.items()):
        if prior is None:
            out.append({"run_id": run_id, "ratios": 0, "least": stats.MIN_PRIOR_RATIOS})
            continue
        coef = prior.coefficients
        out.append(
            {
                "run_id": run_id,
                "ratios": prior.ratios,
                "d0": prior.d0,
                "slope": coef[stats.LOG_WITHIN],
                "kinds": {k[len("kind:") :]: v for k, v in sorted(coef.items()) if k.startswith("kind:")},
                "groups": sorted(v for k, v in coef.items() if k.startswith("group:")),
            }
        )
    return out
