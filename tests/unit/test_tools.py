"""The self-measurement tools' arithmetic, on small inputs whose answers are known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import assert_usage_error

from tools import layout_comparison, moderated, one_worker, scheduler_comparison, time_to_precision, variance_budget


def _manifest() -> dict:
    history = [
        {
            "round": r,
            "seconds": 60.0 * r,
            "ratios": 10,
            "within_5": 2 * r,
            "within_3": r,
            "median": 0.2 / r,
            "p90": 0.4 / r,
            "widest": 0.5 / r,
        }
        for r in range(1, 6)
    ]
    history[-1]["ahead"] = {"seconds": 600.0, "rounds": 10, "median": 0.02, "p90": 0.05}
    return {
        "run_id": "r1",
        "profile": "default",
        "layout": "blocks",
        "envs": {"a": {}},
        "measuring_seconds": 300,
        "precision": 0.03,
        "precision_history": history,
    }


def test_time_to_precision_says_when_each_level_was_reached(tmp_path):
    text = time_to_precision.table(_manifest())
    assert "90% of the headline ratios within ±5% after 300 s (round 5)" in text
    assert "all headline ratios within ±3%: not reached (5 of 10 after 300 s)" in text
    assert "another 10 min (about 10 rounds of what was open): median 2.0%, p90 5.0%" in text
    svg = tmp_path / "curve.svg"
    time_to_precision.curve_svg(_manifest(), svg)
    assert svg.read_text().lstrip().startswith("<?xml")


def test_time_to_precision_names_a_run_without_history(tmp_path, capsys):
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "run.json").write_text(json.dumps({"run_id": "x"}))
    assert time_to_precision.main([str(tmp_path)]) == 2
    assert "no precision history" in capsys.readouterr().err


def test_the_budget_splits_a_known_design_and_projects_widths():
    """Per-pass log ratios with 10% within a process and nothing else: the split finds it,
    and more values per process buy a narrower interval in the same time."""
    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.1, (40, 2, 6))
    parts = variance_budget.components(x)
    assert parts["within"] == pytest.approx(0.1, rel=0.1) and parts["between_round"] < 0.03
    one, four = (variance_budget.projected(parts, fixed=0.6, per_pass=0.2, minutes=10, values=v) for v in (1, 4))
    assert four < one
    assert variance_budget.first_pass(np.zeros((3, 2, 4))) == 0.0
    lagged = np.cumsum(rng.normal(0, 1, (5, 2, 50)), axis=2)  # a random walk: consecutive values share a lot
    assert variance_budget.lag1(lagged) > 0.5


def test_layout_comparison_finds_when_a_curve_reaches_a_width():
    points = [{"seconds": 60.0 * n, "median": 0.5 / n} for n in range(1, 10)]
    assert layout_comparison.time_to(points, 0.1) == 300.0
    assert layout_comparison.time_to(points, 0.01) is None


def test_the_budget_prices_a_layout_from_its_components_and_costs():
    """One ratio, 10% within a process and 2% between rounds at both sizes; a process costs
    0.6 s plus its passes (2 s at the full size, 0.5 s at a quarter).  Four values of a
    quarter: (0.01/4 + 0.0004) × (0.6 + 0.125 + 2.0); eight of an eighth, extrapolated from
    the quarter: (0.01/8 + 0.0004) × (0.6 + 0.0625 + 2.0)."""
    ratio = {"target": "t", "ratio": "r", "within": 0.1, "between_process": 0.0, "between_round": 0.02}
    result = {
        "ratios": [{**ratio, "size": "1.0"}, {**ratio, "size": "0.25"}],
        "cost": {"t ×1.0": {"fixed": 0.6, "per_pass": 2.0}, "t ×0.25": {"fixed": 0.6, "per_pass": 0.5}},
    }
    today = variance_budget.variance_time(result, "t", "r", 4, 0.25, jit=False)
    assert today == pytest.approx((0.01 / 4 + 0.0004) * 2.725)
    assert variance_budget.variance_time(result, "t", "r", 8, 0.125, jit=False) == pytest.approx(
        (0.01 / 8 + 0.0004) * 2.6625
    )
    assert variance_budget.variance_time(result, "t", "r", 4, 0.25, jit=True) == pytest.approx(
        (0.01 / 4 + 0.0004) * (0.6 + 2.0 + 2.0)
    )
    gains = {(g["values"], g["size"]): g for g in variance_budget.layout_gains(result, [], (4, 0.25))}
    assert gains[(4, 0.25)]["median"] == 1.0 and gains[(8, 0.125)]["median"] > 1.0 > gains[(4, 1.0)]["median"]


def test_the_budget_names_a_saved_file_it_cannot_read(tmp_path, capsys):
    assert_usage_error(variance_budget.main, ["--layouts", str(tmp_path / "none.json")], "--layouts", capsys)


def test_the_budget_names_a_pair_without_targets(capsys):
    assert_usage_error(variance_budget.main, ["--target", "a=/p", "--pair", "b=a"], "--pair names", capsys)


def _one_worker_frame() -> pd.DataFrame:
    rows = [
        # env, workload, mode, value, lo, hi, hw, n, sd, problem
        ("a", "countdown", "processes", 1.01, 0.95, 1.07, 0.06, 4, 0.05, ""),
        ("a", "fib", "processes", 0.80, 0.72, 0.87, 0.10, 4, 0.08, "one worker ran 0.80x"),
        ("b", "fib", "threads", 1.04, 0.99, 1.09, 0.05, 4, 0.04, ""),
    ]
    return pd.DataFrame(rows, columns=one_worker.COLUMNS)


def test_one_worker_counts_points_and_prices_the_band():
    """Two of three points inside [0.95, 1.05], one interval gated; the rounds quoted are
    the least with which every point lands inside with probability 0.95."""
    frame = _one_worker_frame()
    lines = one_worker.summary(frame, seconds_per_round=450.0)
    assert lines[0].startswith("2 of 3 one-worker points inside [0.95, 1.05] after 4 rounds (0.80–1.04×); 1 interval")
    need = one_worker.stats.rounds_for_points_within(one_worker.spreads(frame), (0.95, 1.05))
    assert lines[-1] == "every point inside with probability 0.95: %d rounds, about %.1f h of this run's rounds" % (
        need,
        need * 450.0 / 3600,
    )
    assert one_worker.table(frame)[2].endswith("GATED")


def test_one_worker_names_a_folder_without_results(tmp_path, capsys):
    assert one_worker.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(tmp_path) in err and len(err.strip().splitlines()) == 1


EXAMPLE_RUN = Path(__file__).resolve().parents[2] / "docs" / "results" / "20261203T065148Z-003596" / "raw"


@pytest.fixture(scope="module")
def example_ratios() -> moderated.Ratios:
    from harness import analysis, collect

    data = collect.load_runs([EXAMPLE_RUN])
    return moderated.ratios(
        data.benchmarks, analysis.analyse(data.benchmarks, data.envs, data.capacity, moderate=False)
    )


def test_moderated_reproduces_the_example_run_then_pools_it(example_ratios):
    """The figures docs/how-sure.md quotes: Student's t gives the report's own half-widths
    (±16.1% median, ±44.0% p90 over 437 headline ratios, 42 and 97 rounds for ±3%), the
    moderated interval ±11.3% and ±19.4% with d0 = 11.7, and the A/A twin's 63 ratios
    exclude 1 four times under t and three times moderated."""
    got = moderated.reanalyse(example_ratios)
    assert got["ratios"] == 437 and got["reproduced"] <= 1e-9
    assert (got["student"]["median"], got["student"]["p90"]) == pytest.approx((0.1612, 0.4402), abs=5e-4)
    assert got["student"]["needed"] == {"median": 42, "p90": 97}
    assert got["prior"]["d0"] == pytest.approx(11.7, abs=0.05) and got["prior"]["ratios"] == 500
    assert (got["moderated"]["median"], got["moderated"]["p90"]) == pytest.approx((0.113, 0.194), abs=5e-4)
    assert got["aa"]["ratios"] == 63
    assert (got["aa"]["student"]["excluding"], got["aa"]["moderated"]["excluding"]) == (4, 3)
    text = "\n".join(moderated.report("run", got))
    assert "prior: d0 = 11.71, fitted on 500 ratios" in text and "A/A (bench-py312 vs bench-py312-aa" in text


def test_moderated_simulation_covers_and_counts_the_noisiest(example_ratios):
    """Two simulated runs per setting of a quarter of the example run's ratios: every
    figure is a share, the stopped runs measured at least their least rounds."""
    pop = moderated.population(example_ratios)
    part = pop.subset(np.arange(0, len(pop.kinds), 4))
    for stop in (False, True):
        got = moderated.coverage(part, 2, "lognormal", "shared drift", 3, stop, seed=1)
        assert all(0.0 <= got[k] <= 1.0 for k in ("moderated", "moderated_noisiest", "student", "student_noisiest"))
        assert got["moderated_early"] == 0.0 or stop
    table = moderated.table([{"law": "lognormal", "noise": "shared drift", "stop": True, "rounds": 3, **got}], 2, 125)
    assert len(table) == 4 and table[-1].startswith("lognormal     shared drift  yes    3 |")
    sizes = moderated.sizes_table(moderated.prior_sizes(part.subset(np.arange(20)), 1))
    assert len(sizes) == 2 + len(moderated.SIZES)


def test_moderated_names_a_bad_folder_and_a_bad_count(tmp_path, capsys):
    assert moderated.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(tmp_path) in err and len(err.strip().splitlines()) == 1
    assert moderated.main([str(tmp_path), "--simulate", "-1"]) == 2
    assert capsys.readouterr().err.startswith("error: --simulate")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--env", "bench-py39", "--workload", "countdown", "--current", "values=x"], "--current: 'values=x'"),
        (["--env", "bench-py39", "--workload", "countdown", "--new", "values=8,speed=2"], "--new: 'values=8,speed=2'"),
        (
            ["--env", "bench-py39", "--workload", "countdown", "--new", "values=0,scale=0.1"],
            "values must be at least 1",
        ),
        (["--env", "bench-py39", "--workload", "countdown", "--minutes", "0"], "--minutes must be positive"),
        (["--env", "bench-nowhere", "--workload", "countdown"], "--env: not every env has an interpreter here"),
        (["--env", "bench-py39", "--workload", "countdown", "--profile", "smoke"], "no precision target"),
    ],
)
def test_scheduler_comparison_rejects_bad_arguments_in_one_line(argv, needle, capsys):
    assert_usage_error(scheduler_comparison.main, argv, needle, capsys)


def test_scheduler_comparison_reads_a_side_as_a_run_stopped_there_reports_it():
    """The example run after 3 rounds: Student's t gives what its progress said then (median
    ±20.7%, p90 ±54%), the moderated interval narrower on the same rounds."""
    from harness import analysis, collect

    data = collect.load_runs([EXAMPLE_RUN])
    early = analysis.first_rounds(data.benchmarks, 3)
    student = scheduler_comparison.point(early, data.envs, moderate=False)
    pooled = scheduler_comparison.point(early, data.envs, moderate=True)
    assert student["ratios"] == pooled["ratios"] == 437
    assert (student["median"], student["p90"]) == pytest.approx((0.207, 0.537), abs=0.001)
    assert pooled["median"] < student["median"] and pooled["p90"] < student["p90"]
    assert pooled["table_median"] < student["table_median"]


def test_scheduler_comparison_says_when_the_new_side_reached_the_current_final_median():
    points = {
        "current": [{"seconds": 100.0, "median": 0.2}, {"seconds": 300.0, "median": 0.1}],
        "new": [
            {"seconds": 40.0, "median": 0.15},
            {"seconds": 90.0, "median": 0.09},
            {"seconds": 150.0, "median": 0.05},
        ],
    }
    got = scheduler_comparison.summary(points)
    assert got["new_seconds_to_current_median"] == 90.0 and got["time_ratio"] == pytest.approx(0.3)
    assert got["goal_met"] and got["current"] == points["current"][-1]
    points["new"] = points["new"][:1]
    assert scheduler_comparison.summary(points)["time_ratio"] is None
