"""``python -m harness``: the subcommands, each a thin layer over one pipeline stage.

Errors the user can fix (a bad argument, an unusable file) print one line naming
the argument or file and exit with status 2; nothing is printed as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from workloads import host
from workloads.host import RunOptions, UserError, choose, comma_list, resolve_options, resolve_profile

if TYPE_CHECKING:
    from harness import progress, run

EXIT_USAGE = 2


def cmd_interpreters(args: argparse.Namespace) -> int:
    from harness import interpreters

    found = interpreters.discover()
    if args.json:
        print(interpreters.as_json(found))
        return 0
    rows = interpreters.table(found)
    columns = ["env", "implementation", "version", "free-threaded", "GIL at runtime", "JIT", "source", "path", "note"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) if rows else len(c) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())
    missing = [(env, reason) for env, interp, reason in interpreters.bench_plan(found) if interp is None]
    for env, reason in missing:
        print("missing: %s: %s" % (env, reason))
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    try:
        from harness import provision
    except ModuleNotFoundError as exc:  # filelock, on a bare system Python
        raise UserError("%s: run it as `tox -e provision -- ARGS`, which installs it" % exc) from None
    request = provision.parse_request(
        args.implementation,
        args.version,
        pair=args.pair,
        optimized=args.optimized,
        tarball=args.tarball,
        sha256=args.sha256,
        uv=args.uv,
    )
    provision.provision(request)
    return 0


def make_report(folders: list[Path], reports_dir: Path) -> tuple[Path, list[str]]:
    """collect -> analyse -> render, with CSV exports beside the HTML (the results
    folder is only ever read). Returns (html, problems)."""
    from harness import collect, model, report

    data = collect.load_runs(folders)
    built = model.build(data)
    name = folders[0].name if len(folders) == 1 else "compare-" + "-vs-".join(f.name for f in folders)
    path = report.write(built, reports_dir / name)
    collect.summary_frame(data.benchmarks).to_csv(path.parent / "summary.csv", index=False)
    model.derived_csv(built).to_csv(path.parent / "derived.csv", index=False)
    return path, data.problems


def _render_report(folders: list[Path], reports_dir: Path) -> tuple[Path, int]:
    """``make_report``, each problem printed as an error; the HTML's path and the exit status."""
    path, problems = make_report(folders, reports_dir)
    for problem in problems:
        print("error: %s" % problem, file=sys.stderr)
    return path.resolve(), EXIT_USAGE if problems else 0


def _results_folders(paths: Sequence[str]) -> list[Path]:
    """The ``results/<run-id>`` folders named on the command line; UserError naming a missing one
    (before pandas and matplotlib are imported)."""
    folders = [Path(p) for p in paths]
    for folder in folders:
        if not folder.is_dir():
            raise UserError("%s: no such results folder (expected results/<run-id>)" % folder)
    return folders


def cmd_report(args: argparse.Namespace) -> int:
    path, code = _render_report(_results_folders(args.results), Path(args.reports_dir))
    print("report: %s" % path)
    return code


def cmd_machines(args: argparse.Namespace) -> int:
    """The machines page of runs from one machine or several, as an HTML report."""
    folders = _results_folders(args.results)
    from harness import collect, model, report, sections

    data = collect.load_runs(folders)
    path = report.write(model.build(data), Path(args.reports_dir) / "machines", sections.build_machines)
    for problem in data.problems:
        print("error: %s" % problem, file=sys.stderr)
    print("report: %s" % path.resolve())
    return EXIT_USAGE if data.problems else 0


def cmd_compare(args: argparse.Namespace) -> int:
    a, b = Path(args.a), Path(args.b)
    if a.is_dir() != b.is_dir():
        raise UserError("compare two results folders or two pyperf files, not one of each (%s, %s)" % (a, b))
    from harness import compare  # pandas and SciPy: after the arguments are checked

    table = compare.compare(
        compare.load_side(a), compare.load_side(b), by_env=a.is_dir(), min_change=args.min_speed / 100
    )
    print(compare.format_markdown(table) if args.format == "md" else compare.format_text(table))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    folders = _results_folders(args.results)
    from harness import publish

    pages = publish.publish(folders, Path(args.docs_dir))
    for page in pages:
        print("published: %s" % page)
    return 0


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``1.5h`` or plain seconds -> seconds; UserError naming --budget."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text or "")
    if not match:
        raise UserError("--budget %r: expected a duration such as 45m, 1.5h, 900s or 900" % text)
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def _check_plan(options: RunOptions) -> None:
    """Let the runner validate the workload names and --workloads: the host never imports a
    workload module (NumPy, a C extension, the user's code).  The host's interpreter runs
    the driver from the folder that holds the ``workloads`` package."""
    home = os.path.dirname(os.path.dirname(os.path.abspath(host.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [home, os.environ.get("PYTHONPATH")])))
    cmd = host.driver_command(sys.executable, options, list_json=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir(), env=env, timeout=300)
    if proc.returncode != 0:
        errors = [line[len("error: ") :] for line in proc.stderr.splitlines() if line.startswith("error: ")]
        raise UserError(errors[-1] if errors else "could not list the workloads: %s" % proc.stderr.strip()[-300:])


def bench_all_options(args: argparse.Namespace) -> run.BenchAllOptions:
    """bench-all's command line resolved once into its options (``harness.run.BenchAllOptions``):
    a resumed run's seed and layout from its manifest, the profile with --max-rounds in it
    (or, under --budget, without a most rounds of its own: ``Profile.under_budget``).
    ``args`` is only read; a bad value raises UserError naming its argument."""
    from harness import interpreters, run
    from workloads.host import new_run_id

    profile = resolve_profile(args.profile)
    envs = choose("env", comma_list(args.env), interpreters.BENCH_ENVS) or list(interpreters.BENCH_ENVS)
    aa = choose("env", comma_list(args.aa), interpreters.BENCH_ENVS)
    envs += [e for e in aa if e not in envs]
    if args.provision_pair:
        _check_provision_pair(args.provision_pair)
    precision = profile.precision if args.precision is None else args.precision / 100
    if not 0 <= precision < 1:
        raise UserError("--precision %s: expected a percentage between 0 and 100" % args.precision)
    budget = parse_duration(args.budget) if args.budget else None
    if args.max_rounds is not None:
        if args.max_rounds < profile.rounds:
            raise UserError(
                "--max-rounds %d: the %s profile measures at least %d rounds"
                % (args.max_rounds, profile.name, profile.rounds)
            )
        profile = dataclasses.replace(profile, max_rounds=args.max_rounds)
    elif budget is not None:
        profile = profile.under_budget()
    chosen: tuple[str, ...] = ()
    if args.pyperformance is not None:
        from harness import pyperformance

        chosen = pyperformance.choose(args.pyperformance)  # one-line errors: a bad name, no pyperformance
    results_dir = Path(args.results_dir).resolve()
    if args.resume and not (results_dir / args.resume).is_dir():
        raise UserError("--resume %s: no such run in %s" % (args.resume, results_dir))
    run_id = args.resume or new_run_id()
    seed, layout = run.resumed_order(results_dir / run_id) if args.resume else (None, None)
    options = resolve_options(
        args, run_id=run_id, results_dir=str(results_dir), profile=profile, seed=seed, layout=layout
    )
    return run.BenchAllOptions(
        run=options,
        root=Path(args.root).resolve(),
        envs=envs,
        precision=precision,
        budget=budget,
        aa=aa,
        pyperformance=chosen,
    )


def cmd_bench_all(args: argparse.Namespace) -> int:
    from harness import progress

    opts = bench_all_options(args)
    _check_plan(opts.run)
    run_id = opts.run.run_id
    try:
        with contextlib.ExitStack() as stack:
            log = stack.enter_context(open(args.log, "a", encoding="utf-8")) if args.log else None
            display = stack.enter_context(progress.choose(quiet=args.quiet, log=log))
            display.show(progress.Start(run_id, opts.run.profile.name, str(opts.run_dir)))
            code = _bench_all(args, opts, display)
    except KeyboardInterrupt:
        print(
            "\ninterrupted: measured benchmarks are saved; finish with `tox -e bench-all -- --resume %s`" % run_id,
            file=sys.stderr,
        )
        return 130
    if args.publish:
        cmd_publish(argparse.Namespace(results=[opts.run_dir], docs_dir=args.publish))
    return code


def _bench_all(args: argparse.Namespace, opts: run.BenchAllOptions, display: progress.Display) -> int:
    """bench-all once the options are checked: a free-threaded CPython if none is found,
    the run (``harness.run.bench_all``), the report, the summary; the exit status."""
    from harness import interpreters, progress, run
    from workloads.host import bench_lock

    if args.force:
        display.show(
            progress.Note(
                "warning: --force: another run may be measuring at the same time; timings will be distorted", error=True
            )
        )
    if args.provision and any(interpreters.env_factor(e).endswith("t") for e in opts.envs):
        from harness import provision

        display.show(progress.Phase(progress.PROVISIONING))
        try:
            provision.ensure_free_threaded(lambda line: display.show(progress.Step(line)), args.provision_pair)
        except provision.ProvisionError as exc:
            display.show(
                progress.Note(
                    "warning: no free-threaded CPython could be provisioned (%s); the run goes on without" % exc,
                    error=True,
                )
            )
    with bench_lock(force=args.force):
        summary = run.bench_all(opts, display)
    display.show(progress.Phase(progress.REPORTING))
    path, code = _render_report([opts.run_dir], Path(args.reports_dir))
    display.show(dataclasses.replace(summary, report=str(path)))
    return (1 if summary.failed else 0) or code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("interpreters", help="list the interpreters found and the bench env each serves")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_interpreters)

    p = sub.add_parser("provision", help="build a matched default + free-threaded CPython pair into the cache")
    p.add_argument("implementation", help="cpython (pypy is never built: it says how to get one)")
    p.add_argument("version", nargs="?", help="X.Y.Z, or X.Y.Zt for the free-threaded build alone")
    p.add_argument("--pair", action="store_true", help="build both: default and --disable-gil, same flags")
    p.add_argument("--optimized", action="store_true", help="add --enable-optimizations --with-lto (slow)")
    p.add_argument("--tarball", metavar="PATH", help="a local Python-X.Y.Z.tar.xz instead of downloading")
    p.add_argument("--sha256", metavar="HEX", help="expected sha256 of the tarball (default: the pinned table)")
    p.add_argument("--uv", action="store_true", help="`uv python install` prebuilt interpreters instead")
    p.set_defaults(func=cmd_provision)

    p = sub.add_parser("bench-all", help="run every bench env found, then render the report")
    host.add_run_options(p)
    p.add_argument("--env", action="append", help="only these bench envs (comma-separated or repeated)")
    p.add_argument(
        "--precision",
        type=float,
        metavar="PCT",
        help="measure until every headline ratio's 95%% interval is within ±PCT%% "
        "(default: the profile's; default profile 3; 0 = a fixed number of rounds)",
    )
    p.add_argument(
        "--budget",
        metavar="DURATION",
        help="start no slot of a round that would end past this much measuring, e.g. 45m",
    )
    p.add_argument(
        "--max-rounds",
        type=int,
        metavar="N",
        help="with a precision target, measure at most N rounds (default: the profile's; default profile 16)",
    )
    p.add_argument(
        "--aa",
        action="append",
        metavar="ENV",
        help="A/A calibration: measure ENV twice, as ENV and ENV-aa, in the same rounds",
    )
    p.add_argument(
        "--pyperformance",
        nargs="?",
        const="subset",
        metavar="subset|NAME,NAME",
        help="also measure pyperformance benchmarks in the same rounds: gilbench's subset (the default) or these "
        "(needs pyperformance on the host: pip install 'gilbench[pyperformance]'; tox -e bench-all installs it)",
    )
    p.add_argument(
        "--no-provision",
        dest="provision",
        action="store_false",
        help="do not build or install a free-threaded CPython when none is found",
    )
    p.add_argument(
        "--provision-pair",
        metavar="X.Y[.Z]",
        help="the matched pair the automatic step builds when no free-threaded CPython X.Y is found: X.Y is "
        "the newest pinned release a source serves (default: 3.14; 3.13 gives 3.13.5)",
    )
    p.add_argument(
        "--log",
        metavar="FILE",
        help="append the plain progress lines (one per benchmark process) to FILE; a terminal keeps the live display",
    )
    p.add_argument("--quiet", action="store_true", help="print only the start line, errors and the summary")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--reports-dir", default="reports")
    p.add_argument("--root", default=".", help="project root holding tox.ini")
    p.add_argument(
        "--publish",
        nargs="?",
        const="docs",
        metavar="DOCS_DIR",
        help="after the report, publish the run into the docs site (default: docs)",
    )
    p.set_defaults(func=cmd_bench_all)

    p = sub.add_parser("compare", help="compare two runs (folders) or two envs (pyperf files)")
    p.add_argument("a", help="results/<run-id> or results/<run-id>/<env>.json")
    p.add_argument("b", help="the same kind of path as A")
    p.add_argument("--format", choices=("text", "md"), default="text")
    p.add_argument(
        "--min-speed",
        type=float,
        default=0.0,
        metavar="PCT",
        help="smallest change in percent to report as significant (like pyperf's --min-speed)",
    )
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("report", help="render the HTML report of existing results")
    p.add_argument("results", nargs="+", help="results/<run-id> folder(s)")
    p.add_argument("--reports-dir", default="reports")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "machines", help="runs from several machines in one picture: a line per machine, as an HTML report"
    )
    p.add_argument("results", nargs="+", help="results/<run-id> folders, one or more per machine")
    p.add_argument("--reports-dir", default="reports", help="writes REPORTS_DIR/machines/index.html")
    p.set_defaults(func=cmd_machines)

    p = sub.add_parser("publish", help="publish runs into the docs site: pages, charts, raw files, runs index")
    p.add_argument("results", nargs="+", help="results/<run-id> folder(s), from one machine or several")
    p.add_argument("--docs-dir", default="docs", help="the Sphinx source folder (default: docs)")
    p.set_defaults(func=cmd_publish)
    return parser


def _check_provision_pair(version: str) -> None:
    """``--provision-pair``: what ``provision cpython VERSION --pair`` accepts (X.Y, or a pinned X.Y.Z)."""
    from harness import provision

    try:
        provision.parse_request("cpython", version, pair=True)
    except provision.ProvisionError as exc:
        raise UserError("--provision-pair %s: %s" % (version, exc)) from None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    if sys.version_info < (3, 10):
        print(
            "error: the gilbench harness needs Python 3.10+ (this is %s); the workloads "
            "themselves run on 3.9+" % sys.version.split()[0],
            file=sys.stderr,
        )
        return EXIT_USAGE
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops a run as cleanly as Ctrl-C
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except UserError as exc:  # every error the user can fix, whichever step raised it
        print("error: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
