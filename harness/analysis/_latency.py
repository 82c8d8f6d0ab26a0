"""Request latency of the self-timed workloads (the convoy effect)."""

from __future__ import annotations

import pandas as pd

from harness import stats
from harness.analysis._ratios import KEY

DEFAULT_SWITCH_MS = 5.0  # CPython's default sys.getswitchinterval(): latency sweeps over k threads use it


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
