"""What the run table shows: which columns, and each run's cells as text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from nbmodelbook.store.query import Facets
from nbmodelbook.widgets.columns import (
    MAX_CELL_CHARS,
    cell_text,
    choose_columns,
    format_time,
    key_metrics,
    metric_column,
    param_column,
    parse_bound,
    table_rows,
    varying_params,
)

RUN_KEYS = ["name", "status", "tags", "started_at", "duration"]
WHEN = 1_700_000_000.0


def row(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "run_id": "0" * 32,
        "name": "rf",
        "status": "ok",
        "tags": [],
        "started_at": WHEN,
        "duration": 1.0,
        "notebook": None,
        "user": None,
        "params": {},
        "metrics": {},
    }
    base.update(fields)
    return base


def keys(columns: list[Any]) -> list[str]:
    return [column.key for column in columns]


# --- which columns ----------------------------------------------------------------------------


def test_headline_metrics_come_first_then_the_most_frequent() -> None:
    facets = Facets(metrics=[("zeta", 90), ("log_loss", 80), ("accuracy", 70), ("auc", 10)])
    assert key_metrics(facets) == ["auc", "accuracy", "log_loss", "zeta"]
    assert key_metrics(facets, limit=2) == ["auc", "accuracy"]


def test_without_conventional_metrics_the_most_frequent_are_shown() -> None:
    facets = Facets(metrics=[("gain", 9), ("lift", 7), ("kappa", 5), ("psi", 3), ("ks", 1)])
    assert key_metrics(facets) == ["gain", "lift", "kappa", "psi"]
    assert key_metrics(Facets()) == []


def test_only_params_that_differ_on_the_page_are_columns() -> None:
    rows = [
        row(params={"seed": 42, "n_estimators": 100, "criterion": "gini", "depth": 3}),
        row(params={"seed": 42, "n_estimators": 300, "criterion": "gini", "depth": 5}),
        row(params={"seed": 42, "n_estimators": 300, "criterion": "gini", "depth": 5}),
    ]
    assert varying_params(rows) == ["depth", "n_estimators"]
    assert varying_params(rows[1:]) == []
    assert varying_params(rows, limit=1) == ["depth"]
    assert varying_params([]) == []


def test_params_of_most_runs_come_first_up_to_four() -> None:
    rows = [
        row(params={"b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "same": 0}),
        row(params={"b": 2, "c": 2, "d": 2, "e": 2, "f": 2, "same": 0, "a_two": 1}),
        row(params={"c": 3, "d": 3, "e": 3, "f": 3, "same": 0, "a_two": 2}),
    ]
    assert varying_params(rows) == ["c", "d", "e", "f"]
    assert varying_params(rows, limit=6) == ["c", "d", "e", "f", "a_two", "b"]


def test_a_failed_run_without_params_does_not_hide_the_param_that_changed() -> None:
    """The page of a real notebook (see test_widgets_kernel.py): two forests that differ in
    `n_estimators`, a logistic regression, and a run that failed before its model recorded
    anything. `model.verbose` and `model.warm_start` are the same in every run that has them;
    they must not take the columns `n_estimators` needs."""
    forest = {"model": "RandomForestClassifier", "model.random_state": 0}
    shared = {"model.verbose": 0, "model.warm_start": False}
    rows = [
        row(params={**forest, **shared, "n_estimators": 30}),
        row(params={**forest, **shared, "n_estimators": 10}),
        row(params={"model": "LogisticRegression", "model.random_state": None, **shared}),
        row(status="error", params={"n_estimators": -1}),
    ]
    chosen = varying_params(rows)
    assert "n_estimators" in chosen
    assert "model.verbose" not in chosen and "model.warm_start" not in chosen
    assert chosen[:2] == ["model", "model.random_state"]


def test_columns_in_order_run_then_metrics_then_params() -> None:
    facets = Facets(metrics=[("log_loss", 5), ("auc", 5)])
    rows = [row(params={"n_estimators": 1, "seed": 0}), row(params={"n_estimators": 2, "seed": 0})]
    columns = choose_columns(facets, rows)
    assert keys(columns) == [*RUN_KEYS, "metrics.auc", "metrics.log_loss", "params.n_estimators"]
    assert [column.label for column in columns] == [
        "Run",
        "Status",
        "Tags",
        "Started",
        "Duration",
        "auc",
        "log_loss",
        "n_estimators",
    ]


def test_team_columns_when_browsing_every_notebook() -> None:
    columns = choose_columns(Facets(metrics=[("auc", 1)]), [row()], team=True)
    assert keys(columns) == [*RUN_KEYS, "notebook", "user", "metrics.auc"]
    assert "notebook" not in keys(choose_columns(Facets(), [row()]))


def test_explicit_metrics_and_params_replace_the_chosen_ones() -> None:
    facets = Facets(metrics=[("auc", 5)])
    rows = [row(params={"n_estimators": 1}), row(params={"n_estimators": 2})]
    assert keys(choose_columns(facets, rows))[-2:] == ["metrics.auc", "params.n_estimators"]
    columns = choose_columns(facets, rows, metrics=["brier", "f1"], params=["seed"])
    assert keys(columns) == [*RUN_KEYS, "metrics.brier", "metrics.f1", "params.seed"]
    assert keys(choose_columns(facets, rows, metrics=[], params=[])) == RUN_KEYS


def test_column_kinds_and_first_sort_direction() -> None:
    assert metric_column("auc").numeric and metric_column("auc").descending_first
    assert not metric_column("log_loss").descending_first  # lower is better: best first
    assert not metric_column("val_rmse").descending_first
    assert not param_column("n_estimators").numeric
    columns = {column.key: column for column in choose_columns(Facets(), [])}
    assert not columns["tags"].sortable
    assert columns["started_at"].descending_first and columns["duration"].numeric
    assert columns["name"].as_dict() == {
        "key": "name",
        "label": "Run",
        "numeric": False,
        "sortable": True,
        "descending_first": False,
    }


# --- cell text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "<1 s"),
        (12.34, "12.3 s"),
        (125, "2 min 05 s"),
        (3 * 3600 + 150, "3 h 02 min"),
        (None, ""),
    ],
)
def test_durations(seconds: float | None, text: str) -> None:
    assert cell_text(row(duration=seconds), "duration") == text


def test_times_are_local_clock_times() -> None:
    expected = datetime.fromtimestamp(WHEN).strftime("%Y-%m-%d %H:%M:%S")
    assert cell_text(row(), "started_at") == expected
    assert cell_text(row(ended_at=None), "ended_at") == ""
    assert format_time(float("nan")) == "" and format_time("soon") == ""
    assert format_time(1e300) == ""  # beyond any calendar: empty, not an exception


def test_tags_notebook_and_plain_fields() -> None:
    assert cell_text(row(tags=["baseline", "v2"]), "tags") == "baseline, v2"
    assert cell_text(row(tags=[]), "tags") == ""
    assert cell_text(row(notebook="/home/ana/credit/scorecard.ipynb"), "notebook") == (
        "scorecard.ipynb"
    )
    assert cell_text(row(notebook=None), "notebook") == ""
    assert cell_text(row(user=None), "user") == ""
    assert cell_text(row(status="error"), "status") == "error"


def test_metric_cells() -> None:
    metrics = {"auc": 0.912345678, "big": 12345678.0, "nan": float("nan"), "inf": float("inf")}
    shown = row(metrics=metrics)
    assert cell_text(shown, "metrics.auc") == "0.912346"
    assert cell_text(shown, "metrics.big") == "1.235e+07"
    assert cell_text(shown, "metrics.nan") == "nan"
    assert cell_text(shown, "metrics.inf") == "inf"
    assert cell_text(shown, "metrics.missing") == ""


def test_param_cells() -> None:
    params = {"n": 300, "lr": 0.1234567, "flag": True, "layers": [64, 32], "none": None}
    shown = row(params=params)
    assert [cell_text(shown, f"params.{name}") for name in params] == [
        "300",
        "0.123457",
        "True",
        "[64, 32]",
        "—",
    ]
    assert cell_text(shown, "params.missing") == ""
    stand_in = row(params={"fn": {"type": "function", "repr": "<function f>"}})
    assert cell_text(stand_in, "params.fn") == "<function f>"


def test_long_values_are_clipped_and_lines_joined() -> None:
    long = row(name="n" * 200, params={"query": "q" * 500}, tags=[f"tag{n}" for n in range(40)])
    for key in ("name", "params.query", "tags"):
        text = cell_text(long, key)
        assert len(text) == MAX_CELL_CHARS and text.endswith("…"), key
    assert cell_text(long, "params.query") == "q" * (MAX_CELL_CHARS - 1) + "…"
    multiline = row(params={"sql": "select *\n  from loans\n where year = 2024"})
    assert cell_text(multiline, "params.sql") == "select * from loans where year = 2024"
    assert cell_text(row(name="x" * MAX_CELL_CHARS), "name") == "x" * MAX_CELL_CHARS


def test_table_rows_are_text_with_id_and_failure() -> None:
    facets = Facets(metrics=[("auc", 2)])
    rows = [
        row(run_id="a" * 32, metrics={"auc": 0.9}),
        row(run_id="b" * 32, status="crashed", name="died", duration=None),
        row(run_id="c" * 32, status="interrupted"),
        row(run_id="d" * 32, status="mystery"),
    ]
    columns = choose_columns(facets, rows)
    shown = table_rows(rows, columns)
    assert [item["id"] for item in shown] == ["a" * 32, "b" * 32, "c" * 32, "d" * 32]
    assert [item["failed"] for item in shown] == [False, True, True, False]
    assert [item["status"] for item in shown] == ["ok", "crashed", "interrupted", "mystery"]
    for item in shown:
        assert len(item["cells"]) == len(columns)
        assert all(isinstance(cell, str) for cell in item["cells"])
    assert shown[0]["cells"][keys(columns).index("metrics.auc")] == "0.9"
    assert shown[1]["cells"][:2] == ["died", "crashed"]
    assert shown[1]["cells"][keys(columns).index("duration")] == ""


# --- range bounds typed by a person ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", None),
        ("   ", None),
        ("0.5", 0.5),
        (" -1e3 ", -1000.0),
        ("7", 7.0),
        ("inf", float("inf")),
    ],
)
def test_parse_bound(text: str, value: float | None) -> None:
    assert parse_bound(text, "minimum") == value


@pytest.mark.parametrize("text", ["abc", "0.5.1", "nan", "1,5", "≥0.8"])
def test_parse_bound_refuses_what_is_not_a_number(text: str) -> None:
    with pytest.raises(ValueError, match=r"the maximum must be a number, not '"):
        parse_bound(text, "maximum")


def test_parse_bound_message_quotes_what_was_typed() -> None:
    with pytest.raises(ValueError) as raised:
        parse_bound("  high ", "minimum")
    assert str(raised.value) == "the minimum must be a number, not 'high'"
