"""The page's head: its title, the runs it shows, and one line on the profile and machines."""

from __future__ import annotations

from harness.model import MACHINE_COLUMNS
from harness.page import Page
from harness.sections._cells import p, records
from harness.sections._context import Context


def build(ctx: Context) -> Page:
    """The page without its sections."""
    bench = ctx.report.data.benchmarks
    run_ids = sorted(set(bench["run_id"]))
    machines = "; ".join(
        "%s (%s, %s CPUs)" % (m["hostname"], m["cpu_model"], m["cpu_count"])
        for m in records(bench.drop_duplicates("machine")[MACHINE_COLUMNS])
    )
    meta = "Run %s · profile %s · %s" % (", ".join(run_ids), ", ".join(sorted(set(bench["profile"]))), machines)
    return Page("gilbench report — " + ", ".join(run_ids), run_ids, [p(meta, meta=True)], [])
