"""bench-all's precision target: the ``RoundPolicy`` that closes what is precise enough
and spends the next round where it buys the most.

The scheduler (``workloads.host.run_rounds``) asks after every round which benchmarks
need no more rounds and which units the next round runs, and tells what it knows: the
open benchmarks, their rounds and their cost, the budget left (``RoundReport``).  The
answer needs the headline ratios' intervals, which only the host can compute; the run
(``harness.run``) owns this policy and feeds it those ratios (``ratios``, a function of
the run's measured data), so the scheduler never reaches into collect or analysis, and
this module never reads a results file.

Allocation.  A headline ratio that reached the target (``met``) needs no more rounds; a
benchmark none of whose open ratios needs one closes, and so does an (env, block) unit
whose benchmarks all closed: the rounds go where the ratios are wide.  What another
round would buy a ratio is its half-width now less the one it would have after one
more (``stats.half_width_after``, from the posterior SD and degrees of freedom its
interval used), counted down to the target; a unit's rounds cost its benchmarks'
seconds.  A ratio across envs (net speedup, free-threading overhead) pairs only the
rounds both its sides ran in, so it buys nothing unless BOTH its units run: its units
are chosen together.  With a budget, the next round takes the wide ratios in priority
order, the headline table's (``Analysis.table``) first, then by what another round buys
per second of the units it still needs, as long as the round fits what the budget
leaves; without one, every unit a wide ratio needs runs.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np
import pandas as pd

from harness import stats
from harness.progress import Widths, pct
from workloads.host import NextRound, OpenBenchmark, RoundReport

AHEAD_SECONDS = 600.0  # the progress line and the report say what this much more measuring would buy

# The headline ratios as measured so far, as ``analysis.Analysis.headline`` gives them: one
# row per ratio with ``env``, ``name``, ``other_env``, ``other_name`` (the two sides), ``hw``
# (the 95% relative half-width), ``n`` (its rounds), ``sd`` and ``df`` (what its interval
# used), ``moderated`` and ``table`` (a ratio of the headline table).
Ratios = Callable[[], pd.DataFrame]
Block = tuple[str, str]  # (env, block): one benchmark process of a round, a unit the policy chooses


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
    moderated = head["moderated"].astype(bool).to_numpy()
    least = np.where(moderated, stats.LEAST_ROUNDS_TO_STOP, stats.STUDENT_LEAST_ROUNDS_TO_STOP)
    return (head["hw"] <= target) & (head["n"] >= least)


def gain(head: pd.DataFrame, target: float) -> pd.Series:
    """What one more round would buy each ratio: its half-width less the one it would then
    have, at the SD and degrees of freedom of its interval, counted down to ``target`` (a
    ratio at the target gains nothing more); infinite for a ratio without an interval yet."""
    out = []
    for hw, sd, df, n in head[["hw", "sd", "df", "n"]].itertuples(index=False):
        if not (n >= 2 and math.isfinite(hw) and math.isfinite(sd)):
            out.append(math.inf)
            continue
        after = float(stats.half_width_after(sd, df, int(n), int(n) + 1))
        out.append(max(0.0, hw - max(target, after)))
    return pd.Series(out, index=head.index, dtype=float)


def allocate(
    head: pd.DataFrame, target: float, open_: tuple[OpenBenchmark, ...], left: float | None, pace: float = 1.0
) -> tuple[frozenset[tuple[str, str]], list[frozenset[Block]], frozenset[Block] | None]:
    """The policy's decision on ``head``: the open benchmarks to close, the units each wide
    ratio needs in priority order, and the next round's units (None: every unit still open).

    ``left``: the seconds the budget leaves (None: no budget); a unit costs its open
    benchmarks' seconds times ``pace``.  The units are those of the wide ratios, taken in
    priority order (the headline table's first, then by ``gain`` per second of the units
    a ratio still needs) while they fit ``left``; if even the first does not fit, it
    alone, so that the scheduler's budget check ends the run as it would have.
    """
    block = {(b.env, b.name): b.block for b in open_}
    wide = head[~met(head, target)]
    needed = set(zip(wide["env"], wide["name"])) | set(zip(wide["other_env"], wide["other_name"]))
    close = frozenset(block) - needed
    cost: dict[Block, float] = {}
    for b in open_:
        if (b.env, b.name) not in close:
            cost[(b.env, b.block)] = cost.get((b.env, b.block), 0.0) + b.seconds * pace
    groups = []
    for env, name, other_env, other_name, table, bought in zip(
        wide["env"], wide["name"], wide["other_env"], wide["other_name"], wide["table"], gain(wide, target)
    ):
        sides = [(env, name), (other_env, other_name)]
        if not all(side in block for side in sides):
            continue  # a side closed earlier: another round of the other cannot pair
        units = frozenset((e, block[(e, n)]) for e, n in sides)
        seconds = sum(cost[u] for u in units)
        groups.append((not table, -(bought / seconds if seconds > 0 else np.inf), units))
    order = [units for *_, units in sorted(groups, key=lambda g: (g[0], g[1]))]
    if left is None:
        return close, order, None
    chosen: set[Block] = set()
    spent = 0.0
    for units in order:
        more = sum(cost[u] for u in units - chosen)
        if spent + more <= left:
            chosen |= units
            spent += more
    if not chosen and order:
        chosen = set(order[0])
    return close, order, frozenset(chosen)


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
    that may stop them (``met``), and choose the next round's units (``allocate``).

    After each round, ``history`` gets how many headline ratios are within ±5% and ±3%,
    the headline table's median, the elapsed time, the units the next round runs, and
    the median and 90th-percentile half-widths that ``AHEAD_SECONDS`` more of measuring
    would reach (``tools/time_to_precision.py`` reads it back from the manifest; the
    report quotes the last entry of a run its budget stopped); ``show`` gets the same
    widths as a record, for the live display.
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
        close, _, units = allocate(head, self.target, report.open, report.seconds_left, report.pace)
        open_now = {(b.env, b.name) for b in report.open}
        cost = round_cost(report.open, open_now - close)
        more = int(AHEAD_SECONDS // cost) if cost > 0 else 0
        ahead = projected(head, open_now - close, more) if more else head["hw"]
        table = head[head["table"]]["hw"]
        running = {(b.env, b.block) for b in report.open if (b.env, b.name) not in close}
        entry = {
            "round": report.round,
            "seconds": round(time.monotonic() - self.started, 1),
            "ratios": now.ratios,
            "within_5": int((head["hw"] <= 0.05).sum()),
            "within_3": int((head["hw"] <= 0.03).sum()),
            "median": now.median,
            "p90": now.p90,
            "widest": now.widest,
            "table_median": finite(table.median()),
            "units": {"open": len(running), "next": len(running if units is None else units & running)},
            "ahead": {
                "seconds": AHEAD_SECONDS,
                "rounds": more,
                "median": finite(ahead.median()),
                "p90": finite(ahead.quantile(0.9)),
            },
        }
        self.history.append(entry)
        self.show(now)
        return NextRound(close=close, units=units, note=self.note(now, entry))

    def note(self, now: Widths, entry: dict[str, Any]) -> str:
        """The round's progress note: widths against the target, the headline table's
        median, the blocks the next round runs, and what more measuring would buy."""
        text = "±%d%%: %d of %d ratios, median ±%s, p90 ±%s" % (
            round(100 * self.target),
            now.within,
            now.ratios,
            pct(now.median),
            pct(now.p90),
        )
        if entry["table_median"] is not None:
            text += ", headline table ±%s" % pct(entry["table_median"])
        units = entry["units"]
        if units["next"] < units["open"]:
            text += "; next round %d of %d blocks" % (units["next"], units["open"])
        ahead = entry["ahead"]
        if ahead["rounds"]:
            text += "; another %d min: median ±%s, p90 ±%s" % (
                AHEAD_SECONDS // 60,
                pct(ahead["median"]),
                pct(ahead["p90"]),
            )
        return text
