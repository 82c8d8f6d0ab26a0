"""Runs from several machines side by side, each ratio within its own machine.

A speedup, an overhead, a capacity is computed within one run, so within one machine
(``workloads.host.Machine``: a run is only resumed on the machine that started it).
This module only sets those ratios beside each other, machine by machine, and what it
sums up across machines is the geometric mean of the within-machine ratios, never a
ratio of a time taken on one machine to a time taken on another.

Where a machine has several runs of one env, the newest speaks for it (``newest_runs``):
one line per machine, from one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from harness._frames import records
from harness.analysis._ratios import against_one, ratio_columns
from harness.analysis._record import Analysis
from harness.analysis._speedups import CapacityByRound

GROUP = ["env", "workload", "params", "mode"]  # one curve: an interpreter's mode on a workload
OVERHEAD_GROUP = ["kind", "env", "baseline_env", "workload", "params"]


@dataclass
class Machines:
    """What runs from several machines show side by side.

    ``machines``: a row per machine (``machine``, ``label``, ``cpus``, ``cpu_model``,
    ``hostname``, ``run_ids``: the runs shown), by CPUs then id.  ``lines``: the derived frame's rows
    (``analysis.derive``) of each machine's newest run of each env, with ``machine``.
    ``capacity``: per machine, run and k, the capacity over every round of the run, with
    its interval (``capacity``, ``_lo``, ``_hi``, ``_n``) and ``oversubscribed``.
    ``overheads``: build overheads (``analysis.build_overheads``) likewise.  ``at_cpus``:
    each curve at its machine's CPUs (the most workers measured up to them, two at
    least).  ``efficiency`` and ``overhead``: across machines, the geometric mean of
    ``at_cpus``' ``vs_capacity`` per curve and of ``overheads``' ``overhead`` per build
    comparison (``across_machines``).
    """

    machines: pd.DataFrame
    lines: pd.DataFrame
    capacity: pd.DataFrame
    overheads: pd.DataFrame
    at_cpus: pd.DataFrame
    efficiency: pd.DataFrame
    overhead: pd.DataFrame

    def label(self, machine: str) -> str:
        """A machine named by its facts: ``ff00470e: 2 CPUs (AMD EPYC, 2 cores, ...)``."""
        rows = self.machines[self.machines["machine"] == machine]
        return str(rows["label"].iloc[0]) if len(rows) else machine


def newest_runs(seen: Iterable[tuple[str, str, str]]) -> set[tuple[str, str]]:
    """Of ``(machine, env, run_id)`` triples, the ``(run_id, env)`` of each machine's newest
    run of each env: run ids start with their UTC start time, so the greatest is the newest."""
    newest: dict[tuple[str, str], str] = {}
    for machine, env, run_id in seen:
        newest[machine, env] = max(run_id, newest.get((machine, env), run_id))
    return {(run_id, env) for (_, env), run_id in newest.items()}


def _describe(row: dict[str, Any]) -> str:
    facts = row["machine_facts"]
    if hasattr(facts, "describe"):
        return "%s: %s" % (row["machine"], facts.describe())
    cpus = int(row["cpu_count"] or 0)  # a run recorded before machines had a record
    return "%s: %d CPU%s (%s)" % (row["machine"], cpus, "" if cpus == 1 else "s", row["cpu_model"] or "?")


def _machine_table(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """A row per machine of ``benchmarks``: its id, its facts in words, its CPUs and runs."""
    rows = []
    for machine, group in benchmarks.groupby("machine", sort=False):
        first = records(group.head(1))[0]
        rows.append(
            {
                "machine": machine,
                "label": _describe(first),
                "cpus": int(first["cpu_count"] or 0),
                "cpu_model": first["cpu_model"],
                "hostname": first["hostname"],
                "run_ids": sorted(set(group["run_id"])),
            }
        )
    return pd.DataFrame(rows).sort_values(["cpus", "machine"]).reset_index(drop=True)


def _newest(frame: pd.DataFrame, where: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s rows of each machine's newest run of each env, with their ``machine``
    (``where``: a row per run and env naming its machine)."""
    if frame.empty:
        return frame
    keep = newest_runs(where[["machine", "env", "run_id"]].itertuples(index=False))
    out = frame.merge(where, on=["run_id", "env"], how="inner")
    mask = [key in keep for key in zip(out["run_id"], out["env"])]
    return out[mask].reset_index(drop=True)


def _capacity(capacity: CapacityByRound, where: pd.DataFrame) -> pd.DataFrame:
    """Per machine, run and k: the capacity over all the run's rounds, with its interval."""
    runs = where.drop_duplicates("run_id").set_index("run_id")
    rows, pairs = [], []
    for run_id, by_k in capacity.items():
        if run_id not in runs.index:
            continue
        machine, cpus = runs.loc[run_id, "machine"], int(runs.loc[run_id, "cpu_count"] or 0)
        for k, rounds in sorted(by_k.items()):
            rows.append({"machine": machine, "run_id": run_id, "k": k, "oversubscribed": 0 < cpus < k})
            pairs.append(against_one(rounds))
    if not rows:
        return pd.DataFrame(columns=["machine", "run_id", "k", "oversubscribed", "capacity"])
    return pd.concat([pd.DataFrame(rows), ratio_columns("capacity", pairs)], axis=1)


def _at_cpus(lines: pd.DataFrame) -> pd.DataFrame:
    """Each curve at its machine's CPUs: the row of the most workers measured up to the
    CPUs, two at least (a one-CPU machine has none: its parallel points are all oversubscribed)."""
    if lines.empty:
        return lines
    parallel = lines[(lines["workers"] >= 2) & ~lines["oversubscribed"].astype(bool)]
    top = parallel.groupby(["machine", *GROUP])["workers"].transform("max")
    return parallel[parallel["workers"] == top].reset_index(drop=True)


def across_machines(frame: pd.DataFrame, by: list[str], prefix: str) -> pd.DataFrame:
    """Per group of ``by``, the geometric mean over machines of the within-machine ratio
    in column ``prefix`` (one row per machine and group), the least and greatest machine's
    (``_min``, ``_max``: a range, not an interval), and the machines it is over
    (``machines``, ``machine_ids``).  Gated ratios (a ``problem``) and missing ones are
    left out."""
    columns = [*by, prefix, prefix + "_min", prefix + "_max", "machines", "machine_ids"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    usable = frame[np.isfinite(frame[prefix].astype(float)) & (frame[prefix] > 0)]
    if "problem" in usable:
        usable = usable[usable["problem"] == ""]
    rows = [
        {
            **dict(zip(by, key)),
            prefix: float(np.exp(np.log(group[prefix].astype(float)).mean())),
            prefix + "_min": float(group[prefix].min()),
            prefix + "_max": float(group[prefix].max()),
            "machines": group["machine"].nunique(),
            "machine_ids": sorted(set(group["machine"])),
        }
        for key, group in usable.groupby(by, sort=True)
    ]
    return pd.DataFrame(rows, columns=columns)


def by_machine(analysis: Analysis, benchmarks: pd.DataFrame, capacity: CapacityByRound | None = None) -> Machines:
    """``analysis`` of runs from one or more machines (``analyse`` of them all: every ratio
    is within its run), set out machine by machine (see ``Machines``)."""
    where = benchmarks.drop_duplicates(["run_id", "env"])[["run_id", "env", "machine", "cpu_count"]]
    lines = _newest(analysis.derived, where.drop(columns="cpu_count"))
    overheads = _newest(analysis.overheads, where.drop(columns="cpu_count"))
    shown = set().union(*(set(f["run_id"]) for f in (lines, overheads) if not f.empty)) or set(where["run_id"])
    top = _at_cpus(lines)
    return Machines(
        machines=_machine_table(benchmarks[benchmarks["run_id"].isin(shown)]),
        lines=lines,
        capacity=_capacity(capacity or {}, where[where["run_id"].isin(shown)]),
        overheads=overheads,
        at_cpus=top,
        efficiency=across_machines(top, GROUP, "vs_capacity"),
        overhead=across_machines(overheads, OVERHEAD_GROUP, "overhead"),
    )
