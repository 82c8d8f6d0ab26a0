"""One benchmark process (``workloads._runner``): the alternation, failures, the pyperf file."""

from __future__ import annotations

import json
import subprocess
import sys

import pyperf
import pytest

from workloads import _runner, modes
from workloads._registry import Bench, load_all
from workloads._schema import ERRORS_SUFFIX


@pytest.fixture
def recorded(monkeypatch):
    """``time_bench`` replaced by a recorder: each call appends the benchmark's mode and
    takes 0.1 s; a ``threads`` call with ``fail`` set raises."""
    calls: list[str] = []
    state = {"fail": False}

    def fake(bench, loops, round_=0, pair_serial=False):
        calls.append(bench.mode)
        if state["fail"] and bench.mode == "threads":
            raise RuntimeError("threads broke")
        return 0.1

    monkeypatch.setattr(_runner, "time_bench", fake)
    monkeypatch.setattr(_runner, "WARM_CPU_SECONDS", 0.0)
    return calls, state


def _block() -> list[Bench]:
    countdown = load_all()["countdown"]
    return [Bench(countdown, "serial", 1, 1000), Bench(countdown, "threads", 2, 1000)]


def test_passes_alternate_their_order_and_the_round_flips_the_first(recorded):
    calls, _ = recorded
    timed = _runner.run_block(_block(), values=2, warmups=1, round_=0)
    assert calls == ["serial", "threads", "threads", "serial", "serial", "threads"]
    assert [len(t.warmups) for t in timed] == [1, 1] and [len(t.values) for t in timed] == [2, 2]
    calls.clear()
    _runner.run_block(_block(), values=1, warmups=0, round_=1)
    assert calls == ["threads", "serial"]


def test_a_benchmark_that_raises_leaves_the_block_and_the_others_go_on(recorded, tmp_path):
    calls, state = recorded
    state["fail"] = True
    timed = _runner.run_block(_block(), values=3, warmups=0, round_=0)
    assert calls.count("threads") == 1 and calls.count("serial") == 3
    assert timed[1].error == "RuntimeError: threads broke"
    part = tmp_path / "part.json"
    _runner.write_results(str(part), timed, {t.bench.name: {"name": t.bench.name, "unit": "second"} for t in timed})
    assert json.loads((tmp_path / ("part.json" + ERRORS_SUFFIX)).read_text()) == {
        "countdown[threads,w=2]": "RuntimeError: threads broke"
    }
    suite = pyperf.BenchmarkSuite.load(str(part))
    assert suite.get_benchmark_names() == ["countdown[serial]"]
    assert suite.get_benchmark("countdown[serial]").get_values() == (0.1, 0.1, 0.1)


def test_pools_start_before_subinterpreters_and_the_most_workers_first():
    countdown = load_all()["countdown"]
    block = [
        Bench(countdown, m, k, 10)
        for m, k in (("serial", 1), ("interpreters", 1), ("interpreters", 2), ("processes", 1), ("processes", 2))
    ]
    order = [(b.mode, b.workers) for b in modes.preparation_order(block)]
    assert order.index(("processes", 1)) < order.index(("interpreters", 2))
    assert order.index(("interpreters", 2)) < order.index(("interpreters", 1))


def test_a_real_block_process_writes_a_pyperf_file_every_reader_takes(tmp_path):
    """The process bench-all starts, end to end: one file, one benchmark per mode, with
    the block recorded, readable by pyperf's own command line."""
    part = tmp_path / "part.json"
    cmd = [
        sys.executable,
        "-m",
        "workloads._runner",
        "--output",
        str(part),
        "--module",
        "workloads.cpu",
        "--workload",
        "countdown",
        "--size",
        "20000",
        "--values",
        "2",
        "--warmups",
        "1",
        "--bench",
        "serial",
        "--bench",
        "threads:2",
        "--bench",
        "processes:1",
        "--bench-profile",
        "smoke",
        "--run-id",
        "r",
        "--env",
        "e",
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    suite = pyperf.BenchmarkSuite.load(str(part))
    assert set(suite.get_benchmark_names()) == {
        "countdown[serial]",
        "countdown[threads,w=2]",
        "countdown[processes,w=1]",
    }
    for bench in suite.get_benchmarks():
        run = bench.get_runs()[0]
        assert len(run.values) == 2 and len(run.warmups) == 1
        assert run.get_metadata()["block"] == "serial:1 threads:2 processes:1"
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(part)], capture_output=True, text=True)
    assert stats.returncode == 0 and "countdown[threads,w=2]" in stats.stdout
