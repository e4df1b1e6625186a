"""DeLong with cached placements gives exactly what stats.auc gives, degenerate cases included."""

from __future__ import annotations

import numpy as np
import pytest

from nbmodelbook.stats.auc import auc_estimate, paired_auc_test
from nbmodelbook.stats.auc_shared import SharedRowsAUC

RNG = np.random.default_rng(3)
Y = (RNG.random(400) < 0.3).astype(int)
SCORES = [np.round(Y * shift + RNG.normal(size=400), 1) for shift in (1.5, 1.2, 0.2)]


def test_estimates_and_paired_tests_equal_the_direct_ones() -> None:
    shared = SharedRowsAUC(Y)
    for level in (0.9, 0.95):
        for score in SCORES:
            assert shared.estimate(score, level=level) == auc_estimate(Y, score, level=level)
        for a in SCORES:
            for b in SCORES:
                assert shared.paired(a, b, level=level) == paired_auc_test(Y, a, b, level=level)


def test_text_labels_with_a_positive_label() -> None:
    labels = np.where(Y == 1, "bad", "good")
    shared = SharedRowsAUC(labels, pos_label="bad")
    direct = auc_estimate(labels, SCORES[0], pos_label="bad")
    assert shared.estimate(SCORES[0]) == direct
    assert shared.paired(SCORES[0], SCORES[2]) == paired_auc_test(
        labels, SCORES[0], SCORES[2], pos_label="bad"
    )


@pytest.mark.parametrize(
    ("y_true", "score_a", "score_b"),
    [
        (np.array([0, 1, 1, 1]), np.array([0.1, 0.4, 0.5, 0.9]), np.array([0.2, 0.3, 0.6, 0.8])),
        (np.array([0, 0, 1, 1]), np.array([0.5, 0.5, 0.5, 0.5]), np.array([0.1, 0.2, 0.3, 0.4])),
        (np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), np.array([0.1, 0.2, 0.8, 0.9])),
        (np.array([1, 1, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), np.array([0.3, 0.2, 0.8, 0.9])),
    ],
)
def test_degenerate_cases_equal_the_direct_ones(
    y_true: np.ndarray, score_a: np.ndarray, score_b: np.ndarray
) -> None:
    shared = SharedRowsAUC(y_true)
    first, second = shared.estimate(score_a), auc_estimate(y_true, score_a)
    assert first.reason == second.reason and first.interval == second.interval
    assert first.value == second.value or (np.isnan(first.value) and np.isnan(second.value))
    paired, direct = shared.paired(score_a, score_b), paired_auc_test(y_true, score_a, score_b)
    assert (paired.interval, paired.p_value, paired.method) == (
        direct.interval,
        direct.p_value,
        direct.method,
    )


def test_placements_are_computed_once_per_score_array() -> None:
    shared = SharedRowsAUC(Y)
    shared.estimate(SCORES[0])
    shared.paired(SCORES[0], SCORES[1])
    shared.paired(SCORES[0], SCORES[2])
    assert len(shared._cache) == 3
    assert shared.same_rows(Y.copy()) and not shared.same_rows(1 - Y)
