"""A notebook executed by plain nbclient (or papermill): its kernel is never told which notebook
it runs, so its runs are filed under no path. The API, the CLI, browse(), the report and the Lab
panel's listing still agree that they are that notebook's runs, through its saved run markers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nbmodelbook
from nbmodelbook.cli import main
from nbmodelbook.server.operations import ApiContext, listing_payload, prepare_listing
from tests.integration.conftest import Runner

pytestmark = pytest.mark.integration


def test_runs_of_a_notebook_nbclient_ran_are_found_by_its_path(
    run_notebook: Runner,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    executed = run_notebook(
        "%load_ext nbmodelbook",
        "%%track forest\nscore = round(0.9 * 1.01, 3)",
        "%%track logreg\nscore = round(0.8 * 1.01, 3)",
        env={"NBMODELBOOK_NOTEBOOK": ""},  # what plain nbclient and papermill tell the kernel
        name="model.ipynb",
    )
    store = str(executed.store_path)
    # Another notebook beside it, executed the same way: its runs are not model.ipynb's.
    run_notebook(
        "%load_ext nbmodelbook",
        "%%track other\nscore = round(0.5 * 1.01, 3)",
        env={"NBMODELBOOK_NOTEBOOK": ""},
        name="other.ipynb",
    )
    filed = nbmodelbook.runs(all=True, store=store)
    assert filed["notebook"].isna().all()  # the kernel never knew its notebook

    frame = nbmodelbook.runs(str(executed.path), store=store)
    assert sorted(frame["name"]) == ["forest", "logreg"]

    assert main(["runs", str(executed.path), "--store", store, "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(row["name"] for row in listed) == ["forest", "logreg"]

    browser = nbmodelbook.browse(str(executed.path), store=store)
    assert browser.position.value == "1–2 of 2 runs"

    monkeypatch.setenv("NBMODELBOOK_STORE", store)  # the server operator's store
    context = ApiContext(root=tmp_path.resolve())
    listing = prepare_listing(context, executed.path.name, "", 200)
    payload = listing_payload(listing)
    assert sorted(run["name"] for run in payload["runs"]) == ["forest", "logreg"]

    view = nbmodelbook.compare("forest", "logreg", store=store)
    assert [run.name for run in view.comparison.runs] == ["forest", "logreg"]


def test_execute_runs_a_notebook_in_another_folder_and_leaves_no_socket_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The kernel starts in the notebook's folder, this process stays where it is: the local
    sockets between them must be found from both (a relative path hung for a minute)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    folder = tmp_path / "project" / "notebooks"
    folder.mkdir(parents=True)
    source = folder / "model.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import os\nprint(os.getcwd())")]), source)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    target = Path("..") / "project" / "notebooks" / "out.ipynb"
    assert (
        main(
            [
                "execute",
                str(Path("..") / "project" / "notebooks" / "model.ipynb"),
                "-o",
                str(target),
            ]
        )
        == 0
    )
    assert "executed" in capsys.readouterr().out
    executed = nbformat.read(folder / "out.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"].strip() == str(folder.resolve())
    assert sorted(p.name for p in folder.iterdir()) == ["model.ipynb", "out.ipynb"]
    assert list(elsewhere.iterdir()) == []
