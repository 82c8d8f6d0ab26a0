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
are planned together.  Without a budget, every unit a wide ratio needs runs.  With one,
the policy plans the whole rest of the budget after each round (``plan``: the flagship's
ratios first, to the target, then the rounds that buy the most narrowing per second, a
headline table ratio's narrowing weighted ``TABLE_WEIGHT``), and the next round runs
every unit planned at least one more: the rounds shrink to the units that need the most,
and the flagship's block, which is cheap, gets the rounds its interval needs.
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


MOST_PLANNED = 1000  # rounds the plan looks ahead at most, whatever the budget

# What narrowing a headline table ratio is worth against any other headline ratio: the
# table is what a reader asks about first, and its blocks are cheap, so the budget's last
# minutes go to it (the choice of 16: docs/how-sure.md, "Where the rounds go").
TABLE_WEIGHT = 16.0

# The width to which the flagship's ratios are planned before any other ratio: the README
# and the findings quote the flagship, and ±5% is the width at which they call it stated.
FLAGSHIP_TARGET = 0.05


def allocate(
    head: pd.DataFrame,
    target: float,
    open_: tuple[OpenBenchmark, ...],
    left: float | None,
    pace: float = 1.0,
    most: int | None = None,
    per_round: float = 0.0,
) -> tuple[frozenset[tuple[str, str]], dict[Block, int], frozenset[Block] | None]:
    """The policy's decision on ``head``: the open benchmarks to close, the rounds each
    unit is planned to get from what the budget leaves, and the next round's units (None:
    every unit still open).

    Without a budget (``left`` None) every unit a wide ratio needs runs.  With one, the
    rest of the budget is planned (``plan``, each round also costing ``per_round``
    seconds whatever it runs): each unit gets the rounds that buy the most narrowing per
    second, and the next round runs every unit planned at least one more, so
    a unit planned for k rounds runs in the next k and the rounds shrink to the units that
    need the most (the flagship's, typically, whose block is cheap).  If nothing fits, the
    units of the ratio that would buy the most run alone, so that the scheduler's budget
    check ends the run as it would have.
    """
    block = {(b.env, b.name): b.block for b in open_}
    wide = head[~met(head, target)]
    needed = set(zip(wide["env"], wide["name"])) | set(zip(wide["other_env"], wide["other_name"]))
    close = frozenset(block) - needed
    wide = wide[
        [
            (e, n) in block and (oe, on) in block  # a side closed earlier: another round of the other cannot pair
            for e, n, oe, on in wide[["env", "name", "other_env", "other_name"]].itertuples(index=False)
        ]
    ]
    if left is None:
        return close, {}, None
    cost: dict[Block, float] = {}
    for b in open_:
        if (b.env, b.name) not in close:
            cost[(b.env, b.block)] = cost.get((b.env, b.block), 0.0) + b.seconds * pace
    planned = plan(wide, target, block, cost, left, most, per_round)
    units = frozenset(u for u, k in planned.items() if k > 0)
    if not units and not wide.empty:  # nothing fits: the ratio that buys the most per second, alone
        sides = [
            frozenset((e, block[(e, n)]) for e, n in ((env, name), (other_env, other_name)))
            for env, name, other_env, other_name in wide[["env", "name", "other_env", "other_name"]].itertuples(
                index=False
            )
        ]
        seconds = np.array([sum(cost[u] for u in us) for us in sides])
        worth = gain(wide, target).to_numpy() * _weights(wide)
        units = sides[int(np.argmax(np.where(seconds > 0, worth / np.maximum(seconds, 1e-12), np.inf)))]
    return close, planned, units


def _weights(head: pd.DataFrame) -> np.ndarray:
    return np.where(head["table"].astype(bool).to_numpy(), TABLE_WEIGHT, 1.0)


def plan(
    wide: pd.DataFrame,
    target: float,
    block: dict[tuple[str, str], str],
    cost: dict[Block, float],
    left: float,
    most: int | None = None,
    per_round: float = 0.0,
) -> dict[Block, int]:
    """The rounds each (env, block) unit gets from the ``left`` seconds, greedily.

    A ratio's next round is worth what it narrows the ratio (``half_width_after``, at the
    SD and degrees of freedom of its interval, counted down to ``target``), times
    ``TABLE_WEIGHT`` for a headline table ratio, and costs the seconds of those of its
    units (one, or two for a ratio across envs) not yet planned for that many rounds, plus
    ``per_round`` when it makes the plan a round longer: the units run in the next rounds
    they are planned for, so a ratio's k-th planned round pairs with its other side's,
    and a round of one cheap block still pays the probes and the analysis between
    rounds.  The round with the most worth per second is planned next, while it fits in
    ``left``; a ratio without an interval yet gets one round first, and no unit is planned
    past ``most`` rounds of its ratios.  Worth falls as a ratio narrows, so the rounds
    spread over the ratios by what each buys, not by turn.  The flagship's ratios
    (``flagship``: the findings' first sentences) are planned before all others, each to
    ``FLAGSHIP_TARGET`` (or the run's target, if wider) or ``most``: they are what a reader
    quotes, and their blocks cost seconds a round; past that width they compete with the
    rest.
    """
    keys = sorted(cost)
    index = {u: i for i, u in enumerate(keys)}
    price = np.array([cost[u] for u in keys], dtype=float)
    rounds = np.zeros(len(keys), dtype=int)  # planned rounds per unit
    if wide.empty or not keys:
        return {}
    sides = [
        (index[(e, block[(e, n)])], index[(oe, block[(oe, on)])])
        for e, n, oe, on in wide[["env", "name", "other_env", "other_name"]].itertuples(index=False)
    ]
    one = np.array([a for a, _ in sides])
    two = np.array([b if b != a else -1 for a, b in sides])
    n = wide["n"].to_numpy(dtype=int)
    ready = (n >= 2) & np.isfinite(wide["hw"].to_numpy(dtype=float)) & np.isfinite(wide["sd"].to_numpy(dtype=float))
    spent = 0.0
    for i in np.nonzero(~ready)[0]:  # no interval yet: one round before anything is priced
        for u in (one[i], two[i]):
            extra = per_round if rounds.max() == 0 else 0.0
            if u >= 0 and rounds[u] == 0 and spent + price[u] + extra <= left:
                rounds[u] = 1
                spent += price[u] + extra
    cap = np.full(len(n), 10_000) if most is None else np.maximum(0, most - n)
    depth = max(0, int(min(cap.max(initial=0), left / max(price.min(), 1e-9), MOST_PLANNED))) + 1
    steps = np.arange(depth + 1)
    sd = wide["sd"].to_numpy(dtype=float)
    df = wide["df"].to_numpy(dtype=float)
    widths = np.full((len(n), depth + 1), np.nan)
    for i in np.nonzero(ready)[0]:
        widths[i] = stats.half_width_after(sd[i], df[i], int(n[i]), int(n[i]) + steps)
        widths[i, 0] = float(wide["hw"].iloc[i])

    def worth(floor: float) -> np.ndarray:
        narrowing = np.clip(widths[:, :-1] - np.maximum(floor, widths[:, 1:]), 0.0, None)
        return np.where(np.isnan(narrowing), 0.0, _weights(wide)[:, None] * narrowing)

    more = np.zeros(len(n), dtype=int)  # planned rounds per ratio
    rows = np.arange(len(n))
    second = np.where(two >= 0, two, 0)
    flagship = wide["flagship"].astype(bool).to_numpy() if "flagship" in wide else np.zeros(len(n), dtype=bool)
    # the flagship's ratios first, to the width a reader quotes; then all by worth per second
    for chosen, buys in ((ready & flagship, worth(max(target, FLAGSHIP_TARGET))), (ready, worth(target))):
        while True:
            step = np.minimum(more, depth - 1)
            value = buys[rows, step] * (more < np.minimum(cap, depth)) * chosen
            due = more + 1
            pay = price[one] * (rounds[one] < due) + np.where(two >= 0, price[second] * (rounds[second] < due), 0.0)
            pay = pay + per_round * (due > rounds.max())
            fits = (value > 0) & (spent + pay <= left)
            if not fits.any():
                break
            per = np.where(fits, value / np.maximum(pay, 1e-12), -np.inf)
            i = int(np.argmax(per))
            more[i] += 1
            spent += float(pay[i])
            rounds[one[i]] = max(rounds[one[i]], more[i])
            if two[i] >= 0:
                rounds[two[i]] = max(rounds[two[i]], more[i])
    return {u: int(rounds[index[u]]) for u in keys}


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
        began = time.monotonic()
        head = self.ratios()
        asked = time.monotonic() - began  # what each later round pays again, as it asks again
        # a round may end past the budget: ``plan`` plans nothing from negative seconds
        left = report.seconds_left if report.round >= report.least else None  # until then every open unit runs
        now = widths(head, self.target, report.round)
        # each later round pays its noise probe and this analysis again, whatever it runs
        close, planned, units = allocate(
            head, self.target, report.open, left, report.pace, report.most, report.fixed + asked
        )
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
            "units": {
                "open": len(running),
                "next": len(running if units is None else units & running),
                "planned_rounds": max(planned.values(), default=0),
            },
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
        if units["planned_rounds"]:
            text += " (the budget plans up to %d more)" % units["planned_rounds"]
        ahead = entry["ahead"]
        if ahead["rounds"]:
            text += "; another %d min: median ±%s, p90 ±%s" % (
                AHEAD_SECONDS // 60,
                pct(ahead["median"]),
                pct(ahead["p90"]),
            )
        return text
