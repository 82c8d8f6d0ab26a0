"""Time to precision: how long a run takes until its headline ratios are within ±5% and ±3%.

The cost of a benchmark harness is wall time per unit of certainty.  bench-all
records, after every round, how many headline ratios (speedups and net speedups at
every worker count, free-threading and forced-GIL overheads) have a 95% interval
within ±5% and ±3% (``precision_history`` in the run's ``meta/run.json``).  This
reads it back and prints when each level was reached, so the figure can be
re-measured after every change:

    tox -e bench-all -- --profile default --workers 1,2,4     # the default matrix of this machine
    python benchmarks/time_to_precision.py results/<run-id>

Times are seconds of measuring (after the envs were prepared), on the machine that
ran it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def reached(history: list[dict], key: str, share: float) -> dict | None:
    """The first round after which at least ``share`` of the ratios were within the level."""
    return next((h for h in history if h["ratios"] and h[key] >= share * h["ratios"]), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="results/<run-id> of a bench-all run with a precision target")
    args = parser.parse_args()
    manifest_path = args.run / "meta" / "run.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        print("error: %s: %s" % (manifest_path, exc), file=sys.stderr)
        return 2
    history = manifest.get("precision_history") or []
    if not history:
        print("error: %s has no precision history (run bench-all with a precision target)" % manifest_path,
              file=sys.stderr)  # fmt: skip
        return 2
    print("run %s, profile %s, %d env(s), measured for %.0f s in %d rounds"
          % (manifest["run_id"], manifest["profile"], len(manifest["envs"]), manifest.get("measuring_seconds", 0),
             history[-1]["round"]))  # fmt: skip
    print("%6s %9s %8s %10s %10s %8s" % ("round", "seconds", "ratios", "<= ±5%", "<= ±3%", "widest"))
    for h in history:
        widest = "%.1f%%" % (100 * h["widest"]) if h["widest"] is not None else "-"
        print("%6d %9.0f %8d %10d %10d %8s" % (h["round"], h["seconds"], h["ratios"], h["within_5"], h["within_3"],
                                               widest))  # fmt: skip
    for label, key in (("±5%", "within_5"), ("±3%", "within_3")):
        for share in (0.9, 1.0):
            hit = reached(history, key, share)
            what = "all" if share == 1.0 else "%d%% of the" % (100 * share)
            if hit:
                print("%s headline ratios within %s after %.0f s (round %d)" % (what, label, hit["seconds"],
                                                                                hit["round"]))  # fmt: skip
            else:
                last = history[-1]
                print("%s headline ratios within %s: not reached (%d of %d after %.0f s)"
                      % (what, label, last[key], last["ratios"], last["seconds"]))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
