"""One env's results on disk, and the benchmark processes that fill them.

``EnvRun`` owns an env's share of a run: its plan and outcomes (``meta/<env>.status.json``)
and its pyperf file (``<env>.json``).  ``run_block`` starts one benchmark process
(``workloads._runner``; ``worker_command`` is its command line) in its own process group,
so a crash, a segfault or a hang costs that process's benchmarks only: they are
recorded as failed or timed out, and the run goes on.  After each process both files
are rewritten atomically, so Ctrl-C or a kill loses at most the process in flight.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from workloads import _results
from workloads._machine import hypervisor_environ, this_machine
from workloads._options import RunOptions
from workloads._registry import Profile, cpu_count
from workloads._schema import ERRORS_SUFFIX, STATUS_FORMAT, BenchSpec, BenchStatus, Outcome, UserError

# What pyperf's manager passes to its workers (pyperf._utils.create_environ): no stray
# variables that could change how the measured code behaves.
_WORKER_ENV = ("PATH", "HOME", "TEMP", "TMPDIR", "PYTHONPATH", "PYTHON_CPU_COUNT", "PYTHON_GIL", "PYTHON_JIT", "LANG")


def worker_environ() -> Dict[str, str]:
    """The environment of a benchmark process: pyperf's list, gilbench's own variables,
    and the hypervisor this process found (``workloads._machine.hypervisor_environ``)."""
    own = {k: v for k, v in os.environ.items() if k in _WORKER_ENV or k.startswith(("LC_", "GILBENCH_"))}
    return dict(hypervisor_environ(), **own)


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
    pin_workers: bool = False,
) -> List[str]:
    """The command line of one benchmark process measuring ``specs`` (one block: the same
    workload, size and parameters) into ``part``; ``pin_workers``: each worker on a CPU of
    its own (``workloads.modes.PIN_ORDER``).

    Public so that a check made outside bench-all (``validation/interleaved_check.py``)
    times a benchmark through exactly the process bench-all starts.
    """
    first = specs[0]
    if values is None:
        values = profile.latency_values if first.self_timed else profile.layout(layout).values
    cmd = [
        python,
        "-m",
        "workloads._runner",
        "--values",
        str(values),
        "--warmups",
        str(profile.warmups if warmups is None else warmups),
        "--output",
        part,
        "--module",
        first.module,
        "--workload",
        first.workload,
        "--size",
        str(first.size),
        "--round",
        str(round_),
        "--bench-profile",
        profile.name,
        "--run-id",
        run_id,
        "--env",
        env,
    ]
    for spec in specs:
        cmd.extend(("--bench", "%s:%d" % (spec.mode, spec.workers)))
    for key, value in first.params:
        cmd.extend(("--param", "%s=%s" % (key, value)))
    if layout == "processes":
        cmd.append("--pair-serial")
    if warmup_scale != 1.0:
        cmd.extend(("--warmup-scale", repr(warmup_scale)))
    if pin_workers:
        cmd.append("--pin-workers")
    return cmd


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return "killed by signal %s" % signal.Signals(-code).name
        except ValueError:
            return "killed by signal %d" % -code
    return "exit status %d" % code


@dataclass(frozen=True)
class Target:
    """Where one env's benchmark processes run: its interpreter, the variables set for
    them over the worker environment (the env's ``PYTHON_GIL``, the run's
    ``RunOptions.worker_env``, a tool's ``KEY=VALUE``), the folder they start in.

    ``python -m workloads`` runs its own interpreter; bench-all runs every env's
    interpreter (the tox env's python) from one scheduler, so rounds interleave
    across interpreters.
    """

    env: str
    python: str
    extra: Dict[str, str] = field(default_factory=dict)
    cwd: str = field(default_factory=tempfile.gettempdir)

    @property
    def environ(self) -> Dict[str, str]:
        """What a benchmark process of this target runs with: the worker environment
        without this process's own ``PYTHON_GIL`` (the target says whether it has one),
        plus ``extra``."""
        base = {k: v for k, v in worker_environ().items() if k != "PYTHON_GIL"}
        return dict(base, **self.extra)


def own_target(env: str, options: RunOptions) -> Target:
    """This interpreter, with its own ``PYTHON_GIL``, as a pyperf manager would start its workers."""
    extra = {k: v for k, v in os.environ.items() if k == "PYTHON_GIL"}
    return Target(env, sys.executable, dict(extra, **options.worker_env()))


class EnvRun:
    """One env's share of a run: its plan, its pyperf file and its status file."""

    def __init__(self, options: RunOptions, target: Target) -> None:
        self.options = options
        self.profile = options.profile
        self.target = target
        self.run_id = options.run_id
        self.timeout = options.timeout or options.profile.timeout
        files = options.files(target.env)
        self.suite_path, self.status_path = files.suite, files.status
        os.makedirs(os.path.dirname(self.status_path), exist_ok=True)
        for stale in glob.glob(os.path.join(options.run_dir, ".bench-*")):  # scratch of a killed run (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        self.status: Dict[str, Any] = {}
        self.specs: List[BenchSpec] = []
        self.suite: Dict[str, Any] = {}
        # Benchmarks that another program measures (bench-all --pyperformance): an object
        # with ``handles(spec)``, ``command(run, spec, part, round_, values, warmups)`` (the
        # process's command line, writing one pyperf benchmark to ``part``) and
        # ``finish(run, spec, part, round_)`` (rewrites ``part`` with gilbench's metadata;
        # an exception fails the benchmark with its message).  None: gilbench's runner only.
        self.external: Optional[Any] = None

    # -- status and suite files ------------------------------------------------------

    def create(self, specs: List[BenchSpec], facts: Dict[str, Any], jit: bool) -> None:
        """A new status file: the plan is on disk before any benchmark runs."""
        if os.path.exists(self.status_path):
            raise UserError("%s already exists; pass --resume %s to finish that run" % (self.status_path, self.run_id))
        self.specs = specs
        self.status = {
            "format": STATUS_FORMAT,
            "env": self.target.env,
            "run_id": self.run_id,
            "profile": self.profile.to_json(),
            "interpreter": facts,
            "warmups": self.profile.warmups_for(jit),
            "cpu_count": cpu_count(),
            "machine": this_machine().to_json(),
            "started": _results.utc_now(),
            "planned": [s.name for s in specs],
            "plan": [s.to_json() for s in specs],
            "benchmarks": {},
        }
        for spec in specs:
            if spec.unavailable:
                self._record(spec, Outcome.UNAVAILABLE, 0.0, spec.unavailable)
        self.save_status()

    def load(self) -> None:
        """Pick up an existing status file (a prepared env, or a run to resume)."""
        try:
            status = _results.read_json(self.status_path)
        except (OSError, ValueError) as exc:
            raise UserError("%s: not a gilbench status file (%s)" % (self.status_path, exc)) from None
        if status.get("format") != STATUS_FORMAT or "plan" not in status:
            raise UserError("%s: not a gilbench status file of this version" % self.status_path)
        if status.get("profile", {}).get("name") != self.profile.name:
            raise UserError(
                "%s was run with profile %r; resume it with the same profile"
                % (self.status_path, status.get("profile", {}).get("name"))
            )
        _results.require_machine(status.get("machine"), self.status_path)
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
            raise UserError("%s: not a readable pyperf file (%s)" % (self.suite_path, exc)) from None
        return {b.get_name(): b for b in benches}

    def _save_suite(self) -> None:
        import pyperf

        _results.atomic_write_text(self.suite_path, _dumps(pyperf.BenchmarkSuite(list(self.suite.values()))))

    def save_status(self) -> None:
        """Write the status file now (it is also written after every benchmark)."""
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
        self.save_status()

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

    def extend(self, specs: Sequence[BenchSpec]) -> None:
        """Add ``specs`` to the plan after it was written (bench-all adds pyperformance's
        benchmarks to what the env's driver planned); those already planned are kept as
        they are, so a resumed run keeps its calibration.  Unavailable ones are recorded."""
        planned = {s.name for s in self.specs}
        for spec in specs:
            if spec.name in planned:
                continue
            self.specs.append(spec)
            self.status["plan"].append(spec.to_json())
            self.status["planned"].append(spec.name)
            if spec.unavailable:
                self._record(spec, Outcome.UNAVAILABLE, 0.0, spec.unavailable)
        self.save_status()

    def forget_failures(self) -> None:
        """``--retry-failed``: failed and timed-out benchmarks start over."""
        for name, entry in list(self.status["benchmarks"].items()):
            if Outcome(entry["status"]).failed:
                del self.status["benchmarks"][name]
                self.suite.pop(name, None)

    def finish(self) -> None:
        self.status["finished"] = _results.utc_now()
        self.save_status()

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
        warmups = self.status.get("warmups", self.profile.warmups)
        external = self.external if self.external is not None and self.external.handles(specs[0]) else None
        if external is not None:
            if len(specs) != 1:
                raise ValueError("a benchmark another program measures is a block of its own: %s" % specs[0].name)
            values = self.profile.layout(layout).values
            cmd = external.command(self, specs[0], part, round_, values, warmups)
        else:
            cmd = worker_command(
                self.target.python,
                specs,
                part,
                round_=round_,
                profile=self.profile,
                run_id=self.run_id,
                env=self.target.env,
                layout=layout,
                warmups=warmups,
                warmup_scale=SHORT_WARMUP if layout == "blocks" and not jit else 1.0,
                pin_workers=bool(self.status.get("pin_workers")),
            )
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
            tail = _results.output_tail(out.decode("utf-8", "replace"))
            errors = _results.read_json(part + ERRORS_SUFFIX) if os.path.exists(part + ERRORS_SUFFIX) else {}
            if external is not None and os.path.exists(part):
                try:
                    external.finish(self, specs[0], part, round_)
                except Exception as exc:  # an unusable file fails this benchmark, not the run
                    errors[specs[0].name] = "%s: %s" % (type(exc).__name__, exc)
                    os.remove(part)
            measured = {b.get_name(): b for b in pyperf.BenchmarkSuite.load(part)} if os.path.exists(part) else {}
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
            detail = "timed out after %.0f s\n%s" % (elapsed, _results.output_tail(out.decode("utf-8", "replace")))
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


def _dumps(suite: Any) -> str:
    """A pyperf suite as the JSON text ``pyperf`` itself writes."""
    import io

    buffer = io.StringIO()
    suite.dump(buffer)
    return buffer.getvalue()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
