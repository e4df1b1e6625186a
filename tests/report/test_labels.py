"""One rule names runs: `run_label` for a run on its own, `run_labels` for runs shown together,
and every place that shows compared runs (the comparison, the widget, the server) uses it."""

from __future__ import annotations

import pytest

from nbmodelbook.record import RunRecord
from nbmodelbook.report.comparison import build_comparison
from nbmodelbook.report.labels import run_label, run_labels
from nbmodelbook.server.payloads import comparison_payload
from nbmodelbook.widgets.compare_html import metrics_html, params_html
from tests.widgets._html import Page
from tests.widgets._runs import T0, record


def runs_named(*names: str) -> list[RunRecord]:
    """Runs started a minute apart, each with its own n_estimators and auc."""
    return [
        record(index, name, params={"n_estimators": 100 * (index + 1)}, metrics={"auc": 0.8})
        for index, name in enumerate(names)
    ]


def same_millisecond() -> list[RunRecord]:
    """Two runs named alike started in the same millisecond (one short id), and a later one."""
    return [
        record(0, "rf", started_at=T0, params={"n_estimators": 100}, metrics={"auc": 0.81}),
        record(
            1, "rf", started_at=T0 + 0.0004, params={"n_estimators": 200}, metrics={"auc": 0.83}
        ),
        record(2, "rf", started_at=T0 + 60, params={"n_estimators": 300}, metrics={"auc": 0.85}),
    ]


def test_a_run_on_its_own_is_its_name_and_short_id() -> None:
    run = record(0, "rf-300")
    assert run_label(run) == f"rf-300 ({run.run_id[:12]})"
    assert run_label(run) == f"rf-300 ({run.short_id})"


def test_unique_names_are_the_labels() -> None:
    assert run_labels(runs_named("rf-100", "rf-300", "gbm")) == ["rf-100", "rf-300", "gbm"]
    assert run_labels([]) == []


def test_a_shared_name_gets_the_short_id_and_the_others_keep_theirs() -> None:
    runs = runs_named("rf", "rf", "gbm")
    assert run_labels(runs) == [run_label(runs[0]), run_label(runs[1]), "gbm"]
    assert run_labels(runs)[0] == f"rf ({runs[0].short_id})"


def test_short_ids_that_meet_give_way_to_the_full_ids() -> None:
    first, second, later = same_millisecond()
    assert first.short_id == second.short_id
    labels = run_labels([first, second, later])
    assert labels == [f"rf ({first.run_id})", f"rf ({second.run_id})", run_label(later)]
    assert len(set(labels)) == 3


def test_a_name_that_looks_like_another_runs_label_is_told_apart() -> None:
    runs = runs_named("rf", "rf")
    lookalike = record(5, run_label(runs[0]))
    labels = run_labels([*runs, lookalike])
    assert len(set(labels)) == 3
    assert labels[1] == run_label(runs[1])


def test_labels_do_not_depend_on_the_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    runs = runs_named("rf", "rf")
    here = run_labels(runs)
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    try:
        assert run_labels(runs) == here
    finally:
        monkeypatch.undo()
        time.tzset()


CASES = {
    "unique names": runs_named("rf-100", "rf-300", "gbm"),
    "a shared name": runs_named("rf", "gbm", "rf"),
    "one name for all": runs_named("rf", "rf", "rf"),
    "the same millisecond": same_millisecond(),
}


@pytest.mark.parametrize("runs", CASES.values(), ids=CASES.keys())
def test_the_comparison_the_widget_and_the_server_label_runs_by_the_rule(
    runs: list[RunRecord],
) -> None:
    expected = run_labels(runs)
    comparison = build_comparison(runs)
    assert comparison.labels == expected
    assert [run["label"] for run in comparison_payload(comparison)["runs"]] == expected
    for table in (params_html(comparison, only_differences=False), metrics_html(comparison)):
        header = Page(table).rows[0]
        assert [text for _, text in header[1:]] == expected
