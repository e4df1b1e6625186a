"""The registry deciding which calls' literal arguments are params, with real library objects."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import sklearn
import sklearn.model_selection
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.metrics import ConfusionMatrixDisplay, f1_score
from sklearn.model_selection import train_test_split

from nbmodelbook.capture import modelling_calls
from nbmodelbook.capture.modelling_calls import (
    BUILTIN_RULES,
    CallRule,
    call_rules,
    callee_modules,
    positional_names,
    records_params,
    register_call_rule,
    resolve_callee,
)


class HandMadeEstimator(BaseEstimator):
    def __init__(self, depth: int = 3) -> None:
        self.depth = depth


class Plain:
    def fit(self, epochs: int = 1) -> None:
        pass


def decide(callee: str, root: str, namespace: dict[str, object]) -> bool:
    start, called = resolve_callee(callee, root, namespace)
    return records_params(callee_modules(start, called), callee.rsplit(".", 1)[-1])


@pytest.fixture
def namespace() -> dict[str, object]:
    figure, axes = plt.subplots()
    plt.close(figure)
    return {
        "plt": plt, "pd": pd, "np": np, "sklearn": sklearn, "json": json, "ax": axes,
        "fig": figure, "df": pd.DataFrame({"a": [1]}), "KMeans": KMeans,
        "train_test_split": train_test_split, "f1_score": f1_score,
        "ConfusionMatrixDisplay": ConfusionMatrixDisplay, "km": KMeans(2),
        "HandMadeEstimator": HandMadeEstimator, "plain": Plain(), "rng": np.random.default_rng(0),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("callee", "root", "records"),
    [
        ("plt.subplots", "plt", False),
        ("ax.set_title", "ax", False),
        ("fig.subplots_adjust", "fig", False),
        ("df.dropna", "df", False),
        ("", "df", False),  # df.groupby(...).agg(...)
        ("pd.melt", "pd", False),
        ("ConfusionMatrixDisplay.from_predictions", "ConfusionMatrixDisplay", False),
        ("f1_score", "f1_score", False),
        ("json.dumps", "json", False),
        ("rng.normal", "rng", False),
        ("print", "print", False),
        ("KMeans", "KMeans", True),
        ("km.fit", "km", True),
        ("", "KMeans", True),  # KMeans(3).fit(...)
        ("train_test_split", "train_test_split", True),
        ("sklearn.model_selection.train_test_split", "sklearn", True),
        ("HandMadeEstimator", "HandMadeEstimator", True),  # a notebook class, sklearn base
        ("plain.fit", "plain", True),  # unknown library: by the name
        ("RandomForestClassifier", "RandomForestClassifier", True),  # not in the namespace
        ("make_blobs_plot", "make_blobs_plot", False),
    ],
)
def test_calls_are_judged_by_what_the_callee_is(
    namespace: dict[str, object], callee: str, root: str, records: bool
) -> None:
    assert decide(callee, root, namespace) is records


def test_attributes_are_followed_through_modules_only(namespace: dict[str, object]) -> None:
    start, called = resolve_callee("sklearn.model_selection.train_test_split", "sklearn", namespace)
    assert start is sklearn and called is train_test_split
    assert resolve_callee("km.fit", "km", namespace) == (namespace["km"], None)
    assert resolve_callee("missing.fit", "missing", namespace) == (None, None)


def test_modules_of_a_class_include_its_bases() -> None:
    modules = callee_modules(HandMadeEstimator, None)
    assert modules[0] == __name__ and "sklearn.base" in modules
    assert callee_modules(None, None) == ()
    assert callee_modules(types, None) == ("types",)


def test_positional_names_come_from_the_signature() -> None:
    assert positional_names(KMeans)[0] == "n_clusters"
    assert positional_names(train_test_split) == ()  # *arrays first
    assert positional_names(len) == ("obj",)
    assert positional_names(KMeans(2)) == ()  # an instance: not what is called


@pytest.fixture
def restored_rules() -> Iterator[None]:
    saved = list(modelling_calls._registered)
    yield
    modelling_calls._registered[:] = saved
    modelling_calls._decide.cache_clear()


@pytest.mark.usefixtures("restored_rules")
def test_a_registered_rule_comes_first() -> None:
    assert not records_params(("mylib.models",), "Booster")
    register_call_rule(CallRule(records=True, reason="our models", modules=("mylib",)))
    assert records_params(("mylib.models",), "Booster")
    register_call_rule(CallRule(records=False, reason="but not plots", suffixes=("Plot",)))
    assert not records_params(("mylib.models",), "BoosterPlot")
    assert call_rules()[-len(BUILTIN_RULES) :] == BUILTIN_RULES
