"""Model facts and acceptance criteria end to end: a notebook executed in a real kernel, its
facts written as annotations (alerts and tagged cells), its bars checked by `nbmodelbook check`
and shown by `nbmodelbook report` as met, met on the point estimate only, or not met."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell

from nbmodelbook.cli import main
from tests.integration.conftest import Runner
from tests.integration.test_review_evidence_report import DECISION, LOGREG, SETUP, STUMP

pytestmark = pytest.mark.integration

RISK = "> [!RISK] One hospital's patients only."


def _annotate(path: Path, *markdown: str | tuple[str, list[str]]) -> Path:
    """A copy of the executed notebook with these markdown cells added (text, or text and tags)."""
    notebook = nbformat.read(path, as_version=4)
    for cell in markdown:
        text, tags = cell if isinstance(cell, tuple) else (cell, [])
        added = new_markdown_cell(text)
        if tags:
            added.metadata["tags"] = tags
        notebook.cells.append(added)
    target = path.with_name(f"annotated-{len(list(path.parent.glob('annotated-*')))}.ipynb")
    nbformat.write(notebook, target)
    return target


def _report(path: Path, store: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    out = path.with_suffix(".review.json")
    code = main(["report", str(path), "--store", store, "--format", "json", "-o", str(out)])
    assert code == 0
    capsys.readouterr()
    payload: dict[str, Any] = json.loads(out.read_text())
    return payload


def _check(path: Path, store: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", str(path), "--store", store])
    return code, capsys.readouterr().out


def test_criteria_are_checked_on_the_executed_runs(
    run_notebook: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    executed = run_notebook("%load_ext nbmodelbook", SETUP, LOGREG, STUMP)
    store = str(executed.store_path)
    plain = _report(_annotate(executed.path, DECISION, RISK), store, capsys)
    chosen = plain["chosen"]
    value, low = chosen["value"], chosen["interval"]["low"]
    assert chosen["interval"]["method"] == "DeLong" and low < value < 1
    assert "no-acceptance-criterion" in {f["code"] for f in plain["findings"]}

    bars = {
        "met": round(low - 0.02, 3),
        "met on the point estimate only": round((low + value) / 2, 4),
        "not met": round(min(value + 0.002, 0.9999), 4),
    }
    for expected, bar in bars.items():
        notebook = _annotate(executed.path, DECISION, RISK, f"> [!CRITERION] auc >= {bar}")
        payload = _report(notebook, store, capsys)
        [criterion] = payload["criteria"]
        assert criterion["status"] == expected, (bar, value, low)
        assert (criterion["value"], criterion["lower"]) == (value, low)
        assert criterion["threshold"] == bar and criterion["operator"] == ">="
        codes = {f["code"] for f in payload["findings"]}
        assert "no-acceptance-criterion" not in codes
        code, out = _check(notebook, store, capsys)
        if expected == "not met":
            assert "criterion-not-met" in codes
            assert code == 1 and "NOT ready for review" in out
            assert f"✗ criterion: auc ≥ {bar:g}: not met; auc of logreg" in out
        else:
            assert code == 0, out
            mark = "✓" if expected == "met" else "!"
            assert f"{mark} criterion: auc ≥ {bar:g}: {expected}" in out
        html = notebook.with_suffix(".review.html")
        assert main(["report", str(notebook), "--store", store, "-o", str(html)]) == 0
        capsys.readouterr()
        page = html.read_text()
        section = page[page.index('id="criteria"') : page.index('id="decisions"')]
        assert f"auc ≥ {bar:g}" in section and expected in section

    # A bar on a metric the run never recorded cannot be checked, and says what it did record.
    unknown = _annotate(executed.path, DECISION, RISK, "> [!CRITERION] recall >= 0.9")
    code, out = _check(unknown, store, capsys)
    assert code == 1 and "recorded no metric 'recall'" in out and "it recorded: auc" in out


def test_facts_are_written_and_captured(
    run_notebook: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    executed = run_notebook("%load_ext nbmodelbook", SETUP, LOGREG, STUMP)
    store = str(executed.store_path)
    notebook = _annotate(
        executed.path,
        DECISION,
        RISK,
        "> [!INTENDED-USE] Ranking biopsies for a pathologist's second look\n>\n"
        "> [!TARGET] Benign tumour (label 1 in scikit-learn's coding)",
        ("# Diagnostics analytics team", ["owner"]),
        "> [!VERSION] 2.1\n\n> [!OVERSIGHT] A pathologist reads every sample.",
        ("Monthly AUC on confirmed cases; below 0.95 the owner retrains.", ["Monitoring"]),
    )
    payload = _report(notebook, store, capsys)
    facts = {fact["key"]: fact for fact in payload["facts"]}
    assert facts["intended-use"]["text"] == "Ranking biopsies for a pathologist's second look"
    assert facts["owner"]["text"] == "Diagnostics analytics team"
    assert facts["monitoring"]["text"].startswith("Monthly AUC")
    assert facts["version"]["text"] == "2.1"
    assert {f["key"] for f in payload["facts"] if f["source"] == "annotation"} == {
        "intended-use",
        "target",
        "owner",
        "version",
        "oversight",
        "monitoring",
    }
    captured = {f["key"]: f["text"] for f in payload["facts"] if f["source"] == "captured"}
    assert set(captured) == {
        "training-data",
        "evaluation-data",
        "class-balance",
        "code",
        "environment",
        "run-date",
    }
    assert "X_train (398 × 30" in captured["training-data"]
    assert captured["evaluation-data"].startswith("171 rows scored by auc")
    assert "1: 107 (62.6%)" in captured["class-balance"]
    assert "0: 64 (37.4%)" in captured["class-balance"]
    assert captured["environment"].startswith("Python 3.")

    html = notebook.with_suffix(".review.html")
    assert main(["report", str(notebook), "--store", store, "-o", str(html)]) == 0
    capsys.readouterr()
    page = html.read_text()
    summary = page[page.index('id="summary"') : page.index('id="facts"')]
    assert "<strong>Target:</strong> Benign tumour (label 1 in scikit-learn" in summary
    facts_section = page[page.index('id="facts"') : page.index('id="criteria"')]
    assert "Not written yet" in facts_section and "[!OUT-OF-SCOPE]" in facts_section
    assert "[!OWNER]" not in facts_section
