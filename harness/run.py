"""Orchestrate: one tox bench env per interpreter, measured in interleaved rounds.

tox creates each env and installs gilbench into it; the env's driver then only
prepares (its plan, calibrated work sizes, a GIL timeline).  The measuring is done
here, by one scheduler over every env (``workloads._driver.run_rounds``): round r
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
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness import capacity, interpreters, noise, stats
from workloads import _results, _schema
from workloads._driver import EnvRun, Rounds, StopRule, Target, UsageError, run_rounds, worker_environ
from workloads._registry import Profile
from workloads._schema import Outcome

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
    layout: str = "blocks"  # workloads._driver.LAYOUTS


def machine_info() -> dict[str, object]:
    """Who measured: recorded in the run manifest and shown in the runs index."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "id": _results.machine_id(),
        "hostname": platform.node(),
        "cpu_model": cpu,
        "cpu_count": os.cpu_count() or 1,
        "os": platform.platform(),
        "arch": platform.machine(),
    }


def _tox_env() -> dict[str, str]:
    """Our environment minus the outer tox's, so the nested tox starts clean."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TOX_") and k != "VIRTUAL_ENV"}


def _prepare_env(opts: BenchAllOptions, env: str, index: int, total: int) -> tuple[int, list[str]]:
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
    cmd += ["--", "--prepare", "--profile", opts.profile.name, "--run-id", opts.run_id,
            "--results-dir", str(opts.results_dir), "--layout", opts.layout]  # fmt: skip
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
            sys.stdout.write(line)
            sys.stdout.flush()
            tail.append(line.rstrip("\n"))
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
    status = _results.read_json(_schema.meta_path(run_dir, env + _schema.STATUS_SUFFIX))
    facts = _schema.InterpreterFacts.from_json(status["interpreter"])
    environ = {k: v for k, v in worker_environ().items() if k != "PYTHON_GIL"}
    if facts.python_gil_env:
        environ["PYTHON_GIL"] = facts.python_gil_env
    run = EnvRun(str(opts.results_dir), opts.run_id, opts.profile, Target(env, facts.executable, environ,
                                                                          tempfile.gettempdir()))  # fmt: skip
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
    grows = [(e, n) in still_open or (oe, on) in still_open
             for e, n, oe, on in head[["env", "name", "other_env", "other_name"]].itertuples(index=False)]  # fmt: skip
    return pd.Series(
        [stats.projected_half_width(hw, int(n), rounds) if grow else hw
         for hw, n, grow in zip(head["hw"], head["n"], grows)],
        index=head.index, dtype=float,
    )  # fmt: skip


def precision_rule(target: float, history: list[dict[str, Any]]) -> StopRule:
    """Close every benchmark whose headline ratios all reached ±``target`` (95%), from
    round ``stats.LEAST_ROUNDS_TO_STOP`` on.

    After each round, ``history`` gets how many headline ratios are within ±5% and
    ±3%, the elapsed time, and the median and 90th-percentile half-widths that
    ``AHEAD_SECONDS`` more of measuring would reach (``tools/time_to_precision.py``
    reads it back from the manifest; the report quotes the last entry of a run its
    budget stopped).
    """
    from harness import analysis, collect

    started = time.monotonic()

    def rule(runs: list[EnvRun], measured: int) -> tuple[set[tuple[str, str]], str]:
        """The benchmarks to close after ``measured`` rounds; none before
        ``stats.LEAST_ROUNDS_TO_STOP`` (stopping early costs the intervals coverage)."""
        data = collect.from_runs(runs)
        head = analysis.analyse(data.benchmarks, data.envs).headline()
        wide = head[~(head["hw"] <= target)]
        needed = set(zip(wide["env"], wide["name"])) | set(zip(wide["other_env"], wide["other_name"]))
        open_now = {(r.target.env, s.name) for r in runs for s in r.open_specs()}
        close = open_now - needed if measured >= stats.LEAST_ROUNDS_TO_STOP else set()
        cost = round_cost(runs, open_now - close)
        more = int(AHEAD_SECONDS // cost) if cost > 0 else 0
        ahead = projected(head, open_now - close, more) if more else head["hw"]
        entry = {"round": measured, "seconds": round(time.monotonic() - started, 1), "ratios": len(head),
                 "within_5": int((head["hw"] <= 0.05).sum()), "within_3": int((head["hw"] <= 0.03).sum()),
                 "median": _finite(head["hw"].median()), "p90": _finite(head["hw"].quantile(0.9)),
                 "widest": _finite(head["hw"].max()),
                 "ahead": {"seconds": AHEAD_SECONDS, "rounds": more, "median": _finite(ahead.median()),
                           "p90": _finite(ahead.quantile(0.9))}}  # fmt: skip
        history.append(entry)
        note = "±%d%%: %d of %d ratios, median ±%s, p90 ±%s" % (
            round(100 * target), int((head["hw"] <= target).sum()), len(head), _pct(entry["median"]),
            _pct(entry["p90"]))  # fmt: skip
        if more:
            note += "; another %d min: median ±%s, p90 ±%s" % (
                AHEAD_SECONDS // 60, _pct(entry["ahead"]["median"]), _pct(entry["ahead"]["p90"]))  # fmt: skip
        return close, note

    return rule


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and pd.notna(value) else None


def _pct(value: float | None) -> str:
    return "?" if value is None else "%.1f%%" % (100 * value)


def bench_all(opts: BenchAllOptions) -> int:
    """Prepare every available bench env, measure them in interleaved rounds, write
    the manifest; return 0, or 1 if any benchmark or env failed."""
    found = interpreters.discover()
    plan = [(env, interp, reason) for env, interp, reason in interpreters.bench_plan(found) if env in opts.envs]
    runnable = [(env, interp) for env, interp, _ in plan if interp is not None]
    manifest = Manifest(opts, plan)
    for env, _interp, reason in plan:
        if reason:
            print("skip %-18s %s" % (env, reason))
    if not runnable:
        raise UsageError(
            "no interpreter found for any of %s; run `python -m harness interpreters` to see what was found"
            % ", ".join(opts.envs)
        )
    manifest.save()
    started = time.monotonic()
    runs, failed = prepare_all(opts, runnable, manifest)
    if runs:
        failed += measure(opts, runs, manifest) > 0
    manifest.data["finished"] = _results.utc_now()
    manifest.data["seconds"] = round(time.monotonic() - started, 1)
    manifest.save()
    print("\nbench-all: %d env(s) run in %.0f s, %s"
          % (len(runs), time.monotonic() - started, "with failures" if failed else "no failures"))  # fmt: skip
    return 1 if failed else 0


class Manifest:
    """``meta/run.json``: who measured, how, which envs, and what the machine did meanwhile."""

    def __init__(self, opts: BenchAllOptions, plan: list[tuple[str, Any, str]]) -> None:
        self.path = Path(_schema.meta_path(str(opts.results_dir / opts.run_id), _schema.MANIFEST))
        self.data: dict[str, Any] = {
            "format": _schema.MANIFEST_FORMAT,
            "run_id": opts.run_id,
            "profile": opts.profile.name,
            "layout": opts.layout,
            "seed": opts.seed,
            "precision": opts.precision,
            "budget": opts.budget,
            "machine": machine_info(),
            "started": _results.utc_now(),
            "envs": {
                env: {"status": "planned", "interpreter": interp.path}
                if interp
                else {"status": "skipped", "reason": reason}
                for env, interp, reason in plan
            },
        }
        if opts.resume and self.path.exists():
            previous = _results.read_json(str(self.path))
            kept = ("started", "seed", "layout", "noise", "capacity", "precision_history")
            self.data.update({k: previous[k] for k in kept if k in previous})
            opts.seed = self.data["seed"]  # a resumed run keeps the order it was started with
            opts.layout = self.data.get("layout", "processes")

    def save(self) -> None:
        self.data["updated"] = _results.utc_now()
        _results.atomic_write_json(str(self.path), self.data)


def prepare_all(opts: BenchAllOptions, runnable: list[tuple[str, Any]], manifest: Manifest) -> tuple[list[EnvRun], int]:
    """Prepare each env through tox (``_prepare_env``); the host's handles on those that
    prepared (A/A twins included), and how many failed."""
    started = time.monotonic()
    failed = 0
    runs: list[EnvRun] = []
    for index, (env, interp) in enumerate(runnable, start=1):
        print("\n=== [env %d/%d] preparing %s on %s (elapsed %.0fs)"
              % (index, len(runnable), env, interp.path, time.monotonic() - started), flush=True)  # fmt: skip
        code, tail = _prepare_env(opts, env, index, len(runnable))
        entry = manifest.data["envs"][env]
        if code != 0:
            entry.update(status="failed", exit_code=code, reason="\n".join(tail))
            failed += 1
        else:
            entry["status"] = "prepared"
            runs.append(_env_run(opts, env))
            if env in opts.aa:
                twin = env + "-aa"
                manifest.data["envs"][twin] = {"status": "prepared", "interpreter": interp.path, "aa_of": env}
                runs.append(clone(runs[-1], env=twin))
        manifest.save()
        if code in (130, -2):  # the user pressed Ctrl-C: stop here, keep what is measured
            raise KeyboardInterrupt
    return runs, failed


def measure(opts: BenchAllOptions, runs: list[EnvRun], manifest: Manifest) -> int:
    """Measure ``runs`` in interleaved rounds (``workloads._driver.run_rounds``), with a
    noise probe before every round and a capacity probe before every slot (``harness.capacity``),
    both kept in the manifest; return the failed benchmarks."""
    print("\n=== measuring %d env(s) in interleaved rounds (%s layout): at least %d, at most %d%s (seed %d)"
          % (len(runs), opts.layout, opts.profile.rounds, opts.profile.most_rounds,
             ", until every headline ratio is within ±%g%%" % (100 * opts.precision) if opts.precision else "",
             opts.seed), flush=True)  # fmt: skip
    data = manifest.data
    history: list[dict[str, Any]] = data.setdefault("precision_history", [])
    probes = [noise.Probe.from_json(p) for p in data.get("noise", [])]  # a resumed run keeps its probes
    count = probes[0].count if probes else noise.loop_count()
    widths = capacity.probe_widths([s.workers for r in runs for s in r.specs], runs[0].status.get("cpu_count", 1))
    taken = [capacity.Probe.from_json(p) for p in data.get("capacity", [])]
    spins = data.setdefault("capacity_count", capacity.loop_count()) if widths else 0

    def before(round_: int) -> None:
        probes.append(noise.probe(round_, count))
        data["noise"] = [p.to_json() for p in probes]
        print("round %d: machine noise ±%.0f%% per %.0f ms value" % (
            round_, 100 * probes[-1].spread, 1000 * probes[-1].median), flush=True)  # fmt: skip

    def probe(round_: int) -> None:
        taken.extend(capacity.probe(round_, k, spins) for k in widths)
        data["capacity"] = [p.to_json() for p in taken]

    rounds = Rounds(
        least=opts.profile.rounds,
        most=opts.profile.most_rounds if opts.precision else opts.profile.rounds,
        seed=opts.seed,
        stop=precision_rule(opts.precision, history) if opts.precision else None,
        budget=opts.budget,
        before=before,
        layout=opts.layout,
        probe=probe if widths else None,
    )
    measuring = time.monotonic()
    failures = run_rounds(runs, rounds, lambda line: print(line, flush=True))
    data["measuring_seconds"] = round(data.get("measuring_seconds", 0.0) + time.monotonic() - measuring, 1)
    data["stopped_by"] = rounds.stopped_by
    for run in runs:
        bad = any(Outcome(e["status"]).failed for e in run.status["benchmarks"].values())
        data["envs"][run.target.env]["status"] = "some benchmarks failed" if bad else "ok"
    manifest.save()
    return failures
