"""Where the spread of gilbench's ratios lives: between values, processes and rounds.

The layout of a run (how many rounds, processes per round, values per process) should
replicate where the variance is and no higher.  This tool measures it on the machine
at hand.  Per round, every target (a bench env's interpreter) runs ``--processes``
benchmark processes back to back for each size factor, each process one block of the
workload (serial, threads, pool processes and subinterpreters at 1 and 2 workers,
alternating, exactly as bench-all's ``blocks`` layout runs it) with ``--values``
passes; then one capacity probe (``harness.capacity``: two busy processes against one).

It reports, as standard deviations of logs (0.05 is about ±5%):

* each benchmark's values: what one busy vCPU (serial, one worker) and two busy vCPUs
  (two workers) see, within a process, between processes, between rounds;
* each in-process ratio (threads, processes and interpreters at 2 workers over 1; one
  pool worker or subinterpreter over serial), pass by pass: the same three parts;
* each ``--pair FT=BASE`` ratio across interpreters (serial, process means): between
  processes of a round and between rounds;
* how much consecutive passes of one process share (lag-1 correlation of serial's
  values about their process mean), and the capacity probe's own spread;
* the measured cost of a block process (its fixed part and its time per pass), and the
  half-width each ratio would reach in ``--minutes`` of one target's blocks for 1, 2,
  4 and 8 values per process.

    .tox/bench-all/bin/python -m tools.variance_budget --rounds 12 --processes 2 --values 6 \\
        --target 3.13=.tox/bench-py313/bin/python --target 3.13t=.tox/bench-py313t/bin/python \\
        --target pypy=.tox/bench-pypy3/bin/python --pair 3.13t=3.13 --sizes 1,0.125 --json out.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from harness import capacity, stats
from harness.targets import describe, parse_target, prepare, run_block
from workloads.host import PROFILES, worker_command

# In-process ratios: (label, numerator benchmark, denominator benchmark); a speedup reads a/b.
RATIOS = (
    ("threads, 2 over 1", "{w}[serial]", "{w}[threads,w=2]"),
    ("processes, 2 over 1", "{w}[processes,w=1]", "{w}[processes,w=2]"),
    ("interpreters, 2 over 1", "{w}[interpreters,w=1]", "{w}[interpreters,w=2]"),
    ("one pool worker over serial", "{w}[serial]", "{w}[processes,w=1]"),
    ("one subinterpreter over serial", "{w}[serial]", "{w}[interpreters,w=1]"),
)
Raw = Dict[str, Dict[str, List[List[Dict[str, Any]]]]]  # label -> size -> rounds -> processes -> bench -> data


def _sd(x: float) -> str:
    return "—" if x is None or math.isnan(x) else "%.1f%%" % (100 * x)


def components(x: np.ndarray) -> Dict[str, Any]:
    c = stats.nested_components(x)
    return {
        "within": c.within,
        "between_process": c.between_process,
        "between_round": c.between_round,
        "shape": list(x.shape),
    }


def _logs(rounds: List[List[Dict[str, Any]]], name: str) -> Optional[np.ndarray]:
    if not all(name in p for r in rounds for p in r):
        return None
    return np.log(np.array([[p[name]["values"] for p in r] for r in rounds], dtype=float))


def first_pass(x: np.ndarray) -> float:
    """How far each process's first value sits from its later ones, on average (log scale):
    what a warm-up pass would remove."""
    return float((x[..., 0] - x[..., 1:].mean(axis=2)).mean())


def lag1(x: np.ndarray) -> float:
    """Correlation of consecutive values of one process about its mean, pooled over processes."""
    dev = x - x.mean(axis=2, keepdims=True)
    a, b = dev[..., :-1].ravel(), dev[..., 1:].ravel()
    return float(np.corrcoef(a, b)[0, 1]) if len(a) > 2 else math.nan


def cost(rounds: List[List[Dict[str, Any]]]) -> Tuple[float, float]:
    """(fixed seconds per block process, seconds per pass): wall time minus values and warm-ups
    is the fixed part; a pass is one value of every benchmark of the block."""
    fixed, per_pass = [], []
    for r in rounds:
        for p in r:
            timed = sum(sum(b["values"]) + sum(b["warmups"]) for b in p.values())
            passes = len(next(iter(p.values()))["values"])
            per_pass.append(sum(sum(b["values"]) for b in p.values()) / passes)
            fixed.append(next(iter(p.values()))["wall"] - timed)
    return statistics.median(fixed), statistics.median(per_pass)


def projected(parts: Dict[str, Any], fixed: float, per_pass: float, minutes: float, values: int) -> float:
    """Half-width after ``minutes`` of blocks with ``values`` passes, one process per round."""
    c = stats.Components(parts["within"], parts["between_process"], parts["between_round"], 0, 0, 0)
    rounds = int(minutes * 60 // (fixed + per_pass * values))
    if rounds < 2:
        return math.nan
    return math.expm1(float(stats.t975(rounds - 1)) * c.mean_sd(rounds, 1, values))


# Layouts a profile may choose for its blocks, (values per process, size factor of the
# budget's full size): the old default (the declared work), today's quarter, and shorter
# values with more of them per process.
LAYOUTS = ((4, 1.0), (4, 0.25), (8, 0.25), (8, 0.125), (16, 0.0625))
TODAY = (4, 0.25)  # the default profile's blocks before issue 33: four values of a quarter of the work
SHORT_WARMUP = 0.25  # the one warm-up pass without a JIT is at this fraction of a value (``workloads.host``)
JIT_WARMUPS = 4  # full-length warm-up passes with a JIT (the default profile's)


def variance_time(result: Dict[str, Any], target: str, ratio: str, values: int, size: float, jit: bool) -> float:
    """Per-round variance × seconds per round of one in-process ratio measured with
    ``values`` values per process at ``size`` × the full work: what a layout costs for a
    given precision (the half-width after T seconds goes as the square root of it over T).

    The variance is ``within² / values + between processes² + between rounds²`` with the
    components measured at the nearest size the budget measured at or above ``size``; a
    process costs its fixed part, its warm-up (one pass at a quarter of a value, or
    ``JIT_WARMUPS`` full ones) and its values, each pass's time scaled linearly from there.
    Below the shortest size measured, this assumes the noise per value holds."""
    measured = sorted({float(r["size"]) for r in result["ratios"] if r["target"] == target})
    base = min((m for m in measured if m >= size), default=max(measured))
    key = next(k for k in (str(base), "%g" % base) if any(str(r["size"]) == k for r in result["ratios"]))
    c = next(r for r in result["ratios"] if r["target"] == target and str(r["size"]) == key and r["ratio"] == ratio)
    cost = result["cost"]["%s ×%s" % (target, key)]
    per_pass = cost["per_pass"] * size / base
    warm = JIT_WARMUPS * per_pass if jit else SHORT_WARMUP * per_pass
    variance = c["within"] ** 2 / values + c["between_process"] ** 2 + c["between_round"] ** 2
    return variance * (cost["fixed"] + warm + values * per_pass)


def layout_gains(result: Dict[str, Any], jit: Sequence[str], reference: Tuple[int, float]) -> List[Dict[str, Any]]:
    """For each target and each of ``LAYOUTS``: how many times less variance × time than
    ``reference`` its in-process ratios cost (``variance_time``), fewest to most and median."""
    out = []
    for target in sorted({r["target"] for r in result["ratios"]}):
        ratios = sorted({r["ratio"] for r in result["ratios"] if r["target"] == target})
        with_jit = target in jit
        ref = {r: variance_time(result, target, r, *reference, with_jit) for r in ratios}
        for values, size in LAYOUTS:
            gains = [ref[r] / variance_time(result, target, r, values, size, with_jit) for r in ratios]
            out.append(
                {
                    "target": target,
                    "values": values,
                    "size": size,
                    "low": min(gains),
                    "median": float(np.median(gains)),
                    "high": max(gains),
                }
            )
    return out


def gains_table(gains: List[Dict[str, Any]], reference: Tuple[int, float]) -> str:
    lines = [
        "### Variance × time of each layout, against %d values at ×%g (times less; >1 is better)" % reference,
        "",
        "| target | values | size | fewest | median | most |",
        "|---|---|---|---|---|---|",
    ]
    for g in gains:
        lines.append(
            "| %s | %d | ×%g | %.2f | %.2f | %.2f |"
            % (g["target"], g["values"], g["size"], g["low"], g["median"], g["high"])
        )
    return "\n".join(lines)


def analyse(
    raw: Raw, workload: str, pairs: Sequence[Tuple[str, str]], probes: List[capacity.CapacityProbe], minutes: float
) -> Dict[str, Any]:
    out: Dict[str, Any] = {"benchmarks": [], "ratios": [], "pairs": [], "cost": {}, "lag1": {}}
    for label, sizes in raw.items():
        for size, rounds in sizes.items():
            fixed, per_pass = cost(rounds)
            out["cost"]["%s ×%s" % (label, size)] = {"fixed": fixed, "per_pass": per_pass}
            names = sorted(rounds[0][0])
            for name in names:
                x = _logs(rounds, name)
                if x is not None:
                    out["benchmarks"].append(
                        {"target": label, "size": size, "name": name, **components(x), "first_pass": first_pass(x)}
                    )
            serial = _logs(rounds, "%s[serial]" % workload)
            if serial is not None and serial.shape[2] > 2:
                out["lag1"]["%s ×%s" % (label, size)] = lag1(serial)
            for ratio, a, b in RATIOS:
                xa, xb = _logs(rounds, a.format(w=workload)), _logs(rounds, b.format(w=workload))
                if xa is None or xb is None:
                    continue
                parts = components(xa - xb)
                ahead = {v: projected(parts, fixed, per_pass, minutes, v) for v in (1, 2, 4, 8)}
                out["ratios"].append(
                    {
                        "target": label,
                        "size": size,
                        "ratio": ratio,
                        **parts,
                        "first_pass": first_pass(xa - xb),
                        "speedup": float(np.exp((xa - xb).mean())),
                        "half_width_in": ahead,
                    }
                )
    for ft, base in pairs:
        for size in raw[ft]:
            name = "%s[serial]" % workload
            xa, xb = _logs(raw[ft][size], name), _logs(raw[base][size], name)
            x = (np.log(np.exp(xa).mean(axis=2)) - np.log(np.exp(xb).mean(axis=2)))[..., None]
            c = stats.nested_components(x)
            out["pairs"].append(
                {
                    "pair": "%s over %s" % (ft, base),
                    "size": size,
                    "ratio": float(np.exp(x.mean())),
                    "between_process": c.between_process,
                    "between_round": c.between_round,
                }
            )
    logs = [math.log(p.capacity) for p in probes]
    out["capacity"] = {
        "probes": len(probes),
        "geomean": math.exp(statistics.fmean(logs)) if logs else math.nan,
        "sd": statistics.stdev(logs) if len(logs) > 1 else math.nan,
    }
    return out


def report(result: Dict[str, Any], minutes: float) -> str:
    lines = [
        "### Each benchmark's values (log SD)",
        "",
        "| target | size | benchmark | within a process | between processes | between rounds | first pass |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in result["benchmarks"]:
        lines.append(
            "| %s | ×%s | %s | %s | %s | %s | %+.1f%% |"
            % (
                b["target"],
                b["size"],
                b["name"],
                _sd(b["within"]),
                _sd(b["between_process"]),
                _sd(b["between_round"]),
                100 * b["first_pass"],
            )
        )
    lines += [
        "",
        "### In-process ratios, pass by pass (log SD), and the half-width %g min of one target's "
        "blocks would reach" % minutes,
        "",
        "| target | size | ratio | value | within | between processes | between rounds | first pass "
        "| V=1 | V=2 | V=4 | V=8 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["ratios"]:
        ahead = " | ".join("±" + _sd(r["half_width_in"][v]) for v in (1, 2, 4, 8))
        lines.append(
            "| %s | ×%s | %s | %.2f× | %s | %s | %s | %+.1f%% | %s |"
            % (
                r["target"],
                r["size"],
                r["ratio"],
                r["speedup"],
                _sd(r["within"]),
                _sd(r["between_process"]),
                _sd(r["between_round"]),
                100 * r["first_pass"],
                ahead,
            )
        )
    if result["pairs"]:
        lines += [
            "",
            "### Across interpreters: serial, process means (log SD)",
            "",
            "| pair | size | ratio | between processes | between rounds |",
            "|---|---|---|---|---|",
        ]
        for p in result["pairs"]:
            lines.append(
                "| %s | ×%s | %.3f | %s | %s |"
                % (p["pair"], p["size"], p["ratio"], _sd(p["between_process"]), _sd(p["between_round"]))
            )
    lines += [
        "",
        "### Cost of a block process and what consecutive passes share",
        "",
        "| target, size | fixed s | s per pass | lag-1 correlation of serial |",
        "|---|---|---|---|",
    ]
    for key, c in result["cost"].items():
        lines.append(
            "| %s | %.2f | %.2f | %s |"
            % (key, c["fixed"], c["per_pass"], "%.2f" % result["lag1"][key] if key in result["lag1"] else "—")
        )
    cap = result["capacity"]
    lines += [
        "",
        "Capacity probe (2 busy processes over 1): %d probes, geometric mean %.2f×, SD of one probe %s."
        % (cap["probes"], cap["geomean"], _sd(cap["sd"])),
    ]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", default=[], metavar="LABEL=PYTHON[,KEY=VALUE...]")
    parser.add_argument("--pair", action="append", default=[], metavar="FT=BASE", help="a ratio across targets")
    parser.add_argument("--workload", default="countdown")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--processes", type=int, default=2, help="per target, size and round")
    parser.add_argument("--values", type=int, default=6, help="passes per process")
    parser.add_argument("--sizes", default="1", help="size factors of the calibrated work, e.g. 1,0.125")
    parser.add_argument("--warmups", type=int, help="warm-up passes where there is no JIT (default: the profile's)")
    parser.add_argument("--minutes", type=float, default=10.0, help="for the projected half-widths")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, metavar="PATH")
    parser.add_argument(
        "--layouts",
        type=Path,
        metavar="JSON",
        help="measure nothing: from a saved --json (.gz too), each layout's variance × time against today's",
    )
    parser.add_argument("--jit", default="pypy", help="with --layouts: the targets with a JIT, comma-separated")
    args = parser.parse_args(argv)
    if args.layouts:
        try:
            opener = gzip.open if args.layouts.suffix == ".gz" else open
            with opener(args.layouts, "rt") as handle:
                saved = json.load(handle)["result"]
        except (OSError, ValueError, KeyError) as exc:
            parser.error("--layouts: %s: %s" % (args.layouts, exc))
        print(gains_table(layout_gains(saved, args.jit.split(","), TODAY), TODAY))
        return 0
    try:
        targets = [parse_target(t) for t in args.target]
        pairs = [tuple(p.split("=", 1)) for p in args.pair]
        sizes = [float(s) for s in args.sizes.split(",")]
    except ValueError as exc:
        parser.error(str(exc))
    labels = {t.env for t in targets}
    if not targets or any(len(p) != 2 or not set(p) <= labels for p in pairs):
        parser.error("give --target for every label a --pair names")
    if args.rounds < 2 or args.processes < 1 or args.values < 2:
        parser.error("at least 2 rounds, 1 process and 2 values")
    rng = random.Random(args.seed)
    raw: Raw = {t.env: {str(s): [] for s in sizes} for t in targets}
    probes: List[capacity.CapacityProbe] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        plans = {t.env: prepare(t, [args.workload], (1, 2), PROFILES["default"], Path(tmp)) for t in targets}
        count = capacity.loop_count()
        for round_ in range(args.rounds):
            order = list(targets)
            rng.shuffle(order)
            for t in order:
                plan = plans[t.env]
                specs = plan.specs
                warmups = args.warmups if args.warmups is not None and not plan.jit else plan.warmups
                for size in rng.sample(sizes, len(sizes)):
                    scaled = [type(s).from_json(dict(s.to_json(), size=max(1, int(s.size * size)))) for s in specs]
                    processes = []
                    for _ in range(args.processes):
                        part = os.path.join(tmp, "part.json")
                        cmd = worker_command(
                            t.python,
                            scaled,
                            part,
                            round_=round_,
                            profile=PROFILES["default"],
                            run_id="variance-budget",
                            env=t.env,
                            warmups=warmups,
                            values=args.values,
                        )
                        processes.append(run_block(t, scaled, cmd, part))
                    raw[t.env][str(size)].append(processes)
                probes.append(capacity.probe(round_, 2, count))
            print("round %d/%d done (%.0f s)" % (round_ + 1, args.rounds, time.monotonic() - started), file=sys.stderr)
    result = analyse(raw, args.workload, pairs, probes, args.minutes)
    print(report(result, args.minutes))
    if args.json:
        config = {k: v for k, v in vars(args).items() if k != "json"}
        document = {
            "config": {**config, "wall_s": time.monotonic() - started, "cpu_count": os.cpu_count()},
            "targets": [describe(t) for t in targets],
            "result": result,
            "raw": raw,
            "capacity": [p.to_json() for p in probes],
        }
        args.json.write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
