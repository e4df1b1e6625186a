"""`browse()` and `compare()` in a real kernel, on runs recorded by really executing tracked cells.

One notebook is executed once (nbclient, a fresh IPython kernel, a throwaway store): a frame,
a logistic regression, two random forests (the second on the frame with a column dropped),
a tracked cell that fails, then cells that open the widgets and print what they show as JSON.
The tests read those prints, the cells' outputs and the store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.integration.conftest import KERNEL_TIMEOUT, Executed, kernel_env, make_notebook
from tests.widgets._html import Page

pytestmark = pytest.mark.integration

SETUP = """\
import json
import numpy as np
import pandas as pd
import nbmodelbook as mb
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score, brier_score_loss"""

DATA = """\
rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=['income', 'debt', 'age'])
target = (frame['income'] - frame['debt'] + rng.normal(scale=0.8, size=300) > 0).astype(int)
X = frame"""

LOGREG = """\
%%track logreg --tag linear
C = 0.5
model = LogisticRegression(C=C, max_iter=500)
model.fit(X, target)
proba = model.predict_proba(X)[:, 1]
auc = roc_auc_score(target, proba)
brier = brier_score_loss(target, proba)"""

FOREST = """\
%%track {name} --tag forest
n_estimators = {n_estimators}
model = RandomForestClassifier(n_estimators=n_estimators, max_depth=3, random_state=0)
model.fit(X, target)
proba = model.predict_proba(X)[:, 1]
auc = roc_auc_score(target, proba)
brier = brier_score_loss(target, proba)"""

BROKEN = """\
%%track broken --tag forest
n_estimators = -1
RandomForestClassifier(n_estimators=n_estimators).fit(X, target)"""

BROWSE = """\
browser = mb.browse()
print(json.dumps({
    'position': browser.position.value,
    'columns': [column['key'] for column in browser.table.columns],
    'rows': [row['cells'] for row in browser.table.rows],
    'failed': [row['failed'] for row in browser.table.rows],
    'ids': [row['id'] for row in browser.table.rows],
    'all_notebooks': browser.all_notebooks.value,
    'message': browser.message.value,
}))"""

SELECT = """\
chosen = [row['id'] for row in browser.table.rows if not row['failed']]
browser.select(chosen)
view = browser.comparison.children[0]
view.charts.wait(60)
print(json.dumps({
    'view': type(view).__name__,
    'ids': [run.run_id for run in view.comparison.runs],
    'charts': [sorted(output['data']) for output in view.charts.outputs],
}))"""

COMPARE = """\
view = mb.compare('forest', 'forest-small', 'logreg')
view.charts.wait(60)
print(json.dumps({
    'view': type(view).__name__,
    'labels': view.comparison.labels,
    'data': [difference.sentence for difference in view.comparison.data],
    'html': [child.value for child in view.children if isinstance(child, mb_widgets.HTML)],
    'charts': [sorted(output['data']) for output in view.charts.outputs],
}))"""

TYPO = "mb.compare('forest-smal', 'logreg')"

# The column is dropped inside the tracked cell: the frame read before the cell ran is the
# full one; only the fitted model knows it saw one feature fewer.
FOREST_INLINE_DROP = """\
%%track forest-inline --tag forest
n_estimators = 30
model = RandomForestClassifier(n_estimators=n_estimators, max_depth=3, random_state=0)
model.fit(frame.drop(columns=['debt']), target)"""

COMPARE_INLINE = """\
view = mb.compare('forest', 'forest-inline')
print(json.dumps({'data': [difference.sentence for difference in view.comparison.data]}))"""

CELLS: list[str | tuple[str, list[str]]] = [
    "%load_ext nbmodelbook",
    SETUP + "\nimport ipywidgets as mb_widgets",
    DATA,
    LOGREG,
    FOREST.format(name="forest", n_estimators=30),
    "X = frame.drop(columns=['age'])",
    FOREST.format(name="forest-small", n_estimators=10),
    (BROKEN, ["raises-exception"]),
    BROWSE,
    "browser",
    SELECT,
    COMPARE,
    (TYPO, ["raises-exception"]),
    FOREST_INLINE_DROP,
    COMPARE_INLINE,
]
BROWSE_CELL, DISPLAY_CELL, SELECT_CELL, COMPARE_CELL, TYPO_CELL = 8, 9, 10, 11, 12
COMPARE_INLINE_CELL = 14


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Executed:
    """The notebook, executed once for every test here (as `run_notebook` executes one)."""
    folder = tmp_path_factory.mktemp("kernel")
    notebook = make_notebook(*CELLS)
    path = folder / "models.ipynb"
    store_path = folder / "store" / "runs.sqlite"
    nbformat.write(notebook, path)
    client = NotebookClient(
        notebook, timeout=KERNEL_TIMEOUT, resources={"metadata": {"path": str(folder)}}
    )
    try:
        client.execute(env=kernel_env(store_path, path))
    finally:
        nbformat.write(notebook, path)
    return Executed(notebook, path, store_path)


def printed(executed: Executed, index: int) -> dict[str, Any]:
    cell = executed.code_cells()[index]
    [text] = [
        output["text"]
        for output in cell.outputs
        if output["output_type"] == "stream" and output["name"] == "stdout"
    ]
    found: dict[str, Any] = json.loads(text)
    return found


def runs_by_name(executed: Executed) -> dict[str, Any]:
    store = executed.store()
    summaries = store.run_summaries(notebook=str(executed.path))
    return {row["name"]: row for row in summaries}


def test_the_cells_recorded_runs(executed: Executed) -> None:
    runs = runs_by_name(executed)
    assert set(runs) == {"logreg", "forest", "forest-small", "broken", "forest-inline"}
    assert {name: run["status"] for name, run in runs.items()} == {
        "logreg": "ok",
        "forest": "ok",
        "forest-small": "ok",
        "broken": "error",
        "forest-inline": "ok",
    }
    for name in ("logreg", "forest", "forest-small"):
        assert 0.5 < runs[name]["metrics"]["auc"] <= 1.0  # computed: a metric
        assert 0.0 <= runs[name]["metrics"]["brier"] < 0.5
    assert runs["forest"]["params"]["n_estimators"] == 30  # a literal: a param
    assert runs["forest-small"]["params"]["n_estimators"] == 10
    assert runs["logreg"]["params"]["C"] == 0.5
    assert runs["broken"]["error_type"] in ("InvalidParameterError", "ValueError")


def test_browse_shows_this_notebooks_runs_newest_first(executed: Executed) -> None:
    shown = printed(executed, BROWSE_CELL)
    assert shown["position"] == "1–4 of 4 runs"
    assert shown["message"] == ""
    assert shown["all_notebooks"] is False  # this notebook's runs
    assert [row[0] for row in shown["rows"]] == ["broken", "forest-small", "forest", "logreg"]
    assert [row[1] for row in shown["rows"]] == ["error", "ok", "ok", "ok"]
    assert shown["failed"] == [True, False, False, False]
    columns = shown["columns"]
    assert columns[:7] == [
        "name",
        "status",
        "tags",
        "started_at",
        "duration",
        "metrics.auc",
        "metrics.brier",
    ]
    assert "notebook" not in columns and "user" not in columns
    runs = runs_by_name(executed)
    auc = columns.index("metrics.auc")
    assert shown["rows"][2][auc] == f"{runs['forest']['metrics']['auc']:.6g}"
    assert shown["rows"][0][auc] == ""  # the failed run computed nothing
    assert shown["rows"][1][2] == "forest"  # its tag
    assert all(isinstance(cell, str) for row in shown["rows"] for cell in row)


def test_browse_columns_show_the_param_that_was_changed(executed: Executed) -> None:
    columns = printed(executed, BROWSE_CELL)["columns"]
    assert "params.model" in columns  # LogisticRegression vs RandomForestClassifier
    assert "params.n_estimators" in columns  # 30 vs 10: what the person changed


def test_browse_displays_as_a_widget(executed: Executed) -> None:
    [output] = executed.code_cells()[DISPLAY_CELL].outputs
    assert output["output_type"] == "execute_result"
    assert output["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]


def test_selecting_runs_in_the_browser_builds_a_comparison(executed: Executed) -> None:
    shown = printed(executed, SELECT_CELL)
    assert shown["view"] == "CompareView"
    browsed = printed(executed, BROWSE_CELL)
    ok = [
        run_id
        for run_id, failed in zip(browsed["ids"], browsed["failed"], strict=True)
        if not failed
    ]
    assert len(ok) == 3 and shown["ids"] == ok
    assert ["application/vnd.vegalite.v5+json", "text/plain"] in shown["charts"]


def test_compare_by_name(executed: Executed) -> None:
    shown = printed(executed, COMPARE_CELL)
    assert shown["view"] == "CompareView"
    assert shown["labels"] == ["forest", "forest-small", "logreg"]
    assert shown["charts"] == [["application/vnd.vegalite.v5+json", "text/plain"]]


def test_compare_says_which_column_is_missing(executed: Executed) -> None:
    dropped, same = printed(executed, COMPARE_CELL)["data"]
    assert dropped == (
        "forest and forest-small were trained on different data: "
        "`X`: column `age` missing in forest-small."
    )
    assert same == "forest and logreg used the same data."
    html = "".join(printed(executed, COMPARE_CELL)["html"])
    assert "column <code>age</code> missing in forest-small" in html


def test_compare_shows_the_changed_line(executed: Executed) -> None:
    html = printed(executed, COMPARE_CELL)["html"]
    [code] = [part for part in html if "nbmb-code-diff" in part]
    rows = Page(code).table()
    assert ["2", "", "-", "n_estimators = 30"] in rows
    assert ["", "2", "+", "n_estimators = 10"] in rows
    assert ["", "3", "+", "model = LogisticRegression(C=C, max_iter=500)"] in rows
    unchanged = "model = RandomForestClassifier(n_estimators=n_estimators, max_depth=3, "
    assert ["3", "3", "", unchanged + "random_state=0)"] in rows
    assert "forest → forest-small" in Page(code).text


def test_compare_marks_the_best_metric(executed: Executed) -> None:
    html = printed(executed, COMPARE_CELL)["html"]
    [metrics] = [part for part in html if "★ marks the best value" in part]
    header, *rows = Page(metrics).rows
    labels = [text for _, text in header[1:]]
    assert labels == ["forest", "forest-small", "logreg"]
    runs = runs_by_name(executed)
    for row in rows:
        name = row[0][1].split()[0]
        values = [runs[label]["metrics"][name] for label in labels]
        best = min(values) if name == "brier" else max(values)
        starred = [labels[index] for index, cell in enumerate(row[1:]) if "★" in cell[1]]
        assert starred == [labels[values.index(best)]], name
        assert "nbmb-best" in row[1 + values.index(best)][0]
    assert [row[0][1] for row in rows] == [
        "auc (headline) higher is better",
        "brier lower is better",
    ]


def test_a_mistyped_name_suggests_the_close_one(executed: Executed) -> None:
    [error] = [
        output
        for output in executed.code_cells()[TYPO_CELL].outputs
        if output["output_type"] == "error"
    ]
    assert error["ename"] == "UnknownRunError"
    assert "'forest-smal' (did you mean 'forest-small'" in error["evalue"]
    assert str(Path(executed.store_path)) in error["evalue"]


def test_compare_sees_data_changed_inside_the_tracked_cell(executed: Executed) -> None:
    (difference,) = printed(executed, COMPARE_INLINE_CELL)["data"]
    assert difference.startswith(
        "forest and forest-inline were trained on different features: "
        "feature `debt` missing in forest-inline; "
    )
