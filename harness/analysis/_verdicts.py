"""Whether a kernel scales, in words decided on its interval, what its process did
instead, and how a kernel's scaling changed from one free-threaded release to the next.

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

``scaling_verdict`` decides:

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
at N (``ProcessCounters``, from ``harness.collect``'s per-round columns): the share of the
time the threads waited (``thread_cpu_share``), garbage collections inside the timed
region and their pause (``gc_collections``, ``gc_pause``: ``gc.callbacks``, absent on
PyPy), and the resident set's growth per value (``rss_growth``, Linux).  Lock contention
has no counter outside a special build (``LOCK_CONTENTION``), and each row says so.

``scaling_table`` puts both together for a run: the family's threads speedups from
``derive``, each with its verdict and, where it does not scale, its reason; the analysis
keeps it as ``Analysis.scaling``.  ``scaling_gains`` holds each free-threaded release's
speedups against the previous release's in the same run (3.14t against 3.13t), kernel by
kernel: the ratio of the two speedups, paired by round like every other ratio
(``ratio_columns``), so a round that slowed the whole machine cancels from both.

Pure functions of numbers and frames: numpy and pandas only, no files, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from harness._frames import records
from harness.analysis._checks import AA_SUFFIX
from harness.analysis._pairs import successive_minors
from harness.analysis._ratios import PerRound, Sides, ratio_columns, rounds_of
from workloads.host import gil_forced

SLOWER = "slower than serial"
DOES_NOT = "does not scale"
PARTLY = "partly"
SCALES = "scales"
UNDECIDED = "undecided"
ZONES = (SLOWER, DOES_NOT, PARTLY, SCALES)  # in order along the speedup axis
SCALING_VERDICTS = (*ZONES, UNDECIDED)

RED = 1.1  # ftscalingbench colours a speedup at or below 1.1x red
GAIN_SHARE = 0.5  # "scales" from half of the gain the machine allows: 1 + GAIN_SHARE * (ceiling - 1)
TOLERANCE = 0.02  # how far an interval may overhang a cut and still be inside a zone

# CPython counts lock contention (``mutex_sleeps``) only in an ``--enable-pystats`` build, and
# writes it to a file at exit rather than to Python (python/cpython#131253, #137189); no
# interpreter gilbench measures exposes one, so every reason names the gap.
LOCK_CONTENTION = "lock contention: not exposed by this interpreter"


@dataclass(frozen=True)
class ScalingVerdict:
    """A speedup's verdict: ``word`` (one of ``SCALING_VERDICTS``), the zones its interval spans
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


def scaling_verdict(lo: float, hi: float, workers: int, capacity: Optional[float] = None) -> ScalingVerdict:
    """The verdict on a speedup at ``workers`` (≥ 2) whose 95% interval is (``lo``, ``hi``),
    on a machine whose capacity at ``workers`` was ``capacity`` (None: not measured).

    Decided on the interval alone, as the module says; ValueError for fewer than two
    workers (one worker is serial itself) or an interval with ``lo > hi``.
    """
    if workers < 2:
        raise ValueError("a scaling verdict needs at least two workers, got %d" % workers)
    top, cut = ceiling(workers, capacity), scaling_cut(workers, capacity)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0:
        return ScalingVerdict(UNDECIDED, (), top, cut)
    if lo > hi:
        raise ValueError("interval (%g, %g): lo above hi" % (lo, hi))
    if hi < 1.0:
        return ScalingVerdict(SLOWER, (SLOWER,), top, cut)
    bounds = _zone_bounds(cut)
    spans = tuple(z for z, (a, b) in bounds.items() if lo < b and hi > a and a < b)
    if lo <= 1.0:  # serial speed not excluded: below 1 is "does not scale" too, not "slower"
        if hi <= RED * (1 + TOLERANCE):
            return ScalingVerdict(DOES_NOT, (DOES_NOT,), top, cut)
        return ScalingVerdict(UNDECIDED, tuple(z for z in spans if z != SLOWER), top, cut)
    inside = [z for z in spans if lo >= bounds[z][0] / (1 + TOLERANCE) and hi <= bounds[z][1] * (1 + TOLERANCE)]
    if not inside:
        return ScalingVerdict(UNDECIDED, spans, top, cut)
    best = max(inside, key=lambda z: _overlap(lo, hi, *bounds[z]))
    return ScalingVerdict(best, (best,), top, cut)


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
    """``scaling_verdict`` for every row of ``frame``: columns ``verdict`` (the word), ``verdict_text``,
    ``ceiling`` and ``scaling_cut``, on ``frame``'s index.  ``capacity`` may name a column
    that is absent (or be None): no capacity then for any row."""
    caps: Sequence[Any] = frame[capacity] if capacity and capacity in frame else [None] * len(frame)
    rows = [
        scaling_verdict(float(a), float(b), int(k), None if c is None or pd.isna(c) else float(c))
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
class ProcessCounters:
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
    def from_row(cls, row: Mapping[str, Any]) -> ProcessCounters:
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


def _waiting(c: ProcessCounters) -> str:
    return "%.0f%%" % (100 * max(0.0, 1.0 - c.cpu_share))


def _gc(c: ProcessCounters) -> str:
    return "%.3g×, %.3g ms" % (c.gc_collections, 1e3 * c.gc_pause)


def _rss(c: ProcessCounters) -> str:
    if abs(c.rss_growth) >= MIB:
        return "%+.3g MiB" % (c.rss_growth / MIB)
    return "%+.0f KiB" % (c.rss_growth / 1024)


def _beside(many: str, one: str | None) -> str:
    """The value at N threads, the value at one thread in parentheses where there is one."""
    return many if one is None else "%s (%s)" % (many, one)


def reasons(one: ProcessCounters, many: ProcessCounters) -> list[str]:
    """Short phrases on what the process did at ``many.workers`` threads, each with its value
    at one thread (``one``) in parentheses: the waiting share, garbage collections and their
    pause per value, RSS growth per value, and lock contention, each saying so where the
    interpreter recorded nothing."""
    out = []
    if math.isfinite(many.cpu_share):
        out.append("waiting " + _beside(_waiting(many), _waiting(one) if math.isfinite(one.cpu_share) else None))
    else:
        out.append("waiting: not recorded")
    if not math.isfinite(many.gc_collections):
        out.append("GC: not recorded by this interpreter")
    elif many.gc_collections == 0 and not one.gc_collections:
        out.append("GC: none while timed")
    else:
        out.append("GC " + _beside(_gc(many), _gc(one) if math.isfinite(one.gc_collections) else None))
    if math.isfinite(many.rss_growth):
        out.append("RSS " + _beside(_rss(many), _rss(one) if math.isfinite(one.rss_growth) else None))
    else:
        out.append("RSS: not recorded")
    out.append(LOCK_CONTENTION)
    return out


def reason_text(one: ProcessCounters, many: ProcessCounters) -> str:
    """``reasons`` as one line, for a table cell, headed by the thread counts they compare:
    ``at 2 threads (1 thread): waiting 48% (2%); GC 12×, 30 ms (2×, 4 ms); RSS +40 MiB
    (+102 KiB); lock contention: not exposed by this interpreter``."""
    return "at %s (%s): %s" % (_threads(many.workers), _threads(one.workers), "; ".join(reasons(one, many)))


# -- the family's table ----------------------------------------------------------------------

SCALING_COLUMNS = [
    "run_id",
    "env",
    "workload",
    "params",
    "name",
    "serial_name",
    "workers",
    "free_threaded_build",
    "gil_enabled",
    "python_gil_env",
    "speedup",
    "speedup_lo",
    "speedup_hi",
    "speedup_significant",
    "speedup_hw",
    "speedup_n",
    "efficiency",
    "capacity",
    "scaling_cut",
    "problem",
    "waiting",
    "verdict",
    "verdict_text",
    "reason",
]


def scaling_table(derived: pd.DataFrame, benchmarks: pd.DataFrame, suite: str = "scaling") -> pd.DataFrame:
    """The family ``suite``'s threads speedups with their verdicts, and a reason beside every
    verdict but "scales": one row per (run, env, kernel, worker count ≥ 2), ``SCALING_COLUMNS``.

    ``derived`` is ``derive``'s frame (its speedup with interval, efficiency, capacity,
    waiting share and the sanity gate's ``problem``); ``benchmarks`` is ``harness.collect``'s,
    whose ``suites`` say which workloads belong to the family and whose per-round counters
    give the reasons, at one thread from the serial benchmark.  A gated speedup keeps its
    verdict here, decided on its interval as any other; readers show the ``problem``
    instead.  Empty (with the columns) when the run measured none of the family.
    """
    if derived.empty or benchmarks.empty or "suites" not in benchmarks:
        return pd.DataFrame(columns=SCALING_COLUMNS)
    rows = {(r["run_id"], r["env"], r["name"]): r for r in records(benchmarks)}
    members = {key for key, r in rows.items() if suite in (r.get("suites") or ())}
    member = np.array([key in members for key in zip(derived["run_id"], derived["env"], derived["name"])], dtype=bool)
    threads = derived[(derived["mode"] == "threads").to_numpy() & (derived["workers"] >= 2).to_numpy() & member]
    if threads.empty:
        return pd.DataFrame(columns=SCALING_COLUMNS)
    out = threads.reset_index(drop=True)
    if "capacity" not in out:
        out["capacity"] = np.nan
    out = pd.concat([out, verdict_frame(out)], axis=1)
    reasons_ = []
    for row in records(out):
        if row["verdict"] == SCALES:
            reasons_.append("")
            continue
        one = rows.get((row["run_id"], row["env"], row["serial_name"]))
        many = rows[(row["run_id"], row["env"], row["name"])]
        first = ProcessCounters.from_row(one) if one else ProcessCounters(1)
        reasons_.append(reason_text(first, ProcessCounters.from_row(many)))
    out["reason"] = reasons_
    return out[SCALING_COLUMNS].sort_values(["run_id", "env", "workload", "params", "workers"]).reset_index(drop=True)


# -- one release against the previous one ------------------------------------------------------

GAIN_COLUMNS = [
    "run_id",
    "env",
    "baseline_env",
    "workload",
    "params",
    "workers",
    "speedup",
    "baseline_speedup",
    "gain",
    "gain_lo",
    "gain_hi",
    "gain_significant",
    "gain_hw",
    "gain_n",
    "problem",
]


def release_pairs(envs: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(run_id, free-threaded env) -> the env of the previous free-threaded release of the
    same implementation in the same run: 3.14t's is 3.13t.  The newest build of each minor
    version stands for it; ``PYTHON_GIL=1`` envs and A/A twins are left out."""
    if envs.empty:
        return {}
    free = envs[envs["free_threaded_build"].astype(bool) & ~envs["python_gil_env"].map(gil_forced).astype(bool)]
    free = free[~free["env"].str.endswith(AA_SUFFIX)]
    chain = successive_minors(
        ((run_id, implementation), env, version, ())
        for run_id, implementation, env, version in free[["run_id", "implementation", "env", "version"]].itertuples(
            index=False
        )
    )
    return {(str(run_id), new): old for (run_id, _), old, new in chain}


def _speedups_by_round(rounds: Mapping[tuple, Any], row: Mapping[str, Any]) -> PerRound:
    """A threads benchmark's speedup over serial in each round both were measured in."""
    serial = rounds_of(rounds.get((row["run_id"], row["env"], row["serial_name"])))
    threads = rounds_of(rounds.get((row["run_id"], row["env"], row["name"])))
    return {r: serial[r] / threads[r] for r in serial if r in threads}


def scaling_gains(table: pd.DataFrame, benchmarks: pd.DataFrame, envs: pd.DataFrame) -> pd.DataFrame:
    """Each kernel's speedup on a free-threaded release over its speedup on the previous
    release (``release_pairs``), at each worker count both measured: ``gain`` > 1 where the
    newer release scales better.  Paired by round, as every ratio: round r's gain is
    round r's speedup on one release over round r's on the other, both measured in the
    same rounds of one run.  ``table`` is ``scaling_table``'s; ``problem`` names a side
    whose speedup failed a sanity gate.  ``GAIN_COLUMNS``; empty without such a pair."""
    pairs = release_pairs(envs)
    if table.empty or not pairs:
        return pd.DataFrame(columns=GAIN_COLUMNS)
    rounds = {(r, e, n): v for r, e, n, v in benchmarks[["run_id", "env", "name", "rounds"]].itertuples(index=False)}
    by_key = {(r["run_id"], r["env"], r["workload"], r["params"], r["workers"]): r for r in records(table)}
    rows, sides = [], []
    for (run_id, env, *kernel), new in by_key.items():
        old = by_key.get((run_id, pairs.get((run_id, env)), *kernel))
        if old is None:
            continue
        gated = ["%s: %s" % (side["env"], side["problem"]) for side in (new, old) if side["problem"]]
        rows.append(
            {
                **{k: new[k] for k in ("run_id", "env", "workload", "params", "workers", "speedup")},
                "baseline_env": old["env"],
                "baseline_speedup": old["speedup"],
                "problem": "; ".join(gated),
            }
        )
        sides.append(Sides(_speedups_by_round(rounds, new), _speedups_by_round(rounds, old)))
    if not rows:
        return pd.DataFrame(columns=GAIN_COLUMNS)
    return pd.concat([pd.DataFrame(rows), ratio_columns("gain", sides)], axis=1)[GAIN_COLUMNS]
