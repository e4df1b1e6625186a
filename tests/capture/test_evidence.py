"""Turning a cell's observed calls into evaluations and candidates: names, thresholds, folds of
cross-validations and searches, loops, bounds and explicit predictions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate

from nbmodelbook.capture.evidence import (
    MAX_EVALUATIONS,
    CollectedEvidence,
    collect_evidence,
    complete_evidence,
    logged_evaluation,
)
from nbmodelbook.capture.metric_calls import CallObserver, ObservedCall
from nbmodelbook.record import RunRecord

RNG = np.random.default_rng(7)
X = pd.DataFrame(RNG.normal(size=(120, 3)), columns=["a", "b", "c"])
Y = pd.Series((X["a"] + RNG.normal(scale=0.8, size=120) > 0).astype(int))


def _observe(code: str, namespace: dict[str, Any]) -> list[ObservedCall]:
    namespace.setdefault("__name__", "__main__")
    observer = CallObserver()
    observer.watch(namespace, code, set(namespace), loop_targets={"C"})
    try:
        exec(compile(code, "<cell>", "exec"), namespace)
    finally:
        calls = observer.stop(set(namespace))
    return calls


def _record() -> RunRecord:
    return RunRecord(run_id="r" * 32, name="cell", started_at=0.0, code="", code_hash="h")


def _namespace() -> dict[str, Any]:
    return {
        "metrics": sklearn.metrics,
        "roc_auc_score": sklearn.metrics.roc_auc_score,
        "accuracy_score": sklearn.metrics.accuracy_score,
        "y": Y,
        "scores": X["a"].to_numpy(),
        "LogisticRegression": LogisticRegression,
        "X": X,
    }


def test_names_follow_the_variable_else_the_function() -> None:
    namespace = _namespace()
    code = (
        "auc = roc_auc_score(y, scores)\n"
        "rounded = round(accuracy_score(y, scores > 0), 2)\n"
        "accuracy_score(y, scores > 1)\n"
        "accuracy_score(y, scores > 2)\n"
    )
    calls = _observe(code, namespace)
    evidence = collect_evidence(calls, namespace, bound={"auc", "rounded"})
    assert [e.metric for e in evidence.evaluations] == [
        "auc",
        "rounded",
        "accuracy",
        "accuracy (2)",
    ]
    assert [e.options.get("threshold") for e in evidence.evaluations] == [None, 0.0, 1.0, 2.0]
    # Unassigned values become run metrics; assigned ones are the cell's own.
    assert set(evidence.metrics) == {"accuracy", "accuracy (2)"}
    expected = sklearn.metrics.accuracy_score(Y, X["a"] > 1)
    assert evidence.metrics["accuracy"] == pytest.approx(expected)
    thresholded = evidence.evaluations[1]
    np.testing.assert_array_equal(thresholded.y_score, X["a"].to_numpy())
    np.testing.assert_array_equal(thresholded.y_pred, X["a"].to_numpy() > 0)


def test_the_copies_are_taken_when_the_cell_ends() -> None:
    namespace = _namespace()
    namespace["scores"] = X["a"].to_numpy().copy()
    calls = _observe("auc = roc_auc_score(y, scores)\n", namespace)
    evidence = collect_evidence(calls, namespace, bound={"auc"})
    namespace["scores"][:] = 0.0  # the next cell changes the array in place
    assert np.asarray(evidence.evaluations[0].y_score).std() > 0


def test_cross_validate_with_several_scorers_gives_a_candidate_per_scorer() -> None:
    namespace = {"cross_validate": cross_validate, "model": LogisticRegression(C=0.5), "X": X}
    namespace["y"] = Y
    calls = _observe(
        "out = cross_validate(model, X, y, cv=4, scoring=['accuracy', 'roc_auc'])\n", namespace
    )
    evidence = collect_evidence(calls, namespace, bound={"out"})
    assert [(c.scorer, len(c.fold_scores)) for c in evidence.candidates] == [
        ("accuracy", 4),
        ("roc_auc", 4),
    ]
    assert {c.params["C"] for c in evidence.candidates} == {0.5}
    result = namespace["out"]
    assert evidence.candidates[1].fold_scores == pytest.approx(list(result["test_roc_auc"]))
    assert evidence.metrics["cv_roc_auc"] == pytest.approx(float(np.mean(result["test_roc_auc"])))


def test_a_search_with_several_scorers_follows_its_refit_scorer() -> None:
    search = GridSearchCV(
        LogisticRegression(),
        {"C": [0.1, 1.0, 10.0]},
        cv=3,
        scoring={"auc": "roc_auc", "acc": "accuracy"},
        refit="auc",
    ).fit(X, Y)
    evidence = collect_evidence([], {"search": search}, bound={"search"}, searches=["search"])
    assert len(evidence.candidates) == 3
    assert {c.scorer for c in evidence.candidates} == {"auc"}
    chosen = [c for c in evidence.candidates if c.chosen]
    assert [c.params for c in chosen] == [search.best_params_]
    results = search.cv_results_
    for candidate in evidence.candidates:
        expected = [results[f"split{k}_test_auc"][candidate.index] for k in range(3)]
        assert candidate.fold_scores == pytest.approx(expected)


def test_a_search_that_refits_nothing_chose_no_candidate() -> None:
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0, 10.0]}, cv=3, refit=False)
    search.fit(X, Y)
    assert hasattr(search, "best_index_")  # scikit-learn still ranks them
    evidence = collect_evidence([], {"search": search}, bound={"search"}, searches=["search"])
    assert len(evidence.candidates) == 3
    assert not any(c.chosen for c in evidence.candidates)


def test_a_loop_scoring_several_models_gives_its_configurations() -> None:
    namespace = _namespace()
    namespace["scores_by_c"] = {}
    code = (
        "for C in [0.01, 1.0]:\n"
        "    m = LogisticRegression(C=C).fit(X, y)\n"
        "    scores_by_c[C] = roc_auc_score(y, m.predict_proba(X)[:, 1])\n"
    )
    calls = _observe(code, namespace)
    evidence = collect_evidence(calls, namespace, bound={"m", "C", "scores_by_c"})
    assert [e.metric for e in evidence.evaluations] == ["scores_by_c.0.01", "scores_by_c.1.0"]
    assert [(c.source, c.params) for c in evidence.candidates] == [
        ("loop", {"C": 0.01}),
        ("loop", {"C": 1.0}),
    ]


def test_evaluations_beyond_the_bound_are_noted() -> None:
    namespace = _namespace()
    code = f"for _ in range({MAX_EVALUATIONS + 3}):\n    accuracy_score(y, scores > 0)\n"
    calls = _observe(code, namespace)
    evidence = collect_evidence(calls, namespace, bound=set())
    assert len(evidence.evaluations) == MAX_EVALUATIONS
    assert evidence.notes == [f"3 more metric calls were not kept (at most {MAX_EVALUATIONS})"]


def test_a_raising_call_keeps_nothing_and_bad_explicit_input_is_refused() -> None:
    namespace = _namespace()
    namespace["short"] = X["a"].to_numpy()[:10]
    calls = _observe("try:\n    roc_auc_score(y, short)\nexcept ValueError:\n    pass\n", namespace)
    assert calls == []  # the call raised: nothing to keep
    evidence = CollectedEvidence()
    with pytest.raises(ValueError, match="y_pred has 3 rows but y_true has 2"):
        logged_evaluation(evidence, [0, 1], y_pred=[0, 1, 1], metric="acc")


def test_explicit_predictions_are_sampled_and_segmented_on_completion() -> None:
    evidence = CollectedEvidence()
    truth = np.arange(5000) % 10 == 0
    segments = {"region": pd.Categorical(np.where(np.arange(5000) % 2, "west", "east"))}
    logged_evaluation(
        evidence, truth, y_score=np.linspace(0, 1, 5000), metric="auc", segments=segments
    )
    record = complete_evidence(_record(), evidence, max_rows=500)
    (evaluation,) = record.evaluations
    assert evaluation.n == 500 and evaluation.n_total == 5000 and evaluation.sampled
    assert int(np.asarray(evaluation.y_true).sum()) == 50  # the prevalence kept
    assert evaluation.segments["region"].levels == ["east", "west"]
    assert evaluation.segments["region"].source == "declared"
    assert len(evaluation.segments["region"].codes) == 500
    assert evaluation.rows_fingerprint is not None


def test_explicit_predictions_need_a_metric_and_predictions() -> None:
    with pytest.raises(ValueError, match=r"y_score .* or y_pred"):
        logged_evaluation(CollectedEvidence(), [0, 1], metric="auc")
    with pytest.raises(ValueError, match="metric=NAME"):
        logged_evaluation(CollectedEvidence(), [0, 1], y_score=[0.2, 0.4], metric=" ")


def test_what_the_store_cannot_keep_is_noted_and_the_rest_kept() -> None:
    evidence = CollectedEvidence()
    logged_evaluation(
        evidence, np.array(["a", None, "b"], dtype=object), y_pred=["a", "a", "b"], metric="acc"
    )
    logged_evaluation(evidence, [0, 1, 1], y_score=[0.1, 0.7, 0.9], metric="auc")
    evidence.evaluations[1].y_score = np.array([1 + 2j, 0j, 1j])  # e.g. a complex score
    record = complete_evidence(_record(), evidence, max_rows=1000)
    assert [e.metric for e in record.evaluations] == ["acc"]
    assert np.asarray(record.evaluations[0].y_true).tolist() == ["a", "None", "b"]
    (note,) = record.extra["evidence_notes"]
    assert note.startswith("log_predictions: not kept (y_score")
