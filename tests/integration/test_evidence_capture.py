"""The evidence behind metrics, captured in a real kernel with no call from the user: the
predictions of every metric call (however the function was reached), the fold scores of
cross-validations and searches, the rows' segments; and the cell is untouched."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from nbmodelbook.record import Candidate, Evaluation, RunRecord
from tests.integration.conftest import Executed, Runner
from tests.integration.same_outputs import assert_same_outputs, tracked

pytestmark = pytest.mark.integration

SETUP = """\
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split, cross_val_score, GridSearchCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, accuracy_score
from sklearn.metrics import f1_score as f1_of
from sklearn import metrics
data = load_breast_cancer(as_frame=True)
X, y = data.data, data.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)
model = LogisticRegression(max_iter=5000).fit(X_train, y_train)
"""


def _runs(executed: Executed) -> dict[str, tuple[RunRecord, list[Evaluation], list[Candidate]]]:
    store = executed.store()
    found = {}
    for run_id in executed.run_ids():
        record = store.get_run(run_id)
        assert record is not None
        evaluations, candidates = store.evidence(run_id)
        found[record.name] = (record, evaluations, candidates)
    return found


def _by_metric(evaluations: list[Evaluation]) -> dict[str, Evaluation]:
    return {evaluation.metric: evaluation for evaluation in evaluations}


def test_every_form_of_metric_call_keeps_its_predictions(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        SETUP,
        "def evaluate(m):\n    return roc_auc_score(y_test, m.predict_proba(X_test)[:, 1])",
        "%%track forms\n"
        "proba = model.predict_proba(X_test)[:, 1]\n"
        "auc = roc_auc_score(y_test, proba)\n"
        "acc = accuracy_score(y_test, proba > 0.5)\n"
        "f1 = f1_of(y_test, proba > 0.5)\n"
        "print(f'{metrics.balanced_accuracy_score(y_test, proba > 0.5):.3f}')\n"
        "metrics.recall_score(y_test, model.predict(X_test))",
        "%%track helper\nscore = evaluate(model)",
        "%%track loop\n"
        "aucs = {}\n"
        "for C in [0.1, 1.0, 10.0]:\n"
        "    m = LogisticRegression(C=C, max_iter=5000).fit(X_train, y_train)\n"
        "    aucs[C] = roc_auc_score(y_test, m.predict_proba(X_test)[:, 1])",
    )
    assert "nbmodelbook" not in executed.stderr()
    runs = _runs(executed)
    record, evaluations, _ = runs["forms"]
    found = _by_metric(evaluations)
    assert set(found) == {"auc", "acc", "f1", "balanced_accuracy", "recall"}
    y_test = np.asarray(found["auc"].y_true)
    assert len(y_test) == 143 and found["auc"].n_total == 143
    assert found["auc"].function == "roc_auc_score"
    assert found["auc"].value == pytest.approx(record.metrics["auc"])
    # The scores the metric saw, and the rows it saw them on.
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y_test, found["auc"].y_score) == pytest.approx(record.metrics["auc"])
    assert found["acc"].options["threshold"] == 0.5
    assert found["acc"].options["threshold_op"] == ">"
    np.testing.assert_array_equal(found["acc"].y_score, found["auc"].y_score)
    np.testing.assert_array_equal(found["acc"].y_pred, found["auc"].y_score > 0.5)
    assert found["f1"].function == "f1_score"  # called through an alias
    # Unassigned calls are metrics of the run, named after their function.
    assert record.metrics["balanced_accuracy"] == pytest.approx(found["balanced_accuracy"].value)
    assert record.metrics["recall"] == pytest.approx(found["recall"].value)
    fingerprints = {evaluation.rows_fingerprint for evaluation in evaluations}
    assert len(fingerprints) == 1 and None not in fingerprints
    features = record.inputs["X_test"]["hash"]
    assert found["recall"].features_fingerprint == features
    assert found["auc"].features_fingerprint == features

    _, evaluations, _ = runs["helper"]
    assert [(e.function, e.metric) for e in evaluations] == [("roc_auc_score", "score")]

    record, evaluations, candidates = runs["loop"]
    assert sorted(e.metric for e in evaluations) == ["aucs.0.1", "aucs.1.0", "aucs.10.0"]
    assert "aucs" not in record.params  # filled by the cell: a result, not a setting
    assert record.metrics["aucs.1.0"] == pytest.approx(_by_metric(evaluations)["aucs.1.0"].value)
    assert [c.params for c in candidates] == [{"C": 0.1}, {"C": 1.0}, {"C": 10.0}]
    assert {c.source for c in candidates} == {"loop"}


def test_a_metric_call_that_raises_shows_the_untracked_traceback(run_notebook: Runner) -> None:
    cells = [
        SETUP,
        "score = roc_auc_score(y_test, [0.5, 0.5])",
        "def evaluate(truth):\n    return accuracy_score(truth, [1] * 3)\nevaluate(y_test)",
        "metrics.roc_auc_score(y_test, model.predict_proba(X_test))",
        # Warnings too: shown as untracked, and once only when Python shows them once.
        "roc_auc_score([0, 0, 0], [0.1, 0.2, 0.3])",
        "roc_auc_score([0, 0, 0], [0.1, 0.2, 0.3])",
    ]
    plain = run_notebook("pass", *cells, allow_errors=True)
    with_track = run_notebook(
        "%load_ext nbmodelbook",
        cells[0],
        *(tracked(cell, f"raises-{index}") for index, cell in enumerate(cells[1:])),
        allow_errors=True,
    )
    assert_same_outputs(plain, with_track)

    def warned(executed: Executed) -> list[int]:
        return [
            index
            for index, cell in enumerate(executed.code_cells())
            for output in cell.get("outputs", [])
            if output.get("name") == "stderr" and "UndefinedMetricWarning" in output.get("text", "")
        ]

    assert warned(with_track) == warned(plain) != []
    runs = _runs(with_track)
    statuses = {name: record.status.value for name, (record, _e, _c) in runs.items()}
    assert statuses == {"raises-0": "error", "raises-1": "error", "raises-2": "error"} | {
        "raises-3": "ok",
        "raises-4": "ok",
    }
    for name in ("raises-0", "raises-1", "raises-2"):
        assert runs[name][1] == []  # a call that raised has nothing to keep


def test_searches_and_cross_validation_keep_every_fold(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        SETUP,
        "%%track grid\n"
        "search = GridSearchCV(\n"
        "    LogisticRegression(max_iter=5000),\n"
        "    {'C': [0.01, 0.1, 1.0, 10.0], 'tol': [1e-4, 1e-3, 1e-2]},\n"
        "    cv=3, scoring='roc_auc',\n"
        ")\n"
        "search.fit(X_train, y_train)",
        "%%track cv\ncross_val_score(model, X_train, y_train, cv=5, scoring='accuracy').mean()",
        "%%track two-scorers\nfrom sklearn.model_selection import cross_validate\n"
        "both = cross_validate(model, X_train, y_train, cv=3, scoring=['accuracy', 'roc_auc'])",
        # Worker processes get the metric pickled: it must pickle as the original.
        "%%track workers\nfrom sklearn.metrics import make_scorer, f1_score\n"
        "f1_folds = cross_val_score(model, X_train, y_train, cv=3, n_jobs=2,\n"
        "                           scoring=make_scorer(f1_score))\n"
        "scorer = make_scorer(f1_score)",
        "import pickle\nprint(type(pickle.loads(pickle.dumps(scorer))._score_func).__name__)",
    )
    assert "nbmodelbook" not in executed.stderr()
    assert "PicklingError" not in executed.stderr()
    printed = executed.code_cells()[-1]["outputs"][0]["text"]
    assert printed == "function\n"
    runs = _runs(executed)
    record, _evaluations, candidates = runs["grid"]
    assert len(candidates) == 12
    assert sum(len(c.fold_scores) for c in candidates) == 36
    assert {c.scorer for c in candidates} == {"roc_auc"}
    assert {c.source for c in candidates} == {"GridSearchCV"}
    chosen = [c for c in candidates if c.chosen]
    assert len(chosen) == 1
    assert chosen[0].params == {
        key.removeprefix("search.best_params."): value
        for key, value in record.params.items()
        if key.startswith("search.best_params.")
    }
    assert chosen[0].mean_score == pytest.approx(record.metrics["search.best_score"])
    assert all(math.isfinite(score) for c in candidates for score in c.fold_scores)

    record, _evaluations, candidates = runs["cv"]
    assert len(candidates) == 1 and len(candidates[0].fold_scores) == 5
    assert candidates[0].scorer == "accuracy"
    assert candidates[0].params["model"] == "LogisticRegression"
    assert record.metrics["cv_accuracy"] == pytest.approx(np.mean(candidates[0].fold_scores))

    record, _evaluations, candidates = runs["two-scorers"]
    assert record.status.value == "ok"
    assert sorted((c.scorer, len(c.fold_scores)) for c in candidates) == [
        ("accuracy", 3),
        ("roc_auc", 3),
    ]
    assert len({(c.group, c.index) for c in candidates}) == 2

    record, _evaluations, candidates = runs["workers"]
    assert record.status.value == "ok" and len(candidates[0].fold_scores) == 3


def test_segments_declared_and_automatic(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        SETUP,
        "meta = pd.DataFrame(\n"
        "    {'site': pd.Categorical(np.where(X_test.index % 2 == 0, 'north', 'south'))},\n"
        "    index=X_test.index,\n"
        ")",
        '%modelbook segments "mean radius"',
        "%%track segmented\n"
        "sites = meta['site'].nunique()\n"
        "auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])",
    )
    _record, evaluations, _ = _runs(executed)["segmented"]
    (evaluation,) = evaluations
    segments = evaluation.segments
    assert set(segments) == {"mean radius", "site"}
    assert segments["site"].source == "automatic"
    assert segments["site"].levels == ["north", "south"]
    assert segments["mean radius"].source == "declared"
    assert len(segments["mean radius"].levels) == 4
    codes = np.asarray(segments["mean radius"].codes)
    assert len(codes) == 143 and set(codes.tolist()) == {0, 1, 2, 3}
    site_codes = np.asarray(segments["site"].codes)
    expected = np.where(executed_index(executed) % 2 == 0, 0, 1)
    np.testing.assert_array_equal(site_codes, expected)


def executed_index(executed: Executed) -> Any:
    """X_test's index, as the kernel split it (same seed, same call)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer(as_frame=True)
    _a, x_test, _b, _c = train_test_split(
        data.data, data.target, test_size=0.25, random_state=0, stratify=data.target
    )
    del executed
    return np.asarray(x_test.index)


def test_above_the_row_bound_a_stratified_sample_is_kept(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        "%config ModelBook.max_evaluation_rows = 1000",
        "%%track big\n"
        "import numpy as np\n"
        "from sklearn.metrics import roc_auc_score\n"
        "rng = np.random.default_rng(0)\n"
        "truth = rng.random(20_000) < 0.1\n"
        "scores = truth * 0.3 + rng.random(20_000)\n"
        "auc = roc_auc_score(truth, scores)",
    )
    record, evaluations, _ = _runs(executed)["big"]
    (evaluation,) = evaluations
    assert evaluation.n == 1000 and evaluation.n_total == 20_000 and evaluation.sampled
    positives = int(np.asarray(evaluation.y_true).sum())
    assert 95 <= positives <= 105  # stratified: the prevalence kept
    assert record.metrics["auc"] == pytest.approx(evaluation.value)


def test_odd_inputs_are_noted_never_a_warning(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        SETUP,
        "%%track odd\n"
        "from scipy import sparse\n"
        "labels = np.where(y_test == 1, 'benign', 'malignant')\n"
        "said = np.where(model.predict(X_test) == 1, 'benign', 'malignant')\n"
        "text_accuracy = accuracy_score(labels, said)\n"
        "Y = sparse.csr_matrix(np.eye(4, dtype=int)[[0, 1, 2, 3, 1]])\n"
        "micro = f1_of(Y, Y, average='micro')",
    )
    assert "nbmodelbook" not in executed.stderr()
    record, evaluations, _ = _runs(executed)["odd"]
    found = _by_metric(evaluations)
    assert list(found) == ["text_accuracy"]
    assert set(np.asarray(found["text_accuracy"].y_true).tolist()) == {"benign", "malignant"}
    assert record.metrics["micro"] == 1.0
    notes = record.extra["evidence_notes"]
    assert len(notes) == 1 and notes[0].startswith("f1_score")


def test_log_predictions_for_what_capture_cannot_see(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        "%%track manual\n"
        "import nbmodelbook as mb\n"
        "truth = [0, 1, 1, 0, 1]\n"
        "scores = [0.1, 0.8, 0.6, 0.3, 0.9]\n"
        "hand_auc = max(scores) + 0.1\n"
        "mb.log_predictions(truth, scores, metric='hand_auc', segments={'g': list('aabba')})",
        "import nbmodelbook as mb\nframes = mb.evaluations('manual')\nsorted(frames)",
    )
    record, evaluations, _ = _runs(executed)["manual"]
    (evaluation,) = evaluations
    assert evaluation.function == "log_predictions"
    assert evaluation.value == pytest.approx(1.0)
    assert evaluation.segments["g"].levels == ["a", "b"]
    assert evaluation.segments["g"].source == "declared"
    shown = executed.code_cells()[-1]["outputs"][-1]["data"]["text/plain"]
    assert shown == "['hand_auc']"
    assert record.metrics["hand_auc"] == pytest.approx(1.0)
