"""The independent check's own arithmetic, its child, and the interleaved and scaling checks' summaries."""

from __future__ import annotations

import math
import random
import sys

import pytest
from helpers import assert_usage_error
from scipy import stats as sps

from validation import independent, scaling_check
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


@pytest.mark.parametrize("kernel", ["workloads.scaling:shared_attr_read", "workloads.cpu:method_calls"])
def test_the_child_runs_gilbench_kernels_with_their_shared_state_and_none_of_its_measuring_code(kernel):
    pairs = independent.run_child(sys.executable, {}, kernel, 8, pairs=2, warmups=0)
    assert len(pairs) == 2 and all(a > 0 and b > 0 for a, b in pairs)


def _timed_rounds(bias: float, seconds: tuple[float, float], rng: random.Random) -> list[tuple]:
    return [(g, i, *seconds) for g, i in _rounds(bias, rng)]


def test_scaling_check_summarises_each_kernel_and_the_precision_per_minute():
    same = scaling_check.kernel_summary(_timed_rounds(1.0, (3.0, 6.0), random.Random(1)))
    off = scaling_check.kernel_summary(_timed_rounds(0.85, (3.0, 6.0), random.Random(2)))
    assert same["gilbench_over_independent"]["within"] and same["gilbench_over_independent"]["contains_one"]
    assert not off["gilbench_over_independent"]["within"] and not off["gilbench_over_independent"]["contains_one"]
    g, i = same["gilbench"], same["independent"]
    assert (g["minutes"], i["minutes"]) == pytest.approx((12 * 3.0 / 60, 12 * 6.0 / 60))
    lo, hi = g["ci95"]
    assert g["half_width"] == pytest.approx(math.sqrt(hi / lo) - 1)
    assert g["half_width_at_one_minute"] == pytest.approx(g["half_width"] * math.sqrt(0.6))
    summaries = {("3.13t", "a"): same, ("3.13t", "b"): off, ("3.13", "a"): same}
    total = scaling_check.target_summary({"a": same, "b": off})
    assert (total["kernels"], total["within"], total["contains_one"]) == (2, 1, 1)
    assert (total["within_met"], total["contains_one_met"], total["narrower_met"], total["met"]) == (
        False,  # 1 kernel within ±5%, not 15
        True,  # all but one
        total["gilbench_half_width_at_one_minute"] < total["independent_half_width_at_one_minute"],
        False,
    )
    report = scaling_check.format_report(summaries, {"3.13t": True, "3.13": False})
    assert "| 3.13t | a | 12 |" in report and "| 3.13t | b | 12 |" in report
    assert "\n3.13t (free-threaded): the bar is NOT met\n" in report
    assert "- gilbench / independent within ±5%: 1 of 2 kernels (bar: at least 15) — NOT met\n" in report
    assert "- its 95% interval contains 1: 1 of 2 kernels (bar: all but 1) — met\n" in report
    assert "- median half-width at one minute of measuring (half-width × √minutes): gilbench ±" in report
    gil = report[report.index("\n3.13 (") :]
    assert gil.startswith("\n3.13 (with a GIL: the bar is for free-threaded builds)\n") and "met" not in gil


@pytest.mark.parametrize(
    ("argv", "message"),
    [([], "at least one --target"), (["--target", "x=/p", "--rounds", "1"], "at least 2")],
)
def test_scaling_check_bad_arguments_exit_in_one_line(argv, message, capsys):
    assert_usage_error(scaling_check.main, argv, message, capsys)
