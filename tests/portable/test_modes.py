"""Each concurrency mode really runs the work it claims, outside-the-clock setup included."""

from __future__ import annotations

import threading

from workloads._registry import Bench, load_all
from workloads.modes import mode_unavailable, run_threads, time_bench


def test_threads_run_every_chunk_in_its_own_thread():
    seen = []
    lock = threading.Lock()

    def work(n):
        with lock:
            seen.append((threading.get_ident(), n))

    elapsed = run_threads(work, [3, 4, 5], None)
    assert elapsed >= 0
    assert sorted(n for _, n in seen) == [3, 4, 5]
    assert len({ident for ident, _ in seen}) == 3


def test_thread_errors_reach_the_caller():
    def boom(n):
        raise ValueError("boom %d" % n)

    try:
        run_threads(boom, [1, 1], None)
    except ValueError as exc:
        assert "boom" in str(exc)
    else:
        raise AssertionError("the worker's exception was swallowed")


def test_every_mode_times_countdown_or_says_why_not():
    wl = load_all()["countdown"]
    for mode in wl.modes:
        bench = Bench(wl, mode, 1 if mode == "serial" else 2, 20_000)
        reason = mode_unavailable(mode)
        if reason:
            assert "3.14" in reason
            continue
        assert time_bench(bench, 1) > 0
