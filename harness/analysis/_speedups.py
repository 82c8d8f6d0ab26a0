"""Speedups: each parallel benchmark over its baseline, and one worker against serial.

Both sides of a speedup run through the same path.  ``threads``: ``serial`` is one
fresh worker thread of the same process.  ``processes`` and ``interpreters`` run
their workers in another process or interpreter, whose incidental state moves a
pure-Python loop by several percent on its own (docs/changelog.md has the figures),
so their speedup at k workers is over ONE worker of the same mode, and that one
worker against serial is its own ratio (``one_worker``), never baked into a speedup,
whose serial side is timed in the worker benchmark's own process, alternating with it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from harness._frames import records
from harness.analysis._checks import gate
from harness.analysis._pairs import partner_envs
from harness.analysis._ratios import (
    KEY,
    NET_SPEEDUP,
    ONE_WORKER_KIND,
    SPEEDUP,
    Moderation,
    PerRound,
    Sides,
    against_one,
    ratio_columns,
    within_of,
)
from harness.collect import WITHIN
from workloads.host import PAIRED_MODES


def headline_workers(derived: pd.DataFrame) -> int:
    """The worker count headline figures use: the most threads that fit the machine's CPUs."""
    if derived.empty:
        return 2
    cpus = int(derived["cpu_count"].max() or 2)
    counts = derived.loc[(derived["mode"] == "threads") & (derived["workers"] <= cpus), "workers"]
    return int(counts.max()) if not counts.empty else 2


def _mean(values: PerRound) -> float:
    return float(np.mean(list(values.values()))) if values else np.nan


def _by_key(rows: pd.DataFrame, extra: Sequence[str] = ()) -> dict[tuple, dict[str, Any]]:
    """``KEY`` (+ ``extra``) -> name, rounds, within-process standard errors and work size of each row.

    A dict, not ``.loc``: a MultiIndex lookup per row would take most of the time for 10,000 rows.
    """
    columns = [*KEY, *extra, "name", "rounds", "work_size"]
    within = rows[WITHIN].tolist() if WITHIN in rows else [{}] * len(rows)
    return {
        tuple(key): {"name": name, "rounds": rounds, "work_size": size, "within": within_of({WITHIN: w})}
        for (*key, name, rounds, size), w in zip(rows[columns].itertuples(index=False), within)
    }


def _one_worker_rows(benchmarks: pd.DataFrame) -> pd.DataFrame:
    return benchmarks[benchmarks["mode"].isin(PAIRED_MODES) & (benchmarks["workers"] == 1)]


CapacityByRound = Mapping[str, Mapping[int, Mapping[int, float]]]  # run_id -> k -> round -> the machine's capacity


def capacity_at(by_k: Mapping[int, Mapping[int, float]], workers: int, cpus: int) -> Mapping[int, float] | None:
    """The capacity a speedup at ``workers`` is read against (round -> capacity): probed at
    ``workers`` itself where it was (every count up to the CPUs, and an oversubscribed one,
    see ``capacity.probe_widths``), else at ``min(workers, cpus)`` (runs that probed up to
    the CPUs only); none for one worker, whose capacity is 1 by definition."""
    for k in (workers, min(workers, cpus or workers)):
        if k > 1 and k in by_k:
            return by_k[k]
    return None


def _capacity_sides(
    rounds: PerRound, base: PerRound, caps: Mapping[int, float] | None
) -> tuple[Sides | None, PerRound | None]:
    """Over the rounds a speedup paired: the machine's capacity as a ratio to pair (each
    round's capacity over 1, so its interval is taken as every other ratio's), and the
    speedup's parallel side scaled by each round's capacity: base over it is the efficiency."""
    if not caps:
        return None, None
    common = [r for r in rounds if r in base and r in caps]
    if not common:
        return None, None
    return against_one({r: caps[r] for r in common}), {r: rounds[r] * caps[r] for r in common}


def derive(
    benchmarks: pd.DataFrame,
    envs: pd.DataFrame,
    capacity: CapacityByRound | None = None,
    moderation: Moderation | None = None,
) -> pd.DataFrame:
    """A row per parallel benchmark: speedup vs its baseline (``serial``; for
    ``PAIRED_MODES`` one worker of the same mode when it was measured), and net
    speedup vs the matched default build's serial run (what a user actually gains),
    their intervals moderated with ``moderation``'s priors (``ratio_columns``; without
    one, Student's t with the same columns).

    With the ``capacity`` a run measured (``harness.capacity``: what k busy processes
    got done against one, round by round), a speedup at k workers also gets the
    machine's ``capacity`` over the same rounds (``capacity_at``; geometric mean, with
    its interval over those rounds) and ``vs_capacity``, the speedup over it, paired by
    round: the share of what the machine allowed that the code earned.
    """
    serial = _by_key(benchmarks[benchmarks["mode"] == "serial"])
    ones = _one_worker_rows(benchmarks)
    own = _by_key(ones, ["mode"])
    partners = partner_envs(envs)
    columns = [
        *KEY,
        "name",
        "mode",
        "workers",
        "implementation",
        "version",
        "cpu_count",
        "oversubscribed",
        "free_threaded_build",
        "gil_enabled",
        "python_gil_env",
        "tags",
        "roles",
        "work_size",
        "rounds",
        "cpu_share",
    ]
    moderation = moderation or Moderation()
    if WITHIN in benchmarks:
        columns.append(WITHIN)
    rows, speed, net, machine, earned = [], [], [], [], []
    parallel = benchmarks[benchmarks["mode"] != "serial"].drop(index=ones.index)
    for row in records(parallel[columns]):
        key = tuple(row[k] for k in KEY)
        if serial.get(key) is None:
            continue  # latency workloads have no serial baseline
        base = own.get((*key, row["mode"])) or serial[key]  # smoke measures no w=1: serial, named below
        partner = partners.get((row["run_id"], row["env"]))
        net_key = (row["run_id"], partner[0], row["workload"], row["params"]) if partner else key
        row["net_baseline_env"] = net_key[1]
        row["net_matched"] = bool(partner[1]) if partner else True
        row["baseline_name"] = base["name"]
        row["serial_name"] = serial[key]["name"]
        share = _mean(row.pop("cpu_share"))
        row["waiting"] = 1.0 - share if not np.isnan(share) else np.nan
        caps = capacity_at((capacity or {}).get(row["run_id"], {}), int(row["workers"]), int(row["cpu_count"] or 0))
        probed, scaled = _capacity_sides(row["rounds"], base["rounds"], caps)
        machine.append(probed)
        earned.append(Sides(base["rounds"], scaled) if scaled else None)
        within = within_of(row)
        speed.append(
            Sides(base["rounds"], row["rounds"], 1.0, base["within"], within, row["run_id"], SPEEDUP, row["workload"])
        )
        other = serial.get(net_key)
        if other is not None:  # time per unit of work: sizes are calibrated per interpreter
            scale = row["work_size"] / other["work_size"]
            kind = NET_SPEEDUP if partner else SPEEDUP  # without a partner: a speedup over serial
            net.append(
                Sides(
                    other["rounds"],
                    row["rounds"],
                    scale,
                    other["within"],
                    within,
                    row["run_id"],
                    kind,
                    row["workload"],
                    fit=bool(partner),
                )
            )
        else:
            net.append(None)
        rows.append(row)
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).drop(columns=["rounds", WITHIN], errors="ignore")
    derived = pd.concat(
        [
            frame,
            ratio_columns("speedup", speed, moderation),
            ratio_columns("net_speedup", net, moderation),
            ratio_columns("capacity", machine),
            ratio_columns("vs_capacity", earned),
        ],
        axis=1,
    )
    derived["efficiency"] = derived["speedup"] / derived["workers"]
    derived["problem"] = [
        gate(s, lo, hi, int(k), int(c), "io" in tags)
        for s, lo, hi, k, c, tags in derived[
            ["speedup", "speedup_lo", "speedup_hi", "workers", "cpu_count", "tags"]
        ].itertuples(index=False)
    ]
    return derived.sort_values(["run_id", "env", "workload", "params", "mode", "workers"]).reset_index(drop=True)


IN_PROCESS = "serial in the same process"  # one_worker's baseline_name where it was measured there


def one_worker(benchmarks: pd.DataFrame, moderation: Moderation | None = None) -> pd.DataFrame:
    """One worker of each ``PAIRED_MODES`` mode against serial (``vs_serial``, >1 = faster
    than serial, as a speedup reads): the cost of running the work in a pool worker or a
    subinterpreter.  Its own ratio, never part of a speedup, held to the one-worker gate.

    Serial is timed in the worker benchmark's own process: in the ``blocks`` layout the
    ``serial`` benchmark shares its block (``block`` names ``serial:1``); in the
    ``processes`` layout each value alternates with the same chunk in a fresh thread
    (``serial_in_process``, see ``workloads.modes``).  Either way ``baseline_name`` is
    ``IN_PROCESS``, and the pairs are by round.  A run that recorded neither compares
    with the ``serial`` benchmark, a different process, and names it.
    """
    serial = _by_key(benchmarks[benchmarks["mode"] == "serial"])
    rows, pairs = [], []
    for row in records(_one_worker_rows(benchmarks)):
        key = tuple(row[k] for k in KEY)
        own = row.get("serial_in_process")
        own = own if isinstance(own, dict) else {}  # NaN where a frame mixes in older runs
        named = serial.get(key)
        if own:  # measured by this benchmark's own process, whose values pyperf did not keep
            base = {"name": IN_PROCESS, "rounds": own, "holder": row["name"], "within": {}}
        elif named is not None:
            shared = "serial:1" in str(row.get("block", "")).split()
            base = {**named, "name": IN_PROCESS if shared else named["name"], "holder": named["name"]}
        else:
            continue
        rows.append(
            {
                **{k: row[k] for k in (*KEY, "name", "mode", "workers", "cpu_count", "tags")},
                "baseline_name": base["name"],
                "baseline_bench": base["holder"],
                "serial_name": named["name"] if named else "",
            }
        )
        pairs.append(
            Sides(
                base["rounds"],
                row["rounds"],
                1.0,
                base["within"],
                within_of(row),
                row["run_id"],
                ONE_WORKER_KIND,
                row["workload"],
            )
        )
    if not rows:
        return pd.DataFrame()
    frame = pd.concat([pd.DataFrame(rows), ratio_columns("vs_serial", pairs, moderation or Moderation())], axis=1)
    frame["problem"] = [
        gate(v, lo, hi, 1, int(c), "io" in t)
        for v, lo, hi, c, t in frame[["vs_serial", "vs_serial_lo", "vs_serial_hi", "cpu_count", "tags"]].itertuples(
            index=False
        )
    ]
    return frame.sort_values([*KEY, "mode"]).reset_index(drop=True)
