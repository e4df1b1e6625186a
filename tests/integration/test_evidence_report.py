"""What the evidence says about a decision, end to end: small notebooks executed in a real kernel,
their metric calls and searches captured into a real store, then annotated the way a modeller
would, and read back through `nbmodelbook report --format json` and `nbmodelbook check`.

Each notebook builds its own synthetic data with numpy (a few thousand rows at most), so the
figures the assertions rest on are the same on every machine."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell

from nbmodelbook.cli import main
from tests.integration.conftest import Runner

pytestmark = pytest.mark.integration

LOAD = "%load_ext nbmodelbook"

# Two informative features, three of noise; the label follows the informative ones.
LINEAR_DATA = """\
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.metrics import roc_auc_score
rng = np.random.default_rng(7)
X = rng.normal(size=(1200, 5))
y = (X[:, 0] + 0.8 * X[:, 1] + {noise} * rng.normal(size=1200) > 0).astype(int)
X_train, X_test, y_train, y_test = X[:800], X[800:], y[:800], y[800:]
"""

RISK = "> [!RISK] Synthetic data: nothing here is measured on a real population."


@dataclass
class Reviewed:
    """An executed, annotated notebook and what the two commands said about it."""

    payload: dict[str, Any]
    check: dict[str, Any]
    check_exit: int
    check_text: str

    def run_id(self, name: str) -> str:
        [run_id] = [run["run_id"] for run in self.payload["runs"] if run["name"] == name]
        return str(run_id)

    def name_of(self, run_id: str) -> str:
        [name] = [run["name"] for run in self.payload["runs"] if run["run_id"] == run_id]
        return str(name)

    def findings(self, code: str) -> list[dict[str, Any]]:
        return [finding for finding in self.payload["findings"] if finding["code"] == code]

    def check_items(self, code: str) -> list[dict[str, Any]]:
        return [item for item in self.check["items"] if item["code"] == code]

    def comparison_with(self, name: str) -> dict[str, Any]:
        other = self.run_id(name)
        [comparison] = [c for c in self.payload["comparisons"] if c["other_run_id"] == other]
        return dict(comparison)

    def evaluation(self, name: str, metric: str) -> dict[str, Any]:
        [run] = [run for run in self.payload["runs"] if run["name"] == name]
        [found] = [e for e in run["evaluations"] if e["metric"] == metric]
        return dict(found)

    def assert_check_agrees_with_report(self) -> None:
        """`check` lists every finding of the report, blocking exactly the HIGH ones, and its
        exit status follows from the blocking items."""
        for finding in self.payload["findings"]:
            items = self.check_items(finding["code"])
            assert items, f"{finding['code']} is in the report but not in `check`"
            assert finding["message"] in self.check_text
            assert all(item["blocking"] == (finding["severity"] == "high") for item in items)
        blocking = any(item["blocking"] for item in self.check["items"])
        assert self.check_exit == (1 if blocking else 0)
        assert self.check["ready"] is not blocking


def review(
    run_notebook: Runner,
    capsys: pytest.CaptureFixture[str],
    cells: list[str | tuple[str, list[str]]],
    annotations: list[str],
) -> Reviewed:
    """Execute `cells` in a fresh kernel, append `annotations` as markdown cells (as a modeller
    writes them after the runs), then run `report --format json` and `check` on the notebook."""
    executed = run_notebook(LOAD, *cells)
    assert "nbmodelbook" not in executed.stderr(), executed.stderr()
    notebook = nbformat.read(executed.path, as_version=4)
    notebook.cells.extend(new_markdown_cell(text) for text in annotations)
    nbformat.write(notebook, executed.path)
    store = str(executed.store_path)
    out = executed.path.with_suffix(".review.json")
    capsys.readouterr()
    report_args = ["report", str(executed.path), "--store", store, "--format", "json"]
    assert main([*report_args, "-o", str(out)]) == 0
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["schema"] == "nbmodelbook.review/1"
    capsys.readouterr()
    check_exit = main(["check", str(executed.path), "--store", store, "--format", "json"])
    check = json.loads(capsys.readouterr().out)
    text_exit = main(["check", str(executed.path), "--store", store])
    check_text = capsys.readouterr().out
    assert text_exit == check_exit
    return Reviewed(payload, check, check_exit, check_text)


# --- (a) and (b): is the chosen model's lead real? -----------------------------------------------

FULL = (
    "%%track full\n"
    "model = LogisticRegression().fit(X_train, y_train)\n"
    "auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])"
)
NOISE_ONLY = (
    "%%track noise-only\n"
    "model = LogisticRegression().fit(X_train[:, 2:], y_train)\n"
    "auc = roc_auc_score(y_test, model.predict_proba(X_test[:, 2:])[:, 1])"
)
NAIVE_BAYES = (
    "%%track naive-bayes\n"
    "model = GaussianNB().fit(X_train, y_train)\n"
    "auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])"
)


def test_a_lead_that_is_real_is_called_significantly_better(
    run_notebook: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    reviewed = review(
        run_notebook,
        capsys,
        [LINEAR_DATA.format(noise=0.5), FULL, NOISE_ONLY],
        [
            "> [!DECISION] Logistic regression on every feature\n"
            "> We chose run:full over run:noise-only: it ranks the test cases better. metric:auc",
            RISK,
        ],
    )
    payload = reviewed.payload
    assert reviewed.name_of(payload["chosen"]["run_id"]) == "full"
    assert payload["chosen"]["metric"] == "auc"
    assert payload["chosen"]["interval"]["method"] == "DeLong"
    comparison = reviewed.comparison_with("noise-only")
    assert comparison["method"] == "DeLong paired"
    assert comparison["n"] == 400  # paired on the 400 test rows both runs were scored on
    assert comparison["interval"]["low"] > 0 and comparison["p_value"] < 0.001
    assert comparison["verdict"] == "significantly better"
    assert not reviewed.findings("margin-not-significant")
    assert not reviewed.check_items("margin-not-significant")
    reviewed.assert_check_agrees_with_report()


def test_a_lead_within_the_noise_is_not_distinguishable_and_audited(
    run_notebook: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    reviewed = review(
        run_notebook,
        capsys,
        [LINEAR_DATA.format(noise=1.0), FULL, NAIVE_BAYES],
        [
            "> [!DECISION] Logistic regression on every feature\n"
            "> We chose run:full over run:naive-bayes: it has the better test AUC. metric:auc",
            RISK,
        ],
    )
    payload = reviewed.payload
    full = reviewed.evaluation("full", "auc")
    naive_bayes = reviewed.evaluation("naive-bayes", "auc")
    assert full["value"] > naive_bayes["value"]  # the point values do favour the choice
    comparison = reviewed.comparison_with("naive-bayes")
    assert comparison["interval"]["low"] < 0 < comparison["interval"]["high"]
    assert comparison["p_value"] > 0.05
    assert comparison["verdict"] == "not distinguishable"
    [finding] = reviewed.findings("margin-not-significant")
    assert set(finding["run_ids"]) == {payload["chosen"]["run_id"], reviewed.run_id("naive-bayes")}
    assert reviewed.check_items("margin-not-significant")
    reviewed.assert_check_agrees_with_report()


# --- (c): where does it fail? --------------------------------------------------------------------

SEGMENT_DATA = """\
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
rng = np.random.default_rng(3)
n = 1800
frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x0", "x1", "x2"])
frame["region"] = pd.Categorical(rng.choice(["north", "south", "east"], size=n))
signal = frame["x0"] + frame["x1"] + 0.3 * rng.normal(size=n) > 0
coin = pd.Series(rng.random(n) < 0.5, index=frame.index)
# In the east the label is a coin toss: no model can rank those cases.
label = signal.where(frame["region"] != "east", coin).astype(int)
FEATURES = ["x0", "x1", "x2"]
X_train, X_test = frame.iloc[:1200], frame.iloc[1200:]
y_train, y_test = label.iloc[:1200], label.iloc[1200:]
"""
SEGMENTED_MODEL = (
    "%%track logreg\n"
    "model = LogisticRegression().fit(X_train[FEATURES], y_train)\n"
    "auc = roc_auc_score(y_test, model.predict_proba(X_test[FEATURES])[:, 1])"
)
ONE_FEATURE = (
    "%%track one-feature\n"
    'model = LogisticRegression().fit(X_train[["x2"]], y_train)\n'
    'auc = roc_auc_score(y_test, model.predict_proba(X_test[["x2"]])[:, 1])'
)


def test_a_segment_the_model_cannot_rank_is_a_weakness(
    run_notebook: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    reviewed = review(
        run_notebook,
        capsys,
        [SEGMENT_DATA, SEGMENTED_MODEL, ONE_FEATURE],
        [
            "> [!DECISION] Logistic regression\n"
            "> We chose run:logreg over run:one-feature. metric:auc",
            RISK,
        ],
    )
    payload = reviewed.payload
    assert reviewed.name_of(payload["chosen"]["run_id"]) == "logreg"
    evaluation = reviewed.evaluation("logreg", "auc")
    by_level = {s["level"]: s for s in evaluation["segments"] if s["column"] == "region"}
    assert set(by_level) == {"north", "south", "east"}
    assert sum(s["n"] for s in by_level.values()) == 600
    east = by_level["east"]
    # The east's interval lies wholly below the overall figure; the other regions' do not.
    assert east["interval"]["high"] < evaluation["value"]
    assert by_level["north"]["interval"]["high"] > evaluation["value"]
    assert by_level["south"]["interval"]["high"] > evaluation["value"]
    [finding] = reviewed.findings("weak-segment")
    assert payload["chosen"]["run_id"] in finding["run_ids"]
    assert "region" in finding["message"] and "east" in finding["message"]
    assert "north" not in finding["message"] and "south" not in finding["message"]
    assert reviewed.check_items("weak-segment")
    reviewed.assert_check_agrees_with_report()


# --- (d): did the search look far enough? --------------------------------------------------------

SEARCH_DATA = """\
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.tree import DecisionTreeClassifier
from sklearn.metrics import roc_auc_score
rng = np.random.default_rng(11)
X = rng.normal(size=(1000, 4))
# A sum of four features: every extra level of depth helps a tree.
y = (X.sum(axis=1) + 0.2 * rng.normal(size=1000) > 0).astype(int)
X_train, X_test, y_train, y_test = X[:700], X[700:], y[:700], y[700:]
"""
EDGE_SEARCH = (
    "%%track tree-search\n"
    "search = GridSearchCV(\n"
    "    DecisionTreeClassifier(random_state=0), {'max_depth': [1, 2, 3]}, cv=3\n"
    ").fit(X_train, y_train)\n"
    "auc = roc_auc_score(y_test, search.predict_proba(X_test)[:, 1])"
)
STUMP = (
    "%%track stump\n"
    "model = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X_train, y_train)\n"
    "auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])"
)


def test_a_refit_choice_on_the_edge_of_its_grid_is_audited(
    run_notebook: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    reviewed = review(
        run_notebook,
        capsys,
        [SEARCH_DATA, EDGE_SEARCH, STUMP],
        [
            "> [!DECISION] A tuned decision tree\n"
            "> We chose run:tree-search over run:stump. metric:auc",
            RISK,
        ],
    )
    payload = reviewed.payload
    search = reviewed.run_id("tree-search")
    assert payload["chosen"]["run_id"] == search
    [run] = [run for run in payload["runs"] if run["run_id"] == search]
    candidates = run["candidates"]
    assert sorted(c["params"]["max_depth"] for c in candidates) == [1, 2, 3]
    [refit] = [c for c in candidates if c["chosen"]]
    assert refit["params"]["max_depth"] == 3  # the deepest tree the grid allowed
    assert payload["search_effort"]["candidates"] >= 3
    [finding] = reviewed.findings("best-on-grid-edge")
    assert finding["run_ids"] == [search]
    assert "max_depth" in finding["message"]
    assert reviewed.check_items("best-on-grid-edge")
    reviewed.assert_check_agrees_with_report()


def test_a_refit_choice_inside_its_grid_is_not_on_the_edge(
    run_notebook: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = EDGE_SEARCH.replace("[1, 2, 3]", "[1, 2, 3, 12, 40]")
    reviewed = review(
        run_notebook,
        capsys,
        [SEARCH_DATA, inside, STUMP],
        [
            "> [!DECISION] A tuned decision tree\n"
            "> We chose run:tree-search over run:stump. metric:auc",
            RISK,
        ],
    )
    [run] = [run for run in reviewed.payload["runs"] if run["name"] == "tree-search"]
    [refit] = [c for c in run["candidates"] if c["chosen"]]
    # Deep trees overfit 700 rows: the refit choice is an interior depth.
    assert refit["params"]["max_depth"] not in (1, 40)
    assert not reviewed.findings("best-on-grid-edge")
    assert not reviewed.check_items("best-on-grid-edge")


# --- (e): was the rejected alternative ever evaluated? -------------------------------------------

BAD_PENALTY = (
    "%%track logreg-l3\n"
    'model = LogisticRegression(penalty="l3").fit(X_train, y_train)\n'
    "auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])",
    ["raises-exception"],
)


def test_a_rejection_of_a_run_that_failed_on_its_own_arguments_is_audited(
    run_notebook: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    reviewed = review(
        run_notebook,
        capsys,
        [LINEAR_DATA.format(noise=0.5), FULL, BAD_PENALTY, NOISE_ONLY],
        [
            "> [!DECISION] Logistic regression on every feature\n"
            "> We chose run:full over run:noise-only. metric:auc",
            "> [!REJECTED] run:logreg-l3: the L3 penalty does not help.",
            "> [!REJECTED] run:noise-only: the noise features alone cannot rank the cases.",
            RISK,
        ],
    )
    payload = reviewed.payload
    [failed] = [run for run in payload["runs"] if run["name"] == "logreg-l3"]
    assert failed["status"] == "error" and not failed["evaluations"]
    [finding] = reviewed.findings("rejected-on-usage-error")
    # Only the rejection of the run that never trained: the other one rests on an evaluation.
    assert finding["run_ids"] == [failed["run_id"]]
    # It says what the call got wrong (scikit-learn's InvalidParameterError, a ValueError).
    assert "InvalidParameterError" in finding["message"]
    assert "'penalty'" in finding["message"] and "'l3'" in finding["message"]
    assert reviewed.check_items("rejected-on-usage-error")
    reviewed.assert_check_agrees_with_report()
