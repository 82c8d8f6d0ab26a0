"""What every section builder reads: the report, and what several sections look up alike."""

from __future__ import annotations

import functools
from typing import Any, Callable

import pandas as pd

from harness import model
from harness.analysis import headline_workers
from harness.drawing import Drawer, Drawing
from harness.page import ChartRef


class Context:
    """One report as the section builders see it.

    ``findings`` holds the sentences every section contributed, in reading order, for the
    Findings section to show; ``chart`` places a chart on the page and hands its drawing
    to ``drawer``, which draws every chart of the page (``harness.drawing``)."""

    def __init__(self, report: model.Report, drawer: Drawer | None = None) -> None:
        self.report = report
        self.analysis = report.analysis
        self.labels = report.labels
        self.findings: list[str] = []
        self.drawer = drawer or Drawer(workers=0)

    @functools.cached_property
    def k(self) -> int:
        """The worker count of the headline figures (``analysis.headline_workers``)."""
        return headline_workers(self.analysis.derived)

    @functools.cached_property
    def _workloads(self) -> pd.DataFrame:
        return self.report.data.benchmarks.drop_duplicates("workload").set_index("workload")

    def who(self, env: str) -> str:
        """An env's display label."""
        return self.labels.get(env, env)

    def role(self, role: str) -> str:
        """The workload holding ``role`` (``@workload(roles=...)``) in these runs, or ''."""
        return next((w for w, roles in self._workloads["roles"].items() if role in roles), "")

    def tagged(self, tag: str) -> list[str]:
        """The workloads tagged ``tag``, latency workloads left out, sorted."""
        return sorted(w for w, tags in self._workloads["tags"].items() if tag in tags and "latency" not in tags)

    def chart(self, name: str, title: str, caption: str, draw: Callable[..., str], *args: Any) -> ChartRef:
        """A chart on the page, drawn as ``draw(*args)`` (a function of ``harness.charts``):
        give it the frames it shows, no more, since they may travel to another process."""
        self.drawer.add(Drawing(name, draw, args))
        return ChartRef(name, title, caption)
