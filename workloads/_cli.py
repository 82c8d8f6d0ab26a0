"""``python -m workloads``: plan, prepare and measure the benchmark matrix on this interpreter.

Run by hand (or ``tox -e bench-py313t``), it measures this interpreter alone, in
rounds.  Under bench-all, each tox env only *prepares* (``--prepare``: the plan, the
work sizes calibrated for this interpreter, the GIL timeline, see ``_prepare``) and the
host measures every env from one scheduler (``_scheduler.run_rounds``).  ``--resume
RUN_ID`` finishes an interrupted run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from workloads import _meta, _results
from workloads._machine import can_pin
from workloads._options import RunOptions
from workloads._prepare import capture_timeline, plan_specs
from workloads._registry import LAYOUTS, PROFILES, Bench, Profile, Workload, cpu_count, load_all, plan, suites_of
from workloads._scheduler import RoundPlan, run_rounds, seed_of
from workloads._schema import UserError
from workloads._store import EnvRun, own_target
from workloads.modes import MODES


def comma_list(values: Optional[Sequence[str]]) -> List[str]:
    """``["a,b", "c"]`` (repeated and comma-separated options) -> ``["a", "b", "c"]``."""
    return [v for item in values or () for v in item.split(",") if v]


def choose(kind: str, given: List[str], valid: Sequence[str]) -> List[str]:
    """``given`` if every item is valid; else a UserError listing the valid ones."""
    unknown = [g for g in given if g not in valid]
    if unknown:
        raise UserError("unknown %s %s; valid: %s" % (kind, ", ".join(map(repr, unknown)), ", ".join(valid)))
    return given


def resolve_profile(name: Optional[str]) -> Profile:
    """``--profile`` wins over ``GILBENCH_PROFILE``; ``default`` when neither is given."""
    chosen = name or os.environ.get("GILBENCH_PROFILE") or "default"
    choose("profile", [chosen], list(PROFILES))
    return PROFILES[chosen]


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options one env's run (``python -m workloads``) and bench-all share, defined once."""
    parser.add_argument("--profile", help="smoke, fast, default or rigorous (env GILBENCH_PROFILE; default: default)")
    parser.add_argument("--workload", action="append", help="only these workloads (repeat or comma-separate)")
    parser.add_argument(
        "--suite",
        action="append",
        help="only the workloads of these families (repeat or comma-separate): a workload module's name "
        "(cpu, contention, ...) or a family such as scaling, which a run measures only when asked for",
    )
    parser.add_argument(
        "--workloads",
        metavar="PATH_OR_MODULE",
        action="append",
        help="also your own @workload functions: a .py file, a folder or an importable module",
    )
    parser.add_argument(
        "--workers",
        help="worker counts, e.g. 1,2,4 (default: 1, 2, 4... up to the CPUs this run may use, and that count); "
        "counts above the CPUs are measured and labelled oversubscribed",
    )
    parser.add_argument(
        "--oversubscribe",
        action="store_true",
        help="also measure twice the CPUs this run may use (an oversubscribed point, labelled so)",
    )
    parser.add_argument(
        "--pin-workers",
        action="store_true",
        help="pin each worker (serial's one thread too) to a CPU of its own, physical cores first (Linux)",
    )
    parser.add_argument("--timeout", type=float, help="seconds per benchmark process (default: the profile's)")
    parser.add_argument("--seed", type=int, help="seed of the order within rounds (default: from the run id)")
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="blocks",
        help="blocks: one process per workload and env, its benchmarks alternating (default); "
        "processes: one process per benchmark and round (for comparing layouts)",
    )
    parser.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run")
    parser.add_argument("--force", action="store_true", help="run even if another benchmark run holds the lock")


def _workers(text: Optional[str]) -> Optional[Tuple[int, ...]]:
    """``--workers 1,2,4`` -> ``(1, 2, 4)``; None when not given."""
    if not text:
        return None
    try:
        ladder = tuple(int(w) for w in comma_list([text]))
    except ValueError:
        raise UserError("--workers: expected comma-separated integers, got %r" % text) from None
    if not ladder or min(ladder) < 1:
        raise UserError("--workers: counts must be >= 1")
    return ladder


def _user_workloads(entries: Sequence[str]) -> Tuple[str, ...]:
    """``--workloads`` entries: files and folders made absolute (every process of the run
    imports them from wherever it starts), module names as given."""
    out = []
    for entry in comma_list(entries):
        if os.path.exists(entry):
            out.append(os.path.abspath(entry))
        elif entry.endswith(".py") or os.sep in entry:
            raise UserError("--workloads %s: no such .py file or folder" % entry)
        else:
            out.append(entry)
    return tuple(out)


def resolve_options(
    args: argparse.Namespace,
    *,
    run_id: str,
    results_dir: str,
    profile: Optional[Profile] = None,
    seed: Optional[int] = None,
    layout: Optional[str] = None,
) -> RunOptions:
    """The run's options from the options ``add_run_options`` defines, resolved once: the
    profile (unless given), the worker counts, the user's workload files; ``seed`` and
    ``layout`` where a resumed run keeps its own, else ``--seed`` (default: from the run
    id) and ``--layout``.  A bad value raises UserError naming its option."""
    return RunOptions(
        profile=profile or resolve_profile(args.profile),
        run_id=run_id,
        results_dir=results_dir,
        seed=seed if seed is not None else args.seed if args.seed is not None else seed_of(run_id),
        layout=layout or args.layout,
        workloads=tuple(comma_list(args.workload)),
        suites=tuple(comma_list(args.suite)),
        user_workloads=_user_workloads(args.workloads or ()),
        workers=_workers(args.workers),
        timeout=args.timeout,
        resume=bool(args.resume),
        oversubscribe=bool(args.oversubscribe),
        pin_workers=bool(args.pin_workers),
    )


def driver_args(
    options: RunOptions, env: Optional[str] = None, *, list_json: bool = False, timeline: bool = True
) -> List[str]:
    """The arguments of an env's driver (``python -m workloads``) for the run ``options``:
    prepare ``env`` (its plan, calibrated sizes and, with ``timeline``, a GIL timeline,
    written to ``options.files(env)``), or with ``list_json`` print the plan as JSON.  The
    one place that spells the driver's command line: bench-all passes these through tox,
    the tools after the env's python (``driver_command``)."""
    args = ["--options", json.dumps(options.to_json(), separators=(",", ":"))]
    args += ["--env", env] if env else []
    args += [] if timeline else ["--no-timeline"]
    return args + ["--list-json" if list_json else "--prepare"]


def driver_command(
    python: str, options: RunOptions, env: Optional[str] = None, *, list_json: bool = False, timeline: bool = True
) -> List[str]:
    """``python -m workloads`` with ``driver_args``, for an interpreter called directly."""
    return [python, "-m", "workloads", *driver_args(options, env, list_json=list_json, timeline=timeline)]


# The options a run's record replaces: given beside --options, they would be ignored.
_IN_OPTIONS = (
    "profile",
    "workload",
    "suite",
    "workloads",
    "workers",
    "timeout",
    "seed",
    "resume",
    "run_id",
    "oversubscribe",
    "pin_workers",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workloads",
        description="Run the gilbench workload matrix on this interpreter.",
    )
    add_run_options(parser)
    parser.add_argument("--run-id", help="shared by all envs of one bench-all (env GILBENCH_RUN_ID)")
    parser.add_argument("--env", help="env name recorded in results (default: $TOX_ENV_NAME)")
    parser.add_argument("--results-dir", default=os.environ.get("GILBENCH_RESULTS", "results"))
    parser.add_argument(
        "--options",
        metavar="JSON",
        help="the run's options as bench-all resolved them (workloads.host.RunOptions), in place of "
        "--profile, --workload(s), --workers, --timeout, --seed, --layout, --resume, --run-id and --results-dir",
    )
    parser.add_argument("--mode", action="append", help="run only these modes")
    parser.add_argument("--retry-failed", action="store_true", help="with --resume, rerun failed benchmarks")
    parser.add_argument("--no-timeline", dest="timeline", action="store_false", help="skip the GIL timeline capture")
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="write the plan (calibrated for this interpreter) and the timeline, measure nothing",
    )
    parser.add_argument("--list", action="store_true", help="print the planned benchmarks and exit")
    parser.add_argument("--list-json", action="store_true", help="print the plan as JSON and exit")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _main(args)
    except UserError as exc:  # the machine lock held by another run is one too
        print("error: %s" % exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished benchmarks are saved; rerun with --resume to finish", file=sys.stderr)
        return 130


def _options_of(args: argparse.Namespace) -> RunOptions:
    """The record bench-all sent (``--options``), or this command line's options, resolved."""
    if args.options is not None:
        given = ["--" + name.replace("_", "-") for name in _IN_OPTIONS if getattr(args, name)]
        if given:
            raise UserError("--options holds the run's options; %s cannot be given beside it" % ", ".join(given))
        try:
            return RunOptions.from_json(json.loads(args.options))
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError("--options: not a run's options (%s: %s)" % (type(exc).__name__, exc)) from None
    if args.resume and args.run_id and args.resume != args.run_id:
        raise UserError("--resume %s conflicts with --run-id %s" % (args.resume, args.run_id))
    run_id = args.resume or args.run_id or os.environ.get("GILBENCH_RUN_ID") or _results.new_run_id()
    return resolve_options(args, run_id=run_id, results_dir=args.results_dir)


def _main(args: argparse.Namespace) -> int:
    options = _options_of(args)
    env = (
        args.env
        or os.environ.get("TOX_ENV_NAME")
        or "local-%s%s" % (sys.implementation.name, "".join(map(str, sys.version_info[:2])))
    )
    target = own_target(env, options)
    try:
        registry = load_all(options.user_workloads)
    except (ImportError, ValueError, SyntaxError) as exc:
        raise UserError("--workloads: %s: %s" % (type(exc).__name__, exc)) from None
    names = choose("workload", list(options.workloads), list(registry))
    suites = choose("suite", list(options.suites), suites_of(registry))
    modes = choose("mode", comma_list(args.mode), list(MODES))
    benches = plan(
        registry, options.profile, names or None, modes or None, options.workers, suites, options.oversubscribe
    )
    if args.list:
        for bench in benches:
            print(bench.name)
        return 0
    if args.list_json:
        specs = plan_specs(registry, options.profile, benches, jit=_meta.jit_state() == "on")
        json.dump([s.to_json() for s in specs], sys.stdout)
        return 0
    if args.force:
        print(
            "warning: --force: another run may be measuring at the same time; timings will be distorted",
            file=sys.stderr,
        )
    _install_sigterm_handler()
    with _results.bench_lock(force=args.force):
        return _measure(args, options, EnvRun(options, target), registry, benches)


def _measure(
    args: argparse.Namespace, options: RunOptions, run: EnvRun, registry: Dict[str, Workload], benches: List[Bench]
) -> int:
    env, profile = run.target.env, options.profile
    progress = os.environ.get("GILBENCH_PROGRESS")  # "env 2/8", set by bench-all
    prefix = "[%s%s]" % (env, " " + progress if progress else "")

    def log(line: str) -> None:
        print("%s %s" % (prefix, line), flush=True)

    if options.resume and os.path.exists(run.status_path):
        run.load()
    else:
        facts = _meta.interpreter_facts()
        specs = plan_specs(
            registry, profile, benches, run.target.environ, log=log, layout=options.layout, jit=facts["jit"] == "on"
        )
        run.create(specs, facts, facts["jit"] == "on")
        run.status["layout"] = options.layout
        run.status["pin_workers"] = options.pin_workers and can_pin()
        if args.timeline:
            run.status["timeline"] = capture_timeline(options.files(env).timeline, env, options.run_id)
            log("GIL timeline: %s" % run.status["timeline"])
        run.save_status()  # a run killed before its first benchmark resumes with this layout
    if options.pin_workers and not can_pin():
        log("warning: --pin-workers: this OS lets no thread choose its CPU; workers are not pinned")
    cpus = cpu_count()
    above = sorted({s.workers for s in run.specs if s.workers > cpus})
    if above:
        log("oversubscribed: %s workers on %d CPU%s" % (", ".join(map(str, above)), cpus, "" if cpus == 1 else "s"))
    if args.retry_failed:
        run.forget_failures()
    if args.prepare:
        run.status["prepared"] = _results.utc_now()
        run.finish()
        log("prepared %d benchmarks (%d to measure) in %s" % (len(run.specs), len(run.open_specs()), run.status_path))
        return 0
    done = len(run.specs) - len(run.open_specs())
    log(
        "%d benchmarks (%d to measure, in %d round(s)), profile %s, run %s"
        % (len(run.specs), len(run.open_specs()), profile.rounds, profile.name, options.run_id)
    )
    layout = run.status.get("layout", "processes")  # a resumed run keeps its layout
    plan_ = RoundPlan(profile.rounds, profile.rounds, options.seed, layout=layout)
    result = run_rounds([run], plan_, lambda e: log(e.line()))
    log("wrote %s (%d benchmarks were already done)" % (run.suite_path, done))
    return 1 if result.failures else 0


def _install_sigterm_handler() -> None:
    """Treat SIGTERM like Ctrl-C so the benchmark in flight is killed and recorded."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
