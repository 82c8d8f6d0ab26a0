"""Analyse: derived measures, each ratio with a 95% confidence interval.

How an interval is made.  Each benchmark's mean is bootstrapped once: pyperf
processes are resampled, then values within each (hierarchical, because processes
differ more than values in one process do).  A ratio's interval is then
``ratio × exp(± t · SE)``, where SE is the bootstrap standard error of the log
ratio, inflated by n/(n-1) for n resampled units, and t is Student's quantile
for the Welch–Satterthwaite degrees of freedom of the two sides' unit counts.

Why not the plain percentile bootstrap: with the 2 processes of the ``fast``
profile it is far too narrow.  Two runs of the same build on these shared 2-core
machines differed by up to 45% on a benchmark whose percentile interval was ±5%;
with t on 1-2 degrees of freedom such a pair is correctly "not significant".
More processes (``default``: 6, ``rigorous``: 12) narrow the intervals honestly.
Seeds derive from run, env and benchmark names: the same JSON gives the same numbers.

Frames produced (one function each):
- ``derive``: a row per parallel benchmark: speedup vs its own serial run, parallel
  efficiency, net speedup vs the matched default build's serial run;
- ``build_overheads``: free-threading overhead (FT serial / matched default serial)
  and forced-GIL overhead (``PYTHON_GIL=1`` serial / same FT build's serial);
- ``per_workload``: thread penalty (threads,1 / serial), processes vs threads, and
  the best speedup per mode;
- ``latency``: p50/p99 request latency (percentile bootstrap over the many
  requests) and requests/s for self-timed workloads.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

N_BOOT = 2000
CONFIDENCE = 0.95  # T_975 below is for this level
KEY = ["run_id", "env", "workload", "params"]
# Student's t 0.975 quantiles; other degrees of freedom interpolate in 1/df.
_T_DF = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 30, 40, 60, 120, np.inf])
_T_975 = np.array([12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.179, 2.131, 2.086,
                   2.060, 2.042, 2.021, 2.000, 1.980, 1.960])  # fmt: skip


def t975(df: np.ndarray) -> np.ndarray:
    """Student's t quantile at 0.975 for (possibly fractional) degrees of freedom >= 1."""
    inverse = 1.0 / np.maximum(np.asarray(df, dtype=float), 1.0)
    return np.interp(inverse, (1.0 / _T_DF)[::-1], _T_975[::-1])


@dataclass(frozen=True)
class Ratio:
    """A ratio with its 95% interval."""

    value: float
    lo: float
    hi: float

    @property
    def significant(self) -> bool:
        """True when the interval does not contain 1: a real difference, not noise."""
        return bool(self.lo > 1.0 or self.hi < 1.0)


def _seed(*parts: Any) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def _hierarchical(runs: Sequence[Sequence[float]]) -> bool:
    return len(runs) >= 2 and len({len(r) for r in runs}) == 1


def _resample(runs: Sequence[Sequence[float]], rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """``n_boot`` resamples of the values, shape (n_boot, n): processes first, then values."""
    if _hierarchical(runs):
        arr = np.asarray(runs, dtype=float)  # processes x values
        n_runs, n_values = arr.shape
        pick_runs = rng.integers(0, n_runs, size=(n_boot, n_runs))
        pick_values = rng.integers(0, n_values, size=(n_boot, n_runs, n_values))
        return arr[pick_runs[:, :, None], pick_values].reshape(n_boot, -1)
    flat = np.asarray([v for r in runs for v in r], dtype=float)
    return flat[rng.integers(0, len(flat), size=(n_boot, len(flat)))]


@dataclass(frozen=True)
class Sample:
    """A benchmark's mean, and the spread of its log over bootstrap resamples.

    Computed once per benchmark and reused by every ratio it takes part in (a
    serial run is the baseline of a dozen speedups), which keeps 10,000
    benchmarks to seconds.  ``units`` is what the top level resamples: pyperf
    processes, or values when there is a single process.
    """

    mean: float
    log_var: float  # bootstrap variance of log(mean), inflated by units/(units-1)
    units: int


def sample(runs: Sequence[Sequence[float]], seed: int) -> Sample:
    """Bootstrap one benchmark's values grouped by process (``N_BOOT`` resamples)."""
    flat = [v for r in runs for v in r]
    units = len(runs) if _hierarchical(runs) else len(flat)
    if units < 2:
        return Sample(float(np.mean(flat)) if flat else np.nan, np.nan, units)
    boots = _resample(runs, np.random.default_rng(seed), N_BOOT).mean(axis=1)
    return Sample(float(np.mean(flat)), float(np.var(np.log(boots))) * units / (units - 1), units)


def ratio_columns(prefix: str, pairs: Sequence[tuple[Sample, Sample] | None]) -> pd.DataFrame:
    """mean(numerator) / mean(denominator) for many pairs at once, as columns
    ``prefix``, ``prefix_lo``, ``prefix_hi``, ``prefix_significant``; ``None`` pairs give NaN."""
    nan = Sample(np.nan, np.nan, 0)
    pairs = [p or (nan, nan) for p in pairs]
    value = np.array([a.mean / b.mean for a, b in pairs], dtype=float)
    var_a = np.array([a.log_var for a, _ in pairs], dtype=float)
    var_b = np.array([b.log_var for _, b in pairs], dtype=float)
    dof_a = np.array([a.units - 1 for a, _ in pairs], dtype=float)
    dof_b = np.array([b.units - 1 for _, b in pairs], dtype=float)
    var = var_a + var_b
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = var**2 / (var_a**2 / dof_a + var_b**2 / dof_b)  # Welch-Satterthwaite
    half = t975(np.nan_to_num(dof, nan=np.inf)) * np.sqrt(var)
    lo, hi = value * np.exp(-half), value * np.exp(half)
    return pd.DataFrame(
        {prefix: value, prefix + "_lo": lo, prefix + "_hi": hi, prefix + "_significant": (lo > 1.0) | (hi < 1.0)}
    )


def ratio_of(numerator: Sample, denominator: Sample) -> Ratio:
    """mean(numerator) / mean(denominator) with its 95% interval."""
    row = ratio_columns("r", [(numerator, denominator)]).iloc[0]
    return Ratio(float(row["r"]), float(row["r_lo"]), float(row["r_hi"]))


def ratio(numerator: Sequence[Sequence[float]], denominator: Sequence[Sequence[float]], seed: int) -> Ratio:
    """Like ``ratio_of``, straight from two benchmarks' values grouped by process."""
    return ratio_of(sample(numerator, seed), sample(denominator, seed + 1))


def percentile(runs: Sequence[Sequence[float]], q: float, seed: int) -> Ratio:
    """The ``q``-th percentile of the values, with a percentile-bootstrap interval
    (a statistic of many requests, not a ratio: ``significant`` means nothing here)."""
    flat = np.asarray([v for r in runs for v in r], dtype=float)
    if not len(flat):
        return Ratio(np.nan, np.nan, np.nan)
    boots = np.percentile(_resample(runs, np.random.default_rng(seed), N_BOOT), q, axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    lo, hi = np.percentile(boots, [tail, 100 - tail])
    return Ratio(float(np.percentile(flat, q)), float(lo), float(hi))


def samples(benchmarks: pd.DataFrame) -> pd.Series:
    """A ``Sample`` per benchmark (aligned with the frame), seeded by run, env and name."""
    return pd.Series(
        [
            sample(runs, _seed(run_id, env, name))
            for run_id, env, name, runs in benchmarks[["run_id", "env", "name", "runs"]].itertuples(index=False)
        ],
        index=benchmarks.index,
        dtype=object,
    )


def _by_key(benchmarks: pd.DataFrame, drawn: pd.Series, mode: str, workers: int | None = None) -> dict[tuple, Sample]:
    rows = benchmarks[benchmarks["mode"] == mode]
    if workers is not None:
        rows = rows[rows["workers"] == workers]
    return {tuple(key): drawn[i] for i, *key in rows[KEY].itertuples()}


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
        if ft["python_gil_env"] == "1":  # compared with its own build instead: forced_gil_envs
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
    for _, forced in ft[ft["python_gil_env"] == "1"].iterrows():
        plain = ft[(ft["run_id"] == forced["run_id"]) & (ft["python_gil_env"] == "") & (ft["executable"] != "")]
        plain = plain[plain["version"] == forced["version"]]
        if not plain.empty:
            out[(forced["run_id"], forced["env"])] = plain.iloc[0]["env"]
    return out


def headline_workers(derived: pd.DataFrame) -> int:
    """The worker count headline figures use: the most threads that fit the machine's CPUs."""
    if derived.empty:
        return 2
    cpus = int(derived["cpu_count"].max() or 2)
    counts = derived.loc[(derived["mode"] == "threads") & (derived["workers"] <= cpus), "workers"]
    return int(counts.max()) if not counts.empty else 2


def derive(benchmarks: pd.DataFrame, envs: pd.DataFrame, drawn: pd.Series | None = None) -> pd.DataFrame:
    """A row per parallel benchmark: speedup vs its own serial run, and net speedup
    vs the matched default build's serial run (what a user actually gains)."""
    drawn = samples(benchmarks) if drawn is None else drawn
    serial = _by_key(benchmarks, drawn, "serial")
    partners = partner_envs(envs)
    columns = [*KEY, "name", "mode", "workers", "implementation", "version", "cpu_count", "free_threaded_build",
               "gil_enabled", "python_gil_env"]  # fmt: skip
    rows, speed, net = [], [], []
    parallel = benchmarks[benchmarks["mode"] != "serial"]
    for index, row in zip(parallel.index, parallel[columns].to_dict("records")):
        key = tuple(row[k] for k in KEY)
        if key not in serial:
            continue  # latency workloads have no serial baseline
        partner = partners.get((row["run_id"], row["env"]))
        base_key = (row["run_id"], partner[0], row["workload"], row["params"]) if partner else key
        row["net_baseline_env"] = base_key[1]
        row["net_matched"] = bool(partner[1]) if partner else True
        rows.append(row)
        speed.append((serial[key], drawn[index]))
        net.append((serial[base_key], drawn[index]) if base_key in serial else None)
    if not rows:
        return pd.DataFrame()
    derived = pd.concat(
        [pd.DataFrame(rows), ratio_columns("speedup", speed), ratio_columns("net_speedup", net)], axis=1
    )
    derived["efficiency"] = derived["speedup"] / derived["workers"]
    return derived.sort_values(["run_id", "env", "workload", "params", "mode", "workers"]).reset_index(drop=True)


def build_overheads(benchmarks: pd.DataFrame, envs: pd.DataFrame, drawn: pd.Series | None = None) -> pd.DataFrame:
    """Serial-time ratios between builds (>1 = slower than the baseline):
    ``free-threading`` (FT vs matched default build) and ``forced GIL``
    (PYTHON_GIL=1 vs the same FT build)."""
    serial = _by_key(benchmarks, samples(benchmarks) if drawn is None else drawn, "serial")
    comparisons = [("free-threading", env, base, matched) for (_, env), (base, matched) in partner_envs(envs).items()]
    comparisons += [("forced GIL", env, base, True) for (_, env), base in forced_gil_envs(envs).items()]
    rows, pairs = [], []
    for kind, env, base_env, matched in comparisons:
        for key, drawn_key in serial.items():
            base_key = (key[0], base_env, key[2], key[3])
            if key[1] != env or base_key not in serial:
                continue
            pairs.append((drawn_key, serial[base_key]))
            rows.append({"kind": kind, "run_id": key[0], "env": env, "baseline_env": base_env, "matched": matched,
                         "workload": key[2], "params": key[3]})  # fmt: skip
    if not rows:
        return pd.DataFrame()
    return pd.concat([pd.DataFrame(rows), ratio_columns("overhead", pairs)], axis=1)


def per_workload(benchmarks: pd.DataFrame, derived: pd.DataFrame, drawn: pd.Series | None = None) -> pd.DataFrame:
    """Per env x workload: thread penalty, processes vs threads, best speedups.

    ``thread_penalty`` = T(threads, 1) / T(serial): the cost of just moving the work
    to a thread.  ``processes_vs_threads`` = T(threads, k) / T(processes, k) at the
    largest k not above the CPU count (>1 = processes win).  ``best_<mode>`` is the
    best speedup over worker counts.
    """
    if derived.empty:
        return pd.DataFrame()
    drawn = samples(benchmarks) if drawn is None else drawn
    at = {(*key, mode, k): drawn[i] for i, *key, mode, k in benchmarks[[*KEY, "mode", "workers"]].itertuples()}

    def pair(key: tuple, a: tuple, b: tuple) -> tuple[Sample, Sample] | None:
        return (at[(*key, *a)], at[(*key, *b)]) if (*key, *a) in at and (*key, *b) in at else None

    fits = derived[derived["workers"] <= derived["cpu_count"].where(derived["cpu_count"] > 0, 2)]
    compare_k = fits.groupby(KEY)["workers"].max()
    frame = pd.DataFrame([dict(zip(KEY, key), compare_workers=int(k)) for key, k in compare_k.items()])
    penalty = [pair(key, ("threads", 1), ("serial", 1)) for key in compare_k.index]
    versus = [pair(key, ("threads", k), ("processes", k)) for key, k in compare_k.items()]
    frame = pd.concat(
        [frame, ratio_columns("thread_penalty", penalty), ratio_columns("processes_vs_threads", versus)], axis=1
    )
    measured = derived.dropna(subset=["speedup"])
    best = measured.loc[measured.groupby([*KEY, "mode"])["speedup"].idxmax()]
    wide = best.pivot_table(index=KEY, columns="mode", values=["speedup", "speedup_significant"], aggfunc="first")
    wide.columns = ["best_" + mode + ("" if value == "speedup" else "_significant") for value, mode in wide.columns]
    return frame.merge(wide.reset_index(), on=KEY, how="left")


def latency(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Request latency of self-timed workloads: p50 and p99 (with intervals), requests/s."""
    rows = []
    for _, row in benchmarks[benchmarks["tags"].map(lambda t: "latency" in t)].iterrows():
        seed = _seed("lat", row["env"], row["name"])
        p50, p99 = percentile(row["runs"], 50, seed), percentile(row["runs"], 99, seed + 1)
        rows.append(
            {**{k: row[k] for k in (*KEY, "name", "workers", "implementation", "version")},
             "free_threaded_build": row["free_threaded_build"], "gil_enabled": row["gil_enabled"],
             "switch_ms": float(row["params_dict"].get("switch_ms", np.nan)), "n": row["n"],
             "p50": p50.value, "p50_lo": p50.lo, "p50_hi": p50.hi,
             "p99": p99.value, "p99_lo": p99.lo, "p99_hi": p99.hi, "requests_per_s": 1.0 / row["mean"]}
        )  # fmt: skip
    return pd.DataFrame(rows)


@dataclass
class Analysis:
    """Every derived frame of a collection of runs; what charts, findings and pages read."""

    derived: pd.DataFrame
    overheads: pd.DataFrame
    per_workload: pd.DataFrame
    latency: pd.DataFrame


def analyse(benchmarks: pd.DataFrame, envs: pd.DataFrame) -> Analysis:
    """Every derived frame; each benchmark is bootstrapped once and shared by all ratios."""
    drawn = samples(benchmarks)
    derived = derive(benchmarks, envs, drawn)
    return Analysis(
        derived=derived,
        overheads=build_overheads(benchmarks, envs, drawn),
        per_workload=per_workload(benchmarks, derived, drawn),
        latency=latency(benchmarks),
    )
