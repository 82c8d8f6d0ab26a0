"""The scheduler, interval and value lengths of issue 33 against those before, side by side.

Two runs of one matrix (the same envs and benchmarks, prepared through tox as bench-all
prepares them, each with its own profile settings) measured in one session, in
alternating turns: a round of one side, then a round of the other, the order swapped
every turn (ABBA), so both see the same windows of the machine:

* ``current``: the default profile's blocks before issue 33 (four values of a quarter of
  the declared work, ``CURRENT_BLOCKS``), every unit in every round, Student's t;
* ``new``: the default profile's blocks now, bench-all's precision rule choosing each
  round's units (``harness.precision``), the moderated interval.

After each side's round, its headline ratios are analysed as a run stopped there would
report them (the current side with Student's t, the new with the moderated interval),
against the seconds that side has measured so far.  The figure of merit: the measuring
time the new side needs to reach the median half-width the current side ends with,
over the time the current side took (the issue's goal: at most 1/3).  ``--current`` and
``--new`` replace either side's blocks layout, to try other value lengths.

    .tox/bench-all/bin/python -m tools.scheduler_comparison --minutes 20 \\
        --env bench-py39,bench-py314,bench-py314t,bench-pypy3 \\
        --workload countdown,fib,object_creation,dict_creation --workers 1,2 \\
        --results-dir results --json docs/data/scheduler-comparison.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pandas as pd

from harness import analysis, collect, precision, run
from harness.progress import Plain
from tools import _matrix
from tools.layout_comparison import time_to
from workloads.host import (
    BudgetReached,
    EnvRun,
    Layout,
    RoundDone,
    RoundPlan,
    Rounds,
    bench_lock,
    new_run_id,
    resolve_profile,
    seed_of,
)

SIDES = ("current", "new")
CURRENT_BLOCKS = Layout(4, 0.025, 0.25)  # the default profile's blocks before issue 33
EVERY_ROUND = 10_000  # the current side's least and most rounds: it never closes a benchmark
GOAL = 1 / 3  # the issue's: the new side reaches the current side's final median in a third of its time


def layout(text: str) -> Layout:
    """``values=8,min_value=0.0125,scale=0.125[,jit_min_value=…,jit_scale=…]`` as a ``Layout``."""
    try:
        fields = dict(part.split("=", 1) for part in text.split(","))
        values = int(fields.pop("values"))
        got = Layout(values, **{k: float(v) for k, v in fields.items()})
        if values < 1 or min(got.min_value, got.scale, got.jit_min_value, got.jit_scale) < 0 or not got.scale:
            raise ValueError("values must be at least 1, the rest not negative, scale positive")
        return got
    except (ValueError, KeyError, TypeError) as exc:
        raise argparse.ArgumentTypeError(
            "%r: expected values=N[,min_value=S][,scale=F][,jit_min_value=S][,jit_scale=F] (%s)" % (text, exc)
        ) from None


def point(benchmarks: pd.DataFrame, envs: pd.DataFrame, moderate: bool) -> Dict[str, Any]:
    """The headline ratios' median and 90th-percentile half-width, and the headline table's
    median, as a run of these benchmarks would report them (``moderate``: the moderated
    interval; else Student's t, as gilbench reported before it)."""
    result = analysis.analyse(benchmarks, envs, moderate=moderate)
    head = result.headline()
    return {
        "ratios": len(head),
        "median": _finite(head["hw"].median()),
        "p90": _finite(head["hw"].quantile(0.9)),
        "table_median": _finite(result.table["hw"].median()),
    }


def _finite(value: Any) -> Optional[float]:
    return float(value) if pd.notna(value) else None


@dataclass
class Side:
    """One side of the comparison: its envs, its rounds and the points measured so far."""

    name: str
    runs: List[EnvRun]
    rounds: Rounds
    moderate: bool
    points: List[Dict[str, Any]] = field(default_factory=list)

    def measure(self, turn: int) -> None:
        """One round of this side, then the point a run stopped there would report."""
        if not self.rounds.step():
            return
        data = collect.from_runs(self.runs)
        self.points.append(
            {
                "turn": turn,
                "round": self.rounds.round,
                "seconds": round(self.rounds.measuring, 1),
                **point(data.benchmarks, data.envs, self.moderate),
            }
        )


def summary(points: Dict[str, List[Dict[str, Any]]]) -> Dict[str, Any]:
    """The current side's last point, the new side's, and when the new side first reached
    the current side's final median half-width, over the current side's time."""
    current, new = points["current"][-1], points["new"][-1]
    reached = time_to([p for p in points["new"] if p["median"] is not None], current["median"])
    ratio = reached / current["seconds"] if reached is not None and current["seconds"] else None
    return {
        "current": current,
        "new": new,
        "new_seconds_to_current_median": reached,
        "time_ratio": ratio,
        "goal": GOAL,
        "goal_met": ratio is not None and ratio <= GOAL,
    }


def _say(side: str, out: Plain):
    """The rounds' and budget lines of a side, prefixed with its name; process lines left out."""

    def show(record: Any) -> None:
        if isinstance(record, (RoundDone, BudgetReached)):
            out.stream.write("%s: %s\n" % (side, record.line()))
            out.stream.flush()

    return show


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _matrix.add_options(parser)
    parser.add_argument("--minutes", type=float, default=40.0, help="measuring time of both sides together")
    parser.add_argument(
        "--current", type=layout, default=CURRENT_BLOCKS, metavar="LAYOUT", help="the current side's blocks"
    )
    parser.add_argument("--new", type=layout, metavar="LAYOUT", help="the new side's blocks (default: the profile's)")
    parser.add_argument("--max-rounds", type=int, metavar="N", help="the new side's most rounds per benchmark")
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or (args.max_rounds is not None and args.max_rounds < 1):
        parser.error("--minutes must be positive and --max-rounds at least 1")
    profile = resolve_profile(args.profile)
    if not profile.precision:
        parser.error("--profile %s has no precision target for the new side's rule" % profile.name)
    runnable = _matrix.runnable(parser, args)
    stamp = new_run_id()
    seed = seed_of(stamp)
    blocks = {"current": args.current, "new": args.new or profile.blocks}
    out = Plain(sys.stdout)
    sides: Dict[str, Side] = {}
    with bench_lock():
        for name in SIDES:  # each prepared with its own value lengths
            settings = dataclasses.replace(profile, blocks=blocks[name])
            opts = _matrix.options(parser, args, settings, "%s-%s" % (stamp, name), seed)
            prepared = _matrix.prepare(opts, runnable, out)
            if prepared is None:
                return 1
            runs = prepared[0]
            if name == "current":
                plan = RoundPlan(least=EVERY_ROUND, most=EVERY_ROUND, seed=seed)
            else:
                rule = precision.PrecisionRule(
                    profile.precision, lambda runs=runs: run.headline(runs), [], lambda widths: None
                )
                plan = RoundPlan(
                    least=profile.rounds, most=args.max_rounds or profile.most_rounds, seed=seed, policy=rule
                )
            sides[name] = Side(name, runs, Rounds(runs, plan, _say(name, out)), moderate=name == "new")
        turn = 0
        while sum(s.rounds.measuring for s in sides.values()) < args.minutes * 60 and not all(
            s.rounds.done for s in sides.values()
        ):
            for name in SIDES if turn % 2 == 0 else SIDES[::-1]:
                sides[name].measure(turn)
            turn += 1
        for side in sides.values():
            side.rounds.finish()
    points = {name: side.points for name, side in sides.items()}
    if not all(points.values()):
        print("error: --minutes %g left a side without a measured round" % args.minutes, file=sys.stderr)
        return 1
    result = summary(points)
    print(json.dumps(result, indent=1))
    if args.json:
        document = {
            "config": {
                **{k: v for k, v in vars(args).items() if k not in ("current", "new", "json")},
                "json": str(args.json),
                "blocks": {k: dataclasses.asdict(v) for k, v in blocks.items()},
                "runs": {k: s.runs[0].run_id for k, s in sides.items()},
            },
            "points": points,
            "summary": result,
        }
        args.json.write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
