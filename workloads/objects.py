"""Objects held in memory: what an interpreter spends per small object, dict and list.

Each ``hold_*`` workload times building ``n`` objects of one kind and dropping them;
its ``setup`` first measures, in the fresh benchmark process, the resident bytes per
object of a fixed number of them held at once (``workloads.memory``).  The report
gives those bytes per interpreter and the free-threaded build's per-object cost
against its matched default build: its object header is twice as long (a thread id
and a shared reference count beside the local one).
"""

from __future__ import annotations

from typing import Any, Callable

from workloads import memory
from workloads._registry import Bench, workload

# Objects built for the memory figure: enough that a page or an arena of slack is
# under 1% of the growth (30-60 MiB on CPython), few enough to take well under a second.
PER_OBJECT_COUNT = 300_000


class _Small:
    """A plain class instance with three attributes: the commonest small object."""

    def __init__(self) -> None:
        self.x = 1
        self.y = 2
        self.z = 3


def _probe(make: Callable[[], Any]) -> Callable[[Bench], None]:
    """A ``setup`` that measures ``make()``'s resident bytes per object in the fresh process."""

    def setup(bench: Bench) -> None:
        memory.measure_per_object(make, PER_OBJECT_COUNT)

    return setup


# The values are shared (small ints, interned keys), so only the containers count.
# Serial only: the figure is per object, and building is measured for the build overheads.
MODES = ("serial",)
TAGS = ("alloc", "memory")


@workload(modes=MODES, size=1_000_000, tags=TAGS, setup=_probe(_Small))
def hold_objects(n: int) -> int:
    """Build ``n`` instances of a three-attribute class, hold them all, drop them."""
    held = [_Small() for _ in range(n)]
    return len(held)


@workload(modes=MODES, size=1_000_000, tags=TAGS, setup=_probe(lambda: {"x": 1, "y": 2, "z": 3}))
def hold_dicts(n: int) -> int:
    """Build ``n`` three-key dicts, hold them all, drop them."""
    held = [{"x": 1, "y": 2, "z": 3} for _ in range(n)]
    return len(held)


@workload(modes=MODES, size=1_000_000, tags=TAGS, setup=_probe(lambda: [1, 2, 3]))
def hold_lists(n: int) -> int:
    """Build ``n`` three-item lists, hold them all, drop them."""
    held = [[1, 2, 3] for _ in range(n)]
    return len(held)
