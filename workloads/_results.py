"""Crash-safe writes, run ids and the machine lock (the layout is in ``_schema``).

``results/<run-id>/<env>.json``              one pyperf BenchmarkSuite per env, the only
                                             ``*.json`` in the folder, so pyperf's own CLI
                                             takes ``results/<run-id>/*.json``
``results/<run-id>/meta/<env>.status.json``  the plan, and each benchmark's outcome
``results/<run-id>/meta/<env>.timeline.json`` a GIL timeline capture (optional)
``results/<run-id>/meta/run.json``           the bench-all manifest

Everything is written to a temporary file and renamed, so a kill at any moment
leaves either the old file or the new one, never a truncated one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import time
from typing import Any, Dict, Iterator, Mapping, Optional

from workloads._machine import Machine, this_machine
from workloads._schema import UserError


def new_run_id(now: Optional[float] = None) -> str:
    """UTC timestamp (to the second) plus the machine's id (``_machine.Machine.id``), e.g.
    ``20261124T185012Z-ab12cd34``: two runs of one host confined to different CPUs get
    different run ids, as they get different machine ids."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    return "%s-%s" % (stamp, this_machine().id)


def require_machine(recorded: Optional[Mapping[str, Any]], path: str) -> None:
    """Refuse to go on with a run (``path``, its manifest or status file) that another machine
    started: a run's rounds, paired across envs, must all come from one machine.  Runs
    recorded before machines had ids go on."""
    started_on, here = Machine.recorded(recorded), this_machine()
    if started_on is not None and started_on.id != here.id:
        raise UserError(
            "%s was started on machine %s and this is machine %s (%s): a run's rounds come from one "
            "machine; start a new run here" % (path, started_on.id, here.id, ", ".join(started_on.differences(here)))
        )


def die_with_parent() -> None:
    """In a child process: on Linux, get SIGKILL when the parent dies (kill -9 included).

    The driver's benchmark processes use it, so none keeps measuring beside a resumed
    run, and so do a benchmark's pool workers, so none outlives its benchmark.
    """
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the process group is still killed on timeout and Ctrl-C


TAIL_CHARS = 2000  # of a failed process's output, kept in the status file


def output_tail(text: str) -> str:
    """The end of a process's output, as much as a status file keeps of it."""
    text = text.strip()
    return text if len(text) <= TAIL_CHARS else "..." + text[-TAIL_CHARS:]


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def gilbench_home() -> str:
    """Per-user cache: provisioned interpreters, the bench lock, discovery cache."""
    default = os.path.join(os.path.expanduser("~"), ".cache", "gilbench")
    return os.environ.get("GILBENCH_HOME") or default


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=folder)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def read_json(path: str) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


class LockHeld(UserError):
    """Another benchmark run holds the machine."""


@contextlib.contextmanager
def bench_lock(force: bool = False) -> Iterator[None]:
    """One benchmark run per machine: concurrent runs distort each other's timings.

    A parent that already holds the lock (bench-all) sets ``GILBENCH_LOCK_HELD`` for
    its children.  ``force`` proceeds anyway; the caller warns.  The holder ("pid N
    since DATE") is written to ``bench.lock.holder`` beside the lock, so that a refused
    run can say who holds it.
    """
    if force or os.environ.get("GILBENCH_LOCK_HELD") == "1":
        yield
        return
    # Imported here: every `python -m harness` command imports this module, and
    # `tox -e interpreters` runs on a bare Python with nothing installed.
    from filelock import FileLock, Timeout

    path = os.path.join(gilbench_home(), "bench.lock")
    holder = path + ".holder"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        who = ""
        with contextlib.suppress(OSError), open(holder, encoding="utf-8") as fh:
            who = fh.read().strip()
        raise LockHeld(
            "another benchmark run holds %s (%s); wait for it, or pass --force "
            "(concurrent runs distort timings)" % (path, who or "another process")
        ) from None
    try:
        atomic_write_text(holder, "pid %d since %s\n" % (os.getpid(), utc_now()))
        os.environ["GILBENCH_LOCK_HELD"] = "1"  # inherited by our child processes
        yield
    finally:
        os.environ.pop("GILBENCH_LOCK_HELD", None)
        with contextlib.suppress(OSError):
            os.unlink(holder)  # a finished run must not be named (a killed one is overwritten next time)
        lock.release()
