"""The one view of a report: what every renderer shows, built once from the analysis.

The HTML report (``report.render``) and the docs page (the ``gilbench-run``
directive, reading ``view.json``) both walk the same ``Page``: sections hold
paragraphs, bulleted items, charts, tables and subsections; tables hold typed
cells.  So the two can no longer disagree about what a run found, and neither
renderer formats a number or decides what is significant.

Every string here is plain text, whatever it came from: renderers escape it
(markupsafe in HTML) or put it in text nodes (docutils), never parse it as markup.
Numbers are formatted here, once, so renderers only copy strings.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from harness import charts, model, noise
from harness.analysis import (
    PEP779_MEMORY_BAR,
    PEP779_TIME_BAR,
    aa_summary,
    headline_workers,
    memory_unmeasured,
    object_memory_unmeasured,
)
from harness.collect import summary_frame
from harness.page import Cell, ChartRef, Code, Estimate, Number, Page, Paragraph, Row, Section, Table, Text
from workloads.host import PAIRED_MODES

# -- cells -----------------------------------------------------------------------------


def _value(value: Any) -> float | None:
    """A number, or None for a missing one (NaN is not JSON)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


# -- building --------------------------------------------------------------------------


def _p(text: str, meta: bool = False) -> Paragraph:
    return Paragraph([Text(text)], meta)


def _est(row: dict[str, Any], prefix: str, **kw: Any) -> Estimate:
    """The ``prefix`` ratio of a derived-frame record, with its interval."""
    return Estimate(
        _value(row[prefix]),
        _value(row[prefix + "_lo"]),
        _value(row[prefix + "_hi"]),
        bool(row[prefix + "_significant"]),
        **kw,
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, built column-wise: ``iterrows`` is far too slow for 10,000 rows."""
    if frame.empty:
        return []
    columns = {c: frame[c].tolist() for c in frame.columns}
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def _versus(labels: dict[str, str], env: str, matched: bool) -> str:
    return labels.get(env, env) + ("" if matched else " (not a matched build)")


def _findings(report: model.Report) -> Section:
    paragraphs = [] if report.findings else [_p("No comparisons could be made from these results.")]
    note = (
        "Speedup = T(serial) / T(mode, k workers) on the same interpreter for the same total work; serial is the work "
        "in one fresh worker thread, timed by the same code as k threads. Every benchmark is measured in rounds (one "
        "pyperf process of every benchmark of every interpreter per round, in shuffled order); a ratio is computed "
        "round by round and its 95% interval is Student's t on the per-round log ratios. “±” is the precision reached "
        "(the interval's relative half-width); “not significant” means the interval contains 1."
    )
    items = [_p(f) for f in report.findings]
    return Section("findings", "Findings", paragraphs=paragraphs, items=items, notes=[_p(note, meta=True)])


def _charts(report: model.Report) -> Section:
    """The most telling charts, then the other workloads' scaling curves, folded away."""
    flagship = model.role_workload(report.data.benchmarks, "flagship")
    refs = [
        (ChartRef(c.name, c.title, c.caption), c.name.startswith("scaling-") and c.name != "scaling-" + flagship)
        for c in report.charts
    ]
    main, gallery = [r for r, other in refs if not other], [r for r, other in refs if other]
    section = Section("charts", "Charts", charts=main)
    if not report.charts:
        section.paragraphs.append(_p("No charts."))
    if gallery:
        title = "Scaling curves of the other %d workloads" % len(gallery)
        section.subsections.append(Section("gallery", title, charts=gallery, collapsed=True))
    return section


def _at_k(derived: pd.DataFrame, labels: dict[str, str], k: int) -> list[Section]:
    """A table per mode at ``k`` workers: a row per workload, a cell per interpreter."""
    rows = _records(derived[(derived["workers"] == k) & (derived["params"] == "")])
    envs = sorted({r["env"] for r in rows}, key=lambda e: charts.natural_key(labels.get(e, e)))
    cells: dict[tuple[str, str, str], Estimate] = {
        (r["mode"], r["workload"], r["env"]): _est(r, "speedup", problem=r["problem"], brief=True) for r in rows
    }
    modes = {r["mode"] for r in rows}
    caps = [c for c in (_value(r.get("capacity")) for r in rows) if c is not None]
    note = (
        [
            _p(
                "The machine's parallel capacity at %d workers in the same rounds: %.2f× (%d busy processes against "
                "one, probed before every slot of every round); each speedup over its own rounds' capacity is in "
                "'Every speedup'." % (k, float(np.median(caps)), k),
                meta=True,
            )
        ]
        if caps
        else []
    )
    out = []
    for mode in [m for m in charts.MODE_STYLE if m in modes]:
        workloads = sorted({w for m, w, _ in cells if m == mode})
        table = Table(
            "at-k",
            ["workload", *(labels.get(e, e) for e in envs)],
            [Row([Text(w), *(cells.get((mode, w, e)) or Text("") for e in envs)]) for w in workloads],
        )
        over = " (over one %s worker)" % mode if mode in PAIRED_MODES else ""
        out.append(
            Section(
                "at-k-" + mode, "Speedup at %d workers: %s%s" % (k, mode, over), paragraphs=list(note), tables=[table]
            )
        )
    return out


def _speedups(derived: pd.DataFrame, labels: dict[str, str]) -> Section:
    rows = []
    for r in _records(derived):
        netted = r["net_baseline_env"] != r["env"] and not pd.isna(r["net_speedup"])
        rows.append(
            Row(
                [
                    Text(labels.get(r["env"], r["env"])),
                    Text(r["workload"]),
                    Text(r["params"]),
                    Text(r["mode"]),
                    Number(_value(r["workers"]), "%d"),
                    Text(r["baseline_name"]),
                    _est(r, "speedup", problem=r["problem"]),
                    Number(_value(100 * r["speedup_hw"]), "%.1f", "%"),
                    Number(_value(100 * r["efficiency"]), "%.0f", "%"),
                    Number(_value(r.get("capacity")), "%.2f", "×"),
                    _est(r, "vs_capacity") if _value(r.get("vs_capacity")) is not None else Text(""),
                    Number(_value(100 * r["waiting"]), "%.0f", "%"),
                    _est(r, "net_speedup") if netted else Text(""),
                    Text(_versus(labels, r["net_baseline_env"], r["net_matched"]) if netted else ""),
                ],
                muted=not r["speedup_significant"],
            )
        )
    columns = [
        "interpreter",
        "workload",
        "params",
        "mode",
        "workers",
        "over",
        "speedup (95% CI)",
        "±",
        "efficiency",
        "machine capacity",
        "speedup / capacity (95% CI)",
        "waiting",
        "net speedup (95% CI)",
        "net vs",
    ]
    title = "Every speedup, with intervals (%d rows)" % len(rows)
    return Section("speedups", title, tables=[Table("speedups", columns, rows)], collapsed=True)


def _one_worker(one: pd.DataFrame, labels: dict[str, str]) -> list[Section]:
    """One pool worker or subinterpreter against serial: the baseline of that mode's speedups, its own ratio."""
    if one.empty:
        return []
    rows = [
        Row(
            [
                Text(labels.get(r["env"], r["env"])),
                Text(r["name"]),
                Text(r["baseline_name"]),
                _est(r, "vs_serial", problem=r["problem"]),
                Number(_value(100 * r["vs_serial_hw"]), "%.1f", "%"),
                Text(r["problem"] or ""),
            ],
            muted=not r["vs_serial_significant"],
        )
        for r in _records(one)
    ]
    note = (
        "The speedups of processes and interpreters are over one worker of the same mode, so that both sides run "
        "in the same kind of process or interpreter; this is that one worker against serial (>1: faster). Serial "
        "is timed in the same process as the worker, alternately with it, and paired with it: another process's "
        "incidental state moves a pure-Python loop by several percent on its own. Runs made before that compare "
        "with the serial benchmark, and name it."
    )
    columns = ["interpreter", "benchmark", "serial", "vs serial (95% CI)", "±", "problem"]
    return [
        Section(
            "one-worker",
            "One worker against serial",
            paragraphs=[_p(note, meta=True)],
            tables=[Table("one-worker", columns, rows)],
        )
    ]


def _gated(derived: pd.DataFrame, one: pd.DataFrame, labels: dict[str, str]) -> list[Section]:
    gated = _records(derived[derived["problem"] != ""]) if not derived.empty else []
    gated += [{**r, "speedup": r["vs_serial"]} for r in _records(one[one["problem"] != ""] if not one.empty else one)]
    if not gated:
        return []
    rows = [
        Row(
            [
                Text(labels.get(r["env"], r["env"])),
                Text(r["name"]),
                Number(_value(r["speedup"]), "%.2f", "×"),
                Text(r["problem"]),
            ]
        )
        for r in gated
    ]
    table = Table("gated", ["interpreter", "benchmark", "ratio", "why it is not a result"], rows)
    return [Section("measurement-problems", "Measurement problems", tables=[table])]


def _warmups(report: model.Report) -> list[Section]:
    warm = _records(report.analysis.warmups)
    if not warm:
        return []
    listed = "; ".join(
        "%s %s (%+.0f%%)" % (report.labels.get(w["env"], w["env"]), w["name"], 100 * w["warmup_drift"]) for w in warm
    )
    text = (
        "Not at steady state (on a JIT, the last warm-up was more than 5%% off the values that followed; more "
        "warm-ups are needed): %s." % listed
    )
    return [Section("warmups", "JIT warm-up problems", paragraphs=[_p(text)])]


def _aa(report: model.Report) -> list[Section]:
    aa = aa_summary(report.analysis.aa)
    if not aa:
        return []
    text = (
        "%s measured twice, as two envs in the same interleaved rounds: %d of %d 95%% intervals exclude 1 (%.1f%%; a "
        "calibrated method excludes about 5%%); median precision ±%.1f%%."
        % (", ".join(aa["envs"]), aa["excluding"], aa["n"], 100 * aa["share"], 100 * aa["median_hw"])
    )
    return [Section("aa", "A/A calibration", paragraphs=[_p(text)])]


def _precision(report: model.Report) -> list[Section]:
    """The precision reached against the profile's target, what the target would cost,
    and the machine noise probed while measuring (shown for any profile)."""
    precision = model.precision_context(report.analysis, report.data.benchmarks)
    probes = [noise.Probe.from_json(p) for m in report.data.manifests for p in m.get("noise", [])]
    text, items = "", []
    if precision:
        text = (
            "%d of %d headline ratios (speedups and net speedups at every worker count, one worker against serial, "
            "free-threading and forced-GIL overheads) have a 95%% interval within ±%.0f%%; median ±%.1f%%. "
            % (precision["met"], precision["ratios"], 100 * precision["target"], 100 * precision["median_hw"])
        )
        needed = precision["rounds_needed"]
        if precision["median_hw"] > precision["target"] and needed["median"]:
            text += "At the spread they showed, the median ratio would reach ±%.0f%% after about %d rounds%s%s. " % (
                100 * precision["target"],
                needed["median"],
                " and the 90th percentile after about %d" % needed["p90"] if needed["p90"] else "",
                _round_pace(report.data.manifests),
            )
    text += _ahead(report.data.manifests) + _capacity(report.data.capacity)
    text += noise.describe(probes)
    if not text:
        return []
    if precision and precision["missed"]:
        text += " Wider than the target:"
        items = [_p(m) for m in precision["missed"]]
    return [Section("precision", "Precision", paragraphs=[_p(text.strip())], items=items)]


def _ahead(manifests: list[dict[str, Any]]) -> str:
    """For a run its budget stopped: what more measuring would have bought, or ''."""
    for manifest in manifests:
        history = manifest.get("precision_history") or []
        ahead = history[-1].get("ahead") if history else None
        if manifest.get("stopped_by") == "budget" and ahead and ahead.get("rounds"):
            return (
                "The run stopped at its budget of %s after %d rounds; another %s of measuring (about %d more rounds "
                "of what was still open) would bring the median to about ±%.1f%% and the 90th percentile to ±%.1f%%, "
                "if the spread stays what it was. "
                % (
                    _duration(manifest["budget"]),
                    history[-1]["round"],
                    _duration(ahead["seconds"]),
                    ahead["rounds"],
                    100 * ahead["median"],
                    100 * ahead["p90"],
                )
            )
    return ""


def _capacity(capacity: dict[str, dict[int, dict[int, float]]]) -> str:
    """The machine's parallel capacity over the run's rounds, or ''."""
    parts = []
    for by_k in capacity.values():
        for k, rounds in sorted(by_k.items()):
            values = sorted(rounds.values())
            parts.append(
                "%d busy processes did %.2f× the work of one (median over %d rounds, %.2f× to %.2f×)"
                % (k, float(np.median(values)), len(values), values[0], values[-1])
            )
    return ("Machine capacity, probed before every slot of every round: %s. " % "; ".join(parts)) if parts else ""


def _round_pace(manifests: list[dict[str, Any]]) -> str:
    """The pace of a full round, e.g. ', at about 11 min per full round', or ''."""
    for manifest in manifests:
        history = manifest.get("precision_history") or []
        if history and history[0].get("round"):
            return ", at about %s per full round" % _duration(history[0]["seconds"] / history[0]["round"])
    return ""


def _duration(seconds: float) -> str:
    return "%.0f s" % seconds if seconds < 120 else "%.0f min" % (seconds / 60)


def _overheads(report: model.Report) -> list[Section]:
    labels, rows = report.labels, []
    for r in _records(report.analysis.overheads):
        rows.append(
            Row(
                [
                    Text(r["kind"]),
                    Text(labels.get(r["env"], r["env"])),
                    Text(_versus(labels, r["baseline_env"], r["matched"])),
                    Text(r["workload"]),
                    Text(r["params"]),
                    _est(r, "overhead"),
                    Number(_value(100 * r["overhead_hw"]), "%.1f", "%"),
                    _est(r, "memory") if _value(r["memory"]) is not None else Text(""),
                ],
                muted=not r["overhead_significant"],
            )
        )
    if not rows:
        return []
    columns = [
        "kind",
        "interpreter",
        "vs",
        "workload",
        "params",
        "time ratio (95% CI)",
        "±",
        "peak memory ratio (95% CI)",
    ]
    title = "Build overheads (serial time ratios)"
    return [Section("overheads", title, tables=[Table("overheads", columns, rows)])]


def _objects(report: model.Report) -> list[Section]:
    """Resident bytes per object of the memory-probing workloads, and the free-threaded
    build's against its matched default build; one line per env that could not measure it."""
    labels, objects = report.labels, report.analysis.objects
    rows = [
        Row(
            [
                Text(labels.get(r["env"], r["env"])),
                Text(r["workload"]),
                Estimate(_value(r["bytes"]), _value(r["bytes_lo"]), _value(r["bytes_hi"]), fmt="%.1f", unit=" B"),
                Number(_value(r["bytes_n"]), "%d"),
                _est(r, "vs_default") if _value(r["vs_default"]) is not None else Text(""),
                Text(_versus(labels, r["baseline_env"], r["matched"]) if r["baseline_env"] else ""),
            ]
        )
        for r in _records(objects)
    ]
    missing = object_memory_unmeasured(report.data.benchmarks)
    if not rows and not missing:
        return []
    note = (
        "Resident bytes per object: each round, a fresh benchmark process builds a known number of objects of "
        "the kind, holds them, and divides its resident-set growth by the count (allocator overhead included, the "
        "list that holds them not; workloads/memory.py). The interval is Student's t over rounds; the "
        "free-threaded ratio is paired by round."
    )
    section = Section("objects", "Memory per object", paragraphs=[_p(note, True)])
    if rows:
        columns = ["interpreter", "workload", "bytes per object (95% CI)", "rounds", "free-threaded / default", "vs"]
        section.tables.append(Table("objects", columns, rows))
    section.items = [
        _p("Bytes per object not measured on %s (%s): no /proc/self/status here." % (labels.get(env, env), env))
        for env in missing
    ]
    return [section]


GEOMEAN_KINDS = {
    "free-threading": "free-threaded build / default build",
    "forced GIL": "PYTHON_GIL=1 / free-threaded build",
    "vs reference": "interpreter / reference CPython",
}


def _bar_verdict(verdict: str, bar: float) -> Text:
    """PEP 779's verdict on a geometric mean: said only when its whole interval is on one side."""
    limit = "%.0f%% more" % (100 * (bar - 1))
    if verdict == "within":
        return Text("within PEP 779's bar (at most %s)" % limit)
    if verdict == "above":
        return Text("above PEP 779's bar (at most %s)" % limit, tone="bad")
    if verdict == "undecided":
        return Text("undecided: the interval straddles %.2f×" % bar, tone="muted")
    return Text("")


def _ratio(row: dict[str, Any], prefix: str) -> Estimate:
    lo, hi = _value(row[prefix + "_lo"]), _value(row[prefix + "_hi"])
    significant = None if lo is None or hi is None else bool(lo > 1.0 or hi < 1.0)
    return Estimate(_value(row[prefix]), lo, hi, significant)


def _pyperformance(report: model.Report) -> list[Section]:
    """bench-all --pyperformance: geometric means against PEP 779's bars and a reference
    CPython, each benchmark's ratios, and the envs whose peak memory could not be measured."""
    geo, per, labels = report.analysis.geomeans, report.analysis.pyperformance, report.labels
    if geo.empty and per.empty:
        return []
    note = (
        "pyperformance benchmarks (bench-all --pyperformance) measured in the same interleaved rounds as the "
        "workloads: one pyperf worker process per benchmark, interpreter and round, every interpreter's back to "
        "back. Time is per pyperf loop; memory is the worker process's own peak RSS. A geometric mean is taken "
        "round by round over the benchmarks both sides measured, and its 95%% interval is Student's t over the "
        "rounds. PEP 779 asks a supported free-threaded build for at most %.0f%% more time and %.0f%% more memory "
        "(pyperformance geometric means); a verdict is given only where the whole interval is on one side of the bar."
        % (100 * (PEP779_TIME_BAR - 1), 100 * (PEP779_MEMORY_BAR - 1))
    )
    rows = []
    for r in _records(geo):
        memory: Cell = _ratio(r, "memory") if _value(r["memory"]) is not None else Text("not measured", tone="muted")
        rows.append(
            Row(
                [
                    Text(GEOMEAN_KINDS.get(r["kind"], r["kind"])),
                    Text(labels.get(r["env"], r["env"])),
                    Text(_versus(labels, r["baseline_env"], r["matched"])),
                    Number(_value(r["benchmarks"]), "%d"),
                    Number(_value(r["time_rounds"]), "%d"),
                    _ratio(r, "time"),
                    _bar_verdict(r["time_verdict"], PEP779_TIME_BAR),
                    memory,
                    _bar_verdict(r["memory_verdict"], PEP779_MEMORY_BAR),
                ]
            )
        )
    columns = [
        "comparison",
        "interpreter",
        "vs",
        "benchmarks",
        "rounds",
        "time, geometric mean (95% CI)",
        "PEP 779, time",
        "peak memory, geometric mean (95% CI)",
        "PEP 779, memory",
    ]
    section = Section("pyperformance", "pyperformance: what a build costs one thread", paragraphs=[_p(note, True)])
    if rows:
        section.tables.append(Table("pyperformance-geomeans", columns, rows))
    section.items = [
        _p(
            "Peak memory not measured on %s (%s): its pyperformance processes recorded no peak RSS "
            "(no /proc/self/status here)." % (labels.get(env, env), env)
        )
        for env in memory_unmeasured(report.data.benchmarks)
    ]
    per_rows = [
        Row(
            [
                Text(str(r["workload"]).replace("pyperformance.", "", 1)),
                Text(r["kind"]),
                Text(labels.get(r["env"], r["env"])),
                Text(_versus(labels, r["baseline_env"], r["matched"])),
                _est(r, "overhead"),
                Number(_value(100 * r["overhead_hw"]), "%.1f", "%"),
                _est(r, "memory") if _value(r["memory"]) is not None else Text(""),
            ],
            muted=not r["overhead_significant"],
        )
        for r in _records(per.sort_values(["kind", "env", "workload"]) if not per.empty else per)
    ]
    if per_rows:
        columns = ["benchmark", "kind", "interpreter", "vs", "time ratio (95% CI)", "±", "peak memory ratio (95% CI)"]
        title = "Each benchmark (%d rows)" % len(per_rows)
        section.subsections.append(
            Section("pyperformance-each", title, tables=[Table("pyperformance", columns, per_rows)], collapsed=True)
        )
    return [section]


def _latency(report: model.Report) -> list[Section]:
    rows = [
        Row(
            [
                Text(report.labels.get(r["env"], r["env"])),
                Text(r["workload"]),
                Number(_value(r["workers"]), "%d"),
                Number(_value(r["switch_ms"]), "%g", " ms"),
                Number(_value(r["n"]), "%d"),
                *(
                    Estimate(
                        _value(r[q] * 1e3),
                        _value(r[q + "_lo"] * 1e3),
                        _value(r[q + "_hi"] * 1e3),
                        fmt="%.3f",
                        unit=" ms",
                    )
                    for q in ("p50", "p99")
                ),
                Number(_value(r["requests_per_s"]), "%.0f"),
            ]
        )
        for r in _records(report.analysis.latency)
    ]
    if not rows:
        return []
    columns = [
        "interpreter",
        "workload",
        "CPU threads",
        "switch interval",
        "n",
        "p50 (95% CI)",
        "p99 (95% CI)",
        "requests/s",
    ]
    return [Section("latency", "Latency", tables=[Table("latency", columns, rows)])]


def _timings(report: model.Report) -> Section:
    rows = [
        Row(
            [
                Text(report.labels.get(r["env"], r["env"])),
                Text(r["name"]),
                Number(_value(r["n"]), "%d"),
                Number(_value(r["mean"] * 1e3), "%.3f", " ms"),
                Number(_value(r["stdev"] * 1e3), "%.3f", " ms"),
                Number(_value(r["work_size"]), "%d"),
            ]
        )
        for r in _records(summary_frame(report.data.benchmarks))
    ]
    columns = ["interpreter", "benchmark", "n", "mean", "std dev", "work size"]
    title = "All timings (%d benchmarks)" % len(rows)
    return Section("timings", title, tables=[Table("timings", columns, rows)], collapsed=True)


def _numbers(report: model.Report) -> Section:
    derived, labels = report.analysis.derived, report.labels
    section = Section("numbers", "Numbers")
    if derived.empty:
        section.paragraphs.append(_p("No speedups: no serial baseline was measured."))
    else:
        note = (
            "Grey: not significant (the 95% interval contains 1); hover a number for its interval. “problem”: the "
            "ratio failed a sanity gate (see Measurement problems) and is not a result."
        )
        section.paragraphs.append(_p(note, meta=True))
        one = report.analysis.one_worker
        section.subsections += (
            _at_k(derived, labels, headline_workers(derived)) + _one_worker(one, labels) + _gated(derived, one, labels)
        )
    section.subsections += _warmups(report) + _aa(report) + _precision(report)
    if not derived.empty:
        section.subsections.append(_speedups(derived, labels))
    section.subsections += _overheads(report) + _objects(report) + _latency(report) + [_timings(report)]
    return section


def _gil_at_runtime(env: dict[str, Any]) -> str:
    """'on' / 'off'; a free-threaded build whose GIL came back without PYTHON_GIL=1 says so."""
    forced = str(env.get("python_gil_env") or "")
    if not env.get("gil_enabled", True):
        return "off" + (" (PYTHON_GIL=%s)" % forced if forced else "")
    if env.get("free_threaded_build") and forced != "1":
        return "on: re-enabled at run time (an extension without free-threading support?)"
    return "on" + (" (PYTHON_GIL=%s)" % forced if forced else "")


def _environment(report: model.Report) -> Section:
    rows = [
        Row(
            [
                Text(e["env"]),
                Text(report.labels.get(e["env"], "%s %s" % (e["implementation"], e["version"]))),
                Text("yes" if e["free_threaded_build"] else "no"),
                Text(_gil_at_runtime(e)),
                Text(str(e["jit"])),
                Text(str(e["compiler"])),
                Text("%s/%s" % ("PGO" if e["pgo"] else "-", "LTO" if e["lto"] else "-")),
                Text(str(e["pair_id"])),
                Text("%s / %s / %s / %s" % (e["ok"], e["failed"], e["incomplete"], e["unavailable"])),
                Code(str(e["executable"])),
            ]
        )
        for e in _records(report.data.envs)
    ]
    blank: list[Cell] = [Text("") for _ in range(8)]
    rows += [
        Row([Text(env), Text("%s: %s" % (info.get("status", ""), info.get("reason", ""))), *blank], muted=True)
        for manifest in report.data.manifests
        for env, info in sorted(manifest.get("envs", {}).items())
        if info.get("status") not in ("ok", "planned")
    ]
    columns = [
        "env",
        "interpreter",
        "free-threaded build",
        "GIL at runtime",
        "JIT",
        "compiler",
        "PGO/LTO",
        "pair",
        "ok / failed / incomplete / unavailable",
        "executable",
    ]
    return Section("environment", "Environment", tables=[Table("envs", columns, rows)])


def _problems(report: model.Report) -> Section:
    outcomes = report.data.outcomes
    bad = outcomes[outcomes["status"] != "ok"] if not outcomes.empty else outcomes
    section = Section(
        "problems", "Failed & unavailable", items=[Paragraph([Text(p, tone="bad")]) for p in report.data.problems]
    )
    unavailable = bad[bad["status"] == "unavailable"] if not bad.empty else bad
    if not unavailable.empty:
        rows = [
            Row([Text(env), Text("%d benchmark(s)" % len(group), detail=", ".join(group["name"])), Text(reason)])
            for (env, reason), group in unavailable.groupby(["env", "reason"], sort=True)
        ]
        section.tables.append(Table("unavailable", ["env", "unavailable", "why"], rows))
    failed = _records(bad[bad["status"] != "unavailable"]) if not bad.empty else []
    if failed:
        rows = [
            Row([Text(o["env"]), Text(o["name"]), Text(o["status"], tone="bad"), Code(str(o["reason"]), block=True)])
            for o in failed
        ]
        section.tables.append(Table("problems", ["env", "benchmark", "status", "reason"], rows))
    elif unavailable.empty:
        section.paragraphs.append(_p("Every planned benchmark ran."))
    return section


def build_view(report: model.Report) -> Page:
    """The view of ``report``: every section, table and chart either renderer shows."""
    bench = report.data.benchmarks
    run_ids = sorted(set(bench["run_id"]))
    machines = "; ".join(
        "%s (%s, %s CPUs)" % (m["hostname"], m["cpu_model"], m["cpu_count"])
        for m in _records(bench.drop_duplicates("machine")[model.MACHINE_COLUMNS])
    )
    meta = "Run %s · profile %s · %s" % (", ".join(run_ids), ", ".join(sorted(set(bench["profile"]))), machines)
    sections = [
        _findings(report),
        _charts(report),
        *_pyperformance(report),
        _numbers(report),
        _environment(report),
        _problems(report),
    ]
    return Page("gilbench report — " + ", ".join(run_ids), run_ids, [_p(meta, meta=True)], sections)
