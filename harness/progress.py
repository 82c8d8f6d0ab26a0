"""What bench-all shows while it runs: plain lines for logs, a live display for a person.

Why two.  A log (CI, a pipe, ``--log FILE``) is read with grep long after the run, so it
gets one line per benchmark process, worded as it always was.  A person at a terminal
watching a run of an hour wants where it stands instead: the phase, the round, what is
still open, when the round (and the budget) will end, how precise the headline ratios
are so far and how much of the machine the probes found free.  Both are fed the same
typed records through one method, ``Display.show``: the scheduler's
(``workloads.host.ProcessDone``, ``RoundDone``, ``BudgetReached``) and the host's below.
Every record can render its plain line (``line()``, ``None`` where the plain log has
none), so the plain display is those lines and nothing else, and the live one reads the
records' fields instead of parsing text.

The live display redraws only when a record arrives, never on a timer: it runs in the
host process while benchmarks are timed on the same cores, and a refresh thread would
take CPU and the GIL from the machine-noise probe, which runs in this process.  So it
shows clock times ("round ends about 18:52:10"), which stay true between redraws, not
countdowns.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Iterator, Optional, TextIO, Union

from rich.console import Console, RenderableType
from rich.live import Live as RichLive
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from workloads.host import BUDGETED_MOST_ROUNDS, BudgetReached, ProcessDone, RoundDone, SchedulerEvent, clock

PROVISIONING = "provisioning"
REPORTING = "reporting"
PHASES = {PROVISIONING: "provisioning a free-threaded CPython", REPORTING: "writing the report"}


@dataclass(frozen=True)
class Start:
    """bench-all begins: the run id a ``--resume`` needs, and where the results go."""

    run_id: str
    profile: str
    results: str

    def line(self) -> str:
        return "bench-all: run %s, profile %s, results in %s" % (self.run_id, self.profile, self.results)


@dataclass(frozen=True)
class Note:
    """A line of its own: an env skipped, a warning.  ``error``: shown with ``--quiet`` too."""

    text: str
    error: bool = False

    def line(self) -> str:
        return self.text


@dataclass(frozen=True)
class Step:
    """A line of the work under way: provisioning's progress, an env's output while it prepares."""

    text: str

    def line(self) -> str:
        return self.text


@dataclass(frozen=True)
class Phase:
    """A stage without a plain header of its own: ``PROVISIONING``, ``REPORTING``."""

    name: str

    def line(self) -> None:
        return None


@dataclass(frozen=True)
class Preparing:
    """tox starts preparing env ``index`` of ``total``."""

    index: int
    total: int
    env: str
    interpreter: str
    elapsed: float  # seconds since the first env started preparing

    def line(self) -> str:
        return "\n=== [env %d/%d] preparing %s on %s (elapsed %.0fs)" % (
            self.index,
            self.total,
            self.env,
            self.interpreter,
            self.elapsed,
        )


@dataclass(frozen=True)
class EnvFailed:
    """An env could not be prepared; the others go on.  ``tail``: its last lines of output."""

    env: str
    code: int
    tail: tuple[str, ...]

    def line(self) -> str:
        return "error: %s failed to prepare (exit status %d)" % (self.env, self.code)


@dataclass(frozen=True)
class Measuring:
    """The interleaved rounds begin."""

    envs: int
    layout: str
    least: int
    most: int
    target: float  # relative half-width the headline ratios aim at; 0: a fixed number of rounds
    seed: int
    budget: Optional[float]  # seconds
    open: int  # benchmarks to measure

    def line(self) -> str:
        return "\n=== measuring %d env(s) in interleaved rounds (%s layout): %s%s (seed %d)" % (
            self.envs,
            self.layout,
            rounds_text(self.least, self.most),
            ", until every headline ratio is within ±%g%%" % (100 * self.target) if self.target else "",
            self.seed,
        )


def rounds_text(least: int, most: int) -> str:
    """How many rounds a benchmark gets: "at least 3, at most 16", or, where a budget
    bounds them (``BUDGETED_MOST_ROUNDS``), "at least 3, then as the budget plans"."""
    if most >= BUDGETED_MOST_ROUNDS:
        return "at least %d, then as the budget plans" % least
    return "at least %d, at most %d" % (least, most)


@dataclass(frozen=True)
class NoiseProbed:
    """The machine-noise probe before a round (``harness.noise``)."""

    round: int
    spread: float  # of one value, relative
    median: float  # seconds per value

    def line(self) -> str:
        return "round %d: machine noise ±%.0f%% per %.0f ms value" % (self.round, 100 * self.spread, 1000 * self.median)


@dataclass(frozen=True)
class CapacityProbed:
    """A capacity probe (``harness.capacity``): ``k`` busy processes did ``value`` times the work of one."""

    k: int
    value: float

    def line(self) -> None:
        return None


@dataclass(frozen=True)
class Widths:
    """The headline ratios' 95% half-widths (relative) against the target: after a round
    (``harness.precision.PrecisionRule``, beside its history entry) or when the run ends."""

    round: int
    target: float  # 0: none
    ratios: int
    within: int  # ratios within ±target
    median: Optional[float]
    p90: Optional[float]
    widest: Optional[float]

    def line(self) -> None:  # the round's own line carries them, in its note
        return None

    def describe(self) -> str:
        if not self.target:
            return "no target; %d headline ratios, median ±%s, p90 ±%s" % (
                self.ratios,
                pct(self.median),
                pct(self.p90),
            )
        return "%d of %d headline ratios within ±%g%%, median ±%s, p90 ±%s" % (
            self.within,
            self.ratios,
            100 * self.target,
            pct(self.median),
            pct(self.p90),
        )


STOPPED = {
    "rounds": "every round done",
    "target": "every benchmark reached the target",
    "budget": "stopped by the budget",
    "": "nothing measured",
}


@dataclass(frozen=True)
class Summary:
    """The end of a run, the same in every mode: what ran, what failed, how long it
    measured, how precise it got, and where the report is."""

    envs: int  # envs measured (A/A twins included)
    seconds: float  # the whole bench-all
    failed: bool  # an env failed to prepare or a benchmark process failed
    failed_envs: tuple[str, ...]
    benchmarks: int
    failed_benchmarks: int
    unavailable: int  # benchmarks that cannot run on their interpreter
    measuring: float  # seconds of measuring, resumed sessions included
    rounds: int
    stopped_by: str  # workloads.host.RoundsResult.stopped_by
    widths: Optional[Widths]
    report: str = ""

    def line(self) -> str:
        lines = [
            "\nbench-all: %d env(s) run in %.0f s, %s"
            % (self.envs, self.seconds, "with failures" if self.failed else "no failures"),
            "benchmarks: %d, %d failed, %d unavailable on their interpreter"
            % (self.benchmarks, self.failed_benchmarks, self.unavailable),
            "measuring: %s in %d round(s), %s" % (clock(self.measuring), self.rounds, STOPPED[self.stopped_by]),
            "precision: %s" % (self.widths.describe() if self.widths else "nothing measured"),
        ]
        if self.failed_envs:
            lines.insert(1, "envs that failed to prepare: %s" % ", ".join(self.failed_envs))
        if self.report:
            lines.append("report: %s" % self.report)
        return "\n".join(lines)


Record = Union[
    SchedulerEvent,
    Start,
    Note,
    Step,
    Phase,
    Preparing,
    EnvFailed,
    Measuring,
    NoiseProbed,
    CapacityProbed,
    Widths,
    Summary,
]


def pct(value: Optional[float]) -> str:
    """A relative half-width as the progress lines write it: ``0.0214`` -> ``2.1%``."""
    return "?" if value is None else "%.1f%%" % (100 * value)


def alert(record: Record) -> Optional[str]:
    """What is shown even when the plain lines are not (``--quiet``, above the live
    display): the start line, errors, and the summary."""
    if isinstance(record, (Start, Summary)) or (isinstance(record, Note) and record.error):
        return record.line()
    if isinstance(record, EnvFailed):
        return "\n".join([record.line(), *("  " + line for line in record.tail)])
    if isinstance(record, ProcessDone) and record.failed:
        return record.line()
    return None


class Display:
    """Where bench-all says what it is doing, one record at a time.  ``log``, when given,
    gets every record as well (``--log FILE``: the plain lines)."""

    def __init__(self, log: Optional[Plain] = None) -> None:
        self.log = log

    def show(self, record: Record) -> None:
        if self.log is not None:
            self.log.show(record)
        self.render(record)

    def render(self, record: Record) -> None:
        raise NotImplementedError

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class Plain(Display):
    """The plain lines, or with ``quiet`` only the alerts (``alert``)."""

    def __init__(self, stream: TextIO, quiet: bool = False, log: Optional[Plain] = None) -> None:
        super().__init__(log)
        self.stream = stream
        self.quiet = quiet

    def render(self, record: Record) -> None:
        text = alert(record) if self.quiet else record.line()
        if text is not None:
            self.stream.write(text + "\n")
            self.stream.flush()


class Live(Display):
    """A panel redrawn in place as records arrive (see the module docstring); alerts and
    notes are printed above it and stay.  Transient: on exit, Ctrl-C included, the panel
    is erased and the cursor shown again, so the terminal is left as it was."""

    def __init__(self, console: Console, log: Optional[Plain] = None) -> None:
        super().__init__(log)
        self.console = console
        self.run_start: Optional[Start] = None
        self.phase = "starting"
        self.step = ""
        self.plan: Optional[Measuring] = None
        self.started = 0.0  # wall clock when measuring began
        self.round = 0
        self.done = 0  # processes done in the round
        self.count = 0  # processes in the round
        self.processes = 0  # processes done in all
        self.busy = 0.0  # their seconds
        self.last: Optional[ProcessDone] = None
        self.open = 0
        self.round_ends: Optional[float] = None  # wall clock
        self.stopped = ""
        self.widths: Optional[Widths] = None
        self.capacity: Optional[CapacityProbed] = None
        self.noise: Optional[NoiseProbed] = None
        self.live = RichLive(console=console, auto_refresh=False, transient=True, get_renderable=self.panel)

    def __enter__(self) -> Live:
        self.live.start(refresh=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def render(self, record: Record) -> None:
        self._update(record)
        text = record.line() if isinstance(record, Note) else alert(record)
        if text is not None:
            self.console.print(text.strip("\n"), markup=False, highlight=False, soft_wrap=True)  # a path stays whole
        self.live.refresh()

    def _update(self, record: Record) -> None:
        if isinstance(record, Start):
            self.run_start = record
        elif isinstance(record, Phase):
            self.phase, self.step = PHASES[record.name], ""
        elif isinstance(record, Preparing):
            self.phase, self.step = "preparing env %d of %d: %s" % (record.index, record.total, record.env), ""
        elif isinstance(record, Step):
            self.step = record.text
        elif isinstance(record, Measuring):
            self.phase, self.step, self.plan, self.open = "measuring", "", record, record.open
            self.started = time.time()
        elif isinstance(record, ProcessDone):
            self.round, self.done, self.count, self.last = record.round, record.index, record.count, record
            self.processes += 1
            self.busy += record.seconds
            self._eta(record.count - record.index)
        elif isinstance(record, RoundDone):
            self.open = record.still_open
            if record.next_processes:  # else the run ends here
                self.round, self.done, self.count = record.round + 1, 0, record.next_processes
                self._eta(record.next_processes)
        elif isinstance(record, BudgetReached):
            self.stopped, self.round_ends = record.line(), None
        elif isinstance(record, Widths):
            self.widths = record
        elif isinstance(record, CapacityProbed):
            self.capacity = record
        elif isinstance(record, NoiseProbed):
            self.noise = record

    def _eta(self, remaining: int) -> None:
        """The round ends after ``remaining`` more processes at the mean cost so far."""
        self.round_ends = time.time() + remaining * self.busy / self.processes if self.processes else None

    def panel(self) -> RenderableType:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        for label, value in self._rows():
            grid.add_row(label, Text(value) if isinstance(value, str) else value)  # Text: "fib[serial]" is no markup
        title = "gilbench bench-all"
        if self.run_start is not None:
            title += " · run %s · profile %s" % (self.run_start.run_id, self.run_start.profile)
        return Panel(grid, title=Text(title), title_align="left", border_style="blue")

    def _rows(self) -> Iterator[tuple[str, RenderableType]]:
        yield "phase", self.phase
        if self.step:
            yield "step", self.step
        plan = self.plan
        if plan is None:
            return
        most = plan.most if plan.target else plan.least  # without a target every benchmark gets ``least``
        rounds = "of %d" % most if most == plan.least else "(%s)" % rounds_text(plan.least, most)
        if self.round:
            bar = Table.grid(padding=(0, 1))
            bar.add_row(
                ProgressBar(total=max(self.count, 1), completed=self.done, width=24),
                "%d %s: %d of %d processes done" % (self.round, rounds, self.done, self.count),
            )
            yield "round", bar
        yield "open", "%d benchmarks" % self.open
        if self.last is not None:
            last = self.last
            yield "last", "%s %s: %s, %.1f s" % (last.env, last.label, last.result, last.seconds)
        eta = []
        if self.round_ends is not None and self.count > self.done:
            eta.append(
                "round %d ends about %s (%d × %.1f s to go)"
                % (self.round, _at(self.round_ends), self.count - self.done, self.busy / self.processes)
            )
        if plan.budget is not None:
            eta.append("budget ends %s" % _at(self.started + plan.budget))
        if self.stopped or eta:
            yield "eta", self.stopped or "; ".join(eta)
        if self.widths is not None:  # only the precision rule sends them: there is a target
            w = self.widths
            yield (
                "precision",
                "%d of %d ratios within ±%g%%, median ±%s, widest ±%s (round %d)"
                % (w.within, w.ratios, 100 * w.target, pct(w.median), pct(w.widest), w.round),
            )
        machine = []
        if self.capacity is not None:
            machine.append("capacity %.2f× at %d processes" % (self.capacity.value, self.capacity.k))
        if self.noise is not None:
            machine.append("noise ±%.0f%% per value" % (100 * self.noise.spread))
        if machine:
            yield "machine", ", ".join(machine)


def _at(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall))


def choose(quiet: bool = False, log: Optional[TextIO] = None, stream: Optional[TextIO] = None) -> Display:
    """The live display on a terminal; the plain lines on anything else (CI, a pipe, a
    dumb terminal); only the alerts with ``quiet``.  ``log``: the plain lines go there
    instead (``--log FILE``), and ``stream`` (default: stdout) gets the live display or,
    if it is no terminal, the alerts."""
    stream = stream or sys.stdout
    mirror = Plain(log) if log is not None else None
    terminal = stream.isatty() and os.environ.get("TERM", "") not in ("dumb", "unknown")
    if terminal and not quiet:
        return Live(Console(file=stream), mirror)
    return Plain(stream, quiet=quiet or mirror is not None, log=mirror)
