"""The ``interpreters`` mode: subinterpreters, each with its own GIL, one per worker.

CPython 3.14 ships ``concurrent.futures.InterpreterPoolExecutor``.  On 3.12 and 3.13
(free-threaded builds included) the PyPI backport of PEP 734, ``interpreters-pep-734``,
provides the same executor as ``interpreters_backport.concurrent.futures``; it runs on
the private ``_interpreters`` and ``_interpqueues`` modules, which 3.13 has built in
and 3.12 only gets from the ``interpreters-3-12`` package (compiled from source).

Like the ``processes`` mode's pool, one executor per worker count lives as long as the
process, so pyperf's warm-up value warms it and every value reuses the same
interpreters.  Before anything is timed, every worker imports the workload's module.
That warm-up is also the guard against the backport's trap: a task whose function
cannot be unpickled in the worker (defined in ``__main__``, or in a module that fails
to import there, such as one using NumPy) never completes and its worker thread spins
for ever, whereas an error raised *by* a task propagates.  So the warm-up is run as
source code through ``exec``, which every interpreter can unpickle, it imports and
resolves the workload's function, turning any such failure into an exception here,
and no wait is unbounded.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import platform
import queue
import signal
import subprocess
import sys
from concurrent.futures import wait
from time import monotonic, perf_counter
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from workloads._machine import pinned_cpus
from workloads._registry import Bench, split

# Runs in each worker interpreter.  A subinterpreter starts from the configured
# sys.path, not from this process's runtime additions (pytest's rootdir, say), so
# the parent's entries are added first; the queues make it a barrier: no task
# returns before all have arrived, so each of the k tasks held its own worker.  With
# pinned workers (``modes.PIN_ORDER``) each task also pins its worker's thread to a CPU
# of its own from ``cpus``, as a timed thread of the ``threads`` mode pins itself.
_WARM_UP = """
import importlib, os, sys
if cpus is not None:
    os.sched_setaffinity(0, {cpus.get(timeout=timeout)})
sys.path.extend(p for p in path if p not in sys.path)
obj = importlib.import_module(module)
for part in qualname.split("."):
    obj = getattr(obj, part)
arrived.put(None)
release.get(timeout=timeout)
"""


def _implementation() -> Tuple[Any, Callable[[], Any]]:
    """``(InterpreterPoolExecutor, create_queue)``: the standard library's on 3.14+, else the backport's."""
    try:
        from concurrent.futures import InterpreterPoolExecutor  # type: ignore[attr-defined]
        from concurrent.interpreters import create_queue  # type: ignore[import-not-found]
    except ImportError:
        from interpreters_backport.concurrent.futures import InterpreterPoolExecutor  # type: ignore[import-not-found]
        from interpreters_backport.interpreters import create_queue  # type: ignore[import-not-found]
    return InterpreterPoolExecutor, create_queue


@functools.cache
def unavailable_reason() -> Optional[str]:
    """Why this interpreter cannot run subinterpreters, naming what is missing, or None.

    Before 3.14 the backport's modules are first imported in a child process:
    ``interpreters-3-12``'s ``_interpreters`` is compiled against private CPython
    structures and crashed 3.12.1 on import, which must not take the caller down.
    """
    this = "%s %s" % (platform.python_implementation(), platform.python_version())
    if sys.implementation.name != "cpython" or sys.version_info < (3, 12):
        return "no subinterpreters: CPython 3.12+ needed (this is %s)" % this
    if sys.version_info < (3, 14):
        packages = "interpreters-pep-734" + (" and interpreters-3-12" if sys.version_info < (3, 13) else "")
        if any(importlib.util.find_spec(name) is None for name in ("interpreters_backport", "_interpreters")):
            return "install %s for subinterpreters on %s" % (packages, this)
        probe = "from interpreters_backport.concurrent.futures import InterpreterPoolExecutor"
        try:
            proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return "no subinterpreters: importing %s hung on %s" % (packages, this)
        if proc.returncode < 0:
            crash = signal.Signals(-proc.returncode).name
            return "no subinterpreters: importing %s crashed %s (%s)" % (packages, this, crash)
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines() or ["exit status %d" % proc.returncode]
            return "no subinterpreters: importing %s failed on %s: %s" % (packages, this, lines[-1])
    try:
        _implementation()
    except ImportError as exc:
        return "no subinterpreters: no InterpreterPoolExecutor on %s: %s" % (this, exc)
    return None


_EXECUTORS: Dict[int, Any] = {}
_WARMED: Set[Tuple[int, str, str]] = set()  # (executor size, module, qualname) imported by every worker


def _shutdown_executors() -> None:
    for executor in _EXECUTORS.values():
        executor.shutdown(wait=True)
    _EXECUTORS.clear()


def _executor(workers: int) -> Tuple[int, Any]:
    """An ``InterpreterPoolExecutor`` with at least ``workers`` interpreters, and its size,
    for the life of this process, shut down at exit.

    An executor already started with more workers serves a smaller count too (k tasks
    occupy k idle interpreters, as in an executor of k), so a block that measures one
    and two subinterpreters starts two interpreters, not three: each takes a tenth of
    a second to start and import the workload.
    """
    larger = [size for size in _EXECUTORS if size >= workers]
    if larger:
        return min(larger), _EXECUTORS[min(larger)]
    executor_class, _ = _implementation()
    _EXECUTORS[workers] = executor_class(max_workers=workers)
    if len(_EXECUTORS) == 1:
        atexit.register(_shutdown_executors)
    return workers, _EXECUTORS[workers]


def _warm_up(executor: Any, workers: int, func: Callable[..., Any], timeout: float, pin: Sequence[int]) -> None:
    """Make each of the ``workers`` interpreters import and resolve ``func``, concurrently,
    each pinning its thread to one CPU of ``pin`` (the CPUs of workers 0..k-1; empty: none).

    The executor starts a new worker for a submit only while none is idle, and no
    warm-up task finishes before all have arrived, so ``workers`` tasks occupy
    ``workers`` distinct interpreters.  A task's error (an import that fails in a
    subinterpreter) is raised here, once the others are released and done.
    """
    _, create_queue = _implementation()
    arrived, release = create_queue(), create_queue()
    cpus = create_queue() if pin else None
    for cpu in pin:
        cpus.put(cpu)
    names = {
        "cpus": cpus,
        "path": list(sys.path),
        "module": func.__module__,
        "qualname": func.__qualname__,
        "arrived": arrived,
        "release": release,
        "timeout": timeout,
    }
    futures = [executor.submit(exec, _WARM_UP, dict(names)) for _ in range(workers)]
    deadline = monotonic() + timeout
    try:
        for _ in range(workers):
            while True:
                failed = [f for f in futures if f.done() and f.exception() is not None]
                if failed:
                    raise failed[0].exception()  # type: ignore[misc]
                if monotonic() > deadline:
                    raise TimeoutError("subinterpreter workers not ready after %.0f s" % timeout)
                try:
                    arrived.get(timeout=0.05)
                    break
                except queue.Empty:
                    continue
    finally:
        for _ in futures:
            release.put(None)
        # Until every task has run, the queues must outlive this frame: a task that
        # starts after they are gone fails to unpickle them, and spins (see above).
        wait(futures, timeout)
    for fut in futures:
        fut.result(0)


def ready(bench: Bench, timeout: float, pin_order: Sequence[int] = ()) -> Any:
    """The executor of ``bench``'s worker count, started and with every worker having
    imported the workload (and pinned to a CPU of ``pin_order``, where there is one): done
    once per process, before any clock starts."""
    func = bench.workload.func_for("interpreters")
    size, executor = _executor(bench.workers)
    key = (size, func.__module__, func.__qualname__)
    if key not in _WARMED:
        _warm_up(executor, size, func, timeout, pinned_cpus(pin_order, size))
        _WARMED.add(key)
    return executor


def time_interpreters(bench: Bench, loops: int, timeout: float, pin_order: Sequence[int] = ()) -> float:
    """Seconds to run one chunk per subinterpreter and collect every result, summed over ``loops``.

    ``timeout`` bounds every wait, so a task that never finishes becomes an error, not a hang.
    """
    func = bench.workload.func_for("interpreters")
    chunks: List[int] = split(bench.size, bench.workers)
    executor = ready(bench, timeout, pin_order)
    total = 0.0
    for _ in range(loops):
        start = perf_counter()
        for fut in [executor.submit(func, chunk) for chunk in chunks]:
            fut.result(timeout)
        total += perf_counter() - start
    return total
