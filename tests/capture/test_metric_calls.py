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
ORIGINAL_F1 = sklearn.metrics.f1_score


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
    assert not call_sites("def (:\n")


def test_a_cell_run_again_is_not_parsed_again() -> None:
    code = "auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])\n"
    assert call_sites(code) is call_sites(code)
    assert call_sites(code) is not call_sites(code + "acc = accuracy_score(y, p)\n")


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


def test_a_cell_swaps_only_the_observed_functions_it_can_reach() -> None:
    original_f1 = sklearn.metrics.f1_score
    namespace = _namespace()
    namespace["auc_of"] = ORIGINAL_AUC  # an alias bound by an earlier cell
    observer = CallObserver()
    code = "a = roc_auc_score([0, 1], [0.2, 0.9])\nb = auc_of([0, 1], [0.9, 0.2])\n"
    assert observer.watch(namespace, code, {"roc_auc_score", "auc_of"})
    assert sklearn.metrics.roc_auc_score is not ORIGINAL_AUC
    assert namespace["auc_of"] is not ORIGINAL_AUC
    # Not named by the cell, nor reachable from it: left as it is.
    assert sklearn.metrics.f1_score is original_f1
    assert sklearn.metrics.RocCurveDisplay.__dict__["from_predictions"] is ORIGINAL_DISPLAY
    _run(code, namespace)
    calls = observer.stop(writes={"a", "b"})
    assert [call.spec.name for call in calls] == ["roc_auc_score", "roc_auc_score"]
    assert sklearn.metrics.roc_auc_score is ORIGINAL_AUC and namespace["auc_of"] is ORIGINAL_AUC


@pytest.mark.parametrize(
    "code",
    [
        "import sklearn\nf = getattr(sklearn.metrics, 'f1' + '_score')\nv = f([0, 1], [0, 1])\n",
        "f = getattr(metrics, 'f1' + '_score')\nv = f([0, 1], [0, 1])\n",
    ],
)
def test_a_cell_naming_a_whole_module_can_reach_every_observed_function(code: str) -> None:
    namespace = _namespace()
    observer = CallObserver()
    assert observer.watch(namespace, code, {"metrics", "getattr"})
    _run(code, namespace)
    calls = observer.stop(writes={"f", "v", "sklearn"})
    assert [call.spec.name for call in calls] == ["f1_score"]
    assert namespace["f"] is sklearn.metrics.f1_score


def test_a_module_read_under_another_name_can_reach_every_observed_function() -> None:
    namespace = _namespace()
    namespace["skm"] = sklearn.metrics
    code = (
        "a = skm.roc_auc_score([0, 1], [0.2, 0.9])\n"
        "f = getattr(skm, 'f1' + '_score')\nv = f([0, 1], [0, 1])\n"
    )
    observer = CallObserver()
    assert observer.watch(namespace, code, {"skm", "getattr"})
    _run(code, namespace)
    calls = observer.stop(writes={"a", "f", "v"})
    assert [call.spec.name for call in calls] == ["roc_auc_score", "f1_score"]
    assert namespace["f"] is sklearn.metrics.f1_score


def test_a_cell_calling_a_notebook_function_can_reach_every_observed_function() -> None:
    namespace = _namespace()
    _run("def evaluate(y, p):\n    return metrics.f1_score(y, p)\n", namespace)
    observer = CallObserver()
    code = "v = evaluate([0, 1], [0, 1])\n"
    assert observer.watch(namespace, code, {"evaluate"})
    _run(code, namespace)
    assert [call.spec.name for call in observer.stop(writes={"v"})] == ["f1_score"]


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


def test_the_stand_ins_pickle_as_the_originals() -> None:
    import pickle

    from sklearn.metrics import make_scorer

    namespace = _namespace()
    code = "f = metrics.f1_score\nscorer = make_scorer(metrics.f1_score)\n"
    namespace["make_scorer"] = make_scorer
    observer = CallObserver()
    observer.watch(namespace, code, {"metrics", "make_scorer"})
    try:
        _run(code, namespace)
        assert pickle.loads(pickle.dumps(namespace["f"])) is ORIGINAL_F1
    finally:
        observer.stop({"f", "scorer"})
    # A scorer built on a stand-in in the cell outlives it: it still pickles, and loads as
    # the original (nothing of nbmodelbook in the pickle).
    data = pickle.dumps(namespace["scorer"])
    assert b"nbmodelbook" not in data
    assert pickle.loads(data)._score_func is ORIGINAL_F1


def test_two_calls_on_one_line_keep_their_own_sites() -> None:
    namespace = _namespace()
    namespace["q"] = np.array([0.2, 0.9, 0.4, 0.8])
    namespace["p"] = np.array([0.6, 0.7, 0.1, 0.9])
    namespace["yy"] = np.array([0, 1, 0, 1])
    namespace["f1_score"] = sklearn.metrics.f1_score
    code = "a = round(f1_score(yy, q > 0.3), 4); b = f1_score(yy, p > 0.5)\n"
    observer = CallObserver()
    observer.watch(namespace, code, {"f1_score", "q", "p", "yy"})
    _run(code, namespace)
    calls = observer.stop({"a", "b"})
    sites = [call.site for call in calls]
    assert [(s.target, s.threshold, s.scores_name) for s in sites if s] == [
        ("a", 0.3, "q"),
        ("b", 0.5, "p"),
    ]


def test_only_what_is_still_ours_is_put_back() -> None:
    namespace = _namespace()
    namespace["accuracy_score"] = sklearn.metrics.accuracy_score
    namespace["metric"] = sklearn.metrics.accuracy_score
    code = (
        "def mine(y_true, y_score):\n    return 0.5\n"
        "metrics.roc_auc_score = mine\n"
        "metric = metrics.f1_score\n"
    )
    observer = CallObserver()
    observer.watch(namespace, code, {"metrics", "metric", "accuracy_score"})
    try:
        _run(code, namespace)
        observer.stop({"mine", "metric"})
        # The cell's own function stays; its rebinding of an alias too (as the original).
        assert sklearn.metrics.roc_auc_score is namespace["mine"]
        assert namespace["metric"] is sklearn.metrics.f1_score
    finally:
        sklearn.metrics.roc_auc_score = ORIGINAL_AUC


def test_modules_imported_during_the_cell_get_the_originals(tmp_path: Any) -> None:
    import importlib
    import sys

    (tmp_path / "scoring_helpers_mb.py").write_text(
        "from sklearn.metrics import roc_auc_score, accuracy_score\n"
    )
    sys.path.insert(0, str(tmp_path))
    namespace = _namespace()
    code = "import scoring_helpers_mb\nfrom sklearn.metrics import *\n"
    observer = CallObserver()
    try:
        observer.watch(namespace, code, {"metrics"})
        _run(code, namespace)
        observer.stop({"scoring_helpers_mb"})
        helpers = importlib.import_module("scoring_helpers_mb")
        assert helpers.roc_auc_score is ORIGINAL_AUC
        assert namespace["accuracy_score"] is sklearn.metrics.accuracy_score
        assert namespace["accuracy_score"].__class__.__name__ == "function"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("scoring_helpers_mb", None)


def test_a_cell_run_inside_the_observed_one_leaves_its_calls_to_it() -> None:
    namespace = _namespace()
    observer = CallObserver()
    observer.watch(namespace, "roc_auc_score\n", {"roc_auc_score"})
    assert observer.watch(namespace, "inner\n", set())  # nested: still observing
    namespace["roc_auc_score"]([0, 1], [0.2, 0.8])
    assert observer.stop() == []  # the inner cell's end
    assert observer.active
    namespace["roc_auc_score"]([0, 1], [0.8, 0.2])
    assert [call.result for call in observer.stop()] == [1.0, 0.0]
    assert sklearn.metrics.roc_auc_score is ORIGINAL_AUC


def test_a_stand_in_kept_on_a_class_binds_like_the_function() -> None:
    namespace = _namespace()
    code = (
        "class Scorer:\n"
        "    score = metrics.accuracy_score\n"
        "    plain = staticmethod(metrics.accuracy_score)\n"
        "bound = Scorer().score\n"
        "value = Scorer().plain([0, 1], [0, 1])\n"
        "display = metrics.RocCurveDisplay.from_predictions\n"
    )
    observer = CallObserver()
    observer.watch(namespace, code, {"metrics"})
    try:
        _run(code, namespace)
    finally:
        observer.stop({"Scorer", "bound", "value", "display"})
    assert namespace["bound"].__self__.__class__.__name__ == "Scorer"
    assert namespace["value"] == 1.0
    assert namespace["display"].__self__ is sklearn.metrics.RocCurveDisplay
