"""Page 1 says what the authors' open risks are: how many of each kind, then each by title,
risks before limitations."""

from __future__ import annotations

from pathlib import Path

from nbmodelbook.report.model import Review
from nbmodelbook.report.render_html import render_html
from nbmodelbook.report.render_markdown import render_markdown
from tests.report.test_audit import SAME_DATA, annotation, review_of, saved_cell, tracked_run
from tests.widgets._html import Page


def review_with(*notes: tuple[str, str]) -> Review:
    chosen = tracked_run(1, "logreg", metrics={"auc": 0.9}, inputs=SAME_DATA)
    other = tracked_run(2, "rf", metrics={"auc": 0.8}, inputs=SAME_DATA)
    cells = [saved_cell(chosen), saved_cell(other)]
    cells.append(annotation("DECISION", "Logistic", "We chose run:logreg over run:rf."))
    cells += [annotation(kind, title) for kind, title in notes]
    return review_of(*cells, runs=[chosen, other])


def html_glance(review: Review) -> str:
    html = render_html(review)
    summary = html[html.index('id="summary"') : html.index('id="facts"')]
    return " ".join(Page(summary[summary.index("At a glance") :]).text.split())


def markdown_glance(review: Review) -> str:
    text, _files = render_markdown(review, Path("files"))
    return text[text.index("**At a glance**") : text.index("## 2. Model facts")]


NOTES = (("LIMITATION", "One hospital only"), ("RISK", "Drift in referrals"))


def test_each_risk_and_limitation_is_named_with_the_count_of_each_kind() -> None:
    review = review_with(*NOTES)
    html = html_glance(review)
    assert (
        "written down by the authors (see section 9): 1 risk and 1 limitation: "
        "Risk: Drift in referrals Limitation: One hospital only" in html
    ), html
    markdown = markdown_glance(review)
    assert (
        "(section 9): 1 risk and 1 limitation:\n"
        "  - **Risk:** Drift in referrals\n"
        "  - **Limitation:** One hospital only\n" in markdown
    ), markdown


def test_plural_counts_and_none() -> None:
    review = review_with(*NOTES, ("LIMITATION", "Small sample"))
    assert "1 risk and 2 limitations:" in html_glance(review)
    assert "1 risk and 2 limitations:" in markdown_glance(review)
    only = review_with(("RISK", "Drift"), ("RISK", "Leakage"))
    assert "2 risks: Risk: Drift Risk: Leakage" in html_glance(only)
    none = review_with(("ASSUMPTION", "Stable prices"))
    assert "written down by the authors (section 9): **none**." in markdown_glance(none)
