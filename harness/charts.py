"""Charts: one function per figure, each (data, config) -> SVG text.

matplotlib with the Agg backend, SVG output with text kept as text (matplotlib
escapes it), and a per-chart hash salt so several charts inlined in one HTML page
never share element ids.  Colours are fixed per env across all charts of a report.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.collections import LineCollection, PathCollection, PolyCollection
from matplotlib.colors import TwoSlopeNorm, to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.ticker import NullLocator, ScalarFormatter
from matplotlib.transforms import IdentityTransform

from harness._gc import paused

# Modes in the order readers compare them, with their line styles and bar colours.
MODE_STYLE = {
    "threads": ("-", "#d1495b"),
    "processes": ("--", "#00798c"),
    "interpreters": ("-.", "#edae49"),
    "threads-nogil": ("-", "#30638e"),
    "threads-holding-gil": (":", "#8d6a9f"),
}
PALETTE = plt.get_cmap("tab10").colors
TIMELINE_MS = 80.0  # the first milliseconds of the capture that the timeline shows
HEADROOM = 1.25  # speedup axes end this far above the best speedup the machine allows
LEGEND_FONT = 8  # points


def label(implementation: str, version: str, free_threaded: bool, python_gil_env: str = "") -> str:
    """Human name of an interpreter configuration: ``CPython 3.13.5t (PYTHON_GIL=1)``."""
    name = {"cpython": "CPython", "pypy": "PyPy"}.get(implementation, implementation)
    text = "%s %s%s" % (name, version, "t" if free_threaded else "")
    return text + (" (PYTHON_GIL=%s)" % python_gil_env if python_gil_env else "")


def env_colors(envs: list[str]) -> dict[str, Any]:
    """A stable colour per env, shared by every chart of a report."""
    return {env: PALETTE[i % len(PALETTE)] for i, env in enumerate(sorted(envs))}


Render = TypeVar("Render", bound=Callable[..., str])


def _gc_paused(render: Render) -> Render:
    """Draw a chart with the cyclic garbage collector paused (``harness._gc``): a figure is
    tens of thousands of small objects in reference cycles."""

    @functools.wraps(render)
    def drawn(*args: Any, **kwargs: Any) -> str:
        with paused():
            return render(*args, **kwargs)

    return cast(Render, drawn)


def to_svg(fig: plt.Figure, salt: str) -> str:
    """Serialise and close ``fig``; the XML prolog is dropped so the SVG can be inlined.

    Printed by the SVG canvas itself rather than through ``savefig``: for a figure with a
    layout engine, ``savefig`` first draws the whole figure once without output just to
    lay it out, then draws it again.  Here the one draw lays the figure out (the same
    constrained layout, on the same SVG renderer) and writes it: the same bytes, in
    about a quarter less time.  No ``savefig.*`` setting is in play; the charts use none."""
    text = _print_svg(fig, salt)
    plt.close(fig)
    return text


def _print_svg(fig: Figure, salt: str) -> str:
    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None})  # reproducible bytes
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _legend_below(fig: plt.Figure, ax: plt.Axes, ncol: int = 4) -> None:
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=ncol, fontsize=8, frameon=False)


def _order(envs: Any, labels: dict[str, str]) -> list[str]:
    """Envs by label in natural order: CPython 3.9 before 3.10, PyPy last."""
    return sorted(set(envs), key=lambda e: (natural_key(labels.get(e, e)), e))


def natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def cpus_of(data: pd.DataFrame) -> int:
    """The machine's CPU count from the frame's ``cpu_count`` column (max over rows), so the
    ideal speedup stops rising where the hardware does; the largest worker count when the
    run did not record it (0 or missing)."""
    counts = pd.to_numeric(data["cpu_count"], errors="coerce") if "cpu_count" in data else pd.Series(dtype=float)
    cpus = counts.max()
    return int(cpus) if cpus > 0 else int(data["workers"].max())


def speedup_cap(workers: int, cpus: int) -> float:
    """Top of a speedup axis: a little above the best speedup possible, min(workers, CPUs).
    A fixed, physical range keeps one wild interval (say a noisy serial time) from
    rescaling the chart and flattening every honest curve; such values get a marker."""
    return HEADROOM * max(min(workers, cpus), 1)


def _mark_off_scale(ax: plt.Axes, x: float, note: str, color: Any, filled: bool, stack: dict[float, int]) -> None:
    """A caret at the top edge above ``x`` with the true value as a note, for a value the
    capped axis cannot show; notes at the same ``x`` stack downwards rather than overlap."""
    row = stack.get(x, 0)
    stack[x] = row + 1
    edge = ax.get_xaxis_transform()  # x in data, y in axes fraction: 1.0 is the top edge
    ax.plot(
        [x],
        [1.0],
        marker="^",
        ms=6,
        color=color,
        mfc=color if filled else "white",
        transform=edge,
        clip_on=False,
        zorder=5,
    )
    # Left of the caret, so a note at the last k stays inside its panel; boxed, as it may sit on a bar.
    box = {"fc": "white", "ec": color, "lw": 0.5, "pad": 1, "alpha": 0.85}
    ax.annotate(
        note,
        (x, 1.0),
        xycoords=edge,
        xytext=(-5, -3 - 10 * row),
        textcoords="offset points",
        fontsize=6.5,
        color="0.15",
        va="top",
        ha="right",
        bbox=box,
    )


def _mark_speedups(
    ax: plt.Axes, xs: Any, speedups: Any, his: Any, cap: float, color: Any, stack: dict[float, int]
) -> None:
    """Mark each speedup above ``cap`` (filled caret, its value) or, for a speedup on the
    chart, an interval running above it (open caret, the interval's top)."""
    for x, speedup, hi in zip(xs, speedups, his):
        if speedup > cap:
            _mark_off_scale(ax, x, "↑ %.3g" % speedup, color, True, stack)
        elif hi > cap:
            _mark_off_scale(ax, x, "CI ↑ %.3g" % hi, color, False, stack)


@contextlib.contextmanager
def _autoscale_paused(ax: plt.Axes) -> Iterator[None]:
    """Add many artists to ``ax`` without rescaling its view after each.  matplotlib 3.11
    rescales the view (and its shared axes') for every ``fill_between``, 40% of what each
    band costs; the data limits still grow with every artist, so the one rescale at draw
    time gives the same view."""
    flags = ax.get_autoscalex_on(), ax.get_autoscaley_on()
    ax.set_autoscale_on(False)
    try:
        yield
    finally:
        ax.set_autoscalex_on(flags[0])
        ax.set_autoscaley_on(flags[1])


def _lines(frame: pd.DataFrame, by: list[str], x: str, columns: list[str]) -> dict[Any, dict[str, np.ndarray]]:
    """Each group of ``frame`` by ``by``, as numpy columns in the order
    ``frame[group mask].sort_values(x)`` gives (the same quicksort, so even ties keep their
    order).  One groupby instead of a mask and a sort per line: each of those copied all
    of the derived frame's columns, 72 times for a chart of 24 interpreters."""
    values = {c: frame[c].to_numpy() for c in dict.fromkeys([x, *columns])}
    out = {}
    for key, rows in frame.groupby(by, sort=False).indices.items():
        order = rows[np.argsort(values[x][rows], kind="quicksort")]
        out[key] = {c: v[order] for c, v in values.items()}
    return out


def _log2_workers(ax: plt.Axes, ticks: Sequence[int]) -> None:
    """A log-2 worker axis ticked at the worker counts measured.  No minor ticks: on a
    base-2 axis none would show, yet placing them would cost a third of a chart's drawing."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())


def _runs(*columns: np.ndarray) -> list[slice]:
    """The stretches where every column is a number: a line or a band breaks at a gap,
    as matplotlib breaks a plotted line at NaN."""
    finite = np.logical_and.reduce([np.isfinite(np.asarray(c, dtype=float)) for c in columns])
    edges = np.flatnonzero(np.diff(np.concatenate([[False], finite, [False]]).astype(int)))
    return [slice(a, b) for a, b in zip(edges[::2], edges[1::2])]


def _curves(ax: plt.Axes, lines: Sequence[dict[str, np.ndarray]], colors: Sequence[Any], style: str) -> None:
    """A line with round markers and a 95% band per entry of ``lines`` (``workers``,
    ``speedup``, ``speedup_lo``, ``speedup_hi``), as three collections: one artist each for
    every line, every marker and every band of the panel.  Drawn the same as a plotted line
    and a ``fill_between`` per interpreter, at a fraction of the cost: each of those is an
    artist of its own, with its own transforms, clip paths and SVG element."""
    segments, bands, band_colors, dots, dot_colors = [], [], [], [], []
    for line, color in zip(lines, colors):
        x, y, lo, hi = line["workers"], line["speedup"], line["speedup_lo"], line["speedup_hi"]
        segments += [np.column_stack([x[s], y[s]]) for s in _runs(x, y)]
        for s in _runs(x, lo, hi):
            bands.append(np.concatenate([np.column_stack([x[s], lo[s]]), np.column_stack([x[s], hi[s]])[::-1]]))
            band_colors.append(to_rgba(color, 0.15))
        shown = np.isfinite(np.asarray(y, dtype=float))
        dots.append(np.column_stack([x[shown], y[shown]]))
        dot_colors += [color] * int(shown.sum())
    line_colors = [c for line, c in zip(lines, colors) for _ in _runs(line["workers"], line["speedup"])]
    ax.add_collection(PolyCollection(bands, facecolors=band_colors, edgecolors=band_colors, linewidths=1.0, zorder=1))
    ax.add_collection(LineCollection(segments, colors=line_colors, linewidths=1.6, linestyles=style, zorder=2))
    if dot_colors:
        ax.scatter(*np.concatenate(dots).T, s=3.5**2, c=dot_colors, marker="o", linewidths=1.0, zorder=2)


def _legend_height(entries: int, ncol: int, fontsize: float = LEGEND_FONT) -> float:
    """The height in inches of a frameless legend of ``entries`` in ``ncol`` columns, as
    matplotlib draws it: 1.55 font sizes a row (text and ``labelspacing``), 0.3 more."""
    rows = -(-entries // ncol)
    return (1.55 * rows + 0.3) * fontsize / 72


@functools.cache
def _advance(char: str, fontsize: float) -> float:
    """How far ``char`` moves the pen, in points, in the default font (kerning aside)."""
    font = _font(fontsize)
    return font.load_char(ord(char)).linearHoriAdvance / 65536


@functools.cache
def _font(fontsize: float) -> FT2Font:
    """A font object of this module's own: matplotlib's shared ones change size under it."""
    font = FT2Font(findfont(FontProperties(size=fontsize)))
    font.set_size(fontsize, 72)
    return font


def _legend_grid(fig: plt.Figure, handles: Sequence[Line2D], ncol: int, fontsize: float = LEGEND_FONT) -> None:
    """A frameless legend centred at the foot of ``fig``, laid out as matplotlib's legend
    lays out ``ncol`` columns filled top to bottom, but drawn as one line collection, one
    marker collection and a text per entry: a ``Legend`` packs boxes of every entry, and
    for the scaling charts' twenty-odd interpreters that was a quarter of each chart."""
    width, height = (72 * size for size in fig.get_size_inches())  # points
    rows = -(-len(handles) // ncol)
    columns = [handles[c * rows : (c + 1) * rows] for c in range(ncol)]
    columns = [column for column in columns if column]
    # matplotlib's defaults, in font sizes: handle length 2, then 0.8 to the text, 2 between columns
    text_widths = [max(sum(_advance(ch, fontsize) for ch in h.get_label()) for h in column) for column in columns]
    spans = [(2.0 + 0.8) * fontsize + w for w in text_widths]
    left = (width - sum(spans) - 2.0 * fontsize * (len(spans) - 1)) / 2
    segments, marks, texts = [], [], []
    for column, span in zip(columns, spans):
        for row, handle in enumerate(column):
            # the pad below the legend and its border pad (0.3 + 0.4), then half a line of text
            y = (1.28 + 1.55 * (rows - 1 - row)) * fontsize
            segments.append(((left / width, y / height), ((left + 2.0 * fontsize) / width, y / height)))
            if handle.get_marker() not in (None, "None", ""):
                marks.append((handle, ((left + fontsize) / width, y / height)))
            texts.append(((left + 2.8 * fontsize) / width, y / height, handle.get_label()))
        left += span + 2.0 * fontsize
    fig.add_artist(
        LineCollection(
            segments,
            colors=[h.get_color() for h in handles],
            linestyles=[h.get_linestyle() for h in handles],
            linewidths=[h.get_linewidth() for h in handles],
            transform=fig.transFigure,
        )
    )
    if marks:
        fig.add_artist(
            PathCollection(
                [MarkerStyle("o").get_path().transformed(MarkerStyle("o").get_transform())],
                sizes=[h.get_markersize() ** 2 for h, _ in marks],
                offsets=[xy for _, xy in marks],
                offset_transform=fig.transFigure,
                facecolors=[h.get_color() for h, _ in marks],
                edgecolors=[h.get_color() for h, _ in marks],
                linewidths=1.0,
                transform=IdentityTransform(),  # marker sizes in points, as ``scatter`` sets them
            )
        )
    for x, y, text in texts:
        fig.text(x, y, text, fontsize=fontsize, va="center")


def _fix_labels(fig: plt.Figure, axes: Sequence[plt.Axes]) -> None:
    """Titles and axis labels at fixed distances from their axes, in points: placed
    automatically, each measures the tick labels of its axis and of every axis it shares
    them with, at every draw."""
    width, height = (72 * size for size in fig.get_size_inches())
    for ax in axes:
        box = ax.get_position()
        ax.title.set_y(1.0)
        ax.xaxis.set_label_coords(0.5, -22 / (box.height * height))
        ax.yaxis.set_label_coords(-26 / (box.width * width), 0.5)


@dataclass(frozen=True)
class _ScalingShape:
    """What a scaling chart's frame is drawn from, its curves aside: a report's per-workload
    charts mostly share one, so each process draws its frame once (``scaling``)."""

    modes: tuple[str, ...]
    ticks: tuple[tuple[int, ...], ...]  # the worker counts of each panel
    top: int
    cpus: int
    legend: tuple[tuple[str, Any], ...]  # (label, colour) of every interpreter, in legend order

    @classmethod
    def of(cls, data: pd.DataFrame, labels: dict[str, str], colors: dict[str, Any]) -> _ScalingShape:
        modes = tuple(m for m in MODE_STYLE if m in set(data["mode"]))
        ticks = tuple(tuple(sorted(set(data.loc[data["mode"] == m, "workers"]))) for m in modes)
        legend = tuple((labels.get(env, env), colors.get(env)) for env in _order(data["env"], labels))
        return cls(modes, ticks, int(data["workers"].max()), cpus_of(data), legend)

    @property
    def cap(self) -> float:
        return speedup_cap(self.top, self.cpus)


def _scaling_frame(shape: _ScalingShape) -> Figure:
    """A scaling chart without its curves: a panel per mode with its ideal and 1× lines,
    ticks, titles and labels, and the legend of every interpreter.

    Laid out by arithmetic rather than by matplotlib's constrained layout, which measures
    every tick label to place the panels: a report of many workloads draws a scaling chart
    for each, all of one shape, and that pass would be a fifth of each chart's time."""
    # one panel is wider than a third of three, for two columns of interpreter names below it
    width, height = (3.9 * len(shape.modes) if len(shape.modes) > 1 else 5.2), 3.9
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(1, len(shape.modes), squeeze=False, sharey=True)[0]
    # Sampled densely: on the log-k axis a straight segment would not be the line y = k.
    ks = np.union1d(np.geomspace(1, shape.top, 64), [shape.cpus] if 1 < shape.cpus < shape.top else [])
    guides: list[Line2D] = []
    for ax, mode, ticks in zip(axes, shape.modes, shape.ticks):
        ideal = "ideal (min(k, %d CPUs))" % shape.cpus
        guides = [
            ax.plot(ks, np.minimum(ks, shape.cpus), color="0.6", lw=1, ls=(0, (4, 3)), label=ideal)[0],
            ax.axhline(1.0, color="0.3", lw=0.8, label="1× (no gain)"),
        ]
        _log2_workers(ax, ticks)
        ax.set_title(mode, fontsize=10)
        ax.set_xlabel("workers (fixed total work)")
        ax.set_ylim(0, shape.cap)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("speedup (×)")
    # Every interpreter of every panel (the panel titles name the modes and their line styles)
    handles = guides + [
        Line2D([], [], marker="o", ms=3.5, lw=1.6, ls="-", color=color, label=label) for label, color in shape.legend
    ]
    # Inches: y tick labels and the y label on the left, the title on top, x tick labels,
    # the x label and the legend (with its pad) below.
    ncol = 2 if len(shape.modes) == 1 else 4
    bottom = 0.5 + _legend_height(len(handles), ncol)
    fig.subplots_adjust(left=0.56 / width, right=1 - 0.05 / width, top=1 - 0.24 / height, bottom=bottom / height)
    fig.subplots_adjust(wspace=0.14 * len(shape.modes) / (width - 0.61 - 0.14 * (len(shape.modes) - 1)))
    _fix_labels(fig, axes)
    _legend_grid(fig, handles, ncol)
    return fig


def _scaling_curves(
    fig: Figure, shape: _ScalingShape, data: pd.DataFrame, labels: dict[str, str], colors: dict[str, Any]
) -> list[Any]:
    """Draw ``data``'s curves on ``fig``, a frame of ``shape``: a line, markers and a 95%
    band per interpreter and mode, carets for what runs off the top.  Returns what it added."""
    before = {ax: set(ax.get_children()) for ax in fig.axes}
    lines = _lines(data, ["mode", "env"], "workers", ["speedup", "speedup_lo", "speedup_hi"])
    data_modes, data_envs = data["mode"].to_numpy(), data["env"].to_numpy()
    for ax, mode in zip(fig.axes, shape.modes):
        envs = _order(data_envs[data_modes == mode], labels)
        stack: dict[float, int] = {}
        with _autoscale_paused(ax):
            _curves(ax, [lines[mode, env] for env in envs], [colors.get(env) for env in envs], MODE_STYLE[mode][0])
            for env in envs:
                line = lines[mode, env]
                _mark_speedups(
                    ax, line["workers"], line["speedup"], line["speedup_hi"], shape.cap, colors.get(env), stack
                )
    return [a for ax in fig.axes for a in ax.get_children() if a not in before[ax]]


def _scaling_data(derived: pd.DataFrame, workload: str) -> pd.DataFrame:
    return derived[(derived["workload"] == workload) & (derived["params"] == "")]


def _scaling_figure(derived: pd.DataFrame, labels: dict[str, str], colors: dict[str, Any], workload: str) -> Figure:
    """The figure behind :func:`scaling`, kept apart so tests can read its lines and limits."""
    data = _scaling_data(derived, workload)
    shape = _ScalingShape.of(data, labels, colors)
    fig = _scaling_frame(shape)
    _scaling_curves(fig, shape, data, labels, colors)
    return fig


_FRAMES: dict[_ScalingShape, Figure] = {}  # this process's scaling frames, reused chart after chart


def clear_frames() -> None:
    """Forget the scaling frames this process keeps (see ``scaling``)."""
    _FRAMES.clear()


@_gc_paused
def scaling(derived: pd.DataFrame, labels: dict[str, str], colors: dict[str, Any], workload: str) -> str:
    """(1) Speedup T(baseline)/T(mode, k) against k (``analysis.derive``'s baseline): a
    panel per mode, a line per interpreter, 95% CI bands, the ideal line min(k, CPUs) and
    the 1x line; the y axis ends a little above the ideal, with carets marking what runs
    off it.

    The frame (panels, ticks, labels, legend) is drawn once per shape and process, and
    each chart draws its curves on it, prints it and takes them off again: the same SVG as
    a frame of its own (``tests/unit/test_charts.py`` checks), in half the time."""
    data = _scaling_data(derived, workload)
    shape = _ScalingShape.of(data, labels, colors)
    if shape not in _FRAMES:
        if len(_FRAMES) >= 4:
            clear_frames()
        _FRAMES[shape] = _scaling_frame(shape)
    fig = _FRAMES[shape]
    curves = _scaling_curves(fig, shape, data, labels, colors)
    try:
        return _print_svg(fig, "scaling-" + workload)
    finally:
        for artist in curves:
            artist.remove()


def _around_gil_figure(
    derived: pd.DataFrame, labels: dict[str, str], workers: int, picks: Sequence[tuple[str, str]]
) -> plt.Figure:
    """The figure behind :func:`around_gil`, kept apart so tests can read its bars and limits."""
    d = derived[(derived["workers"] == workers) & (derived["params"] == "")]
    envs = _order(d["env"], labels)
    shown = [(m, w) for m, w in picks if not d[(d["mode"] == m) & (d["workload"] == w)].empty]
    fig, ax = plt.subplots(figsize=(max(6.5, 1.2 * len(envs) + 2), 4.4), layout="constrained")
    cpus = cpus_of(d) if not d.empty else workers
    ideal, cap = min(workers, cpus), speedup_cap(workers, cpus)
    width = 0.8 / max(len(shown), 1)
    x = np.arange(len(envs))
    stack: dict[float, int] = {}
    for i, (mode, workload) in enumerate(shown):
        rows = d[(d["mode"] == mode) & (d["workload"] == workload)].set_index("env").reindex(envs)
        at = x + (i - (len(shown) - 1) / 2) * width
        # Error bars stop at the top edge, where a caret and the true bound mark them.
        err = np.vstack([rows["speedup"] - rows["speedup_lo"], np.minimum(rows["speedup_hi"], cap) - rows["speedup"]])
        ax.bar(
            at,
            rows["speedup"],
            width,
            yerr=err.clip(min=0),
            capsize=2,
            color=MODE_STYLE[mode][1],
            label="%s (%s)" % (mode, workload),
        )
        _mark_speedups(ax, at, rows["speedup"], rows["speedup_hi"], cap, MODE_STYLE[mode][1], stack)
    ax.axhline(1.0, color="0.3", lw=0.8)
    ax.axhline(ideal, color="0.6", lw=1, ls=(0, (4, 3)), label="ideal (min(k, CPUs) = %d×)" % ideal)
    ax.set_ylim(0, cap)
    ax.set_xticks(x)
    ax.set_xticklabels([labels.get(e, e) for e in envs], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("speedup at %d workers (×)" % workers)
    ax.grid(axis="y", alpha=0.3)
    _legend_below(fig, ax, ncol=3)
    return fig


@_gc_paused
def around_gil(derived: pd.DataFrame, labels: dict[str, str], workers: int, picks: Sequence[tuple[str, str]]) -> str:
    """(2) What gets around the GIL: speedup at ``workers`` per interpreter, a bar per
    (mode, workload) pick; the caller picks workloads by role, so this chart knows no names.
    The y axis ends a little above the ideal min(workers, CPUs), with carets for what runs off it."""
    return to_svg(_around_gil_figure(derived, labels, workers, picks), "around-gil")


def _ratio_dots(
    over: pd.DataFrame,
    labels: dict[str, str],
    colors: dict[str, Any],
    column: str,
    xlabel: str,
    salt: str,
    bar: tuple[float, str] | None = None,
) -> str:
    """A dot per workload and build comparison for one ratio ``column`` of the overheads
    frame, with its 95% interval; ``bar`` draws a labelled threshold line."""
    o = over[(over["params"] == "") & over[column].notna()]
    workloads = sorted(set(o["workload"]))
    series = list(o.groupby(["kind", "env"], sort=True))
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(workloads) + 2.2), layout="constrained")
    y = np.arange(len(workloads))
    step = 0.6 / max(len(series), 1)
    for i, ((kind, env), group) in enumerate(series):
        rows = group.set_index("workload").reindex(workloads)
        offset = (i - (len(series) - 1) / 2) * step
        err = np.vstack([rows[column] - rows[column + "_lo"], rows[column + "_hi"] - rows[column]])
        base = labels.get(group.iloc[0]["baseline_env"], group.iloc[0]["baseline_env"])
        name = "%s: %s vs %s" % (kind, labels.get(env, env), base)
        marker = "o" if kind == "free-threading" else "s"
        ax.errorbar(
            rows[column],
            y + offset,
            xerr=np.nan_to_num(err),
            fmt=marker,
            ms=4,
            capsize=2,
            color=colors.get(env),
            label=name,
        )
    ax.axvline(1.0, color="0.3", lw=0.8)
    if bar is not None:
        ax.axvline(bar[0], color="#d1495b", lw=1, ls=(0, (4, 3)), label=bar[1])
    ax.set_yticks(y)
    ax.set_yticklabels(workloads, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    _legend_below(fig, ax, ncol=1)
    return to_svg(fig, salt)


@_gc_paused
def overheads(over: pd.DataFrame, labels: dict[str, str], colors: dict[str, Any]) -> str:
    """(3) Build overheads per workload: free-threaded vs matched default build, and
    PYTHON_GIL=1 vs the same free-threaded build (serial time per unit of work, 95% CI)."""
    return _ratio_dots(
        over, labels, colors, "overhead", "serial time ratio (>1 = slower than the baseline)", "overheads"
    )


@_gc_paused
def memory(over: pd.DataFrame, labels: dict[str, str], colors: dict[str, Any], bar: float) -> str:
    """(3b) Peak memory of the same serial processes (their own ``peak_rss``), free-threaded
    build vs its matched default build, against PEP 779's bar for a supported build."""
    ft = over[over["kind"] == "free-threading"]
    note = "PEP 779: at most %d%% more memory" % round(100 * (bar - 1))
    return _ratio_dots(
        ft, labels, colors, "memory", "peak RSS ratio (>1 = more memory than the default build)", "memory", (bar, note)
    )


@_gc_paused
def waiting(derived: pd.DataFrame, labels: dict[str, str], colors: dict[str, Any], workload: str) -> str:
    """(1b) Why threads do not scale: the share of each thread's time spent not running
    (1 - CPU time / makespan), against the thread count, per interpreter."""
    data = derived[(derived["workload"] == workload) & (derived["params"] == "") & (derived["mode"] == "threads")]
    data = data.dropna(subset=["waiting"])
    fig, ax = plt.subplots(figsize=(5.2, 3.9), layout="constrained")
    cpus = cpus_of(derived)
    counts = sorted(set(data["workers"]))
    if counts:  # what waiting for a CPU alone costs: k threads on `cpus` cores
        ax.plot(
            counts,
            [max(0.0, 1 - cpus / k) for k in counts],
            color="0.6",
            lw=1,
            ls=(0, (4, 3)),
            label="no lock at all (only %d CPUs)" % cpus,
        )
    for env in _order(data["env"], labels):
        line = data[data["env"] == env].sort_values("workers")
        ax.plot(
            line["workers"],
            line["waiting"],
            marker="o",
            ms=3.5,
            lw=1.6,
            color=colors.get(env),
            label=labels.get(env, env),
        )
    _log2_workers(ax, counts or [1])
    ax.set_ylim(0, 1)
    ax.set_xlabel("threads (fixed total work)")
    ax.set_ylabel("share of thread time spent waiting")
    ax.grid(alpha=0.3)
    _legend_below(fig, ax, ncol=2)
    return to_svg(fig, "waiting-" + workload)


def _heatmap_figure(derived: pd.DataFrame, labels: dict[str, str]) -> plt.Figure:
    """The figure behind :func:`heatmap`, kept apart so tests can read its colour scale."""
    d = derived[derived["mode"].isin(("threads", "threads-nogil")) & (derived["params"] == "")]
    best = d.loc[d.groupby(["env", "workload"])["speedup"].idxmax()]
    envs = _order(best["env"], labels)
    workloads = sorted(set(best["workload"]))
    grid = best.pivot(index="env", columns="workload", values="speedup").reindex(index=envs, columns=workloads)
    sig = best.pivot(index="env", columns="workload", values="speedup_significant").reindex(
        index=envs, columns=workloads
    )
    width = 0.62 * len(workloads) + 2.8
    # never flatter than 4:1, or one interpreter's row shrinks to a sliver on a page
    fig, ax = plt.subplots(figsize=(width, max(0.42 * len(envs) + 1.8, width / 4)), layout="constrained")
    cap = speedup_cap(int(d["workers"].max()), cpus_of(d))
    norm = TwoSlopeNorm(vmin=0.0, vcenter=1.0, vmax=cap)
    image = ax.imshow(grid.values, cmap="RdBu", norm=norm, aspect="auto")
    for (i, j), value in np.ndenumerate(grid.values):
        if not np.isnan(value):
            ok = bool(sig.values[i, j])
            ax.text(
                j,
                i,
                "%.1f" % value,
                ha="center",
                va="center",
                fontsize=7,
                color="black" if ok else "0.45",
                style="normal" if ok else "italic",
                in_layout=False,  # inside its cell: measuring hundreds of them cannot move the layout
            )
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels(workloads, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(envs)))
    ax.set_yticklabels([labels.get(e, e) for e in envs], fontsize=8)
    extend = "max" if np.nanmax(grid.values) > cap else "neither"  # the colour bar's arrow: some cells run past it
    fig.colorbar(
        image, ax=ax, label="best thread speedup (×); grey italic = not significant", shrink=0.8, extend=extend
    )
    return fig


@_gc_paused
def heatmap(derived: pd.DataFrame, labels: dict[str, str]) -> str:
    """(4) Best thread speedup (over worker counts) per interpreter x workload.  The colour
    scale ends a little above the ideal min(workers, CPUs), so one wild cell cannot wash out
    the rest; every cell still prints its true value."""
    return to_svg(_heatmap_figure(derived, labels), "heatmap")


@_gc_paused
def convoy(lat: pd.DataFrame, labels: dict[str, str], colors: dict[str, Any], switch_ms: float) -> str:
    """(5) Convoy latency: p50/p99 against CPU-bound threads (at the ``switch_ms`` switch
    interval, CPython's default), and p99 against the switch interval with one CPU-bound
    thread (log axes).
    A panel whose sweep the run did not measure (smoke) is left out."""
    k_sweep = lat[lat["switch_ms"] == switch_ms]
    s_sweep = lat[lat["workers"] == 1]
    panels = [p for p, rows in (("k", k_sweep), ("switch", s_sweep)) if len(rows) > 1]
    fig, axes = plt.subplots(
        1, max(len(panels), 1), figsize=(5 * max(len(panels), 1), 4.4), squeeze=False, layout="constrained"
    )
    for ax, panel in zip(axes[0], panels):
        for env in _order(lat["env"], labels):
            color, name = colors.get(env), labels.get(env, env)
            if panel == "k":
                rows = k_sweep[k_sweep["env"] == env].sort_values("workers")
                ax.plot(rows["workers"], rows["p99"] * 1e3, marker="o", ms=3, color=color, label=name)
                ax.plot(rows["workers"], rows["p50"] * 1e3, ls=":", marker="o", ms=3, color=color)
            else:
                rows = s_sweep[s_sweep["env"] == env].sort_values("switch_ms")
                err = [(rows["p99"] - rows["p99_lo"]) * 1e3, (rows["p99_hi"] - rows["p99"]) * 1e3]
                ax.errorbar(
                    rows["switch_ms"], rows["p99"] * 1e3, yerr=err, marker="o", ms=3, capsize=2, color=color, label=name
                )
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        if panel == "k":
            ax.set_xlabel("CPU-bound threads (switch interval %g ms)" % switch_ms)
            ax.set_ylabel("echo latency, ms (solid p99, dotted p50)")
            ax.set_xticks(sorted(set(k_sweep["workers"])))
        else:
            ax.set_xscale("log")
            ax.set_xlabel("sys.setswitchinterval (ms), one CPU-bound thread")
            ax.set_ylabel("p99 echo latency, ms")
    _legend_below(fig, axes[0][0])
    return to_svg(fig, "convoy")


@_gc_paused
def timeline(captures: list[dict[str, Any]], labels: dict[str, str]) -> str:
    """(6) GIL timeline: when each thread ran (opacity = share of the slice on a CPU)."""
    fig, axes = plt.subplots(
        len(captures),
        1,
        figsize=(10, 1.1 * sum(c["threads"] for c in captures) + 0.6),
        squeeze=False,
        sharex=True,
        layout="constrained",
    )
    for ax, capture in zip(axes[:, 0], captures):
        for index, slices in enumerate(capture["slices"]):
            color = PALETTE[index % len(PALETTE)]
            shown = [s for s in slices if s[0] * 1e3 < TIMELINE_MS]
            bars = [(s[0] * 1e3, (s[1] - s[0]) * 1e3) for s in shown]
            facecolors = [(*color[:3], max(0.05, min(1.0, s[2]))) for s in shown]
            ax.broken_barh(bars, (index - 0.4, 0.8), facecolors=facecolors, linewidth=0)
            busy = sum((s[1] - s[0]) * s[2] for s in slices) / max(capture["seconds"], 1e-9)
            ax.text(TIMELINE_MS * 1.01, index, "%.0f%% on CPU" % (100 * busy), va="center", fontsize=7)
        ax.set_yticks(range(capture["threads"]))
        ax.set_yticklabels(["thread %d" % (i + 1) for i in range(capture["threads"])], fontsize=8)
        ax.set_title(labels.get(capture["env"], capture["env"]), fontsize=9, loc="left")
        ax.set_xlim(0, TIMELINE_MS)
        ax.invert_yaxis()
    axes[-1, 0].set_xlabel(
        "milliseconds (%s in %d threads)" % (captures[0].get("workload", "a CPU-bound loop"), captures[0]["threads"])
    )
    return to_svg(fig, "timeline")


# The rows of a machines chart: the ratio each draws, and its axis label.
MACHINE_ROWS = (("speedup", "speedup (×)"), ("vs_capacity", "speedup / machine's capacity"))
MACHINE_DODGE = 0.04  # octaves between two machines' points at one worker count, so both intervals show


def _lone_intervals(ax: plt.Axes, line: dict[str, np.ndarray], color: Any) -> None:
    """An error bar for each point of ``line`` whose interval no band shows: a band needs a
    neighbour (a smoke run measures one worker count)."""
    x, lo, hi = line["workers"], line["speedup_lo"], line["speedup_hi"]
    lone = [s.start for s in _runs(x, lo, hi) if s.stop - s.start == 1]
    if lone:
        ax.add_collection(
            LineCollection([((x[i], lo[i]), (x[i], hi[i])) for i in lone], colors=[to_rgba(color, 0.5)], linewidths=3)
        )


def _machine_scaling_figure(lines: pd.DataFrame, machines: dict[str, str], colors: dict[str, Any]) -> plt.Figure:
    """The figure behind :func:`machine_scaling`, kept apart so tests can read its lines."""
    modes = [m for m in MODE_STYLE if m in set(lines["mode"])]
    order = [m for m in machines if m in set(lines["machine"])]
    columns = [c for prefix, _ in MACHINE_ROWS for c in (prefix, prefix + "_lo", prefix + "_hi")]
    got = _lines(lines, ["mode", "machine"], "workers", [*columns, "oversubscribed"])
    top = int(lines["workers"].max())
    cpus = {m: cpus_of(lines[lines["machine"] == m]) for m in order}
    caps = {"speedup": speedup_cap(top, max(cpus.values(), default=1)), "vs_capacity": speedup_cap(1, 1)}
    ks = np.union1d(np.geomspace(1, top, 64), [c for c in cpus.values() if 1 < c < top])
    dodge = {m: 2 ** (MACHINE_DODGE * (i - (len(order) - 1) / 2)) for i, m in enumerate(order)}
    width = max(5.2, 3.4 * len(modes))
    fig, axes = plt.subplots(
        2, len(modes), figsize=(width, 6.0 + 0.2 * len(order)), squeeze=False, sharex="col", layout="constrained"
    )
    for col, mode in enumerate(modes):
        shown = [m for m in order if (mode, m) in got]
        for row, (prefix, ylabel) in enumerate(MACHINE_ROWS):
            ax = axes[row][col]
            # _curves draws the ``speedup`` columns: this row's ratio under those names; each
            # machine's points a little apart from the others' at the same k (its ``dodge``)
            curves = [
                {
                    "workers": got[mode, m]["workers"] * dodge[m],
                    "speedup": got[mode, m][prefix],
                    "speedup_lo": got[mode, m][prefix + "_lo"],
                    "speedup_hi": got[mode, m][prefix + "_hi"],
                }
                for m in shown
            ]
            stack: dict[float, int] = {}
            with _autoscale_paused(ax):
                _curves(ax, curves, [colors[m] for m in shown], MODE_STYLE[mode][0])
                for m, curve in zip(shown, curves):
                    _lone_intervals(ax, curve, colors[m])
                    over = got[mode, m]["oversubscribed"].astype(bool) & np.isfinite(curve["speedup"].astype(float))
                    ax.scatter(
                        curve["workers"][over],
                        curve["speedup"][over],
                        s=5.5**2,
                        facecolors="white",
                        edgecolors=[colors[m]],
                        linewidths=1.2,
                        zorder=3,
                    )
                    k = got[mode, m]["workers"]  # notes at the same k stack, whichever machine's
                    _mark_speedups(ax, k, curve["speedup"], curve["speedup_hi"], caps[prefix], colors[m], stack)
                    if prefix == "speedup":  # what this machine allows: min(k, its CPUs)
                        ax.plot(ks, np.minimum(ks, cpus[m]), color=colors[m], lw=0.9, ls=(0, (4, 3)), alpha=0.7)
            ax.axhline(1.0, color="0.3" if prefix == "speedup" else "0.6", lw=0.8)
            _log2_workers(ax, sorted(set(lines.loc[lines["mode"] == mode, "workers"])))
            ax.set_ylim(0, caps[prefix])
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(mode, fontsize=10)
            else:
                ax.set_xlabel("workers (fixed total work)")
            if col == 0:
                ax.set_ylabel(ylabel)
    handles = [Line2D([], [], marker="o", ms=3.5, lw=1.6, color=colors[m], label=machines[m]) for m in order]
    handles += [
        Line2D([], [], color="0.4", lw=0.9, ls=(0, (4, 3)), label="ideal: min(k, the machine's CPUs), in its colour"),
        Line2D(
            [], [], ls="", marker="o", ms=5.5, mfc="white", mec="0.3", label="more workers than CPUs (oversubscribed)"
        ),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=1, fontsize=LEGEND_FONT, frameon=False)
    return fig


@_gc_paused
def machine_scaling(lines: pd.DataFrame, machines: dict[str, str], colors: dict[str, Any], salt: str) -> str:
    """(7) One interpreter on every machine: its speedup (top row) and its speedup over
    the machine's capacity measured in the same rounds (bottom row) against workers, a
    panel per mode, a line per machine (``machines``: id -> its name, in legend order)
    with its 95% band; each machine's own ideal, min(k, its CPUs), dashed in its colour;
    oversubscribed points as open markers.  ``lines``: ``analysis.Machines.lines`` rows
    of one interpreter and workload."""
    return to_svg(_machine_scaling_figure(lines, machines, colors), salt)
