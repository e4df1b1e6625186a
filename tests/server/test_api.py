"""The REST API end to end: a real Jupyter Server with the extension, real stores, real files."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPResponse

from nbmodelbook import __version__
from nbmodelbook.cli import main as cli_main
from nbmodelbook.record import RunStatus
from nbmodelbook.server.handlers import REPORT_CSP
from nbmodelbook.store.store import RunStore
from tests.server._workspace import (
    BROKEN_ANNOTATION,
    DECISION,
    NOTEBOOK,
    Workspace,
    credit_runs,
    make_workspace,
    notebook_file,
)
from tests.widgets._runs import record

Fetch = Callable[..., Awaitable[HTTPResponse]]
API = ("nbmodelbook", "api")


async def call(
    jp_fetch: Fetch, *endpoint: str, method: str = "GET", body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    """(status, decoded JSON body or None) of an API request made with the server's token."""
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    response = await jp_fetch(
        *API, *endpoint, method=method, body=data, raise_error=False, **kwargs
    )
    text = response.body.decode("utf-8") if response.body else ""
    return response.code, (json.loads(text) if text else None)


async def runs(jp_fetch: Fetch, **params: str) -> tuple[int, Any]:
    return await call(jp_fetch, "runs", params=params)


def export_body(path: str = NOTEBOOK, report_format: str | None = None) -> dict[str, str]:
    return {"path": path} if report_format is None else {"path": path, "format": report_format}


# --- authentication ------------------------------------------------------------------------

ENDPOINTS = [
    ("GET", ("info",), {}),
    ("GET", ("runs",), {"path": NOTEBOOK}),
    ("GET", ("runs", "0" * 32), {"path": NOTEBOOK}),
    ("GET", ("compare",), {"path": NOTEBOOK, "ids": f"{'0' * 32},{'1' * 32}"}),
    ("POST", ("export",), {}),
    ("GET", ("report",), {"path": "work/credit.review.html"}),
]


@pytest.mark.parametrize(("method", "endpoint", "params"), ENDPOINTS)
async def test_every_endpoint_refuses_a_request_without_a_token(
    jp_fetch: Fetch,
    workspace: Workspace,
    method: str,
    endpoint: tuple[str, ...],
    params: dict[str, str],
) -> None:
    body = json.dumps(export_body()) if method == "POST" else None
    response = await jp_fetch(
        *API,
        *endpoint,
        method=method,
        body=body,
        params=params,
        headers={"Authorization": ""},
        raise_error=False,
    )
    # Jupyter answers an unauthenticated API request 403 (no login redirect for APIs); a POST
    # is refused by the XSRF check, which comes first.
    assert response.code == 403
    message = json.loads(response.body)["message"]
    assert message == ("'_xsrf' argument missing from POST" if method == "POST" else "Forbidden")
    assert not (workspace.notebook.parent / "credit.review.html").exists()


async def test_info_gives_the_version(jp_fetch: Fetch) -> None:
    assert await call(jp_fetch, "info") == (200, {"version": __version__})


async def test_export_authenticated_by_cookie_needs_the_xsrf_token(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    """A browser session (login cookie) must prove the request came from Jupyter's own page;
    a token in the Authorization header is proof enough by itself."""
    login = await jp_fetch(*API, "info")
    jar: SimpleCookie = SimpleCookie()
    for header in login.headers.get_list("Set-Cookie"):
        jar.load(header)
    cookie = "; ".join(f"{name}={morsel.coded_value}" for name, morsel in jar.items())
    assert cookie.startswith("username-")
    report = workspace.notebook.parent / "credit.review.html"
    body = json.dumps(export_body())

    # The cookie authenticates (a GET succeeds) ...
    listed = await jp_fetch(
        *API, "runs", params={"path": NOTEBOOK}, headers={"Authorization": "", "Cookie": cookie}
    )
    assert listed.code == 200
    # ... but a POST without the XSRF token is refused before anything is written,
    refused = await jp_fetch(
        *API,
        "export",
        method="POST",
        body=body,
        headers={"Authorization": "", "Cookie": cookie},
        raise_error=False,
    )
    assert refused.code == 403
    assert "_xsrf" in json.loads(refused.body)["message"]
    assert not report.exists()
    # ... and accepted with the XSRF cookie echoed in the header, as JupyterLab sends it.
    accepted = await jp_fetch(
        *API,
        "export",
        method="POST",
        body=body,
        headers={
            "Authorization": "",
            "Cookie": f"{cookie}; _xsrf=5eed5eed5eed",
            "X-XSRFToken": "5eed5eed5eed",
        },
    )
    assert accepted.code == 200
    assert report.exists()


async def test_export_with_the_token_needs_no_xsrf_token(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    status, body = await call(jp_fetch, "export", method="POST", body=export_body())
    assert status == 200
    assert body["report"] == "work/credit.review.html"


# --- paths -----------------------------------------------------------------------------------


@pytest.fixture
def escapes(jp_root_dir: Path) -> dict[str, str]:
    """Notebooks outside the root, and symlinks inside it that lead to them."""
    outside = jp_root_dir.parent / "outside"
    notebook_file(outside / "secret.ipynb")
    # Same prefix as the root's name: a text comparison would take it for a subfolder.
    sibling = jp_root_dir.parent / (jp_root_dir.name + "-other")
    notebook_file(sibling / "x.ipynb")
    os.symlink(outside / "secret.ipynb", jp_root_dir / "escape.ipynb")
    os.symlink(sibling, jp_root_dir / "sibling")
    return {"outside": str(outside / "secret.ipynb"), "sibling": str(sibling / "x.ipynb")}


BAD_PATHS = {
    "absolute": "{outside}",
    "parent": "../outside/secret.ipynb",
    "parent inside": "work/../../outside/secret.ipynb",
    "backslash": "..\\outside\\secret.ipynb",
    "backslash alone": "work\\credit.ipynb",
    "nul": "work/credit.ipynb\x00.txt",
    "encoded dots": "%2e%2e/outside/secret.ipynb",
    "encoded slash": "..%2foutside%2fsecret.ipynb",
    "encoded uppercase": "%2E%2E%2Foutside/secret.ipynb",
    "drive letter": "C:/outside/secret.ipynb",
    "symlink out of root": "escape.ipynb",
    "symlink to sibling prefix": "sibling/x.ipynb",
    "hidden folder": "work/.nbmodelbook/runs.sqlite",
    "empty": "",
    "root": "/",
    "dot": ".",
}


@pytest.mark.parametrize("kind", sorted(BAD_PATHS))
async def test_paths_outside_the_root_are_refused(
    jp_fetch: Fetch, workspace: Workspace, escapes: dict[str, str], kind: str
) -> None:
    path = BAD_PATHS[kind].format(**escapes)
    status, body = await runs(jp_fetch, path=path)
    assert status == 400, body
    assert body["message"]
    assert set(body) == {"message", "reason"}


async def test_refusals_say_why(jp_fetch: Fetch, workspace: Workspace) -> None:
    messages = {
        "../x.ipynb": "'..'",
        "/etc/passwd.ipynb": "absolute",
        "a\\b.ipynb": "backslash",
        "%2e%2e/x.ipynb": "percent-encoded",
        "work/notes.txt": "not a notebook",
    }
    (workspace.notebook.parent / "notes.txt").write_text("hello")
    for path, reason in messages.items():
        status, body = await runs(jp_fetch, path=path)
        assert status == 400
        assert reason in body["message"], (path, body)


async def test_missing_and_wrong_kinds_of_files(jp_fetch: Fetch, workspace: Workspace) -> None:
    (workspace.root / "work" / "folder.ipynb").mkdir()
    (workspace.root / "work" / "data.csv").write_text("a,b\n1,2\n")
    assert (await runs(jp_fetch, path="work/missing.ipynb"))[0] == 404
    assert (await runs(jp_fetch, path="nowhere/at/all.ipynb"))[0] == 404
    assert (await runs(jp_fetch, path="work/folder.ipynb"))[0] == 400
    assert (await runs(jp_fetch, path="work/data.csv"))[0] == 400
    status, body = await call(jp_fetch, "runs")
    assert status == 400
    assert "'path'" in body["message"]


async def test_a_symlink_inside_the_root_is_followed(jp_fetch: Fetch, workspace: Workspace) -> None:
    os.symlink(workspace.notebook, workspace.root / "shortcut.ipynb")
    status, body = await runs(jp_fetch, path="shortcut.ipynb")
    assert status == 200
    assert body["total"] == 3


# --- the run listing ----------------------------------------------------------------------


async def test_the_notebooks_runs_newest_first(jp_fetch: Fetch, workspace: Workspace) -> None:
    status, body = await runs(jp_fetch, path=NOTEBOOK)
    assert status == 200
    assert body["notebook"] == NOTEBOOK
    assert body["store"] == "work/.nbmodelbook/runs.sqlite"  # as the API names files
    assert isinstance(body["seq"], int) and body["seq"] > 0
    assert body["total"] == 3
    # The other notebook's run in the same store is not this notebook's.
    assert [run["name"] for run in body["runs"]] == ["logreg", "gbm-tuned", "rf-500"]
    assert set(body["metric_names"]) == {"auc", "log_loss", "calibration_gap"}
    assert body["headline"] == "auc"  # the conventional headline, not the most frequent
    assert body["lower_is_better"] == ["log_loss"]  # the report's reading of the names
    logreg, gbm, rf = body["runs"]
    expected = workspace.runs["gbm-tuned"]
    assert gbm == {
        "run_id": expected.run_id,
        "name": "gbm-tuned",
        "status": "ok",
        "failed": False,
        "started": expected.started_at,
        "duration": 2.0,
        "cell_id": "cell-gbm",
        "execution_count": 2,
        "tags": ["candidate"],
        "metrics": {"auc": 0.86, "log_loss": 0.39, "calibration_gap": 0.02},
        "params": {"n_estimators": 300, "max_depth": 3, "criterion": "gini", "learning_rate": 0.05},
        "params_left_out": 0,
        "error": None,
    }
    assert logreg["status"] == "error"
    assert logreg["failed"] is True
    assert logreg["error"] == "ConvergenceError: lbfgs failed to converge"
    assert rf["metrics"]["calibration_gap"] == "NaN"  # JSON has no NaN


async def test_filter_and_limit(jp_fetch: Fetch, workspace: Workspace) -> None:
    status, body = await runs(jp_fetch, path=NOTEBOOK, q="GBM")
    assert status == 200
    assert [run["name"] for run in body["runs"]] == ["gbm-tuned"]
    assert body["total"] == 1
    status, body = await runs(jp_fetch, path=NOTEBOOK, q="baseline")  # a tag
    assert [run["name"] for run in body["runs"]] == ["rf-500"]
    status, body = await runs(jp_fetch, path=NOTEBOOK, limit="2")
    assert [run["name"] for run in body["runs"]] == ["logreg", "gbm-tuned"]
    assert body["total"] == 3
    for limit in ("0", "1001", "-5", "ten", "2.5"):
        status, body = await runs(jp_fetch, path=NOTEBOOK, limit=limit)
        assert status == 400, limit
        assert "limit" in body["message"]


async def test_many_params_are_cut_in_the_listing_but_not_in_the_run(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    params = {f"p{index:02d}": index for index in range(30)}
    wide = record(9, "wide", notebook=str(workspace.notebook), params=params)
    store = workspace.open_store()
    store.finish_run(wide)
    store.close()
    _, listing = await runs(jp_fetch, path=NOTEBOOK, q="wide")
    summary = listing["runs"][0]
    assert list(summary["params"]) == [f"p{index:02d}" for index in range(12)]
    assert summary["params_left_out"] == 18
    _, detail = await call(jp_fetch, "runs", wide.run_id, params={"path": NOTEBOOK})
    assert detail["params"] == params


async def test_unchanged_listing_is_answered_304(jp_fetch: Fetch, workspace: Workspace) -> None:
    first = await jp_fetch(*API, "runs", params={"path": NOTEBOOK})
    etag = first.headers["Etag"]
    assert first.headers["Cache-Control"] == "no-cache"
    again = await jp_fetch(
        *API, "runs", params={"path": NOTEBOOK}, headers={"If-None-Match": etag}, raise_error=False
    )
    assert again.code == 304
    assert again.body == b""
    # Another query is another listing.
    other = await jp_fetch(
        *API,
        "runs",
        params={"path": NOTEBOOK, "q": "gbm"},
        headers={"If-None-Match": etag},
        raise_error=False,
    )
    assert other.code == 200
    assert other.headers["Etag"] != etag
    # A run written by a kernel changes the tag, and the listing shows it.
    store = workspace.open_store()
    store.finish_run(record(5, "gbm-deeper", notebook=str(workspace.notebook)))
    store.close()
    changed = await jp_fetch(
        *API, "runs", params={"path": NOTEBOOK}, headers={"If-None-Match": etag}, raise_error=False
    )
    assert changed.code == 200
    assert changed.headers["Etag"] != etag
    body = json.loads(changed.body)
    assert body["runs"][0]["name"] == "gbm-deeper"
    assert body["seq"] > json.loads(first.body)["seq"]


async def test_a_notebook_without_a_store_has_no_runs_and_gets_none(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    notebook = notebook_file(jp_root_dir / "fresh" / "new.ipynb")
    status, body = await runs(jp_fetch, path="fresh/new.ipynb")
    assert status == 200
    assert body["runs"] == [] and body["total"] == 0 and body["metric_names"] == []
    assert body["headline"] is None and body["lower_is_better"] == []
    assert body["store"] == "fresh/.nbmodelbook/runs.sqlite"
    assert not (notebook.parent / ".nbmodelbook").exists()
    status, _ = await call(jp_fetch, "runs", "0" * 32, params={"path": "fresh/new.ipynb"})
    assert status == 404
    assert not (notebook.parent / ".nbmodelbook").exists()


async def test_an_unusable_store_is_503(
    jp_fetch: Fetch, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBMODELBOOK_STORE", "nosuchdb://team-server/runs")
    status, body = await runs(jp_fetch, path=NOTEBOOK)
    assert status == 503
    assert "nosuchdb" in body["message"]
    status, body = await call(jp_fetch, "export", method="POST", body=export_body())
    assert status == 503
    assert not (workspace.notebook.parent / "credit.review.html").exists()


async def test_runs_from_a_postgresql_store(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    # The server trusts local connections: the password is there to be hidden, not checked.
    url = request.getfixturevalue("postgres_server").new_database()
    url = url.replace("@", ":s3cret-pw@", 1)
    monkeypatch.setenv("NBMODELBOOK_STORE", url)
    notebook = notebook_file(jp_root_dir / NOTEBOOK).resolve()
    store = RunStore.open(url)
    for run in credit_runs(notebook):
        store.finish_run(run)
    store.close()
    status, body = await runs(jp_fetch, path=NOTEBOOK)
    assert status == 200
    assert [run["name"] for run in body["runs"]] == ["logreg", "gbm-tuned", "rf-500"]
    assert body["runs"][2]["metrics"]["calibration_gap"] == "NaN"
    assert body["store"].startswith("postgresql")
    assert "s3cret-pw" not in body["store"]


# --- one run -------------------------------------------------------------------------------


async def test_one_run_in_full(jp_fetch: Fetch, workspace: Workspace) -> None:
    gbm = workspace.runs["gbm-tuned"]
    status, body = await call(jp_fetch, "runs", gbm.run_id, params={"path": NOTEBOOK})
    assert status == 200
    assert body["run_id"] == gbm.run_id
    assert body["code"] == gbm.code
    assert body["code_hash"] == gbm.code_hash
    assert body["notebook"] == NOTEBOOK
    assert body["params"]["learning_rate"] == 0.05
    assert body["inputs"] == [
        {
            "name": "X_train",
            "kind": "DataFrame",
            "columns": ["age", "income", "debt_ratio", "history_months"],
            "shape": [12000, 4],
            "hash": "5f1c0ffee",
        }
    ]
    assert body["environment"]["python"]["version"] == "3.11.9"
    assert body["environment"]["packages"] == {"pandas": "2.2.2", "sklearn": "1.5.1"}
    assert body["environment"]["git"]["commit"] == "3f2c9a1"
    assert body["ended"] == gbm.started_at + 2.0
    assert body["note"] == "tuned on the validation fold"
    assert body["traceback"] is None
    failed = workspace.runs["logreg"]
    _, body = await call(jp_fetch, "runs", failed.run_id, params={"path": NOTEBOOK})
    assert body["status"] == RunStatus.ERROR.value
    assert body["traceback"] == "Traceback ..."


async def test_a_run_by_unique_id_prefix(jp_fetch: Fetch, workspace: Workspace) -> None:
    rf = workspace.runs["rf-500"]
    status, body = await call(jp_fetch, "runs", rf.run_id[:16].upper(), params={"path": NOTEBOOK})
    assert status == 200
    assert body["name"] == "rf-500"


@pytest.mark.parametrize(
    "run_id", ["xyz", "deadbee", "0" * 33, "g" * 32, "rf-500", "0123 4567", "%2e%2e"]
)
async def test_malformed_run_ids_are_400(
    jp_fetch: Fetch, workspace: Workspace, run_id: str
) -> None:
    status, body = await call(jp_fetch, "runs", run_id, params={"path": NOTEBOOK})
    assert status == 400
    assert "not a run id" in body["message"]


async def test_unknown_runs_are_404_and_the_path_is_required(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    status, body = await call(jp_fetch, "runs", "f" * 32, params={"path": NOTEBOOK})
    assert status == 404
    assert "f" * 32 in body["message"]
    # Two runs whose ids share their first 9 digits: the 8-digit prefix names neither.
    twins = [
        record(index, f"twin-{index}", notebook=str(workspace.notebook), run_id=run_id)
        for index, run_id in ((20, "abcdef012" + "0" * 23), (21, "abcdef013" + "1" * 23))
    ]
    store = workspace.open_store()
    for twin in twins:
        store.finish_run(twin)
    store.close()
    status, body = await call(jp_fetch, "runs", "abcdef01", params={"path": NOTEBOOK})
    assert status == 404
    assert "more than one run" in body["message"]
    status, body = await call(jp_fetch, "runs", "abcdef013", params={"path": NOTEBOOK})
    assert status == 200
    assert body["name"] == "twin-21"
    status, body = await call(jp_fetch, "runs", workspace.runs["rf-500"].run_id)
    assert status == 400
    assert "'path'" in body["message"]


# --- comparison ------------------------------------------------------------------------------


async def test_compare_gives_the_facts_of_the_comparison_widget(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    rf, gbm, logreg = (workspace.runs[name] for name in ("rf-500", "gbm-tuned", "logreg"))
    ids = f"{rf.run_id},{gbm.run_id},{logreg.run_id}"
    status, body = await call(jp_fetch, "compare", params={"path": NOTEBOOK, "ids": ids})
    assert status == 200
    assert [run["name"] for run in body["runs"]] == ["rf-500", "gbm-tuned", "logreg"]
    assert [run["run_id"] for run in body["runs"]] == [rf.run_id, gbm.run_id, logreg.run_id]
    assert body["runs"][2]["status"] == "error"
    assert body["headline"] == "auc"
    params = {row["name"]: row for row in body["params"]}
    assert params["criterion"] == {
        "name": "criterion",
        "values": ["gini", "gini", None],
        "differs": True,
    }
    assert params["n_estimators"]["values"] == [500, 300, None]
    assert params["n_estimators"]["differs"] is True
    metrics = {row["name"]: row for row in body["metrics"]}
    assert body["metrics"][0]["name"] == "auc"  # the headline first
    assert metrics["auc"]["values"] == [0.81, 0.86, None]
    assert metrics["auc"]["best"] == 1 and metrics["auc"]["higher_is_better"] is True
    assert metrics["log_loss"]["best"] == 1 and metrics["log_loss"]["higher_is_better"] is False
    assert metrics["calibration_gap"]["values"][0] == "NaN"
    assert len(body["data"]) == 2
    assert "same data" in body["data"][0]
    assert body["code_changed"] == [True, True]


async def test_two_runs_from_one_cell_have_the_same_code(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    gbm = workspace.runs["gbm-tuned"]
    rerun = record(
        7,
        "gbm-tuned",
        notebook=str(workspace.notebook),
        code=gbm.code,
        code_hash=gbm.code_hash,
        params={**gbm.params, "learning_rate": 0.1},
        metrics={"auc": 0.84},
    )
    store = workspace.open_store()
    store.finish_run(rerun)
    store.close()
    ids = f"{gbm.run_id},{rerun.run_id}"
    status, body = await call(jp_fetch, "compare", params={"path": NOTEBOOK, "ids": ids})
    assert status == 200
    assert body["code_changed"] == [False]
    assert body["varying_param"] == "learning_rate"
    assert [row["name"] for row in body["params"] if row["differs"]] == ["learning_rate"]
    labels = [run["label"] for run in body["runs"]]
    assert len(set(labels)) == 2 and all(label.startswith("gbm-tuned (") for label in labels)
    assert {row["name"]: row["best"] for row in body["metrics"]}["auc"] == 0


async def test_compare_refusals(jp_fetch: Fetch, workspace: Workspace) -> None:
    rf, gbm = workspace.runs["rf-500"], workspace.runs["gbm-tuned"]

    async def compare(ids: str) -> tuple[int, Any]:
        return await call(jp_fetch, "compare", params={"path": NOTEBOOK, "ids": ids})

    assert (await compare(rf.run_id))[0] == 400
    assert (await compare(f"{rf.run_id},{rf.run_id}"))[0] == 400  # one run twice
    assert (await compare(",".join(f"{index:032x}" for index in range(21))))[0] == 400
    assert (await compare(f"{rf.run_id},not-an-id"))[0] == 400
    status, body = await call(jp_fetch, "compare", params={"path": NOTEBOOK})
    assert status == 400 and "'ids'" in body["message"]
    unknown = ["a" * 32, "b" * 32]
    status, body = await compare(",".join([rf.run_id, *unknown, gbm.run_id]))
    assert status == 404
    assert all(run_id in body["message"] for run_id in unknown)
    assert rf.run_id not in body["message"]


# --- export and report ------------------------------------------------------------------------


async def test_export_writes_what_the_command_writes(
    jp_fetch: Fetch, workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, body = await call(jp_fetch, "export", method="POST", body=export_body())
    assert status == 200
    assert body["report"] == "work/credit.review.html" and body["ready"] is True
    # The notebook sets no acceptance criterion: advice, not a reason to hold the review.
    assert [(item["code"], item["blocking"]) for item in body["items"]] == [
        ("no-acceptance-criterion", False)
    ]
    written = workspace.notebook.parent / "credit.review.html"
    by_command = tmp_path / "by-command.review.html"
    assert cli_main(["report", str(workspace.notebook), "-o", str(by_command)]) == 0
    assert written.read_bytes() == by_command.read_bytes()
    capsys.readouterr()
    assert cli_main(["check", str(workspace.notebook), "--format", "json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["ready"] is True
    assert [item["code"] for item in checked["items"]] == ["no-acceptance-criterion"]


async def test_markdown_export(jp_fetch: Fetch, workspace: Workspace) -> None:
    status, body = await call(
        jp_fetch, "export", method="POST", body=export_body(report_format="md")
    )
    assert status == 200
    assert body["report"] == "work/credit.review.md"
    text = (workspace.notebook.parent / "credit.review.md").read_text(encoding="utf-8")
    assert "Gradient boosting as the production model" in text


async def test_missing_sections_are_written_but_not_ready(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    workspace = make_workspace(jp_root_dir, DECISION)  # no risk or limitation
    status, body = await call(jp_fetch, "export", method="POST", body=export_body())
    assert status == 200
    assert body["ready"] is False
    assert [item["code"] for item in body["items"] if item["blocking"]] == ["no-risks"]
    assert set(body["items"][0]) == {"code", "blocking", "message", "cell"}
    assert (workspace.notebook.parent / "credit.review.html").exists()


async def test_annotations_with_problems_write_nothing(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    workspace = make_workspace(jp_root_dir, BROKEN_ANNOTATION)
    status, body = await call(jp_fetch, "export", method="POST", body=export_body())
    assert status == 422
    assert body["message"] == (
        "The notebook's annotations have problems: fix them and export again"
    )
    problems = [item for item in body["items"] if item["code"] == "annotation"]
    assert problems and problems[0]["blocking"] is True
    assert problems[0]["cell"] == 6
    assert "DECISION" in problems[0]["message"]  # the did-you-mean
    assert list(workspace.notebook.parent.glob("*.review.*")) == []


async def test_export_refusals(jp_fetch: Fetch, workspace: Workspace) -> None:
    broken = workspace.root / "work" / "broken.ipynb"
    broken.write_text("{ not json", encoding="utf-8")
    status, body = await call(
        jp_fetch, "export", method="POST", body=export_body("work/broken.ipynb")
    )
    assert status == 400
    assert "not valid notebook JSON" in body["message"]
    cases: list[tuple[Any, int]] = [
        ("{ not json", 400),
        ("[1, 2]", 400),
        ({"format": "html"}, 400),
        ({"path": NOTEBOOK, "format": "rtf"}, 400),
        ({"path": NOTEBOOK, "format": 3}, 400),
        (export_body("../credit.ipynb"), 400),
        (export_body("work/missing.ipynb"), 404),
        (export_body("work/credit.review.html"), 400),
    ]
    for request, expected in cases:
        status, body = await call(jp_fetch, "export", method="POST", body=request)
        assert status == expected, (request, body)
        assert body["message"]
    assert list(workspace.notebook.parent.glob("*.review.*")) == []


class _References(HTMLParser):
    """URLs a page would load or go to: attributes that hold one, and CSS url(...)."""

    ATTRIBUTES = frozenset({"src", "href", "action", "formaction", "srcset", "poster", "data"})

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in self.ATTRIBUTES and value is not None:
                self.urls.append(value)
            if name == "style" and value is not None:
                self.handle_data(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style or "url(" in data:
            self.urls.extend(re.findall(r"url\(\s*['\"]?([^'\")]+)", data))


def _external_references(html: str) -> tuple[list[str], set[str]]:
    """(URLs not on data: or in-page anchors, tags) of an HTML page."""
    parser = _References()
    parser.feed(html)
    return [url for url in parser.urls if not url.startswith(("data:", "#"))], parser.tags


async def test_report_is_served_sandboxed(jp_fetch: Fetch, workspace: Workspace) -> None:
    await call(jp_fetch, "export", method="POST", body=export_body())
    response = await jp_fetch(*API, "report", params={"path": "work/credit.review.html"})
    assert response.code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    for directive in ("sandbox", "default-src 'none'", "img-src data:", "frame-ancestors 'self'"):
        assert directive in policy
    assert not any(part.startswith("script-src") for part in policy)
    assert REPORT_CSP in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.body.decode("utf-8")
    assert html == (workspace.notebook.parent / "credit.review.html").read_text(encoding="utf-8")
    # What the policy allows is all the report needs: no script, nothing loaded from a URL.
    external, tags = _external_references(html)
    assert external == []
    assert not tags & {"script", "link", "iframe", "object", "embed", "form", "base"}
    assert "img" in tags  # its charts, as data: images


async def test_markdown_report_is_plain_text(jp_fetch: Fetch, workspace: Workspace) -> None:
    await call(jp_fetch, "export", method="POST", body=export_body(report_format="md"))
    response = await jp_fetch(*API, "report", params={"path": "work/credit.review.md"})
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "sandbox" in response.headers["Content-Security-Policy"]


async def test_report_serves_nothing_else(
    jp_fetch: Fetch, workspace: Workspace, escapes: dict[str, str]
) -> None:
    (workspace.root / "work" / "notes.html").write_text("<p>hi</p>")
    outside = Path(escapes["outside"]).with_name("secret.review.html")
    outside.write_text("<p>secret</p>")
    os.symlink(outside, workspace.root / "work" / "linked.review.html")
    cases = {
        NOTEBOOK: 400,
        "work/notes.html": 400,
        "work/.nbmodelbook/runs.sqlite": 400,
        "../outside/secret.review.html": 400,
        "work/linked.review.html": 400,
        "work/missing.review.html": 404,
    }
    for path, expected in cases.items():
        status, body = await call(jp_fetch, "report", params={"path": path})
        assert status == expected, (path, body)
        assert "<p>secret" not in json.dumps(body)
