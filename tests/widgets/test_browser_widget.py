"""The browse widget driven from Python as a front end would drive it (no browser, no kernel).

ipywidgets created outside a kernel work without a comm: setting a control's value runs the
same observers a click in JupyterLab runs. A header click arrives as one state message setting
`sort` and `descending` together, which `set_state` reproduces.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest

import nbmodelbook
from nbmodelbook.record import RunRecord
from nbmodelbook.report.comparison import build_comparison
from nbmodelbook.store.store import RunStore
from nbmodelbook.widgets.browser import RunBrowser, history_rows
from nbmodelbook.widgets.chart_area import ChartArea
from nbmodelbook.widgets.charts import (
    VEGALITE_V5_MIME,
    VEGALITE_V5_SCHEMA,
    ChartDisplay,
    history_display,
)
from nbmodelbook.widgets.compare_view import CompareView
from tests.widgets._runs import (
    HOSTILE,
    HOSTILE_ESCAPED,
    NOTEBOOK_A,
    fill_realistic,
    record,
)

RUNS = 300
RUN_KEYS = ["name", "status", "tags", "started_at", "duration"]
CHART_TIMEOUT = 60


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunStore, list[RunRecord]]:
    store = RunStore.open(str(tmp_path_factory.mktemp("browse") / "runs.sqlite"))
    return store, fill_realistic(store, RUNS)


@pytest.fixture
def store(filled: tuple[RunStore, list[RunRecord]]) -> RunStore:
    return filled[0]


@pytest.fixture
def records(filled: tuple[RunStore, list[RunRecord]]) -> list[RunRecord]:
    return filled[1]


@pytest.fixture
def browser(store: RunStore) -> RunBrowser:
    return RunBrowser(store)


def column_keys(browser: RunBrowser) -> list[str]:
    return [str(column["key"]) for column in browser.table.columns]


def shown_ids(browser: RunBrowser) -> list[str]:
    return [str(row["id"]) for row in browser.table.rows]


def column(browser: RunBrowser, key: str) -> list[str]:
    index = column_keys(browser).index(key)
    return [row["cells"][index] for row in browser.table.rows]  # type: ignore[index]


def newest_first(records: list[RunRecord]) -> list[str]:
    return [run.run_id for run in sorted(records, key=lambda run: run.started_at, reverse=True)]


def by_metric(records: list[RunRecord], metric: str, descending: bool) -> list[str]:
    """Best-first order a person expects: by value, ties by id, runs without the value last."""
    valued = [run for run in records if metric in run.metrics]
    valued.sort(key=lambda run: (run.metrics[metric], run.run_id), reverse=descending)
    missing = sorted((run.run_id for run in records if metric not in run.metrics), reverse=True)
    return [run.run_id for run in valued] + (missing if descending else missing[::-1])


def hint(browser: RunBrowser) -> str:
    [child] = browser.comparison.children
    assert isinstance(child, widgets.HTML)
    return re.sub("<[^>]+>", "", child.value)


def specs(area: ChartArea) -> list[dict[str, Any]]:
    """The Vega-Lite v5 specs an output area shows (and nothing else may be shown there)."""
    found = []
    for output in area.outputs:
        assert output["output_type"] == "display_data", output
        assert output["metadata"][VEGALITE_V5_MIME]["embed_options"] == {"actions": False}
        spec = output["data"][VEGALITE_V5_MIME]
        json.dumps(spec, allow_nan=False)  # a front end parses it as strict JSON
        found.append(spec)
    return found


def encodings(spec: Any) -> Iterator[dict[str, Any]]:
    if isinstance(spec, dict):
        if isinstance(spec.get("encoding"), dict):
            yield spec["encoding"]
        for value in spec.values():
            yield from encodings(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from encodings(value)


# --- opening ------------------------------------------------------------------------------


def test_opens_on_the_newest_page_of_every_notebook(
    browser: RunBrowser, records: list[RunRecord]
) -> None:
    assert browser.position.value == "1–25 of 300 runs"
    assert shown_ids(browser) == newest_first(records)[:25]
    keys = column_keys(browser)
    assert keys[:7] == [*RUN_KEYS, "notebook", "user"]  # every notebook: whose run is it
    assert keys[7:11] == ["metrics.auc", "metrics.f1", "metrics.accuracy", "metrics.log_loss"]
    params = [key for key in keys if key.startswith("params.")]
    assert params and "params.criterion" not in params  # the same in every run: no column
    assert browser.all_notebooks.value and browser.all_notebooks.disabled
    assert browser.previous.disabled and not browser.next.disabled
    assert browser.message.value == ""
    assert hint(browser) == "Select two or more runs (tick their rows) to compare them here."


def test_rows_are_text_cells(browser: RunBrowser, records: list[RunRecord]) -> None:
    width = len(browser.table.columns)
    for row in browser.table.rows:
        assert len(row["cells"]) == width
        assert all(isinstance(cell, str) for cell in row["cells"])
    newest = max(records, key=lambda run: run.started_at)
    first = dict(zip(column_keys(browser), browser.table.rows[0]["cells"], strict=True))
    assert first["name"] == newest.name
    assert first["tags"] == ", ".join(newest.tags)
    assert first["notebook"] == Path(str(newest.notebook)).name
    assert first["metrics.auc"] == f"{newest.metrics['auc']:.6g}"
    assert browser.table.rows[0]["failed"] is False


def test_notebook_scope_and_the_all_notebooks_checkbox(store: RunStore) -> None:
    browser = RunBrowser(store, notebook=NOTEBOOK_A)
    assert browser.position.value == "1–25 of 150 runs"
    assert not browser.all_notebooks.value and not browser.all_notebooks.disabled
    assert "notebook" not in column_keys(browser)
    browser.text.value = "gbm"
    browser.all_notebooks.value = True
    assert browser.position.value == "1–25 of 300 runs"
    assert column_keys(browser)[5:7] == ["notebook", "user"]
    assert browser.query.text == "gbm"  # the filter survives the change of scope
    browser.all_notebooks.value = False
    assert browser.position.value == "1–25 of 150 runs"


def test_public_browse_outside_a_kernel(tmp_path: Path) -> None:
    path = str(tmp_path / "runs.sqlite")
    fill_realistic(RunStore.open(path), 30)
    browser = nbmodelbook.browse(store=path, page_size=10, metrics=["brier"], params=["subsample"])
    assert isinstance(browser, RunBrowser)
    assert browser.position.value == "1–10 of 30 runs"
    assert column_keys(browser)[-2:] == ["metrics.brier", "params.subsample"]
    assert browser.page_size.value == 10


# --- filters ------------------------------------------------------------------------------


def test_text_filter(browser: RunBrowser, records: list[RunRecord]) -> None:
    browser.next.click()
    browser.text.value = "GBM-full-3"
    expected = [run for run in records if run.name == "gbm-full-3"]
    assert browser.position.value == f"1–{min(25, len(expected))} of {len(expected)} runs"
    assert set(column(browser, "name")) == {"gbm-full-3"}
    browser.text.value = "gbm-full-3 zzz-nothing"
    assert browser.table.rows == []
    assert browser.position.value == "0 of 0 runs"
    assert browser.table.empty_message == "No run matches these filters."
    assert browser.next.disabled and browser.previous.disabled
    browser.text.value = ""
    assert browser.position.value == "1–25 of 300 runs"


def test_status_filter(browser: RunBrowser, records: list[RunRecord]) -> None:
    failed = [run for run in records if run.error is not None]
    assert failed
    browser.status.value = "failed"
    assert browser.position.value == f"1–{len(failed)} of {len(failed)} runs"
    assert all(row["failed"] for row in browser.table.rows)
    assert set(column(browser, "status")) == {"error"}
    assert set(column(browser, "metrics.auc")) == {""}  # failed before any metric
    browser.status.value = "ok"
    assert browser.position.value == f"1–25 of {RUNS - len(failed)} runs"
    browser.status.value = "crashed"
    assert browser.position.value == "0 of 0 runs"
    browser.status.value = ""
    assert browser.position.value == "1–25 of 300 runs"


def test_tag_filter(browser: RunBrowser, records: list[RunRecord]) -> None:
    assert set(browser.tags.allowed_tags) == {tag for run in records for tag in run.tags}
    browser.tags.value = ["tuned", "v2"]
    both = [run for run in records if {"tuned", "v2"} <= set(run.tags)]
    assert browser.position.value == f"1–{min(25, len(both))} of {len(both)} runs"
    for tags in column(browser, "tags"):
        assert {"tuned", "v2"} <= set(tags.split(", "))
    browser.tags.value = []
    assert browser.position.value == "1–25 of 300 runs"


def test_metric_range(browser: RunBrowser, records: list[RunRecord]) -> None:
    assert [value for _, value in browser.range_metric.options] == [
        "",
        *sorted({name for run in records for name in run.metrics}),
    ]
    browser.range_metric.value = "auc"
    browser.range_low.value = "0.5"
    browser.range_high.value = "0.75"
    inside = [run for run in records if 0.5 <= run.metrics.get("auc", math.nan) <= 0.75]
    assert browser.position.value == f"1–25 of {len(inside)} runs"
    assert all(0.5 <= float(text) <= 0.75 for text in column(browser, "metrics.auc"))
    assert browser.message.value == ""

    browser.range_high.value = "abc"  # half typed: say so, keep showing the last good range
    assert "the maximum must be a number, not &#x27;abc&#x27;" in browser.message.value
    assert browser.position.value == f"1–25 of {len(inside)} runs"
    browser.range_high.value = "0.25"
    assert "the range for auc is empty: minimum 0.5 is above maximum 0.25" in (
        browser.message.value
    )
    assert browser.position.value == f"1–25 of {len(inside)} runs"
    browser.range_high.value = ""
    above = [run for run in records if run.metrics.get("auc", -1) >= 0.5]
    assert browser.position.value == f"1–25 of {len(above)} runs"
    assert browser.message.value == ""
    browser.range_metric.value = ""
    assert browser.position.value == "1–25 of 300 runs"


def test_filters_combine(browser: RunBrowser, records: list[RunRecord]) -> None:
    browser.text.value = "full"
    browser.tags.value = ["champion"]
    browser.status.value = "ok"
    expected = [
        run
        for run in records
        if run.params["feature_set"] == "full" and "champion" in run.tags and run.error is None
    ]
    assert browser.page is not None and browser.page.total == len(expected)


# --- sorting and paging -------------------------------------------------------------------


def test_header_click_sorts(browser: RunBrowser, records: list[RunRecord]) -> None:
    browser.next.click()
    browser.table.set_state({"sort": "metrics.auc", "descending": True})
    assert browser.position.value == "1–25 of 300 runs"  # back to the first page
    assert shown_ids(browser) == by_metric(records, "auc", descending=True)[:25]
    values = [float(text) for text in column(browser, "metrics.auc")]
    assert values == sorted(values, reverse=True)
    browser.table.set_state({"descending": False})  # the same header again
    assert shown_ids(browser) == by_metric(records, "auc", descending=False)[:25]
    browser.table.set_state({"sort": "name", "descending": False})
    names = column(browser, "name")
    assert names == sorted(names)
    assert browser.message.value == ""


def test_sorting_by_the_metric_of_the_range(browser: RunBrowser, records: list[RunRecord]) -> None:
    browser.range_metric.value = "auc"
    browser.range_low.value = "0.9"
    browser.table.set_state({"sort": "metrics.auc", "descending": True})
    assert browser.message.value == ""
    above = [run for run in records if run.metrics.get("auc", 0) >= 0.9]
    assert shown_ids(browser) == by_metric(above, "auc", descending=True)[:25]


def test_sorting_an_unsortable_column_says_why(browser: RunBrowser) -> None:
    before = shown_ids(browser)
    browser.table.set_state({"sort": "tags", "descending": False})
    assert "cannot sort by &#x27;tags&#x27;" in browser.message.value
    assert shown_ids(browser) == before


def test_failed_runs_sort_last_by_metric(browser: RunBrowser, records: list[RunRecord]) -> None:
    failed = sum(run.error is not None for run in records)
    browser.page_size.value = 50
    browser.table.set_state({"sort": "metrics.log_loss", "descending": False})
    for _ in range(5):
        browser.next.click()
    assert browser.position.value == "251–300 of 300 runs"
    assert column(browser, "metrics.log_loss")[-failed:] == [""] * failed


def test_paging(browser: RunBrowser, records: list[RunRecord]) -> None:
    browser.next.click()
    assert browser.position.value == "26–50 of 300 runs"
    assert shown_ids(browser) == newest_first(records)[25:50]
    assert not browser.previous.disabled
    browser.previous.click()
    assert browser.position.value == "1–25 of 300 runs" and browser.previous.disabled
    browser.page_size.value = 100
    assert browser.position.value == "1–100 of 300 runs"
    browser.next.click()
    browser.next.click()
    assert browser.position.value == "201–300 of 300 runs"
    assert browser.next.disabled
    browser.next.click()  # a click that races the disabled state changes nothing
    assert browser.position.value == "201–300 of 300 runs"
    browser.page_size.value = 250  # a new page size starts again at the top
    assert browser.position.value == "1–250 of 300 runs"
    browser.next.click()
    assert browser.position.value == "251–300 of 300 runs"
    assert len(browser.table.rows) == 50
    assert shown_ids(browser) == newest_first(records)[250:]


def test_page_size_shown_is_the_page_size_used(store: RunStore) -> None:
    browser = RunBrowser(store, page_size=30)
    assert browser.page_size.value == len(browser.table.rows)


def test_refresh_shows_new_runs(tmp_path: Path) -> None:
    store = RunStore.open(str(tmp_path / "runs.sqlite"))
    for index in range(3):
        store.finish_run(record(index, f"rf-{index}"))
    browser = RunBrowser(store)
    assert browser.position.value == "1–3 of 3 runs"
    store.finish_run(record(3, "rf-3"))
    store.finish_run(record(4, "rf-4"))
    browser.refresh_button.click()
    assert browser.position.value == "1–5 of 5 runs"
    assert column(browser, "name")[0] == "rf-4"
    store.finish_run(record(5, "rf-5"))
    browser.refresh()
    assert browser.position.value == "1–6 of 6 runs"


# --- empty stores and scopes --------------------------------------------------------------


def test_empty_store(tmp_path: Path) -> None:
    store = RunStore.open(str(tmp_path / "runs.sqlite"))
    browser = RunBrowser(store)
    assert browser.table.rows == []
    assert browser.position.value == "0 of 0 runs"
    assert browser.table.empty_message == (
        "No runs in the store yet: run a cell that starts with %%track."
    )
    assert browser.message.value == ""
    scoped = RunBrowser(store, notebook=NOTEBOOK_A)
    assert scoped.table.empty_message.startswith("No runs for this notebook yet")
    scoped.history.selected_index = 0
    scoped.history_chart.wait(CHART_TIMEOUT)
    assert [output.get("text") for output in scoped.history_chart.outputs] == [
        "These runs recorded no metrics.\n"
    ]


def test_empty_session_of_a_full_store_does_not_call_the_store_empty(store: RunStore) -> None:
    browser = RunBrowser(store, session_id="a-new-kernel-session")
    assert browser.position.value == "0 of 0 runs"
    assert "in the store" not in browser.table.empty_message


def test_one_run(tmp_path: Path) -> None:
    store = RunStore.open(str(tmp_path / "runs.sqlite"))
    store.finish_run(record(0, "only", metrics={"auc": 0.9}))
    assert RunBrowser(store).position.value == "1–1 of 1 run"


# --- selection and comparison -------------------------------------------------------------


def test_selecting_runs_compares_them(browser: RunBrowser) -> None:
    ids = shown_ids(browser)
    browser.select(ids[:1])
    assert hint(browser) == "Select one more run to compare."
    assert not browser.clear_selection.disabled
    browser.select(ids[:2])
    [view] = browser.comparison.children
    assert isinstance(view, CompareView)
    assert [run.run_id for run in view.comparison.runs] == ids[:2]
    browser.select([ids[4], ids[0], ids[2]])  # in the order they were ticked
    [view] = browser.comparison.children
    assert isinstance(view, CompareView)
    assert [run.run_id for run in view.comparison.runs] == [ids[4], ids[0], ids[2]]
    assert "Comparing 3 runs" in view.children[0].value
    browser.clear_selection.click()
    assert browser.table.selected == []
    assert hint(browser) == "Select two or more runs (tick their rows) to compare them here."
    assert browser.clear_selection.disabled


def test_selected_runs_that_are_gone(browser: RunBrowser) -> None:
    browser.select([shown_ids(browser)[0], "f" * 32])
    assert hint(browser) == "The selected runs are gone."


def test_messages_are_escaped(tmp_path: Path) -> None:
    store = RunStore.open(str(tmp_path / "runs.sqlite"))
    store.finish_run(record(0, "a", metrics={HOSTILE: 0.5}))
    browser = RunBrowser(store)
    browser.range_metric.value = HOSTILE
    browser.range_low.value = "1"
    browser.range_high.value = "0"
    assert HOSTILE_ESCAPED in browser.message.value
    assert "<img" not in browser.message.value


# --- charts -------------------------------------------------------------------------------


def test_history_accordion_draws_a_vega_lite_chart_with_tooltips(browser: RunBrowser) -> None:
    browser.history.selected_index = 0
    browser.history_chart.wait(CHART_TIMEOUT)
    assert browser.message.value == ""
    [spec] = specs(browser.history_chart)
    assert spec["$schema"] == VEGALITE_V5_SCHEMA
    assert any("tooltip" in encoding for encoding in encodings(spec))
    browser.history_colour.value = "tag"
    browser.history_chart.wait(CHART_TIMEOUT)
    [spec] = specs(browser.history_chart)
    assert "Tag" in json.dumps(spec)


def test_history_rows_and_chart(store: RunStore, records: list[RunRecord]) -> None:
    runs = store.run_summaries()
    rows = history_rows(runs, "auc", "name")
    assert len(rows) == RUNS
    failed = [row for row in rows if row["failed"]]
    assert len(failed) == sum(run.error is not None for run in records)
    assert all(row["value"] is None for row in failed)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["started"]) for row in rows)
    by_tag = history_rows(runs, "auc", "tag")
    assert {row["group"] for row in by_tag} <= {tag for run in records for tag in run.tags}
    display = history_display(rows, "auc", "Run")
    data, metadata = display._repr_mimebundle_()
    assert data[VEGALITE_V5_MIME]["$schema"] == VEGALITE_V5_SCHEMA
    assert metadata[VEGALITE_V5_MIME] == {"embed_options": {"actions": False}}
    tooltips = [enc["tooltip"] for enc in encodings(data[VEGALITE_V5_MIME]) if "tooltip" in enc]
    assert [item["title"] for item in tooltips[0]] == ["Run", "Run", "Started (UTC)", "auc"]
    # The time shown on hover is readable text, not the timestamp the time axis parses.
    started = tooltips[0][2]["field"]
    values = data[VEGALITE_V5_MIME]["data"]["values"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", value[started]) for value in values)


def test_compare_view_params_toggle_and_metric_bars(records: list[RunRecord]) -> None:
    runs = [run for run in records if run.error is None][:3]
    view = CompareView(build_comparison(runs))
    differing = sum(row.differs for row in view.comparison.evidence.params)
    assert view.params.value.count("<tr>") == differing + 1  # and the header row
    view.only_differences.value = False
    assert view.params.value.count("<tr>") == len(runs[0].params) + 1
    assert "criterion" in view.params.value  # the same in all three: shown now
    view.only_differences.value = True
    assert "criterion" not in view.params.value
    view.charts.wait(CHART_TIMEOUT)
    [bars] = specs(view.charts)  # several params differ: no param-vs-metric chart
    assert bars["$schema"] == VEGALITE_V5_SCHEMA
    data = json.dumps(bars)
    assert all(label in data for label in view.comparison.labels)


def test_compare_view_charts_a_metric_against_the_one_param_that_varies() -> None:
    runs = [
        record(index, f"rf-{n}", params={"n_estimators": n, "seed": 0}, metrics={"auc": auc})
        for index, (n, auc) in enumerate([(100, 0.80), (300, 0.84), (1000, 0.85)])
    ]
    view = CompareView(build_comparison(runs))
    view.charts.wait(CHART_TIMEOUT)
    bars, trend = specs(view.charts)
    assert bars["$schema"] == trend["$schema"] == VEGALITE_V5_SCHEMA
    assert trend["title"]["text"] == "auc against n_estimators"
    assert "3 runs that differ only in n_estimators" in json.dumps(trend)
    two = CompareView(build_comparison(runs[:2]))
    two.charts.wait(CHART_TIMEOUT)
    assert len(specs(two.charts)) == 1  # two points are not a trend


def test_a_chart_error_does_not_outlive_the_next_drawing() -> None:
    area = ChartArea()

    def broken() -> list[ChartDisplay]:
        raise RuntimeError("no data")

    area.draw(broken)
    area.wait(CHART_TIMEOUT)
    assert "The charts could not be drawn (RuntimeError: no data)" in area.outputs[0]["text"]
    area.draw(lambda: [ChartDisplay({"mark": "point"}, "a chart")])
    area.wait(CHART_TIMEOUT)
    assert [output["output_type"] for output in area.outputs] == ["display_data"]


def test_a_live_run_with_a_new_tag_and_metric_can_be_filtered_on(tmp_path: Path) -> None:
    fresh = RunStore.open(str(tmp_path / "runs.sqlite"))
    fresh.finish_run(record(0, "first", tags=["base"], metrics={"acc": 0.7}))
    browser = RunBrowser(fresh)
    assert browser.tags.allowed_tags == ["base"]
    arrived = record(1, "second", tags=["new"], metrics={"acc": 0.8, "f1": 0.6})
    fresh.finish_run(arrived)
    browser.on_run_written(arrived)  # what the kernel's writer does after saving a run
    assert browser.position.value == "1–2 of 2 runs"
    assert "new" in browser.tags.allowed_tags
    browser.tags.value = ["new"]  # accepted: no TraitError
    assert [row["cells"][0] for row in browser.table.rows] == ["second"]
    assert "metrics.f1" in column_keys(browser)
    assert "f1" in [value for _, value in browser.range_metric.options]


def test_at_most_twenty_selected_runs_are_compared(store: RunStore, browser: RunBrowser) -> None:
    from nbmodelbook.report.comparison import MAX_COMPARED_RUNS

    ok = [row["run_id"] for row in store.run_summaries() if row["status"] == "ok"]
    browser.select(ok[: MAX_COMPARED_RUNS + 5])
    note, view = browser.comparison.children
    assert f"{MAX_COMPARED_RUNS + 5} runs are selected" in note.value
    assert isinstance(view, CompareView) and len(view.comparison.runs) == MAX_COMPARED_RUNS
    with pytest.raises(ValueError, match="up to 20 runs side by side"):
        build_comparison(list(store.get_runs(ok[:21]).values()))


def test_compare_takes_a_list_of_refs_too(store: RunStore, records: list[RunRecord]) -> None:
    names = sorted({run.name for run in records if run.error is None})[:2]
    view = nbmodelbook.compare(names, store=store.url)
    assert [run.name for run in view.comparison.runs] == names


def test_an_overlong_search_is_refused_with_a_message(
    browser: RunBrowser, records: list[RunRecord]
) -> None:
    # Unbounded, thousands of words outgrew SQLite's expression limits after seconds of work.
    browser.text.value = " ".join(["gbm"] * 30)
    assert "the search has 30 words: at most 20" in browser.message.value
    assert browser.last_error is None
    browser.text.value = "x" * 60_000
    assert "the search is 60000 characters long" in browser.message.value
    browser.text.value = "gbm-full-3"
    assert browser.message.value == ""
    assert set(column(browser, "name")) == {"gbm-full-3"}
