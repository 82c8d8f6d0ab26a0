"""The rounds: which benchmark processes run when, and when a benchmark stops.

One scheduler measures every env of a run (bench-all) or one env alone
(``python -m workloads``): round r of every env runs before round r+1 of any, in an
order shuffled from a seed recorded in the manifest, and a stop rule closes the
benchmarks whose ratios are precise enough.

What happens is reported as small records (``ProcessDone``, ``RoundDone``,
``BudgetReached``), not as text: the env-side CLI prints each one's ``line()``, and
bench-all's live display reads their fields, so neither parses the other's output.
"""

from __future__ import annotations

import random
import time
import zlib
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Set, Tuple, Union

from workloads._schema import BenchSpec
from workloads._store import EnvRun

# After a round: the (env, benchmark name) pairs that need no more rounds, and a
# line for the progress display (e.g. the widest interval still open).
StopRule = Callable[[List[EnvRun], int], Tuple[Set[Tuple[str, str]], str]]


@dataclass
class Rounds:
    """How many rounds, when to stop early, the shuffle seed and the layout."""

    least: int
    most: int
    seed: int
    stop: Optional[StopRule] = None
    budget: Optional[float] = None  # seconds; no slot starts that would end past it (at the last round's pace)
    before: Optional[Callable[[int], None]] = None  # called with the round (from 1) before it starts
    layout: str = "blocks"
    # called before each slot of a round (``blocks``) or once per round (``processes``), with
    # the round as benchmarks record it (from 0)
    probe: Optional[Callable[[int], None]] = None
    stopped_by: str = ""  # set by run_rounds: "budget", "target" (nothing left open) or "rounds" (the most)


Unit = Tuple[EnvRun, List[BenchSpec]]  # one benchmark process: an env and the benchmarks it measures


@dataclass(frozen=True)
class ProcessDone:
    """One benchmark process finished (its benchmarks are recorded)."""

    round: int  # from 1, as printed
    index: int  # its place in the round, from 1
    count: int  # benchmark processes in the round
    env: str
    label: str  # the benchmark, or "<block> (<benchmarks>)" for a block
    benchmarks: int  # how many benchmarks it measured
    failed: int  # how many of them failed or timed out
    seconds: float  # the process's own time
    elapsed: float  # seconds since the rounds started

    @property
    def result(self) -> str:
        if not self.failed:
            return "ok"
        return "failed" if self.failed == self.benchmarks else "%d failed" % self.failed

    def line(self) -> str:
        return "round %d %3d/%d %-16s %-40s %-8s %5.1fs  (elapsed %s)" % (
            self.round,
            self.index,
            self.count,
            self.env,
            self.label,
            self.result,
            self.seconds,
            clock(self.elapsed),
        )


@dataclass(frozen=True)
class RoundDone:
    """A round finished and the stop rule (if any) closed what is precise enough."""

    round: int  # rounds measured, from 1
    still_open: int  # benchmarks that need more rounds
    note: str  # the stop rule's progress note ("" without one)
    next_processes: int  # benchmark processes the next round will run
    next_seconds: float  # and about how long they will take, at this round's pace
    slots: Tuple[int, int] = (0, 0)  # (run, planned) when the budget let only part of the round run

    def line(self) -> str:
        if self.slots[0]:
            return "after round %d (%d of %d slots, as the budget allowed): %d benchmarks still open%s" % (
                self.round,
                *self.slots,
                self.still_open,
                self.note and ", " + self.note,
            )
        return "after round %d: %d benchmarks still open%s; next round about %s" % (
            self.round,
            self.still_open,
            self.note and ", " + self.note,
            clock(self.next_seconds),
        )


@dataclass(frozen=True)
class BudgetReached:
    """No more of the next round fits in ``--budget``: the run stops here."""

    budget: float  # seconds
    rounds: int  # whole rounds measured
    stopping: int  # benchmarks that stop short of the target
    slots: Tuple[int, int] = (0, 0)  # (run, planned) of the round the budget cut short

    def line(self) -> str:
        where = "%d rounds" % self.rounds
        if self.slots[0]:
            where += " and %d of %d slots of round %d" % (*self.slots, self.rounds + 1)
        return "budget of %s reached after %s: %d benchmarks stop short of the target" % (
            clock(self.budget),
            where,
            self.stopping,
        )


SchedulerEvent = Union[ProcessDone, RoundDone, BudgetReached]


def slots(runs: List[EnvRun], round_: int, layout: str, seed: int) -> List[List[Unit]]:
    """Round ``round_``'s benchmark processes, in the order they run, grouped in slots.

    ``blocks``: one process per env and block (a workload's benchmarks, see
    ``BenchSpec.block``); a slot is one block in every env, back to back in a shuffled
    order, so that a ratio across interpreters (a free-threaded build over its default
    build) compares processes seconds apart; the slots' order is shuffled too.
    ``processes``: one process per benchmark, every (env, benchmark) in one shuffled
    order, each its own slot.  Shuffled from ``seed`` and the round, so a resumed run
    keeps its order.
    """
    rng = random.Random("%d:%d" % (seed, round_))
    due = [(r, s) for r in runs for s in r.open_specs() if r.next_round(s) == round_]
    if layout == "processes":
        rng.shuffle(due)
        return [[(run, [spec])] for run, spec in due]
    grouped: Dict[str, Dict[str, Unit]] = {}
    for run, spec in due:
        grouped.setdefault(spec.block, {}).setdefault(run.target.env, (run, []))[1].append(spec)
    order = sorted(grouped)
    rng.shuffle(order)
    out = []
    for key in order:
        units = [grouped[key][env] for env in sorted(grouped[key])]
        rng.shuffle(units)
        out.append(units)
    return out


def fitting(todo: List[List[Unit]], per_unit: float, left: float) -> List[List[Unit]]:
    """The leading slots of a round that fit in ``left`` seconds at ``per_unit`` seconds
    per benchmark process.  The slots are in the round's shuffled order, so which
    workloads get the extra round is decided by the seed, never by their values."""
    out: List[List[Unit]] = []
    for slot in todo:
        left -= per_unit * len(slot)
        if left < 0:
            break
        out.append(slot)
    return out


def run_rounds(runs: List[EnvRun], rounds: Rounds, report: Callable[[SchedulerEvent], None]) -> int:
    """Measure every open benchmark of every env in interleaved rounds; return failures.

    Round r runs one benchmark process of every benchmark that still needs one, in
    every env (``slots``): a slow spell of a shared machine then falls on random
    benchmarks of every interpreter alike.  Benchmarks stop after ``least`` rounds
    when ``stop`` says their ratios are precise enough, and after ``most`` in any case.
    ``report`` gets a record of each process, round and budget stop as it happens.
    """
    started = time.monotonic()
    failures = 0
    round_ = min((r.next_round(s) for r in runs for s in r.open_specs()), default=rounds.most)
    per_unit = 0.0  # seconds one benchmark process took on average in the last round
    while round_ < rounds.most:
        todo = slots(runs, round_, rounds.layout, rounds.seed)
        count = sum(len(slot) for slot in todo)
        if not count:
            round_ += 1
            continue
        elapsed = time.monotonic() - started
        planned = len(todo)
        if rounds.budget is not None and round_ >= rounds.least:  # only what fits in the budget
            todo = fitting(todo, per_unit, rounds.budget - elapsed)
            count = sum(len(slot) for slot in todo)
            if not todo:
                open_now = sum(len(r.open_specs()) for r in runs)
                report(BudgetReached(rounds.budget, round_, open_now))
                rounds.stopped_by = "budget"
                break
        partial = (len(todo), planned) if len(todo) < planned else (0, 0)
        if rounds.before is not None:
            rounds.before(round_ + 1)
        t_round = time.monotonic()
        index = 0
        for number, slot in enumerate(todo):
            if rounds.probe is not None and (rounds.layout == "blocks" or number == 0):
                rounds.probe(round_)
            for run, specs in slot:
                index += 1
                t0 = time.monotonic()
                outcomes = run.run_block(specs, round_, rounds.layout)
                failed = sum(o.failed for o in outcomes.values())
                failures += failed
                report(
                    ProcessDone(
                        round=round_ + 1,
                        index=index,
                        count=count,
                        env=run.target.env,
                        label=specs[0].name if len(specs) == 1 else "%s (%d)" % (specs[0].block, len(specs)),
                        benchmarks=len(specs),
                        failed=failed,
                        seconds=time.monotonic() - t0,
                        elapsed=time.monotonic() - started,
                    )
                )
        per_unit = (time.monotonic() - t_round) / count
        measured = round_ + 1
        if partial[0]:  # the budget's last minutes: the stop rule still records what they bought
            note = rounds.stop(runs, measured)[1] if rounds.stop is not None else ""
            open_now = sum(len(r.open_specs()) for r in runs)
            report(RoundDone(measured, open_now, note, 0, 0.0, partial))
            report(BudgetReached(rounds.budget or 0.0, round_, open_now, partial))
            rounds.stopped_by = "budget"
            break
        if measured >= rounds.most:
            break
        if rounds.stop is not None or measured >= rounds.least:
            if rounds.stop is None:
                stop, note = {(r.target.env, s.name) for r in runs for s in r.open_specs()}, ""
            else:  # asked after every round, for its progress note; it closes nothing before ``least``
                stop, note = rounds.stop(runs, measured)
                stop = stop if measured >= rounds.least else set()
            for run in runs:
                for spec in run.open_specs():
                    if (run.target.env, spec.name) in stop:
                        run.close(spec, "target reached after %d rounds" % measured if rounds.stop else "")
            upcoming = sum(map(len, slots(runs, measured, rounds.layout, rounds.seed)))
            report(RoundDone(measured, sum(len(r.open_specs()) for r in runs), note, upcoming, per_unit * upcoming))
        round_ += 1
    left_open = any(r.open_specs() for r in runs)
    rounds.stopped_by = rounds.stopped_by or ("rounds" if left_open or rounds.stop is None else "target")
    for run in runs:
        for spec in run.open_specs():
            entry = run.entry(spec)
            if entry is not None and entry.runs > 0:
                run.close(spec, "stopped after %d rounds" % entry.runs)
        run.finish()
    return failures


def clock(seconds: float) -> str:
    """``83.4`` -> ``1m23s``: how the progress lines write a duration."""
    minutes, secs = divmod(int(seconds), 60)
    return "%dm%02ds" % (minutes, secs)


def seed_of(run_id: str) -> int:
    """The default shuffle seed: stable for a run id, so a resumed run keeps its order."""
    return zlib.crc32(run_id.encode()) & 0x7FFFFFFF
