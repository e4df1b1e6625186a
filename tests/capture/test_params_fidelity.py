"""Params say how the model was configured and run: not how the figure looked or the frame was
reshaped, and including what the cell used, named positionally or found by a search."""

from __future__ import annotations

import types

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult
from sklearn.cluster import KMeans
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures
from sklearn.svm import SVC

from nbmodelbook.capture.code_analysis import analyze_cell
from nbmodelbook.capture.namespace import extract_metrics, extract_params, failed_at_line


def run(code: str, namespace: dict[str, object]) -> dict[str, object]:
    exec(compile(code, "<cell>", "exec"), namespace)
    return namespace


@pytest.fixture
def iris() -> dict[str, object]:
    X, y = load_iris(return_X_y=True)
    frame = pd.DataFrame(X[:, :2], columns=["a", "b"]).assign(g=y)
    return {
        "np": np, "pd": pd, "plt": plt, "X": X, "y": y, "df": frame, "KMeans": KMeans,
        "LogisticRegression": LogisticRegression, "SVC": SVC, "GridSearchCV": GridSearchCV,
        "cross_val_score": cross_val_score, "train_test_split": train_test_split,
        "make_pipeline": make_pipeline, "PolynomialFeatures": PolynomialFeatures,
        "LinearRegression": LinearRegression,
    }  # fmt: skip


PLOTTING_AND_RESHAPING = """
fig, axes = plt.subplots(2, 2, figsize=(8, 4), subplot_kw={"xticks": [], "yticks": []})
fig.subplots_adjust(hspace=0.3, wspace=0.1)
axes[0, 0].imshow(X[:16].reshape(8, 8), cmap="binary", interpolation="nearest")
ax = axes[0, 1]
ax.scatter(X[:, 0], X[:, 1], alpha=0.5, label="flowers", c=y)
ax.set_title("iris", fontsize=10)
ax.legend(loc="upper left", frameon=False)
plt.close(fig)
clean = df.dropna(how="any").drop(columns=["b"])
clean.fillna(0, inplace=True)
wide = df.pivot_table(index="g", values="a", aggfunc="mean")
long = pd.melt(df, id_vars=["g"], value_vars=["a", "b"], var_name="feature")
table = pd.DataFrame(data=[{"x": 1, "y": 2}, {"x": 3, "y": 4}])
kinds = pd.Categorical(["s", "v"], categories=["s", "v", "g"], ordered=True)
both = pd.concat([df, df], axis=1, ignore_index=False)
summary = df.groupby("g").agg(mean_a=("a", "mean")).round(decimals=2)
lr = 0.01
layers = [64, 32]
grid = {"C": [0.1, 1.0]}
rows = [{"name": "a", "value": 1}, {"name": "b", "value": 2}]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = LogisticRegression(C=0.5, max_iter=500).fit(X_train, y_train)
"""


def test_plotting_and_pandas_arguments_are_not_params(iris: dict[str, object]) -> None:
    namespace = run(PLOTTING_AND_RESHAPING, iris)
    params, models = extract_params(analyze_cell(PLOTTING_AND_RESHAPING), namespace)
    model_params = {key for key in params if key.startswith("model.")}
    assert set(params) - model_params == {
        "lr", "layers", "grid", "test_size", "random_state", "model",
    }  # fmt: skip
    assert params["test_size"] == 0.25 and params["random_state"] == 0
    assert params["model.C"] == 0.5 and params["model.max_iter"] == 500
    assert models == ["model"]


def test_positional_arguments_are_named_by_the_signature(iris: dict[str, object]) -> None:
    code = "labels = KMeans(3, random_state=0, n_init=1).fit_predict(X)\n"
    params, _ = extract_params(analyze_cell(code), run(code, iris))
    assert params == {"n_clusters": 3, "random_state": 0, "n_init": 1}


def test_a_model_the_cell_uses_is_recorded_with_its_params(iris: dict[str, object]) -> None:
    namespace = run("model = SVC(C=2.0, kernel='linear')", iris)
    code = "scores = cross_val_score(model, X, y, cv=3)\nprint(scores.mean())\n"
    params, models = extract_params(analyze_cell(code), run(code, namespace))
    assert params["cv"] == 3
    assert params["model"] == "SVC" and params["model.C"] == 2.0
    assert params["model.kernel"] == "linear"
    assert models == []  # used, not made or fitted here: its features are not this run's


def test_a_model_only_printed_is_not_used(iris: dict[str, object]) -> None:
    namespace = run("model = SVC(C=2.0)", iris)
    code = "print(model)\nkind = type(model).__name__\n"
    params, _ = extract_params(analyze_cell(code), run(code, namespace))
    assert params == {}


GRID_SEARCH = """
grid = GridSearchCV(
    make_pipeline(PolynomialFeatures(), LinearRegression()),
    {"polynomialfeatures__degree": np.arange(6), "linearregression__fit_intercept": [True, False]},
    cv=3,
)
grid.fit(x_line, y_line)
"""


def test_a_fitted_search_records_what_it_found(iris: dict[str, object]) -> None:
    rng = np.random.default_rng(0)
    x_line = rng.uniform(-2, 2, size=(60, 1))
    y_line = (x_line**3).ravel() - x_line.ravel() + rng.normal(scale=0.05, size=60)
    namespace = run(GRID_SEARCH, {**iris, "x_line": x_line, "y_line": y_line})
    analysis = analyze_cell(GRID_SEARCH)
    params, models = extract_params(analysis, namespace)
    assert params["grid"] == "GridSearchCV" and params["grid.cv"] == 3
    best = namespace["grid"].best_params_  # type: ignore[attr-defined]
    assert (
        params["grid.best_params.polynomialfeatures__degree"]
        == best["polynomialfeatures__degree"]
        >= 3
    )
    assert params["grid.best_params.linearregression__fit_intercept"] is bool(
        best["linearregression__fit_intercept"]
    )
    # The pipeline's default degree (2) is not what ran: the search tried 0 to 5.
    assert "grid.estimator__polynomialfeatures__degree" not in params
    assert "grid.estimator__linearregression__fit_intercept" not in params
    assert params["grid.estimator__linearregression__positive"] is False  # not searched: kept
    metrics = extract_metrics(analysis, namespace, models=models, exclude=params)
    assert metrics["grid.best_score"] == pytest.approx(namespace["grid"].best_score_)  # type: ignore[attr-defined]


FAILING = "lr = 0.1\nmodel = SVC(C=undefined_value)\nscore = 1.0\n"


def _failed(code: str, namespace: dict[str, object]) -> ExecutionResult:
    info = ExecutionInfo(code, False, False, True, None)
    result = ExecutionResult(info)
    try:
        exec(compile(code, "<cell>", "exec"), namespace)
    except Exception as exc:
        result.error_in_exec = exc
    return result


def test_a_failed_cell_records_only_what_ran(iris: dict[str, object]) -> None:
    namespace = run("model = SVC(C=5.0)\nscore = 0.9\n", iris)
    result = _failed(FAILING, namespace)
    stopped_at = failed_at_line(result, FAILING, None, namespace)
    assert stopped_at == 2
    analysis = analyze_cell(FAILING)
    params, models = extract_params(analysis, namespace, stopped_at=stopped_at)
    assert params == {"lr": 0.1}  # not the SVC(C=5.0) an earlier cell left
    assert models == []
    assert extract_metrics(analysis, namespace, stopped_at=stopped_at) == {}


def test_a_failed_cell_keeps_the_models_it_made_and_used_before_failing(
    iris: dict[str, object],
) -> None:
    namespace = run("old = SVC(C=5.0)", iris)
    code = (
        "model = LogisticRegression(C=0.3)\n"
        "scores = cross_val_score(old, X, y, cv=2)\n"
        "model.fit(X, y_missing)\n"
        "search = GridSearchCV(SVC(), {'C': [1, 2]}, cv=4)\n"
    )
    result = _failed(code, namespace)
    stopped_at = failed_at_line(result, code, None, namespace)
    assert stopped_at == 3
    params, models = extract_params(analyze_cell(code), namespace, stopped_at=stopped_at)
    assert params["model.C"] == 0.3 and params["old.C"] == 5.0 and params["cv"] == 2
    assert not any(key.startswith("search") for key in params) and "C" not in params
    assert models == ["model"]


def test_failed_at_line_knows_only_its_own_cell(iris: dict[str, object]) -> None:
    result = _failed(FAILING, iris)
    assert failed_at_line(result, "another cell", None, iris) == 0
    assert failed_at_line(None, FAILING, None, iris) == 0  # cancelled: no result
    assert failed_at_line(result, FAILING, 7, iris) == 0  # not the execution count's result
    assert failed_at_line(result, FAILING, None, {}) == 0  # not run in that namespace


def test_calls_on_call_results_are_judged_by_where_the_chain_starts(
    iris: dict[str, object],
) -> None:
    code = (
        "pipe = (\n"
        "    make_pipeline(PolynomialFeatures(), LinearRegression())\n"
        "    .set_output(transform='default')\n"
        "    .set_params(polynomialfeatures__degree=3)\n"
        ")\n"
        "shape = df.groupby('g').agg(total=('a', 'sum')).plot(kind='bar', legend=False)\n"
        "plt.close('all')\n"
    )
    params, _ = extract_params(analyze_cell(code), run(code, iris))
    assert params["pipe.polynomialfeatures__degree"] == 3
    assert params["polynomialfeatures__degree"] == 3  # set_params: configures the model
    assert not {"transform", "kind", "legend", "total"} & set(params)


def test_inspecting_what_the_cell_used_runs_no_code_of_a_module(iris: dict[str, object]) -> None:
    asked: list[str] = []
    lazy = types.ModuleType("lazy")

    def lazy_attribute(name: str) -> object:  # PEP 562: may import, download, print...
        asked.append(name)
        raise AttributeError(name)

    lazy.__getattr__ = lazy_attribute  # type: ignore[method-assign]
    lazy.plot = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    code = "lazy.plot(X, style='dots')\n"
    params, _ = extract_params(analyze_cell(code), run(code, {**iris, "lazy": lazy}))
    assert params == {} and asked == []
