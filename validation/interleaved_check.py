"""gilbench's two-thread speedups against an independent measurement, in the same rounds.

Why interleaved: on a shared VM the quantity itself drifts (3.13.5t's countdown at two
threads against one read 1.82x and 1.4x within the hour here), so a gilbench run and an
independent measurement made one after the other can differ by 20% with neither of them
wrong.  Compared fairly, the two take turns within every round and the comparison is
paired by round, as gilbench pairs its own ratios.

Per round, for every target (a bench env's interpreter, in a shuffled order) and each of
its workloads, two processes run in a shuffled order, at the same work size (the one
gilbench's driver calibrated for that interpreter):

* gilbench: one benchmark process of the workload's serial and two-thread benchmarks,
  exactly as bench-all's ``blocks`` layout starts it (``workloads.host.worker_command``),
  with ``--values`` passes; its speedup is mean(serial) / mean(two threads);
* independent: ``validation/independent.py``'s child, which shares no code with gilbench,
  with ``--values`` pairs; its speedup is mean(one thread) / mean(two threads).

Per target and workload it prints each method's speedup (geometric mean over rounds, 95%
t interval) and gilbench / independent with its paired interval: the bias of gilbench's
path, if there is one; within ±5% is the bar.

    .tox/bench-all/bin/python -m validation.interleaved_check --rounds 20 \\
        --target 3.9=.tox/bench-py39/bin/python --target 3.13t=.tox/bench-py313t/bin/python \\
        --also 3.13t=fib,object_creation,sha256_large --json interleaved.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from harness.targets import Prepared, describe, parse_target, prepare, run_block
from validation import independent
from workloads.host import PROFILES, BenchSpec, Target, worker_command

SIDES = ("serial", "threads")  # the gilbench benchmarks of a speedup at two workers


def gilbench_speedup(
    target: Target, plan: Prepared, workload: str, values: int, round_: int, cwd: str
) -> Tuple[float, float]:
    """One round of gilbench's speedup: one block process of the workload's two sides;
    (speedup, seconds the process ran)."""
    specs = [s for s in plan.specs if s.workload == workload and s.mode in SIDES and s.workers in (1, 2)]
    part = str(Path(cwd) / "part.json")
    cmd = worker_command(
        target.python,
        specs,
        part,
        round_=round_,
        profile=PROFILES["default"],
        run_id="interleaved-check",
        env=target.env,
        warmups=plan.warmups,
        values=values,
    )
    got = run_block(target, specs, cmd, part)
    serial, threads = (got[_name(specs, mode)]["values"] for mode in SIDES)
    return (sum(serial) / len(serial)) / (sum(threads) / len(threads)), got[specs[0].name]["wall"]


def _name(specs: Sequence[BenchSpec], mode: str) -> str:
    return next(s.name for s in specs if s.mode == mode)


def independent_speedup(
    target: Target, size: int, workload: str, values: int, cwd: str, warmups: int = 1
) -> Tuple[float, float]:
    """One round of the independent speedup: one child; (speedup, seconds the child ran)."""
    started = time.monotonic()
    pairs = independent.run_child(target.python, target.extra, workload, size, values, warmups, cwd=cwd)
    wall = time.monotonic() - started
    return (sum(a for a, _ in pairs) / len(pairs)) / (sum(b for _, b in pairs) / len(pairs)), wall


# One round of one check: gilbench's speedup, the independent one, and the seconds each took.
Round = Tuple[float, float, float, float]


def interleave(
    targets: Sequence[Target],
    checks: Dict[str, List[str]],
    plans: Dict[str, Prepared],
    rounds: int,
    values: int,
    rng: random.Random,
    cwd: str,
    warmups: int = 1,
    own_kernels: bool = False,
) -> Dict[Tuple[str, str], List[Round]]:
    """The rounds: every target in a shuffled order, each of its workloads in a shuffled
    order, gilbench and the independent child in a random order, at the plan's size.
    ``own_kernels``: the child runs gilbench's own kernel (``MODULE:NAME``), not its own."""
    raw: Dict[Tuple[str, str], List[Round]] = {(t.env, w): [] for t in targets for w in checks[t.env]}
    started = time.monotonic()
    for round_ in range(rounds):
        for t in rng.sample(list(targets), len(targets)):
            for workload in rng.sample(checks[t.env], len(checks[t.env])):
                spec = next(s for s in plans[t.env].specs if s.workload == workload)
                child = "%s:%s" % (spec.module, workload) if own_kernels else workload
                gilbench_first = rng.random() < 0.5
                results = {}
                for method in ("g", "i") if gilbench_first else ("i", "g"):
                    results[method] = (
                        gilbench_speedup(t, plans[t.env], workload, values, round_, cwd)
                        if method == "g"
                        else independent_speedup(t, spec.size, child, values, cwd, warmups)
                    )
                raw[(t.env, workload)].append((results["g"][0], results["i"][0], results["g"][1], results["i"][1]))
        print("round %d/%d done (%.0f s)" % (round_ + 1, rounds, time.monotonic() - started), file=sys.stderr)
    return raw


def summarize(rounds: Sequence[Tuple[float, float]]) -> Dict[str, Any]:
    """(gilbench, independent) speedups by round -> each method's and their ratio's geometric mean and interval."""

    def interval(ratios: Sequence[float]) -> Dict[str, Any]:
        g, lo, hi = independent.geomean_interval(ratios)
        return {"geomean": g, "ci95": None if math.isnan(lo) else [lo, hi]}

    return {
        "rounds": len(rounds),
        "gilbench": interval([g for g, _ in rounds]),
        "independent": interval([i for _, i in rounds]),
        "gilbench_over_independent": interval([g / i for g, i in rounds]),
    }


def _ci(s: Dict[str, Any]) -> str:
    return "%.2f× (%.2f–%.2f)" % (s["geomean"], *s["ci95"]) if s["ci95"] else "%.2f×" % s["geomean"]


WITHIN = 0.05  # the bar: gilbench / independent within ±5%
HEADER = [
    "target",
    "workload",
    "rounds",
    "gilbench (95% CI)",
    "independent (95% CI)",
    "gilbench / independent",
    "within ±5%?",
]


def row_cells(label: str, workload: str, s: Dict[str, Any]) -> List[str]:
    """The cells under ``HEADER`` for one check's ``summarize``."""
    ratio = s["gilbench_over_independent"]
    return [
        label,
        workload,
        str(s["rounds"]),
        _ci(s["gilbench"]),
        _ci(s["independent"]),
        _ci(ratio),
        "yes" if abs(ratio["geomean"] - 1) <= WITHIN else "no",
    ]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| %s |" % " | ".join(header), "|%s" % ("---|" * len(header))]
    return "\n".join(lines + ["| %s |" % " | ".join(row) for row in rows])


def format_table(summaries: Dict[Tuple[str, str], Dict[str, Any]]) -> str:
    return markdown_table(HEADER, [row_cells(label, workload, s) for (label, workload), s in summaries.items()])


def write_json(args: argparse.Namespace, started: float, targets: Sequence[Target], **parts: Any) -> None:
    """The check's document to ``args.json``: its arguments and wall time, its targets, ``parts``."""
    config = {**{k: v for k, v in vars(args).items() if k != "json"}, "wall_s": round(time.monotonic() - started, 1)}
    document = {"config": config, "targets": [describe(t) for t in targets], **parts}
    args.json.write_text(json.dumps(document, indent=1) + "\n")


def checked_targets(parser: argparse.ArgumentParser, args: argparse.Namespace) -> List[Target]:
    """``--target`` parsed, at least one, and ``--rounds`` enough for an interval; a usage
    error (one line, exit 2) otherwise."""
    try:
        targets = [parse_target(t) for t in args.target]
    except ValueError as exc:
        parser.error(str(exc))
    if not targets:
        parser.error("give at least one --target")
    if args.rounds < 2:
        parser.error("--rounds: at least 2, for an interval")
    return targets


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", default=[], metavar="LABEL=PYTHON[,KEY=VALUE...]")
    parser.add_argument("--workload", default="countdown", help="workloads checked on every target (comma-separated)")
    parser.add_argument(
        "--also", action="append", default=[], metavar="LABEL=WORKLOAD,...", help="more workloads for one target"
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--values", type=int, default=4, help="values per gilbench process, pairs per child")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    targets = checked_targets(parser, args)
    checks = {t.env: [w for w in args.workload.split(",") if w] for t in targets}
    for item in args.also:
        label, _, names = item.partition("=")
        if label not in checks:
            parser.error("--also %s: no --target labelled %r" % (item, label))
        checks[label] += [w for w in names.split(",") if w and w not in checks[label]]
    unknown = sorted({w for ws in checks.values() for w in ws} - set(independent.WORKLOADS))
    if unknown:
        parser.error(
            "no independent version of %s; there are: %s" % (", ".join(unknown), ", ".join(independent.WORKLOADS))
        )
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as cwd:
        try:
            plans = {t.env: prepare(t, checks[t.env], (1, 2), PROFILES["default"], Path(cwd)) for t in targets}
            timed = interleave(targets, checks, plans, args.rounds, args.values, random.Random(args.seed), cwd)
        except (OSError, RuntimeError, ValueError, StopIteration) as exc:
            print("error: %s" % exc, file=sys.stderr)
            return 1
    raw = {key: [(g, i) for g, i, _, _ in rounds] for key, rounds in timed.items()}
    summaries = {key: summarize(rounds) for key, rounds in raw.items()}
    print(format_table(summaries))
    if args.json:
        checks = [
            {"target": label, "workload": w, "summary": summaries[(label, w)], "rounds": raw[(label, w)]}
            for label, w in raw
        ]
        write_json(args, started, targets, checks=checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
