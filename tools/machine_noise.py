"""Machine noise: how fast this machine's speed wanders, and so what pairing can cancel.

Times the fixed loop of ``harness/noise.py`` back to back for a while, then prints
the spread of one value, of the difference between two values ``lag`` apart, and of
the mean of blocks of values.  Pairing two benchmarks cancels the noise the two share;
what two values a second apart no longer share reaches every interval, whatever the
statistics.  So the table says which precision a given time can buy here:

    .tox/bench-all/bin/python -m tools.machine_noise --seconds 90

Run it with nothing else using the CPU; the figures are for the machine it ran on.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys

from harness import noise


def lag_spread(logs: list[float], lag: int) -> float:
    """Standard deviation of ``log v[i + lag] - log v[i]``: the noise a pair ``lag`` apart keeps."""
    return statistics.stdev(logs[i + lag] - logs[i] for i in range(len(logs) - lag))


def block_spread(logs: list[float], size: int) -> float:
    """Standard deviation of the means of consecutive blocks of ``size`` values."""
    means = [statistics.fmean(logs[i : i + size]) for i in range(0, len(logs) - size + 1, size)]
    return statistics.stdev(means)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="how long to time the loop (default 90)")
    opts = parser.parse_args()
    if opts.seconds < 5:
        parser.error("--seconds: at least 5, so that the lags up to a few seconds have pairs")
    values = noise.time_values(opts.seconds, noise.loop_count())
    logs = [math.log(v) for v in values]
    value = statistics.median(values)
    print(
        "%d values of %.1f ms (median) in %.0f s; one value: ±%.1f%% (sd of log)"
        % (len(values), 1000 * value, sum(values), 100 * statistics.stdev(logs))
    )
    print("\n%-24s %s" % ("pair apart by", "sd of the log difference"))
    for seconds in (0.02, 0.1, 0.3, 1.0, 3.0, 10.0):
        lag = max(1, round(seconds / value))
        if lag < len(logs) // 2:
            print("%-24s ±%.1f%%" % ("%g s" % seconds, 100 * lag_spread(logs, lag)))
    print("\n%-24s %s" % ("mean over", "sd of the block mean"))
    for seconds in (0.1, 0.3, 1.0, 3.0):
        size = max(1, round(seconds / value))
        if len(logs) // size >= 4:
            print("%-24s ±%.1f%%" % ("%g s" % seconds, 100 * block_spread(logs, size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
