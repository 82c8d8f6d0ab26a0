"""Analyse: derived measures, each ratio with a 95% interval paired by round.

How a ratio is made.  Every benchmark is measured in rounds (randomised blocks: in
round r each benchmark of each env gets one pyperf process, in shuffled order), and
a round's value is the mean of that process's values.  A ratio of two benchmarks of
one run, in one env or across envs, is computed round by round and its interval is
Student's t on the per-round log ratios (``harness.stats``): whatever slowed the
whole machine during a round cancels.  Both sides of a speedup are measured through
the same code (``serial`` is the work in one fresh worker thread, see
``workloads/modes.py``).  Ratios across interpreters compare time per unit of work,
since work sizes are calibrated per interpreter so that every value lasts long
enough (see ``workloads.host.Layout``).

Both sides of a speedup run through the same path.  ``threads``: ``serial`` is one
fresh worker thread of the same process.  ``processes`` and ``interpreters`` run
their workers in another process or interpreter, whose incidental state moves a
pure-Python loop by several percent on its own (one forked pool worker of 3.9 ran
countdown 8% slower than gilbench's serial process, while a plain script's forked
worker ran as fast as its parent; see docs/changelog.md), so
their speedup at k workers is over ONE worker of the same mode, and that one worker
against serial is its own ratio (``one_worker``), never baked into a speedup, whose
serial side was timed in the worker benchmark's own process, alternating with it.

Frames produced (one function each):
- ``derive``: a row per parallel benchmark: speedup vs its baseline (serial, or one
  worker of the same mode, ``baseline_name``), parallel efficiency, net speedup vs the
  matched default build's serial run, the threads' waiting share, and a ``problem``
  where a sanity gate fails;
- ``one_worker``: one pool worker or one subinterpreter against serial in its own process;
- ``build_overheads``: free-threading overhead (FT serial / matched default serial)
  and forced-GIL overhead (``PYTHON_GIL=1`` serial / same FT build's serial), with
  the peak-memory ratio of the same processes;
- ``latency``: p50/p99 request latency with order-statistic intervals.

Sanity gates.  A speedup is a measurement of physics: k workers cannot do CPU-bound
work more than min(k, CPUs) times faster, and one worker must match serial.  A ratio
whose 95% interval lies above ``min(k, CPUs) × 1.05`` (I/O workloads: k × 1.05), or a
one-worker ratio whose interval lies outside [0.95, 1.05], gets a ``problem`` text: the
report shows it as a measurement problem and the findings never quote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from harness import stats
from harness.collect import PER_ROUND_COLUMNS
from harness.pyperformance import TAG as PYPERFORMANCE
from workloads.host import PAIRED_MODES, gil_forced

KEY = ["run_id", "env", "workload", "params"]
DEFAULT_SWITCH_MS = 5.0  # CPython's default sys.getswitchinterval(): latency sweeps over k threads use it
GATE_SLACK = 0.05  # speedups may exceed the physical limit by this much before they are flagged
ONE_WORKER = (0.95, 1.05)  # a one-worker ratio outside this range is a measurement problem
Rounds = Mapping[int, float]


def _matrix(sides: Sequence[Rounds | None]) -> np.ndarray:
    """(pairs × rounds) array of round values, NaN where a round is missing."""
    width = 1 + max((max(r) for r in sides if r), default=0)
    out = np.full((len(sides), width), np.nan)
    for i, side in enumerate(sides):
        for round_, value in (side or {}).items():
            out[i, round_] = value
    return out


def ratio_columns(prefix: str, pairs: Sequence[tuple[Rounds, Rounds, float] | None]) -> pd.DataFrame:
    """``scale`` × A/B for many (A rounds, B rounds, scale) pairs at once, paired by round.

    Columns ``prefix``, ``_lo``, ``_hi``, ``_significant``, ``_hw`` (relative half-width
    of the 95% interval, the precision reached) and ``_n`` (rounds paired); ``None``
    pairs give NaN.
    """
    a = _matrix([p[0] if p else None for p in pairs])
    b = _matrix([p[1] if p else None for p in pairs])
    width = max(a.shape[1], b.shape[1])
    a = np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=np.nan)
    b = np.pad(b, ((0, 0), (0, width - b.shape[1])), constant_values=np.nan)
    scale = np.array([p[2] if p else np.nan for p in pairs], dtype=float)
    if len(pairs):
        got = stats.ratio_matrix(a, b)
    else:
        got = {k: np.array([]) for k in ("value", "lo", "hi", "half_width", "n")}
    value, lo, hi = got["value"] * scale, got["lo"] * scale, got["hi"] * scale
    return pd.DataFrame(
        {
            prefix: value,
            prefix + "_lo": lo,
            prefix + "_hi": hi,
            prefix + "_significant": (lo > 1.0) | (hi < 1.0),
            prefix + "_hw": got["half_width"],
            prefix + "_n": got["n"],
        }
    )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in str(version).split(".")[:3] if p.isdigit())


def partner_envs(envs: pd.DataFrame) -> dict[tuple[str, str], tuple[str, bool]]:
    """(run_id, free-threaded env) -> (default-build env, matched?).

    A matched partner shares the provisioning pair id (same source, same flags, only
    ``--disable-gil`` differs); failing that, the same version; failing that the same
    minor version, flagged as unmatched so the report never passes it off as a pair.
    """
    pairs: dict[tuple[str, str], tuple[str, bool]] = {}
    if envs.empty:
        return pairs
    for _, ft in envs[envs["free_threaded_build"]].iterrows():
        if gil_forced(ft["python_gil_env"]):  # compared with its own build instead: forced_gil_envs
            continue
        same_run = envs[(envs["run_id"] == ft["run_id"]) & ~envs["free_threaded_build"]]
        best = None
        for _, cand in same_run[same_run["implementation"] == ft["implementation"]].iterrows():
            if ft["pair_id"] and cand["pair_id"] == ft["pair_id"]:
                rank = 0
            elif _version_key(cand["version"]) == _version_key(ft["version"]):
                rank = 1
            elif _version_key(cand["version"])[:2] == _version_key(ft["version"])[:2]:
                rank = 2
            else:
                continue
            if best is None or rank < best[0]:
                best = (rank, cand["env"])
        if best is not None:
            pairs[(ft["run_id"], ft["env"])] = (best[1], best[0] == 0)
    return pairs


def forced_gil_envs(envs: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(run_id, ``PYTHON_GIL=1`` env) -> the same free-threaded build's env without it."""
    out: dict[tuple[str, str], str] = {}
    if envs.empty:
        return out
    ft = envs[envs["free_threaded_build"]]
    forced = ft["python_gil_env"].map(gil_forced)
    for _, row in ft[forced].iterrows():
        plain = ft[(ft["run_id"] == row["run_id"]) & ~forced & (ft["version"] == row["version"])]
        if not plain.empty:
            out[(row["run_id"], row["env"])] = plain.iloc[0]["env"]
    return out


def headline_workers(derived: pd.DataFrame) -> int:
    """The worker count headline figures use: the most threads that fit the machine's CPUs."""
    if derived.empty:
        return 2
    cpus = int(derived["cpu_count"].max() or 2)
    counts = derived.loc[(derived["mode"] == "threads") & (derived["workers"] <= cpus), "workers"]
    return int(counts.max()) if not counts.empty else 2


def _gate(speedup: float, lo: float, hi: float, workers: int, cpus: int, io: bool) -> str:
    """Why a speedup cannot be a result, or '' when it is physically possible.

    The test is on the 95% interval, not the point: a ratio is a problem when its whole
    interval lies outside what physics allows (one worker in [0.95, 1.05]; k workers at
    most min(k, CPUs) × 1.05).  A point estimate of four rounds wanders by ±15%; gating
    the point flagged noise, and gating the interval flags a bias the data show.  A ratio
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


def _mean(values: Mapping[int, float]) -> float:
    return float(np.mean(list(values.values()))) if values else np.nan


def _by_key(rows: pd.DataFrame, extra: Sequence[str] = ()) -> dict[tuple, dict[str, Any]]:
    """``KEY`` (+ ``extra``) -> name, rounds and work size of each row.

    A dict, not ``.loc``: a MultiIndex lookup per row took most of the time for 10,000 rows.
    """
    columns = [*KEY, *extra, "name", "rounds", "work_size"]
    return {
        tuple(key): {"name": name, "rounds": rounds, "work_size": size}
        for *key, name, rounds, size in rows[columns].itertuples(index=False)
    }


def _one_worker_rows(benchmarks: pd.DataFrame) -> pd.DataFrame:
    return benchmarks[benchmarks["mode"].isin(PAIRED_MODES) & (benchmarks["workers"] == 1)]


Capacity = Mapping[str, Mapping[int, Mapping[int, float]]]  # run_id -> k -> round -> the machine's capacity


def _capacity_sides(rounds: Rounds, base: Rounds, caps: Mapping[int, float] | None) -> tuple[float, Rounds | None]:
    """The machine's capacity over the rounds a speedup paired (geometric mean), and the
    speedup's parallel side scaled by each round's capacity: base over it is the efficiency."""
    if not caps:
        return np.nan, None
    common = [r for r in rounds if r in base and r in caps]
    if not common:
        return np.nan, None
    scaled = {r: rounds[r] * caps[r] for r in common}
    return float(np.exp(np.mean([np.log(caps[r]) for r in common]))), scaled


def derive(benchmarks: pd.DataFrame, envs: pd.DataFrame, capacity: Capacity | None = None) -> pd.DataFrame:
    """A row per parallel benchmark: speedup vs its baseline (``serial``; for
    ``PAIRED_MODES`` one worker of the same mode when it was measured), and net
    speedup vs the matched default build's serial run (what a user actually gains).

    With the ``capacity`` a run measured (``harness.capacity``: what k busy processes
    got done against one, round by round), a speedup at k workers also gets the
    machine's ``capacity`` over the same rounds and ``vs_capacity``, the speedup over
    it, paired by round: the share of what the machine allowed that the code earned.
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
        "free_threaded_build",
        "gil_enabled",
        "python_gil_env",
        "tags",
        "roles",
        "work_size",
        "rounds",
        "cpu_share",
    ]
    rows, speed, net, earned = [], [], [], []
    parallel = benchmarks[benchmarks["mode"] != "serial"].drop(index=ones.index)
    for row in parallel[columns].to_dict("records"):
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
        k = min(int(row["workers"]), int(row["cpu_count"] or row["workers"]))
        caps = (capacity or {}).get(row["run_id"], {}).get(k) if k > 1 else None
        row["capacity"], scaled = _capacity_sides(row["rounds"], base["rounds"], caps)
        earned.append((base["rounds"], scaled, 1.0) if scaled else None)
        rows.append(row)
        speed.append((base["rounds"], row["rounds"], 1.0))
        other = serial.get(net_key)
        if other is not None:  # time per unit of work: sizes are calibrated per interpreter
            net.append((other["rounds"], row["rounds"], row["work_size"] / other["work_size"]))
        else:
            net.append(None)
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).drop(columns=["rounds"])
    derived = pd.concat(
        [
            frame,
            ratio_columns("speedup", speed),
            ratio_columns("net_speedup", net),
            ratio_columns("vs_capacity", earned),
        ],
        axis=1,
    )
    derived["efficiency"] = derived["speedup"] / derived["workers"]
    derived["problem"] = [
        _gate(s, lo, hi, int(k), int(c), "io" in tags)
        for s, lo, hi, k, c, tags in derived[
            ["speedup", "speedup_lo", "speedup_hi", "workers", "cpu_count", "tags"]
        ].itertuples(index=False)
    ]
    return derived.sort_values(["run_id", "env", "workload", "params", "mode", "workers"]).reset_index(drop=True)


IN_PROCESS = "serial in the same process"  # one_worker's baseline_name where it was measured there


def one_worker(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """One worker of each ``PAIRED_MODES`` mode against serial (``vs_serial``, >1 = faster
    than serial, as a speedup reads): the cost of running the work in a pool worker or a
    subinterpreter.  Its own ratio, never part of a speedup, held to the one-worker gate.

    Serial is timed in the worker benchmark's own process: in the ``blocks`` layout the
    ``serial`` benchmark shares its block (``block`` names ``serial:1``); in the
    ``processes`` layout each value alternated with the same chunk in a fresh thread
    (``serial_in_process``, see ``workloads.modes``).  Either way ``baseline_name`` is
    ``IN_PROCESS``, and the pairs are by round.  Runs recorded before either compare
    with the ``serial`` benchmark, a different process, and name it.
    """
    serial = _by_key(benchmarks[benchmarks["mode"] == "serial"])
    rows, pairs = [], []
    for row in _one_worker_rows(benchmarks).to_dict("records"):
        key = tuple(row[k] for k in KEY)
        own = row.get("serial_in_process")
        own = own if isinstance(own, dict) else {}  # NaN where a frame mixes in older runs
        named = serial.get(key)
        if own:  # measured by this benchmark's own process
            base = {"name": IN_PROCESS, "rounds": own, "holder": row["name"]}
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
        pairs.append((base["rounds"], row["rounds"], 1.0))
    if not rows:
        return pd.DataFrame()
    frame = pd.concat([pd.DataFrame(rows), ratio_columns("vs_serial", pairs)], axis=1)
    frame["problem"] = [
        _gate(v, lo, hi, 1, int(c), "io" in t)
        for v, lo, hi, c, t in frame[["vs_serial", "vs_serial_lo", "vs_serial_hi", "cpu_count", "tags"]].itertuples(
            index=False
        )
    ]
    return frame.sort_values([*KEY, "mode"]).reset_index(drop=True)


def build_overheads(benchmarks: pd.DataFrame, envs: pd.DataFrame) -> pd.DataFrame:
    """Serial-time ratios between builds (>1 = slower than the baseline):
    ``free-threading`` (FT vs matched default build) and ``forced GIL``
    (PYTHON_GIL=1 vs the same FT build), per unit of work; and the ratio of the same
    processes' own peak memory (``peak_rss``, see ``workloads.memory.peak_resident_bytes``),
    paired by round too."""
    serial = benchmarks[benchmarks["mode"] == "serial"].set_index(KEY)
    comparisons = [("free-threading", env, base, matched) for (_, env), (base, matched) in partner_envs(envs).items()]
    comparisons += [("forced GIL", env, base, True) for (_, env), base in forced_gil_envs(envs).items()]
    rows, times, memory = [], [], []
    for kind, env, base_env, matched in comparisons:
        for key, row in serial.iterrows():
            base_key = (key[0], base_env, key[2], key[3])
            if key[1] != env or base_key not in serial.index:
                continue
            base = serial.loc[base_key]
            times.append((row["rounds"], base["rounds"], base["work_size"] / row["work_size"]))
            memory.append((row["rss"], base["rss"], 1.0) if row["rss"] and base["rss"] else None)
            rows.append(
                {
                    "kind": kind,
                    "run_id": key[0],
                    "env": env,
                    "baseline_env": base_env,
                    "matched": matched,
                    "workload": key[2],
                    "params": key[3],
                    "name": row["name"],
                    "tags": row["tags"],
                    "roles": row["roles"],
                }
            )
    if not rows:
        return pd.DataFrame()
    return pd.concat([pd.DataFrame(rows), ratio_columns("overhead", times), ratio_columns("memory", memory)], axis=1)


def object_memory(benchmarks: pd.DataFrame, envs: pd.DataFrame) -> pd.DataFrame:
    """Resident bytes per object of the workloads that probe it (``bytes_per_object``,
    see ``workloads.memory``): the mean over rounds with its 95% interval, per env, and
    for a free-threaded env its matched default build's mean and the ratio to it, paired
    by round.
    Envs whose processes recorded nothing (no ``/proc``) have no row: see
    ``object_memory_unmeasured``."""
    if benchmarks.empty or "bytes_per_object" not in benchmarks:
        return pd.DataFrame()
    probed = benchmarks[benchmarks["bytes_per_object"].map(lambda d: bool(_rounds_of(d))).astype(bool)]
    if probed.empty:
        return pd.DataFrame()
    partners = partner_envs(envs)
    per_round = probed.set_index(KEY)["bytes_per_object"]
    means = {key: stats.mean_interval(list(rounds.values())) for key, rounds in per_round.items()}
    rows, pairs = [], []
    for key, got in means.items():
        base_env, matched = partners.get((key[0], key[1]), ("", False))
        base_key = (key[0], base_env, key[2], key[3])
        base = base_key if base_env and base_key in means else None
        pairs.append((per_round[key], per_round[base], 1.0) if base else None)
        rows.append(
            {
                **dict(zip(KEY, key)),
                "bytes": got.value,
                "bytes_lo": got.lo,
                "bytes_hi": got.hi,
                "bytes_n": got.n,
                "baseline_env": base_env if base else "",
                "baseline_bytes": means[base].value if base else np.nan,
                "matched": matched,
            }
        )
    frame = pd.concat([pd.DataFrame(rows), ratio_columns("vs_default", pairs)], axis=1)
    return frame.sort_values(KEY).reset_index(drop=True)


def object_memory_unmeasured(benchmarks: pd.DataFrame) -> list[str]:
    """The envs that ran a memory-probing workload but recorded no bytes per object, sorted."""
    if benchmarks.empty or "bytes_per_object" not in benchmarks:
        return []
    probing = benchmarks[benchmarks["tags"].map(lambda t: "memory" in t).astype(bool)]
    missing = probing[probing["bytes_per_object"].map(lambda d: not _rounds_of(d)).astype(bool)]
    return sorted(set(missing["env"]))


def latency(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Request latency of self-timed workloads: p50 and p99 with distribution-free
    (order-statistic) intervals over every request of every round, and requests/s."""
    rows = []
    for _, row in benchmarks[benchmarks["roles"].map(lambda r: "latency" in r)].iterrows():
        values = [v for run in row["runs"] for v in run]
        p50, p99 = stats.quantile_interval(values, 0.5), stats.quantile_interval(values, 0.99)
        rows.append(
            {
                **{k: row[k] for k in (*KEY, "name", "workers", "implementation", "version")},
                "free_threaded_build": row["free_threaded_build"],
                "gil_enabled": row["gil_enabled"],
                "switch_ms": float(row["switch_interval"]) * 1e3,
                "n": row["n"],
                "p50": p50.value,
                "p50_lo": p50.lo,
                "p50_hi": p50.hi,
                "p99": p99.value,
                "p99_lo": p99.lo,
                "p99_hi": p99.hi,
                "requests_per_s": 1.0 / row["mean"],
            }
        )
    return pd.DataFrame(rows)


# PEP 779's bars for a supported free-threaded build, as pyperformance geometric means
# against the default build: at most 15% more CPU time and 20% more memory.
PEP779_TIME_BAR = 1.15
PEP779_MEMORY_BAR = 1.20


def is_pyperformance(benchmarks: pd.DataFrame) -> pd.Series:
    """Which rows are pyperformance benchmarks (bench-all --pyperformance), not gilbench's workloads."""
    if "tags" not in benchmarks:
        return pd.Series(False, index=benchmarks.index)
    return benchmarks["tags"].map(lambda tags: PYPERFORMANCE in tags).astype(bool)


def geomean(pairs: Sequence[tuple[Rounds, Rounds, float]]) -> dict[str, float]:
    """The geometric mean over benchmarks of ``scale`` × A/B, with its 95% interval, paired by round.

    Per round in which every pair has both sides: the mean over the pairs of
    log(scale × A/B); the interval is Student's t over those rounds (``stats.ratio_matrix``
    on the per-round geometric means), as for one ratio.  Rounds that lack one benchmark
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


def reference_envs(envs: pd.DataFrame, present: set[tuple[str, str]]) -> dict[str, str]:
    """run_id -> the CPython every interpreter's pyperformance geomean is held against: the
    matched default build of a free-threaded env (a pair's own), else the same version's
    default build, else the newest default CPython build; among the envs in ``present``."""
    out: dict[str, str] = {}
    pairs = partner_envs(envs)
    for (run_id, _ft), (base, matched) in sorted(pairs.items(), key=lambda kv: not kv[1][1]):
        if (run_id, base) in present and (run_id not in out or matched):
            out.setdefault(run_id, base)
    if envs.empty:
        return out
    plain = envs[(envs["implementation"] == "cpython") & ~envs["free_threaded_build"]]
    for run_id, group in plain.groupby("run_id"):
        group = group[[(run_id, e) in present for e in group["env"]]]
        if run_id not in out and not group.empty:
            newest = max(group.to_dict("records"), key=lambda r: _version_key(r["version"]))
            out[str(run_id)] = newest["env"]
    return out


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
        measured = [k for k in common if _rounds_of(mine[k]["rss"]) and _rounds_of(theirs[k]["rss"])]
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


def _rounds_of(side: Any) -> dict[int, float]:
    """A per-round column's value (NaN where a frame mixes in rows without it) as a dict."""
    return side if isinstance(side, dict) else {}


def memory_unmeasured(benchmarks: pd.DataFrame) -> list[str]:
    """The envs whose pyperformance processes recorded no peak RSS (no ``/proc``, or runs
    from before it was recorded), sorted."""
    rows_ = benchmarks[is_pyperformance(benchmarks)]
    if rows_.empty:
        return []
    missing = rows_[rows_["rss"].map(lambda d: not _rounds_of(d))]
    return sorted(set(missing["env"]))


AA_SUFFIX = "-aa"  # bench-all --aa ENV measures ENV again as ENV-aa, in the same rounds
WARMUP_TOLERANCE = 0.05  # a JIT's last warm-up within 5% of the values that follow: steady state


def aa_calibration(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """A/A: every benchmark of ENV against the same benchmark of ENV-aa (the same
    interpreter measured as two envs in one interleaved run).  The true ratio is 1, so
    the share of 95% intervals that exclude 1 is the method's false-positive rate."""
    timed = benchmarks[~benchmarks["roles"].map(lambda r: "latency" in r)]
    twins = timed[timed["env"].str.endswith(AA_SUFFIX)].copy()
    if twins.empty:
        return pd.DataFrame()
    twins["base_env"] = twins["env"].str[: -len(AA_SUFFIX)]
    merged = twins.merge(
        timed, left_on=["run_id", "base_env", "name"], right_on=["run_id", "env", "name"], suffixes=("_aa", "")
    )
    ratios = ratio_columns("ratio", [(a, b, 1.0) for a, b in zip(merged["rounds"], merged["rounds_aa"])])
    return pd.concat([merged[["run_id", "env", "env_aa", "name"]].reset_index(drop=True), ratios], axis=1)


def aa_summary(aa: pd.DataFrame) -> dict[str, Any] | None:
    """The A/A figure: how many intervals exclude 1 when nothing differs (None without an A/A run)."""
    rated = aa.dropna(subset=["ratio_lo"]) if not aa.empty else aa
    if rated.empty:
        return None
    return {
        "envs": sorted(set(rated["env"])),
        "n": len(rated),
        "excluding": int(rated["ratio_significant"].sum()),
        "share": float(rated["ratio_significant"].mean()),
        "median_hw": float(rated["ratio_hw"].median()),
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


@dataclass
class Analysis:
    """Every derived frame of a collection of runs; what charts, findings and pages read."""

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

    def headline(self) -> pd.DataFrame:
        """Every headline ratio with the benchmarks it uses and the precision it reached:
        speedups and net speedups at every worker count, one pool worker or subinterpreter
        against serial, free-threading and forced-GIL overheads.  Columns: kind, run_id,
        env, name, other_env, other_name, value, hw (relative half-width), n (rounds
        behind it)."""
        parts = []
        d = self.derived
        if not d.empty:
            parts.append(
                pd.DataFrame(
                    {
                        "kind": "speedup",
                        "run_id": d["run_id"],
                        "env": d["env"],
                        "name": d["name"],
                        "other_env": d["env"],
                        "other_name": d["baseline_name"],
                        "value": d["speedup"],
                        "hw": d["speedup_hw"],
                        "n": d["speedup_n"],
                    }
                )
            )
            netted = d[d["net_baseline_env"] != d["env"]]
            parts.append(
                pd.DataFrame(
                    {
                        "kind": "net speedup",
                        "run_id": netted["run_id"],
                        "env": netted["env"],
                        "name": netted["name"],
                        "other_env": netted["net_baseline_env"],
                        "other_name": netted["serial_name"],
                        "value": netted["net_speedup"],
                        "hw": netted["net_speedup_hw"],
                        "n": netted["net_speedup_n"],
                    }
                )
            )
        w = self.one_worker
        if not w.empty:
            parts.append(
                pd.DataFrame(
                    {
                        "kind": "one worker",
                        "run_id": w["run_id"],
                        "env": w["env"],
                        "name": w["name"],
                        "other_env": w["env"],
                        "other_name": w["baseline_bench"],
                        "value": w["vs_serial"],
                        "hw": w["vs_serial_hw"],
                        "n": w["vs_serial_n"],
                    }
                )
            )
        for o in (self.overheads, self.pyperformance):
            if o.empty:
                continue
            parts.append(
                pd.DataFrame(
                    {
                        "kind": o["kind"] + " overhead",
                        "run_id": o["run_id"],
                        "env": o["env"],
                        "name": o["name"],
                        "other_env": o["baseline_env"],
                        "other_name": o["name"],
                        "value": o["overhead"],
                        "hw": o["overhead_hw"],
                        "n": o["overhead_n"],
                    }
                )
            )
        columns = ["kind", "run_id", "env", "name", "other_env", "other_name", "value", "hw", "n"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def analyse(benchmarks: pd.DataFrame, envs: pd.DataFrame, capacity: Capacity | None = None) -> Analysis:
    """Every derived frame of the collected benchmarks (``capacity``: see ``derive``)."""
    derived = derive(benchmarks, envs, capacity)
    pp = is_pyperformance(benchmarks)
    return Analysis(
        derived=derived,
        overheads=build_overheads(benchmarks[~pp], envs),
        pyperformance=build_overheads(benchmarks[pp], envs),
        geomeans=pyperformance_geomeans(benchmarks, envs),
        latency=latency(benchmarks),
        aa=aa_calibration(benchmarks),
        warmups=warmup_problems(benchmarks),
        one_worker=one_worker(benchmarks),
        objects=object_memory(benchmarks[~pp], envs),
    )


def first_rounds(benchmarks: pd.DataFrame, rounds: int) -> pd.DataFrame:
    """``benchmarks`` as they stood after their first ``rounds`` rounds: what a run would
    have reported had it stopped there (time-to-precision curves, layout comparisons)."""
    out = benchmarks.copy()
    for column in ("rounds", *PER_ROUND_COLUMNS):
        if column in out:
            out[column] = [
                {r: v for r, v in d.items() if r < rounds} if isinstance(d, dict) else d for d in out[column]
            ]
    return out


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
