"""Model inspection: hyperparameters read as scikit-learn itself reports them."""

from __future__ import annotations

from typing import Any

import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import BaggingClassifier, RandomForestClassifier, StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from nbmodelbook.capture import models
from nbmodelbook.capture.models import estimator_params, inspect_model


class _Renamed(BaseEstimator, ClassifierMixin):
    """Reports its params under other names: its own get_params must be asked."""

    def __init__(self, depth: int = 3) -> None:
        self.depth = depth

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"max_depth": self.depth}

    def fit(self, X: object, y: object) -> _Renamed:
        return self


class _Quirky(BaseEstimator):
    """scikit-learn's get_params, but a nested estimator that reports deep params only when
    asked without arguments (as scikit-learn asks it)."""

    def __init__(self, inner: object = None) -> None:
        self.inner = inner

    def fit(self, X: object, y: object) -> _Quirky:
        return self


class _DefaultShallow:
    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {"a": 1, **({"a__b": 2} if deep else {})}


def _estimators() -> list[object]:
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=200))
    return [
        LogisticRegression(),
        RandomForestClassifier(n_estimators=7, max_depth=3),
        BaggingClassifier(estimator=SVC(C=2.0)),
        CalibratedClassifierCV(LogisticRegression(C=3.0)),
        pipeline,
        Pipeline([("scale", StandardScaler()), ("model", pipeline)]),
        GridSearchCV(pipeline, {"logisticregression__C": [0.1, 1.0]}),
        StackingClassifier([("lr", LogisticRegression()), ("rf", RandomForestClassifier())]),
        ColumnTransformer([("onehot", OneHotEncoder(), [0]), ("scale", StandardScaler(), [1])]),
        FeatureUnion([("a", StandardScaler()), ("b", StandardScaler(with_mean=False))]),
        _Renamed(),
        _Quirky(inner=_DefaultShallow()),
        Pipeline([("odd", _Renamed()), ("model", LogisticRegression())]),
    ]


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: type(e).__name__)
def test_params_are_those_scikit_learn_reports(estimator: Any) -> None:
    models._plans.clear()
    for _ in range(3):  # the first call checks the class's plan, the later ones use it
        found = estimator_params(estimator)
        assert found == estimator.get_params(deep=True)
        assert list(found) == list(estimator.get_params(deep=True))


def test_a_changed_param_is_read_again_every_time() -> None:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0))
    estimator_params(model)
    model.set_params(logisticregression__C=0.25)
    assert estimator_params(model)["logisticregression__C"] == 0.25
    model.steps.append(("extra", StandardScaler()))
    assert estimator_params(model) == model.get_params(deep=True)


def test_a_class_reporting_other_params_is_asked_itself() -> None:
    models._plans.clear()
    assert estimator_params(_Renamed(depth=5)) == {"max_depth": 5}
    assert estimator_params(_Renamed(depth=6)) == {"max_depth": 6}
    found = inspect_model(_Renamed(depth=7))
    assert found is not None and found[1] == {"max_depth": 7}
