"""A GIL timeline: when each thread actually ran, over a fraction of a second.

Beazley's gilvis, from a real run.  ``k`` threads run countdown in ~0.2 ms slices
and, after every slice, note the wall clock and their own CPU clock
(``time.thread_time``).  A slice whose wall time is mostly CPU time was running;
a slice stretched far beyond its CPU time spent the difference waiting (for the
GIL, or for a core).  The threads time themselves rather than being sampled by a
watcher thread: a watcher would need the GIL too and distort what it draws, and a
watcher process starves on a 2-core machine once two threads really run in
parallel.  Standard library only; works wherever ``time.thread_time`` does.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any, Dict, List, Tuple

from workloads import _meta, _results

FORMAT = "gilbench-timeline/2"
SLICE_SECONDS = 0.0002


def _spin(stop: threading.Event, ready: threading.Barrier, marks: List[Tuple[float, float]]) -> None:
    perf, cpu = time.perf_counter, time.thread_time
    ready.wait()
    last = perf()
    marks.append((last, cpu()))
    while not stop.is_set():
        while perf() - last < SLICE_SECONDS:
            n = 1000
            while n > 0:  # countdown, in short runs between clock reads
                n -= 1
        last = perf()
        marks.append((last, cpu()))


def capture(threads: int, seconds: float) -> Dict[str, Any]:
    """Run ``threads`` countdown threads for ``seconds``; return each thread's slices.

    For thread i, ``slices[i]`` is a list of ``[start, end, cpu_fraction]`` with
    times in seconds from the common start.
    """
    stop = threading.Event()
    ready = threading.Barrier(threads + 1, timeout=30)
    marks: List[List[Tuple[float, float]]] = [[] for _ in range(threads)]
    workers = [threading.Thread(target=_spin, args=(stop, ready, marks[i]), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join(30)
    slices = []
    for thread_marks in marks:
        rows = []
        for (w0, c0), (w1, c1) in zip(thread_marks, thread_marks[1:]):
            wall = w1 - w0
            rows.append([round(w0 - start, 6), round(w1 - start, 6), round((c1 - c0) / wall, 3) if wall > 0 else 0.0])
        slices.append(rows)
    return {"threads": threads, "seconds": seconds, "slice_seconds": SLICE_SECONDS, "slices": slices}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m workloads._timeline", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=0.2)
    parser.add_argument("--env", default="")
    parser.add_argument("--run-id", default="")
    parser.add_argument("-o", "--output", help="write JSON here (default: stdout)")
    args = parser.parse_args()
    data = capture(args.threads, args.seconds)
    data.update(
        format=FORMAT,
        env=args.env,
        run_id=args.run_id,
        workload="countdown",
        switch_interval=sys.getswitchinterval(),
        interpreter=_meta.interpreter_facts(),
    )
    if args.output:
        _results.atomic_write_json(args.output, data)
    else:
        json.dump(data, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
