"""Pinned against unpinned workers, in one run: what ``--pin-workers`` changes on this machine.

Each env given is prepared as bench-all prepares it, then measured twice in the same
rounds: as itself, its workers free, and as ``<env>-pinned``, each worker (serial's one
thread too) pinned to a CPU of its own, physical cores first (``workloads.modes.PIN_ORDER``).
The twin is made the way bench-all's A/A twin is (``harness.run.clone``: the same
interpreter, plan and work sizes), and the scheduler runs both in every round, in an
order shuffled round by round, so both see the same windows of the machine, with the
capacity and noise probes bench-all takes.  At the end, for every env, each benchmark
free against pinned, paired by round (``harness compare`` of the two pyperf files):
``B vs A`` above 1 means pinning made it faster.  The run folder holds both envs, so
``python -m harness report`` shows their speedups side by side.

    .tox/bench-all/bin/python -m tools.pinning --env bench-py313t,bench-py314t \\
        --workload countdown,fib --workers 1,2 --rounds 8 --results-dir results

On a 2-vCPU VM that is about a minute of preparing per env and 40 s per round and env
pair for two workloads at the default profile; run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import List, Optional, Sequence

import pandas as pd

from harness import collect, compare, run
from harness.progress import Plain
from tools import _matrix
from workloads.host import EnvRun, bench_lock, new_run_id, resolve_profile, seed_of

SUFFIX = "-pinned"


def pinned_twin(env_run: EnvRun) -> EnvRun:
    """``env_run`` measured again as ``<env>-pinned``, its workers pinned."""
    twin = run.clone(env_run, env=env_run.target.env + SUFFIX)
    twin.status["pin_workers"] = True
    twin.save_status()
    return twin


def effect(benchmarks: pd.DataFrame, env: str) -> pd.DataFrame:
    """Every benchmark of ``env`` (A, free) against the same one of ``env``-pinned (B), paired by round."""
    free, pinned = benchmarks[benchmarks["env"] == env], benchmarks[benchmarks["env"] == env + SUFFIX]
    return compare.compare(free, pinned, by_env=False)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _matrix.add_options(parser)
    parser.add_argument("--rounds", type=int, default=8, help="rounds, each measuring every env free and pinned")
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds: at least 2, for an interval")
    profile = dataclasses.replace(resolve_profile(args.profile), rounds=args.rounds, max_rounds=0)
    runnable = _matrix.runnable(parser, args)
    run_id = new_run_id()
    opts = _matrix.options(parser, args, profile, run_id, seed_of(run_id))
    display = Plain(sys.stdout)
    with bench_lock():
        prepared = _matrix.prepare(opts, runnable, display)
        if prepared is None:
            return 1
        runs, manifest = prepared
        twins: List[EnvRun] = []
        for env_run in runs:
            twins.append(pinned_twin(env_run))
            manifest.data["envs"][twins[-1].target.env] = {"status": "prepared", "pinned_of": env_run.target.env}
        failures = run.measure(opts, runs + twins, manifest, display)
    for env_run in runs + twins:
        env_run.finish()
    benchmarks = collect.from_runs(runs + twins).benchmarks
    for env_run in runs:
        print(compare.format_text(effect(benchmarks, env_run.target.env)))
    print("run: %s (python -m harness report %s)" % (opts.run_dir, opts.run_dir))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
