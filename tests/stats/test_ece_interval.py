"""The expected calibration error's interval at the sizes a review meets, where the bootstrap
draws resamples by value bins, against a second implementation: a direct row-by-row BCa
bootstrap written out here (rows drawn with replacement, the acceleration from the exact
leave-one-out jackknife). And the reliability bins the ECE is read beside add up to it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from nbmodelbook.stats.calibration import expected_calibration_error, reliability_bins

BINS = 10


def _miscalibrated(n: int, seed: int) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2.0, 3.0, n)
    y = (rng.random(n) < p**1.1).astype(int)
    return y, p


def _direct_bca(y: Any, p: Any, resamples: int, seed: int, level: float) -> tuple[float, float]:
    n = len(y)
    bin_of_row = np.minimum((p * BINS).astype(int), BINS - 1)
    bin_of_row[p * BINS == bin_of_row] -= 1  # a row on an edge belongs to the bin below
    bin_of_row = np.maximum(bin_of_row, 0)
    gap = y - p
    totals = np.bincount(bin_of_row, weights=gap, minlength=BINS)
    value = np.abs(totals).sum() / n
    rng = np.random.default_rng(seed)
    drawn = np.empty(resamples)
    for r in range(resamples):
        rows = rng.integers(0, n, n)
        drawn[r] = np.abs(np.bincount(bin_of_row[rows], weights=gap[rows], minlength=BINS)).sum()
    drawn /= n
    left_out = (
        np.abs(totals).sum() - np.abs(totals[bin_of_row]) + np.abs(totals[bin_of_row] - gap)
    ) / (n - 1)
    influence = left_out.mean() - left_out
    acceleration = (influence**3).sum() / (6 * ((influence**2).sum()) ** 1.5)
    below = (np.count_nonzero(drawn < value) + np.count_nonzero(drawn <= value)) / 2
    bias = ndtri(below / resamples)
    ends = []
    for z in (ndtri((1 - level) / 2), ndtri((1 + level) / 2)):
        shifted = bias + z
        ends.append(float(np.quantile(drawn, ndtr(bias + shifted / (1 - acceleration * shifted)))))
    return ends[0], ends[1]


@pytest.mark.parametrize(("n", "seed"), [(8000, 1), (30_000, 2)])
def test_ece_interval_agrees_with_a_direct_row_bootstrap(n: int, seed: int) -> None:
    y, p = _miscalibrated(n, seed)
    ours = expected_calibration_error(y, p, resamples=4000, seed=seed, level=0.9)
    assert ours.interval is not None and ours.interval.method.startswith("bootstrap BCa")
    low, high = _direct_bca(y, p, 4000, 100 + seed, 0.9)
    half_width = (high - low) / 2
    assert ours.interval.low <= ours.value <= ours.interval.high
    assert abs(ours.interval.low - low) <= 0.1 * half_width, (ours.interval, low)
    assert abs(ours.interval.high - high) <= 0.1 * half_width, (ours.interval, high)


def test_ece_and_its_interval_are_the_same_for_the_same_inputs_and_seed() -> None:
    y, p = _miscalibrated(50_000, 3)
    first = expected_calibration_error(y, p, seed=11)
    assert first == expected_calibration_error(y.copy(), p.copy(), seed=11)
    other = expected_calibration_error(y, p, seed=12)
    assert first.value == other.value
    assert first.interval is not None and other.interval is not None
    assert first.interval != other.interval  # the seed does drive the resampling


def test_uniform_reliability_bins_add_up_to_the_ece() -> None:
    y, p = _miscalibrated(20_000, 4)
    bins = reliability_bins(y, p, bins=BINS, strategy="uniform")
    from_bins = sum(b.count * abs(b.observed_rate - b.mean_predicted) for b in bins) / len(y)
    estimate = expected_calibration_error(y, p, bins=BINS, strategy="uniform", resamples=200)
    assert estimate.value == pytest.approx(from_bins, rel=1e-12)
