"""Runs from several machines side by side (``analysis.by_machine``): each machine's
newest run speaks for it, each curve is read at its machine's CPUs, and what is summed
up across machines is the geometric mean of within-machine ratios."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from harness import analysis, charts
from workloads.host import Machine

ONE = Machine(arch="x86_64", cpu_model="AMD EPYC", logical_cpus=2, physical_cores=2, affinity=(0,), memory=24 << 30)
TWO = Machine(arch="x86_64", cpu_model="AMD EPYC", logical_cpus=2, physical_cores=2, affinity=(0, 1), memory=24 << 30)
OLD, NEW, CONFINED = "20260101T000000Z-" + TWO.id, "20260201T000000Z-" + TWO.id, "20260102T000000Z-" + ONE.id


def benchmarks(runs: list[tuple[str, Machine | None, str]]) -> pd.DataFrame:
    """One benchmark row per (run, machine, env), as collect gives them (what by_machine reads)."""
    return pd.DataFrame(
        [
            {
                "run_id": run_id,
                "env": env,
                "machine": machine.id if machine else run_id.rpartition("-")[2],
                "machine_facts": machine,
                "cpu_count": machine.cpus if machine else 4,
                "cpu_model": "AMD EPYC",
                "hostname": "vm",
            }
            for run_id, machine, env in runs
        ]
    )


def line(run_id: str, env: str, mode: str, workers: int, cpus: int, speedup: float, vs: float = math.nan) -> dict:
    """A row of the derived frame: a speedup and its speedup over capacity, each ±10%."""
    return {
        "run_id": run_id,
        "env": env,
        "workload": "spin",
        "params": "",
        "mode": mode,
        "workers": workers,
        "cpu_count": cpus,
        "oversubscribed": workers > cpus,
        "speedup": speedup,
        "speedup_lo": speedup / 1.1,
        "speedup_hi": speedup * 1.1,
        "vs_capacity": vs,
        "vs_capacity_lo": vs / 1.1,
        "vs_capacity_hi": vs * 1.1,
        "problem": "",
    }


def overhead(run_id: str, ratio: float) -> dict:
    return {
        "kind": "free-threading",
        "run_id": run_id,
        "env": "ft",
        "baseline_env": "cp",
        "workload": "spin",
        "params": "",
        "overhead": ratio,
        "problem": "",
    }


def found() -> analysis.Machines:
    """Two runs of the 2-CPU machine (the newer one speaks for it) and one confined to 1 CPU."""
    bench = benchmarks([(r, m, e) for r, m in ((OLD, TWO), (NEW, TWO), (CONFINED, ONE)) for e in ("cp", "ft")])
    derived = pd.DataFrame(
        [
            line(OLD, "ft", "threads", 2, 2, 1.0, 0.5),  # the older run of the same machine: not shown
            line(NEW, "ft", "threads", 1, 2, 1.0),
            line(NEW, "ft", "threads", 2, 2, 1.8, 0.9),
            line(NEW, "ft", "threads", 4, 2, 1.9, 0.95),  # oversubscribed: not "at its CPUs"
            line(CONFINED, "ft", "threads", 1, 1, 1.0),
            line(CONFINED, "ft", "threads", 2, 1, 0.98, 0.98),
        ]
    )
    overheads = pd.DataFrame([overhead(OLD, 9.0), overhead(NEW, 1.2), overhead(CONFINED, 1.35)])
    empty = pd.DataFrame()
    result = analysis.Analysis(derived, overheads, empty, empty, empty, empty)
    capacity = {NEW: {2: {0: 1.9, 1: 2.0, 2: 1.95}}, CONFINED: {2: {0: 1.0, 1: 0.95, 2: 1.02}}, OLD: {2: {0: 1.0}}}
    return analysis.by_machine(result, bench, capacity)


def test_newest_run_of_each_machine_and_env_speaks_for_it():
    seen = [("m1", "cp", "2026-a"), ("m1", "cp", "2026-b"), ("m1", "ft", "2026-a"), ("m2", "cp", "2025-z")]
    assert analysis.newest_runs(seen) == {("2026-b", "cp"), ("2026-a", "ft"), ("2025-z", "cp")}


def test_machines_are_named_by_their_facts_fewest_cpus_first():
    got = found()
    assert list(got.machines["machine"]) == [ONE.id, TWO.id]
    assert got.label(ONE.id) == "%s: %s" % (ONE.id, ONE.describe()) and "1 CPU (AMD EPYC" in got.label(ONE.id)
    assert got.machines.set_index("machine").loc[TWO.id, "run_ids"] == [NEW]  # the runs shown
    empty = pd.DataFrame()
    nothing = analysis.Analysis(empty, empty, empty, empty, empty, empty)
    old = analysis.by_machine(nothing, benchmarks([("20250101T000000Z-abc123", None, "cp")]))
    assert old.label("abc123") == "abc123: 4 CPUs (AMD EPYC)"  # a run recorded before machine records


def test_lines_keep_each_machine_and_only_its_newest_run():
    got = found()
    assert set(got.lines["run_id"]) == {NEW, CONFINED}
    assert dict(zip(got.lines["run_id"], got.lines["machine"])) == {NEW: TWO.id, CONFINED: ONE.id}


def test_capacity_per_machine_has_an_interval_and_is_labelled_oversubscribed():
    cap = found().capacity.set_index("machine")
    assert set(cap["run_id"]) == {NEW, CONFINED}  # the older run is not shown, nor its capacity
    one = cap.loc[ONE.id]
    assert one["k"] == 2 and one["oversubscribed"] and one["capacity_n"] == 3
    assert one["capacity_lo"] < one["capacity"] < one["capacity_hi"]
    assert one["capacity"] == pytest.approx((1.0 * 0.95 * 1.02) ** (1 / 3))
    assert not cap.loc[TWO.id, "oversubscribed"]


def test_a_curve_at_its_machines_cpus_is_the_most_workers_up_to_them():
    top = found().at_cpus
    assert list(zip(top["machine"], top["workers"])) == [(TWO.id, 2)]  # a 1-CPU machine has no such point


def test_across_machines_is_the_geometric_mean_of_within_machine_ratios():
    got = found().overhead.iloc[0]
    assert got["overhead"] == pytest.approx(math.sqrt(1.2 * 1.35))  # the older run's 9.0 is not in it
    assert (got["overhead_min"], got["overhead_max"], got["machines"]) == (1.2, 1.35, 2)
    assert got["machine_ids"] == sorted([ONE.id, TWO.id])
    frame = pd.DataFrame(
        [
            {"machine": "a", "env": "e", "overhead": 2.0, "problem": ""},
            {"machine": "b", "env": "e", "overhead": 8.0, "problem": ""},
            {"machine": "c", "env": "e", "overhead": 100.0, "problem": "speedup > workers"},  # gated: left out
            {"machine": "d", "env": "e", "overhead": math.nan, "problem": ""},
        ]
    )
    mean = analysis.across_machines(frame, ["env"], "overhead").iloc[0]
    assert mean["overhead"] == pytest.approx(4.0) and mean["machines"] == 2


def test_the_machines_chart_draws_a_line_per_machine_with_its_own_ideal_and_open_oversubscribed_points():
    got = found()
    names = {m: got.label(m) for m in got.machines["machine"]}
    colors = charts.env_colors(list(names))
    fig = charts._machine_scaling_figure(got.lines[got.lines["env"] == "ft"], names, colors)
    try:
        speedup, efficiency = fig.axes[0], fig.axes[1]
        assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == [names[ONE.id], names[TWO.id]]
        ideals = {tuple(np.round(line.get_ydata()[-1:], 6)) for line in speedup.get_lines() if line.get_alpha()}
        assert ideals == {(1.0,), (2.0,)}  # min(k, CPUs) of each machine, at k = 4
        opened = [
            c
            for c in speedup.collections
            if len(c.get_offsets()) and len(c.get_facecolor()) and c.get_facecolor()[0][:3].tolist() == [1, 1, 1]
        ]
        assert sorted(round(x) for c in opened for x, _ in c.get_offsets()) == [2, 4]  # 1 CPU at 2; 2 CPUs at 4
        assert efficiency.get_ylim()[1] == pytest.approx(charts.speedup_cap(1, 1))
    finally:
        plt.close(fig)
    svg = charts.machine_scaling(got.lines[got.lines["env"] == "ft"], names, colors, "machines-ft")
    assert svg.startswith("<svg") and ONE.id in svg and TWO.id in svg
