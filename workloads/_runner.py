"""One benchmark process: ``python -m workloads._runner --bench MODE:K ... --output PART``.

The driver starts one such process per *block*: the benchmarks of one workload (its
serial run, its threads, pool processes and subinterpreters at each worker count)
measured in this one process, alternating.  Each pass times every benchmark of the
block once; the order reverses from one pass to the next (and, for a process's
first pass, from one round to the next), so no benchmark always runs first or
after the same neighbour.  The two sides of a speedup (serial and k threads; one
and k pool workers) are then timed a fraction of a second apart, in the same
process: the machine's drift, which moves a two-vCPU VM's parallel capacity by a
third within the hour, falls on both sides alike, and so does whatever state one
process has that another has not.

A block of one benchmark with one value per process is the ``processes`` layout
(``--layout processes``), for comparing the two.  There a one-worker
``processes``/``interpreters`` benchmark also times serial in its own process
(``--pair-serial``, see ``workloads.modes``), since its block holds no serial run.

The process imports only the module that declares the workload: a countdown worker
must not import numpy or a native extension that could switch the GIL back on.
Metadata is computed after those imports, so ``gil_enabled`` is the runtime truth
for the code that is measured.  The output is a pyperf suite (one benchmark per
``--bench``, one run each), so ``pyperf stats`` reads every process's file; a
benchmark that raises is dropped from the block's remaining passes and named, with
its error, in ``PART.errors.json``, and the others are still measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import statistics
import sys
import time
import traceback
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pyperf

from workloads import _meta, _schema, memory
from workloads._machine import can_pin, pin_order, pinned_cpus, this_machine
from workloads._registry import _REGISTRY, Bench, Workload, import_workload_module
from workloads._schema import ERRORS_SUFFIX
from workloads.modes import (
    PIN_ORDER,
    SERIAL_IN_PROCESS,
    THREAD_CPU_SHARES,
    THREAD_GC,
    preparation_order,
    prepare,
    time_bench,
    watch_gc,
)


def _parse_param(text: str) -> Tuple[str, Any]:
    key, _, raw = text.partition("=")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def parse_bench(text: str) -> Tuple[str, int]:
    """``threads:2`` -> ``("threads", 2)``; ``serial`` alone means one worker."""
    mode, _, workers = text.partition(":")
    return mode, int(workers or 1)


def benchmark_metadata(bench: Bench, args: argparse.Namespace, block: Sequence[Bench]) -> Dict[str, Any]:
    """Custom pyperf metadata: the contract every later stage relies on."""
    facts = _meta.interpreter_facts()
    build = facts.pop("build")
    meta: Dict[str, Any] = {
        "name": bench.name,
        "unit": "second",
        "loops": 1,
        "workload": bench.workload.name,
        "mode": bench.mode,
        "workers": bench.workers,
        "work_size": bench.size,
        "round": args.round,
        "block": " ".join("%s:%d" % (b.mode, b.workers) for b in block),
        "workload_sha256": bench.workload.source_sha256,
        "roles": list(bench.workload.roles) or None,
        "profile": args.bench_profile,
        "profile_settings": "values=%d warmups=%d warmup_scale=%g loops=1 block=%d"
        % (args.values, args.warmups, args.warmup_scale, len(block)),
        "run_id": args.run_id,
        "env": args.env,
        "implementation": facts["implementation"],
        "implementation_version": facts["implementation_version"],
        "version": facts["version"],
        "free_threaded_build": facts["free_threaded_build"],
        "gil_enabled": facts["gil_enabled"],
        "python_gil_env": facts["python_gil_env"],
        "jit": facts["jit"],
        "switch_interval": sys.getswitchinterval(),  # after the workload's setup: the value in force
        "build_pgo": build["pgo"],
        "build_lto": build["lto"],
        "build_source_sha256": build["source_sha256"],
        "build_pair_id": build["pair_id"],
        "machine": this_machine().to_metadata(),
    }
    if bench.mode == "processes":
        meta["mp_start_method"] = multiprocessing.get_start_method()
    if PIN_ORDER:
        meta["pinned_cpus"] = pinned_cpus(PIN_ORDER, bench.workers)
    for key, value in bench.params:
        meta[_schema.PARAM_PREFIX + key] = value
    if bench.workload.tags:
        meta["tags"] = list(bench.workload.tags)
    meta["suites"] = list(bench.workload.suites)
    return _schema.to_pyperf(meta)


# A vCPU of a VM that has just woken runs a pure-Python loop up to 10% slower than one
# that has been busy for ~100 ms, beyond a warm-up value; how busy a process is before
# its first value depends on how much it imported.  So every
# benchmark process spins for a fixed time first, and all start measuring equally warm.
WARM_CPU_SECONDS = 0.1


def _warm_cpu(seconds: float) -> None:
    """Keep this CPU busy for ``seconds`` (a spin, not a sleep: a sleeping vCPU cools)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


# CPython 3.11 specialises a function's bytecode only from its 8th call on, however long
# each call runs.  A benchmark calls its workload once per value and per worker, so without
# priming a block's serial side crosses that threshold within the process (the threads
# benchmark calls the workload too) while its pool workers, called once per pass, never do,
# and the one-worker ratio measures specialisation, not the pool (docs/changelog.md has the
# figures).  So before its warm-up passes every benchmark calls its workload
# ``PRIME_CALLS`` times, in every thread, pool worker or subinterpreter it uses, on a small
# chunk: every interpreter is measured past its call-count thresholds, in every process alike.
PRIME_CALLS = 8  # countdown on 3.11: no instruction specialised after 7 calls, all of them after 8
PRIME_SHARE = 1 / 256  # of the work of one value, per priming call (a 32nd of a value in all)


def _prime(bench: Bench, pair_serial: bool) -> None:
    """Call ``bench``'s workload ``PRIME_CALLS`` times in every context that will run it
    (see ``PRIME_CALLS``); nothing is recorded.  Self-timed workloads time their own calls."""
    if bench.workload.self_timed:
        return
    small = dataclasses.replace(bench, size=max(bench.workers, int(bench.size * PRIME_SHARE)))
    time_bench(small, PRIME_CALLS, pair_serial=pair_serial)


class _Timed:
    """What one benchmark of the block gathered: warm-ups, values, the side quantities."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.warmups: List[float] = []
        self.values: List[float] = []
        self.cpu_shares: List[float] = []  # threads' CPU share, one per value
        self.gc: List[Tuple[int, float]] = []  # collections in the timed region and their seconds, one per value
        self.rss_growth: List[int] = []  # VmRSS after minus before, one per value (Linux)
        self.serial: List[float] = []  # serial in this process, one per value (--pair-serial)
        self.error = ""


def _measure(timed: _Timed, warmup: bool, round_: int, pair_serial: bool, gil_before: bool, scale: float) -> None:
    """One call of one benchmark; its value (or warm-up) and side quantities go to ``timed``.

    The resident set is read just before and after the call, outside its timed region
    (the threads' own stamps); the collections come from inside it (``modes.THREAD_GC``).
    """
    shares, serial, collections = len(THREAD_CPU_SHARES), len(SERIAL_IN_PROCESS), len(THREAD_GC)
    bench = timed.bench
    if warmup and scale != 1.0:
        bench = dataclasses.replace(bench, size=max(1, int(bench.size * scale)))
    rss_before = memory.resident_bytes()
    seconds = time_bench(bench, 1, round_, pair_serial=pair_serial)
    rss_after = memory.resident_bytes()
    if _meta.gil_enabled() != gil_before:
        raise RuntimeError(
            "the GIL changed state while %s ran (now enabled=%s): something imported "
            "during the run is not free-threading compatible" % (timed.bench.name, _meta.gil_enabled())
        )
    if seconds <= 0:
        raise RuntimeError(
            "%s: a non-positive time (%r s); the clock or the workload is broken" % (timed.bench.name, seconds)
        )
    if warmup:
        if scale == 1.0:
            timed.warmups.append(seconds)
        return
    timed.values.append(seconds)
    timed.cpu_shares.extend(THREAD_CPU_SHARES[shares:])
    timed.serial.extend(SERIAL_IN_PROCESS[serial:])
    timed.gc.extend(THREAD_GC[collections:])
    if rss_before is not None and rss_after is not None:
        timed.rss_growth.append(rss_after - rss_before)


def _failed(item: _Timed, exc: Exception) -> None:
    traceback.print_exc()
    item.error = "%s: %s" % (type(exc).__name__, exc)


def run_block(
    block: List[Bench], values: int, warmups: int, round_: int, pair_serial: bool = False, warmup_scale: float = 1.0
) -> List[_Timed]:
    """Start the block's pools and executors, prime each benchmark (``_prime``), warm the
    CPU, then time ``warmups`` and ``values`` passes over ``block``, alternating, as the
    module says.

    Warm-up passes run at ``warmup_scale`` × the size; below 1 they are not recorded (a
    pyperf warm-up is a value of the benchmark itself).  A benchmark that raises is
    reported on stderr, keeps its error and leaves the remaining passes; the others go on.
    """
    gil_before = _meta.gil_enabled()
    watch_gc()
    timed = [_Timed(b) for b in block]
    by_bench = {id(item.bench): item for item in timed}
    for bench in preparation_order(block):
        try:
            prepare(bench)
        except Exception as exc:  # this benchmark's pool or executor: the others go on
            _failed(by_bench[id(bench)], exc)
    for item in timed:
        if not item.error:
            try:
                _prime(item.bench, pair_serial)
            except Exception as exc:  # as in a pass: this benchmark stops, the others go on
                _failed(item, exc)
    _warm_cpu(WARM_CPU_SECONDS)
    for index in range(warmups + values):
        order = timed if (index + round_) % 2 == 0 else timed[::-1]
        for item in order:
            if item.error:
                continue
            try:
                _measure(item, index < warmups, round_, pair_serial, gil_before, warmup_scale)
            except Exception as exc:  # one benchmark's failure must not cost the block's others
                _failed(item, exc)
    return timed


def _run_metadata(item: _Timed) -> Dict[str, Any]:
    """What pyperf has no slot for, measured beside the values: means over the values."""
    extra: Dict[str, Any] = {}
    if item.cpu_shares:
        extra["thread_cpu_share"] = round(statistics.mean(item.cpu_shares), 4)
    if item.serial:
        extra["serial_in_process"] = round(statistics.mean(item.serial), 9)
    if item.gc:
        extra["gc_collections"] = round(statistics.mean(count for count, _ in item.gc), 4)
        extra["gc_pause"] = round(statistics.mean(seconds for _, seconds in item.gc), 9)
    if item.rss_growth:
        extra["rss_growth"] = round(statistics.mean(item.rss_growth), 1)
    return extra


def write_results(path: str, timed: Sequence[_Timed], metadata: Dict[str, Dict[str, Any]]) -> None:
    """The block's pyperf suite to ``path`` and its failures to ``path + ERRORS_SUFFIX``."""
    benchmarks: List[pyperf.Benchmark] = []
    system: Dict[str, Any] = {}  # pyperf's metadata of this process, collected once for the block
    peak, per_object = memory.peak_resident_bytes(), memory.bytes_per_object()
    for item in timed:
        if item.error or not item.values:
            continue
        meta = dict(system, **metadata[item.bench.name], **_run_metadata(item))
        if peak is not None:
            meta["peak_rss"] = peak
        if per_object is not None:
            meta["bytes_per_object"] = round(per_object, 2)
        run = pyperf.Run(
            item.values, warmups=[(1, w) for w in item.warmups] or None, metadata=meta, collect_metadata=not system
        )
        if not system:
            system = {k: v for k, v in run.get_metadata().items() if k not in meta}
        benchmarks.append(pyperf.Benchmark([run]))
    errors = {item.bench.name: item.error or "no value measured" for item in timed if item.error or not item.values}
    if errors:
        with open(path + ERRORS_SUFFIX, "w", encoding="utf-8") as fh:
            json.dump(errors, fh)
    if benchmarks:
        pyperf.BenchmarkSuite(benchmarks).dump(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m workloads._runner", description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, help="the pyperf file to write")
    parser.add_argument("--module", required=True)
    parser.add_argument("--workload", required=True)
    parser.add_argument(
        "--bench",
        action="append",
        required=True,
        metavar="MODE[:WORKERS]",
        help="a benchmark of the block (repeat): serial, threads:2, processes:1, ...",
    )
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--values", type=int, default=1, help="passes timed")
    parser.add_argument("--warmups", type=int, default=1, help="passes run before them")
    parser.add_argument(
        "--warmup-scale",
        type=float,
        default=1.0,
        help="warm-up passes at this share of the size; kept as pyperf warm-ups only at 1",
    )
    parser.add_argument("--round", type=int, default=0)
    parser.add_argument(
        "--pair-serial", action="store_true", help="one processes/interpreters worker also times serial in this process"
    )
    parser.add_argument(
        "--pin-workers",
        action="store_true",
        help="pin worker i (serial's one thread as worker 0) to its own CPU, physical cores first, where the OS allows",
    )
    parser.add_argument(
        "--bench-profile",
        required=True,
        metavar="NAME",
        help="the run's profile, recorded in the metadata (its settings arrive as --values and --warmups)",
    )
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--env", required=True)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.pin_workers and can_pin():
        PIN_ORDER[:] = pin_order()
    import_workload_module(args.module)
    wl: Workload = _REGISTRY[args.workload]
    params = tuple(sorted(_parse_param(p) for p in args.param))
    block = [Bench(wl, mode, workers, args.size, params) for mode, workers in map(parse_bench, args.bench)]
    if wl.setup is not None:
        for bench in block:
            wl.setup(bench)
    metadata = {b.name: benchmark_metadata(b, args, block) for b in block}
    timed = run_block(block, args.values, args.warmups, args.round, args.pair_serial, args.warmup_scale)
    write_results(args.output, timed, metadata)
    return 0 if any(item.values and not item.error for item in timed) else 1


if __name__ == "__main__":
    sys.exit(main())
