"""The pyperformance benchmarks gilbench can run on every interpreter, and how to run them.

Why this module exists.  gilbench's own workloads show what the GIL does to
concurrency; pyperformance's benchmarks show what a build costs on the single-threaded
code people already know (nbody, richards, json, regex...).  gilbench runs them through
its own per-interpreter envs, one pyperf *worker* process at a time, never through
pyperformance's venv machinery: that keeps the interleaved rounds, the envs and the
metadata of gilbench's own workloads, and it needs nothing but pyperf in each env.

Which benchmarks.  ``SUBSET`` holds those that need only pyperf and the standard
library, run one pyperf benchmark per script, run in worker mode on CPython 3.9-3.13,
free-threaded 3.13t (with and without ``PYTHON_GIL=1``) and PyPy 3.9, and take between
about 50 ms and 1 s per value with calibrated loops on each; ``EXCLUDED`` says for every
other benchmark of ``PYPERFORMANCE_VERSION``'s MANIFEST why it is left out.

The benchmark scripts come from the ``pyperformance`` package installed on the host
(``benchmark_dir``); the measured interpreters only run them, with their own pyperf.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import pyperf

from workloads.host import BenchSpec, InterpreterFacts, UserError, to_pyperf

# The release whose MANIFEST ``SUBSET`` and ``EXCLUDED`` describe: another release may
# add, drop or change benchmarks, so the install hint names this one.
PYPERFORMANCE_VERSION = "1.14.0"

INSTALL_HINT = "pip install pyperformance==%s" % PYPERFORMANCE_VERSION


class PyperformanceError(UserError):
    """pyperformance is missing, a benchmark is unknown, or a results file is unusable:
    a ``UserError``, so the command line says it in one line and exits with status 2."""


@dataclass(frozen=True)
class Benchmark:
    """One pyperformance benchmark as pyperformance's MANIFEST defines it."""

    name: str  # pyperformance's name
    kind: str  # what it exercises: the spread across kinds is why it was chosen
    directory: str  # its folder under the benchmark data files
    args: tuple[str, ...] = ()  # pyperformance's ``extra_opts``: they select the variant

    def script(self, root: Path) -> Path:
        return root / self.directory / "run_benchmark.py"


# Checked in worker mode (values 1, warmups 1, calibrated loops) on CPython 3.9, 3.10,
# 3.11, 3.12, 3.13.5, 3.13.5t with and without PYTHON_GIL=1, and PyPy 3.9 (7.3.11): one
# value lasted 0.05-0.8 s on each (in two passes on a noisy 2-vCPU VM).
BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("nbody", "numeric: float arithmetic in lists", "bm_nbody"),
    Benchmark("spectral_norm", "numeric: small calls and float arithmetic", "bm_spectral_norm"),
    Benchmark("float", "numeric: float objects made and freed", "bm_float"),
    Benchmark("pidigits", "numeric: big integers", "bm_pidigits"),
    Benchmark("richards", "object-heavy: method calls and attributes", "bm_richards"),
    Benchmark("deltablue", "object-heavy: a constraint solver", "bm_deltablue"),
    Benchmark("chaos", "object-heavy: float objects and splines", "bm_chaos"),
    Benchmark("go", "object-heavy: a game-tree search", "bm_go"),
    Benchmark("comprehensions", "calls: comprehensions and small functions", "bm_comprehensions"),
    Benchmark("generators", "generators", "bm_generators"),
    Benchmark("coroutines", "coroutines: chains of await", "bm_coroutines"),
    Benchmark("async_generators", "asyncio: async generators", "bm_async_generators"),
    Benchmark("regex_v8", "strings: regular expressions (V8's suite)", "bm_regex_v8"),
    Benchmark("regex_dna", "strings: regular expressions over DNA", "bm_regex_dna"),
    Benchmark("json_dumps", "serialization: json encoding", "bm_json_dumps"),
    Benchmark("json_loads", "serialization: json decoding", "bm_json_loads"),
    Benchmark("pickle_pure_python", "serialization: pickle in pure Python", "bm_pickle", ("--pure-python", "pickle")),
    Benchmark("gc_traversal", "memory: the cyclic garbage collector", "bm_gc_traversal"),
)

SUBSET: tuple[str, ...] = tuple(b.name for b in BENCHMARKS)

# Why each other benchmark of the MANIFEST is left out.  Times are one value with
# calibrated loops, over the interpreters above.
_THIRD_PARTY = "third-party dependency: "
_MANY = "one script holds %d pyperf benchmarks: one worker runs them all, at the first one's loop count"
_ASYNC_TREE_TG = "needs asyncio.TaskGroup (Python 3.11+): AttributeError on 3.9, 3.10 and PyPy 3.9"
_ASYNC_TREE_EAGER = "needs Python 3.12 (pyproject): elsewhere it silently runs without the eager task factory"
_TIME = "runs everywhere; left out to save measuring time (%s)"
EXCLUDED: dict[str, str] = {
    "2to3": "times a child process per loop (startup included; command_max_rss, no mem_max_rss); 2.1 s on PyPy",
    "argparse": _TIME % "stdlib argument parsing",
    "argparse_subparsers": _TIME % "a variant of argparse",
    "async_tree": "one value 0.6-1.6 s (over 1 s on 3.9-3.11); async_generators covers asyncio",
    "async_tree_cpu_io_mixed": "one value 0.7-2.1 s (over 1 s on 3.9-3.11 and 3.13)",
    "async_tree_io": "one value 0.8-4.1 s (over 1 s on every CPython)",
    "async_tree_memoization": "one value 0.7-2.5 s (over 1 s on 3.9-3.11 and 3.13)",
    "async_tree_eager": _ASYNC_TREE_EAGER,
    "async_tree_eager_cpu_io_mixed": _ASYNC_TREE_EAGER,
    "async_tree_eager_io": _ASYNC_TREE_EAGER,
    "async_tree_eager_memoization": _ASYNC_TREE_EAGER,
    "async_tree_tg": _ASYNC_TREE_TG,
    "async_tree_cpu_io_mixed_tg": _ASYNC_TREE_TG,
    "async_tree_io_tg": _ASYNC_TREE_TG,
    "async_tree_memoization_tg": _ASYNC_TREE_TG,
    "async_tree_eager_tg": _ASYNC_TREE_TG,
    "async_tree_eager_cpu_io_mixed_tg": _ASYNC_TREE_TG,
    "async_tree_eager_io_tg": _ASYNC_TREE_TG,
    "async_tree_eager_memoization_tg": _ASYNC_TREE_TG,
    "asyncio_tcp": "one value 0.6-4.3 s (over 1 s on 3.9-3.11, 3.13t and PyPy); local sockets",
    "asyncio_tcp_ssl": "one value 2-12 s on every interpreter; local sockets and OpenSSL",
    "asyncio_websockets": _THIRD_PARTY + "websockets",
    "base64": _MANY % 11,
    "bpe_tokeniser": "too slow: one value 2.7 s (PyPy) to 11.6 s (3.13t)",
    "concurrent_imap": _MANY % 2 + "; a pool of threads and processes, outside a serial benchmark",
    "coverage": _THIRD_PARTY + "coverage",
    "gc_collect": _TIME % "gc_traversal covers the cyclic GC",
    "chameleon": _THIRD_PARTY + "Chameleon",
    "crypto_pyaes": _THIRD_PARTY + "pyaes",
    "dask": _THIRD_PARTY + "dask[distributed] (and Python 3.12+)",
    "deepcopy": _MANY % 3,
    "django_template": _THIRD_PARTY + "Django, legacy-cgi",
    "dulwich_log": _THIRD_PARTY + "dulwich",
    "docutils": _THIRD_PARTY + "docutils",
    "fannkuch": _TIME % "list permutations; 0.1-0.7 s",
    "fastapi": _THIRD_PARTY + "fastapi, uvicorn, httpx",
    "genshi": _THIRD_PARTY + "Genshi",
    "hexiom": _TIME % "a search, as in go",
    "html5lib": _THIRD_PARTY + "html5lib",
    "logging": _MANY % 3,
    "mako": _THIRD_PARTY + "Mako",
    "mdp": "too slow: one value 4.0-6.2 s on every interpreter",
    "meteor_contest": _TIME % "a search over sets, as in go",
    "networkx": _THIRD_PARTY + "networkx (and Python 3.11+)",
    "networkx_connected_components": _THIRD_PARTY + "networkx (and Python 3.11+)",
    "networkx_k_core": _THIRD_PARTY + "networkx (and Python 3.11+)",
    "nqueens": _TIME % "generators and permutations, as in generators",
    "pathlib": _TIME % "mostly file-system calls",
    "pickle": "times the C accelerator (_pickle), not the interpreter; pickle_pure_python runs the same code in Python",
    "pickle_dict": "times the C accelerator (_pickle), not the interpreter",
    "pickle_list": "times the C accelerator (_pickle), not the interpreter",
    "pprint": _MANY % 2,
    "pyflate": "one value 0.26-1.13 s (over 1 s on 3.9, 3.10, 3.13t with and without the GIL)",
    "python_startup": "times a child process's start-up, not code in the measured process (no mem_max_rss)",
    "python_startup_no_site": "times a child process's start-up, not code in the measured process (no mem_max_rss)",
    "raytrace": "one loop takes 0.9-1.5 s on 3.13t (0.35 s on 3.13), so no value can be under 1 s there",
    "regex_compile": _TIME % "re's compiler in Python; regex_v8 and regex_dna cover regular expressions",
    "regex_effbot": _TIME % "regex_v8 and regex_dna cover regular expressions",
    "richards_super": _TIME % "richards with super() calls",
    "scimark": _MANY % 5,
    "sphinx": _THIRD_PARTY + "Sphinx (and Python 3.11+)",
    "sqlalchemy_declarative": _THIRD_PARTY + "SQLAlchemy",
    "sqlalchemy_imperative": _THIRD_PARTY + "SQLAlchemy",
    "sqlglot_v2": _THIRD_PARTY + "sqlglot",
    "sqlglot_v2_parse": _THIRD_PARTY + "sqlglot",
    "sqlglot_v2_transpile": _THIRD_PARTY + "sqlglot",
    "sqlglot_v2_optimize": _THIRD_PARTY + "sqlglot",
    "sqlite_synth": _TIME % "mostly SQLite's C code",
    "sympy": _THIRD_PARTY + "SymPy",
    "telco": _TIME % "decimal arithmetic",
    "tomli_loads": _THIRD_PARTY + "tomli",
    "tornado_http": _THIRD_PARTY + "tornado",
    "typing_runtime_protocols": _TIME % "isinstance() against typing protocols",
    "unpack_sequence": "a micro-benchmark whose work PyPy's JIT removes (4 million loops per 0.1 s value)",
    "unpickle": "times the C accelerator (_pickle), not the interpreter",
    "unpickle_list": "times the C accelerator (_pickle), not the interpreter",
    "unpickle_pure_python": _TIME % "the other half of pickle_pure_python",
    "xdsl": _THIRD_PARTY + "xdsl (and Python 3.10+)",
    "xml_etree": _MANY % 4,
}

_BY_NAME = {b.name: b for b in BENCHMARKS}


def benchmark_dir() -> Path:
    """The benchmark data files of the ``pyperformance`` package installed here.

    Located with ``importlib.util.find_spec``, without importing pyperformance: only its
    files are needed.  ``PyperformanceError`` when it is not installed or ships no
    benchmarks.
    """
    spec = importlib.util.find_spec("pyperformance")
    if spec is None or not spec.submodule_search_locations:
        raise PyperformanceError("pyperformance is not installed: %s" % INSTALL_HINT)
    root = Path(next(iter(spec.submodule_search_locations))) / "data-files" / "benchmarks"
    if not root.is_dir():
        raise PyperformanceError("pyperformance has no benchmark data files at %s: %s" % (root, INSTALL_HINT))
    return root


def lookup(name: str) -> Benchmark:
    """The ``SUBSET`` benchmark called ``name``; ``PyperformanceError`` naming it (and why
    it is excluded, when it is) otherwise."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name in EXCLUDED:
        raise PyperformanceError("pyperformance benchmark %r is not in gilbench's subset: %s" % (name, EXCLUDED[name]))
    raise PyperformanceError("unknown pyperformance benchmark %r (gilbench runs: %s)" % (name, ", ".join(SUBSET)))


def script(name: str) -> Path:
    """The ``run_benchmark.py`` of benchmark ``name`` in the installed pyperformance."""
    path = lookup(name).script(benchmark_dir())
    if not path.is_file():
        raise PyperformanceError("pyperformance benchmark %r: no script at %s: %s" % (name, path, INSTALL_HINT))
    return path


def _base_command(python: str | Path, name: str, part: Path) -> list[str]:
    """``python run_benchmark.py [variant args] --worker``, writing to ``part``.

    The variant arguments come first, as pyperformance passes them.  Without
    ``--worker-task`` a worker runs every benchmark of its script; each script of
    ``SUBSET`` has one.
    """
    return [str(python), str(script(name)), *lookup(name).args, "--worker", "--output", str(part)]


def worker_command(python: str | Path, name: str, part: Path, *, values: int, warmups: int, loops: int) -> list[str]:
    """One pyperf worker process: ``warmups`` then ``values`` values of ``loops`` loops
    each, into a new pyperf file ``part`` (pyperf refuses to overwrite one)."""
    counts = ["--values", str(values), "--warmups", str(warmups), "--loops", str(loops)]
    return [*_base_command(python, name, part), *counts]


def calibrate_command(python: str | Path, name: str, part: Path, *, min_time: float = 0.1) -> list[str]:
    """pyperf's loop calibration in one worker: loops double from 1 until a value lasts
    ``min_time`` seconds (pyperf's default is 0.1 s); ``calibrated_loops(part)`` reads
    the result.  One warm-up first, so PyPy's JIT has compiled the loop before it counts."""
    calibration = ["--calibrate-loops", "--warmups", "1", "--values", "1", "--min-time", repr(min_time)]
    return [*_base_command(python, name, part), *calibration]


def _load_one(part: Path) -> tuple[pyperf.BenchmarkSuite, pyperf.Benchmark]:
    """The suite in ``part`` and its one benchmark; ``PyperformanceError`` otherwise."""
    try:
        suite = pyperf.BenchmarkSuite.load(str(part))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PyperformanceError("%s: not a readable pyperf file (%s)" % (part, exc)) from None
    benchmarks = suite.get_benchmarks()
    if len(benchmarks) != 1:
        raise PyperformanceError("%s: %d benchmarks, expected one worker's one" % (part, len(benchmarks)))
    return suite, benchmarks[0]


def calibrated_loops(part: Path) -> int:
    """The loops a ``calibrate_command`` worker settled on."""
    _suite, bench = _load_one(part)
    return bench.get_runs()[-1].get_loops()


def tag_results(part: Path, metadata: Mapping[str, Any]) -> None:
    """Rewrite the pyperf file ``part`` of one worker so that every run carries
    ``metadata`` (gilbench's keys: workload, mode, workers, env, run_id, round...) and
    the benchmark is called ``metadata["name"]``.

    Through pyperf's own ``Benchmark.update_metadata`` (what ``pyperf convert
    --update-metadata`` uses), so the file stays one that ``pyperf stats`` reads.  The
    metadata goes through ``workloads.host.to_pyperf`` first, as gilbench's own
    workloads' does (booleans as strings, None dropped).  It may not change ``loops``,
    ``inner_loops`` or ``unit``: a pyperf value is a raw time over loops * inner_loops,
    so the values would silently mean another time (gilbench's workloads record
    ``loops=1``; a pyperformance worker's loops are its own).
    """
    tags = to_pyperf(metadata)
    if not tags.get("name"):
        raise PyperformanceError("%s: tag_results needs a benchmark name in the metadata" % part)
    suite, bench = _load_one(part)
    run = bench.get_runs()[0]
    measured = {"loops": run.get_loops(), "inner_loops": run.get_inner_loops(), "unit": bench.get_unit()}
    clashes = [key for key, value in measured.items() if key in tags and tags[key] != value]
    if clashes:
        raise PyperformanceError("%s: metadata would change pyperf's %s" % (part, ", ".join(clashes)))
    bench.update_metadata(tags)
    suite.dump(str(part), replace=True)


# -- in bench-all's rounds -------------------------------------------------------------

PREFIX = "pyperformance."  # gilbench's name of a pyperformance benchmark: ``pyperformance.nbody``
TAG = "pyperformance"  # the tag its rows carry, so the analysis tells them from gilbench's workloads
PEAK_RSS_SUFFIX = ".peak_rss"  # beside a worker's pyperf file: its peak RSS in bytes
CALIBRATION_TIMEOUT = 300.0
SMOKE_MIN_TIME = 0.01  # a value's shortest length where the profile sets none (smoke)

# The measured process: the benchmark script run as ``__main__`` by a few lines that
# record its own peak RSS (Linux ``VmHWM``) when it exits, into the file named first.
# Not pyperf's ``mem_max_rss`` (``ru_maxrss``, which Linux carries over from the parent
# across fork and exec; see ``workloads.memory.peak_resident_bytes``), and nothing imported but
# the standard library modules below, so the figure is the benchmark's.  Without
# ``/proc`` it writes nothing, and the run records no ``peak_rss``.
PEAK_WRAPPER = """\
import atexit, os, runpy, sys
out, script = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
sys.path[0] = os.path.dirname(os.path.abspath(script))
def _peak():
    try:
        with open('/proc/self/status') as fh:
            kb = [line.split()[1] for line in fh if line.startswith('VmHWM:')]
    except OSError:
        return
    if kb:
        with open(out, 'w') as fh:
            fh.write(str(int(kb[0]) * 1024))
atexit.register(_peak)
runpy.run_path(script, run_name='__main__')
"""


def choose(text: str) -> tuple[str, ...]:
    """``subset`` (``SUBSET``) or ``NAME,NAME``: the benchmarks ``--pyperformance`` asks for.

    ``PyperformanceError`` (one line) for an empty list or a name outside ``SUBSET``,
    listing the valid ones, and when pyperformance is not installed."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise PyperformanceError("--pyperformance: expected 'subset' or benchmark names (%s)" % ", ".join(SUBSET))
    chosen = SUBSET if names == ["subset"] else tuple(dict.fromkeys(names))
    for name in chosen:
        try:
            lookup(name)
        except PyperformanceError as exc:
            valid = "" if "gilbench runs:" in str(exc) else " (gilbench runs: %s)" % ", ".join(SUBSET)
            raise PyperformanceError("--pyperformance: %s%s" % (exc, valid)) from None
    benchmark_dir()
    return chosen


def min_time(profile: Any) -> float:
    """How long a calibrated value lasts at least: the profile's shortest value in the
    one-benchmark-per-process layout (``workloads.host.Layout.min_value``), as for work sizes."""
    return profile.processes.min_value or SMOKE_MIN_TIME


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def calibrate(target: Any, name: str, seconds: float) -> BenchSpec:
    """Benchmark ``name`` planned for ``target`` (a ``workloads.host.Target``): its loops
    calibrated on that interpreter so that a value lasts at least ``seconds`` (the spec's
    ``size``), or unavailable, with the reason, when the script cannot run there."""
    bench = lookup(name)
    spec = BenchSpec(
        name=PREFIX + name,
        workload=PREFIX + name,
        module=TAG,
        mode="serial",
        workers=1,
        size=1,
        tags=(TAG,),
    )
    scratch = Path(tempfile.mkdtemp(prefix="gilbench-pyperformance-"))
    try:
        part = scratch / "calibration.json"
        cmd = calibrate_command(target.python, name, part, min_time=seconds)
        try:
            proc = subprocess.run(
                cmd, cwd=target.cwd, env=target.environ, capture_output=True, text=True, timeout=CALIBRATION_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            return replace(spec, unavailable="calibration timed out after %.0f s" % CALIBRATION_TIMEOUT)
        if proc.returncode != 0 or not part.exists():
            why = _last_line(proc.stderr or proc.stdout)
            return replace(spec, unavailable="pyperformance %s does not run here: %s" % (bench.name, why))
        return replace(spec, size=calibrated_loops(part))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class External:
    """How an env's ``EnvRun`` runs the pyperformance benchmarks of its plan
    (``workloads.host.EnvRun.external``): one pyperf worker process per benchmark and
    round, through ``PEAK_WRAPPER``, at the loops calibrated for that env, then tagged
    with gilbench's metadata (``tag_results``) and its peak RSS."""

    def handles(self, spec: BenchSpec) -> bool:
        return spec.module == TAG and spec.name.startswith(PREFIX)

    def command(self, run: Any, spec: BenchSpec, part: str, round_: int, values: int, warmups: int) -> list[str]:
        name = spec.name[len(PREFIX) :]
        cmd = worker_command(run.target.python, name, Path(part), values=values, warmups=warmups, loops=spec.size)
        return [cmd[0], "-c", PEAK_WRAPPER, part + PEAK_RSS_SUFFIX, *cmd[1:]]

    def finish(self, run: Any, spec: BenchSpec, part: str, round_: int) -> None:
        facts = InterpreterFacts.from_json(run.status.get("interpreter", {}))
        peak_file = Path(part + PEAK_RSS_SUFFIX)
        peak = int(peak_file.read_text()) if peak_file.exists() else None
        name = spec.name[len(PREFIX) :]
        values = len(_load_one(Path(part))[1].get_runs()[0].values)
        tag_results(
            Path(part),
            {
                "name": spec.name,
                "workload": spec.workload,
                "mode": "serial",
                "workers": 1,
                "work_size": 1,  # pyperf's values are per loop already
                "round": round_,
                "block": "serial:1",
                "workload_sha256": _sha256(script(name)),
                "profile": run.profile.name,
                "profile_settings": "values=%d warmups=%d loops=%d (pyperformance %s)"
                % (values, run.status.get("warmups", run.profile.warmups), spec.size, PYPERFORMANCE_VERSION),
                "run_id": run.run_id,
                "env": run.target.env,
                "implementation": facts.implementation,
                "implementation_version": facts.implementation_version,
                "version": facts.version,
                "free_threaded_build": facts.free_threaded_build,
                "gil_enabled": facts.gil_enabled,
                "python_gil_env": facts.python_gil_env,
                "jit": facts.jit,
                "build_pgo": facts.build.pgo,
                "build_lto": facts.build.lto,
                "build_source_sha256": facts.build.source_sha256,
                "build_pair_id": facts.build.pair_id,
                "peak_rss": peak,
                "tags": [TAG],
            },
        )


def attach(run: Any, names: tuple[str, ...], log: Any = print) -> None:
    """Plan ``names`` in the prepared env ``run`` (a ``workloads.host.EnvRun``): calibrate
    those not planned yet (a resumed run keeps its loops) and let ``run`` measure them."""
    planned = {s.name for s in run.specs}
    seconds = min_time(run.profile)
    specs = []
    for name in names:
        if PREFIX + name in planned:
            continue
        spec = calibrate(run.target, name, seconds)
        log(
            "%s: %s" % (spec.name, spec.unavailable)
            if spec.unavailable
            else "%s: %d loops per value (>= %.0f ms)" % (spec.name, spec.size, seconds * 1e3)
        )
        specs.append(spec)
    run.extend(specs)
    run.external = External()
