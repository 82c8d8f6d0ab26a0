"""The code that computes numbers, on small synthetic runs whose answers are known.

A synthetic run is built the way ``collect`` builds a real one: one row per benchmark
with its per-round means.  Every ratio is then known exactly (the noise is a fixed
per-round pattern), so these tests check the arithmetic, the pairing, the per-unit
normalisation across interpreters, the sanity gates and which sentences the findings
may write -- never a timing.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from helpers import one_row as row

from harness import analysis, collect, model, sections, stats
from harness.sections import headline, pyperformance
from harness.sections.numbers import objects, precision

RUN = "20260101T000000Z-test00"
HEADLINE_KINDS = {"speedup", "net speedup", "one worker", "free-threading overhead", "forced GIL overhead"}
ROUNDS = 6
# A machine whose rounds differ a lot (slow spells hit both sides of a round alike)
# plus a small wobble per benchmark: paired ratios must see through the first.
SPELLS = np.array([1.0, 1.3, 0.9, 1.0, 1.25, 1.05])


def wobble(seed: int) -> np.ndarray:
    return 1 + 0.004 * np.random.default_rng(seed).standard_normal(ROUNDS)


ENVS = {
    # env: implementation, version, free-threaded build, GIL at run time, PYTHON_GIL, pair id
    "bench-py313": ("cpython", "3.13.5", False, True, "", "pair-1"),
    "bench-py313t": ("cpython", "3.13.5", True, False, "", "pair-1"),
    "bench-py313t-gil": ("cpython", "3.13.5", True, True, "1", "pair-1"),
    # a second matched pair, one minor version on (tests/unit/test_ft_versions.py)
    "bench-py314": ("cpython", "3.14.7", False, True, "", "pair-2"),
    "bench-py314t": ("cpython", "3.14.7", True, False, "", "pair-2"),
}


def bench(
    env: str,
    workload: str,
    mode: str,
    workers: int,
    seconds: float,
    size: int = 1000,
    seed: int = 0,
    tags: tuple[str, ...] = ("cpu",),
    roles: tuple[str, ...] = (),
) -> dict:
    impl, version, ft, gil, forced, _ = ENVS[env]
    means = seconds * SPELLS * wobble(seed)
    name = "%s[%s]" % (workload, mode if mode == "serial" else "%s,w=%d" % (mode, workers))
    rounds = {r: float(v) for r, v in enumerate(means)}
    return {
        "run_id": RUN,
        "env": env,
        "name": name,
        "workload": workload,
        "mode": mode,
        "workers": workers,
        "params": "",
        "params_dict": {},
        "implementation": impl,
        "version": version,
        "free_threaded_build": ft,
        "gil_enabled": gil,
        "python_gil_env": forced,
        "jit": "off",
        "cpu_count": 2,
        "oversubscribed": mode != "serial" and workers > 2,
        "tags": list(tags),
        "roles": list(roles),
        "work_size": size,
        "profile": "default",
        "unit": "second",
        "n": ROUNDS,
        "mean": float(np.mean(means)),
        "switch_interval": 0.005,
        "runs": [[v] for v in means],
        "rounds": rounds,
        "rss": {r: 30e6 * (1.1 if ft else 1.0) for r in rounds},
        "cpu_share": {r: 0.5 for r in rounds},
        "warmup_drift": 0.0,
        "workload_sha256": "sha-" + workload,
    }


def env_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "run_id": RUN,
                "env": env,
                "implementation": impl,
                "version": version,
                "free_threaded_build": ft,
                "gil_enabled": gil,
                "python_gil_env": forced,
                "pair_id": pair,
                "executable": "/x/" + env,
            }
            for env, (impl, version, ft, gil, forced, pair) in ENVS.items()
        ]
    )


def synthetic_run() -> pd.DataFrame:
    """countdown: 1.0 s serial on the default build, 1.5 s per unit of work on the
    free-threaded build (which measured twice the work), 1.6 s with PYTHON_GIL=1; two
    threads take 1.02 s under a GIL and 0.8 s without (per unit where sizes differ)."""
    rows = [
        bench("bench-py313", "countdown", "serial", 1, 1.0, seed=1, roles=("flagship",)),
        bench("bench-py313", "countdown", "threads", 2, 1.02, seed=2, roles=("flagship",)),
        bench("bench-py313t", "countdown", "serial", 1, 3.0, size=2000, seed=3, roles=("flagship",)),
        bench("bench-py313t", "countdown", "threads", 2, 1.6, size=2000, seed=4, roles=("flagship",)),
        bench("bench-py313t-gil", "countdown", "serial", 1, 4.8, size=3000, seed=5, roles=("flagship",)),
        bench("bench-py313t-gil", "countdown", "threads", 2, 4.9, size=3000, seed=6, roles=("flagship",)),
        # a physically impossible speedup (2.6x on 2 CPUs) and a one-worker ratio far from 1
        bench("bench-py313", "spin", "serial", 1, 1.0, seed=7),
        bench("bench-py313", "spin", "threads", 2, 1.0 / 2.6, seed=8),
        bench("bench-py313", "spin", "processes", 1, 1.0 / 0.8, seed=9),
        # one pool worker is the baseline of the pool's speedups: 1.9x over it, 1.52x over serial
        bench("bench-py313", "spin", "processes", 2, 1.0 / 0.8 / 1.9, seed=12),
        # I/O may scale past the CPU count
        bench("bench-py313", "naps", "serial", 1, 1.0, seed=10, tags=("io",)),
        bench("bench-py313", "naps", "threads", 4, 0.26, seed=11, tags=("io",)),
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def result() -> analysis.Analysis:
    return analysis.analyse(synthetic_run(), env_frame())


def context(frame: pd.DataFrame, result: analysis.Analysis, labels: dict[str, str]) -> sections.Context:
    """What the sections see of a synthetic run: its analysis, under ``labels``."""
    data = collect.RunData(frame, pd.DataFrame(), env_frame())
    return sections.Context(model.Report(data, result, labels, pd.DataFrame(), ""))


def test_speedup_is_paired_by_round_so_slow_spells_cancel(result):
    r = row(result.derived, env="bench-py313", name="countdown[threads,w=2]")
    assert r["speedup"] == pytest.approx(1 / 1.02, rel=0.005)
    assert r["speedup_n"] == ROUNDS
    assert r["speedup_hw"] < 0.01  # the 30% spells would make an unpaired interval far wider
    assert r["serial_name"] == "countdown[serial]" and r["problem"] == ""


def test_cross_interpreter_ratios_are_per_unit_of_work(result):
    net = row(result.derived, env="bench-py313t", name="countdown[threads,w=2]")
    assert net["net_baseline_env"] == "bench-py313" and net["net_matched"]
    # default build: 1.0 s per 1000 units; free-threaded, 2 threads: 1.6 s per 2000 units
    assert net["net_speedup"] == pytest.approx(1.0 / 0.8, rel=0.01)
    ft = row(result.overheads, kind="free-threading", env="bench-py313t")
    assert ft["overhead"] == pytest.approx(1.5, rel=0.01) and ft["matched"]
    assert ft["memory"] == pytest.approx(1.1, rel=1e-6)
    forced = row(result.overheads, kind="forced GIL", env="bench-py313t-gil")
    assert forced["baseline_env"] == "bench-py313t"
    assert forced["overhead"] == pytest.approx(1.6 / 1.5, rel=0.01)


def test_sanity_gates_flag_impossible_ratios_but_not_io(result):
    fast = row(result.derived, name="spin[threads,w=2]")
    assert "above the physical limit of 2×" in fast["problem"]
    one = row(result.one_worker, name="spin[processes,w=1]")  # recorded no serial of its own: the serial benchmark
    assert one["vs_serial"] == pytest.approx(0.8, rel=0.01) and "one worker" in one["problem"]
    assert one["baseline_name"] == "spin[serial]"
    naps = row(result.derived, name="naps[threads,w=4]")
    assert naps["speedup"] > 3.5 and naps["problem"] == ""


def test_pool_and_subinterpreter_speedups_are_over_one_worker_of_their_mode(result):
    pool = row(result.derived, env="bench-py313", name="spin[processes,w=2]")
    assert pool["baseline_name"] == "spin[processes,w=1]" and pool["serial_name"] == "spin[serial]"
    assert pool["speedup"] == pytest.approx(1.9, rel=0.01)
    assert result.derived[result.derived["name"] == "spin[processes,w=1]"].empty  # a baseline, not a speedup


def test_one_worker_is_paired_with_serial_in_its_own_process_where_that_was_recorded():
    # the pool worker's process measured serial beside it at 0.98x the worker's time, each
    # round in that process's state; the serial benchmark, another process, ran 20% faster
    pool = bench("bench-py313", "spin", "processes", 1, 1.0, seed=2)
    pool["serial_in_process"] = {r: 0.98 * v for r, v in pool["rounds"].items()}
    rows = [bench("bench-py313", "spin", "serial", 1, 0.8, seed=1), pool]
    one = row(analysis.one_worker(pd.DataFrame(rows)), name="spin[processes,w=1]")
    assert one["baseline_name"] == analysis.IN_PROCESS and one["serial_name"] == "spin[serial]"
    assert one["vs_serial"] == pytest.approx(0.98, rel=1e-6) and one["vs_serial_n"] == ROUNDS
    assert one["problem"] == ""


def test_without_a_one_worker_run_the_speedup_is_over_serial():
    # a smoke run measures no w=1: the baseline falls back to serial, and says so
    rows = [
        bench("bench-py313", "spin", "serial", 1, 1.0, seed=1),
        bench("bench-py313", "spin", "interpreters", 2, 0.55, seed=2),
    ]
    derived = analysis.derive(pd.DataFrame(rows), env_frame())
    fallback = row(derived, name="spin[interpreters,w=2]")
    assert fallback["baseline_name"] == "spin[serial]" and fallback["speedup"] == pytest.approx(1 / 0.55, rel=0.01)


def test_waiting_share_comes_from_the_threads_cpu_time(result):
    assert row(result.derived, env="bench-py313", name="countdown[threads,w=2]")["waiting"] == pytest.approx(0.5)


def test_headline_lists_every_ratio_with_the_benchmarks_it_uses(result):
    head = result.headline()
    assert set(head["kind"]) == HEADLINE_KINDS
    pool = row(head, kind="speedup", name="spin[processes,w=2]")
    assert pool["other_name"] == "spin[processes,w=1]"
    one = row(head, kind="one worker", name="spin[processes,w=1]")
    assert (one["other_name"], one["value"]) == ("spin[serial]", pytest.approx(0.8, rel=0.01))
    net = row(head, kind="net speedup", env="bench-py313t")
    assert (net["other_env"], net["other_name"]) == ("bench-py313", "countdown[serial]")
    summary = analysis.precision_summary(result, 0.03)
    assert summary["ratios"] == len(head) and summary["met"] == len(head)
    assert (head["n"] >= 2).all()


def test_precision_summary_says_how_many_rounds_a_target_would_take(result):
    """The synthetic run's widest ratio is within ±3% already; at ±0.1% it needs more rounds."""
    needed = analysis.precision_summary(result, 0.001)["rounds_needed"]
    n = int(result.headline()["n"].max())
    assert needed["median"] is not None and needed["median"] > n
    assert needed["p90"] is None or needed["p90"] >= needed["median"]


def test_unpaired_rounds_give_no_interval_rather_than_a_wrong_one():
    frame = analysis.ratio_columns("r", [analysis.Sides({0: 1.0}, {0: 2.0}), None])
    assert frame["r"][0] == pytest.approx(0.5)
    assert math.isnan(frame["r_lo"][0]) and math.isnan(frame["r"][1])


def test_aa_calibration_pairs_each_env_with_its_twin():
    twin = synthetic_run()
    twin = twin[twin["env"] == "bench-py313"].assign(env="bench-py313-aa")
    aa = analysis.aa_calibration(pd.concat([synthetic_run(), twin], ignore_index=True))
    assert set(aa["env"]) == {"bench-py313"} and len(aa) == 8
    assert aa["ratio"].to_numpy() == pytest.approx(1.0)
    summary = analysis.aa_summary(aa)
    assert summary["n"] == 8 and summary["envs"] == ["bench-py313"]


def test_findings_pick_workloads_by_role_and_never_quote_a_gated_ratio(result):
    sentences = sections.sentences(context(synthetic_run(), result, {e: e for e in ENVS}))
    text = "\n".join(sentences)
    assert "countdown" in text  # found by its role, not by its name
    assert "2.60" not in text and "spin" not in text.split("failed a sanity gate")[0]
    assert any("failed a sanity gate" in s for s in sentences)
    assert any(s.startswith("Net gain on bench-py313t") for s in sentences)
    assert any("PEP 779" in s for s in sentences)


def test_a_workload_measured_with_different_code_is_flagged():
    run = synthetic_run()
    run["workload_sha256"] = "a"
    assert analysis.provenance_problems(run) == []
    run.loc[run["env"] == "bench-py313t", "workload_sha256"] = "b"
    (problem,) = analysis.provenance_problems(run)
    assert problem.startswith("countdown was measured with 2 different versions")


def test_one_worker_shares_its_block_with_serial_in_the_blocks_layout():
    """In the blocks layout serial is a benchmark of the same process: the baseline is named
    as measured in that process, and the precision rule keeps the serial benchmark open."""
    pool = bench("bench-py313", "spin", "processes", 1, 1.0, seed=2)
    serial = bench("bench-py313", "spin", "serial", 1, 0.97, seed=1)
    for b in (pool, serial):
        b["block"] = "serial:1 processes:1 processes:2"
    one = row(analysis.one_worker(pd.DataFrame([serial, pool])), name="spin[processes,w=1]")
    assert one["baseline_name"] == analysis.IN_PROCESS and one["baseline_bench"] == "spin[serial]"
    assert one["vs_serial"] == pytest.approx(0.97, rel=0.01)
    head = analysis.Analysis(
        pd.DataFrame(),
        pd.DataFrame(),
        pd.DataFrame(),
        pd.DataFrame(),
        pd.DataFrame(),
        analysis.one_worker(pd.DataFrame([serial, pool])),
    ).headline()
    assert head.iloc[0]["other_name"] == "spin[serial]"


def test_a_speedup_over_the_machines_capacity_is_paired_by_round():
    """Capacity 1.6x in odd rounds and 2.0x in even ones; two threads gain 1.8x over serial
    in rounds of 2.0x and 1.44x in rounds of 1.6x: the code earned 0.9 of what the machine
    allowed in every round, exactly, though the speedup itself moved by 25%."""
    caps = {r: (2.0 if r % 2 == 0 else 1.6) for r in range(ROUNDS)}
    serial = bench("bench-py313t", "countdown", "serial", 1, 1.0, seed=1)
    threads = bench("bench-py313t", "countdown", "threads", 2, 1.0, seed=1)
    threads["rounds"] = {r: serial["rounds"][r] / (0.9 * caps[r]) for r in range(ROUNDS)}
    derived = analysis.derive(pd.DataFrame([serial, threads]), env_frame(), {RUN: {2: caps}})
    got = row(derived, name="countdown[threads,w=2]")
    assert got["vs_capacity"] == pytest.approx(0.9) and got["vs_capacity_hw"] == pytest.approx(0.0, abs=1e-9)
    assert got["capacity"] == pytest.approx(math.sqrt(2.0 * 1.6))
    assert got["capacity_lo"] < got["capacity"] < got["capacity_hi"] and got["capacity_n"] == ROUNDS
    assert got["speedup_hw"] > 0.05
    assert math.isnan(
        row(analysis.derive(pd.DataFrame([serial, threads]), env_frame()), name="countdown[threads,w=2]")["vs_capacity"]
    )


def test_an_oversubscribed_speedup_is_read_against_the_capacity_at_its_own_count():
    """A run confined to one CPU measures two threads: its capacity probe ran at k=2 too
    (``capacity.probe_widths``), and the speedup is read against it, not against none."""
    caps = {r: 1.0 for r in range(ROUNDS)}
    serial = dict(bench("bench-py313t", "countdown", "serial", 1, 1.0, seed=1), cpu_count=1)
    threads = dict(bench("bench-py313t", "countdown", "threads", 2, 1.0, seed=2), cpu_count=1, oversubscribed=True)
    got = row(analysis.derive(pd.DataFrame([serial, threads]), env_frame(), {RUN: {2: caps}}), name=threads["name"])
    assert got["oversubscribed"] and got["capacity"] == pytest.approx(1.0)
    assert got["vs_capacity"] == pytest.approx(got["speedup"]) and got["vs_capacity_n"] == ROUNDS
    many = {2: {r: 2.0 for r in range(ROUNDS)}, 4: caps}  # a 2-CPU run probed at 2, and at 4 too
    four = dict(bench("bench-py313t", "countdown", "threads", 4, 1.0, seed=2), oversubscribed=True)
    assert row(analysis.derive(pd.DataFrame([serial, four]), env_frame(), {RUN: many}), name=four["name"])[
        "capacity"
    ] == pytest.approx(1.0)
    del many[4]  # a run that probed up to its CPUs only: four workers read against two
    assert row(analysis.derive(pd.DataFrame([serial, four]), env_frame(), {RUN: many}), name=four["name"])[
        "capacity"
    ] == pytest.approx(2.0)


def test_first_rounds_reports_a_run_as_it_stood():
    full = synthetic_run()
    early = analysis.first_rounds(full, 3)
    assert all(sorted(r) == [0, 1, 2] for r in early["rounds"])
    assert all(sorted(r) == [0, 1, 2] for r in early["rss"])
    assert sorted(full["rounds"].iloc[0]) == list(range(ROUNDS))  # the original is untouched
    head = analysis.analyse(early, env_frame()).headline()
    assert set(head["n"].dropna()) <= {3}


# -- the moderated interval and the headline table ---------------------------------------


def noisy_run(rounds: int = 3, workloads: int = 8, seed: int = 40) -> pd.DataFrame:
    """A run with enough timing ratios for a prior (``stats.MIN_PRIOR_RATIOS``): countdown
    (the flagship) and ``workloads`` - 1 others, serial, 2 threads and 1 and 2 pool workers
    on the matched pair and the forced-GIL env, each round's value drawn around its truth
    with 8% noise, and the within-process standard error its four values would show."""
    rng = np.random.default_rng(seed)
    rows = []
    names = ["countdown"] + ["w%d" % i for i in range(1, workloads)]
    for env in ENVS:
        for w, workload in enumerate(names):
            roles = ("flagship",) if workload == "countdown" else ()
            for mode, k, seconds in (
                ("serial", 1, 1.0),
                ("threads", 2, 0.6),
                ("processes", 1, 1.0),
                ("processes", 2, 0.55),
            ):
                row = bench(env, workload, mode, k, seconds, seed=w, roles=roles)
                values = seconds * np.exp(0.08 * rng.standard_normal((rounds, 4)))
                row["rounds"] = {r: float(v.mean()) for r, v in enumerate(values)}
                row["within_se"] = {r: float(np.log(v).std(ddof=1) / 2) for r, v in enumerate(values)}
                row["rss"] = {r: 30e6 for r in range(rounds)}
                row["cpu_share"] = {r: 0.5 for r in range(rounds)}
                rows.append(row)
    return pd.DataFrame(rows)


def test_every_timing_ratio_gets_the_moderated_interval_from_one_prior_per_run():
    """Three rounds: the prior pools the run's 80-odd timing ratios, so their intervals use
    more than 2 degrees of freedom and are narrower than Student's t at the median; the
    point estimates are each ratio's own; memory stays Student's t (no prior's columns)."""
    frame = noisy_run()
    moderated = analysis.analyse(frame, env_frame())
    student = analysis.analyse(frame, env_frame(), moderate=False)
    prior = moderated.priors[RUN]
    assert prior is not None and prior.ratios == len(moderated.headline())
    assert student.priors == {}
    head, t_head = moderated.headline(), student.headline()
    assert set(head["kind"]) == HEADLINE_KINDS
    assert head["moderated"].all() and not t_head["moderated"].any()
    assert (head["df"] > 2).all() and (t_head["df"] == 2).all()
    assert head["value"].to_numpy() == pytest.approx(t_head["value"].to_numpy())
    assert head["hw"].median() < t_head["hw"].median()
    assert "memory_sd" not in moderated.overheads and moderated.overheads["overhead_moderated"].all()


def test_a_ratio_across_envs_pairs_only_the_rounds_both_sides_ran_in():
    """The free-threaded env skipped round 1 (allocation ran only the default build): its
    net speedup and free-threading overhead pair rounds 0 and 2, never one env's round 1
    with the other's round 2, and the prior's pooling leaves that pairing alone."""
    frame = noisy_run(rounds=4)
    ft = frame["env"] == "bench-py313t"
    for column in ("rounds", "within_se"):
        frame.loc[ft, column] = [{r: v for r, v in d.items() if r != 1} for d in frame.loc[ft, column]]
    result = analysis.analyse(frame, env_frame())
    net = row(result.derived, env="bench-py313t", name="countdown[threads,w=2]")
    ft_serial = row(frame, env="bench-py313t", name="countdown[serial]")
    threads = row(frame, env="bench-py313t", name="countdown[threads,w=2]")
    base = row(frame, env="bench-py313", name="countdown[serial]")
    assert net["net_speedup_n"] == 3 and net["speedup_n"] == 3
    logs = [math.log(base["rounds"][r] / threads["rounds"][r]) for r in (0, 2, 3)]
    assert net["net_speedup"] == pytest.approx(math.exp(np.mean(logs)) * threads["work_size"] / base["work_size"])
    over = row(result.overheads, kind="free-threading", env="bench-py313t", name="countdown[serial]")
    assert over["overhead_n"] == 3
    assert over["overhead"] == pytest.approx(
        math.exp(np.mean([math.log(ft_serial["rounds"][r] / base["rounds"][r]) for r in (0, 2, 3)]))
        * base["work_size"]
        / ft_serial["work_size"]
    )


def test_the_headline_table_holds_the_flagship_at_the_headline_worker_count():
    """Per interpreter, countdown's 2-thread and 2-worker pool speedups; for the free-threaded
    build its free-threading overhead and net speedup; the same ratios as the frames they
    come from, marked in the headline; the forced-GIL env has no net speedup of its own."""
    result = analysis.analyse(noisy_run(), env_frame())
    table = result.table
    assert set(zip(table["env"], table["quantity"])) == {
        *((env, mode) for env in ENVS for mode in ("threads", "processes")),
        *((env, q) for env in ("bench-py313t", "bench-py314t") for q in ("free-threading overhead", "net speedup")),
    }
    threads = row(table, env="bench-py313t", quantity="threads")
    derived = row(result.derived, env="bench-py313t", name="countdown[threads,w=2]")
    assert (threads["value"], threads["lo"], threads["hi"], threads["hw"]) == pytest.approx(
        (derived["speedup"], derived["speedup_lo"], derived["speedup_hi"], derived["speedup_hw"])
    )
    net = row(table, env="bench-py313t", quantity="net speedup")
    assert (net["other_env"], net["other_name"], net["value"]) == (
        "bench-py313",
        "countdown[serial]",
        pytest.approx(derived["net_speedup"]),
    )
    head = result.headline()
    assert head["table"].sum() == len(table)
    assert set(head.loc[head["table"], "name"]) == {
        "countdown[threads,w=2]",
        "countdown[processes,w=2]",
        "countdown[serial]",
    }


def test_precision_summary_extrapolates_from_the_interval_s_own_sd_and_df():
    result = analysis.analyse(noisy_run(), env_frame())
    summary = analysis.precision_summary(result, 0.03)
    head = result.headline()
    row_ = head.loc[(head["hw"] - head["hw"].quantile(0.5)).abs().idxmin()]
    assert summary["rounds_needed"]["median"] == stats.rounds_to_target(row_["sd"], row_["df"], int(row_["n"]), 0.03)
    assert summary["table_median_hw"] == pytest.approx(result.table["hw"].median())


def test_the_headline_section_shows_the_table_and_its_findings_read_it():
    """The Headline section: a row per interpreter, a column per quantity, each cell the
    ratio and its half-width with the interval on hover; the flagship-in-threads and net
    gain sentences quote the table's numbers, and "run in parallel" only of a significant
    interval."""
    frame = noisy_run()
    result = analysis.analyse(frame, env_frame())
    ctx = context(frame, result, {e: e for e in ENVS})
    (section,) = headline.build(ctx)
    grid = section.tables[0]
    assert grid.columns == ["interpreter", "threads", "process pool", "free-threading overhead", "net speedup"]
    assert [r.cells[0].text for r in grid.rows] == sorted(ENVS)
    threads = row(result.table, env="bench-py313t", quantity="threads")
    cell = grid.rows[1].cells[1]
    assert cell.text == "%.2f× ±%.1f%%" % (threads["value"], 100 * threads["hw"])
    assert cell.detail.startswith("95%% CI %.2f–%.2f, moderated t over 3 rounds" % (threads["lo"], threads["hi"]))
    assert (
        "Median ±%.1f%% over these %d ratios" % (100 * result.table["hw"].median(), len(result.table))
        in section.paragraphs[0].parts[0].text
    )
    said = [s for s in headline.threads(ctx) if s.startswith("Without the GIL, on bench-py313t,")]
    assert said == [
        "Without the GIL, on bench-py313t, 2 threads run countdown %.2f× (95%% CI %.2f–%.2f) faster than one: "
        "they run in parallel." % (threads["value"], threads["lo"], threads["hi"])
    ]
    (net,) = [s for s in headline.net(ctx) if s.startswith("Net gain on bench-py313t")]
    assert "because one thread takes" in net
    unsure = result.table.copy()
    unsure.loc[(unsure["env"] == "bench-py313t") & (unsure["quantity"] == "threads"), ["lo", "significant"]] = [
        0.9,
        False,
    ]
    ctx = context(frame, dataclasses.replace(result, table=unsure), {e: e for e in ENVS})
    assert next(s for s in headline.threads(ctx) if s.startswith("Without the GIL, on bench-py313t,")).endswith(
        "not significant) faster than one: little gain."
    )


def test_the_precision_section_names_the_prior_and_the_rounds_each_block_got():
    frame = noisy_run()
    result = analysis.analyse(frame, env_frame())
    blocks = {
        "bench-py313": {"countdown": {"rounds": 3, "stopped": "target"}, "w1": {"rounds": 9, "stopped": "budget"}},
        "bench-py313t": {"countdown": {"rounds": 5, "stopped": "budget"}, "w1": {"rounds": 9, "stopped": "budget"}},
    }
    data = collect.RunData(frame, pd.DataFrame(), env_frame(), manifests=[{"run_id": RUN, "blocks": blocks}])
    ctx = sections.Context(model.Report(data, result, {e: e for e in ENVS}, pd.DataFrame(), ""))
    (section,) = precision.build(ctx)
    text = section.paragraphs[0].parts[0].text
    prior = result.priors[RUN]
    assert "prior fitted on the run's %d timing ratios, worth d0 = %.1f rounds" % (prior.ratios, prior.d0) in text
    assert "the headline table's ±%.1f%%" % (100 * result.table["hw"].median()) in text
    rows = [[c.text for c in r.cells] for r in section.tables[0].rows]
    assert rows == [["countdown", "3–5", "target met (1), budget (1)", "2"], ["w1", "9", "budget", "2"]]


# -- pyperformance: geometric means against PEP 779's bars -----------------------------

PP = ("pyperformance",)


def pyperformance_run() -> pd.DataFrame:
    """Two pyperformance benchmarks on the matched pair and the forced-GIL env, beside a
    gilbench workload: FT/default 1.2 and 1.05 (geomean sqrt(1.26) = 1.1225), forced
    GIL/FT 1.1 and 1.0; peak RSS 1.1x on both free-threaded envs (``bench``)."""
    times = {"bench-py313": (1.0, 2.0), "bench-py313t": (1.2, 2.1), "bench-py313t-gil": (1.32, 2.1)}
    rows = [
        bench("bench-py313", "countdown", "serial", 1, 1.0, seed=1),
        bench("bench-py313t", "countdown", "serial", 1, 1.0, seed=2),
    ]
    for i, (env, (a, b)) in enumerate(times.items()):
        rows.append(bench(env, "pyperformance.nbody", "serial", 1, a, size=1, seed=20 + i, tags=PP))
        rows.append(bench(env, "pyperformance.go", "serial", 1, b, size=1, seed=30 + i, tags=PP))
    return pd.DataFrame(rows)


def _by_hand(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float, float]:
    """The geomean and its 95% interval, computed here without harness.stats."""
    from scipy import stats as sps

    d = np.mean([np.log(a / b) for a, b in pairs], axis=0)
    half = sps.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return math.exp(d.mean()), math.exp(d.mean() - half), math.exp(d.mean() + half)


def test_pyperformance_geomean_is_the_mean_log_ratio_per_round_with_t_over_rounds():
    frame = pyperformance_run()
    geo = analysis.pyperformance_geomeans(frame, env_frame())
    ft = row(geo, kind="free-threading", env="bench-py313t")
    means = {
        (e, w): np.array(list(d.values())) for e, w, d in frame[["env", "workload", "rounds"]].itertuples(index=False)
    }
    pairs = [(means["bench-py313t", w], means["bench-py313", w]) for w in ("pyperformance.nbody", "pyperformance.go")]
    value, lo, hi = _by_hand(pairs)
    assert ft["baseline_env"] == "bench-py313" and ft["matched"] and ft["benchmarks"] == 2
    assert (
        ft["time"] == pytest.approx(value) and ft["time_lo"] == pytest.approx(lo) and ft["time_hi"] == pytest.approx(hi)
    )
    assert ft["time"] == pytest.approx(math.sqrt(1.2 * 1.05), rel=0.01) and ft["time_rounds"] == ROUNDS
    assert ft["time_verdict"] == "within"  # 1.12 with a narrow interval: under 1.15
    assert ft["memory"] == pytest.approx(1.1) and ft["memory_benchmarks"] == 2 and ft["memory_verdict"] == "within"
    forced = row(geo, kind="forced GIL", env="bench-py313t-gil")
    assert forced["baseline_env"] == "bench-py313t"
    assert forced["time"] == pytest.approx(math.sqrt(1.1 * 1.0), rel=0.01) and forced["memory"] == pytest.approx(1.0)


def test_every_interpreter_is_held_against_the_matched_default_build():
    geo = analysis.pyperformance_geomeans(pyperformance_run(), env_frame())
    ref = geo[geo["kind"] == "vs reference"]
    assert set(ref["env"]) == {"bench-py313t", "bench-py313t-gil"} and set(ref["baseline_env"]) == {"bench-py313"}
    assert row(ref, env="bench-py313t-gil")["time"] == pytest.approx(math.sqrt(1.32 * 1.05), rel=0.01)
    assert (ref["time_verdict"] == "").all()  # PEP 779's bars are for the free-threaded build only


def test_geomean_uses_the_rounds_every_benchmark_has_and_per_unit_scales():
    a = {0: 2.0, 1: 2.2, 2: 2.0, 3: 9.9}
    b = {0: 1.0, 1: 1.0, 2: 1.0}
    c = {0: 3.0, 1: 3.0, 2: 3.3, 3: 3.0}
    got = analysis.geomean([(a, b, 1.0), (c, {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}, 0.5)])
    assert got["rounds"] == 3 and got["benchmarks"] == 2  # round 3 lacks b: left out of every benchmark
    value, lo, hi = _by_hand([(np.array([2.0, 2.2, 2.0]), np.ones(3)), (0.5 * np.array([3.0, 3.0, 3.3]), np.ones(3))])
    assert (got["value"], got["lo"], got["hi"]) == pytest.approx((value, lo, hi))
    assert math.isnan(analysis.geomean([(a, {5: 1.0}, 1.0)])["value"])


@pytest.mark.parametrize(
    ("lo", "hi", "verdict"),
    [(1.01, 1.14, "within"), (1.16, 1.3, "above"), (1.1, 1.2, "undecided"), (math.nan, math.nan, "")],
)
def test_pep779_verdict_only_when_the_whole_interval_is_on_one_side(lo, hi, verdict):
    assert analysis.verdict(lo, hi, analysis.PEP779_TIME_BAR) == verdict


def test_pyperformance_rows_stay_out_of_the_workloads_overheads_but_count_as_headline_ratios():
    result = analysis.analyse(pyperformance_run(), env_frame())
    assert set(result.overheads["workload"]) == {"countdown"}
    assert set(result.pyperformance["workload"]) == {"pyperformance.nbody", "pyperformance.go"}
    head = result.headline()
    assert {"pyperformance.nbody[serial]", "countdown[serial]"} <= set(head["name"])


def test_memory_that_could_not_be_measured_is_named_per_env_never_a_zero():
    frame = pyperformance_run()
    frame["rss"] = [
        {} if e == "bench-py313t" and "pyperformance" in t else d
        for e, t, d in frame[["env", "tags", "rss"]].itertuples(index=False)
    ]
    geo = analysis.pyperformance_geomeans(frame, env_frame())
    ft = row(geo, kind="free-threading", env="bench-py313t")
    assert math.isnan(ft["memory"]) and ft["memory_benchmarks"] == 0 and ft["memory_verdict"] == ""
    assert analysis.memory_unmeasured(frame) == ["bench-py313t"]
    sentence = pyperformance.sentences(context(frame, analysis.analyse(frame, env_frame()), {}))
    assert len(sentence) == 1 and "peak memory could not be measured" in sentence[0]


def test_the_findings_sentence_quotes_the_geomeans_and_the_verdicts():
    frame = pyperformance_run()
    result = analysis.analyse(frame, env_frame())
    (sentence,) = pyperformance.sentences(context(frame, result, {"bench-py313t": "3.13.5t", "bench-py313": "3.13.5"}))
    assert sentence.startswith("On 2 pyperformance benchmarks, 3.13.5t takes 1.12× (95% CI ")
    assert "within PEP 779's bar of 15% more" in sentence and "1.10× (95% CI 1.10–1.10) its peak memory" in sentence


# -- memory per object ------------------------------------------------------------------


def test_bytes_per_object_is_a_mean_over_rounds_and_the_free_threaded_build_is_paired_by_round():
    per_round = {"bench-py313": [96.0, 97.0, 96.0, 95.0], "bench-py313t": [120.0, 121.0, 121.0, 118.0]}
    rows = []
    for env, values in per_round.items():
        r = bench(env, "hold_lists", "serial", 1, 1.0, tags=("alloc", "memory"))
        r["bytes_per_object"] = dict(enumerate(values))
        rows.append(r)
    rows.append(bench("bench-py313t-gil", "hold_lists", "serial", 1, 1.0, tags=("alloc", "memory")))
    frame = pd.DataFrame(rows)
    got = analysis.object_memory(frame, env_frame())
    default, ft = row(got, env="bench-py313"), row(got, env="bench-py313t")
    half = 3.182446305284263 * np.std(per_round["bench-py313"], ddof=1) / 2  # t(0.975, 3) s / sqrt(4)
    assert default["bytes"] == 96.0 and default["bytes_n"] == 4
    assert (default["bytes_lo"], default["bytes_hi"]) == pytest.approx((96.0 - half, 96.0 + half))
    assert default["baseline_env"] == "" and math.isnan(default["vs_default"])
    ratios = np.log(np.array(per_round["bench-py313t"]) / np.array(per_round["bench-py313"]))
    assert ft["baseline_env"] == "bench-py313" and ft["matched"]
    assert ft["vs_default"] == pytest.approx(math.exp(ratios.mean())) and ft["vs_default_n"] == 4
    assert set(got["env"]) == {"bench-py313", "bench-py313t"}
    assert analysis.object_memory_unmeasured(frame) == ["bench-py313t-gil"]
    (sentence,) = objects.sentences(context(frame, analysis.analyse(frame, env_frame()), {}))
    assert "hold_lists 120 B vs 96 B, 1.25× (95% CI" in sentence
