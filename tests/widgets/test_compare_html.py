"""The comparison's HTML sections: what they say, and that nothing from a run is markup."""

from __future__ import annotations

import math

import ipywidgets as widgets
import pytest

from nbmodelbook.record import RunError, RunRecord, RunStatus
from nbmodelbook.report.comparison import Comparison, build_comparison
from nbmodelbook.widgets import compare_html
from nbmodelbook.widgets.compare_view import CompareView
from tests.widgets._html import Page, assert_inert
from tests.widgets._runs import HOSTILE, HOSTILE_ESCAPED, frame_input, png_output, record

# --- a comparison where everything a run wrote is markup ------------------------------------


def hostile_runs() -> list[RunRecord]:
    first = record(
        0,
        HOSTILE,
        code=f"%%track x\nlabel = '{HOSTILE}'\nn = 1\n",
        params={HOSTILE: HOSTILE, "n": 1, "same": HOSTILE},
        metrics={HOSTILE: 0.5, "auc": 0.8},
        tags=[HOSTILE],
        note=HOSTILE,
        inputs={HOSTILE: frame_input(["a", HOSTILE], 10, "1"), "X": frame_input(["a"], 5, "x")},
        outputs=[png_output()],
    )
    second = record(
        1,
        f"{HOSTILE}-2",
        code=f"%%track x\nlabel = '{HOSTILE}!'\nn = 2\n",
        params={HOSTILE: f"{HOSTILE}!", "n": 2, "same": HOSTILE},
        metrics={HOSTILE: 0.7, "auc": 0.9},
        status=RunStatus.ERROR,
        error=RunError(HOSTILE, f"bad value {HOSTILE}", "Traceback"),
        inputs={HOSTILE: frame_input(["a"], 10, "2"), "X": frame_input(["a"], 5, "x")},
        outputs=[png_output()],
    )
    return [first, second]


@pytest.fixture
def hostile() -> Comparison:
    return build_comparison(hostile_runs())


SECTIONS = {
    "header": compare_html.header_html,
    "params": lambda comparison: compare_html.params_html(comparison, True),
    "all params": lambda comparison: compare_html.params_html(comparison, False),
    "metrics": compare_html.metrics_html,
    "data": compare_html.data_html,
    "figures": compare_html.figures_html,
}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_markup_from_a_run_is_shown_as_text(hostile: Comparison, section: str) -> None:
    html = SECTIONS[section](hostile)
    assert_inert(html)
    assert HOSTILE_ESCAPED in html
    assert HOSTILE in Page(html).text or section == "figures"


def test_error_type_and_message_are_text_in_the_header(hostile: Comparison) -> None:
    html = compare_html.header_html(hostile)
    assert f"error: {HOSTILE}: bad value {HOSTILE}" in Page(html).text


def test_figure_alt_text_is_escaped(hostile: Comparison) -> None:
    page = Page(compare_html.figures_html(hostile))
    images = [attrs for tag, attrs in page.elements if tag == "img"]
    assert [attrs["alt"] for attrs in images] == [
        f"Figure 1 of {HOSTILE}",
        f"Figure 1 of {HOSTILE}-2",
    ]
    assert all((attrs["src"] or "").startswith("data:image/png;base64,iVBOR") for attrs in images)


def test_column_and_input_names_are_text_in_the_data_section(hostile: Comparison) -> None:
    page = Page(compare_html.data_html(hostile))
    assert f"column {HOSTILE} missing in {HOSTILE}-2" in page.text
    code = [attrs for tag, attrs in page.elements if tag == "code"]
    assert len(code) == 2  # the input's name and the column's, each in <code>


def test_every_part_of_the_compare_view_is_inert() -> None:
    view = CompareView(build_comparison(hostile_runs()))
    html_parts = [child.value for child in view.children if isinstance(child, widgets.HTML)]
    assert len(html_parts) == 11
    for html in html_parts:
        assert_inert(html)
    code = html_parts[6]
    assert "nbmb-code-diff" in code
    assert HOSTILE_ESCAPED in code
    assert f"label = '{HOSTILE}!'" in Page(code).text  # the changed line, as text
    view.only_differences.value = False
    assert_inert(view.params.value)


# --- what the sections say ----------------------------------------------------------------


def three_runs() -> list[RunRecord]:
    return [
        record(
            0,
            "rf-100",
            params={"n_estimators": 100, "max_depth": 5, "criterion": "gini"},
            metrics={"auc": 0.81, "log_loss": 0.45},
            inputs={"X": frame_input(["a", "b", "c"], 100, "1")},
        ),
        record(
            1,
            "rf-300",
            params={"n_estimators": 300, "max_depth": 5, "criterion": "gini"},
            metrics={"auc": 0.86, "log_loss": 0.40},
            inputs={"X": frame_input(["a", "b"], 100, "2")},
            outputs=[png_output()],
        ),
        record(
            2,
            "rf-300-deep",
            params={"n_estimators": 300, "max_depth": 5},
            metrics={"auc": 0.84},
            status=RunStatus.ERROR,
            error=RunError("ValueError", "Input contains NaN", "tb"),
            inputs={"X": frame_input(["a", "b", "c"], 100, "1")},
        ),
    ]


def test_header_lists_the_runs_and_the_reference() -> None:
    comparison = build_comparison(three_runs())
    page = Page(compare_html.header_html(comparison))
    assert "Comparing 3 runs" in page.text
    assert "compared with the first run, rf-100." in page.text
    for run in comparison.runs:
        assert f"id {run.run_id}" in page.text
    assert "error: ValueError: Input contains NaN" in page.text
    failed = [attrs for tag, attrs in page.elements if attrs.get("class") == "nbmb-failed"]
    assert len(failed) == 1


def test_params_only_differences_then_all() -> None:
    comparison = build_comparison(three_runs())
    page = Page(compare_html.params_html(comparison, only_differences=True))
    assert (
        "1 of the 2 shared parameters differs, 1 is identical; 1 more is set by rf-100 and "
        "rf-300 only." in page.text
    )
    assert page.table() == [
        ["Parameter", "rf-100", "rf-300", "rf-300-deep"],
        ["criterion", "gini", "gini", "(not set)"],
        ["n_estimators", "100", "300", "300"],
    ]
    every = Page(compare_html.params_html(comparison, only_differences=False)).table()
    assert [row[0] for row in every[1:]] == ["≠ criterion", "max_depth", "≠ n_estimators"]
    assert every[2] == ["max_depth", "5", "5", "5"]


def test_params_when_none_differ_or_none_were_recorded() -> None:
    same = three_runs()[:2]
    same[1].params = dict(same[0].params)
    html = compare_html.params_html(build_comparison(same), True)
    assert Page(html).text == "All 3 parameters are identical across the compared runs."
    shown = Page(compare_html.params_html(build_comparison(same), False)).table()
    assert len(shown) == 4
    bare = [record(0, "a"), record(1, "b")]
    html = compare_html.params_html(build_comparison(bare), True)
    assert Page(html).text == "None of these runs recorded parameters."


def test_runs_sharing_no_parameter_say_so_in_both_views() -> None:
    logreg = record(0, "logreg", params={"C": 1.0, "penalty": "l2"})
    forest = record(1, "rf-500", params={"n_estimators": 500, "max_depth": 8, "seed": 0})
    comparison = build_comparison([logreg, forest])
    sentence = "The runs share no parameter: 2 are set by logreg only, 3 by rf-500 only."
    for only_differences in (True, False):
        page = Page(compare_html.params_html(comparison, only_differences))
        assert page.text.startswith(sentence)
        assert len(page.table()) == 6  # every param is a difference: none is hidden


def test_a_parameter_recorded_as_none_is_set_not_missing() -> None:
    first = record(0, "a", params={"max_depth": None, "seed": 1})
    second = record(1, "b", params={"seed": 1})
    page = Page(compare_html.params_html(build_comparison([first, second]), True))
    assert page.text.startswith("The one shared parameter is identical; 1 more is set by a only.")
    assert page.table() == [["Parameter", "a", "b"], ["max_depth", "—", "(not set)"]]


def test_metrics_mark_the_best_value_in_its_direction() -> None:
    comparison = build_comparison(three_runs())
    page = Page(compare_html.metrics_html(comparison))
    header, auc, log_loss = page.rows
    assert [text for _, text in header] == ["Metric", "rf-100", "rf-300", "rf-300-deep"]
    assert auc[0][1] == "auc (headline) higher is better"
    assert auc[1:] == [
        ("nbmb-num", "0.81"),
        ("nbmb-num nbmb-best", "★ 0.86 (+0.05)"),
        ("nbmb-num", "0.84 (+0.03)"),
    ]
    assert log_loss[0][1] == "log_loss lower is better"
    assert log_loss[1:] == [
        ("nbmb-num", "0.45"),
        ("nbmb-num nbmb-best", "★ 0.4 (−0.05)"),
        ("nbmb-num nbmb-muted", "(not recorded)"),
    ]


def test_metrics_with_infinities_and_no_metrics() -> None:
    runs = three_runs()[:2]
    runs[1].metrics["auc"] = math.inf
    page = Page(compare_html.metrics_html(build_comparison(runs)))
    assert page.rows[1][2] == ("nbmb-num nbmb-best", "★ inf")  # no meaningless delta
    bare = [record(0, "a"), record(1, "b")]
    text = Page(compare_html.metrics_html(build_comparison(bare))).text
    assert text == "None of these runs recorded metrics."


def test_data_section_in_words_with_marks() -> None:
    page = Page(compare_html.data_html(build_comparison(three_runs())))
    assert page.text.count("⚠") == 1 and page.text.count("✓") == 1
    assert "⚠ rf-100 and rf-300 were trained on different data: X: column c missing in rf-300." in (
        page.text
    )
    assert "✓ rf-100 and rf-300-deep used the same data." in page.text
    assert [tag for tag, _ in page.elements].count("code") == 2


def test_figures_side_by_side() -> None:
    page = Page(compare_html.figures_html(build_comparison(three_runs())))
    assert "rf-100" in page.text and "No figure." in page.text
    images = [attrs for tag, attrs in page.elements if tag == "img"]
    assert [attrs["alt"] for attrs in images] == ["Figure 1 of rf-300"]
    none = Page(compare_html.figures_html(build_comparison([record(0, "a"), record(1, "b")])))
    assert none.text.startswith("None of these runs displayed a figure")
