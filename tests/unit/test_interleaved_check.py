"""benchmarks/interleaved_check.py: the paired comparison it prints, and its command line.

No timings and no children: the statistics on synthetic rounds with a known ratio,
the worker command it shares with bench-all, and the one-line errors.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from conftest import assert_usage_error

# The scripts import each other from their folder, as they do when run.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import interleaved_check as check


def _rounds(bias: float, rng: random.Random, count: int = 40):
    """Rounds where both methods see the same drifting speedup; gilbench's reads ``bias`` higher."""
    rows = []
    for _ in range(count):
        speedup = 1.1 * rng.lognormvariate(0.0, 0.05)  # the quantity itself drifts from round to round
        b = 0.2 * rng.lognormvariate(0.0, 0.1)
        rows.append({"g_a": b * speedup * bias * rng.lognormvariate(0.0, 0.03), "g_b": b,
                     "i_a": b * speedup * rng.lognormvariate(0.0, 0.03), "i_b": b})  # fmt: skip
    return rows


def test_summarize_recovers_a_known_bias():
    s = check.summarize(_rounds(0.9, random.Random(3)))
    assert s["rounds"] == 40
    ratio = s["gilbench_over_independent"]
    assert ratio["geomean"] == pytest.approx(0.9, rel=0.02)
    assert ratio["ci95"][0] < 0.9 < ratio["ci95"][1]
    assert s["gilbench"]["geomean"] == pytest.approx(0.99, rel=0.05)
    assert s["independent"]["geomean"] == pytest.approx(1.1, rel=0.05)


def test_pairing_cancels_the_shared_drift():
    # Per-round speedups vary ±5%, the methods' own noise ±3% each: the paired interval
    # of their ratio is narrower than either method's own interval.
    s = check.summarize(_rounds(1.0, random.Random(4), count=60))
    width = {k: s[k]["ci95"][1] / s[k]["ci95"][0] for k in ("gilbench", "independent", "gilbench_over_independent")}
    assert width["gilbench_over_independent"] < min(width["gilbench"], width["independent"])


def test_table_says_whether_within_five_percent():
    summaries = {"same": check.summarize(_rounds(1.0, random.Random(5))),
                 "off": check.summarize(_rounds(0.85, random.Random(6)))}  # fmt: skip
    rows = check.format_table(["same", "off"], summaries).splitlines()[2:]
    assert rows[0].startswith("| same |") and rows[0].endswith("| yes |")
    assert rows[1].startswith("| off |") and rows[1].endswith("| no |")


def test_worker_command_is_bench_alls():
    from workloads._driver import worker_command
    from workloads._registry import PROFILES
    from workloads._schema import BenchSpec

    spec = BenchSpec(name="countdown[serial]", workload="countdown", module="workloads.cpu", mode="serial",
                     workers=1, size=1000)  # fmt: skip
    cmd = worker_command("/py", spec, "/tmp/part.json", round_=3, profile=PROFILES["default"], run_id="r", env="e")
    assert cmd[:4] == ["/py", "-m", "workloads._runner", "--worker"]
    assert cmd[cmd.index("--size") + 1] == "1000" and cmd[cmd.index("--round") + 1] == "3"
    assert cmd[cmd.index("--warmups") + 1] == str(PROFILES["default"].warmups)


@pytest.mark.parametrize("argv, message", [
    ([], "at least one --target"),
    (["--target", "x=/p,BROKEN"], "KEY=VALUE"),
    (["--target", "x=/p", "--repeats", "1"], "at least 2"),
])  # fmt: skip
def test_bad_arguments_exit_in_one_line(argv, message, capsys):
    assert_usage_error(check.main, argv, message, capsys)


def test_a_pre_imported_variant_is_compared_too():
    rows = _rounds(0.9, random.Random(7))
    for row in rows:  # the pre-imported child reads like gilbench
        row["p_a"], row["p_b"] = row["g_a"], row["g_b"]
    s = check.summarize(rows)
    assert s["gilbench_over_independent, pre-imported"]["geomean"] == pytest.approx(1.0)
    table = check.format_table(["x"], {"x": s}).splitlines()
    assert "gilbench / independent, pre-imported" in table[0]
    cells = table[2].strip("| ").split(" | ")
    assert (cells[5], cells[8]) == ("no", "yes")  # 10% off the plain child, level with the pre-imported one


def test_a_random_layout_variant_is_compared_too():
    rows = _rounds(1.0, random.Random(8))
    for row in rows:  # the randomised child reads 7% below gilbench
        row["r_a"], row["r_b"] = row["g_a"] / 1.07, row["g_b"]
    s = check.summarize(rows)
    assert s["gilbench_over_independent, random layout"]["geomean"] == pytest.approx(1.07)
    header = check.format_table(["x"], {"x": s}).splitlines()[0]
    assert header.endswith("| gilbench / independent, random layout | within ±5%? |")
