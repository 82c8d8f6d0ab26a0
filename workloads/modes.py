"""Concurrency modes: how a workload's fixed total work is spread, and what is timed.

Every mode keeps start-up and tear-down outside the timed region: threads wait on a
barrier before they start counting, pool and interpreter workers are created and
confirmed ready before the clock starts, and join/close happen after it stops.
The value returned is wall-clock seconds from the first worker starting real work
to the last one finishing, summed over ``loops``.

``serial`` is the work in ONE fresh worker thread, through the very code that times
k threads: same kind of thread, same start barrier, same makespan.  A speedup is
then a ratio of two measurements made alike; the main thread of a pyperf worker
runs the same loop 0-5% differently from a fresh thread, depending on the build,
and that difference used to sit in every speedup.
"""

from __future__ import annotations

import atexit
import multiprocessing
import threading
from time import perf_counter, thread_time
from typing import Any, Callable, Dict, List, Optional

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


def run_threads(func: Callable[..., Any], chunks: List[int], shared: Any) -> float:
    """Run ``func(chunk)`` in one thread per chunk; seconds from first start to last end.

    Each thread also reads its own CPU clock (``time.thread_time``) around its chunk,
    so the share of the makespan the threads spent running is known too.
    """
    count = len(chunks)
    barrier = threading.Barrier(count, timeout=READY_TIMEOUT)
    starts = [0.0] * count
    ends = [0.0] * count
    cpu = [0.0] * count
    errors: List[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait()
            cpu0 = thread_time()
            starts[index] = perf_counter()
            _call(func, chunks[index], shared)
            ends[index] = perf_counter()
            cpu[index] = thread_time() - cpu0
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    makespan = max(ends) - min(starts)
    if makespan > 0:
        THREAD_CPU_SHARES.append(sum(cpu) / (count * makespan))
    return makespan


def time_threads(bench: Bench, loops: int) -> float:
    func = bench.workload.func_for(bench.mode)
    chunks = split(bench.size, bench.workers)
    return sum(run_threads(func, chunks, _make_shared(bench)) for _ in range(loops))


def _pool_ready(barrier: Any) -> None:
    die_with_parent()  # a pool worker never outlives the benchmark process that made it
    barrier.wait(READY_TIMEOUT)


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
        _POOLS[workers] = ctx.Pool(workers, initializer=_pool_ready, initargs=(ready,))
        ready.wait(READY_TIMEOUT)  # every worker process is up and imported
        if len(_POOLS) == 1:
            atexit.register(_close_pools)
    return _POOLS[workers]


def time_processes(bench: Bench, loops: int) -> float:
    """``multiprocessing.Pool`` with the interpreter's default start method."""
    func = bench.workload.func_for("processes")
    chunks = split(bench.size, bench.workers)
    pool = _pool(bench.workers)
    total = 0.0
    for _ in range(loops):
        start = perf_counter()
        pool.map(func, chunks, chunksize=1)
        total += perf_counter() - start
    return total


def time_interpreters(bench: Bench, loops: int) -> float:
    """Subinterpreters: one pre-warmed, reused pool per worker count (see ``workloads._subinterpreters``)."""
    from workloads import _subinterpreters

    return _subinterpreters.time_interpreters(bench, loops, READY_TIMEOUT)


MODES: Dict[str, Callable[[Bench, int], float]] = {
    "serial": time_threads,  # one fresh worker thread: see the module docstring
    "threads": time_threads,
    "processes": time_processes,
    "interpreters": time_interpreters,
    "threads-nogil": time_threads,
    "threads-holding-gil": time_threads,
}


def mode_unavailable(mode: str) -> Optional[str]:
    """Why ``mode`` cannot run on this interpreter, or None."""
    if mode == "interpreters":
        from workloads import _subinterpreters

        return _subinterpreters.unavailable_reason()
    return None


def time_bench(bench: Bench, loops: int) -> float:
    """Seconds for ``loops`` repetitions of ``bench``; pyperf divides by loops."""
    if bench.workload.self_timed:
        return bench.workload.func(loops, bench)
    return MODES[bench.mode](bench, loops)
