"""The independent check's own arithmetic, its child, and the interleaved check's summaries."""

from __future__ import annotations

import math
import random
import sys

import pytest
from helpers import assert_usage_error
from scipy import stats as sps

from validation import independent
from validation import interleaved_check as check


@pytest.mark.parametrize("df", [5, 10, 30, 100])
def test_t_quantile_is_close_to_the_exact_one(df):
    assert independent.t_quantile(0.975, df) == pytest.approx(sps.t.ppf(0.975, df), rel=0.005)


def test_geomean_interval_is_t_on_the_log_ratios():
    ratios = [1.8, 2.0, 1.9, 1.7, 2.1]
    g, lo, hi = independent.geomean_interval(ratios)
    logs = [math.log(r) for r in ratios]
    half = sps.t.ppf(0.975, 4) * sps.tstd(logs) / math.sqrt(5)
    assert g == pytest.approx(math.exp(sum(logs) / 5))
    assert (lo, hi) == pytest.approx((g * math.exp(-half), g * math.exp(half)), rel=0.005)
    assert math.isnan(independent.geomean_interval([1.5])[1])


@pytest.mark.parametrize("workload", independent.WORKLOADS)
def test_the_child_times_both_sides_of_every_workload(workload):
    pairs = independent.run_child(sys.executable, {}, workload, 4, pairs=2, warmups=0)
    assert len(pairs) == 2 and all(a > 0 and b > 0 for a, b in pairs)


def test_the_child_refuses_a_workload_it_has_no_version_of():
    with pytest.raises(ValueError, match="no independent version"):
        independent.run_child(sys.executable, {}, "json_roundtrip", 4, pairs=1)


def _rounds(bias: float, rng: random.Random, n: int = 12) -> list[tuple[float, float]]:
    """Round speedups of both methods around 1.8, gilbench's ``bias`` times the independent one."""
    out = []
    for _ in range(n):
        drift = rng.uniform(0.8, 1.1)  # the machine's capacity in this round, seen by both
        out.append((1.8 * drift * bias * rng.uniform(0.98, 1.02), 1.8 * drift * rng.uniform(0.98, 1.02)))
    return out


def test_summaries_pair_the_methods_by_round_and_say_whether_within_five_percent():
    summaries = {
        ("3.13t", "countdown"): check.summarize(_rounds(1.0, random.Random(1))),
        ("3.13t", "fib"): check.summarize(_rounds(0.85, random.Random(2))),
    }
    same = summaries[("3.13t", "countdown")]["gilbench_over_independent"]
    assert same["geomean"] == pytest.approx(1.0, abs=0.02) and same["ci95"][1] - same["ci95"][0] < 0.05
    rows = check.format_table(summaries).splitlines()[2:]
    assert rows[0].startswith("| 3.13t | countdown | 12 |") and rows[0].endswith("| yes |")
    assert rows[1].endswith("| no |")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "at least one --target"),
        (["--target", "x=/p,BROKEN"], "KEY=VALUE"),
        (["--target", "x=/p", "--rounds", "1"], "at least 2"),
        (["--target", "x=/p", "--also", "y=fib"], "no --target labelled 'y'"),
        (["--target", "x=/p", "--workload", "json_roundtrip"], "no independent version"),
    ],
)
def test_bad_arguments_exit_in_one_line(argv, message, capsys):
    assert_usage_error(check.main, argv, message, capsys)
