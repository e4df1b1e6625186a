"""The report formats the export offers: listed from the registry with whether this server can
write each, and a format it cannot write refused with the reason, writing nothing."""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nbmodelbook.report.formats import REPORT_FORMATS, ReportFormat
from nbmodelbook.report.model import Review
from tests.server._workspace import NOTEBOOK, Workspace
from tests.server.test_api import API, Fetch, call, export_body

# What a written report of each format starts with or holds; a format not named here is only
# checked for being written where the listing says.
CONTENT_CHECKS: dict[str, Callable[[Path], bool]] = {
    "html": lambda path: path.read_bytes().lstrip().lower().startswith(b"<!doctype html"),
    "md": lambda path: "Gradient boosting as the production model" in path.read_text("utf-8"),
    "json": lambda path: json.loads(path.read_text("utf-8"))["schema"].startswith("nbmodelbook"),
    "pdf": lambda path: path.read_bytes().startswith(b"%PDF-"),
    "docx": lambda path: "word/document.xml" in zipfile.ZipFile(path).namelist(),
}

MISSING = "the frobnicator library is not installed (apt-get install libfrobnicate0)."


@dataclass
class _Unwritable:
    """A registered format whose availability hook says it cannot be written here."""

    name: str = "frob"
    rendered: list[Path] = field(default_factory=list)

    def render(self, _review: Review, out_path: Path) -> list[Path]:
        self.rendered.append(out_path)
        out_path.write_text("should never be written")
        return [out_path]


@pytest.fixture
def unwritable(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Unwritable]:
    fake = _Unwritable()
    entry = ReportFormat(
        fake.name, ".review.frob", "A format for tests.", fake.render, available=lambda: MISSING
    )
    monkeypatch.setitem(REPORT_FORMATS, fake.name, entry)
    yield fake


async def test_formats_need_a_token(jp_fetch: Fetch) -> None:
    response = await jp_fetch(*API, "formats", headers={"Authorization": ""}, raise_error=False)
    assert response.code == 403


async def test_formats_list_the_registry_in_order(jp_fetch: Fetch) -> None:
    status, body = await call(jp_fetch, "formats")
    assert status == 200
    listed = body["formats"]
    assert [entry["name"] for entry in listed] == list(REPORT_FORMATS)
    by_name = {entry["name"]: entry for entry in listed}
    assert by_name["html"] == {
        "name": "html",
        "description": REPORT_FORMATS["html"].description,
        "extension": ".html",
        "suffix": ".review.html",
        "available": True,
        "reason": None,
    }
    for name in ("md", "json"):
        assert by_name[name]["available"] is True and by_name[name]["reason"] is None
    for entry in listed:
        assert entry["available"] is (entry["reason"] is None)
        assert entry["suffix"].endswith(entry["extension"])


async def test_an_unavailable_format_is_listed_with_its_reason(
    jp_fetch: Fetch, unwritable: _Unwritable
) -> None:
    _status, body = await call(jp_fetch, "formats")
    entry = next(entry for entry in body["formats"] if entry["name"] == unwritable.name)
    assert entry["available"] is False
    assert entry["reason"] == MISSING
    assert entry["extension"] == ".frob"


async def test_exporting_an_unavailable_format_says_why_and_writes_nothing(
    jp_fetch: Fetch, workspace: Workspace, unwritable: _Unwritable
) -> None:
    status, body = await call(
        jp_fetch, "export", method="POST", body=export_body(report_format=unwritable.name)
    )
    assert status == 503
    message = body["message"]
    assert message.startswith("this server cannot write frob reports: the frobnicator library")
    assert "apt-get install libfrobnicate0" in message  # what to do, from the format itself
    assert "export as html, md, json" in message  # and what else works here
    assert unwritable.rendered == []
    assert list(workspace.notebook.parent.glob("*.review.*")) == []


@pytest.mark.skipif("docx" not in REPORT_FORMATS, reason="no Word format registered")
async def test_word_without_pandoc_is_greyed_out_and_refused(
    jp_fetch: Fetch, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server runs in this process: without pypandoc importable, Word cannot be written.
    monkeypatch.setitem(sys.modules, "pypandoc", None)
    _status, body = await call(jp_fetch, "formats")
    entry = next(entry for entry in body["formats"] if entry["name"] == "docx")
    assert entry["available"] is False
    assert "pandoc" in entry["reason"] and "nbmodelbook[docx]" in entry["reason"]
    status, body = await call(
        jp_fetch, "export", method="POST", body=export_body(report_format="docx")
    )
    assert status == 503
    assert "this server cannot write docx reports: Word reports need pandoc" in body["message"]
    assert not (workspace.notebook.parent / "credit.review.docx").exists()


async def test_every_format_the_server_can_write_is_written_beside_the_notebook(
    jp_fetch: Fetch, workspace: Workspace
) -> None:
    _status, body = await call(jp_fetch, "formats")
    writable = [entry for entry in body["formats"] if entry["available"]]
    assert {"html", "md", "json"} <= {entry["name"] for entry in writable}
    for entry in writable:
        status, result = await call(
            jp_fetch, "export", method="POST", body=export_body(report_format=entry["name"])
        )
        assert status == 200, (entry["name"], result)
        expected = NOTEBOOK.removesuffix(".ipynb") + entry["suffix"]
        assert result["report"] == expected
        written = workspace.root / expected
        assert written.is_file() and written.stat().st_size > 0
        check = CONTENT_CHECKS.get(entry["name"])
        assert check is None or check(written), f"{expected} is not a {entry['name']} report"
