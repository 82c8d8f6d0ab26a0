"""CPU-bound pure-Python workloads with per-thread state.

On a GIL build only one thread runs bytecode at a time, so these show threads at
about 1x (or worse); processes and free-threaded builds can scale them.
"""

from __future__ import annotations

from workloads._registry import workload


@workload(size=5_000_000, tags=("cpu",))
def countdown(n: int) -> None:
    """Beazley's countdown: a tight bytecode loop with no I/O and no allocation."""
    while n > 0:
        n -= 1
