"""3.13t → 3.14t: two free-threaded builds of different minor versions, each against its
own default build, on synthetic runs whose ratios are known (``test_analysis``'s)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_analysis import ROUNDS, RUN, _by_hand, bench, env_frame, row

from harness import analysis

LABELS = {
    "bench-py313": "3.13.5",
    "bench-py313t": "3.13.5t",
    "bench-py314": "3.14.7",
    "bench-py314t": "3.14.7t",
}


def two_pairs() -> pd.DataFrame:
    """countdown on both pairs: 3.13.5t at 1.6 s per 1000 units against 1.0 s on 3.13.5
    (0.625× its speed), 3.14.7t at 0.88 s against 0.8 s on 3.14.7 (0.909×): 1.45× as much.
    Two threads: 3.13.5t 0.8 s per 1000 units (1.25× one thread of 3.13.5), 3.14.7t 0.46 s
    (1.739× one of 3.14.7): 1.39×.  spin's two threads on 3.14.7t beat physics (a gated
    speedup); fresh ran on 3.14 only."""
    flag = {"roles": ("flagship",)}
    return pd.DataFrame(
        [
            bench("bench-py313", "countdown", "serial", 1, 1.0, seed=1, **flag),
            bench("bench-py313t", "countdown", "serial", 1, 3.2, size=2000, seed=2, **flag),
            bench("bench-py313t", "countdown", "threads", 2, 1.6, size=2000, seed=3, **flag),
            bench("bench-py313t-gil", "countdown", "serial", 1, 4.0, seed=4, **flag),
            bench("bench-py314", "countdown", "serial", 1, 0.8, seed=5, **flag),
            bench("bench-py314", "countdown", "threads", 2, 0.81, seed=6, **flag),
            bench("bench-py314t", "countdown", "serial", 1, 0.88, seed=7, **flag),
            bench("bench-py314t", "countdown", "threads", 2, 0.46, seed=8, **flag),
            bench("bench-py313", "spin", "serial", 1, 1.0, seed=9),
            bench("bench-py313t", "spin", "serial", 1, 1.2, seed=10),
            bench("bench-py313t", "spin", "threads", 2, 0.7, seed=11),
            bench("bench-py314", "spin", "serial", 1, 1.0, seed=12),
            bench("bench-py314t", "spin", "serial", 1, 1.1, seed=13),
            bench("bench-py314t", "spin", "threads", 2, 1.1 / 2.6, seed=14),
            bench("bench-py314", "fresh", "serial", 1, 1.0, seed=15),
            bench("bench-py314t", "fresh", "serial", 1, 1.1, seed=16),
        ]
    )


@pytest.fixture(scope="module")
def result() -> analysis.Analysis:
    return analysis.analyse(two_pairs(), env_frame())


def _envs(*rows: tuple[str, str, bool, str, str]) -> pd.DataFrame:
    """An env frame of (env, version, free-threaded, PYTHON_GIL, pair id) rows."""
    return pd.DataFrame(
        [
            {
                "run_id": "r",
                "env": env,
                "implementation": "cpython",
                "version": version,
                "free_threaded_build": ft,
                "python_gil_env": gil,
                "pair_id": pair,
            }
            for env, version, ft, gil, pair in rows
        ]
    )


def test_builds_pair_by_minor_version_each_with_its_own_default_build():
    (pair,) = analysis.version_pairs(env_frame())
    assert pair == analysis.VersionPair(RUN, "bench-py313t", "bench-py313", "bench-py314t", "bench-py314", True)
    three = _envs(
        ("a13", "3.13.5", False, "", "p13"),
        ("a13t", "3.13.5", True, "", "p13"),
        ("a13t-gil", "3.13.5", True, "1", "p13"),  # compared with its own build, never across versions
        ("a14", "3.14.7", False, "", "p14"),
        ("a14t", "3.14.7", True, "", "p14"),
        ("a14t-old", "3.14.0", True, "", ""),  # a second 3.14t, not matched: the matched one is chosen
        ("a15", "3.15.0", False, "", ""),
        ("a15t", "3.15.0", True, "", "other"),  # same version, another pair id: paired, flagged unmatched
    )
    got = [(p.old, p.old_default, p.new, p.new_default, p.matched) for p in analysis.version_pairs(three)]
    assert got == [("a13t", "a13", "a14t", "a14", True), ("a14t", "a14", "a15t", "a15", False)]


def test_nothing_to_compare_with_one_free_threaded_build():
    envs = env_frame()
    only = envs[~envs["env"].str.startswith("bench-py314")]
    assert analysis.version_pairs(only) == []
    frame = two_pairs()
    result = analysis.analyse(frame[~frame["env"].str.startswith("bench-py314")], only)
    assert result.versions.empty


def _rounds(frame: pd.DataFrame, env: str, name: str) -> np.ndarray:
    return np.array(list(row(frame, env=env, name=name)["rounds"].values()))


def test_the_ratio_of_two_ratios_is_paired_by_round_over_four_benchmarks(result):
    frame = two_pairs()
    one = row(result.versions, workload="countdown", mode="serial")
    assert (one["env"], one["baseline_env"], one["old_env"], one["old_baseline_env"]) == (
        "bench-py314t",
        "bench-py314",
        "bench-py313t",
        "bench-py313",
    )
    assert one["matched"] and one["workers"] == 1 and one["problem"] == ""
    assert one["old"] == pytest.approx(1.0 / 1.6, rel=0.01) and one["new"] == pytest.approx(0.8 / 0.88, rel=0.01)
    # per round: log D14 - log FT14 - log D13 + log FT13, plus the log of the work sizes' ratio (1 / 2)
    d14, ft14 = _rounds(frame, "bench-py314", "countdown[serial]"), _rounds(frame, "bench-py314t", "countdown[serial]")
    d13, ft13 = _rounds(frame, "bench-py313", "countdown[serial]"), _rounds(frame, "bench-py313t", "countdown[serial]")
    value, lo, hi = _by_hand([(d14 / ft14 * ft13 / d13 * 0.5, np.ones(ROUNDS))])
    assert (one["change"], one["change_lo"], one["change_hi"]) == pytest.approx((value, lo, hi))
    assert one["change"] == pytest.approx(one["new"] / one["old"]) and one["change_n"] == ROUNDS
    assert one["change"] == pytest.approx(0.909 / 0.625, rel=0.01) and one["change_significant"]
    assert one["change_hw"] < 0.02  # the machine's slow spells hit all four benchmarks of a round alike
    two = row(result.versions, workload="countdown", mode="threads")
    assert two["workers"] == 2 and two["old"] == pytest.approx(1.25, rel=0.01)
    assert two["new"] == pytest.approx(0.8 / 0.46, rel=0.01) and two["change"] == pytest.approx(two["new"] / two["old"])


def test_only_the_rounds_all_four_benchmarks_share_are_paired():
    frame = two_pairs()
    i = frame.index[(frame["env"] == "bench-py313") & (frame["name"] == "countdown[serial]")][0]
    frame.at[i, "rounds"] = {r: v for r, v in frame.at[i, "rounds"].items() if r != 2}
    got = row(analysis.analyse(frame, env_frame()).versions, workload="countdown", mode="serial")
    assert got["change_n"] == got["new_n"] == got["old_n"] == ROUNDS - 1
    assert got["change"] == pytest.approx(got["new"] / got["old"])


def test_a_gated_speedup_on_either_side_is_carried_and_a_benchmark_one_side_lacks_has_no_row(result):
    spin = row(result.versions, workload="spin", mode="threads")
    assert spin["problem"].startswith("newer: ") and "above the physical limit" in spin["problem"]
    assert row(result.versions, workload="spin", mode="serial")["problem"] == ""
    assert "fresh" not in set(result.versions["workload"])
