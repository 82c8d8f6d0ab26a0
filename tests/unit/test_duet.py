"""tools/duet.py: its arguments, the turns' schedule, the summary of synthetic turns, and one
real session of the host's interpreter against itself, its duet processes pinned."""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import sys

import pytest
from helpers import assert_usage_error

from harness import stats
from tools import duet


def test_pairs_parse_and_a_malformed_one_is_named():
    assert duet.parse_pairs("x/y,a/a") == [duet.Pair("x", "y"), duet.Pair("a", "a")]
    assert duet.Pair("a", "a").aa and not duet.Pair("x", "y").aa
    for bad in ("x", "x/", "/y", "x/y/z"):
        with pytest.raises(ValueError, match="--pairs: %r" % bad):
            duet.parse_pairs(bad)


def test_the_schedule_swaps_methods_and_cpus_every_turn_and_the_first_side_every_other():
    turns = [duet.schedule(i, (3, 5)) for i in range(8)]
    assert [t.methods[0] for t in turns] == ["sequential", "duet"] * 4
    assert [t.cpus for t in turns] == [(3, 5), (5, 3)] * 4
    assert [t.first for t in turns] == ["a", "a", "b", "b"] * 2
    assert {(t.first, t.cpus[0]) for t in turns[:4]} == {("a", 3), ("a", 5), ("b", 3), ("b", 5)}
    assert turns[2].order == ("b", "a") and turns[0].order == ("a", "b")


def _side(per_unit: float, cpu=None) -> dict:
    return {"per_unit": per_unit, "values": [per_unit], "size": 1, "cpu": cpu, "cpus_allowed": "", "start": 0.0}


def _records(pair: str, method: str, ratios, seconds: float, cpus=(0, 1), slow_cpu=1.0) -> list[dict]:
    """Turns whose ratio A/B is ``ratios[t]``; in a duet A sits on ``cpus[t % 2]``, and the
    side on ``cpus[0]`` takes ``slow_cpu`` times as long."""
    out = []
    for t, r in enumerate(ratios):
        a_cpu, b_cpu = (cpus if t % 2 == 0 else cpus[::-1]) if method == "duet" else (None, None)
        a, b = r, 1.0
        if method == "duet":
            a *= slow_cpu if a_cpu == cpus[0] else 1.0
            b *= slow_cpu if b_cpu == cpus[0] else 1.0
        sides = {"a": dict(_side(a, a_cpu), end=1.0), "b": dict(_side(b, b_cpu), end=0.8)}
        out.append({"pair": pair, "workload": "w", "turn": t, "method": method, "seconds": seconds, "sides": sides})
    return out


def test_the_summary_is_t_on_per_turn_log_ratios_with_its_cost_and_the_gain():
    rng = random.Random(1)
    seq = [1.3 * math.exp(rng.gauss(0, 0.08)) for _ in range(10)]
    pairs = [1.25 * math.exp(rng.gauss(0, 0.02)) for _ in range(10)]
    records = _records("x/y", "sequential", seq, 3.0) + _records("x/y", "duet", pairs, 1.5)
    (entry,) = duet.summarize(records, (0, 1))
    for method, ratios, seconds in (("sequential", seq, 30.0), ("duet", pairs, 15.0)):
        got = entry[method]
        expected = stats.paired_ratio(dict(enumerate(ratios)), {t: 1.0 for t in range(10)})
        assert got["ratio"] == pytest.approx(expected.value)
        assert got["ci95"] == pytest.approx([expected.lo, expected.hi])
        assert got["hw"] == pytest.approx(expected.half_width)
        assert got["log_sd"] == pytest.approx(statistics.stdev(math.log(r) for r in ratios))
        assert got["seconds"] == seconds and got["turns"] == 10
        assert got["hw_per_minute"] == pytest.approx(expected.half_width * math.sqrt(seconds / 60))
    assert entry["duet"]["overlap"] == pytest.approx(0.8)  # both sides start at 0; B ends at 0.8 of A's 1.0
    gain = entry["sequential"]["hw_per_minute"] ** 2 / entry["duet"]["hw_per_minute"] ** 2
    assert entry["gain"] == pytest.approx(gain) and entry["gain"] > 1
    between = stats.paired_ratio(dict(enumerate(pairs)), dict(enumerate(seq)))
    assert entry["duet_over_sequential"]["ratio"] == pytest.approx(between.value)
    assert not entry["aa"] and "cpu" not in entry
    assert "| 80%% | %.2f× |" % entry["gain"] in duet.format_tables([entry])


def test_an_aa_pair_reports_its_bias_and_the_cpus_effect():
    rng = random.Random(2)
    noise = [math.exp(rng.gauss(0, 0.01)) for _ in range(8)]
    records = _records("x/x", "duet", noise, 1.0, cpus=(2, 3), slow_cpu=1.1) + _records("x/x", "sequential", noise, 2.0)
    (entry,) = duet.summarize(records, (2, 3))
    assert entry["aa"]
    lo, hi = entry["duet"]["ci95"]
    assert lo < 1 < hi  # the 10% slower CPU is A's half the turns and B's the other half
    assert entry["cpu"]["cpus"] == [2, 3] and entry["cpu"]["ratio"] == pytest.approx(1.1, rel=0.02)
    table = duet.format_tables([entry])
    assert "| x/x | w | duet |" in table and "2/3: 1.1" in table and "| yes |" in table


def test_a_method_with_one_turn_has_no_interval_and_says_so():
    records = _records("x/y", "sequential", [1.2], 2.0) + _records("x/y", "duet", [1.2], 1.0)
    (entry,) = duet.summarize(records, (0, 1))
    assert entry["duet"]["ci95"] is None and entry["gain"] is None and entry["duet"]["hw_per_minute"] is None
    assert "1.200×" in duet.format_tables([entry])


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--aa", "x"], "give --env or --target"),
        (["--target", "x=python"], "give --pairs or --aa"),
        (["--target", "x=python", "--pairs", "x/z"], "no --env or --target named z"),
        (["--target", "x=python", "--pairs", "x"], "--pairs: 'x' is not A/B"),
        (["--target", "x=python", "--target", "x=python", "--aa", "x"], "a label given twice"),
        (["--target", "x", "--aa", "x"], "expected LABEL=PYTHON"),
        (["--target", "x/y=python", "--aa", "x/y"], "a label holds '/'"),
        (["--target", "x=python", "--aa", "x", "--turns", "0"], "--turns: an even number"),
        (["--target", "x=python", "--aa", "x", "--turns", "3"], "--turns: an even number"),
        (["--target", "x=python", "--aa", "x", "--minutes", "0"], "--minutes: must be positive"),
        (["--target", "x=python", "--aa", "x", "--workload", ","], "--workload: give at least one"),
        (["--target", "x=python", "--aa", "x", "--workers", "a"], "--workers: expected comma-separated integers"),
        (["--target", "x=python", "--aa", "x", "--profile", "nope"], "profile"),
        (["--target", "x=python", "--aa", "x", "--cpus", "0,0"], "--cpus: expected two different CPUs"),
        (["--target", "x=python", "--aa", "x", "--cpus", "0,x"], "--cpus: expected two CPU numbers"),
        (["--target", "x=python", "--aa", "x", "--json", "/nonexistent/d.json"], "--json /nonexistent/d.json"),
    ],
)
def test_bad_arguments_exit_in_one_line(argv, message, capsys):
    assert_usage_error(duet.main, argv, message, capsys)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="a duet needs two CPUs")
def test_a_real_session_runs_both_methods_and_pins_each_duet_process(tmp_path, gilbench_home, monkeypatch, capsys):
    monkeypatch.setenv("GILBENCH_HOME", str(gilbench_home))
    out = tmp_path / "duet.json"
    argv = ["--target", "host=%s" % sys.executable, "--aa", "host", "--workload", "countdown"]
    argv += ["--profile", "smoke", "--workers", "1", "--turns", "2", "--json", str(out)]
    assert duet.main(argv) == 0
    document = json.loads(out.read_text())
    cpus = tuple(document["cpus"])
    free = duet.allowed_cpus(os.getpid())
    turns = document["turns"]
    assert sorted((r["turn"], r["method"]) for r in turns) == [(t, m) for t in (0, 1) for m in ("duet", "sequential")]
    for record in turns:
        sides = record["sides"]
        assert all(s["per_unit"] > 0 and len(s["values"]) == 2 for s in sides.values())
        if record["method"] == "duet":
            want = duet.schedule(record["turn"], cpus).cpus
            assert (sides["a"]["cpus_allowed"], sides["b"]["cpus_allowed"]) == tuple(map(str, want))
            assert max(s["start"] for s in sides.values()) < min(s["end"] for s in sides.values())  # they overlapped
        else:
            assert sides["a"]["cpus_allowed"] == sides["b"]["cpus_allowed"] == free
    (entry,) = document["summary"]
    assert entry["pair"] == "host/host" and entry["aa"] and entry["duet"]["turns"] == 2 and entry["cpu"]["turns"] == 2
    assert "| host/host | countdown | duet | 2 |" in capsys.readouterr().out
