"""What a run shows: the plain lines in a pipe or a log, the live display on a terminal,
the same summary in both (``harness.progress``).

The records' rendering and the summary are checked without a terminal; two real smoke
runs of ``python -m harness bench-all`` (one on a pseudo-terminal, one in a pipe) check
what a person and a log see, and that both measured the same benchmarks.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyperf
import pytest
from helpers import TOX_WORK, run_in_pty, strip_ansi
from rich.console import Console

from harness import cli, interpreters, progress
from workloads.host import BudgetReached, ProcessDone, RoundDone

TERMINAL_VARS = ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "VIRTUAL_ENV")  # would override the pty's own
WIDTHS = progress.Widths(round=4, target=0.03, ratios=14, within=9, median=0.0214, p90=0.051, widest=0.083)
SUMMARY = progress.Summary(
    envs=2,
    seconds=95.4,
    failed=False,
    failed_envs=(),
    benchmarks=8,
    failed_benchmarks=0,
    unavailable=1,
    measuring=72.6,
    rounds=4,
    stopped_by="rounds",
    widths=WIDTHS,
    report="/tmp/reports/r/index.html",
)
# One run's records in the order bench-all shows them, each with the plain line it renders.
RECORDS = [
    (progress.Start("r1", "smoke", "/tmp/results/r1"), "bench-all: run r1, profile smoke, results in /tmp/results/r1"),
    (progress.Note("skip bench-py314          no interpreter"), "skip bench-py314          no interpreter"),
    (progress.Phase(progress.PROVISIONING), None),
    (progress.Step("[  60s] cpython-3.13.5: make running"), "[  60s] cpython-3.13.5: make running"),
    (
        progress.Preparing(1, 2, "bench-py39", "/usr/bin/python3.9", 0.4),
        "\n=== [env 1/2] preparing bench-py39 on /usr/bin/python3.9 (elapsed 0s)",
    ),
    (
        progress.EnvFailed("bench-pypy3", 1, ("pip: no space left",)),
        "error: bench-pypy3 failed to prepare (exit status 1)",
    ),
    (
        progress.Measuring(envs=1, layout="blocks", least=3, most=16, target=0.03, seed=7, budget=None, open=4),
        "\n=== measuring 1 env(s) in interleaved rounds (blocks layout): at least 3, at most 16, "
        "until every headline ratio is within ±3% (seed 7)",
    ),
    (progress.NoiseProbed(1, 0.021, 0.0201), "round 1: machine noise ±2% per 20 ms value"),
    (progress.CapacityProbed(2, 1.86), None),
    (
        ProcessDone(1, 1, 2, "bench-py39", "countdown (2)", benchmarks=2, failed=0, seconds=3.14, elapsed=3.2),
        "round 1   1/2 bench-py39       countdown (2)                            ok         3.1s  (elapsed 0m03s)",
    ),
    (
        ProcessDone(1, 2, 2, "bench-py39", "fib[serial]", benchmarks=1, failed=1, seconds=0.5, elapsed=3.7),
        "round 1   2/2 bench-py39       fib[serial]                              failed     0.5s  (elapsed 0m03s)",
    ),
    (WIDTHS, None),
    (
        RoundDone(3, 2, "±3%: 9 of 14 ratios", 1, 1.6),
        "after round 3: 2 benchmarks still open, ±3%: 9 of 14 ratios; next round about 0m01s",
    ),
    (BudgetReached(2700.0, 3, 2), "budget of 45m00s reached after 3 rounds: 2 benchmarks stop short of the target"),
    (progress.Phase(progress.REPORTING), None),
    (SUMMARY, SUMMARY.line()),
]


class Terminal(io.StringIO):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_the_plain_display_writes_each_records_line_and_nothing_else():
    out = io.StringIO()
    display = progress.Plain(out)
    for record, _ in RECORDS:
        display.show(record)
    assert out.getvalue() == "".join(line + "\n" for _, line in RECORDS if line is not None)


def test_quiet_writes_the_start_line_errors_and_the_summary():
    out = io.StringIO()
    display = progress.Plain(out, quiet=True)
    for record, _ in RECORDS:
        display.show(record)
    assert out.getvalue().splitlines() == [
        "bench-all: run r1, profile smoke, results in /tmp/results/r1",
        "error: bench-pypy3 failed to prepare (exit status 1)",
        "  pip: no space left",
        "round 1   2/2 bench-py39       fib[serial]                              failed     0.5s  (elapsed 0m03s)",
        *SUMMARY.line().splitlines(),
    ]


def test_the_summary_says_what_ran_how_long_how_precise_and_where_the_report_is():
    assert SUMMARY.line() == (
        "\nbench-all: 2 env(s) run in 95 s, no failures\n"
        "benchmarks: 8, 0 failed, 1 unavailable on their interpreter\n"
        "measuring: 1m12s in 4 round(s), every round done\n"
        "precision: 9 of 14 headline ratios within ±3%, median ±2.1%, p90 ±5.1%\n"
        "report: /tmp/reports/r/index.html"
    )
    no_target = progress.Widths(round=1, target=0.0, ratios=6, within=0, median=None, p90=None, widest=None)
    failed = progress.Summary(
        envs=1,
        seconds=30.0,
        failed=True,
        failed_envs=("bench-pypy3",),
        benchmarks=4,
        failed_benchmarks=1,
        unavailable=0,
        measuring=12.0,
        rounds=1,
        stopped_by="budget",
        widths=no_target,
    )
    assert failed.line().splitlines()[1:] == [
        "bench-all: 1 env(s) run in 30 s, with failures",
        "envs that failed to prepare: bench-pypy3",
        "benchmarks: 4, 1 failed, 0 unavailable on their interpreter",
        "measuring: 0m12s in 1 round(s), stopped by the budget",
        "precision: no target; 6 headline ratios, median ±?, p90 ±?",
    ]


def _live_output(records) -> str:
    """What the live display writes for ``records``, on an 100-column terminal, without escapes."""
    out = io.StringIO()
    with progress.Live(Console(file=out, force_terminal=True, width=100)) as live:
        for record in records:
            live.show(record)
    return strip_ansi(out.getvalue())


def test_the_live_display_shows_phase_round_open_eta_precision_and_machine():
    screen = _live_output([record for record, _ in RECORDS])
    for row in (
        r"gilbench bench-all · run r1 · profile smoke",
        r"phase\s+provisioning a free-threaded CPython",
        r"step\s+\[  60s\] cpython-3.13.5: make running",
        r"phase\s+preparing env 1 of 2: bench-py39",
        r"phase\s+measuring",
        r"round\s+.*1 \(at least 3, at most 16\): 1 of 2 processes done",
        r"open\s+4 benchmarks",
        r"eta\s+round 1 ends about \d\d:\d\d:\d\d \(1 × 3\.1 s to go\)",
        r"precision\s+9 of 14 ratios within ±3%, median ±2\.1%, widest ±8\.3% \(round 4\)",
        r"machine\s+capacity 1\.86× at 2 processes, noise ±2% per value",
        r"open\s+2 benchmarks",
        r"eta\s+budget of 45m00s reached after 3 rounds",
        r"phase\s+writing the report",
    ):
        assert re.search(row, screen), row
    # above the panel, and left there: the start line, notes, errors and the summary; no other plain line
    for line in ("bench-all: run r1", "skip bench-py314", "error: bench-pypy3 failed", "  pip: no space left"):
        assert line in screen
    assert "round 1   2/2 bench-py39       fib[serial]" in screen and "round 1   1/2" not in screen
    assert re.search(r"last\s+bench-py39 fib\[serial\]: failed, 0\.5 s", screen)  # a name, not markup
    assert "=== measuring" not in screen and "machine noise" not in screen
    assert "\n".join(SUMMARY.line().strip().splitlines()) in screen.replace("\r\n", "\n")


def test_ctrl_c_erases_the_panel_shows_the_cursor_and_prints_the_resume_hint(monkeypatch, tmp_path, capsys):
    """Through the real CLI on a stdout that is a terminal, with the run itself replaced
    by one that shows a phase and is interrupted: nothing races."""

    def interrupted(opts, display):
        display.show(progress.Preparing(1, 1, "bench-py39", "/usr/bin/python3.9", 0.0))
        raise KeyboardInterrupt

    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("GILBENCH_HOME", str(tmp_path / "home"))  # the lock: never a real run's
    monkeypatch.setattr("harness.run.bench_all", interrupted)
    args = cli.build_parser().parse_args(
        ["bench-all", "--profile", "smoke", "--env", "bench-py39", "--no-provision", "--results-dir", str(tmp_path)]
    )
    assert cli.cmd_bench_all(args) == 130
    run_id = strip_ansi(screen.getvalue()).split("bench-all: run ", 1)[1].split(",", 1)[0]
    err = capsys.readouterr().err
    assert (
        err == "\ninterrupted: measured benchmarks are saved; finish with `tox -e bench-all -- --resume %s`\n" % run_id
    )
    written = screen.getvalue()
    assert "preparing env 1 of 1: bench-py39" in strip_ansi(written)
    assert written.rindex("\x1b[?25h") > written.rindex("\x1b[?25l")  # the cursor is back
    assert written.endswith("\x1b[2K")  # transient: the panel's lines are erased


def test_the_display_is_chosen_by_terminal_log_and_quiet(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    log = io.StringIO()
    assert isinstance(progress.choose(stream=Terminal()), progress.Live)
    assert isinstance(progress.choose(stream=Terminal(), log=log).log, progress.Plain)
    piped = progress.choose(stream=io.StringIO())
    assert isinstance(piped, progress.Plain) and not piped.quiet and piped.log is None
    assert progress.choose(stream=Terminal(), quiet=True).quiet
    logged = progress.choose(stream=io.StringIO(), log=log)  # the plain lines go to the log, not to both
    assert logged.quiet and logged.log is not None and logged.log.stream is log
    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(progress.choose(stream=Terminal()), progress.Plain)


# -- two real smoke runs: on a terminal (with --log) and in a pipe --------------------


@dataclass(frozen=True)
class Smoke:
    """``python -m harness bench-all`` as a person and as CI start it: one or two envs,
    countdown only, two rounds with a precision target (so the precision rule reports
    after the first) and a budget, the nested tox envs kept in ``TOX_WORK``."""

    root: Path
    envs: list[str]
    environ: dict[str, str]

    def command(self, out: Path, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "harness",
            "bench-all",
            "--profile",
            "smoke",
            "--env",
            ",".join(self.envs),
            "--workload",
            "countdown",
            "--workers",
            "1,2",
            "--precision",
            "5",
            "--max-rounds",
            "2",
            "--budget",
            "30m",
            "--no-provision",
            "--results-dir",
            str(out / "results"),
            "--reports-dir",
            str(out / "reports"),
            "--root",
            str(self.root),
            *extra,
        ]


@pytest.fixture(scope="module")
def smoke(root, gilbench_home) -> Smoke:
    found = interpreters.assign(interpreters.discover())
    envs = [e for e in ("bench-py39", "bench-py313t", "bench-pypy3") if interpreters.env_factor(e) in found][:2]
    if not envs:
        pytest.skip("needs CPython 3.9, 3.13t or PyPy on this machine")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "TTY_")) and k not in TERMINAL_VARS}
    # its own lock: a real run beside the suite must not refuse this one
    environ.update(TOX_WORK_DIR=str(TOX_WORK), TERM="xterm-256color", GILBENCH_HOME=str(gilbench_home))
    return Smoke(root, envs, environ)


@pytest.fixture(scope="module")
def on_terminal(smoke, tmp_path_factory):
    out = tmp_path_factory.mktemp("terminal")
    code, written = run_in_pty(smoke.command(out, "--log", str(out / "run.log")), env=smoke.environ, cwd=smoke.root)
    assert code == 0, strip_ansi(written)[-4000:]
    return out, written, (out / "run.log").read_text()


@pytest.fixture(scope="module")
def in_pipe(smoke, tmp_path_factory):
    out = tmp_path_factory.mktemp("pipe")
    proc = subprocess.run(
        smoke.command(out), env=smoke.environ, cwd=smoke.root, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return out, proc.stdout


PROCESS_LINE = r"round (\d) +(\d)/(\d) (\S+) +countdown\S*(?: \(\d+\))? +ok +\d+\.\ds  \(elapsed \d+m\d\ds\)"


def _process_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"round \d+ +\d+/", line)]


def _check_plain(text: str, envs: list[str]) -> None:
    """Today's plain lines: the start line, a header per env and for the rounds, one line
    per benchmark process (countdown is one block: one process per env and round), the
    round's line with the precision rule's note, the summary; no escapes."""
    assert "\x1b" not in text
    assert text.startswith("bench-all: run ")
    for index, env in enumerate(envs, start=1):
        assert "\n=== [env %d/%d] preparing %s on " % (index, len(envs), env) in text
        assert "[%s env %d/%d] prepared " % (env, index, len(envs)) in text
    assert (
        "\n=== measuring %d env(s) in interleaved rounds (blocks layout): at least 1, at most 2, "
        "until every headline ratio is within ±5%% (seed " % len(envs)
    ) in text
    assert "\nround 1: machine noise ±" in text and "\nround 2: machine noise ±" in text
    assert re.search(
        r"\nafter round 1: \d+ benchmarks still open, ±5%: \d+ of \d+ ratios, median ±\S+, p90 ±\S+"
        r"(; next round \d+ of \d+ blocks)?( \(the budget plans up to \d+ more\))?"
        r"(; another 10 min: median ±\S+, p90 ±\S+)?; next round about \d+m\d\ds\n",
        text,
    )
    found = [re.fullmatch(PROCESS_LINE, line) for line in _process_lines(text)]
    assert all(found), _process_lines(text)
    done = [(int(m.group(1)), int(m.group(2)), int(m.group(3))) for m in found]
    assert done == [(r, i, len(envs)) for r in (1, 2) for i in range(1, len(envs) + 1)]
    assert sorted(m.group(4) for m in found) == sorted(envs * 2)


def _benchmarks(out: Path) -> dict[str, set[str]]:
    (run,) = (out / "results").iterdir()
    return {path.stem: set(pyperf.BenchmarkSuite.load(str(path)).get_benchmark_names()) for path in run.glob("*.json")}


@pytest.mark.slow
def test_a_terminal_gets_the_live_display_and_the_log_the_plain_lines(smoke, on_terminal):
    envs = smoke.envs
    _, written, log = on_terminal
    screen = strip_ansi(written).replace("\r\n", "\n")
    for row in (
        r"gilbench bench-all · run \S+ · profile smoke",
        r"phase\s+preparing env 1 of %d: %s" % (len(envs), envs[0]),
        r"phase\s+measuring",
        r"round\s+.*2 \(at least 1, at most 2\): \d of %d processes done" % len(envs),
        r"eta\s+.*budget ends \d\d:\d\d:\d\d",
        r"precision\s+\d+ of \d+ ratios within ±5%, median ±\S+, widest ±\S+ \(round 1\)",
        r"machine\s+.*noise ±\d+% per value",
        r"phase\s+writing the report",
    ):
        assert re.search(row, screen), (row, screen[-3000:])
    assert not _process_lines(screen)  # no plain line per process on the terminal ...
    assert written.rindex("\x1b[?25h") > written.rindex("\x1b[?25l")  # ... and the cursor is shown again
    assert re.search(r"bench-all: %d env\(s\) run in \d+ s, no failures\n" % len(envs), screen)
    assert re.search(r"\nreport: \S+index.html", screen)
    _check_plain(log, envs)  # ... while the log got the plain lines
    assert "bench-all: %d env(s) run in" % len(envs) in log


@pytest.mark.slow
def test_a_pipe_gets_exactly_the_plain_lines(smoke, in_pipe):
    envs = smoke.envs
    out, stdout = in_pipe
    _check_plain(stdout, envs)
    assert "gilbench bench-all ·" not in stdout and "╭" not in stdout
    summary = stdout[stdout.index("\nbench-all: ") :].splitlines()[1:]
    assert [line.split(":")[0] for line in summary] == ["bench-all", "benchmarks", "measuring", "precision", "report"]
    assert summary[-1] == "report: %s" % next((out / "reports").iterdir()).joinpath("index.html")


@pytest.mark.slow
def test_both_runs_measured_the_same_benchmarks(on_terminal, in_pipe):
    on_screen, piped = _benchmarks(on_terminal[0]), _benchmarks(in_pipe[0])
    assert on_screen == piped and all(on_screen.values())
