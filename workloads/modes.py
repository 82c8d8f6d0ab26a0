"""Concurrency modes: how a workload's fixed total work is spread, and what is timed.

Every mode keeps start-up and tear-down outside the timed region: threads wait on a
barrier before they start counting, pool and interpreter workers are created and
confirmed ready before the clock starts, and join/close happen after it stops.
The value returned is wall-clock seconds from the first worker starting real work
to the last one finishing, summed over ``loops``.

``serial`` is the work in ONE fresh worker thread, through the very code that times
k threads: same kind of thread, same start barrier, same makespan.  A speedup is
then a ratio of two measurements made alike: the main thread of a process runs the
same loop 0-5% differently from a fresh thread, depending on the build.  For the same
reason a pool worker process runs its chunk in one fresh thread too, behind a barrier
shared by all workers, and the makespan comes from the workers' own stamps.
Subinterpreters already run in worker threads.  What no timing code can make alike is
the state of another process: a forked pool worker can run a loop several percent
slower or faster than the process that measures serial (docs/changelog.md keeps the
figures).  So the speedups of ``PAIRED_MODES`` are over one worker of the same mode
(``harness.analysis``), and that one worker is set against serial inside its own
benchmark process (``time_bench``): each of its calls also runs the same chunk in one
fresh thread of that process, in alternating order, and the run's
``serial_in_process`` metadata keeps those times beside the values, so the ratio is
analysed as the pairs were measured: one process state, seconds apart.  Within a
process, where a thread's frames and objects land still moves a loop by several
percent, so every timed thread runs in a random memory layout (``_layout``).
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import random
import threading
from time import perf_counter, thread_time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from workloads._machine import pin_this_thread, pinned_cpus
from workloads._registry import Bench, split
from workloads._results import die_with_parent

READY_TIMEOUT = 120.0  # seconds to wait for workers to come up; never hang forever


def _call(func: Callable[..., Any], n: int, shared: Any) -> Any:
    return func(n) if shared is None else func(n, shared)


def _make_shared(bench: Bench) -> Any:
    factory = bench.workload.shared
    return factory() if factory is not None else None


# Share of the workers' time spent running, one entry per timed call of a thread
# mode (warm-ups included): the runner writes the mean over values into the run's
# metadata as ``thread_cpu_share``.  1 - share is the time spent waiting: for the
# GIL, for a lock, or for a core when there are more threads than CPUs.
THREAD_CPU_SHARES: List[float] = []

# Garbage collections inside the timed region of a thread mode, one entry per timed call
# while ``watch_gc`` is on: (collections, seconds in them).  A collection counts when it
# starts between the first worker's start and the last one's end; on a free-threaded build
# it stops every thread, so its pause is a reason threads do not scale.  The runner
# writes the means over values as ``gc_collections`` and ``gc_pause``.
THREAD_GC: List[Tuple[int, float]] = []
_GC_EVENTS: List[Tuple[float, float]] = []  # (perf_counter at the start, seconds), since the last timed call
_GC_STARTED = [0.0]  # collections never overlap: the interpreter runs one at a time


def _on_gc(phase: str, info: Dict[str, Any]) -> None:
    """A ``gc.callbacks`` entry: two clock reads and an append per collection, O(1)."""
    if phase == "start":
        _GC_STARTED[0] = perf_counter()
    else:
        _GC_EVENTS.append((_GC_STARTED[0], perf_counter() - _GC_STARTED[0]))


def watch_gc() -> bool:
    """Time this process's garbage collections (``THREAD_GC``) from now on.  False, and
    nothing recorded, where the interpreter has no ``gc.callbacks`` (PyPy)."""
    callbacks = getattr(gc, "callbacks", None)
    if callbacks is None:
        return False
    if _on_gc not in callbacks:
        callbacks.append(_on_gc)
    return True


def _gc_between(start: float, end: float) -> None:
    """What ``_on_gc`` saw start between ``start`` and ``end``, to ``THREAD_GC`` (when watched)."""
    if _on_gc in getattr(gc, "callbacks", ()):
        inside = [seconds for began, seconds in _GC_EVENTS if start <= began <= end]
        THREAD_GC.append((len(inside), sum(inside)))
    del _GC_EVENTS[:]


# Layout randomisation.  Where a thread's frames and the objects its loop allocates land
# in memory moves a pure-Python loop by several percent, and that placement follows from
# incidental state (how the package was imported, what the process allocated before), the
# same in every process alike, so more rounds cannot remove it.  That is the measurement
# bias of Mytkowicz et al. ("Producing wrong data without doing anything obviously
# wrong", ASPLOS 2009), and the remedy is theirs and Stabilizer's (Curtsinger and Berger,
# ASPLOS 2013): randomise the layout in every measurement, so that the bias becomes noise
# which rounds average out and the intervals include.  Before its chunk, each timed thread
# allocates a random number of objects of random sizes (kept alive while it runs: the
# allocator hands out other addresses) and calls the chunk under a random number of extra
# C and Python frames (the stack starts elsewhere).  Both happen before the clock starts.
# Seeded from the OS, like ASLR and hash randomisation, and again in every forked pool
# worker: a new layout in every process and call.  A subinterpreter worker runs its chunk
# in its own interpreter (``workloads._subinterpreters``) and is not randomised.
LAYOUT_MAX_OBJECTS = 400
LAYOUT_MAX_BYTES = 480  # pymalloc's small-object size classes end at 512 bytes
LAYOUT_MAX_DEPTH = 12
_LAYOUT = random.Random()
os.register_at_fork(after_in_child=_LAYOUT.seed)  # a forked worker must not replay its parent's layouts


def _layout() -> Tuple[int, List[int]]:
    """One thread's random layout: an extra call depth, and the sizes of the objects it holds."""
    sizes = [_LAYOUT.randrange(LAYOUT_MAX_BYTES) for _ in range(_LAYOUT.randrange(LAYOUT_MAX_OBJECTS))]
    return _LAYOUT.randrange(LAYOUT_MAX_DEPTH), sizes


def _at_depth(depth: int, fn: Callable[[], None]) -> None:
    """Call ``fn`` under ``depth`` extra levels of frames, each entered through ``map``
    (a C function), so both the C stack and Python's frame stack start deeper."""
    if depth <= 0:
        fn()
        return
    for _ in map(lambda _: _at_depth(depth - 1, fn), (None,)):
        pass


# ``--pin-workers``: the CPU of worker 0, 1, 2... (``workloads._machine.pin_order``: one per
# physical core first), set by the runner before anything starts; empty: nothing is pinned.
# A timed thread pins itself (on Linux a thread has its own affinity), serial's one thread
# as worker 0; a pool worker process pins itself as it starts, and its timed thread
# inherits that; a subinterpreter's thread pins itself in its warm-up.
PIN_ORDER: List[int] = []


def _stamps(
    func: Callable[..., Any], chunks: List[int], shared: Any, pin: bool = True
) -> Tuple[List[float], List[float], List[float]]:
    """Run ``func(chunk)`` in one fresh thread per chunk, released together by a barrier,
    each thread in a random memory layout (see ``_layout``), thread i pinned to
    ``PIN_ORDER``'s i-th CPU where workers are pinned (and ``pin``).

    Returns each thread's ``perf_counter`` start and end and its CPU time
    (``time.thread_time``), all read by the thread itself around its chunk.
    """
    count = len(chunks)
    barrier = threading.Barrier(count, timeout=READY_TIMEOUT)
    layouts = [_layout() for _ in range(count)]  # drawn here: one generator, one thread
    starts = [0.0] * count
    ends = [0.0] * count
    cpu = [0.0] * count
    errors: List[BaseException] = []

    def timed(index: int) -> None:
        barrier.wait()
        cpu0 = thread_time()
        starts[index] = perf_counter()
        _call(func, chunks[index], shared)
        ends[index] = perf_counter()
        cpu[index] = thread_time() - cpu0

    def target(index: int) -> None:
        depth, sizes = layouts[index]
        try:
            if pin and PIN_ORDER:
                pin_this_thread(PIN_ORDER[index % len(PIN_ORDER)])
            held = [bytes(size) for size in sizes]  # allocated by this thread, its own heap on free-threaded builds
            _at_depth(depth, lambda: timed(index))
            del held
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return starts, ends, cpu


def run_threads(func: Callable[..., Any], chunks: List[int], shared: Any) -> float:
    """Run ``func(chunk)`` in one thread per chunk; seconds from first start to last end.

    The share of the makespan the threads spent running goes to ``THREAD_CPU_SHARES``,
    the collections inside it to ``THREAD_GC`` (while ``watch_gc`` is on).
    """
    del _GC_EVENTS[:]
    starts, ends, cpu = _stamps(func, chunks, shared)
    makespan = max(ends) - min(starts)
    if makespan > 0:
        THREAD_CPU_SHARES.append(sum(cpu) / (len(chunks) * makespan))
    _gc_between(min(starts), max(ends))
    return makespan


def time_threads(bench: Bench, loops: int) -> float:
    func = bench.workload.func_for(bench.mode)
    chunks = split(bench.size, bench.workers)
    return sum(run_threads(func, chunks, _make_shared(bench)) for _ in range(loops))


_START: Any = None  # in a pool worker: the barrier every worker's task waits at before timing


def _pool_ready(ready: Any, start: Any, cpus: Any) -> None:
    """A pool worker's initializer: the start barrier, and with pinned workers a CPU of its
    own from ``cpus`` (a queue holding one per worker)."""
    global _START
    die_with_parent()  # a pool worker never outlives the benchmark process that made it
    if _on_gc in getattr(gc, "callbacks", ()):  # forked after watch_gc: its collections are not the parent's to count
        gc.callbacks.remove(_on_gc)
    _START = start
    if cpus is not None:
        pin_this_thread(cpus.get(timeout=READY_TIMEOUT))
    ready.wait(READY_TIMEOUT)


def _pool_task(task: Tuple[Callable[..., Any], int]) -> Tuple[float, float]:
    """In a pool worker: wait for every worker's task, then run the chunk in one fresh
    thread, as ``serial`` and ``threads`` do; its (start, end) ``perf_counter`` stamps.

    The barrier also spreads the tasks, one per worker: a worker waiting at it cannot
    take a second task.  ``perf_counter`` is CLOCK_MONOTONIC, one clock for every
    process of the machine, so the parent can take the makespan across workers.
    """
    func, chunk = task
    _START.wait(READY_TIMEOUT)
    starts, ends, _ = _stamps(func, [chunk], None, pin=False)  # pinned as a process, if at all
    return starts[0], ends[0]


_POOLS: Dict[int, Any] = {}


def _close_pools() -> None:
    for pool in _POOLS.values():
        pool.close()
        pool.join()
    _POOLS.clear()


def _pool(workers: int) -> Any:
    """One ``multiprocessing.Pool`` per worker count for the life of this process.

    Created, and every worker confirmed started, before the first value is timed;
    reused by later values, like a long-lived pool in an application, so pyperf's
    warm-up value warms the workers too (a JIT such as PyPy's compiles the function
    in each worker process, not in the parent); closed and joined at exit.
    """
    if workers not in _POOLS:
        ctx = multiprocessing.get_context()
        ready = ctx.Barrier(workers + 1)
        start = ctx.Barrier(workers)
        cpus = None
        if PIN_ORDER:
            cpus = ctx.Queue()
            for cpu in pinned_cpus(PIN_ORDER, workers):
                cpus.put(cpu)
        _POOLS[workers] = ctx.Pool(workers, initializer=_pool_ready, initargs=(ready, start, cpus))
        ready.wait(READY_TIMEOUT)  # every worker process is up and imported
        if len(_POOLS) == 1:
            atexit.register(_close_pools)
    return _POOLS[workers]


def time_processes(bench: Bench, loops: int) -> float:
    """``multiprocessing.Pool`` with the interpreter's default start method: each worker
    process runs its chunk in one fresh thread, timed like ``threads`` (same barrier
    start, makespan from the workers' own stamps), so that a process speedup, like a
    thread speedup, compares work in the same kind of thread; pickling the task and
    the result stays outside the timed region."""
    func = bench.workload.func_for("processes")
    chunks = split(bench.size, bench.workers)
    pool = _pool(bench.workers)
    total = 0.0
    for _ in range(loops):
        stamps = pool.map(_pool_task, [(func, chunk) for chunk in chunks], chunksize=1)
        total += max(end for _, end in stamps) - min(start for start, _ in stamps)
    return total


def time_interpreters(bench: Bench, loops: int) -> float:
    """Subinterpreters: one pre-warmed, reused pool per worker count (see ``workloads._subinterpreters``)."""
    from workloads import _subinterpreters

    return _subinterpreters.time_interpreters(bench, loops, READY_TIMEOUT, PIN_ORDER)


MODES: Dict[str, Callable[[Bench, int], float]] = {
    "serial": time_threads,  # one fresh worker thread: see the module docstring
    "threads": time_threads,
    "processes": time_processes,
    "interpreters": time_interpreters,
    "threads-nogil": time_threads,
    "threads-holding-gil": time_threads,
}


def preparation_order(block: Sequence[Bench]) -> List[Bench]:
    """The order to ``prepare`` a block in: pools first, because a process forked after
    subinterpreters exist is broken (on CPython 3.13t a pool created after them never
    became ready: its workers died as they started and were started again); the most
    workers first, so that one subinterpreter executor serves every count."""
    return sorted(block, key=lambda b: (b.mode != "processes", -b.workers))


def prepare(bench: Bench) -> None:
    """Start the pool or subinterpreter executor ``bench`` uses, before anything is timed."""
    if bench.workload.self_timed:
        return
    if bench.mode == "processes":
        _pool(bench.workers)
    elif bench.mode == "interpreters":
        from workloads import _subinterpreters

        _subinterpreters.ready(bench, READY_TIMEOUT, PIN_ORDER)


def mode_unavailable(mode: str) -> Optional[str]:
    """Why ``mode`` cannot run on this interpreter, or None."""
    if mode == "interpreters":
        from workloads import _subinterpreters

        return _subinterpreters.unavailable_reason()
    return None


# Modes whose one worker is paired with serial inside its own process (see the module
# docstring), and what each timed call of such a benchmark measured on the serial side,
# warm-ups included: the runner writes the mean over values as ``serial_in_process``.
PAIRED_MODES = ("processes", "interpreters")
SERIAL_IN_PROCESS: List[float] = []


def _paired(bench: Bench, loops: int, round_: int) -> float:
    """One worker of a ``PAIRED_MODES`` mode, and the same chunk in one fresh thread of
    this process, timed as ``serial`` times it; the worker's seconds are returned,
    serial's go to ``SERIAL_IN_PROCESS``.  Which side goes first alternates call by call
    and, for a process's n-th call, round by round, so neither side always runs second."""
    func = bench.workload.func_for(bench.mode)

    def serial() -> float:
        total = 0.0
        for _ in range(loops):
            starts, ends, _ = _stamps(func, [bench.size], None)
            total += ends[0] - starts[0]
        return total

    if (len(SERIAL_IN_PROCESS) + round_) % 2:
        own = serial()
        value = MODES[bench.mode](bench, loops)
    else:
        value = MODES[bench.mode](bench, loops)
        own = serial()
    SERIAL_IN_PROCESS.append(own)
    return value


def time_bench(bench: Bench, loops: int, round_: int = 0, pair_serial: bool = False) -> float:
    """Seconds for ``loops`` repetitions of ``bench``.  With ``pair_serial`` a one-worker
    ``PAIRED_MODES`` benchmark also times serial in this process (see ``_paired``;
    ``round_`` is the bench-all round this process measures)."""
    if bench.workload.self_timed:
        return bench.workload.func(loops, bench)
    if pair_serial and bench.workers == 1 and bench.mode in PAIRED_MODES:
        return _paired(bench, loops, round_)
    return MODES[bench.mode](bench, loops)
