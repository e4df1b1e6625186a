"""The positive-class rule the review evidence and its curves share, case by case, as
scikit-learn's metrics take the positive class by default (`pos_label=1`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nbmodelbook.stats.positive import binary_truth

N = None  # not a binary label column (or pos_label is not one of its two classes)
# (y_true, pos_label, expected rows that are positive, positive label, negative label)
CASES: list[tuple[Any, Any, Any, Any, Any]] = [
    (np.array([0, 1, 1, 0]), None, [0, 1, 1, 0], 1, 0),
    (np.array([-1, 1, 1]), None, [0, 1, 1], 1, -1),
    (np.array([2, 3, 3]), None, [0, 1, 1], 3, 2),  # no 1: the larger value
    (np.array([2, 3, 3]), 2, [1, 0, 0], 2, 3),
    (np.array([2, 3, 3]), 5, N, N, N),  # not one of the classes
    (np.array([0.0, 1.0, 1.0]), None, [0, 1, 1], 1, 0.0),
    (np.array([0.0, 0.5, 1.0]), None, N, N, N),  # fractional: a regression target
    (np.array([True, False, True]), None, [1, 0, 1], 1, False),
    (np.array([True, False, True]), False, [0, 1, 0], False, True),
    (np.array(["ham", "spam", "spam"]), None, [0, 1, 1], "spam", "ham"),
    (np.array(["ham", "spam", "spam"]), "ham", [1, 0, 0], "ham", "spam"),
    (np.array(["ham", "spam", "eggs"]), None, N, N, N),  # three classes
    (np.array([1, 1, 1]), None, [1, 1, 1], 1, None),  # positives only
    (np.array([0, 0, 0]), None, [0, 0, 0], 1, 0),  # negatives only: none is positive
    (np.array([-1, -1]), None, [0, 0], 1, -1),
    (np.array([False, False]), None, [0, 0], 1, False),
    (np.array([-1, 0]), None, [0, 1], 0, -1),  # no 1: the larger value
    (np.array(["spam", "spam"]), "ham", [0, 0], "ham", "spam"),
    (np.array([0, 1, 2]), None, N, N, N),
    (np.array([[0, 1], [1, 0]]), None, N, N, N),  # not 1-D
    (np.array([0, 1000]), None, [0, 1], 1000, 0),  # a wide range: counted by np.unique
    (np.array([1, "a"], dtype=object), None, N, N, N),  # labels numpy cannot sort
]


@pytest.mark.parametrize(("y_true", "pos_label", "rows", "positive", "negative"), CASES)
def test_binary_truth(y_true: Any, pos_label: Any, rows: Any, positive: Any, negative: Any) -> None:
    found = binary_truth(y_true, pos_label)
    if rows is None:
        assert found is None
        return
    assert found is not None
    assert found.positive.tolist() == [bool(row) for row in rows]
    assert (found.pos_label, found.neg_label) == (positive, negative)


def test_the_rule_agrees_with_scikit_learn_on_binary_labels() -> None:
    """recall_score's default positive class finds the same positive rows."""
    from sklearn.metrics import recall_score

    rng = np.random.default_rng(0)
    for labels in (np.array([0, 1]), np.array([-1, 1]), np.array([False, True])):
        y_true = rng.choice(labels, 200)
        y_pred = rng.choice(labels, 200)
        found = binary_truth(y_true)
        assert found is not None
        predicted = binary_truth(y_pred, found.pos_label)
        assert predicted is not None
        ours = (found.positive & predicted.positive).sum() / found.positive.sum()
        assert ours == pytest.approx(recall_score(y_true, y_pred))


def test_string_labels_take_the_last_in_sorted_order() -> None:
    found = binary_truth(["no", "yes", "no"])
    assert found is not None
    assert found.pos_label == "yes" and found.neg_label == "no"
    assert found.positive.tolist() == [False, True, False]


def test_the_greater_class_is_positive_where_roc_auc_score_takes_it() -> None:
    found = binary_truth(np.array([1, 2, 2, 1]), greater_is_positive=True)
    assert found is not None and found.pos_label == 2 and found.positive.tolist() == [0, 1, 1, 0]
    # An explicit pos_label wins; one class keeps the default rule.
    explicit = binary_truth(np.array([1, 2]), 1, greater_is_positive=True)
    assert explicit is not None and explicit.pos_label == 1
    single = binary_truth(np.array([0, 0]), greater_is_positive=True)
    assert single is not None and single.pos_label == 1 and not single.positive.any()
