"""One rule decides when a metric is charted against the one param that varies, and the compare
widget follows it: the same runs get the same chart (or none) there and in the report."""

from __future__ import annotations

from typing import Any

import pytest

from nbmodelbook.record import RunRecord
from nbmodelbook.report.comparison import build_comparison
from nbmodelbook.report.labels import run_labels
from nbmodelbook.report.sweep import sweep_parameter, sweep_rows
from nbmodelbook.widgets.charts import VEGALITE_V5_MIME, comparison_charts
from tests.widgets._runs import record


def sweep(values: list[Any], metric: float | None = 0.8, **params: Any) -> list[RunRecord]:
    """One run per value of `n_estimators`, the other params alike, auc rising."""
    runs = []
    for index, value in enumerate(values):
        scored = {"auc": round(metric + index / 100, 4)} if metric is not None else {}
        run_params = {"n_estimators": value, "max_depth": 5, **params}
        runs.append(record(index, f"rf-{index}", params=run_params, metrics=scored))
    return runs


def test_three_runs_with_three_values_of_the_one_param_that_varies() -> None:
    assert sweep_parameter(sweep([100, 300, 1000]), "auc") == "n_estimators"


def test_fewer_than_three_runs_or_values_draw_nothing() -> None:
    assert sweep_parameter(sweep([100, 300]), "auc") is None
    assert sweep_parameter(sweep([100, 300, 300]), "auc") is None  # two values: the bars do
    assert sweep_parameter(sweep([100, 300, 300, 1000]), "auc") == "n_estimators"


def test_a_second_varying_param_or_none_at_all_draws_nothing() -> None:
    runs = sweep([100, 300, 1000])
    runs[2].params["max_depth"] = 8
    assert sweep_parameter(runs, "auc") is None
    assert sweep_parameter(sweep([100, 100, 100]), "auc") is None


def test_no_metric_named_or_none_recorded_draws_nothing() -> None:
    assert sweep_parameter(sweep([100, 300, 1000]), None) is None
    assert sweep_parameter(sweep([100, 300, 1000]), "log_loss") is None
    assert sweep_parameter(sweep([100, 300, 1000], metric=None), "auc") is None


def test_only_runs_with_a_finite_metric_count() -> None:
    runs = sweep([100, 300, 1000, 3000])
    runs[3].metrics = {"auc": float("nan")}
    runs[3].params["max_depth"] = 8  # differs, but the run is no point of the chart
    assert sweep_parameter(runs, "auc") == "n_estimators"
    assert [row["param_value"] for row in sweep_rows(runs, "n_estimators", "auc")] == [
        100,
        300,
        1000,
    ]
    runs[2].metrics = {}  # two runs left with an auc
    assert sweep_parameter(runs, "auc") is None


def test_a_bool_metric_is_not_a_score() -> None:
    runs = sweep([100, 300, 1000])
    runs[0].metrics = {"auc": True}
    assert sweep_parameter(runs, "auc") is None


def test_models_held_in_different_variables_line_up() -> None:
    runs = [
        record(
            0, "a", params={"forest": "RandomForest", "forest.max_depth": 3}, metrics={"auc": 1}
        ),
        record(1, "b", params={"model": "RandomForest", "model.max_depth": 6}, metrics={"auc": 2}),
        record(2, "c", params={"tree": "RandomForest", "tree.max_depth": 9}, metrics={"auc": 3}),
    ]
    assert sweep_parameter(runs, "auc") == "model.max_depth"
    assert [row["param_value"] for row in sweep_rows(runs, "model.max_depth", "auc")] == [3, 6, 9]


def test_a_recorded_none_is_a_value_and_an_unset_param_is_no_point() -> None:
    assert sweep_parameter(sweep([None, 3, 10]), "auc") == "n_estimators"
    rows = sweep_rows(sweep([None, 3, 10]), "n_estimators", "auc")
    assert [row["param_value"] for row in rows] == ["None", "3", "10"]  # one axis of categories
    runs = sweep([3, 10, 30, 100])
    del runs[0].params["n_estimators"]
    assert sweep_parameter(runs, "auc") == "n_estimators"
    assert [row["param_value"] for row in sweep_rows(runs, "n_estimators", "auc")] == [10, 30, 100]
    del runs[1].params["n_estimators"]  # two runs set it: too few
    assert sweep_parameter(runs, "auc") is None


def test_rows_carry_labels_values_and_the_chosen_run() -> None:
    runs = sweep(["gini", "entropy", {"type": "Criterion", "repr": "Criterion('log')"}])
    rows = sweep_rows(runs, "n_estimators", "auc", chosen_run_id=runs[1].run_id)
    assert rows == [
        {"run": "rf-0", "param_value": "gini", "value": 0.8, "chosen": False},
        {"run": "rf-1", "param_value": "entropy", "value": 0.81, "chosen": True},
        {"run": "rf-2", "param_value": "Criterion('log')", "value": 0.82, "chosen": False},
    ]
    named = sweep_rows(runs, "n_estimators", "auc", labels=["a", "b", "c"])
    assert [row["run"] for row in named] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="2 labels for 3 runs"):
        sweep_rows(runs, "n_estimators", "auc", labels=["a", "b"])


def test_long_values_are_clipped_on_the_axis() -> None:
    rows = sweep_rows(sweep(["x" * 100, "y", "z"]), "n_estimators", "auc")
    assert rows[0]["param_value"] == "x" * 39 + "…"


# --- the compare widget follows the rule ------------------------------------------------------


def with_other_param(runs: list[RunRecord]) -> list[RunRecord]:
    runs[1].params["max_depth"] = 8
    return runs


def failed_last(runs: list[RunRecord]) -> list[RunRecord]:
    runs[-1].metrics = {}
    runs[-1].params["max_depth"] = 8
    return runs


def unset_in_first(runs: list[RunRecord]) -> list[RunRecord]:
    del runs[0].params["n_estimators"]
    return runs


CASES = {
    "a sweep": sweep([100, 300, 1000]),
    "two runs": sweep([100, 300]),
    "two values": sweep([100, 300, 300]),
    "two varying params": with_other_param(sweep([100, 300, 1000])),
    "no metric": sweep([100, 300, 1000], metric=None),
    "a failed run that differs": failed_last(sweep([100, 300, 1000, 3000])),
    "a recorded None": sweep([None, 3, 10]),
    "unset in one run": unset_in_first(sweep([3, 10, 30, 100])),
    "one name for all": [
        record(index, "rf", params={"C": value}, metrics={"auc": 0.7 + index / 10})
        for index, value in enumerate([0.1, 1.0, 10.0])
    ],
}


@pytest.mark.parametrize("runs", CASES.values(), ids=CASES.keys())
def test_the_compare_widget_draws_the_chart_the_rule_decides(runs: list[RunRecord]) -> None:
    comparison = build_comparison(runs)
    param = sweep_parameter(runs, comparison.headline)
    assert comparison.sweep_param == param
    swept = [chart for chart in comparison_charts(comparison) if " against " in chart.description]
    if param is None:
        assert swept == []
        return
    metric = comparison.headline
    assert metric is not None
    [chart] = swept
    assert chart.description == f"{metric} against {param}"
    drawn = chart.spec["data"]["values"]
    expected = sweep_rows(runs, param, metric, labels=run_labels(runs))
    points = sorted((row["run"], row["value"]) for row in drawn)  # the chart orders by value
    assert points == sorted((row["run"], row["value"]) for row in expected)
    assert chart._repr_mimebundle_()[0][VEGALITE_V5_MIME] == chart.spec
