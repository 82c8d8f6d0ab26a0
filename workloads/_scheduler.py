"""The rounds: which benchmark processes run when, and when a benchmark stops.

One scheduler measures every env of a run (bench-all) or one env alone
(``python -m workloads``): round r of every env runs before round r+1 of any, in an
order shuffled from a seed recorded in the manifest.  After each round it asks a
``RoundPolicy`` (bench-all's precision target, ``harness.precision``) which benchmarks
need no more rounds and which (env, block) units the next round runs; the policy is told
what the scheduler knows (``RoundReport``: the open benchmarks, their rounds and cost)
and answers with a ``NextRound``.  The scheduler never computes a ratio.

What happens is reported as small records (``ProcessDone``, ``RoundDone``,
``BudgetReached``), not as text: the env-side CLI prints each one's ``line()``, and
bench-all's live display reads their fields, so neither parses the other's output.
"""

from __future__ import annotations

import random
import time
import zlib
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Optional, Protocol, Tuple, Union

from workloads._schema import BenchSpec
from workloads._store import EnvRun


@dataclass(frozen=True)
class OpenBenchmark:
    """A benchmark that still needs rounds, as the scheduler tells a ``RoundPolicy``."""

    env: str
    name: str
    block: str  # its process's block (``BenchSpec.block``): the unit a round runs
    rounds: int  # rounds measured so far
    seconds: float  # its share of its processes' time, per round measured (0 before its first)


@dataclass(frozen=True)
class RoundReport:
    """What the scheduler knows after a round: the policy's whole input.

    ``seconds_left`` is what the budget leaves for the rounds to come (None without a
    budget); ``pace`` the last round's wall time over the sum of its processes' own
    seconds (at least 1: the capacity probes and bookkeeping between processes), so that
    a policy can price a unit from its benchmarks' ``seconds`` as the budget counts it.
    ``fixed`` is what the round cost whatever it ran: the seconds before its first process
    (the noise probe), which a round of one cheap block pays as much as a whole one.
    """

    round: int  # rounds measured, from 1
    open: Tuple[OpenBenchmark, ...]  # every benchmark still open, in every env
    partial: bool = False  # the budget let only part of this round run: the run stops after it
    seconds_left: Optional[float] = None
    pace: float = 1.0
    most: Optional[int] = None  # the most rounds a benchmark measures
    least: int = 0  # the rounds every benchmark measures before the policy's answer counts
    fixed: float = 0.0


@dataclass(frozen=True)
class NextRound:
    """A policy's answer after a round.

    ``close``: (env, benchmark) pairs that need no more rounds.  ``units``: the (env,
    block) units the next round runs, None for every open one; a block left out stays
    open and is due in every later round until it runs.  ``note``: a line for the
    progress display (e.g. how many ratios reached the target).  Before the plan's
    ``least`` rounds the scheduler closes nothing and runs every open unit.
    """

    close: FrozenSet[Tuple[str, str]] = frozenset()
    units: Optional[FrozenSet[Tuple[str, str]]] = None
    note: str = ""


class RoundPolicy(Protocol):
    """Decides, after each round, what the rest of the run measures."""

    def after_round(self, report: RoundReport) -> NextRound: ...


@dataclass(frozen=True)
class RoundPlan:
    """How many rounds, who decides what each runs, the shuffle seed, the budget and the layout."""

    least: int
    most: int
    seed: int
    policy: Optional[RoundPolicy] = None  # None: every open benchmark closes after ``least`` rounds
    budget: Optional[float] = None  # seconds; no slot starts that would end past it (at the last round's pace)
    before: Optional[Callable[[int], None]] = None  # called with the round (from 1) before it starts
    layout: str = "blocks"
    # called before each slot of a round (``blocks``) or once per round (``processes``), with
    # the round as benchmarks record it (from 0)
    probe: Optional[Callable[[int], None]] = None


# Why a benchmark stopped (``RoundsResult.stopped``): its policy closed it at the target, it
# reached the plan's most rounds, the budget ran out, or the rounds ended otherwise (no
# policy, or a policy that chose no open unit).
TARGET, MOST, BUDGET, ROUNDS = "target", "most", "budget", "rounds"


@dataclass(frozen=True)
class RoundsResult:
    """How the rounds ended: ``stopped_by`` for the run, ``stopped`` for each (env,
    benchmark) this call closed (``TARGET``, ``MOST``, ``BUDGET`` or ``ROUNDS``)."""

    failures: int  # benchmarks that failed or timed out
    stopped_by: str  # "budget", "target" (the policy closed everything) or "rounds" (the most, or no policy)
    stopped: Dict[Tuple[str, str], str] = field(default_factory=dict)


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
    """A round finished and the round policy (if any) closed what is precise enough."""

    round: int  # rounds measured, from 1
    still_open: int  # benchmarks that need more rounds
    note: str  # the policy's progress note ("" without one)
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


def slots(
    runs: List[EnvRun], round_: int, layout: str, seed: int, units: Optional[FrozenSet[Tuple[str, str]]] = None
) -> List[List[Unit]]:
    """Round ``round_``'s benchmark processes, in the order they run, grouped in slots.

    A benchmark is due when it has fewer than ``round_ + 1`` rounds; ``units``, where
    given, keeps only those (env, block) units (a ``RoundPolicy``'s choice).
    ``blocks``: one process per env and block (a workload's benchmarks, see
    ``BenchSpec.block``); a slot is one block in every env, back to back in a shuffled
    order, so that a ratio across interpreters (a free-threaded build over its default
    build) compares processes seconds apart; the slots' order is shuffled too.
    ``processes``: one process per benchmark, every (env, benchmark) in one shuffled
    order, each its own slot.  Shuffled from ``seed`` and the round, so a resumed run
    keeps its order.
    """
    rng = random.Random("%d:%d" % (seed, round_))
    due = [
        (r, s)
        for r in runs
        for s in r.open_specs()
        if (r.next_round(s) or 0) <= round_ and (units is None or (r.target.env, s.block) in units)
    ]
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
        units_ = [grouped[key][env] for env in sorted(grouped[key])]
        rng.shuffle(units_)
        out.append(units_)
    return out


def fitting(todo: List[List[Unit]], price: Callable[[Unit], float], left: float) -> List[List[Unit]]:
    """The leading slots of a round that fit in ``left`` seconds, each benchmark process
    priced by ``price``.  The slots are in the round's shuffled order, so which
    workloads get the extra round is decided by the seed, never by their values."""
    out: List[List[Unit]] = []
    for slot in todo:
        left -= sum(price(unit) for unit in slot)
        if left < 0:
            break
        out.append(slot)
    return out


def _seconds_per_round(run: EnvRun, spec: BenchSpec) -> float:
    """A benchmark's share of its processes' seconds, per round measured so far (0 before its first)."""
    entry = run.entry(spec)
    return entry.seconds / entry.runs if entry is not None and entry.runs else 0.0


def unit_seconds(unit: Unit) -> float:
    """What one more process of ``unit`` takes, from its benchmarks' seconds per round
    measured so far (0 before its first)."""
    run, specs = unit
    return sum(_seconds_per_round(run, spec) for spec in specs)


def open_benchmarks(runs: List[EnvRun]) -> Tuple[OpenBenchmark, ...]:
    """Every open benchmark of ``runs``, with its rounds and its cost per round so far."""
    out = []
    for run in runs:
        for spec in run.open_specs():
            entry = run.entry(spec)
            rounds = entry.runs if entry is not None else 0
            out.append(OpenBenchmark(run.target.env, spec.name, spec.block, rounds, _seconds_per_round(run, spec)))
    return tuple(out)


def _close(
    runs: List[EnvRun], pairs: FrozenSet[Tuple[str, str]], reason: str, why: str, stopped: Dict[Tuple[str, str], str]
) -> None:
    """Close the open benchmarks of ``pairs`` with ``reason``, noting ``why`` in ``stopped``."""
    for run in runs:
        for spec in run.open_specs():
            if (run.target.env, spec.name) in pairs:
                run.close(spec, reason)
                stopped[(run.target.env, spec.name)] = why


def _at_most(runs: List[EnvRun], most: int) -> FrozenSet[Tuple[str, str]]:
    """The open benchmarks that have measured ``most`` rounds."""
    return frozenset((r.target.env, s.name) for r in runs for s in r.open_specs() if (r.next_round(s) or 0) >= most)


def _below_most(runs: List[EnvRun], most: int) -> bool:
    """Whether any open benchmark has fewer than ``most`` rounds."""
    return any((r.next_round(s) or 0) < most for r in runs for s in r.open_specs())


def run_rounds(runs: List[EnvRun], plan: RoundPlan, report: Callable[[SchedulerEvent], None]) -> RoundsResult:
    """Measure every open benchmark of every env in interleaved rounds (``Rounds``), to the end."""
    rounds = Rounds(runs, plan, report)
    while not rounds.done:
        rounds.step()
    return rounds.finish()


class Rounds:
    """The rounds of a run, one at a time.

    Round r runs one benchmark process of every unit that still needs one, in every env
    (``slots``): a slow spell of a shared machine then falls on random benchmarks of
    every interpreter alike.  After each round the plan's policy closes what needs no
    more rounds (from round ``least`` on) and chooses the next round's units; a
    benchmark stops after ``most`` rounds of its own in any case (a unit the policy left
    out of some rounds catches up in later ones: rounds are numbered for the whole run,
    so that ratios across envs pair the processes of one round).  ``report`` gets a
    record of each process, round and budget stop as it happens.

    ``step`` measures the next round; ``done`` says when there is none left; ``finish``
    closes what is still open and says how the rounds ended.  The budget counts the
    seconds the steps took (``measuring``): ``run_rounds`` steps to the end, and a tool
    that alternates two runs in one session steps each in turn
    (``tools/scheduler_comparison.py``).
    """

    def __init__(self, runs: List[EnvRun], plan: RoundPlan, report: Callable[[SchedulerEvent], None]) -> None:
        self.runs, self.plan, self.report = runs, plan, report
        self.measuring = 0.0  # seconds the steps took
        self.failures = 0
        self.stopped_by = ""
        self.stopped: Dict[Tuple[str, str], str] = {}
        self.round = min((r.next_round(s) or 0 for r in runs for s in r.open_specs()), default=plan.most)
        self.per_unit = 0.0  # seconds one benchmark process took on average in the last round
        self.pace = 1.0  # the last round's wall time over its processes' own seconds
        self.units: Optional[FrozenSet[Tuple[str, str]]] = None  # the policy's choice for this round
        self.done = not _below_most(runs, plan.most)
        self._started = 0.0

    def _elapsed(self) -> float:
        return self.measuring + time.monotonic() - self._started

    def step(self) -> bool:
        """Measure the next round; False when there was none to measure (``done`` is then True)."""
        if self.done:
            return False
        self._started = time.monotonic()
        try:
            return self._step()
        finally:
            self.measuring = self._elapsed()

    def _price(self, unit: Unit) -> float:
        """A process's seconds as the budget counts them: its own at the last round's pace,
        or the last round's mean where it has not run yet."""
        own = unit_seconds(unit)
        return own * self.pace if own > 0 else self.per_unit

    def _end(self, measured: bool, stopped_by: str = "") -> bool:
        self.done = True
        self.stopped_by = self.stopped_by or stopped_by
        return measured

    def _step(self) -> bool:
        runs, plan, report = self.runs, self.plan, self.report
        round_ = self.round
        while True:
            todo = slots(runs, round_, plan.layout, plan.seed, self.units)
            count = sum(len(slot) for slot in todo)
            if count:
                break
            if self.units is not None or not _below_most(runs, plan.most):  # nothing open was chosen
                return self._end(False)
            round_ = self.round = round_ + 1
        planned = len(todo)
        if plan.budget is not None and round_ >= plan.least:  # only what fits in the budget
            todo = fitting(todo, self._price, plan.budget - self._elapsed())
            count = sum(len(slot) for slot in todo)
            if not todo:
                report(BudgetReached(plan.budget, round_, sum(len(r.open_specs()) for r in runs)))
                return self._end(False, BUDGET)
        partial = (len(todo), planned) if len(todo) < planned else (0, 0)
        if plan.before is not None:
            plan.before(round_ + 1)
        t_round = time.monotonic()
        fixed = t_round - self._started  # what the round cost before its first process
        index = 0
        own = 0.0  # the processes' own seconds
        for number, slot in enumerate(todo):
            if plan.probe is not None and (plan.layout == "blocks" or number == 0):
                plan.probe(round_)
            for run, specs in slot:
                index += 1
                t0 = time.monotonic()
                outcomes = run.run_block(specs, round_, plan.layout)
                failed = sum(o.failed for o in outcomes.values())
                self.failures += failed
                own += time.monotonic() - t0
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
                        elapsed=self._elapsed(),
                    )
                )
        wall = time.monotonic() - t_round
        self.per_unit = wall / count
        self.pace = max(1.0, wall / own) if own > 0 else 1.0
        measured = round_ + 1
        left = None if plan.budget is None else plan.budget - self._elapsed()
        if partial[0]:  # the budget's last minutes: the policy still hears what they bought
            done = RoundReport(
                measured,
                open_benchmarks(runs),
                partial=True,
                seconds_left=left,
                pace=self.pace,
                most=plan.most,
                least=plan.least,
                fixed=fixed,
            )
            note = plan.policy.after_round(done).note if plan.policy is not None else ""
            open_now = sum(len(r.open_specs()) for r in runs)
            report(RoundDone(measured, open_now, note, 0, 0.0, partial))
            report(BudgetReached(plan.budget or 0.0, round_, open_now, partial))
            return self._end(True, BUDGET)
        _close(runs, _at_most(runs, plan.most), "stopped after %d rounds, the most" % plan.most, MOST, self.stopped)
        if not _below_most(runs, plan.most):
            return self._end(True)
        if plan.policy is not None:  # asked after every round, for its progress note too
            decision = plan.policy.after_round(
                RoundReport(
                    measured,
                    open_benchmarks(runs),
                    False,
                    left,
                    self.pace,
                    plan.most,
                    plan.least,
                    fixed,
                )
            )
            if measured >= plan.least:
                _close(runs, decision.close, "target reached after %d rounds" % measured, TARGET, self.stopped)
                self.units = decision.units
            _report_round(runs, plan, measured, decision.note, self.units, self.per_unit, report)
        elif measured >= plan.least:
            _close(runs, frozenset((b.env, b.name) for b in open_benchmarks(runs)), "", ROUNDS, self.stopped)
            _report_round(runs, plan, measured, "", self.units, self.per_unit, report)
        self.round = round_ + 1
        self.done = not _below_most(runs, plan.most)
        return True

    def finish(self) -> RoundsResult:
        """Close what is still open (its rounds are what the run has) and say how the rounds ended."""
        left_open = any(r.open_specs() for r in self.runs)
        reached_most = MOST in self.stopped.values()
        stopped_by = self.stopped_by or (ROUNDS if left_open or reached_most or self.plan.policy is None else TARGET)
        for run in self.runs:
            for spec in run.open_specs():
                entry = run.entry(spec)
                if entry is not None and entry.runs > 0:
                    run.close(spec, "stopped after %d rounds" % entry.runs)
                    self.stopped[(run.target.env, spec.name)] = BUDGET if stopped_by == BUDGET else ROUNDS
            run.finish()
        return RoundsResult(self.failures, stopped_by, self.stopped)


def _report_round(
    runs: List[EnvRun],
    plan: RoundPlan,
    measured: int,
    note: str,
    units: Optional[FrozenSet[Tuple[str, str]]],
    per_unit: float,
    report: Callable[[SchedulerEvent], None],
) -> None:
    """``RoundDone`` after round ``measured``: what is open, what the next round runs."""
    upcoming = sum(map(len, slots(runs, measured, plan.layout, plan.seed, units)))
    report(RoundDone(measured, sum(len(r.open_specs()) for r in runs), note, upcoming, per_unit * upcoming))


def clock(seconds: float) -> str:
    """``83.4`` -> ``1m23s``: how the progress lines write a duration."""
    minutes, secs = divmod(int(seconds), 60)
    return "%dm%02ds" % (minutes, secs)


def seed_of(run_id: str) -> int:
    """The default shuffle seed: stable for a run id, so a resumed run keeps its order."""
    return zlib.crc32(run_id.encode()) & 0x7FFFFFFF
