"""Set a gilbench run's countdown speedups beside an independent measurement of them.

gilbench's countdown ``threads`` speedup at 2 workers (a geometric mean of per-round
ratios with its paired 95% interval) against ``benchmarks/independent_countdown.py
--json`` (the geometric mean of per-pair ratios with its t interval, and the median),
matched by interpreter path and ``PYTHON_GIL``:

    python benchmarks/independent_vs_run.py results/<run-id> independent.json

Prints a Markdown table; "apart" is gilbench's estimate over the independent geometric
mean: the same statistic on both sides (the per-pair ratios are skewed, so a median
sits a few percent away from a geometric mean of the same data).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # independent_countdown
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # gilbench

import independent_countdown  # this folder, put on the path above

from harness import analysis, collect

NAME = "countdown[threads,w=2]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a bench-all run folder (results/<run-id>)")
    parser.add_argument("independent", type=Path, help="the --json file of independent_countdown.py")
    opts = parser.parse_args()
    try:
        data = collect.load_runs([opts.run])
        targets = json.loads(opts.independent.read_text())["targets"]
    except (OSError, ValueError, KeyError, collect.ResultsError) as exc:
        parser.error(str(exc))
    derived = analysis.analyse(data.benchmarks, data.envs).derived
    rows = derived[derived["name"] == NAME].set_index("env")
    print("| interpreter | gilbench (95% CI) | independent geomean (95% CI) | median | apart | within ±5%? |")
    print("|---|---|---|---|---|---|")
    for _, env in data.envs.iterrows():
        gil = env["python_gil_env"] or None
        match = [t for t in targets if os.path.realpath(t["python"]) == os.path.realpath(env["executable"])
                 and t["env"].get("PYTHON_GIL") == gil]  # fmt: skip
        if not match or env["env"] not in rows.index:
            continue
        # Summarized afresh from the raw pairs, so files written before a statistic was added still compare.
        pairs = [(p["a"], p["b"]) for p in match[0]["pairs"]]
        theirs = independent_countdown.summarize(match[0]["summary"]["n"], pairs)
        ours = rows.loc[env["env"]]
        lo, hi = theirs["geomean_ci95"]
        apart = ours["speedup"] / theirs["geomean_ratio"] - 1
        print("| %s %s%s | %.2f× (%.2f–%.2f) | %.2f× (%.2f–%.2f) | %.2f× | %+.0f%% | %s |" % (
            env["implementation"], env["version"] + ("t" if env["free_threaded_build"] else ""),
            ", PYTHON_GIL=%s" % gil if gil else "",
            ours["speedup"], ours["speedup_lo"], ours["speedup_hi"], theirs["geomean_ratio"], lo, hi,
            theirs["median_ratio"], 100 * apart, "yes" if abs(apart) <= 0.05 else "no"))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
