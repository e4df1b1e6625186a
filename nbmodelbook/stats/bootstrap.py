"""Bootstrap intervals for a metric, and the paired bootstrap comparison of two models.

Methods.
- Resampling: Efron's nonparametric bootstrap, rows drawn with replacement, seeded. By default
  the rows are resampled within strata: within each class of `y_true` when it has at most 20
  distinct values (every resample keeps the data's class counts, so a metric such as log loss
  or AUC never meets a resample without one of its classes), or within a given strata array
  (Davison & Hinkley 1997, "Bootstrap Methods and their Application", on stratified
  resampling). A class-stratified interval is conditional on the evaluation set's class counts:
  right for a stratified split or a fixed case mix; for a simple random split it leaves out the
  variation of the class mix and is too narrow where the metric differs much between classes
  (log loss, 20% positives, 2,000 rows: 91% coverage at 95% nominal, against 94% for
  strata="none"; see the tests). `Interval.method` says "stratified by class" when it applies.
- Intervals: BCa, bias-corrected and accelerated (Efron 1987, "Better bootstrap confidence
  intervals", JASA 82:171-185), the bias correction z0 from the share of resamples below the
  estimate (a tie counts one half, as in scipy.stats.bootstrap) and the acceleration from the
  jackknife. BCa is reported where it is stable: z0 and the acceleration are finite, the
  adjusted levels are well defined, and at least 10 resamples lie beyond each adjusted end.
  Otherwise, where no jackknife is available, or when asked (`method="percentile"`), the
  percentile interval is reported. `Interval.method` says which ("bootstrap BCa, ..." or
  "bootstrap percentile, ..."), the number of resamples, how they were drawn and, when BCa was
  wanted, why it was not used. Quantiles interpolate linearly, as numpy and scipy do.
- p-value of a paired comparison: test inversion of the reported interval (the duality of
  confidence sets and tests; Lehmann & Romano, "Testing Statistical Hypotheses", 3.5): p is the
  smallest 1 - level at which the interval of the difference excludes 0, so p < 1 - level when
  the interval at `level` excludes 0. For a percentile interval that is twice the smaller share
  of resampled differences on one side of 0; for BCa the share goes through the BCa level
  adjustment. The share counts a tie at 0 as one half and adds half a resample to each side,
  so p is never below 1 / (resamples + 1).

How the work stays bounded (at most 10,000 resamples, 2,000 by default):
- Metrics computed from totals over rows (`TotalsMetric`; scikit-learn's accuracy, zero-one
  loss, balanced accuracy, binary precision, recall and F1, MSE, RMSE, MAE, R², Brier score
  and log loss are recognised by name, with their default options, and a plain mean is
  `TOTALS_METRICS["mean"]`) never call the metric per resample; the tests hold each one to
  scikit-learn's value. Up to 2**20 resampled rows in all (resamples x rows: 524 rows at 2,000
  resamples) the rows are drawn one by one and a resample's totals are sums over its rows, the
  very numbers the metric computes on the resampled rows. Above that, a resample is drawn by
  value bins: within each stratum the rows are grouped by their distinct values (when a stratum
  has at most 16, or at most 64 rows), else into rank bins: 4 equal-count bins over the middle
  90% and, in each tail, bins of 5%, 5/4%, 5/16%, ... of the rows down to the single extreme
  row. How many rows each bin adds to a resample is drawn from the multinomial, exactly as row
  resampling distributes them; the sum of those rows' columns is drawn from the normal with the
  bin's exact mean and covariance. The totals then have exactly the first two moments of row
  resampling, and its exact distribution when every bin holds equal rows (accuracy, F1's
  confusion cells: the method then says "exact"); only the third moments within a bin are not
  reproduced, a small part for narrow bins, and the extreme rows, which carry most of the
  skewness, are bins of their own. Cost: O(n) for the bins plus O(resamples x bins). The
  acceleration comes from the exact leave-one-out jackknife of the totals, O(n).
- Any other metric is called once per resample ("the generic path"). Up to 2,000 rows it
  resamples all rows; the acceleration comes from the leave-one-out jackknife up to 200 rows, a
  delete-d jackknife of 200 seeded random groups above (the group influences sum the rows'
  influences, so the acceleration formula carries over). Above 2,000 rows the resamples are
  drawn from a seeded stratified subsample of 2,000 rows (proportional, at least two rows per
  stratum), the spread of the resampled values around the subsample's value scaled by
  sqrt(2000 / n) (a smooth metric's standard error falls as 1 / sqrt(n)) and centred on the
  full data's value; that interval is percentile (BCa's corrections would be at the
  subsample's scale), and only as good as 2,000 rows can show the metric's shape: rare classes
  are better served by a `TotalsMetric`, DeLong (AUC) or Wilson (proportions). Its cost is
  resamples x one metric call on 2,000 rows.

A resample on which the metric raises or returns NaN (one class only, say) is skipped and
counted; when more than 5% are skipped no interval is given and `Estimate.reason` says why.
"""

from __future__ import annotations

import math
import numbers
import operator
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.results import Estimate, Interval, PairedComparison

__all__ = [
    "DEFAULT_RESAMPLES",
    "TOTALS_METRICS",
    "IntervalMethod",
    "StrataOption",
    "TotalsMetric",
    "bootstrap_estimate",
    "bootstrap_totals",
    "paired_bootstrap",
    "totals_metric_for",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Statistic = Callable[[FloatArray, FloatArray], FloatArray]
# "classes": within y_true's classes; "none": unstratified; an array: one stratum label per row;
# None: by class when y_true has at most 20 distinct values, else unstratified.
StrataOption = Literal["classes", "none"] | npt.ArrayLike | None
# "BCa": BCa where it is stable, else percentile; "percentile": always percentile.
IntervalMethod = Literal["BCa", "percentile"]

DEFAULT_RESAMPLES = 2000
MIN_RESAMPLES = 100
MAX_RESAMPLES = 10_000
AUTO_STRATA_MAX_CLASSES = 20
MAX_STRATA = 100
MAX_SKIPPED_SHARE = 0.05

_ROW_DRAWS = 2**20  # resamples x rows up to which rows are drawn one by one
_GENERIC_ROWS = 2_000  # a generic metric's resamples draw from at most this many rows
_JACKKNIFE_GROUPS = 200  # a generic metric's jackknife: leave-one-out up to this many rows
_EXACT_DISTINCT = 16  # a stratum's rows with at most this many distinct values: one bin each
_SMALL_CELL = 64  # ... and so are the rows of a stratum this small
_TAIL = 0.05  # rank bins: the share of rows in each tail,
_TAIL_RATIO = 4  # split into bins each this many times smaller than the last, down to one row;
_MIDDLE_BINS = 4  # the middle in this many equal-count bins
_EDGE_SAMPLE = 8192  # rows of a strided sample that bin edges are read from,
_SAMPLED_TAIL_ROWS = 8  # where it has at least this many rows beyond the edge
_BCA_MIN_TAIL = 10  # resamples that must lie beyond each BCa end
_JACKKNIFE_CHUNK = 2**20  # values per leave-one-out chunk


# --- metrics computed from totals ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TotalsMetric:
    """A metric that is a function of totals over rows, so a resample needs no metric call.

    `columns(y_true, *arrays)` gives K numbers per row (n x K); a resample's totals are their
    sums over its rows, each row times its weight, with the sum of weights; `from_totals(T, W)`
    turns totals (..., K) and weight sums (...) into the metric, vectorised. `key(columns)` is
    what rows are binned by at large n (default: the first column); `discrete` says the key
    takes a few whole values (accuracy, F1's confusion cell), so two models' keys combine into
    one code."""

    name: str
    columns: Callable[..., FloatArray]
    from_totals: Statistic
    key: Callable[[FloatArray], FloatArray] | None = None
    discrete: bool = False

    def __call__(
        self, y_true: npt.ArrayLike, *arrays: npt.ArrayLike, sample_weight: Any = None
    ) -> float:
        columns = self.columns(np.asarray(y_true), *(np.asarray(a) for a in arrays))
        weights = _checked_weights(sample_weight, len(columns))
        if weights is None:
            totals, weight_total = columns.sum(axis=0), np.asarray(float(len(columns)))
        else:
            totals = (columns * weights[:, None]).sum(axis=0)
            weight_total = np.asarray(weights.sum())
        return float(self.from_totals(totals, weight_total))

    def row_key(self, columns: FloatArray) -> FloatArray:
        return columns[:, 0] if self.key is None else self.key(columns)


def _mean(totals: FloatArray, weight: FloatArray) -> FloatArray:
    return np.asarray(totals[..., 0] / weight)


def _root_mean(totals: FloatArray, weight: FloatArray) -> FloatArray:
    return np.asarray(np.sqrt(totals[..., 0] / weight))


def _one_minus_mean(totals: FloatArray, weight: FloatArray) -> FloatArray:
    return np.asarray(1 - totals[..., 0] / weight)


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    # scikit-learn's zero_division default: an undefined ratio scores 0
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.asarray(np.where(denominator > 0, numerator / safe, 0.0))


def _precision(totals: FloatArray, weight: FloatArray) -> FloatArray:
    tp, fp = totals[..., 0], totals[..., 1]
    return _ratio(tp, tp + fp)


def _recall(totals: FloatArray, weight: FloatArray) -> FloatArray:
    tp, fn = totals[..., 0], totals[..., 2]
    return _ratio(tp, tp + fn)


def _f1(totals: FloatArray, weight: FloatArray) -> FloatArray:
    tp, fp, fn = totals[..., 0], totals[..., 1], totals[..., 2]
    return _ratio(2 * tp, (tp + fn) + (tp + fp))


def _r2(totals: FloatArray, weight: FloatArray) -> FloatArray:
    squared_error, centred, centred_squared = totals[..., 0], totals[..., 1], totals[..., 2]
    total_sum_of_squares = centred_squared - centred * centred / weight
    # A constant y_true (up to rounding) scores as scikit-learn's force_finite does: 1 if the
    # predictions are exact, else 0.
    constant = total_sum_of_squares <= 1e-12 * np.maximum(centred_squared, 1e-300)
    safe = np.where(constant, 1.0, total_sum_of_squares)
    fitted = 1 - squared_error / safe
    return np.asarray(np.where(constant, np.where(squared_error == 0, 1.0, 0.0), fitted))


def _r2_gain(totals: FloatArray, weight: FloatArray) -> FloatArray:
    """R²(a) - R²(b) from the totals of SSE(a) - SSE(b) and y_true's two terms."""
    error_difference, centred, centred_squared = totals[..., 0], totals[..., 1], totals[..., 2]
    total_sum_of_squares = centred_squared - centred * centred / weight
    return np.asarray(-error_difference / total_sum_of_squares)


def _balanced_accuracy(totals: FloatArray, weight: FloatArray) -> FloatArray:
    in_class, correct = totals[..., 0::2], totals[..., 1::2]
    present = in_class > 0
    recall = np.where(present, correct / np.where(present, in_class, 1.0), 0.0)
    return np.asarray(recall.sum(axis=-1) / present.sum(axis=-1))


def _one_column(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1, 1)


def _table(*columns: npt.NDArray[Any]) -> FloatArray:
    """Per-row columns as an n x K table stored column by column (each column contiguous)."""
    table = np.empty((len(columns[0]), len(columns)), dtype=np.float64, order="F")
    for k, column in enumerate(columns):
        table[:, k] = column
    return table


def _same_rows(y_true: npt.NDArray[Any], other: npt.NDArray[Any]) -> None:
    if y_true.ndim != 1 or other.shape[:1] != y_true.shape:
        raise ValueError("one label and one prediction per row expected")


def _accuracy_columns(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> FloatArray:
    _same_rows(y_true, y_pred)
    if y_pred.ndim != 1 or (y_pred.dtype.kind == "f" and not np.all(y_pred == np.round(y_pred))):
        raise ValueError("accuracy needs predicted labels, not scores")
    return _one_column(y_true == y_pred)


def _binary_labels(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if values.ndim != 1 or values.dtype.kind not in "biuf":
        raise ValueError("binary 0/1 labels expected")
    positive = np.asarray(values == 1)
    if not bool((positive | (values == 0)).all()):
        raise ValueError("binary 0/1 labels expected")
    return positive


def _confusion_columns(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> FloatArray:
    _same_rows(y_true, y_pred)
    actual, predicted = _binary_labels(y_true), _binary_labels(y_pred)
    return _table(actual & predicted, ~actual & predicted, actual & ~predicted)


def _confusion_key(columns: FloatArray) -> FloatArray:
    return np.asarray(columns[:, 0] + 2 * columns[:, 1] + 4 * columns[:, 2])


def _balanced_accuracy_columns(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> FloatArray:
    _same_rows(y_true, y_pred)
    classes, codes = _class_codes(y_true)
    correct = y_true == y_pred
    columns = np.zeros((len(y_true), 2 * len(classes)), order="F")
    rows = np.arange(len(y_true))
    columns[rows, 2 * codes] = 1.0
    columns[rows, 2 * codes + 1] = correct
    return columns


def _balanced_accuracy_key(columns: FloatArray) -> FloatArray:
    in_class = columns[:, 0::2]
    return np.asarray(2 * np.argmax(in_class, axis=1) + columns[:, 1::2].sum(axis=1))


def _regression_pair(
    y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]
) -> tuple[FloatArray, FloatArray]:
    _same_rows(y_true, y_pred)
    if y_pred.ndim != 1:
        raise ValueError("one prediction per row expected")
    truth, predicted = y_true.astype(np.float64), y_pred.astype(np.float64)
    if not (np.isfinite(truth).all() and np.isfinite(predicted).all()):
        raise ValueError("values must be finite")
    return truth, predicted


def _squared_error_columns(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> FloatArray:
    truth, predicted = _regression_pair(y_true, y_pred)
    return _one_column((truth - predicted) ** 2)


def _absolute_error_columns(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> FloatArray:
    truth, predicted = _regression_pair(y_true, y_pred)
    return _one_column(np.abs(predicted - truth))


def _r2_columns(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> FloatArray:
    truth, predicted = _regression_pair(y_true, y_pred)
    centred = truth - truth.mean()  # any shift leaves R² unchanged; this one keeps it exact
    return _table((truth - predicted) ** 2, centred, centred * centred)


def _probabilities(y_true: npt.NDArray[Any], y_prob: npt.NDArray[Any]) -> FloatArray:
    _same_rows(y_true, y_prob)
    if y_prob.dtype.kind not in "fiub" or y_prob.ndim not in (1, 2):
        raise ValueError("probabilities expected")
    probabilities = np.asarray(y_prob, dtype=np.float64)
    # NaN fails both comparisons, infinities one: a single pass each
    if not (probabilities.min() >= 0 and probabilities.max() <= 1):
        raise ValueError("probabilities must lie in [0, 1]")
    return probabilities


def _one_hot(y_true: npt.NDArray[Any], n_columns: int) -> FloatArray:
    classes, codes = _class_codes(y_true)
    if len(classes) != n_columns:
        raise ValueError("y_true's classes do not match the probability columns")
    one_hot = np.zeros((len(y_true), n_columns))
    one_hot[np.arange(len(y_true)), codes] = 1.0
    return one_hot


def _positive_of_binary(y_true: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    classes, codes = _class_codes(y_true)
    if classes.dtype.kind not in "biuf" or len(classes) > 2:
        raise ValueError("binary numeric labels expected")
    # scikit-learn's Brier score: 1 is positive for {0, 1} and {-1, 1}, else the greater label
    positive = 1 if set(classes.tolist()) <= {0, 1} or set(classes.tolist()) <= {-1, 1} else None
    if positive is None:
        return np.asarray(codes == len(classes) - 1)
    return np.asarray(y_true == positive)


def _brier_columns(y_true: npt.NDArray[Any], y_prob: npt.NDArray[Any]) -> FloatArray:
    probabilities = _probabilities(y_true, y_prob)
    if probabilities.ndim == 1 or probabilities.shape[1] == 1:
        positive = _positive_of_binary(y_true).astype(np.float64)
        p = probabilities.reshape(-1)
        # scikit-learn sums over both columns [1 - p, p] and halves: the same arithmetic
        return _one_column(0.5 * (((1 - positive) - (1 - p)) ** 2 + (positive - p) ** 2))
    one_hot = _one_hot(y_true, probabilities.shape[1])
    squared = np.sum((one_hot - probabilities) ** 2, axis=1)
    return _one_column(0.5 * squared if probabilities.shape[1] < 3 else squared)


def _log_loss_columns(y_true: npt.NDArray[Any], y_prob: npt.NDArray[Any]) -> FloatArray:
    probabilities = _probabilities(y_true, y_prob)
    eps = np.finfo(np.float64).eps
    if probabilities.ndim == 1:
        classes, codes = _class_codes(y_true)
        if len(classes) != 2:
            raise ValueError("binary log loss needs both classes")
        # the probability of the greater class, clipped after 1 - p as scikit-learn does
        chosen = np.where(codes == 1, probabilities, 1 - probabilities)
    else:
        one_hot = _one_hot(y_true, probabilities.shape[1])
        chosen = probabilities[np.arange(len(y_true)), np.argmax(one_hot, axis=1)]
    return _one_column(-np.log(np.clip(chosen, eps, 1 - eps)))


def _mean_columns(values: npt.NDArray[Any]) -> FloatArray:
    if values.ndim != 1 or values.dtype.kind not in "biuf":
        raise ValueError("one number per row expected")
    column = _one_column(values)
    if not np.isfinite(column).all():
        raise ValueError("values must be finite")
    return column


TOTALS_METRICS: Mapping[str, TotalsMetric] = {
    metric.name: metric
    for metric in (
        TotalsMetric("accuracy_score", _accuracy_columns, _mean, discrete=True),
        TotalsMetric("zero_one_loss", _accuracy_columns, _one_minus_mean, discrete=True),
        TotalsMetric(
            "balanced_accuracy_score",
            _balanced_accuracy_columns,
            _balanced_accuracy,
            key=_balanced_accuracy_key,
            discrete=True,
        ),
        TotalsMetric("precision_score", _confusion_columns, _precision, _confusion_key, True),
        TotalsMetric("recall_score", _confusion_columns, _recall, _confusion_key, True),
        TotalsMetric("f1_score", _confusion_columns, _f1, _confusion_key, True),
        TotalsMetric("mean_squared_error", _squared_error_columns, _mean),
        TotalsMetric("root_mean_squared_error", _squared_error_columns, _root_mean),
        TotalsMetric("mean_absolute_error", _absolute_error_columns, _mean),
        TotalsMetric("r2_score", _r2_columns, _r2),
        TotalsMetric("brier_score_loss", _brier_columns, _mean),
        TotalsMetric("log_loss", _log_loss_columns, _mean),
        TotalsMetric("mean", _mean_columns, _mean),
    )
}


def totals_metric_for(metric: Callable[..., float]) -> TotalsMetric | None:
    """The `TotalsMetric` that computes `metric` from totals: itself, or the one named like a
    scikit-learn metric function (`sklearn.metrics.log_loss` -> "log_loss"), else None. Only the
    function itself is recognised, never a partial with options."""
    if isinstance(metric, TotalsMetric):
        return metric
    module = getattr(metric, "__module__", None) or ""
    name = getattr(metric, "__name__", None)
    if module.startswith("sklearn.metrics") and isinstance(name, str) and name != "mean":
        return TOTALS_METRICS.get(name)
    return None


# --- the public estimators -----------------------------------------------------------------------


def bootstrap_estimate(
    metric: Callable[..., float],
    y_true: npt.ArrayLike,
    *arrays: npt.ArrayLike,
    sample_weight: npt.ArrayLike | None = None,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    strata: StrataOption = None,
    method: IntervalMethod = "BCa",
) -> Estimate:
    """`metric(y_true, *arrays[, sample_weight=...])` on all rows, with a bootstrap interval.

    `metric` is any function like scikit-learn's metrics; one that is a `TotalsMetric`, or a
    scikit-learn metric `TOTALS_METRICS` names, is resampled without calling it per resample.
    `strata`: see `StrataOption`; `method`: see `IntervalMethod`. The interval's method says
    BCa or percentile, the resamples and the design; the module docstring gives the methods."""
    _check_method(method)
    problem = _Problem.build(y_true, arrays, sample_weight, strata, level, resamples)
    seeds = _Seeds(seed)
    verified = _verified_totals_metric(metric, problem, [problem.arrays])
    if verified is not None:
        totals, (columns,) = verified
        statistic = _MEAN_OF_ONE_COLUMN if totals.from_totals is _mean else None
        replicates = _totals_replicates(
            statistic or _per_cell(totals.from_totals),
            columns,
            totals.row_key(columns),
            None,
            problem.weights,
            problem.strata,
            problem.resamples,
            seeds,
        )
    else:
        replicates = _generic_replicates(metric, problem, [problem.arrays], seeds)
    interval, reason = _interval(replicates, level, problem.strata_description, method)
    return Estimate(replicates.value, problem.n, interval, reason)


def paired_bootstrap(
    metric: Callable[..., float],
    y_true: npt.ArrayLike,
    pred_a: npt.ArrayLike,
    pred_b: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    strata: StrataOption = None,
    method: IntervalMethod = "BCa",
) -> PairedComparison:
    """The difference metric(a) - metric(b) of two models scored on the same rows, with its
    interval from resamples shared by both models, and the two-sided p-value of "no
    difference" by inverting that interval (see the module docstring)."""
    _check_method(method)
    problem = _Problem.build(y_true, (pred_a, pred_b), sample_weight, strata, level, resamples)
    seeds = _Seeds(seed)
    pair = (problem.arrays[0],), (problem.arrays[1],)
    verified = _verified_totals_metric(metric, problem, list(pair))
    if verified is not None:
        totals, (columns_a, columns_b) = verified
        statistic, table, key = _paired_totals(totals, columns_a, columns_b)
        replicates = _totals_replicates(
            statistic,
            table,
            key,
            None,
            problem.weights,
            problem.strata,
            problem.resamples,
            seeds,
        )
    else:
        replicates = _generic_replicates(metric, problem, list(pair), seeds)
    interval, _ = _interval(replicates, level, problem.strata_description, method)
    p_value = None if interval is None else _inverted_p_value(replicates, interval)
    described = "paired bootstrap"
    if interval is not None:
        kind = "BCa" if interval.method.startswith("bootstrap BCa") else "percentile"
        described = f"paired bootstrap ({kind} interval; p-value by inverting it)"
    return PairedComparison(replicates.value, interval, p_value, described, problem.n)


def _paired_totals(
    totals: TotalsMetric, columns_a: FloatArray, columns_b: FloatArray
) -> tuple[Statistic, FloatArray, FloatArray]:
    """The statistic, columns and binning key of the difference a - b. A mean's difference is
    the mean of the per-row differences: one column (accuracy's then takes three values). Else
    both models' columns, a column the two share (R²'s y_true terms) kept once."""
    if totals.from_totals is _mean:
        return _MEAN_OF_ONE_COLUMN, columns_a - columns_b, columns_a[:, 0] - columns_b[:, 0]
    if totals.from_totals is _r2 and bool(np.any(columns_a[:, 1] != 0)):
        # R²(a) - R²(b) = (SSE(b) - SSE(a)) / SST: the squared errors' difference and y_true's
        # terms, three columns instead of four (y_true is not constant, so SST > 0)
        error_gap = columns_a[:, 0] - columns_b[:, 0]
        return _per_cell(_r2_gain), _table(error_gap, *columns_a.T[1:]), error_gap
    width = columns_a.shape[1]
    shared = [k for k in range(width) if np.array_equal(columns_a[:, k], columns_b[:, k])]
    own_b = [k for k in range(width) if k not in shared]
    table = _table(*columns_a.T, *(columns_b[:, k] for k in own_b))
    index_b = np.asarray([k if k in shared else width + own_b.index(k) for k in range(width)])
    key_a, key_b = totals.row_key(columns_a), totals.row_key(columns_b)
    if totals.discrete:  # whole-number keys: one code per pair of keys
        key = key_a * (max(float(key_b.max()), 0.0) + 1) + key_b
    else:
        key = key_a - key_b

    def difference(sums: FloatArray, weight: FloatArray) -> FloatArray:
        first = totals.from_totals(sums[..., 0, :width], weight[..., 0])
        second = totals.from_totals(sums[..., 0, index_b], weight[..., 0])
        return np.asarray(first - second)

    return difference, table, key


def bootstrap_totals(
    statistic: Statistic,
    columns: npt.ArrayLike,
    *,
    cells: npt.ArrayLike | None = None,
    key: npt.ArrayLike | None = None,
    sample_weight: npt.ArrayLike | None = None,
    strata: npt.ArrayLike | None = None,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    method: IntervalMethod = "BCa",
) -> Estimate:
    """A statistic of per-cell totals with its bootstrap interval, never resampling row by row
    above 2**20 resampled rows (see the module docstring).

    `columns` (n x K): each row's numbers; `cells` (n, whole numbers 0..C-1, default all 0):
    which total each row adds to; `statistic(T, W)` maps totals T (..., C, K) and weight sums
    W (..., C) to the statistic (...), vectorised. `key` (n): what rows are binned by at large n
    (default the first column); bins never straddle cells. `strata`: one stratum label per row,
    or None for unstratified resampling."""
    table = np.asarray(columns, dtype=np.float64)
    if table.ndim == 1:
        table = table.reshape(-1, 1)
    if table.ndim != 2 or len(table) == 0 or not np.isfinite(table).all():
        raise InvalidArgument("columns must be a non-empty table of finite numbers (n x K)")
    n = len(table)
    _check_level(level)
    _check_method(method)
    resample_count = _checked_resamples(resamples)
    weights = _checked_weights(sample_weight, n)
    cell_codes = None if cells is None else _checked_cells(cells, n)
    key_values = table[:, 0] if key is None else np.asarray(key, dtype=np.float64).reshape(-1)
    if len(key_values) != n or not np.isfinite(key_values).all():
        raise InvalidArgument("key must be one finite number per row")
    stratum_codes, description = (None, "") if strata is None else _given_strata(strata, n)
    replicates = _totals_replicates(
        statistic,
        table,
        key_values,
        cell_codes,
        weights,
        stratum_codes,
        resample_count,
        _Seeds(seed),
    )
    interval, reason = _interval(replicates, level, description, method)
    return Estimate(replicates.value, n, interval, reason)


# --- the inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Seeds:
    """Independent streams, so the resampled rows depend only on the seed and the strata."""

    seed: int

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise InvalidArgument(f"seed must be a whole number, not {self.seed!r}")
        if self.seed < 0:
            raise InvalidArgument(f"seed must be a whole number >= 0, not {self.seed!r}")

    def stream(self, purpose: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(int(self.seed), spawn_key=(purpose,)))


_RESAMPLING, _JACKKNIFE = 0, 2


@dataclass(frozen=True)
class _Problem:
    y_true: npt.NDArray[Any]
    arrays: tuple[npt.NDArray[Any], ...]
    weights: FloatArray | None
    strata: IntArray | None
    strata_description: str
    class_codes: IntArray | None  # y_true's classes, when it is a 1-D label column
    resamples: int

    @property
    def n(self) -> int:
        return len(self.y_true)

    @classmethod
    def build(
        cls,
        y_true: npt.ArrayLike,
        arrays: Sequence[npt.ArrayLike],
        sample_weight: npt.ArrayLike | None,
        strata: StrataOption,
        level: float,
        resamples: int,
    ) -> _Problem:
        _check_level(level)
        resample_count = _checked_resamples(resamples)
        truth = np.asarray(y_true)
        if truth.ndim == 0 or len(truth) == 0:
            raise InvalidArgument("y_true must hold at least one row")
        n = len(truth)
        values = tuple(np.asarray(a) for a in arrays)
        for position, array in enumerate(values):
            if array.ndim == 0 or len(array) != n:
                rows = len(array) if array.ndim else "no"
                raise InvalidArgument(f"array {position + 1} has {rows} rows, y_true has {n}")
        weights = _checked_weights(sample_weight, n)
        class_codes = _few_classes(truth)
        stratum_codes, description = _strata(strata, truth, class_codes)
        return cls(truth, values, weights, stratum_codes, description, class_codes, resample_count)


def _check_level(level: float) -> None:
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise InvalidArgument(f"level must be a number between 0 and 1 (exclusive), not {level!r}")


def _check_method(method: str) -> None:
    if method not in ("BCa", "percentile"):
        raise InvalidArgument(f'method must be "BCa" or "percentile", not {method!r}')


def _checked_resamples(resamples: int) -> int:
    try:
        if isinstance(resamples, bool):
            raise TypeError
        count = operator.index(resamples)
    except TypeError:
        raise InvalidArgument(f"resamples must be a whole number, not {resamples!r}") from None
    if not MIN_RESAMPLES <= count <= MAX_RESAMPLES:
        raise InvalidArgument(
            f"resamples must be between {MIN_RESAMPLES} and {MAX_RESAMPLES}, not {count}"
        )
    return count


def _checked_weights(sample_weight: Any, n: int) -> FloatArray | None:
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if len(weights) != n:
        raise InvalidArgument(f"sample_weight has {len(weights)} values for {n} rows")
    if not np.isfinite(weights).all() or weights.min() < 0 or weights.sum() <= 0:
        raise InvalidArgument("sample_weight must be finite, non-negative and not all zero")
    return weights


def _checked_cells(cells: npt.ArrayLike, n: int) -> IntArray:
    codes = np.asarray(cells)
    if codes.shape != (n,) or codes.dtype.kind not in "iu" or (n and codes.min() < 0):
        raise InvalidArgument("cells must be one whole number >= 0 per row")
    return codes.astype(np.intp)


def _class_codes(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], IntArray]:
    """The sorted distinct values and each row's index among them (O(n) for small whole
    numbers, which labels usually are)."""
    if values.dtype.kind == "b":
        values = values.astype(np.intp)
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low <= 1 << 20:
            shifted = values.astype(np.intp, copy=False) if low == 0 else values - low
            present = np.bincount(shifted, minlength=high - low + 1) > 0
            classes = np.flatnonzero(present) + low
            if present.all():  # the values are their own codes
                return classes.astype(values.dtype), shifted.astype(np.intp, copy=False)
            lookup = np.cumsum(present) - 1
            return classes.astype(values.dtype), lookup[shifted].astype(np.intp, copy=False)
    classes, codes = np.unique(values, return_inverse=True)
    return classes, codes.reshape(-1).astype(np.intp)


def _few_classes(y_true: npt.NDArray[Any]) -> IntArray | None:
    """Each row's class when y_true is a label column of at most MAX_STRATA values (a strided
    sample rules out a continuous target without sorting it)."""
    if y_true.ndim != 1:
        return None
    try:
        if len(np.unique(y_true[:: max(1, len(y_true) // _EDGE_SAMPLE)])) > MAX_STRATA:
            return None
        classes, codes = _class_codes(y_true)
    except TypeError:  # labels of mixed types that do not sort
        return None
    return codes if len(classes) <= MAX_STRATA else None


def _strata(
    strata: StrataOption, y_true: npt.NDArray[Any], class_codes: IntArray | None
) -> tuple[IntArray | None, str]:
    if isinstance(strata, str):
        if strata == "none":
            return None, ""
        if strata != "classes":
            raise InvalidArgument(
                f'strata must be "classes", "none", an array or None, not {strata!r}'
            )
        if class_codes is None:
            raise InvalidArgument(
                "strata='classes' needs one label per row in y_true, "
                f"of at most {MAX_STRATA} distinct values"
            )
        return _few_strata(class_codes, "stratified by class")
    if strata is None:
        if class_codes is not None and int(class_codes.max()) < AUTO_STRATA_MAX_CLASSES:
            return _few_strata(class_codes, "stratified by class")
        return None, ""
    return _given_strata(strata, len(y_true))


def _given_strata(strata: npt.ArrayLike, n: int) -> tuple[IntArray, str]:
    labels = np.asarray(strata)
    if labels.shape != (n,):
        raise InvalidArgument(f"strata must hold one label per row ({n}), not shape {labels.shape}")
    _, codes = _class_codes(labels)
    return _few_strata(codes, "stratified")


def _few_strata(codes: IntArray, description: str) -> tuple[IntArray, str]:
    count = int(codes.max()) + 1
    if count > MAX_STRATA:
        raise InvalidArgument(
            f"{count} strata: the bootstrap stratifies by at most {MAX_STRATA} (pass strata='none')"
        )
    return codes, description if count > 1 else ""


def _verified_totals_metric(
    metric: Callable[..., float],
    problem: _Problem,
    models: list[tuple[npt.NDArray[Any], ...]],
) -> tuple[TotalsMetric, list[FloatArray]] | None:
    """The metric's totals form and each model's columns, if it has one and accepts these
    inputs; inputs its columns do not model (multilabel, string labels for a binary score,
    ...) fall back to calling the metric, which then decides."""
    totals = totals_metric_for(metric)
    if totals is None:
        return None
    try:
        columns = [totals.columns(problem.y_true, *arrays) for arrays in models]
    except ValueError:
        return None
    if any(c.ndim != 2 or len(c) != problem.n or not np.isfinite(c).all() for c in columns):
        return None
    return totals, columns


def _call(
    metric: Callable[..., float],
    y_true: npt.NDArray[Any],
    arrays: Sequence[npt.NDArray[Any]],
    weights: FloatArray | None,
) -> float:
    if weights is None:
        return float(metric(y_true, *arrays))
    return float(metric(y_true, *arrays, sample_weight=weights))


# --- drawing resamples ---------------------------------------------------------------------------


def _compact(codes: IntArray) -> npt.NDArray[np.unsignedinteger[Any]]:
    """Codes in the smallest unsigned type, which numpy's stable sort handles by radix."""
    top = int(codes.max()) if len(codes) else 0
    dtype = np.uint8 if top < 1 << 8 else np.uint16 if top < 1 << 16 else np.uint64
    return codes.astype(dtype)


def _rows_by_stratum(codes: IntArray) -> list[IntArray]:
    count = int(codes.max()) + 1 if len(codes) else 0
    if count <= 16:  # a pass per stratum beats a sort
        return [np.flatnonzero(codes == code) for code in range(count)]
    order = np.argsort(_compact(codes), kind="stable")
    bounds = np.cumsum(np.bincount(codes))
    return [np.asarray(part, dtype=np.intp) for part in np.split(order, bounds[:-1])]


def _resample_rows(
    codes: IntArray | None, n: int, resamples: int, rng: np.random.Generator
) -> IntArray:
    """resamples x n row indices, drawn with replacement within each stratum."""
    if codes is None:
        return rng.integers(0, n, size=(resamples, n)).astype(np.intp)
    drawn = np.empty((resamples, n), dtype=np.intp)
    start = 0
    for rows in _rows_by_stratum(codes):
        size = len(rows)
        if size:
            drawn[:, start : start + size] = rows[rng.integers(0, size, size=(resamples, size))]
        start += size
    return drawn


def _subsample(codes: IntArray | None, n: int, size: int, rng: np.random.Generator) -> IntArray:
    """A seeded sample of about `size` rows without replacement, proportional within strata
    (at least two rows of each)."""
    if codes is None:
        return np.sort(rng.choice(n, size=size, replace=False)).astype(np.intp)
    chosen = []
    for rows in _rows_by_stratum(codes):
        take = max(min(len(rows), 2), round(size * len(rows) / n))
        chosen.append(rng.choice(rows, size=take, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.intp)


@dataclass(frozen=True)
class _Replicates:
    """The statistic on the data and on each scored resample, and what BCa needs."""

    value: float
    replicates: FloatArray  # NaN-free
    drawn: int
    acceleration: float | None  # None: no jackknife, so percentile only
    no_bca_reason: str | None
    design: str  # how the resamples were drawn, for the method string
    failure: str | None = None  # the first error a skipped resample raised


# --- metrics from totals -------------------------------------------------------------------------


def _mean_acceleration(values: FloatArray, weights: FloatArray | None) -> float | None:
    """The leave-one-out jackknife of a (weighted) mean in closed form: leaving row i out moves
    the mean by w_i (v_i - mean) / (W - w_i), so no statistic is evaluated per row."""
    if weights is None:  # the left-out means are mean + (mean - v_i) / (n - 1)
        return _acceleration(-values)
    total = weights.sum()
    mean = np.dot(weights, values) / total
    return _acceleration(weights * (mean - values) / (total - weights))


def _per_cell(from_totals: Statistic) -> Statistic:
    def statistic(totals: FloatArray, weight: FloatArray) -> FloatArray:
        return from_totals(totals[..., 0, :], weight[..., 0])

    return statistic


_MEAN_OF_ONE_COLUMN = _per_cell(_mean)  # known by identity: its jackknife has a closed form


def _totals_replicates(
    statistic: Statistic,
    columns: FloatArray,
    key: FloatArray,
    cells: IntArray | None,
    weights: FloatArray | None,
    strata: IntArray | None,
    resamples: int,
    seeds: _Seeds,
) -> _Replicates:
    n = len(columns)
    cell_count = 1 if cells is None else int(cells.max()) + 1
    columns = np.asfortranarray(columns)  # each column contiguous: the work is per column
    weighted = columns if weights is None else columns * weights[:, None]
    full_totals, full_weight = _cell_totals(weighted, weights, cells, cell_count)
    value = float(statistic(full_totals, full_weight))
    rng = seeds.stream(_RESAMPLING)
    jackknife = _JackknifeRows(weighted, weights, cells, None)
    mean_of_one_column = statistic is _MEAN_OF_ONE_COLUMN and columns.shape[1] == 1
    if n * resamples <= _ROW_DRAWS:
        rows = _resample_rows(strata, n, resamples, rng)
        totals, weight = _row_totals(weighted, weights, cells, cell_count, rows)
        design = ""
    else:
        binned = _binned_totals(weighted, weights, key, cells, cell_count, strata, resamples, rng)
        totals, weight, design = binned.totals, binned.weight, binned.design
        jackknife = binned.jackknife_rows(weighted, weights, cells)
    with np.errstate(all="ignore"):
        drawn = np.asarray(statistic(totals, weight), dtype=np.float64)
        if mean_of_one_column and jackknife.multiplicity is None:  # not bins of equal rows
            acceleration = _mean_acceleration(columns[:, 0], weights)
        else:
            acceleration = _totals_acceleration(statistic, jackknife, full_totals, full_weight)
    scored = drawn[np.isfinite(drawn)]
    return _Replicates(
        value,
        scored,
        resamples,
        acceleration,
        None if acceleration is not None else "the jackknife is undefined",
        design,
    )


@dataclass(frozen=True)
class _JackknifeRows:
    """The rows to leave out one at a time: all of them, or one per bin of equal rows counted
    `multiplicity` times (every row of such a bin leaves the same totals behind)."""

    weighted: FloatArray
    weights: FloatArray | None
    cells: IntArray | None
    multiplicity: FloatArray | None


@dataclass(frozen=True)
class _Binned:
    totals: FloatArray
    weight: FloatArray
    design: str
    bins: IntArray
    sizes: FloatArray
    means: FloatArray  # per bin: the weighted columns' mean, then the weight's when weighted
    spread: npt.NDArray[np.bool_]  # per bin: do its rows differ
    bin_cells: IntArray

    def jackknife_rows(
        self, weighted: FloatArray, weights: FloatArray | None, cells: IntArray | None
    ) -> _JackknifeRows:
        equal = np.flatnonzero(~self.spread & (self.sizes > 0))
        if self.sizes[equal].sum() < 0.5 * len(weighted):  # too few rows to save copying them
            return _JackknifeRows(weighted, weights, cells, None)
        differing = np.flatnonzero(self.spread[self.bins])
        width = weighted.shape[1]
        table = np.asfortranarray(np.vstack((self.means[equal, :width], weighted[differing])))
        row_weights = None
        if weights is not None:
            row_weights = np.concatenate((self.means[equal, width], weights[differing]))
        row_cells = (
            None if cells is None else np.concatenate((self.bin_cells[equal], cells[differing]))
        )
        multiplicity = np.concatenate((self.sizes[equal], np.ones(len(differing))))
        return _JackknifeRows(table, row_weights, row_cells, multiplicity)


def _cell_totals(
    weighted: FloatArray, weights: FloatArray | None, cells: IntArray | None, cell_count: int
) -> tuple[FloatArray, FloatArray]:
    row_weights = np.ones(len(weighted)) if weights is None else weights
    if cells is None:
        sums = [np.ascontiguousarray(weighted[:, k]).sum() for k in range(weighted.shape[1])]
        total_weight = float(len(weighted)) if weights is None else weights.sum()
        return np.asarray(sums)[None, :], np.asarray([total_weight])
    totals = np.stack(
        [
            np.bincount(cells, weights=weighted[:, k], minlength=cell_count)
            for k in range(weighted.shape[1])
        ],
        axis=-1,
    ).astype(np.float64)
    weight = np.bincount(cells, weights=row_weights, minlength=cell_count).astype(np.float64)
    return totals, weight


def _row_totals(
    weighted: FloatArray,
    weights: FloatArray | None,
    cells: IntArray | None,
    cell_count: int,
    rows: IntArray,
) -> tuple[FloatArray, FloatArray]:
    resamples, n = rows.shape
    if cells is None:
        # Each column summed over each resample's rows in row order: the sums the metric itself
        # takes over the resampled rows.
        totals = np.stack(
            [
                np.ascontiguousarray(weighted[:, k])[rows].sum(axis=1)
                for k in range(weighted.shape[1])
            ],
            axis=-1,
        )[:, None, :]
        if weights is None:
            weight = np.full((resamples, 1), float(n))
        else:
            weight = weights[rows].sum(axis=1)[:, None]
        return totals, weight
    offsets = (np.arange(resamples, dtype=np.intp)[:, None] * n + rows).reshape(-1)
    counts = np.bincount(offsets, minlength=resamples * n).reshape(resamples, n).astype(float)
    membership = np.zeros((n, cell_count))
    membership[np.arange(n), cells] = 1.0
    row_weights = np.ones(n) if weights is None else weights
    spread = (membership[:, :, None] * weighted[:, None, :]).reshape(n, -1)
    totals = (counts @ spread).reshape(resamples, cell_count, weighted.shape[1])
    weight = counts @ (membership * row_weights[:, None])
    return totals, weight


def _binned_totals(
    weighted: FloatArray,
    weights: FloatArray | None,
    key: FloatArray,
    cells: IntArray | None,
    cell_count: int,
    strata: IntArray | None,
    resamples: int,
    rng: np.random.Generator,
) -> _Binned:
    n = len(weighted)
    if strata is None and cells is None:
        parts = [np.arange(n)]
    else:
        stratum = np.zeros(n, dtype=np.intp) if strata is None else strata
        cell = np.zeros(n, dtype=np.intp) if cells is None else cells
        parts = _rows_by_stratum(stratum * cell_count + cell)
    bins = np.empty(n, dtype=np.intp)
    bin_stratum: list[int] = []
    bin_cell: list[int] = []
    all_distinct = True  # every bin holds rows of one key value
    for part, rows in enumerate(parts):
        if not len(rows):
            continue
        local, count, distinct = _value_bins(key if len(parts) == 1 else key[rows])
        all_distinct = all_distinct and distinct
        if len(parts) == 1:
            bins = local
        else:
            bins[rows] = local + len(bin_stratum)
        bin_stratum.extend([part // cell_count] * count)
        bin_cell.extend([part % cell_count] * count)
    bin_count = len(bin_stratum)
    # What each bin adds to a resample: the weighted columns, and the weights when weighted.
    values = [np.ascontiguousarray(weighted[:, k]) for k in range(weighted.shape[1])]
    if weights is not None:
        values.append(weights)
    width = len(values)
    sizes = np.bincount(bins, minlength=bin_count).astype(np.float64)
    occupied = np.where(sizes > 0, sizes, 1.0)  # a rank bin can be empty: it adds nothing
    means = np.stack([np.bincount(bins, v, bin_count) / occupied for v in values], axis=1)
    covariance = np.zeros((bin_count, width, width))
    # Bins of one key value, the key being the only column: equal rows, nothing to spread.
    key_is_the_column = all_distinct and width == 1 and np.array_equal(key, values[0])
    if not key_is_the_column:
        deviations = [v - means[bins, k] for k, v in enumerate(values)]
        for i in range(width):
            for j in range(i, width):
                products = np.bincount(bins, deviations[i] * deviations[j], bin_count)
                covariance[:, i, j] = covariance[:, j, i] = products / occupied
    # A bin of equal rows has no spread: its variances are zero but for the rounding of its
    # mean (~1e-32 relative), far under this tolerance; it is drawn exactly, without noise.
    tolerance = (1e-9 * np.abs(means)) ** 2  # per bin and column
    spread = np.asarray((np.diagonal(covariance, axis1=1, axis2=2) > tolerance).any(axis=1))
    # Rows per bin: multinomial within each stratum, as row resampling distributes them.
    drawn = np.zeros((resamples, bin_count))
    strata_of_bins = np.asarray(bin_stratum)
    for s in np.unique(strata_of_bins):
        members = np.flatnonzero(strata_of_bins == s)
        total = int(sizes[members].sum())
        drawn[:, members] = rng.multinomial(total, sizes[members] / total, size=resamples)
    bin_cells = np.asarray(bin_cell, dtype=np.intp)
    membership = np.zeros((bin_count, cell_count))
    membership[np.arange(bin_count), bin_cells] = 1.0
    # Each bin's rows add their count times the bin's mean, to the bin's cell ...
    per_cell_means = (membership[:, :, None] * means[:, None, :]).reshape(bin_count, -1)
    cell_sums = (drawn @ per_cell_means).reshape(resamples, cell_count, width)
    # ... plus, for a bin whose rows differ, normal noise with its covariance times that count.
    if spread.any():
        spreading = np.flatnonzero(spread)
        root_counts = np.sqrt(np.ascontiguousarray(drawn[:, spreading].T))  # bins x resamples
        if width == 1:
            deviation = np.sqrt(covariance[spreading, 0, 0])
            noise = rng.standard_normal((len(spreading), resamples))
            noise *= deviation[:, None] * root_counts
            cell_sums[:, :, 0] += (membership[spreading].T @ noise).T
        else:
            eigenvalues, eigenvectors = np.linalg.eigh(covariance[spreading])
            roots = eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))[:, None, :]
            normal = rng.standard_normal((len(spreading), resamples, width))
            noise = np.matmul(normal, roots.transpose(0, 2, 1))
            noise *= root_counts[:, :, None]
            by_cell = np.tensordot(membership[spreading], noise, axes=([0], [0]))
            cell_sums += by_cell.transpose(1, 0, 2)
    if weights is None:
        totals, weight = cell_sums, drawn @ membership
    else:
        totals, weight = cell_sums[..., :-1], cell_sums[..., -1]
    occupied_bins = int(np.count_nonzero(sizes))
    design = (
        f"drawn by distinct values ({occupied_bins} cells, exact)"
        if not spread.any()
        else f"drawn by {occupied_bins} value bins (multinomial counts, normal sums within bins)"
    )
    return _Binned(totals, weight, design, bins, sizes, means, spread, bin_cells)


def _value_bins(key: FloatArray) -> tuple[IntArray, int, bool]:
    """Each row's bin within one stratum, the number of bins, and whether each bin is one key
    value. The bins are the key's values when the stratum has few distinct values (or few
    rows), else rank bins: 4 equal-count bins over the middle 90% and, in each tail, bins of
    5%, 5/4%, 5/16%, ... of the rows down to the single extreme row, so the extreme rows,
    which carry the skewness, are drawn exactly. Edges come from a strided sample of the keys
    where it resolves them, and from the extreme rows themselves beyond."""
    rows = len(key)
    step = max(1, rows // _EDGE_SAMPLE)
    sample = np.sort(key[::step])
    distinct = sample[np.concatenate(([True], sample[1:] != sample[:-1]))]
    if len(distinct) <= (_SMALL_CELL if rows <= _SMALL_CELL else _EXACT_DISTINCT):
        position = np.minimum(np.searchsorted(distinct, key), len(distinct) - 1)
        if bool((distinct[position] == key).all()):
            return position, len(distinct), True
    size = len(sample)
    middle = np.linspace(_TAIL, 1 - _TAIL, _MIDDLE_BINS + 1)[1:-1]
    edges = [float(sample[round(size * share)]) for share in middle]
    middle_low = middle_high = math.nan  # the edges of the middle 90%
    # rows in each tail bin, from the widest in to the single extreme row
    counts, count = [], math.floor(_TAIL * rows)
    while count > 1:
        counts.append(count)
        count //= _TAIL_RATIO
    counts.append(1)
    deep_counts, deepest_sampled = [], 0
    for count in counts:
        taken = count // step  # the sample's rows beyond the edge
        if step == 1 or taken >= _SAMPLED_TAIL_ROWS:
            edges += [float(sample[taken]), float(sample[size - taken])]
            deepest_sampled = taken
            if math.isnan(middle_low):
                middle_low, middle_high = float(sample[taken]), float(sample[size - taken])
        else:
            deep_counts.append(count)
    if deep_counts:
        # The rows beyond the deepest sampled edges, sorted: their ranks from each end are exact.
        lowest = np.sort(key[key < sample[deepest_sampled]])
        highest = np.sort(key[key >= sample[size - deepest_sampled]])[::-1]
        for count in deep_counts:
            if count < len(lowest):
                edges.append(float(lowest[count]))
            if count <= len(highest):
                edges.append(float(highest[count - 1]))
    boundaries = np.unique(np.asarray(edges, dtype=np.float64))
    # A bin holds the rows from one edge (inclusive) up to the next. Every edge is some row's
    # value, so only the bin below the first edge can be empty.
    return _bin_positions(key, boundaries, middle_low, middle_high), len(boundaries) + 1, False


def _bin_positions(
    key: FloatArray, boundaries: FloatArray, middle_low: float, middle_high: float
) -> IntArray:
    """searchsorted(boundaries, key, "right"), the middle 90% of the rows placed by comparing
    them with the few edges between `middle_low` and `middle_high` (a binary search per row
    mispredicts its branches), the tails by binary search."""
    if not middle_low < middle_high or len(key) < _EDGE_SAMPLE:
        return np.searchsorted(boundaries, key, side="right")
    inner = boundaries[(boundaries > middle_low) & (boundaries < middle_high)]
    position = np.full(len(key), np.searchsorted(boundaries, middle_low, side="right"))
    for edge in inner:
        position += key >= edge
    tails = np.flatnonzero((key < middle_low) | (key >= middle_high))
    position[tails] = np.searchsorted(boundaries, key[tails], side="right")
    return position


def _totals_acceleration(
    statistic: Statistic, rows: _JackknifeRows, full_totals: FloatArray, full_weight: FloatArray
) -> float | None:
    """BCa's acceleration from the exact leave-one-out jackknife of the totals."""
    n, width = rows.weighted.shape
    if rows.cells is None:
        totals = (full_totals[0] - rows.weighted)[:, None, :]
        if rows.weights is None:  # every row weighs 1: the same weight left after any row
            weight = np.broadcast_to(full_weight - 1.0, (n, 1))
        else:
            weight = (full_weight[0] - rows.weights)[:, None]
        left_out = np.asarray(statistic(totals, weight), dtype=np.float64)
        return _acceleration(left_out, rows.multiplicity)
    row_weights = np.ones(n) if rows.weights is None else rows.weights
    cell_count = full_totals.shape[0]
    chunk = max(1, _JACKKNIFE_CHUNK // (cell_count * width))
    left_out = np.empty(n)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        totals = np.broadcast_to(full_totals, (stop - start, cell_count, width)).copy()
        weight = np.broadcast_to(full_weight, (stop - start, cell_count)).copy()
        positions = np.arange(stop - start)
        totals[positions, rows.cells[start:stop]] -= rows.weighted[start:stop]
        weight[positions, rows.cells[start:stop]] -= row_weights[start:stop]
        left_out[start:stop] = statistic(totals, weight)
    return _acceleration(left_out, rows.multiplicity)


def _acceleration(left_out: FloatArray, multiplicity: FloatArray | None = None) -> float | None:
    """(1/6) sum u^3 / (sum u^2)^(3/2), u the jackknife influences (Efron 1987, eq. 6.6)."""
    count = len(left_out) if multiplicity is None else float(multiplicity.sum())
    if count < 3 or not np.isfinite(left_out).all():
        return None
    mean = left_out.mean() if multiplicity is None else np.dot(multiplicity, left_out) / count
    influence = mean - left_out
    counted = influence if multiplicity is None else influence * multiplicity
    spread = float(np.dot(counted, influence))
    if spread <= 0:
        return None
    return float(np.dot(counted, influence * influence) / (6 * spread**1.5))


# --- metrics called per resample -----------------------------------------------------------------


def _generic_replicates(
    metric: Callable[..., float],
    problem: _Problem,
    models: list[tuple[npt.NDArray[Any], ...]],
    seeds: _Seeds,
) -> _Replicates:
    """One model's metric, or the difference of two models' (`models` holds each one's arrays)."""
    n = problem.n

    def evaluate(rows: IntArray | None) -> float:
        truth = problem.y_true if rows is None else problem.y_true[rows]
        weights = (
            problem.weights if rows is None or problem.weights is None else problem.weights[rows]
        )
        scores = [
            _call(metric, truth, [a if rows is None else a[rows] for a in arrays], weights)
            for arrays in models
        ]
        return scores[0] if len(scores) == 1 else scores[0] - scores[1]

    value = evaluate(None)  # the user's metric on the user's data: its errors are the user's
    rng = seeds.stream(_RESAMPLING)
    base: IntArray | None = None
    scale, base_value, design = 1.0, value, ""
    if n > _GENERIC_ROWS:
        base = _subsample(problem.strata, n, _GENERIC_ROWS, rng)
        scale = math.sqrt(len(base) / n)
        design = f"of a {len(base)}-row subsample rescaled to {n} rows"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                base_value = evaluate(base)
        except Exception as error:
            return _Replicates(
                value, np.empty(0), problem.resamples, None, None, design, repr(error)
            )
    base_rows = np.arange(n, dtype=np.intp) if base is None else base
    base_strata = None if problem.strata is None else problem.strata[base_rows]
    rows = base_rows[_resample_rows(base_strata, len(base_rows), problem.resamples, rng)]
    drawn, failure = _scored(evaluate, rows)
    replicates = value + scale * (drawn - base_value)
    scored = replicates[np.isfinite(replicates)]
    no_bca: str | None
    if base is not None:
        acceleration, no_bca = None, "its corrections would be at the subsample's scale"
    else:
        acceleration = _generic_acceleration(evaluate, n, seeds.stream(_JACKKNIFE))
        no_bca = None if acceleration is not None else "the jackknife is undefined"
    return _Replicates(value, scored, problem.resamples, acceleration, no_bca, design, failure)


def _scored(evaluate: Callable[[IntArray], float], rows: IntArray) -> tuple[FloatArray, str | None]:
    drawn = np.full(len(rows), np.nan)
    failure = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index, resample in enumerate(rows):
            try:
                drawn[index] = evaluate(resample)
            except Exception as error:
                failure = failure or f"{type(error).__name__}: {error}"
    return drawn, failure


def _generic_acceleration(
    evaluate: Callable[[IntArray], float], n: int, rng: np.random.Generator
) -> float | None:
    """Leave-one-out up to 200 rows, else delete-d over 200 seeded random groups (the group
    influences sum the rows' influences, so the acceleration formula carries over)."""
    if n <= _JACKKNIFE_GROUPS:
        groups = [np.array([i]) for i in range(n)]
    else:
        groups = np.array_split(rng.permutation(n), _JACKKNIFE_GROUPS)
    everything = np.ones(n, dtype=bool)
    left_out = np.empty(len(groups))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index, group in enumerate(groups):
            keep = everything.copy()
            keep[group] = False
            try:
                left_out[index] = evaluate(np.flatnonzero(keep))
            except Exception:
                return None
    return _acceleration(left_out)


# --- intervals and p-values ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Bca:
    bias: float  # z0
    acceleration: float


def _interval(
    replicates: _Replicates, level: float, strata_description: str, method: IntervalMethod
) -> tuple[Interval | None, str | None]:
    if not math.isfinite(replicates.value):
        return None, "the metric is not a finite number on these rows, so it has no interval"
    drawn = replicates.drawn
    scored = len(replicates.replicates)
    skipped = drawn - scored
    if skipped > MAX_SKIPPED_SHARE * drawn:
        why = f": {replicates.failure}" if replicates.failure else ""
        return None, (
            f"{skipped} of {drawn} bootstrap resamples could not be scored (the metric raised "
            f"or returned NaN{why}); more than {MAX_SKIPPED_SHARE:.0%} skipped, so no interval"
        )
    details = [f"{drawn} resamples"]
    if replicates.design:
        details[0] += f" {replicates.design}"
    if strata_description:
        details.append(strata_description)
    if skipped:
        details.append(f"{skipped} degenerate resamples skipped")
    tail = (1 - level) / 2
    bca, no_bca = _bca(replicates, level) if method == "BCa" else (None, "")
    if bca is not None:
        low_level, high_level = _bca_levels(bca, tail)
        low, high = np.quantile(replicates.replicates, [low_level, high_level])
        described = "bootstrap BCa, " + ", ".join(details)
    else:
        low, high = np.quantile(replicates.replicates, [tail, 1 - tail])
        described = "bootstrap percentile, " + ", ".join(details)
        if method == "BCa":
            described += f" (BCa not used: {no_bca})"
    return Interval(float(low), float(high), level, described), None


def _bca(replicates: _Replicates, level: float) -> tuple[_Bca | None, str]:
    if replicates.acceleration is None:
        return None, replicates.no_bca_reason or "no jackknife"
    values, estimate = replicates.replicates, replicates.value
    below = (np.count_nonzero(values < estimate) + np.count_nonzero(values <= estimate)) / 2
    bias = float(ndtri(below / len(values)))
    if not math.isfinite(bias):
        return None, "every resample lies on one side of the estimate"
    bca = _Bca(bias, replicates.acceleration)
    tail = (1 - level) / 2
    for z in (float(ndtri(tail)), float(ndtri(1 - tail))):
        if 1 - bca.acceleration * (bca.bias + z) <= 0:
            return None, "the acceleration is too large for the level"
    low_level, high_level = _bca_levels(bca, tail)
    beyond = min(low_level, 1 - high_level) * len(values)
    if not beyond >= _BCA_MIN_TAIL:
        return None, f"its adjusted levels leave fewer than {_BCA_MIN_TAIL} resamples beyond an end"
    return bca, ""


def _bca_levels(bca: _Bca, tail: float) -> tuple[float, float]:
    def adjusted(z: float) -> float:
        shifted = bca.bias + z
        return float(ndtr(bca.bias + shifted / (1 - bca.acceleration * shifted)))

    return adjusted(float(ndtri(tail))), adjusted(float(ndtri(1 - tail)))


def _inverted_p_value(replicates: _Replicates, interval: Interval) -> float:
    """The smallest 1 - level at which the interval excludes 0."""
    values = replicates.replicates
    below = np.count_nonzero(values < 0) + 0.5 * np.count_nonzero(values == 0)
    share = float((below + 0.5) / (len(values) + 1))
    one_sided = share
    if interval.method.startswith("bootstrap BCa"):
        bca, _ = _bca(replicates, interval.level)
        if bca is not None:
            w = float(ndtri(share)) - bca.bias
            denominator = 1 + bca.acceleration * w
            if denominator > 0:
                one_sided = float(ndtr(w / denominator - bca.bias))
    return float(min(1.0, 2 * min(one_sided, 1 - one_sided)))
