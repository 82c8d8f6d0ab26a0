"""Ratios paired by round: the arithmetic every derived frame shares.

Every benchmark is measured in rounds, and a round's value is the mean of one pyperf
process's values.  A ratio of two benchmarks of one run is computed round by round and
its 95% interval is Student's t on the per-round log ratios (``harness.stats``):
whatever slowed the whole machine during a round cancels.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from harness import stats
from harness.collect import PER_ROUND_COLUMNS

KEY = ["run_id", "env", "workload", "params"]
PerRound = Mapping[int, float]  # round -> that round's value of one benchmark


def _matrix(sides: Sequence[PerRound | None]) -> np.ndarray:
    """(pairs × rounds) array of round values, NaN where a round is missing."""
    width = 1 + max((max(r) for r in sides if r), default=0)
    out = np.full((len(sides), width), np.nan)
    for i, side in enumerate(sides):
        for round_, value in (side or {}).items():
            out[i, round_] = value
    return out


def ratio_columns(prefix: str, pairs: Sequence[tuple[PerRound, PerRound, float] | None]) -> pd.DataFrame:
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


def rounds_of(side: Any) -> dict[int, float]:
    """A per-round column's value (NaN where a frame mixes in rows without it) as a dict."""
    return side if isinstance(side, dict) else {}


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
