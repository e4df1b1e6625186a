"""Reliability bins against scikit-learn's calibration_curve and statsmodels' Wilson interval;
the expected calibration error against a direct computation, scipy's bootstrap and coverage."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats
from sklearn.calibration import calibration_curve
from statsmodels.stats.proportion import proportion_confint

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.calibration import expected_calibration_error, reliability_bins


def _miscalibrated(n: int, seed: int) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2.0, 3.0, n)
    y = (rng.random(n) < p**1.2).astype(int)  # the model overstates every probability
    return y, p


def _direct_ece(y: Any, p: Any, edges: Any) -> float:
    # written out bin by bin: share of rows x |observed rate - mean probability|
    total = 0.0
    inner = edges[1:-1]
    for b in range(len(edges) - 1):
        in_bin = np.searchsorted(inner, p) == b
        if in_bin.any():
            total += in_bin.mean() * abs(y[in_bin].mean() - p[in_bin].mean())
    return total


@pytest.mark.parametrize("strategy", ["quantile", "uniform"])
@pytest.mark.parametrize("bins", [5, 10, 20])
def test_bins_match_scikit_learn_calibration_curve(strategy: Any, bins: int) -> None:
    y, p = _miscalibrated(3000, 1)
    observed, predicted = calibration_curve(y, p, n_bins=bins, strategy=strategy)
    found = reliability_bins(y, p, bins=bins, strategy=strategy)
    assert [b.observed_rate for b in found] == pytest.approx(observed, rel=1e-15)
    assert [b.mean_predicted for b in found] == pytest.approx(predicted, rel=1e-15)
    assert sum(b.count for b in found) == 3000
    for b in found:
        assert b.low <= b.mean_predicted <= b.high


def test_each_bin_has_the_wilson_interval_of_its_rate() -> None:
    y, p = _miscalibrated(800, 2)
    for b in reliability_bins(y, p, bins=8, level=0.9):
        positives = round(b.observed_rate * b.count)
        low, high = proportion_confint(positives, b.count, alpha=0.1, method="wilson")
        assert b.interval.method == "Wilson" and b.interval.level == 0.9
        assert (b.interval.low, b.interval.high) == pytest.approx((low, high), abs=1e-12)


def test_tied_probabilities_leave_quantile_bins_empty_and_unreported() -> None:
    y = np.array([0, 1] * 50)
    p = np.repeat([0.2, 0.8], 50)
    observed, _ = calibration_curve(y, p, n_bins=10, strategy="quantile")
    found = reliability_bins(y, p, bins=10)
    assert len(found) == len(observed) == 2
    assert [b.count for b in found] == [50, 50]


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_ece_equals_a_direct_computation(strategy: Any) -> None:
    y, p = _miscalibrated(5000, 3)
    edges = (
        np.linspace(0, 1, 11) if strategy == "uniform" else np.percentile(p, np.arange(0, 101, 10))
    )
    estimate = expected_calibration_error(y, p, strategy=strategy, resamples=200)
    assert estimate.value == pytest.approx(_direct_ece(y, p, edges), rel=1e-12)
    assert estimate.n == 5000


def test_ece_interval_agrees_with_scipy_bootstrap() -> None:
    y, p = _miscalibrated(1500, 4)
    edges = np.linspace(0, 1, 11)

    def ece(y: Any, p: Any) -> float:
        return _direct_ece(y, p, edges)

    ours = [expected_calibration_error(y, p, resamples=5000, seed=s).interval for s in (0, 1, 2)]
    theirs = [
        stats.bootstrap(
            (y, p), ece, paired=True, vectorized=False, n_resamples=5000, random_state=10 + s
        ).confidence_interval
        for s in (0, 1, 2)
    ]
    assert all(i is not None for i in ours)
    low = np.mean([i.low for i in ours if i is not None])
    high = np.mean([i.high for i in ours if i is not None])
    reference_low, reference_high = (
        np.mean([t.low for t in theirs]),
        np.mean([t.high for t in theirs]),
    )
    half_width = (reference_high - reference_low) / 2
    assert abs(low - reference_low) <= 0.1 * half_width, (low, reference_low)
    assert abs(high - reference_high) <= 0.1 * half_width, (high, reference_high)


@pytest.mark.slow
def test_ece_interval_covers_the_population_ece() -> None:
    # The population ECE of this model on 10 equal bins, from 20 million draws.
    rng = np.random.default_rng(0)
    p = rng.beta(2.0, 3.0, 20_000_000)
    gaps = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], p), p**1.2 - p, 10)
    truth = float(np.abs(gaps).sum() / len(p))
    covered = 0
    for index in range(400):
        y, probabilities = _miscalibrated(5000, 100 + index)
        interval = expected_calibration_error(y, probabilities, resamples=1000, seed=index).interval
        assert interval is not None
        covered += interval.contains(truth)
    assert 0.92 <= covered / 400 <= 0.98, covered / 400  # 400 datasets: +-2.2 points at 2 sd


def test_ece_is_deterministic_for_a_seed() -> None:
    y, p = _miscalibrated(20_000, 5)
    first = expected_calibration_error(y, p, seed=3)
    assert first == expected_calibration_error(y, p, seed=3)
    assert first.interval is not None and first.interval.method.startswith("bootstrap ")


def test_labels_other_than_zero_one_need_pos_label() -> None:
    y = np.array(["spam", "ham"] * 20)
    p = np.linspace(0, 1, 40)
    with pytest.raises(InvalidArgument, match="pos_label"):
        reliability_bins(y, p)
    found = reliability_bins(y, p, pos_label="spam", bins=2)
    assert sum(b.observed_rate * b.count for b in found) == pytest.approx(20)


@pytest.mark.parametrize(
    ("y", "p", "options"),
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], {}),
        ([0, 1], [0.1, 1.2], {}),
        ([0, 1], [0.1], {}),
        ([0, 1], [0.1, 0.9], {"bins": 0}),
        ([0, 1], [0.1, 0.9], {"strategy": "kmeans"}),
    ],
)
def test_unusable_inputs_are_refused(y: Any, p: Any, options: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        reliability_bins(y, p, **options)
