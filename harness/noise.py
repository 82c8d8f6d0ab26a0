"""How much the machine's own speed wanders while a run measures.

Why this module exists.  On a shared VM (this project's machines are 2-vCPU KVM
guests) the speed of one core changes by tens of percent from one tenth of a second
to the next, because of other tenants; ``tools/machine_noise.py`` measures
that spectrum.  Pairing by round cancels a slow spell only when it lasts as long as
the two processes of a ratio are apart, so noise that decorrelates within a second
reaches every interval, and it, not the interpreters, bounds the precision a run can
reach in a given time.  bench-all therefore times a fixed pure-Python loop on the
host before every round and records it in the manifest; the report shows that
spread beside the precision reached, so a wide interval can be told apart from a
noisy workload.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

PROBE_SECONDS = 1.5  # per round: next to a round of minutes, negligible
VALUE_SECONDS = 0.02  # one value of the fixed loop; short enough to see sub-second spells


def spin(count: int) -> None:
    """The fixed loop: a countdown, the same pure-Python work the flagship workload does."""
    while count:
        count -= 1


def loop_count(value: float = VALUE_SECONDS) -> int:
    """Iterations of ``spin`` that take about ``value`` seconds here (doubling, then scaled)."""
    count = 1000
    while True:
        t0 = time.perf_counter()
        spin(count)
        took = time.perf_counter() - t0
        if took >= value / 4:
            return max(1, int(count * value / took))
        count *= 2


def time_values(seconds: float, count: int) -> list[float]:
    """Time ``spin(count)`` back to back for ``seconds``: one value per call."""
    values = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(values) < 3:
        t0 = time.perf_counter()
        spin(count)
        values.append(time.perf_counter() - t0)
    return values


@dataclass(frozen=True)
class NoiseProbe:
    """One probe: the fixed loop timed back to back before a round."""

    round: int  # the round it preceded, from 1
    count: int  # iterations of ``spin`` per value, the same in every probe of a run; 0: not recorded
    values: int
    median: float  # seconds per value
    spread: float  # standard deviation of the log values: the noise of one value

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NoiseProbe:
        return cls(
            round=int(data["round"]),
            count=int(data.get("count", 0)),
            values=int(data["values"]),
            median=float(data["median"]),
            spread=float(data["spread"]),
        )


def summarize(round_: int, count: int, values: Sequence[float]) -> NoiseProbe:
    """The probe of ``values`` (positive times of ``spin(count)``); the spread is 0.0
    for fewer than two."""
    logs = [math.log(v) for v in values]
    spread = statistics.stdev(logs) if len(logs) > 1 else 0.0
    return NoiseProbe(round=round_, count=count, values=len(values), median=statistics.median(values), spread=spread)


def probe(round_: int, count: int, seconds: float = PROBE_SECONDS) -> NoiseProbe:
    """Time ``spin(count)`` for ``seconds`` and summarize it.  Calibrate ``count`` once
    per run (``loop_count``), so that the probes of its rounds time the same work."""
    return summarize(round_, count, time_values(seconds, count))


def drift(probes: Sequence[NoiseProbe]) -> float:
    """Standard deviation of the log time per iteration across rounds: how much the
    machine's speed moved between rounds (NaN for fewer than two probes that recorded
    their count: the first runs with probes recalibrated the loop every round)."""
    known = [p for p in probes if p.count]
    if len(known) < 2:
        return math.nan
    return statistics.stdev(math.log(p.median / p.count) for p in known)


def describe(probes: Sequence[NoiseProbe]) -> str:
    """One sentence for the report: the noise of one value and the drift between rounds."""
    if not probes:
        return ""
    spread = statistics.median(p.spread for p in probes)
    text = "Machine noise, from a fixed loop timed for %.1f s before each round: " % PROBE_SECONDS
    text += "one %.0f ms value varied by ±%.0f%% " % (1000 * statistics.median(p.median for p in probes), 100 * spread)
    moved = drift(probes)
    if math.isnan(moved):
        return text + "(standard deviation)."
    return text + "and the machine's speed by ±%.0f%% between rounds (standard deviations)." % (100 * moved)
