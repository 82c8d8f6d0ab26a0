"""The machines page: runs from several machines in one picture, one line per machine.

Not a section of a run's report: its own page (``sections.build_machines``), built from
the same ``Report`` of every run it shows, as ``python -m harness machines RUN...`` and
the docs site's machines page (``harness publish`` of runs from several machines) show
it.  Every ratio on it is computed within one run of one machine
(``analysis.by_machine``); what it sums up across machines is the geometric mean of
those ratios, never a ratio of times taken on two machines.
"""

from __future__ import annotations

from typing import Any

from harness import charts
from harness.analysis import Machines, by_machine
from harness.page import Estimate, Number, Page, Row, Section, Table, Text
from harness.sections._cells import est, p, records, value
from harness.sections._context import Context

KINDS = {"forced GIL": "PYTHON_GIL=1"}  # a build comparison's name in a table, where it is not its kind
# What a machines chart reads, no more (its frame may travel to a drawing process).
CHART_COLUMNS = ["machine", "mode", "workers", "cpu_count", "oversubscribed"] + [
    c for prefix, _ in charts.MACHINE_ROWS for c in (prefix, prefix + "_lo", prefix + "_hi")
]


def page(ctx: Context) -> Page:
    """The whole page: the machines, every interpreter's curves on each, the build
    overheads per machine, and what holds across them."""
    found = by_machine(ctx.analysis, ctx.report.data.benchmarks, ctx.report.data.capacity)
    run_ids = sorted(set(ctx.report.data.benchmarks["run_id"]))
    count = len(found.machines)
    meta = "Runs %s · profile %s · %d machine%s" % (
        ", ".join(run_ids),
        ", ".join(sorted(set(ctx.report.data.benchmarks["profile"]))),
        count,
        "" if count == 1 else "s",
    )
    sections = [_machines(found), *_scaling(ctx, found), *_overheads(ctx, found)]
    return Page(
        "gilbench machines — %d machine%s" % (count, "" if count == 1 else "s"), run_ids, [p(meta, True)], sections
    )


def _short(found: Machines) -> dict[str, str]:
    """Each machine as a column header or a table cell names it: its id and CPUs."""
    return {
        m: "%s (%d CPU%s)" % (m, cpus, "" if cpus == 1 else "s")
        for m, cpus in zip(found.machines["machine"], found.machines["cpus"])
    }


def _geomean(row: dict[str, Any] | None, prefix: str) -> list[Text | Estimate]:
    """The geometric mean across machines and the range it spans, or blanks."""
    if row is None or not row.get("machines"):
        return [Text(""), Text("")]
    count = int(row["machines"])
    if count == 1:
        span = "1 machine"
    else:
        span = "%.2f×–%.2f× over %d machines" % (row[prefix + "_min"], row[prefix + "_max"], count)
    return [Estimate(value(row[prefix])), Text(span)]


# -- the machines and their capacity ------------------------------------------------------


def _machines(found: Machines) -> Section:
    rows = [
        Row(
            [
                Text(r["machine"]),
                Text(r["label"]),
                Number(r["cpus"], "%d"),
                Text(r["hostname"]),
                Text(", ".join(r["run_ids"])),
            ]
        )
        for r in records(found.machines)
    ]
    section = Section(
        "machines",
        "Machines",
        paragraphs=[
            p(
                "Each machine is named by the facts its runs recorded (CPU model, the CPUs the run could use, cores, "
                "SMT, memory, hypervisor) and its id, a hash of them: one host run under taskset -c 0 and without "
                "it is two machines. Every ratio on this page is computed within one run of one machine; across "
                "machines the page gives only geometric means of those ratios.",
                meta=True,
            )
        ],
        tables=[Table("machines", ["machine", "what it is", "CPUs the run could use", "host", "runs"], rows)],
    )
    short = _short(found)
    capacity = [
        Row(
            [
                Text(short[r["machine"]]),
                Text(r["run_id"]),
                Number(r["k"], "%d"),
                _capacity(r),
                Number(value(r["capacity_n"]), "%d"),
                Text("oversubscribed: more workers than CPUs" if r["oversubscribed"] else ""),
            ]
        )
        for r in records(found.capacity)
    ]
    if capacity:
        section.notes.append(
            p(
                "The machine's capacity: what k busy processes got done against one, probed before every slot of "
                "every round (its interval is over the rounds). On one CPU it is about 1× at any k; on a quiet "
                "machine about min(k, CPUs).",
                meta=True,
            )
        )
        columns = ["machine", "run", "workers (k)", "capacity (95% CI)", "rounds", "note"]
        section.tables.append(Table("capacity", columns, capacity))
    return section


def _capacity(row: dict[str, Any]) -> Estimate | Text:
    """A capacity with its interval: a measure of the machine, not a test against 1."""
    if value(row.get("capacity")) is None:
        return Text("")
    return Estimate(value(row["capacity"]), value(row["capacity_lo"]), value(row["capacity_hi"]))


# -- scaling curves -------------------------------------------------------------------------


def _workload(ctx: Context, found: Machines) -> str:
    """The workload the charts show: the flagship loop, else the first one measured."""
    flagship = ctx.role("flagship")
    workloads = sorted(set(found.lines["workload"]))
    return flagship if flagship in workloads else workloads[0]


def _scaling(ctx: Context, found: Machines) -> list[Section]:
    lines = found.lines
    if lines.empty:
        return []
    workload = _workload(ctx, found)
    names = {m: found.label(m) for m in found.machines["machine"]}
    colors = charts.env_colors(list(names))
    shown = lines[(lines["workload"] == workload) & (lines["params"] == "")]
    refs = [
        ctx.chart(
            "machines-%s-%s" % (workload, env),
            "%s on every machine: %s" % (ctx.who(env), workload),
            "Top: speedup against workers (threads over serial; processes and interpreters over one worker of "
            "their mode), bands are 95% intervals, each machine's ideal min(k, its CPUs) dashed in its colour. "
            "Bottom: the same speedup over the machine's capacity measured in the same rounds (1 = all the machine "
            "allowed). Open markers: more workers than the machine's CPUs.",
            charts.machine_scaling,
            rows[CHART_COLUMNS],
            names,
            colors,
            "machines-" + env,
        )
        for env, rows in shown.groupby("env", sort=False)
    ]
    refs.sort(key=lambda r: charts.natural_key(r.title))
    section = Section("scaling", "Scaling on every machine: " + workload, charts=refs)
    section.paragraphs.append(
        p(
            "One chart per interpreter, one line per machine. A speedup is read against its own machine: the "
            "dashed line is what that machine's CPUs allow, and the bottom row divides by what its CPUs did allow "
            "while it was measured.",
            meta=True,
        )
    )
    section.tables.append(_at_cpus(ctx, found))
    section.notes.append(
        p(
            "Each machine at its CPUs: the speedup over the machine's capacity at the most workers measured up to "
            "its CPUs, with its 95% interval; the geometric mean is over the machines that have such a point (a "
            "machine with one CPU has none: every parallel point of it is oversubscribed). The range is the least "
            "and greatest machine, not an interval.",
            meta=True,
        )
    )
    section.subsections.append(_every_speedup(ctx, found))
    return [section]


def _order(ctx: Context, env: str, workload: str, params: str, mode: str) -> tuple[Any, ...]:
    """Rows by interpreter (natural order), workload, then mode in the charts' order."""
    modes = list(charts.MODE_STYLE)
    return charts.natural_key(ctx.who(env)), workload, params, modes.index(mode) if mode in modes else len(modes)


def _at_cpus(ctx: Context, found: Machines) -> Table:
    machines = list(found.machines["machine"])
    cells = {(r["env"], r["workload"], r["params"], r["mode"], r["machine"]): r for r in records(found.at_cpus)}
    means = {(r["env"], r["workload"], r["params"], r["mode"]): r for r in records(found.efficiency)}
    keys = sorted({key[:4] for key in cells}, key=lambda k: _order(ctx, *k))
    rows = []
    for key in keys:
        per = [cells.get((*key, m)) for m in machines]
        rows.append(
            Row(
                [Text(ctx.who(key[0])), Text(key[1] + (" " + key[2] if key[2] else "")), Text(key[3])]
                + [_at(r) for r in per]
                + _geomean(means.get(key), "vs_capacity")
            )
        )
    columns = ["interpreter", "workload", "mode", *_short(found).values()]
    return Table("at-cpus", [*columns, "geometric mean", "range"], rows)


def _at(row: dict[str, Any] | None) -> Text:
    """A curve at its machine's CPUs: the worker count, its speedup over capacity."""
    if row is None or value(row.get("vs_capacity")) is None:
        return Text("")
    return Text("k=%d: %s" % (row["workers"], est(row, "vs_capacity", problem=row["problem"]).text))


def _every_speedup(ctx: Context, found: Machines) -> Section:
    columns = [
        "interpreter",
        "workload",
        "mode",
        "workers",
        "machine",
        "speedup (95% CI)",
        "capacity (95% CI)",
        "speedup / capacity (95% CI)",
        "note",
    ]
    rows, short = [], _short(found)
    for r in records(found.lines):
        note = "; ".join(filter(None, ("oversubscribed" if r["oversubscribed"] else "", r["problem"])))
        rows.append(
            Row(
                [
                    Text(ctx.who(r["env"])),
                    Text(r["workload"] + (" " + r["params"] if r["params"] else "")),
                    Text(r["mode"]),
                    Number(r["workers"], "%d"),
                    Text(short[r["machine"]]),
                    est(r, "speedup", problem=r["problem"]),
                    _capacity(r),
                    est(r, "vs_capacity") if value(r.get("vs_capacity")) is not None else Text(""),
                    Text(note),
                ],
                muted=not r["speedup_significant"],
            )
        )
    title = "Every speedup, machine by machine (%d rows)" % len(rows)
    return Section("machine-speedups", title, tables=[Table("machine-speedups", columns, rows)], collapsed=True)


# -- build overheads ---------------------------------------------------------------------------


def _overheads(ctx: Context, found: Machines) -> list[Section]:
    if found.overheads.empty:
        return []
    machines = list(found.machines["machine"])
    cells = {
        (r["kind"], r["env"], r["baseline_env"], r["workload"], r["params"], r["machine"]): r
        for r in records(found.overheads)
    }
    means = {(r["kind"], r["env"], r["baseline_env"], r["workload"], r["params"]): r for r in records(found.overhead)}
    rows = []
    order = sorted(
        {k[:5] for k in cells}, key=lambda k: (k[0] != "free-threading", charts.natural_key(ctx.who(k[1])), k[3:])
    )
    for key in order:
        kind, env, base, workload, params = key
        per = [cells.get((*key, m)) for m in machines]
        rows.append(
            Row(
                [
                    Text(KINDS.get(kind, kind)),
                    Text("%s vs %s" % (ctx.who(env), ctx.who(base))),
                    Text(workload + (" " + params if params else "")),
                ]
                + [est(r, "overhead") if r is not None else Text("") for r in per]
                + _geomean(means.get(key), "overhead")
            )
        )
    columns = ["overhead", "interpreter", "workload", *_short(found).values(), "geometric mean", "range"]
    return [
        Section(
            "overheads",
            "Free-threading overhead per machine",
            paragraphs=[
                p(
                    "Serial time of a free-threaded build over its matched default build (and with PYTHON_GIL=1 "
                    "over the same free-threaded build), per unit of work, on each machine, with its 95% interval "
                    "(>1 = slower). The geometric mean is over the machines' own ratios; the range is the least "
                    "and greatest machine, not an interval.",
                    meta=True,
                )
            ],
            tables=[Table("machine-overheads", columns, rows)],
        )
    ]
