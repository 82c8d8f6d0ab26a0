"""Whether a kernel scales, in words decided on its interval, and what its process did instead.

Why this module exists.  CPython's ``Tools/ftscalingbench/ftscalingbench.py`` prints one
reading per kernel, "N× faster" or "slower", coloured red at 1.1× or below and yellow
below N/2.  One reading is not enough on a shared machine: fifteen runs of one kernel on
this project's 3.13.5t at two threads read anywhere from 1.0× to 2.6×.  gilbench measures
each speedup in rounds with a 95% interval, so the words here are decided on the interval,
never on the point: a kernel is said to scale only when the whole interval says so, and
is "undecided" when the interval spans two answers.

The speedup axis is cut into four zones (``ZONES``), at 1 (serial), at ``RED`` = 1.1×
(ftscalingbench's red: at most a tenth faster than one thread) and at the *scaling cut*,
half of the gain the machine allows: ``1 + (ceiling - 1) / 2``, where the ceiling is
``min(k, capacity)``, the machine's capacity measured at k workers (``harness.capacity``)
or k where none was measured.  Why half the gain: ftscalingbench's yellow ends at N/2, half
the ideal speedup, at N = 8 to 18 threads; there half the gain, (N + 1) / 2, is nearly the
same cut.  At the worker counts a 2-CPU machine measures, N/2 = 1 lies below ftscalingbench's
own red cut, so it has no middle colour there; half the gain keeps one (1.4× when the
machine allows 1.8×).  Where the machine allowed so little that the cut would fall below
``RED``, it is ``RED``: anything clearly faster than that scaled as far as it could.

``verdict`` decides:

* no interval (fewer than two rounds): undecided;
* the interval below 1: *slower than serial* (its upper end excludes serial speed);
* the interval containing 1 and ending at most at ``RED``: *does not scale*; the same
  above 1: no more than a tenth faster is ftscalingbench's red;
* otherwise the zone that holds the whole interval, allowing it to overhang a cut by
  ``TOLERANCE`` (2%, within the default profile's ±3% precision target: the cuts are
  conventions, not facts, and a 0.5% overhang should not make a kernel undecided); when
  two zones qualify (a narrow interval on a cut), the one holding more of it;
* an interval that spans zones beyond that is *undecided*, and says between which.

The reasons: what the benchmark processes recorded beside the values at one worker and
at N (``Counters``, from ``harness.collect``'s per-round columns): the share of the time
the threads waited (``thread_cpu_share``), garbage collections inside the timed region
and their pause (``gc_collections``, ``gc_pause``: ``gc.callbacks``, absent on PyPy), and
the resident set's growth per value (``rss_growth``, Linux).  Lock contention has no
counter outside a special build (``LOCK_CONTENTION``), and each row says so.

``scaling_table`` puts both together for a run: the family's threads speedups from
``harness.analysis.derive``, each with its verdict and, where it does not scale, its reason.

Pure functions of numbers and frames: numpy and pandas only, no files, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

SLOWER = "slower than serial"
DOES_NOT = "does not scale"
PARTLY = "partly"
SCALES = "scales"
UNDECIDED = "undecided"
ZONES = (SLOWER, DOES_NOT, PARTLY, SCALES)  # in order along the speedup axis
VERDICTS = (*ZONES, UNDECIDED)

RED = 1.1  # ftscalingbench colours a speedup at or below 1.1x red
GAIN_SHARE = 0.5  # "scales" from half of the gain the machine allows: 1 + GAIN_SHARE * (ceiling - 1)
TOLERANCE = 0.02  # how far an interval may overhang a cut and still be inside a zone

# CPython counts lock contention (``mutex_sleeps``) only in an ``--enable-pystats`` build, and
# writes it to a file at exit rather than to Python (python/cpython#131253, #137189); no
# interpreter gilbench measures exposes one, so every reason names the gap.
LOCK_CONTENTION = "lock contention: not exposed by this interpreter"


@dataclass(frozen=True)
class Verdict:
    """A speedup's verdict: ``word`` (one of ``VERDICTS``), the zones its interval spans
    (one where decided), and the cuts it was judged against."""

    word: str
    spans: tuple[str, ...]
    ceiling: float
    cut: float

    @property
    def text(self) -> str:
        """``scales``, or ``undecided (partly or scales)``; ``undecided (no interval)``."""
        if self.word != UNDECIDED:
            return self.word
        return "%s (%s)" % (UNDECIDED, " or ".join(self.spans) if self.spans else "no interval")


def ceiling(workers: int, capacity: Optional[float] = None) -> float:
    """The most speedup the machine allowed at ``workers``: ``min(workers, capacity)``,
    ``workers`` where no capacity was measured (None or NaN)."""
    if capacity is None or not math.isfinite(capacity) or capacity <= 0:
        return float(workers)
    return min(float(workers), float(capacity))


def scaling_cut(workers: int, capacity: Optional[float] = None) -> float:
    """Where "scales" begins: half of the gain the machine allows, at least ``RED``."""
    return max(RED, 1.0 + GAIN_SHARE * (ceiling(workers, capacity) - 1.0))


def _zone_bounds(cut: float) -> dict[str, tuple[float, float]]:
    return {SLOWER: (0.0, 1.0), DOES_NOT: (1.0, RED), PARTLY: (RED, cut), SCALES: (cut, math.inf)}


def verdict(lo: float, hi: float, workers: int, capacity: Optional[float] = None) -> Verdict:
    """The verdict on a speedup at ``workers`` (≥ 2) whose 95% interval is (``lo``, ``hi``),
    on a machine whose capacity at ``workers`` was ``capacity`` (None: not measured).

    Decided on the interval alone, as the module says; ValueError for fewer than two
    workers (one worker is serial itself) or an interval with ``lo > hi``.
    """
    if workers < 2:
        raise ValueError("a scaling verdict needs at least two workers, got %d" % workers)
    top, cut = ceiling(workers, capacity), scaling_cut(workers, capacity)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0:
        return Verdict(UNDECIDED, (), top, cut)
    if lo > hi:
        raise ValueError("interval (%g, %g): lo above hi" % (lo, hi))
    if hi < 1.0:
        return Verdict(SLOWER, (SLOWER,), top, cut)
    bounds = _zone_bounds(cut)
    spans = tuple(z for z, (a, b) in bounds.items() if lo < b and hi > a and a < b)
    if lo <= 1.0:  # serial speed not excluded: below 1 is "does not scale" too, not "slower"
        if hi <= RED * (1 + TOLERANCE):
            return Verdict(DOES_NOT, (DOES_NOT,), top, cut)
        return Verdict(UNDECIDED, tuple(z for z in spans if z != SLOWER), top, cut)
    inside = [z for z in spans if lo >= bounds[z][0] / (1 + TOLERANCE) and hi <= bounds[z][1] * (1 + TOLERANCE)]
    if not inside:
        return Verdict(UNDECIDED, spans, top, cut)
    best = max(inside, key=lambda z: _overlap(lo, hi, *bounds[z]))
    return Verdict(best, (best,), top, cut)


def _overlap(lo: float, hi: float, a: float, b: float) -> float:
    """How much of (lo, hi) lies in (a, b), on the log scale."""
    top, bottom = min(hi, b), max(lo, a)
    return math.log(top / bottom) if top > bottom > 0 else 0.0


def verdict_frame(
    frame: pd.DataFrame,
    lo: str = "speedup_lo",
    hi: str = "speedup_hi",
    workers: str = "workers",
    capacity: Optional[str] = "capacity",
) -> pd.DataFrame:
    """``verdict`` for every row of ``frame``: columns ``verdict`` (the word), ``verdict_text``,
    ``ceiling`` and ``scaling_cut``, on ``frame``'s index.  ``capacity`` may name a column
    that is absent (or be None): no capacity then for any row."""
    caps: Sequence[Any] = frame[capacity] if capacity and capacity in frame else [None] * len(frame)
    rows = [
        verdict(float(a), float(b), int(k), None if c is None or pd.isna(c) else float(c))
        for a, b, k, c in zip(frame[lo], frame[hi], frame[workers], caps)
    ]
    return pd.DataFrame(
        {
            "verdict": [v.word for v in rows],
            "verdict_text": [v.text for v in rows],
            "ceiling": [v.ceiling for v in rows],
            "scaling_cut": [v.cut for v in rows],
        },
        index=frame.index,
    )


# -- reasons --------------------------------------------------------------------------------

MIB = 1024.0 * 1024.0


@dataclass(frozen=True)
class Counters:
    """What the benchmark processes recorded beside one benchmark's values, means over
    rounds; NaN where nothing was recorded (PyPy has no ``gc.callbacks``, non-Linux no RSS).

    ``cpu_share``: the threads' CPU time over workers × makespan; ``gc_collections`` and
    ``gc_pause``: collections started inside a value's timed region and their seconds, per
    value; ``rss_growth``: bytes the resident set grew across a value; ``seconds``: the
    mean value.
    """

    workers: int
    cpu_share: float = math.nan
    gc_collections: float = math.nan
    gc_pause: float = math.nan
    rss_growth: float = math.nan
    seconds: float = math.nan

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Counters:
        """From a benchmark row of ``harness.collect`` (per-round dicts: round -> value)."""

        def mean(column: str) -> float:
            values = row.get(column)
            if not isinstance(values, Mapping) or not values:
                return math.nan
            return float(np.mean([float(v) for v in values.values()]))

        return cls(
            workers=int(row["workers"]),
            cpu_share=mean("cpu_share"),
            gc_collections=mean("gc_collections"),
            gc_pause=mean("gc_pause"),
            rss_growth=mean("rss_growth"),
            seconds=mean("rounds"),
        )


def _threads(k: int) -> str:
    return "%d thread%s" % (k, "" if k == 1 else "s")


def _waiting(c: Counters) -> str:
    return "%.0f%%" % (100 * max(0.0, 1.0 - c.cpu_share))


def _gc(c: Counters) -> str:
    return "%.3g collections, %.3g ms" % (c.gc_collections, 1e3 * c.gc_pause)


def _rss(c: Counters) -> str:
    if abs(c.rss_growth) >= MIB:
        return "%+.3g MiB" % (c.rss_growth / MIB)
    return "%+.0f KiB" % (c.rss_growth / 1024)


def reasons(one: Counters, many: Counters) -> list[str]:
    """Short phrases on what the process did at ``many.workers`` threads, beside one
    thread (``one``): the waiting share, garbage collection per value, RSS growth per value,
    and lock contention, each saying so where the interpreter recorded nothing."""
    n, base = _threads(many.workers), _threads(one.workers)
    out = []
    if math.isfinite(many.cpu_share):
        tail = " (%s: %s)" % (base, _waiting(one)) if math.isfinite(one.cpu_share) else ""
        out.append("waiting %s of the time at %s%s" % (_waiting(many), n, tail))
    else:
        out.append("waiting share: not recorded")
    if not math.isfinite(many.gc_collections):
        out.append("GC: not recorded by this interpreter")
    elif many.gc_collections == 0 and not one.gc_collections:
        out.append("GC: no collection while timed")
    else:
        tail = " (%s: %s)" % (base, _gc(one)) if math.isfinite(one.gc_collections) else ""
        out.append("GC: %s per value at %s%s" % (_gc(many), n, tail))
    if math.isfinite(many.rss_growth):
        tail = " (%s: %s)" % (base, _rss(one)) if math.isfinite(one.rss_growth) else ""
        out.append("RSS %s per value at %s%s" % (_rss(many), n, tail))
    else:
        out.append("RSS: not recorded")
    out.append(LOCK_CONTENTION)
    return out


def reason_text(one: Counters, many: Counters) -> str:
    """``reasons`` as one line, for a table cell."""
    return "; ".join(reasons(one, many))


# -- the family's table ----------------------------------------------------------------------

SCALING_COLUMNS = [
    "run_id",
    "env",
    "workload",
    "params",
    "workers",
    "speedup",
    "speedup_lo",
    "speedup_hi",
    "capacity",
    "verdict",
    "verdict_text",
    "reason",
]


def scaling_table(derived: pd.DataFrame, benchmarks: pd.DataFrame, suite: str = "scaling") -> pd.DataFrame:
    """The family ``suite``'s threads speedups with their verdicts, and a reason beside every
    verdict but "scales": one row per (run, env, kernel, worker count), ``SCALING_COLUMNS``.

    ``derived`` is ``harness.analysis.derive``'s frame (its ``name``, ``serial_name``,
    ``speedup``/``_lo``/``_hi`` and ``capacity`` columns); ``benchmarks`` is
    ``harness.collect``'s, whose ``suites`` say which workloads belong to the family and
    whose per-round counters give the reasons, at one thread from the serial benchmark.
    Empty (with the columns) when the run measured none of the family.
    """
    if derived.empty or benchmarks.empty or "suites" not in benchmarks:
        return pd.DataFrame(columns=SCALING_COLUMNS)
    rows = {(r["run_id"], r["env"], r["name"]): r for r in benchmarks.to_dict("records")}
    members = {key for key, r in rows.items() if suite in (r.get("suites") or ())}
    member = np.array([key in members for key in zip(derived["run_id"], derived["env"], derived["name"])], dtype=bool)
    threads = derived[(derived["mode"] == "threads").to_numpy() & member]
    if threads.empty:
        return pd.DataFrame(columns=SCALING_COLUMNS)
    out = threads.reset_index(drop=True)
    if "capacity" not in out:
        out["capacity"] = np.nan
    out = pd.concat([out, verdict_frame(out)], axis=1)
    reasons_ = []
    for row in out.to_dict("records"):
        if row["verdict"] == SCALES:
            reasons_.append("")
            continue
        one = rows.get((row["run_id"], row["env"], row["serial_name"]))
        many = rows[(row["run_id"], row["env"], row["name"])]
        reasons_.append(reason_text(Counters.from_row(one) if one else Counters(1), Counters.from_row(many)))
    out["reason"] = reasons_
    return out[SCALING_COLUMNS].sort_values(["run_id", "env", "workload", "params", "workers"]).reset_index(drop=True)
