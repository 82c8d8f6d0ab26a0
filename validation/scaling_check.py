"""The scaling family's two-thread speedups against an independent loop of the same kernels.

The question: does gilbench's measuring path (pyperf processes, blocks, fresh threads
behind a barrier, priming, layout randomisation) report the speedup a plain loop sees,
kernel by kernel, and does it get there with less measuring?  So, for every kernel of the
``scaling`` family (or those named), in every round and in a shuffled order, two processes
run at the same work size, the one gilbench calibrated for the interpreter:

* gilbench: one benchmark process of the kernel's serial and two-thread benchmarks,
  exactly as bench-all's ``blocks`` layout starts it (``validation/interleaved_check.py``);
* independent: ``validation/independent.py``'s child, which imports the kernel's module
  for the function and its shared-state factory and nothing of gilbench's measuring code
  (it exits if pyperf or the measuring modules were imported), and times one fresh
  thread against two with ``perf_counter``, ABBA, after ``--warmups`` pairs (3: nine
  calls, past CPython 3.11's eight-call specialisation threshold).

Per kernel it prints each method's speedup (geometric mean over rounds, 95% t interval),
gilbench / independent with its paired interval, and each method's half-width beside the
minutes it spent measuring that kernel; then, per target, the bar the check is held to,
criterion by criterion, each with its figures and, on a free-threaded target, whether it
is met: gilbench / independent within ±5% on at least 15 kernels; its interval containing
1 on all but one; and gilbench's median half-width at one minute of measuring
(half-width × √minutes: an interval narrows as 1/√time, so this is the precision each
method buys per minute) narrower than the independent loop's.

    .tox/bench-all/bin/python -m validation.scaling_check --rounds 12 \\
        --target 3.13t=.tox/bench-py313t/bin/python --json scaling-check.json

About 5 s per kernel and round on a 2-vCPU VM: 28 kernels × 12 rounds ≈ 28 minutes per target.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from harness.targets import prepare
from validation.interleaved_check import (
    HEADER,
    WITHIN,
    Round,
    checked_targets,
    interleave,
    markdown_table,
    row_cells,
    summarize,
    write_json,
)
from workloads.host import PROFILES

SUITE = "scaling"


def _half_width(interval: Dict[str, Any]) -> float:
    """Relative half-width of a geometric-mean interval: sqrt(hi / lo) - 1; NaN without one."""
    return math.sqrt(interval["ci95"][1] / interval["ci95"][0]) - 1 if interval["ci95"] else math.nan


def kernel_summary(rounds: Sequence[Round]) -> Dict[str, Any]:
    """One kernel's rounds (gilbench speedup, independent speedup, seconds of each) ->
    ``interleaved_check.summarize`` plus each method's half-width, minutes and half-width
    at one minute of measuring, and whether the ratio is within ±5% and its interval holds 1."""
    out = summarize([(g, i) for g, i, _, _ in rounds])
    for index, method in ((2, "gilbench"), (3, "independent")):
        minutes = sum(r[index] for r in rounds) / 60.0
        hw = _half_width(out[method])
        out[method].update(half_width=hw, minutes=minutes, half_width_at_one_minute=hw * math.sqrt(minutes))
    ratio = out["gilbench_over_independent"]
    ratio["within"] = abs(ratio["geomean"] - 1) <= WITHIN
    ratio["contains_one"] = bool(ratio["ci95"]) and ratio["ci95"][0] <= 1 <= ratio["ci95"][1]
    return out


# The bar, on a free-threaded build: gilbench's 2-thread speedup over the independent
# loop's within ±5% (``WITHIN``) on at least ``BAR_WITHIN`` kernels, the ratio's interval
# containing 1 on all but ``BAR_MISSES``, and gilbench's median half-width at one minute of
# measuring narrower than the loop's.
BAR_WITHIN = 15
BAR_MISSES = 1


def target_summary(kernels: Dict[str, Dict[str, Any]], free_threaded: bool = True) -> Dict[str, Any]:
    """Over one target's kernels: the counts the bar is stated in, each method's median
    half-width at one minute of measuring, and whether each part of the bar is met
    (``None`` on a target with a GIL: the bar is for free-threaded builds)."""

    def median(method: str) -> float:
        widths = [k[method]["half_width_at_one_minute"] for k in kernels.values()]
        widths = [w for w in widths if not math.isnan(w)]
        return statistics.median(widths) if widths else math.nan

    ratios = [k["gilbench_over_independent"] for k in kernels.values()]
    out = {
        "kernels": len(kernels),
        "free_threaded": free_threaded,
        "within": sum(r["within"] for r in ratios),
        "contains_one": sum(r["contains_one"] for r in ratios),
        "gilbench_half_width_at_one_minute": median("gilbench"),
        "independent_half_width_at_one_minute": median("independent"),
    }
    bar = {
        "within_met": out["within"] >= BAR_WITHIN,
        "contains_one_met": out["contains_one"] >= len(kernels) - BAR_MISSES,
        "narrower_met": out["gilbench_half_width_at_one_minute"] < out["independent_half_width_at_one_minute"],
    }
    bar["met"] = all(bar.values())
    out.update({k: v if free_threaded else None for k, v in bar.items()})
    return out


def by_target(
    summaries: Dict[Tuple[str, str], Dict[str, Any]], free: Optional[Dict[str, bool]] = None
) -> Dict[str, Dict[str, Any]]:
    """``target_summary`` of each target's kernels, in the order the targets come; ``free``:
    label -> whether the target runs without a GIL (every target does where it is not given)."""
    labels = dict.fromkeys(label for label, _ in summaries)
    return {
        label: target_summary(
            {k: s for (lab, k), s in summaries.items() if lab == label}, (free or {}).get(label, True)
        )
        for label in labels
    }


def _precision(s: Dict[str, Any]) -> str:
    return "±%.1f%% in %.1f min" % (100 * s["half_width"], s["minutes"])


def _met(flag: Optional[bool]) -> str:
    return "" if flag is None else " — met" if flag else " — NOT met"


def bar_lines(label: str, t: Dict[str, Any]) -> List[str]:
    """The issue's done-when criteria for one target, each with its figures and whether it is met."""
    head = "%s (%s)" % (
        label,
        "free-threaded" if t["free_threaded"] else "with a GIL: the bar is for free-threaded builds",
    )
    verdict = "" if t["met"] is None else ": the bar is %s" % ("met" if t["met"] else "NOT met")
    return [
        "\n%s%s" % (head, verdict),
        "- gilbench / independent within ±%.0f%%: %d of %d kernels (bar: at least %d)%s"
        % (100 * WITHIN, t["within"], t["kernels"], BAR_WITHIN, _met(t["within_met"])),
        "- its 95%% interval contains 1: %d of %d kernels (bar: all but %d)%s"
        % (t["contains_one"], t["kernels"], BAR_MISSES, _met(t["contains_one_met"])),
        "- median half-width at one minute of measuring (half-width × √minutes): gilbench ±%.1f%%, "
        "independent loop ±%.1f%% (bar: gilbench narrower)%s"
        % (
            100 * t["gilbench_half_width_at_one_minute"],
            100 * t["independent_half_width_at_one_minute"],
            _met(t["narrower_met"]),
        ),
    ]


def format_report(summaries: Dict[Tuple[str, str], Dict[str, Any]], free: Optional[Dict[str, bool]] = None) -> str:
    """The per-kernel table, then per target the bar's three criteria with their figures."""
    header = [*HEADER, "contains 1?", "gilbench precision", "independent precision"]
    rows = [
        [
            *row_cells(label, kernel, s),
            "yes" if s["gilbench_over_independent"]["contains_one"] else "no",
            _precision(s["gilbench"]),
            _precision(s["independent"]),
        ]
        for (label, kernel), s in summaries.items()
    ]
    lines = [markdown_table(header, rows)]
    for label, t in by_target(summaries, free).items():
        lines += bar_lines(label, t)
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", default=[], metavar="LABEL=PYTHON[,KEY=VALUE...]")
    parser.add_argument("--kernels", default="", help="only these kernels (comma-separated; default: the family)")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--values", type=int, default=4, help="values per gilbench process, pairs per child")
    parser.add_argument("--warmups", type=int, default=3, help="warm-up pairs of the independent child")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    targets = checked_targets(parser, args)
    named = [k for k in args.kernels.split(",") if k]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as cwd:
        try:
            plans = {
                t.env: prepare(t, named, (1, 2), PROFILES["default"], Path(cwd), suites=() if named else (SUITE,))
                for t in targets
            }
            checks = {
                label: list(dict.fromkeys(s.workload for s in plan.specs if s.mode == "threads" and s.workers == 2))
                for label, plan in plans.items()
            }
            timed = interleave(
                targets, checks, plans, args.rounds, args.values, random.Random(args.seed), cwd, args.warmups, True
            )
        except (OSError, RuntimeError, ValueError, StopIteration) as exc:
            print("error: %s" % exc, file=sys.stderr)
            return 1
    summaries = {key: kernel_summary(rounds) for key, rounds in timed.items()}
    free = {label: plan.free_threaded for label, plan in plans.items()}
    print(format_report(summaries, free))
    if args.json:
        checks = [
            {"target": label, "kernel": k, "summary": summaries[(label, k)], "rounds": timed[(label, k)]}
            for label, k in timed
        ]
        write_json(args, started, targets, summary=by_target(summaries, free), checks=checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
