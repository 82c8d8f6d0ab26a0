"""The scheduler's small decisions, without running a benchmark."""

from __future__ import annotations

from types import SimpleNamespace

from workloads import _scheduler
from workloads._schema import BenchSpec, BenchStatus, Outcome
from workloads.host import (
    BudgetReached,
    NextRound,
    ProcessDone,
    RoundDone,
    RoundPlan,
    RoundReport,
    run_rounds,
    seed_of,
    slots,
)


def test_each_run_of_a_machine_gets_its_own_order():
    """Run ids of one machine share their suffix (the machine id): the seed must not."""
    seeds = {seed_of("20261125T%06dZ-003596" % t) for t in range(100)}
    assert len(seeds) == 100
    assert seed_of("20261125T173739Z-003596") == seed_of("20261125T173739Z-003596")  # a resumed run: same order


class _FakeRun:
    """What ``slots`` reads of an env's run: its env name and its open benchmarks' rounds."""

    def __init__(self, env: str, specs: list[BenchSpec], done: int = 0) -> None:
        self.target = SimpleNamespace(env=env)
        self.specs, self.done = specs, done

    def open_specs(self) -> list[BenchSpec]:
        return self.specs

    def next_round(self, spec: BenchSpec) -> int:
        return self.done


def _spec(workload: str, mode: str, workers: int) -> BenchSpec:
    name = "%s[%s]" % (workload, mode if mode == "serial" else "%s,w=%d" % (mode, workers))
    return BenchSpec(name=name, workload=workload, module="m", mode=mode, workers=workers, size=1, block=workload)


def _matrix() -> list[_FakeRun]:
    specs = [_spec(w, m, k) for w in ("countdown", "fib") for m, k in (("serial", 1), ("threads", 2))]
    return [_FakeRun(env, specs) for env in ("bench-py39", "bench-py313", "bench-py313t")]


def test_blocks_measure_a_workload_in_one_process_per_env_with_the_envs_back_to_back():
    order = slots(_matrix(), 0, "blocks", seed=1)
    assert len(order) == 2  # one slot per workload
    for slot in order:
        assert sorted(run.target.env for run, _ in slot) == ["bench-py313", "bench-py313t", "bench-py39"]
        workloads = {spec.workload for _, specs in slot for spec in specs}
        assert len(workloads) == 1 and all(len(specs) == 2 for _, specs in slot)


def test_the_processes_layout_runs_one_benchmark_per_process():
    order = slots(_matrix(), 0, "processes", seed=1)
    assert len(order) == 12 and all(len(slot) == 1 and len(slot[0][1]) == 1 for slot in order)


def test_slots_are_shuffled_by_round_and_repeatable():
    runs = _matrix()
    first = [[(r.target.env, s.name) for r, specs in slot for s in specs] for slot in slots(runs, 0, "blocks", 7)]
    again = [[(r.target.env, s.name) for r, specs in slot for s in specs] for slot in slots(runs, 0, "blocks", 7)]
    assert first == again  # a resumed run keeps its order
    orders = {
        str([[(r.target.env, s.name) for r, specs in slot for s in specs] for slot in slots(runs, n, "blocks", 7)])
        for n in range(8)
    }
    assert len(orders) > 1


def test_only_benchmarks_due_in_the_round_are_measured():
    runs = _matrix()
    runs[0].done = 1  # this env already measured round 0
    order = slots(runs, 0, "blocks", seed=1)
    assert {run.target.env for slot in order for run, _ in slot} == {"bench-py313", "bench-py313t"}


def test_the_scheduler_records_render_the_progress_lines_as_they_always_read():
    done = ProcessDone(2, 3, 12, "bench-py313t", "countdown (3)", benchmarks=3, failed=1, seconds=4.31, elapsed=83.4)
    assert done.line() == (
        "round 2   3/12 bench-py313t     countdown (3)                            1 failed   4.3s  (elapsed 1m23s)"
    )
    assert ProcessDone(1, 1, 1, "e", "fib[serial]", 1, 1, 0.0, 0.0).result == "failed"
    assert RoundDone(3, 5, "", 6, 130.0).line() == "after round 3: 5 benchmarks still open; next round about 2m10s"
    assert RoundDone(3, 5, "±3%: 1 of 2 ratios", 6, 1.0).line() == (
        "after round 3: 5 benchmarks still open, ±3%: 1 of 2 ratios; next round about 0m01s"
    )
    assert BudgetReached(900.0, 4, 7).line() == (
        "budget of 15m00s reached after 4 rounds: 7 benchmarks stop short of the target"
    )
    assert BudgetReached(900.0, 4, 7, (5, 9)).line() == (
        "budget of 15m00s reached after 4 rounds and 5 of 9 slots of round 5: 7 benchmarks stop short of the target"
    )
    assert RoundDone(5, 7, "±3%: 1 of 2 ratios", 0, 0.0, (5, 9)).line() == (
        "after round 5 (5 of 9 slots, as the budget allowed): 7 benchmarks still open, ±3%: 1 of 2 ratios"
    )


def test_the_budget_keeps_the_leading_slots_that_fit():
    todo = [["a"], ["b", "c"], ["d"]]
    assert _scheduler.fitting(todo, lambda unit: 1.0, 3.5) == [["a"], ["b", "c"]]
    assert _scheduler.fitting(todo, lambda unit: 1.0, 0.5) == []
    assert _scheduler.fitting(todo, lambda unit: 0.0, 0.0) == todo  # a first round has no pace yet
    assert _scheduler.fitting(todo, {"a": 1.0, "b": 0.5, "c": 0.5, "d": 9.0}.__getitem__, 3.0) == todo[:2]


class _MeasuredRun(_FakeRun):
    """A run whose benchmark processes succeed at once: what ``run_rounds`` calls of an env."""

    def __init__(self, env: str, specs: list[BenchSpec]) -> None:
        super().__init__(env, specs)
        self.closed: set[str] = set()

    def open_specs(self) -> list[BenchSpec]:
        return [s for s in self.specs if s.name not in self.closed]

    def run_block(self, specs: list[BenchSpec], round_: int, layout: str) -> dict[str, Outcome]:
        self.done = round_ + 1
        return {s.name: Outcome.OK for s in specs}

    def close(self, spec: BenchSpec, reason: str = "") -> None:
        self.closed.add(spec.name)

    def entry(self, spec: BenchSpec) -> None:
        return None

    def finish(self) -> None:
        pass


class _Policy:
    """A ``RoundPolicy`` that answers with ``decide`` and keeps every report it was given."""

    def __init__(self, decide) -> None:
        self.decide = decide
        self.reports: list[RoundReport] = []

    def after_round(self, report: RoundReport) -> NextRound:
        self.reports.append(report)
        return self.decide(report)


def test_run_rounds_reports_each_process_each_round_and_the_budget():
    specs = [_spec("countdown", m, k) for m, k in (("serial", 1), ("threads", 2))]
    runs = [_MeasuredRun(env, specs) for env in ("bench-py39", "bench-py313t")]
    seen: list = []
    plan = RoundPlan(least=1, most=5, seed=1, policy=_Policy(lambda report: NextRound(note="±3%: note")), budget=0.0)
    result = run_rounds(runs, plan, seen.append)
    assert result.failures == 0
    assert [type(r).__name__ for r in seen] == ["ProcessDone", "ProcessDone", "RoundDone", "BudgetReached"]
    assert [(r.round, r.index, r.count, r.label, r.result) for r in seen[:2]] == [
        (1, 1, 2, "countdown (2)", "ok"),
        (1, 2, 2, "countdown (2)", "ok"),
    ]
    assert {r.env for r in seen[:2]} == {"bench-py39", "bench-py313t"}
    assert (seen[2].round, seen[2].still_open, seen[2].note, seen[2].next_processes) == (1, 4, "±3%: note", 2)
    assert (seen[3].rounds, seen[3].stopping) == (1, 4) and result.stopped_by == "budget"


def test_the_last_minutes_of_a_budget_run_the_slots_that_fit(monkeypatch):
    """One second per benchmark process, a 10 s budget, three workloads in two envs: round
    1 takes 6 s, and round 2 runs the first two of its three slots (4 s), in the round's
    shuffled order; the policy hears of that partial round, and the run stops."""
    clock = [0.0]

    class _Clocked(_MeasuredRun):
        def run_block(self, specs, round_, layout):
            clock[0] += 1.0
            return super().run_block(specs, round_, layout)

    monkeypatch.setattr(_scheduler.time, "monotonic", lambda: clock[0])
    specs = [_spec(w, "serial", 1) for w in ("countdown", "fib", "json")]
    runs = [_Clocked(env, specs) for env in ("bench-py39", "bench-py313")]
    seen: list = []
    asked: list[int] = []

    def decide(report: RoundReport) -> NextRound:
        asked.append(report.round)
        return NextRound(note="note %d" % report.round)

    result = run_rounds(runs, RoundPlan(least=1, most=5, seed=3, policy=_Policy(decide), budget=10.0), seen.append)
    assert result.failures == 0
    done = [r for r in seen if isinstance(r, ProcessDone)]
    assert [r.round for r in done] == [1] * 6 + [2] * 4
    second = slots([_FakeRun(r.target.env, specs, done=1) for r in runs], 1, "blocks", seed=3)
    assert [(r.env, r.label) for r in done[6:]] == [
        (run.target.env, ss[0].name) for slot in second[:2] for run, ss in slot
    ]
    last_round, budget = seen[-2], seen[-1]
    assert (last_round.round, last_round.slots, last_round.note, last_round.next_processes) == (2, (2, 3), "note 2", 0)
    assert (budget.rounds, budget.slots, budget.stopping) == (1, (2, 3), 6)
    assert asked == [1, 2] and result.stopped_by == "budget"


class _BlockRun(_MeasuredRun):
    """A run that counts each benchmark's rounds, as ``EnvRun`` does: what a policy's choice
    of units changes."""

    def __init__(self, env: str, specs: list[BenchSpec], ran: list) -> None:
        super().__init__(env, specs)
        self.rounds = {s.name: 0 for s in specs}
        self.ran = ran

    def next_round(self, spec: BenchSpec) -> int:
        return self.rounds[spec.name]

    def run_block(self, specs: list[BenchSpec], round_: int, layout: str) -> dict[str, Outcome]:
        self.ran.append((round_ + 1, self.target.env, specs[0].block))
        for spec in specs:
            self.rounds[spec.name] += 1
        return {s.name: Outcome.OK for s in specs}

    def entry(self, spec: BenchSpec) -> BenchStatus:
        runs = self.rounds[spec.name]
        return BenchStatus(spec.workload, spec.mode, spec.workers, runs=runs, seconds=2.0 * runs)


def test_a_policy_closes_benchmarks_and_chooses_the_units_of_the_next_round():
    """Before ``least`` rounds the policy's answer is only a note; from then on it closes
    benchmarks and picks the next round's (env, block) units; a block left out is due again
    when a later round picks it, with the rounds it has."""
    specs = [_spec(w, m, k) for w in ("countdown", "fib") for m, k in (("serial", 1), ("threads", 2))]
    ran: list = []
    runs = [_BlockRun(env, specs, ran) for env in ("bench-py39", "bench-py313t")]
    fib = frozenset({("bench-py39", "fib"), ("bench-py313t", "fib")})
    countdown_39 = frozenset({("bench-py39", "countdown[serial]"), ("bench-py39", "countdown[threads,w=2]")})
    everything = frozenset((r.target.env, s.name) for r in runs for s in specs)
    answers = {
        1: NextRound(close=countdown_39, units=fib, note="ignored before least"),
        2: NextRound(close=countdown_39, units=fib, note="fib only"),
        3: NextRound(note="every open unit"),
        4: NextRound(close=everything, note="done"),
    }
    policy = _Policy(lambda report: answers[report.round])
    seen: list = []
    result = run_rounds(runs, RoundPlan(least=2, most=8, seed=5, policy=policy), seen.append)
    assert (result.failures, result.stopped_by) == (0, "target")
    by_round = {n: sorted((env, block) for r, env, block in ran if r == n) for n in range(1, 6)}
    both = [("bench-py313t", "countdown"), ("bench-py313t", "fib"), ("bench-py39", "countdown"), ("bench-py39", "fib")]
    assert by_round[1] == by_round[2] == both
    assert by_round[3] == [("bench-py313t", "fib"), ("bench-py39", "fib")]
    assert by_round[4] == [("bench-py313t", "countdown"), ("bench-py313t", "fib"), ("bench-py39", "fib")]
    assert by_round[5] == []
    assert [r.round for r in policy.reports] == [1, 2, 3, 4]
    after_3 = {(b.env, b.name): (b.block, b.rounds, b.seconds) for b in policy.reports[2].open}
    assert after_3[("bench-py313t", "countdown[serial]")] == ("countdown", 2, 2.0)
    assert after_3[("bench-py39", "fib[serial]")] == ("fib", 3, 2.0)
    assert ("bench-py39", "countdown[serial]") not in after_3  # closed after round 2
    notes = [r.note for r in seen if isinstance(r, RoundDone)]
    assert notes == ["ignored before least", "fib only", "every open unit", "done"]
    assert [r.next_processes for r in seen if isinstance(r, RoundDone)][:3] == [4, 2, 3]


def test_a_policy_that_chooses_no_open_unit_ends_the_rounds():
    specs = [_spec("countdown", "serial", 1)]
    ran: list = []
    runs = [_BlockRun("bench-py39", specs, ran)]
    policy = _Policy(lambda report: NextRound(units=frozenset({("bench-py39", "fib")})))
    result = run_rounds(runs, RoundPlan(least=1, most=8, seed=5, policy=policy), lambda record: None)
    assert len(ran) == 1 and result.stopped_by == "rounds"
    assert runs[0].closed == {"countdown[serial]"}  # stopped after its one round


def test_without_a_policy_every_benchmark_runs_the_least_rounds():
    specs = [_spec("countdown", "serial", 1), _spec("fib", "serial", 1)]
    ran: list = []
    runs = [_BlockRun("bench-py39", specs, ran)]
    result = run_rounds(runs, RoundPlan(least=3, most=3, seed=1), lambda record: None)
    assert (len(ran), result.stopped_by) == (6, "rounds")


def test_most_rounds_count_each_benchmark_s_own_rounds():
    """A policy that leaves fib out of rounds 3 and 4: with ``most`` = 4, countdown stops
    after round 4 and fib catches up in rounds 5 and 6 (numbered for the whole run), each
    closed as having measured the most."""
    specs = [_spec(w, "serial", 1) for w in ("countdown", "fib")]
    ran: list = []
    runs = [_BlockRun("bench-py39", specs, ran)]
    countdown = frozenset({("bench-py39", "countdown")})
    policy = _Policy(lambda report: NextRound(units=countdown if report.round in (2, 3) else None))
    result = run_rounds(runs, RoundPlan(least=2, most=4, seed=5, policy=policy), lambda record: None)
    assert [(n, block) for n, _, block in ran if block == "fib"] == [(1, "fib"), (2, "fib"), (5, "fib"), (6, "fib")]
    assert [n for n, _, block in ran if block == "countdown"] == [1, 2, 3, 4]
    assert result.stopped == {("bench-py39", "countdown[serial]"): "most", ("bench-py39", "fib[serial]"): "most"}
    assert result.stopped_by == "rounds"
