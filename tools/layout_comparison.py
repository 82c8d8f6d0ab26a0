"""Precision per minute of two measurement layouts, measured side by side in one session.

Both layouts measure the same matrix (the same envs and benchmarks, prepared through tox
as bench-all prepares them, each layout's work sizes calibrated to its shortest value)
into two run folders, in alternating rounds: round r of one layout, then round r of the
other, the order swapped every round (ABBA), so both see the same windows of the machine:

* ``processes``: one process per benchmark and round, one warm-up and one value each
  (the layout of earlier gilbench runs);
* ``blocks``: one process per workload and env and round, its benchmarks alternating
  (``workloads.host.worker_command``), the sides of each ratio a fraction of a second apart.

After every round, each layout's headline ratios are analysed as a run stopped there
would report them (``harness.analysis.first_rounds``), against the seconds that layout
has measured so far.  The figure of merit: the measuring time the blocks layout needs
to reach the median half-width the processes layout ends with, over the time the
processes layout took.

    .tox/bench-all/bin/python -m tools.layout_comparison --minutes 40 \\
        --env bench-py39,bench-py313,bench-py313t,bench-pypy3 \\
        --workload countdown,fib,object_creation,dict_creation --workers 1,2 \\
        --results-dir results --json validation/layout-comparison.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from harness import analysis, collect
from harness.progress import Plain
from tools import _matrix
from workloads.host import EnvRun, bench_lock, new_run_id, resolve_profile, seed_of, slots

LAYOUTS = ("processes", "blocks")


def measure_round(runs: List[EnvRun], round_: int, layout: str, seed: int) -> float:
    """One round of ``layout`` over ``runs``; the seconds it took."""
    started = time.monotonic()
    for slot in slots(runs, round_, layout, seed):
        for env_run, specs in slot:
            env_run.run_block(specs, round_, layout)
    return time.monotonic() - started


def curve(runs: List[EnvRun], seconds: Sequence[float]) -> List[Dict[str, Any]]:
    """Median and 90th-percentile half-width of the headline ratios after each round, with
    Student's t on both layouts, as the committed comparison (docs/data) has them."""
    data = collect.from_runs(runs)
    points = []
    for n in range(2, len(seconds) + 1):
        head = analysis.analyse(analysis.first_rounds(data.benchmarks, n), data.envs, moderate=False).headline()
        points.append(
            {
                "rounds": n,
                "seconds": round(sum(seconds[:n]), 1),
                "ratios": len(head),
                "median": float(head["hw"].median()),
                "p90": float(head["hw"].quantile(0.9)),
            }
        )
    return points


def time_to(points: List[Dict[str, Any]], width: float) -> Optional[float]:
    """The measuring seconds after which the median half-width is first at most ``width``."""
    return next((p["seconds"] for p in points if p["median"] <= width), None)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _matrix.add_options(parser)
    parser.add_argument("--minutes", type=float, default=40.0, help="measuring time of both layouts together")
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    profile = resolve_profile(args.profile)
    runnable = _matrix.runnable(parser, args)
    stamp = new_run_id()
    runs: Dict[str, List[EnvRun]] = {}
    with bench_lock():
        for layout in LAYOUTS:  # each prepared for its own layout: sizes follow its shortest value
            opts = _matrix.options(parser, args, profile, "%s-%s" % (stamp, layout), seed_of(stamp), layout)
            prepared = _matrix.prepare(opts, runnable, Plain(sys.stdout))
            if prepared is None:
                return 1
            runs[layout] = prepared[0]
        seconds: Dict[str, List[float]] = {layout: [] for layout in LAYOUTS}
        round_ = 0
        while sum(map(sum, seconds.values())) < args.minutes * 60:
            order = LAYOUTS if round_ % 2 == 0 else LAYOUTS[::-1]
            for layout in order:
                seconds[layout].append(measure_round(runs[layout], round_, layout, seed_of(stamp)))
            round_ += 1
            print(
                "round %d: %s" % (round_, ", ".join("%s %.0f s" % (k, v[-1]) for k, v in seconds.items())),
                file=sys.stderr,
            )
    for layout in LAYOUTS:
        for env_run in runs[layout]:
            env_run.finish()
    points = {layout: curve(runs[layout], seconds[layout]) for layout in LAYOUTS}
    old = points["processes"][-1]
    reached = time_to(points["blocks"], old["median"])
    summary = {
        "processes": old,
        "blocks": points["blocks"][-1],
        "blocks_seconds_to_processes_median": reached,
        "time_ratio": reached / old["seconds"] if reached else math.nan,
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        document = {
            "config": {**vars(args), "json": str(args.json), "runs": {k: r[0].run_id for k, r in runs.items()}},
            "seconds": seconds,
            "curves": points,
            "summary": summary,
        }
        args.json.write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
