"""The `nbmodelbook` command: runs in three formats, clear errors, exit codes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from nbmodelbook.cli import main
from nbmodelbook.record import RunRecord, RunStatus, new_run_id
from nbmodelbook.store.store import RunStore


@pytest.fixture
def notebook_with_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("NBMODELBOOK_STORE", raising=False)
    notebook = tmp_path / "model.ipynb"
    nbformat.write(new_notebook(), notebook)
    store = RunStore.open(str(tmp_path / ".nbmodelbook" / "runs.sqlite"))
    for name, auc in (("rf", 0.91), ("gbm", math.nan)):
        now = time.time()
        run = RunRecord(
            new_run_id(now),
            name,
            now,
            "x",
            "h",
            status=RunStatus.OK,
            ended_at=now + 1.5,
            notebook=str(notebook),
            tags=["a", "b"],
            params={"depth": 3, "layers": [1, 2]},
            metrics={"auc": auc},
        )
        store.finish_run(run)
    other = time.time()
    store.finish_run(
        RunRecord(new_run_id(other), "elsewhere", other, "x", "h", notebook="/o.ipynb")
    )
    return notebook


def test_table(notebook_with_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", str(notebook_with_runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "name", "status", "started", "(UTC)", "duration", "auc"]
    assert "rf" in lines[1] and "0.91" in lines[1] and "1.50s" in lines[1]
    assert len(lines) == 3  # only this notebook's runs


def test_json_and_csv(notebook_with_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", str(notebook_with_runs), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == ["rf", "gbm"]
    assert rows[0]["params.depth"] == 3 and rows[0]["metrics.auc"] == 0.91
    assert main(["runs", str(notebook_with_runs), "--format", "csv"]) == 0
    csv = capsys.readouterr().out
    assert csv.splitlines()[0].startswith("run_id,name,status,started_at")
    assert '"[""a"", ""b""]"' in csv  # lists as JSON, parseable by CSV readers


def test_missing_notebook_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", str(tmp_path / "nope.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err


def test_unknown_store_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--store", "mongodb://x/y"]) == 2
    assert "no nbmodelbook store backend for 'mongodb://'" in capsys.readouterr().err


def test_console_script_and_module_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nbmodelbook", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("nbmodelbook ")


def test_moved_notebook_still_finds_its_runs_through_markers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NBMODELBOOK_STORE", raising=False)
    store = RunStore.open(str(tmp_path / ".nbmodelbook" / "runs.sqlite"))
    now = time.time()
    filed = RunRecord(new_run_id(now), "filed", now, "%%track filed\nx=1", "h1",
                      notebook="/old/place.ipynb")  # fmt: skip
    unfiled = RunRecord(new_run_id(now + 1), "unfiled", now + 1, "%%track unfiled\ny = 2",
                        code_hash_of("%%track unfiled\ny = 2"))  # fmt: skip
    stranger = RunRecord(new_run_id(now + 2), "stranger", now + 2, "z", "h3", notebook="/x.ipynb")
    for run in (filed, unfiled, stranger):
        store.finish_run(run)
    marked = new_code_cell("%%track filed\nx=1")
    marked.outputs = [
        new_output(
            "display_data",
            data={"application/vnd.nbmodelbook.run+json": {"run_id": filed.run_id}},
        )
    ]
    notebook = tmp_path / "moved.ipynb"
    nbformat.write(new_notebook(cells=[marked, new_code_cell("%%track unfiled\ny = 2")]), notebook)
    assert main(["runs", str(notebook), "--format", "json"]) == 0
    names = [row["name"] for row in json.loads(capsys.readouterr().out)]
    assert names == ["filed", "unfiled"]


def test_invalid_notebook_json_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    assert main(["runs", str(broken)]) == 2
    assert "not valid notebook JSON" in capsys.readouterr().err


def code_hash_of(text: str) -> str:
    from nbmodelbook.record import code_hash

    return code_hash(text)


def test_newer_store_is_a_clear_error_not_a_crash(
    notebook_with_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    store = notebook_with_runs.parent / ".nbmodelbook" / "runs.sqlite"
    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE nbmb_meta SET value='99' WHERE key='schema_version'")
    assert main(["runs", str(notebook_with_runs)]) == 2
    assert "upgrade nbmodelbook" in capsys.readouterr().err


def test_internal_errors_have_their_own_exit_code(
    notebook_with_runs: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbmodelbook.store.frames as frames

    def broken(_runs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(frames, "runs_frame", broken)
    assert main(["runs", str(notebook_with_runs)]) == 3
    assert "internal error (ZeroDivisionError: boom)" in capsys.readouterr().err


def test_check_is_not_ready_when_a_decision_names_a_metric_no_cited_run_has(
    notebook_with_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbformat.v4 import new_markdown_cell

    def annotate(metric: str) -> None:
        decision = f"> [!DECISION] Random forest\n> run:rf over run:gbm: best metric:{metric}."
        risk = "> [!RISK] One train/test split."
        cells = [new_markdown_cell(decision), new_markdown_cell(risk)]
        nbformat.write(new_notebook(cells=cells), notebook_with_runs)

    annotate("auc")
    assert main(["check", str(notebook_with_runs)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    annotate("acu")
    assert main(["check", str(notebook_with_runs)]) == 1
    out = capsys.readouterr().out
    assert "NOT ready for review" in out
    assert "✗ cell 1: metric:acu — no cited run recorded it; did you mean auc?" in out
