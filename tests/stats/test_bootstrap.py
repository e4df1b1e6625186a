"""Bootstrap intervals and the paired bootstrap, against independent references:
scipy.stats.bootstrap on the same data, the exact binomial bootstrap distribution, the paired
t-test, coverage over simulated datasets, and scikit-learn's own metrics on the resampled rows."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy import stats
from scipy.special import digamma
from sklearn import metrics as skm

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.bootstrap import (
    TOTALS_METRICS,
    IntervalMethod,
    bootstrap_estimate,
    bootstrap_totals,
    paired_bootstrap,
    totals_metric_for,
)
from nbmodelbook.stats.results import Estimate

MEAN = TOTALS_METRICS["mean"]
SEEDS = (0, 1, 2)  # intervals are averaged over these seeds on both sides of a comparison


def _averaged_ours(run: Callable[[int], Any]) -> tuple[float, float]:
    intervals = [run(seed).interval for seed in SEEDS]
    return float(np.mean([i.low for i in intervals])), float(np.mean([i.high for i in intervals]))


def _averaged_scipy(
    data: tuple[npt.NDArray[Any], ...], statistic: Callable[..., Any], method: str
) -> tuple[float, float]:
    intervals = [
        stats.bootstrap(
            data,
            statistic,
            n_resamples=5000,
            method=method,
            paired=len(data) > 1,
            random_state=100 + seed,
        ).confidence_interval
        for seed in SEEDS
    ]
    return float(np.mean([i.low for i in intervals])), float(np.mean([i.high for i in intervals]))


def _log_loss_rows(y: Any, p: Any, axis: int = -1) -> Any:
    return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)), axis=axis)


def _reference_cases() -> list[tuple[str, tuple[Any, ...], tuple[Any, ...], Callable[..., Any]]]:
    rng = np.random.default_rng(11)
    cases: list[tuple[str, tuple[Any, ...], tuple[Any, ...], Callable[..., Any]]] = []
    for n in (200, 5000):  # rows drawn one by one; value bins
        x = rng.exponential(size=n)
        cases.append((f"mean of {n}", (MEAN, x), (x,), np.mean))
    for n in (200, 2000):
        y = rng.integers(0, 2, n)
        predicted = np.where(rng.random(n) < 0.85, y, 1 - y)
        accuracy = lambda a, b, axis=-1: np.mean(a == b, axis=axis)  # noqa: E731
        cases.append(
            (f"accuracy of {n}", (skm.accuracy_score, y, predicted), (y, predicted), accuracy)
        )
    n = 3000
    y = rng.integers(0, 2, n)
    p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.15, n), 0.02, 0.98)
    cases.append(("log loss of 3000", (skm.log_loss, y, p), (y, p), _log_loss_rows))
    truth = rng.normal(size=300)
    guess = truth + rng.normal(0, 0.7, 300)

    def spread_of_errors(a: Any, b: Any) -> float:  # no totals form: called per resample
        return float(np.std(a - b))

    reference = lambda a, b, axis=-1: np.std(a - b, axis=axis)  # noqa: E731
    cases.append(
        ("std of errors (generic)", (spread_of_errors, truth, guess), (truth, guess), reference)
    )
    return cases


@pytest.mark.parametrize("method", ["BCa", "percentile"])
@pytest.mark.parametrize("case", _reference_cases(), ids=lambda case: case[0])
def test_intervals_agree_with_scipy_bootstrap(
    case: tuple[str, tuple[Any, ...], tuple[Any, ...], Callable[..., Any]],
    method: IntervalMethod,
) -> None:
    # Unstratified, 5,000 resamples on each side, averaged over three seeds each.
    _, ours_args, data, statistic = case
    ours = _averaged_ours(
        lambda seed: bootstrap_estimate(
            *ours_args, resamples=5000, seed=seed, strata="none", method=method
        )
    )
    reference = _averaged_scipy(data, statistic, method)
    half_width = (reference[1] - reference[0]) / 2
    # Monte Carlo tolerance: a tenth of the half-width (about four standard errors of the
    # averaged difference), and never more than 0.01 on the metric's scale.
    for got, expected in zip(ours, reference, strict=True):
        assert abs(got - expected) <= min(0.1 * half_width, 0.01), (ours, reference)


@pytest.mark.parametrize("method", ["BCa", "percentile"])
def test_paired_difference_agrees_with_scipy_paired_bootstrap(method: IntervalMethod) -> None:
    rng = np.random.default_rng(12)
    n = 2000
    y = rng.integers(0, 2, n)
    a = np.where(rng.random(n) < 0.85, y, 1 - y)
    b = np.where(rng.random(n) < 0.82, y, 1 - y)
    ours = _averaged_ours(
        lambda seed: paired_bootstrap(
            skm.accuracy_score, y, a, b, resamples=5000, seed=seed, strata="none", method=method
        )
    )

    def difference(y: Any, a: Any, b: Any, axis: int = -1) -> Any:
        return np.mean(y == a, axis=axis) - np.mean(y == b, axis=axis)

    reference = _averaged_scipy((y, a, b), difference, method)
    half_width = (reference[1] - reference[0]) / 2
    for got, expected in zip(ours, reference, strict=True):
        assert abs(got - expected) <= 0.1 * half_width, (ours, reference)


def test_paired_regression_difference_agrees_with_scipy() -> None:
    rng = np.random.default_rng(13)
    truth = rng.normal(size=400)
    a, b = truth + rng.normal(0, 0.7, 400), truth + rng.normal(0, 0.8, 400)
    ours = _averaged_ours(
        lambda seed: paired_bootstrap(
            skm.mean_squared_error, truth, a, b, resamples=5000, seed=seed, strata="none"
        )
    )

    def difference(y: Any, a: Any, b: Any, axis: int = -1) -> Any:
        return np.mean((y - a) ** 2, axis=axis) - np.mean((y - b) ** 2, axis=axis)

    reference = _averaged_scipy((truth, a, b), difference, "BCa")
    half_width = (reference[1] - reference[0]) / 2
    for got, expected in zip(ours, reference, strict=True):
        assert abs(got - expected) <= 0.1 * half_width, (ours, reference)


def test_rare_errors_at_scale_follow_the_exact_binomial_bootstrap() -> None:
    # 200,000 rows with 100 errors: a resample's error count is exactly Binomial(n, 100 / n), so
    # the percentile interval is that distribution's quantiles; a 2,000-row subsample would
    # hold one error.
    n, errors = 200_000, 100
    y = np.ones(n, dtype=int)
    predicted = y.copy()
    predicted[np.random.default_rng(1).choice(n, errors, replace=False)] = 0
    estimate = bootstrap_estimate(
        skm.accuracy_score, y, predicted, strata="none", method="percentile", resamples=5000
    )
    assert estimate.interval is not None
    assert "exact" in estimate.interval.method
    binomial = stats.binom(n, errors / n)
    expected_low = 1 - binomial.ppf(0.975) / n
    expected_high = 1 - binomial.ppf(0.025) / n
    # within two resampled errors of the exact quantiles (Monte Carlo, 5,000 resamples)
    assert abs(estimate.interval.low - expected_low) <= 2 / n
    assert abs(estimate.interval.high - expected_high) <= 2 / n


# --- coverage ------------------------------------------------------------------------------------


def _coverage(
    simulate: Callable[[np.random.Generator], tuple[Any, ...]],
    metric: Callable[..., float],
    truth: float,
    datasets: int = 1000,
    resamples: int = 1000,
) -> float:
    rng = np.random.default_rng(2026)
    covered = 0
    for index in range(datasets):
        estimate = bootstrap_estimate(metric, *simulate(rng), resamples=resamples, seed=index)
        assert estimate.interval is not None
        covered += estimate.interval.contains(truth)
    return covered / datasets


def test_mean_interval_covers_at_its_level() -> None:
    # exponential rows (skewed), 150 per dataset: rows drawn one by one
    coverage = _coverage(lambda rng: (rng.exponential(size=150),), MEAN, 1.0)
    assert 0.93 <= coverage <= 0.97, coverage


def test_accuracy_interval_covers_at_its_level() -> None:
    # 400 rows, 30% positives, 80% of positives and 90% of negatives right: accuracy 0.87
    def simulate(rng: np.random.Generator) -> tuple[Any, ...]:
        y = (rng.random(400) < 0.3).astype(int)
        right = rng.random(400) < np.where(y == 1, 0.8, 0.9)
        return y, np.where(right, y, 1 - y)

    coverage = _coverage(simulate, skm.accuracy_score, 0.3 * 0.8 + 0.7 * 0.9)
    assert 0.93 <= coverage <= 0.97, coverage


# Scores of a model whose positives get p ~ Beta(3, 2) and negatives p ~ Beta(1.5, 6): its
# expected log loss per class is digamma(a + b) - digamma(a), for the negatives with a := 6.
POSITIVE_LOSS = float(digamma(5.0) - digamma(3.0))
NEGATIVE_LOSS = float(digamma(7.5) - digamma(6.0))


def _scored_rows(rng: np.random.Generator, n: int, fixed_counts: bool) -> tuple[Any, Any]:
    y = (np.arange(n) < 0.2 * n) if fixed_counts else (rng.random(n) < 0.2)
    scores = np.where(y, rng.beta(3.0, 2.0, n), rng.beta(1.5, 6.0, n))
    return y.astype(int), scores


@pytest.mark.slow
def test_intervals_drawn_by_value_bins_cover_at_their_level() -> None:
    # 20,000 rows: the value-bin draw. A lognormal mean (heavy right tail) ...
    coverage = _coverage(lambda rng: (rng.lognormal(0, 1, 20_000),), MEAN, math.exp(0.5), 600)
    assert 0.93 <= coverage <= 0.97, coverage
    # ... and a log loss stratified by class, on test sets of a fixed class mix (a stratified
    # split), for which the class-stratified interval is the right one.
    truth = 0.2 * POSITIVE_LOSS + 0.8 * NEGATIVE_LOSS
    coverage = _coverage(lambda rng: _scored_rows(rng, 20_000, True), skm.log_loss, truth, 600)
    assert 0.93 <= coverage <= 0.97, coverage


def test_class_stratified_intervals_are_conditional_on_the_class_mix() -> None:
    # Test sets drawn at random (the class counts vary): the stratified interval leaves out
    # the class mix's variation and covers less (about 91% here); unstratified covers ~95%.
    truth = 0.2 * POSITIVE_LOSS + 0.8 * NEGATIVE_LOSS

    def coverage(strata: str | None) -> float:
        rng = np.random.default_rng(7)
        covered = 0
        for index in range(800):
            y, scores = _scored_rows(rng, 2000, False)
            estimate = bootstrap_estimate(
                skm.log_loss, y, scores, resamples=1000, seed=index, strata=strata
            )
            assert estimate.interval is not None
            covered += estimate.interval.contains(truth)
        return covered / 800

    unstratified, stratified = coverage("none"), coverage(None)
    assert 0.93 <= unstratified <= 0.97, unstratified
    assert stratified < unstratified - 0.02, (stratified, unstratified)


# --- determinism, stratification, the vectorised path -------------------------------------------


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_resamples() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 3000)
    p = np.clip(0.35 + 0.3 * y + rng.normal(0, 0.2, 3000), 0.01, 0.99)
    for metric in (skm.log_loss, lambda t, s: float(np.mean((t - s) ** 2))):
        first = bootstrap_estimate(metric, y, p, resamples=500, seed=5)
        again = bootstrap_estimate(metric, y, p, resamples=500, seed=5)
        other = bootstrap_estimate(metric, y, p, resamples=500, seed=6)
        assert pickle.dumps(first) == pickle.dumps(again)
        assert first.value == other.value and first.interval != other.interval


def test_stratified_resamples_keep_the_class_counts() -> None:
    rng = np.random.default_rng(4)
    y = rng.choice([0, 1, 2], size=300, p=[0.6, 0.3, 0.1])
    predicted = np.where(rng.random(300) < 0.7, y, rng.integers(0, 3, 300))
    seen: list[tuple[int, ...]] = []

    def recording_accuracy(truth: Any, guess: Any) -> float:
        seen.append(tuple(np.bincount(truth, minlength=3)))
        return float(np.mean(truth == guess))

    estimate = bootstrap_estimate(recording_accuracy, y, predicted, resamples=300)
    assert estimate.interval is not None and "stratified by class" in estimate.interval.method
    data_counts = tuple(np.bincount(y, minlength=3))
    # the data itself, 300 resamples, 200 delete-d jackknife groups (which leave rows out)
    resampled = seen[1 : 1 + 300]
    assert all(counts == data_counts for counts in resampled)

    seen.clear()
    bootstrap_estimate(recording_accuracy, y, predicted, resamples=300, strata="none")
    assert any(counts != data_counts for counts in seen[1:301])


def test_a_large_generic_metric_resamples_a_stratified_subsample_rescaled() -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    y = (rng.random(n) < 0.25).astype(int)
    predicted = np.where(rng.random(n) < 0.8, y, 1 - y)
    vectorised = bootstrap_estimate(skm.accuracy_score, y, predicted, resamples=1000)

    def plain_accuracy(truth: Any, guess: Any) -> float:
        return float(np.mean(truth == guess))

    generic = bootstrap_estimate(plain_accuracy, y, predicted, resamples=1000)
    assert generic.value == vectorised.value
    assert generic.interval is not None and vectorised.interval is not None
    assert "2000-row subsample rescaled to 20000 rows" in generic.interval.method
    assert generic.interval.method.startswith("bootstrap percentile")
    half_width = (vectorised.interval.high - vectorised.interval.low) / 2
    assert abs(generic.interval.low - vectorised.interval.low) <= 0.1 * half_width
    assert abs(generic.interval.high - vectorised.interval.high) <= 0.1 * half_width


def _regression_and_classification_rows() -> dict[str, tuple[Any, ...]]:
    rng = np.random.default_rng(6)
    n = 150
    y = rng.integers(0, 2, n)
    scores = np.clip(0.25 + 0.5 * y + rng.normal(0, 0.2, n), 0.01, 0.99)
    labels = (scores > 0.5).astype(int)
    truth = rng.normal(size=n)
    guess = truth + rng.normal(0, 0.5, n)
    return {"labels": (y, labels), "scores": (y, scores), "regression": (truth, guess)}


MEAN_METRICS = [
    (skm.accuracy_score, "labels"),
    (skm.zero_one_loss, "labels"),
    (skm.log_loss, "scores"),
    (skm.brier_score_loss, "scores"),
    (skm.mean_squared_error, "regression"),
    (skm.root_mean_squared_error, "regression"),
    (skm.mean_absolute_error, "regression"),
    (skm.r2_score, "regression"),
]
RATIO_METRICS = [
    (skm.f1_score, "labels"),
    (skm.precision_score, "labels"),
    (skm.recall_score, "labels"),
    (skm.balanced_accuracy_score, "labels"),
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("metric", "rows"), MEAN_METRICS + RATIO_METRICS)
def test_the_vectorised_path_equals_calling_the_metric_on_the_same_resamples(
    metric: Callable[..., float], rows: str, weighted: bool
) -> None:
    # 150 rows x 300 resamples (an 80% interval, so BCa has rows beyond its ends): both paths
    # draw the same rows; the wrapper hides the metric from the vectorised path, so
    # scikit-learn is called on every resample.
    y, prediction = _regression_and_classification_rows()[rows]
    weights = np.random.default_rng(7).uniform(0.5, 2.0, len(y)) if weighted else None
    assert totals_metric_for(metric) is not None

    def called(truth: Any, guess: Any, sample_weight: Any = None) -> float:
        return float(metric(truth, guess, sample_weight=sample_weight))

    for method in ("percentile", "BCa"):
        options: dict[str, Any] = {"sample_weight": weights, "method": method}
        options |= {"level": 0.8, "resamples": 300}
        fast = bootstrap_estimate(metric, y, prediction, **options)
        slow = bootstrap_estimate(called, y, prediction, **options)
        assert fast.interval is not None and slow.interval is not None
        assert fast.interval.method == slow.interval.method
        exact = method == "percentile" and (metric, rows) in MEAN_METRICS
        tolerance = 0.0 if exact else 1e-12  # BCa: the jackknife's last-bit rounding differs
        assert fast.value == pytest.approx(slow.value, rel=1e-12, abs=1e-15)
        assert fast.interval.low == pytest.approx(slow.interval.low, rel=tolerance, abs=tolerance)
        assert fast.interval.high == pytest.approx(slow.interval.high, rel=tolerance, abs=tolerance)


def _multiclass_rows() -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(8)
    y = rng.choice(["ant", "bee", "cat"], size=500)
    raw = rng.dirichlet([1, 1, 1], size=500) + 0.5 * (y[:, None] == np.array(["ant", "bee", "cat"]))
    probabilities = raw / raw.sum(axis=1, keepdims=True)
    labels = np.array(["ant", "bee", "cat"])[np.argmax(probabilities, axis=1)]
    return y, probabilities, labels


@pytest.mark.parametrize("weighted", [False, True])
def test_every_totals_metric_reproduces_scikit_learn(weighted: bool) -> None:
    rows = _regression_and_classification_rows()
    multiclass_y, multiclass_p, multiclass_labels = _multiclass_rows()
    cases = [(metric, *rows[kind]) for metric, kind in MEAN_METRICS + RATIO_METRICS] + [
        (skm.log_loss, multiclass_y, multiclass_p),
        (skm.brier_score_loss, multiclass_y, multiclass_p),
        (skm.accuracy_score, multiclass_y, multiclass_labels),
        (skm.balanced_accuracy_score, multiclass_y, multiclass_labels),
        (skm.brier_score_loss, rows["scores"][0] * 2 - 1, rows["scores"][1]),  # labels -1/1
    ]
    for metric, y, prediction in cases:
        totals = totals_metric_for(metric)
        assert totals is not None
        weights = np.random.default_rng(9).uniform(0.2, 3.0, len(y)) if weighted else None
        expected = metric(y, prediction, sample_weight=weights)
        assert totals(y, prediction, sample_weight=weights) == pytest.approx(expected, rel=1e-12)


def test_inputs_the_columns_do_not_model_fall_back_to_calling_the_metric() -> None:
    # string labels for a binary F1 with pos_label given: scikit-learn decides
    y = np.array(["no", "yes"] * 100)
    predicted = np.array(["no", "yes", "yes", "no"] * 50)

    def f1_of_yes(truth: Any, guess: Any) -> float:
        return float(skm.f1_score(truth, guess, pos_label="yes"))

    estimate = bootstrap_estimate(f1_of_yes, y, predicted, resamples=200)
    assert estimate.value == pytest.approx(0.5)
    with pytest.raises(ValueError):  # the metric's own error for inputs it refuses
        bootstrap_estimate(skm.f1_score, y, predicted, resamples=200)


# --- degenerate resamples -----------------------------------------------------------------------


def test_degenerate_resamples_are_skipped_and_counted() -> None:
    # 1,000 rows with 5 positives, unstratified: about 0.7% of resamples draw no positive
    rng = np.random.default_rng(10)
    y = np.zeros(1000, dtype=int)
    y[:5] = 1
    scores = rng.random(1000) + y
    estimate = bootstrap_estimate(skm.roc_auc_score, y, scores, strata="none", resamples=1000)
    assert estimate.interval is not None
    assert "degenerate resamples skipped" in estimate.interval.method


def test_too_many_degenerate_resamples_give_no_interval_and_say_why() -> None:
    y = np.zeros(60, dtype=int)
    y[0] = 1  # one positive: about 37% of unstratified resamples have none
    scores = np.linspace(0, 1, 60)
    estimate = bootstrap_estimate(skm.roc_auc_score, y, scores, strata="none", resamples=500)
    assert estimate.interval is None
    assert estimate.reason is not None
    assert "180 of 500 bootstrap resamples could not be scored" in estimate.reason
    assert estimate.value == skm.roc_auc_score(y, scores)


# --- the paired p-value -------------------------------------------------------------------------


def test_paired_p_value_is_close_to_the_paired_t_test_for_a_mean_difference() -> None:
    # For a difference of means the t-test is the large-sample reference.
    rng = np.random.default_rng(14)
    n = 3000
    truth = rng.normal(size=n)
    a, b = truth + rng.normal(0, 1.0, n), truth + rng.normal(0, 1.03, n)
    comparison = paired_bootstrap(skm.mean_squared_error, truth, a, b, resamples=5000)
    t_test = stats.ttest_rel((truth - a) ** 2, (truth - b) ** 2)
    assert comparison.p_value is not None
    assert 0.01 < t_test.pvalue < 0.5
    assert comparison.p_value == pytest.approx(t_test.pvalue, abs=0.03)
    assert comparison.difference == pytest.approx(
        skm.mean_squared_error(truth, a) - skm.mean_squared_error(truth, b), abs=1e-12
    )


def test_paired_p_values_under_no_difference_reject_at_the_nominal_rate() -> None:
    rng = np.random.default_rng(15)
    rejections, trials = 0, 400
    for index in range(trials):
        y = rng.integers(0, 2, 500)
        a = np.where(rng.random(500) < 0.8, y, 1 - y)  # two equally good, independent models
        b = np.where(rng.random(500) < 0.8, y, 1 - y)
        p_value = paired_bootstrap(skm.accuracy_score, y, a, b, resamples=500, seed=index).p_value
        assert p_value is not None
        rejections += p_value < 0.05
    assert 0.025 <= rejections / trials <= 0.08, rejections / trials


@pytest.mark.parametrize("method", ["BCa", "percentile"])
def test_p_value_is_below_one_minus_level_exactly_when_the_interval_excludes_zero(
    method: IntervalMethod,
) -> None:
    rng = np.random.default_rng(16)
    for index in range(60):
        y = rng.integers(0, 2, 300)
        a = np.where(rng.random(300) < 0.8, y, 1 - y)
        b = np.where(rng.random(300) < 0.8 - 0.002 * index, y, 1 - y)
        comparison = paired_bootstrap(
            skm.accuracy_score, y, a, b, resamples=1000, seed=index, method=method
        )
        assert comparison.interval is not None and comparison.p_value is not None
        excludes_zero = not comparison.interval.contains(0.0)
        # exactly at the boundary the interpolated quantile may sit on 0: allow that one case
        if comparison.interval.low != 0.0 and comparison.interval.high != 0.0:
            assert (comparison.p_value < 0.05) == excludes_zero, (comparison, index)
        assert method in comparison.method


def test_identical_models_differ_by_nothing_with_p_one() -> None:
    y = np.array([0, 1] * 50)
    p = np.linspace(0.05, 0.95, 100)
    comparison = paired_bootstrap(skm.log_loss, y, p, p.copy())
    assert comparison.difference == 0.0 and comparison.p_value == 1.0
    assert comparison.interval is not None
    assert comparison.interval.low == comparison.interval.high == 0.0


# --- the totals engine and the inputs -----------------------------------------------------------


def test_bootstrap_totals_of_a_ratio_matches_scipy() -> None:
    # a ratio of two column totals (sum of a / sum of b) with per-row columns
    rng = np.random.default_rng(17)
    a, b = rng.gamma(2.0, size=4000), rng.gamma(3.0, size=4000)

    def ratio(totals: Any, weight: Any) -> Any:
        return totals[..., 0, 0] / totals[..., 0, 1]

    ours = _averaged_ours(
        lambda seed: bootstrap_totals(
            ratio, np.column_stack((a, b)), key=a / b, resamples=5000, seed=seed
        )
    )
    reference = _averaged_scipy(
        (a, b), lambda x, y, axis=-1: x.sum(axis=axis) / y.sum(axis=axis), "BCa"
    )
    half_width = (reference[1] - reference[0]) / 2
    for got, expected in zip(ours, reference, strict=True):
        assert abs(got - expected) <= 0.1 * half_width


@pytest.mark.parametrize(
    "arguments",
    [
        {"level": 1.0},
        {"level": 0},
        {"resamples": 10},
        {"resamples": 20_000},
        {"resamples": 2.5},
        {"strata": "bogus"},
        {"strata": np.zeros(3)},
        {"sample_weight": -np.ones(10)},
        {"method": "basic"},
        {"seed": "x"},
        {"seed": -1},
    ],
)
def test_unusable_arguments_are_refused(arguments: dict[str, Any]) -> None:
    y = np.array([0, 1] * 5)
    with pytest.raises(InvalidArgument):
        bootstrap_estimate(skm.accuracy_score, y, y, **arguments)


def test_a_metric_undefined_on_the_data_has_no_interval() -> None:
    estimate = bootstrap_estimate(lambda y, p: math.nan, np.arange(50.0), np.arange(50.0))
    assert math.isnan(estimate.value) and estimate.interval is None
    assert estimate.reason is not None and "not a finite number" in estimate.reason


def test_arrays_of_other_lengths_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="rows"):
        bootstrap_estimate(skm.accuracy_score, [0, 1, 1], [0, 1])


def test_an_estimate_names_its_method_and_rows() -> None:
    y = np.array([0, 1] * 100)
    estimate = bootstrap_estimate(skm.accuracy_score, y, np.roll(y, 1) * 0 + y)
    assert isinstance(estimate, Estimate)
    assert estimate.n == 200 and estimate.value == 1.0
    assert estimate.interval is not None
    assert estimate.interval.method.startswith("bootstrap ")
    assert "2000 resamples" in estimate.interval.method
