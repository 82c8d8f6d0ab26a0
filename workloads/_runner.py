"""The pyperf script for one benchmark: ``python -m workloads._runner --workload ...``.

The driver starts it as a pyperf worker (``--worker``), one fresh process per
round; run standalone, pyperf's own manager re-runs it the same way
(``program_args``).  It imports only the module that declares the workload: a
countdown worker must not import numpy or a native extension that could switch
the GIL back on.
Metadata is computed in each worker after those imports, so ``gil_enabled`` is the
runtime truth for the code that is measured.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from typing import Any, Dict, List

import pyperf

from workloads import _meta, _schema
from workloads._registry import _REGISTRY, PROFILES, Bench, Workload, import_workload_module
from workloads.modes import SERIAL_IN_PROCESS, THREAD_CPU_SHARES, time_bench

# Our options, forwarded to every pyperf worker.
# (pyperf owns --profile for cProfile output, hence --bench-profile.)
_OPTIONS = ("module", "workload", "mode", "workers", "size", "param", "round", "bench_profile", "run_id", "env")


def _parse_param(text: str) -> Any:
    key, _, raw = text.partition("=")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def _forward_args(cmd: List[str], args: argparse.Namespace) -> None:
    for option in _OPTIONS:
        value = getattr(args, option)
        flag = "--" + option.replace("_", "-")
        if option == "param":
            for item in value:
                cmd.extend((flag, item))
        else:
            cmd.extend((flag, str(value)))


def benchmark_metadata(bench: Bench, args: argparse.Namespace) -> Dict[str, Any]:
    """Custom pyperf metadata: the contract every later stage relies on."""
    facts = _meta.interpreter_facts()
    build = facts.pop("build")
    profile = PROFILES[args.bench_profile]
    values = profile.latency_values if bench.workload.self_timed else profile.values
    meta: Dict[str, Any] = {
        "workload": bench.workload.name,
        "mode": bench.mode,
        "workers": bench.workers,
        "work_size": bench.size,
        "round": args.round,
        "workload_sha256": bench.workload.source_sha256,
        "roles": list(bench.workload.roles) or None,
        "profile": args.bench_profile,
        "profile_settings": "values=%d warmups=%d loops=1" % (values, args.warmups or 0),
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
    }
    if bench.mode == "processes":
        meta["mp_start_method"] = multiprocessing.get_start_method()
    for key, value in bench.params:
        meta[_schema.PARAM_PREFIX + key] = value
    if bench.workload.tags:
        meta["tags"] = list(bench.workload.tags)
    return _schema.to_pyperf(meta)


# A vCPU of this project's VM that has just woken runs a pure-Python loop up to 10%
# slower than one that has been busy for ~100 ms, beyond pyperf's warm-up value; how busy
# a worker had been before its first value depended on how much it imported (the plain
# independent child: 161 ms after sleeping 100 ms, 146 ms after spinning 100 ms;
# benchmarks/results/README.md).  So every worker spins for a fixed time first, and all
# of them start measuring equally warm.
WARM_CPU_SECONDS = 0.1


def _warm_cpu(seconds: float) -> None:
    """Keep this CPU busy for ``seconds`` (a spin, not a sleep: a sleeping vCPU cools)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _timed(bench: Bench, gil_before: bool, round_: int):
    def time_func(loops: int) -> float:
        seconds = time_bench(bench, loops, round_)
        if _meta.gil_enabled() != gil_before:
            raise RuntimeError(
                "the GIL changed state while %s ran (now enabled=%s): something imported "
                "during the run is not free-threading compatible" % (bench.name, _meta.gil_enabled())
            )
        return seconds

    return time_func


def main() -> None:
    runner = pyperf.Runner(
        program_args=("-m", "workloads._runner"),
        add_cmdline_args=_forward_args,
    )
    parser = runner.argparser
    parser.add_argument("--module", required=True)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--round", type=int, default=0)
    parser.add_argument("--bench-profile", choices=sorted(PROFILES), required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--env", required=True)
    args = runner.parse_args()

    import_workload_module(args.module)
    wl: Workload = _REGISTRY[args.workload]
    params = tuple(sorted(_parse_param(p) for p in args.param))
    bench = Bench(wl, args.mode, args.workers, args.size, params)
    if wl.setup is not None:
        wl.setup(bench)
    metadata = benchmark_metadata(bench, args)
    if args.worker:
        _warm_cpu(WARM_CPU_SECONDS)
    runner.bench_time_func(bench.name, _timed(bench, _meta.gil_enabled(), args.round), metadata=metadata)
    if args.worker and args.output:
        skip = args.warmups or 0
        measured = {"thread_cpu_share": (THREAD_CPU_SHARES[skip:], 4),
                    "serial_in_process": ([s / (args.loops or 1) for s in SERIAL_IN_PROCESS[skip:]], 9)}  # fmt: skip
        _annotate(args.output, {k: round(statistics.mean(v), digits) for k, (v, digits) in measured.items() if v})


def _annotate(path: str, metadata: Dict[str, float]) -> None:
    """Add what pyperf has no slot for to the run it just wrote: quantities measured
    alongside the values (the threads' CPU share; serial in this process, paired with
    a one-worker value), as means over the values.

    pyperf copies a benchmark's metadata before the values are measured, so these
    are written in afterwards, into this process's own one-run file, before the
    driver reads it.
    """
    if not metadata:
        return
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    for bench in data["benchmarks"]:
        for run in bench["runs"]:
            run.setdefault("metadata", {}).update(metadata)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh)


if __name__ == "__main__":
    main()
