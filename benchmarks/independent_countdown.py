"""An independent check of gilbench's countdown speedups: plain perf_counter, fresh threads.

gilbench publishes speedups such as T(countdown, 1 thread) / T(countdown split over 2
threads) per interpreter.  This script measures the same quantity a second way that
shares no code with gilbench's measurement path: no pyperf, no ``workloads`` or
``harness`` imports, its own countdown, its own statistics (standard library only).  If
the two disagree beyond noise, one of them is wrong.

How it measures, per interpreter ("target"):

* a child process runs a small self-contained script (``CHILD`` below, Python 3.9
  syntax, standard library only) with ``python -c``;
* countdown is Beazley's ``while n > 0: n -= 1``, defined in that script;
* (a) countdown(N) in ONE fresh ``threading.Thread``; (b) countdown(N/2) in each of
  TWO fresh threads.  Both sides use the same recipe: the workers and the main thread
  meet at a ``threading.Barrier``; each worker reads ``time.perf_counter()`` right
  after the barrier releases it and right after its loop; the makespan is the last
  end minus the first start.  (The stamps are taken by the workers, not by the main
  thread, so that under a GIL the main thread's wait for the lock cannot shift them.)
* a and b alternate in ABBA order (a,b then b,a ...) after 2 warm-up pairs per child;
  or, with ``--process-per-value``, each value has a child of its own (warm-up values,
  then one timed value), a's and b's children adjacent in time, as pyperf gives each
  value a worker process of its own (``benchmarks/interleaved_check.py`` uses this
  child to check gilbench in the same time window);
* N is calibrated once per target, in its first child: start at 2,000,000 and double
  until (a) takes >= 0.15 s, so (a) takes roughly 0.15-0.3 s (N grows large on PyPy).
  Later children of that target reuse the same N;
* the parent interleaves targets: R repeats are split into rounds of
  ``--pairs-per-child`` pairs; each round starts one child per target, in an order
  shuffled from ``--seed``, so slow drift of the machine hits every target alike.

Per target it prints N, the median of a (ms), the median of the per-pair ratios a/b
(the speedup: about 2 for two free-running cores, about 1 under a GIL) with a 95%
distribution-free interval from order statistics (binomial ranks), and the geometric
mean ratio with a 95% Student's t interval on the log-ratios: the statistic gilbench
publishes, so the one to set beside it.

    python benchmarks/independent_countdown.py \\
        --target 3.9=/root/.pyenv/versions/3.9.18/bin/python3.9 \\
        --target 3.13=/root/.cache/gilbench/pythons/cpython-3.13.5/bin/python3.13 \\
        --target 3.13t=/root/.cache/gilbench/pythons/cpython-3.13.5t/bin/python3.13t \\
        --target 3.13t-gil=/root/.cache/gilbench/pythons/cpython-3.13.5t/bin/python3.13t,PYTHON_GIL=1 \\
        --target pypy=/usr/bin/pypy3 \\
        [--repeats 21] [--pairs-per-child 3] [--seed 0] [--json out.json]

A target is ``[LABEL=]PATH[,KEY=VALUE...]``: the KEY=VALUE parts are set in the child's
environment; without a label one is derived from the file name (plus the variables).
``--python PATH`` is a shorthand for ``--target PATH``.  With no target at all the
interpreter running this script is measured.  The parent needs Python 3.9+ and nothing
outside the standard library; the children need Python 3.9+ (or PyPy 3.9+).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any, Dict, List, Optional, Sequence, Tuple

# The child: Python 3.9 syntax, standard library only.  argv: N (0 = calibrate), pairs, warm-up pairs,
# and optionally a side ("a"/"b": time that side alone), modules to import first (comma-separated) and
# flags (comma-separated): "random", every worker thread first holds a random set of objects and runs
# under a random call depth; "warm", the CPU spins for 0.1 s before anything is timed.
CHILD = r'''
import json
import random
import sys
import threading
import time


def countdown(n):
    while n > 0:
        n -= 1


RANDOM_LAYOUT = False  # argv[6] == "random": each worker thread runs in a layout of its own
_rng = random.SystemRandom()


def deeper(levels, fn):
    """fn() under `levels` extra frames, each entered from C (sorted's key call)."""
    if levels == 0:
        return fn()
    return sorted([0], key=lambda _: deeper(levels - 1, fn))


def makespan(n_each, workers):
    """Run countdown(n_each) in `workers` fresh threads started together; last end - first start."""
    barrier = threading.Barrier(workers + 1)
    starts = [0.0] * workers
    ends = [0.0] * workers

    def timed(i):
        barrier.wait()
        starts[i] = time.perf_counter()
        countdown(n_each)
        ends[i] = time.perf_counter()

    def work(i):
        if not RANDOM_LAYOUT:
            return timed(i)
        held = [bytearray(_rng.randint(0, 500)) for _ in range(_rng.randint(0, 300))]
        deeper(_rng.randint(0, 10), lambda: timed(i))
        return len(held)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join()
    return max(ends) - min(starts)


def pair(n, b_first):
    """(a, b): countdown(n) in one thread, countdown(n // 2) in each of two."""
    if b_first:
        b = makespan(n // 2, 2)
        a = makespan(n, 1)
    else:
        a = makespan(n, 1)
        b = makespan(n // 2, 2)
    return a, b


def one_side(n, side):
    """Side "a" (one thread, countdown(n)) or "b" (two threads, countdown(n // 2) each)."""
    return makespan(n, 1) if side == "a" else makespan(n // 2, 2)


def main():
    n, pairs, warmups = (int(x) for x in sys.argv[1:4])
    side = sys.argv[4] if len(sys.argv) > 4 else ""  # "a" or "b": this child times one side only
    for module in (sys.argv[5] if len(sys.argv) > 5 else "").split(","):
        if module:  # the same loop in a process that imported more: a test of incidental process state
            __import__(module)
    global RANDOM_LAYOUT
    flags = (sys.argv[6] if len(sys.argv) > 6 else "").split(",")
    RANDOM_LAYOUT = "random" in flags
    if "warm" in flags:  # keep the CPU busy for 0.1 s first: a vCPU that just woke runs slower
        end = time.perf_counter() + 0.1
        while time.perf_counter() < end:
            pass
    calibration = []
    if n <= 0:
        n = 2000000
        while True:
            a = makespan(n, 1)
            calibration.append([n, a])
            if a >= 0.15:
                break
            n *= 2
    if side:
        for i in range(warmups):
            one_side(n, side)
        measured = [one_side(n, side) for i in range(pairs)]
    else:
        for i in range(warmups):
            pair(n, i % 2 == 1)
        measured = [list(pair(n, i % 2 == 1)) for i in range(pairs)]
    gil = getattr(sys, "_is_gil_enabled", None)
    print(json.dumps({
        "n": n,
        "pairs" if not side else "values": measured,
        "calibration": calibration,
        "implementation": sys.implementation.name,
        "version": sys.version.split()[0],
        "gil_enabled": gil() if gil is not None else True,
    }))


main()
'''

CALIBRATE = 0  # N passed to the first child of a target: calibrate there


@dataclass
class Target:
    label: str
    python: str
    env: Dict[str, str] = field(default_factory=dict)


def parse_target(spec: str) -> Target:
    """``[LABEL=]PATH[,KEY=VALUE...]`` -> Target; ValueError when malformed.

    The part before the first comma is the interpreter, optionally ``LABEL=`` in front;
    every later comma-separated part must be ``KEY=VALUE`` (an environment variable for
    the child).  A missing label is the file name plus the variables, e.g.
    ``python3.13t+PYTHON_GIL=1``.
    """
    head, *rest = spec.split(",")
    label, sep, python = head.partition("=")
    if not sep:
        label, python = "", head
    label, python = label.strip(), python.strip()
    if not python:
        raise ValueError(f"no interpreter path in target {spec!r}")
    if sep and not label:
        raise ValueError(f"empty label in target {spec!r}")
    env: Dict[str, str] = {}
    for part in rest:
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ValueError(f"expected KEY=VALUE after the path in target {spec!r}, got {part!r}")
        env[key] = value.strip()
    if not label:
        label = "+".join([Path(python).name] + [f"{k}={v}" for k, v in env.items()])
    return Target(label=label, python=python, env=env)


def parse_targets(specs: Sequence[str]) -> List[Target]:
    """Parse every spec; ValueError on a repeated label."""
    targets = [parse_target(s) for s in specs]
    seen: Dict[str, Target] = {}
    for t in targets:
        if t.label in seen:
            raise ValueError(f"label {t.label!r} given twice: name the targets with LABEL=PATH")
        seen[t.label] = t
    return targets


def schedule(repeats: int, pairs_per_child: int) -> List[int]:
    """Pairs per round: ``repeats`` pairs in all, ``pairs_per_child`` per child, the last round shorter."""
    if repeats < 1 or pairs_per_child < 1:
        raise ValueError("repeats and pairs per child must be >= 1")
    full, rest = divmod(repeats, pairs_per_child)
    return [pairs_per_child] * full + ([rest] if rest else [])


def median(values: Sequence[float]) -> float:
    """The sample median (mean of the middle two for an even count)."""
    if not values:
        raise ValueError("median of no values")
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def median_ranks(n: int, confidence: float = 0.95) -> Optional[Tuple[int, int]]:
    """1-based ranks (l, n + 1 - l) with P(X_(l) <= true median <= X_(n+1-l)) >= confidence, or None.

    With B ~ Binomial(n, 1/2) the number of values below the true median, the interval
    misses it iff B <= l - 1 or B >= n + 1 - l, so its coverage is 1 - 2 P(B <= l - 1),
    exact for continuous data.  The widest l still reaching ``confidence`` is taken (the
    narrowest valid interval).  The binomial tail is an exact integer sum (math.comb);
    only the final comparison with alpha is in floating point, with a tiny tolerance.
    None when even [min, max] is short of ``confidence`` (n < 6 at 95%).
    """
    if n < 1 or not 0.0 < confidence < 1.0:
        return None
    alpha = 1.0 - confidence
    total = 2**n
    best = 0
    tail = 0  # sum of C(n, i) for i < l, i.e. 2^n P(B <= l - 1)
    for l_rank in range(1, (n + 1) // 2 + 1):
        tail += math.comb(n, l_rank - 1)
        if 2 * tail <= alpha * total * (1 + 1e-12):
            best = l_rank
        else:
            break
    if best == 0:
        return None
    return best, n + 1 - best


def median_interval(values: Sequence[float], confidence: float = 0.95) -> Tuple[float, float, float]:
    """(median, lo, hi) with a distribution-free interval; lo/hi are NaN when n is too small."""
    s = sorted(values)
    ranks = median_ranks(len(s), confidence)
    if ranks is None:
        return median(s), math.nan, math.nan
    return median(s), s[ranks[0] - 1], s[ranks[1] - 1]


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile by the Cornish-Fisher expansion around the normal one.

    Standard library only; within 0.1% of the exact value at p = 0.975 for df >= 10,
    which is all this script needs (it has dozens of pairs or more).
    """
    z = NormalDist().inv_cdf(p)
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))  # fmt: skip


def geomean_interval(ratios: Sequence[float], confidence: float = 0.95) -> Tuple[float, float, float]:
    """(geometric mean, lo, hi): Student's t on the log-ratios, as gilbench's paired intervals."""
    logs = [math.log(r) for r in ratios]
    mean = sum(logs) / len(logs)
    if len(logs) < 2:
        return math.exp(mean), math.nan, math.nan
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    hw = t_quantile(0.5 + confidence / 2, len(logs) - 1) * sd / math.sqrt(len(logs))
    return math.exp(mean), math.exp(mean - hw), math.exp(mean + hw)


def summarize(n: int, pairs: Sequence[Sequence[float]]) -> Dict[str, Any]:
    """Summary of one target's (a, b) pairs, in seconds; ratios are a / b."""
    a = [p[0] for p in pairs]
    ratios = [p[0] / p[1] for p in pairs]
    med, lo, hi = median_interval(ratios)
    gmean, glo, ghi = geomean_interval(ratios)
    return {
        "n": n,
        "pairs": len(pairs),
        "median_a_ms": median(a) * 1e3,
        "median_b_ms": median([p[1] for p in pairs]) * 1e3,
        "median_ratio": med,
        "ratio_ci95": None if math.isnan(lo) else [lo, hi],  # None: too few pairs for 95%
        "geomean_ratio": gmean,
        "geomean_ci95": None if math.isnan(glo) else [glo, ghi],
    }


def run_child(
    target: Target,
    n: int,
    pairs: int,
    warmups: int,
    cwd: str,
    side: str = "",
    preimport: Sequence[str] = (),
    random_layout: bool = False,
    warm: bool = False,
) -> Dict[str, Any]:
    """One child process: ``pairs`` (a, b) pairs, or with ``side`` ("a"/"b") that many values of one side.

    ``preimport``: modules the child imports before it measures anything.  ``random_layout``:
    each timed thread first allocates and holds a random set of objects and runs its loop
    under a random number of extra frames, so that where its frames and objects land, which
    moves a pure-Python loop by several percent, varies from value to value.  ``warm``: the
    child keeps the CPU busy for 0.1 s before its warm-ups (a vCPU that just woke runs slower).
    """
    env = dict(os.environ)
    env.update(target.env)
    proc = subprocess.run(
        [target.python, "-c", CHILD, str(n), str(pairs), str(warmups), side, ",".join(preimport),
         ",".join(flag for flag, on in (("random", random_layout), ("warm", warm)) if on)],
        capture_output=True, text=True, env=env, cwd=cwd, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{target.label}: child exited {proc.returncode}\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(
    target: Target,
    n_of: Dict[str, int],
    info: Dict[str, Dict[str, Any]],
    pairs: int,
    warmups: int,
    cwd: str,
    per_value: bool,
    round_: int,
) -> List[Tuple[float, float]]:
    """This round's (a, b) pairs of one target; records its N and interpreter facts.

    ``per_value``: one child times ``a``, the next ``b`` (order alternating by round,
    ``a`` first in round 0 so that it calibrates N), each after its own warm-up values.
    """
    if per_value:
        sides = "ab" if round_ % 2 == 0 else "ba"
        values: Dict[str, float] = {}
        for side in sides:
            out = _record(target, n_of, info, run_child(target, n_of[target.label], 1, warmups, cwd, side))
            values[side] = out["values"][0]
        return [(values["a"], values["b"])]
    out = _record(target, n_of, info, run_child(target, n_of[target.label], pairs, warmups, cwd))
    return [(a, b) for a, b in out["pairs"]]


def _record(
    target: Target, n_of: Dict[str, int], info: Dict[str, Dict[str, Any]], out: Dict[str, Any]
) -> Dict[str, Any]:
    n_of[target.label] = out["n"]
    info.setdefault(target.label, {k: out[k] for k in ("implementation", "version", "gil_enabled")})
    if out["calibration"]:
        info[target.label]["calibration"] = out["calibration"]
    return out


def format_table(targets: Sequence[Target], summaries: Dict[str, Dict[str, Any]], info: Dict[str, Any]) -> str:
    header = f"{'target':<20} {'impl':<15} {'GIL':>3} {'N':>12} {'pairs':>5} {'a ms':>8} {'b ms':>8} " \
             f"{'median a/b':>10} {'95% CI':>15} {'geomean':>8} {'95% CI':>15}"  # fmt: skip
    lines = [header, "-" * len(header)]
    for t in targets:
        s, i = summaries[t.label], info[t.label]
        ci, gci = ("too few pairs" if c is None else "[{:.3f}, {:.3f}]".format(*c)
                   for c in (s["ratio_ci95"], s["geomean_ci95"]))  # fmt: skip
        impl = f"{i['implementation']} {i['version']}"
        gil = "on" if i["gil_enabled"] else "off"
        lines.append(
            f"{t.label:<20} {impl:<15} {gil:>3} {s['n']:>12,} {s['pairs']:>5} {s['median_a_ms']:>8.1f} "
            f"{s['median_b_ms']:>8.1f} {s['median_ratio']:>10.3f} {ci:>15} {s['geomean_ratio']:>8.3f} {gci:>15}"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", action="append", default=[], metavar="[LABEL=]PATH[,KEY=VALUE...]",
                        help="interpreter to measure, optional label and child environment (repeatable)")  # fmt: skip
    parser.add_argument("--python", action="append", default=[], metavar="PATH",
                        help="shorthand for --target PATH (repeatable)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=21, help="measured (a, b) pairs per target (default 21)")
    parser.add_argument("--pairs-per-child", type=int, default=3, help="pairs per child process (default 3)")
    parser.add_argument("--warmups", type=int, default=2, help="warm-up pairs (or values) per child (default 2)")
    parser.add_argument("--process-per-value", action="store_true",
                        help="time each value in its own child, a and b in adjacent children, as pyperf "
                             "times each value in its own worker process (--pairs-per-child is then 1)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed for the target order in each round")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write raw pairs and summaries here")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    specs = list(args.target) + list(args.python)
    try:
        targets = parse_targets(specs or [sys.executable])
        rounds = schedule(args.repeats, 1 if args.process_per_value else args.pairs_per_child)
    except ValueError as exc:
        parser.error(str(exc))
    rng = random.Random(args.seed)
    n_of: Dict[str, int] = {t.label: CALIBRATE for t in targets}
    raw: Dict[str, List[Dict[str, Any]]] = {t.label: [] for t in targets}
    info: Dict[str, Dict[str, Any]] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as cwd:
        for round_, pairs in enumerate(rounds):
            order = list(targets)
            rng.shuffle(order)
            for t in order:
                try:
                    pairs_out = measure(t, n_of, info, pairs, args.warmups, cwd, args.process_per_value, round_)
                except (OSError, RuntimeError, ValueError) as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 1
                raw[t.label].extend({"round": round_, "a": a, "b": b} for a, b in pairs_out)
            print(f"round {round_ + 1}/{len(rounds)} done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    summaries = {t.label: summarize(n_of[t.label], [(p["a"], p["b"]) for p in raw[t.label]]) for t in targets}
    print(format_table(targets, summaries, info))
    if args.json:
        document = {
            "config": {"repeats": args.repeats, "pairs_per_child": args.pairs_per_child, "warmups": args.warmups,
                       "process_per_value": args.process_per_value,
                       "seed": args.seed, "cpu_count": os.cpu_count(), "wall_s": time.monotonic() - started},
            "targets": [{"label": t.label, "python": t.python, "env": t.env, **info[t.label],
                         "summary": summaries[t.label], "pairs": raw[t.label]} for t in targets],
        }  # fmt: skip
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
