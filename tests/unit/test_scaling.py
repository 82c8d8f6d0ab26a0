"""The scaling family's analysis: words decided on hand-made intervals, the reasons' phrases,
the family's table, and one free-threaded release against the previous one."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import one_row

from harness import analysis as a
from harness import collect, model, sections
from harness.sections import scaling

SLOWER, DOES_NOT, PARTLY, SCALES, UNDECIDED = a.SCALING_VERDICTS
MIB = 1024.0 * 1024.0


@pytest.mark.parametrize(
    ("lo", "hi", "word"),
    [
        (0.40, 0.95, SLOWER),  # the whole interval below serial speed
        (0.90, 1.05, DOES_NOT),  # contains 1, ends below 1.1
        (0.50, 1.11, DOES_NOT),  # wide below, but never more than a tenth faster
        (1.02, 1.09, DOES_NOT),  # faster than serial, by less than ftscalingbench's red cut
        (1.15, 1.35, PARTLY),  # between 1.1 and the cut (1.4 at capacity 1.8)
        (1.45, 1.90, SCALES),
        (1.12, 1.41, PARTLY),  # overhangs the cut by 0.7%: within the 2% tolerance
        (1.39, 1.80, SCALES),  # overhangs it from above, as little
    ],
)
def test_a_verdict_needs_the_whole_interval_in_one_zone(lo, hi, word):
    got = a.scaling_verdict(lo, hi, workers=2, capacity=1.8)
    assert got.word == word and got.spans == (word,) and got.text == word
    assert got.ceiling == 1.8 and got.cut == pytest.approx(1.4)


@pytest.mark.parametrize(
    ("lo", "hi", "spans"),
    [
        (1.30, 1.60, (PARTLY, SCALES)),
        (0.95, 1.30, (DOES_NOT, PARTLY)),  # serial speed not excluded: never "slower" in the spans
        (1.05, 1.20, (DOES_NOT, PARTLY)),
        (0.80, 1.70, (DOES_NOT, PARTLY, SCALES)),
    ],
)
def test_an_interval_across_a_cut_is_undecided_and_says_between_what(lo, hi, spans):
    got = a.scaling_verdict(lo, hi, workers=2, capacity=1.8)
    assert got.word == UNDECIDED and got.spans == spans
    assert got.text == "undecided (%s)" % " or ".join(spans)


def test_the_point_never_enters_only_the_interval():
    """The same interval gives the same word whatever the point estimate would be: there
    is no argument for it.  A narrow interval on the cut goes to the zone holding more of it."""
    assert a.scaling_verdict(1.392, 1.404, 2, 1.8).word == PARTLY
    assert a.scaling_verdict(1.397, 1.420, 2, 1.8).word == SCALES


def test_no_interval_is_undecided():
    for lo, hi in ((math.nan, math.nan), (1.5, math.nan), (0.0, 1.2)):
        got = a.scaling_verdict(lo, hi, 2, 1.8)
        assert got.word == UNDECIDED and got.text == "undecided (no interval)"


def test_the_cut_is_half_the_gain_the_machine_allowed():
    assert a.scaling_cut(2) == pytest.approx(1.5)  # no capacity measured: the ideal, k
    assert a.scaling_cut(2, 1.8) == pytest.approx(1.4)
    assert a.scaling_cut(4, 1.8) == pytest.approx(1.4)  # oversubscribed: the machine's two CPUs
    assert a.scaling_cut(4, math.nan) == pytest.approx(2.5)
    assert a.scaling_cut(2, 1.04) == 1.1  # a machine that allowed nothing: the cut never drops below red
    assert a.scaling_verdict(1.15, 1.3, 2, 1.04).word == SCALES


@pytest.mark.parametrize("n", [8, 10, 18])
def test_at_ftscalingbench_thread_counts_the_cut_is_near_its_yellow_line(n):
    """ftscalingbench colours a speedup below N/2 yellow; half the gain is (N + 1) / 2."""
    assert a.scaling_cut(n) / (n / 2) == pytest.approx(1 + 1 / n)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least two workers"):
        a.scaling_verdict(1.5, 1.9, workers=1)
    with pytest.raises(ValueError, match="lo above hi"):
        a.scaling_verdict(1.9, 1.5, workers=2)


def _row(workers, share, collections, pause, rss, seconds):
    return {
        "workers": workers,
        "cpu_share": {0: share, 1: share},
        "gc_collections": {0: collections - 1, 1: collections + 1} if collections is not None else {},
        "gc_pause": {0: pause, 1: pause} if pause is not None else {},
        "rss_growth": {0: rss, 1: rss},
        "rounds": {0: seconds, 1: seconds},
    }


def test_counters_are_means_over_rounds_and_nan_where_nothing_was_recorded():
    c = a.ProcessCounters.from_row(_row(2, 0.52, 12, 0.03, 40 * MIB, 0.2))
    assert (c.workers, c.cpu_share, c.gc_collections, c.gc_pause, c.seconds) == pytest.approx((2, 0.52, 12, 0.03, 0.2))
    pypy = a.ProcessCounters.from_row(_row(2, 0.9, None, None, 0.0, 0.2))
    assert math.isnan(pypy.gc_collections) and math.isnan(pypy.gc_pause)


def test_reasons_read_as_short_phrases_beside_one_thread():
    one = a.ProcessCounters.from_row(_row(1, 0.98, 2, 0.004, 0.1 * MIB, 0.2))
    many = a.ProcessCounters.from_row(_row(2, 0.52, 12, 0.03, 40 * MIB, 0.15))
    assert a.reason_text(one, many) == (
        "at 2 threads (1 thread): waiting 48% (2%); GC 12×, 30 ms (2×, 4 ms); RSS +40 MiB (+102 KiB); "
        + a.LOCK_CONTENTION
    )


def test_reasons_say_what_was_not_recorded():
    one, many = a.ProcessCounters(1), a.ProcessCounters(2)
    assert a.reason_text(one, many) == (
        "at 2 threads (1 thread): waiting: not recorded; GC: not recorded by this interpreter; RSS: not recorded; "
        "lock contention: not exposed by this interpreter"
    )
    quiet = a.reason_text(a.ProcessCounters(1, 1.0, 0.0, 0.0), a.ProcessCounters(4, 0.99, 0.0, 0.0))
    assert quiet.startswith("at 4 threads (1 thread): waiting 1% (0%); GC: none while timed; RSS: not recorded;")
    alone = a.reason_text(a.ProcessCounters(1), a.ProcessCounters(2, 0.5, 3.0, 0.001, 2048.0))
    assert alone.startswith("at 2 threads (1 thread): waiting 50%; GC 3×, 1 ms; RSS +2 KiB;")  # nothing at one thread


# -- a synthetic run of the family on two free-threaded releases and their default builds ----

RUN = "20260101T000000Z-scale0"
ROUNDS = 6
SPELLS = np.array([1.0, 1.3, 0.9, 1.0, 1.25, 1.05])  # slow spells hit every benchmark of a round alike
BUILDS = {
    # env: version, free-threaded build, GIL at run time, PYTHON_GIL
    "bench-py313": ("3.13.5", False, True, ""),
    "bench-py313t": ("3.13.5", True, False, ""),
    "bench-py314": ("3.14.7", False, True, ""),
    "bench-py314t": ("3.14.7", True, False, ""),
    "bench-py314t-gil": ("3.14.7", True, True, "1"),
}
# kernel: 2-thread speedup and waiting share on 3.13t, the same on 3.14t; the GIL builds run 0.97x
KERNELS = {
    "shared_attr_write": ((0.50, 0.55), (0.41, 0.58)),  # slower than serial on both
    "string_const": ((0.60, 0.40), (1.90, 0.03)),  # slower on 3.13t, scales on 3.14t: 3.17x better
    "object_creation": ((1.90, 0.03), (1.90, 0.03)),  # scales on both, no change
    "c_module_function": ((1.90, 0.03), (1.05, 0.45)),  # does not scale on 3.14t: 0.55x as good
    "spin_fast": ((1.90, 0.03), (2.60, 0.0)),  # 2.6x on 2 CPUs: gated on 3.14t
}


def _bench_row(
    env: str, workload: str, mode: str, seconds: float, share: float, seed: int, suites=("scaling",)
) -> dict:
    version, ft, gil, forced = BUILDS[env]
    wobble = 1 + 0.004 * np.random.default_rng(seed).standard_normal(ROUNDS)
    rounds = {r: float(v) for r, v in enumerate(seconds * SPELLS * wobble)}
    workers = 1 if mode == "serial" else 2
    per_round = {r: share for r in rounds}
    return {
        "run_id": RUN,
        "env": env,
        "name": "%s[%s]" % (workload, "serial" if mode == "serial" else "threads,w=2"),
        "workload": workload,
        "mode": mode,
        "workers": workers,
        "params": "",
        "implementation": "cpython",
        "version": version,
        "free_threaded_build": ft,
        "gil_enabled": gil,
        "python_gil_env": forced,
        "cpu_count": 2,
        "oversubscribed": False,
        "tags": ["cpu"],
        "roles": [],
        "suites": list(suites),
        "work_size": 1000,
        "rounds": rounds,
        "cpu_share": per_round,
        "gc_collections": {r: 3.0 * workers for r in rounds},
        "gc_pause": {r: 0.002 * workers for r in rounds},
        "rss_growth": {r: 0.5 * MIB for r in rounds},
        # what the rest of the analysis reads
        "params_dict": {},
        "jit": "off",
        "profile": "default",
        "unit": "second",
        "n": ROUNDS,
        "mean": float(np.mean(list(rounds.values()))),
        "runs": [[v] for v in rounds.values()],
        "rss": {r: 30e6 for r in rounds},
        "warmup_drift": 0.0,
        "switch_interval": 0.005,
        "workload_sha256": "sha-" + workload,
    }


def scaling_run() -> pd.DataFrame:
    """Every kernel serial and on two threads in every env, plus countdown, which is no member."""
    rows, seed = [], 0
    for env, (_, _, gil, _) in BUILDS.items():
        for workload, (old, new) in {**KERNELS, "countdown": ((1.9, 0.03), (1.9, 0.03))}.items():
            speedup, waiting = (new if env.startswith("bench-py314") else old) if not gil else (0.97, 0.5)
            suites = () if workload == "countdown" else ("scaling",)
            rows.append(_bench_row(env, workload, "serial", 1.0, 0.99, seed := seed + 1, suites))
            rows.append(_bench_row(env, workload, "threads", 1.0 / speedup, 1 - waiting, seed := seed + 1, suites))
    return pd.DataFrame(rows)


def scaling_envs() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "run_id": RUN,
                "env": env,
                "implementation": "cpython",
                "version": version,
                "free_threaded_build": ft,
                "gil_enabled": gil,
                "python_gil_env": forced,
                "pair_id": "pair-" + version,
            }
            for env, (version, ft, gil, forced) in BUILDS.items()
        ]
    )


@pytest.fixture(scope="module")
def scaled() -> a.Analysis:
    return a.analyse(scaling_run(), scaling_envs())


def test_the_family_table_judges_each_kernels_threads_on_every_build(scaled):
    table = scaled.scaling
    assert list(table.columns) == a.SCALING_COLUMNS
    assert "countdown" not in set(table["workload"])  # measured, but no member of the family
    assert len(table) == len(KERNELS) * len(BUILDS) and set(table["workers"]) == {2}
    words = {(r["env"], r["workload"]): r["verdict"] for _, r in table.iterrows()}
    assert words[("bench-py314t", "shared_attr_write")] == SLOWER
    assert words[("bench-py314t", "string_const")] == SCALES and words[("bench-py313t", "string_const")] == SLOWER
    assert words[("bench-py314t", "c_module_function")] == DOES_NOT
    assert {words[(e, k)] for e in ("bench-py313", "bench-py314") for k in KERNELS} == {SLOWER}
    write = one_row(table, env="bench-py314t", workload="shared_attr_write")
    assert write["speedup"] == pytest.approx(0.41, rel=0.01) and write["speedup_hw"] < 0.01  # spells cancel
    assert write["efficiency"] == pytest.approx(0.205, rel=0.01) and write["waiting"] == pytest.approx(0.58)
    assert write["scaling_cut"] == pytest.approx(1.5)  # no capacity measured: half the ideal gain
    assert write["reason"] == (
        "at 2 threads (1 thread): waiting 58% (1%); GC 6×, 4 ms (3×, 2 ms); RSS +512 KiB (+512 KiB); "
        + a.LOCK_CONTENTION
    )
    assert one_row(table, env="bench-py314t", workload="string_const")["reason"] == ""  # it scales
    assert "above the physical limit" in one_row(table, env="bench-py314t", workload="spin_fast")["problem"]


def test_a_release_is_held_against_the_previous_one_of_its_kind():
    envs = scaling_envs()
    assert a.release_pairs(envs) == {(RUN, "bench-py314t"): "bench-py313t"}  # PYTHON_GIL=1 and default builds apart
    newer = envs[envs["env"] == "bench-py314t"].assign(env="bench-py315t", version="3.15.0")
    twin = envs[envs["env"] == "bench-py314t"].assign(env="bench-py314t-aa")
    older = envs[envs["env"] == "bench-py313t"].assign(env="bench-py313t-old", version="3.13.1")
    pairs = a.release_pairs(pd.concat([envs, newer, twin, older], ignore_index=True))
    assert pairs == {(RUN, "bench-py314t"): "bench-py313t", (RUN, "bench-py315t"): "bench-py314t"}
    assert a.release_pairs(envs[envs["env"] != "bench-py313t"]) == {}


def test_the_gain_is_the_ratio_of_two_speedups_paired_by_round(scaled):
    gains = scaled.scaling_gains
    assert list(gains.columns) == a.GAIN_COLUMNS
    assert set(gains["env"]) == {"bench-py314t"} and set(gains["baseline_env"]) == {"bench-py313t"}
    assert len(gains) == len(KERNELS)
    up = one_row(gains, workload="string_const")
    assert up["gain"] == pytest.approx(1.9 / 0.6, rel=0.01) and up["gain_lo"] > 1 and up["gain_significant"]
    assert up["gain_n"] == ROUNDS and up["gain_hw"] < 0.02  # the 30% spells cancel from both sides
    assert up["speedup"] == pytest.approx(1.9, rel=0.01) and up["baseline_speedup"] == pytest.approx(0.6, rel=0.01)
    same = one_row(gains, workload="object_creation")
    assert same["gain"] == pytest.approx(1.0, abs=0.01) and same["problem"] == ""
    assert one_row(gains, workload="spin_fast")["problem"].startswith("bench-py314t: ")


def test_the_gain_is_the_same_ratio_every_other_ratio_is():
    """One round-paired interval: what ``ratio_columns`` gives for the per-round speedups."""
    serial_new, threads_new = {0: 1.0, 1: 1.3, 2: 0.9}, {0: 0.52, 1: 0.70, 2: 0.47}
    serial_old, threads_old = {0: 1.0, 1: 1.3, 2: 0.9}, {0: 1.6, 1: 2.2, 2: 1.5}
    by_round = [
        a.Sides(
            {r: serial_new[r] / threads_new[r] for r in serial_new},
            {r: serial_old[r] / threads_old[r] for r in serial_old},
        )
    ]
    want = a.ratio_columns("gain", by_round).iloc[0]
    rows = [
        {"run_id": RUN, "env": env, "name": name, "rounds": rounds}
        for env, name, rounds in (
            ("bench-py314t", "k[serial]", serial_new),
            ("bench-py314t", "k[threads,w=2]", threads_new),
            ("bench-py313t", "k[serial]", serial_old),
            ("bench-py313t", "k[threads,w=2]", threads_old),
        )
    ]
    table = pd.DataFrame(
        [
            {
                "run_id": RUN,
                "env": env,
                "workload": "k",
                "params": "",
                "workers": 2,
                "name": "k[threads,w=2]",
                "serial_name": "k[serial]",
                "speedup": s,
                "problem": "",
            }
            for env, s in (("bench-py314t", 1.9), ("bench-py313t", 0.6))
        ]
    )
    got = a.scaling_gains(table, pd.DataFrame(rows), scaling_envs()).iloc[0]
    for column in ("gain", "gain_lo", "gain_hi", "gain_hw", "gain_n"):
        assert got[column] == pytest.approx(want[column])


def test_no_family_no_table_and_no_gains():
    run = scaling_run()
    plain = run.assign(suites=[[] for _ in range(len(run))])
    result = a.analyse(plain, scaling_envs())
    assert result.scaling.empty and list(result.scaling.columns) == a.SCALING_COLUMNS
    assert result.scaling_gains.empty and list(result.scaling_gains.columns) == a.GAIN_COLUMNS
    before_families = a.analyse(run.drop(columns="suites"), scaling_envs())
    assert before_families.scaling.empty and before_families.scaling_gains.empty


# -- the report's section and sentences ------------------------------------------------------


def _context(run: pd.DataFrame, result: a.Analysis) -> sections.Context:
    data = collect.RunData(run, pd.DataFrame(), scaling_envs())
    return sections.Context(model.Report(data, result, model.env_labels(run), pd.DataFrame(), ""))


def test_the_section_has_a_row_per_kernel_and_a_column_group_per_free_threaded_build(scaled):
    [section] = scaling.build(_context(scaling_run(), scaled))
    assert section.id == "scaling"
    table, why = section.tables
    assert table.columns == [
        "kernel",
        *("CPython 3.13.5t, 2 threads", "efficiency", "verdict"),
        *("CPython 3.14.7t, 2 threads", "efficiency", "verdict"),
        "CPython 3.13.5, 2 threads",
        "CPython 3.14.7, 2 threads",
        "CPython 3.14.7t (PYTHON_GIL=1), 2 threads",
    ]
    rows = {r.cells[0].text: r.cells for r in table.rows}
    assert sorted(rows) == sorted(KERNELS)
    write = rows["shared_attr_write"]
    assert write[4].text == "0.41× (0.41–0.41)" and (write[5].text, write[5].detail) == ("20%", "95% CI 20–21")
    assert write[6].text == SLOWER and write[6].tone == "bad" and write[6].detail.startswith("at 2 threads (1 thread)")
    assert rows["string_const"][6].text == SCALES and rows["string_const"][6].detail == ""
    gated = rows["spin_fast"]
    assert gated[4].text == "problem" and "above the physical limit" in gated[4].detail
    assert gated[5].text == "" and gated[6].text == "not judged"
    assert write[7].brief and write[7].text == "0.97×"  # a GIL build: the speedup alone
    assert why.columns == ["interpreter", "kernel", "speedup (95% CI)", "verdict", "why not"]
    listed = [(r.cells[0].text, r.cells[1].text) for r in why.rows]
    assert listed == [
        ("CPython 3.13.5t", "shared_attr_write"),
        ("CPython 3.13.5t", "string_const"),
        ("CPython 3.14.7t", "shared_attr_write"),
        ("CPython 3.14.7t", "c_module_function"),
    ]  # worst first per build; those that scale and the gated one left out
    reason = why.rows[2].cells[4].text
    assert reason.startswith("at 2 threads (1 thread): waiting 58% (1%);") and reason.endswith(a.LOCK_CONTENTION)
    notes = " ".join(part.text for note in section.paragraphs + section.notes for part in note.parts)
    assert "1.50× at 2 threads" in notes and "CPython 3.13.5: 5 slower than serial" in notes


def test_the_releases_subsection_holds_each_kernels_gain(scaled):
    [section] = scaling.build(_context(scaling_run(), scaled))
    [sub] = section.subsections
    assert sub.title == "CPython 3.14.7t against CPython 3.13.5t, per kernel"
    rows = {r.cells[0].text: r for r in sub.tables[0].rows}
    up = rows["string_const"]
    assert [c.text for c in up.cells[2:4]] == ["0.60× (0.60–0.60)", "1.90× (1.89–1.91)"]
    assert up.cells[4].text.startswith("3.1") and up.cells[5].text == "better" and not up.muted
    assert rows["c_module_function"].cells[5].text == "worse"
    assert rows["object_creation"].muted and rows["spin_fast"].cells[5].text == ""


def test_the_findings_name_the_worst_kernels_per_free_threaded_build_and_never_a_gatedone_row(scaled):
    ctx = _context(scaling_run(), scaled)
    old, new = scaling.sentences(ctx)
    assert new.startswith(
        "On CPython 3.14.7t, 2 of 4 scaling kernels do not scale at 2 threads: shared_attr_write 0.41× (95% CI "
    )
    assert "), waiting 58%; c_module_function 1.05× (95% CI " in new
    assert new.endswith("waiting 45% (verdicts: 2 scale, 1 do not scale, 1 slower than serial, 1 gated).")
    assert old.startswith("On CPython 3.13.5t, 2 of 5 scaling kernels do not scale at 2 threads: shared_attr_write")
    assert "spin_fast" not in new  # gated on 3.14t: counted apart, never quoted


def test_the_findings_say_which_kernels_a_release_made_better_or_worse(scaled):
    [sentence] = scaling.releases(_context(scaling_run(), scaled))
    assert sentence.startswith(
        "From CPython 3.13.5t to CPython 3.14.7t, of 4 scaling kernels, the 2-thread speedup (CPython 3.14.7t's "
        "over CPython 3.13.5t's, paired by round) rose on 1: string_const 3.1"
    )
    assert (
        "; fell on 2: c_module_function 0.55× (95% CI " in sentence
        and "); shared_attr_write 0.82× (95% CI " in sentence
    )
    assert sentence.endswith("; the interval contains 1 on 1.")
    assert "spin_fast" not in sentence


def test_a_run_of_one_round_has_no_verdict_and_the_findings_say_so():
    """The smoke profile measures one round: no interval, so every verdict is undecided and
    no gain is counted as unchanged."""
    run = scaling_run()
    for column in ("rounds", "cpu_share", "gc_collections", "gc_pause", "rss_growth"):
        run[column] = [{0: d[0]} for d in run[column]]
    ctx = _context(run, a.analyse(run, scaling_envs()))
    one = next(s for s in scaling.sentences(ctx) if "3.14.7t" in s)
    assert one == (
        "On CPython 3.14.7t, none of 4 scaling kernels is shown not to scale at 2 threads "
        "(verdicts: 4 without an interval, 1 gated)."
    )
    [release] = scaling.releases(ctx)
    assert release.endswith("rose on 0; fell on 0; 4 have no interval.")


def test_no_section_and_no_sentence_without_the_family():
    run = scaling_run()
    run = run.assign(suites=[[] for _ in range(len(run))])
    ctx = _context(run, a.analyse(run, scaling_envs()))
    assert scaling.build(ctx) == [] and scaling.sentences(ctx) == [] and scaling.releases(ctx) == []
