"""The evidence figures of a review, from runs with real predictions in a real store: intervals,
paired comparisons with verdicts (only on the same rows), Holm across alternatives, confusion
counts in words, the baseline, the search effort, and the review as JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier
from statsmodels.stats.multitest import multipletests

from nbmodelbook.cli import main
from nbmodelbook.record import (
    Candidate,
    Evaluation,
    RunRecord,
    RunStatus,
    SegmentLabels,
    code_hash,
    new_run_id,
)
from nbmodelbook.report.evidence import (
    DIFFERENT_ROWS,
    NO_EVIDENCE,
    NOT_DISTINGUISHABLE,
    SIGNIFICANTLY_BETTER,
    SIGNIFICANTLY_WORSE,
    review_evidence,
)
from nbmodelbook.report.formats import REPORT_FORMATS
from nbmodelbook.report.load import load_review
from nbmodelbook.report.render_json import SCHEMA
from nbmodelbook.stats.auc import paired_auc_test
from nbmodelbook.store.store import RunStore

DATA = load_breast_cancer()
X_TRAIN, X_TEST, Y_TRAIN, Y_TEST = train_test_split(
    DATA.data, DATA.target, test_size=0.25, random_state=0, stratify=DATA.target
)
# Another split: other rows, the same size.
_, X_OTHER, _, Y_OTHER = train_test_split(
    DATA.data, DATA.target, test_size=0.25, random_state=1, stratify=DATA.target
)


def fingerprint(y_true: Any) -> str:
    return code_hash(np.asarray(y_true).tobytes().hex())


def auc_evaluation(model: Any, X: Any = X_TEST, y: Any = Y_TEST, metric: str = "auc") -> Evaluation:
    scores = model.predict_proba(X)[:, 1]
    return Evaluation(
        function="roc_auc_score",
        metric=metric,
        value=float(roc_auc_score(y, scores)),
        y_true=np.asarray(y),
        y_score=scores,
        n_total=len(y),
        rows_fingerprint=fingerprint(y),
    )


def accuracy_evaluation(model: Any, X: Any = X_TEST, y: Any = Y_TEST) -> Evaluation:
    predicted = model.predict_proba(X)[:, 1] > 0.5
    return Evaluation(
        function="accuracy_score",
        metric="accuracy",
        value=float(accuracy_score(y, predicted)),
        y_true=np.asarray(y),
        y_pred=predicted,
        options={"threshold": 0.5, "threshold_op": ">"},
        n_total=len(y),
        rows_fingerprint=fingerprint(y),
    )


def evaluated_run(
    name: str,
    offset: float,
    evaluations: list[Evaluation],
    *,
    notebook: str,
    params: dict[str, Any],
    status: RunStatus = RunStatus.OK,
    **fields: Any,
) -> RunRecord:
    """A finished run started `offset` seconds after the others' epoch, its metrics the values
    of its evaluations."""
    started = 1_700_000_000.0 + offset
    code = f"%%track {name}\nmodel.fit(X, y)"
    record = RunRecord(
        run_id=new_run_id(started),
        name=name,
        started_at=started,
        ended_at=started + 1,
        code=code,
        code_hash=code_hash(code),
        status=status,
        notebook=notebook,
        params=params,
        metrics={e.metric: float(e.value) for e in evaluations if e.value is not None},
        **fields,
    )
    record.evaluations = evaluations
    return record


def run_of(
    name: str, model: Any, evaluations: list[Evaluation], *, notebook: str, offset: float
) -> RunRecord:
    params = {"model": type(model).__name__, **{f"model.{k}": v for k, v in _params(model)}}
    return evaluated_run(name, offset, evaluations, notebook=notebook, params=params)


def _params(model: Any) -> list[tuple[str, Any]]:
    return [
        (key, value)
        for key, value in sorted(model.get_params().items())
        if isinstance(value, int | float | str | bool) or value is None
    ]


def fitted(model: Any) -> Any:
    return model.fit(X_TRAIN, Y_TRAIN)


STRONG = fitted(LogisticRegression(max_iter=5000))
ALMOST = fitted(LogisticRegression(C=0.5, max_iter=5000))
STUMP = fitted(DecisionTreeClassifier(max_depth=1, random_state=0))
BAYES = fitted(GaussianNB())
MODELS = {"logreg": STRONG, "logreg-c05": ALMOST, "stump": STUMP, "bayes": BAYES}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    opened = RunStore.open(str(tmp_path / "runs.sqlite"))
    yield opened
    opened.close()


def stored(store: RunStore, *records: RunRecord) -> dict[str, RunRecord]:
    for record in records:
        store.finish_run(record)
    return store.get_runs([r.run_id for r in records], evidence=True)


def standard_runs(notebook: str = "/nb/model.ipynb") -> list[RunRecord]:
    return [
        run_of(
            name,
            model,
            [auc_evaluation(model), accuracy_evaluation(model)],
            notebook=notebook,
            offset=index,
        )
        for index, (name, model) in enumerate(MODELS.items())
    ]


def test_a_clearly_better_model_is_significantly_better(store: RunStore) -> None:
    logreg, _, stump, _ = standard_runs()
    runs = stored(store, logreg, stump)
    figures = review_evidence(runs, logreg.run_id, [stump.run_id], "auc")
    [comparison] = figures.comparisons
    expected = paired_auc_test(
        Y_TEST, STRONG.predict_proba(X_TEST)[:, 1], STUMP.predict_proba(X_TEST)[:, 1]
    )
    assert comparison.result is not None
    assert comparison.result.method == "DeLong paired"
    assert comparison.result.difference == pytest.approx(expected.difference)
    assert comparison.result.difference > 0.05
    assert comparison.result.p_value is not None and comparison.result.p_value < 0.001
    assert comparison.verdict == SIGNIFICANTLY_BETTER
    # And the other way round, it is worse.
    backwards = review_evidence(runs, stump.run_id, [logreg.run_id], "auc")
    assert backwards.comparisons[0].verdict == SIGNIFICANTLY_WORSE
    # The chosen run's own figure: DeLong's interval around the AUC scikit-learn returned.
    chosen = figures.chosen_estimate()
    assert chosen is not None and chosen.estimate is not None
    assert chosen.estimate.value == pytest.approx(logreg.metrics["auc"])
    assert chosen.estimate.interval is not None and chosen.estimate.interval.method == "DeLong"
    assert chosen.estimate.interval.low < chosen.estimate.value < chosen.estimate.interval.high


def test_two_near_identical_models_are_not_distinguishable(store: RunStore) -> None:
    logreg, almost, _, _ = standard_runs()
    runs = stored(store, logreg, almost)
    for metric, method in (("auc", "DeLong paired"), ("accuracy", "McNemar")):
        [comparison] = review_evidence(runs, logreg.run_id, [almost.run_id], metric).comparisons
        assert comparison.result is not None and comparison.result.method.startswith(method)
        assert comparison.result.p_value is not None and comparison.result.p_value > 0.05
        assert comparison.verdict == NOT_DISTINGUISHABLE
    # Accuracy's own interval is Wilson's on the counts.
    figures = review_evidence(runs, logreg.run_id, [], "accuracy").chosen_estimate()
    assert figures is not None and figures.estimate is not None
    assert figures.estimate.interval is not None
    assert figures.estimate.interval.method == "Wilson"


def test_runs_on_different_rows_are_never_paired(store: RunStore) -> None:
    logreg, _, stump, _ = standard_runs()
    elsewhere = run_of(
        "stump-other-split",
        STUMP,
        [auc_evaluation(STUMP, X_OTHER, Y_OTHER)],
        notebook="/nb/model.ipynb",
        offset=10,
    )
    runs = stored(store, logreg, elsewhere)
    [comparison] = review_evidence(runs, logreg.run_id, [elsewhere.run_id], "auc").comparisons
    assert comparison.result is None and comparison.verdict is None
    assert comparison.reason == DIFFERENT_ROWS
    # The same rows, but one of them recorded under another fingerprint: still not paired.
    relabelled = run_of("stump", STUMP, [auc_evaluation(STUMP)], notebook="/nb/m.ipynb", offset=11)
    relabelled.evaluations[0].rows_fingerprint = "another"
    runs = stored(store, relabelled)
    runs[logreg.run_id] = store.get_runs([logreg.run_id], evidence=True)[logreg.run_id]
    [comparison] = review_evidence(runs, logreg.run_id, [relabelled.run_id], "auc").comparisons
    assert comparison.reason == DIFFERENT_ROWS
    assert stump.run_id not in runs


def test_holm_adjusts_across_three_alternatives(store: RunStore) -> None:
    logreg, almost, stump, bayes = standard_runs()
    runs = stored(store, logreg, almost, stump, bayes)
    alternatives = [almost.run_id, stump.run_id, bayes.run_id]
    comparisons = review_evidence(runs, logreg.run_id, alternatives, "auc").comparisons
    assert [c.other_run_id for c in comparisons] == alternatives
    raw = [c.result.p_value for c in comparisons if c.result is not None]
    assert len(raw) == 3 and all(p is not None for p in raw)
    _, expected, _, _ = multipletests(raw, method="holm")
    adjusted = [c.adjusted_p_value for c in comparisons]
    assert adjusted == pytest.approx(list(expected), rel=1e-12)
    assert any(a != p for a, p in zip(adjusted, raw, strict=True))  # the adjustment did something
    for comparison in comparisons:
        assert comparison.result is not None and comparison.adjusted_p_value is not None
        significant = comparison.adjusted_p_value < 0.05
        assert (comparison.verdict != NOT_DISTINGUISHABLE) is significant


def test_lower_is_better_metrics_read_the_difference_the_other_way(store: RunStore) -> None:
    def loss(model: Any) -> Evaluation:
        proba = model.predict_proba(X_TEST)[:, 1]
        from sklearn.metrics import log_loss

        return Evaluation(
            function="log_loss",
            metric="log_loss",
            value=float(log_loss(Y_TEST, proba)),
            y_true=Y_TEST,
            y_score=proba,
            n_total=len(Y_TEST),
            rows_fingerprint=fingerprint(Y_TEST),
        )

    good = run_of("logreg", STRONG, [loss(STRONG)], notebook="/nb/m.ipynb", offset=0)
    bad = run_of("stump", STUMP, [loss(STUMP)], notebook="/nb/m.ipynb", offset=1)
    runs = stored(store, good, bad)
    [comparison] = review_evidence(runs, good.run_id, [bad.run_id], "log_loss").comparisons
    assert comparison.result is not None and comparison.result.difference < 0
    assert comparison.result.method.startswith("paired bootstrap")
    assert comparison.verdict == SIGNIFICANTLY_BETTER
    estimate = review_evidence(runs, good.run_id, [], "log_loss").chosen_estimate()
    assert estimate is not None and estimate.estimate is not None
    assert estimate.estimate.interval is not None
    assert estimate.estimate.interval.method.startswith("bootstrap")


def test_confusion_counts_in_words_with_text_labels(store: RunStore) -> None:
    names = np.asarray(DATA.target_names)[Y_TEST]  # 0 = malignant, 1 = benign
    predicted = np.asarray(DATA.target_names)[STRONG.predict(X_TEST)]
    evaluation = Evaluation(
        function="recall_score",
        metric="recall",
        value=float(np.mean(predicted[names == "malignant"] == "malignant")),
        y_true=names,
        y_pred=predicted,
        options={"pos_label": "malignant"},
        n_total=len(names),
        rows_fingerprint=fingerprint(names),
    )
    run = run_of("logreg", STRONG, [evaluation], notebook="/nb/m.ipynb", offset=0)
    runs = stored(store, run)
    [figures] = review_evidence(runs, run.run_id, [], "recall").runs[run.run_id].evaluations
    matrix = confusion_matrix(names, predicted, labels=["malignant", "benign"])
    (tp, fn), (fp, tn) = matrix.tolist()
    confusion = figures.confusion
    assert confusion is not None
    assert (confusion.tp, confusion.fn, confusion.fp, confusion.tn) == (tp, fn, fp, tn)
    alarms = "false alarm" if fp == 1 else "false alarms"
    assert confusion.sentence == (
        f"misses {fn} of {tp + fn} malignant cases; {fp} {alarms} in {tn + fp} benign ones"
    )
    assert confusion.sensitivity == pytest.approx(tp / (tp + fn))
    assert confusion.specificity == pytest.approx(tn / (tn + fp))
    # Recall is a proportion of the malignant cases: Wilson on tp of tp + fn.
    assert figures.estimate is not None and figures.estimate.interval is not None
    assert figures.estimate.interval.method == "Wilson" and figures.estimate.n == tp + fn
    # Numeric labels say positive/negative, from the threshold capture saw.
    numeric = accuracy_evaluation(STRONG)
    run2 = run_of("logreg2", STRONG, [numeric], notebook="/nb/m.ipynb", offset=1)
    runs = stored(store, run2)
    confusion2 = review_evidence(runs, run2.run_id, [], "accuracy").runs[run2.run_id]
    sentence = confusion2.evaluations[0].confusion
    assert sentence is not None and " positive cases; " in sentence.sentence
    assert sentence.sentence.endswith(" negative ones")


def test_segments_get_their_own_figures(store: RunStore) -> None:
    evaluation = auc_evaluation(STRONG)
    codes = (X_TEST[:, 0] > np.median(X_TEST[:, 0])).astype(np.int8)
    evaluation.segments = {"size": SegmentLabels(codes, ["small", "large"], "declared")}
    run = run_of("logreg", STRONG, [evaluation], notebook="/nb/m.ipynb", offset=0)
    runs = stored(store, run)
    [figures] = review_evidence(runs, run.run_id, [], "auc").runs[run.run_id].evaluations
    by_level = {s.level: s for s in figures.segments}
    assert set(by_level) == {"small", "large"}
    small = codes == 0
    scores = STRONG.predict_proba(X_TEST)[:, 1]
    assert by_level["small"].n == int(small.sum())
    assert by_level["small"].estimate is not None
    assert by_level["small"].estimate.value == pytest.approx(
        roc_auc_score(Y_TEST[small], scores[small])
    )


def test_baseline_of_the_chosen_metric(store: RunStore) -> None:
    logreg = standard_runs()[0]
    runs = stored(store, logreg)
    auc_baseline = review_evidence(runs, logreg.run_id, [], "auc").baseline
    assert auc_baseline is not None and auc_baseline.strategy == "prior"
    assert auc_baseline.value == pytest.approx(0.5)
    accuracy_baseline = review_evidence(runs, logreg.run_id, [], "accuracy").baseline
    assert accuracy_baseline is not None and accuracy_baseline.strategy == "majority class"
    majority = max(np.mean(Y_TEST), 1 - np.mean(Y_TEST))
    assert accuracy_baseline.value == pytest.approx(majority)
    assert accuracy_baseline.model_value == pytest.approx(logreg.metrics["accuracy"])


def test_search_effort_counts_candidates_and_folds(store: RunStore) -> None:
    logreg, almost, stump, _ = standard_runs()
    logreg.candidates = [
        Candidate(
            "GridSearchCV",
            0,
            index,
            {"C": c},
            "roc_auc",
            [0.98, 0.99, 0.97],
            chosen=c == 1.0,
            mean_score=0.98,
        )
        for index, c in enumerate([0.1, 1.0, 10.0])
    ]
    runs = stored(store, logreg, almost, stump)
    figures = review_evidence(
        runs, logreg.run_id, [stump.run_id], "auc", all_runs=[logreg, almost, stump]
    )
    effort = figures.effort
    assert effort.runs == 3 and effort.candidates == 3
    assert effort.configurations == 3 + 2  # three searched Cs, plus the two other runs
    assert effort.model_families == ("LogisticRegression", "DecisionTreeClassifier")
    folds = figures.runs[logreg.run_id].folds
    assert [f.scores for f in folds] == [(0.98, 0.99, 0.97)] * 3
    assert [f.chosen for f in folds] == [False, True, False]
    auc = next(e for e in figures.runs[logreg.run_id].evaluations if e.metric == "auc")
    assert auc.folds == (0.98, 0.99, 0.97)  # the refit choice's folds, by the same scorer


def test_a_run_without_evidence_gets_a_reason_and_nothing_else(store: RunStore) -> None:
    logreg = standard_runs()[0]
    imported = run_of("from-mlflow", STUMP, [], notebook="/nb/m.ipynb", offset=5)
    imported.metrics = {"auc": 0.9}
    runs = stored(store, logreg, imported)
    figures = review_evidence(runs, logreg.run_id, [imported.run_id], "auc")
    assert figures.runs[imported.run_id].reason == NO_EVIDENCE
    assert figures.runs[imported.run_id].evaluations == []
    [comparison] = figures.comparisons
    assert comparison.result is None and "kept no predictions" in (comparison.reason or "")
    chosen_without = review_evidence(runs, imported.run_id, [logreg.run_id], "auc")
    assert chosen_without.reason == NO_EVIDENCE and chosen_without.baseline is None


def test_unusable_predictions_give_reasons_not_a_failed_review(store: RunStore) -> None:
    rows = len(Y_TEST)
    three = np.arange(rows) % 3
    odd = [
        Evaluation(
            "roc_auc_score",
            "auc",
            0.9,
            Y_TEST,
            y_score=np.full(rows, np.nan),
            n_total=rows,
            rows_fingerprint="fp",
        ),
        Evaluation(
            "accuracy_score",
            "accuracy",
            0.5,
            three,
            y_pred=(three + 1) % 3,
            n_total=rows,
            rows_fingerprint="fp3",
        ),
        Evaluation(
            "roc_auc_score", "auc_multi", 0.8, three, y_score=np.ones((rows, 3)) / 3, n_total=rows
        ),
        Evaluation("f1_score", "f1", 0.7, Y_TEST, y_pred=Y_TEST[:10], n_total=rows),
        Evaluation(
            "RocCurveDisplay.from_predictions", "roc", None, Y_TEST, y_score=np.linspace(0, 1, rows)
        ),
    ]
    run = run_of("odd", STRONG, odd, notebook="/nb/m.ipynb", offset=0)
    other = run_of("other", STUMP, [auc_evaluation(STUMP)], notebook="/nb/m.ipynb", offset=1)
    other.evaluations[0].rows_fingerprint = "fp"
    runs = stored(store, run, other)
    figures = review_evidence(runs, run.run_id, [other.run_id], "auc")
    by_metric = {e.metric: e for e in figures.runs[run.run_id].evaluations}
    assert set(by_metric) == {"auc", "accuracy", "auc_multi", "f1", "roc"}
    for found in by_metric.values():
        has_interval = found.estimate is not None and found.estimate.interval is not None
        assert has_interval or found.reason, found
    assert by_metric["accuracy"].confusion is None  # three classes: no binary confusion
    assert by_metric["accuracy"].estimate is not None
    assert by_metric["accuracy"].estimate.interval is not None  # Wilson on the correct rows
    assert by_metric["roc"].estimate is None
    [comparison] = figures.comparisons
    assert comparison.result is None and comparison.verdict is None
    assert "NaN" in (comparison.reason or "")
    assert "NaN" in (by_metric["auc"].reason or "")


# --- the review, loaded from a notebook and a store, and its JSON ------------------------------


def write_notebook(path: Path, records: list[RunRecord], decision: str) -> None:
    cells = [new_code_cell(r.code) for r in records]
    cells.append(new_markdown_cell(decision))
    cells.append(new_markdown_cell("> [!RISK] Breast cancer data only."))
    notebook = new_notebook(cells=cells)
    nbformat.write(notebook, path)


DECISION = (
    "> [!DECISION] Logistic regression\n"
    "> We chose run:logreg over run:stump and run:bayes. metric:auc"
)


def reviewed(tmp_path: Path, decision: str = DECISION) -> tuple[Path, Path, list[RunRecord]]:
    """A notebook of the standard runs, annotated with `decision`, and its store."""
    notebook = tmp_path / "model.ipynb"
    records = standard_runs(str(notebook.resolve()))
    store_path = tmp_path / "runs.sqlite"
    store = RunStore.open(str(store_path))
    for record in records:
        store.finish_run(record)
    store.close()
    write_notebook(notebook, records, decision)
    return notebook, store_path, records


def test_the_review_reads_only_the_cited_runs_evidence(tmp_path: Path) -> None:
    notebook, store_path, records = reviewed(tmp_path)
    review = load_review(notebook, str(store_path), progress=lambda _m: None)
    logreg, almost, stump, bayes = (r.run_id for r in records)
    assert set(review.runs) == {logreg, almost, stump, bayes}
    assert review.runs[almost].evaluations == []  # not cited: never read
    assert all(review.runs[r].evaluations for r in (logreg, stump, bayes))
    assert review.evidence is not None
    assert [c.other_run_id for c in review.evidence.comparisons] == [stump, bayes]
    assert set(review.evidence.runs) == {logreg, stump, bayes}
    # The renderers that know nothing of the figures still work.
    for name in ("html", "md"):
        REPORT_FORMATS[name].render(review, tmp_path / f"out{REPORT_FORMATS[name].suffix}")


def test_the_search_effort_counts_the_candidates_of_runs_nobody_cites(tmp_path: Path) -> None:
    notebook = tmp_path / "model.ipynb"
    records = standard_runs(str(notebook.resolve()))
    records[1].candidates = [  # logreg-c05, not cited: its candidates are counted, not read
        Candidate("GridSearchCV", 0, index, {"C": c}, "roc_auc", [0.9, 0.91, 0.92])
        for index, c in enumerate([0.1, 0.5, 1.0, 5.0])
    ]
    store_path = tmp_path / "runs.sqlite"
    store = RunStore.open(str(store_path))
    for record in records:
        store.finish_run(record)
    store.close()
    write_notebook(
        notebook, records, "> [!DECISION] Logistic regression\n> We chose run:logreg. metric:auc"
    )
    review = load_review(notebook, str(store_path), progress=lambda _m: None)
    almost = records[1].run_id
    assert review.runs[almost].candidates == [] and review.runs[almost].evaluations == []
    assert review.evidence is not None
    effort = review.evidence.effort
    assert effort.runs == 4 and effort.candidates == 4
    assert effort.configurations == 3 + 4  # three plain runs, four candidates of the sweep
    assert dict(effort.family_configurations) == {
        "LogisticRegression": 1 + 4,
        "DecisionTreeClassifier": 1,
        "GaussianNB": 1,
    }


def test_json_report_schema_and_determinism(tmp_path: Path) -> None:
    notebook, store_path, records = reviewed(tmp_path)
    out = tmp_path / "review.json"
    args = ["report", str(notebook), "--store", str(store_path), "-o", str(out)]
    assert main([*args, "--format", "json"]) == 0
    first = out.read_bytes()
    assert main(args) == 0  # the format from the extension
    assert out.read_bytes() == first
    payload = json.loads(first)
    assert payload["schema"] == SCHEMA
    for key in ("chosen", "runs", "comparisons", "baseline", "search_effort", "findings"):
        assert key in payload
    logreg = records[0]
    chosen = payload["chosen"]
    assert chosen["run_id"] == logreg.run_id and chosen["metric"] == "auc"
    assert chosen["value"] == float(f"{logreg.metrics['auc']:.6g}")
    assert set(chosen["interval"]) == {"low", "high", "level", "method"}
    assert chosen["interval"]["method"] == "DeLong" and chosen["interval"]["level"] == 0.95
    runs = {run["run_id"]: run for run in payload["runs"]}
    assert set(runs) == {r.run_id for r in records}
    evaluation = next(e for e in runs[logreg.run_id]["evaluations"] if e["metric"] == "accuracy")
    for key in ("metric", "value", "n", "interval", "confusion", "segments", "folds"):
        assert key in evaluation
    assert set(evaluation["confusion"]) >= {"tp", "fp", "tn", "fn"}
    assert runs[records[1].run_id]["evaluations"] == []  # not cited
    comparison = payload["comparisons"][0]
    assert set(comparison) >= {
        "run_id",
        "other_run_id",
        "metric",
        "difference",
        "interval",
        "p_value",
        "verdict",
        "method",
    }
    assert comparison["verdict"] == SIGNIFICANTLY_BETTER
    assert payload["baseline"] == {**payload["baseline"], "metric": "auc", "value": 0.5}
    assert payload["search_effort"]["runs"] == 4
    assert payload["search_effort"]["configurations"] == 4
    assert payload["search_effort"]["family_configurations"] == [
        {"family": "LogisticRegression", "configurations": 2},  # most first, then by name
        {"family": "DecisionTreeClassifier", "configurations": 1},
        {"family": "GaussianNB", "configurations": 1},
    ]
    effect = payload["selection_effect"]
    assert effect["configurations"] == 4 and effect["same_rows"] is True
    assert effect["runs_on_same_rows"] == 2 and effect["optimism"] > 0
    assert "independent" in effect["method"]
    assert payload["searches"] == [] and payload["weak_segments"] == []
    assert "selected-on-test-set" in {finding["code"] for finding in payload["findings"]}
    for finding in payload["findings"]:
        assert set(finding) == {"code", "severity", "run_ids", "message"}
    # Figures carry at most six significant digits; the runs' own times are kept whole.
    figures = _floats(payload)
    assert figures and all(float(f"{v:.6g}") == v for v in figures)
    assert runs[logreg.run_id]["started_at"] == logreg.started_at
    assert math.isfinite(comparison["p_value"])


def _floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [
            f
            for key, item in value.items()
            if key not in ("started_at", "ended_at")
            for f in _floats(item)
        ]
    if isinstance(value, list):
        return [f for item in value for f in _floats(item)]
    return []
