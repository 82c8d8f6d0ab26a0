"""The machine's parallel capacity: what k busy processes get done against one, now.

On a shared VM the second vCPU is not always there: a 2-vCPU guest's capacity for two
busy processes drifts within the hour, so a speedup measured at one moment says as much
about the machine then as about the code.  So bench-all times a fixed
pure-Python loop in k processes at once against one process alone, before every slot
of every round (``workloads.host.slots``), and the report sets each speedup beside
the capacity measured in the same rounds, with the *efficiency*: the speedup over that
capacity, what the code earned of what the machine allowed.

One probe is one short-lived child of the host's interpreter that forks k spinners
once, then alternates "one spinner alone" and "all k at once" (ABBA over ``pairs``
pairs); every spinner stamps its own start and end.  Capacity of a pair is
``k · T(one) / makespan(k)``: the throughput of k processes over one's.  A probe costs
about ``2 · pairs · 2 · seconds`` plus one process start (0.25 s by default).
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

PROBE_SECONDS = 0.05  # one spinner's value: long enough for a vCPU to be taken away, cheap enough to repeat
PROBE_PAIRS = 2  # ABBA: (one, k), (k, one)
PROBE_TIMEOUT = 60.0

# The child: standard library only.  argv: k, loop count (0: calibrate and print it), pairs.
CHILD = r"""
import json, os, sys, time

def spin(count):
    while count:
        count -= 1

k, count, pairs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
if count == 0:
    count = 1000
    while True:
        t0 = time.perf_counter(); spin(count); took = time.perf_counter() - t0
        if took >= float(sys.argv[4]) / 4:
            print(json.dumps({"count": int(count * float(sys.argv[4]) / took)})); sys.exit(0)
        count *= 2
go, back = [], os.pipe()
for _ in range(k):
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(w)
        while True:
            if os.read(r, 1) != b"g":
                os._exit(0)
            t0 = time.perf_counter(); spin(count); t1 = time.perf_counter()
            os.write(back[1], ("%r %r\n" % (t0, t1)).encode())
    os.close(r)
    go.append(w)
reader = os.fdopen(back[0])

def step(n):
    for w in go[:n]:
        os.write(w, b"g")
    stamps = [tuple(map(float, reader.readline().split())) for _ in range(n)]
    return max(e for _, e in stamps) - min(s for s, _ in stamps)

one, many = [], []
for i in range(pairs):
    for n in ((1, k) if i % 2 == 0 else (k, 1)):
        (one if n == 1 else many).append(step(n))
for w in go:
    os.write(w, b"q")
print(json.dumps({"one": one, "many": many}))
"""


@dataclass(frozen=True)
class CapacityProbe:
    """One capacity probe: ``k`` spinners at once against one alone, in one slot of a round."""

    round: int  # the round it ran in, from 1
    k: int
    one: tuple[float, ...]  # seconds of one spinner alone, one per pair
    many: tuple[float, ...]  # makespan of k spinners at once, one per pair

    @property
    def capacity(self) -> float:
        """``k · T(one) / makespan(k)``, the geometric mean over the pairs."""
        logs = [math.log(self.k * a / b) for a, b in zip(self.one, self.many)]
        return math.exp(statistics.fmean(logs))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CapacityProbe:
        return cls(
            round=int(data["round"]),
            k=int(data["k"]),
            one=tuple(map(float, data["one"])),
            many=tuple(map(float, data["many"])),
        )


def _child(*args: object) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CHILD, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT,
        check=True,
    )
    return json.loads(proc.stdout)


def loop_count(seconds: float = PROBE_SECONDS) -> int:
    """Iterations of the spinner's loop that take about ``seconds`` here; calibrated once
    per run, so every probe of the run times the same work."""
    return int(_child(1, 0, 0, seconds)["count"])


def probe(round_: int, k: int, count: int, pairs: int = PROBE_PAIRS) -> CapacityProbe:
    """One probe of ``k`` processes (see the module docstring)."""
    got = _child(k, count, pairs)
    return CapacityProbe(round=round_, k=k, one=tuple(got["one"]), many=tuple(got["many"]))


def probe_widths(worker_counts: Sequence[int], cpus: int) -> list[int]:
    """The k to probe for a run's worker counts: each above one, capped at the CPUs (more
    processes than CPUs can get no more than all of them), and each count above the CPUs
    as well: an oversubscribed speedup is read against what that many time-sliced
    processes got done, which on a run confined to one CPU is the only capacity there is
    to read it against (about 1×)."""
    capped = {min(k, cpus) for k in worker_counts if k > 1 and cpus > 1}
    return sorted(capped | {k for k in worker_counts if k > max(cpus, 1)})


def by_round(probes: Sequence[CapacityProbe]) -> dict[int, dict[int, float]]:
    """k -> round -> the round's capacity: the geometric mean over the round's probes."""
    logs: dict[int, dict[int, list[float]]] = {}
    for p in probes:
        logs.setdefault(p.k, {}).setdefault(p.round, []).append(math.log(p.capacity))
    return {k: {r: math.exp(statistics.fmean(v)) for r, v in rounds.items()} for k, rounds in logs.items()}
