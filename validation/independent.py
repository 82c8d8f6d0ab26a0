"""An independent measurement of a two-thread speedup: plain ``perf_counter``, fresh threads.

gilbench publishes speedups such as T(work in one thread) / T(the same work split over
two threads).  This module measures the same quantity a second way that shares no code
with gilbench's measurement path: no pyperf, no ``workloads`` or ``harness`` imports,
its own workloads, its own timing and its own statistics (standard library only), so
that if the two disagree beyond noise, one of them is wrong.

A child process runs ``CHILD`` with ``python -c``.  For a workload and a work size N it
times side a (N units in one fresh thread) and side b (N split into two halves, one per
fresh thread), each side's threads released together by a barrier and stamping their
own start and end (makespan: last end minus first start).  Before anything is timed it
keeps the CPU busy for 0.1 s (a vCPU that has just woken runs a loop up to 10% slower on
the VMs this was written on), then one warm-up pair, then ``pairs`` pairs in ABBA order.
The units are defined as gilbench defines them (the docs' workload catalogue), written
here from that definition:

* ``countdown``: one step of ``while n > 0: n -= 1``;
* ``fib``: one evaluation of the recursive Fibonacci of 20;
* ``object_creation``: one instance of a class with three attributes set in ``__init__``;
* ``sha256_large``: one SHA-256 digest of 1 MiB (hashlib releases the GIL), chained.

A workload given as ``MODULE:NAME`` (``workloads.scaling:shared_attr_read``) is a kernel of
gilbench's own, for the checks of the kernels themselves (``validation/scaling_check.py``):
the child imports that module, which declares the kernel, and takes the function and its
shared-state factory from the declaration (``workloads.declared``), calling the factory
once per side, outside the clock, as gilbench builds shared state once per value.  Nothing
of gilbench's measuring code is imported: the child exits with an error if pyperf or a
module of the measuring path turns up in ``sys.modules``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from statistics import NormalDist
from typing import Dict, List, Sequence, Tuple

WORKLOADS = ("countdown", "fib", "object_creation", "sha256_large")

# Python 3.9 syntax, standard library only.  argv: workload, N, pairs, warm-up pairs.
CHILD = r"""
import hashlib, importlib, json, sys, threading, time

def countdown(n):
    while n > 0:
        n -= 1

def _fib(k):
    return k if k < 2 else _fib(k - 1) + _fib(k - 2)

def fib(n):
    return sum(_fib(20) for _ in range(n))

class Point:
    def __init__(self, x, y, z):
        self.x = x
        self.y = y
        self.z = z

def object_creation(n):
    p = None
    for i in range(n):
        p = Point(i, i, i)
    return p

MIB = bytes(range(256)) * 4096

def sha256_large(n):
    chain = hashlib.sha256()
    for _ in range(n):
        chain.update(hashlib.sha256(MIB).digest())
    return chain.digest()

MEASURING = ("pyperf", "workloads.modes", "workloads._runner", "workloads._scheduler", "workloads._store")

def load(spec):
    if ":" not in spec:
        return globals()[spec], None
    module, name = spec.split(":")
    importlib.import_module(module)
    from workloads import declared
    declaration = declared(name)
    return declaration.func, declaration.shared

def makespan(work, sizes):
    barrier = threading.Barrier(len(sizes) + 1)
    stamps = [None] * len(sizes)
    shared = factory() if factory else None
    def run(i):
        barrier.wait()
        t0 = time.perf_counter()
        if factory:
            work(sizes[i], shared)
        else:
            work(sizes[i])
        stamps[i] = (t0, time.perf_counter())
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(sizes))]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join()
    return max(e for _, e in stamps) - min(s for s, _ in stamps)

work, factory = load(sys.argv[1])
if any(m in sys.modules for m in MEASURING):
    sys.exit("gilbench's measuring code was imported: %s" % [m for m in MEASURING if m in sys.modules])
n, pairs, warmups = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
halves = [n - n // 2, n // 2]
end = time.perf_counter() + 0.1
while time.perf_counter() < end:
    pass
out = []
for i in range(warmups + pairs):
    first_b = i % 2 == 1
    b = makespan(work, halves) if first_b else None
    a = makespan(work, [n])
    if not first_b:
        b = makespan(work, halves)
    if i >= warmups:
        out.append([a, b])
print(json.dumps(out))
"""


def run_child(
    python: str, env: Dict[str, str], workload: str, n: int, pairs: int, warmups: int = 1, cwd: str = "/"
) -> List[Tuple[float, float]]:
    """``pairs`` (a, b) pairs of ``workload`` (one of ``WORKLOADS``, or ``MODULE:NAME``) at
    size ``n`` from one child of ``python``."""
    if workload not in WORKLOADS and ":" not in workload:
        raise ValueError("no independent version of %r; there are: %s" % (workload, ", ".join(WORKLOADS)))
    proc = subprocess.run(
        [python, "-c", CHILD, workload, str(n), str(pairs), str(warmups)],
        cwd=cwd,
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError("independent child on %s exited %d: %s" % (python, proc.returncode, proc.stderr[-2000:]))
    return [(float(a), float(b)) for a, b in json.loads(proc.stdout)]


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile by the Cornish-Fisher expansion around the normal one
    (standard library only; within 0.5% of the exact value at p = 0.975 for df >= 5)."""
    z = NormalDist().inv_cdf(p)
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def geomean_interval(ratios: Sequence[float], confidence: float = 0.95) -> Tuple[float, float, float]:
    """(geometric mean, lo, hi): Student's t on the log-ratios."""
    logs = [math.log(r) for r in ratios]
    mean = sum(logs) / len(logs)
    if len(logs) < 2:
        return math.exp(mean), math.nan, math.nan
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    hw = t_quantile(0.5 + confidence / 2, len(logs) - 1) * sd / math.sqrt(len(logs))
    return math.exp(mean), math.exp(mean - hw), math.exp(mean + hw)
