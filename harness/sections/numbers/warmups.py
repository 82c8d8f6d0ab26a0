"""JIT warm-up problems: benchmarks whose last warm-up was still more than 5% off the values."""

from __future__ import annotations

from harness.page import Section
from harness.sections._cells import p, records
from harness.sections._context import Context


def build(ctx: Context) -> list[Section]:
    warm = records(ctx.analysis.warmups)
    if not warm:
        return []
    listed = "; ".join("%s %s (%+.0f%%)" % (ctx.who(w["env"]), w["name"], 100 * w["warmup_drift"]) for w in warm)
    text = (
        "Not at steady state (on a JIT, the last warm-up was more than 5%% off the values that followed; more "
        "warm-ups are needed): %s." % listed
    )
    return [Section("warmups", "JIT warm-up problems", paragraphs=[p(text)])]
