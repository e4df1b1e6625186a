"""The trivial model a metric should be read against, from y_true alone.

Method. For classification the baseline scores every row with the classes' prior (their share
of the rows, by weight when weighted) and predicts the majority class (the first in sorted
order on a tie), as scikit-learn's `DummyClassifier(strategy="prior")` does; for regression it
predicts the mean, as `DummyRegressor(strategy="mean")` does. `baseline_metric` gives that
model's metric in closed form: ROC AUC 0.5 (constant scores tie), average precision the
positive share, accuracy the majority share, balanced accuracy 1/k, Brier p(1-p) for two
classes and 1 - sum p_k^2 for more, log loss the prior's entropy, MSE the variance, RMSE the
standard deviation, MAE the mean absolute deviation from the mean (the baseline predicts the
mean, not the median), R² 0, F1, precision and recall those of always predicting the majority
(0 unless it is the positive class). The binary positive class is the greater label.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.special import xlogy

from nbmodelbook.errors import InvalidArgument

__all__ = [
    "BASELINE_METRICS",
    "BaselinePredictions",
    "Task",
    "baseline_metric",
    "baseline_predictions",
]

FloatArray = npt.NDArray[np.float64]
Task = Literal["binary", "multiclass", "regression"]


@dataclass(frozen=True, slots=True)
class BaselinePredictions:
    """The trivial model's output for each row of y_true.

    `prediction`: the majority class (classification) or the mean (regression); `score`: the
    positive class's prior (binary), the priors in `classes` order, one row each (multiclass),
    or None (regression); `classes`: the sorted classes, or None for regression."""

    task: Task
    prediction: npt.NDArray[Any]
    score: FloatArray | None
    classes: npt.NDArray[Any] | None


@dataclass(frozen=True)
class _Prior:
    classes: npt.NDArray[Any]
    shares: FloatArray  # by weight, in `classes` order

    @property
    def majority(self) -> int:
        return int(np.argmax(self.shares))  # the first of equal shares, as argmax picks

    @property
    def positive_share(self) -> float:
        if len(self.classes) != 2:
            raise InvalidArgument(f"a binary metric needs two classes, not {len(self.classes)}")
        return float(self.shares[1])


def baseline_predictions(
    y_true: npt.ArrayLike, task: Task, *, sample_weight: npt.ArrayLike | None = None
) -> BaselinePredictions:
    """The trivial model from y_true itself: prior scores and the majority class, or the mean."""
    labels, weights = _rows(y_true, sample_weight)
    n = len(labels)
    if task == "regression":
        mean = _regression_mean(labels, weights)
        return BaselinePredictions(task, np.full(n, mean), None, None)
    if task not in ("binary", "multiclass"):
        raise InvalidArgument(f'task must be "binary", "multiclass" or "regression", not {task!r}')
    prior = _prior(labels, weights)
    if task == "binary" and len(prior.classes) != 2:
        raise InvalidArgument(f"a binary task needs two classes, not {len(prior.classes)}")
    prediction = np.full(n, prior.classes[prior.majority], dtype=prior.classes.dtype)
    if task == "binary":
        score = np.full(n, prior.shares[1])
    else:
        score = np.tile(prior.shares, (n, 1))
    return BaselinePredictions(task, prediction, score, prior.classes)


def baseline_metric(
    metric_name: str, y_true: npt.ArrayLike, *, sample_weight: npt.ArrayLike | None = None
) -> float:
    """The trivial model's value of a common metric (names as scikit-learn's functions or
    their short forms; `BASELINE_METRICS` lists them)."""
    compute = BASELINE_METRICS.get(metric_name.strip().lower())
    if compute is None:
        known = ", ".join(sorted(BASELINE_METRICS))
        raise InvalidArgument(f"no baseline for metric {metric_name!r}; known: {known}")
    labels, weights = _rows(y_true, sample_weight)
    return float(compute(labels, weights))


# --- the closed forms ---------------------------------------------------------------------------

_Compute = Callable[[npt.NDArray[Any], FloatArray], float]


def _rows(y_true: npt.ArrayLike, sample_weight: npt.ArrayLike | None) -> tuple[Any, FloatArray]:
    labels = np.asarray(y_true)
    if labels.ndim != 1 or len(labels) == 0:
        raise InvalidArgument("y_true must be one non-empty column of labels or values")
    if sample_weight is None:
        return labels, np.ones(len(labels))
    weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if len(weights) != len(labels):
        raise InvalidArgument(f"sample_weight has {len(weights)} values for {len(labels)} rows")
    if not np.isfinite(weights).all() or weights.min() < 0 or weights.sum() <= 0:
        raise InvalidArgument("sample_weight must be finite, non-negative and not all zero")
    return labels, weights


def _prior(labels: npt.NDArray[Any], weights: FloatArray) -> _Prior:
    classes, codes = np.unique(labels, return_inverse=True)
    totals = np.bincount(codes.reshape(-1), weights=weights, minlength=len(classes))
    return _Prior(classes, totals / totals.sum())


def _regression_mean(values: npt.NDArray[Any], weights: FloatArray) -> float:
    if values.dtype.kind not in "biuf":
        raise InvalidArgument("a regression baseline needs numeric y_true")
    return float(np.average(values.astype(np.float64), weights=weights))


def _variance(values: npt.NDArray[Any], weights: FloatArray) -> float:
    mean = _regression_mean(values, weights)
    return float(np.average((values.astype(np.float64) - mean) ** 2, weights=weights))


def _roc_auc(labels: npt.NDArray[Any], weights: FloatArray) -> float:
    if len(_prior(labels, weights).classes) < 2:
        raise InvalidArgument("ROC AUC needs at least two classes")
    return 0.5  # every row scores the same: each positive-negative pair ties


def _average_precision(labels: npt.NDArray[Any], weights: FloatArray) -> float:
    return _prior(labels, weights).positive_share


def _accuracy(labels: npt.NDArray[Any], weights: FloatArray) -> float:
    prior = _prior(labels, weights)
    return float(prior.shares[prior.majority])


def _zero_one_loss(labels: npt.NDArray[Any], weights: FloatArray) -> float:
    return 1 - _accuracy(labels, weights)


def _balanced_accuracy(labels: npt.NDArray[Any], weights: FloatArray) -> float:
    prior = _prior(labels, weights)
    return 1 / int(np.count_nonzero(prior.shares))  # recall 1 on one class, 0 on the others


def _brier(labels: npt.NDArray[Any], weights: FloatArray) -> float:
    shares = _prior(labels, weights).shares
    if len(shares) <= 2:
        return float(shares[-1] * (1 - shares[-1]))
    return float(1 - np.sum(shares**2))


def _log_loss(labels: npt.NDArray[Any], weights: FloatArray) -> float:
    shares = _prior(labels, weights).shares
    return float(-np.sum(xlogy(shares, shares)))


def _majority_is_positive(labels: npt.NDArray[Any], weights: FloatArray) -> tuple[bool, float]:
    prior = _prior(labels, weights)
    share = prior.positive_share
    return prior.majority == 1, share


def _f1(labels: npt.NDArray[Any], weights: FloatArray) -> float:
    positive, share = _majority_is_positive(labels, weights)
    return 2 * share / (1 + share) if positive else 0.0


def _precision(labels: npt.NDArray[Any], weights: FloatArray) -> float:
    positive, share = _majority_is_positive(labels, weights)
    return share if positive else 0.0


def _recall(labels: npt.NDArray[Any], weights: FloatArray) -> float:
    positive, _ = _majority_is_positive(labels, weights)
    return 1.0 if positive else 0.0


def _mse(values: npt.NDArray[Any], weights: FloatArray) -> float:
    return _variance(values, weights)


def _rmse(values: npt.NDArray[Any], weights: FloatArray) -> float:
    return math.sqrt(_variance(values, weights))


def _mae(values: npt.NDArray[Any], weights: FloatArray) -> float:
    mean = _regression_mean(values, weights)
    return float(np.average(np.abs(values.astype(np.float64) - mean), weights=weights))


def _r2(values: npt.NDArray[Any], weights: FloatArray) -> float:
    # the mean explains nothing; a constant y_true is predicted exactly (scikit-learn: 1)
    return 0.0 if _variance(values, weights) > 0 else 1.0


def _named(compute: _Compute, *names: str) -> dict[str, _Compute]:
    return dict.fromkeys(names, compute)


BASELINE_METRICS: Mapping[str, _Compute] = {
    **_named(_roc_auc, "roc_auc", "roc_auc_score", "auc"),
    **_named(_average_precision, "average_precision", "average_precision_score"),
    **_named(_accuracy, "accuracy", "accuracy_score"),
    **_named(_zero_one_loss, "zero_one_loss", "error_rate"),
    **_named(_balanced_accuracy, "balanced_accuracy", "balanced_accuracy_score"),
    **_named(_brier, "brier", "brier_score", "brier_score_loss"),
    **_named(_log_loss, "log_loss", "logloss", "cross_entropy"),
    **_named(_f1, "f1", "f1_score"),
    **_named(_precision, "precision", "precision_score"),
    **_named(_recall, "recall", "recall_score"),
    **_named(_mse, "mse", "mean_squared_error"),
    **_named(_rmse, "rmse", "root_mean_squared_error"),
    **_named(_mae, "mae", "mean_absolute_error"),
    **_named(_r2, "r2", "r2_score"),
}
