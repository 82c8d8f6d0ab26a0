"""gilbench's countdown speedup and an independent measurement of it, interleaved in time.

Why this exists: on a shared VM the quantity itself drifts.  Measured the same way
(fresh processes, plain ``perf_counter``), CPython 3.9's countdown a/b ratio on this
project's 2-core VM was 1.12 at one time and 0.99 fifteen minutes later, each with
a few percent of interval.  A gilbench run and an independent measurement made one
after the other can therefore differ by 10% with neither of them wrong.  Compared
fairly, the two methods take turns within every round and the comparison is paired
by round, as gilbench pairs its own ratios.

Per round and per target (targets in an order shuffled from ``--seed``), four
processes run in a shuffled order, each timing one value after its warm-up values:

* gilbench: ``countdown[serial]`` and ``countdown[threads,w=2]``, each one pyperf
  worker process started with exactly the command bench-all starts
  (``workloads._driver.worker_command``) and read back from its pyperf file;
* independent: ``benchmarks/independent_countdown.py``'s child, side ``a`` (one fresh
  thread) and side ``b`` (two fresh threads), which shares no code with gilbench.

With ``--random-layout`` another pair runs the independent child with every timed thread in
a random memory layout, written independently of gilbench's (``_stamps``) but to the same
end: a fixed layout biases a loop by several percent, the same in every process.

With ``--preimport MODULES`` a third pair of processes runs the independent child again,
after it has imported those modules (and called nothing in them).  On this VM that alone
moves countdown's one-thread time by up to 10% on some builds: the speed of a pure-Python
loop depends on incidental process state, so a tiny ``-c`` child and pyperf's worker
process are not the same experiment (see benchmarks/results/README.md).

Every method uses the same N (countdown steps), calibrated once per target by the
independent child.  Per target it prints each method's speedup (geometric mean of the per-round
ratios, with its 95% t interval) and gilbench / independent with its paired interval:
the bias of gilbench's path, if there is one.

    python benchmarks/interleaved_check.py --repeats 60 \\
        --target 3.9=.tox/bench-py39/bin/python \\
        --target 3.13t-gil=.tox/bench-py313t-gil/bin/python,PYTHON_GIL=1 ... \\
        [--preimport pyperf,workloads._runner] [--json out.json]

A target is ``LABEL=PYTHON[,KEY=VALUE...]`` where PYTHON is a bench env's interpreter
(gilbench must be installed in it; the independent child needs nothing).
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
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))  # independent_countdown
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # gilbench

import independent_countdown as ind  # this folder, put on the path above

from workloads._driver import worker_command, worker_environ
from workloads._registry import PROFILES
from workloads._schema import BenchSpec

METHODS = {"g": "gilbench", "i": "independent", "p": "independent, pre-imported", "r": "independent, random layout",
           "w": "independent, warm"}  # fmt: skip
SIDES = {  # side -> the gilbench benchmark that times it
    "a": ("countdown[serial]", "serial", 1),
    "b": ("countdown[threads,w=2]", "threads", 2),
}


def gilbench_value(target: ind.Target, side: Tuple[str, str, int], n: int, round_: int, cwd: str) -> float:
    """One value of countdown through bench-all's own worker process; ``side`` is the
    benchmark's (name, mode, workers), e.g. ``SIDES["a"]``."""
    name, mode, workers = side
    spec = BenchSpec(name=name, workload="countdown", module="workloads.cpu", mode=mode, workers=workers, size=n)
    part = os.path.join(cwd, "worker.json")
    cmd = worker_command(target.python, spec, part, round_=round_, profile=PROFILES["default"],
                         run_id="interleaved-check", env=target.label)  # fmt: skip
    env = dict(worker_environ(), **target.env)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not os.path.exists(part):
        raise RuntimeError(f"{target.label}: gilbench worker exited {proc.returncode}\n{proc.stdout[-2000:]}")
    with open(part, encoding="utf-8") as fh:
        runs = json.load(fh)["benchmarks"][0]["runs"]
    os.unlink(part)
    return float(runs[-1]["values"][0])


def bench_targets(specs: Sequence[str]) -> List[ind.Target]:
    """``--target`` values -> targets whose interpreter paths are absolute: the processes
    run in a scratch folder (not realpath: a venv's python must stay one).  ValueError
    on a malformed value."""
    targets = ind.parse_targets(specs)
    for t in targets:
        t.python = os.path.abspath(t.python)
    return targets


def calibrated_steps(targets: Sequence[ind.Target], cwd: str) -> Dict[str, int]:
    """Countdown steps per target, calibrated once by the independent child."""
    return {t.label: ind.run_child(t, ind.CALIBRATE, 1, 0, cwd, "a")["n"] for t in targets}


def write_json(path: Path, config: Dict[str, Any], targets: Sequence[ind.Target], n_of: Dict[str, int],
               summaries: Dict[str, Any], raw: Dict[str, List[Dict[str, float]]]) -> None:  # fmt: skip
    """Every value and the summaries of a check, per target, with its ``config``."""
    document = {"config": {**config, "cpu_count": os.cpu_count()},
                "targets": [{"label": t.label, "python": t.python, "env": t.env, "n": n_of[t.label],
                             "summary": summaries[t.label], "rounds": raw[t.label]} for t in targets]}  # fmt: skip
    path.write_text(json.dumps(document, indent=2) + "\n")


def independent_value(target: ind.Target, side: str, n: int, cwd: str, method: str, preimport: Sequence[str]) -> float:
    """One value of the independent child: plain (``i``), pre-imported (``p``), in a random
    layout (``r``) or after 0.1 s of keeping the CPU busy (``w``, as gilbench's worker does)."""
    pre = preimport if method == "p" else ()
    child = ind.run_child(target, n, 1, PROFILES["default"].warmups, cwd, side, pre,
                          random_layout=method == "r", warm=method == "w")  # fmt: skip
    return float(child["values"][0])


def geomean(ratios: Sequence[float]) -> Dict[str, Any]:
    """Geometric mean of per-round ratios with its 95% t interval."""
    g, lo, hi = ind.geomean_interval(ratios)
    return {"geomean": g, "ci95": None if math.isnan(lo) else [lo, hi]}


def summarize(pairs: Sequence[Dict[str, float]]) -> Dict[str, Any]:
    """A target's rounds -> each method's speedup, and gilbench's over each independent one.

    Methods are ``g`` (gilbench), ``i`` (independent) and, when measured, ``p`` (the
    independent child after ``--preimport``); a round holds ``<method>_a`` and ``<method>_b``.
    """
    speedups = {m: [p[m + "_a"] / p[m + "_b"] for p in pairs] for m in METHODS if m + "_a" in pairs[0]}
    summary: Dict[str, Any] = {"rounds": len(pairs)}
    for m, ratios in speedups.items():
        summary[METHODS[m]] = geomean(ratios)
        if m != "g":  # paired by round: the drift both methods saw cancels
            summary["gilbench_over_" + METHODS[m]] = geomean([g / r for g, r in zip(speedups["g"], ratios)])
    return summary


def _ci(summary: Dict[str, Any]) -> str:
    ci = summary["ci95"]
    return "%.2f× (%.2f–%.2f)" % (summary["geomean"], *ci) if ci else "%.2f×" % summary["geomean"]


def format_table(labels: Sequence[str], summaries: Dict[str, Dict[str, Any]]) -> str:
    """Markdown: each method's speedup, then gilbench over each independent one, within ±5% or not."""
    others = [name for name in list(METHODS.values())[1:] if name in summaries[labels[0]]]
    head = ["target", "rounds", "gilbench (95% CI)"]
    for name in others:
        head += [f"{name} (95% CI)", f"gilbench / {name}", "within ±5%?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label in labels:
        s = summaries[label]
        cells = [label, str(s["rounds"]), _ci(s["gilbench"])]
        for name in others:
            ratio = s["gilbench_over_" + name]
            cells += [_ci(s[name]), _ci(ratio), "yes" if abs(ratio["geomean"] - 1) <= 0.05 else "no"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", default=[], metavar="LABEL=PYTHON[,KEY=VALUE...]",
                        help="a bench env's interpreter, its label and environment (repeatable)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=30, help="rounds (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the orders within rounds")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every value and the summaries here")
    parser.add_argument("--preimport", default="", metavar="MODULE,...",
                        help="also time the independent child after it imports these modules (e.g. "
                             "pyperf,workloads._runner, as gilbench's worker does): does incidental "
                             "process state move the result?")  # fmt: skip
    parser.add_argument("--random-layout", action="store_true",
                        help="also time the independent child with each thread in a random memory layout "
                             "(as gilbench's timed threads run): free of one fixed layout's bias")  # fmt: skip
    parser.add_argument("--warm", action="store_true",
                        help="also time the independent child after it keeps the CPU busy for 0.1 s, "
                             "as gilbench's worker does before its first value")  # fmt: skip
    args = parser.parse_args(argv)
    preimport = [m for m in args.preimport.split(",") if m]
    methods = "gi" + ("p" if preimport else "") + ("r" if args.random_layout else "") + ("w" if args.warm else "")
    try:
        targets = bench_targets(args.target)
    except ValueError as exc:
        parser.error(str(exc))
    if not targets:
        parser.error("give at least one --target")
    if args.repeats < 2:
        parser.error("--repeats: at least 2 rounds, for an interval")
    rng = random.Random(args.seed)
    raw: Dict[str, List[Dict[str, float]]] = {t.label: [] for t in targets}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as cwd:
        try:
            n_of = calibrated_steps(targets, cwd)
            for round_ in range(args.repeats):
                order = list(targets)
                rng.shuffle(order)
                for t in order:
                    jobs = [(m, side) for m in methods for side in "ab"]
                    rng.shuffle(jobs)
                    values = {}
                    for method, side in jobs:
                        values[method + "_" + side] = (
                            gilbench_value(t, SIDES[side], n_of[t.label], round_, cwd) if method == "g"
                            else independent_value(t, side, n_of[t.label], cwd, method, preimport))  # fmt: skip
                    raw[t.label].append(values)
                print(f"round {round_ + 1}/{args.repeats} done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    summaries = {t.label: summarize(raw[t.label]) for t in targets}
    print(format_table([t.label for t in targets], summaries))
    if args.json:
        config = {"repeats": args.repeats, "seed": args.seed, "preimport": preimport,
                  "random_layout": args.random_layout, "warm": args.warm,
                  "wall_s": time.monotonic() - started}  # fmt: skip
        write_json(args.json, config, targets, n_of, summaries, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
