"""Compare two runs, or two envs: ``python -m harness compare A B``.

A and B are each a results folder (``results/<run-id>``: every env in it) or one
env's pyperf file (``results/<run-id>/bench-py313.json``).  Two folders are matched
on env and benchmark name, so runs from two machines compare env by env; two files
are matched on benchmark name alone (e.g. 3.13 against 3.13t).  Each row is
T(A) / T(B) with a 95% interval: >1 means B is faster.  Two envs of one run are
paired by round (``harness.stats``); two separate runs are compared unpaired
(Welch), since their rounds have nothing in common.  Times are per unit of work, as
sizes may be calibrated per interpreter.

A comparison is only as good as what is compared: a row whose two sides ran
different workload code, a different build pair, profile or work size is flagged
in the ``provenance`` column instead of being compared silently.  Two sides measured
on different machines (``workloads.host.Machine``: a CPU count, a quota, a CPU model
apart) are not compared at all: a ratio across machines measures the hardware as much
as the code, so ``compare`` refuses in one line, naming both machines and what differs.
Runs recorded before machines had ids cannot be told apart and are compared.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness import collect, stats
from workloads.host import Machine

COLUMNS = ["benchmark", "A", "B", "B vs A", "95% CI", "±", "verdict", "provenance"]
# Metadata that must agree for two benchmarks to be compared as "the same thing".
PROVENANCE = {"workload_sha256": "workload code", "build_pair_id": "build pair", "profile": "profile"}


def provenance(row: pd.Series) -> str:
    """What differs between the two sides beyond what is being compared ('' if nothing)."""
    differs = [label for key, label in PROVENANCE.items() if str(row[key + "_a"]) != str(row[key + "_b"])]
    if row["work_size_a"] != row["work_size_b"]:
        differs.append("work size (compared per unit)")
    return "differs: " + ", ".join(differs) if differs else ""


def load_side(path: Path) -> pd.DataFrame:
    """Benchmarks of a results folder or of one pyperf file."""
    if path.is_dir():
        return collect.load_runs([path]).benchmarks
    if path.is_file():
        return pd.DataFrame(collect.load_suite(path))
    raise collect.ResultsError("%s: no such results folder or pyperf file" % path)


def machines(side: pd.DataFrame) -> dict[str, Machine]:
    """The machines a side's benchmarks were measured on, by id (runs recorded before
    machines had ids have none)."""
    return {m.id: m for m in side.get("machine_facts", []) if isinstance(m, Machine)}


def require_one_machine(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """``ResultsError`` (one line) when the two sides were measured on different machines."""
    on_a, on_b = machines(a), machines(b)
    if not on_a or not on_b or set(on_a) == set(on_b):
        return
    first, second = on_a[min(set(on_a) - set(on_b) or on_a)], on_b[min(set(on_b) - set(on_a) or on_b)]
    raise collect.ResultsError(
        "A ran on machine %s and B on machine %s (%s): a ratio across machines measures the hardware as much as "
        "the code, so none is computed; compare runs of one machine, or publish both to see them side by side"
        % (first.id, second.id, ", ".join(first.differences(second)))
    )


def compare(a: pd.DataFrame, b: pd.DataFrame, by_env: bool, min_change: float = 0.0) -> pd.DataFrame:
    """Rows of matched benchmarks with the T(A)/T(B) ratio, its interval and a verdict;
    none across machines (``require_one_machine``).

    A difference is reported only when its interval excludes 1 *and* it is at least
    ``min_change`` (a fraction, like pyperf's ``--min-speed``); otherwise "not significant".
    """
    require_one_machine(a, b)
    keys = ["env", "name"] if by_env else ["name"]
    merged = a.merge(b, on=keys, suffixes=("_a", "_b"))
    if merged.empty:
        raise collect.ResultsError("the two sides have no benchmark in common (matched on %s)" % " and ".join(keys))
    rows = []
    for _, row in merged.iterrows():
        per_unit = row["work_size_b"] / row["work_size_a"] if row["work_size_a"] else 1.0
        if row["run_id_a"] == row["run_id_b"]:
            r = stats.ratio(row["rounds_a"], row["rounds_b"])
        else:
            r = stats.unpaired_ratio(row["rounds_a"], row["rounds_b"])
        r = stats.Interval(r.value * per_unit, r.lo * per_unit, r.hi * per_unit, r.n, r.paired)
        real = r.significant and abs(r.value - 1) >= min_change
        if not real:
            verdict = "not significant"
        else:
            verdict = "%.2f× faster" % r.value if r.value > 1 else "%.2f× slower" % (1 / r.value)
        rows.append(
            {
                "env": row["env"] if by_env else "%s → %s" % (row["env_a"], row["env_b"]),
                "benchmark": row["name"],
                "A": _ms(row["mean_a"]),
                "B": _ms(row["mean_b"]),
                "B vs A": "%.3f×" % r.value,
                "95% CI": "%.3f–%.3f" % (r.lo, r.hi),
                "±": "%.1f%% (%s, %d rounds)" % (100 * r.half_width, "paired" if r.paired else "unpaired", r.n),
                "verdict": verdict,
                "provenance": provenance(row),
                "significant": real,
            }
        )
    return pd.DataFrame(rows).sort_values(["env", "benchmark"]).reset_index(drop=True)


def _ms(seconds: float) -> str:
    return "%.3f ms" % (seconds * 1e3)


def format_text(table: pd.DataFrame) -> str:
    """Fixed-width text, one block per env pair."""
    lines = []
    for env, group in table.groupby("env", sort=False):
        lines.append("== %s" % env)
        cells = [COLUMNS] + group[COLUMNS].astype(str).values.tolist()
        widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        lines.append("")
    changed = int(table["significant"].sum())
    lines.append("%d of %d benchmarks changed significantly" % (changed, len(table)))
    flagged = int((table["provenance"] != "").sum())
    if flagged:
        lines.append(
            "%d row(s) compare different workload code, builds, profiles or work sizes: see 'provenance'" % flagged
        )
    return "\n".join(lines)


def format_markdown(table: pd.DataFrame) -> str:
    """A Markdown table (pipes in names are escaped)."""
    header = ["env", *COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(str(row[c]).replace("|", "\\|") for c in header) + " |")
    return "\n".join(lines)
