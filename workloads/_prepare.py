"""An env's plan: the benchmarks this interpreter can run, their work sizes, a GIL timeline.

Runs inside the measured interpreter (``python -m workloads --prepare``, under each
tox bench env): availability is decided where the code runs, and work sizes are
calibrated on the interpreter that will run them.
"""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from workloads import _results
from workloads._registry import Bench, Profile, Workload, cpu_count
from workloads._schema import BenchSpec
from workloads.modes import mode_unavailable

TIMELINE_TIMEOUT = 60

CALIBRATION_TIMEOUT = 120.0
MAX_SCALE = 4096


def _calibrated_size(
    wl: Workload, size: int, min_value: float, ladder: Sequence[int], log: Callable, environ: Mapping[str, str]
) -> int:
    """``size`` scaled by a power of two until one serial value lasts long enough.

    Long enough is ``min_value`` (the layout's, see ``Layout``) × the most workers that can run at once
    (I/O workloads: the most workers), so that every parallel value of the workload
    reaches ``min_value`` too.  Timed in a subprocess with ``environ`` (a workload that
    crashes must not take the env down), second call of two so a JIT has compiled the loop.
    Sizes only grow: the declared size stays wherever it already suffices, so most
    CPython builds measure identical work.
    """
    if not min_value or wl.self_timed or "serial" not in wl.modes or wl.unavailable_reason():
        return size
    most = max(ladder) if "io" in wl.tags else min(max(ladder), cpu_count())
    target = min_value * most
    cmd = [sys.executable, "-m", "workloads._calibrate", wl.module, wl.name, str(size)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CALIBRATION_TIMEOUT, env=dict(environ))
        seconds = float(proc.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        log("calibration of %s failed; its declared size is used" % wl.name)
        return size
    if seconds >= target:
        return size
    factor = min(MAX_SCALE, 2 ** math.ceil(math.log2(target / max(seconds, 1e-9))))
    log(
        "%s: one serial value took %.1f ms; work size x%d (values >= %.0f ms)"
        % (wl.name, seconds * 1e3, factor, min_value * 1e3)
    )
    return size * factor


def plan_specs(
    registry: Dict[str, Workload],
    profile: Profile,
    benches: List[Bench],
    calibrate_in: Optional[Mapping[str, str]] = None,
    log: Callable = print,
    layout: str = "blocks",
    jit: bool = False,
) -> List[BenchSpec]:
    """The plan as records for the status file: availability included, and work sizes for
    ``layout`` (its sizing for an interpreter with a ``jit`` or without, ``Layout.sizing``)
    calibrated in processes with the environment ``calibrate_in`` (the env's benchmark
    processes' own); None keeps the declared sizes."""
    ladder = sorted({b.workers for b in benches if b.mode != "serial"} or {1})
    sizes: Dict[str, int] = {}
    specs = []
    for bench in benches:
        wl = bench.workload
        if wl.name not in sizes:
            scale, min_value = profile.layout(layout).sizing(jit)
            size = max(1, int(bench.size * scale))
            if calibrate_in is not None:
                size = _calibrated_size(wl, size, min_value, ladder, log, calibrate_in)
            sizes[wl.name] = size
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


def capture_timeline(path: str, env: str, run_id: str) -> str:
    """Record which thread runs when (workloads/_timeline.py) into ``path``; never fails the run."""
    cmd = [
        sys.executable,
        "-m",
        "workloads._timeline",
        "--threads",
        "2",
        "--seconds",
        "0.25",
        "--env",
        env,
        "--run-id",
        run_id,
        "--output",
        path,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMELINE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "timed out after %d s" % TIMELINE_TIMEOUT
    return "ok" if proc.returncode == 0 else "failed: " + _results.output_tail(proc.stderr or proc.stdout)
