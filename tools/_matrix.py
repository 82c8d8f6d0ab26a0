"""What the tools that measure one matrix two ways in one session share (``layout_comparison``,
``pinning``, ``scheduler_comparison``): the matrix's options, its envs, the bench-all
options that prepare it, and preparing it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple

from harness import interpreters, run
from harness.progress import Display
from workloads.host import EnvRun, Profile, RunOptions, comma_list


def add_options(parser: argparse.ArgumentParser) -> None:
    """The envs, workloads, worker counts and profile measured, and where."""
    parser.add_argument("--env", required=True, help="bench envs, comma-separated")
    parser.add_argument("--workload", required=True, help="workloads, comma-separated")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--root", default=".", help="project root holding tox.ini")


def runnable(parser: argparse.ArgumentParser, args: argparse.Namespace) -> List[Tuple[str, Any]]:
    """(env, interpreter) for every env of ``--env``; a usage error when one has none here."""
    envs = comma_list([args.env])
    found = interpreters.discover()
    chosen = [(e, i) for e, i, _ in interpreters.bench_plan(found) if e in envs and i is not None]
    if len(chosen) != len(envs):
        parser.error("--env: not every env has an interpreter here: %s" % ", ".join(envs))
    return chosen


def options(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    profile: Profile,
    run_id: str,
    seed: int,
    layout: str = "blocks",
) -> run.BenchAllOptions:
    """bench-all's options for the matrix, into run ``run_id``; a usage error names a bad ``--workers``."""
    try:
        workers = tuple(int(w) for w in comma_list([args.workers]))
    except ValueError:
        parser.error("--workers: expected comma-separated integers, got %r" % args.workers)
    options = RunOptions(
        profile,
        run_id,
        str(Path(args.results_dir).resolve()),
        seed=seed,
        layout=layout,
        workloads=tuple(comma_list([args.workload])),
        workers=workers,
    )
    return run.BenchAllOptions(run=options, root=Path(args.root).resolve(), envs=comma_list([args.env]))


def prepare(
    opts: run.BenchAllOptions, runnable: List[Tuple[str, Any]], display: Display
) -> Optional[Tuple[List[EnvRun], run.Manifest]]:
    """Every env of the matrix prepared through tox into run ``opts``, as bench-all
    prepares them, with the run's manifest (written first); None, with a one-line error,
    when an env failed to prepare."""
    manifest = run.Manifest(opts, [(e, i, "") for e, i in runnable])
    manifest.save()
    runs, failed = run.prepare_all(opts, runnable, manifest, display)
    if failed:
        print("error: %d env(s) failed to prepare" % failed, file=sys.stderr)
        return None
    return runs, manifest
