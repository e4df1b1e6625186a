"""Comparing runs: which params differ, which metric is best, how the data differ in words."""

from __future__ import annotations

import math

from nbmodelbook.metric_names import headline_metric, lower_is_better
from nbmodelbook.record import FEATURES_KIND, RunRecord, RunStatus
from nbmodelbook.report.compare import (
    FEATURES_DIFFER,
    comparable_params,
    compare_runs,
    data_difference,
    model_family,
)
from nbmodelbook.report.resolve import resolve_ref


def run(name: str, started: float = 1.0, **fields: object) -> RunRecord:
    record = RunRecord(f"{int(started * 1000):012x}{name:0>20}"[:32], name, started, "", "h")
    record.status = RunStatus.OK
    for key, value in fields.items():
        setattr(record, key, value)
    return record


def frame(columns: list[str], shape: list[int], digest: str) -> dict[str, object]:
    return {"kind": "DataFrame", "columns": columns, "shape": shape, "hash": digest}


def test_direction_of_metrics() -> None:
    for lower in ("log_loss", "rmse", "val_error", "brier", "fit_time", "mae"):
        assert lower_is_better(lower), lower
    for higher in ("auc", "accuracy", "f1", "r2", "precision", "recall"):
        assert not lower_is_better(higher), higher


def test_headline_metric_prefers_explicit_then_conventional() -> None:
    chosen = run("a", metrics={"brier": 0.1, "auc": 0.9, "zeta": 1.0})
    assert headline_metric(chosen, "brier") == "brier"
    assert headline_metric(chosen, "missing") == "auc"
    assert headline_metric(run("b", metrics={"zeta": 1.0, "alpha": math.nan})) == "zeta"


def test_params_and_metrics_side_by_side() -> None:
    a = run("a", params={"model": "GBM", "model.depth": 3, "seed": 1}, metrics={"auc": 0.9})
    b = run("b", params={"forest": "RF", "forest.depth": 8, "seed": 1},
            metrics={"auc": 0.8, "loss": 0.2})  # fmt: skip
    evidence = compare_runs([a, b])
    rows = {row.name: row for row in evidence.params}
    assert rows["model.depth"].values == (3, 8) and rows["model.depth"].differs
    assert not rows["seed"].differs
    assert [row.name for row in evidence.compared_params] == ["model", "model.depth"]
    metrics = {row.name: row for row in evidence.metrics}
    assert metrics["auc"].best == (0,)
    assert metrics["loss"].best == ()  # one value is no comparison


def test_single_model_is_renamed_for_comparison_only() -> None:
    two_models = run("x", params={"a": "A", "a.k": 1, "b": "B", "b.k": 2})
    assert comparable_params(two_models) == two_models.params
    pipeline = run("p", params={"pipe": "Pipeline", "pipe.final_estimator": "LogisticRegression"})
    assert model_family(pipeline) == "LogisticRegression"
    # A search is judged by the estimator it tunes: two searches over different models are
    # two families, not one "GridSearchCV".
    search = run("s", params={"search": "GridSearchCV", "search.estimator": "SVC", "search.cv": 5})
    assert model_family(search) == "SVC"


def test_data_differences_in_words() -> None:
    base = run("rf", inputs={"X": frame(["age", "income"], [100, 2], "h1")})
    same = run("gbm", inputs={"X": frame(["age", "income"], [100, 2], "h1")})
    fewer = run("trim", inputs={"X": frame(["age"], [100, 1], "h2")})
    longer = run("more", inputs={"X": frame(["age", "income"], [120, 2], "h3")})
    edited = run("edit", inputs={"X": frame(["age", "income"], [100, 2], "h4")})
    extra = run("test", inputs={"X": frame(["age", "income"], [100, 2], "h1"), "X_test": {}})
    assert data_difference(base, same).kind == "same"
    difference = data_difference(base, fewer)
    assert difference.kind == "different columns"
    assert difference.sentence == (
        "rf and trim were trained on different data: `X`: column `income` missing in trim."
    )
    assert "shape 100×2 in rf but 120×2 in more" in data_difference(base, longer).sentence
    assert data_difference(base, edited).kind == "different content"
    assert data_difference(base, extra).kind == "different inputs"


def test_what_the_model_saw_tells_of_data_changed_inside_the_cell() -> None:
    features = "features seen by the model"

    def seen(columns: list[str], digest: str) -> dict[str, object]:
        return {"kind": FEATURES_KIND, "columns": columns, "shape": [len(columns)], "hash": digest}

    full = {"X": frame(["age", "income"], [100, 2], "h1")}
    base = run("rf", inputs={**full, features: seen(["age", "income"], "f1")})
    inline = run("inline", inputs={**full, features: seen(["age"], "f2")})
    difference = data_difference(base, inline)
    assert difference.kind == FEATURES_DIFFER
    assert difference.sentence == (
        "rf and inline were trained on different features: feature `income` missing in inline."
    )
    # A model fitted on an array knows only how many features it saw: the same number is no
    # difference, even though its fingerprint differs from one that knows the names.
    array = run(
        "array", inputs={**full, features: {"kind": FEATURES_KIND, "shape": [2], "hash": "n2"}}
    )
    assert data_difference(base, array).kind == "same"
    fewer_array = run(
        "narrow", inputs={**full, features: {"kind": FEATURES_KIND, "shape": [1], "hash": "n1"}}
    )
    assert data_difference(base, fewer_array).sentence == (
        "rf and narrow were trained on different features: 2 features in rf but 1 in narrow."
    )
    # A difference the inputs already show is not repeated by the features.
    fewer = run("trim", inputs={"X": frame(["age"], [100, 1], "h2"), features: seen(["age"], "f2")})
    assert data_difference(base, fewer).sentence == (
        "rf and trim were trained on different data: `X`: column `income` missing in trim."
    )
    # A run that failed before fitting has no features: that is not a data difference.
    failed = run("failed", inputs=dict(full))
    assert data_difference(base, failed).kind == "same"


def test_references_resolve_to_the_latest_run_of_a_name_or_an_id() -> None:
    old, new = run("rf", started=1.0), run("rf", started=2.0)
    runs = {old.run_id: old, new.run_id: new}
    assert resolve_ref("rf", runs) == new.run_id
    assert resolve_ref(old.run_id, runs) == old.run_id
    assert resolve_ref(old.run_id[:14], runs) == old.run_id
    assert resolve_ref("nope", runs) is None


def test_a_chosen_run_that_crashed_is_a_high_finding_even_without_metrics() -> None:
    from nbmodelbook.report.audit import AuditContext, run_audit
    from nbmodelbook.report.model import Annotation, AnnotationKind, Decision

    crashed = run("doomed", status=RunStatus.CRASHED)
    annotation = Annotation(AnnotationKind.DECISION, "Go", "", ("doomed",), 3, None)
    decision = Decision(annotation, crashed.run_id, [], None, compare_runs([crashed]))
    context = AuditContext([], [], {crashed.run_id: crashed}, [annotation], [decision], [], [],
                           crashed.run_id)  # fmt: skip
    codes = {finding.code: finding.severity.value for finding in run_audit(context)}
    assert codes["chosen-failed"] == "high"


def test_runs_that_differ_only_in_features_are_a_low_finding() -> None:
    from nbmodelbook.report.audit import AuditContext, run_audit
    from nbmodelbook.report.model import Annotation, AnnotationKind, Decision

    features = "features seen by the model"
    full = {"X": frame(["age", "income"], [100, 2], "h1")}
    seen = {"kind": FEATURES_KIND, "columns": ["age"], "shape": [1], "hash": "f1"}
    chosen = run("narrow", inputs={**full, features: seen})
    wider = {**seen, "columns": ["age", "income"], "shape": [2], "hash": "f2"}
    other = run("wide", started=2.0, inputs={**full, features: wider})
    annotation = Annotation(AnnotationKind.DECISION, "Go", "", ("narrow", "wide"), 3, None)
    evidence = compare_runs([chosen, other])
    decision = Decision(annotation, chosen.run_id, [other.run_id], None, evidence)
    runs = {chosen.run_id: chosen, other.run_id: other}
    context = AuditContext([], [], runs, [annotation], [decision], [], [], chosen.run_id)
    codes = {finding.code: finding.severity.value for finding in run_audit(context)}
    assert codes.get("different-features") == "low"
    assert "different-data" not in codes
