"""Each concurrency mode really runs the work it claims, outside-the-clock setup included."""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time

import pytest

from workloads import modes
from workloads._registry import Bench, Workload, load_all
from workloads.modes import mode_unavailable, run_threads, time_bench


def test_threads_run_every_chunk_in_its_own_thread_and_the_makespan_covers_them():
    seen = []
    lock = threading.Lock()

    def work(n):
        with lock:
            seen.append((threading.get_ident(), n, time.perf_counter()))

    before = time.perf_counter()
    makespan = run_threads(work, [3, 4, 5], None)
    after = time.perf_counter()
    assert sorted(n for _, n, _ in seen) == [3, 4, 5]
    assert len({ident for ident, _, _ in seen}) == 3
    assert 0 < makespan <= after - before  # from the first start to the last end, inside the call


def test_thread_errors_reach_the_caller():
    def boom(n):
        raise ValueError("boom %d" % n)

    try:
        run_threads(boom, [1, 1], None)
    except ValueError as exc:
        assert "boom" in str(exc)
    else:
        raise AssertionError("the worker's exception was swallowed")


def _frames() -> int:
    frame, count = sys._getframe(), 0
    while frame is not None:
        frame, count = frame.f_back, count + 1
    return count


def test_at_depth_calls_once_under_two_more_frames_per_level():
    seen = []
    for depth in (0, 1, 5):
        modes._at_depth(depth, lambda: seen.append(_frames()))
    assert seen[1] - seen[0] == 2 and seen[2] - seen[0] == 10


def test_each_timed_thread_runs_in_a_random_layout():
    """The layout (call depth, held objects) is drawn anew for every thread and call, from
    the OS-seeded generator, within its bounds; the chunk still runs once per thread."""
    depths = []
    for _ in range(40):
        modes._stamps(lambda n: depths.append(_frames()), [1, 1], None)
    assert len(depths) == 80
    assert 2 * modes.LAYOUT_MAX_DEPTH - 2 >= max(depths) - min(depths) >= 2
    depth, sizes = modes._layout()
    assert 0 <= depth < modes.LAYOUT_MAX_DEPTH and len(sizes) < modes.LAYOUT_MAX_OBJECTS
    assert all(0 <= size < modes.LAYOUT_MAX_BYTES for size in sizes)


def test_a_pool_task_runs_its_chunk_in_a_fresh_thread_like_serial(monkeypatch):
    """In a pool worker the chunk runs in a new thread, not the worker's main thread, and
    the task returns that thread's own stamps (run here in-process, with a one-party barrier)."""
    seen = []

    def work(n):
        seen.append((n, threading.current_thread() is threading.main_thread()))

    monkeypatch.setattr(modes, "_START", threading.Barrier(1))
    start, end = modes._pool_task((work, 7))
    assert seen == [(7, False)] and 0 < start <= end


def _subinterpreters_expected() -> bool:
    """CPython 3.14+ has them in its standard library, 3.13 where the PEP 734 backport is
    installed (3.12 also needs interpreters-3-12, which has no wheel)."""
    if sys.implementation.name != "cpython" or sys.version_info < (3, 13):
        return False
    return sys.version_info >= (3, 14) or importlib.util.find_spec("interpreters_backport") is not None


def test_every_mode_times_countdown_or_says_why_not():
    wl = load_all()["countdown"]
    for mode in wl.modes:
        bench = Bench(wl, mode, 1 if mode == "serial" else 2, 20_000)
        reason = mode_unavailable(mode)
        if reason:
            assert mode == "interpreters" and "interpreters" in reason
            assert not _subinterpreters_expected(), reason
            continue
        assert time_bench(bench, 1) > 0


def test_subinterpreters_come_from_the_standard_library_from_314():
    """3.14 and 3.14t (free-threaded too) run the interpreters mode on ``concurrent.interpreters``."""
    if sys.implementation.name != "cpython" or sys.version_info < (3, 14):
        pytest.skip("the standard library has subinterpreters from CPython 3.14")
    from workloads import _subinterpreters

    assert mode_unavailable("interpreters") is None
    executor, create_queue = _subinterpreters._implementation()
    assert executor.__module__.startswith("concurrent.futures.") and create_queue.__module__.startswith(
        "concurrent.interpreters"
    )


def test_interpreters_reuse_one_warm_pool_or_say_why_not():
    """Two values share the executor and its interpreters; where there are none, one reason names what is missing."""
    reason = mode_unavailable("interpreters")
    if reason:
        assert "subinterpreters" in reason
        pytest.skip(reason)
    from workloads import _subinterpreters

    bench = Bench(load_all()["countdown"], "interpreters", 2, 20_000)
    assert time_bench(bench, 1) > 0
    executor = _subinterpreters._EXECUTORS[2]
    assert time_bench(bench, 2) > 0
    assert _subinterpreters._EXECUTORS[2] is executor


def _raises(n):
    raise ValueError("boom %d" % n)


def test_interpreter_errors_reach_the_caller():
    """A task's exception, and a function no subinterpreter can find, are raised here instead of hanging."""
    reason = mode_unavailable("interpreters")
    if reason:
        pytest.skip(reason)

    def nested(n):  # not importable by qualified name, so no worker can unpickle it
        return n

    for func, error in ((_raises, ValueError), (nested, AttributeError)):
        wl = Workload(func.__name__, func, 4, ("interpreters",), func.__module__, "")
        try:
            time_bench(Bench(wl, "interpreters", 2, 4), 1)
        except error:
            pass
        else:
            raise AssertionError("%s: the worker's exception was swallowed" % func.__name__)


def test_one_pool_worker_is_timed_beside_serial_in_its_own_process_in_alternating_order(monkeypatch):
    """With ``pair_serial`` (the ``processes`` layout), each call of a one-worker ``processes``
    benchmark also times the chunk in a fresh thread of this process; which side goes first
    alternates call by call and round by round."""
    order = []

    def fake_stamps(func, chunks, shared):
        order.append("serial")
        return [0.0], [0.25], [0.25]

    def fake_pool(bench, loops):
        order.append("pool")
        return 0.5

    monkeypatch.setattr(modes, "_stamps", fake_stamps)
    monkeypatch.setitem(modes.MODES, "processes", fake_pool)
    monkeypatch.setattr(modes, "SERIAL_IN_PROCESS", [])
    bench = Bench(load_all()["countdown"], "processes", 1, 1000)
    assert time_bench(bench, 2) == 0.5 and order == ["pool"]  # without pair_serial: the pool alone
    order.clear()
    assert [time_bench(bench, 2, round_=0, pair_serial=True) for _ in range(3)] == [0.5, 0.5, 0.5]
    assert modes.SERIAL_IN_PROCESS == [0.5, 0.5, 0.5]  # two loops of 0.25 s each call
    assert order == ["pool", "serial", "serial", "serial", "serial", "pool", "pool", "serial", "serial"]
    order.clear()
    monkeypatch.setattr(modes, "SERIAL_IN_PROCESS", [])  # the next round's process starts the other way round
    time_bench(bench, 1, round_=1, pair_serial=True)
    assert order[0] == "serial"


def test_a_forked_worker_draws_layouts_of_its_own():
    """The layout generator is reseeded in a forked child, so a pool worker does not
    replay the layouts its parent draws next."""
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next layout, then exit without running the parent's cleanup
        os.write(write, repr(modes._layout()).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    assert child != repr(modes._layout())
