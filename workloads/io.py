"""I/O-bound: threads that block with the GIL released.

``time.sleep`` and a socket wait both release the GIL while blocked, so these
scale with threads on every interpreter, GIL or not: the classic case where
threads are the right tool (processes would scale too, and say nothing new).
Each unit blocks for about 1 ms; loopback only.
"""

from __future__ import annotations

import socket
import time

from workloads._registry import THREAD_ONLY_MODES, workload

BLOCK_SECONDS = 0.001


@workload(size=200, modes=THREAD_ONLY_MODES, tags=("io",))
def sleep_io(n: int) -> None:
    """``time.sleep(1 ms)``, ``n`` times."""
    for _ in range(n):
        time.sleep(BLOCK_SECONDS)


@workload(size=200, modes=THREAD_ONLY_MODES, tags=("io",))
def socket_wait(n: int) -> None:
    """Wait 1 ms for data on a local socket pair that never receives any, ``n`` times."""
    left, right = socket.socketpair()
    try:
        left.settimeout(BLOCK_SECONDS)
        for _ in range(n):
            try:
                left.recv(1)
            except socket.timeout:
                pass
    finally:
        left.close()
        right.close()
