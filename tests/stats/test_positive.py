"""The positive-class rule of the statistics room is the review evidence's, case by case."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nbmodelbook.record import Evaluation
from nbmodelbook.report.evidence import _positive_of
from nbmodelbook.stats.positive import binary_truth

CASES: list[tuple[Any, Any]] = [
    (np.array([0, 1, 1, 0]), None),
    (np.array([-1, 1, 1]), None),
    (np.array([2, 3, 3]), None),  # no 1: the larger value
    (np.array([2, 3, 3]), 2),
    (np.array([2, 3, 3]), 5),  # not one of the classes: not binary
    (np.array([0.0, 1.0, 1.0]), None),
    (np.array([0.0, 0.5, 1.0]), None),  # fractional: a regression target
    (np.array([True, False, True]), None),
    (np.array([True, False, True]), False),
    (np.array(["ham", "spam", "spam"]), None),
    (np.array(["ham", "spam", "spam"]), "ham"),
    (np.array(["ham", "spam", "eggs"]), None),  # three classes
    (np.array([1, 1, 1]), None),  # one class
    (np.array([0, 0, 0]), None),
    (np.array(["spam", "spam"]), "ham"),  # one class, pos_label absent: all negative
    (np.array([0, 1, 2]), None),
    (np.array([[0, 1], [1, 0]]), None),  # not 1-D
    (np.array([0, 1000]), None),  # a wide range: counted by np.unique
    (np.array([1, "a"], dtype=object), None),  # labels numpy cannot sort
]


@pytest.mark.parametrize(("y_true", "pos_label"), CASES)
def test_binary_truth_follows_the_review_evidence_rule(y_true: Any, pos_label: Any) -> None:
    options = {} if pos_label is None else {"pos_label": pos_label}
    theirs = _positive_of(Evaluation("f1_score", "f1", 0.5, y_true, options=options))
    ours = binary_truth(y_true, pos_label)
    if theirs is None:
        assert ours is None
        return
    assert ours is not None
    np.testing.assert_array_equal(ours.positive, theirs[0])
    assert (ours.pos_label, ours.neg_label) == (theirs[1], theirs[2])


def test_string_labels_take_the_last_in_sorted_order() -> None:
    found = binary_truth(["no", "yes", "no"])
    assert found is not None
    assert found.pos_label == "yes" and found.neg_label == "no"
    assert found.positive.tolist() == [False, True, False]
