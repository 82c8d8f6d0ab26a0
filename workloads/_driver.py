"""Plan, prepare and measure the benchmark matrix: ``python -m workloads``.

Run by hand (or ``tox -e bench-py313t``), it measures this interpreter alone, in
rounds.  Under bench-all, each tox env only *prepares* (``--prepare``: the plan,
the work sizes calibrated for this interpreter, the GIL timeline) and the host
measures every env from one scheduler, ``run_rounds``, so that round r of every
interpreter runs before round r+1 of any.

Each pyperf worker process runs in its own process group, so a crash, a segfault or
a hang costs that benchmark only: it is recorded as failed or timed out, and the
run goes on.  After each process the env's pyperf file and status file are
rewritten atomically, so Ctrl-C or a kill loses at most the process in flight, and
``--resume RUN_ID`` finishes the rest.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from workloads import _meta, _results, _schema
from workloads._registry import PROFILES, USER_WORKLOADS_ENV, Bench, Profile, Workload, cpu_count, load_all, plan
from workloads._schema import ERRORS_SUFFIX, BenchSpec, BenchStatus, Outcome
from workloads.modes import MODES, mode_unavailable

TAIL_CHARS = 2000  # of a failed benchmark's output, kept in the status file
TIMELINE_TIMEOUT = 60


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


# What pyperf's manager passes to its workers (pyperf._utils.create_environ): no stray
# variables that could change how the measured code behaves.
_WORKER_ENV = ("PATH", "HOME", "TEMP", "TMPDIR", "PYTHONPATH", "PYTHON_CPU_COUNT", "PYTHON_GIL", "PYTHON_JIT", "LANG")
CALIBRATION_TIMEOUT = 120.0
MAX_SCALE = 4096


def worker_environ() -> Dict[str, str]:
    """The environment of a benchmark process: pyperf's list, plus gilbench's own variables."""
    return {k: v for k, v in os.environ.items() if k in _WORKER_ENV or k.startswith(("LC_", "GILBENCH_"))}


LAYOUTS = ("blocks", "processes")  # see workloads._runner; ``blocks`` is the default
# Where there is no JIT, the ``blocks`` layout's warm-up passes run at this share of the size: a
# first pass differed from the later ones by no more than the noise (docs/data/variance-budget.md).
SHORT_WARMUP = 0.25


def worker_command(
    python: str,
    specs: Sequence[BenchSpec],
    part: str,
    *,
    round_: int,
    profile: Profile,
    run_id: str,
    env: str,
    layout: str = "blocks",
    warmups: Optional[int] = None,
    values: Optional[int] = None,
    warmup_scale: float = 1.0,
) -> List[str]:
    """The command line of one benchmark process measuring ``specs`` (one block: the same
    workload, size and parameters) into ``part``.

    Public so that a check made outside bench-all (``benchmarks/interleaved_check.py``)
    times a benchmark through exactly the process bench-all starts.
    """
    first = specs[0]
    if values is None:
        values = profile.latency_values if first.self_timed else profile.layout(layout).values
    cmd = [
        python, "-m", "workloads._runner",
        "--values", str(values),
        "--warmups", str(profile.warmups if warmups is None else warmups),
        "--output", part,
        "--module", first.module,
        "--workload", first.workload,
        "--size", str(first.size),
        "--round", str(round_),
        "--bench-profile", profile.name,
        "--run-id", run_id,
        "--env", env,
    ]  # fmt: skip
    for spec in specs:
        cmd.extend(("--bench", "%s:%d" % (spec.mode, spec.workers)))
    for key, value in first.params:
        cmd.extend(("--param", "%s=%s" % (key, value)))
    if layout == "processes":
        cmd.append("--pair-serial")
    if warmup_scale != 1.0:
        cmd.extend(("--warmup-scale", repr(warmup_scale)))
    return cmd


def comma_list(values: Optional[Sequence[str]]) -> List[str]:
    """``["a,b", "c"]`` (repeated and comma-separated options) -> ``["a", "b", "c"]``."""
    return [v for item in values or () for v in item.split(",") if v]


def choose(kind: str, given: List[str], valid: Sequence[str]) -> List[str]:
    """``given`` if every item is valid; else a UsageError listing the valid ones."""
    unknown = [g for g in given if g not in valid]
    if unknown:
        raise UsageError("unknown %s %s; valid: %s" % (kind, ", ".join(map(repr, unknown)), ", ".join(valid)))
    return given


def resolve_profile(name: Optional[str]) -> Profile:
    """``--profile`` wins over ``GILBENCH_PROFILE``; ``default`` when neither is given."""
    chosen = name or os.environ.get("GILBENCH_PROFILE") or "default"
    choose("profile", [chosen], list(PROFILES))
    return PROFILES[chosen]


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= TAIL_CHARS else "..." + text[-TAIL_CHARS:]


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return "killed by signal %s" % signal.Signals(-code).name
        except ValueError:
            return "killed by signal %d" % -code
    return "exit status %d" % code


@dataclass(frozen=True)
class Target:
    """Where one env's benchmark processes run: its interpreter, environment, folder.

    ``python -m workloads`` runs its own interpreter; bench-all runs every env's
    interpreter (the tox env's python) from one scheduler, so rounds interleave
    across interpreters.
    """

    env: str
    python: str
    environ: Dict[str, str]
    cwd: str


def own_target(env: str) -> Target:
    """This interpreter, as a pyperf manager would start its workers."""
    return Target(env, sys.executable, worker_environ(), tempfile.gettempdir())


class EnvRun:
    """One env's share of a run: its plan, its pyperf file and its status file."""

    def __init__(
        self, results_dir: str, run_id: str, profile: Profile, target: Target, timeout: Optional[float] = None
    ) -> None:
        self.profile = profile
        self.target = target
        self.run_id = run_id
        self.timeout = timeout or profile.timeout
        folder = os.path.join(results_dir, run_id)
        self.suite_path = os.path.join(folder, target.env + ".json")
        self.status_path = _schema.meta_path(folder, target.env + _schema.STATUS_SUFFIX)
        os.makedirs(os.path.dirname(self.status_path), exist_ok=True)
        for stale in glob.glob(os.path.join(folder, ".bench-*")):  # scratch of a killed run (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        self.status: Dict[str, Any] = {}
        self.specs: List[BenchSpec] = []
        self.suite: Dict[str, Any] = {}

    # -- status and suite files ------------------------------------------------------

    def create(self, specs: List[BenchSpec], facts: Dict[str, Any], jit: bool) -> None:
        """A new status file: the plan is on disk before any benchmark runs."""
        if os.path.exists(self.status_path):
            raise UsageError("%s already exists; pass --resume %s to finish that run" % (self.status_path, self.run_id))
        self.specs = specs
        self.status = {
            "format": _schema.STATUS_FORMAT,
            "env": self.target.env,
            "run_id": self.run_id,
            "profile": dataclasses.asdict(self.profile),
            "interpreter": facts,
            "warmups": self.profile.warmups_for(jit),
            "cpu_count": cpu_count(),
            "started": _results.utc_now(),
            "planned": [s.name for s in specs],
            "plan": [s.to_json() for s in specs],
            "benchmarks": {},
        }
        for spec in specs:
            if spec.unavailable:
                self._record(spec, Outcome.UNAVAILABLE, 0.0, spec.unavailable)
        self._save_status()

    def load(self) -> None:
        """Pick up an existing status file (a prepared env, or a run to resume)."""
        try:
            status = _results.read_json(self.status_path)
        except (OSError, ValueError) as exc:
            raise UsageError("%s: not a gilbench status file (%s)" % (self.status_path, exc)) from None
        if status.get("format") != _schema.STATUS_FORMAT or "plan" not in status:
            raise UsageError("%s: not a gilbench status file of this version" % self.status_path)
        if status.get("profile", {}).get("name") != self.profile.name:
            raise UsageError(
                "%s was run with profile %r; resume it with the same profile"
                % (self.status_path, status.get("profile", {}).get("name"))
            )
        self.status = status
        self.specs = [BenchSpec.from_json(s) for s in status["plan"]]
        self.suite = self._load_suite()

    def _load_suite(self) -> Dict[str, Any]:
        """Benchmarks measured so far (a resumed run starts from its file), by name."""
        import pyperf

        if not os.path.exists(self.suite_path):
            return {}
        try:
            benches = pyperf.BenchmarkSuite.load(self.suite_path).get_benchmarks()
        except (ValueError, KeyError) as exc:
            raise UsageError("%s: not a readable pyperf file (%s)" % (self.suite_path, exc)) from None
        return {b.get_name(): b for b in benches}

    def _save_suite(self) -> None:
        import pyperf

        _results.atomic_write_text(self.suite_path, _dumps(pyperf.BenchmarkSuite(list(self.suite.values()))))

    def _save_status(self) -> None:
        self.status["updated"] = _results.utc_now()
        _results.atomic_write_json(self.status_path, self.status)

    def entry(self, spec: BenchSpec) -> Optional[BenchStatus]:
        data = self.status["benchmarks"].get(spec.name)
        return BenchStatus.from_json(data) if data else None

    def _record(self, spec: BenchSpec, outcome: Outcome, seconds: float, reason: str = "") -> None:
        previous = self.entry(spec)
        self.status["benchmarks"][spec.name] = BenchStatus(
            workload=spec.workload,
            mode=spec.mode,
            workers=spec.workers,
            params=dict(spec.params),
            work_size=spec.size,
            status=outcome,
            runs=self.suite[spec.name].get_nrun() if spec.name in self.suite else 0,
            seconds=round((previous.seconds if previous else 0.0) + seconds, 3),
            reason=reason,
        ).to_json()
        self._save_status()

    def next_round(self, spec: BenchSpec) -> Optional[int]:
        """The round this benchmark's next process belongs to, or None when it is done."""
        entry = self.entry(spec)
        if entry is None:
            return 0
        return entry.runs if entry.status.open else None

    def open_specs(self) -> List[BenchSpec]:
        return [s for s in self.specs if self.next_round(s) is not None]

    def close(self, spec: BenchSpec, reason: str = "") -> None:
        """Stop measuring ``spec``: its rounds are complete (or the target is met)."""
        entry = self.entry(spec)
        if entry is not None and entry.status.open:
            self._record(spec, Outcome.OK, 0.0, reason)

    def forget_failures(self) -> None:
        """``--retry-failed``: failed and timed-out benchmarks start over."""
        for name, entry in list(self.status["benchmarks"].items()):
            if Outcome(entry["status"]).failed:
                del self.status["benchmarks"][name]
                self.suite.pop(name, None)

    def finish(self) -> None:
        self.status["finished"] = _results.utc_now()
        self._save_status()

    # -- one pyperf process ----------------------------------------------------------

    def run_block(self, specs: Sequence[BenchSpec], round_: int, layout: str = "blocks") -> Dict[str, Outcome]:
        """One benchmark process measuring ``specs`` (see ``workloads._runner``), in its own
        process group: pyperf's manager, minus a process.  Record each benchmark's run and
        return its outcome, by name.  A benchmark that raised is failed alone; a process that
        crashes, hangs or is interrupted fails (or interrupts) every benchmark it measured."""
        import pyperf

        scratch = tempfile.mkdtemp(prefix=".bench-", dir=os.path.dirname(self.suite_path))
        part = os.path.join(scratch, "worker.json")
        jit = self.status.get("interpreter", {}).get("jit") == "on"
        cmd = worker_command(self.target.python, specs, part, round_=round_, profile=self.profile,
                             run_id=self.run_id, env=self.target.env, layout=layout,
                             warmups=self.status.get("warmups", self.profile.warmups),
                             warmup_scale=SHORT_WARMUP if layout == "blocks" and not jit else 1.0)  # fmt: skip
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=self.target.cwd,
            env=self.target.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we can kill pool workers too
            preexec_fn=_results.die_with_parent,
        )
        share = 1.0 / len(specs)  # each benchmark's share of the process's seconds
        try:
            out, _ = proc.communicate(timeout=self.timeout)
            elapsed = time.monotonic() - start
            tail = _tail(out.decode("utf-8", "replace"))
            measured = {b.get_name(): b for b in pyperf.BenchmarkSuite.load(part)} if os.path.exists(part) else {}
            errors = _results.read_json(part + ERRORS_SUFFIX) if os.path.exists(part + ERRORS_SUFFIX) else {}
            outcomes = {}
            for spec in specs:
                run = measured.get(spec.name)
                if run is None:
                    detail = errors.get(spec.name) or _describe_exit(proc.returncode)
                    self._record(spec, Outcome.FAILED, elapsed * share, "%s\n%s" % (detail, tail))
                    outcomes[spec.name] = Outcome.FAILED
                    continue
                if spec.name in self.suite:
                    self.suite[spec.name].add_runs(run)
                else:
                    self.suite[spec.name] = run
                outcomes[spec.name] = Outcome.OK
            if measured:
                self._save_suite()
            for spec in specs:
                if outcomes[spec.name] is Outcome.OK:
                    runs = self.suite[spec.name].get_nrun()
                    self._record(spec, Outcome.PARTIAL, elapsed * share, "measured in %d round(s)" % runs)
            return outcomes
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, _ = proc.communicate()
            elapsed = time.monotonic() - start
            detail = "timed out after %.0f s\n%s" % (elapsed, _tail(out.decode("utf-8", "replace")))
            for spec in specs:
                self._record(spec, Outcome.TIMEOUT, elapsed * share, detail)
            return {spec.name: Outcome.TIMEOUT for spec in specs}
        except BaseException:
            _kill_group(proc)
            proc.wait()
            for spec in specs:
                self._record(spec, Outcome.INTERRUPTED, (time.monotonic() - start) * share, "interrupted by the user")
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


# After a round: the (env, benchmark name) pairs that need no more rounds, and a
# line for the progress display (e.g. the widest interval still open).
StopRule = Callable[[List[EnvRun], int], Tuple[Set[Tuple[str, str]], str]]


@dataclass
class Rounds:
    """How many rounds, when to stop early, the shuffle seed and the layout."""

    least: int
    most: int
    seed: int
    stop: Optional[StopRule] = None
    budget: Optional[float] = None  # seconds; no new round starts after it is spent
    before: Optional[Callable[[int], None]] = None  # called with the round (from 1) before it starts
    layout: str = "blocks"
    # called before each slot of a round (``blocks``) or once per round (``processes``), with
    # the round as benchmarks record it (from 0)
    probe: Optional[Callable[[int], None]] = None
    stopped_by: str = ""  # set by run_rounds: "budget", "target" (nothing left open) or "rounds" (the most)


Unit = Tuple[EnvRun, List[BenchSpec]]  # one benchmark process: an env and the benchmarks it measures


def slots(runs: List[EnvRun], round_: int, layout: str, seed: int) -> List[List[Unit]]:
    """Round ``round_``'s benchmark processes, in the order they run, grouped in slots.

    ``blocks``: one process per env and block (a workload's benchmarks, see
    ``BenchSpec.block``); a slot is one block in every env, back to back in a shuffled
    order, so that a ratio across interpreters (a free-threaded build over its default
    build) compares processes seconds apart; the slots' order is shuffled too.
    ``processes``: one process per benchmark, every (env, benchmark) in one shuffled
    order, each its own slot.  Shuffled from ``seed`` and the round, so a resumed run
    keeps its order.
    """
    rng = random.Random("%d:%d" % (seed, round_))
    due = [(r, s) for r in runs for s in r.open_specs() if r.next_round(s) == round_]
    if layout == "processes":
        rng.shuffle(due)
        return [[(run, [spec])] for run, spec in due]
    grouped: Dict[str, Dict[str, Unit]] = {}
    for run, spec in due:
        grouped.setdefault(spec.block, {}).setdefault(run.target.env, (run, []))[1].append(spec)
    order = sorted(grouped)
    rng.shuffle(order)
    out = []
    for key in order:
        units = [grouped[key][env] for env in sorted(grouped[key])]
        rng.shuffle(units)
        out.append(units)
    return out


def run_rounds(runs: List[EnvRun], rounds: Rounds, log: Callable[[str], None] = print) -> int:
    """Measure every open benchmark of every env in interleaved rounds; return failures.

    Round r runs one benchmark process of every benchmark that still needs one, in
    every env (``slots``): a slow spell of a shared machine then falls on random
    benchmarks of every interpreter alike.  Benchmarks stop after ``least`` rounds
    when ``stop`` says their ratios are precise enough, and after ``most`` in any case.
    """
    started = time.monotonic()
    failures = 0
    round_ = min((r.next_round(s) for r in runs for s in r.open_specs()), default=rounds.most)
    per_unit = 0.0  # seconds one benchmark process took on average in the last round
    while round_ < rounds.most:
        todo = slots(runs, round_, rounds.layout, rounds.seed)
        count = sum(len(slot) for slot in todo)
        if not count:
            round_ += 1
            continue
        elapsed = time.monotonic() - started
        expected = per_unit * count  # this round measures only what is still open
        if rounds.budget is not None and round_ >= rounds.least and elapsed + expected > rounds.budget:
            log("budget of %s reached after %d rounds: %d benchmarks stop short of the target"
                % (_clock(rounds.budget), round_, sum(len(specs) for slot in todo for _, specs in slot)))  # fmt: skip
            rounds.stopped_by = "budget"
            break
        if rounds.before is not None:
            rounds.before(round_ + 1)
        t_round = time.monotonic()
        index = 0
        for number, slot in enumerate(todo):
            if rounds.probe is not None and (rounds.layout == "blocks" or number == 0):
                rounds.probe(round_)
            for run, specs in slot:
                index += 1
                t0 = time.monotonic()
                outcomes = run.run_block(specs, round_, rounds.layout)
                failed = sum(o.failed for o in outcomes.values())
                failures += failed
                label = specs[0].name if len(specs) == 1 else "%s (%d)" % (specs[0].block, len(specs))
                result = "failed" if failed == len(specs) else "%d failed" % failed if failed else "ok"
                log("round %d %3d/%d %-16s %-40s %-8s %5.1fs  (elapsed %s)"
                    % (round_ + 1, index, count, run.target.env, label, result, time.monotonic() - t0,
                       _clock(time.monotonic() - started)))  # fmt: skip
        per_unit = (time.monotonic() - t_round) / count
        measured = round_ + 1
        if measured >= rounds.most:
            break
        if rounds.stop is not None or measured >= rounds.least:
            if rounds.stop is None:
                stop, note = {(r.target.env, s.name) for r in runs for s in r.open_specs()}, ""
            else:  # asked after every round, for its progress note; it closes nothing before ``least``
                stop, note = rounds.stop(runs, measured)
                stop = stop if measured >= rounds.least else set()
            for run in runs:
                for spec in run.open_specs():
                    if (run.target.env, spec.name) in stop:
                        run.close(spec, "target reached after %d rounds" % measured if rounds.stop else "")
            still = sum(len(r.open_specs()) for r in runs)
            log("after round %d: %d benchmarks still open%s; next round about %s"
                % (measured, still, note and ", " + note,
                   _clock(per_unit * sum(map(len, slots(runs, measured, rounds.layout, rounds.seed))))))  # fmt: skip
        round_ += 1
    left_open = any(r.open_specs() for r in runs)
    rounds.stopped_by = rounds.stopped_by or ("rounds" if left_open or rounds.stop is None else "target")
    for run in runs:
        for spec in run.open_specs():
            entry = run.entry(spec)
            if entry is not None and entry.runs > 0:
                run.close(spec, "stopped after %d rounds" % entry.runs)
        run.finish()
    return failures


def _dumps(suite: Any) -> str:
    """A pyperf suite as the JSON text ``pyperf`` itself writes."""
    import io

    buffer = io.StringIO()
    suite.dump(buffer)
    return buffer.getvalue()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return "%dm%02ds" % (minutes, secs)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _calibrated_size(wl: Workload, size: int, min_value: float, ladder: Sequence[int], log: Callable) -> int:
    """``size`` scaled by a power of two until one serial value lasts long enough.

    Long enough is ``min_value`` (the layout's, see ``Layout``) × the most workers that can run at once
    (I/O workloads: the most workers), so that every parallel value of the workload
    reaches ``min_value`` too.  Timed in a subprocess (a workload that crashes must
    not take the env down), second call of two so a JIT has compiled the loop.
    Sizes only grow: the declared size stays wherever it already suffices, so most
    CPython builds measure identical work.
    """
    if not min_value or wl.self_timed or "serial" not in wl.modes or wl.unavailable_reason():
        return size
    most = max(ladder) if "io" in wl.tags else min(max(ladder), cpu_count())
    target = min_value * most
    cmd = [sys.executable, "-m", "workloads._calibrate", wl.module, wl.name, str(size)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CALIBRATION_TIMEOUT, env=worker_environ())
        seconds = float(proc.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        log("calibration of %s failed; its declared size is used" % wl.name)
        return size
    if seconds >= target:
        return size
    factor = min(MAX_SCALE, 2 ** math.ceil(math.log2(target / max(seconds, 1e-9))))
    log("%s: one serial value took %.1f ms; work size x%d (values >= %.0f ms)"
        % (wl.name, seconds * 1e3, factor, min_value * 1e3))  # fmt: skip
    return size * factor


def plan_specs(
    registry: Dict[str, Workload],
    profile: Profile,
    benches: List[Bench],
    calibrate: bool,
    log: Callable = print,
    layout: str = "blocks",
) -> List[BenchSpec]:
    """The plan as records for the status file: availability and sizes calibrated for ``layout`` included."""
    ladder = sorted({b.workers for b in benches if b.mode != "serial"} or {1})
    sizes: Dict[str, int] = {}
    specs = []
    for bench in benches:
        wl = bench.workload
        if wl.name not in sizes:
            settings = profile.layout(layout)
            size = max(1, int(bench.size * settings.scale))
            sizes[wl.name] = _calibrated_size(wl, size, settings.min_value, ladder, log) if calibrate else size
        specs.append(
            BenchSpec(
                name=bench.name,
                workload=wl.name,
                module=wl.module,
                mode=bench.mode,
                workers=bench.workers,
                size=sizes[wl.name] if not wl.self_timed else bench.size,
                params=bench.params,
                self_timed=wl.self_timed,
                tags=wl.tags,
                roles=wl.roles,
                unavailable=wl.unavailable_reason() or mode_unavailable(bench.mode) or "",
                block=bench.name if wl.self_timed or wl.setup else _block_name(wl.name, bench.params),
            )
        )
    return specs


def _block_name(workload: str, params: Sequence[Tuple[str, Any]]) -> str:
    """``countdown``, or ``convoy[switch_ms=5]`` for a workload with parameters."""
    return "%s[%s]" % (workload, ",".join("%s=%s" % kv for kv in params)) if params else workload


def capture_timeline(run_dir: str, env: str, run_id: str) -> str:
    """Record which thread runs when (workloads/_timeline.py); never fails the run."""
    path = _schema.meta_path(run_dir, env + _schema.TIMELINE_SUFFIX)
    cmd = [sys.executable, "-m", "workloads._timeline", "--threads", "2", "--seconds", "0.25",
           "--env", env, "--run-id", run_id, "--output", path]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMELINE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "timed out after %d s" % TIMELINE_TIMEOUT
    return "ok" if proc.returncode == 0 else "failed: " + _tail(proc.stderr or proc.stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workloads",
        description="Run the gilbench workload matrix on this interpreter.",
    )
    parser.add_argument("--profile", help="smoke, fast, default or rigorous (env GILBENCH_PROFILE)")
    parser.add_argument("--run-id", help="shared by all envs of one bench-all (env GILBENCH_RUN_ID)")
    parser.add_argument("--env", help="env name recorded in results (default: $TOX_ENV_NAME)")
    parser.add_argument("--results-dir", default=os.environ.get("GILBENCH_RESULTS", "results"))
    parser.add_argument("--workload", action="append", help="run only these (repeat or comma-separate)")
    parser.add_argument("--workloads", metavar="PATH_OR_MODULE", action="append",
                        help="also your own @workload functions: a .py file, a folder or a module")  # fmt: skip
    parser.add_argument("--mode", action="append", help="run only these modes")
    parser.add_argument("--workers", help="worker counts, e.g. 1,2,4 (default: the machine's ladder)")
    parser.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run")
    parser.add_argument("--retry-failed", action="store_true", help="with --resume, rerun failed benchmarks")
    parser.add_argument("--timeout", type=float, help="seconds per benchmark process (default: the profile's)")
    parser.add_argument("--seed", type=int, help="seed of the order within rounds (default: from the run id)")
    parser.add_argument("--layout", choices=LAYOUTS, default="blocks",
                        help="blocks: one process per workload, its benchmarks alternating (default); "
                             "processes: one process per benchmark and round (the older layout)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="run even if another benchmark run holds the lock")
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
    except UsageError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    except _results.LockHeld as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished benchmarks are saved; rerun with --resume to finish", file=sys.stderr)
        return 130


def seed_of(run_id: str) -> int:
    """The default shuffle seed: stable for a run id, so a resumed run keeps its order."""
    return zlib.crc32(run_id.encode()) & 0x7FFFFFFF


def _main(args: argparse.Namespace) -> int:
    profile = resolve_profile(args.profile)
    if args.workloads:
        os.environ[USER_WORKLOADS_ENV] = os.pathsep.join(os.path.abspath(w) if os.path.exists(w) else w
                                                         for w in comma_list(args.workloads))  # fmt: skip
    try:
        registry = load_all()
    except (ImportError, ValueError, SyntaxError) as exc:
        raise UsageError("--workloads: %s: %s" % (type(exc).__name__, exc)) from None
    names = choose("workload", comma_list(args.workload), list(registry))
    modes = choose("mode", comma_list(args.mode), list(MODES))
    try:
        ladder = [int(w) for w in comma_list([args.workers])] if args.workers else None
    except ValueError:
        raise UsageError("--workers: expected comma-separated integers, got %r" % args.workers) from None
    if ladder and min(ladder) < 1:
        raise UsageError("--workers: counts must be >= 1")
    benches = plan(registry, profile, names or None, modes or None, ladder)
    if args.list:
        for bench in benches:
            print(bench.name)
        return 0
    if args.list_json:
        json.dump([s.to_json() for s in plan_specs(registry, profile, benches, calibrate=False)], sys.stdout)
        return 0
    if args.resume and args.run_id and args.resume != args.run_id:
        raise UsageError("--resume %s conflicts with --run-id %s" % (args.resume, args.run_id))
    args.run_id = args.resume or args.run_id or os.environ.get("GILBENCH_RUN_ID") or _results.new_run_id()
    args.env = args.env or os.environ.get("TOX_ENV_NAME") or "local-%s%s" % (
        sys.implementation.name, "".join(map(str, sys.version_info[:2])))  # fmt: skip
    if args.force:
        print("warning: --force: another run may be measuring at the same time; timings will be distorted",
              file=sys.stderr)  # fmt: skip
    _install_sigterm_handler()
    with _results.bench_lock(force=args.force):
        return _measure(args, profile, registry, benches)


def _measure(args: argparse.Namespace, profile: Profile, registry: Dict[str, Workload], benches: List[Bench]) -> int:
    progress = os.environ.get("GILBENCH_PROGRESS")  # "env 2/8", set by bench-all
    prefix = "[%s%s]" % (args.env, " " + progress if progress else "")

    def log(line: str) -> None:
        print("%s %s" % (prefix, line), flush=True)

    run = EnvRun(args.results_dir, args.run_id, profile, own_target(args.env), args.timeout)
    run_dir = os.path.join(args.results_dir, args.run_id)
    if args.resume and os.path.exists(run.status_path):
        run.load()
    else:
        facts = _meta.interpreter_facts()
        run.create(plan_specs(registry, profile, benches, calibrate=True, log=log, layout=args.layout), facts,
                   facts["jit"] == "on")  # fmt: skip
        run.status["layout"] = args.layout
        if args.timeline:
            run.status["timeline"] = capture_timeline(run_dir, args.env, args.run_id)
            log("GIL timeline: %s" % run.status["timeline"])
    if args.retry_failed:
        run.forget_failures()
    if args.prepare:
        run.status["prepared"] = _results.utc_now()
        run.finish()
        log("prepared %d benchmarks (%d to measure) in %s" % (len(run.specs), len(run.open_specs()), run.status_path))
        return 0
    done = len(run.specs) - len(run.open_specs())
    log("%d benchmarks (%d to measure, in %d round(s)), profile %s, run %s"
        % (len(run.specs), len(run.open_specs()), profile.rounds, profile.name, args.run_id))  # fmt: skip
    seed = args.seed if args.seed is not None else seed_of(args.run_id)
    layout = run.status.get("layout", "processes")  # a resumed run keeps its layout
    failures = run_rounds([run], Rounds(profile.rounds, profile.rounds, seed, layout=layout), log)
    log("wrote %s (%d benchmarks were already done)" % (run.suite_path, done))
    return 1 if failures else 0


def _install_sigterm_handler() -> None:
    """Treat SIGTERM like Ctrl-C so the benchmark in flight is killed and recorded."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
