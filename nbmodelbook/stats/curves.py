"""The curves behind a classifier's or a regressor's figures, full and down-sampled for drawing.

    counts = binary_counts(positive, scores, sample_weight)    # one sort, shared by both curves
    roc_curve(counts)                   # == sklearn.metrics.roc_curve(y, scores, ...)
    precision_recall_curve(counts)      # == sklearn.metrics.precision_recall_curve(...)
    average_precision(counts)           # == sklearn.metrics.average_precision_score(...)
    roc_points(counts)                  # at most 200 points to draw, with the full curve's AUC
    precision_recall_points(counts)     # the same for precision-recall, with the prevalence
    residual_points(y_true, y_pred)     # a seeded sample of residuals and their binned means

Methods.
- The full curves are scikit-learn's, operation for operation (so equal to the last bit): rows
  of zero weight dropped, scores sorted descending (stable), one point per distinct score with
  the cumulative weight of true and false positives above it (float64 sums). ROC starts at
  (0, 0) with the threshold +inf and by default drops the points collinear with their
  neighbours (`drop_intermediate`, as scikit-learn); precision-recall ends at recall 0,
  precision 1 (no threshold: +inf here). Average precision is the step integral
  sum (R_k - R_k-1) P_k, as `average_precision_score` (no interpolation). Cost: one O(n log n)
  sort, then O(n).
- Down-sampling keeps a subset of the curve's own vertices, so every point drawn is a real
  operating point with its threshold. First, the vertices on either side of 1,024 equally
  spaced positions along the curve's L1 arc length (for ROC that length is fpr + tpr, at most
  2): between two kept vertices either nothing is dropped or the curve travels at most 2/1,024
  within the box they span, so the area moves by at most 1/2,048 in all; and no stretch of the
  curve, however few rows make it, is skipped. Then Visvalingam-Whyatt (Visvalingam & Whyatt
  1993, "Line generalisation by repeated elimination of points", The Cartographic Journal
  30:46-51) removes, one at a time, the vertex whose triangle with its neighbours has the
  smallest area, until `max_points` remain: the corners, which carry the curve's shape and its
  area, stay; removing a vertex of a ROC curve changes the area under it by exactly that
  triangle's area. (Keeping only the convex hull would redraw a worse model as its hull and
  raise its area; sampling by arc length alone would cut corners.) The AUC and average
  precision reported are always the full curve's, never the drawing's.
- Residuals are observed minus predicted. The points drawn are a seeded sample without
  replacement (at most `max_points`, in row order); the binned means use every row (weighted
  when there are weights), in equal-count bins of the predictions (quantile edges; ties can
  leave a bin empty, and an empty bin is not reported).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nbmodelbook.errors import InvalidArgument

__all__ = [
    "MAX_POINTS",
    "BinaryCounts",
    "PrecisionRecallPoints",
    "ResidualBin",
    "ResidualPoints",
    "RocPoints",
    "average_precision",
    "binary_counts",
    "drawn_vertices",
    "precision_recall_curve",
    "precision_recall_points",
    "residual_points",
    "roc_curve",
    "roc_points",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

MAX_POINTS = 200  # points drawn per curve
_ARC_POSITIONS = 1024  # equally spaced positions along the arc whose neighbours are kept first
_MIN_POINTS = 3


@dataclass(frozen=True, slots=True, eq=False)
class BinaryCounts:
    """The weighted false and true positives above each distinct score, highest score first
    (scikit-learn's `confusion_matrix_at_thresholds`, fps and tps)."""

    fps: FloatArray
    tps: FloatArray
    thresholds: FloatArray

    @property
    def positives(self) -> float:
        return float(self.tps[-1])

    @property
    def negatives(self) -> float:
        return float(self.fps[-1])


@dataclass(frozen=True, slots=True)
class RocPoints:
    """A ROC curve to draw: at most `max_points` of its vertices in order of falling threshold
    (the first is (0, 0) at +inf), the full curve's AUC and how many vertices it had."""

    fpr: tuple[float, ...]
    tpr: tuple[float, ...]
    thresholds: tuple[float, ...]
    auc: float
    full_points: int


@dataclass(frozen=True, slots=True)
class PrecisionRecallPoints:
    """A precision-recall curve to draw, in scikit-learn's order (recall falling; the last
    point is recall 0, precision 1 at +inf), the full curve's average precision, and the
    weighted share of positives: the precision of a model that ranks at random (the baseline)."""

    recall: tuple[float, ...]
    precision: tuple[float, ...]
    thresholds: tuple[float, ...]
    average_precision: float
    prevalence: float
    full_points: int


@dataclass(frozen=True, slots=True)
class ResidualBin:
    """The rows whose prediction lies in [low, high]: their (weighted) mean prediction and
    mean residual."""

    low: float
    high: float
    count: int
    mean_predicted: float
    mean_residual: float


@dataclass(frozen=True, slots=True)
class ResidualPoints:
    """Residuals (observed - predicted) against predictions: a seeded sample of rows to draw
    and the binned means over all `n` rows."""

    predicted: tuple[float, ...]
    residual: tuple[float, ...]
    bins: tuple[ResidualBin, ...]
    n: int


# --- the full curves -----------------------------------------------------------------------------


def binary_counts(
    positive: npt.ArrayLike, score: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
) -> BinaryCounts:
    """False and true positives at each distinct score of `score` (higher means positive),
    `positive` saying which rows are of the positive class."""
    truth = np.asarray(positive)
    scores = np.asarray(score, dtype=np.float64)
    if truth.ndim != 1 or scores.ndim != 1 or len(truth) != len(scores):
        raise InvalidArgument(
            f"need one truth and one score per row: shapes {truth.shape} and {scores.shape}"
        )
    if truth.dtype.kind != "b":
        raise InvalidArgument("positive must say, per row, whether it is of the positive class")
    if not np.isfinite(scores).all():
        raise InvalidArgument("scores must be finite numbers")
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != scores.shape:
            raise InvalidArgument(f"sample_weight has shape {weights.shape}, not {scores.shape}")
        if not np.isfinite(weights).all() or bool((weights < 0).any()):
            raise InvalidArgument("sample weights must be finite and not negative")
        nonzero = weights != 0
        truth, scores, weights = truth[nonzero], scores[nonzero], weights[nonzero]
    if len(scores) == 0:
        raise InvalidArgument("no rows (of positive weight) to draw a curve from")
    # Descending. Unweighted, the sums are whole numbers, exact in any order within a tie; with
    # weights, ties keep their row order (a stable sort), so the sums are scikit-learn's bits.
    order = np.argsort(-scores, kind=None if weights is None else "stable")
    scores = scores[order]
    rows = truth[order].astype(np.float64)
    ends = np.concatenate((np.flatnonzero(np.diff(scores)), [len(scores) - 1]))
    if weights is None:
        tps = np.cumsum(rows * 1.0, dtype=np.float64)[ends]
        fps = 1 + ends.astype(np.float64) - tps
    else:
        weights = weights[order]
        tps = np.cumsum(rows * weights, dtype=np.float64)[ends]
        fps = np.cumsum((1 - rows) * weights, dtype=np.float64)[ends]
    return BinaryCounts(fps, tps, scores[ends])


def roc_curve(
    counts: BinaryCounts, *, drop_intermediate: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(fpr, tpr, thresholds), as `sklearn.metrics.roc_curve`; both classes are needed."""
    fps, tps, thresholds = counts.fps, counts.tps, counts.thresholds
    if fps[-1] <= 0 or tps[-1] <= 0:
        raise InvalidArgument("a ROC curve needs rows of both classes")
    if drop_intermediate and len(fps) > 2:
        corners = np.flatnonzero(
            np.concatenate(([True], np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), [True]))
        )
        fps, tps, thresholds = fps[corners], tps[corners], thresholds[corners]
    fps = np.concatenate(([0.0], fps))
    tps = np.concatenate(([0.0], tps))
    thresholds = np.concatenate(([np.inf], thresholds))
    return fps / fps[-1], tps / tps[-1], thresholds


def precision_recall_curve(
    counts: BinaryCounts, *, drop_intermediate: bool = False
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(precision, recall, thresholds), as `sklearn.metrics.precision_recall_curve`; positive
    rows are needed."""
    fps, tps, thresholds = counts.fps, counts.tps, counts.thresholds
    if tps[-1] <= 0:
        raise InvalidArgument("a precision-recall curve needs rows of the positive class")
    if drop_intermediate and len(fps) > 2:
        kept = np.flatnonzero(
            np.concatenate(([True], np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), [True]))
        )
        fps, tps, thresholds = fps[kept], tps[kept], thresholds[kept]
    predicted = tps + fps
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted != 0, np.divide(tps, predicted), 0.0)
    recall = tps / tps[-1]
    return (
        np.concatenate((precision[::-1], [1.0])),
        np.concatenate((recall[::-1], [0.0])),
        thresholds[::-1],
    )


def average_precision(counts: BinaryCounts) -> float:
    """The step integral of precision over recall, as `sklearn.metrics.average_precision_score`."""
    precision, recall, _ = precision_recall_curve(counts)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


# --- drawn curves --------------------------------------------------------------------------------


def roc_points(counts: BinaryCounts, *, max_points: int = MAX_POINTS) -> RocPoints:
    """The ROC curve reduced to at most `max_points` of its vertices (see the module
    docstring), with the AUC of the full curve (`roc_auc_score`'s trapezoids)."""
    _check_points(max_points)
    fpr, tpr, thresholds = roc_curve(counts)
    kept = drawn_vertices(fpr, tpr, max_points)
    return RocPoints(
        fpr=tuple(fpr[kept].tolist()),
        tpr=tuple(tpr[kept].tolist()),
        thresholds=tuple(thresholds[kept].tolist()),
        auc=float(np.trapezoid(tpr, fpr)),
        full_points=len(fpr),
    )


def precision_recall_points(
    counts: BinaryCounts, *, max_points: int = MAX_POINTS
) -> PrecisionRecallPoints:
    """The precision-recall curve reduced to at most `max_points` of its vertices, with the
    full curve's average precision and the prevalence of the positive class."""
    _check_points(max_points)
    precision, recall, thresholds = precision_recall_curve(counts, drop_intermediate=True)
    thresholds = np.concatenate((thresholds, [np.inf]))
    kept = drawn_vertices(recall, precision, max_points)
    return PrecisionRecallPoints(
        recall=tuple(recall[kept].tolist()),
        precision=tuple(precision[kept].tolist()),
        thresholds=tuple(thresholds[kept].tolist()),
        average_precision=average_precision(counts),
        prevalence=counts.positives / (counts.positives + counts.negatives),
        full_points=len(recall),
    )


def drawn_vertices(x: FloatArray, y: FloatArray, max_points: int = MAX_POINTS) -> IntArray:
    """Indices, in order, of at most `max_points` vertices of the polyline (x, y) that keep its
    shape: the neighbours of equally spaced arc-length positions, then Visvalingam-Whyatt (see
    the module docstring). The first and last vertices are always kept."""
    _check_points(max_points)
    count = len(x)
    if count <= max_points:
        return np.arange(count, dtype=np.intp)
    steps = np.abs(np.diff(x)) + np.abs(np.diff(y))
    arc = np.concatenate(([0.0], np.cumsum(steps)))
    if not arc[-1] > 0:
        return np.asarray([0, count - 1], dtype=np.intp)
    after = np.searchsorted(arc, np.linspace(0.0, arc[-1], _ARC_POSITIONS + 1), side="left")
    candidates = np.unique(
        np.clip(np.concatenate(([0, count - 1], after, after - 1)), 0, count - 1)
    )
    kept = _visvalingam_whyatt(x[candidates], y[candidates], max_points)
    return np.asarray(candidates[kept], dtype=np.intp)


def _visvalingam_whyatt(x: FloatArray, y: FloatArray, target: int) -> IntArray:
    """Indices of the `target` vertices left after removing, one at a time, the interior vertex
    whose triangle with its current neighbours has the smallest area (ties: the earlier one)."""
    count = len(x)
    if count <= target:
        return np.arange(count, dtype=np.intp)
    xs: list[float] = x.tolist()
    ys: list[float] = y.tolist()
    before = list(range(-1, count - 1))
    after = list(range(1, count + 1))

    def area(i: int) -> float:
        a, b = before[i], after[i]
        return abs((xs[i] - xs[a]) * (ys[b] - ys[a]) - (xs[b] - xs[a]) * (ys[i] - ys[a])) / 2

    current = [0.0] * count
    heap: list[tuple[float, int]] = []
    for i in range(1, count - 1):
        current[i] = area(i)
        heap.append((current[i], i))
    heapq.heapify(heap)
    removed = [False] * count
    left = count
    while left > target:
        size, i = heapq.heappop(heap)
        if removed[i] or size != current[i]:
            continue  # a stale entry: the vertex was removed or its triangle changed
        removed[i] = True
        left -= 1
        a, b = before[i], after[i]
        after[a], before[b] = b, a
        for j in (a, b):
            if 0 < j < count - 1:
                current[j] = area(j)
                heapq.heappush(heap, (current[j], j))
    return np.flatnonzero(~np.asarray(removed))


# --- regression ----------------------------------------------------------------------------------


def residual_points(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
    max_points: int = MAX_POINTS,
    bins: int = 20,
    seed: int = 0,
) -> ResidualPoints:
    """Residuals (y_true - y_pred) against y_pred: a seeded sample of at most `max_points` rows
    and the mean residual in up to `bins` equal-count bins of the predictions (all rows)."""
    _check_points(max_points)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise InvalidArgument(f"bins must be a whole number >= 1, not {bins!r}")
    observed = np.asarray(y_true, dtype=np.float64)
    predicted = np.asarray(y_pred, dtype=np.float64)
    if observed.ndim != 1 or observed.shape != predicted.shape or len(observed) == 0:
        raise InvalidArgument(
            f"need one observation and one prediction per row: {observed.shape}, {predicted.shape}"
        )
    if not (np.isfinite(observed).all() and np.isfinite(predicted).all()):
        raise InvalidArgument("observations and predictions must be finite numbers")
    weights = np.ones_like(observed)
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != observed.shape:
            raise InvalidArgument(f"sample_weight has shape {weights.shape}, not {observed.shape}")
        if not np.isfinite(weights).all() or bool((weights < 0).any()):
            raise InvalidArgument("sample weights must be finite and not negative")
    residual = observed - predicted
    n = len(residual)
    if n > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))
    else:
        rows = np.arange(n)
    edges = np.quantile(predicted, np.linspace(0.0, 1.0, bins + 1))
    bin_of_row = np.searchsorted(edges[1:-1], predicted)
    counts = np.bincount(bin_of_row, minlength=bins)
    weight = np.bincount(bin_of_row, weights=weights, minlength=bins)
    predicted_sums = np.bincount(bin_of_row, weights=weights * predicted, minlength=bins)
    residual_sums = np.bincount(bin_of_row, weights=weights * residual, minlength=bins)
    found = tuple(
        ResidualBin(
            low=float(edges[b]),
            high=float(edges[b + 1]),
            count=int(counts[b]),
            mean_predicted=float(predicted_sums[b] / weight[b]),
            mean_residual=float(residual_sums[b] / weight[b]),
        )
        for b in np.flatnonzero(weight > 0)
    )
    return ResidualPoints(
        predicted=tuple(predicted[rows].tolist()),
        residual=tuple(residual[rows].tolist()),
        bins=found,
        n=n,
    )


def _check_points(max_points: int) -> None:
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < _MIN_POINTS:
        raise InvalidArgument(f"max_points must be a whole number >= {_MIN_POINTS}")
