"""The exporter on notebooks it did not write: peers' test notebooks, old formats, broken files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell

from nbmodelbook.cli import main
from tests.integration.conftest import Runner

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
CORPUS_NOTEBOOKS = sorted(CORPUS.glob("*/*.ipynb")) if CORPUS.is_dir() else []


@pytest.mark.skipif(
    not CORPUS_NOTEBOOKS, reason="the shared notebook corpus is not beside the repo"
)
@pytest.mark.parametrize("source", CORPUS_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_notebook_reports_or_fails_clearly(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = tmp_path / source.name
    shutil.copyfile(source, notebook)
    code = main(["report", str(notebook)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if code == 0:
        html = notebook.with_name(notebook.stem + ".review.html").read_text()
        assert "<script" not in html.lower()
        assert main(["check", str(notebook)]) == 1  # no decision in peers' notebooks
    else:
        assert code == 2 and captured.err.startswith("nbmodelbook: "), captured.err


def test_v3_notebook_is_upgraded(tmp_path: Path) -> None:
    candidates = [p for p in CORPUS_NOTEBOOKS if p.name == "test3.ipynb"]
    if not candidates:
        pytest.skip("no v3 notebook in the corpus")
    notebook = tmp_path / "old.ipynb"
    shutil.copyfile(candidates[0], notebook)
    assert main(["report", str(notebook)]) == 0


def test_nbconvert_exporter(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        "%%track first\nfrom sklearn.metrics import roc_auc_score\n"
        "auc = roc_auc_score([0, 0, 1, 1, 0, 1, 0, 1, 1, 0], "
        "[0.1, 0.3, 0.7, 0.8, 0.2, 0.6, 0.4, 0.9, 0.35, 0.5])",
    )
    notebook = nbformat.read(executed.path, as_version=4)
    notebook.cells.append(
        new_markdown_cell("> [!DECISION] First\n> run:first is all we have. metric:auc")
    )
    nbformat.write(notebook, executed.path)
    jupyter = Path(sys.executable).with_name("jupyter")
    done = subprocess.run(
        [str(jupyter), "nbconvert", "--to", "modelbook", str(executed.path)],
        capture_output=True,
        text=True,
        env={"NBMODELBOOK_STORE": str(executed.store_path), "PATH": str(jupyter.parent)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = executed.path.with_name(executed.path.stem + ".review.html")
    html = report.read_text()
    assert "First" in html and "first" in html and "<script" not in html.lower()
    # The same review as `nbmodelbook report`: the evidence behind the decision's metric.
    assert "Evidence behind the figures" in html and "(95% CI " in html
