"""CPU-bound pure-Python workloads, each thread working on its own state.

Our own versions of the kinds of code in CPython's ``Tools/ftscalingbench``: on a
GIL build only one thread runs bytecode at a time, so threads stay at about 1x
(or worse); processes and free-threaded builds can scale them.  ``n`` counts units
of work; each function keeps all of its state local, so nothing is shared.

Processes and subinterpreters are measured on four of them (a loop, calls and two
kinds of allocation): each has its own interpreter state, so they scale alike on
every workload of this kind, and measuring all thirteen would double the time a
precise run takes without telling anything new.  Threads are measured on all.

Eleven of them are members of the ``scaling`` family too (``suites=("scaling",)``; see
``workloads/scaling.py``), under the names they have always had: each exercises one of
the patterns that family tracks, and a kernel has one definition.
"""

from __future__ import annotations

import copy
import math
import threading
from dataclasses import dataclass

from workloads._registry import THREAD_ONLY_MODES, workload


@workload(size=5_000_000, tags=("cpu",), roles=("flagship",))
def countdown(n: int) -> None:
    """Beazley's countdown: a tight bytecode loop with no I/O and no allocation."""
    while n > 0:
        n -= 1


def _fib(k: int) -> int:
    return k if k < 2 else _fib(k - 1) + _fib(k - 2)


@workload(size=150, tags=("cpu", "calls"))
def fib(n: int) -> int:
    """Recursive Fibonacci: ``n`` evaluations of fib(20), deep Python call chains."""
    total = 0
    for _ in range(n):
        total += _fib(20)
    return total


class _Accumulator:
    def __init__(self) -> None:
        self.total = 0

    def add(self, value: int) -> None:
        self.total += value


@workload(modes=THREAD_ONLY_MODES, size=2_000_000, tags=("cpu", "calls"), suites=("scaling",))
def method_calls(n: int) -> int:
    """Method calls on an object the thread owns."""
    acc = _Accumulator()
    add = acc.add
    for i in range(n):
        add(i)
    return acc.total


def _square(value: int) -> int:
    return value * value


@workload(modes=THREAD_ONLY_MODES, size=3_000_000, tags=("cpu", "calls"), suites=("scaling",))
def function_calls(n: int) -> int:
    """Plain Python function calls."""
    total = 0
    for i in range(n):
        total += _square(i)
    return total


class _Point:
    def __init__(self, x: float, y: float, z: float) -> None:
        self.x = x
        self.y = y
        self.z = z


@workload(size=1_200_000, tags=("cpu", "alloc"), suites=("scaling",))
def object_creation(n: int) -> float:
    """Instances of a small class: allocation plus attribute stores."""
    last = None
    for i in range(n):
        last = _Point(i, i, i)
    return last.x if last else 0.0


@workload(modes=THREAD_ONLY_MODES, size=1_600_000, tags=("cpu", "alloc"), suites=("scaling",))
def closure_creation(n: int) -> int:
    """A new closure (capturing the loop variable) per iteration, called once."""
    total = 0
    for i in range(n):

        def inner() -> int:
            return i + 1  # noqa: B023 - capturing i is the point

        total += inner()
    return total


@workload(size=1_500_000, tags=("cpu", "alloc"), suites=("scaling",))
def dict_creation(n: int) -> int:
    """Small dicts built and read."""
    total = 0
    for i in range(n):
        d = {"a": i, "b": i + 1, "c": i + 2}
        total += d["b"]
    return total


@dataclass
class _Record:
    name: str
    value: int
    weight: float


@workload(modes=THREAD_ONLY_MODES, size=1_000_000, tags=("cpu", "alloc"), suites=("scaling",))
def dataclass_creation(n: int) -> int:
    """Dataclass instances: generated ``__init__`` calls."""
    total = 0
    for i in range(n):
        total += _Record("x", i, 1.0).value
    return total


def _small_gen(k: int):
    yield from range(k)


@workload(modes=THREAD_ONLY_MODES, size=400_000, tags=("cpu", "generators"), suites=("scaling",))
def generator_drain(n: int) -> int:
    """Create and drain small generators (10 items each)."""
    total = 0
    for _ in range(n):
        for value in _small_gen(10):
            total += value
    return total


@workload(modes=THREAD_ONLY_MODES, size=3_000_000, tags=("cpu", "float"), suites=("scaling",))
def float_arith(n: int) -> float:
    """Float arithmetic in a loop: boxed floats, no calls."""
    x = 0.5
    acc = 0.0
    for _ in range(n):
        acc += x * 1.000001 - acc * 0.000001
    return acc


@workload(modes=THREAD_ONLY_MODES, size=2_000_000, tags=("cpu", "calls"), suites=("scaling",))
def c_calls(n: int) -> float:
    """Calls into C: ``math.sqrt`` plus list ``append``/``pop`` on a thread-owned list."""
    items: list = []
    total = 0.0
    sqrt = math.sqrt
    for i in range(n):
        items.append(i)
        total += sqrt(items.pop())
    return total


_TEMPLATE = {"name": "config", "values": [1, 2, 3], "nested": {"a": (1, 2), "b": [4.0, 5.0]}}


@workload(modes=THREAD_ONLY_MODES, size=50_000, tags=("cpu", "alloc"), suites=("scaling",))
def deepcopy_small(n: int) -> int:
    """``copy.deepcopy`` of a small nested structure (memo dicts, recursion)."""
    total = 0
    for _ in range(n):
        total += len(copy.deepcopy(_TEMPLATE)["values"])
    return total


_LOCAL = threading.local()


@workload(modes=THREAD_ONLY_MODES, size=3_000_000, tags=("cpu",), suites=("scaling",))
def threadlocal_read(n: int) -> int:
    """Reads of a ``threading.local`` attribute."""
    _LOCAL.value = 1
    total = 0
    for _ in range(n):
        total += _LOCAL.value
    return total
