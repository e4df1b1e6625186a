"""The API against hostile input: files reached through links out of the root, inputs that
overflow the file system's or the database's limits, runs of other notebooks, server paths."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPResponse

from nbmodelbook.store.store import RunStore
from tests.server._workspace import NOTEBOOK, Workspace, credit_runs, notebook_file
from tests.widgets._runs import record

Fetch = Callable[..., Awaitable[HTTPResponse]]
API = ("nbmodelbook", "api")


async def call(
    jp_fetch: Fetch, *endpoint: str, method: str = "GET", body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    """(status, decoded JSON body or None) of an API request made with the server's token."""
    data = body if body is None or isinstance(body, str | bytes) else json.dumps(body)
    response = await jp_fetch(
        *API, *endpoint, method=method, body=data, raise_error=False, **kwargs
    )
    text = response.body.decode("utf-8") if response.body else ""
    return response.code, (json.loads(text) if text else None)


def snapshot(folder: Path) -> dict[str, str]:
    """Every name under `folder` (links not followed) with what it holds: a hash or a target."""
    found: dict[str, str] = {}
    for directory, folders, files in os.walk(folder, followlinks=False):
        for name in [*folders, *files]:
            path = Path(directory, name)
            key = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[key] = f"link to {os.readlink(path)}"
            elif path.is_dir():
                found[key] = "folder"
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def outside(jp_root_dir: Path) -> Path:
    """A folder beside the server's root: nothing the API does may change it."""
    folder = jp_root_dir.parent / "beyond-root"
    folder.mkdir()
    return folder


@pytest.fixture
def notebook(jp_root_dir: Path) -> Path:
    """`work/credit.ipynb`, no store beside it yet."""
    return notebook_file(jp_root_dir / NOTEBOOK).resolve()


def outside_store(path: Path, notebook: Path) -> Path:
    """A nbmodelbook store outside the root, holding runs filed under the root's notebook."""
    store = RunStore.open(str(path))
    try:
        for run in credit_runs(notebook):
            store.finish_run(run)
    finally:
        store.close()
    for suffix in ("-wal", "-shm"):
        assert not path.with_name(path.name + suffix).exists()
    return path


def foreign_database(path: Path) -> Path:
    """Somebody else's SQLite database."""
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE accounts (name TEXT, balance REAL)")
        connection.execute("INSERT INTO accounts VALUES ('ana', 12.5)")
    connection.close()
    return path


async def every_request(jp_fetch: Fetch, workspace_runs: list[str]) -> list[tuple[str, int, Any]]:
    """(what, status, body) of each request that reads the notebook's store."""
    path = {"path": NOTEBOOK}
    answers = [("listing", *await call(jp_fetch, "runs", params=path))]
    answers.append(("run", *await call(jp_fetch, "runs", workspace_runs[0], params=path)))
    ids = ",".join(workspace_runs[:2])
    answers.append(("compare", *await call(jp_fetch, "compare", params={**path, "ids": ids})))
    for report_format in ("html", "md"):
        body = {"path": NOTEBOOK, "format": report_format}
        answers.append(
            (f"export {report_format}", *await call(jp_fetch, "export", method="POST", body=body))
        )
    return answers


def assert_refused(answers: list[tuple[str, int, Any]], *words: str) -> None:
    for what, status, body in answers:
        assert status == 400, (what, body)
        message = body["message"]
        assert "outside the server's root folder" in message, (what, message)
        for word in words:
            assert word in message, (what, message)


# --- 1. files outside the root, reached through a link ------------------------------------

STORE_TARGETS: dict[str, Callable[[Path, Path], Path]] = {
    "a text file": lambda path, _notebook: _written(path, b"my notes, not a database\n"),
    "a foreign SQLite database": lambda path, _notebook: foreign_database(path),
    "a nbmodelbook store": outside_store,
}


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("target", sorted(STORE_TARGETS))
async def test_a_store_folder_linked_outside_is_not_opened(
    jp_fetch: Fetch, notebook: Path, outside: Path, target: str
) -> None:
    STORE_TARGETS[target](outside / "runs.sqlite", notebook)
    os.symlink(outside, notebook.parent / ".nbmodelbook")
    before = snapshot(outside)
    ids = [run.run_id for run in credit_runs(notebook)]
    answers = await every_request(jp_fetch, ids)
    assert_refused(answers, "work/.nbmodelbook")
    assert snapshot(outside) == before
    assert sorted(path.name for path in notebook.parent.iterdir()) == [
        ".nbmodelbook",
        "credit.ipynb",
    ]


@pytest.mark.parametrize("target", sorted(STORE_TARGETS))
async def test_a_store_file_linked_outside_is_not_opened(
    jp_fetch: Fetch, notebook: Path, outside: Path, target: str
) -> None:
    linked = STORE_TARGETS[target](outside / "precious.db", notebook)
    (notebook.parent / ".nbmodelbook").mkdir()
    os.symlink(linked, notebook.parent / ".nbmodelbook" / "runs.sqlite")
    before = snapshot(outside)
    ids = [run.run_id for run in credit_runs(notebook)]
    answers = await every_request(jp_fetch, ids)
    assert_refused(answers, "work/.nbmodelbook/runs.sqlite")
    assert snapshot(outside) == before
    assert [path.name for path in (notebook.parent / ".nbmodelbook").iterdir()] == ["runs.sqlite"]


async def test_a_store_journal_linked_outside_is_not_written(
    jp_fetch: Fetch, notebook: Path, outside: Path
) -> None:
    """SQLite writes its write-ahead log beside the store: a link there would be written."""
    store_file = notebook.parent / ".nbmodelbook" / "runs.sqlite"
    outside_store(store_file, notebook)
    victim = _written(outside / "victim.txt", b"keep me\n" * 100)
    os.symlink(victim, store_file.with_name("runs.sqlite-wal"))
    before = snapshot(outside)
    answers = await every_request(jp_fetch, [run.run_id for run in credit_runs(notebook)])
    assert_refused(answers, "work/.nbmodelbook/runs.sqlite-wal")
    assert snapshot(outside) == before


async def test_a_dangling_store_link_creates_nothing_outside(
    jp_fetch: Fetch, notebook: Path, outside: Path
) -> None:
    os.symlink(outside / "not-yet", notebook.parent / ".nbmodelbook")
    answers = await every_request(jp_fetch, [run.run_id for run in credit_runs(notebook)])
    assert_refused(answers, "work/.nbmodelbook")
    assert snapshot(outside) == {}


async def test_a_store_link_inside_the_root_is_followed(
    jp_fetch: Fetch, notebook: Path, jp_root_dir: Path
) -> None:
    shared = jp_root_dir / "team-store"
    shared.mkdir()
    outside_store(shared / "runs.sqlite", notebook)
    os.symlink(shared, notebook.parent / ".nbmodelbook")
    status, body = await call(jp_fetch, "runs", params={"path": NOTEBOOK})
    assert status == 200, body
    assert body["total"] == 3
    assert body["store"] == "team-store/runs.sqlite"


async def test_markdown_images_are_not_written_through_a_link(
    jp_fetch: Fetch, workspace: Workspace, outside: Path
) -> None:
    (outside / "chart-decision-1.svg").write_text("<svg>mine</svg>")
    os.symlink(outside, workspace.notebook.parent / "credit.review_files")
    before = snapshot(outside)
    body = {"path": NOTEBOOK, "format": "md"}
    status, answer = await call(jp_fetch, "export", method="POST", body=body)
    assert status == 400, answer
    assert "work/credit.review_files" in answer["message"]
    assert "outside the server's root folder" in answer["message"]
    assert snapshot(outside) == before
    assert not (workspace.notebook.parent / "credit.review.md").exists()


@pytest.mark.parametrize("report_format", ["html", "md"])
async def test_a_report_linked_outside_is_not_written(
    jp_fetch: Fetch, workspace: Workspace, outside: Path, report_format: str
) -> None:
    victim = _written(outside / "index.html", b"<p>the team's page</p>")
    report = workspace.notebook.parent / f"credit.review.{report_format}"
    os.symlink(victim, report)
    before = snapshot(outside)
    body = {"path": NOTEBOOK, "format": report_format}
    status, answer = await call(jp_fetch, "export", method="POST", body=body)
    assert status == 400, answer
    assert f"work/credit.review.{report_format}" in answer["message"]
    assert "outside the server's root folder" in answer["message"]
    assert snapshot(outside) == before
    assert report.is_symlink()  # touched nothing, not even the link
    assert not (workspace.notebook.parent / "credit.review_files").exists()


async def test_a_report_where_a_folder_or_file_is_in_the_way_is_400(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    folder = workspace.notebook.parent
    (folder / "credit.review.html").mkdir()
    (folder / "credit.review_files").write_text("notes, not images")
    for report_format, named in (("html", "a folder"), ("md", "a file")):
        body = {"path": NOTEBOOK, "format": report_format}
        status, answer = await call(jp_fetch, "export", method="POST", body=body)
        assert status == 400, answer
        assert f"{named} has its name" in answer["message"]
    assert (folder / "credit.review_files").read_text() == "notes, not images"
    assert not (folder / "credit.review.md").exists()


async def test_the_operators_store_outside_the_root_still_works(
    jp_fetch: Fetch, notebook: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NBMODELBOOK_STORE is the operator's own choice: it is not confined to the root."""
    store_file = outside_store(outside / "team" / "runs.sqlite", notebook)
    monkeypatch.setenv("NBMODELBOOK_STORE", str(store_file))
    status, body = await call(jp_fetch, "runs", params={"path": NOTEBOOK})
    assert status == 200, body
    assert [run["name"] for run in body["runs"]] == ["logreg", "gbm-tuned", "rf-500"]
    assert str(outside) not in body["store"]
    assert "runs.sqlite" in body["store"]
    gbm = body["runs"][1]["run_id"]
    status, detail = await call(jp_fetch, "runs", gbm, params={"path": NOTEBOOK})
    assert status == 200 and detail["name"] == "gbm-tuned"
    status, exported = await call(jp_fetch, "export", method="POST", body={"path": NOTEBOOK})
    assert status == 200, exported
    assert "gbm-tuned" in (notebook.parent / "credit.review.html").read_text(encoding="utf-8")


# --- 2. inputs beyond the limits of the file system and the database ------------------------

LONG_NAME = "work/" + "n" * 300 + ".ipynb"


async def test_a_path_longer_than_a_file_name_can_be_is_400(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    requests: list[tuple[str, dict[str, Any]]] = [
        ("runs", {"params": {"path": LONG_NAME}}),
        ("runs", {"params": {"path": "work/" + "d/" * 3000 + "x.ipynb"}}),
        ("report", {"params": {"path": "work/" + "r" * 300 + ".review.html"}}),
        ("export", {"method": "POST", "body": {"path": LONG_NAME}}),
    ]
    for endpoint, kwargs in requests:
        status, body = await call(jp_fetch, endpoint, **kwargs)
        assert status == 400, (endpoint, body)
        assert "too long" in body["message"]


async def test_a_long_search_is_refused_at_once(jp_fetch: Fetch, workspace: Workspace) -> None:
    cases = {
        "one 60 kB word": "x" * 60_000,  # beyond SQLite's LIKE pattern limit
        "1,200 words": "ab " * 1_200,  # beyond SQLite's expression depth
        "501 characters": "a" * 501,
        "21 words": " ".join(f"w{index}" for index in range(21)),
    }
    for case, text in cases.items():
        started = time.perf_counter()
        status, body = await call(jp_fetch, "runs", params={"path": NOTEBOOK, "q": text})
        elapsed = time.perf_counter() - started
        assert status == 400, (case, body)
        assert "'q'" in body["message"], case
        assert elapsed < 2.0, case
    words = " ".join(["gbm"] * 20)
    status, body = await call(jp_fetch, "runs", params={"path": NOTEBOOK, "q": words})
    assert status == 200 and [run["name"] for run in body["runs"]] == ["gbm-tuned"]


async def test_an_export_body_that_is_not_utf8_is_400(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    for raw in (b'{"path": "work/cr\xe9dit.ipynb"}', b"\xff\xfe{\x00}\x00"):
        status, body = await call(jp_fetch, "export", method="POST", body=raw)
        assert status == 400, (raw, body)
        assert "UTF-8" in body["message"]
    status, body = await call(jp_fetch, "export", method="POST", body="x" * 70_000)
    assert status == 400
    assert "too large" in body["message"]
    assert list(workspace.notebook.parent.glob("*.review.*")) == []


# --- 3. the runs of the notebook asked about, and no server paths ---------------------------


async def test_a_run_of_another_notebook_is_not_found(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    other = workspace.other.run_id
    status, body = await call(jp_fetch, "runs", other, params={"path": NOTEBOOK})
    assert status == 404, body
    assert other in body["message"]
    rf = workspace.runs["rf-500"].run_id
    status, body = await call(
        jp_fetch, "compare", params={"path": NOTEBOOK, "ids": f"{rf},{other}"}
    )
    assert status == 404, body
    assert other in body["message"] and rf not in body["message"]


async def test_a_run_of_another_repository_is_not_found(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    """In a git repository, a notebook's runs are those filed under its path and repository
    (or no repository): a run of a clone elsewhere with the same path is not this one's."""
    folder = workspace.notebook.parent
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    here = record(30, "here", notebook=str(workspace.notebook), repo=str(folder))
    elsewhere = record(31, "elsewhere", notebook=str(workspace.notebook), repo="/srv/clone")
    store = workspace.open_store()
    for run in (here, elsewhere):
        store.finish_run(run)
    store.close()
    status, listing = await call(jp_fetch, "runs", params={"path": NOTEBOOK})
    assert status == 200
    names = [run["name"] for run in listing["runs"]]
    assert "here" in names and "elsewhere" not in names
    assert (await call(jp_fetch, "runs", here.run_id, params={"path": NOTEBOOK}))[0] == 200
    assert (await call(jp_fetch, "runs", elsewhere.run_id, params={"path": NOTEBOOK}))[0] == 404


async def test_no_answer_shows_the_servers_own_paths(
    jp_fetch: Fetch, workspace: Workspace, jp_root_dir: Path
) -> None:
    root = str(jp_root_dir.resolve())
    gbm = workspace.runs["gbm-tuned"].run_id
    fresh = notebook_file(jp_root_dir / "fresh" / "new.ipynb")
    answers = [
        await call(jp_fetch, "info"),
        await call(jp_fetch, "runs", params={"path": NOTEBOOK}),
        await call(jp_fetch, "runs", gbm, params={"path": NOTEBOOK}),
        await call(jp_fetch, "runs", "f" * 32, params={"path": NOTEBOOK}),
        await call(jp_fetch, "runs", params={"path": "fresh/new.ipynb"}),
        await call(jp_fetch, "runs", "f" * 32, params={"path": "fresh/new.ipynb"}),
    ]
    for status, body in answers:
        assert root not in json.dumps(body), (status, body)
    assert answers[1][1]["store"] == "work/.nbmodelbook/runs.sqlite"
    assert answers[2][1]["notebook"] == NOTEBOOK
    assert answers[4][1]["store"] == "fresh/.nbmodelbook/runs.sqlite"
    assert not (fresh.parent / ".nbmodelbook").exists()


async def test_a_store_error_names_the_store_as_the_api_names_files(
    jp_fetch: Fetch, workspace: Workspace, jp_root_dir: Path
) -> None:
    """The store's own message (here: SQLite cannot open its write-ahead log) is passed on,
    without the server's path to the root."""
    workspace.store_file.with_name("runs.sqlite-wal").mkdir()
    status, body = await call(jp_fetch, "runs", params={"path": NOTEBOOK})
    assert status == 503, body
    assert "work/.nbmodelbook/runs.sqlite" in body["message"]
    assert str(jp_root_dir.resolve()) not in body["message"]
