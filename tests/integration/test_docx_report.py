"""`nbmodelbook report --format docx` on a notebook executed in a real kernel: the evidence of a
decision (its comparisons, its chosen run's figures and plot) reaches Word as Word structure."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_markdown_cell

from nbmodelbook.cli import main
from nbmodelbook.report.load import load_review
from nbmodelbook.report.render_html import render_html
from nbmodelbook.report.view import build_view
from tests.integration.conftest import KERNEL_TIMEOUT, Executed, kernel_env, make_notebook
from tests.integration.test_evidence_report import LINEAR_DATA, NAIVE_BAYES, NOISE_ONLY, RISK
from tests.report.test_render_docx import Word

pytestmark = pytest.mark.integration
pytest.importorskip("pypandoc")

FULL_WITH_PLOT = (
    "%%track full\n"
    "import matplotlib.pyplot as plt\n"
    "model = LogisticRegression().fit(X_train, y_train)\n"
    "auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])\n"
    "plt.plot(model.coef_[0])\n"
    "plt.show()"
)
DECISION = (
    "> [!DECISION] Logistic regression on every feature\n"
    "> We chose run:full over run:noise-only and run:naive-bayes: it ranks the test cases"
    " better. metric:auc"
)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Executed:
    """One notebook executed in a real kernel for the module, annotated after its runs."""
    folder = tmp_path_factory.mktemp("docx")
    notebook = make_notebook(
        "%load_ext nbmodelbook",
        LINEAR_DATA.format(noise=0.5),
        FULL_WITH_PLOT,
        NOISE_ONLY,
        NAIVE_BAYES,
    )
    path, store = folder / "credit.ipynb", folder / "store" / "runs.sqlite"
    client = NotebookClient(
        notebook, timeout=KERNEL_TIMEOUT, resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=kernel_env(store, path))
    notebook.cells.extend(new_markdown_cell(text) for text in (DECISION, RISK))
    nbformat.write(notebook, path)
    return Executed(notebook, path, store)


@pytest.fixture(scope="module")
def written(executed: Executed) -> tuple[Path, list[str]]:
    """`report -o` into a folder of its own, and what the folder holds afterwards."""
    folder = executed.path.parent / "out"
    folder.mkdir()
    out = folder / "credit.docx"
    args = ["report", str(executed.path), "--store", str(executed.store_path), "-o", str(out)]
    assert main(args) == 0
    return out, sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def page(executed: Executed) -> dict[str, Any]:
    review = load_review(executed.path, str(executed.store_path), progress=lambda _m: None)
    return build_view(review)


def test_o_docx_writes_exactly_one_word_file(written: tuple[Path, list[str]]) -> None:
    out, names = written
    assert names == ["credit.docx"]
    assert out.read_bytes()[:2] == b"PK"


def test_is_the_lead_real_table_holds_the_views_comparisons(
    written: tuple[Path, list[str]], page: dict[str, Any]
) -> None:
    word = Word(written[0].read_bytes())
    [decision] = page["decisions"]
    assert len(decision["comparisons"]) == 2
    rows = word.table_after(
        "Is the lead real?",
        ["Alternative", "Metric", "Difference", "p-value", "Method", "Verdict"],
    )
    assert [row[:5] for row in rows] == [
        [c["ref"].label, c["metric"], c["difference"], c["p"], c["method"]]
        for c in decision["comparisons"]
    ]
    assert [row[5] for row in rows] == [
        c["verdict"] + (c["reason"] or "") for c in decision["comparisons"]
    ]
    assert "significantly better" in rows[0][5] + rows[1][5]
    evidence = page["performance"]["evidence"]
    assert evidence["evaluations"]
    measured = word.table_after(
        "Evidence behind the figures",
        ["Metric", "Computed by", "Value", "Interval", "Method", "Rows"],
    )
    assert [row[:4] for row in measured] == [
        [e["metric"], e["function"], e["value"], e["interval"]] for e in evidence["evaluations"]
    ]


def test_headings_and_figures_of_the_real_review(
    executed: Executed, written: tuple[Path, list[str]], page: dict[str, Any]
) -> None:
    word = Word(written[0].read_bytes())
    assert word.headings(1) == [f"{s['number']}. {s['heading']}" for s in page["sections"]]
    assert "Decision 1: Logistic regression on every feature" in word.headings(2)
    review = load_review(executed.path, str(executed.store_path), progress=lambda _m: None)
    images = render_html(review).count("<img ")
    assert images >= 4  # interval chart, history, curves, the plot the chosen run showed
    assert len(word.document.inline_shapes) == images
    figures = [f for f in page["performance"]["figures"] if f["kind"] == "image"]
    assert figures, "the chosen run's plot was captured"
    media = word.media()
    # The captured plot is embedded as the very PNG the kernel displayed.
    assert any(data == figures[0]["figure"].image_bytes for data in media)


def test_format_docx_writes_beside_the_notebook(executed: Executed) -> None:
    from PIL import Image

    args = ["report", str(executed.path), "--store", str(executed.store_path), "--format", "docx"]
    assert main(args) == 0
    out = executed.path.with_name("credit.review.docx")
    first = out.read_bytes()
    assert main(args) == 0
    assert out.read_bytes() == first  # the same notebook and store give the same bytes
    word = Word(first)
    for data in word.media():
        Image.open(io.BytesIO(data)).verify()  # every picture is an image Word can read
