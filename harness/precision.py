"""bench-all's precision target: the ``RoundPolicy`` that closes what is precise enough.

The scheduler (``workloads.host.run_rounds``) asks after every round which benchmarks
need no more rounds and which units the next round runs, and tells what it knows: the
open benchmarks, their rounds and their cost (``RoundReport``).  The answer needs the
headline ratios' intervals, which only the host can compute; the run (``harness.run``)
owns this policy and feeds it those ratios (``ratios``, a function of the run's measured
data), so the scheduler never reaches into collect or analysis, and this module never
reads a results file.

Today every open unit runs in the next round; a later allocation (more rounds for the
blocks whose ratios are widest) answers through the same ``NextRound.units``.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import pandas as pd

from harness import stats
from harness.progress import Widths, pct
from workloads.host import NextRound, OpenBenchmark, RoundReport

AHEAD_SECONDS = 600.0  # the progress line and the report say what this much more measuring would buy

# The headline ratios as measured so far: one row per ratio with ``env``, ``name``,
# ``other_env``, ``other_name`` (the two sides), ``hw`` (the 95% relative half-width) and
# ``n`` (its rounds), as ``analysis.Analysis.headline`` gives them.
Ratios = Callable[[], pd.DataFrame]


def round_cost(open_: tuple[OpenBenchmark, ...], benchmarks: set[tuple[str, str]]) -> float:
    """Seconds one more round of ``benchmarks`` ((env, name) pairs) would take: each one's
    share of its processes' time, per round measured so far."""
    return sum(b.seconds for b in open_ if (b.env, b.name) in benchmarks)


def projected(head: pd.DataFrame, still_open: set[tuple[str, str]], rounds: int) -> pd.Series:
    """Each headline ratio's half-width after ``rounds`` more rounds of the benchmarks in
    ``still_open``, if its per-round SD stays the one its interval uses, with the degrees of
    freedom it has (``stats.half_width_after``: a moderated interval's prior stays as the
    rounds grow); closed ratios keep theirs."""
    grows = [
        (e, n) in still_open or (oe, on) in still_open
        for e, n, oe, on in head[["env", "name", "other_env", "other_name"]].itertuples(index=False)
    ]
    return pd.Series(
        [
            float(stats.half_width_after(sd, df, int(n), int(n) + rounds)) if grow and n >= 2 else hw
            for hw, sd, df, n, grow in zip(head["hw"], head["sd"], head["df"], head["n"], grows)
        ],
        index=head.index,
        dtype=float,
    )


def met(head: pd.DataFrame, target: float) -> pd.Series:
    """Which headline ratios reached ±``target`` in a way that may stop them: a moderated
    interval from ``stats.LEAST_ROUNDS_TO_STOP`` rounds on, Student's t (a ratio without a
    prior) from ``stats.STUDENT_LEAST_ROUNDS_TO_STOP`` on (stopping earlier costs t coverage)."""
    least = head["moderated"].map({True: stats.LEAST_ROUNDS_TO_STOP, False: stats.STUDENT_LEAST_ROUNDS_TO_STOP})
    return (head["hw"] <= target) & (head["n"] >= least)


def widths(head: pd.DataFrame, target: float, round_: int) -> Widths:
    """How precise the headline ratios in ``head`` are, against ``target``."""
    hw = head["hw"]
    return Widths(
        round=round_,
        target=target,
        ratios=len(hw),
        within=int((hw <= target).sum()),
        median=finite(hw.median()),
        p90=finite(hw.quantile(0.9)),
        widest=finite(hw.max()),
    )


def finite(value: Any) -> float | None:
    """A float, or None for NaN (JSON has no NaN)."""
    return float(value) if value is not None and pd.notna(value) else None


class PrecisionRule:
    """Close every benchmark whose headline ratios all reached ±``target`` (95%) in a way
    that may stop them (``met``).

    After each round, ``history`` gets how many headline ratios are within ±5% and ±3%,
    the elapsed time, and the median and 90th-percentile half-widths that
    ``AHEAD_SECONDS`` more of measuring would reach (``tools/time_to_precision.py`` reads
    it back from the manifest; the report quotes the last entry of a run its budget
    stopped); ``show`` gets the same widths as a record, for the live display.
    """

    def __init__(
        self, target: float, ratios: Ratios, history: list[dict[str, Any]], show: Callable[[Widths], None]
    ) -> None:
        self.target = target
        self.ratios = ratios
        self.history = history
        self.show = show
        self.started = time.monotonic()

    def after_round(self, report: RoundReport) -> NextRound:
        head = self.ratios()
        now = widths(head, self.target, report.round)
        wide = head[~met(head, self.target)]
        needed = set(zip(wide["env"], wide["name"])) | set(zip(wide["other_env"], wide["other_name"]))
        open_now = {(b.env, b.name) for b in report.open}
        close = open_now - needed
        cost = round_cost(report.open, open_now - close)
        more = int(AHEAD_SECONDS // cost) if cost > 0 else 0
        ahead = projected(head, open_now - close, more) if more else head["hw"]
        entry = {
            "round": report.round,
            "seconds": round(time.monotonic() - self.started, 1),
            "ratios": now.ratios,
            "within_5": int((head["hw"] <= 0.05).sum()),
            "within_3": int((head["hw"] <= 0.03).sum()),
            "median": now.median,
            "p90": now.p90,
            "widest": now.widest,
            "ahead": {
                "seconds": AHEAD_SECONDS,
                "rounds": more,
                "median": finite(ahead.median()),
                "p90": finite(ahead.quantile(0.9)),
            },
        }
        self.history.append(entry)
        self.show(now)
        note = "±%d%%: %d of %d ratios, median ±%s, p90 ±%s" % (
            round(100 * self.target),
            now.within,
            now.ratios,
            pct(now.median),
            pct(now.p90),
        )
        if more:
            note += "; another %d min: median ±%s, p90 ±%s" % (
                AHEAD_SECONDS // 60,
                pct(entry["ahead"]["median"]),
                pct(entry["ahead"]["p90"]),
            )
        return NextRound(close=frozenset(close), note=note)
