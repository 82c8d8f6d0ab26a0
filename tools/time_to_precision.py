"""Time to precision: how the headline ratios of a run narrowed as it measured.

The cost of a benchmark harness is wall time per unit of certainty.  bench-all records,
after every round of a run with a precision target, how many headline ratios (speedups
and net speedups at every worker count, one worker against serial, free-threading and
forced-GIL overheads) have a 95% interval within ±5% and ±3%, the median and
90th-percentile half-widths, and what ten more minutes would have bought
(``precision_history`` in the run's ``meta/run.json``).  This prints it back, and with
``--svg`` draws the curve (half-width against minutes of measuring):

    tox -e bench-all -- --budget 30m
    .tox/bench-all/bin/python -m tools.time_to_precision results/<run-id> --svg curve.svg

Times are seconds of measuring (after the envs were prepared), on the machine that ran it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from workloads import host


def reached(history: list[dict[str, Any]], key: str, share: float) -> dict[str, Any] | None:
    """The first round after which at least ``share`` of the ratios were within the level."""
    return next((h for h in history if h["ratios"] and h[key] >= share * h["ratios"]), None)


def _pct(value: float | None) -> str:
    return "-" if value is None else "%.1f%%" % (100 * value)


def table(manifest: dict[str, Any]) -> str:
    history = manifest["precision_history"]
    lines = [
        "run %s, profile %s, %s layout, %d env(s), measured for %.0f s in %d rounds"
        % (
            manifest["run_id"],
            manifest["profile"],
            manifest.get("layout", "processes"),
            len(manifest["envs"]),
            manifest.get("measuring_seconds", 0),
            history[-1]["round"],
        )
    ]
    lines.append(
        "%6s %9s %7s %7s %7s %8s %8s %8s" % ("round", "seconds", "ratios", "<=±5%", "<=±3%", "median", "p90", "widest")
    )
    for h in history:
        lines.append(
            "%6d %9.0f %7d %7d %7d %8s %8s %8s"
            % (
                h["round"],
                h["seconds"],
                h["ratios"],
                h["within_5"],
                h["within_3"],
                _pct(h.get("median")),
                _pct(h.get("p90")),
                _pct(h.get("widest")),
            )
        )
    for label, key in (("±5%", "within_5"), ("±3%", "within_3")):
        for share in (0.9, 1.0):
            hit = reached(history, key, share)
            what = "all" if share == 1.0 else "%d%% of the" % (100 * share)
            if hit:
                lines.append(
                    "%s headline ratios within %s after %.0f s (round %d)" % (what, label, hit["seconds"], hit["round"])
                )
            else:
                last = history[-1]
                lines.append(
                    "%s headline ratios within %s: not reached (%d of %d after %.0f s)"
                    % (what, label, last[key], last["ratios"], last["seconds"])
                )
    ahead = history[-1].get("ahead")
    if ahead and ahead.get("rounds"):
        lines.append(
            "another %.0f min (about %d rounds of what was open): median %s, p90 %s"
            % (ahead["seconds"] / 60, ahead["rounds"], _pct(ahead["median"]), _pct(ahead["p90"]))
        )
    return "\n".join(lines)


def curve_svg(manifest: dict[str, Any], path: Path) -> None:
    """Median and 90th-percentile half-width against minutes of measuring."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = [h for h in manifest["precision_history"] if h.get("median") is not None]
    minutes = [h["seconds"] / 60 for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(minutes, [100 * h["median"] for h in history], marker="o", label="median")
    ax.plot(minutes, [100 * h["p90"] for h in history], marker="s", label="90th percentile")
    target = manifest.get("precision")
    if target:
        ax.axhline(100 * target, color="grey", linestyle="--", linewidth=1, label="target ±%g%%" % (100 * target))
    ax.set_xlabel("minutes of measuring")
    ax.set_ylabel("95% half-width (±%)")
    ax.set_yscale("log")
    ax.set_title("Headline ratios of %s" % manifest["run_id"], fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="results/<run-id> of a bench-all run with a precision target")
    parser.add_argument("--svg", type=Path, metavar="PATH", help="also draw the curve into this SVG file")
    args = parser.parse_args(argv)
    manifest_path = Path(host.meta_path(str(args.run), host.MANIFEST))
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        print("error: %s: %s" % (manifest_path, exc), file=sys.stderr)
        return 2
    if not manifest.get("precision_history"):
        print(
            "error: %s has no precision history (run bench-all with a precision target)" % manifest_path,
            file=sys.stderr,
        )
        return 2
    print(table(manifest))
    if args.svg:
        curve_svg(manifest, args.svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
