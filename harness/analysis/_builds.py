"""What a build costs: serial time and peak memory of one build against another,
and resident bytes per object, each paired by round."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness import stats
from harness.analysis._pairs import forced_gil_envs, partner_envs
from harness.analysis._ratios import KEY, Moderation, Sides, ratio_columns, rounds_of, within_of


def build_overheads(benchmarks: pd.DataFrame, envs: pd.DataFrame, moderation: Moderation | None = None) -> pd.DataFrame:
    """Serial-time ratios between builds (>1 = slower than the baseline):
    ``free-threading`` (FT vs matched default build) and ``forced GIL``
    (PYTHON_GIL=1 vs the same FT build), per unit of work, with the moderated interval
    (``moderation``'s priors; without, Student's t); and the ratio of the same processes'
    own peak memory (``peak_rss``, see ``workloads.memory.peak_resident_bytes``), paired
    by round too, with Student's t."""
    serial = benchmarks[benchmarks["mode"] == "serial"].set_index(KEY)
    comparisons = [("free-threading", env, base, matched) for (_, env), (base, matched) in partner_envs(envs).items()]
    comparisons += [("forced GIL", env, base, True) for (_, env), base in forced_gil_envs(envs).items()]
    rows, times, memory = [], [], []
    for kind, env, base_env, matched in comparisons:
        for key, row in serial.iterrows():
            base_key = (key[0], base_env, key[2], key[3])
            if key[1] != env or base_key not in serial.index:
                continue
            base = serial.loc[base_key]
            scale = base["work_size"] / row["work_size"]
            times.append(
                Sides(
                    row["rounds"],
                    base["rounds"],
                    scale,
                    within_of(row),
                    within_of(base),
                    key[0],
                    kind + " overhead",
                    key[2],
                )
            )
            memory.append(Sides(row["rss"], base["rss"]) if row["rss"] and base["rss"] else None)
            rows.append(
                {
                    "kind": kind,
                    "run_id": key[0],
                    "env": env,
                    "baseline_env": base_env,
                    "matched": matched,
                    "workload": key[2],
                    "params": key[3],
                    "name": row["name"],
                    "tags": row["tags"],
                    "roles": row["roles"],
                }
            )
    if not rows:
        return pd.DataFrame()
    return pd.concat(
        [
            pd.DataFrame(rows),
            ratio_columns("overhead", times, moderation or Moderation()),
            ratio_columns("memory", memory),
        ],
        axis=1,
    )


def object_memory(benchmarks: pd.DataFrame, envs: pd.DataFrame) -> pd.DataFrame:
    """Resident bytes per object of the workloads that probe it (``bytes_per_object``,
    see ``workloads.memory``): the mean over rounds with its 95% interval, per env, and
    for a free-threaded env its matched default build's mean and the ratio to it, paired
    by round.
    Envs whose processes recorded nothing (no ``/proc``) have no row: see
    ``object_memory_unmeasured``."""
    if benchmarks.empty or "bytes_per_object" not in benchmarks:
        return pd.DataFrame()
    probed = benchmarks[benchmarks["bytes_per_object"].map(lambda d: bool(rounds_of(d))).astype(bool)]
    if probed.empty:
        return pd.DataFrame()
    partners = partner_envs(envs)
    per_round = probed.set_index(KEY)["bytes_per_object"]
    means = {key: stats.mean_interval(list(rounds.values())) for key, rounds in per_round.items()}
    rows, pairs = [], []
    for key, got in means.items():
        base_env, matched = partners.get((key[0], key[1]), ("", False))
        base_key = (key[0], base_env, key[2], key[3])
        base = base_key if base_env and base_key in means else None
        pairs.append(Sides(per_round[key], per_round[base]) if base else None)
        rows.append(
            {
                **dict(zip(KEY, key)),
                "bytes": got.value,
                "bytes_lo": got.lo,
                "bytes_hi": got.hi,
                "bytes_n": got.n,
                "baseline_env": base_env if base else "",
                "baseline_bytes": means[base].value if base else np.nan,
                "matched": matched,
            }
        )
    frame = pd.concat([pd.DataFrame(rows), ratio_columns("vs_default", pairs)], axis=1)
    return frame.sort_values(KEY).reset_index(drop=True)


def object_memory_unmeasured(benchmarks: pd.DataFrame) -> list[str]:
    """The envs that ran a memory-probing workload but recorded no bytes per object, sorted."""
    if benchmarks.empty or "bytes_per_object" not in benchmarks:
        return []
    probing = benchmarks[benchmarks["tags"].map(lambda t: "memory" in t).astype(bool)]
    missing = probing[probing["bytes_per_object"].map(lambda d: not rounds_of(d)).astype(bool)]
    return sorted(set(missing["env"]))
