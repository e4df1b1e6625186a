"""The review's evidence figures end to end: a notebook executed in a real kernel, its metric
calls captured, and `nbmodelbook report NB --format json` comparing the runs its decision cites."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell

from nbmodelbook.cli import main
from tests.integration.conftest import Runner

pytestmark = pytest.mark.integration

SETUP = """\
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
from sklearn.metrics import roc_auc_score
X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y
)
"""
LOGREG = (
    "%%track logreg\n"
    "model = LogisticRegression(max_iter=5000).fit(X_train, y_train)\n"
    "auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])"
)
STUMP = (
    "%%track stump\n"
    "model = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X_train, y_train)\n"
    "auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])"
)
DECISION = (
    "> [!DECISION] Logistic regression\n"
    "> We chose run:logreg over run:stump: it ranks the cases better. metric:auc"
)


def test_json_report_compares_the_cited_runs(
    run_notebook: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    executed = run_notebook("%load_ext nbmodelbook", SETUP, LOGREG, STUMP)
    assert "nbmodelbook" not in executed.stderr()
    notebook = nbformat.read(executed.path, as_version=4)
    notebook.cells.append(new_markdown_cell(DECISION))
    nbformat.write(notebook, executed.path)
    out = executed.path.with_name("model.review.json")
    store = str(executed.store_path)
    assert (
        main(["report", str(executed.path), "--store", store, "--format", "json", "-o", str(out)])
        == 0
    )
    assert capsys.readouterr().out.strip() == str(out)
    payload = json.loads(out.read_text())
    assert payload["schema"] == "nbmodelbook.review/1"
    names = {run["run_id"]: run["name"] for run in payload["runs"]}
    assert names[payload["chosen"]["run_id"]] == "logreg"
    assert payload["chosen"]["metric"] == "auc"
    assert payload["chosen"]["interval"]["method"] == "DeLong"
    [comparison] = payload["comparisons"]
    assert names[comparison["other_run_id"]] == "stump"
    assert comparison["method"] == "DeLong paired"
    assert comparison["difference"] > 0 and comparison["p_value"] < 0.05
    assert comparison["verdict"] == "significantly better"
    assert payload["baseline"]["value"] == 0.5
    assert payload["search_effort"]["runs"] == 2
