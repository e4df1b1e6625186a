"""The curves of one evaluation, as numbers a renderer draws. Pure: no I/O.

    figures = curve_figures(evaluation, level=0.95, seed=0)

For a binary classifier's scores: the ROC curve with its AUC, the precision-recall curve with
its average precision and the prevalence of the positive class (the precision of random
ranking, the curve's baseline), and, when the scores are probabilities and the rows unweighted,
the reliability diagram's bins with the expected calibration error and its bootstrap interval,
both on the same ten equal-width bins (so the ECE is the diagram's gaps, weighted by rows). For
a regression's predictions: residuals against predictions. Every curve is drawn from at most
200 points; its area figures are the full curve's (see `nbmodelbook.stats.curves`).

The positive class is the review evidence's (`nbmodelbook.stats.positive`): the recorded
`pos_label`, else 1, else the last label in sorted order. Scores of shape (n, 2) are read as
`predict_proba`'s: the positive class's column, in the order of the recorded `labels` or else
the sorted classes. `curve_figures` is None when the evaluation kept no scores (and is not a
regression); when its scores cannot be drawn, or only some of the figures can, `reason` says
what is missing and why.

Deterministic: the ECE's bootstrap and the residual sample are seeded by `seed`. Bounded: one
O(n log n) sort for both curves, O(n) for the rest, the bootstrap bounded by stats.bootstrap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.metric_names import REGRESSION_METRIC_FUNCTIONS
from nbmodelbook.record import Evaluation
from nbmodelbook.stats.calibration import (
    ReliabilityBin,
    expected_calibration_error,
    reliability_bins,
)
from nbmodelbook.stats.curves import (
    PrecisionRecallPoints,
    ResidualPoints,
    RocPoints,
    binary_counts,
    precision_recall_points,
    residual_points,
    roc_points,
)
from nbmodelbook.stats.positive import binary_truth, scores_the_greater_class
from nbmodelbook.stats.results import Estimate

__all__ = [
    "CALIBRATION_BINS",
    "MAX_CURVE_ROWS",
    "CalibrationFigures",
    "CurveFigures",
    "curve_figures",
    "review_curves",
]

CALIBRATION_BINS: Final = 10
# Curves of larger evaluations are drawn from a seeded sample of this many rows: at 200 drawn
# points the picture does not change, and the work stays bounded (the figures in the tables,
# AUC and the rest, always use every row kept).
MAX_CURVE_ROWS: Final = 100_000
_MAX_LABELS: Final = 20  # a y_true with more distinct values than this is not a label column


@dataclass(frozen=True, slots=True)
class CalibrationFigures:
    """The reliability diagram's non-empty bins and the expected calibration error on the same
    `bins` equal-width bins, with its bootstrap interval (`ece.interval.method` says how)."""

    bins: tuple[ReliabilityBin, ...]
    ece: Estimate
    bin_count: int
    strategy: str


@dataclass(frozen=True, slots=True)
class CurveFigures:
    """Everything the curves of one evaluation need, numbers only. `kind` is "binary" (roc,
    precision_recall, calibration) or "regression" (residuals); a figure that could not be
    computed is None and `reason` says why. `n` rows were kept of `n_total` (a sample when
    fewer)."""

    metric: str
    function: str
    kind: str
    n: int
    n_total: int
    positive_label: str | None = None
    roc: RocPoints | None = None
    precision_recall: PrecisionRecallPoints | None = None
    calibration: CalibrationFigures | None = None
    residuals: ResidualPoints | None = None
    reason: str | None = None

    @property
    def sampled(self) -> bool:
        return self.n < self.n_total


def curve_figures(
    evaluation: Evaluation, *, level: float, seed: int, calibration: bool = True
) -> CurveFigures | None:
    """The curves of `evaluation` (see the module docstring); None when it kept no scores and
    is not a regression. `calibration=False` leaves out the reliability diagram (and its
    bootstrap), for a run that is only drawn beside the chosen one."""
    n = evaluation.n
    base = CurveFigures(
        metric=evaluation.metric,
        function=evaluation.function,
        kind="binary",
        n=n,
        n_total=max(n, evaluation.n_total),
    )
    if evaluation.y_score is None:
        if not _is_regression(evaluation):
            return None
        try:
            residuals = residual_points(
                evaluation.y_true,
                np.asarray(evaluation.y_pred),
                sample_weight=evaluation.sample_weight,
                seed=seed,
            )
        except (InvalidArgument, ValueError, TypeError) as error:
            return replace(base, kind="regression", reason=f"no residuals: {error}")
        return replace(base, kind="regression", residuals=residuals)
    # The scores are the greater class's for AUC, Brier and log loss (predict_proba's [:, 1]).
    truth = binary_truth(
        evaluation.y_true,
        evaluation.options.get("pos_label"),
        greater_is_positive=scores_the_greater_class(evaluation.function, evaluation.metric),
    )
    if truth is None:
        return replace(
            base,
            reason="y_true is not a binary label column (or pos_label is not one of its "
            "classes): ROC, precision-recall and reliability curves are drawn for binary "
            "classifiers",
        )
    score, why = _positive_scores(evaluation, truth.pos_label)
    if score is None:
        return replace(base, reason=why)
    reasons: list[str] = []
    roc: RocPoints | None = None
    precision_recall: PrecisionRecallPoints | None = None
    try:
        counts = binary_counts(truth.positive, score, evaluation.sample_weight)
    except (InvalidArgument, ValueError, TypeError) as error:
        return replace(base, reason=f"no curves: {error}")
    if counts.positives > 0 and counts.negatives > 0:
        roc = roc_points(counts)
    else:
        reasons.append("only one class in y_true: no ROC curve")
    if counts.positives > 0:
        precision_recall = precision_recall_points(counts)
    else:
        reasons.append("no positive rows: no precision-recall curve")
    reliability = None
    if calibration:
        reliability, why = _calibration(truth.positive, score, evaluation, level, seed)
        if why:
            reasons.append(why)
    return replace(
        base,
        positive_label=str(truth.pos_label),
        roc=roc,
        precision_recall=precision_recall,
        calibration=reliability,
        reason="; ".join(reasons) or None,
    )


def _positive_scores(
    evaluation: Evaluation, pos_label: Any
) -> tuple[npt.NDArray[np.float64] | None, str]:
    """The positive class's score per row, or None and why."""
    try:
        scores = np.asarray(evaluation.y_score, dtype=np.float64)
    except (ValueError, TypeError):
        return None, "the scores kept are not numbers: no curves"
    if scores.ndim == 2 and scores.shape[1] == 2:
        classes = evaluation.options.get("labels")
        if classes is None:
            classes = np.unique(np.asarray(evaluation.y_true))
        classes = list(np.asarray(classes).tolist())
        if len(classes) != 2 or pos_label not in classes:
            return None, "two columns of scores without two known classes: no curves"
        scores = scores[:, classes.index(pos_label)]
    if scores.ndim != 1:
        return None, (
            f"scores of shape {scores.shape}: curves are drawn from one score per row "
            "(or predict_proba's two columns)"
        )
    if len(scores) != evaluation.n:
        return None, f"{len(scores)} scores for {evaluation.n} rows: no curves"
    if not np.isfinite(scores).all():
        return None, "the scores kept are not all finite: no curves"
    return scores, ""


def _calibration(
    positive: npt.NDArray[np.bool_],
    score: npt.NDArray[np.float64],
    evaluation: Evaluation,
    level: float,
    seed: int,
) -> tuple[CalibrationFigures | None, str]:
    if evaluation.sample_weight is not None:
        return None, "weighted rows: the reliability diagram and ECE here are unweighted"
    if len(score) == 0 or score.min() < 0 or score.max() > 1:
        return None, "the scores are not probabilities in [0, 1]: no reliability diagram"
    labels = positive.view(np.uint8)  # 1 for the positive class, 0 for the other
    bins = reliability_bins(labels, score, bins=CALIBRATION_BINS, strategy="uniform", level=level)
    ece = expected_calibration_error(
        labels, score, bins=CALIBRATION_BINS, strategy="uniform", level=level, seed=seed
    )
    return CalibrationFigures(tuple(bins), ece, CALIBRATION_BINS, "uniform"), ""


def _is_regression(evaluation: Evaluation) -> bool:
    """Numeric predictions of a numeric target: a regression metric of scikit-learn's, or
    predictions that are not whole numbers against a target that is not a label column."""
    if evaluation.y_pred is None:
        return False
    y_true, y_pred = np.asarray(evaluation.y_true), np.asarray(evaluation.y_pred)
    if y_true.ndim != 1 or y_pred.shape != y_true.shape:
        return False
    if y_true.dtype.kind not in "iuf" or y_pred.dtype.kind not in "iuf":
        return False
    if evaluation.function in REGRESSION_METRIC_FUNCTIONS:
        return True
    if y_pred.dtype.kind != "f" or bool(np.all(np.mod(y_pred, 1) == 0)):
        return False
    return binary_truth(y_true) is None and len(np.unique(y_true)) > _MAX_LABELS


def review_curves(
    evaluations: Mapping[str, Evaluation | None],
    chosen_run_id: str | None,
    *,
    level: float,
    seed: int,
) -> dict[str, CurveFigures]:
    """Curves of each run's evaluation (run id -> the evaluation backing the decision's metric),
    the reliability diagram for the chosen run only, each from at most `MAX_CURVE_ROWS` rows."""
    found: dict[str, CurveFigures] = {}
    for run_id, evaluation in evaluations.items():
        if evaluation is None:
            continue
        figures = curve_figures(
            _bounded(evaluation, seed),
            level=level,
            seed=seed,
            calibration=run_id == chosen_run_id,
        )
        if figures is not None:
            found[run_id] = replace(figures, n_total=max(figures.n_total, evaluation.n_total))
    return found


def _bounded(evaluation: Evaluation, seed: int) -> Evaluation:
    """`evaluation` itself, or a seeded sample of `MAX_CURVE_ROWS` of its rows (in their order)."""
    n = evaluation.n
    if n <= MAX_CURVE_ROWS:
        return evaluation
    rows = np.sort(np.random.default_rng(seed).choice(n, size=MAX_CURVE_ROWS, replace=False))

    def take(values: Any) -> Any:
        return None if values is None else np.asarray(values)[rows]

    return replace(
        evaluation,
        y_true=take(evaluation.y_true),
        y_score=take(evaluation.y_score),
        y_pred=take(evaluation.y_pred),
        sample_weight=take(evaluation.sample_weight),
        segments={},
        n_total=max(n, evaluation.n_total),
    )
