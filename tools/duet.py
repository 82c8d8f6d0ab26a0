"""Duet against sequential measurement of one-thread ratios between interpreters, in one session.

Why: a ratio of two interpreters' serial times (free-threading's overhead, 3.14t over 3.14;
one release against another) is measured sequentially today: one benchmark process of A,
then one of B, each with the whole machine, so whatever slows the machine between the two
lands in the ratio.  Duet benchmarking (Bulej et al., ICPE 2020) runs both at the same
moment, one per CPU: a noisy neighbour slows both alike and the ratio keeps less of it.
This tool measures both methods in the same session, alternating, so both see the same
windows of the machine, and says which one narrows the ratios more per minute.

In every turn, each pair of targets and each workload (in a shuffled order) is measured
both ways, the order of the two methods swapped every turn:

* ``sequential``: A's benchmark process, then B's (which goes first swaps every other
  turn), each free to run on every CPU: what bench-all does;
* ``duet``: A's and B's processes started together, A's pinned to one CPU and B's to the
  other (set before the interpreter starts, read back from ``/proc/<pid>/status``), the
  CPUs swapped every turn.

Each process is the one bench-all starts (``workloads.host.worker_command``) for the
workload's serial benchmark alone, with the work size, values and warm-ups its target's
plan gives it.  A turn's ratio is A's time per unit of work over B's (above 1: A is
slower).  Per pair, workload and method: the ratio (geometric mean over turns) with
Student's t interval on the per-turn log ratios (``harness.stats.paired_ratio``), the
per-turn log SD, the seconds measured, and the half-width per minute of measuring
(hw × sqrt(minutes): lower is better); the gain is sequential's hw² × minutes over
duet's (above 1: duet buys more precision per minute).  ``duet / sequential`` pairs the
two methods' ratios by turn: a duet ratio away from the sequential one is a bias of the
pairing itself (the two processes share caches, memory bandwidth and the clock).  An A/A
pair (``--aa``: one interpreter as both sides, two processes) must give 1 within its
interval; its ``CPU`` column is the time on the first CPU of ``--cpus`` over the second.

Only serial ratios: a benchmark at two workers needs both CPUs of a 2-vCPU machine.
The paper pairs iterations that overlap in time; here whole processes are paired, their
values sized per interpreter, so the faster side ends first and the slower runs its last
part alone: ``overlap`` is the share of a duet's seconds in which both processes ran.

    .tox/bench-all/bin/python -m tools.duet \\
        --env bench-py314,bench-py314t,bench-py313,bench-py313t,bench-py39 \\
        --pairs bench-py314t/bench-py314,bench-py313t/bench-py313,bench-py39/bench-py314 \\
        --aa bench-py314 --workload countdown,fib --minutes 15 --json docs/data/duet.json

Preparing takes about a minute per env (as bench-all's does); then turns run until no
new pair of turns may start after ``--minutes`` (or ``--turns`` are done), each turn's
end printed with the seconds so far.  On the 2-vCPU VM a benchmark process costs about
0.5 s before its values, so a pair and workload takes about 3 s per turn in both methods
at profile ``default`` and the command above about 25-30 s per turn: 30-35 turns and
about 20 minutes in all (an estimate from a smoke run; the first turns say).  Run it
with nothing else on the machine: a duet on a loaded machine measures the load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from harness import run, stats
from harness.progress import Plain
from harness.targets import Prepared, describe, parse_target, prepare, read_block
from tools import _matrix
from validation.interleaved_check import markdown_table
from workloads.host import (
    SHORT_WARMUP,
    BenchSpec,
    Profile,
    Target,
    UserError,
    bench_lock,
    comma_list,
    new_run_id,
    pin_order,
    resolve_profile,
    seed_of,
    this_machine,
    worker_command,
)

METHODS = ("sequential", "duet")
SIDES = ("a", "b")
WORKLOADS = "countdown,fib,object_creation,dict_creation"


@dataclass(frozen=True)
class Side:
    """A prepared target: where its processes run, and its plan (work sizes, warm-ups, JIT)."""

    target: Target
    plan: Prepared

    def serial(self, workload: str) -> Optional[BenchSpec]:
        """The workload's serial benchmark in this target's plan (None: unknown or unavailable there)."""
        return next((s for s in self.plan.specs if s.workload == workload and s.mode == "serial"), None)


@dataclass(frozen=True)
class Pair:
    """Two targets' labels, compared as A's time over B's; the same label twice is an A/A pair."""

    a: str
    b: str

    @property
    def name(self) -> str:
        return "%s/%s" % (self.a, self.b)

    @property
    def aa(self) -> bool:
        return self.a == self.b


def parse_pairs(text: str) -> List[Pair]:
    """``A/B,C/D`` -> pairs; ValueError naming a malformed one."""
    pairs = []
    for item in comma_list([text]):
        a, sep, b = item.partition("/")
        if not sep or not a or not b or "/" in b:
            raise ValueError("--pairs: %r is not A/B" % item)
        pairs.append(Pair(a, b))
    return pairs


@dataclass(frozen=True)
class Turn:
    """What turn ``index`` does: the two methods in order, which side starts first (in both
    methods), and the CPUs of A and B in the duet.  The methods' order and the CPUs swap
    every turn, the first side every other turn: four turns hold every combination."""

    index: int
    methods: Tuple[str, str]
    first: str
    cpus: Tuple[int, int]

    @property
    def order(self) -> Tuple[str, str]:
        return ("a", "b") if self.first == "a" else ("b", "a")


def schedule(index: int, cpus: Tuple[int, int]) -> Turn:
    """Turn ``index`` of a session whose duets run on ``cpus``."""
    swap = index % 2 == 1
    first = "b" if (index // 2) % 2 == 1 else "a"
    return Turn(index, METHODS[::-1] if swap else METHODS, first, (cpus[1], cpus[0]) if swap else cpus)


# -- one benchmark process ------------------------------------------------------------------


def allowed_cpus(pid: int) -> str:
    """The kernel's ``Cpus_allowed_list`` of process ``pid`` (``0-1``, ``1``), "" where unreadable."""
    try:
        with open("/proc/%d/status" % pid, encoding="ascii") as fh:
            return next((line.split(":", 1)[1].strip() for line in fh if line.startswith("Cpus_allowed_list:")), "")
    except OSError:
        return ""


def _pin(cpu: Optional[int]) -> Optional[Callable[[], None]]:
    """The child's first step where it is pinned: only ``cpu``, before the interpreter starts,
    so every thread it ever has inherits it."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


class Process:
    """One benchmark process of a side, started at once: its serial benchmark of one workload,
    the command bench-all runs for it, optionally pinned to one CPU."""

    def __init__(self, side: Side, spec: BenchSpec, part: str, turn: int, profile: Profile, cpu: Optional[int]):
        self.side, self.spec, self.part, self.cpu = side, spec, part, cpu
        command = worker_command(
            side.target.python,
            [spec],
            part,
            round_=turn,
            profile=profile,
            run_id="duet",
            env=side.target.env,
            warmups=side.plan.warmups,
            warmup_scale=1.0 if side.plan.jit else SHORT_WARMUP,
        )
        self.log = part + ".log"
        with open(self.log, "w", encoding="utf-8") as log:
            self.started = time.monotonic()
            self.popen = subprocess.Popen(
                command,
                cwd=os.path.dirname(part),
                env=side.target.environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
                preexec_fn=_pin(cpu),
            )
        self.cpus = allowed_cpus(self.popen.pid)  # Popen returns after the exec: the pinning is done
        self.ended = math.nan

    def kill(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except OSError:
            pass

    def result(self, origin: float) -> Dict[str, Any]:
        """Its values read back (a RuntimeError where it failed), its time per unit of work,
        when it ran (seconds after ``origin``) and where."""
        output = Path(self.log).read_text(encoding="utf-8", errors="replace")
        got = read_block(self.side.target, self.popen.returncode, output, self.part, self.ended - self.started)
        values = got[self.spec.name]["values"]
        return {
            "per_unit": statistics.fmean(values) / self.spec.size,
            "values": values,
            "size": self.spec.size,
            "cpu": self.cpu,
            "cpus_allowed": self.cpus,
            "start": round(self.started - origin, 4),
            "end": round(self.ended - origin, 4),
        }


def wait_all(processes: Sequence[Process], timeout: float) -> None:
    """Wait for every process, each one's end taken as it exits (its pidfd turns readable
    then, with no polling beside the measured processes); kill them all after ``timeout``
    seconds or on Ctrl-C."""
    pending = {os.pidfd_open(p.popen.pid): p for p in processes}
    deadline = time.monotonic() + timeout
    try:
        while pending:
            ready, _, _ = select.select(list(pending), [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                names = ", ".join(p.side.target.env for p in pending.values())
                raise RuntimeError("%s: timed out after %.0f s" % (names, timeout))
            now = time.monotonic()
            for fd in ready:
                pending.pop(fd).ended = now
                os.close(fd)
    except BaseException:
        for p in processes:
            p.kill()
        raise
    finally:
        for fd in pending:
            os.close(fd)
        for p in processes:
            p.popen.wait()


def measure(
    method: str, turn: Turn, sides: Mapping[str, Side], workload: str, profile: Profile, folder: Path, origin: float
) -> Dict[str, Any]:
    """One method's turn of one pair (``sides``: "a" and "b") on ``workload``: its processes,
    the seconds it took, what each side measured."""
    started = time.monotonic()
    processes: Dict[str, Process] = {}
    try:
        for side in turn.order:
            cpu = turn.cpus[SIDES.index(side)] if method == "duet" else None
            part = str(folder / ("%d-%s-%s.json" % (turn.index, method, side)))
            processes[side] = Process(sides[side], sides[side].serial(workload), part, turn.index, profile, cpu)
            if method == "sequential":
                wait_all([processes[side]], profile.timeout)
        if method == "duet":
            wait_all(list(processes.values()), profile.timeout)
    except BaseException:  # the second process failed to start, or Ctrl-C: none keeps running
        for process in processes.values():
            process.kill()
            process.popen.wait()
        raise
    seconds = time.monotonic() - started
    return {
        "turn": turn.index,
        "method": method,
        "seconds": round(seconds, 4),
        "sides": {side: processes[side].result(origin) for side in SIDES},
    }


def session(
    sides: Mapping[str, Side],
    pairs: Sequence[Pair],
    workloads: Sequence[str],
    cpus: Tuple[int, int],
    profile: Profile,
    turns: int,
    seconds: float,
    rng: random.Random,
    folder: Path,
) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """The turns: every pair and workload in a shuffled order, both methods each; no new
    pair of turns starts after ``seconds``.  What is measured, and why it stopped early
    (a process failed or timed out, Ctrl-C), if it did."""
    records: List[Dict[str, Any]] = []
    origin = time.monotonic()
    try:
        for index in range(turns):
            if index % 2 == 0 and index and time.monotonic() - origin >= seconds:
                break
            turn = schedule(index, cpus)
            items = [(pair, workload) for pair in pairs for workload in workloads]
            rng.shuffle(items)
            for pair, workload in items:
                both = {"a": sides[pair.a], "b": sides[pair.b]}
                for method in turn.methods:
                    record = measure(method, turn, both, workload, profile, folder, origin)
                    records.append({"pair": pair.name, "workload": workload, **record})
            print("turn %d done (%.0f s)" % (index + 1, time.monotonic() - origin), file=sys.stderr)
    except KeyboardInterrupt:
        return records, "interrupted"
    except (OSError, RuntimeError) as exc:
        return records, one_line(exc)
    return records, None


def one_line(exc: BaseException) -> str:
    """An error's first line, and its last where it carries a process's output (the reason)."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()] or [type(exc).__name__]
    return lines[0] if len(lines) == 1 else "%s: %s" % (lines[0], lines[-1].strip())


# -- the summary ----------------------------------------------------------------------------


def _ratio(record: Mapping[str, Any]) -> float:
    return record["sides"]["a"]["per_unit"] / record["sides"]["b"]["per_unit"]


def _finite(x: float) -> Optional[float]:
    return x if math.isfinite(x) else None


def _interval(iv: stats.Interval) -> Dict[str, Any]:
    ci = [iv.lo, iv.hi] if math.isfinite(iv.lo) and math.isfinite(iv.hi) else None
    return {"ratio": _finite(iv.value), "ci95": ci, "hw": _finite(iv.half_width), "turns": iv.n}


def _overlap(record: Mapping[str, Any]) -> float:
    """The share of a duet's span in which both its processes ran."""
    a, b = record["sides"]["a"], record["sides"]["b"]
    span = max(a["end"], b["end"]) - min(a["start"], b["start"])
    return max(0.0, min(a["end"], b["end"]) - max(a["start"], b["start"])) / span if span > 0 else math.nan


def method_summary(records: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """One method's turns of one pair and workload: the ratio with its interval, the
    per-turn log SD, the seconds measured and the half-width per minute of measuring."""
    a = {r["turn"]: r["sides"]["a"]["per_unit"] for r in records}
    b = {r["turn"]: r["sides"]["b"]["per_unit"] for r in records}
    logs = [math.log(_ratio(r)) for r in records]
    seconds = sum(r["seconds"] for r in records)
    out = _interval(stats.paired_ratio(a, b))
    out["log_sd"] = statistics.stdev(logs) if len(logs) > 1 else None
    out["seconds"] = round(seconds, 1)
    out["hw_per_minute"] = out["hw"] * math.sqrt(seconds / 60.0) if out["hw"] is not None else None
    if records and records[0]["method"] == "duet":
        out["overlap"] = _finite(statistics.median(_overlap(r) for r in records))
    return out


def summarize(
    records: Sequence[Mapping[str, Any]], cpus: Tuple[int, int], order: Sequence[Tuple[str, str]] = ()
) -> List[Dict[str, Any]]:
    """Per pair and workload (those of ``order`` first, in its order; then as first measured):
    each method's summary, the gain (sequential's hw² × minutes over duet's), duet /
    sequential paired by turn, and for an A/A pair the time on ``cpus[0]`` over ``cpus[1]``
    in its duets."""
    measured = list(dict.fromkeys((r["pair"], r["workload"]) for r in records))
    keys = [k for k in order if k in measured] + [k for k in measured if k not in order]
    out = []
    for pair, workload in keys:
        rows = {
            m: [r for r in records if (r["pair"], r["workload"], r["method"]) == (pair, workload, m)] for m in METHODS
        }
        methods = {m: method_summary(rows[m]) for m in METHODS if rows[m]}
        seq, duet = (methods.get(m, {}).get("hw_per_minute") for m in METHODS)
        entry: Dict[str, Any] = {"pair": pair, "workload": workload, "aa": Pair(*pair.split("/")).aa, **methods}
        entry["gain"] = seq**2 / duet**2 if seq and duet else None
        ratios = {m: {r["turn"]: _ratio(r) for r in rows[m]} for m in METHODS}
        entry["duet_over_sequential"] = _interval(stats.paired_ratio(ratios["duet"], ratios["sequential"]))
        if entry["aa"]:
            on = [
                {r["turn"]: s["per_unit"] for r in rows["duet"] for s in r["sides"].values() if s["cpu"] == c}
                for c in cpus
            ]
            entry["cpu"] = {"cpus": list(cpus), **_interval(stats.paired_ratio(*on))}
        out.append(entry)
    return out


def _ci(got: Optional[Mapping[str, Any]]) -> str:
    if not got or got.get("ratio") is None:
        return "–"
    if got["ci95"] is None:
        return "%.3f×" % got["ratio"]
    return "%.3f× (%.3f–%.3f)" % (got["ratio"], *got["ci95"])


def _num(x: Optional[float], form: str) -> str:
    return "–" if x is None else form % x


HEADER = [
    "pair",
    "workload",
    "method",
    "turns",
    "ratio (95% CI)",
    "±",
    "log SD",
    "seconds",
    "hw·√min",
    "overlap",
    "gain",
    "duet / seq",
]
AA_HEADER = ["A/A pair", "workload", "method", "ratio (95% CI)", "contains 1?", "CPU i / CPU j (95% CI)"]


def format_tables(summaries: Sequence[Mapping[str, Any]]) -> str:
    """Every pair's methods side by side; then the A/A pairs' bias and CPU effect."""
    rows, aa_rows = [], []
    for s in summaries:
        for method in METHODS:
            m = s.get(method)
            if not m:
                continue
            duet = method == "duet"
            rows.append(
                [
                    s["pair"],
                    s["workload"],
                    method,
                    str(m["turns"]),
                    _ci(m),
                    _num(m["hw"] and 100 * m["hw"], "±%.2f%%"),
                    _num(m["log_sd"], "%.4f"),
                    "%.0f" % m["seconds"],
                    _num(m["hw_per_minute"] and 100 * m["hw_per_minute"], "%.2f%%"),
                    _num(m["overlap"] and 100 * m["overlap"], "%.0f%%") if duet else "",
                    _num(s["gain"], "%.2f×") if duet else "",
                    _ci(s["duet_over_sequential"]) if duet else "",
                ]
            )
            if s["aa"]:
                inside = "–" if m["ci95"] is None else "yes" if m["ci95"][0] <= 1 <= m["ci95"][1] else "no"
                cpu = s["cpu"]
                aa_rows.append(
                    [
                        s["pair"],
                        s["workload"],
                        method,
                        _ci(m),
                        inside,
                        "%d/%d: %s" % (*cpu["cpus"], _ci(cpu)) if duet else "",
                    ]
                )
    text = markdown_table(HEADER, rows)
    return text + ("\n\n" + markdown_table(AA_HEADER, aa_rows) if aa_rows else "")


# -- the command line -----------------------------------------------------------------------


def duet_cpus(parser: argparse.ArgumentParser, text: Optional[str]) -> Tuple[int, int]:
    """``--cpus i,j``, two CPUs this process may use; by default the first two of
    ``workloads.host.pin_order`` (one per physical core first)."""
    allowed = pin_order()
    if text is None:
        if len(allowed) < 2:
            parser.error("a duet needs two CPUs; this process may use %d" % len(allowed))
        return allowed[0], allowed[1]
    try:
        cpus = tuple(int(c) for c in comma_list([text]))
    except ValueError:
        parser.error("--cpus: expected two CPU numbers, got %r" % text)
    if len(cpus) != 2 or cpus[0] == cpus[1] or not set(cpus) <= set(allowed):
        parser.error("--cpus: expected two different CPUs of %s, got %r" % (",".join(map(str, allowed)), text))
    return cpus[0], cpus[1]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="", help="bench envs, comma-separated, prepared through tox as bench-all does")
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="LABEL=PYTHON[,KEY=VALUE...]",
        help="an interpreter as a target",
    )
    parser.add_argument("--pairs", default="", metavar="A/B,...", help="pairs of envs or labels: A's time over B's")
    parser.add_argument("--aa", default="", metavar="LABEL,...", help="A/A pairs: each target against itself")
    parser.add_argument("--workload", default=WORKLOADS, help="workloads, comma-separated (default: %(default)s)")
    parser.add_argument("--workers", default="1,2", help="worker counts the plan is sized for, as bench-all's")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--cpus", help="the duet's two CPUs, i,j (default: two physical cores)")
    parser.add_argument("--minutes", type=float, default=15.0, help="no new pair of turns starts after this")
    parser.add_argument("--turns", type=int, default=200, help="at most this many turns (even)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results-dir", default="results", help="where --env's run folder is prepared")
    parser.add_argument("--root", default=".", help="project root holding tox.ini")
    parser.add_argument("--json", type=Path, metavar="PATH")
    return parser


@dataclass(frozen=True)
class Request:
    """The checked command line: the targets to prepare, the pairs, the workloads, the CPUs."""

    envs: List[str]
    targets: List[Target]
    pairs: List[Pair]
    workloads: List[str]
    workers: List[int]
    cpus: Tuple[int, int]
    profile: Profile


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Request:
    """The arguments, checked before anything runs; a usage error (one line, exit 2) otherwise."""
    try:
        targets = [parse_target(t) for t in args.target]
        pairs = parse_pairs(args.pairs) + [Pair(label, label) for label in comma_list([args.aa])]
        profile = resolve_profile(args.profile)
    except (ValueError, UserError) as exc:
        parser.error(str(exc))
    envs = comma_list([args.env])
    labels = envs + [t.env for t in targets]
    if not labels:
        parser.error("give --env or --target")
    if len(set(labels)) != len(labels):
        parser.error("--env/--target: a label given twice: %s" % ", ".join(labels))
    if any("/" in label for label in labels):
        parser.error("--target: a label holds '/', which --pairs reads as A/B: %s" % ", ".join(labels))
    if not pairs:
        parser.error("give --pairs or --aa")
    unknown = sorted({label for p in pairs for label in (p.a, p.b)} - set(labels))
    if unknown:
        parser.error("--pairs/--aa: no --env or --target named %s" % ", ".join(unknown))
    workloads = comma_list([args.workload])
    if not workloads:
        parser.error("--workload: give at least one")
    try:
        workers = [int(w) for w in comma_list([args.workers])]
    except ValueError:
        parser.error("--workers: expected comma-separated integers, got %r" % args.workers)
    if args.turns < 2 or args.turns % 2:
        parser.error("--turns: an even number (each side on each CPU as often), at least 2, got %d" % args.turns)
    if not args.minutes > 0:
        parser.error("--minutes: must be positive")
    if args.json and not args.json.parent.is_dir():
        parser.error("--json %s: no folder %s" % (args.json, args.json.parent))
    return Request(envs, targets, pairs, workloads, workers, duet_cpus(parser, args.cpus), profile)


def prepare_sides(
    parser: argparse.ArgumentParser, args: argparse.Namespace, req: Request, folder: Path
) -> Tuple[Dict[str, Side], Optional[str]]:
    """Every target's plan: ``--env``'s through tox into a run folder (as bench-all prepares
    them), ``--target``'s by their own drivers; and that run folder."""
    sides: Dict[str, Side] = {}
    run_dir = None
    if req.envs:
        run_id = new_run_id()
        runnable = _matrix.runnable(parser, args)
        opts = _matrix.options(parser, args, req.profile, "%s-duet" % run_id, seed_of(run_id))
        manifest = run.Manifest(opts, [(e, i, "") for e, i in runnable])
        manifest.save()
        runs, failed = run.prepare_all(opts, runnable, manifest, Plain(sys.stdout))
        if failed:
            raise RuntimeError("%d env(s) failed to prepare" % failed)
        run_dir = str(opts.run_dir)
        for env_run in runs:
            jit = env_run.status["interpreter"].get("jit") == "on"
            sides[env_run.target.env] = Side(env_run.target, Prepared(env_run.specs, env_run.status["warmups"], jit))
    for target in req.targets:
        sides[target.env] = Side(target, prepare(target, req.workloads, req.workers, req.profile, folder))
    for label in {p.a for p in req.pairs} | {p.b for p in req.pairs}:
        missing = [w for w in req.workloads if sides[label].serial(w) is None]
        if missing:
            raise RuntimeError(
                "%s: no serial benchmark of %s (unknown or unavailable there)" % (label, ", ".join(missing))
            )
    return sides, run_dir


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    req = check(parser, args)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="duet-") as scratch, bench_lock():
        try:
            sides, run_dir = prepare_sides(parser, args, req, Path(scratch))
        except (OSError, RuntimeError) as exc:
            print("error: %s" % one_line(exc), file=sys.stderr)
            return 1
        print(
            "measuring: %d pair(s) × %d workload(s), duets on CPUs %d and %d"
            % (len(req.pairs), len(req.workloads), *req.cpus)
        )
        records, stopped = session(
            sides,
            req.pairs,
            req.workloads,
            req.cpus,
            req.profile,
            args.turns,
            args.minutes * 60,
            random.Random(args.seed),
            Path(scratch),
        )
    summaries = summarize(records, req.cpus, [(p.name, w) for p in req.pairs for w in req.workloads])
    print(format_tables(summaries))
    if args.json:
        config = {k: v for k, v in vars(args).items() if k != "json"}
        document = {
            "config": {**config, "wall_s": round(time.monotonic() - started, 1), "stopped": stopped},
            "cpus": list(req.cpus),
            "machine": this_machine().to_json(),
            "run_dir": run_dir,
            "targets": [describe(side.target) for side in sides.values()],
            "summary": summaries,
            "turns": records,
        }
        args.json.write_text(json.dumps(document, indent=1) + "\n")
    if stopped:
        print("error: stopped early: %s" % stopped, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
