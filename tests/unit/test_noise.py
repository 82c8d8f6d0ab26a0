"""harness.noise: the machine-noise probe's arithmetic, and one real probe.

Runs without the repository conftest (``pytest --noconftest``).
"""

from __future__ import annotations

import math

import pytest

from harness import noise


def test_summarize_gives_the_median_and_the_log_spread():
    probe = noise.summarize(2, 100, [0.01, 0.02, 0.04])
    assert probe.round == 2 and probe.values == 3 and probe.median == 0.02
    assert probe.spread == pytest.approx(math.log(2))  # logs -1, 0, +1 steps of log 2
    assert noise.summarize(1, 100, [0.01]).spread == 0.0


def test_probe_round_trips_through_json():
    probe = noise.summarize(3, 100, [0.010, 0.012, 0.011])
    assert noise.NoiseProbe.from_json(probe.to_json()) == probe
    old = {k: v for k, v in probe.to_json().items() if k != "count"}
    assert noise.NoiseProbe.from_json(old).count == 0


def test_drift_is_the_spread_of_the_round_medians():
    probes = [noise.summarize(1, 100, [0.01]), noise.summarize(2, 100, [0.02])]
    assert noise.drift(probes) == pytest.approx(math.log(2) / math.sqrt(2))
    assert noise.drift([probes[0], noise.summarize(2, 200, [0.02])]) == 0.0  # twice the work in twice the time
    assert math.isnan(noise.drift(probes[:1]))
    assert math.isnan(noise.drift([noise.summarize(1, 0, [0.01]), noise.summarize(2, 0, [0.02])]))


def test_describe_names_both_figures():
    probes = [noise.summarize(1, 100, [0.010, 0.011, 0.012]), noise.summarize(2, 100, [0.020, 0.021])]
    text = noise.describe(probes)
    assert "between rounds" in text and "±" in text
    assert noise.describe([]) == ""
    assert "between rounds" not in noise.describe(probes[:1])


def test_a_real_probe_times_the_loop():
    """No timing is asserted: only that the probe measures something and summarizes it."""
    probe = noise.probe(1, 1000, seconds=0.05)
    assert probe.count == 1000 and probe.values >= 3 and probe.median > 0 and probe.spread >= 0
