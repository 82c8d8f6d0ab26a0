"""Each concurrency mode really runs the work it claims, outside-the-clock setup included."""

from __future__ import annotations

import gc
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from workloads import _machine, modes
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


def test_the_interpreter_facts_say_where_subinterpreters_come_from():
    """What the report's environment table shows: the standard library from 3.14, the
    backport where the mode runs on 3.12 and 3.13, nothing where it cannot run."""
    from workloads import _meta

    source = _meta.interpreter_facts()["subinterpreters"]
    if sys.implementation.name == "cpython" and sys.version_info >= (3, 14):
        assert source == "standard library"
    elif mode_unavailable("interpreters") is None:
        assert source == "interpreters-pep-734"
    elif sys.implementation.name != "cpython" or sys.version_info < (3, 12):
        assert source == ""


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


def in_fresh_process(call: str) -> str:
    """``test_modes.<call>`` evaluated in a fresh interpreter, its result's repr.

    For the tests that fork: a process forked after this one created subinterpreters
    (earlier tests do) deadlocks or crashes in the child on CPython 3.13, so a fork
    happens only in a process that has none.  The timeout turns a hang into a failure."""
    code = "import sys; sys.path.insert(0, %r); import test_modes; print(repr(test_modes.%s))" % (
        os.path.dirname(os.path.abspath(__file__)),
        call,
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[-1]


def forked_layouts() -> bool:
    """Whether a forked child's next layout differs from the parent's next one."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next layout, then exit without running the parent's cleanup
        os.write(write, repr(modes._layout()).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    return child != repr(modes._layout())


def test_a_forked_worker_draws_layouts_of_its_own():
    """The layout generator is reseeded in a forked child, so a pool worker does not
    replay the layouts its parent draws next."""
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    assert in_fresh_process("forked_layouts()") == "True"


def _collect(n):
    """A chunk that starts one full collection: the free-threaded collector starts one on
    its own only after the heap has grown by a share of what survived, so a test of the
    counting must not rely on allocation thresholds."""
    gc.collect()


def test_collections_inside_the_timed_region_are_counted_with_their_pause():
    """With ``watch_gc`` on, each timed call of a thread mode records the collections that
    started between the first worker's start and the last one's end, and their seconds;
    a collection before the call is not counted.  Nothing at all without gc.callbacks."""
    if not hasattr(gc, "callbacks"):
        assert modes.watch_gc() is False
        before = len(modes.THREAD_GC)
        run_threads(_collect, [1, 1], None)
        assert len(modes.THREAD_GC) == before
        return
    try:
        assert modes.watch_gc() is True and modes.watch_gc() is True
        assert gc.callbacks.count(modes._on_gc) == 1
        run_threads(_collect, [1, 1], None)
        collections, seconds = modes.THREAD_GC[-1]
        assert collections >= 1 and seconds > 0
        gc.collect()
        gc.disable()  # nothing may start one on its own during the next call
        run_threads(lambda n: None, [1, 1], None)
        assert modes.THREAD_GC[-1] == (0, 0)
    finally:
        gc.enable()
        gc.callbacks.remove(modes._on_gc)


def _counts_collections() -> bool:
    return modes._on_gc in getattr(gc, "callbacks", ())


def pool_worker_counts_collections() -> bool:
    """Whether a pool worker forked after ``watch_gc`` still has the parent's callback."""
    modes.watch_gc()
    try:
        return modes._pool(1).apply(_counts_collections)
    finally:
        modes._close_pools()


def test_a_pool_worker_counts_no_collections_of_its_own():
    """A worker forked after ``watch_gc`` drops the callback: what it collects is not the
    parent's timed region, and its events would only pile up."""
    assert in_fresh_process("pool_worker_counts_collections()") == "False"


# -- --pin-workers: real affinity, read back by each thread from the kernel -----------------

needs_two_cpus = pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(_machine.affinity()) < 2, reason="pinning needs Linux and two CPUs"
)


def _my_cpus() -> str:
    """The CPUs the calling thread may run on, as the kernel says (PyPy has no sched_getaffinity)."""
    with open("/proc/thread-self/status") as status:
        return next(line.split(":")[1].strip() for line in status if line.startswith("Cpus_allowed_list"))


@needs_two_cpus
def test_pinned_threads_each_run_on_their_own_cpu_and_serial_on_the_first(monkeypatch):
    first, second = _machine.affinity()[-2:][::-1]
    monkeypatch.setattr(modes, "PIN_ORDER", [first, second])
    seen = {}
    run_threads(lambda n: seen.__setitem__(n, _my_cpus()), [0, 1, 2], None)
    assert seen == {0: str(first), 1: str(second), 2: str(first)}  # a third worker: round again
    modes._stamps(lambda n: seen.__setitem__("serial", _my_cpus()), [5], None)
    assert seen["serial"] == str(first)
    assert _my_cpus() != str(first)  # the calling thread itself is left as it was


PIN_FILE = "GILBENCH_TEST_PIN_FILE"  # set before the pool starts: every worker inherits it, however started


def _note_cpus(n: int) -> None:
    """A pool workload that writes down the CPUs its thread may use, to the file its test names."""
    with open(os.environ[PIN_FILE], "a") as out:
        out.write("%s\n" % _my_cpus())


def _calls_file(pid: int) -> str:
    return os.path.join(tempfile.gettempdir(), "gilbench-pin-%d.txt" % pid)


def pinned_pool_cpus(first: int, second: int) -> list:
    """In a fresh process (a pool forked after subinterpreters exist is broken): the CPUs
    each worker of a pool of two pinned to ``first`` and ``second`` ran its chunk on."""
    modes.PIN_ORDER[:] = [first, second]
    path = os.environ[PIN_FILE] = _calls_file(os.getpid())
    wl = Workload(name="note_cpus", func=_note_cpus, size=2, modes=("processes",), module=__name__, doc="")
    try:
        time_bench(Bench(wl, "processes", 2, 2), 1)
        with open(path) as calls:
            return sorted(calls.read().split())
    finally:
        modes._close_pools()
        if os.path.exists(path):
            os.remove(path)


@needs_two_cpus
def test_pinned_pool_workers_each_take_a_cpu_of_their_own():
    first, second = _machine.affinity()[-2:][::-1]
    got = in_fresh_process("pinned_pool_cpus(%d, %d)" % (first, second))
    assert got == repr(sorted([str(first), str(second)]))


@needs_two_cpus
def test_pinned_subinterpreters_each_take_a_cpu_of_their_own(monkeypatch):
    reason = mode_unavailable("interpreters")
    if reason:
        pytest.skip(reason)
    from workloads import _subinterpreters

    first, second = _machine.affinity()[-2:][::-1]
    monkeypatch.setattr(modes, "PIN_ORDER", [first, second])
    monkeypatch.setattr(_subinterpreters, "_EXECUTORS", {})
    monkeypatch.setattr(_subinterpreters, "_WARMED", set())
    wl = Workload(name="note_cpus", func=_note_cpus_here, size=2, modes=("interpreters",), module=__name__, doc="")
    path = _calls_file(os.getpid()) + ".sub"
    try:
        time_bench(Bench(wl, "interpreters", 2, 2), 1)
        with open(path) as calls:
            assert sorted(calls.read().split()) == sorted([str(first), str(second)])
    finally:
        _subinterpreters._shutdown_executors()
        if os.path.exists(path):
            os.remove(path)


def _note_cpus_here(n: int) -> None:
    """As ``_note_cpus``, from a subinterpreter of this process (the file names this process)."""
    with open(_calls_file(os.getpid()) + ".sub", "a") as out:
        out.write("%s\n" % _my_cpus())
