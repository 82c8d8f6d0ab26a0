"""The headline table: the ratios a user of gilbench asks about first.

Each interpreter's speedup at the headline worker count (``headline_workers``: the most
threads that fit the machine's CPUs) in every mode, for the flagship workload (role
``flagship``) and, in native threads that release the GIL, for the native one (role
``native``); and for a free-threaded build, its free-threading overhead (serial, over
its matched default build) and its net speedup (its threads at that count over one
thread of the default build).  Built once here; the report's Headline section shows it,
the findings quote it, and bench-all's allocation spends rounds on it first
(``harness.precision``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.analysis._checks import AA_SUFFIX
from harness.analysis._ratios import NET_SPEEDUP
from harness.analysis._speedups import headline_workers

FLAGSHIP_MODES = ("threads", "processes", "interpreters")
NATIVE_MODE = "threads-nogil"
FT_OVERHEAD = "free-threading overhead"
# The table's columns, in order: a row per (env, quantity), a quantity per mode and the
# two build comparisons; ``flagship`` marks the threads rows of interpreters that ran
# without the GIL, the findings' first sentences.
QUANTITIES = (*FLAGSHIP_MODES, NATIVE_MODE, FT_OVERHEAD, NET_SPEEDUP)
COLUMNS = [
    "run_id",
    "env",
    "quantity",
    "kind",
    "workload",
    "mode",
    "workers",
    "name",
    "other_env",
    "other_name",
    "value",
    "lo",
    "hi",
    "significant",
    "hw",
    "n",
    "sd",
    "df",
    "moderated",
    "problem",
    "matched",
    "flagship",
]


def _role(benchmarks: pd.DataFrame, role: str) -> str:
    """The workload that holds ``role`` in these benchmarks, or ''."""
    if benchmarks.empty or "roles" not in benchmarks:
        return ""
    held = benchmarks.loc[benchmarks["roles"].map(lambda roles: role in roles).astype(bool), "workload"]
    return str(held.iloc[0]) if len(held) else ""


def _rows(
    frame: pd.DataFrame, quantity: str, kind: str, prefix: str, other: tuple[str, str], matched: str = ""
) -> pd.DataFrame:
    """``frame``'s ``prefix`` ratios as rows of the table: against the env and benchmark
    in ``other``'s columns, matched builds where ``matched`` names a column saying so."""
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.DataFrame(
        {
            "run_id": frame["run_id"],
            "env": frame["env"],
            "quantity": quantity,
            "kind": kind,
            "workload": frame["workload"],
            "mode": frame.get("mode", "serial"),
            "workers": frame.get("workers", 1),
            "name": frame["name"],
            "other_env": frame[other[0]],
            "other_name": frame[other[1]],
            "problem": frame.get("problem", ""),
            "matched": frame[matched] if matched else True,
        }
    )
    for column, suffix in (
        ("value", ""),
        ("lo", "_lo"),
        ("hi", "_hi"),
        ("significant", "_significant"),
        ("hw", "_hw"),
        ("n", "_n"),
        ("sd", "_sd"),
        ("df", "_df"),
        ("moderated", "_moderated"),
    ):
        out[column] = frame[prefix + suffix]
    return out


def headline_table(derived: pd.DataFrame, overheads: pd.DataFrame, benchmarks: pd.DataFrame) -> pd.DataFrame:
    """A row per interpreter and quantity (``QUANTITIES``), each ratio with its interval,
    half-width and what the moderated interval used (``sd``, ``df``, ``moderated``); an
    A/A twin is left out (it is its interpreter again).  ``problem`` is a sanity gate's
    reason, '' for a result."""
    flagship, native = _role(benchmarks, "flagship"), _role(benchmarks, "native")
    if derived.empty or not (flagship or native):
        return pd.DataFrame(columns=COLUMNS)
    k = headline_workers(derived)
    at_k = derived[(derived["workers"] == k) & (derived["params"] == "") & ~derived["env"].str.endswith(AA_SUFFIX)]
    parts = []
    for mode in FLAGSHIP_MODES:
        rows = at_k[(at_k["workload"] == flagship) & (at_k["mode"] == mode)]
        parts.append(_rows(rows, mode, "speedup", "speedup", ("env", "baseline_name")))
    rows = at_k[(at_k["workload"] == native) & (at_k["mode"] == NATIVE_MODE)]
    parts.append(_rows(rows, NATIVE_MODE, "speedup", "speedup", ("env", "baseline_name")))
    if not overheads.empty:
        ft = overheads[
            (overheads["kind"] == "free-threading") & (overheads["workload"] == flagship) & (overheads["params"] == "")
        ]
        parts.append(_rows(ft, FT_OVERHEAD, FT_OVERHEAD, "overhead", ("baseline_env", "name"), "matched"))
    threads = at_k[
        (at_k["workload"] == flagship) & (at_k["mode"] == "threads") & (at_k["net_baseline_env"] != at_k["env"])
    ]
    parts.append(
        _rows(threads, NET_SPEEDUP, NET_SPEEDUP, "net_speedup", ("net_baseline_env", "serial_name"), "net_matched")
    )
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    on = derived["gil_enabled"].fillna(True).astype(bool)
    gil_off = set(zip(derived.loc[~on, "run_id"], derived.loc[~on, "env"]))
    free = np.array([key in gil_off for key in zip(table["run_id"], table["env"])], dtype=bool)
    table["flagship"] = (table["quantity"] == "threads").to_numpy() & free
    return table[COLUMNS]


def table_keys(table: pd.DataFrame) -> set[tuple[Any, ...]]:
    """(kind, run_id, env, name, other_env, other_name) of each ratio of the table: how
    ``Analysis.headline`` marks the table's ratios among all of them."""
    return set(table[["kind", "run_id", "env", "name", "other_env", "other_name"]].itertuples(index=False, name=None))
