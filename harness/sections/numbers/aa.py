"""A/A calibration: the same interpreter measured twice in the same rounds, whose true
ratio is 1; the share of intervals that exclude 1 is the method's false-positive rate."""

from __future__ import annotations

from harness.analysis import aa_summary
from harness.page import Section
from harness.sections._cells import p
from harness.sections._context import Context


def _method(aa: dict) -> str:
    """Which interval the A/A figure is of: the moderated t, Student's t, or both."""
    if aa["moderated"] == aa["n"]:
        return "moderated t"
    if not aa["moderated"]:
        return "Student's t"
    return "%d moderated t, %d Student's t" % (aa["moderated"], aa["n"] - aa["moderated"])


def build(ctx: Context) -> list[Section]:
    aa = aa_summary(ctx.analysis.aa)
    if not aa:
        return []
    text = (
        "%s measured twice, as two envs in the same interleaved rounds: %d of %d 95%% intervals (%s, as every timing "
        "ratio of this report) exclude 1 (%.1f%%; a calibrated method excludes about 5%%); median precision ±%.1f%%."
        % (
            ", ".join(aa["envs"]),
            aa["excluding"],
            aa["n"],
            _method(aa),
            100 * aa["share"],
            100 * aa["median_hw"],
        )
    )
    return [Section("aa", "A/A calibration", paragraphs=[p(text)])]


def sentences(ctx: Context) -> list[str]:
    """The A/A figure: how often an interval excludes 1 when nothing differs."""
    aa = aa_summary(ctx.analysis.aa)
    if aa is None:
        return []
    return [
        "A/A calibration: %s measured twice in the same rounds; %d of %d 95%% intervals (%s) exclude 1 (%.1f%%; a "
        "calibrated method excludes about 5%%), median precision ±%.1f%%."
        % (", ".join(aa["envs"]), aa["excluding"], aa["n"], _method(aa), 100 * aa["share"], 100 * aa["median_hw"])
    ]
