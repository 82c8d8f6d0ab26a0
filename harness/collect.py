"""Collect: a run's pyperf files and status files -> tidy pandas frames.

Every number comes from ``pyperf.BenchmarkSuite.load``: the report never reads a
timing that ``pyperf stats`` would not show.  A bad file is reported by name and
skipped; the rest still aggregate.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import pyperf

from harness import capacity
from workloads import host
from workloads.host import Outcome, UserError

# Metadata keys a gilbench benchmark must carry (the design's contract).
REQUIRED = ("workload", "mode", "workers", "env", "run_id")
SUMMARY_COLUMNS = [
    "run_id",
    "env",
    "machine",
    "hostname",
    "cpu_model",
    "cpu_count",
    "implementation",
    "version",
    "free_threaded_build",
    "gil_enabled",
    "python_gil_env",
    "jit",
    "workload",
    "mode",
    "workers",
    "oversubscribed",
    "params",
    "work_size",
    "profile",
    "unit",
    "n",
    "mean",
    "median",
    "stdev",
    "name",
]
OUTCOME_COLUMNS = ["run_id", "env", "name", "workload", "mode", "workers", "params", "status", "reason"]


class ResultsError(UserError):
    """A results file or folder that cannot be used; the message names it."""


@dataclass
class RunData:
    """Everything collected from one or more results folders."""

    benchmarks: pd.DataFrame
    outcomes: pd.DataFrame
    envs: pd.DataFrame
    manifests: list[dict[str, Any]] = field(default_factory=list)
    timelines: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def capacity(self) -> dict[str, dict[int, dict[int, float]]]:
        """run_id -> k -> round -> the machine's capacity that run measured (``harness.capacity``)."""
        return {
            m["run_id"]: capacity.by_round([capacity.CapacityProbe.from_json(p) for p in m["capacity"]])
            for m in self.manifests
            if m.get("capacity")
        }


def params_label(params: dict[str, Any]) -> str:
    """``switch_ms=5`` style label; empty when a benchmark has no extra parameters."""
    return ",".join("%s=%s" % kv for kv in sorted(params.items()))


def warmup_drift(bench: pyperf.Benchmark) -> float:
    """How far the last warm-up value was from the values that followed, at worst over
    the processes: ``last warm-up / mean(values) - 1``.  Near 0 when the warm-ups
    reached a steady state (a JIT had compiled the loop); NaN without warm-ups."""
    runs = [run for run in bench.get_runs() if run.warmups and run.values]
    drifts = [run.warmups[-1][1] / statistics.fmean(run.values) - 1.0 for run in runs]
    return max(drifts, key=abs) if drifts else math.nan


# Run metadata read per round, and the column of the benchmark row it goes to.
_PER_ROUND_METADATA = {
    "peak_rss": "rss",
    "thread_cpu_share": "cpu_share",
    "serial_in_process": "serial_in_process",
    "bytes_per_object": "bytes_per_object",
    "gc_collections": "gc_collections",
    "gc_pause": "gc_pause",
    "rss_growth": "rss_growth",
}
# Per round, the standard error of the log of the round's value as its own process saw it:
# ``sd(log values) / sqrt(values)`` (rounds of one value have none).  The spread of a
# ratio's per-round log ratios is mostly this spread of its two sides' values, so it is
# the covariate of the moderated interval's prior (``harness.stats.fit_prior``).
WITHIN = "within_se"
PER_ROUND_COLUMNS = (*_PER_ROUND_METADATA.values(), WITHIN)  # beside "rounds": round -> value


def within_se(values: Sequence[float]) -> float:
    """The standard error of the log mean of one process's timing ``values``: the sample
    SD (ddof=1) of their logs over the square root of their number; NaN with fewer than two.

    The log of the mean and the mean of the logs differ by far less than this for values
    that vary by a few tens of percent, so it is the noise a round's log value inherits
    from its own values."""
    if len(values) < 2:
        return math.nan
    return sample_sd([math.log(v) for v in values]) / math.sqrt(len(values))


def sample_sd(values: Sequence[float]) -> float:
    """The sample SD (ddof=1) of two values or more, in plain floats: a report reads one
    per process and per benchmark, tens of thousands of a few values each, where NumPy's
    call costs more than the sum and ``statistics.stdev`` sums exact fractions."""
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _per_round(bench: pyperf.Benchmark) -> dict[str, dict[int, float]]:
    """Per round: the mean of that process's values (``rounds``), the standard error of
    its log (``WITHIN``, where the process recorded two values or more), and what the run
    recorded beside them (``_PER_ROUND_METADATA``): its peak RSS, its threads' CPU
    share, for one pool worker or subinterpreter serial in its own process, a memory
    probe's bytes per object, and the garbage collections and RSS growth of its values.

    The round is the run's ``round`` metadata; files written before rounds were
    recorded ran their processes in rounds too, so the run's position stands in.
    """
    out: dict[str, dict[int, float]] = {"rounds": {}, **{c: {} for c in PER_ROUND_COLUMNS}}
    for index, run in enumerate(bench.get_runs()):
        if not run.values:
            continue
        meta = run.get_metadata()
        round_ = int(meta.get("round", index))
        out["rounds"][round_] = statistics.fmean(run.values)
        if len(run.values) > 1:
            out[WITHIN][round_] = within_se(run.values)
        for key, column in _PER_ROUND_METADATA.items():
            if key in meta:
                out[column][round_] = float(meta[key])
    return out


def _benchmark_row(bench: pyperf.Benchmark, path: Path) -> dict[str, Any]:
    raw = bench.get_metadata()
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise ResultsError(
            "%s: benchmark %r lacks gilbench metadata (%s); not a gilbench results file"
            % (path, bench.get_name(), ", ".join(missing))
        )
    meta = host.from_pyperf(raw)
    # The machine as its benchmark processes saw it; absent in runs recorded before
    # machines had ids, which fall back on the run id's suffix and pyperf's CPU count.
    machine: host.Machine | None = meta.get("machine")
    cpus = machine.cpus if machine else int(meta.get("cpu_count", 0) or 0)
    runs = [list(run.values) for run in bench.get_runs() if run.values]
    values = [v for run in runs for v in run]
    params = host.params_of(meta)
    row = {
        "name": bench.get_name(),
        "run_id": meta["run_id"],
        "env": meta["env"],
        "machine": machine.id if machine else str(meta["run_id"]).rpartition("-")[2],
        "machine_facts": machine,
        "hostname": meta.get("hostname", ""),
        "cpu_model": machine.cpu_model if machine else meta.get("cpu_model_name", ""),
        "cpu_count": cpus,  # the CPUs the run could use
        "oversubscribed": meta["mode"] != "serial" and 0 < cpus < int(meta["workers"]),
        "pinned_cpus": list(meta.get("pinned_cpus", [])),
        "implementation": meta.get("implementation", meta.get("python_implementation", "")),
        "version": str(meta.get("version", "")),
        "python_gil_env": str(meta.get("python_gil_env", "")),
        "jit": meta.get("jit", ""),
        "workload": meta["workload"],
        "mode": meta["mode"],
        "workers": int(meta["workers"]),
        "params": params_label(params),
        "params_dict": params,
        "tags": list(meta.get("tags", [])),
        "suites": list(meta.get("suites", [])),  # empty in runs recorded before families
        # a run recorded without roles: its latency workload carries the tag
        "roles": list(meta.get("roles", ["latency"] if "latency" in meta.get("tags", []) else [])),
        "work_size": int(meta.get("work_size", 0) or 0),
        "profile": meta.get("profile", ""),
        "unit": bench.get_unit(),
        "n": len(values),
        "mean": statistics.fmean(values) if values else math.nan,  # pyperf's mean, median and stdev, in floats
        "median": statistics.median(values) if values else math.nan,
        "stdev": sample_sd(values) if len(values) > 1 else 0.0,
        "build_pair_id": meta.get("build_pair_id", ""),
        "build_source_sha256": meta.get("build_source_sha256", ""),
        "workload_sha256": meta.get("workload_sha256", ""),
        "switch_interval": meta.get("switch_interval", math.nan),
        "free_threaded_build": meta["free_threaded_build"],
        "gil_enabled": meta["gil_enabled"],
        "build_pgo": meta.get("build_pgo", False),
        "build_lto": meta.get("build_lto", False),
        "runs": runs,
        "block": str(bench.get_runs()[0].get_metadata().get("block", "")),
        **_per_round(bench),
        "warmup_drift": warmup_drift(bench),
    }
    return row


def load_suite(path: Path) -> list[dict[str, Any]]:
    """Rows for one pyperf file; ``ResultsError`` naming the file when it is unusable."""
    try:
        suite = pyperf.BenchmarkSuite.load(str(path))
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ResultsError("%s: not a readable pyperf results file (%s)" % (path, exc)) from None
    except OSError as exc:
        raise ResultsError("%s: %s" % (path, exc.strerror or exc)) from None
    return [_benchmark_row(bench, path) for bench in suite.get_benchmarks()]


def _load_status(path: Path) -> dict[str, Any]:
    try:
        status = host.read_json(str(path))
    except (OSError, ValueError) as exc:
        raise ResultsError("%s: not a readable status file (%s)" % (path, exc)) from None
    if status.get("format") != host.STATUS_FORMAT:
        raise ResultsError("%s: not a gilbench status file" % path)
    return status


def is_suite_file(path: Path) -> bool:
    """``<env>.json`` or ``<env>.json.gz``: a pyperf file, as opposed to our sidecars
    (which live in ``meta/``, or beside the pyperf files in runs of the old layout)."""
    name = path.name
    return (
        name.endswith((".json", ".json.gz"))
        and name.count(".") == (2 if name.endswith(".gz") else 1)
        and (name != host.MANIFEST)
    )


def run_files(folder: Path) -> list[Path]:
    """Every file of a run: the pyperf files, then ``meta/`` (or the old layout's sidecars)."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    meta = folder / host.META_DIR
    return files + (sorted(p for p in meta.iterdir() if p.is_file()) if meta.is_dir() else [])


def load_runs(folders: list[Path]) -> RunData:
    """Collect every results folder given; raise only when nothing at all is usable."""
    rows: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    envs: list[dict[str, Any]] = []
    data = RunData(pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    for folder in folders:
        if not folder.is_dir():
            data.problems.append("%s: not a results folder" % folder)
            continue
        files = run_files(folder)
        if not any(is_suite_file(p) or p.name.endswith(host.STATUS_SUFFIX) for p in files):
            data.problems.append("%s: no results in this folder" % folder)
            continue
        for path in files:
            try:
                if path.name == host.MANIFEST:
                    data.manifests.append(host.read_json(str(path)))
                elif path.name.endswith(host.STATUS_SUFFIX):
                    status = _load_status(path)
                    envs.append(_env_row(status))
                    outcomes.extend(_outcome_rows(status))
                elif path.name.endswith(host.TIMELINE_SUFFIX):
                    data.timelines.append(host.read_json(str(path)))
                elif is_suite_file(path):
                    rows.extend(load_suite(path))
            except ResultsError as exc:
                data.problems.append(str(exc))
            except (OSError, ValueError) as exc:
                data.problems.append("%s: %s" % (path, exc))
    if not rows:
        detail = "; ".join(data.problems) if data.problems else "nothing found"
        raise ResultsError("no usable benchmark results in %s (%s)" % (", ".join(map(str, folders)), detail))
    data.benchmarks = pd.DataFrame(rows)
    data.outcomes = pd.DataFrame(outcomes, columns=OUTCOME_COLUMNS)
    data.envs = pd.DataFrame(envs)
    return data


def from_runs(runs: list[Any]) -> RunData:
    """What ``load_runs`` would read from disk, straight from the scheduler's envs
    (``workloads.host.EnvRun``): the precision rule re-analyses after every round."""
    rows = [_benchmark_row(b, Path(r.suite_path)) for r in runs for b in r.suite.values()]
    envs = [_env_row(r.status) for r in runs]
    return RunData(pd.DataFrame(rows), pd.DataFrame(columns=OUTCOME_COLUMNS), pd.DataFrame(envs))


def _env_row(status: dict[str, Any]) -> dict[str, Any]:
    facts = host.InterpreterFacts.from_json(status.get("interpreter", {}))
    counts = {o: 0 for o in Outcome}
    for entry in status.get("benchmarks", {}).values():
        counts[Outcome(entry["status"])] += 1
    return {
        "run_id": status.get("run_id", ""),
        "env": status.get("env", ""),
        "implementation": facts.implementation,
        "version": facts.version,
        "free_threaded_build": facts.free_threaded_build,
        "gil_enabled": facts.gil_enabled,
        "python_gil_env": facts.python_gil_env,
        "jit": facts.jit,
        "subinterpreters": facts.subinterpreters,
        "executable": facts.executable,
        "compiler": facts.build.compiler,
        "pgo": facts.build.pgo,
        "lto": facts.build.lto,
        "pair_id": facts.build.pair_id,
        "source_sha256": facts.build.source_sha256,
        "config_args": facts.build.config_args,
        "profile": status.get("profile", {}).get("name", ""),
        "cpu_count": status.get("cpu_count", 0),
        "planned": len(status.get("planned", [])),
        "ok": counts[Outcome.OK],
        "failed": sum(n for o, n in counts.items() if o.failed),
        "incomplete": sum(n for o, n in counts.items() if o.open),
        "unavailable": counts[Outcome.UNAVAILABLE],
        "started": status.get("started", ""),
        "finished": status.get("finished", ""),
    }


def _outcome_rows(status: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": status.get("run_id", ""),
            "env": status.get("env", ""),
            "name": name,
            "workload": entry.get("workload", ""),
            "mode": entry.get("mode", ""),
            "workers": entry.get("workers", 0),
            "params": params_label(entry.get("params", {})),
            "status": entry.get("status", ""),
            "reason": entry.get("reason", ""),
        }
        for name, entry in status.get("benchmarks", {}).items()
    ]


def summary_frame(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """The ``summary.csv`` view: a row per benchmark, no raw values."""
    return benchmarks[SUMMARY_COLUMNS].sort_values(["env", "workload", "params", "mode", "workers"])
