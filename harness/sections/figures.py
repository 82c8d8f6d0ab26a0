"""Charts: the most telling charts, then the other workloads' scaling curves, folded away.

Ratios that failed a sanity gate are left out of every chart: they are listed as
measurement problems instead.
"""

from __future__ import annotations

from typing import Any, Callable

from harness import charts
from harness.analysis import DEFAULT_SWITCH_MS, PEP779_MEMORY_BAR
from harness.page import ChartRef, Section
from harness.sections._cells import p
from harness.sections._context import Context


def timeline_captures(timelines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Which timelines to draw: the newest GIL CPython, the newest free-threaded one, PyPy."""

    def newest(pred: Any) -> list[dict[str, Any]]:
        chosen = [t for t in timelines if pred(t["interpreter"])]
        return sorted(chosen, key=lambda t: [int(p) for p in t["interpreter"]["version"].split(".")])[-1:]

    return (
        newest(lambda i: i["implementation"] == "cpython" and not i["free_threaded_build"])
        + newest(lambda i: i["implementation"] == "cpython" and not i["gil_enabled"])
        + newest(lambda i: i["implementation"] == "pypy")
    )


def around_picks(ctx: Context) -> list[tuple[str, str]]:
    """(mode, workload) bars of "what gets around the GIL": the flagship loop in every
    parallel mode, the native loop releasing and holding the GIL."""
    flagship, native = ctx.role("flagship"), ctx.role("native")
    return [(m, flagship) for m in ("threads", "processes", "interpreters")] + [
        (m, native) for m in ("threads-nogil", "threads-holding-gil")
    ]


def _charts(ctx: Context) -> list[ChartRef]:
    """The report's figures, most telling first; per-workload scaling curves last."""
    derived, over, labels = ctx.analysis.derived, ctx.analysis.overheads, ctx.labels
    if not derived.empty:
        derived = derived[derived["problem"] == ""]
    colors = charts.env_colors(list(labels))
    flagship = ctx.role("flagship")
    out: list[ChartRef] = []

    def add(name: str, title: str, caption: str, draw: Callable[..., str], *args: Any) -> None:
        out.append(ctx.chart(name, title, caption, draw, *args))

    if not derived.empty:
        caption = (
            "Speedup at %d workers for each way of running in parallel: threads over serial (one fresh thread), "
            "processes and interpreters over one worker of their own mode; error bars are 95%% intervals." % ctx.k
        )
        add(
            "around-gil",
            "What gets around the GIL",
            caption,
            charts.around_gil,
            derived,
            labels,
            ctx.k,
            around_picks(ctx),
        )
        if flagship in set(derived["workload"]):
            caption = (
                "Speedup against worker count, same total work split k ways (processes and interpreters over one "
                "worker of their mode); bands are 95% intervals. The dashed line is the most k workers can give on "
                "this machine: min(k, CPUs)."
            )
            add(
                "scaling-" + flagship,
                "Scaling: " + flagship,
                caption,
                charts.scaling,
                derived,
                labels,
                colors,
                flagship,
            )
            caption = (
                "Each thread's time spent not running (1 − its CPU time / the makespan): waiting for the GIL, a "
                "lock, or a CPU. The dashed line is what waiting for a CPU alone costs."
            )
            title = "Why threads do not scale: " + flagship
            add("waiting-" + flagship, title, caption, charts.waiting, derived, labels, colors, flagship)
        if (derived["mode"].isin(("threads", "threads-nogil")) & (derived["params"] == "")).any():
            caption = "The best speedup threads reached (any worker count) per interpreter and workload."
            add("heatmap", "Best thread speedup, every workload", caption, charts.heatmap, derived, labels)
    if not over.empty:
        caption = (
            "Serial time of a free-threaded build over its matched default build, and with PYTHON_GIL=1 over the "
            "same free-threaded build."
        )
        add("overheads", "Free-threading and forced-GIL overhead", caption, charts.overheads, over, labels, colors)
        if (over["kind"] == "free-threading").any() and over["memory"].notna().any():
            caption = (
                "Peak memory (RSS) of the same serial benchmark processes, free-threaded build over its matched "
                "default build; the dashed line is PEP 779's bar for a supported free-threaded build."
            )
            title = "Free-threading memory overhead"
            add("memory", title, caption, charts.memory, over, labels, colors, PEP779_MEMORY_BAR)
    if not ctx.analysis.latency.empty:
        caption = "Loopback echo latency while k threads spin in pure Python."
        title = "Convoy effect: I/O latency beside CPU-bound threads"
        add("convoy", title, caption, charts.convoy, ctx.analysis.latency, labels, colors, DEFAULT_SWITCH_MS)
    captures = timeline_captures(ctx.report.data.timelines)
    if captures:
        caption = "When each of two %s threads ran, from their own clocks (first %.0f ms)." % (
            captures[0].get("workload", "CPU-bound"),
            charts.TIMELINE_MS,
        )
        add("timeline", "GIL timeline", caption, charts.timeline, captures, labels)
    others = derived[derived["workload"] != flagship] if not derived.empty else derived
    for workload, rows in others.groupby("workload") if not others.empty else ():  # each chart gets its own rows
        add("scaling-" + workload, "Scaling: " + workload, "", charts.scaling, rows, labels, colors, workload)
    return out


def build(ctx: Context) -> list[Section]:
    refs = _charts(ctx)
    flagship = ctx.role("flagship")
    gallery = [r for r in refs if r.name.startswith("scaling-") and r.name != "scaling-" + flagship]
    section = Section("charts", "Charts", charts=[r for r in refs if r not in gallery])
    if not refs:
        section.paragraphs.append(p("No charts."))
    if gallery:
        title = "Scaling curves of the other %d workloads" % len(gallery)
        section.subsections.append(Section("gallery", title, charts=gallery, collapsed=True))
    return [section]
