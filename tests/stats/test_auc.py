"""The AUC with DeLong's interval and DeLong's paired test, checked against a direct O(n*m)
implementation of DeLong et al. (1988), scikit-learn, pROC's published figures on its aSAH data,
and simulated coverage."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.metrics import roc_auc_score

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.auc import WEIGHTED_REASON, auc_estimate, paired_auc_test
from nbmodelbook.stats.results import Estimate

# --- an independent reference: DeLong, DeLong & Clarke-Pearson (1988), term by term ------------


def _psi(x: float, y: float) -> float:
    """The Mann-Whitney kernel: a positive scored x against a negative scored y."""
    if y < x:
        return 1.0
    if y == x:
        return 0.5
    return 0.0


def _delong_reference(
    is_positive: list[bool], scores: list[list[float]]
) -> tuple[list[float], list[list[float]]]:
    """The AUCs of each score and DeLong's covariance matrix S = S10 / m + S01 / n, from the
    placement values V10(X_i) and V01(Y_j) by plain loops over every (positive, negative) pair."""
    positives = [[s for s, pos in zip(score, is_positive, strict=True) if pos] for score in scores]
    negatives = [
        [s for s, pos in zip(score, is_positive, strict=True) if not pos] for score in scores
    ]
    m, n = len(positives[0]), len(negatives[0])
    v10 = [
        [sum(_psi(x, y) for y in neg) / n for x in pos]
        for pos, neg in zip(positives, negatives, strict=True)
    ]
    v01 = [
        [sum(_psi(x, y) for x in pos) / m for y in neg]
        for pos, neg in zip(positives, negatives, strict=True)
    ]
    theta = [sum(v) / m for v in v10]
    k = len(scores)
    s10 = [
        [
            sum((v10[r][i] - theta[r]) * (v10[s][i] - theta[s]) for i in range(m)) / (m - 1)
            for s in range(k)
        ]
        for r in range(k)
    ]
    s01 = [
        [
            sum((v01[r][j] - theta[r]) * (v01[s][j] - theta[s]) for j in range(n)) / (n - 1)
            for s in range(k)
        ]
        for r in range(k)
    ]
    covariance = [[s10[r][s] / m + s01[r][s] / n for s in range(k)] for r in range(k)]
    return theta, covariance


def _variance_from(estimate: Estimate, level: float = 0.95) -> float:
    assert estimate.interval is not None
    assert estimate.interval.low > 0 and estimate.interval.high < 1  # not clipped
    half_width = (estimate.interval.high - estimate.interval.low) / 2
    return (half_width / NormalDist().inv_cdf(0.5 + level / 2)) ** 2


def _tied_dataset(
    seed: int, n_positive: int, n_negative: int, rounding: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Shuffled labels and two correlated scores, rounded to `rounding` so that many tie."""
    rng = np.random.default_rng(seed)
    labels = np.array([True] * n_positive + [False] * n_negative)
    rng.shuffle(labels)
    shared = rng.normal(size=labels.size)
    score_a = np.round((shared + 0.8 * labels) / rounding) * rounding
    score_b = np.round((0.6 * shared + rng.normal(size=labels.size) + 0.5 * labels) / rounding)
    return labels, score_a, score_b * rounding


DATASETS = [
    (1, 7, 11, 1.0),
    (2, 40, 25, 0.1),
    (3, 120, 150, 0.5),
    (4, 5, 90, 0.25),
    (5, 60, 60, 2.0),
]


@pytest.mark.parametrize(("seed", "n_positive", "n_negative", "rounding"), DATASETS)
def test_auc_and_variance_equal_delongs_definitions(
    seed: int, n_positive: int, n_negative: int, rounding: float
) -> None:
    labels, score_a, score_b = _tied_dataset(seed, n_positive, n_negative, rounding)
    theta, covariance = _delong_reference(labels.tolist(), [score_a.tolist(), score_b.tolist()])
    for index, score in enumerate((score_a, score_b)):
        estimate = auc_estimate(labels, score, level=0.5)  # a narrow level: never clipped
        assert estimate.value == pytest.approx(theta[index], rel=1e-12)
        assert _variance_from(estimate, 0.5) == pytest.approx(covariance[index][index], rel=1e-10)
        assert estimate.interval is not None and estimate.interval.method == "DeLong"
        assert estimate.n == n_positive + n_negative


@pytest.mark.parametrize(("seed", "n_positive", "n_negative", "rounding"), DATASETS)
def test_paired_test_equals_delongs_contrast(
    seed: int, n_positive: int, n_negative: int, rounding: float
) -> None:
    labels, score_a, score_b = _tied_dataset(seed, n_positive, n_negative, rounding)
    theta, s = _delong_reference(labels.tolist(), [score_a.tolist(), score_b.tolist()])
    difference = theta[0] - theta[1]
    variance = s[0][0] + s[1][1] - 2 * s[0][1]  # L S L' with L = (1, -1)
    z = difference / math.sqrt(variance)
    expected_p = math.erfc(abs(z) / math.sqrt(2))

    result = paired_auc_test(labels, score_a, score_b)

    assert result.difference == pytest.approx(difference, rel=1e-10, abs=1e-14)
    assert result.p_value == pytest.approx(expected_p, rel=1e-10, abs=1e-14)
    assert result.interval is not None
    half_width = NormalDist().inv_cdf(0.975) * math.sqrt(variance)
    assert result.interval.low == pytest.approx(difference - half_width, rel=1e-10, abs=1e-12)
    assert result.interval.high == pytest.approx(difference + half_width, rel=1e-10, abs=1e-12)
    assert result.method == "DeLong paired" == result.interval.method
    assert result.n == labels.size


# --- scikit-learn's roc_auc_score --------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_auc_equals_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(100, 2000))
    labels = rng.random(n) < rng.uniform(0.1, 0.6)
    scores = np.round(rng.normal(size=n) + labels, int(rng.integers(0, 3)))
    assert auc_estimate(labels, scores).value == pytest.approx(
        roc_auc_score(labels, scores), rel=1e-12
    )


def test_labels_of_any_type_take_the_greater_label_as_positive_by_default() -> None:
    rng = np.random.default_rng(7)
    is_positive = rng.random(300) < 0.3
    scores = np.round(rng.normal(size=300) + is_positive, 1)
    expected = roc_auc_score(is_positive, scores)
    as_strings = np.where(is_positive, "sick", "healthy")  # "sick" > "healthy"
    for labels in (is_positive, is_positive.astype(int), np.where(is_positive, 1, -1), as_strings):
        assert auc_estimate(labels, scores).value == pytest.approx(expected, rel=1e-12)
        assert roc_auc_score(labels, scores) == pytest.approx(expected, rel=1e-12)


def test_pos_label_picks_the_positive_class() -> None:
    rng = np.random.default_rng(8)
    is_positive = rng.random(200) < 0.4
    scores = np.round(rng.normal(size=200) + is_positive, 1)
    labels = np.where(is_positive, "case", "control")  # "control" is the greater label
    case = auc_estimate(labels, scores, pos_label="case")
    control = auc_estimate(labels, scores, pos_label="control")
    assert case.value == pytest.approx(roc_auc_score(is_positive, scores), rel=1e-12)
    assert control.value == pytest.approx(1 - case.value, rel=1e-12)
    assert auc_estimate(is_positive.astype(int), scores, pos_label=0).value == pytest.approx(
        1 - case.value, rel=1e-12
    )


def test_weighted_auc_equals_scikit_learn_and_has_no_delong_interval() -> None:
    rng = np.random.default_rng(9)
    labels = rng.random(500) < 0.35
    scores = np.round(rng.normal(size=500) + labels, 1)
    weights = rng.uniform(0.1, 3.0, size=500)
    estimate = auc_estimate(labels, scores, sample_weight=weights)
    assert estimate.value == pytest.approx(
        roc_auc_score(labels, scores, sample_weight=weights), rel=1e-12
    )
    assert estimate.interval is None
    assert estimate.reason == WEIGHTED_REASON == "weighted: DeLong does not apply"


def test_equal_weights_are_the_unweighted_estimate() -> None:
    labels, scores, _ = _tied_dataset(10, 30, 40, 0.5)
    assert auc_estimate(labels, scores, sample_weight=np.full(70, 2.5)) == auc_estimate(
        labels, scores
    )


# --- pROC's published figures on its aSAH data --------------------------------------------------
#
# The aSAH data (113 patients after aneurysmal subarachnoid haemorrhage; Turck et al. 2010,
# Intensive Care Medicine 36(1):107-115) ship with pROC (Robin et al. 2011, BMC Bioinformatics
# 12:77; GPL >= 3) as data/aSAH.RData; the three columns below were read from that file (pROC
# commit ee2877e858bcd2757c05ce797ea64ade2c05885b, version 1.19.0.1). wfns is an ordered factor
# there, which pROC's roc() turns into its level codes 1..5, as given here. The expected figures
# are those pROC's own tests assert for roc(aSAH$outcome, aSAH$<marker>): tests/testthat/
# test-var.R (var), test-ci.auc.R (ci.auc) and test-roc.test.R (roc.test, DeLong, paired).

ASAH_OUTCOME = (  # G = Good (control), P = Poor (case)
    "GGGGPPGPGGPGPPGGPGPPPGPGGGGGGGGGPGGPPGPPGGGGGGGGGPPGGGPGGGPGPGGPPPGPPGPPPPGGGPPGPGGGGGGPG"
    "GGGGGGGGGGGPPPPPPGGGPGGG"
)
ASAH_WFNS = """
1 1 1 1 3 2 5 4 1 2 5 2 5 5 1 2 5 2 2 5 2 1 1 1 1 2 1 2 1 1 3 4 2 1 4 5 4 1 4 2 5 5 1 1 2 4 1 1
2 5 5 2 1 2 5 1 2 2 2 1 5 1 1 2 5 2 1 4 5 2 4 4 1 4 1 2 1 4 2 1 2 3 2 4 2 1 4 5 1 1 5 4 2 2 1 1
1 3 1 2 5 2 2 5 5 5 2 4 4 5 1 1 1
"""
ASAH_S100B = """
0.13 0.14 0.1 0.04 0.13 0.1 0.47 0.16 0.18 0.1 0.12 0.1 0.44 0.71 0.04 0.08 0.49 0.04 0.07 0.33
0.09 0.09 0.07 0.11 0.07 0.17 0.07 0.11 0.13 0.19 0.05 0.16 0.41 0.14 0.34 0.35 0.48 0.09 0.96
0.25 0.5 0.46 0.16 0.07 0.43 0.45 0.11 0.08 0.09 0.86 0.52 0.08 0.06 0.13 2.07 0.1 0.14 0.15 0.07
0.06 0.77 0.05 0.09 0.3 0.03 0.09 0.04 0.23 0.7 0.09 0.27 0.71 0.08 0.26 0.08 0.16 0.09 0.13 0.1
0.08 0.11 0.33 0.11 0.28 0.07 0.1 0.32 0.22 0.07 0.05 0.24 0.38 0.1 0.15 0.08 0.14 0.1 0.07 0.04
0.19 0.56 0.14 0.58 0.32 0.82 0.74 0.15 0.47 0.17 0.44 0.15 0.5 0.48
"""
ASAH_NDKA = """
3.01 8.54 8.09 10.42 17.4 12.75 6.0 13.2 15.54 6.01 15.96 17.86 5.18 8.9 13.41 20.75 11.6 16.11
32.37 54.82 32.41 49.94 40.34 9.47 6.29 12.53 6.54 6.3 80.3 12.8 9.8 9.81 9.85 18.21 5.03 14.04
21.93 8.02 7.42 8.38 6.59 9.63 13.12 7.96 14.34 41.43 7.63 7.06 12.59 13.56 3.87 9.44 7.66 12.98
419.19 27.19 22.27 9.95 21.22 11.73 10.4 58.83 6.39 11.09 12.22 13.67 17.21 22.63 12.9 9.7 21.57
8.23 72.57 15.54 10.51 10.6 14.57 5.19 9.63 4.61 21.48 17.3 12.71 9.44 11.07 19.46 10.83 5.37
11.97 7.75 9.83 10.55 28.49 8.53 12.57 12.9 46.83 11.68 12.67 9.01 9.57 34.06 11.72 14.26 47.61
11.67 24.58 10.33 13.87 15.89 22.43 6.79 13.45
"""

OUTCOME = ["Poor" if code == "P" else "Good" for code in ASAH_OUTCOME]
MARKERS: dict[str, list[float]] = {
    "wfns": [float(value) for value in ASAH_WFNS.split()],  # the level codes 1..5
    "s100b": [float(value) for value in ASAH_S100B.split()],
    "ndka": [float(value) for value in ASAH_NDKA.split()],
}
# pROC's var(r.<marker>) and AUC, printed by pROC to full precision.
PROC_VARIANCE = {
    "wfns": 0.00146991470882363,
    "ndka": 0.0031908105493913,
    "s100b": 0.00266868245717244,
}
PROC_AUC = {"wfns": 0.8237, "ndka": 0.6120, "s100b": 0.7314}  # as print.roc shows them
# roc.test(r.<first>, r.<second>): Z, p-value, 95% interval of AUC(first) - AUC(second).
PROC_ROC_TEST = {
    ("wfns", "s100b"): (
        2.20898359144091,
        0.0271757822291882,
        0.0104061769564846,
        0.174214419249478,
    ),
    ("wfns", "ndka"): (
        2.79777591868904,
        0.00514557970691098,
        0.0634011709339876,
        0.3600405634833566,
    ),
    ("ndka", "s100b"): (
        -1.39077002573558,
        0.164295175223054,
        -0.2876917446341914,
        0.0488706064228094,
    ),
}


def test_asah_data_are_pROCs() -> None:
    assert (OUTCOME.count("Good"), OUTCOME.count("Poor")) == (72, 41)  # pROC: 72 controls, 41 cases
    assert all(len(values) == 113 for values in MARKERS.values())


@pytest.mark.parametrize("marker", ["wfns", "s100b", "ndka"])
def test_auc_and_variance_equal_pROC_on_asah(marker: str) -> None:
    estimate = auc_estimate(OUTCOME, MARKERS[marker])
    assert round(estimate.value, 4) == PROC_AUC[marker]
    assert _variance_from(estimate) == pytest.approx(PROC_VARIANCE[marker], rel=1e-12)


def test_intervals_equal_pROC_on_asah() -> None:
    # ci.auc(r.ndka), pROC's test-ci.auc.R
    ndka = auc_estimate(OUTCOME, MARKERS["ndka"]).interval
    assert ndka is not None
    assert ndka.low == pytest.approx(0.501244999271703, abs=1e-12)
    assert ndka.high == pytest.approx(0.722670989888189, abs=1e-12)
    # roc(aSAH$outcome, aSAH$s100b): "95% CI: 0.6301-0.8326 (DeLong)" in pROC's documentation
    s100b = auc_estimate(OUTCOME, MARKERS["s100b"]).interval
    assert s100b is not None
    assert (round(s100b.low, 4), round(s100b.high, 4)) == (0.6301, 0.8326)


@pytest.mark.parametrize(("first", "second"), list(PROC_ROC_TEST))
def test_paired_test_equals_pROCs_roc_test_on_asah(first: str, second: str) -> None:
    z, p_value, low, high = PROC_ROC_TEST[(first, second)]
    for sign, a, b in ((1, first, second), (-1, second, first)):
        result = paired_auc_test(OUTCOME, MARKERS[a], MARKERS[b])
        assert result.p_value == pytest.approx(p_value, rel=1e-12)
        assert result.interval is not None
        expected_low, expected_high = (low, high) if sign == 1 else (-high, -low)
        assert result.interval.low == pytest.approx(expected_low, abs=1e-12)
        assert result.interval.high == pytest.approx(expected_high, abs=1e-12)
        standard_error = (result.interval.high - result.interval.low) / (
            2 * NormalDist().inv_cdf(0.975)
        )
        assert result.difference / standard_error == pytest.approx(sign * z, rel=1e-10)


def test_identical_scores_give_p_one_as_pROC_does() -> None:
    result = paired_auc_test(OUTCOME, MARKERS["wfns"], MARKERS["wfns"])
    assert (result.difference, result.p_value, result.interval) == (0.0, 1.0, None)


# --- coverage and size by simulation ------------------------------------------------------------


def _binormal(
    rng: np.random.Generator, n_positive: int, n_negative: int, separation: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    labels = np.r_[np.ones(n_positive, dtype=bool), np.zeros(n_negative, dtype=bool)]
    return labels, rng.normal(size=labels.size) + separation * labels


def test_delong_interval_covers_the_true_auc_95_percent_of_the_time() -> None:
    # Binormal model: negatives N(0, 1), positives N(mu, 1); the true AUC is Phi(mu / sqrt 2).
    true_auc = 0.75
    separation = math.sqrt(2) * NormalDist().inv_cdf(true_auc)
    rng = np.random.default_rng(2014)
    covered = 0
    n_datasets = 2000
    for _ in range(n_datasets):
        labels, scores = _binormal(rng, 80, 120, separation)
        interval = auc_estimate(labels, scores).interval
        assert interval is not None
        covered += interval.contains(true_auc)
    assert 0.93 <= covered / n_datasets <= 0.97


def test_paired_test_rejects_equal_aucs_5_percent_of_the_time() -> None:
    # Two correlated binormal scores (correlation 0.6) with the same true AUC.
    rng = np.random.default_rng(1988)
    rejections = 0
    n_datasets = 2000
    for _ in range(n_datasets):
        labels, score_a = _binormal(rng, 100, 100, 1.0)
        noise_b = 0.6 * (score_a - labels) + 0.8 * rng.normal(size=labels.size)
        result = paired_auc_test(labels, score_a, noise_b + labels)
        assert result.p_value is not None
        rejections += result.p_value < 0.05
    assert 0.035 <= rejections / n_datasets <= 0.065


# --- degenerate data, bad input, determinism ----------------------------------------------------


def test_one_class_has_no_auc() -> None:
    estimate = auc_estimate([1, 1, 1], [0.2, 0.4, 0.9])
    assert math.isnan(estimate.value) and estimate.interval is None
    assert estimate.reason is not None and "both classes" in estimate.reason
    comparison = paired_auc_test([0, 0], [0.1, 0.2], [0.3, 0.1])
    assert math.isnan(comparison.difference) and comparison.p_value is None
    empty = auc_estimate([], [])
    assert (
        empty.n == 0 and empty.interval is None and empty.reason == "no rows: the AUC is undefined"
    )


def test_a_single_row_of_a_class_gives_the_auc_without_interval() -> None:
    estimate = auc_estimate([1, 0, 0, 0], [0.5, 0.1, 0.7, 0.3])
    assert estimate.value == pytest.approx(2 / 3)
    assert estimate.interval is None
    assert estimate.reason is not None and "at least two of each" in estimate.reason
    comparison = paired_auc_test([1, 0, 0, 0], [0.5, 0.1, 0.7, 0.3], [0.9, 0.1, 0.7, 0.3])
    assert comparison.difference == pytest.approx(-1 / 3)
    assert comparison.interval is None and comparison.p_value is None


def test_all_tied_scores_give_half_without_interval() -> None:
    estimate = auc_estimate([1, 0, 1, 0, 0], [3, 3, 3, 3, 3])
    assert estimate.value == 0.5 and estimate.interval is None
    assert estimate.reason is not None and "tied" in estimate.reason


def test_perfect_separation_gives_no_zero_width_interval() -> None:
    estimate = auc_estimate([1, 1, 0, 0, 0], [0.9, 0.8, 0.1, 0.2, 0.3])
    assert estimate.value == 1.0 and estimate.interval is None
    assert estimate.reason is not None and "perfectly separated" in estimate.reason


def test_interval_is_clipped_to_the_auc_scale() -> None:
    labels = [1] * 20 + [0] * 20
    scores = [*range(21, 40), 0.5, *range(1, 21)]  # one positive below every negative
    high_auc = auc_estimate(labels, scores, level=0.99)
    assert high_auc.value == 0.95
    assert high_auc.interval is not None and high_auc.interval.high == 1.0
    low_auc = auc_estimate(labels, [-score for score in scores], level=0.99)
    assert low_auc.value == pytest.approx(0.05)
    assert low_auc.interval is not None and low_auc.interval.low == 0.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="rows"):
        auc_estimate([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="score_b has 2"):  # InvalidArgument is a ValueError
        paired_auc_test([0, 1, 1], [0.1, 0.2, 0.3], [0.1, 0.2])
    with pytest.raises(InvalidArgument, match="1-D"):
        paired_auc_test([0, 1], [[0.1, 0.2], [0.3, 0.4]], [0.1, 0.2])
    with pytest.raises(InvalidArgument, match="3 labels"):
        auc_estimate([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(InvalidArgument, match="NaN"):
        auc_estimate([0, 1], [0.1, math.nan])
    with pytest.raises(InvalidArgument, match="pos_label"):
        auc_estimate(["a", "b"], [0.1, 0.2], pos_label="c")
    with pytest.raises(InvalidArgument, match="level"):
        auc_estimate([0, 1], [0.1, 0.2], level=95)
    with pytest.raises(InvalidArgument, match="numeric"):
        auc_estimate([0, 1], ["low", "high"])
    with pytest.raises(InvalidArgument, match="sample_weight"):
        auc_estimate([0, 1], [0.1, 0.2], sample_weight=[1.0, -1.0])


def test_results_are_deterministic_and_do_not_depend_on_row_order() -> None:
    labels, score_a, score_b = _tied_dataset(11, 300, 500, 0.1)
    assert auc_estimate(labels, score_a) == auc_estimate(labels.copy(), score_a.copy())
    assert paired_auc_test(labels, score_a, score_b) == paired_auc_test(labels, score_a, score_b)
    order = np.random.default_rng(12).permutation(labels.size)
    shuffled = paired_auc_test(labels[order], score_a[order], score_b[order])
    original = paired_auc_test(labels, score_a, score_b)
    assert shuffled.difference == pytest.approx(original.difference, rel=1e-12)
    assert shuffled.p_value == pytest.approx(original.p_value, rel=1e-9)
