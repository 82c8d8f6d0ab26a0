"""What every provisioning step shares: progress lines, the lock and work folders, running a
logged command, and the self-check a finished interpreter must pass.

A prefix counts only once ``gilbench-build.json`` is in it: written last, atomically,
after the install and this self-check (``read_marker``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from filelock import FileLock, Timeout

from harness.provision.request import ProvisionError
from workloads.host import BUILD_MARKER

HEARTBEAT = 15.0  # seconds: the longest a running phase stays silent


# Run by the installed interpreter: what it is, and whether pip could work in it.
_SELF_CHECK = """
import json, platform, sys, sysconfig
missing = []
for name in ("zlib", "_ssl"):
    try:
        __import__(name)
    except ImportError:
        missing.append(name)
print(json.dumps({
    "implementation": sys.implementation.name,
    "version": "%d.%d.%d" % sys.version_info[:3],
    "free_threaded": sysconfig.get_config_var("Py_GIL_DISABLED") == 1,
    "base_prefix": sys.base_prefix,
    "sys_version": sys.version,
    "config_args": sysconfig.get_config_var("CONFIG_ARGS") or "",
    "compiler": platform.python_compiler(),
    "missing": missing,
}))
"""


class Progress:
    """Timestamped lines on the terminal: a long build must never look hung."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self._start = time.monotonic()

    def say(self, label: str, message: str) -> None:
        self._write("[%4ds] %s: %s" % (time.monotonic() - self._start, label, message))


@contextlib.contextmanager
def locked(root: Path, names: Sequence[str], progress: Progress) -> Iterator[None]:
    """One provision per prefix at a time; a second one waits, then finds the work done."""
    folder = root / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        for name in sorted(names):  # a fixed order: two pairs never deadlock
            lock = FileLock(folder / (name + ".lock"))
            try:
                lock.acquire(blocking=False)
            except Timeout:
                progress.say(name, "waiting: another provision is building it")
                lock.acquire()
            stack.callback(lock.release)
        yield


@contextlib.contextmanager
def work_dir(root: Path) -> Iterator[Path]:
    """A scratch folder beside the prefixes, removed afterwards; ones left by killed runs go too."""
    folder = root / ".build"
    sweep_dead(folder)
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="%d-" % os.getpid(), dir=folder))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sweep_dead(folder: Path) -> None:
    """Remove ``<pid>-...`` entries whose process is gone (scratch of a killed run)."""
    for entry in folder.glob("*-*"):
        pid = entry.name.split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_marker(prefix: Path) -> Optional[Dict[str, Any]]:
    try:
        return json.loads((prefix / BUILD_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def clear_prefix(prefix: Path, progress: Progress) -> None:
    """Remove what is at ``prefix``: a build stopped half-way, or one made with other options."""
    if not prefix.exists():
        return
    marker = prefix / BUILD_MARKER
    why = "replacing a build made with other options" if marker.exists() else "incomplete (no marker: stopped half-way)"
    progress.say(prefix.name, "removing %s: %s" % (prefix, why))
    marker.unlink(missing_ok=True)  # first, so a crash while removing leaves no valid-looking prefix
    shutil.rmtree(prefix)


def run_step(label: str, phase: str, cmd: List[str], cwd: Path, log: Path, progress: Progress) -> None:
    """Run ``cmd`` with its output appended to ``log``, and a progress line at least every HEARTBEAT s."""
    progress.say(label, phase)
    with open(log, "ab") as out:
        out.write(("\n$ %s\n" % shlex.join(cmd)).encode())
        out.flush()
        try:
            proc = subprocess.Popen(
                cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True
            )
        except OSError as exc:
            raise ProvisionError("%s: %s: cannot run %s: %s" % (label, phase, cmd[0], exc)) from None
        try:
            while True:
                try:
                    code = proc.wait(timeout=HEARTBEAT)
                    break
                except subprocess.TimeoutExpired:
                    progress.say(label, "%s running; last: %s" % (phase, _last_line(log)))
        except BaseException:  # Ctrl-C or a kill of ours: stop the whole build, compilers included
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    if code:
        raise ProvisionError("%s: %s failed (exit %d): %s; full log: %s" % (label, phase, code, _last_line(log), log))


def clean_env() -> Dict[str, str]:
    """The caller's environment minus what would point a new interpreter at another one's files."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}


def _last_line(log: Path, width: int = 100) -> str:
    with open(log, "rb") as fh:
        fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4096))
        lines = [line.strip() for line in fh.read().decode(errors="replace").splitlines() if line.strip()]
    last = lines[-1] if lines else "(no output yet)"
    return last if len(last) <= width else "..." + last[3 - width :]  # a compile line's end names the file


def self_check(python: Path, prefix: Path, version: str, free_threaded: bool, log: Path) -> Dict[str, Any]:
    """Run the installed interpreter: it must be the version and GIL flavour asked for, living in ``prefix``."""
    label = prefix.name
    try:
        out = subprocess.run(
            [str(python), "-I", "-c", _SELF_CHECK], capture_output=True, text=True, timeout=60, env=clean_env()
        )
        facts = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise ProvisionError("%s: self-check could not run %s: %s; see %s" % (label, python, exc, log)) from None
    problems = []
    if version and not (facts["version"] == version or facts["version"].startswith(version + ".")):
        problems.append("version %s, asked for %s" % (facts["version"], version))
    if facts["free_threaded"] != free_threaded:
        problems.append("Py_GIL_DISABLED is %s, asked for %s" % (facts["free_threaded"], free_threaded))
    if os.path.realpath(facts["base_prefix"]) != os.path.realpath(prefix):
        problems.append("sys.base_prefix is %s, not %s" % (facts["base_prefix"], prefix))
    if facts["missing"]:
        problems.append(
            "cannot import %s (install libssl-dev and zlib1g-dev, then retry)" % ", ".join(facts["missing"])
        )
    if problems:
        raise ProvisionError("%s: self-check failed: %s; see %s" % (label, "; ".join(problems), log))
    return facts
