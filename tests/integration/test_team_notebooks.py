"""Two people's notebooks at the same path (a shared server's /home/jovyan/model.ipynb) in one
team store are told apart by their repositories."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from nbmodelbook.cli import main
from nbmodelbook.record import RunRecord, RunStatus, new_run_id
from nbmodelbook.store.store import RunStore
from tests.integration.conftest import Runner

pytestmark = pytest.mark.integration

OURS = "https://git.example.com/credit/scorecard.git"
THEIRS = "https://git.example.com/fraud/detector.git"


def _git_repo(folder: Path, remote: str) -> None:
    for command in (
        ["git", "init", "-q"],
        ["git", "remote", "add", "origin", remote],
    ):
        subprocess.run(command, cwd=folder, check=True, capture_output=True)


def _their_run(notebook: Path) -> RunRecord:
    started = time.time() - 60
    return RunRecord(
        run_id=new_run_id(started),
        name="their-model",
        started_at=started,
        code="%%track their-model\nfit()",
        code_hash="theirs",
        status=RunStatus.OK,
        ended_at=started + 1,
        notebook=str(notebook),
        repo=THEIRS,
        user="bob",
        host="other-host",
    )


def test_same_path_different_repositories_are_different_notebooks(
    run_notebook: Runner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _git_repo(tmp_path, OURS)
    store_path = tmp_path / "team" / "runs.sqlite"
    notebook = tmp_path / "model.ipynb"
    RunStore.open(str(store_path)).finish_run(_their_run(notebook))  # bob's, same path
    executed = run_notebook(
        "%load_ext nbmodelbook",
        "%%track our-model\nalpha = 0.3\nscore = float(alpha * 2)",
        "import json, nbmodelbook as mb\n"
        "print(json.dumps({'ours': list(mb.runs()['name']),\n"
        "                  'all': sorted(mb.runs(all=True)['name']),\n"
        "                  'users': sorted(set(mb.runs(all=True)['user'])),\n"
        "                  'browse': mb.browse().position.value}))",
        store_path=store_path,
        name="model.ipynb",
    )
    printed = "".join(
        output["text"]
        for output in executed.code_cells()[2].get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )
    shown = json.loads(printed)
    assert shown["ours"] == ["our-model"]
    assert shown["all"] == ["our-model", "their-model"]
    assert "bob" in shown["users"] and len(shown["users"]) == 2
    assert shown["browse"] == "1–1 of 1 run"
    ours = RunStore.open(str(store_path)).run_summaries(notebook=str(notebook))
    assert {run["name"]: run["repo"] for run in ours} == {
        "our-model": OURS,
        "their-model": THEIRS,
    }
    # The command line reads the notebook's runs the same way.
    assert main(["runs", str(executed.path), "--store", str(store_path), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [run["name"] for run in listed] == ["our-model"]
