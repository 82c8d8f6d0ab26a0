"""Which env is compared with which: a free-threaded build with its matched default
build, a ``PYTHON_GIL=1`` env with the same free-threaded build, every interpreter
with one reference CPython."""

from __future__ import annotations

from typing import Hashable, Iterable

import pandas as pd

from workloads.host import gil_forced


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in str(version).split(".")[:3] if p.isdigit())


def successive_minors(candidates: Iterable[tuple[Hashable, str, str, tuple]]) -> list[tuple[Hashable, str, str]]:
    """(group, older env, newer env) for each group's consecutive minor versions: 3.13t →
    3.14t, 3.14t → 3.15t.  ``candidates`` are (group, env, version, preference): per group
    (a run, or a run and implementation) and minor version, the env with the greatest
    (preference, version) stands for it."""
    best: dict[tuple[Hashable, tuple[int, ...]], tuple[tuple, tuple[int, ...], str]] = {}
    for group, env, version, preference in candidates:
        key = version_key(version)
        slot = (group, key[:2])
        if slot not in best or (preference, key, env) > best[slot]:
            best[slot] = (preference, key, env)
    out = []
    for group in sorted({g for g, _ in best}, key=str):
        minors = sorted(m for g, m in best if g == group)
        out += [(group, best[(group, a)][2], best[(group, b)][2]) for a, b in zip(minors, minors[1:])]
    return out


def partner_envs(envs: pd.DataFrame) -> dict[tuple[str, str], tuple[str, bool]]:
    """(run_id, free-threaded env) -> (default-build env, matched?).

    A matched partner shares the provisioning pair id (same source, same flags, only
    ``--disable-gil`` differs); failing that, the same version; failing that the same
    minor version, flagged as unmatched so the report never passes it off as a pair.
    """
    pairs: dict[tuple[str, str], tuple[str, bool]] = {}
    if envs.empty:
        return pairs
    for _, ft in envs[envs["free_threaded_build"]].iterrows():
        if gil_forced(ft["python_gil_env"]):  # compared with its own build instead: forced_gil_envs
            continue
        same_run = envs[(envs["run_id"] == ft["run_id"]) & ~envs["free_threaded_build"]]
        best = None
        for _, cand in same_run[same_run["implementation"] == ft["implementation"]].iterrows():
            if ft["pair_id"] and cand["pair_id"] == ft["pair_id"]:
                rank = 0
            elif version_key(cand["version"]) == version_key(ft["version"]):
                rank = 1
            elif version_key(cand["version"])[:2] == version_key(ft["version"])[:2]:
                rank = 2
            else:
                continue
            if best is None or rank < best[0]:
                best = (rank, cand["env"])
        if best is not None:
            pairs[(ft["run_id"], ft["env"])] = (best[1], best[0] == 0)
    return pairs


def forced_gil_envs(envs: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(run_id, ``PYTHON_GIL=1`` env) -> the same free-threaded build's env without it."""
    out: dict[tuple[str, str], str] = {}
    if envs.empty:
        return out
    ft = envs[envs["free_threaded_build"]]
    forced = ft["python_gil_env"].map(gil_forced).astype(bool)
    for _, row in ft[forced].iterrows():
        plain = ft[(ft["run_id"] == row["run_id"]) & ~forced & (ft["version"] == row["version"])]
        if not plain.empty:
            out[(row["run_id"], row["env"])] = plain.iloc[0]["env"]
    return out


def reference_envs(envs: pd.DataFrame, present: set[tuple[str, str]]) -> dict[str, str]:
    """run_id -> the CPython every interpreter's pyperformance geomean is held against: the
    matched default build of a free-threaded env (a pair's own), else the same version's
    default build, else the newest default CPython build; among the envs in ``present``."""
    out: dict[str, str] = {}
    pairs = partner_envs(envs)
    for (run_id, _ft), (base, matched) in sorted(pairs.items(), key=lambda kv: not kv[1][1]):
        if (run_id, base) in present and (run_id not in out or matched):
            out.setdefault(run_id, base)
    if envs.empty:
        return out
    plain = envs[(envs["implementation"] == "cpython") & ~envs["free_threaded_build"]]
    for run_id, group in plain.groupby("run_id"):
        group = group[[(run_id, e) in present for e in group["env"]]]
        if run_id not in out and not group.empty:
            newest = max(group.to_dict("records"), key=lambda r: version_key(r["version"]))
            out[str(run_id)] = newest["env"]
    return out
