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

With ``--gilbench`` each round also runs gilbench's own ``countdown[serial]`` and
``countdown[processes,w=1]`` worker processes (bench-all's command line,
``workloads._driver.worker_command``, profile ``default``), at the same N and in the
same shuffled order, and prints their serial / pool beside the plain script's, paired
by round: a gap between the two is gilbench's path, not forking.

    python benchmarks/forked_worker.py --target 3.9=/path/python3.9 [--repeats 16] [--warmups 1] \\
        [--gilbench] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import independent_countdown as ind  # this folder, put on the path above
import interleaved_check as ic  # puts gilbench on the path too

GILBENCH_SIDES = {  # side -> the gilbench benchmark that times it
    "serial": ("countdown[serial]", "serial", 1),
    "pool": ("countdown[processes,w=1]", "processes", 1),
}

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


def summarize(rounds: Sequence[Dict[str, float]]) -> Dict[str, Dict[str, object]]:
    """serial / pool per method (``plain``; ``gilbench`` when measured), and gilbench's
    over the plain script's, each a geometric mean of per-round ratios with its 95% interval."""
    ratios = {m: [r[m + "_serial"] / r[m + "_pool"] for r in rounds] for m in ("plain", "gilbench")
              if m + "_serial" in rounds[0]}  # fmt: skip
    out = {m: ic.geomean(values) for m, values in ratios.items()}
    if "gilbench" in ratios:
        out["gilbench_over_plain"] = ic.geomean([g / p for g, p in zip(ratios["gilbench"], ratios["plain"])])
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", default=[], metavar="[LABEL=]PATH[,KEY=VALUE...]")
    parser.add_argument("--repeats", type=int, default=16, help="rounds (default 16)")
    parser.add_argument("--warmups", type=int, default=1, help="warm-up values per process (default 1)")
    parser.add_argument(
        "--n", type=int, default=0, help="countdown steps (default: calibrated per target, as interleaved_check does)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--gilbench",
        action="store_true",
        help="also time gilbench's countdown[serial] and countdown[processes,w=1] worker processes",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every value and the summaries here")
    args = parser.parse_args(argv)
    try:
        targets = ic.bench_targets(args.target or [sys.executable])
    except ValueError as exc:
        parser.error(str(exc))
    if args.repeats < 2 or args.warmups < 0 or args.n < 0:
        parser.error("--repeats must be >= 2, --warmups >= 0 and --n >= 0")
    rng = random.Random(args.seed)
    raw: Dict[str, List[Dict[str, float]]] = {t.label: [] for t in targets}
    methods = ("plain", "gilbench") if args.gilbench else ("plain",)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "child.py")  # a file, not -c: spawned pool workers import __main__
        Path(script).write_text(CHILD)
        try:
            n_of = {t.label: args.n for t in targets} if args.n else ic.calibrated_steps(targets, tmp)
            for round_ in range(args.repeats):
                order = list(targets)
                rng.shuffle(order)
                for t in order:
                    jobs = [(m, side) for m in methods for side in ("serial", "pool")]
                    rng.shuffle(jobs)
                    got = {}
                    for method, side in jobs:
                        got[method + "_" + side] = (
                            value(t, n_of[t.label], args.warmups, side, script) if method == "plain"
                            else ic.gilbench_value(t, GILBENCH_SIDES[side], n_of[t.label], round_, tmp))  # fmt: skip
                    raw[t.label].append(got)
                print(f"round {round_ + 1}/{args.repeats} done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    summaries = {t.label: summarize(raw[t.label]) for t in targets}
    for t in targets:
        cells = ["%s %s" % (name.replace("_", " "), ic._ci(s)) for name, s in summaries[t.label].items()]
        print(f"{t.label:<16} serial / pool, {args.repeats} rounds: " + "; ".join(cells))
    if args.json:
        config = {"repeats": args.repeats, "seed": args.seed, "warmups": args.warmups,
                  "wall_s": time.monotonic() - started}  # fmt: skip
        ic.write_json(args.json, config, targets, n_of, summaries, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
