"""How long do aggregation and rendering take for 10,000 benchmarks?

Builds a synthetic results folder shaped like two 16-core machines' fast runs
merged (pyperf files written through pyperf's own API, with gilbench metadata):
24 envs x 20 workloads x (serial + 3 modes x 7 worker counts) = 10,560
benchmarks of 2 processes x 3 values each.  Then times the two host stages:

- aggregation: ``collect.load_runs`` + ``analysis.analyse``
- rendering: the report's content (``model.build``), its page and charts
  (``sections.build``) and the HTML file (``report.render``)

Target: aggregation and rendering together <= 5 s.  The charts are drawn while the page is
built, in worker processes beside it (``harness.drawing``), so the two are timed together.
Each stage is timed ``--repeat`` times on the same data (default 3, the median is quoted),
with the machine's load average beside each rendering: on a shared machine, quote the
figures of a quiet moment.

A benchmark, not a test: run ``.tox/bench-all/bin/python -m tools.report_scale`` and read
the figures (about a minute: writing the synthetic run takes the first 20 s).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import pyperf

from harness import analysis, charts, collect, model, report, sections

LADDER = (1, 2, 3, 4, 8, 16, 32)
STAGES = ("collect", "analyse", "page + charts", "HTML", "in all")
CPUS = os.cpu_count() or 1
MODES = (("serial", (1,)), ("threads", LADDER), ("processes", LADDER), ("interpreters", LADDER))


def synthetic_run(folder: Path, envs: int, workloads: int, rng: random.Random) -> int:
    """Write ``envs`` pyperf files of ``workloads`` x 22 benchmarks; return the count."""
    count = 0
    for e in range(envs):
        ft = e % 3 == 2
        env = "bench-env%02d" % e
        benches = []
        for w in range(workloads):
            base = rng.uniform(0.02, 0.2)
            for mode, counts in MODES:
                for k in counts:
                    scale = 1.0 if mode == "serial" else min(k, 16) ** 0.9 if (mode != "threads" or ft) else 1.0
                    meta = {
                        "name": "wl%03d[%s,w=%d]" % (w, mode, k),
                        "workload": "wl%03d" % w,
                        "mode": mode,
                        "workers": k,
                        "env": env,
                        "run_id": folder.name,
                        "implementation": "cpython",
                        "version": "3.13.%d" % (e // 3),
                        "free_threaded_build": str(ft),
                        "gil_enabled": str(not ft),
                        "profile": "fast",
                        "work_size": 1000,
                        "cpu_count": 16,
                        "hostname": "synthetic",
                        "tags": ["cpu"],
                    }
                    runs = [
                        pyperf.Run(
                            [base / scale * rng.gauss(1, 0.03) for _ in range(3)], metadata=meta, collect_metadata=False
                        )
                        for _ in range(2)
                    ]
                    benches.append(pyperf.Benchmark(runs))
                    count += 1
        pyperf.BenchmarkSuite(benches).dump(str(folder / (env + ".json")))
    return count


def render(folder: Path) -> dict[str, float]:
    """Seconds per stage for one rendering of ``folder``, wall clock, as a fresh process
    would take them: without the scaling frames an earlier rendering left behind."""
    charts.clear_frames()
    t0 = time.perf_counter()
    data = collect.load_runs([folder])
    t1 = time.perf_counter()
    result = analysis.analyse(data.benchmarks, data.envs)
    t2 = time.perf_counter()
    view = sections.build(model.build(data, result))
    t3 = time.perf_counter()
    html = report.render(view)
    t4 = time.perf_counter()
    return {
        "collect": t1 - t0,
        "analyse": t2 - t1,
        "page + charts": t3 - t2,
        "HTML": t4 - t3,
        "in all": t4 - t0,
        "charts": len(view.svgs),
        "MB": len(html) / 1e6,
        "ratios": len(result.derived),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=24)
    parser.add_argument("--workloads", type=int, default=20, help="x 22 benchmarks each, per env")
    parser.add_argument("--repeat", type=int, default=3, help="renderings of the same data; the median is quoted")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "20260101T000000Z-synth0"
        folder.mkdir()
        count = synthetic_run(folder, args.envs, args.workloads, random.Random(1))
        runs = []
        for i in range(args.repeat):
            load = os.getloadavg()[0]
            runs.append(render(folder))
            print(
                "rendering %d: %s   (load average %.1f before, %.1f after, %d CPUs)"
                % (i + 1, "  ".join("%s %.2f s" % (k, runs[-1][k]) for k in STAGES), load, os.getloadavg()[0], CPUS)
            )
        first = runs[0]
        print("benchmarks:        %d (%d derived ratios)" % (count, first["ratios"]))
        for stage in STAGES:
            print("%-18s %.2f s (median of %d)" % (stage + ":", statistics.median(r[stage] for r in runs), len(runs)))
        print("charts:            %d, HTML %.1f MB" % (first["charts"], first["MB"]))
        print("target:            in all <= 5 s")


if __name__ == "__main__":
    main()
