"""Parameter tables as a reviewer reads them: the defining hyperparameters first, no false
differences, and "not applicable" where a run's model family has no such parameter.

The runs' params are what the tracker records for real scikit-learn models (its inspector over
`get_params()`), not hand-written dictionaries.
"""

from __future__ import annotations

from typing import Any

import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nbmodelbook.capture.models import inspect_model
from nbmodelbook.record import RunRecord
from nbmodelbook.report.compare import compare_runs
from nbmodelbook.report.comparison import build_comparison
from nbmodelbook.report.model import ParamRow, Review
from nbmodelbook.report.param_order import DEFINING, is_bookkeeping
from nbmodelbook.report.render_html import render_html
from nbmodelbook.report.render_markdown import render_markdown
from nbmodelbook.report.view import NOT_APPLICABLE, NOT_SET, param_cells
from nbmodelbook.widgets import compare_html
from tests.report.test_audit import SAME_DATA, annotation, review_of, saved_cell, tracked_run
from tests.widgets._html import Page


def recorded(variable: str, model: object, **more: Any) -> dict[str, Any]:
    """The params the tracker records for `variable = model` (class, then `variable.*`)."""
    found = inspect_model(model)
    assert found is not None
    model_class, hyper = found
    params: dict[str, Any] = {variable: model_class.rsplit(".", 1)[-1]}
    params.update({f"{variable}.{key}": value for key, value in hyper.items()})
    return {**params, **more}


def run(index: int, name: str, params: dict[str, Any], auc: float = 0.9) -> RunRecord:
    return tracked_run(index, name, params=params, metrics={"auc": auc}, inputs=SAME_DATA)


def logreg(index: int = 1, **more: Any) -> RunRecord:
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    return run(index, "logreg", recorded("model", pipeline, C=1.0, **more))


def forest(index: int = 2, name: str = "rf-500", **settings: Any) -> RunRecord:
    model = RandomForestClassifier(n_estimators=500, max_depth=8, n_jobs=1, **settings)
    return run(index, name, recorded("model", model), auc=0.88)


def boosting(index: int = 3) -> RunRecord:
    model = GradientBoostingClassifier(learning_rate=0.3, n_estimators=150, random_state=0)
    return run(index, "gbm", recorded("model", model), auc=0.89)


def rows_by_name(runs: list[RunRecord]) -> dict[str, ParamRow]:
    return {row.name: row for row in compare_runs(runs).params}


# --- order ------------------------------------------------------------------------------------


def test_the_model_and_its_defining_params_come_first_bookkeeping_last() -> None:
    names = [row.name for row in compare_runs([forest(1), boosting(2)]).params]
    assert names[0] == "model"
    # The first run's family (a forest) first, in the registry's order, then the boosting's own.
    forest_defining = [
        f"model.{name}" for name in DEFINING["RandomForestClassifier"] if f"model.{name}" in names
    ]
    assert names[1 : 1 + len(forest_defining)] == forest_defining
    assert names[1:4] == ["model.n_estimators", "model.max_depth", "model.max_features"]
    after = names[1 + len(forest_defining) :]
    assert after[:3] == ["model.learning_rate", "model.subsample", "model.loss"]
    bookkeeping = [name for name in names if is_bookkeeping(name)]
    assert set(bookkeeping) >= {"model.random_state", "model.verbose", "model.n_jobs"}
    assert names[-len(bookkeeping) :] == sorted(bookkeeping, key=str.casefold)
    middle = names[1 + len(forest_defining) + 3 : -len(bookkeeping)]
    assert middle == sorted(middle, key=str.casefold)  # the rest alphabetically
    assert "model.ccp_alpha" in middle


def test_a_pipelines_final_estimator_is_read_by_its_family() -> None:
    names = [row.name for row in compare_runs([logreg(1), forest(2)]).params]
    assert names[:2] == ["model", "model.final_estimator"]
    assert names[2:6] == [
        "model.logisticregression__C",
        "model.logisticregression__penalty",
        "model.logisticregression__l1_ratio",
        "model.logisticregression__solver",
    ]
    assert names.index("model.logisticregression__verbose") > names.index("model.steps")


# --- no false differences -----------------------------------------------------------------


def test_off_spelled_false_or_zero_is_no_difference() -> None:
    # A pipeline's `verbose=False` and a forest's `verbose=0` are the same setting.
    rows = rows_by_name([logreg(1), forest(2)])
    assert rows["model.verbose"].values == (False, 0)
    assert not rows["model.verbose"].differs


@pytest.mark.parametrize(("left", "right"), [(False, 0), (True, 1), ([1, 2], (1, 2))])
def test_values_equal_by_value_are_no_difference(left: Any, right: Any) -> None:
    first = run(1, "a", {"threshold": left, "depth": 3})
    second = run(2, "b", {"threshold": right, "depth": 4})
    rows = rows_by_name([first, second])
    assert not rows["threshold"].differs
    assert rows["depth"].differs
    assert rows_by_name([first, run(3, "c", {"threshold": 2, "depth": 3})])["threshold"].differs


@pytest.mark.parametrize(("left", "right"), [(1, 1.0), ([1, 2], [1.0, 2])])
def test_an_int_and_a_float_of_one_value_are_different_settings(left: Any, right: Any) -> None:
    """`max_features=1` is one feature to a forest, `max_features=1.0` all of them."""
    rows = rows_by_name([run(1, "a", {"threshold": left}), run(2, "b", {"threshold": right})])
    assert rows["threshold"].differs


def test_bookkeeping_differs_within_a_family_not_across_families() -> None:
    # A forest's n_jobs=1 against a boosting's missing n_jobs, their seeds 0 and None: no
    # difference between families; two forests with different seeds do differ.
    across = rows_by_name([forest(1), boosting(2)])
    assert across["model.random_state"].values == (None, 0)
    assert not across["model.random_state"].differs
    within = rows_by_name([forest(1, random_state=0), forest(2, "rf-seed-1", random_state=1)])
    assert within["model.random_state"].differs
    assert [name for name, row in within.items() if row.differs] == ["model.random_state"]


# --- not applicable against not set --------------------------------------------------------


def test_a_family_without_the_param_is_not_applicable_a_run_without_it_not_set() -> None:
    runs = [logreg(1), boosting(2), forest(3)]
    rows = rows_by_name(runs)
    width = len(runs)
    # Only forests have `bootstrap`; only the logistic regression's notebook set `C`.
    assert param_cells(rows["model.bootstrap"], width) == [NOT_APPLICABLE, NOT_APPLICABLE, "True"]
    assert param_cells(rows["C"], width) == ["1", NOT_SET, NOT_SET]
    assert rows["C"].differs  # set by one run and not by another
    # Both ensembles have min_samples_leaf=1: the logistic regression has none, no difference.
    assert param_cells(rows["model.min_samples_leaf"], width) == [NOT_APPLICABLE, "1", "1"]
    assert not rows["model.min_samples_leaf"].differs
    assert param_cells(rows["model.n_estimators"], width) == [NOT_APPLICABLE, "150", "500"]
    assert rows["model.n_estimators"].differs


def test_a_run_that_recorded_no_model_has_the_params_not_set() -> None:
    failed = run(2, "failed-early", {"C": 0.1})  # it stopped before building its model
    rows = rows_by_name([logreg(1), failed])
    assert param_cells(rows["model.logisticregression__C"], 2) == ["1", NOT_SET]


def decision_review() -> Review:
    runs = [logreg(1), boosting(2), forest(3)]
    chose = "We chose run:logreg over run:gbm and run:rf-500."
    decision = annotation("DECISION", "Logistic", chose)
    return review_of(*map(saved_cell, runs), decision, runs=runs)


def test_the_report_tables_show_only_real_differences() -> None:
    review = decision_review()
    markdown, _files = render_markdown(review, None)
    visible = markdown[markdown.index("#### Parameters that differ") :]
    visible = visible[: visible.index("<details>")]
    table = [line for line in visible.splitlines() if line.startswith("| `")]
    assert [line.split("|")[1].strip() for line in table] == [
        "`model`",
        "`model.n_estimators`",
        "`model.max_depth`",
        "`model.max_features`",
        "`model.criterion`",
    ]
    assert "| `model.n_estimators` | not applicable | 150 | 500 |" in visible
    assert "verbose" not in visible and "random_state" not in visible
    assert "(not set)" not in visible
    html = Page(render_html(review))
    # The full table: one cell per run, then "Same in all?".
    full = {row[0]: row for row in html.table() if len(row) == 5 and row[0].startswith("model.")}
    assert full["model.bootstrap"][1:4] == ["not applicable", "not applicable", "True"]
    assert full["model.bootstrap"][-1] == "only one run's model has it"
    assert full["model.min_samples_leaf"][-1] == "yes, where it applies"
    assert full["model.verbose"][1:] == ["False", "0", "0", "yes"]


def test_the_compare_widget_agrees_with_the_report() -> None:
    comparison = build_comparison([logreg(1), boosting(2), forest(3)])
    differing = [row.name for row in comparison.params()]
    assert differing == [
        "model",
        "model.n_estimators",
        "model.max_depth",
        "model.max_features",
        "model.criterion",
        "C",  # set by one run only: a difference the report lists in its full table
    ]
    table = Page(compare_html.params_html(comparison, only_differences=False)).table()
    by_name = {row[0].removeprefix("≠ "): row[1:] for row in table[1:]}
    assert by_name["model.bootstrap"] == [NOT_APPLICABLE, NOT_APPLICABLE, "True"]
    assert by_name["C"] == ["1", NOT_SET, NOT_SET]


def test_what_is_recorded_beside_a_model_is_not_set_not_inapplicable() -> None:
    # A search's best params and a call's argument sit under the model's name but are no
    # params of its family: a run without them did not record them.
    searched = run(1, "search", {**recorded("model", RandomForestClassifier())})
    searched.params["model.best_params.max_depth"] = 4
    searched.params["model.fit.sample_weight"] = "balanced"
    plain = run(2, "plain", recorded("model", RandomForestClassifier()))
    rows = rows_by_name([searched, plain])
    assert param_cells(rows["model.best_params.max_depth"], 2) == ["4", NOT_SET]
    assert param_cells(rows["model.fit.sample_weight"], 2) == ["balanced", NOT_SET]
    assert param_cells(rows["model.bootstrap"], 2) == ["True", "True"]


def test_bookkeeping_that_differs_across_families_is_not_called_the_same() -> None:
    from nbmodelbook.report.model import ParamRow
    from nbmodelbook.report.view import param_sameness

    across = ParamRow("model.random_state", (0, 42), False, (True, True))
    assert param_sameness(across, 2) == "no, but only across model families (bookkeeping)"
    assert param_sameness(ParamRow("model.C", (1, True), False, (True, True)), 2) == "yes"
