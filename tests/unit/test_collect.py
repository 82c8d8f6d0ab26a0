"""harness.collect's per-round figures, on real pyperf objects built in memory."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyperf
import pytest

from harness import analysis, collect


def _run(values: list[float], round_: int) -> pyperf.Run:
    return pyperf.Run(values, metadata={"name": "b", "round": round_}, collect_metadata=False)


def test_within_se_is_the_standard_error_of_the_log_mean():
    values = [1.0, 1.2, 0.9, 1.1]
    expect = float(np.std(np.log(values), ddof=1)) / 2.0
    assert collect.within_se(values) == pytest.approx(expect)
    assert math.isnan(collect.within_se([1.0]))


def test_per_round_keeps_each_process_s_own_spread_by_round():
    """Round 2's process recorded three values, round 0's one: only round 2 has a spread;
    every per-round column, the new one too, is cut by first_rounds."""
    bench = pyperf.Benchmark([_run([1.0, 1.2, 0.9], 2), _run([2.0], 0)])
    got = collect._per_round(bench)
    assert got["rounds"] == pytest.approx({2: 31 / 30, 0: 2.0})
    assert got[collect.WITHIN] == pytest.approx({2: collect.within_se([1.0, 1.2, 0.9])})
    assert collect.WITHIN in collect.PER_ROUND_COLUMNS
    frame = analysis.first_rounds(pd.DataFrame([got]), 1)
    assert frame.loc[0, collect.WITHIN] == {} and frame.loc[0, "rounds"] == {0: 2.0}
