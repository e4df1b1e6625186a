"""Params, metrics and inputs read off a namespace, with real scikit-learn objects."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ShuffleSplit, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nbmodelbook.capture.code_analysis import analyze_cell
from nbmodelbook.capture.fingerprint import FingerprintCache
from nbmodelbook.capture.models import fitted_features
from nbmodelbook.capture.namespace import (
    MODEL_FEATURES,
    data_inputs,
    extract_metrics,
    extract_params,
    model_feature_inputs,
)
from nbmodelbook.record import FEATURES_KIND


def run(code: str, namespace: dict[str, object]) -> dict[str, object]:
    exec(code, namespace)
    return namespace


def test_literals_kwargs_and_model_hyperparameters() -> None:
    code = (
        "lr = 0.01\n"
        "layers = [64, 32]\n"
        "split = train_test_split(X, test_size=0.25, random_state=42)\n"
        "model = RandomForestClassifier(n_estimators=10, max_depth=3)\n"
        "plt_figure = show(figsize=(8, 4))\n"
    )
    namespace = run(
        code,
        {
            "train_test_split": lambda X, **kw: X,
            "X": [1],
            "RandomForestClassifier": RandomForestClassifier,
            "show": lambda **kw: None,
        },
    )
    params, models = extract_params(analyze_cell(code), namespace)
    assert params["lr"] == 0.01 and params["layers"] == [64, 32]
    assert params["test_size"] == 0.25 and params["random_state"] == 42
    assert params["model"] == "RandomForestClassifier"
    assert params["model.n_estimators"] == 10 and params["model.max_depth"] == 3
    assert params["model.criterion"] == "gini"  # a default, recorded too
    assert "n_estimators" not in params  # the model's own kwargs are not repeated
    assert "figsize" not in params  # presentation, not modelling
    assert models == ["model"]


def test_fitted_pipeline_names_nested_steps_by_class() -> None:
    code = "pipe.fit(X, y)"
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.5))
    namespace = {"pipe": pipe, "X": np.zeros((4, 2)), "y": np.array([0, 1, 0, 1])}
    run(code, namespace)
    params, _ = extract_params(analyze_cell(code), namespace)
    assert params["pipe"] == "Pipeline"
    assert params["pipe.logisticregression"] == "LogisticRegression"
    assert params["pipe.logisticregression__C"] == 0.5
    # The steps are named, not printed (scikit-learn's repr costs ~1 ms a model).
    assert params["pipe.steps"] == [
        ["standardscaler", "StandardScaler"],
        ["logisticregression", "LogisticRegression"],
    ]


def test_same_keyword_with_different_values_is_qualified_by_callee() -> None:
    code = (
        "parts = train_test_split(X, test_size=0.2)\n"
        "folds = ShuffleSplit(n_splits=2, test_size=0.3)"
    )
    namespace = run(
        code, {"train_test_split": train_test_split, "ShuffleSplit": ShuffleSplit, "X": [1] * 10}
    )
    params, _ = extract_params(analyze_cell(code), namespace)
    assert params["train_test_split.test_size"] == 0.2
    assert params["ShuffleSplit.test_size"] == 0.3 and "test_size" not in params
    assert params["n_splits"] == 2


def test_the_same_callee_twice_with_different_values_keeps_both() -> None:
    code = "outer = train_test_split(X, test_size=0.2)\ninner = train_test_split(X, test_size=0.25)"
    namespace = run(code, {"train_test_split": train_test_split, "X": [1] * 20})
    params, _ = extract_params(analyze_cell(code), namespace)
    assert params["train_test_split.test_size"] == 0.2
    assert params["train_test_split.test_size (2)"] == 0.25


def test_forced_params_and_missing_names() -> None:
    code = "seed = compute()"
    namespace = run(code, {"compute": lambda: 7})
    params, _ = extract_params(analyze_cell(code), namespace, forced=["seed", "nope"])
    assert params["seed"] == 7
    assert params["nope"]["type"] == "missing"


def test_metrics_are_computed_numbers_and_dict_entries() -> None:
    code = (
        "auc = score()\n"
        "ratio = auc / 2\n"
        "n = 5\n"
        "report = {'f1': score(), 'nested': {'p': 0.5}, 'name': 'x', 'flag': True}\n"
        "bad = float('nan')\n"
        "big = float('inf')\n"
        "for i in range(3):\n"
        "    total = i\n"
        "_private = score()\n"
        "arr = [score()]\n"
    )
    namespace = run(code, {"score": lambda: 0.8})
    metrics = extract_metrics(analyze_cell(code), namespace, forced=["n"])
    assert metrics["auc"] == 0.8 and metrics["ratio"] == 0.4
    assert metrics["report.f1"] == 0.8 and metrics["report.nested.p"] == 0.5
    assert "report.name" not in metrics and "report.flag" not in metrics
    assert math.isnan(metrics["bad"]) and metrics["big"] == math.inf
    assert metrics["n"] == 5.0  # literal, but asked for with -m
    assert "i" not in metrics and "_private" not in metrics and "arr" not in metrics


def test_metrics_exclude_params() -> None:
    code = "best = pick()"
    namespace = run(code, {"pick": lambda: 0.3})
    assert extract_metrics(analyze_cell(code), namespace, exclude=["best"]) == {}


def test_inputs_are_the_data_objects_the_cell_reads() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3]})
    code = "model.fit(frame, labels)\nresult = other + 1"
    namespace = {"frame": frame, "labels": np.array([0, 1, 0]), "other": 1, "model": object()}
    inputs = data_inputs(analyze_cell(code), namespace, FingerprintCache())
    assert set(inputs) == {"frame", "labels"}
    assert inputs["frame"]["columns"] == ["a"]
    assert inputs["labels"]["shape"] == [3]


def _frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["income", "debt", "age"])
    return frame, (frame["income"] > 0).to_numpy().astype(int)


def test_fitted_features_name_the_columns_a_model_saw() -> None:
    frame, target = _frame()
    forest = RandomForestClassifier(n_estimators=3, random_state=0)
    assert fitted_features(forest) is None  # not fitted yet
    assert fitted_features(RandomForestClassifier) is None
    full = fitted_features(forest.fit(frame, target))
    assert full is not None
    assert full["kind"] == FEATURES_KIND
    assert full["columns"] == ["income", "debt", "age"] and full["shape"] == [3]
    trimmed = fitted_features(
        RandomForestClassifier(n_estimators=3).fit(frame.drop(columns=["age"]), target)
    )
    assert trimmed is not None and trimmed["hash"] != full["hash"]
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame.values, target)
    unnamed = fitted_features(pipeline)
    assert unnamed is not None and unnamed["shape"] == [3] and "columns" not in unnamed


def test_model_feature_inputs_key_a_single_model_the_same_way_in_every_run() -> None:
    frame, target = _frame()
    namespace = {
        "forest": RandomForestClassifier(n_estimators=3).fit(frame, target),
        "unfitted": LogisticRegression(),
    }
    single = model_feature_inputs(["forest", "unfitted"], namespace)
    assert list(single) == [MODEL_FEATURES]
    namespace["linear"] = LogisticRegression().fit(frame[["income"]], target)
    several = model_feature_inputs(["forest", "linear"], namespace)
    assert set(several) == {"features seen by forest", "features seen by linear"}
    assert several["features seen by linear"]["columns"] == ["income"]
