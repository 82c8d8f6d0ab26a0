"""Bench env interpreters driven directly, outside bench-all: what the validation checks
and the self-measurement tools (``validation/``, ``tools/``) share.

A target is a bench env's interpreter (gilbench installed in it) with a label and extra
environment variables (``workloads.host.Target``), given on their command lines as
``LABEL=PYTHON[,KEY=VALUE...]``; ``prepare`` gets its calibrated plan from its own driver,
and ``run_block`` runs one benchmark process exactly as bench-all does and reads its
values back.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence

from workloads.host import BenchSpec, InterpreterFacts, Profile, RunOptions, Target, driver_command, read_json


@dataclass
class Prepared:
    """A target's plan: its benchmarks, the warm-ups its profile gives it, whether it has a
    JIT, and whether it runs without a GIL (a free-threaded build that did not turn it back on)."""

    specs: List[BenchSpec]
    warmups: int
    jit: bool
    free_threaded: bool = False


def parse_target(text: str) -> Target:
    """``LABEL=PYTHON[,KEY=VALUE...]`` -> Target (PYTHON made absolute, not resolved: a venv's
    python must stay one); ValueError naming the malformed part."""
    head, *extra = text.split(",")
    label, sep, python = head.partition("=")
    if not sep or not label or not python:
        raise ValueError("--target %r: expected LABEL=PYTHON[,KEY=VALUE...]" % text)
    env = {}
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError("--target %r: %r is not KEY=VALUE" % (text, item))
        env[key] = value
    return Target(label, os.path.abspath(python), env)


def describe(target: Target) -> Dict[str, object]:
    """A target as the tools' JSON records it: its label, interpreter and extra variables."""
    return {"label": target.env, "python": target.python, "env": dict(target.extra)}


def prepare(
    target: Target,
    workloads: Sequence[str],
    workers: Sequence[int],
    profile: Profile,
    folder: Path,
    layout: str = "blocks",
    suites: Sequence[str] = (),
) -> Prepared:
    """The target's plan for ``workloads``, calibrated by its own driver (``--prepare``,
    exactly as bench-all prepares an env): the benchmarks it can run, with their sizes."""
    options = RunOptions(
        profile,
        "tool",
        str(folder),
        seed=0,
        layout=layout,
        workloads=tuple(workloads),
        suites=tuple(suites),
        workers=tuple(workers),
    )
    cmd = driver_command(target.python, options, target.env, timeline=False)
    proc = subprocess.run(cmd, cwd=target.cwd, env=target.environ, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("%s: preparing failed\n%s" % (target.env, (proc.stdout + proc.stderr)[-2000:]))
    status = read_json(options.files(target.env).status)
    specs = [s for s in map(BenchSpec.from_json, status["plan"]) if not s.unavailable]
    facts = InterpreterFacts.from_json(status["interpreter"])
    return Prepared(
        specs, int(status["warmups"]), facts.jit == "on", facts.free_threaded_build and not facts.gil_enabled
    )


def run_block(target: Target, specs: Sequence[BenchSpec], command: List[str], part: str) -> Dict[str, dict]:
    """Run one benchmark process (``command``, from ``workloads.host.worker_command``) and
    read its pyperf file back: benchmark name -> {"values": [...], "warmups": [...], "wall": s}."""
    started = time.monotonic()
    proc = subprocess.run(
        command, cwd=os.path.dirname(part), env=target.environ, capture_output=True, text=True, check=False
    )
    return read_block(target, proc.returncode, proc.stdout + proc.stderr, part, time.monotonic() - started)


def read_block(target: Target, returncode: int, output: str, part: str, wall: float) -> Dict[str, dict]:
    """A finished benchmark process's pyperf file ``part``, read and removed, as ``run_block``
    returns it; a RuntimeError with the end of its ``output`` where it failed.  Apart from
    ``run_block`` for a tool that starts its processes itself (``tools/duet.py`` runs two at once)."""
    if returncode != 0 or not os.path.exists(part):
        raise RuntimeError("%s: benchmark process exited %d\n%s" % (target.env, returncode, output[-2000:]))
    with open(part, encoding="utf-8") as fh:
        suite = json.load(fh)
    os.unlink(part)
    out = {}
    for bench in suite["benchmarks"]:
        run = bench["runs"][0]
        # pyperf keeps the metadata every benchmark shares at the suite's level: a
        # one-benchmark file has its name there
        name = {**suite.get("metadata", {}), **run.get("metadata", {}), **bench.get("metadata", {})}["name"]
        out[name] = {"values": run["values"], "warmups": [w[1] for w in run.get("warmups", [])], "wall": wall}
    return out
