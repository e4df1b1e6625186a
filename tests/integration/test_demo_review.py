"""The demo notebook executed for real and its review read as a model-risk reviewer reads it:
parameter tables without false differences, page 1 naming the risks, figures rounded in the
body, and a history chart that shows every run on a readable time axis."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from nbmodelbook.report import charts
from nbmodelbook.report.load import load_review
from nbmodelbook.report.model import Review
from nbmodelbook.report.render_html import render_html
from nbmodelbook.report.render_markdown import render_markdown
from nbmodelbook.report.view import ReviewContext, build_view
from tests.integration.conftest import KERNEL_TIMEOUT, kernel_env
from tests.report.test_history_chart import axis_labels, run_marks
from tests.report.test_report_numbers import assert_rounded, html_body, markdown_body
from tests.widgets._html import Page

DEMO = Path(__file__).resolve().parents[2] / "demo.ipynb"
DEMO_RUNS = 5


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Review:
    folder = tmp_path_factory.mktemp("demo")
    path = folder / "demo.ipynb"
    shutil.copy(DEMO, path)
    store = folder / "runs.sqlite"
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=KERNEL_TIMEOUT, resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=kernel_env(store, path))
    nbformat.write(notebook, path)
    return load_review(path, str(store), progress=lambda message: None)


@pytest.fixture(scope="module")
def html(review: Review) -> str:
    return render_html(review)


@pytest.fixture(scope="module")
def markdown(review: Review) -> tuple[str, dict[str, bytes]]:
    return render_markdown(review, Path("demo_files"))


def test_the_decisions_differences_are_real_ones(markdown: tuple[str, dict[str, bytes]]) -> None:
    text, _files = markdown
    decision = text[text.index("#### Parameters that differ") :]
    visible = decision[: decision.index("<details>")]
    rows = [line.split("|")[1].strip() for line in visible.splitlines() if line.startswith("| `")]
    assert rows[0] == "`model`"
    # A pipeline's verbose=False against the ensembles' verbose=0, and seeds or thread counts
    # only some families have, are no differences; the ensembles' own settings that agree
    # (min_samples_leaf=1 in both) are none either.
    for name in ("verbose", "random_state", "n_jobs", "min_samples_leaf", "ccp_alpha"):
        assert all(name not in row for row in rows), rows
    assert "| `model.n_estimators` | not applicable | 150 | 500 |" in visible
    assert "(not set)" not in visible
    full = decision[decision.index("<details>") : decision.index("</details>")]
    names = [line.split("|")[1].strip() for line in full.splitlines() if line.startswith("| `")]
    # The logistic regression's defining settings come right after the models.
    assert names[1:4] == [
        "`model.final_estimator`",
        "`model.logisticregression__C`",
        "`model.logisticregression__penalty`",
    ]
    assert names[-1] == "`model.warm_start`" and "`model.verbose`" in names[-12:]
    assert "| `best_lr` | (not set) | 0.3 | (not set) | no |" in full


def test_page_one_names_each_risk_and_limitation(html: str) -> None:
    summary = html[html.index('id="summary"') : html.index('id="facts"')]
    text = " ".join(Page(summary).text.split())
    assert "written down by the authors (see section 9): 1 risk and 2 limitations: Risk:" in text
    assert "Risk: The data come from one hospital" in text


def test_no_figure_in_the_body_has_more_than_four_decimals(
    html: str, markdown: tuple[str, dict[str, bytes]]
) -> None:
    assert_rounded(*html_body(html))
    assert_rounded(*markdown_body(*markdown))
    appendix = html[html.index('<section class="section" id="appendix"') :]
    assert "auc=0.997694" in appendix  # the run log keeps what was recorded


def test_the_history_chart_shows_every_run_on_a_readable_axis(review: Review) -> None:
    page = build_view(review)
    image = page["history_chart"]
    found = ReviewContext(review).history_chart_rows()
    assert image is not None and found is not None
    rows, title = found
    chart = charts.history_chart(rows, "auc", title)
    assert run_marks(chart, image.svg) == len(page["history"]) == DEMO_RUNS  # the sweep too
    labels = axis_labels(image.svg)
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
