"""What gilbench's measuring costs: its timing against bare pyperf, and a process's fixed cost.

Times serial countdown two ways on one interpreter, the two alternating process by
process so drift hits both: gilbench's benchmark process (``workloads.host.worker_command``:
a block of one benchmark, as bench-all starts it) and a bare ``pyperf.Runner().bench_func``
worker.  Prints T(gilbench) / T(bare pyperf) with a 95% interval paired by process
(``harness.stats``; target 1.00 ± 0.03: gilbench runs the work in one fresh thread in a
random memory layout, the bare script in pyperf's main thread, so a few percent either
way are that difference), and the wall time of a gilbench process beyond its values.

    .tox/bench-all/bin/python -m tools.harness_overhead --python .tox/bench-py312/bin/python
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyperf

from harness.stats import paired_ratio
from workloads.host import PROFILES, BenchSpec, worker_command

BARE = """\
import pyperf
from workloads.cpu import countdown

pyperf.Runner().bench_func("countdown", countdown, {size})
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter with gilbench installed")
    parser.add_argument("--size", type=int, default=1_000_000, help="countdown steps per value")
    parser.add_argument("--processes", type=int, default=20, help="processes of each kind, alternating")
    parser.add_argument("--values", type=int, default=4)
    args = parser.parse_args(argv)
    means: dict[str, dict[int, float]] = {"gilbench": {}, "bare pyperf": {}}
    fixed: list[float] = []
    serial = BenchSpec(
        name="countdown[serial]", workload="countdown", module="workloads.cpu", mode="serial", workers=1, size=args.size
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "bare.py"
        script.write_text(BARE.format(size=args.size))
        for index in range(args.processes):
            output = {name: folder / ("%s-%d.json" % (name.replace(" ", "-"), index)) for name in means}
            commands = {
                "gilbench": worker_command(
                    args.python,
                    [serial],
                    str(output["gilbench"]),
                    round_=index,
                    profile=PROFILES["default"],
                    run_id="overhead",
                    env="overhead",
                    values=args.values,
                ),
                "bare pyperf": [
                    args.python,
                    str(script),
                    "--worker",
                    "--values",
                    str(args.values),
                    "--warmups",
                    "1",
                    "--loops",
                    "1",
                    "--output",
                    str(output["bare pyperf"]),
                ],
            }
            for name in list(commands)[:: 1 if index % 2 == 0 else -1]:
                started = time.monotonic()
                subprocess.run(commands[name], check=True, cwd=tmp, capture_output=True)
                wall = time.monotonic() - started
                run = pyperf.BenchmarkSuite.load(str(output[name])).get_benchmarks()[0].get_runs()[0]
                means[name][index] = sum(run.values) / len(run.values)
                if name == "gilbench":
                    fixed.append(wall - sum(run.values) - sum(w for _, w in run.warmups or ()))
    r = paired_ratio(means["gilbench"], means["bare pyperf"])
    verdict = "within target" if 0.97 <= r.value <= 1.03 else "OUTSIDE the 1.00 ± 0.03 target"
    print(
        "T(gilbench) / T(bare pyperf) = %.3f (95%% CI %.3f–%.3f), %d processes each: %s"
        % (r.value, r.lo, r.hi, r.n, verdict)
    )
    print("a gilbench process costs %.2f s beyond its values (median)" % sorted(fixed)[len(fixed) // 2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
