"""What the tests share besides fixtures: running the CLI (in a pipe or on a pseudo-terminal),
the project's paths, the checks of a one-line error, and waiting on a condition a test controls."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest

from workloads.host import BUILD_MARKER, gilbench_home

ROOT = Path(__file__).resolve().parent.parent
# The end-to-end runs' nested tox envs: under ~/.cache/gilbench, so CI reuses them between runs;
# one folder per checkout, since each env installs the wheel of the checkout that made it, and
# two checkouts testing at once must not reinstall each other's.
TOX_WORK = Path(gilbench_home()) / "tox-tests" / hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]


# The matched pairs the tests that need one run on, each where it is provisioned: the
# default first (`tox -e tests` builds it), then 3.13 (.ci/run builds that one too).
PAIRS = ("3.14", "3.13")


@dataclass(frozen=True)
class Pair:
    """A provisioned matched pair: its X.Y.Z and the markers of its two halves."""

    version: str
    default: dict
    threaded: dict

    @property
    def minor(self) -> str:
        return self.version.rsplit(".", 1)[0]

    @property
    def factor(self) -> str:
        """``py314`` for 3.14.7; the free-threaded half serves ``py314t``."""
        return "py" + self.minor.replace(".", "")

    def envs(self) -> list[str]:
        """Its bench envs: the default half, the free-threaded half, and that half with PYTHON_GIL=1."""
        return ["bench-%s" % self.factor, "bench-%st" % self.factor, "bench-%st-gil" % self.factor]


def provisioned_pair(minor: str, root: Path) -> Optional[Pair]:
    """The newest complete, non-PGO matched pair of ``minor`` (X.Y) under ``root``, or None."""
    versions = {p.name[len("cpython-") :].rstrip("t") for p in root.glob("cpython-%s.*" % minor)}
    for version in sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True):
        markers = []
        for name in ("cpython-" + version, "cpython-%st" % version):
            with contextlib.suppress(OSError, ValueError):
                markers.append(json.loads((root / name / BUILD_MARKER).read_text()))
        ids = {m.get("pair_id") for m in markers}
        if len(markers) == 2 and len(ids) == 1 and all(ids) and not any(m["optimized"]["pgo"] for m in markers):
            return Pair(version, *markers)
    return None


# A committed `default` run of every local interpreter with the 3.13.5 pair and an A/A twin
# (docs/results/): the tests that check a real run's shapes and sections read it.
EXAMPLE_RUN = "20261203T065148Z-003596"

# The driver's smallest real measurement: countdown at 1 and 2 workers, smoke profile,
# as the tests that need a second run beside the session's start it.
SMOKE_COUNTDOWN = ("--profile", "smoke", "--workload", "countdown", "--workers", "1,2")


def one_row(frame, **where):
    """The one row of a pandas ``frame`` whose columns hold the values ``where`` gives
    (``env="bench-py313t"``); fails the test unless exactly one does."""
    picked = frame
    for key, wanted in where.items():
        picked = picked[picked[key] == wanted]
    assert len(picked) == 1, where
    return picked.iloc[0]


def run_module(
    module: str,
    *args: str,
    env: dict | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
    prefix: tuple[str, ...] = (),
):
    """Run ``python -m module args`` in a fresh process (started by ``prefix``, such as
    ``taskset -c 0``); return the CompletedProcess.

    The default working directory is neutral, so the *installed* package (with its
    compiled extension) is imported rather than the source tree.  Past ``timeout`` the
    process gets SIGTERM first, as `kill` would send: the harness then stops what it
    started (a build's compilers run in their own session and would outlive a SIGKILL).
    """
    full_env = dict(os.environ, **(env or {}))
    cmd = [*prefix, sys.executable, "-m", module, *args]
    proc = subprocess.Popen(
        cmd,
        cwd=cwd or tempfile.gettempdir(),
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        raise subprocess.TimeoutExpired(cmd, timeout, out, err) from None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def build_docs(source: Path, out: Path) -> None:
    """Build the Sphinx site in ``source`` into ``out`` with warnings as errors, as `tox -e docs` does."""
    proc = run_module("sphinx", "-W", "--keep-going", "-q", "-b", "html", str(source), str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit status 2, one 'error:' line naming what was wrong, and no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


def assert_usage_error(main, argv: list[str], needle: str, capsys) -> None:
    """A script's ``main(argv)`` rejects bad arguments argparse's way: exit status 2,
    ``needle`` in stderr, no traceback (the in-process twin of ``assert_one_line_error``)."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


WORKFLOW = ROOT / ".github" / "workflows" / "bench.yml"


MERGE_STEP = "Merge every runner's results into the docs"


HOSTILE = "<script>alert(1)</script> *em* | [link](http://example.invalid) {sub}`x` $x$"


def workflow_step_command(name: str) -> str:
    """The ``run:`` line of the workflow step called ``name``."""
    match = re.search(r"- name: %s\n\s+run: (.+)\n" % re.escape(name), WORKFLOW.read_text())
    assert match, "no step %r with a one-line run: in %s" % (name, WORKFLOW)
    return match.group(1)


def merge_as_the_workflow_does(work: Path) -> Path:
    """``work/docs``: a copy of docs/ without its published runs, after the workflow's merge
    step ran in ``work`` on the run folders in ``work/results``, as the publish job runs it."""
    shutil.copytree(ROOT / "docs", work / "docs", ignore=shutil.ignore_patterns("_build"))
    shutil.rmtree(work / "docs" / "results")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    proc = subprocess.run(
        ["bash", "-c", workflow_step_command(MERGE_STEP)], cwd=work, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work / "docs"


def wait_for(predicate: Callable[[], object], timeout: float = 60.0) -> None:
    """Poll ``predicate`` until it holds; a condition that never comes fails the test, bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in %.0f s" % timeout)


def run_in_pty(
    cmd: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 900, columns: int = 120, rows: int = 40
) -> tuple[int, str]:
    """Run ``cmd`` with a pseudo-terminal of ``columns`` x ``rows`` as its stdin, stdout and
    stderr, as a person's shell would; return its exit status and all it wrote, escape
    sequences included."""
    main, child = os.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(cmd, stdin=child, stdout=child, stderr=child, env=env, cwd=cwd, start_new_session=True)
    os.close(child)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("%s still running after %.0f s" % (cmd, timeout))
            ready, _, _ = select.select([main], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:  # gone, and nothing left to read
                    break
                continue
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO: every writer on the terminal's other side has closed it
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(main)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]")


def strip_ansi(text: str) -> str:
    """``text`` without its terminal escape sequences (colours, cursor moves, erasures)."""
    return ANSI.sub("", text)
