"""benchmarks/independent_countdown.py: its pure functions only (no timings, no children).

The script is not in a package, so it is imported from its folder; importing it must have no
side effects.  Runs without the repository conftest (``pytest --noconftest``).
"""

from __future__ import annotations

import importlib
import math
import random
import sys
from pathlib import Path

import pytest

# The scripts import each other from their folder, as they do when run.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import independent_countdown as ind


def binom_tail(n: int, k: int) -> float:
    """P(B <= k), B ~ Binomial(n, 1/2), by brute force."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


@pytest.mark.parametrize("n", range(1, 6))
def test_median_ranks_none_below_six(n):
    assert ind.median_ranks(n) is None


@pytest.mark.parametrize(("n", "ranks"), [(6, (1, 6)), (9, (2, 8)), (10, (2, 9)), (20, (6, 15)), (21, (6, 16))])
def test_median_ranks_known_values(n, ranks):
    # Standard table values for a 95% distribution-free interval for the median.
    assert ind.median_ranks(n) == ranks


@pytest.mark.parametrize("n", range(6, 80))
def test_median_ranks_cover_and_are_tightest(n):
    lo, hi = ind.median_ranks(n)
    assert hi == n + 1 - lo
    assert 1 - 2 * binom_tail(n, lo - 1) >= 0.95  # coverage reached
    assert 1 - 2 * binom_tail(n, lo) < 0.95  # one rank tighter would not reach it


def test_median_ranks_other_confidence():
    assert ind.median_ranks(10, 0.90) == (2, 9)  # (3, 8) covers only 0.891
    assert ind.median_ranks(10, 0.80) == (3, 8)
    assert ind.median_ranks(0) is None
    assert ind.median_ranks(10, 1.0) is None


def test_median():
    assert ind.median([3.0, 1.0, 2.0]) == 2.0
    assert ind.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    with pytest.raises(ValueError):
        ind.median([])


def test_median_interval_on_synthetic_data():
    values = [float(v) for v in range(1, 22)]  # 1..21
    random.Random(1).shuffle(values)
    med, lo, hi = ind.median_interval(values)
    assert (med, lo, hi) == (11.0, 6.0, 16.0)


def test_median_interval_too_few():
    med, lo, hi = ind.median_interval([1.0, 2.0, 3.0])
    assert med == 2.0
    assert math.isnan(lo) and math.isnan(hi)


def _coverage(interval, sigma: float, n: int, seed: int, trials: int = 2000) -> float:
    """Share of seeded lognormal(0, sigma) samples of size n whose interval holds 1.0.

    1.0 is both the true median and the true geometric mean of that distribution.
    """
    rng = random.Random(seed)
    hits = 0
    for _ in range(trials):
        _, lo, hi = interval([rng.lognormvariate(0.0, sigma) for _ in range(n)])
        hits += lo <= 1.0 <= hi
    return hits / trials


def test_median_interval_covers_about_95_percent():
    assert 0.94 <= _coverage(ind.median_interval, 0.3, 21, 12345) <= 0.99  # exact coverage for n=21 is 0.9734


def test_geomean_interval():
    g, lo, hi = ind.geomean_interval([1.0, 4.0])
    assert g == pytest.approx(2.0) and lo < 2.0 < hi
    assert ind.geomean_interval([2.0, 2.0, 2.0]) == pytest.approx((2.0, 2.0, 2.0))
    assert math.isnan(ind.geomean_interval([3.0])[1])
    with pytest.raises(ValueError):
        ind.geomean_interval([1.0, 0.0])


@pytest.mark.parametrize("df, exact", [(10, 2.228139), (30, 2.042272), (100, 1.983972)])
def test_t_quantile_matches_tables(df, exact):
    assert ind.t_quantile(0.975, df) == pytest.approx(exact, rel=1e-3)


def test_geomean_interval_covers_about_95_percent():
    assert 0.93 <= _coverage(ind.geomean_interval, 0.2, 30, 54321) <= 0.97


def test_summarize():
    pairs = [(0.2, 0.1)] * 3 + [(0.2, 0.2)] * 4
    s = ind.summarize(1000, pairs)
    assert s["n"] == 1000 and s["pairs"] == 7
    assert s["median_a_ms"] == pytest.approx(200.0)
    assert s["median_ratio"] == pytest.approx(1.0)
    assert s["ratio_ci95"] == [pytest.approx(1.0), pytest.approx(2.0)]
    assert s["geomean_ratio"] == pytest.approx(2 ** (3 / 7))
    assert s["geomean_ci95"][0] < s["geomean_ratio"] < s["geomean_ci95"][1]
    assert ind.summarize(1, [(1.0, 1.0)])["ratio_ci95"] is None


def test_schedule():
    assert ind.schedule(21, 3) == [3] * 7
    assert ind.schedule(20, 3) == [3] * 6 + [2]
    assert ind.schedule(2, 5) == [2]
    with pytest.raises(ValueError):
        ind.schedule(0, 3)


def test_parse_target_full():
    t = ind.parse_target("3.13t-gil=/opt/py/bin/python3.13t,PYTHON_GIL=1,FOO=a b")
    assert (t.label, t.python, t.env) == ("3.13t-gil", "/opt/py/bin/python3.13t", {"PYTHON_GIL": "1", "FOO": "a b"})


def test_parse_target_derived_label():
    assert ind.parse_target("/usr/bin/pypy3").label == "pypy3"
    t = ind.parse_target("/opt/py/bin/python3.13t,PYTHON_GIL=1")
    assert (t.label, t.python, t.env) == ("python3.13t+PYTHON_GIL=1", "/opt/py/bin/python3.13t", {"PYTHON_GIL": "1"})


def test_parse_target_value_may_contain_equals():
    assert ind.parse_target("x=/p,OPTS=-X dev=1").env == {"OPTS": "-X dev=1"}


@pytest.mark.parametrize("spec", ["", "lbl=", "=/usr/bin/python3", "/usr/bin/python3,NOVALUE", "/p,=1"])
def test_parse_target_rejects(spec):
    with pytest.raises(ValueError):
        ind.parse_target(spec)


def test_parse_targets_rejects_duplicate_labels():
    with pytest.raises(ValueError, match="twice"):
        ind.parse_targets(["/a/python3", "/b/python3"])
    assert [t.label for t in ind.parse_targets(["a=/a/python3", "b=/b/python3"])] == ["a", "b"]


def test_cli_collects_targets_and_python():
    args = ind.build_parser().parse_args(["--target", "a=/x,PYTHON_GIL=1", "--python", "/y", "--repeats", "9"])
    assert args.target == ["a=/x,PYTHON_GIL=1"] and args.python == ["/y"]
    assert (args.repeats, args.pairs_per_child, args.warmups, args.seed) == (9, 3, 2, 0)


def test_cli_bad_target_exits(capsys):
    with pytest.raises(SystemExit) as exc:
        ind.main(["--target", "/x,BROKEN"])
    assert exc.value.code == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_import_has_no_side_effects(capsys):
    importlib.reload(ind)  # importing again neither runs a child nor prints
    assert capsys.readouterr() == ("", "")
    assert callable(ind.main) and "while n > 0" in ind.CHILD
