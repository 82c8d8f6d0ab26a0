"""Shared-state contention: every thread hammers the same object.

This is where free-threading is known to get *slower*: without the GIL, each
shared object is guarded by its own lock (or a per-object critical section), and
cache lines bounce between cores.  On a GIL build the threads simply take turns.
Threads only: processes share nothing, so there is nothing to contend for.  The shared
list and the shared dict are members of the ``scaling`` family too (``workloads/scaling.py``).
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List

from workloads._registry import THREAD_ONLY_MODES, workload


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value = 0


@workload(size=1_000_000, modes=THREAD_ONLY_MODES, shared=_Counter, tags=("contention",))
def locked_counter(n: int, shared: _Counter) -> None:
    """Increment one shared counter under one ``threading.Lock``."""
    lock = shared.lock
    for _ in range(n):
        with lock:
            shared.value += 1


@workload(size=3_000_000, modes=THREAD_ONLY_MODES, shared=list, tags=("contention",), suites=("scaling",))
def shared_list_append(n: int, shared: List[Any]) -> None:
    """Append to one shared list (thread-safe by itself; contended on every call)."""
    append = shared.append
    for i in range(n):
        append(i)


@workload(size=2_000_000, modes=THREAD_ONLY_MODES, shared=dict, tags=("contention",), suites=("scaling",))
def shared_dict_update(n: int, shared: Dict[int, int]) -> None:
    """Store into one shared dict, cycling over 1024 keys."""
    for i in range(n):
        shared[i & 1023] = i
