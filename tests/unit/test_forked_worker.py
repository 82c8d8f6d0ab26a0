"""benchmarks/forked_worker.py: serial / pool per method, paired by round, and its command line.

No timings and no children: synthetic rounds with a known ratio, and the one-line errors.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from conftest import assert_usage_error

# The scripts import each other from their folder, as they do when run.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import forked_worker as fw


def _rounds(gilbench: float, plain: float, rng: random.Random, count: int = 60):
    """Rounds with a drifting machine speed shared by the four processes of a round."""
    rows = []
    for _ in range(count):
        t = 0.2 * rng.lognormvariate(0.0, 0.1)
        noise = [rng.lognormvariate(0.0, 0.03) for _ in range(4)]
        rows.append({"plain_serial": t * plain * noise[0], "plain_pool": t * noise[1],
                     "gilbench_serial": t * gilbench * noise[2], "gilbench_pool": t * noise[3]})  # fmt: skip
    return rows


def test_summarize_recovers_each_method_and_their_ratio():
    s = fw.summarize(_rounds(0.94, 0.99, random.Random(1)))
    assert s["plain"]["geomean"] == pytest.approx(0.99, rel=0.02)
    assert s["gilbench"]["geomean"] == pytest.approx(0.94, rel=0.02)
    ratio = s["gilbench_over_plain"]
    assert ratio["ci95"][0] < 0.94 / 0.99 < ratio["ci95"][1] < 1.0


def test_plain_only_rounds_have_no_gilbench_entries():
    rows = [{k: v for k, v in r.items() if k.startswith("plain")} for r in _rounds(1.0, 1.0, random.Random(2))]
    assert set(fw.summarize(rows)) == {"plain"}


@pytest.mark.parametrize("argv, message", [
    (["--target", "x=/p,BROKEN"], "KEY=VALUE"),
    (["--target", "x=/p", "--repeats", "1"], "--repeats must be >= 2"),
    (["--target", "x=/p", "--n", "-1"], "--n >= 0"),
])  # fmt: skip
def test_bad_arguments_exit_in_one_line(argv, message, capsys):
    assert_usage_error(fw.main, argv, message, capsys)
