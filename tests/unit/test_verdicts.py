"""harness.verdicts: words decided on hand-made intervals, and the reasons' phrases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from harness import verdicts as v


@pytest.mark.parametrize(
    ("lo", "hi", "word"),
    [
        (0.40, 0.95, v.SLOWER),  # the whole interval below serial speed
        (0.90, 1.05, v.DOES_NOT),  # contains 1, ends below 1.1
        (0.50, 1.11, v.DOES_NOT),  # wide below, but never more than a tenth faster
        (1.02, 1.09, v.DOES_NOT),  # faster than serial, by less than ftscalingbench's red cut
        (1.15, 1.35, v.PARTLY),  # between 1.1 and the cut (1.4 at capacity 1.8)
        (1.45, 1.90, v.SCALES),
        (1.12, 1.41, v.PARTLY),  # overhangs the cut by 0.7%: within the 2% tolerance
        (1.39, 1.80, v.SCALES),  # overhangs it from above, as little
    ],
)
def test_a_verdict_needs_the_whole_interval_in_one_zone(lo, hi, word):
    got = v.verdict(lo, hi, workers=2, capacity=1.8)
    assert got.word == word and got.spans == (word,) and got.text == word
    assert got.ceiling == 1.8 and got.cut == pytest.approx(1.4)


@pytest.mark.parametrize(
    ("lo", "hi", "spans"),
    [
        (1.30, 1.60, (v.PARTLY, v.SCALES)),
        (0.95, 1.30, (v.DOES_NOT, v.PARTLY)),  # serial speed not excluded: never "slower" in the spans
        (1.05, 1.20, (v.DOES_NOT, v.PARTLY)),
        (0.80, 1.70, (v.DOES_NOT, v.PARTLY, v.SCALES)),
    ],
)
def test_an_interval_across_a_cut_is_undecided_and_says_between_what(lo, hi, spans):
    got = v.verdict(lo, hi, workers=2, capacity=1.8)
    assert got.word == v.UNDECIDED and got.spans == spans
    assert got.text == "undecided (%s)" % " or ".join(spans)


def test_the_point_never_enters_only_the_interval():
    """The same interval gives the same word whatever the point estimate would be: there
    is no argument for it.  A narrow interval on the cut goes to the zone holding more of it."""
    assert v.verdict(1.392, 1.404, 2, 1.8).word == v.PARTLY
    assert v.verdict(1.397, 1.420, 2, 1.8).word == v.SCALES


def test_no_interval_is_undecided():
    for lo, hi in ((math.nan, math.nan), (1.5, math.nan), (0.0, 1.2)):
        got = v.verdict(lo, hi, 2, 1.8)
        assert got.word == v.UNDECIDED and got.text == "undecided (no interval)"


def test_the_cut_is_half_the_gain_the_machine_allowed():
    assert v.scaling_cut(2) == pytest.approx(1.5)  # no capacity measured: the ideal, k
    assert v.scaling_cut(2, 1.8) == pytest.approx(1.4)
    assert v.scaling_cut(4, 1.8) == pytest.approx(1.4)  # oversubscribed: the machine's two CPUs
    assert v.scaling_cut(4, math.nan) == pytest.approx(2.5)
    assert v.scaling_cut(2, 1.04) == v.RED  # a machine that allowed nothing: the cut never drops below red
    assert v.verdict(1.15, 1.3, 2, 1.04).word == v.SCALES


@pytest.mark.parametrize("n", [8, 10, 18])
def test_at_ftscalingbench_thread_counts_the_cut_is_near_its_yellow_line(n):
    """ftscalingbench colours a speedup below N/2 yellow; half the gain is (N + 1) / 2."""
    assert v.scaling_cut(n) / (n / 2) == pytest.approx(1 + 1 / n)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least two workers"):
        v.verdict(1.5, 1.9, workers=1)
    with pytest.raises(ValueError, match="lo above hi"):
        v.verdict(1.9, 1.5, workers=2)


def test_verdict_frame_judges_every_row_with_or_without_capacity():
    frame = pd.DataFrame(
        {"speedup_lo": [0.8, 1.5, 1.3], "speedup_hi": [0.9, 1.9, 1.6], "workers": [2, 2, 4]}, index=["a", "b", "c"]
    )
    out = v.verdict_frame(frame)
    assert list(out.index) == ["a", "b", "c"]
    assert list(out["verdict"]) == [v.SLOWER, v.SCALES, v.PARTLY]  # c: no capacity, cut 2.5
    assert list(out["scaling_cut"]) == pytest.approx([1.5, 1.5, 2.5])
    frame["capacity"] = [1.8, 1.8, float("nan")]
    assert list(v.verdict_frame(frame)["verdict_text"]) == [v.SLOWER, v.SCALES, v.PARTLY]


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
    c = v.Counters.from_row(_row(2, 0.52, 12, 0.03, 40 * v.MIB, 0.2))
    assert (c.workers, c.cpu_share, c.gc_collections, c.gc_pause, c.seconds) == pytest.approx((2, 0.52, 12, 0.03, 0.2))
    pypy = v.Counters.from_row(_row(2, 0.9, None, None, 0.0, 0.2))
    assert math.isnan(pypy.gc_collections) and math.isnan(pypy.gc_pause)


def test_reasons_read_as_short_phrases_beside_one_thread():
    one = v.Counters.from_row(_row(1, 0.98, 2, 0.004, 0.1 * v.MIB, 0.2))
    many = v.Counters.from_row(_row(2, 0.52, 12, 0.03, 40 * v.MIB, 0.15))
    assert v.reasons(one, many) == [
        "waiting 48% of the time at 2 threads (1 thread: 2%)",
        "GC: 12 collections, 30 ms per value at 2 threads (1 thread: 2 collections, 4 ms)",
        "RSS +40 MiB per value at 2 threads (1 thread: +102 KiB)",
        v.LOCK_CONTENTION,
    ]
    assert v.reason_text(one, many) == "; ".join(v.reasons(one, many))


def test_reasons_say_what_was_not_recorded():
    one, many = v.Counters(1), v.Counters(2)
    assert v.reasons(one, many) == [
        "waiting share: not recorded",
        "GC: not recorded by this interpreter",
        "RSS: not recorded",
        "lock contention: not exposed by this interpreter",
    ]
    quiet = v.reasons(v.Counters(1, 1.0, 0.0, 0.0), v.Counters(2, 0.99, 0.0, 0.0))
    assert quiet[:2] == ["waiting 1% of the time at 2 threads (1 thread: 0%)", "GC: no collection while timed"]


def _bench(name, workload, mode, workers, suites, share):
    return {
        "run_id": "R",
        "env": "bench-py313t",
        "name": name,
        "workload": workload,
        "mode": mode,
        "workers": workers,
        "suites": suites,
        "cpu_share": {0: share, 1: share},
        "gc_collections": {0: 0.0, 1: 0.0},
        "gc_pause": {0: 0.0, 1: 0.0},
        "rss_growth": {0: 2 * v.MIB, 1: 2 * v.MIB},
        "rounds": {0: 0.2, 1: 0.2},
    }


def _derived(name, workload, mode, workers, lo, hi, capacity=1.8):
    return {
        "run_id": "R",
        "env": "bench-py313t",
        "workload": workload,
        "params": "",
        "name": name,
        "serial_name": "%s[serial]" % workload,
        "mode": mode,
        "workers": workers,
        "speedup": (lo * hi) ** 0.5,
        "speedup_lo": lo,
        "speedup_hi": hi,
        "capacity": capacity,
    }


def test_scaling_table_judges_the_family_threads_and_gives_a_reason_where_it_does_not_scale():
    benchmarks = pd.DataFrame(
        [
            _bench("shared_attr_read[serial]", "shared_attr_read", "serial", 1, ["scaling"], 0.99),
            _bench("shared_attr_read[threads,w=2]", "shared_attr_read", "threads", 2, ["scaling"], 0.5),
            _bench("object_creation[serial]", "object_creation", "serial", 1, ["cpu", "scaling"], 0.99),
            _bench("object_creation[threads,w=2]", "object_creation", "threads", 2, ["cpu", "scaling"], 0.97),
            _bench("object_creation[processes,w=2]", "object_creation", "processes", 2, ["cpu", "scaling"], 0.97),
            _bench("countdown[serial]", "countdown", "serial", 1, ["cpu"], 0.99),
            _bench("countdown[threads,w=2]", "countdown", "threads", 2, ["cpu"], 0.5),
        ]
    )
    derived = pd.DataFrame(
        [
            _derived("shared_attr_read[threads,w=2]", "shared_attr_read", "threads", 2, 0.6, 0.8),
            _derived("object_creation[threads,w=2]", "object_creation", "threads", 2, 1.6, 1.8),
            _derived("object_creation[processes,w=2]", "object_creation", "processes", 2, 1.7, 1.9),
            _derived("countdown[threads,w=2]", "countdown", "threads", 2, 0.9, 1.0),
        ]
    )
    table = v.scaling_table(derived, benchmarks)
    assert list(table.columns) == v.SCALING_COLUMNS
    assert list(table["workload"]) == ["object_creation", "shared_attr_read"]
    assert list(table["verdict"]) == [v.SCALES, v.SLOWER]
    assert table["reason"][0] == ""
    assert table["reason"][1].startswith("waiting 50% of the time at 2 threads (1 thread: 1%); GC: no collection")
    assert "RSS +2 MiB per value" in table["reason"][1] and table["reason"][1].endswith(v.LOCK_CONTENTION)


def test_scaling_table_is_empty_for_a_run_without_the_family_or_from_before_families():
    empty = v.scaling_table(pd.DataFrame(), pd.DataFrame())
    assert empty.empty and list(empty.columns) == v.SCALING_COLUMNS
    old = pd.DataFrame([_bench("countdown[threads,w=2]", "countdown", "threads", 2, [], 0.5)]).drop(columns="suites")
    derived = pd.DataFrame([_derived("countdown[threads,w=2]", "countdown", "threads", 2, 0.9, 1.0)])
    assert v.scaling_table(derived, old).empty
