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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import capacity, interpreters, noise
from harness.progress import (
    CapacityProbed,
    Display,
    EnvFailed,
    Measuring,
    NoiseProbed,
    Note,
    Preparing,
    Step,
    Summary,
)
from workloads import host
from workloads.host import EnvRun, Outcome, RoundPlan, RunOptions, Target, UserError, run_rounds

if TYPE_CHECKING:
    import pandas as pd

TAIL_LINES = 30
STOP_GRACE = 30.0  # seconds an interrupted env gets to record where it stopped


@dataclass(frozen=True)
class BenchAllOptions:
    """bench-all's options, resolved once by ``harness.cli``: what every env measures
    (``run``, handed to each env's driver), and what the host alone decides."""

    run: RunOptions
    root: Path  # the project root holding tox.ini
    envs: list[str]
    precision: float = 0.0  # target relative half-width of headline ratios; 0: fixed rounds
    budget: float | None = None  # seconds of measuring, after which no new round starts
    aa: list[str] = field(default_factory=list)  # envs measured twice, as <env> and <env>-aa
    pyperformance: tuple[str, ...] = ()  # pyperformance benchmarks measured in the same rounds

    @property
    def run_dir(self) -> Path:
        return Path(self.run.run_dir)


def resumed_order(run_dir: Path) -> tuple[int | None, str | None]:
    """The seed and layout a run was started with, from its manifest (None where it has
    none): a resumed run keeps the order it was started with."""
    path = host.find_meta(str(run_dir), host.MANIFEST)
    if path is None:
        return None, None
    manifest = host.read_json(path)
    return manifest.get("seed"), manifest.get("layout", "processes")


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
    cmd += ["--", *host.driver_args(opts.run, env)]
    child_env = dict(_tox_env(), GILBENCH_PROGRESS="env %d/%d" % (index, total))
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
    own interpreter, with the env's PYTHON_GIL and the run's variables, from a neutral
    folder (so the installed package, with its compiled extension, is imported, not the
    checkout)."""
    status = host.read_json(opts.run.files(env).status)
    facts = host.InterpreterFacts.from_json(status["interpreter"])
    extra = dict(opts.run.worker_env(), **({"PYTHON_GIL": facts.python_gil_env} if facts.python_gil_env else {}))
    run = EnvRun(opts.run, Target(env, facts.executable, extra))
    run.load()
    return run


def clone(run: EnvRun, *, env: str | None = None, run_id: str | None = None) -> EnvRun:
    """The same interpreter, plan and work sizes as ``run``, measured as another env of its
    run (an A/A twin) or in another run (a layout comparison); created on first use,
    picked up as it stands after that."""
    target = dataclasses.replace(run.target, env=env or run.target.env)
    twin = EnvRun(dataclasses.replace(run.options, run_id=run_id or run.run_id), target)
    if not os.path.exists(twin.status_path):
        twin.create(run.specs, run.status["interpreter"], run.status["interpreter"].get("jit") == "on")
    twin.load()
    twin.external = run.external
    return twin


def headline(runs: list[EnvRun]) -> pd.DataFrame:
    """Every headline ratio of ``runs`` as measured so far (``analysis.Analysis.headline``):
    what the precision target (``harness.precision``) is fed after every round."""
    from harness import analysis, collect

    data = collect.from_runs(runs)
    return analysis.analyse(data.benchmarks, data.envs).headline()


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
    from harness import precision  # pandas and SciPy: only once a run measures

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
        widths=precision.widths(headline(runs), opts.precision, rounds) if any(run.suite for run in runs) else None,
    )


# When a block's benchmarks stopped for different reasons, the block is said to have
# stopped for the first of these its last benchmarks stopped for.
_STOP_ORDER = (host.BUDGET, host.MOST, host.ROUNDS, host.TARGET)


def blocks(runs: list[EnvRun], stopped: dict[tuple[str, str], str]) -> dict[str, dict[str, dict[str, Any]]]:
    """env -> block -> the rounds it measured (its benchmarks' most) and why it stopped
    (``workloads.host.RoundsResult.stopped`` of the benchmarks that measured them; a
    benchmark this call did not close is left out): what the report's precision section
    lists, block by block."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        per_block: dict[str, list[tuple[int, str]]] = {}
        for spec in run.specs:
            entry, why = run.entry(spec), stopped.get((run.target.env, spec.name))
            if entry is not None and entry.runs and why:
                per_block.setdefault(spec.block, []).append((entry.runs, why))
        for block, got in per_block.items():
            rounds = max(n for n, _ in got)
            reasons = {why for n, why in got if n == rounds}
            out.setdefault(run.target.env, {})[block] = {
                "rounds": rounds,
                "stopped": next(w for w in _STOP_ORDER if w in reasons),
            }
    return out


class Manifest:
    """``meta/run.json``: who measured, how, which envs, and what the machine did meanwhile."""

    def __init__(self, opts: BenchAllOptions, plan: list[tuple[str, Any, str]]) -> None:
        self.path = Path(host.meta_path(opts.run.run_dir, host.MANIFEST))
        self.data: dict[str, Any] = {
            "format": host.MANIFEST_FORMAT,
            "run_id": opts.run.run_id,
            "profile": opts.run.profile.name,
            "layout": opts.run.layout,
            "seed": opts.run.seed,
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
        if opts.run.resume and self.path.exists():  # its seed and layout are the options' (``resumed_order``)
            previous = host.read_json(str(self.path))
            host.require_machine(previous.get("machine"), str(self.path))
            kept = ("started", "noise", "capacity", "precision_history", "blocks")
            self.data.update({k: previous[k] for k in kept if k in previous})

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
    from harness import precision  # pandas and SciPy: only once a run measures

    display.show(
        Measuring(
            envs=len(runs),
            layout=opts.run.layout,
            least=opts.run.profile.rounds,
            most=opts.run.profile.most_rounds,
            target=opts.precision,
            seed=opts.run.seed,
            budget=opts.budget,
            open=sum(len(run.open_specs()) for run in runs),
        )
    )
    data = manifest.data
    history: list[dict[str, Any]] = data.setdefault("precision_history", [])
    probes = [noise.NoiseProbe.from_json(p) for p in data.get("noise", [])]  # a resumed run keeps its probes
    count = probes[0].count if probes else noise.loop_count()
    ks = capacity.probe_widths([s.workers for r in runs for s in r.specs], runs[0].status.get("cpu_count", 1))
    taken = [capacity.CapacityProbe.from_json(p) for p in data.get("capacity", [])]
    spins = data.setdefault("capacity_count", capacity.loop_count()) if ks else 0

    def before(round_: int) -> None:
        probes.append(noise.probe(round_, count))
        data["noise"] = [p.to_json() for p in probes]
        display.show(NoiseProbed(round_, probes[-1].spread, probes[-1].median))

    def probe(round_: int) -> None:
        taken.extend(capacity.probe(round_, k, spins) for k in ks)
        data["capacity"] = [p.to_json() for p in taken]
        display.show(CapacityProbed(taken[-1].k, taken[-1].capacity))

    profile = opts.run.profile
    plan = RoundPlan(
        least=profile.rounds,
        most=profile.most_rounds if opts.precision else profile.rounds,
        seed=opts.run.seed,
        policy=precision.PrecisionRule(opts.precision, lambda: headline(runs), history, display.show)
        if opts.precision
        else None,
        budget=opts.budget,
        before=before,
        layout=opts.run.layout,
        probe=probe if ks else None,
    )
    measuring = time.monotonic()
    result = run_rounds(runs, plan, display.show)
    data["measuring_seconds"] = round(data.get("measuring_seconds", 0.0) + time.monotonic() - measuring, 1)
    data["stopped_by"] = result.stopped_by
    for env, got in blocks(runs, result.stopped).items():
        data.setdefault("blocks", {}).setdefault(env, {}).update(got)
    for run in runs:
        bad = any(Outcome(e["status"]).failed for e in run.status["benchmarks"].values())
        data["envs"][run.target.env]["status"] = "some benchmarks failed" if bad else "ok"
    manifest.save()
    return result.failures
