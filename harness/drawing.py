"""Drawing a report's charts: in this process, and in processes started beside it.

A report of many workloads has tens of charts, and matplotlib draws one in a fifth of a
second at best, so a report of 10,000 benchmarks spent most of its time drawing, on one
CPU.  ``Drawer`` starts a worker process per spare CPU once a page has placed enough
charts to pay for one (a worker imports matplotlib and pandas first, about a second),
and feeds each worker the next chart as soon as it is free; this process builds the
rest of the page meanwhile, then draws the charts no worker has taken, from the last one
back.  Each chart is a function of its arguments (``harness.charts``), so its SVG is the
same whichever process draws it.

A worker is a fresh interpreter (``WORKER``, or ``python -m harness.drawing``) that
imports the charts and nothing else, reading pickled ``Drawing`` objects on stdin and
writing their SVG on stdout.  Not a ``multiprocessing`` pool: that re-imports the caller's main script in every
worker, and never forks a process that runs threads.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pickle
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable

POOL_AFTER = 8  # charts placed before workers start: fewer draw here sooner than a worker starts
MAX_WORKERS = 8
READY = "ready"


@dataclass(frozen=True)
class Drawing:
    """A chart to draw: ``draw(*args)`` is its SVG.  ``draw`` is a module-level function
    and ``args`` are picklable (frames, dicts): a drawing may travel to another process."""

    name: str
    draw: Callable[..., str]
    args: tuple[Any, ...]

    def __call__(self) -> str:
        return self.draw(*self.args)


def spare_cpus() -> int:
    """The CPUs this process may use, less the one it runs on (at most ``MAX_WORKERS``)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(0, min(cpus - 1, MAX_WORKERS))


class Drawer:
    """Draws the charts ``add``-ed to it; ``result`` is every SVG, by name, in order.

    ``workers``: processes beside this one (default: one per spare CPU; 0 draws here only).
    Use it as a context manager, so that its workers end with it."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = spare_cpus() if workers is None else workers
        self.drawings: list[Drawing] = []
        self._queue: collections.deque[Drawing] = collections.deque()
        self._svgs: dict[str, str] = {}
        self._lock = threading.Condition()
        self._closed = False
        self._feeders: list[threading.Thread] = []
        self._processes: list[subprocess.Popen[bytes]] = []

    def add(self, drawing: Drawing) -> None:
        with self._lock:
            self.drawings.append(drawing)
            self._queue.append(drawing)
            self._lock.notify()
        if not self._processes and self.workers > 0 and len(self.drawings) >= POOL_AFTER:
            self._start()

    def _start(self) -> None:
        for _ in range(self.workers):
            process = subprocess.Popen(WORKER, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self._processes.append(process)
            feeder = threading.Thread(target=self._feed, args=(process,), daemon=True)
            feeder.start()
            self._feeders.append(feeder)

    def _take(self, wait: bool) -> Drawing | None:
        """The next chart for a worker (the oldest queued), waiting for one while the page
        is still being built; None once every chart is taken."""
        with self._lock:
            while wait and not self._queue and not self._closed:
                self._lock.wait()
            return self._queue.popleft() if self._queue else None

    def _feed(self, process: subprocess.Popen[bytes]) -> None:
        """Give ``process`` one chart at a time; a chart it could not draw goes back to the queue."""
        assert process.stdin is not None and process.stdout is not None
        try:
            if pickle.load(process.stdout) != READY:
                return
        except (EOFError, pickle.UnpicklingError):
            return
        while (drawing := self._take(wait=True)) is not None:
            try:
                pickle.dump(drawing, process.stdin)
                process.stdin.flush()
                ok, svg = pickle.load(process.stdout)
            except (OSError, EOFError, pickle.UnpicklingError):
                ok = False
            with self._lock:
                if ok:
                    self._svgs[drawing.name] = svg
                else:  # this process draws it, and raises what the chart raises
                    self._queue.append(drawing)
                self._lock.notify_all()
            if not ok:
                return

    def result(self) -> dict[str, str]:
        """Every chart's SVG: this process draws those no worker has taken, last first,
        and waits for the workers' charts."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        while True:
            with self._lock:
                # a chart is queued, taken by a worker (who notifies when done), or drawn
                while not self._queue and len(self._svgs) < len(self.drawings):
                    self._lock.wait()
                if not self._queue:
                    return {d.name: self._svgs[d.name] for d in self.drawings}
                drawing = self._queue.pop()
            svg = drawing()
            with self._lock:
                self._svgs[drawing.name] = svg

    def close(self) -> None:
        """Stop feeding the workers and let them go: each ends at the end of its input.
        Their exit (an interpreter's shutdown, a fifth of a second) is waited for in a
        thread of its own, so the page is not."""
        with self._lock:
            self._closed = True
            self._queue.clear()
            self._lock.notify_all()
        for feeder in self._feeders:
            feeder.join()
        for process in self._processes:
            if process.stdin is not None:
                with contextlib.suppress(OSError):  # a worker that died leaves a broken pipe
                    process.stdin.close()
            threading.Thread(target=_reap, args=(process,), daemon=True).start()
        self._processes, self._feeders = [], []

    def __enter__(self) -> Drawer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Wait for a worker told to end, killing it if it does not within a minute."""
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """A worker: draw each pickled ``Drawing`` read from ``requests``, reply ``(True, svg)``,
    or ``(False, None)`` where the chart raised (its caller draws it again, and raises)."""
    import harness.charts  # noqa: F401  (before saying ready: the import is most of a worker's start)

    pickle.dump(READY, replies)
    replies.flush()
    while True:
        try:
            drawing = pickle.load(requests)
        except EOFError:
            return
        try:
            reply: tuple[bool, str | None] = (True, drawing())
        except Exception:
            reply = (False, None)
        pickle.dump(reply, replies)
        replies.flush()


def worker() -> None:
    """A worker process's main: replies on stdout, and anything a chart prints goes to stderr."""
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, channel)


# The worker's command line: this interpreter, finding ``harness`` as this process does
# (same environment, same working directory), else where this one was imported from;
# appended to the path, never ahead of the standard library.
WORKER = [
    sys.executable,
    "-c",
    "import sys; sys.path.append(%r); from harness.drawing import worker; worker()" % str(Path(__file__).parents[1]),
]

if __name__ == "__main__":
    worker()
