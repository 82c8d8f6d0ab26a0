"""The convoy effect (Beazley; bpo-7946): I/O latency next to CPU-bound threads.

A loopback TCP echo server thread answers a client (the measuring thread) while
``k`` CPU-bound threads spin.  On a GIL build, every time a blocked thread's data
arrives it must wait for the GIL, and a CPU-bound holder only lets go when the
switch interval expires — so each round trip costs up to two switch intervals.
Free-threaded builds have no such wait.

Each pyperf value is the latency of one request (``loops`` requests when pyperf
asks for more), so the pyperf file holds the latency distribution itself: p50 and
p99 come straight from the values, and requests/s is 1 / mean latency.
Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import atexit
import socket
import sys
import threading
import time
from typing import List, Optional

from workloads._registry import Bench, workload

MAX_SECONDS = 600.0  # no spinner or server outlives this, whatever happens
REQUEST_TIMEOUT = 30.0
PAYLOAD = b"x" * 64


class _Convoy:
    """Echo server + spinners + a connected client, built once per worker process."""

    def __init__(self, spinners: int, switch_ms: float) -> None:
        sys.setswitchinterval(switch_ms / 1000.0)
        self.deadline = time.monotonic() + MAX_SECONDS
        self.stop = threading.Event()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(REQUEST_TIMEOUT)
        self.threads: List[threading.Thread] = [threading.Thread(target=self._serve, args=(listener,), daemon=True)]
        self.threads += [threading.Thread(target=self._spin, daemon=True) for _ in range(spinners)]
        for thread in self.threads:
            thread.start()
        self.client = socket.create_connection(listener.getsockname(), timeout=REQUEST_TIMEOUT)
        self.client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        atexit.register(self.close)

    def _running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def _serve(self, listener: socket.socket) -> None:
        conn, _ = listener.accept()
        listener.close()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(1.0)
        with conn:
            while self._running():
                try:
                    data = conn.recv(len(PAYLOAD))
                except socket.timeout:
                    continue
                if not data:
                    return
                conn.sendall(data)

    def _spin(self) -> None:
        x = 0
        while self._running():
            for _ in range(10_000):  # pure-Python CPU work between stop checks
                x += 1

    def request(self) -> float:
        start = time.perf_counter()
        self.client.sendall(PAYLOAD)
        received = 0
        while received < len(PAYLOAD):
            chunk = self.client.recv(len(PAYLOAD) - received)
            if not chunk:
                raise ConnectionError("echo server closed the connection")
            received += len(chunk)
        return time.perf_counter() - start

    def close(self) -> None:
        self.stop.set()
        self.client.close()
        for thread in self.threads:
            thread.join(5.0)


_STATE: Optional[_Convoy] = None


def _start(bench: Bench) -> None:
    """Before any value: server, spinners and client up, the switch interval in force."""
    global _STATE
    _STATE = _Convoy(bench.workers, float(bench.param_dict["switch_ms"]))


@workload(
    size=1,
    modes=("threads",),
    self_timed=True,
    # k sweep at the default switch interval; switch-interval sweep with one spinner
    # (a request costs up to two switch intervals beside a spinner: longer intervals
    # would cost minutes per interpreter at the 300 requests a configuration gets)
    params=(
        {"switch_ms": 5, "workers": (0, 1, 2)},
        {"switch_ms": 0.5, "workers": (1,)},
        {"switch_ms": 2, "workers": (1,)},
    ),
    tags=("latency", "io"),
    roles=("latency",),
    setup=_start,
)
def convoy(loops: int, bench: Bench) -> float:
    """Echo request latency on loopback while k CPU-bound threads run, per switch interval."""
    if _STATE is None:  # called without the runner's setup (a test, say)
        _start(bench)
    assert _STATE is not None
    return sum(_STATE.request() for _ in range(loops))
