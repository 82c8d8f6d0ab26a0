"""Is one forked pool worker slower than its parent at the same loop?  Without gilbench.

gilbench's ``processes,w=1`` comes out 0-7% below ``serial`` on CPython on this
project's 2-core VM, which its sanity gate flags.  This script asks the question with
none of gilbench's code: each value is its own process (as in pyperf), which either
runs countdown(N) in one fresh thread itself (``serial``) or creates a
``multiprocessing.Pool(1)`` with the interpreter's default start method and has its
worker run countdown(N) in one fresh thread (``pool``), each after ``--warmups``
warm-up values in that same thread kind.  Rounds alternate the order of the two sides
and interleave the targets; per target it prints serial / pool (geometric mean of the
per-round ratios with its 95% t interval): 1.0 when a forked worker runs like its
parent.

    python benchmarks/forked_worker.py --target 3.9=/path/python3.9 [--repeats 16] [--warmups 1]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import independent_countdown as ind  # this folder, put on the path above

CHILD = r"""
import multiprocessing, sys, threading, time

def countdown(n):
    while n > 0:
        n -= 1

def one_thread(n):
    stamps = []
    def work():
        stamps.append(time.perf_counter())
        countdown(n)
        stamps.append(time.perf_counter())
    t = threading.Thread(target=work)
    t.start()
    t.join()
    return stamps[1] - stamps[0]

if __name__ == "__main__":
    n, warmups, side = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if side == "serial":
        values = [one_thread(n) for _ in range(warmups + 1)]
    else:
        with multiprocessing.Pool(1) as pool:
            values = [pool.apply(one_thread, (n,)) for _ in range(warmups + 1)]
    print(values[-1])
"""


def value(target: ind.Target, n: int, warmups: int, side: str, script: str) -> float:
    proc = subprocess.run([target.python, script, str(n), str(warmups), side], capture_output=True, text=True,
                          env=dict(os.environ, **target.env), check=False)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{target.label}: child exited {proc.returncode}\n{proc.stderr.strip()[-2000:]}")
    return float(proc.stdout.strip().splitlines()[-1])


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", default=[], metavar="[LABEL=]PATH[,KEY=VALUE...]")
    parser.add_argument("--repeats", type=int, default=16, help="rounds (default 16)")
    parser.add_argument("--warmups", type=int, default=1, help="warm-up values per process (default 1)")
    parser.add_argument("--n", type=int, default=9_000_000, help="countdown steps (PyPy needs ~50x more)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        targets = ind.parse_targets(args.target or [sys.executable])
    except ValueError as exc:
        parser.error(str(exc))
    if args.repeats < 2 or args.warmups < 0 or args.n < 1:
        parser.error("--repeats must be >= 2, --warmups >= 0 and --n >= 1")
    rng = random.Random(args.seed)
    ratios = {t.label: [] for t in targets}
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "child.py")  # a file, not -c: spawned pool workers import __main__
        Path(script).write_text(CHILD)
        try:
            for round_ in range(args.repeats):
                order = list(targets)
                rng.shuffle(order)
                for t in order:
                    got = {side: value(t, args.n, args.warmups, side, script)
                           for side in (("serial", "pool") if round_ % 2 == 0 else ("pool", "serial"))}  # fmt: skip
                    ratios[t.label].append(got["serial"] / got["pool"])
        except (OSError, RuntimeError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    for t in targets:
        g, lo, hi = ind.geomean_interval(ratios[t.label])
        print(f"{t.label:<16} serial / pool {g:.3f} (95% CI {lo:.3f}-{hi:.3f}), {len(ratios[t.label])} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
