"""The baseline model and its metrics against scikit-learn's DummyClassifier(strategy="prior")
and DummyRegressor(strategy="mean") predictions fed to scikit-learn's metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier, DummyRegressor

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.baseline import BASELINE_METRICS, baseline_metric, baseline_predictions

rng = np.random.default_rng(0)
BINARY = rng.choice([0, 1], size=500, p=[0.7, 0.3])
BINARY_MAJORITY_POSITIVE = rng.choice([0, 1], size=500, p=[0.35, 0.65])
MULTICLASS = rng.choice(["ant", "bee", "cat"], size=600, p=[0.2, 0.5, 0.3])
REGRESSION = rng.gamma(2.0, 3.0, size=400)
WEIGHTS = {n: rng.uniform(0.2, 3.0, n) for n in (400, 500, 600)}


def _dummy_classifier(y: Any, weights: Any) -> DummyClassifier:
    return DummyClassifier(strategy="prior").fit(np.zeros((len(y), 1)), y, sample_weight=weights)


def _scores(model: DummyClassifier, y: Any) -> Any:
    probabilities = model.predict_proba(np.zeros((len(y), 1)))
    return probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities


# name, the scikit-learn metric, what it takes (scores or predicted labels), datasets
BINARY_CASES: list[tuple[str, Callable[..., float], str]] = [
    ("roc_auc", skm.roc_auc_score, "scores"),
    ("average_precision", skm.average_precision_score, "scores"),
    ("accuracy", skm.accuracy_score, "labels"),
    ("zero_one_loss", skm.zero_one_loss, "labels"),
    ("balanced_accuracy", skm.balanced_accuracy_score, "labels"),
    ("brier_score_loss", skm.brier_score_loss, "scores"),
    ("log_loss", skm.log_loss, "scores"),
    ("f1", skm.f1_score, "labels"),
    ("precision", skm.precision_score, "labels"),
    ("recall", skm.recall_score, "labels"),
]
MULTICLASS_CASES: list[tuple[str, Callable[..., float], str]] = [
    ("accuracy", skm.accuracy_score, "labels"),
    ("balanced_accuracy", skm.balanced_accuracy_score, "labels"),
    ("brier", skm.brier_score_loss, "scores"),
    ("log_loss", skm.log_loss, "scores"),
    (
        "roc_auc_score",
        lambda y, s, **kw: skm.roc_auc_score(y, s, multi_class="ovr", **kw),
        "scores",
    ),
]
REGRESSION_CASES: list[tuple[str, Callable[..., float]]] = [
    ("mse", skm.mean_squared_error),
    ("rmse", skm.root_mean_squared_error),
    ("mae", skm.mean_absolute_error),
    ("r2", skm.r2_score),
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("y", [BINARY, BINARY_MAJORITY_POSITIVE], ids=["minority+", "majority+"])
@pytest.mark.filterwarnings("ignore:Precision is ill-defined")
@pytest.mark.parametrize(
    ("name", "metric", "takes"), BINARY_CASES, ids=[c[0] for c in BINARY_CASES]
)
def test_binary_baselines_equal_the_dummy_classifier(
    name: str, metric: Callable[..., float], takes: str, y: Any, weighted: bool
) -> None:
    weights = WEIGHTS[len(y)] if weighted else None
    model = _dummy_classifier(y, weights)
    given = _scores(model, y) if takes == "scores" else model.predict(np.zeros((len(y), 1)))
    expected = metric(y, given, sample_weight=weights)
    assert baseline_metric(name, y, sample_weight=weights) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("name", "metric", "takes"), MULTICLASS_CASES, ids=[c[0] for c in MULTICLASS_CASES]
)
def test_multiclass_baselines_equal_the_dummy_classifier(
    name: str, metric: Callable[..., float], takes: str, weighted: bool
) -> None:
    weights = WEIGHTS[len(MULTICLASS)] if weighted else None
    model = _dummy_classifier(MULTICLASS, weights)
    zeros = np.zeros((len(MULTICLASS), 1))
    given = model.predict_proba(zeros) if takes == "scores" else model.predict(zeros)
    expected = metric(MULTICLASS, given, sample_weight=weights)
    assert baseline_metric(name, MULTICLASS, sample_weight=weights) == pytest.approx(
        expected, abs=1e-12
    )


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("name", "metric"), REGRESSION_CASES, ids=[c[0] for c in REGRESSION_CASES])
def test_regression_baselines_equal_the_dummy_regressor(
    name: str, metric: Callable[..., float], weighted: bool
) -> None:
    weights = WEIGHTS[len(REGRESSION)] if weighted else None
    zeros = np.zeros((len(REGRESSION), 1))
    model = DummyRegressor(strategy="mean").fit(zeros, REGRESSION, sample_weight=weights)
    expected = metric(REGRESSION, model.predict(zeros), sample_weight=weights)
    assert baseline_metric(name, REGRESSION, sample_weight=weights) == pytest.approx(
        expected, rel=1e-12, abs=1e-12
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_baseline_predictions_are_the_dummy_models_predictions(weighted: bool) -> None:
    for y, task in ((BINARY, "binary"), (MULTICLASS, "multiclass")):
        weights = WEIGHTS[len(y)] if weighted else None
        model = _dummy_classifier(y, weights)
        zeros = np.zeros((len(y), 1))
        baseline = baseline_predictions(y, task, sample_weight=weights)  # type: ignore[arg-type]
        assert np.array_equal(baseline.prediction, model.predict(zeros))
        assert baseline.score is not None and baseline.classes is not None
        np.testing.assert_allclose(baseline.score, _scores(model, y), rtol=1e-15)
        assert np.array_equal(baseline.classes, model.classes_)
    weights = WEIGHTS[len(REGRESSION)] if weighted else None
    zeros = np.zeros((len(REGRESSION), 1))
    regressor = DummyRegressor().fit(zeros, REGRESSION, sample_weight=weights)
    baseline = baseline_predictions(REGRESSION, "regression", sample_weight=weights)
    np.testing.assert_allclose(baseline.prediction, regressor.predict(zeros), rtol=1e-15)
    assert baseline.score is None and baseline.classes is None


def test_a_tie_predicts_the_first_class_as_the_dummy_does() -> None:
    y = np.array([1, 0] * 50)
    zeros = np.zeros((100, 1))
    assert (
        baseline_predictions(y, "binary").prediction[0]
        == _dummy_classifier(y, None).predict(zeros)[0]
    )
    assert baseline_metric("f1", y) == skm.f1_score(y, _dummy_classifier(y, None).predict(zeros))


def test_the_closed_forms_the_names_promise() -> None:
    y = np.array([1] * 30 + [0] * 70)
    assert baseline_metric("roc_auc", y) == 0.5
    assert baseline_metric("accuracy", y) == pytest.approx(0.7)
    assert baseline_metric("brier", y) == pytest.approx(0.3 * 0.7)
    assert baseline_metric("log_loss", y) == pytest.approx(-(0.3 * np.log(0.3) + 0.7 * np.log(0.7)))
    values = np.array([1.0, 2.0, 3.0, 6.0])
    assert baseline_metric("mse", values) == pytest.approx(np.var(values))
    assert baseline_metric("mae", values) == pytest.approx(np.mean(np.abs(values - 3.0)))
    assert baseline_metric("R2", values) == 0.0
    assert baseline_metric("r2", np.full(5, 2.0)) == 1.0


def test_every_listed_name_is_tested_against_scikit_learn() -> None:
    tested = {name for name, _, _ in BINARY_CASES + MULTICLASS_CASES}
    tested |= {name for name, _ in REGRESSION_CASES}
    aliases = {BASELINE_METRICS[name] for name in tested}
    assert aliases == set(BASELINE_METRICS.values())


@pytest.mark.parametrize(
    ("name", "y"),
    [
        ("no_such_metric", BINARY),
        ("f1", MULTICLASS),
        ("mse", MULTICLASS),
        ("roc_auc", np.zeros(10)),
    ],
)
def test_metrics_that_do_not_apply_are_refused(name: str, y: Any) -> None:
    with pytest.raises(InvalidArgument):
        baseline_metric(name, y)


def test_unusable_tasks_and_inputs_are_refused() -> None:
    with pytest.raises(InvalidArgument):
        baseline_predictions(MULTICLASS, "binary")
    with pytest.raises(InvalidArgument):
        baseline_predictions(BINARY, "ranking")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        baseline_metric("accuracy", BINARY, sample_weight=np.ones(3))
