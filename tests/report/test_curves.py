"""The curves of an evaluation: the figures equal scikit-learn's and the statistics room's, the
positive class is the review evidence's, and what cannot be drawn says why."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics

from nbmodelbook.record import Evaluation
from nbmodelbook.report.curves import CALIBRATION_BINS, curve_figures
from nbmodelbook.report.evidence import _positive_of
from nbmodelbook.stats.calibration import expected_calibration_error
from nbmodelbook.stats.curves import MAX_POINTS


def _classifier(n: int, seed: int, labels: Any = (0, 1)) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2.0, 3.0, n)
    positive = rng.random(n) < p**1.2
    return np.where(positive, labels[1], labels[0]), p


def test_binary_figures_equal_scikit_learn_and_the_calibration_functions() -> None:
    y, p = _classifier(20_000, 1)
    evaluation = Evaluation("roc_auc_score", "auc", 0.0, y, y_score=p, n_total=50_000)
    figures = curve_figures(evaluation, level=0.9, seed=4)
    assert figures is not None and figures.kind == "binary" and figures.reason is None
    assert figures.roc is not None and figures.precision_recall is not None
    assert figures.roc.auc == metrics.roc_auc_score(y, p)
    assert figures.precision_recall.average_precision == metrics.average_precision_score(y, p)
    assert figures.precision_recall.prevalence == pytest.approx(y.mean(), rel=1e-12)
    assert len(figures.roc.fpr) <= MAX_POINTS and len(figures.precision_recall.recall) <= MAX_POINTS
    assert figures.sampled and figures.n == 20_000 and figures.n_total == 50_000
    calibration = figures.calibration
    assert calibration is not None and calibration.bin_count == CALIBRATION_BINS
    assert calibration.ece == expected_calibration_error(
        y, p, bins=CALIBRATION_BINS, strategy="uniform", level=0.9, seed=4
    )
    assert calibration.ece.interval is not None and calibration.ece.interval.level == 0.9
    assert calibration.ece.interval.method.startswith("bootstrap")
    # the ECE is the diagram's gaps weighted by rows: the bins and the number agree
    gaps = sum(b.count * abs(b.observed_rate - b.mean_predicted) for b in calibration.bins)
    assert calibration.ece.value == pytest.approx(gaps / len(y), rel=1e-12)
    assert figures == curve_figures(evaluation, level=0.9, seed=4)  # deterministic


@pytest.mark.parametrize(
    ("labels", "options"),
    [
        (("ham", "spam"), {}),
        (("benign", "malignant"), {"pos_label": "benign"}),
        ((-1, 1), {}),
        ((2, 7), {}),
    ],
)
def test_the_positive_class_is_the_review_evidences(labels: Any, options: Any) -> None:
    y, p = _classifier(3000, 2, labels)
    evaluation = Evaluation("roc_auc_score", "auc", 0.0, y, y_score=p, options=options)
    figures = curve_figures(evaluation, level=0.95, seed=0)
    expected = _positive_of(evaluation)
    assert figures is not None and figures.roc is not None and expected is not None
    truth, pos_label, _ = expected
    assert figures.positive_label == str(pos_label)
    assert figures.roc.auc == pytest.approx(metrics.roc_auc_score(truth, p), rel=1e-15)


def test_predict_proba_columns_are_read_in_class_order() -> None:
    y, p = _classifier(2000, 3, ("no", "yes"))
    proba = np.column_stack([1 - p, p])  # columns of the sorted classes: "no", "yes"
    evaluation = Evaluation("log_loss", "log_loss", 0.5, y, y_score=proba)
    figures = curve_figures(evaluation, level=0.95, seed=0)
    assert figures is not None and figures.roc is not None
    assert figures.roc.auc == metrics.roc_auc_score(y == "yes", p)
    flipped = Evaluation(
        "log_loss", "log_loss", 0.5, y, y_score=proba[:, ::-1], options={"labels": ["yes", "no"]}
    )
    again = curve_figures(flipped, level=0.95, seed=0)
    assert again is not None and again.roc == figures.roc


def test_weighted_rows_give_weighted_curves_and_no_unweighted_calibration() -> None:
    y, p = _classifier(4000, 5)
    weights = np.random.default_rng(6).exponential(size=4000)
    evaluation = Evaluation("roc_auc_score", "auc", 0.0, y, y_score=p, sample_weight=weights)
    figures = curve_figures(evaluation, level=0.95, seed=0)
    assert figures is not None and figures.roc is not None and figures.precision_recall is not None
    assert figures.roc.auc == metrics.roc_auc_score(y, p, sample_weight=weights)
    assert figures.precision_recall.prevalence == pytest.approx(
        weights[y == 1].sum() / weights.sum()
    )
    assert figures.calibration is None and figures.reason is not None
    assert "weighted" in figures.reason


def test_decision_scores_get_curves_but_no_reliability_diagram() -> None:
    y, p = _classifier(1000, 7)
    scores = np.log(p / (1 - p))  # a decision function's margins
    figures = curve_figures(
        Evaluation("roc_auc_score", "auc", 0.0, y, y_score=scores), level=0.95, seed=0
    )
    assert figures is not None and figures.roc is not None and figures.calibration is None
    assert figures.reason is not None and "not probabilities" in figures.reason


def test_one_class_keeps_what_can_be_drawn_and_says_what_cannot() -> None:
    rng = np.random.default_rng(8)
    figures = curve_figures(
        Evaluation("average_precision_score", "ap", 1.0, np.ones(50, int), y_score=rng.random(50)),
        level=0.95,
        seed=0,
    )
    assert figures is not None and figures.roc is None
    assert figures.precision_recall is not None and figures.precision_recall.prevalence == 1.0
    assert figures.reason is not None and "no ROC curve" in figures.reason


@pytest.mark.parametrize(
    ("evaluation", "phrase"),
    [
        (Evaluation("roc_auc_score", "auc", 0.5, [0, 1, 2], y_score=[0.1, 0.5, 0.9]), "binary"),
        (Evaluation("roc_auc_score", "auc", 0.5, [0, 1, 1], y_score=[0.1, 0.5]), "scores for"),
        (
            Evaluation("roc_auc_score", "auc", 0.5, [0, 1, 1], y_score=[0.1, np.nan, 0.3]),
            "finite",
        ),
        (
            Evaluation("roc_auc_score", "auc", 0.5, [0, 1], y_score=np.ones((2, 3)) / 3),
            "shape",
        ),
        (Evaluation("roc_auc_score", "auc", 0.5, [0, 1], y_score=["a", "b"]), "not numbers"),
    ],
)
def test_unusable_scores_give_a_reason_and_no_figures(evaluation: Evaluation, phrase: str) -> None:
    figures = curve_figures(evaluation, level=0.95, seed=0)
    assert figures is not None and figures.reason is not None and phrase in figures.reason
    assert figures.roc is None and figures.precision_recall is None and figures.calibration is None


def test_no_scores_and_no_regression_is_none() -> None:
    labels = Evaluation("accuracy_score", "accuracy", 0.5, [0, 1, 1], y_pred=[0, 1, 0])
    assert curve_figures(labels, level=0.95, seed=0) is None


def test_a_regression_gets_residuals_seeded_and_bounded() -> None:
    rng = np.random.default_rng(9)
    predicted = rng.normal(10, 3, 50_000)
    observed = predicted + rng.normal(size=50_000)
    evaluation = Evaluation("mean_squared_error", "mse", 1.0, observed, y_pred=predicted)
    figures = curve_figures(evaluation, level=0.95, seed=2)
    assert figures is not None and figures.kind == "regression" and figures.residuals is not None
    assert figures.roc is None and figures.reason is None
    assert len(figures.residuals.predicted) == MAX_POINTS and figures.residuals.n == 50_000
    assert figures == curve_figures(evaluation, level=0.95, seed=2)
    assert figures != curve_figures(evaluation, level=0.95, seed=3)
    logged = Evaluation("log_predictions", "rmse", 1.0, observed, y_pred=predicted)
    found = curve_figures(logged, level=0.95, seed=2)
    assert found is not None and found.residuals == figures.residuals


def test_labels_one_and_two_score_the_greater_class_as_roc_auc_score_does() -> None:
    from sklearn.metrics import roc_auc_score as sklearn_auc

    rng = np.random.default_rng(3)
    y = rng.integers(1, 3, 500)
    score = np.clip((y - 1) * 0.3 + rng.random(500) * 0.7, 0, 1)
    evaluation = Evaluation("roc_auc_score", "auc", float(sklearn_auc(y, score)), y, score)
    figures = curve_figures(evaluation, level=0.95, seed=0)
    assert figures is not None and figures.roc is not None
    assert figures.positive_label == "2"
    assert figures.roc.auc == pytest.approx(sklearn_auc(y, score), abs=1e-12)


@pytest.mark.parametrize(
    ("function", "metric"),
    [("brier_score_loss", "brier"), ("log_loss", "loss"), ("log_predictions", "test_auc")],
)
def test_scores_of_labels_one_and_two_are_the_greater_class_for_every_score_metric(
    function: str, metric: str
) -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(1, 3, 300)
    score = np.clip((y - 1) * 0.4 + rng.random(300) * 0.6, 0, 1)
    evaluation = Evaluation(function, metric, 0.5, y, score)
    figures = curve_figures(evaluation, level=0.95, seed=0)
    assert figures is not None and figures.positive_label == "2"
    assert figures.roc is not None and figures.roc.auc > 0.5
    positive = _positive_of(evaluation)
    assert positive is not None and positive[1] == 2  # the evidence reads it the same way
