"""Ratios paired by round: the arithmetic every derived frame shares.

Every benchmark is measured in rounds, and a round's value is the mean of one pyperf
process's values.  A ratio of two benchmarks of one run is computed round by round:
whatever slowed the whole machine during a round cancels.  A timing ratio's 95%
interval is the moderated t on its per-round log ratios (``harness.stats.moderated_matrix``):
its own rounds stay paired, and its variance is pooled with the run's other timing
ratios through one prior per run (``Moderation``), Student's t where the run has too
few ratios or the ratio no within-process spread.  Memory, capacity and bytes per
object stay on Student's t (``stats.ratio_matrix``): the prior's covariate is the
spread of timing values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from harness import stats
from harness.collect import PER_ROUND_COLUMNS, WITHIN

KEY = ["run_id", "env", "workload", "params"]
PerRound = Mapping[int, float]  # round -> that round's value of one benchmark
# The kinds of timing ratio, as the headline and the moderated interval's prior name them
# (a build overhead's kind is its comparison's, "free-threading overhead" or "forced GIL overhead").
SPEEDUP, NET_SPEEDUP, ONE_WORKER_KIND, AA_KIND = "speedup", "net speedup", "one worker", "A/A"


@dataclass(frozen=True)
class Sides:
    """One ratio, ``scale`` × A/B round by round, as ``ratio_columns`` takes it.

    ``within_a`` and ``within_b`` are each side's standard error of a round's log value
    as its own process saw it (``collect.WITHIN``; empty where there is none), the
    covariate of the moderated interval's prior; ``run_id``, ``kind`` and ``group``
    (the workload) are what the prior knows the ratio by.  ``fit`` is False for a ratio
    that repeats another the prior is fitted on (a default build's net speedup is its
    speedup over its own serial): counted twice, it would weigh twice.
    """

    a: PerRound
    b: PerRound
    scale: float = 1.0
    within_a: PerRound = field(default_factory=dict)
    within_b: PerRound = field(default_factory=dict)
    run_id: str = ""
    kind: str = ""
    group: str = ""
    fit: bool = True


@dataclass
class Moderation:
    """The moderated interval's priors, one per run (run_id -> ``stats.Prior``; None or
    absent: that run's timing ratios keep Student's t), and every ratio ``ratio_columns``
    computed with it (``seen``), which is what ``fitted`` fits the priors on.

    Why a second pass: the prior of a run is fitted on all its timing ratios (speedups,
    net speedups, one worker, build overheads, A/A), which several frames compute, and
    each of those frames' intervals (and the sanity gates read off them) needs it.
    """

    priors: dict[str, stats.Prior | None] = field(default_factory=dict)
    seen: list[Sides] = field(default_factory=list)

    def fitted(self) -> Moderation:
        """A ``Moderation`` whose priors are fitted on the ratios this one has seen, per run."""
        by_run: dict[str, list[Sides]] = {}
        for sides in self.seen:
            by_run.setdefault(sides.run_id, []).append(sides)
        priors = {}
        for run_id, pairs in by_run.items():
            a, b, within_a, within_b = _matrices(pairs)
            within = stats.within_variance(a, b, within_a, within_b)
            priors[run_id] = stats.fit_prior(a, b, within, [p.kind for p in pairs], [p.group for p in pairs])
        return Moderation(priors)


def against_one(rounds: PerRound) -> Sides:
    """A quantity that is itself a ratio each round (the machine's capacity), as ``Sides``
    over 1: its interval comes from ``ratio_columns`` like every other ratio's."""
    return Sides(dict(rounds), dict.fromkeys(rounds, 1.0))


def _matrix(sides: Sequence[PerRound | None], width: int) -> np.ndarray:
    """(pairs × rounds) array of round values, NaN where a round is missing."""
    out = np.full((len(sides), width), np.nan)
    for i, side in enumerate(sides):
        for round_, value in (side or {}).items():
            out[i, round_] = value
    return out


def _matrices(pairs: Sequence[Sides | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each side's round values and within-process standard errors, (pairs × rounds) alike."""
    width = 1 + max((max(r) for p in pairs if p for r in (p.a, p.b) if r), default=0)
    return (
        _matrix([p.a if p else None for p in pairs], width),
        _matrix([p.b if p else None for p in pairs], width),
        _matrix([p.within_a if p else None for p in pairs], width),
        _matrix([p.within_b if p else None for p in pairs], width),
    )


def _moderated(pairs: Sequence[Sides | None], moderation: Moderation) -> dict[str, np.ndarray]:
    """``stats.moderated_matrix`` of ``pairs``, each run's ratios with that run's prior."""
    moderation.seen.extend(p for p in pairs if p is not None and p.fit)
    a, b, within_a, within_b = _matrices(pairs)
    within = stats.within_variance(a, b, within_a, within_b)
    runs = np.array([p.run_id if p else "" for p in pairs], dtype=object)
    kinds = [p.kind if p else "" for p in pairs]
    groups = [p.group if p else "" for p in pairs]
    out: dict[str, np.ndarray] = {}
    for run_id in dict.fromkeys(runs):
        rows = np.nonzero(runs == run_id)[0]
        got = stats.moderated_matrix(
            a[rows],
            b[rows],
            within[rows],
            [kinds[i] for i in rows],
            [groups[i] for i in rows],
            moderation.priors.get(run_id),
        )
        for key, values in got.items():
            if key not in out:
                out[key] = np.empty(len(pairs), dtype=values.dtype)
            out[key][rows] = values
    return out


def ratio_columns(prefix: str, pairs: Sequence[Sides | None], moderation: Moderation | None = None) -> pd.DataFrame:
    """``scale`` × A/B for many ``Sides`` at once, paired by round.

    Columns ``prefix``, ``_lo``, ``_hi``, ``_significant``, ``_hw`` (relative half-width
    of the 95% interval, the precision reached) and ``_n`` (rounds paired); ``None``
    pairs give NaN.  With a ``moderation`` (timing ratios), the interval is the moderated
    t with its run's prior, and ``_sd`` (the per-round log SD it uses), ``_df`` (its
    degrees of freedom) and ``_moderated`` (False: Student's t) say what another round
    would buy (``stats.half_width_after``); without, Student's t.
    """
    if not len(pairs):
        got = {k: np.array([]) for k in ("value", "lo", "hi", "half_width", "n", "sd", "df", "moderated")}
    elif moderation is None:
        a, b, _, _ = _matrices(pairs)
        got = stats.ratio_matrix(a, b)
    else:
        got = _moderated(pairs, moderation)
    scale = np.array([p.scale if p else np.nan for p in pairs], dtype=float)
    value, lo, hi = got["value"] * scale, got["lo"] * scale, got["hi"] * scale
    columns = {
        prefix: value,
        prefix + "_lo": lo,
        prefix + "_hi": hi,
        prefix + "_significant": (lo > 1.0) | (hi < 1.0),
        prefix + "_hw": got["half_width"],
        prefix + "_n": got["n"],
    }
    if moderation is not None:
        columns.update({prefix + "_sd": got["sd"], prefix + "_df": got["df"], prefix + "_moderated": got["moderated"]})
    return pd.DataFrame(columns)


def rounds_of(side: Any) -> dict[int, float]:
    """A per-round column's value (NaN where a frame mixes in rows without it) as a dict."""
    return side if isinstance(side, dict) else {}


def within_of(row: Mapping[str, Any]) -> dict[int, float]:
    """A benchmark row's within-process standard errors per round (``collect.WITHIN``;
    empty for a frame without them)."""
    return rounds_of(row.get(WITHIN))


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
