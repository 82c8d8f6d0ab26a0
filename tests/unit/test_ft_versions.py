"""3.13t → 3.14t: two free-threaded builds of different minor versions, each against its
own default build, on synthetic runs whose ratios are known (``test_analysis``'s)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from test_analysis import ROUNDS, RUN, _by_hand, bench, context, env_frame, row

from harness import analysis, sections
from harness.page import Estimate
from harness.sections import ft_versions

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
    ctx = context(frame, result, LABELS)
    assert ft_versions.build(ctx) == [] and ft_versions.sentences(ctx) == []


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


def test_the_section_shows_both_builds_their_ratio_and_the_published_figures(result):
    ctx = context(two_pairs(), result, LABELS)
    (section,) = ft_versions.build(ctx)
    assert section.id == "ft-versions" and section.title == "What changed from 3.13.5t to 3.14.7t"
    table = section.tables[0]
    assert table.columns[3:] == ["3.13.5t vs 3.13.5 serial", "3.14.7t vs 3.14.7 serial", "3.14.7t / 3.13.5t (95% CI)"]
    cells = {(r.cells[0].text, r.cells[1].text, r.cells[2].text): r for r in table.rows}
    serial = cells[("countdown", "serial", "1")]
    assert [c.text for c in serial.cells[3:5]] == ["0.63×", "0.91×"] and not serial.muted
    assert isinstance(serial.cells[5], Estimate) and serial.cells[5].text.startswith("1.45× (")
    gated = cells[("spin", "threads", "2")]
    assert gated.muted and "problem" in gated.cells[5].text
    published = next(s for s in section.subsections if s.id == "ft-versions-published").tables[0]
    sources = [r.cells[4].text for r in published.rows]
    assert published.rows[0].cells[1].text == "3.13.5t vs 3.13.5, 3.14.7t vs 3.14.7"
    assert sources[0] == "gilbench, this run" and "What's New in Python 3.14" in sources and "PEP 779" in sources
    assert published.rows[0].cells[2].text == "not recorded"  # the synthetic envs recorded no build flags
    assert all(r.cells[4].detail.startswith("https://") for r in published.rows[1:])


def test_the_findings_sentence_quotes_both_builds_with_intervals_and_skips_gated_ratios(result):
    ctx = context(two_pairs(), result, LABELS)
    flagship, across = ft_versions.sentences(ctx)
    assert flagship.startswith("3.14.7t runs countdown on one thread at 0.91× (95% CI ")
    assert "where 3.13.5t ran it at 0.63× (95% CI " in flagship and ": 1.45× (95% CI " in flagship
    assert "with 2 threads it runs 1.7" in flagship and "3.13.5t 1.25× (95% CI " in flagship
    assert across.startswith("On one thread, against its own default build, 3.14.7t keeps significantly more")
    assert "of the 2 workloads both measured" in across
    assert "spin" not in flagship and "problem" not in flagship + across
    assert flagship in sections.sentences(ctx)


def test_pyperformance_and_memory_per_object_side_by_side():
    frame = two_pairs()
    held = {"bench-py313": 96.0, "bench-py313t": 117.0, "bench-py314": 96.0, "bench-py314t": 104.0}
    for env, size in held.items():
        r = bench(env, "hold_lists", "serial", 1, 1.0, tags=("alloc", "memory"))
        r["bytes_per_object"] = {i: size for i in range(ROUNDS)}
        frame = pd.concat([frame, pd.DataFrame([r])], ignore_index=True)
    result = analysis.analyse(frame, env_frame())
    geo = pd.DataFrame(
        [
            {
                "kind": "free-threading",
                "run_id": RUN,
                "env": env,
                "time": t,
                "time_lo": t - 0.1,
                "time_hi": t + 0.1,
                "memory": m,
                "memory_lo": m - 0.01,
                "memory_hi": m + 0.01,
                "time_verdict": analysis.verdict(t - 0.1, t + 0.1, analysis.PEP779_TIME_BAR),
                "memory_verdict": analysis.verdict(m - 0.01, m + 0.01, analysis.PEP779_MEMORY_BAR),
            }
            for env, t, m in (("bench-py313t", 1.61, 1.15), ("bench-py314t", 1.07, math.nan))
        ]
    )
    ctx = context(frame, dataclasses.replace(result, geomeans=geo), LABELS)
    (section,) = ft_versions.build(ctx)
    side = next(s for s in section.subsections if s.id == "ft-versions-pyperformance").tables[0]
    assert side.columns == ["", "3.13.5t", "3.14.7t"]
    texts = [[c.text for c in r.cells] for r in side.rows]
    assert texts[0] == ["pyperformance time, geometric mean", "1.61× (1.51–1.71)", "1.07× (0.97–1.17) not significant"]
    assert texts[1][1].startswith("above PEP 779's bar") and texts[1][2].startswith("undecided")
    assert texts[2][2] == "not measured" and texts[3][2] == ""
    assert texts[4][0] == "hold_lists: bytes per object, free-threaded / default"
    assert texts[4][1].startswith("117 B vs 96 B: 1.22× (") and texts[4][2].startswith("104 B vs 96 B: 1.08× (")


def test_a_pair_that_is_not_matched_says_so():
    envs = env_frame()
    envs.loc[envs["env"] == "bench-py314", "pair_id"] = "another-build"
    frame = two_pairs()
    result = analysis.analyse(frame, envs)
    assert not result.versions["matched"].any()
    ctx = context(frame, result, LABELS)
    (section,) = ft_versions.build(ctx)
    assert (
        section.paragraphs[1]
        .parts[0]
        .text.startswith("3.13.5t or 3.14.7t is compared with a default build that is not its matched build")
    )
    assert ft_versions.sentences(ctx)[0].endswith("(not matched builds: versions or flags differ).")
