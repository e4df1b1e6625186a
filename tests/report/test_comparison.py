"""The comparison model `compare()` and the server show, built from records: params, metrics,
code, data, figures, labels."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nbmodelbook.record import CapturedOutput, RunRecord
from nbmodelbook.report.comparison import (
    MAX_FIGURES_PER_RUN,
    UnknownRunError,
    build_comparison,
    resolve_refs,
)
from nbmodelbook.report.labels import run_labels
from nbmodelbook.store.store import RunStore
from tests.widgets._runs import frame_input, png_output, record


def forests() -> list[RunRecord]:
    code = "%%track {name}\nn_estimators = {n}\nmodel = RandomForestClassifier(n_estimators)\n"
    return [
        record(
            index,
            name,
            code=code.format(name=name, n=n),
            params={"n_estimators": n, "max_depth": 5, "criterion": criterion},
            metrics=metrics,
        )
        for index, (name, n, criterion, metrics) in enumerate(
            [
                ("rf-100", 100, "gini", {"auc": 0.81, "log_loss": 0.45, "rmse": 0.30}),
                ("rf-300", 300, "gini", {"auc": 0.86, "log_loss": 0.40, "rmse": 0.33}),
                ("rf-300-entropy", 300, "entropy", {"auc": 0.84, "log_loss": 0.38, "rmse": 0.31}),
            ]
        )
    ]


def test_needs_two_runs() -> None:
    with pytest.raises(ValueError, match="compare needs two or more runs, got 1"):
        build_comparison(forests()[:1])


# --- params -------------------------------------------------------------------------------


def test_only_differences_or_every_param() -> None:
    comparison = build_comparison(forests())
    differing = comparison.params(only_differences=True)
    assert [row.name for row in differing] == ["criterion", "n_estimators"]
    assert differing[1].values == (100, 300, 300)
    every = comparison.params(only_differences=False)
    assert [row.name for row in every] == ["criterion", "max_depth", "n_estimators"]
    assert [row.differs for row in every] == [True, False, True]


def test_a_param_one_run_lacks_differs_and_reads_none() -> None:
    first, second = forests()[:2]
    second.params = {**second.params, "class_weight": "balanced"}
    [row] = [
        row for row in build_comparison([first, second]).params() if row.name == "class_weight"
    ]
    assert row.values == (None, "balanced") and row.differs


# --- metrics ------------------------------------------------------------------------------


def test_best_value_of_each_metric_in_its_direction() -> None:
    comparison = build_comparison(forests())
    best = {row.name: row.best for row in comparison.metrics}
    assert best == {"auc": (1,), "log_loss": (2,), "rmse": (0,)}  # loss and rmse: lower
    lower = {row.name: row.lower_is_better for row in comparison.metrics}
    assert lower == {"auc": False, "log_loss": True, "rmse": True}


def test_headline_metric_first_then_by_name() -> None:
    runs = forests()
    for run in runs:
        run.metrics = {"brier": 0.1, "accuracy": 0.8, **run.metrics, "zeta": 1.0}
    comparison = build_comparison(runs)
    assert comparison.headline == "auc"
    assert [row.name for row in comparison.metrics] == [
        "auc",
        "accuracy",
        "brier",
        "log_loss",
        "rmse",
        "zeta",
    ]


def test_headline_comes_from_another_run_when_the_first_has_no_metric() -> None:
    runs = forests()[:2]
    runs[0].metrics = {}
    comparison = build_comparison(runs)
    assert comparison.headline == "auc"
    assert comparison.metrics[0].values == (None, 0.86)
    assert comparison.metrics[0].best == ()  # nothing to compare with


def test_nan_is_never_best_and_ties_are_both_best() -> None:
    runs = forests()
    runs[0].metrics["auc"] = math.nan
    runs[2].metrics["auc"] = 0.86
    [auc] = [row for row in build_comparison(runs).metrics if row.name == "auc"]
    assert auc.best == (1, 2)


# --- code ---------------------------------------------------------------------------------


def test_code_of_each_run_is_diffed_against_the_first() -> None:
    runs = forests()
    comparison = build_comparison(runs)
    assert len(comparison.code_diffs) == 2
    for diff, n in zip(comparison.code_diffs, (300, 300), strict=True):
        removed = [line.text for line in diff.lines if line.kind == "removed"]
        added = [line.text for line in diff.lines if line.kind == "added"]
        assert "n_estimators = 100" in removed
        assert f"n_estimators = {n}" in added
    unchanged = [line.text for line in comparison.code_diffs[0].lines if line.kind == "same"]
    assert unchanged == ["model = RandomForestClassifier(n_estimators)"]


def test_identical_code_is_said_to_be_identical() -> None:
    first, second = forests()[:2]
    second.code = first.code
    assert build_comparison([first, second]).code_diffs[0].identical


# --- data ---------------------------------------------------------------------------------


def test_data_differences_in_words() -> None:
    columns = ["income", "debt", "age"]
    base = record(0, "base", inputs={"X": frame_input(columns, 1000, "h-base")})
    dropped = record(1, "dropped", inputs={"X": frame_input(columns[:2], 1000, "h-dropped")})
    fewer = record(2, "fewer", inputs={"X": frame_input(columns, 800, "h-fewer")})
    edited = record(3, "edited", inputs={"X": frame_input(columns, 1000, "h-edited")})
    same = record(4, "same", inputs={"X": frame_input(columns, 1000, "h-base")})
    comparison = build_comparison([base, dropped, fewer, edited, same])
    kinds = [difference.kind for difference in comparison.data]
    assert kinds == ["different columns", "different shape", "different content", "same"]
    sentences = [difference.sentence for difference in comparison.data]
    assert sentences[0] == (
        "base and dropped were trained on different data: `X`: column `age` missing in dropped."
    )
    assert "`X` has shape 1000×3 in base but 800×3 in fewer" in sentences[1]
    assert "`X` has the same shape but different content" in sentences[2]
    assert sentences[3] == "base and same used the same data."


def test_added_columns_and_inputs_read_by_one_run() -> None:
    base = record(0, "base", inputs={"X": frame_input(["a", "b"], 10, "1")})
    wider = record(
        1,
        "wider",
        inputs={"X": frame_input(["a", "b", "c", "d"], 10, "2"), "X_test": frame_input([], 5, "3")},
    )
    [difference] = build_comparison([base, wider]).data
    assert "columns `c`, `d` only in wider" in difference.sentence
    assert "`X_test` was read only by wider" in difference.sentence
    nothing = build_comparison([record(0, "a"), record(1, "b")]).data[0]
    assert nothing.kind == "unknown"
    assert nothing.sentence == "a and b recorded no data inputs."


# --- figures ------------------------------------------------------------------------------


def test_only_images_are_figures() -> None:
    shown = record(
        0,
        "plots",
        outputs=[
            CapturedOutput("text/x-stdout", "AUC 0.91\n", 9),
            png_output(),
            CapturedOutput("text/html", "<table><tr><td>1</td></tr></table>", 34),
            CapturedOutput("text/plain", "<Figure size 640x480>", 21),
            CapturedOutput("image/png", "bm90IGFuIGltYWdl", 12),  # "not an image"
            CapturedOutput("image/svg+xml", '<svg xmlns="http://www.w3.org/2000/svg"/>', 41),
        ],
    )
    comparison = build_comparison([shown, record(1, "none")])
    figures, none = comparison.figures
    assert [figure.image_mime for figure in figures] == ["image/png", "image/svg+xml"]
    assert all(figure.kind == "image" and figure.image_bytes for figure in figures)
    assert figures[0].image_bytes is not None and figures[0].image_bytes.startswith(b"\x89PNG")
    assert none == []


def test_figures_per_run_are_bounded() -> None:
    many = record(0, "many", outputs=[png_output() for _ in range(MAX_FIGURES_PER_RUN + 4)])
    figures = build_comparison([many, record(1, "other")]).figures[0]
    assert len(figures) == MAX_FIGURES_PER_RUN


# --- labels -------------------------------------------------------------------------------


def test_unique_names_are_the_labels() -> None:
    assert build_comparison(forests()).labels == ["rf-100", "rf-300", "rf-300-entropy"]


def test_labels_name_the_runs_in_data_sentences() -> None:
    first = record(0, "rf", inputs={"X": frame_input(["a", "b"], 10, "1")})
    second = record(9, "rf", inputs={"X": frame_input(["a"], 10, "2")})
    comparison = build_comparison([first, second])
    assert comparison.labels == run_labels([first, second])
    one, other = f"rf ({first.short_id})", f"rf ({second.short_id})"
    assert comparison.labels == [one, other]
    sentence = comparison.data[0].sentence
    assert sentence.startswith(f"{one} and {other} were trained")
    assert sentence.endswith(f"column `b` missing in {other}.")


# --- the one param that varies --------------------------------------------------------------


def test_varying_param_when_exactly_one_differs() -> None:
    runs = forests()[:2]  # only n_estimators differs
    assert build_comparison(runs).varying_param == "n_estimators"
    assert build_comparison(forests()).varying_param is None  # criterion differs too
    same = forests()[:2]
    same[1].params = dict(same[0].params)
    assert build_comparison(same).varying_param is None


def test_varying_param_lines_up_models_held_in_different_variables() -> None:
    forest = record(0, "a", params={"forest": "RandomForest", "forest.max_depth": 3})
    model = record(1, "b", params={"model": "RandomForest", "model.max_depth": 6})
    comparison = build_comparison([forest, model])
    assert comparison.varying_param == "model.max_depth"
    assert [row.name for row in comparison.params()] == ["model.max_depth"]


# --- refs: names and ids ------------------------------------------------------------------


@pytest.fixture
def named_store(tmp_path: Path) -> RunStore:
    store = RunStore.open(str(tmp_path / "runs.sqlite"))
    runs = [
        record(0, "forest-300"),
        record(1, "gbm-tuned"),
        record(2, "forest-300"),  # the latest of that name
        record(3, "logreg", notebook="/home/ana/credit/other.ipynb"),
        record(4, "logreg"),
        record(5, "logreg", notebook="/home/ana/credit/other.ipynb"),
    ]
    for run in runs:
        store.finish_run(run)
    return store


def latest(store: RunStore, name: str, notebook: str | None = None) -> str:
    rows = store.run_summaries(notebook=notebook)
    return max((row for row in rows if row["name"] == name), key=lambda row: row["started_at"])[
        "run_id"
    ]


def test_names_resolve_to_their_latest_run(named_store: RunStore) -> None:
    found = resolve_refs(named_store, ["forest-300", "gbm-tuned"])
    assert found == [latest(named_store, "forest-300"), latest(named_store, "gbm-tuned")]
    assert found[0] == record(2, "forest-300").run_id


def test_ids_and_id_prefixes_resolve(named_store: RunStore) -> None:
    first = record(0, "forest-300").run_id
    assert resolve_refs(named_store, [first, first[:8].upper()]) == [first]  # once
    assert resolve_refs(named_store, [first[:12], "gbm-tuned"])[0] == first


def test_a_name_prefers_the_run_of_this_notebook(named_store: RunStore) -> None:
    here = "/home/ana/credit/scorecard.ipynb"
    [found] = resolve_refs(named_store, ["logreg"], notebook=here)
    assert found == record(4, "logreg").run_id  # not the newer one of other.ipynb
    [anywhere] = resolve_refs(named_store, ["logreg"])
    assert anywhere == record(5, "logreg").run_id


def test_unknown_refs_are_all_named_with_close_matches(named_store: RunStore) -> None:
    with pytest.raises(UnknownRunError) as raised:
        resolve_refs(named_store, ["forest-30", "gbm-tuned", "gbm-tunde", "zzz"])
    message = str(raised.value)
    assert "'forest-30' (did you mean 'forest-300'?)" in message
    assert "'gbm-tunde' (did you mean 'gbm-tuned'?)" in message
    assert "'zzz' in " in message  # no suggestion for what is like nothing
    assert "unknown runs" in message
    assert named_store.location in message
    assert isinstance(raised.value, LookupError)


def test_a_short_id_prefix_is_not_a_ref(named_store: RunStore) -> None:
    with pytest.raises(UnknownRunError, match="unknown run\\."):
        resolve_refs(named_store, [record(0, "forest-300").run_id[:5]])
