"""Charts on small hand-built frames: the SVG comes out, the ideal line stops at the
machine's CPUs, and a wild interval is marked at the top edge instead of rescaling
the axes (which would flatten every honest curve)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.lines import Line2D

from harness import charts

LABELS = {"cp": "CPython 3.13.5", "ft": "CPython 3.13.5t"}
COLORS = charts.env_colors(list(LABELS))
PICKS = [("threads", "spin"), ("processes", "spin"), ("threads-nogil", "native")]


def frame(rows: list[tuple[str, str, str, int, float, float, float]], cpu_count: int = 2) -> pd.DataFrame:
    """A derived frame from (env, workload, mode, workers, speedup, lo, hi) rows."""
    columns = ["env", "workload", "mode", "workers", "speedup", "speedup_lo", "speedup_hi"]
    data = pd.DataFrame(rows, columns=columns)
    data["params"] = ""
    data["cpu_count"] = cpu_count
    data["speedup_significant"] = True
    return data


def ladder(hi_at_4: float = 2.2, cpu_count: int = 2) -> pd.DataFrame:
    """Two envs, threads and processes at 1, 2 and 4 workers on ``spin``, and threads-nogil on ``native``."""
    rows = []
    for env in LABELS:
        for mode in ("threads", "processes"):
            rows += [(env, "spin", mode, 1, 0.95, 0.9, 1.0), (env, "spin", mode, 2, 1.8, 1.7, 1.9)]
            rows.append((env, "spin", mode, 4, 1.9, 1.6, hi_at_4 if (env, mode) == ("ft", "threads") else 2.2))
        rows.append((env, "native", "threads-nogil", 4, 1.9, 1.8, 2.0))
    return frame(rows, cpu_count)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def ideal_line(ax: plt.Axes) -> Line2D:
    return next(line for line in ax.get_lines() if line.get_label().startswith("ideal"))


def carets(ax: plt.Axes) -> list[Line2D]:
    return [line for line in ax.get_lines() if line.get_marker() == "^"]


def notes(ax: plt.Axes) -> list[str]:
    return [text.get_text() for text in ax.texts]


def test_every_chart_is_inline_svg():
    data = ladder()
    for svg in (
        charts.scaling(data, LABELS, COLORS, "spin"),
        charts.around_gil(data, LABELS, 4, PICKS),
        charts.heatmap(data, LABELS),
    ):
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")


def test_ideal_line_stops_rising_at_the_cpu_count():
    fig = charts._scaling_figure(ladder(cpu_count=2), LABELS, COLORS, "spin")
    for ax in fig.axes:
        line = ideal_line(ax)
        assert max(line.get_ydata()) == 2
        assert line.get_xdata()[-1] == 4 and line.get_ydata()[-1] == 2
        assert "min(k" in line.get_label()


def test_cpu_count_unknown_falls_back_to_the_largest_worker_count():
    fig = charts._scaling_figure(ladder(cpu_count=0), LABELS, COLORS, "spin")
    assert max(ideal_line(fig.axes[0]).get_ydata()) == pytest.approx(4)
    assert fig.axes[0].get_ylim() == pytest.approx((0, 5.0))


def test_scaling_keeps_its_range_and_marks_a_wild_interval():
    fig = charts._scaling_figure(ladder(hi_at_4=53), LABELS, COLORS, "spin")
    threads, processes = fig.axes[:2]
    assert threads.get_ylim() == pytest.approx((0, 2.5))
    assert len(carets(threads)) == 1 and notes(threads) == ["CI ↑ 53"]
    assert carets(processes) == [] and notes(processes) == []


def test_scaling_marks_a_point_off_the_scale_with_its_value():
    data = ladder()
    data.loc[(data["env"] == "cp") & (data["mode"] == "processes") & (data["workers"] == 4), "speedup"] = 3.1
    fig = charts._scaling_figure(data, LABELS, COLORS, "spin")
    assert notes(fig.axes[1]) == ["↑ 3.1"]


def test_around_gil_shows_the_picks_caps_its_range_and_marks_wild_error_bars():
    fig = charts._around_gil_figure(ladder(hi_at_4=53), LABELS, 4, [*PICKS, ("interpreters", "spin")])
    ax = fig.axes[0]
    bars = [container.get_label() for container in ax.containers if isinstance(container, BarContainer)]
    assert bars == ["threads (spin)", "processes (spin)", "threads-nogil (native)"]  # a pick not run is left out
    assert ideal_line(ax).get_ydata()[0] == 2  # min(4 workers, 2 CPUs)
    assert ax.get_ylim() == pytest.approx((0, 2.5))
    assert notes(ax) == ["CI ↑ 53"] and len(carets(ax)) == 1
    error_tops = [max(seg[:, 1]) for coll in ax.collections for seg in coll.get_segments()]
    assert max(error_tops) == pytest.approx(2.5)  # clipped at the top edge, not drawn to 53


def test_heatmap_colour_scale_is_capped_and_cells_keep_their_true_value():
    data = ladder()
    data.loc[(data["env"] == "ft") & (data["mode"] == "threads") & (data["workers"] == 4), "speedup"] = 53.0
    fig = charts._heatmap_figure(data, LABELS)
    ax = fig.axes[0]
    assert ax.images[0].norm.vmax == pytest.approx(2.5)
    assert "53.0" in notes(ax)


def test_scaling_legend_names_every_interpreter_of_every_panel():
    """An interpreter measured in one mode only (here ``cp`` without processes) is in the
    legend too, not just those of the last panel."""
    data = ladder()
    data = data[~((data["env"] == "cp") & (data["mode"] == "processes"))]
    fig = charts._scaling_figure(data, LABELS, COLORS, "spin")
    names = [text.get_text() for text in fig.texts]  # the legend's, the figure's only texts
    assert names[2:] == ["CPython 3.13.5", "CPython 3.13.5t"]
    assert names[0].startswith("ideal") and names[1] == "1× (no gain)"


def test_a_gap_in_a_line_or_its_band_breaks_it_as_a_plotted_line_would():
    x = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    y = np.array([1.0, np.nan, 2.0, 2.5, 3.0])
    lo = np.array([0.9, 1.5, np.nan, 2.2, 2.8])
    assert charts._runs(x, y) == [slice(0, 1), slice(2, 5)]
    assert charts._runs(x, lo, y) == [slice(0, 1), slice(3, 5)]
    assert charts._runs(x, np.full(5, np.nan)) == []


def test_the_scaling_legend_fits_its_figure_without_overlaps():
    """Nine long interpreter names under a one-panel chart: every legend text inside the
    figure, below the x label, none over another (measured by matplotlib's own renderer)."""
    names = {"e%d" % i: "CPython 3.13.%dt (PYTHON_GIL=1)" % i for i in range(9)}
    rows = [(env, "spin", "threads", k, 1.5, 1.4, 1.6) for env in names for k in (1, 2)]
    fig = charts._scaling_figure(frame(rows), names, charts.env_colors(list(names)), "spin")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # places the axis labels
    renderer = canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in fig.texts]
    assert len(boxes) == 2 + len(names)
    assert all(b.x0 >= 0 and b.x1 <= fig.bbox.width and b.y0 >= 0 for b in boxes)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert max(b.y1 for b in boxes) < fig.axes[0].xaxis.label.get_window_extent(renderer).y0


def test_a_scaling_chart_drawn_on_a_reused_frame_is_the_chart_drawn_alone():
    """``scaling`` draws each chart's curves on a frame it keeps per shape, then takes them
    off: a chart with carets, one without, and the first again give the bytes of a figure
    of their own."""
    charts.clear_frames()
    wild, calm = ladder(hi_at_4=53), ladder()
    alone = [charts.to_svg(charts._scaling_figure(d, LABELS, COLORS, "spin"), "scaling-spin") for d in (wild, calm)]
    assert [charts.scaling(d, LABELS, COLORS, "spin") for d in (wild, calm, wild)] == [*alone, alone[0]]
    assert len(charts._FRAMES) == 1
