"""Charts: one function per figure, each (data, config) -> SVG text.

matplotlib with the Agg backend, SVG output with text kept as text, and a
per-chart hash salt so several charts inlined in one HTML page never share ids.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

# Modes in the order readers compare them, with their line styles.
MODE_STYLE = {
    "threads": "-",
    "processes": "--",
    "interpreters": "-.",
    "threads-nogil": "-",
    "threads-holding-gil": ":",
}
PALETTE = plt.get_cmap("tab10").colors


def label(implementation: str, version: str, free_threaded: bool, python_gil_env: str = "") -> str:
    """Human name of an interpreter configuration: ``CPython 3.13.5t (PYTHON_GIL=1)``."""
    name = {"cpython": "CPython", "pypy": "PyPy"}.get(implementation, implementation)
    text = "%s %s%s" % (name, version, "t" if free_threaded else "")
    return text + (" (PYTHON_GIL=%s)" % python_gil_env if python_gil_env else "")


def env_colors(envs: list[str]) -> dict[str, Any]:
    """A stable colour per env, shared by every chart of a report."""
    return {env: PALETTE[i % len(PALETTE)] for i, env in enumerate(sorted(envs))}


def to_svg(fig: plt.Figure, salt: str) -> str:
    """Serialise and close ``fig``; the XML prolog is dropped so the SVG can be inlined."""
    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def scaling(derived: pd.DataFrame, labels: dict[str, str], colors: dict[str, Any], workload: str) -> str:
    """Speedup T(serial)/T(mode, k) against k: a panel per mode, a line per interpreter,
    95% CI bands, the ideal-linear line and the 1x line."""
    data = derived[derived["workload"] == workload]
    modes = [m for m in MODE_STYLE if m in set(data["mode"])]
    fig, axes = plt.subplots(1, max(len(modes), 1), figsize=(4.2 * max(len(modes), 1), 3.6), squeeze=False)
    top = max(2.0, float(data["workers"].max() if not data.empty else 2))
    for ax, mode in zip(axes[0], modes):
        sub = data[data["mode"] == mode]
        ax.plot([1, top], [1, top], color="0.6", lw=1, ls=(0, (4, 3)), label="ideal (linear)")
        ax.axhline(1.0, color="0.3", lw=0.8, label="1× (no gain)")
        for env, line in sub.groupby("env"):
            line = line.sort_values("workers")
            color = colors.get(env)
            ax.plot(line["workers"], line["speedup"], marker="o", ms=3.5, lw=1.6,
                    ls=MODE_STYLE[mode], color=color, label=labels.get(env, env))  # fmt: skip
            ax.fill_between(line["workers"], line["speedup_lo"], line["speedup_hi"], color=color, alpha=0.18, lw=0)
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(set(sub["workers"])))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_title("%s — %s" % (workload, mode), fontsize=10)
        ax.set_xlabel("workers")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("speedup vs serial (×)")
    handles, names = axes[0][-1].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, fontsize=8, frameon=False)
    fig.tight_layout()
    return to_svg(fig, "scaling-" + workload)
