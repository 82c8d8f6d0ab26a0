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

from harness import interpreters, noise, stats
from workloads import _results, _schema
from workloads._driver import EnvRun, Rounds, StopRule, Target, UsageError, run_rounds, worker_environ
from workloads._registry import Profile
from workloads._schema import BenchSpec, Outcome

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
            "--results-dir", str(opts.results_dir)]  # fmt: skip
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


def _env_run(opts: BenchAllOptions, env: str, prepared: str) -> EnvRun:
    """The host's handle on a prepared env: its benchmark processes run on the env's
    own interpreter, with the env's PYTHON_GIL, from a neutral folder (so the
    installed package, with its compiled extension, is imported, not the checkout)."""
    run_dir = str(opts.results_dir / opts.run_id)
    status = _results.read_json(_schema.meta_path(run_dir, prepared + _schema.STATUS_SUFFIX))
    facts = _schema.InterpreterFacts.from_json(status["interpreter"])
    environ = {k: v for k, v in worker_environ().items() if k != "PYTHON_GIL"}
    if facts.python_gil_env:
        environ["PYTHON_GIL"] = facts.python_gil_env
    target = Target(env, facts.executable, environ, tempfile.gettempdir())
    run = EnvRun(str(opts.results_dir), opts.run_id, opts.profile, target)
    if env != prepared and not os.path.exists(run.status_path):  # an A/A twin: same interpreter, plan, sizes
        specs = [BenchSpec.from_json(s) for s in status["plan"]]
        run.create(specs, status["interpreter"], facts.jit == "on")
    run.load()
    return run


def precision_rule(target: float, history: list[dict[str, Any]]) -> StopRule:
    """Close every benchmark whose headline ratios all reached ±``target`` (95%), from
    round ``stats.LEAST_ROUNDS_TO_STOP`` on.

    After each round, ``history`` gets how many headline ratios are within ±5% and
    ±3% and the elapsed time: ``benchmarks/time_to_precision.py`` reads it back from
    the manifest.
    """
    from harness import analysis, collect

    started = time.monotonic()

    def rule(runs: list[EnvRun], measured: int) -> tuple[set[tuple[str, str]], str]:
        """The benchmarks to close after ``measured`` rounds; none before
        ``stats.LEAST_ROUNDS_TO_STOP`` (stopping early costs the intervals coverage)."""
        data = collect.from_runs(runs)
        head = analysis.analyse(data.benchmarks, data.envs).headline()
        history.append({"round": measured, "seconds": round(time.monotonic() - started, 1), "ratios": len(head),
                        "within_5": int((head["hw"] <= 0.05).sum()), "within_3": int((head["hw"] <= 0.03).sum()),
                        "widest": float(head["hw"].max()) if len(head) else None})  # fmt: skip
        wide = head[~(head["hw"] <= target)]
        needed = set(zip(wide["env"], wide["name"])) | set(zip(wide["other_env"], wide["other_name"]))
        open_now = {(r.target.env, s.name) for r in runs for s in r.open_specs()}
        note = ""
        if len(wide):
            worst = wide.sort_values("hw", ascending=False, na_position="first").iloc[0]
            note = "widest open interval ±%s (%s %s on %s)" % (
                "?" if pd.isna(worst["hw"]) else "%.1f%%" % (100 * worst["hw"]), worst["kind"], worst["name"],
                worst["env"])  # fmt: skip
        if measured < stats.LEAST_ROUNDS_TO_STOP:
            return set(), note
        return open_now - needed, note

    return rule


def bench_all(opts: BenchAllOptions) -> int:
    """Prepare every available bench env, measure them in interleaved rounds, write
    the manifest; return 0, or 1 if any benchmark or env failed."""
    found = interpreters.discover()
    plan = [(env, interp, reason) for env, interp, reason in interpreters.bench_plan(found) if env in opts.envs]
    runnable = [(env, interp) for env, interp, _ in plan if interp is not None]
    run_dir = opts.results_dir / opts.run_id
    manifest_path = Path(_schema.meta_path(str(run_dir), _schema.MANIFEST))
    manifest = {
        "format": _schema.MANIFEST_FORMAT,
        "run_id": opts.run_id,
        "profile": opts.profile.name,
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
    if opts.resume and manifest_path.exists():
        previous = _results.read_json(str(manifest_path))
        manifest.update({k: previous[k] for k in ("started", "seed", "noise") if k in previous})
        opts.seed = manifest["seed"]  # a resumed run keeps the order it was started with
    for env, _interp, reason in plan:
        if reason:
            print("skip %-18s %s" % (env, reason))
    if not runnable:
        raise UsageError(
            "no interpreter found for any of %s; run `python -m harness interpreters` to see what was found"
            % ", ".join(opts.envs)
        )
    _results.atomic_write_json(str(manifest_path), manifest)
    started = time.monotonic()
    failed = 0
    runs: list[EnvRun] = []
    for index, (env, interp) in enumerate(runnable, start=1):
        print("\n=== [env %d/%d] preparing %s on %s (elapsed %.0fs)"
              % (index, len(runnable), env, interp.path, time.monotonic() - started), flush=True)  # fmt: skip
        code, tail = _prepare_env(opts, env, index, len(runnable))
        entry = manifest["envs"][env]
        if code != 0:
            entry.update(status="failed", exit_code=code, reason="\n".join(tail))
            failed += 1
        else:
            entry["status"] = "prepared"
            runs.append(_env_run(opts, env, env))
            if env in opts.aa:
                twin = env + "-aa"
                manifest["envs"][twin] = {"status": "prepared", "interpreter": interp.path, "aa_of": env}
                runs.append(_env_run(opts, twin, env))
        manifest["updated"] = _results.utc_now()
        _results.atomic_write_json(str(manifest_path), manifest)
        if code in (130, -2):  # the user pressed Ctrl-C: stop here, keep what is measured
            raise KeyboardInterrupt
    if runs:
        print("\n=== measuring %d env(s) in interleaved rounds: at least %d, at most %d%s (seed %d)"
              % (len(runs), opts.profile.rounds, opts.profile.most_rounds,
                 ", until every headline ratio is within ±%g%%" % (100 * opts.precision) if opts.precision else "",
                 opts.seed), flush=True)  # fmt: skip
        history: list[dict[str, Any]] = []
        probes = [noise.Probe.from_json(p) for p in manifest.get("noise", [])]  # a resumed run keeps its probes
        count = probes[0].count if probes else noise.loop_count()

        def before(round_: int) -> None:
            probes.append(noise.probe(round_, count))
            print("round %d: machine noise ±%.0f%% per %.0f ms value" % (
                round_, 100 * probes[-1].spread, 1000 * probes[-1].median), flush=True)  # fmt: skip

        rounds = Rounds(
            least=opts.profile.rounds,
            most=opts.profile.most_rounds if opts.precision else opts.profile.rounds,
            seed=opts.seed,
            stop=precision_rule(opts.precision, history) if opts.precision else None,
            budget=opts.budget,
            before=before,
        )
        measuring = time.monotonic()
        failures = run_rounds(runs, rounds, lambda line: print(line, flush=True))
        manifest["measuring_seconds"] = round(time.monotonic() - measuring, 1)
        manifest["precision_history"] = history
        manifest["noise"] = [p.to_json() for p in probes]
        for run in runs:
            bad = any(Outcome(e["status"]).failed for e in run.status["benchmarks"].values())
            manifest["envs"][run.target.env]["status"] = "some benchmarks failed" if bad else "ok"
        failed += failures > 0
    manifest["finished"] = _results.utc_now()
    manifest["seconds"] = round(time.monotonic() - started, 1)
    _results.atomic_write_json(str(manifest_path), manifest)
    print("\nbench-all: %d env(s) run in %.0f s, %s"
          % (len(runs), time.monotonic() - started, "with failures" if failed else "no failures"))  # fmt: skip
    return 1 if failed else 0
