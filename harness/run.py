"""Orchestrate: one tox bench env per interpreter, one after another, one run-id.

Never in parallel: two benchmark processes on a 2-core machine distort each
other's timings.  Missing interpreters are skipped with a reason; an env that
fails is recorded and the others go on.  Each env's own driver skips finished
benchmarks on ``--resume``, so a resumed bench-all only does what is left.
"""

from __future__ import annotations

import collections
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness import interpreters
from workloads import _results
from workloads._driver import UsageError

TAIL_LINES = 30
STOP_GRACE = 30.0  # seconds an interrupted env gets to record where it stopped


@dataclass
class BenchAllOptions:
    root: Path
    results_dir: Path
    profile: str
    run_id: str
    resume: bool
    envs: list[str]
    forward: list[str]  # passed through to every env's `python -m workloads`


def machine_info() -> dict[str, object]:
    """Who measured: recorded in the run manifest and shown in the runs index."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "id": _results.machine_id(),
        "hostname": platform.node(),
        "cpu_model": cpu,
        "cpu_count": os.cpu_count() or 1,
        "os": platform.platform(),
        "arch": platform.machine(),
    }


def _tox_env() -> dict[str, str]:
    """Our environment minus the outer tox's, so the nested tox starts clean."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TOX_") and k != "VIRTUAL_ENV"}


def _run_env(opts: BenchAllOptions, env: str, index: int, total: int) -> tuple[int, list[str]]:
    """Run one bench env through tox, streaming its output; return (status, last lines)."""
    cmd = [sys.executable, "-m", "tox", "run", "-c", str(opts.root / "tox.ini"), "-e", env]
    if os.environ.get("TOX_WORK_DIR"):  # keep the nested envs beside the outer one
        cmd += ["--workdir", os.environ["TOX_WORK_DIR"]]
    cmd += ["--"]
    cmd += ["--profile", opts.profile, "--run-id", opts.run_id, "--results-dir", str(opts.results_dir)]
    cmd += (["--resume", opts.run_id] if opts.resume else []) + opts.forward
    child_env = _tox_env()
    child_env.update(GILBENCH_PROGRESS="env %d/%d" % (index, total), GILBENCH_RUN_ID=opts.run_id)
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    proc = subprocess.Popen(
        cmd, cwd=opts.root, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            tail.append(line.rstrip("\n"))
        return proc.wait(), list(tail)
    except BaseException:  # Ctrl-C or SIGTERM: stop the env too, so its driver saves and exits
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def bench_all(opts: BenchAllOptions) -> int:
    """Run every available bench env; write the manifest; return 0, or 1 if any env failed."""
    found = interpreters.discover()
    plan = [(env, interp, reason) for env, interp, reason in interpreters.bench_plan(found) if env in opts.envs]
    runnable = [(env, interp) for env, interp, _ in plan if interp is not None]
    run_dir = opts.results_dir / opts.run_id
    manifest_path = run_dir / _results.MANIFEST
    manifest = {
        "format": "gilbench-run/1",
        "run_id": opts.run_id,
        "profile": opts.profile,
        "machine": machine_info(),
        "started": _results.utc_now(),
        "envs": {
            env: {"status": "planned", "interpreter": interp.path}
            if interp
            else {"status": "skipped", "reason": reason}
            for env, interp, reason in plan
        },
    }
    if opts.resume and manifest_path.exists():
        previous = _results.read_json(str(manifest_path))
        manifest["started"] = previous.get("started", manifest["started"])
    for env, _interp, reason in plan:
        if reason:
            print("skip %-18s %s" % (env, reason))
    if not runnable:
        raise UsageError(
            "no interpreter found for any of %s; run `python -m harness interpreters` to see what was found"
            % ", ".join(opts.envs)
        )
    _results.atomic_write_json(str(manifest_path), manifest)
    started = time.monotonic()
    failed = 0
    for index, (env, interp) in enumerate(runnable, start=1):
        print("\n=== [env %d/%d] %s on %s (elapsed %.0fs)" % (index, len(runnable), env, interp.path,
                                                            time.monotonic() - started), flush=True)  # fmt: skip
        code, tail = _run_env(opts, env, index, len(runnable))
        status_file = run_dir / (env + _results.STATUS_SUFFIX)
        entry = manifest["envs"][env]
        if code == 0:
            entry["status"] = "ok"
        elif status_file.exists():
            entry.update(status="some benchmarks failed", exit_code=code)
        else:
            entry.update(status="failed", exit_code=code, reason="\n".join(tail))
        failed += code != 0
        manifest["updated"] = _results.utc_now()
        _results.atomic_write_json(str(manifest_path), manifest)
        if code in (130, -2):  # the user pressed Ctrl-C: stop here, keep what is measured
            raise KeyboardInterrupt
    manifest["finished"] = _results.utc_now()
    manifest["seconds"] = round(time.monotonic() - started, 1)
    _results.atomic_write_json(str(manifest_path), manifest)
    print(
        "\nbench-all: %d env(s) run in %.0f s, %d with failures" % (len(runnable), time.monotonic() - started, failed)
    )
    return 1 if failed else 0
