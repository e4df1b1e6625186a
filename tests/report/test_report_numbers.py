"""Figures in the body of a report are rounded to what they support; the appendix keeps them as
recorded. A scan of the rendered report (its sections before the appendix, chart labels
included) finds no number with more than four decimals."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from nbmodelbook.report.model import Review
from nbmodelbook.report.numbers import format_number, format_precise
from nbmodelbook.report.render_html import render_html
from nbmodelbook.report.render_markdown import render_markdown
from tests.report.test_audit import SAME_DATA, annotation, review_of, saved_cell, tracked_run

OVER_PRECISE = re.compile(r"\d\.\d{5,}")
_DATA_URI = re.compile(r'data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)|data:image/[^"\')]+')
_SVG_TEXT = re.compile(r"<text[^>]*>([^<]*)</text>")


def svg_texts(svg: str) -> list[str]:
    return _SVG_TEXT.findall(svg)


def html_body(html: str) -> tuple[str, list[str]]:
    """The HTML before the appendix with images cut out, and the text drawn in its charts."""
    body = html[: html.index('<section class="section" id="appendix"')]
    drawn: list[str] = []
    for match in _DATA_URI.finditer(body):
        if match.group(1):
            drawn += svg_texts(base64.b64decode(match.group(1)).decode("utf-8"))
    return _DATA_URI.sub("", body), drawn


def markdown_body(text: str, files: dict[str, bytes]) -> tuple[str, list[str]]:
    body = text[: text.index("Appendix: environment and run log\n")]
    drawn: list[str] = []
    for name, content in files.items():
        if name.endswith(".svg"):  # every chart is drawn in the body
            drawn += svg_texts(content.decode("utf-8"))
    return body, drawn


def over_precise(text: str) -> list[str]:
    return [text[max(0, m.start() - 60) : m.end() + 10] for m in OVER_PRECISE.finditer(text)]


def assert_rounded(body: str, drawn: list[str]) -> None:
    assert over_precise(body) == []
    assert [text for text in drawn if OVER_PRECISE.search(text)] == []


def precise_review() -> Review:
    """A decision and a rejection over runs whose metrics carry every digit a float has, one
    run with a metric far below one and one that failed."""
    metrics: list[dict[str, Any]] = [
        {"auc": 0.912345678, "brier": 0.0180669123, "log_loss": 0.234567891},
        {"auc": 0.897654321, "brier": 0.0339589777, "log_loss": 0.298765432},
        {"auc": 0.887766554, "brier": 0.0300805111, "log_loss": 0.312345678},
    ]
    runs = [
        tracked_run(
            index,
            name,
            params={"model": "LogisticRegression", "model.C": 0.5, "model.tol": 0.0001},
            metrics=values,
            inputs=SAME_DATA,
        )
        for index, (name, values) in enumerate(
            zip(["logreg", "gbm", "rf"], metrics, strict=True), start=1
        )
    ]
    cells = [
        *map(saved_cell, runs),
        annotation("DECISION", "Logistic", "We chose run:logreg over run:gbm, on metric:auc."),
        annotation("REJECTED", "run:rf: no better"),
        annotation("RISK", "Drift", "The population may drift."),
    ]
    return review_of(*cells, runs=runs)


@pytest.fixture(scope="module")
def review() -> Review:
    return precise_review()


def test_the_html_body_prints_no_figure_beyond_four_decimals(review: Review) -> None:
    html = render_html(review)
    body, drawn = html_body(html)
    assert "0.9123" in body and drawn  # the figures and the charts are there, rounded
    assert_rounded(body, drawn)
    appendix = html[html.index('<section class="section" id="appendix"') :]
    assert "auc=0.912346" in appendix and "brier=0.0180669" in appendix  # as recorded


def test_the_markdown_body_prints_no_figure_beyond_four_decimals(review: Review) -> None:
    text, files = render_markdown(review, Path("review_files"))
    body, drawn = markdown_body(text, files)
    assert "0.9123" in body and drawn
    assert_rounded(body, drawn)
    assert "auc=0.912346" in text[text.index("Appendix: environment and run log\n") :]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.998123, "0.9981"),
        (0.0180669, "0.0181"),
        (0.5, "0.5"),
        (12.3456, "12.35"),
        (123456.7, "123457"),
        (0.0012345, "0.0012"),
        (0.00012345, "1.23e-04"),
        (-0.00001, "-1e-05"),
        (12345678.0, "1.235e+07"),
        (-0.9977, "-0.9977"),
        (0.0, "0"),
        (3, "3"),
        (True, "True"),
        (None, "—"),
        (float("nan"), "nan"),
    ],
)
def test_a_figure_in_the_body_keeps_four_significant_digits_and_four_decimals(
    value: Any, shown: str
) -> None:
    assert format_number(value) == shown
    assert not OVER_PRECISE.search(format_number(value))


def test_the_run_log_keeps_what_was_recorded() -> None:
    assert format_precise(0.998123) == "0.998123"
    assert format_precise(0.0180669123) == "0.0180669"
