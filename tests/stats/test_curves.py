"""ROC and precision-recall curves against scikit-learn, bit for bit before down-sampling; the
drawn curves' size, shape and area; residual points against a direct computation."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from sklearn import metrics

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.curves import (
    MAX_POINTS,
    average_precision,
    binary_counts,
    drawn_vertices,
    precision_recall_curve,
    precision_recall_points,
    residual_points,
    roc_curve,
    roc_points,
)


def _scored(n: int, seed: int, *, ties: bool, weighted: bool) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    score = rng.normal(size=n) + 1.2 * y
    if ties:
        score = np.round(score, 1)  # a few dozen distinct scores, most rows tied
    weights = None
    if weighted:
        weights = rng.exponential(size=n)
        weights[::9] = 0.0  # rows of zero weight are dropped, as scikit-learn drops them
    return y, score, weights


CASES = [
    pytest.param(n, seed, ties, weighted, id=f"n{n}-s{seed}-ties{ties}-w{weighted}")
    for n, seed in [(50, 1), (3000, 2), (20_000, 3)]
    for ties in (False, True)
    for weighted in (False, True)
]


@pytest.mark.parametrize(("n", "seed", "ties", "weighted"), CASES)
@pytest.mark.parametrize("drop_intermediate", [True, False])
def test_roc_curve_equals_scikit_learn(
    n: int, seed: int, ties: bool, weighted: bool, drop_intermediate: bool
) -> None:
    y, score, weights = _scored(n, seed, ties=ties, weighted=weighted)
    ours = roc_curve(binary_counts(y, score, weights), drop_intermediate=drop_intermediate)
    theirs = metrics.roc_curve(y, score, sample_weight=weights, drop_intermediate=drop_intermediate)
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, reference)


@pytest.mark.parametrize(("n", "seed", "ties", "weighted"), CASES)
@pytest.mark.parametrize("drop_intermediate", [True, False])
def test_precision_recall_curve_equals_scikit_learn(
    n: int, seed: int, ties: bool, weighted: bool, drop_intermediate: bool
) -> None:
    y, score, weights = _scored(n, seed, ties=ties, weighted=weighted)
    ours = precision_recall_curve(
        binary_counts(y, score, weights), drop_intermediate=drop_intermediate
    )
    theirs = metrics.precision_recall_curve(
        y, score, sample_weight=weights, drop_intermediate=drop_intermediate
    )
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, reference)


@pytest.mark.parametrize(("n", "seed", "ties", "weighted"), CASES)
def test_average_precision_and_auc_equal_scikit_learn(
    n: int, seed: int, ties: bool, weighted: bool
) -> None:
    y, score, weights = _scored(n, seed, ties=ties, weighted=weighted)
    counts = binary_counts(y, score, weights)
    assert average_precision(counts) == metrics.average_precision_score(
        y, score, sample_weight=weights
    )
    assert roc_points(counts).auc == metrics.roc_auc_score(y, score, sample_weight=weights)
    assert precision_recall_points(counts).average_precision == average_precision(counts)


@pytest.mark.parametrize(("n", "seed", "ties", "weighted"), CASES)
def test_drawn_roc_is_bounded_and_keeps_the_area(
    n: int, seed: int, ties: bool, weighted: bool
) -> None:
    y, score, weights = _scored(n, seed, ties=ties, weighted=weighted)
    drawn = roc_points(binary_counts(y, score, weights))
    full_fpr, full_tpr, full_thresholds = metrics.roc_curve(y, score, sample_weight=weights)
    assert len(drawn.fpr) == len(drawn.tpr) == len(drawn.thresholds) <= MAX_POINTS
    assert drawn.full_points == len(full_fpr)
    if len(full_fpr) <= MAX_POINTS:
        assert drawn.fpr == tuple(full_fpr) and drawn.tpr == tuple(full_tpr)
    area = np.trapezoid(drawn.tpr, drawn.fpr)
    assert abs(area - metrics.roc_auc_score(y, score, sample_weight=weights)) <= 1e-3
    # every point drawn is a vertex of the full curve, with its threshold, in curve order
    where = {t: (f, p) for f, p, t in zip(full_fpr, full_tpr, full_thresholds, strict=True)}
    for f, p, t in zip(drawn.fpr, drawn.tpr, drawn.thresholds, strict=True):
        assert where[t] == (f, p)
    assert (drawn.fpr[0], drawn.tpr[0], drawn.fpr[-1], drawn.tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert list(drawn.thresholds) == sorted(drawn.thresholds, reverse=True)


def test_a_large_curve_is_down_sampled_and_keeps_its_area() -> None:
    rng = np.random.default_rng(11)
    n = 400_000
    y = rng.random(n) < 0.05
    score = rng.normal(size=n) + 2.0 * y
    counts = binary_counts(y, score)
    drawn = roc_points(counts)
    assert drawn.full_points > 20_000 and len(drawn.fpr) == MAX_POINTS
    assert abs(np.trapezoid(drawn.tpr, drawn.fpr) - metrics.roc_auc_score(y, score)) <= 1e-4
    pr = precision_recall_points(counts)
    assert len(pr.recall) == MAX_POINTS and pr.full_points > 20_000
    # the drawn precision follows the full curve: at each drawn recall, the full curve has
    # that very precision at that threshold
    full_precision, full_recall, full_thresholds = metrics.precision_recall_curve(y, score)
    at = dict(
        zip(full_thresholds.tolist(), zip(full_precision, full_recall, strict=False), strict=False)
    )
    for recall, precision, threshold in zip(pr.recall, pr.precision, pr.thresholds, strict=True):
        if np.isfinite(threshold):
            assert at[threshold] == (precision, recall)
    assert pr.prevalence == pytest.approx(y.mean(), rel=1e-12)


def test_down_sampling_keeps_the_corners_of_a_staircase() -> None:
    # A curve of three long straight runs: its two corners must survive whatever else goes.
    x = np.concatenate([np.linspace(0, 0.2, 400), np.full(400, 0.2), np.linspace(0.2, 1, 400)])
    y = np.concatenate([np.linspace(0, 0.7, 400), np.linspace(0.7, 0.9, 400), np.full(400, 0.9)])
    kept = drawn_vertices(x, y, 10)
    assert len(kept) <= 10 and kept[0] == 0 and kept[-1] == len(x) - 1
    points = {(round(float(x[i]), 9), round(float(y[i]), 9)) for i in kept}
    assert (0.2, 0.7) in points and (0.2, 0.9) in points


def test_down_sampling_is_deterministic_and_in_order() -> None:
    y, score, _ = _scored(50_000, 5, ties=False, weighted=False)
    first = roc_points(binary_counts(y, score))
    assert first == roc_points(binary_counts(y, score))
    assert list(first.fpr) == sorted(first.fpr) and list(first.tpr) == sorted(first.tpr)


def test_prevalence_is_the_weighted_share_of_positives() -> None:
    y, score, weights = _scored(2000, 6, ties=True, weighted=True)
    pr = precision_recall_points(binary_counts(y, score, weights))
    assert pr.prevalence == pytest.approx(weights[y].sum() / weights.sum(), rel=1e-12)
    assert pr.recall[-1] == 0.0 and pr.precision[-1] == 1.0 and pr.thresholds[-1] == np.inf


@pytest.mark.parametrize(
    ("positive", "score", "weights"),
    [
        ([True, False], [0.1], None),
        ([1, 0], [0.1, 0.2], None),
        ([True, False], [0.1, np.nan], None),
        ([True, False], [0.1, 0.2], [1.0, -1.0]),
        ([True, False], [0.1, 0.2], [0.0, 0.0]),
    ],
)
def test_unusable_inputs_are_refused(positive: Any, score: Any, weights: Any) -> None:
    with pytest.raises(InvalidArgument):
        binary_counts(np.asarray(positive), score, weights)


def test_one_class_has_no_roc_curve_and_no_positives_no_precision_recall() -> None:
    only_negatives = binary_counts(np.zeros(5, dtype=bool), np.arange(5.0))
    with pytest.raises(InvalidArgument, match="both classes"):
        roc_points(only_negatives)
    with pytest.raises(InvalidArgument, match="positive class"):
        precision_recall_points(only_negatives)
    only_positives = binary_counts(np.ones(5, dtype=bool), np.arange(5.0))
    assert precision_recall_points(only_positives).average_precision == 1.0


# --- residuals -----------------------------------------------------------------------------------


def test_residual_bins_equal_a_direct_computation() -> None:
    rng = np.random.default_rng(7)
    n = 5000
    predicted = rng.gamma(2.0, 3.0, n)
    observed = predicted + rng.normal(0, 1 + 0.2 * predicted) + 0.1 * predicted  # a bias
    weights = rng.uniform(0.5, 2.0, n)
    found = residual_points(observed, predicted, sample_weight=weights, bins=10, seed=1)
    edges = np.quantile(predicted, np.linspace(0, 1, 11))
    assert len(found.bins) == 10 and found.n == n
    for b, (low, high) in zip(found.bins, itertools.pairwise(edges), strict=True):
        in_bin = (predicted > low) & (predicted <= high) if low > edges[0] else predicted <= high
        assert b.count == in_bin.sum()
        w = weights[in_bin]
        assert b.mean_residual == pytest.approx(
            np.average(observed[in_bin] - predicted[in_bin], weights=w), rel=1e-9
        )
        assert b.mean_predicted == pytest.approx(np.average(predicted[in_bin], weights=w))
    # the bias shows: the mean residual grows with the prediction
    assert found.bins[-1].mean_residual > found.bins[0].mean_residual + 1


def test_residual_sample_is_bounded_seeded_and_made_of_real_rows() -> None:
    rng = np.random.default_rng(8)
    predicted = rng.normal(size=100_000)
    observed = predicted + rng.normal(size=100_000)
    first = residual_points(observed, predicted, seed=3)
    assert len(first.predicted) == len(first.residual) == MAX_POINTS
    assert first == residual_points(observed, predicted, seed=3)
    assert first.predicted != residual_points(observed, predicted, seed=4).predicted
    rows = {float(p): float(o - p) for p, o in zip(predicted, observed, strict=True)}
    assert all(rows[p] == r for p, r in zip(first.predicted, first.residual, strict=True))
    small = residual_points([1.0, 2.0, 3.0], [1.5, 2.0, 2.0])
    assert small.residual == (-0.5, 0.0, 1.0)


def test_residuals_refuse_unusable_inputs() -> None:
    with pytest.raises(InvalidArgument):
        residual_points([1.0, 2.0], [1.0])
    with pytest.raises(InvalidArgument):
        residual_points([1.0, np.inf], [1.0, 2.0])
    with pytest.raises(InvalidArgument):
        residual_points([1.0, 2.0], [1.0, 2.0], bins=0)
