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
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from workloads._machine import usable_cpus

# What a workload can stand for; findings and charts pick workloads by role, so the
# harness names no workload.  A role is held by at most one workload of a run.
ROLES = {
    "flagship": "the pure-Python CPU loop that headline findings and charts quote",
    "native": "a C loop called from threads, releasing the GIL or holding it",
    "latency": "request latency beside CPU-bound threads (self-timed)",
}

# Families of workloads, chosen with ``--suite``.  Every workload belongs to the family of
# the module that declares it (``workloads/cpu.py``: ``cpu``; a user's ``mine.py``:
# ``mine``) and to those its declaration names in ``suites``, so one kernel can serve two
# families under one name.  A run without ``--workload`` or ``--suite`` measures every
# workload that belongs to at least one family not listed here; these are measured
# only when asked for, with the reason.
ON_REQUEST_SUITES = {
    "scaling": "the free-threaded scaling patterns: about thirty kernels at every worker count would more "
    "than double a default run, which already cannot reach its precision target in 30 minutes on 2 CPUs",
}

# Concurrency modes for plain-Python workloads.  ``threads-nogil`` and
# ``threads-holding-gil`` are declared by native workloads through ``variants``.
DEFAULT_MODES = ("serial", "threads", "processes", "interpreters")
THREAD_ONLY_MODES = ("serial", "threads")
# Modes timed by the same code as ``serial`` (one fresh thread per worker): at one
# worker with the serial function they measure exactly what ``serial`` does.
SAME_AS_SERIAL_AT_1 = ("threads", "threads-nogil", "threads-holding-gil")


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
    roles: Tuple[str, ...] = ()
    setup: Optional[Callable[[Bench], None]] = None
    suites: Tuple[str, ...] = ()

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
    def on_request(self) -> bool:
        """Measured only when asked for: every family it belongs to is in ``ON_REQUEST_SUITES``."""
        return all(s in ON_REQUEST_SUITES for s in self.suites)

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
    roles: Sequence[str] = (),
    setup: Optional[Callable[[Bench], None]] = None,
    suites: Sequence[str] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare ``func`` as a workload; returns it unchanged.

    ``size`` is the total work at the ``default`` profile, chosen so one value takes
    50-500 ms on the slowest CPython here; profiles scale it.  ``workers`` overrides
    the machine's worker ladder, ``params`` adds extra benchmark parameters (one
    benchmark per dict and worker count; a ``"workers"`` key in a dict overrides the
    counts for that dict alone).  ``self_timed`` workloads take the profile's
    ``latency_values`` values per process.  ``roles`` (see ``ROLES``) say what the
    workload stands for in findings and charts.  ``setup(bench)`` runs in the
    benchmark process before its metadata is recorded and before any value, e.g. to
    set the switch interval the values are measured under.  ``suites`` names the families
    the workload belongs to beside its module's (see ``ON_REQUEST_SUITES``).
    """
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError("unknown role(s) %s; known: %s" % (", ".join(unknown), ", ".join(ROLES)))

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
            roles=tuple(roles),
            setup=setup,
            suites=tuple(dict.fromkeys((func.__module__.rpartition(".")[2],) + tuple(suites))),
        )
        return func

    return register


EXTRA_MODULES_ENV = "GILBENCH_WORKLOAD_MODULES"
NOT_WORKLOADS = ("host", "memory", "modes")  # public modules of the package that declare no workload
# The user's ``--workloads`` entries, os.pathsep-separated, in the environment of every
# process that imports a workload module of theirs (``RunOptions.worker_env``): a benchmark
# process imports the module its block names, from the user's folder.
USER_WORKLOADS_ENV = "GILBENCH_WORKLOADS"


def user_workload_modules(entries: Sequence[str]) -> List[str]:
    """Importable module names for ``--workloads`` entries, adding folders to ``sys.path``.

    An entry is a ``.py`` file (its folder goes on ``sys.path``, its stem is the
    module), a folder (every public ``.py`` file in it), or an importable module
    name.  A missing path raises ValueError naming it.
    """
    names: List[str] = []
    for entry in (e for e in entries if e):
        if entry.endswith(".py") or os.sep in entry or os.path.isdir(entry):
            path = os.path.abspath(entry)
            if os.path.isfile(path) and path.endswith(".py"):
                folder, files = os.path.dirname(path), [os.path.basename(path)]
            elif os.path.isdir(path):
                folder = path
                files = sorted(f for f in os.listdir(path) if f.endswith(".py") and not f.startswith("_"))
            else:
                raise ValueError("--workloads %s: no such .py file or folder" % entry)
            if folder not in sys.path:
                sys.path.insert(0, folder)
            names.extend(f[: -len(".py")] for f in files)
        else:
            names.append(entry)
    return names


def workload_modules(user: Sequence[str] = ()) -> List[str]:
    """Modules that declare workloads, as importable names.

    Every public module of the ``workloads`` package (dropping a file in adds
    workloads), then the modules named, comma-separated, in
    ``$GILBENCH_WORKLOAD_MODULES``, then the user's ``--workloads`` entries ``user``.
    """
    here = [os.path.dirname(os.path.abspath(__file__))]
    names = [
        "workloads." + i.name
        for i in pkgutil.iter_modules(here)
        if not i.name.startswith("_") and i.name not in NOT_WORKLOADS
    ]
    names = sorted(names) + [m for m in os.environ.get(EXTRA_MODULES_ENV, "").split(",") if m]
    return names + user_workload_modules(user)


def import_workload_module(name: str) -> None:
    """Import one workload module in a benchmark process, the user's folders
    (``$GILBENCH_WORKLOADS``, set by the run) on ``sys.path`` first."""
    user_workload_modules(os.environ.get(USER_WORKLOADS_ENV, "").split(os.pathsep))
    importlib.import_module(name)


def declared(name: str) -> Workload:
    """The declaration of workload ``name``, from the modules imported so far: its function
    and its shared-state factory, for code that runs a kernel without gilbench's measuring
    code (``validation/independent.py``'s child).  KeyError if no module declared it."""
    return _REGISTRY[name]


def load_all(user: Sequence[str] = ()) -> Dict[str, Workload]:
    """Import every workload module, the user's ``--workloads`` entries ``user`` too, and
    return the registry, in declaration order."""
    for mod in workload_modules(user):
        importlib.import_module(mod)
    return dict(_REGISTRY)


def cpu_count() -> int:
    """CPUs a run may use: its affinity (``taskset``), at most its cgroup's CPU quota
    (``workloads._machine.usable_cpus``)."""
    return usable_cpus()


def worker_ladder(cpus: int, oversubscribe: bool = False) -> List[int]:
    """Worker counts measured on a machine where a run may use ``cpus`` CPUs.

    Powers of two up to the CPUs, and the CPU count itself: 1, 2 on two CPUs; 1, 2, 3
    on three; 1, 2, 4, 8, 16 on sixteen.  No count above the CPUs unless
    ``oversubscribe`` adds twice the CPUs: on a 2-CPU machine that point was a third of
    every round, and what it shows (k threads time-sliced on fewer CPUs) is a property
    of the OS's scheduler more than of the interpreter.
    """
    counts = {cpus}
    power = 1
    while power < cpus:
        counts.add(power)
        power *= 2
    if oversubscribe:
        counts.add(2 * cpus)
    return sorted(counts)


# How a run spreads its benchmarks over processes (``workloads._runner``): ``blocks``, one
# process per workload and env, its benchmarks alternating (the default); ``processes``, one
# process per benchmark and round, kept for comparing the two.
LAYOUTS = ("blocks", "processes")


@dataclass(frozen=True)
class Layout:
    """How a profile measures in one layout (``workloads._runner``): ``values`` per benchmark
    per process, ``scale`` × the profile's work per value, and ``min_value``, the shortest a
    value may be (seconds; 0: no minimum).  Where a JIT is on, ``jit_scale`` and
    ``jit_min_value`` replace them (0: the same): a JIT compiles during its full-size
    warm-ups and keeps the value length that lets it.

    Work sizes are then scaled up per interpreter (PyPy's JIT finishes the declared work in
    a few ms) until the serial value is at least ``min_value`` × the most workers that can
    run at once, so that every parallel value is long enough too.  Sizes only grow from
    there, so most CPython builds measure identical work.
    """

    values: int
    min_value: float = 0.0
    scale: float = 1.0
    jit_min_value: float = 0.0
    jit_scale: float = 0.0

    def sizing(self, jit: bool) -> Tuple[float, float]:
        """(scale, min_value) for an interpreter with or without a JIT."""
        if jit:
            return self.jit_scale or self.scale, self.jit_min_value or self.min_value
        return self.scale, self.min_value


@dataclass(frozen=True)
class Profile:
    """How long and how often to measure: identical for every interpreter.

    A run is a sequence of rounds: in round r every open benchmark of every env gets
    one fresh process (``blocks``: one per workload and env, its benchmarks alternating;
    ``processes``: one per benchmark), in a shuffled order.  ``rounds`` is the minimum;
    with a ``precision`` target, bench-all keeps measuring a benchmark until every
    headline ratio that uses it has a 95% interval within ±precision, up to
    ``max_rounds``.  ``blocks`` and ``processes`` say how each layout measures.
    ``warmups`` passes precede the values (in ``blocks``, where there is no JIT, at a
    quarter of the size and not recorded); ``jit_warmups`` replaces it, at full size,
    where a JIT is on.  ``latency_requests`` is the requests per latency configuration
    over the minimum rounds (one value is one request).  ``workers`` replaces the
    machine's worker ladder: smoke checks every workload and mode at one count, with
    only the first parameter set of each workload and the ends of pinned worker lists.
    """

    name: str
    rounds: int
    warmups: int
    scale: float
    timeout: float  # seconds per benchmark process before it is stopped
    latency_requests: int
    blocks: Layout
    processes: Layout
    workers: Optional[Tuple[int, ...]] = None
    max_rounds: int = 0  # 0: the same as rounds
    jit_warmups: int = 0  # 0: the same as warmups
    precision: float = 0.0  # target relative half-width of headline ratios; 0: none

    def layout(self, name: str) -> Layout:
        """The settings of layout ``name`` (``blocks`` or ``processes``)."""
        return self.processes if name == "processes" else self.blocks

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        """The record ``to_json`` wrote (a run's options, an env's status file)."""
        fields = dict(data)
        fields["blocks"], fields["processes"] = Layout(**data["blocks"]), Layout(**data["processes"])
        if fields.get("workers") is not None:
            fields["workers"] = tuple(fields["workers"])
        return cls(**fields)

    @property
    def most_rounds(self) -> int:
        return max(self.rounds, self.max_rounds)

    def under_budget(self) -> Profile:
        """The profile as a run with a time budget measures it: the budget bounds the
        rounds (``BUDGETED_MOST_ROUNDS``), so that a cheap block whose ratio is still wide
        (the flagship's, typically) gets the rounds it needs from the budget's last minutes."""
        return replace(self, max_rounds=BUDGETED_MOST_ROUNDS)

    def warmups_for(self, jit: bool) -> int:
        return max(self.warmups, self.jit_warmups) if jit else self.warmups

    @property
    def latency_values(self) -> int:
        """Requests per pyperf process, so the minimum rounds reach ``latency_requests``."""
        return -(-self.latency_requests // self.rounds)


# A benchmark's most rounds under --budget without --max-rounds: in effect none, the budget
# and its plan bound them (``harness.precision.plan``).
BUDGETED_MOST_ROUNDS = 1000

# ``blocks`` follows the variance budget (``tools/variance_budget.py``, docs/how-sure.md): a
# value varies by 10-20% whatever its length between 50 and 300 ms, consecutive values of a
# process hardly correlate, and processes and rounds add little; so values are short, and
# several per process spread its fixed cost (0.6-0.7 s).  ``default``: without a JIT, eight
# values of an eighth of the declared work (half the length of the quarter that the budget
# measured: 1.5-1.8x less variance x time in its model if the noise per value holds, which
# ``tools/scheduler_comparison.py`` measures); with one, eight values of a quarter after four
# full-length warm-ups (1.1-1.4x, the value length the budget measured).  ``processes``
# measures one value per process and round, for comparing the two layouts.
PROFILES: Dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "smoke",
            rounds=1,
            warmups=1,
            scale=0.05,
            timeout=60.0,
            latency_requests=10,
            workers=(2,),
            blocks=Layout(2),
            processes=Layout(2),
        ),
        Profile(
            "fast",
            rounds=3,
            warmups=1,
            jit_warmups=3,
            scale=0.25,
            timeout=300.0,
            latency_requests=200,
            blocks=Layout(2, 0.0125, 0.25),
            processes=Layout(1, 0.05),
        ),
        Profile(
            "default",
            rounds=3,
            max_rounds=16,
            warmups=1,
            jit_warmups=4,
            scale=1.0,
            timeout=900.0,
            latency_requests=300,
            precision=0.03,
            blocks=Layout(8, 0.0125, 0.125, jit_min_value=0.025, jit_scale=0.25),
            processes=Layout(1, 0.1),
        ),
        Profile(
            "rigorous",
            rounds=8,
            max_rounds=40,
            warmups=2,
            jit_warmups=6,
            scale=1.0,
            timeout=1800.0,
            latency_requests=3000,
            precision=0.02,
            blocks=Layout(8, 0.05, 0.5),
            processes=Layout(3, 0.2),
        ),
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


def suites_of(registry: Dict[str, Workload]) -> List[str]:
    """Every family the registry's workloads belong to, in declaration order."""
    return list(dict.fromkeys(s for wl in registry.values() for s in wl.suites))


def select(registry: Dict[str, Workload], workloads: Sequence[str] = (), suites: Sequence[str] = ()) -> List[Workload]:
    """The workloads a run measures: those named and those of the families named, in
    declaration order; with neither, every workload not ``on_request``."""
    if not workloads and not suites:
        return [wl for wl in registry.values() if not wl.on_request]
    return [wl for wl in registry.values() if wl.name in workloads or set(wl.suites) & set(suites)]


def plan(
    registry: Dict[str, Workload],
    profile: Profile,
    workloads: Optional[Sequence[str]] = None,
    modes: Optional[Sequence[str]] = None,
    ladder: Optional[Sequence[int]] = None,
    suites: Optional[Sequence[str]] = None,
    oversubscribe: bool = False,
) -> List[Bench]:
    """Expand workloads × modes × worker counts × params into benchmarks.

    ``workloads`` and ``suites`` choose what is measured (``select``).  The plan depends
    only on the declarations, the profile and the CPUs the run may use, so every
    interpreter on a machine gets the same list.  ``ladder`` (``--workers``) may hold
    counts above the CPUs; ``oversubscribe`` adds twice the CPUs to it, or to the
    machine's ladder.
    """
    cpus = cpu_count()
    ladder = list(ladder or profile.workers or worker_ladder(cpus))
    if oversubscribe:
        ladder = sorted(set(ladder) | {2 * cpus})
    chosen = select(registry, workloads or (), suites or ())
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
                    if (
                        count == 1
                        and mode in SAME_AS_SERIAL_AT_1
                        and not wl.self_timed
                        and wl.func_for(mode) is wl.func_for("serial")
                    ):
                        continue  # one worker thread running the serial function IS the serial benchmark
                    benches.append(Bench(wl, mode, count, size, tuple(sorted(extra.items()))))
    return benches


def split(total: int, parts: int) -> List[int]:
    """Split ``total`` units into ``parts`` near-equal chunks (strong scaling)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
