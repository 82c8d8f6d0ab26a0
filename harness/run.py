"""Orchestrate: one tox bench env per interpreter, measured in interleaved rounds.

tox creates each env and installs gilbench into it; the env's driver then only
prepares (its plan, calibrated work sizes, a GIL timeline).  The measuring is done
here, by one scheduler over every env (``workloads.host.run_rounds``): round r
of every interpreter runs before round r+1 of any, in an order shuffled from a
seed recorded in the manifest.  So a ratio across interpreters (net speedup,
free-threading overhead) compares processes that ran minutes apart, not one env's
window against another's, and is analysed as pairs.

Never in parallel: two benchmark processes on a 2-core machine distort each other's
timings.  Missing interpreters are skipped with a reason; an env that fails to
prepare is recorded and the others go on.  ``--resume`` picks up every env's status
and finishes what is left.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from harness import capacity, interpreters, noise, stats
from harness.progress import (
    Capacity,
    Display,
    EnvFailed,
    Measuring,
    Noise,
    Note,
    Preparing,
    Step,
    Summary,
    Widths,
    pct,
)
from workloads import host
from workloads.host import EnvRun, Outcome, Profile, Rounds, StopRule, Target, UserError, run_rounds, worker_environ

TAIL_LINES = 30
STOP_GRACE = 30.0  # seconds an interrupted env gets to record where it stopped


@dataclass
class BenchAllOptions:
    root: Path
    results_dir: Path
    profile: Profile
    run_id: str
    resume: bool
    envs: list[str]
    forward: list[str]  # passed through to every env's `python -m workloads --prepare`
    seed: int = 0
    precision: float = 0.0  # target relative half-width of headline ratios; 0: fixed rounds
    budget: float | None = None  # seconds of measuring, after which no new round starts
    aa: list[str] = field(default_factory=list)  # envs measured twice, as <env> and <env>-aa
    layout: str = "blocks"  # workloads.host.LAYOUTS
    pyperformance: tuple[str, ...] = ()  # pyperformance benchmarks measured in the same rounds


def machine_info() -> dict[str, object]:
    """Who measured (``workloads.host.Machine``, its id included): recorded in the run
    manifest and shown in the runs index."""
    return host.this_machine().to_json()


def _tox_env() -> dict[str, str]:
    """Our environment minus the outer tox's, so the nested tox starts clean."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TOX_") and k != "VIRTUAL_ENV"}


def _prepare_env(opts: BenchAllOptions, env: str, index: int, total: int, display: Display) -> tuple[int, list[str]]:
    """Create (or reuse) one bench env through tox and let its driver write the plan.

    tox creates the env and installs gilbench (and NumPy, and the subinterpreter
    backport where they exist); ``python -m workloads --prepare`` then writes the
    env's status file: the plan, work sizes calibrated for this interpreter, the
    interpreter's facts (its executable included) and a GIL timeline.  Nothing is
    measured here: the rounds run afterwards, across every env at once.
    """
    cmd = [sys.executable, "-m", "tox", "run", "-c", str(opts.root / "tox.ini"), "-e", env]
    if os.environ.get("TOX_WORK_DIR"):  # keep the nested envs beside the outer one
        cmd += ["--workdir", os.environ["TOX_WORK_DIR"]]
    cmd += [
        "--",
        "--prepare",
        "--profile",
        opts.profile.name,
        "--run-id",
        opts.run_id,
        "--results-dir",
        str(opts.results_dir),
        "--layout",
        opts.layout,
    ]
    cmd += (["--resume", opts.run_id] if opts.resume else []) + opts.forward
    child_env = _tox_env()
    child_env.update(GILBENCH_PROGRESS="env %d/%d" % (index, total), GILBENCH_RUN_ID=opts.run_id)
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    proc = subprocess.Popen(
        cmd, cwd=opts.root, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            tail.append(line.rstrip("\n"))
            display.show(Step(tail[-1]))
        return proc.wait(), list(tail)
    except BaseException:  # Ctrl-C or SIGTERM: stop the env too, so its driver saves and exits
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def _env_run(opts: BenchAllOptions, env: str) -> EnvRun:
    """The host's handle on a prepared env: its benchmark processes run on the env's
    own interpreter, with the env's PYTHON_GIL, from a neutral folder (so the
    installed package, with its compiled extension, is imported, not the checkout)."""
    run_dir = str(opts.results_dir / opts.run_id)
    status = host.read_json(host.meta_path(run_dir, env + host.STATUS_SUFFIX))
    facts = host.InterpreterFacts.from_json(status["interpreter"])
    environ = {k: v for k, v in worker_environ().items() if k != "PYTHON_GIL"}
    if facts.python_gil_env:
        environ["PYTHON_GIL"] = facts.python_gil_env
    run = EnvRun(
        str(opts.results_dir), opts.run_id, opts.profile, Target(env, facts.executable, environ, tempfile.gettempdir())
    )
    run.load()
    return run


def clone(run: EnvRun, *, env: str | None = None, run_id: str | None = None) -> EnvRun:
    """The same interpreter, plan and work sizes as ``run``, measured as another env of its
    run (an A/A twin) or in another run (a layout comparison); created on first use,
    picked up as it stands after that."""
    target = dataclasses.replace(run.target, env=env or run.target.env)
    twin = EnvRun(os.path.dirname(os.path.dirname(run.suite_path)), run_id or run.run_id, run.profile, target)
    if not os.path.exists(twin.status_path):
        twin.create(run.specs, run.status["interpreter"], run.status["interpreter"].get("jit") == "on")
    twin.load()
    twin.external = run.external
    return twin


AHEAD_SECONDS = 600.0  # the progress line and the report say what this much more measuring would buy


def round_cost(runs: list[EnvRun], benchmarks: set[tuple[str, str]]) -> float:
    """Seconds one more round of ``benchmarks`` ((env, name) pairs) would take: each one's
    share of its processes' time, per round measured so far."""
    total = 0.0
    for run in runs:
        for spec in run.specs:
            entry = run.entry(spec)
            if (run.target.env, spec.name) not in benchmarks:
                continue
            if entry is not None and entry.runs:
                total += entry.seconds / entry.runs
    return total


def projected(head: pd.DataFrame, still_open: set[tuple[str, str]], rounds: int) -> pd.Series:
    """Each headline ratio's half-width after ``rounds`` more rounds of the benchmarks in
    ``still_open``, if the per-round spread stays what it was (closed ratios keep theirs)."""
    grows = [
        (e, n) in still_open or (oe, on) in still_open
        for e, n, oe, on in head[["env", "name", "other_env", "other_name"]].itertuples(index=False)
    ]
    return pd.Series(
        [
            stats.projected_half_width(hw, int(n), rounds) if grow else hw
            for hw, n, grow in zip(head["hw"], head["n"], grows)
        ],
        index=head.index,
        dtype=float,
    )


def headline(runs: list[EnvRun]) -> pd.DataFrame:
    """Every headline ratio of ``runs`` as measured so far (``analysis.Analysis.headline``)."""
    from harness import analysis, collect

    data = collect.from_runs(runs)
    return analysis.analyse(data.benchmarks, data.envs).headline()


def widths(head: pd.DataFrame, target: float, round_: int) -> Widths:
    """How precise the headline ratios in ``head`` are, against ``target``."""
    hw = head["hw"]
    return Widths(
        round=round_,
        target=target,
        ratios=len(hw),
        within=int((hw <= target).sum()),
        median=_finite(hw.median()),
        p90=_finite(hw.quantile(0.9)),
        widest=_finite(hw.max()),
    )


def precision_rule(target: float, history: list[dict[str, Any]], show: Callable[[Widths], None]) -> StopRule:
    """Close every benchmark whose headline ratios all reached ±``target`` (95%), from
    round ``stats.LEAST_ROUNDS_TO_STOP`` on.

    After each round, ``history`` gets how many headline ratios are within ±5% and
    ±3%, the elapsed time, and the median and 90th-percentile half-widths that
    ``AHEAD_SECONDS`` more of measuring would reach (``tools/time_to_precision.py``
    reads it back from the manifest; the report quotes the last entry of a run its
    budget stopped); ``show`` gets the same widths as a record, for the live display.
    """
    started = time.monotonic()

    def rule(runs: list[EnvRun], measured: int) -> tuple[set[tuple[str, str]], str]:
        """The benchmarks to close after ``measured`` rounds; none before
        ``stats.LEAST_ROUNDS_TO_STOP`` (stopping early costs the intervals coverage)."""
        head = headline(runs)
        now = widths(head, target, measured)
        wide = head[~(head["hw"] <= target)]
        needed = set(zip(wide["env"], wide["name"])) | set(zip(wide["other_env"], wide["other_name"]))
        open_now = {(r.target.env, s.name) for r in runs for s in r.open_specs()}
        close = open_now - needed if measured >= stats.LEAST_ROUNDS_TO_STOP else set()
        cost = round_cost(runs, open_now - close)
        more = int(AHEAD_SECONDS // cost) if cost > 0 else 0
        ahead = projected(head, open_now - close, more) if more else head["hw"]
        entry = {
            "round": measured,
            "seconds": round(time.monotonic() - started, 1),
            "ratios": now.ratios,
            "within_5": int((head["hw"] <= 0.05).sum()),
            "within_3": int((head["hw"] <= 0.03).sum()),
            "median": now.median,
            "p90": now.p90,
            "widest": now.widest,
            "ahead": {
                "seconds": AHEAD_SECONDS,
                "rounds": more,
                "median": _finite(ahead.median()),
                "p90": _finite(ahead.quantile(0.9)),
            },
        }
        history.append(entry)
        show(now)
        note = "±%d%%: %d of %d ratios, median ±%s, p90 ±%s" % (
            round(100 * target),
            now.within,
            now.ratios,
            pct(now.median),
            pct(now.p90),
        )
        if more:
            note += "; another %d min: median ±%s, p90 ±%s" % (
                AHEAD_SECONDS // 60,
                pct(entry["ahead"]["median"]),
                pct(entry["ahead"]["p90"]),
            )
        return close, note

    return rule


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and pd.notna(value) else None


def bench_all(opts: BenchAllOptions, display: Display) -> Summary:
    """Prepare every available bench env, measure them in interleaved rounds, write
    the manifest; return the run's summary (``failed`` if any benchmark or env failed)."""
    found = interpreters.discover()
    plan = [(env, interp, reason) for env, interp, reason in interpreters.bench_plan(found) if env in opts.envs]
    runnable = [(env, interp) for env, interp, _ in plan if interp is not None]
    manifest = Manifest(opts, plan)
    for env, _interp, reason in plan:
        if reason:
            display.show(Note("skip %-18s %s" % (env, reason)))
    if not runnable:
        raise UserError(
            "no interpreter found for any of %s; run `python -m harness interpreters` to see what was found"
            % ", ".join(opts.envs)
        )
    manifest.save()
    started = time.monotonic()
    runs, failed = prepare_all(opts, runnable, manifest, display)
    if runs:
        failed += measure(opts, runs, manifest, display) > 0
    manifest.data["finished"] = host.utc_now()
    manifest.data["seconds"] = round(time.monotonic() - started, 1)
    manifest.save()
    return summarize(opts, runs, manifest, bool(failed))


def summarize(opts: BenchAllOptions, runs: list[EnvRun], manifest: Manifest, failed: bool) -> Summary:
    """The run's summary from its envs' status files and manifest (the report's path is
    added once the report is written)."""
    outcomes = [Outcome(e["status"]) for run in runs for e in run.status["benchmarks"].values()]
    rounds = max((e.runs for run in runs for s in run.specs if (e := run.entry(s)) is not None), default=0)
    data = manifest.data
    return Summary(
        envs=len(runs),
        seconds=data["seconds"],
        failed=failed,
        failed_envs=tuple(env for env, entry in data["envs"].items() if entry["status"] == "failed"),
        benchmarks=sum(len(run.specs) for run in runs),
        failed_benchmarks=sum(o.failed for o in outcomes),
        unavailable=outcomes.count(Outcome.UNAVAILABLE),
        measuring=data.get("measuring_seconds", 0.0),
        rounds=rounds,
        stopped_by=data.get("stopped_by", ""),
        widths=widths(headline(runs), opts.precision, rounds) if any(run.suite for run in runs) else None,
    )


class Manifest:
    """``meta/run.json``: who measured, how, which envs, and what the machine did meanwhile."""

    def __init__(self, opts: BenchAllOptions, plan: list[tuple[str, Any, str]]) -> None:
        self.path = Path(host.meta_path(str(opts.results_dir / opts.run_id), host.MANIFEST))
        self.data: dict[str, Any] = {
            "format": host.MANIFEST_FORMAT,
            "run_id": opts.run_id,
            "profile": opts.profile.name,
            "layout": opts.layout,
            "seed": opts.seed,
            "precision": opts.precision,
            "budget": opts.budget,
            "machine": machine_info(),
            "started": host.utc_now(),
            "envs": {
                env: {"status": "planned", "interpreter": interp.path}
                if interp
                else {"status": "skipped", "reason": reason}
                for env, interp, reason in plan
            },
        }
        if opts.resume and self.path.exists():
            previous = host.read_json(str(self.path))
            host.require_machine(previous.get("machine"), str(self.path))
            kept = ("started", "seed", "layout", "noise", "capacity", "precision_history")
            self.data.update({k: previous[k] for k in kept if k in previous})
            opts.seed = self.data["seed"]  # a resumed run keeps the order it was started with
            opts.layout = self.data.get("layout", "processes")

    def save(self) -> None:
        self.data["updated"] = host.utc_now()
        host.atomic_write_json(str(self.path), self.data)


def prepare_all(
    opts: BenchAllOptions, runnable: list[tuple[str, Any]], manifest: Manifest, display: Display
) -> tuple[list[EnvRun], int]:
    """Prepare each env through tox (``_prepare_env``); the host's handles on those that
    prepared (A/A twins included), and how many failed."""
    started = time.monotonic()
    failed = 0
    runs: list[EnvRun] = []
    for index, (env, interp) in enumerate(runnable, start=1):
        display.show(Preparing(index, len(runnable), env, str(interp.path), time.monotonic() - started))
        code, tail = _prepare_env(opts, env, index, len(runnable), display)
        entry = manifest.data["envs"][env]
        if code != 0:
            entry.update(status="failed", exit_code=code, reason="\n".join(tail))
            failed += 1
            if code not in (130, -2):
                display.show(EnvFailed(env, code, tuple(tail[-5:])))
        else:
            entry["status"] = "prepared"
            runs.append(_env_run(opts, env))
            _plan_pyperformance(opts, runs[-1], display)
            if env in opts.aa:
                twin = env + "-aa"
                manifest.data["envs"][twin] = {"status": "prepared", "interpreter": interp.path, "aa_of": env}
                runs.append(clone(runs[-1], env=twin))
        manifest.save()
        if code in (130, -2):  # the user pressed Ctrl-C: stop here, keep what is measured
            raise KeyboardInterrupt
    return runs, failed


def _plan_pyperformance(opts: BenchAllOptions, run: EnvRun, display: Display) -> None:
    """Add ``--pyperformance``'s benchmarks to a prepared env's plan, their loops
    calibrated on its interpreter (``harness.pyperformance.attach``); a resumed run
    measures those its plan already holds, with or without the option."""
    if not opts.pyperformance and not any(s.name.startswith("pyperformance.") for s in run.specs):
        return
    from harness import pyperformance

    pyperformance.attach(run, opts.pyperformance, lambda line: display.show(Step("%s: %s" % (run.target.env, line))))


def measure(opts: BenchAllOptions, runs: list[EnvRun], manifest: Manifest, display: Display) -> int:
    """Measure ``runs`` in interleaved rounds (``workloads.host.run_rounds``), with a
    noise probe before every round and a capacity probe before every slot (``harness.capacity``),
    both kept in the manifest; return the failed benchmarks."""
    display.show(
        Measuring(
            envs=len(runs),
            layout=opts.layout,
            least=opts.profile.rounds,
            most=opts.profile.most_rounds,
            target=opts.precision,
            seed=opts.seed,
            budget=opts.budget,
            open=sum(len(run.open_specs()) for run in runs),
        )
    )
    data = manifest.data
    history: list[dict[str, Any]] = data.setdefault("precision_history", [])
    probes = [noise.Probe.from_json(p) for p in data.get("noise", [])]  # a resumed run keeps its probes
    count = probes[0].count if probes else noise.loop_count()
    ks = capacity.probe_widths([s.workers for r in runs for s in r.specs], runs[0].status.get("cpu_count", 1))
    taken = [capacity.Probe.from_json(p) for p in data.get("capacity", [])]
    spins = data.setdefault("capacity_count", capacity.loop_count()) if ks else 0

    def before(round_: int) -> None:
        probes.append(noise.probe(round_, count))
        data["noise"] = [p.to_json() for p in probes]
        display.show(Noise(round_, probes[-1].spread, probes[-1].median))

    def probe(round_: int) -> None:
        taken.extend(capacity.probe(round_, k, spins) for k in ks)
        data["capacity"] = [p.to_json() for p in taken]
        display.show(Capacity(taken[-1].k, taken[-1].capacity))

    rounds = Rounds(
        least=opts.profile.rounds,
        most=opts.profile.most_rounds if opts.precision else opts.profile.rounds,
        seed=opts.seed,
        stop=precision_rule(opts.precision, history, display.show) if opts.precision else None,
        budget=opts.budget,
        before=before,
        layout=opts.layout,
        probe=probe if ks else None,
    )
    measuring = time.monotonic()
    failures = run_rounds(runs, rounds, display.show)
    data["measuring_seconds"] = round(data.get("measuring_seconds", 0.0) + time.monotonic() - measuring, 1)
    data["stopped_by"] = rounds.stopped_by
    for run in runs:
        bad = any(Outcome(e["status"]).failed for e in run.status["benchmarks"].values())
        data["envs"][run.target.env]["status"] = "some benchmarks failed" if bad else "ok"
    manifest.save()
    return failures
