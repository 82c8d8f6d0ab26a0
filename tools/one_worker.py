"""One worker against serial: where a run's one-worker ratios landed, and what it would
take for every point to land inside the sanity band.

One pool worker, one subinterpreter or one thread holding the GIL does the same work as
serial, so its ratio to serial should be 1.  The report's gate flags a one-worker ratio
whose whole 95% interval lies outside [0.95, 1.05] (``harness.analysis.ONE_WORKER``): a
bias the data show.  A stricter demand is that every POINT estimate of a run lies inside
the band.  With a per-round spread ``s`` the point wanders by ``s / sqrt(rounds)``, and
for dozens of ratios at once the rounds that demand needs follow from the spreads the
run measured (``harness.stats.rounds_for_points_within``), even if every truth is
exactly 1.  This prints both, per ratio and in total:

    .tox/bench-all/bin/python -m tools.one_worker results/<run-id>
    .tox/bench-all/bin/python -m tools.one_worker docs/results/<run-id>/raw

A published run's ``raw`` folder holds no manifest, so the minutes per round are then
not said.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from harness import analysis, collect, stats
from harness.collect import ResultsError
from workloads import host

PROBABILITY = 0.95  # the chance that every point lands inside the band, for the rounds quoted
COLUMNS = ["env", "workload", "mode", "value", "lo", "hi", "hw", "n", "sd", "problem"]


def _as_ratios(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    suffixes = {"": "value", "_lo": "lo", "_hi": "hi", "_hw": "hw", "_n": "n", "_sd": "sd"}
    return frame.rename(columns={prefix + s: k for s, k in suffixes.items()})[COLUMNS]


def one_worker_ratios(result: analysis.Analysis) -> pd.DataFrame:
    """Every ratio the one-worker gate covers: one pool worker or subinterpreter against
    serial (``Analysis.one_worker``) and one thread against serial (``Analysis.derived``)."""
    parts = []
    if not result.one_worker.empty:
        parts.append(_as_ratios(result.one_worker, "vs_serial"))
    if not result.derived.empty:
        parts.append(_as_ratios(result.derived[result.derived["workers"] == 1], "speedup"))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def spreads(frame: pd.DataFrame) -> np.ndarray:
    """Per-round log SD of each ratio: the one its interval uses (the moderated interval's,
    pooled with the run's other ratios; Student's t's own where it fell back to it)."""
    return frame["sd"].to_numpy(dtype=float)


def summary(frame: pd.DataFrame, seconds_per_round: float | None) -> list[str]:
    """The totals: points inside the band, intervals gated, and the rounds every point needs."""
    lo, hi = analysis.ONE_WORKER
    points = frame["value"]
    s = spreads(frame)
    finite = s[np.isfinite(s)]
    rounds = int(frame["n"].max())
    lines = [
        "%d of %d one-worker points inside [%.2f, %.2f] after %d rounds (%.2f–%.2f×); %d interval(s) wholly outside"
        % (
            int(((points >= lo) & (points <= hi)).sum()),
            len(points),
            lo,
            hi,
            rounds,
            points.min(),
            points.max(),
            int((frame["problem"] != "").sum()),
        ),
    ]
    if not len(finite):
        return lines
    pooled = math.sqrt(float(np.mean(finite**2)))
    lines.append(
        "per-round log SD: median %.1f%%, pooled %.1f%%; if every truth were 1, all points inside with "
        "probability %.2f after these rounds"
        % (100 * np.median(finite), 100 * pooled, stats.points_within(finite, (lo, hi), rounds))
    )
    need = stats.rounds_for_points_within(finite, (lo, hi), PROBABILITY)
    if need is None:
        lines.append("every point inside with probability %.2f: beyond 10,000 rounds" % PROBABILITY)
        return lines
    cost = "" if not seconds_per_round else ", about %.1f h of this run's rounds" % (need * seconds_per_round / 3600)
    lines.append("every point inside with probability %.2f: %d rounds%s" % (PROBABILITY, need, cost))
    return lines


def table(frame: pd.DataFrame) -> list[str]:
    s = spreads(frame)
    lines = ["%-20s %-22s %-20s %7s %15s %7s %7s" % ("env", "workload", "mode", "ratio", "95% interval", "±", "sd/rnd")]
    for (env, workload, mode, v, lo, hi, hw, problem), sd in zip(
        frame[["env", "workload", "mode", "value", "lo", "hi", "hw", "problem"]].itertuples(index=False),
        s,
    ):
        lines.append(
            "%-20s %-22s %-20s %6.3f× %7.3f–%-7.3f %6.1f%% %6.1f%%%s"
            % (env, workload, mode, v, lo, hi, 100 * hw, 100 * sd, "  GATED" if problem else "")
        )
    return lines


def _seconds_per_round(folder: Path) -> float | None:
    path = Path(host.meta_path(str(folder), host.MANIFEST))
    try:
        manifest = json.loads(path.read_text())
        history = manifest["precision_history"]
        return float(manifest["measuring_seconds"]) / int(history[-1]["round"])
    except (OSError, ValueError, KeyError, IndexError, ZeroDivisionError, TypeError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="results/<run-id>, or a published run's raw folder")
    args = parser.parse_args(argv)
    try:
        data = collect.load_runs([args.run])
    except ResultsError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    frame = one_worker_ratios(analysis.analyse(data.benchmarks, data.envs))
    if frame.empty:
        print(
            "error: %s: no one-worker ratios (the run measured no pool worker, subinterpreter or thread at 1 worker)"
            % args.run,
            file=sys.stderr,
        )
        return 2
    print("\n".join(table(frame) + [""] + summary(frame, _seconds_per_round(args.run))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
