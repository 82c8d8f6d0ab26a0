"""Workload declarations and the benchmark matrix they expand into.

A workload is a plain function plus a small declaration (``@workload(...)``), in the
spirit of a pytest test: the harness never needs to know about a new workload,
it only walks the registry.  Everything here runs inside the measured interpreter,
so it stays Python 3.9- and PyPy-compatible.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import pkgutil
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

# Concurrency modes for plain-Python workloads.  ``threads-nogil`` and
# ``threads-holding-gil`` are declared by native workloads through ``variants``.
DEFAULT_MODES = ("serial", "threads", "processes", "interpreters")
THREAD_ONLY_MODES = ("serial", "threads")


@dataclass(frozen=True)
class Workload:
    """One declared workload.

    ``func(n)`` (or ``func(n, shared)`` when ``shared`` is given) does ``n`` units of
    work; the harness splits a fixed total across workers (strong scaling).
    A ``self_timed`` workload measures itself instead: ``func(loops, bench)``
    returns seconds, which is how latency workloads such as the convoy work.
    """

    name: str
    func: Callable[..., Any]
    size: int
    modes: Tuple[str, ...]
    module: str
    doc: str
    tags: Tuple[str, ...] = ()
    shared: Optional[Callable[[], Any]] = None
    variants: Dict[str, Callable[..., Any]] = field(default_factory=dict)
    requires: Optional[Callable[[], Optional[str]]] = None
    self_timed: bool = False
    workers: Optional[Tuple[int, ...]] = None
    params: Tuple[Dict[str, Any], ...] = ({},)

    def func_for(self, mode: str) -> Callable[..., Any]:
        """The function a mode calls: a variant where declared, else ``func``."""
        return self.variants.get(mode, self.func)

    def unavailable_reason(self) -> Optional[str]:
        """Why this workload cannot run on this interpreter, or None."""
        if self.requires is None:
            return None
        try:
            return self.requires()
        except Exception as exc:  # a broken probe must not hide the workload
            return "availability check failed: %s: %s" % (type(exc).__name__, exc)

    @property
    def source_sha256(self) -> str:
        """Hash of the declaring module's source: identical across interpreters."""
        module = sys.modules[self.module]
        path = inspect.getsourcefile(module) or module.__file__
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()


_REGISTRY: Dict[str, Workload] = {}


def workload(
    size: int,
    modes: Sequence[str] = DEFAULT_MODES,
    tags: Sequence[str] = (),
    shared: Optional[Callable[[], Any]] = None,
    variants: Optional[Dict[str, Callable[..., Any]]] = None,
    requires: Optional[Callable[[], Optional[str]]] = None,
    self_timed: bool = False,
    workers: Optional[Sequence[int]] = None,
    params: Sequence[Dict[str, Any]] = ({},),
    name: Optional[str] = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare ``func`` as a workload; returns it unchanged.

    ``size`` is the total work at the ``default`` profile, chosen so one value takes
    50-500 ms on the slowest CPython here; profiles scale it.  ``workers`` overrides
    the machine's worker ladder, ``params`` adds extra benchmark parameters (one
    benchmark per dict and worker count; a ``"workers"`` key in a dict overrides the
    counts for that dict alone).  ``self_timed`` workloads take the profile's
    ``latency_values`` values per process.
    """

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        wl_name = name or func.__name__
        if wl_name in _REGISTRY:
            raise ValueError("duplicate workload name %r" % wl_name)
        _REGISTRY[wl_name] = Workload(
            name=wl_name,
            func=func,
            size=int(size),
            modes=tuple(modes),
            module=func.__module__,
            doc=inspect.cleandoc(func.__doc__ or "").split("\n\n")[0].replace("\n", " "),
            tags=tuple(tags),
            shared=shared,
            variants=dict(variants or {}),
            requires=requires,
            self_timed=self_timed,
            workers=tuple(workers) if workers is not None else None,
            params=tuple(params),
        )
        return func

    return register


EXTRA_MODULES_ENV = "GILBENCH_WORKLOAD_MODULES"


def workload_modules() -> List[str]:
    """Modules that declare workloads, as importable names.

    Every public module of the ``workloads`` package (dropping a file in adds
    workloads), plus any modules named, comma-separated, in
    ``$GILBENCH_WORKLOAD_MODULES`` (workloads kept outside this package).
    """
    import workloads

    names = ["workloads." + i.name for i in pkgutil.iter_modules(workloads.__path__) if not i.name.startswith("_")]
    return sorted(names) + [m for m in os.environ.get(EXTRA_MODULES_ENV, "").split(",") if m]


def load_all() -> Dict[str, Workload]:
    """Import every workload module and return the registry, in declaration order."""
    for mod in workload_modules():
        importlib.import_module(mod)
    return dict(_REGISTRY)


def cpu_count() -> int:
    """CPUs this process may run on (affinity-aware where the OS says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def worker_ladder(cpus: int) -> List[int]:
    """Worker counts measured on a machine with ``cpus`` CPUs.

    Every count up to 4, then powers of two up to the CPU count, the CPU count
    itself, and twice the CPU count to show oversubscription.
    """
    counts = set(range(1, min(cpus, 4) + 1))
    power = 8
    while power < cpus:
        counts.add(power)
        power *= 2
    counts.update((cpus, 2 * cpus))
    return sorted(counts)


@dataclass(frozen=True)
class Profile:
    """How long and how often to measure: identical for every interpreter.

    ``latency_values`` is the values per process for self-timed latency workloads,
    where one value is one request.  ``workers`` replaces the machine's worker
    ladder: smoke checks every workload and mode at one count, with only the
    first parameter set of each workload and the ends of pinned worker lists.
    """

    name: str
    processes: int
    values: int
    warmups: int
    scale: float
    timeout: float  # seconds per benchmark before it is stopped
    latency_values: int
    workers: Optional[Tuple[int, ...]] = None


PROFILES: Dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("smoke", processes=1, values=2, warmups=1, scale=0.05, timeout=60.0, latency_values=10, workers=(2,)),
        Profile("fast", processes=3, values=1, warmups=1, scale=0.25, timeout=300.0, latency_values=20),
        Profile("default", processes=6, values=4, warmups=1, scale=1.0, timeout=900.0, latency_values=60),
        Profile("rigorous", processes=12, values=5, warmups=2, scale=1.0, timeout=1800.0, latency_values=100),
    )
}


@dataclass(frozen=True)
class Bench:
    """One benchmark of the matrix: a workload in a mode with a worker count."""

    workload: Workload
    mode: str
    workers: int
    size: int
    params: Tuple[Tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        """Derived, unique within a results file: ``countdown[threads,w=2]``."""
        parts = [self.mode]
        if self.mode != "serial":
            parts.append("w=%d" % self.workers)
        parts.extend("%s=%s" % kv for kv in self.params)
        return "%s[%s]" % (self.workload.name, ",".join(parts))

    @property
    def param_dict(self) -> Dict[str, Any]:
        return dict(self.params)


def plan(
    registry: Dict[str, Workload],
    profile: Profile,
    workloads: Optional[Sequence[str]] = None,
    modes: Optional[Sequence[str]] = None,
    ladder: Optional[Sequence[int]] = None,
) -> List[Bench]:
    """Expand workloads × modes × worker counts × params into benchmarks.

    The plan depends only on the declarations, the profile and the machine's CPU
    count, so every interpreter on a machine gets the same list.
    """
    ladder = list(ladder or profile.workers or worker_ladder(cpu_count()))
    chosen = [registry[n] for n in workloads] if workloads else list(registry.values())
    benches: List[Bench] = []
    for wl in chosen:
        size = max(1, int(wl.size * profile.scale))
        for mode in wl.modes:
            if modes and mode not in modes:
                continue
            for extra in wl.params[:1] if profile.workers else wl.params:
                extra = dict(extra)
                counts = extra.pop("workers", None) or wl.workers or ladder
                if profile.workers and counts is not ladder:  # smoke: a pinned list keeps its ends
                    counts = sorted({min(counts), max(counts)})
                for count in [1] if mode == "serial" else counts:
                    benches.append(Bench(wl, mode, count, size, tuple(sorted(extra.items()))))
    return benches


def split(total: int, parts: int) -> List[int]:
    """Split ``total`` units into ``parts`` near-equal chunks (strong scaling)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
