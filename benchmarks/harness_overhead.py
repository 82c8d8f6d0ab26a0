"""Does gilbench's timing add anything?  Serial countdown, gilbench vs bare pyperf.

Times the same function with the same pyperf settings two ways on one interpreter:
gilbench's runner (``python -m workloads._runner``, serial mode) and a bare
``pyperf.Runner().bench_func`` script.  The two alternate over several rounds so
drift hits both, and the ratio T(gilbench) / T(bare) is printed with a 95%
interval paired by round (``harness.stats``).  Target: 1.00 ± 0.03.  gilbench's
serial runs the work in a fresh worker thread (the same code path as its thread
modes), the bare script in pyperf's main thread: the ratio includes that
difference, 0-5% depending on the build.

    python benchmarks/harness_overhead.py [--python /path/to/python] [--rounds 3]

The interpreter needs pyperf and the gilbench package installed (any bench env's
python does, e.g. .tox/bench-py312/bin/python).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pyperf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.stats import paired_ratio

BARE = """\
import pyperf
from workloads.cpu import countdown

pyperf.Runner().bench_func("countdown", countdown, {size})
"""


def pyperf_args(args: argparse.Namespace, output: Path) -> list[str]:
    return ["--processes", str(args.processes), "--values", str(args.values), "--warmups", "1", "--loops", "1",
            "--quiet", "--output", str(output)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure (default: this one)")
    parser.add_argument("--size", type=int, default=1_000_000, help="countdown iterations per value")
    parser.add_argument("--processes", type=int, default=6)
    parser.add_argument("--values", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each")
    args = parser.parse_args()
    runs: dict[str, dict[int, list[float]]] = {"gilbench": {}, "bare pyperf": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "bare.py"
        script.write_text(BARE.format(size=args.size))
        for round_ in range(args.rounds):
            commands = {
                "gilbench": [args.python, "-m", "workloads._runner", "--module", "workloads.cpu", "--workload",
                             "countdown", "--mode", "serial", "--workers", "1", "--size", str(args.size),
                             "--bench-profile", "default", "--run-id", "overhead", "--env", "overhead"],
                "bare pyperf": [args.python, str(script)],
            }  # fmt: skip
            for name, command in commands.items():
                output = folder / ("%s-%d.json" % (name.replace(" ", "-"), round_))
                subprocess.run(command + pyperf_args(args, output), check=True, cwd=tmp)
                bench = pyperf.Benchmark.load(str(output))
                runs[name][round_] = [v for run in bench.get_runs() for v in run.values]
    means = {name: {r: sum(v) / len(v) for r, v in rounds.items()} for name, rounds in runs.items()}
    for name, rounds in runs.items():
        flat = [v for values in rounds.values() for v in values]
        print("%-12s %3d values, mean %.3f ms" % (name, len(flat), 1e3 * sum(flat) / len(flat)))
    r = paired_ratio(means["gilbench"], means["bare pyperf"])
    verdict = "within target" if 0.97 <= r.value <= 1.03 else "OUTSIDE the 1.00 ± 0.03 target"
    print("T(gilbench) / T(bare pyperf) = %.3f (95%% CI %.3f–%.3f): %s" % (r.value, r.lo, r.hi, verdict))


if __name__ == "__main__":
    main()
