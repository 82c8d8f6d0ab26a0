"""One benchmark process (``workloads._runner``): the alternation, failures, the pyperf file."""

from __future__ import annotations

import dis
import gc
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pyperf
import pytest

from workloads import _runner, modes
from workloads._machine import can_pin, pin_order, pinned_cpus, this_machine
from workloads._registry import Bench, Workload, load_all
from workloads._schema import ERRORS_SUFFIX, from_pyperf


@pytest.fixture
def recorded(monkeypatch):
    """``time_bench`` replaced by a recorder: each timed call appends the benchmark's mode
    (priming calls go to ``state["primed"]`` as (mode, loops, size)) and takes 0.1 s; a
    ``threads`` call with ``fail`` set raises."""
    calls: list[str] = []
    state = {"fail": False, "primed": []}

    def fake(bench, loops, round_=0, pair_serial=False):
        if loops == _runner.PRIME_CALLS:
            state["primed"].append((bench.mode, loops, bench.size, len(calls)))
        else:
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


def test_every_benchmark_is_primed_before_its_first_pass(recorded):
    """Each benchmark calls its workload PRIME_CALLS times on 1/256 of a value's work
    (at least one unit per worker) before any warm-up or value: past CPython 3.11's
    8-call threshold in every thread and pool worker alike."""
    _, state = recorded
    _runner.run_block(_block(), values=1, warmups=1, round_=0)
    assert [p[:3] for p in state["primed"]] == [("serial", 8, 3), ("threads", 8, 3)]
    assert all(before == 0 for *_, before in state["primed"])
    assert _runner.PRIME_CALLS >= 8
    tiny = [Bench(load_all()["countdown"], "threads", 2, 10)]
    state["primed"].clear()
    _runner.run_block(tiny, values=1, warmups=0, round_=0)
    assert state["primed"][0][2] == 2  # one unit per worker, never a zero chunk


def _count_down(n: int) -> None:
    """countdown's loop, in a function no other test calls: it starts unspecialised."""
    while n > 0:
        n -= 1


# ``dis`` shows one copy of a function's bytecode.  3.13's free-threaded build does not
# specialise; 3.14's specialises a copy per thread (thread-local bytecode), which dis does
# not show for the worker threads that priming runs in.
SPECIALISES_VISIBLY = (
    sys.implementation.name == "cpython"
    and sys.version_info >= (3, 11)
    and not sysconfig.get_config_var("Py_GIL_DISABLED")
)


@pytest.mark.skipif(not SPECIALISES_VISIBLY, reason="needs a default build of CPython 3.11+ (see SPECIALISES_VISIBLY)")
def test_priming_leaves_the_workload_specialised_before_anything_is_timed():
    """On 3.11 a function is specialised from its 8th call: after priming, the loop's
    compare and subtract are the specialised instructions (3.12+ specialise sooner)."""
    wl = Workload(name="count_down", func=_count_down, size=4096, modes=("serial",), module=__name__, doc="")
    _runner._prime(Bench(wl, "serial", 1, 4096), pair_serial=False)
    plain = [i.opname for i in dis.get_instructions(_count_down)]
    adaptive = [i.opname for i in dis.get_instructions(_count_down, adaptive=True)]
    assert adaptive != plain


def _calls_file(pid: int) -> str:
    return os.path.join(os.environ.get("TMPDIR", "/tmp"), "gilbench-prime-%d.txt" % pid)


def _note_call(n: int) -> None:
    """A workload that writes down each call into a file named after the process making it."""
    with open(_calls_file(os.getpid()), "a") as out:
        out.write("%d\n" % n)


def test_priming_calls_the_workload_in_every_pool_worker():
    """A real pool of two: priming reaches each worker process PRIME_CALLS times, so a
    worker that runs one chunk per pass is past 3.11's threshold like its parent.  The
    workers are the pool's own (forked on Linux before 3.14, started by the forkserver
    from 3.14), found by their pids."""
    wl = Workload(name="note_call", func=_note_call, size=512, modes=("processes",), module=__name__, doc="")
    bench = Bench(wl, "processes", 2, 512)
    modes.prepare(bench)
    workers = [process.pid for process in modes._POOLS[2]._pool]
    files = [_calls_file(pid) for pid in [os.getpid(), *workers]]
    for path in files:  # a pool kept from an earlier test may have been primed before
        if os.path.exists(path):
            os.remove(path)
    try:
        _runner._prime(bench, pair_serial=False)
        calls = [len(Path(path).read_text().splitlines()) if os.path.exists(path) else 0 for path in files]
    finally:
        for path in files:
            if os.path.exists(path):
                os.remove(path)
    assert calls == [0, _runner.PRIME_CALLS, _runner.PRIME_CALLS]


def test_a_benchmark_that_raises_leaves_the_block_and_the_others_go_on(recorded, tmp_path):
    calls, state = recorded
    state["fail"] = True
    timed = _runner.run_block(_block(), values=3, warmups=0, round_=0)
    assert calls == ["serial"] * 3  # threads failed while it was primed
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


def _block_command(part, *extra: str) -> list:
    """The command line of a real block process: countdown serial, 2 threads, 1 pool worker."""
    return [
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
        *extra,
    ]


def test_a_real_block_process_writes_a_pyperf_file_every_reader_takes(tmp_path):
    """The process bench-all starts, end to end: one file, one benchmark per mode, with
    the block recorded, readable by pyperf's own command line."""
    part = tmp_path / "part.json"
    subprocess.run(_block_command(part), check=True, capture_output=True, timeout=120)
    suite = pyperf.BenchmarkSuite.load(str(part))
    assert set(suite.get_benchmark_names()) == {
        "countdown[serial]",
        "countdown[threads,w=2]",
        "countdown[processes,w=1]",
    }
    for bench in suite.get_benchmarks():
        run = bench.get_runs()[0]
        assert len(run.values) == 2 and len(run.warmups) == 1
        meta = run.get_metadata()
        assert meta["block"] == "serial:1 threads:2 processes:1" and meta["suites"] == "cpu"
        # the reasons' counters: collections inside the threads' timed region where the
        # interpreter has gc.callbacks (not PyPy), none for a pool; RSS growth on Linux
        assert ("gc_collections" in meta and "gc_pause" in meta) == (
            hasattr(gc, "callbacks") and meta["mode"] != "processes"
        )
        assert ("rss_growth" in meta) == os.path.exists("/proc/self/status")
        assert from_pyperf(meta)["machine"] == this_machine()
        assert "pinned_cpus" not in meta
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(part)], capture_output=True, text=True)
    assert stats.returncode == 0 and "countdown[threads,w=2]" in stats.stdout


@pytest.mark.skipif(not can_pin(), reason="this OS lets no thread choose its CPU")
def test_pinned_workers_are_recorded_in_worker_order(tmp_path):
    part = tmp_path / "part.json"
    subprocess.run(_block_command(part, "--pin-workers"), check=True, capture_output=True, timeout=120)
    order = pin_order()
    pinned = {b.get_name(): from_pyperf(b.get_metadata())["pinned_cpus"] for b in pyperf.BenchmarkSuite.load(str(part))}
    assert pinned == {
        "countdown[serial]": order[:1],
        "countdown[threads,w=2]": pinned_cpus(order, 2),
        "countdown[processes,w=1]": order[:1],
    }
