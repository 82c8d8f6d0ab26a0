"""What changed between two free-threaded minor versions (3.13t → 3.14t), each held
against its own matched default build, so that what is compared is the cost of free
threading and not the speed of one version over the other.

For one benchmark of the newer free-threaded build (FT₂, default build D₂) and the same
benchmark of the older one (FT₁, D₁), measured in the same rounds, the figure of each is
what ``derive`` calls the net speedup: its default build's serial time over its own time,
per unit of work (at one worker in ``serial``, the inverse of the free-threading
overhead).  Their ratio, FT₂'s over FT₁'s, is a ratio of two ratios over four
benchmarks: per round r it is

    log D₂(r) − log FT₂(r) − log D₁(r) + log FT₁(r)

(plus the log of the work sizes' ratio), and its 95% interval comes from those per-round
values through ``ratio_columns``, the function every other ratio of the analysis goes
through: whatever interval that function gives, this ratio gets too.  The two sides are
taken over the rounds all four benchmarks share, so the ratio is exactly FT₂'s figure
over FT₁'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from harness._frames import records
from harness.analysis._pairs import partner_envs, successive_minors
from harness.analysis._ratios import KEY, PerRound, Sides, ratio_columns

Gated = Mapping[tuple[str, str, str], str]  # (run_id, env, benchmark name) -> why it failed a sanity gate


@dataclass(frozen=True)
class VersionPair:
    """Two free-threaded builds of consecutive minor versions in one run, each with its
    default-build partner (``partner_envs``); ``matched`` when both partners are matched
    builds (same source and flags but ``--disable-gil``)."""

    run_id: str
    old: str
    old_default: str
    new: str
    new_default: str
    matched: bool


def version_pairs(envs: pd.DataFrame) -> list[VersionPair]:
    """Per run, the free-threaded builds that have a default-build partner, one per minor
    version (a matched one first, then the newest patch release), and each against the
    one of the next older minor version present: 3.13t → 3.14t, 3.14t → 3.15t."""
    if envs.empty:
        return []
    version = dict(zip(zip(envs["run_id"], envs["env"]), envs["version"]))
    partners = partner_envs(envs)
    chain = successive_minors(
        (run_id, env, version[(run_id, env)], (matched,)) for (run_id, env), (_, matched) in partners.items()
    )
    return [
        VersionPair(
            str(run_id),
            old,
            partners[(run_id, old)][0],
            new,
            partners[(run_id, new)][0],
            partners[(run_id, old)][1] and partners[(run_id, new)][1],
        )
        for run_id, old, new in chain
    ]


def _ratio_by_round(a: PerRound, b: PerRound, rounds: Sequence[int]) -> dict[int, float]:
    """A/B in each of ``rounds``."""
    return {r: a[r] / b[r] for r in rounds}


def _only(side: PerRound, rounds: Sequence[int]) -> dict[int, float]:
    return {r: side[r] for r in rounds}


def ft_versions(benchmarks: pd.DataFrame, envs: pd.DataFrame, workers: Sequence[int], gated: Gated) -> pd.DataFrame:
    """A row per benchmark of the newer free-threaded build of each ``version_pairs`` pair
    at ``workers`` (serial counts as 1 worker) that the older one measured too: ``old`` and
    ``new``, each build's net speedup over its own default build's serial run (>1: faster
    than one thread of its default build), and ``change``, new over old (>1: the newer
    build keeps more of what its default build does), each with its 95% interval paired by
    round over the rounds the four benchmarks share.  ``problem`` is set where either
    side's speedup failed a sanity gate (``gated``), so no finding quotes it."""
    pairs = version_pairs(envs)
    if not pairs or benchmarks.empty:
        return pd.DataFrame()
    columns = [*KEY, "name", "mode", "workers", "rounds", "work_size"]
    by_key = {
        (r["run_id"], r["env"], r["workload"], r["params"], r["mode"], r["workers"]): r
        for r in records(benchmarks[columns])
    }
    rows: list[dict[str, Any]] = []
    new_side, old_side, change = [], [], []
    for pair in pairs:
        for (run_id, env, workload, params, mode, count), ft2 in by_key.items():
            if run_id != pair.run_id or env != pair.new or count not in workers:
                continue
            ft1 = by_key.get((run_id, pair.old, workload, params, mode, count))
            d2 = by_key.get((run_id, pair.new_default, workload, params, "serial", 1))
            d1 = by_key.get((run_id, pair.old_default, workload, params, "serial", 1))
            if ft1 is None or d2 is None or d1 is None:
                continue  # latency workloads have no serial run; a benchmark one side lacks
            common = sorted(set(ft2["rounds"]) & set(ft1["rounds"]) & set(d2["rounds"]) & set(d1["rounds"]))
            scale2, scale1 = ft2["work_size"] / d2["work_size"], ft1["work_size"] / d1["work_size"]
            new_side.append(Sides(_only(d2["rounds"], common), _only(ft2["rounds"], common), scale2))
            old_side.append(Sides(_only(d1["rounds"], common), _only(ft1["rounds"], common), scale1))
            change.append(
                Sides(
                    _ratio_by_round(d2["rounds"], ft2["rounds"], common),
                    _ratio_by_round(d1["rounds"], ft1["rounds"], common),
                    scale2 / scale1,
                )
            )
            problems = [
                "%s: %s" % (side, gated[(run_id, e, bench["name"])])
                for side, e, bench in (("newer", pair.new, ft2), ("older", pair.old, ft1))
                if gated.get((run_id, e, bench["name"]))
            ]
            rows.append(
                {
                    "run_id": run_id,
                    "env": pair.new,
                    "baseline_env": pair.new_default,
                    "old_env": pair.old,
                    "old_baseline_env": pair.old_default,
                    "matched": pair.matched,
                    "workload": workload,
                    "params": params,
                    "name": ft2["name"],
                    "mode": mode,
                    "workers": count,
                    "problem": "; ".join(problems),
                }
            )
    if not rows:
        return pd.DataFrame()
    frame = pd.concat(
        [
            pd.DataFrame(rows),
            ratio_columns("new", new_side),
            ratio_columns("old", old_side),
            ratio_columns("change", change),
        ],
        axis=1,
    )
    return frame.sort_values(["run_id", "env", "workload", "params", "workers", "mode"]).reset_index(drop=True)


def gated_ratios(*frames: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """(run_id, env, benchmark name) -> the sanity gate's ``problem``, from the frames that
    have one (``derive``'s speedups, ``one_worker``)."""
    out: dict[tuple[str, str, str], str] = {}
    for frame in frames:
        if frame.empty:
            continue
        failed = frame[frame["problem"] != ""]
        out.update(
            {(r, e, n): p for r, e, n, p in failed[["run_id", "env", "name", "problem"]].itertuples(index=False)}
        )
    return out
