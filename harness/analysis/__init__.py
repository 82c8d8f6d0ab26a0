"""Analyse: derived measures, each ratio with a 95% interval paired by round.

How a ratio is made.  Every benchmark is measured in rounds (randomised blocks: in
round r each benchmark of each env gets one pyperf process, in shuffled order), and
a round's value is the mean of that process's values.  A ratio of two benchmarks of
one run, in one env or across envs, is computed round by round, and whatever slowed the whole
machine during a round cancels.  A timing ratio's interval is the moderated t on its
per-round log ratios, its variance pooled with the run's other timing ratios through
one prior per run (``harness.stats.fit_prior``); Student's t where a run has too few
ratios to fit one.  Both sides of a speedup are measured through
the same code (``serial`` is the work in one fresh worker thread, see
``workloads/modes.py``).  Ratios across interpreters compare time per unit of work,
since work sizes are calibrated per interpreter so that every value lasts long
enough (see ``workloads.host.Layout``).

``analyse`` makes every frame at once into an ``Analysis``; each job has its own
private module behind this one public API:

- ``_ratios``: pairing by round (``ratio_columns`` of ``Sides``), the priors of the
  moderated interval (``Moderation``), and a run as it stood after its first rounds
  (``first_rounds``);
- ``_pairs``: which env is compared with which (``partner_envs``, ``forced_gil_envs``,
  ``reference_envs``);
- ``_speedups``: ``derive``, a row per parallel benchmark: speedup vs its baseline
  (serial, or one worker of the same mode, ``baseline_name``), parallel efficiency, net
  speedup vs the matched default build's serial run, the threads' waiting share, the
  speedup over the machine's capacity, and a ``problem`` where a sanity gate fails;
  ``one_worker``, one pool worker or one subinterpreter against serial in its own process;
- ``_builds``: ``build_overheads``, free-threading overhead (FT serial / matched default
  serial) and forced-GIL overhead (``PYTHON_GIL=1`` serial / same FT build's serial),
  with the peak-memory ratio of the same processes; ``object_memory``, bytes per object;
- ``_latency``: p50/p99 request latency with order-statistic intervals;
- ``_pyperformance``: geometric means over pyperformance's benchmarks and PEP 779's verdicts;
- ``_versions``: two free-threaded minor versions (3.13t → 3.14t), each against its own
  default build (``version_pairs``, ``ft_versions``);
- ``_checks``: the sanity gates, A/A calibration, JIT warm-up, provenance;
- ``_verdicts``: the scaling family's verdicts decided on each speedup's interval, the
  reasons its processes recorded (``scaling_table``), and each free-threaded release's
  speedups against the previous release's (``scaling_gains``);
- ``_table``: the headline table (``headline_table``): per interpreter, the flagship's
  speedup at the headline worker count in each mode, the free-threading overhead and
  the net speedup;
- ``_record``: the ``Analysis`` record, its headline ratios and ``precision_summary``;
- ``_machines``: runs from several machines side by side (``by_machine``), each ratio
  within its machine, summed up across machines only as geometric means of those.
"""

from harness.analysis._builds import build_overheads, object_memory, object_memory_unmeasured
from harness.analysis._checks import (
    AA_SUFFIX,
    GATE_SLACK,
    ONE_WORKER,
    WARMUP_TOLERANCE,
    aa_calibration,
    aa_summary,
    provenance_problems,
    warmup_problems,
)
from harness.analysis._latency import DEFAULT_SWITCH_MS, latency
from harness.analysis._machines import Machines, across_machines, by_machine, newest_runs
from harness.analysis._pairs import forced_gil_envs, partner_envs, reference_envs
from harness.analysis._pyperformance import (
    GEOMEAN_KINDS,
    PEP779_MEMORY_BAR,
    PEP779_TIME_BAR,
    geomean,
    is_pyperformance,
    memory_unmeasured,
    pyperformance_geomeans,
    verdict,
)
from harness.analysis._ratios import KEY, Moderation, PerRound, Sides, first_rounds, ratio_columns
from harness.analysis._record import Analysis, analyse, precision_summary, prior_summary
from harness.analysis._speedups import IN_PROCESS, CapacityByRound, derive, headline_workers, one_worker
from harness.analysis._table import QUANTITIES, headline_table
from harness.analysis._verdicts import (
    GAIN_COLUMNS,
    LOCK_CONTENTION,
    SCALING_COLUMNS,
    SCALING_VERDICTS,
    ProcessCounters,
    ScalingVerdict,
    reason_text,
    release_pairs,
    scaling_cut,
    scaling_gains,
    scaling_table,
    scaling_verdict,
)
from harness.analysis._versions import VersionPair, ft_versions, gated_ratios, version_pairs

__all__ = [
    "AA_SUFFIX",
    "DEFAULT_SWITCH_MS",
    "GAIN_COLUMNS",
    "GATE_SLACK",
    "GEOMEAN_KINDS",
    "IN_PROCESS",
    "KEY",
    "LOCK_CONTENTION",
    "ONE_WORKER",
    "PEP779_MEMORY_BAR",
    "PEP779_TIME_BAR",
    "QUANTITIES",
    "SCALING_COLUMNS",
    "SCALING_VERDICTS",
    "WARMUP_TOLERANCE",
    "Analysis",
    "CapacityByRound",
    "Machines",
    "Moderation",
    "PerRound",
    "ProcessCounters",
    "ScalingVerdict",
    "Sides",
    "VersionPair",
    "aa_calibration",
    "aa_summary",
    "across_machines",
    "analyse",
    "build_overheads",
    "by_machine",
    "derive",
    "first_rounds",
    "forced_gil_envs",
    "ft_versions",
    "gated_ratios",
    "geomean",
    "headline_table",
    "headline_workers",
    "is_pyperformance",
    "latency",
    "memory_unmeasured",
    "newest_runs",
    "object_memory",
    "object_memory_unmeasured",
    "one_worker",
    "partner_envs",
    "precision_summary",
    "prior_summary",
    "provenance_problems",
    "pyperformance_geomeans",
    "ratio_columns",
    "reason_text",
    "reference_envs",
    "release_pairs",
    "scaling_cut",
    "scaling_gains",
    "scaling_table",
    "scaling_verdict",
    "verdict",
    "version_pairs",
    "warmup_problems",
]
