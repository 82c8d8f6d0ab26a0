"""The contract between the runner (inside each measured interpreter) and the host.

One registry of gilbench's pyperf metadata keys with their types (like pyperf's own
``_metadata.py``), the results layout, the outcome of a benchmark, and the
benchmark plan a runner hands to the host.  Standard library only, Python 3.9+ and
PyPy: the runner imports it in every measured interpreter, the host in its own.

Typed, so that no reader compares the strings "True" and "False": booleans and
integers are real ones both ways, and files that hold them as strings still load.
"""

from __future__ import annotations

import enum
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from workloads._machine import Machine

# -- results layout -------------------------------------------------------------------
# results/<run-id>/<env>.json                 pyperf files, and nothing else matches *.json
# results/<run-id>/meta/run.json              the bench-all manifest
# results/<run-id>/meta/<env>.status.json     the plan and each benchmark's outcome
# results/<run-id>/meta/<env>.timeline.json   a GIL timeline capture
# Runs written before the meta/ folder existed keep those files beside the pyperf
# files; readers look in both places.
META_DIR = "meta"
MANIFEST = "run.json"
STATUS_SUFFIX = ".status.json"
TIMELINE_SUFFIX = ".timeline.json"
STATUS_FORMAT = "gilbench-status/1"
# Beside a benchmark process's pyperf file: the benchmarks of its block that raised, with the error.
ERRORS_SUFFIX = ".errors.json"
MANIFEST_FORMAT = "gilbench-run/1"


def meta_path(run_dir: str, name: str) -> str:
    """Where a sidecar file (manifest, status, timeline) of a run is written."""
    return os.path.join(run_dir, META_DIR, name)


@dataclass(frozen=True)
class EnvFiles:
    """Where one env's files of a run are: every writer and reader asks ``env_files``."""

    suite: str  # the pyperf file
    status: str  # the plan and each benchmark's outcome
    timeline: str  # the GIL timeline capture


def env_files(run_dir: str, env: str) -> EnvFiles:
    """The files of ``env`` in the run folder ``run_dir`` (``results/<run-id>``)."""
    return EnvFiles(
        suite=os.path.join(run_dir, env + ".json"),
        status=meta_path(run_dir, env + STATUS_SUFFIX),
        timeline=meta_path(run_dir, env + TIMELINE_SUFFIX),
    )


def find_meta(run_dir: str, name: str) -> Optional[str]:
    """Where a sidecar file of a run is, in the current layout or the old one."""
    for path in (meta_path(run_dir, name), os.path.join(run_dir, name)):
        if os.path.exists(path):
            return path
    return None


class UserError(Exception):
    """Input the user can fix (an argument, a file, a missing interpreter): every command
    reports it as one line, ``error: …``, and exits with status 2, without a traceback."""


class Outcome(str, enum.Enum):
    """What happened to one planned benchmark."""

    OK = "ok"  # measured in every round it needed
    PARTIAL = "partial"  # measured in some rounds; a resumed run goes on
    INTERRUPTED = "interrupted"  # the user stopped the run while it was measured
    FAILED = "failed"  # a process crashed or exited non-zero
    TIMEOUT = "timeout"  # a process outlived the timeout and was killed
    UNAVAILABLE = "unavailable"  # cannot run on this interpreter (with the reason)

    @property
    def failed(self) -> bool:
        return self in (Outcome.FAILED, Outcome.TIMEOUT)

    @property
    def open(self) -> bool:
        """Still to be measured by a resumed run."""
        return self in (Outcome.PARTIAL, Outcome.INTERRUPTED)


def _to_list(value: Any) -> list:
    """pyperf allows lists only for ``tags``: other lists travel comma-separated."""
    return [v for v in value.split(",") if v] if isinstance(value, str) else list(value)


def _to_ints(value: Any) -> list:
    return [int(v) for v in _to_list(value)]


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


@dataclass(frozen=True)
class Key:
    """One metadata key: its type, and what it means (shown by ``harness`` docs)."""

    type: Callable[[Any], Any]
    doc: str


# Every gilbench metadata key on a benchmark (pyperf's own keys, e.g. ``mem_max_rss``,
# ``hostname``, ``cpu_count``, are pyperf's and read as pyperf defines them).
METADATA: Dict[str, Key] = {
    "workload": Key(str, "workload name"),
    "mode": Key(str, "serial, threads, processes, interpreters, threads-nogil, threads-holding-gil"),
    "workers": Key(int, "threads, processes or interpreters used; 1 for serial"),
    "work_size": Key(int, "units of work per value, split across the workers"),
    "round": Key(int, "the round this pyperf process belongs to"),
    "block": Key(str, "the benchmarks (mode:workers) this process measured alternately, this one among them"),
    "workload_sha256": Key(str, "hash of the workload module's source"),
    "roles": Key(_to_list, "what the workload stands for in findings and charts (see workloads._registry.ROLES)"),
    "profile": Key(str, "smoke, fast, default or rigorous"),
    "profile_settings": Key(str, "values and warm-ups per process"),
    "run_id": Key(str, "shared by every env of one bench-all"),
    "env": Key(str, "the tox env name"),
    "implementation": Key(str, "sys.implementation.name"),
    "implementation_version": Key(str, "sys.implementation.version"),
    "version": Key(str, "the Python language version"),
    "free_threaded_build": Key(_to_bool, "a --disable-gil build"),
    "gil_enabled": Key(_to_bool, "sys._is_gil_enabled() after the workload's imports"),
    "python_gil_env": Key(str, "the PYTHON_GIL value; absent when unset"),
    "jit": Key(str, "on or off"),
    "switch_interval": Key(float, "sys.getswitchinterval() while measuring, seconds"),
    "build_pgo": Key(_to_bool, "built with --enable-optimizations"),
    "build_lto": Key(_to_bool, "built with --with-lto"),
    "build_source_sha256": Key(str, "sha256 of the source tarball (provisioned builds)"),
    "build_pair_id": Key(str, "shared by the two halves of a matched pair"),
    "mp_start_method": Key(str, "multiprocessing start method (processes mode)"),
    "thread_cpu_share": Key(float, "summed worker CPU time / (workers × makespan), mean over values"),
    "serial_in_process": Key(
        float,
        "one processes/interpreters worker: seconds of the same chunk in a fresh thread of this process, "
        "timed alternately with each value, mean over values",
    ),
    "peak_rss": Key(
        int,
        "bytes: this process's own peak resident memory (Linux VmHWM, reset at exec); pyperf's "
        "mem_max_rss is ru_maxrss, which Linux carries over from the parent across fork and exec",
    ),
    "bytes_per_object": Key(
        float,
        "resident bytes per object of the workload's memory probe (workloads.memory.measure_per_object): "
        "the growth of VmRSS over a known number of objects built and held in this fresh process",
    ),
    "gc_collections": Key(
        float,
        "threads and serial: garbage collections that started inside a value's timed region (gc.callbacks), "
        "mean over values; absent where the interpreter has no gc.callbacks (PyPy)",
    ),
    "gc_pause": Key(float, "seconds spent in those collections per value, mean over values; absent as gc_collections"),
    "rss_growth": Key(
        float,
        "bytes: this process's VmRSS just after a value minus just before it, mean over values (Linux only)",
    ),
    "suites": Key(_to_list, "the families the workload belongs to (--suite): its module's and those it declares"),
    "tags": Key(list, "the workload's tags"),
    "machine": Key(
        Machine.from_metadata,
        "the machine, as this process saw it (workloads._machine.Machine, compact JSON): CPU model, cores, "
        "SMT, the CPUs it may use, cgroup quota, memory, hypervisor, and the id hashed from them",
    ),
    "pinned_cpus": Key(
        _to_ints,
        "--pin-workers: the CPU each worker (serial's one included) was pinned to, in worker order",
    ),
}
PARAM_PREFIX = "param_"


def to_pyperf(meta: Mapping[str, Any]) -> Dict[str, Any]:
    """Metadata for pyperf: its value types (str, int, float, list of str); empty
    strings and None dropped (pyperf rejects them; absent means "not recorded")."""
    out: Dict[str, Any] = {}
    for key, value in meta.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = str(value)
        elif isinstance(value, (list, tuple)) and key != "tags":
            value = ",".join(map(str, value))
        out[key] = value
    return out


def from_pyperf(meta: Mapping[str, Any]) -> Dict[str, Any]:
    """Typed metadata from a pyperf benchmark: known keys converted, others kept."""
    out = dict(meta)
    for key, spec in METADATA.items():
        if key in out:
            out[key] = spec.type(out[key])
    out.setdefault("gil_enabled", True)
    out.setdefault("free_threaded_build", False)
    out.setdefault("python_gil_env", "")
    return out


def params_of(meta: Mapping[str, Any]) -> Dict[str, Any]:
    """A benchmark's extra parameters (``param_switch_ms`` -> ``switch_ms``)."""
    return {k[len(PARAM_PREFIX) :]: v for k, v in meta.items() if k.startswith(PARAM_PREFIX)}


def gil_forced(python_gil_env: Any) -> bool:
    """``PYTHON_GIL=1``: a free-threaded build asked to run with the GIL."""
    return str(python_gil_env or "") == "1"


@dataclass(frozen=True)
class BuildFacts:
    """How an interpreter was built (``_meta.build_facts``): flags, compiler, provenance."""

    config_args: str = ""
    cc: str = ""
    compiler: str = ""
    pgo: bool = False
    lto: bool = False
    source: str = ""
    source_sha256: str = ""
    pair_id: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuildFacts:
        return cls(
            **{
                k: (_to_bool(data[k]) if k in ("pgo", "lto") else str(data[k] or ""))
                for k in cls.__dataclass_fields__
                if k in data
            }
        )


@dataclass(frozen=True)
class InterpreterFacts:
    """What ``workloads/_meta.py`` reports about an interpreter, typed.

    ``_meta.py`` itself writes a plain dict (it also runs as a bare script, the
    discovery probe, where this package cannot be imported); every reader parses it
    here: discovery's probe, the env status file, the collected env table, the host's
    handle on a prepared env.
    """

    implementation: str = ""
    implementation_version: str = ""
    version: str = ""
    free_threaded_build: bool = False
    gil_enabled: bool = True
    python_gil_env: str = ""
    jit: str = "off"
    subinterpreters: str = ""  # where concurrent.interpreters comes from (``_meta.subinterpreters_source``)
    executable: str = ""
    base_prefix: str = ""
    build: BuildFacts = field(default_factory=BuildFacts)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InterpreterFacts:
        return cls(
            implementation=str(data.get("implementation", "")),
            implementation_version=str(data.get("implementation_version", "")),
            version=str(data.get("version", "")),
            free_threaded_build=_to_bool(data.get("free_threaded_build", False)),
            gil_enabled=_to_bool(data.get("gil_enabled", True)),
            python_gil_env=str(data.get("python_gil_env", "") or ""),
            jit=str(data.get("jit", "off") or "off"),
            subinterpreters=str(data.get("subinterpreters", "") or ""),
            executable=str(data.get("executable", "")),
            base_prefix=str(data.get("base_prefix", "")),
            build=BuildFacts.from_json(data.get("build") or {}),
        )

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BenchSpec:
    """One planned benchmark, as the runner hands it to the host (JSON both ways).

    The host never imports a workload module: it learns what to run, and under which
    name, from these records in each env's status file.
    """

    name: str
    workload: str
    module: str
    mode: str
    workers: int
    size: int
    params: Tuple[Tuple[str, Any], ...] = ()
    self_timed: bool = False
    tags: Tuple[str, ...] = ()
    roles: Tuple[str, ...] = ()
    unavailable: str = ""
    # The benchmarks measured alternately in one process share a block (the workload and
    # its parameters, see ``workloads._runner``); a benchmark alone in its block has its name.
    block: str = ""

    def __post_init__(self) -> None:
        if not self.block:
            object.__setattr__(self, "block", self.name)

    def to_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data["params"] = dict(self.params)
        data["tags"], data["roles"] = list(self.tags), list(self.roles)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BenchSpec:
        return cls(
            name=str(data["name"]),
            workload=str(data["workload"]),
            module=str(data["module"]),
            mode=str(data["mode"]),
            workers=int(data["workers"]),
            size=int(data["size"]),
            params=tuple(sorted(dict(data.get("params") or {}).items())),
            self_timed=bool(data.get("self_timed", False)),
            tags=tuple(data.get("tags") or ()),
            roles=tuple(data.get("roles") or ()),
            unavailable=str(data.get("unavailable") or ""),
            block=str(data.get("block") or ""),
        )


@dataclass
class BenchStatus:
    """One benchmark's entry in an env's status file."""

    workload: str
    mode: str
    workers: int
    params: Dict[str, Any] = field(default_factory=dict)
    work_size: int = 0
    status: Outcome = Outcome.PARTIAL
    runs: int = 0
    seconds: float = 0.0
    reason: str = ""

    def to_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BenchStatus:
        return cls(
            workload=str(data.get("workload", "")),
            mode=str(data.get("mode", "")),
            workers=int(data.get("workers", 0) or 0),
            params=dict(data.get("params") or {}),
            work_size=int(data.get("work_size", 0) or 0),
            status=Outcome(data.get("status", "partial")),
            runs=int(data.get("runs", 0) or 0),
            seconds=float(data.get("seconds", 0.0) or 0.0),
            reason=str(data.get("reason", "") or ""),
        )
