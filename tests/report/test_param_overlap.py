"""The sentence saying how the compared runs' parameters line up, in HTML and in Markdown.

It must be true whatever the runs share: every parameter set by only one run (a logistic
regression against a random forest) is no parameter "identical across the compared runs".
"""

from __future__ import annotations

from typing import Any

import pytest

from nbmodelbook.record import RunRecord
from nbmodelbook.report.compare import compare_runs
from nbmodelbook.report.model import Review
from nbmodelbook.report.render_html import render_html
from nbmodelbook.report.render_markdown import md_text, render_markdown
from tests.report.test_audit import SAME_DATA, annotation, review_of, saved_cell, tracked_run
from tests.widgets._html import Page


def numbered(prefix: str, count: int, value: Any = 1) -> dict[str, Any]:
    return {f"{prefix}{index:02d}": value for index in range(count)}


def review_comparing(*params: dict[str, Any]) -> Review:
    """A decision choosing the first run over the others, each with the given params."""
    names = ["logreg", "rf-500", "gbm"][: len(params)]
    runs = [
        tracked_run(
            index, name, params=run_params, metrics={"auc": 0.9 - index / 100}, inputs=SAME_DATA
        )
        for index, (name, run_params) in enumerate(zip(names, params, strict=True), start=1)
    ]
    cites = " over ".join(f"run:{name}" for name in names)
    decision = annotation("DECISION", "The logistic regression", f"We chose {cites}.")
    return review_of(*map(saved_cell, runs), decision, runs=runs)


def html_decision_text(review: Review) -> str:
    html = render_html(review)
    section = html[html.index('id="decision-1"') :]
    return Page(section[: section.index("<h5>Metrics")]).text


def markdown_decision(review: Review) -> str:
    text, _files = render_markdown(review, None)
    section = text[text.index("#### Parameters that differ") :]
    return section[: section.index("#### Metrics")]


def assert_said_in_both_formats(review: Review, sentence: str) -> None:
    html = html_decision_text(review)
    assert sentence in " ".join(html.split()), html
    markdown = markdown_decision(review)
    assert md_text(sentence) in markdown, markdown


NO_SHARED = "The runs share no parameter: 12 are set by logreg only, 48 by rf-500 only."


def test_runs_that_share_no_parameter_are_not_said_to_be_identical() -> None:
    review = review_comparing(numbered("lr_", 12), numbered("rf_", 48))
    assert_said_in_both_formats(review, NO_SHARED)
    for text in (html_decision_text(review), markdown_decision(review)):
        assert "identical" not in text
        assert "All 60 parameters" in text  # the full table is still there to open


def test_all_shared_and_identical() -> None:
    review = review_comparing(numbered("p", 5), numbered("p", 5))
    assert_said_in_both_formats(review, "All 5 parameters are identical across the compared runs.")


def test_shared_identical_and_others_set_by_one_run_each() -> None:
    review = review_comparing(
        {**numbered("p", 5), **numbered("lr_", 12)}, {**numbered("p", 5), **numbered("rf_", 43)}
    )
    assert_said_in_both_formats(
        review,
        "All 5 shared parameters are identical; 55 more are set by only some of the runs "
        "(12 by logreg only, 43 by rf-500 only).",
    )


def test_shared_and_different() -> None:
    first = numbered("p", 5)
    second = {**first, "p00": 2, "p01": 3}
    review = review_comparing(first, second)
    assert_said_in_both_formats(review, "2 of the 5 parameters differ, 3 are identical.")
    markdown = markdown_decision(review)
    assert "| `p00` | 1 | 2 |" in markdown and "`p02` |" not in markdown.split("<details>")[0]


def test_some_shared_some_different_some_set_by_one_run() -> None:
    first = {**numbered("p", 5), **numbered("lr_", 2)}
    second = {**numbered("p", 5), "p04": 9, "rf_00": 1}
    review = review_comparing(first, second)
    assert_said_in_both_formats(
        review,
        "1 of the 5 shared parameters differs, 4 are identical; 3 more are set by only some "
        "of the runs (2 by logreg only, 1 by rf-500 only).",
    )


def test_every_shared_parameter_differs() -> None:
    review = review_comparing({"C": 1.0, "seed": 1}, {"C": 0.1, "seed": 2, "rf_00": 1})
    assert_said_in_both_formats(
        review, "All 2 shared parameters differ; 1 more is set by rf-500 only."
    )


def test_three_runs_with_params_two_of_them_set() -> None:
    review = review_comparing(
        {"seed": 1, "depth": 3}, {"seed": 1, "depth": 4}, {"seed": 1, "rounds": 10}
    )
    assert_said_in_both_formats(
        review,
        "The one shared parameter is identical; 2 more are set by only some of the runs "
        "(1 by logreg and rf-500 only, 1 by gbm only).",
    )


def test_a_parameter_recorded_as_none_by_every_run_is_shared() -> None:
    review = review_comparing({"max_depth": None, "seed": 1}, {"max_depth": None, "seed": 1})
    assert_said_in_both_formats(review, "All 2 parameters are identical across the compared runs.")
    full = markdown_decision(review)
    assert "(not set)" not in full


def test_no_parameters_at_all() -> None:
    review = review_comparing({}, {})
    assert_said_in_both_formats(review, "No parameters were recorded for these runs.")


def run(index: int, name: str, **params: Any) -> RunRecord:
    return tracked_run(index, name, params=params)


def sentence_of(runs: list[RunRecord], labels: list[str]) -> str:
    from nbmodelbook.report.compare import params_sentence

    return params_sentence(compare_runs(runs), labels)


@pytest.mark.parametrize(
    ("params", "sentence"),
    [
        (({"a": 1}, {"a": 1}), "The one parameter is identical across the compared runs."),
        (({"a": 1}, {"a": 2}), "The one parameter differs between the compared runs."),
        (({"a": 1, "b": 1}, {"a": 2, "b": 2}), "All 2 parameters differ."),
        (({"a": 1}, {"b": 1}), "The runs share no parameter: 1 is set by x only, 1 by y only."),
        (({"a": 1}, {}), "The runs share no parameter: 1 is set by x only."),
    ],
)
def test_singular_and_plural(params: tuple[dict[str, Any], ...], sentence: str) -> None:
    runs = [
        run(index, name, **values)
        for index, (name, values) in enumerate(zip(("x", "y"), params, strict=True))
    ]
    assert sentence_of(runs, ["x", "y"]) == sentence


def test_many_groups_of_runs_are_summed_up_not_listed() -> None:
    names = [f"r{index}" for index in range(6)]
    runs = [run(index, name, shared=1, **{f"own_{name}": 1}) for index, name in enumerate(names)]
    assert sentence_of(runs, names) == (
        "The one shared parameter is identical; 6 more are set by only some of the runs."
    )


def test_one_run_is_no_comparison() -> None:
    assert sentence_of([run(0, "x", a=1, b=2)], ["x"]) == (
        "Only one run is compared; it records 2 parameters."
    )
