"""The review model and audit on notebooks executed for real, then edited like people do."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell

from nbmodelbook.cli import main
from nbmodelbook.report.load import load_review
from nbmodelbook.report.readiness import is_ready, readiness
from tests.integration.conftest import Executed, Runner

pytestmark = pytest.mark.integration

SETUP = (
    "import numpy as np, pandas as pd\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.ensemble import RandomForestClassifier\n"
    "from sklearn.metrics import roc_auc_score\n"
    "rng = np.random.default_rng(0)\n"
    "frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=['a', 'b', 'c'])\n"
    "target = (frame['a'] + rng.normal(scale=0.7, size=300) > 0).astype(int)"
)
LOGREG = (
    "%%track logreg\n"
    "model = LogisticRegression(C=1.0).fit(frame, target)\n"
    "auc = roc_auc_score(target, model.predict_proba(frame)[:, 1])"
)
FOREST = (
    "%%track forest\n"
    "model = RandomForestClassifier(n_estimators=20, max_depth=2, random_state=0)\n"
    "model.fit(frame, target)\n"
    "auc = roc_auc_score(target, model.predict_proba(frame)[:, 1])"
)
DECISION = (
    "> [!DECISION] Logistic regression for production\n"
    "> We chose run:logreg over run:forest: simpler and as good. metric:auc\n\n"
    "> [!RISK] Synthetic data only."
)


def annotate(executed: Executed, *markdown: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(executed.path, as_version=4)
    notebook.cells.extend(new_markdown_cell(text) for text in markdown)
    nbformat.write(notebook, executed.path)
    return notebook


def codes(review: object) -> set[str]:
    return {finding.code for finding in review.findings}  # type: ignore[attr-defined]


def test_clean_notebook_is_ready(run_notebook: Runner) -> None:
    executed = run_notebook("%load_ext nbmodelbook", SETUP, LOGREG, FOREST)
    annotate(executed, DECISION)
    review = load_review(executed.path, str(executed.store_path), progress=lambda _m: None)
    [decision] = review.decisions
    assert review.runs[decision.chosen_run_id].name == "logreg"  # type: ignore[index]
    assert [review.runs[r].name for r in decision.alternative_run_ids] == ["forest"]
    assert decision.headline_metric == "auc"
    assert {row.name for row in decision.evidence.differing_params} >= {"model"}
    assert [d.kind for d in decision.evidence.data] == ["same"]
    assert review.methodology is not None
    assert "frame = pd.DataFrame" in review.methodology.reproducible_code
    assert "%%track" not in review.methodology.reproducible_code
    assert review.effort is not None and review.effort.total_runs == 2
    assert "edited-after-run" not in codes(review)
    assert is_ready(readiness(review)), readiness(review)


def test_edited_cell_and_out_of_order_state_are_flagged(run_notebook: Runner) -> None:
    executed = run_notebook("%load_ext nbmodelbook", SETUP, LOGREG, FOREST)
    notebook = annotate(executed, DECISION)
    # Edit the chosen run's cell after it ran, and move the data cell below it.
    notebook.cells[2].source = notebook.cells[2].source.replace("C=1.0", "C=0.1")
    notebook.cells.insert(3, notebook.cells.pop(1))
    nbformat.write(notebook, executed.path)
    review = load_review(executed.path, str(executed.store_path), progress=lambda _m: None)
    found = {finding.code: finding for finding in review.findings}
    assert found["edited-after-run"].severity.value == "high"
    assert found["edited-after-run"].cell_index == 1
    assert "lineage-out-of-order" in found
    assert not is_ready(readiness(review))


def test_deleted_dependency_different_data_and_unknown_refs(run_notebook: Runner) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        SETUP,
        LOGREG,
        "frame = frame.drop(columns=['c'])",
        FOREST,
        ("%%track broken\nraise ValueError('no')", ["raises-exception"]),
    )
    notebook = annotate(
        executed,
        "> [!DECISION] Forest\n> run:forest over run:logreg and run:nonexistent",
        "> [!DECISION] Nothing cited",
    )
    del notebook.cells[3]  # the cell that changed the data
    nbformat.write(notebook, executed.path)
    review = load_review(executed.path, str(executed.store_path), progress=lambda _m: None)
    found = {finding.code: finding for finding in review.findings}
    assert "column `c` only in logreg" in " ".join(
        d.sentence for d in review.decisions[0].evidence.data
    )
    assert "different-data" in found
    assert "unknown-run" in found and "nonexistent" in found["unknown-run"].title
    assert "decision-without-evidence" in found
    assert "lineage-deleted" in found
    assert "failed-runs-unmentioned" in found
    assert not is_ready(readiness(review))


def test_report_and_check_commands(
    run_notebook: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    executed = run_notebook("%load_ext nbmodelbook", SETUP, LOGREG, FOREST)
    annotate(executed, DECISION)
    store = str(executed.store_path)
    assert main(["check", str(executed.path), "--store", store, "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["ready"] is True
    out = executed.path.with_name("out.review.html")
    assert main(["report", str(executed.path), "--store", store, "-o", str(out)]) == 0
    first = out.read_bytes()
    assert b"Logistic regression for production" in first
    assert main(["report", str(executed.path), "--store", store, "-o", str(out)]) == 0
    assert out.read_bytes() == first  # deterministic
    md = executed.path.with_name("out.review.md")
    assert main(["report", str(executed.path), "--store", store, "-o", str(md)]) == 0
    assert "Logistic regression for production" in md.read_text()


def test_unusable_inputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    assert main(["check", str(broken)]) == 2
    assert main(["report", str(broken)]) == 2
    assert main(["report", str(tmp_path / "missing.ipynb")]) == 2
    assert "not valid notebook JSON" in capsys.readouterr().err


def test_notebook_without_runs_or_store_still_reports(tmp_path: Path) -> None:
    notebook = tmp_path / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[new_markdown_cell("# Nothing yet")]), notebook)
    assert main(["check", str(notebook)]) == 1
    assert main(["report", str(notebook)]) == 0
    html = notebook.with_name("empty.review.html").read_text()
    assert "Nothing yet" in html
    assert not (tmp_path / ".nbmodelbook").exists()  # reading never creates a store
