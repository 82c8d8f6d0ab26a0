"""Cells and sentences from analysis rows: the formats every section shares."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from harness._frames import records
from harness.page import Estimate, Paragraph, Text

__all__ = ["bar_verdict", "est", "fmt", "geomean_cell", "p", "records", "said", "value", "versus"]


def value(number: Any) -> float | None:
    """A number, or None for a missing one (NaN is not JSON)."""
    if number is None:
        return None
    number = float(number)
    return None if math.isnan(number) else number


def p(text: str, meta: bool = False) -> Paragraph:
    """A paragraph of plain text; ``meta`` paragraphs explain rather than report."""
    return Paragraph([Text(text)], meta)


def est(row: dict[str, Any], prefix: str, **kw: Any) -> Estimate:
    """The ``prefix`` ratio of an analysis record, with its interval."""
    return Estimate(
        value(row[prefix]),
        value(row[prefix + "_lo"]),
        value(row[prefix + "_hi"]),
        bool(row[prefix + "_significant"]),
        **kw,
    )


def geomean_cell(row: dict[str, Any], prefix: str) -> Estimate | Text:
    """A geometric mean with its interval, significant where the interval excludes 1;
    ``not measured`` where there is none (no peak memory recorded)."""
    if value(row[prefix]) is None:
        return Text("not measured", tone="muted")
    lo, hi = value(row[prefix + "_lo"]), value(row[prefix + "_hi"])
    significant = None if lo is None or hi is None else bool(lo > 1.0 or hi < 1.0)
    return Estimate(value(row[prefix]), lo, hi, significant)


def bar_verdict(verdict: str, bar: float) -> Text:
    """PEP 779's verdict on a geometric mean (``analysis.verdict``): said only when its
    whole interval is on one side of ``bar``."""
    limit = "%.0f%% more" % (100 * (bar - 1))
    if verdict == "within":
        return Text("within PEP 779's bar (at most %s)" % limit)
    if verdict == "above":
        return Text("above PEP 779's bar (at most %s)" % limit, tone="bad")
    if verdict == "undecided":
        return Text("undecided: the interval straddles %.2f×" % bar, tone="muted")
    return Text("")


def versus(labels: dict[str, str], env: str, matched: bool) -> str:
    """The env a ratio is over, flagged where it is not the matched build."""
    return labels.get(env, env) + ("" if matched else " (not a matched build)")


def fmt(ratio: float, lo: float, hi: float, significant: bool | None = None) -> str:
    """A ratio in a sentence: ``1.86× (95% CI 1.80–1.91)``, with ``not significant``
    where the CI contains 1."""
    if pd.isna(ratio):
        return "n/a"
    if pd.isna(lo) or pd.isna(hi):
        return "%.2f× (no interval: too few rounds)" % ratio
    text = "%.2f× (95%% CI %.2f–%.2f" % (ratio, lo, hi)
    return text + (", not significant)" if significant is False else ")")


def said(row: pd.Series | dict[str, Any], prefix: str) -> str:
    """The ``prefix`` ratio of an analysis row as ``fmt`` writes it."""
    return fmt(row[prefix], row[prefix + "_lo"], row[prefix + "_hi"], bool(row[prefix + "_significant"]))
