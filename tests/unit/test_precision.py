"""bench-all's precision rule: what it closes and which units the next round runs.

On fake headline frames (the columns ``analysis.Analysis.headline`` gives) and a fake
scheduler's envs (``run_rounds`` with envs whose benchmark processes take a fixed
number of seconds of a fake clock): the decisions, never a timing.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from harness import precision, run, stats
from workloads import _scheduler
from workloads._schema import BenchSpec, BenchStatus, Outcome
from workloads.host import BUDGET, MOST, TARGET, OpenBenchmark, RoundPlan, RoundReport, run_rounds

D0 = 10.0  # the fake runs' prior: worth 10 rounds of spread


def ratio(kind, env, name, other_env, other_name, sd, n, table=False, moderated=True):
    """A headline row whose interval is what a moderated t over ``n`` rounds at per-round SD ``sd`` gives."""
    df = D0 + n - 1 if moderated else n - 1.0
    hw = float(np.expm1(stats.t975(df) * sd / math.sqrt(n))) if n >= 2 else math.nan
    return {
        "kind": kind,
        "run_id": "r",
        "env": env,
        "name": name,
        "other_env": other_env,
        "other_name": other_name,
        "value": 1.5,
        "hw": hw,
        "n": n,
        "sd": sd,
        "df": df,
        "moderated": moderated,
        "table": table,
    }


def open_(*benchmarks):
    """OpenBenchmarks from (env, name, block, seconds) tuples, after 3 rounds."""
    return tuple(OpenBenchmark(env, name, block, 3, seconds) for env, name, block, seconds in benchmarks)


OPEN = open_(
    ("py313", "countdown[serial]", "countdown", 1.0),
    ("py313", "countdown[threads,w=2]", "countdown", 1.0),
    ("py313t", "countdown[serial]", "countdown", 1.0),
    ("py313t", "countdown[threads,w=2]", "countdown", 1.0),
    ("py313", "fib[serial]", "fib", 0.5),
    ("py313", "fib[threads,w=2]", "fib", 0.5),
    ("py313t", "fib[serial]", "fib", 2.0),
    ("py313t", "fib[threads,w=2]", "fib", 2.0),
)


def test_a_block_whose_ratios_all_met_the_target_closes_and_every_other_unit_runs():
    head = pd.DataFrame(
        [
            ratio("speedup", "py313", "fib[threads,w=2]", "py313", "fib[serial]", 0.005, 3),  # ±1%: met
            ratio("speedup", "py313t", "fib[threads,w=2]", "py313t", "fib[serial]", 0.1, 3),
            ratio("speedup", "py313", "countdown[threads,w=2]", "py313", "countdown[serial]", 0.1, 3),
        ]
    )
    close, planned, units = precision.allocate(head, 0.03, OPEN, None)
    assert close == {
        ("py313", "fib[serial]"),
        ("py313", "fib[threads,w=2]"),
        *(("py313t", n) for n in ("countdown[serial]", "countdown[threads,w=2]")),
    }
    assert units is None and planned == {}


def test_student_t_stops_a_ratio_only_from_its_own_least_round():
    """±1% after 3 rounds stops a moderated ratio, not one that fell back to Student's t."""
    fast = [
        ratio("speedup", "py313", "fib[threads,w=2]", "py313", "fib[serial]", 0.003, 3, moderated=m)
        for m in (True, False)
    ]
    head = pd.DataFrame(fast)
    assert list(precision.met(head, 0.03)) == [True, False]
    later = pd.DataFrame([{**fast[1], "n": stats.STUDENT_LEAST_ROUNDS_TO_STOP}])
    assert list(precision.met(later, 0.03)) == [True]


def test_a_ratio_across_envs_runs_both_its_units_and_table_ratios_come_first():
    """The net speedup of the headline table (py313t's countdown threads over py313's
    serial: 1 s a round each, the other countdown benchmarks close) takes both countdown
    units, though fib's speedup on py313 (1 s) would buy more per second; with room for
    one more second, fib's comes next."""
    head = pd.DataFrame(
        [
            ratio("speedup", "py313", "fib[threads,w=2]", "py313", "fib[serial]", 0.3, 3),
            ratio("net speedup", "py313t", "countdown[threads,w=2]", "py313", "countdown[serial]", 0.1, 3, True),
        ]
    )
    _, planned, units = precision.allocate(head, 0.03, OPEN, left=2.5)
    assert units == {("py313t", "countdown"), ("py313", "countdown")}
    assert planned[("py313t", "countdown")] == planned[("py313", "countdown")] == 1
    _, _, more = precision.allocate(head, 0.03, OPEN, left=3.0)
    assert more == {("py313t", "countdown"), ("py313", "countdown"), ("py313", "fib")}


def test_under_a_budget_a_round_goes_where_it_buys_most_per_second():
    """Two wide ratios, neither in the table: py313t's fib block costs 4 s a round, py313's
    1 s; at the same spread, another round of the cheap one buys four times as much per
    second, so a round that fits one block runs it; the priced cost counts the pace."""
    head = pd.DataFrame(
        [
            ratio("speedup", "py313t", "fib[threads,w=2]", "py313t", "fib[serial]", 0.1, 3),
            ratio("speedup", "py313", "fib[threads,w=2]", "py313", "fib[serial]", 0.1, 3),
        ]
    )
    gains = precision.gain(head, 0.03)
    assert gains.iloc[0] == pytest.approx(gains.iloc[1]) and gains.iloc[0] > 0
    assert precision.allocate(head, 0.03, OPEN, left=3.0)[2] == {("py313", "fib")}
    assert precision.allocate(head, 0.03, OPEN, left=3.0, pace=4.0)[2] == {("py313", "fib")}  # nothing fits: the first
    assert precision.allocate(head, 0.03, OPEN, left=10.0)[2] == {("py313", "fib"), ("py313t", "fib")}


def test_gain_is_what_one_more_round_buys_down_to_the_target():
    head = pd.DataFrame(
        [
            ratio("speedup", "a", "x", "a", "y", 0.1, 3),
            ratio("speedup", "a", "x", "a", "y", 0.02, 3),  # already at the target
            {**ratio("speedup", "a", "x", "a", "y", 0.1, 1)},  # no interval yet
        ]
    )
    got = precision.gain(head, 0.03)
    after = float(stats.half_width_after(0.1, D0 + 2, 3, 4))
    assert got.iloc[0] == pytest.approx(head["hw"].iloc[0] - after)
    assert got.iloc[1] == 0.0 and got.iloc[2] == math.inf


def test_the_budget_left_is_planned_where_it_narrows_most_and_fits():
    """Two speedups at the same spread, 1 s a round each, 12 s left: the headline table's
    (weighted ``TABLE_WEIGHT``) is planned the rounds that bring it to ±3%, the other what
    is left; the plan costs no more than the budget, and no ratio passes ``most``."""
    head = pd.DataFrame(
        [
            ratio("speedup", "py313", "countdown[threads,w=2]", "py313", "countdown[serial]", 0.05, 3, True),
            ratio("speedup", "py313", "fib[threads,w=2]", "py313", "fib[serial]", 0.05, 3),
        ]
    )
    block = {("py313", n): n.split("[")[0] for n in ("countdown[serial]", "countdown[threads,w=2]", "fib[serial]")}
    block[("py313", "fib[threads,w=2]")] = "fib"
    cost = {("py313", "countdown"): 1.0, ("py313", "fib"): 1.0}
    planned = precision.plan(head, 0.03, block, cost, 12.0)
    table, other = planned[("py313", "countdown")], planned[("py313", "fib")]
    assert sum(planned.values()) <= 12 and table > other > 0
    after = stats.half_width_after(0.05, D0 + 2, 3, np.array([2 + table, 3 + table]))
    assert after[1] <= 0.03 < after[0]
    capped = precision.plan(head, 0.03, block, cost, 12.0, most=5)
    assert max(capped.values()) == 2


def test_the_flagship_is_planned_first_however_much_more_another_round_buys_elsewhere():
    """The findings' flagship (py313t's threads speedup, ±6% a round) and a wider table
    ratio on a cheaper block: with 10 s left the flagship is planned the rounds that bring
    it to ``FLAGSHIP_TARGET`` first, the other gets what is left; unmarked, it would get
    fewer."""
    flagship = {**ratio("speedup", "py313t", "countdown[threads,w=2]", "py313t", "countdown[serial]", 0.06, 3, True)}
    head = pd.DataFrame(
        [
            {**flagship, "flagship": True},
            {**ratio("speedup", "py313", "fib[threads,w=2]", "py313", "fib[serial]", 0.3, 3, True), "flagship": False},
        ]
    )
    block = {
        (e, n): n.split("[")[0] for e in ("py313", "py313t") for n in ("countdown[serial]", "countdown[threads,w=2]")
    }
    block.update({("py313", "fib[serial]"): "fib", ("py313", "fib[threads,w=2]"): "fib"})
    cost = {("py313t", "countdown"): 1.0, ("py313", "fib"): 0.5}
    planned = precision.plan(head, 0.03, block, cost, 10.0)
    needed = next(
        k for k in range(1, 40) if stats.half_width_after(0.06, D0 + 2, 3, 3 + k) <= precision.FLAGSHIP_TARGET
    )
    assert planned[("py313t", "countdown")] == needed and planned[("py313", "fib")] == int((10 - needed) / 0.5)
    without = precision.plan(head.assign(flagship=False), 0.03, block, cost, 10.0)
    assert without[("py313t", "countdown")] < needed


def test_a_round_s_fixed_seconds_are_paid_once_per_planned_round():
    """One ratio, its block 1 s a round, 12 s left: without fixed seconds it is planned up
    to 12 rounds; with 1 s a round for the probes and the analysis, at most 6."""
    head = pd.DataFrame([ratio("speedup", "py313", "fib[threads,w=2]", "py313", "fib[serial]", 0.2, 3, True)])
    block = {("py313", "fib[serial]"): "fib", ("py313", "fib[threads,w=2]"): "fib"}
    cost = {("py313", "fib"): 1.0}
    assert precision.plan(head, 0.03, block, cost, 12.0) == {("py313", "fib"): 12}
    assert precision.plan(head, 0.03, block, cost, 12.0, per_round=1.0) == {("py313", "fib"): 6}


def test_a_budget_already_overrun_plans_nothing_and_runs_the_ratio_that_buys_most_alone():
    """The last round may end past the budget: the seconds left are then negative."""
    head = pd.DataFrame([ratio("speedup", "py313", "fib[threads,w=2]", "py313", "fib[serial]", 0.2, 3, True)])
    block = {("py313", "fib[serial]"): "fib", ("py313", "fib[threads,w=2]"): "fib"}
    assert precision.plan(head, 0.03, block, {("py313", "fib"): 1.0}, -3.0, per_round=1.0) == {("py313", "fib"): 0}
    _, planned, units = precision.allocate(head, 0.03, OPEN, -3.0)
    assert set(planned.values()) == {0} and units == {("py313", "fib")}
    rule = precision.PrecisionRule(0.03, lambda: head, [], lambda widths: None)
    report = RoundReport(9, OPEN, seconds_left=-3.0, most=1000, least=3, fixed=1.5)
    assert rule.after_round(report).units == {("py313", "fib")}


def test_a_ratio_across_envs_is_planned_the_same_rounds_in_both_its_units():
    head = pd.DataFrame(
        [ratio("net speedup", "py313t", "countdown[threads,w=2]", "py313", "countdown[serial]", 0.06, 3, True)]
    )
    block = {("py313t", "countdown[threads,w=2]"): "countdown", ("py313", "countdown[serial]"): "countdown"}
    planned = precision.plan(head, 0.03, block, {("py313t", "countdown"): 1.0, ("py313", "countdown"): 2.0}, 20.0)
    assert planned[("py313t", "countdown")] == planned[("py313", "countdown")] > 0
    assert 3 * planned[("py313", "countdown")] <= 20


def test_under_a_budget_the_rounds_shrink_to_the_units_that_need_them(monkeypatch):
    """Six block processes of 2 s a round, 60 s: after three whole rounds (36 s) the plan
    gives the headline table's countdown (±6% per round) more rounds than fib and json,
    whose rounds stop first: the later rounds run fewer blocks."""
    runs, result, history, _ = measure(monkeypatch, 60.0, {"countdown": 0.06, "fib": 0.2, "json": 0.2})
    counts = {(r.target.env, b): len(r.rounds["%s[serial]" % b]) for r in runs for b in SD}
    assert (
        counts[("py313", "countdown")]
        == counts[("py313t", "countdown")]
        > max(counts[(e, b)] for e in ("py313", "py313t") for b in ("fib", "json"))
    )
    assert min(h["units"]["next"] for h in history[2:]) < 6 and result.stopped_by == BUDGET
    assert [h["units"]["planned_rounds"] for h in history[:2]] == [0, 0]  # no plan before the least rounds


# -- the rule inside the scheduler -------------------------------------------------------


class FakeRun:
    """An env as ``run_rounds`` drives it: each benchmark process takes ``seconds`` of the
    fake clock per benchmark and records the round it ran in, as ``EnvRun`` does."""

    def __init__(self, env: str, blocks: dict[str, float], clock: list[float]) -> None:
        self.target = SimpleNamespace(env=env)
        self.specs = [
            BenchSpec(name="%s[%s]" % (b, m), workload=b, module="m", mode=m, workers=1, size=1, block=b)
            for b in blocks
            for m in ("serial", "threads,w=2")
        ]
        self.cost, self.clock = blocks, clock
        self.rounds: dict[str, list[int]] = {s.name: [] for s in self.specs}
        self.closed: dict[str, str] = {}

    def open_specs(self):
        return [s for s in self.specs if s.name not in self.closed]

    def next_round(self, spec):
        return None if spec.name in self.closed else len(self.rounds[spec.name])

    def run_block(self, specs, round_, layout):
        self.clock[0] += self.cost[specs[0].block] * len(specs)
        for spec in specs:
            self.rounds[spec.name].append(round_)
        return {s.name: Outcome.OK for s in specs}

    def entry(self, spec):
        n = len(self.rounds[spec.name])
        return BenchStatus(spec.workload, spec.mode, 1, runs=n, seconds=self.cost[spec.block] * n, reason="")

    def close(self, spec, reason=""):
        self.closed[spec.name] = reason

    def finish(self):
        pass


SD = {"countdown": 0.02, "fib": 0.035, "json": 0.2}  # per-round SD of each block's speedup


def fake_headline(runs: list[FakeRun], sd: dict[str, float]) -> pd.DataFrame:
    """Each env's speedup per block, and the net speedup of py313t's countdown over py313's
    serial (a ratio of the headline table), over the rounds their sides share."""
    by = {(r.target.env, name): set(rounds) for r in runs for name, rounds in r.rounds.items()}
    rows = []
    for r in runs:
        for block, spread in sd.items():
            serial, threads = "%s[serial]" % block, "%s[threads,w=2]" % block
            n = len(by[(r.target.env, serial)] & by[(r.target.env, threads)])
            rows.append(ratio("speedup", r.target.env, threads, r.target.env, serial, spread, n, block == "countdown"))
    n = len(by[("py313t", "countdown[threads,w=2]")] & by[("py313", "countdown[serial]")])
    rows.append(
        ratio("net speedup", "py313t", "countdown[threads,w=2]", "py313", "countdown[serial]", sd["countdown"], n, True)
    )
    return pd.DataFrame(rows)


def measure(monkeypatch, budget=None, sd=SD):
    """``run_rounds`` with the rule over two fake envs of three blocks, 1 s per benchmark."""
    clock = [0.0]
    monkeypatch.setattr(_scheduler.time, "monotonic", lambda: clock[0])
    runs = [FakeRun(env, {"countdown": 1.0, "fib": 1.0, "json": 1.0}, clock) for env in ("py313", "py313t")]
    history: list = []
    rule = precision.PrecisionRule(0.03, lambda: fake_headline(runs, sd), history, lambda widths: None)
    seen: list = []
    result = run_rounds(runs, RoundPlan(least=3, most=12, seed=1, policy=rule, budget=budget), seen.append)
    return runs, result, history, seen


def test_blocks_get_the_rounds_their_ratios_need(monkeypatch):
    """Countdown's ratios reach ±3% in 3 rounds and close; fib's (3.5% per round) need 7;
    json's never do and measure the most rounds; the rule's history says how many blocks
    each round ran, and the run's block summary why each stopped."""
    runs, result, history, _ = measure(monkeypatch)
    counts = {(r.target.env, b): len(r.rounds["%s[serial]" % b]) for r in runs for b in SD}
    assert counts == {(e, b): {"countdown": 3, "fib": 7, "json": 12}[b] for e in ("py313", "py313t") for b in SD}
    assert result.stopped_by == "rounds"
    summary = run.blocks(runs, result.stopped)
    assert summary["py313"] == {
        "countdown": {"rounds": 3, "stopped": TARGET},
        "fib": {"rounds": 7, "stopped": TARGET},
        "json": {"rounds": 12, "stopped": MOST},
    }
    assert [h["units"]["next"] for h in history][2:8] == [4, 4, 4, 4, 2, 2]


def test_a_budget_chooses_the_last_round_s_units_in_priority_order(monkeypatch):
    """Six block processes of 2 s a round, a 40 s budget: three whole rounds (36 s), then
    the rule picks what fits the 4 s left: the headline table's countdown, both its units
    (its net speedup pairs them), ahead of fib whose ratios another round narrows more; the
    scheduler runs it whole, and the run stops at its budget."""
    runs, result, history, seen = measure(monkeypatch, 40.0, {"countdown": 0.1, "fib": 0.2, "json": 0.2})
    fourth = {(r.target.env, b) for r in runs for b in SD if 3 in r.rounds["%s[serial]" % b]}
    assert fourth == {("py313", "countdown"), ("py313t", "countdown")}
    assert result.stopped_by == BUDGET and history[2]["units"] == {"open": 6, "next": 2, "planned_rounds": 1}
    assert "next round 2 of 6 blocks" in [r for r in seen if isinstance(r, _scheduler.RoundDone)][2].note
    assert run.blocks(runs, result.stopped)["py313"] == {
        "countdown": {"rounds": 4, "stopped": BUDGET},
        "fib": {"rounds": 3, "stopped": BUDGET},
        "json": {"rounds": 3, "stopped": BUDGET},
    }


def test_the_scheduler_tells_the_policy_the_budget_left_and_its_pace(monkeypatch):
    reports: list[RoundReport] = []

    class Keep(precision.PrecisionRule):
        def after_round(self, report):
            reports.append(report)
            return super().after_round(report)

    clock = [0.0]
    monkeypatch.setattr(_scheduler.time, "monotonic", lambda: clock[0])
    runs = [FakeRun(env, {"countdown": 1.0, "fib": 1.0, "json": 1.0}, clock) for env in ("py313", "py313t")]
    rule = Keep(0.03, lambda: fake_headline(runs, SD), [], lambda widths: None)
    run_rounds(runs, RoundPlan(least=3, most=12, seed=1, policy=rule, budget=40.0), lambda event: None)
    assert [r.seconds_left for r in reports[:3]] == [28.0, 16.0, 4.0]
    assert all(r.pace == 1.0 for r in reports)
