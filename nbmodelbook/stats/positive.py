"""Which rows of a binary label column are the positive class: the rule the review evidence uses.

    truth = binary_truth(y_true, pos_label=None)
    truth.positive       # one bool per row
    truth.pos_label      # the positive class as written in y_true (1 for numbers, by default)
    truth.neg_label      # the other class (None when y_true holds one class only)

The rule: y_true must be 1-D with at most two distinct values (whole numbers when it is a float
column). An explicit `pos_label` must be one of them when there are two. Without one, numbers
take 1 as positive when 1 is present (else the larger value), and any other labels the last in
sorted order, as scikit-learn's metrics do for {0, 1} and {-1, 1} (a column of 0s or -1s only
holds no positive row). Anything else (more classes,
fractional values, labels numpy cannot sort) is not binary: None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["BinaryTruth", "binary_truth", "scores_the_greater_class"]

# scikit-learn functions whose scores are the greater class's (predict_proba(X)[:, 1]): without
# a pos_label they take the greater of two labels as positive.
_GREATER_CLASS_SCORES = frozenset({"roc_auc_score", "brier_score_loss", "log_loss"})


def scores_the_greater_class(function: str, metric: str = "") -> bool:
    """Whether an evaluation's scores are the greater class's, as `roc_auc_score`,
    `brier_score_loss` and `log_loss` read them (an AUC given to `log_predictions` too)."""
    if function in _GREATER_CLASS_SCORES:
        return True
    return function == "log_predictions" and "auc" in metric.lower()


_SMALL_RANGE = 20  # whole numbers spanning at most this many values are counted without a sort


@dataclass(frozen=True, slots=True)
class BinaryTruth:
    """Each row's truth as positive or not, with the positive and the negative label."""

    positive: npt.NDArray[np.bool_]
    pos_label: Any
    neg_label: Any


def binary_truth(
    y_true: npt.ArrayLike, pos_label: Any = None, *, greater_is_positive: bool = False
) -> BinaryTruth | None:
    """The positive rows of a binary `y_true` (see the module docstring); None when it is not
    a binary label column or `pos_label` is not one of its two classes.

    `greater_is_positive`: without a `pos_label`, two classes take the greater as positive, as
    `roc_auc_score` does (its scores are the greater class's: `predict_proba(X)[:, 1]`), so
    labels {1, 2} score class 2."""
    labels = np.asarray(y_true)
    if labels.ndim != 1:
        return None
    classes = _distinct(labels)
    if classes is None:
        return None
    if len(classes) > 2 or (labels.dtype.kind == "f" and not np.all(np.mod(classes, 1) == 0)):
        return None
    if pos_label is None and greater_is_positive and len(classes) == 2:
        pos_label = classes[-1]
    if pos_label is None:
        if labels.dtype.kind in "biuf":
            # 1, as scikit-learn's metrics take it, also when the rows hold only 0s (or -1s).
            only_negatives = len(classes) == 1 and classes[0] in (0, -1)
            if len(classes) == 0 or np.any(classes == 1) or only_negatives:
                pos_label = 1
            else:
                pos_label = classes[-1]
        elif len(classes):
            pos_label = classes[-1]
        else:
            return None
    if len(classes) == 2 and not bool(np.any(classes == pos_label)):
        return None
    negatives = [label for label in classes.tolist() if label != pos_label]
    negative = negatives[0] if negatives else None
    return BinaryTruth(np.asarray(labels == pos_label, dtype=np.bool_), pos_label, negative)


def _distinct(labels: npt.NDArray[Any]) -> npt.NDArray[Any] | None:
    """The distinct values of a label column, sorted (O(n) for whole numbers in a small range)."""
    if labels.dtype.kind in "biu" and len(labels):
        low, high = int(labels.min()), int(labels.max())
        if high - low <= _SMALL_RANGE:
            counts = np.bincount(labels.astype(np.int64) - low)
            values = np.flatnonzero(counts) + low
            return values.astype(bool if labels.dtype.kind == "b" else labels.dtype)
    try:
        return np.unique(labels)
    except TypeError:
        return None
