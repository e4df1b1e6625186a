"""The metric-call observer: what a cell's code shows of its calls, and swapping the real
scikit-learn functions in and out around one cell."""

from __future__ import annotations

import threading
import traceback
from typing import Any

import numpy as np
import pytest
import sklearn.metrics
import sklearn.model_selection
from sklearn.linear_model import LogisticRegression

from nbmodelbook.capture.metric_calls import CallObserver, call_sites

ORIGINAL_AUC = sklearn.metrics.roc_auc_score
ORIGINAL_DISPLAY = sklearn.metrics.RocCurveDisplay.__dict__["from_predictions"]


def test_call_sites_show_targets_thresholds_and_features() -> None:
    code = (
        "proba = model.predict_proba(X_test)[:, 1]\n"
        "auc = roc_auc_score(y_test, proba)\n"
        "acc = round(accuracy_score(y_test, proba >= 0.4), 3)\n"
        "scores['f1'] = f1_score(y_test, model.predict(X_hold))\n"
        "print(recall_score(y_test, proba > t))\n"
    )
    sites = call_sites(code)
    (auc,) = sites[(2, "roc_auc_score")]
    assert auc.target == "auc" and auc.features_name == "X_test" and auc.threshold is None
    (acc,) = sites[(3, "accuracy_score")]
    assert (acc.target, acc.threshold, acc.threshold_op, acc.scores_name) == (
        "acc",
        0.4,
        ">=",
        "proba",
    )
    assert acc.features_name == "X_test"  # through `proba`
    (f1,) = sites[(4, "f1_score")]
    assert f1.target == "scores.f1" and f1.features_name == "X_hold"
    (recall,) = sites[(5, "recall_score")]
    assert recall.target is None and recall.threshold is None  # `t` is not a literal


def test_unparsable_code_has_no_sites() -> None:
    assert call_sites("def (:\n") == {}


def _namespace() -> dict[str, Any]:
    return {"__name__": "__main__", "roc_auc_score": ORIGINAL_AUC, "metrics": sklearn.metrics}


def _run(code: str, namespace: dict[str, Any]) -> None:
    exec(compile(code, "<cell>", "exec"), namespace)


def test_calls_are_observed_during_the_cell_and_everything_is_put_back() -> None:
    namespace = _namespace()
    namespace["auc_of"] = ORIGINAL_AUC
    code = (
        "a = roc_auc_score([0, 1, 1], [0.2, 0.9, 0.4])\n"
        "b = metrics.accuracy_score([0, 1], [0, 0])\n"
        "c = auc_of([0, 1], [0.3, 0.1])\n"
        "from sklearn.metrics import f1_score\n"
        "d = f1_score([0, 1], [0, 1])\n"
    )
    observer = CallObserver()
    assert observer.watch(namespace, code, {"roc_auc_score", "metrics", "auc_of"})
    assert namespace["roc_auc_score"] is not ORIGINAL_AUC
    _run(code, namespace)
    calls = observer.stop(writes={"a", "b", "c", "d", "f1_score"})
    assert [call.spec.name for call in calls] == [
        "roc_auc_score",
        "accuracy_score",
        "roc_auc_score",
        "f1_score",
    ]
    assert calls[0].args == ([0, 1, 1], [0.2, 0.9, 0.4]) and calls[0].result == namespace["a"]
    assert calls[0].site is not None and calls[0].site.target == "a"
    assert calls[2].site is not None and calls[2].site.callee == "auc_of"
    # Every original is back: the module, the notebook's names, the one the cell imported.
    assert sklearn.metrics.roc_auc_score is ORIGINAL_AUC
    assert sklearn.metrics.RocCurveDisplay.__dict__["from_predictions"] is ORIGINAL_DISPLAY
    assert namespace["roc_auc_score"] is ORIGINAL_AUC and namespace["auc_of"] is ORIGINAL_AUC
    assert namespace["f1_score"] is sklearn.metrics.f1_score
    assert sklearn.metrics.f1_score.__module__ == "sklearn.metrics._classification"


def test_a_cell_that_cannot_reach_a_metric_swaps_nothing() -> None:
    namespace = _namespace()
    observer = CallObserver()
    assert not observer.watch(namespace, "x = 1 + 2\n", {"y"})
    assert sklearn.metrics.roc_auc_score is ORIGINAL_AUC
    assert observer.stop() == []


def test_the_wrapper_leaves_no_frame_in_the_traceback() -> None:
    namespace = _namespace()
    observer = CallObserver()
    code = "roc_auc_score([0, 1, 1], [0.5])\n"
    observer.watch(namespace, code, {"roc_auc_score"})
    try:
        with pytest.raises(ValueError) as raised:
            _run(code, namespace)
    finally:
        observer.stop()
    files = [frame.filename for frame in traceback.extract_tb(raised.value.__traceback__)]
    assert not any(name.endswith("capture/metric_calls.py") for name in files)
    # Right after the cell's frame comes scikit-learn's, as in the untracked cell.
    assert files[files.index("<cell>") + 1].endswith("_param_validation.py")


def test_scikit_learn_calling_its_own_metrics_is_not_a_notebook_call() -> None:
    namespace = _namespace()
    namespace["cross_val_score"] = sklearn.model_selection.cross_val_score
    namespace["model"] = LogisticRegression()
    namespace["X"] = np.random.default_rng(0).normal(size=(60, 3))
    namespace["y"] = np.arange(60) % 2
    code = "s = cross_val_score(model, X, y, cv=3, scoring='roc_auc')\n"
    observer = CallObserver()
    observer.watch(namespace, code, {"cross_val_score", "model", "X", "y"})
    _run(code, namespace)
    calls = observer.stop({"s"})
    assert [call.spec.name for call in calls] == ["cross_val_score"]


def test_calls_from_other_threads_are_not_recorded() -> None:
    namespace = _namespace()
    observer = CallObserver()
    observer.watch(namespace, "roc_auc_score\n", {"roc_auc_score"})
    wrapped = namespace["roc_auc_score"]
    worker = threading.Thread(target=lambda: wrapped([0, 1], [0.1, 0.9]))
    worker.start()
    worker.join()
    assert observer.stop() == []
    # Outside a tracked cell, a wrapper kept somewhere only passes the call through.
    assert wrapped([0, 1], [0.1, 0.9]) == 1.0
    assert observer.calls == []
