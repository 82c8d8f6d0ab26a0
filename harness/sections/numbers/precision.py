"""Precision: the precision the headline ratios reached against the profile's target,
what the target would cost, the moderated interval's prior, what a run its budget
stopped would have bought, and the machine's capacity and noise probed while measuring
(shown for any profile)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis import precision_summary, prior_summary
from harness.page import Number, Row, Section, Table, Text
from harness.sections._cells import p
from harness.sections._context import Context
from workloads.host import BUDGET, MOST, ROUNDS, TARGET


def _reached(ctx: Context) -> dict[str, Any] | None:
    """``analysis.precision_summary`` against the profile's target, with the ratios that missed it."""
    target = ctx.report.precision_target
    if not target:
        return None
    summary = precision_summary(ctx.analysis, target)
    missed = [
        "%s %s of %s: ±%s" % (r["kind"], r["name"], r["env"], "n/a" if pd.isna(r["hw"]) else "%.1f%%" % (100 * r["hw"]))
        for _, r in summary["widest"].iterrows()
    ]
    return {**summary, "missed": missed}


def build(ctx: Context) -> list[Section]:
    manifests = ctx.report.data.manifests
    precision = _reached(ctx)
    text, items = "", []
    if precision:
        text = (
            "%d of %d headline ratios (speedups and net speedups at every worker count, one worker against serial, "
            "free-threading and forced-GIL overheads) have a 95%% interval within ±%.0f%%; median ±%.1f%%"
            % (precision["met"], precision["ratios"], 100 * precision["target"], 100 * precision["median_hw"])
        )
        if pd.notna(precision["table_median_hw"]):
            text += ", the headline table's ±%.1f%%" % (100 * precision["table_median_hw"])
        text += ". "
        needed = precision["rounds_needed"]
        if precision["median_hw"] > precision["target"] and needed["median"]:
            text += "At the spread they showed, the median ratio would reach ±%.0f%% after about %d rounds%s%s. " % (
                100 * precision["target"],
                needed["median"],
                " and the 90th percentile after about %d" % needed["p90"] if needed["p90"] else "",
                _round_pace(manifests),
            )
    text += _priors(ctx.analysis.priors) + _ahead(manifests) + _capacity(ctx.report.data.capacity)
    text += ctx.report.machine_noise
    if not text:
        return []
    paragraphs, notes = [p(text.strip())], []
    tables = _blocks(manifests)
    if tables:
        notes.append(
            p(
                "Rounds per block: a block (a workload's benchmarks, one process per interpreter and round) stops when "
                "every headline ratio it serves is within the target, when it has measured the most rounds, or when "
                "the budget runs out; with a budget, the last rounds ran the blocks whose ratios another round "
                "narrowed most per second, the headline table's first. Rounds are per interpreter, fewest–most.",
                meta=True,
            )
        )
    if precision and precision["missed"]:
        paragraphs.append(p("Wider than the target:"))
        items = [p(m) for m in precision["missed"]]
    return [Section("precision", "Precision", paragraphs=paragraphs, items=items, tables=tables, notes=notes)]


STOPPED = {TARGET: "target met", MOST: "most rounds", BUDGET: "budget", ROUNDS: "rounds ended"}


def _blocks(manifests: list[dict[str, Any]]) -> list[Table]:
    """Per block, the rounds each interpreter measured (fewest–most) and why it stopped,
    from the manifest's ``blocks`` (``harness.run.blocks``); none for a run without them."""
    per_block: dict[str, list[tuple[str, int, str]]] = {}
    for manifest in manifests:
        for env, got in (manifest.get("blocks") or {}).items():
            for block, entry in got.items():
                per_block.setdefault(block, []).append((env, int(entry["rounds"]), entry["stopped"]))
    if not per_block:
        return []
    rows = []
    for block in sorted(per_block):
        got = per_block[block]
        rounds = sorted(n for _, n, _ in got)
        span = "%d" % rounds[0] if rounds[0] == rounds[-1] else "%d–%d" % (rounds[0], rounds[-1])
        reasons = Counter(why for *_, why in got)
        why = ", ".join(
            STOPPED.get(w, w) + ("" if len(reasons) == 1 else " (%d)" % reasons[w]) for w in STOPPED if w in reasons
        )
        rows.append(Row([Text(block), Text(span), Text(why), Number(len(got), "%d")]))
    return [Table("blocks", ["block", "rounds", "stopped", "interpreters"], rows)]


def _priors(priors: dict[str, Any]) -> str:
    """What the moderated interval's prior of each run is, or that the run kept Student's t."""
    parts = []
    for prior in prior_summary(priors):
        who = " of run %s" % prior["run_id"] if len(priors) > 1 else ""
        if not prior["ratios"]:
            parts.append(
                "The intervals%s are Student's t: the run has fewer than %d timing ratios to fit the moderated "
                "interval's prior on. " % (who, prior["least"])
            )
            continue
        kinds = ", ".join("%s %+.2f" % kv for kv in prior["kinds"].items())
        groups = prior["groups"]
        per_group = (
            " and a level per workload (%d, %+.2f to %+.2f)" % (len(groups), groups[0], groups[-1]) if groups else ""
        )
        parts.append(
            "The intervals%s are a moderated t: each ratio's variance is pooled with a prior fitted on the run's %d "
            "timing ratios, worth d0 = %s rounds of spread, around a trend log s0² = %.2f × log(within-process "
            "variance) + a level per kind (%s)%s; a ratio the prior cannot fit (no within-process spread) keeps "
            "Student's t. "
            % (
                who,
                prior["ratios"],
                "∞" if np.isinf(prior["d0"]) else "%.1f" % prior["d0"],
                prior["slope"],
                kinds,
                per_group,
            )
        )
    return "".join(parts)


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
            return ", at about %s per round of every block" % _duration(history[0]["seconds"] / history[0]["round"])
    return ""


def _duration(seconds: float) -> str:
    return "%.0f s" % seconds if seconds < 120 else "%.0f min" % (seconds / 60)
