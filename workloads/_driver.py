"""Run the whole benchmark matrix on this interpreter: ``python -m workloads``.

This is what each tox bench env runs.  Each pyperf worker process of a benchmark
runs in its own process group, so a crash, a segfault or a hang costs that
benchmark only: it is recorded as failed or timed out, and the run goes on.  After
each process the env's pyperf file and status file are rewritten atomically, so
Ctrl-C or a kill loses at most the process in flight, and ``--resume RUN_ID``
finishes the rest.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

from workloads import _meta, _results
from workloads._registry import PROFILES, Bench, Profile, cpu_count, load_all, plan
from workloads.modes import MODES, mode_unavailable

TAIL_CHARS = 2000  # of a failed benchmark's output, kept in the status file
TIMELINE_TIMEOUT = 60


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


# What pyperf's manager passes to its workers (pyperf._utils.create_environ): no stray
# variables that could change how the measured code behaves.
_WORKER_ENV = ("PATH", "HOME", "TEMP", "TMPDIR", "PYTHONPATH", "PYTHON_CPU_COUNT", "PYTHON_GIL", "PYTHON_JIT", "LANG")


def _worker_environ() -> Dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in _WORKER_ENV or k.startswith("LC_")}


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


class EnvRun:
    """One interpreter's pass over the matrix, with its files under ``results/<run-id>/``."""

    def __init__(self, args: argparse.Namespace, profile: Profile, benches: List[Bench]) -> None:
        self.args = args
        self.profile = profile
        self.benches = benches
        folder = os.path.join(args.results_dir, args.run_id)
        self.suite_path = os.path.join(folder, args.env + ".json")
        self.status_path = os.path.join(folder, args.env + _results.STATUS_SUFFIX)
        os.makedirs(folder, exist_ok=True)
        for stale in glob.glob(os.path.join(folder, ".bench-*")):  # scratch of a killed run (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        self.status = self._load_status()
        self.suite = self._load_suite()
        self.started = time.monotonic()

    def _load_status(self) -> Dict[str, Any]:
        if os.path.exists(self.status_path):
            if not self.args.resume:
                raise UsageError(
                    "%s already exists; pass --resume %s to finish that run" % (self.status_path, self.args.run_id)
                )
            try:
                status = _results.read_json(self.status_path)
            except ValueError as exc:
                raise UsageError("%s: not a gilbench status file (%s)" % (self.status_path, exc)) from None
            if status.get("format") != _results.STATUS_FORMAT:
                raise UsageError("%s: not a gilbench status file" % self.status_path)
            if status.get("profile", {}).get("name") != self.profile.name:
                raise UsageError(
                    "%s was run with profile %r; resume it with the same profile"
                    % (self.status_path, status.get("profile", {}).get("name"))
                )
            return status
        return {
            "format": _results.STATUS_FORMAT,
            "env": self.args.env,
            "run_id": self.args.run_id,
            "profile": dict(self.profile.__dict__),
            "interpreter": _meta.interpreter_facts(),
            "cpu_count": cpu_count(),
            "started": _results.utc_now(),
            "benchmarks": {},
        }

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

    def _record(self, bench: Bench, outcome: str, seconds: float, reason: str = "") -> None:
        previous = self.status["benchmarks"].get(bench.name, {})
        self.status["benchmarks"][bench.name] = {
            "workload": bench.workload.name,
            "mode": bench.mode,
            "workers": bench.workers,
            "params": bench.param_dict,
            "work_size": bench.size,
            "status": outcome,
            "runs": self.suite[bench.name].get_nrun() if bench.name in self.suite else 0,
            "seconds": round(previous.get("seconds", 0.0) + seconds, 3),
            "reason": reason,
        }
        self.status["updated"] = _results.utc_now()
        _results.atomic_write_json(self.status_path, self.status)

    def _next_round(self, bench: Bench) -> Optional[int]:
        """The index of the pyperf process this benchmark needs next, or None when it is finished."""
        entry = self.status["benchmarks"].get(bench.name)
        if entry is None:
            return 0
        if entry["status"] in ("partial", "interrupted"):
            return entry["runs"]
        return None  # ok, unavailable, failed or timeout

    def _forget_failures(self) -> None:
        """``--retry-failed``: failed and timed-out benchmarks start over."""
        for name, entry in list(self.status["benchmarks"].items()):
            if entry["status"] in ("failed", "timeout"):
                del self.status["benchmarks"][name]
                self.suite.pop(name, None)

    def _command(self, bench: Bench, part: str) -> List[str]:
        """One pyperf worker process: it measures, then writes a one-run benchmark to ``part``."""
        values = self.profile.latency_values if bench.workload.self_timed else self.profile.values
        cmd = [
            sys.executable, "-m", "workloads._runner", "--worker",
            "--values", str(values),
            "--warmups", str(self.profile.warmups),
            "--loops", "1",
            "--output", part,
            "--module", bench.workload.module,
            "--workload", bench.workload.name,
            "--mode", bench.mode,
            "--workers", str(bench.workers),
            "--size", str(bench.size),
            "--bench-profile", self.profile.name,
            "--run-id", self.args.run_id,
            "--env", self.args.env,
        ]  # fmt: skip
        for key, value in bench.params:
            cmd.extend(("--param", "%s=%s" % (key, value)))
        return cmd

    def _run_process(self, bench: Bench) -> str:
        """One pyperf worker process of ``bench``, in its own process group: pyperf's
        manager, minus a process.  Record its run; return the outcome word."""
        import pyperf

        scratch = tempfile.mkdtemp(prefix=".bench-", dir=os.path.dirname(self.suite_path))
        part = os.path.join(scratch, "worker.json")
        start = time.monotonic()
        proc = subprocess.Popen(
            self._command(bench, part),
            env=_worker_environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we can kill pool workers too
            preexec_fn=_die_with_parent,
        )
        try:
            out, _ = proc.communicate(timeout=self.args.timeout or self.profile.timeout)
            elapsed = time.monotonic() - start
            if proc.returncode != 0 or not os.path.exists(part):
                detail = _describe_exit(proc.returncode)
                self._record(bench, "failed", elapsed, "%s\n%s" % (detail, _tail(out.decode("utf-8", "replace"))))
                return "FAILED (%s)" % detail
            run = pyperf.Benchmark.load(part)
            if bench.name in self.suite:
                self.suite[bench.name].add_runs(run)
            else:
                self.suite[bench.name] = run
            self._save_suite()
            runs = self.suite[bench.name].get_nrun()
            if runs >= self.profile.processes:
                self._record(bench, "ok", elapsed)
                return "ok"
            self._record(
                bench, "partial", elapsed, "%d of %d pyperf processes measured" % (runs, self.profile.processes)
            )
            return "partial"
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, _ = proc.communicate()
            elapsed = time.monotonic() - start
            detail = "timed out after %.0f s" % elapsed
            self._record(bench, "timeout", elapsed, "%s\n%s" % (detail, _tail(out.decode("utf-8", "replace"))))
            return "TIMEOUT (%s)" % detail
        except BaseException:
            _kill_group(proc)
            proc.wait()
            self._record(bench, "interrupted", time.monotonic() - start, "interrupted by the user")
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _capture_timeline(self) -> str:
        """Record which thread runs when (workloads/_timeline.py); never fails the run."""
        path = self.suite_path[: -len(".json")] + _results.TIMELINE_SUFFIX
        cmd = [sys.executable, "-m", "workloads._timeline", "--threads", "2", "--seconds", "0.25",
               "--env", self.args.env, "--run-id", self.args.run_id, "--output", path]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMELINE_TIMEOUT)
        except subprocess.TimeoutExpired:
            return "timed out after %d s" % TIMELINE_TIMEOUT
        return "ok" if proc.returncode == 0 else "failed: " + _tail(proc.stderr or proc.stdout)

    def run(self) -> int:
        """Run what is not yet done, in rounds; exit status 1 if any benchmark failed.

        Round r runs the r-th pyperf process of every benchmark, so each benchmark's
        processes are spread over the whole run: a slow spell of a shared machine
        then widens every benchmark's interval a little instead of biasing a few.
        """
        if self.args.retry_failed:
            self._forget_failures()
        self.status["planned"] = [b.name for b in self.benches]
        _results.atomic_write_json(self.status_path, self.status)  # the plan is on disk before any benchmark
        progress = os.environ.get("GILBENCH_PROGRESS")  # "env 2/8", set by bench-all
        prefix = "[%s%s]" % (self.args.env, " " + progress if progress else "")
        pending = [b for b in self.benches if self._next_round(b) is not None]
        done = len(self.benches) - len(pending)
        for bench in pending:
            reason = bench.workload.unavailable_reason() or mode_unavailable(bench.mode)
            if reason:
                self._record(bench, "unavailable", 0.0, reason)
        pending = [b for b in pending if self._next_round(b) is not None]
        print(
            "%s %d benchmarks (%d to measure, in %d round(s) of one pyperf process each), profile %s, run %s"
            % (prefix, len(self.benches), len(pending), self.profile.processes, self.profile.name, self.args.run_id),
            flush=True,
        )
        failures = 0
        for round_ in range(self.profile.processes):
            todo = [b for b in pending if self._next_round(b) == round_]
            for index, bench in enumerate(todo, start=1):
                t0 = time.monotonic()
                outcome = self._run_process(bench)
                failures += outcome.startswith(("FAILED", "TIMEOUT"))
                print(
                    "%s round %d/%d %3d/%d %-40s %-10s %6.1fs  (elapsed %s)"
                    % (prefix, round_ + 1, self.profile.processes, index, len(todo), bench.name,
                       outcome if len(outcome) < 60 else outcome[:57] + "...", time.monotonic() - t0,
                       _clock(time.monotonic() - self.started)),
                    flush=True,
                )  # fmt: skip
        if self.args.timeline and "timeline" not in self.status:
            self.status["timeline"] = self._capture_timeline()
            print("%s GIL timeline: %s" % (prefix, self.status["timeline"]), flush=True)
        self.status["finished"] = _results.utc_now()
        _results.atomic_write_json(self.status_path, self.status)
        print("%s wrote %s (%d benchmarks were already done)" % (prefix, self.suite_path, done), flush=True)
        return 1 if failures else 0


def _dumps(suite: Any) -> str:
    """A pyperf suite as the JSON text ``pyperf`` itself writes."""
    import io

    buffer = io.StringIO()
    suite.dump(buffer)
    return buffer.getvalue()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return "%dm%02ds" % (minutes, secs)


def _die_with_parent() -> None:
    """In the child: on Linux, get SIGKILL if the driver itself is killed (kill -9 included),
    so no orphaned benchmark keeps measuring beside a resumed run."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the process group is still killed on timeout and Ctrl-C


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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
    parser.add_argument("--mode", action="append", help="run only these modes")
    parser.add_argument("--workers", help="worker counts, e.g. 1,2,4 (default: the machine's ladder)")
    parser.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run")
    parser.add_argument("--retry-failed", action="store_true", help="with --resume, rerun failed benchmarks")
    parser.add_argument("--timeout", type=float, help="seconds per benchmark (default: the profile's)")
    parser.add_argument("--force", action="store_true", help="run even if another benchmark run holds the lock")
    parser.add_argument("--no-timeline", dest="timeline", action="store_false", help="skip the GIL timeline capture")
    parser.add_argument("--list", action="store_true", help="print the planned benchmarks and exit")
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


def _main(args: argparse.Namespace) -> int:
    profile = resolve_profile(args.profile)
    registry = load_all()
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
        return EnvRun(args, profile, benches).run()


def _install_sigterm_handler() -> None:
    """Treat SIGTERM like Ctrl-C so the benchmark in flight is killed and recorded."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
