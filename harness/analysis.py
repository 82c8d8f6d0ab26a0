"""Analyse: derived measures, each ratio with a bootstrap 95% confidence interval.

Why bootstrap: one-shot timings on shared 2-core machines swing by ±25%, so a ratio
is only a finding when its interval excludes 1.  Resampling is hierarchical where
pyperf gives several processes (pick processes, then values within them), since
process-to-process variation is exactly what pyperf's many processes expose.
Seeds derive from the benchmark names, so the same JSON always gives the same
intervals.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

N_BOOT = 2000
CONFIDENCE = 0.95
KEY = ["run_id", "env", "workload", "params"]


@dataclass(frozen=True)
class Ratio:
    """A ratio of means with its bootstrap interval."""

    value: float
    lo: float
    hi: float

    @property
    def significant(self) -> bool:
        """True when the interval does not contain 1: a real difference, not noise."""
        return bool(self.lo > 1.0 or self.hi < 1.0)


def _seed(*parts: Any) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def bootstrap_means(runs: Sequence[Sequence[float]], rng: np.random.Generator, n_boot: int = N_BOOT) -> np.ndarray:
    """``n_boot`` resampled means of pyperf values grouped by process."""
    lengths = {len(r) for r in runs}
    if len(runs) >= 2 and len(lengths) == 1:
        arr = np.asarray(runs, dtype=float)  # processes x values
        n_runs, n_values = arr.shape
        pick_runs = rng.integers(0, n_runs, size=(n_boot, n_runs))
        pick_values = rng.integers(0, n_values, size=(n_boot, n_runs, n_values))
        return arr[pick_runs[:, :, None], pick_values].mean(axis=(1, 2))
    flat = np.asarray([v for r in runs for v in r], dtype=float)
    return flat[rng.integers(0, len(flat), size=(n_boot, len(flat)))].mean(axis=1)


def ratio(numerator: Sequence[Sequence[float]], denominator: Sequence[Sequence[float]], seed: int) -> Ratio:
    """mean(numerator) / mean(denominator) with a percentile bootstrap interval."""
    num = [v for r in numerator for v in r]
    den = [v for r in denominator for v in r]
    if not num or not den:
        return Ratio(np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    boots = bootstrap_means(numerator, rng) / bootstrap_means(denominator, rng)
    tail = (1 - CONFIDENCE) / 2 * 100
    lo, hi = np.percentile(boots, [tail, 100 - tail])
    return Ratio(float(np.mean(num) / np.mean(den)), float(lo), float(hi))


def _ratio_columns(prefix: str, r: Ratio) -> dict[str, Any]:
    return {prefix: r.value, prefix + "_lo": r.lo, prefix + "_hi": r.hi, prefix + "_significant": r.significant}


def _serial_runs(benchmarks: pd.DataFrame) -> dict[tuple, Any]:
    serial = benchmarks[benchmarks["mode"] == "serial"]
    return {tuple(row[k] for k in KEY): row["runs"] for _, row in serial.iterrows()}


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
        same_run = envs[(envs["run_id"] == ft["run_id"]) & ~envs["free_threaded_build"]]
        same_run = same_run[same_run["implementation"] == ft["implementation"]]
        best = None
        for _, cand in same_run.iterrows():
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


def derive(benchmarks: pd.DataFrame, envs: pd.DataFrame) -> pd.DataFrame:
    """A row per non-serial benchmark: speedup vs its own serial run, and net speedup
    vs the matched default build's serial run (what a user actually gains)."""
    serial = _serial_runs(benchmarks)
    partners = partner_envs(envs)
    rows = []
    for _, row in benchmarks[benchmarks["mode"] != "serial"].iterrows():
        key = tuple(row[k] for k in KEY)
        if key not in serial:
            continue  # latency workloads have no serial baseline
        out = {k: row[k] for k in (*KEY, "name", "mode", "workers", "implementation", "version")}
        out["free_threaded_build"] = row["free_threaded_build"]
        out["gil_enabled"] = row["gil_enabled"]
        speed = ratio(serial[key], row["runs"], _seed(*key, row["name"]))
        out.update(_ratio_columns("speedup", speed))
        out["efficiency"] = speed.value / row["workers"]
        partner = partners.get((row["run_id"], row["env"]))
        base_key = (row["run_id"], partner[0], row["workload"], row["params"]) if partner else key
        out["net_baseline_env"] = base_key[1]
        out["net_matched"] = bool(partner[1]) if partner else True
        if base_key in serial:
            out.update(
                _ratio_columns("net_speedup", ratio(serial[base_key], row["runs"], _seed(*base_key, row["name"])))
            )
        rows.append(out)
    derived = pd.DataFrame(rows)
    if not derived.empty:
        derived = derived.sort_values(["run_id", "env", "workload", "params", "mode", "workers"]).reset_index(drop=True)
    return derived


def ft_overhead(benchmarks: pd.DataFrame, envs: pd.DataFrame) -> pd.DataFrame:
    """Free-threading overhead: FT serial time / matched default-build serial time (>1 = slower)."""
    serial = _serial_runs(benchmarks)
    rows = []
    for (run_id, ft_env), (base_env, matched) in partner_envs(envs).items():
        for key, runs in serial.items():
            if key[0] != run_id or key[1] != ft_env:
                continue
            base_key = (run_id, base_env, key[2], key[3])
            if base_key not in serial:
                continue
            r = ratio(runs, serial[base_key], _seed("ft", *key))
            rows.append(
                {"run_id": run_id, "env": ft_env, "baseline_env": base_env, "matched": matched,
                 "workload": key[2], "params": key[3], **_ratio_columns("overhead", r)}
            )  # fmt: skip
    return pd.DataFrame(rows)
