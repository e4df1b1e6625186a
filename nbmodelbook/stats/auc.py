"""The ROC AUC with DeLong's interval, and DeLong's test for two correlated AUCs.

Method. DeLong, DeLong & Clarke-Pearson (1988, "Comparing the areas under two or more correlated
receiver operating characteristic curves: a nonparametric approach", Biometrics 44(3):837-845)
estimate the AUC by the Mann-Whitney statistic (a tie counts one half) and its variance from the
*structural components* (placement values): for each positive row, the share of negatives it
outscores (V10); for each negative row, the share of positives that outscore it (V01). With m
positives and n negatives,

    var(AUC) = S10 / m + S01 / n,

S10 and S01 the sample variances (denominators m - 1 and n - 1) of V10 and V01. For two scores on
the same rows the difference a - b has variance var(V10a - V10b) / m + var(V01a - V01b) / n, which
equals the paper's contrast L S L' and cannot come out negative through rounding.

The placements are computed with the midrank algorithm of Sun & Xu (2014, "Fast implementation of
DeLong's algorithm for comparing the areas under correlated receiver operating characteristic
curves", IEEE Signal Processing Letters 21(11):1389-1393): a row's placement is the difference of
its midrank among all rows and among its own class, here read off one sort of the pooled scores
(O(n log n), no pairwise comparison). Intervals use the normal approximation on the AUC scale
and are clipped to [0, 1], as pROC (Robin et al. 2011) does by default; p-values are two-sided
normal tail areas.

DeLong's variance is for unweighted rows. With unequal sample weights the AUC itself is still
computed (the weighted Mann-Whitney statistic, as scikit-learn's `roc_auc_score` computes it) but no
interval is given: the bootstrap handles weights.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.results import Estimate, Interval, PairedComparison

__all__ = ["auc_estimate", "paired_auc_test"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

WEIGHTED_REASON = "weighted: DeLong does not apply"


def auc_estimate(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    level: float = 0.95,
    pos_label: Any = None,
    sample_weight: npt.ArrayLike | None = None,
) -> Estimate:
    """The ROC AUC of `y_score` for the binary labels `y_true`, with DeLong's interval.

    `pos_label` names the positive class; by default it is the greater of the two labels, as in
    scikit-learn (1 of 0/1, True of False, "Poor" of "Good"/"Poor"). Higher scores are read as
    more positive. The interval is None, with a `reason`, when it cannot be computed: one class
    only, fewer than two rows of a class, all scores tied, DeLong's variance zero (perfectly
    separated classes), or unequal `sample_weight` (reason "weighted: DeLong does not apply").
    """
    _check_level(level)
    is_positive = _positive_rows(y_true, pos_label)
    scores = _scores(y_score, "y_score", len(is_positive))
    weights = _weights(sample_weight, len(is_positive))
    n_rows = len(is_positive)
    n_positive = int(is_positive.sum())
    n_negative = n_rows - n_positive

    if n_positive == 0 or n_negative == 0:
        return Estimate(math.nan, n_rows, None, _one_class_reason(n_rows, n_positive))
    positive_scores, negative_scores = scores[is_positive], scores[~is_positive]
    if weights is not None and np.ptp(weights) > 0:
        value = _weighted_auc(
            positive_scores, negative_scores, weights[is_positive], weights[~is_positive]
        )
        return Estimate(value, n_rows, None, WEIGHTED_REASON)

    placements = _placements(positive_scores, negative_scores)
    if n_positive < 2 or n_negative < 2:
        reason = _too_few_reason(n_positive, n_negative)
        return Estimate(placements.auc, n_rows, None, reason)
    if np.ptp(scores) == 0:
        reason = "all scores are tied: the AUC is 0.5 by construction and has no DeLong interval"
        return Estimate(placements.auc, n_rows, None, reason)
    if placements.without_spread():
        reason = (
            f"the classes are perfectly separated (AUC {placements.auc:g}): DeLong's variance is"
            " zero and gives no interval"
        )
        return Estimate(placements.auc, n_rows, None, reason)

    return Estimate(placements.auc, n_rows, delong_interval(placements, level))


def delong_interval(placements: _Placements, level: float) -> Interval:
    """The normal interval of one AUC from its placements (regular data), clipped to [0, 1]."""
    half_width = _critical_value(level) * math.sqrt(placements.variance())
    return Interval(
        low=max(0.0, placements.auc - half_width),
        high=min(1.0, placements.auc + half_width),
        level=level,
        method="DeLong",
    )


def paired_auc_test(
    y_true: npt.ArrayLike,
    score_a: npt.ArrayLike,
    score_b: npt.ArrayLike,
    *,
    level: float = 0.95,
    pos_label: Any = None,
) -> PairedComparison:
    """DeLong's test of two correlated AUCs: two models' scores on the same rows.

    The difference is AUC(a) - AUC(b), with its normal interval (clipped to [-1, 1]) and the
    two-sided p-value of "equal AUCs". Degenerate data give what can be computed: one class only
    gives a NaN difference; fewer than two rows of a class, or a zero variance of the difference
    with a nonzero difference, give no interval and no p-value. Identical placements (a zero
    difference with zero variance) give p = 1, as pROC's `roc.test` does, and no interval.
    """
    _check_level(level)
    is_positive = _positive_rows(y_true, pos_label)
    scores_a = _scores(score_a, "score_a", len(is_positive))
    scores_b = _scores(score_b, "score_b", len(is_positive))
    n_rows = len(is_positive)
    n_positive = int(is_positive.sum())
    n_negative = n_rows - n_positive
    method = "DeLong paired"

    if n_positive == 0 or n_negative == 0:
        return PairedComparison(math.nan, None, None, method, n_rows)
    placements_a = _placements(scores_a[is_positive], scores_a[~is_positive])
    placements_b = _placements(scores_b[is_positive], scores_b[~is_positive])
    difference = placements_a.auc - placements_b.auc
    if n_positive < 2 or n_negative < 2:
        return PairedComparison(difference, None, None, method, n_rows)

    return delong_paired(placements_a, placements_b, n_rows, level)


def delong_paired(
    placements_a: _Placements, placements_b: _Placements, n_rows: int, level: float
) -> PairedComparison:
    """DeLong's paired test from two models' placements on the same rows (at least two rows
    of each class)."""
    method = "DeLong paired"
    difference = placements_a.auc - placements_b.auc
    positive_diffs = placements_a.positive - placements_b.positive
    negative_diffs = placements_a.negative - placements_b.negative
    if np.ptp(positive_diffs) == 0 and np.ptp(negative_diffs) == 0:
        # The paired placements differ by a constant: DeLong's variance is zero.
        p_value = 1.0 if difference == 0 else None
        return PairedComparison(difference, None, p_value, method, n_rows)

    variance = _sample_variance(positive_diffs) / len(positive_diffs)
    variance += _sample_variance(negative_diffs) / len(negative_diffs)
    standard_error = math.sqrt(variance)
    z = difference / standard_error
    p_value = min(1.0, 2.0 * float(ndtr(-abs(z))))
    half_width = _critical_value(level) * standard_error
    interval = Interval(
        low=max(-1.0, difference - half_width),
        high=min(1.0, difference + half_width),
        level=level,
        method=method,
    )
    return PairedComparison(difference, interval, p_value, method, n_rows)


# --- the structural components ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Placements:
    """DeLong's structural components of one score: the AUC and the placement of each row."""

    auc: float
    positive: FloatArray  # V10: for each positive row, the share of negatives it outscores
    negative: FloatArray  # V01: for each negative row, the share of positives that outscore it

    def variance(self) -> float:
        return _sample_variance(self.positive) / len(self.positive) + _sample_variance(
            self.negative
        ) / len(self.negative)

    def without_spread(self) -> bool:
        """All placements of each class equal: DeLong's variance is exactly zero."""
        return bool(np.ptp(self.positive) == 0 and np.ptp(self.negative) == 0)


def _placements(
    positive_scores: npt.NDArray[Any], negative_scores: npt.NDArray[Any]
) -> _Placements:
    """Sun & Xu's placements: a positive's midrank among all rows minus its midrank among the
    positives is the number of negatives below it plus half those tied with it (and likewise for
    a negative). The three rankings are read off one sort of the pooled scores, tied runs
    counted as groups."""
    n_positive, n_negative = len(positive_scores), len(negative_scores)
    pooled = np.concatenate([positive_scores, negative_scores])
    order = np.argsort(pooled)
    sorted_scores = pooled[order]
    sorted_is_positive = order < n_positive
    tie_starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    tie_sizes = np.diff(np.r_[tie_starts, pooled.size])
    positives_tied = np.add.reduceat(sorted_is_positive.astype(np.int64), tie_starts)
    negatives_tied = tie_sizes - positives_tied
    negatives_below = np.cumsum(negatives_tied) - negatives_tied
    positives_above = n_positive - np.cumsum(positives_tied)
    negatives_outscored = negatives_below + 0.5 * negatives_tied  # per tied run, for its positives
    positives_outscoring = positives_above + 0.5 * positives_tied  # ... and for its negatives
    run_of = np.repeat(np.arange(tie_starts.size), tie_sizes)
    sorted_placements = np.where(
        sorted_is_positive,
        negatives_outscored[run_of] / n_negative,
        positives_outscoring[run_of] / n_positive,
    )
    placements = np.empty(pooled.size, dtype=np.float64)
    placements[order] = sorted_placements  # back to row order: the paired test pairs rows
    # Counts of half-pairs: exact in float64 far beyond any evaluation's size.
    pairs_won = float(np.dot(positives_tied, negatives_outscored))
    auc = pairs_won / (n_positive * n_negative)
    return _Placements(auc=auc, positive=placements[:n_positive], negative=placements[n_positive:])


def _weighted_auc(
    positive_scores: npt.NDArray[Any],
    negative_scores: npt.NDArray[Any],
    positive_weights: FloatArray,
    negative_weights: FloatArray,
) -> float:
    """The weighted Mann-Whitney statistic: each (positive, negative) pair counts w_i * w_j, a tie
    half; the area under the weighted ROC curve."""
    total_positive, total_negative = positive_weights.sum(), negative_weights.sum()
    if total_positive == 0 or total_negative == 0:
        return math.nan
    order = np.argsort(negative_scores, kind="stable")
    sorted_negatives = negative_scores[order]
    cumulative = np.concatenate([[0.0], np.cumsum(negative_weights[order])])
    below = cumulative[np.searchsorted(sorted_negatives, positive_scores, side="left")]
    up_to = cumulative[np.searchsorted(sorted_negatives, positive_scores, side="right")]
    credit = below + 0.5 * (up_to - below)
    return float(np.dot(positive_weights, credit) / (total_positive * total_negative))


def _sample_variance(values: FloatArray) -> float:
    return float(np.var(values, ddof=1))


def _critical_value(level: float) -> float:
    return float(ndtri(0.5 + level / 2))


# --- checking the inputs ------------------------------------------------------------------------


def _check_level(level: float) -> None:
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise InvalidArgument(f"level must be a number between 0 and 1 (exclusive), not {level!r}")


def _positive_rows(y_true: npt.ArrayLike, pos_label: Any) -> BoolArray:
    labels = np.asarray(y_true)
    if labels.ndim != 1:
        raise InvalidArgument(f"y_true must be one label per row (1-D), not shape {labels.shape}")
    if labels.dtype.kind == "f" and bool(np.isnan(labels).any()):
        raise InvalidArgument("y_true has missing (NaN) labels")
    try:
        classes = np.unique(labels)
    except TypeError as error:
        raise InvalidArgument(f"y_true mixes labels that cannot be compared: {error}") from None
    if len(classes) > 2:
        shown = ", ".join(repr(label) for label in classes[:5].tolist())
        raise InvalidArgument(f"y_true has {len(classes)} labels ({shown}...): the AUC needs two")
    if pos_label is None:
        if len(classes) == 0:
            return np.zeros(0, dtype=np.bool_)
        pos_label = classes[-1]  # the greater label, as scikit-learn picks it
    elif len(classes) == 2 and not bool(np.any(classes == pos_label)):
        raise InvalidArgument(
            f"pos_label {pos_label!r} is not one of the labels {classes.tolist()!r}"
        )
    return np.asarray(labels == pos_label, dtype=np.bool_)


def _scores(values: npt.ArrayLike, name: str, n_rows: int) -> npt.NDArray[Any]:
    scores = np.asarray(values)
    if scores.ndim != 1:
        raise InvalidArgument(f"{name} must be one score per row (1-D), not shape {scores.shape}")
    if len(scores) != n_rows:
        raise InvalidArgument(f"y_true has {n_rows} rows but {name} has {len(scores)}")
    if scores.dtype.kind not in "biuf":
        raise InvalidArgument(f"{name} must be numeric, not {scores.dtype}")
    if scores.dtype.kind == "f" and bool(np.isnan(scores).any()):
        raise InvalidArgument(f"{name} has missing (NaN) scores")
    if scores.dtype.kind == "b":
        return scores.astype(np.int8)
    return scores


def _weights(values: npt.ArrayLike | None, n_rows: int) -> FloatArray | None:
    if values is None:
        return None
    weights = np.asarray(values, dtype=np.float64)
    if weights.ndim != 1 or len(weights) != n_rows:
        raise InvalidArgument(f"sample_weight must have one weight per row ({n_rows})")
    if not bool(np.isfinite(weights).all()) or bool((weights < 0).any()):
        raise InvalidArgument("sample_weight must be finite and not negative")
    if n_rows and not bool(weights.any()):
        raise InvalidArgument("sample_weight is zero for every row")
    return weights


def _one_class_reason(n_rows: int, n_positive: int) -> str:
    if n_rows == 0:
        return "no rows: the AUC is undefined"
    present = "positive" if n_positive else "negative"
    return f"only {present} rows ({n_rows}): the AUC needs both classes"


def _too_few_reason(n_positive: int, n_negative: int) -> str:
    return (
        f"{n_positive} positive and {n_negative} negative rows: DeLong's variance needs at least"
        " two of each"
    )
