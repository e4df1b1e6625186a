"""The export dialog in a real JupyterLab: every report format the server lists, each written
beside the notebook and shown the way Lab can show it.

An annotated notebook with three runs in the store beside it (no kernel work needed) is opened
in Lab. For each format the server's `formats` endpoint lists, the toolbar button opens the
dialog, the format is picked, and:

- html opens in the sandboxed report tab, showing the decision;
- md and json open in Lab (as text), pdf in Lab's PDF viewer, and the file starts with `%PDF`;
- docx, which Lab cannot show, is not opened: the notification names the file and its
  Download button saves it from Jupyter's files URL; the file is a Word zip (`word/document.xml`).

Formats this server cannot write are greyed out with their reason (a second server, whose
Python cannot import pypandoc, shows Word so and refuses it); the dialog starts on the
settings' format, then on the last choice. pdf and docx are asserted whenever the server lists them.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.jupyterlab import (
    LabError,
    LabSession,
    open_lab_session,
    running_lab_server,
    screenshot_paths,
)
from tests.server._workspace import DECISION, RISK, make_workspace

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator

    from tests.browser.jupyterlab import LabServer

pytestmark = pytest.mark.browser

FOLDER = "formats"
NOTEBOOK = f"{FOLDER}/work/credit.ipynb"
DECISION_TITLE = "Gradient boosting as the production model"
UI_MS = 30_000
EXPORT_MS = 120_000
DIALOG = ".jp-Dialog:has(.jp-ModelBook-exportDialog)"
BROWSER_INTERNAL = ("chrome://", "chrome-extension://")

# What each written file must be; formats not named here need only be written and announced.
CONTENT_CHECKS: dict[str, Callable[[Path], bool]] = {
    "html": lambda path: DECISION_TITLE in path.read_text("utf-8"),
    "md": lambda path: DECISION_TITLE in path.read_text("utf-8"),
    "json": lambda path: json.loads(path.read_text("utf-8"))["schema"].startswith("nbmodelbook"),
    "pdf": lambda path: path.read_bytes().startswith(b"%PDF"),
    "docx": lambda path: "word/document.xml" in zipfile.ZipFile(path).namelist(),
}

_MAIN_AREA_PATHS_JS = """
() => Array.from(window.jupyterapp.shell.widgets('main'))
  .filter((widget) => widget.context)
  .map((widget) => [widget.context.path, widget.node.className])
"""

_DOCUMENT_TEXT_JS = """
async ([path, revert]) => {
  for (const widget of window.jupyterapp.shell.widgets('main')) {
    if (widget.context && widget.context.path === path) {
      if (revert) await widget.context.revert();
      return widget.context.model.toString();
    }
  }
  return null;
}
"""

_FOCUS_NOTEBOOK_JS = """
(path) => {
  const app = window.jupyterapp;
  for (const widget of app.shell.widgets('main')) {
    if (widget.context && widget.context.path === path) app.shell.activateById(widget.id);
  }
}
"""


def report_path(entry: dict[str, Any]) -> str:
    return NOTEBOOK.removesuffix(".ipynb") + entry["suffix"]


def open_documents(session: LabSession) -> dict[str, str]:
    """Documents open in the main area: path -> their widget's classes."""
    pairs: list[list[str]] = session.page.evaluate(_MAIN_AREA_PATHS_JS)
    return dict((path, classes) for path, classes in pairs)


def open_dialog(session: LabSession) -> Locator:
    session.page.evaluate(_FOCUS_NOTEBOOK_JS, NOTEBOOK)
    session.notebook().locator(".jp-ModelBook-exportButton").click()
    dialog = session.page.locator(DIALOG)
    try:
        dialog.wait_for(timeout=UI_MS)
    except Exception:
        raise LabError(f"the export dialog did not open\n{session.describe()}") from None
    return dialog


def checked_format(dialog: Locator) -> str | None:
    checked = dialog.locator("input[type=radio]:checked")
    return checked.get_attribute("value") if checked.count() else None


def wait_for_toast(session: LabSession, report: str) -> Locator:
    toast = session.page.locator(".Toastify__toast", has_text=f"Review report written: {report}")
    try:
        toast.first.wait_for(timeout=EXPORT_MS)
    except Exception:
        raise LabError(f"no notification that {report} was written\n{session.describe()}") from None
    return toast.first


def wait_for_current(session: LabSession, path: str) -> None:
    """Wait until the document at `path` is the one Lab shows (an export has opened it)."""
    try:
        session.page.wait_for_function(
            "(path) => { const w = window.jupyterapp.shell.currentWidget;"
            " return !!(w && w.context && w.context.path === path); }",
            arg=path,
            timeout=EXPORT_MS,
        )
    except Exception:
        raise LabError(f"{path} was not opened\n{session.describe()}") from None


@pytest.fixture(scope="module")
def formats(lab_server: LabServer) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = lab_server.api("GET", "nbmodelbook/api/formats")["formats"]
    return listed


@pytest.fixture(scope="module")
def lab(browser: Browser, lab_server: LabServer) -> Iterator[LabSession]:
    make_workspace(lab_server.root_dir / FOLDER, DECISION, RISK)
    with open_lab_session(browser, lab_server) as session:
        session.open_notebook(NOTEBOOK)
        yield session


def test_the_dialog_lists_the_servers_formats_and_greys_out_those_it_cannot_write(
    lab: LabSession, formats: list[dict[str, Any]]
) -> None:
    names = [entry["name"] for entry in formats]
    assert {"html", "md", "json"} <= set(names)
    dialog = open_dialog(lab)
    options = dialog.locator(".jp-ModelBook-format")
    assert options.evaluate_all("nodes => nodes.map(n => n.dataset.format)") == names
    for entry in formats:
        option = dialog.locator(f".jp-ModelBook-format[data-format={entry['name']}]")
        text = option.inner_text()
        assert f"credit{entry['suffix']}" in text, text  # the file it will write
        assert entry["description"] in text, text
        radio = option.locator("input")
        if entry["available"]:
            assert radio.is_enabled()
        else:
            assert radio.is_disabled()
            assert "jp-mod-disabled" in (option.get_attribute("class") or "")
            assert f"Not available on this server: {entry['reason']}" in text, text
    assert checked_format(dialog) == "html"  # the settings' default, nothing chosen yet
    for path in screenshot_paths("lab-export-dialog.png"):
        lab.screenshot(path, dialog.locator(".jp-Dialog-content"))
    dialog.locator(".jp-mod-reject").click()
    dialog.wait_for(state="detached", timeout=UI_MS)
    assert not list((lab.server.root_dir / FOLDER / "work").glob("*.review.*"))


def test_each_format_is_written_beside_the_notebook_and_shown(
    lab: LabSession, formats: list[dict[str, Any]]
) -> None:
    root = lab.server.root_dir
    writable = [entry for entry in formats if entry["available"]]
    for entry in writable:
        name, report = entry["name"], report_path(entry)
        written = root / report
        written.unlink(missing_ok=True)
        dialog = open_dialog(lab)
        dialog.locator(f".jp-ModelBook-format[data-format={name}] input").check()
        dialog.locator(".jp-mod-accept").click()
        toast = wait_for_toast(lab, report)
        assert written.is_file(), f"{report} was not written"
        check = CONTENT_CHECKS.get(name)
        assert check is None or check(written), f"{report} is not a {name} report"
        documents = open_documents(lab)
        if name == "html":
            frame = lab.page.frame_locator(".jp-ModelBook-report iframe")
            frame.locator("body").get_by_text(DECISION_TITLE).first.wait_for(timeout=UI_MS)
        elif name == "docx":
            assert report not in documents, "a Word file was opened in a text editor"
            assert "cannot show .docx files: download it" in toast.inner_text()
        else:
            lab.page.wait_for_function(
                "(path) => Array.from(window.jupyterapp.shell.widgets('main'))"
                ".some((w) => w.context && w.context.path === path && w.isVisible)",
                arg=report,
                timeout=UI_MS,
            )
        if name == "pdf":
            viewer = lab.page.locator(".jp-PDFContainer:visible")
            viewer.first.wait_for(timeout=UI_MS)  # Lab's own PDF viewer, not a text editor
        if name in ("pdf", "docx"):
            with lab.page.expect_download(timeout=UI_MS) as download_info:
                toast.get_by_role("button", name="Download").click()
            download = download_info.value
            assert download.suggested_filename == written.name
            assert "/files/" in download.url and download.url.split("?")[0].endswith(report)
    assert not lab.page_errors, lab.page_errors
    # Chromium's own PDF viewer loads its parts from inside the browser, never the network.
    network = [url for url in lab.blocked_requests if not url.startswith(BROWSER_INTERNAL)]
    assert not network, network


def test_the_dialog_starts_on_the_last_choice(lab: LabSession) -> None:
    for name in ("json", "md"):
        report = f"{FOLDER}/work/credit.review.{name}"
        dialog = open_dialog(lab)
        dialog.locator(f".jp-ModelBook-format[data-format={name}] input").check()
        dialog.locator(".jp-mod-accept").click()
        wait_for_current(lab, report)
        dialog = open_dialog(lab)
        assert checked_format(dialog) == name
        dialog.locator(".jp-mod-reject").click()
        dialog.wait_for(state="detached", timeout=UI_MS)


def test_exporting_again_refreshes_a_report_already_open(lab: LabSession) -> None:
    report = f"{FOLDER}/work/credit.review.json"
    written = lab.server.root_dir / report
    dialog = open_dialog(lab)
    dialog.locator(".jp-ModelBook-format[data-format=json] input").check()
    dialog.locator(".jp-mod-accept").click()
    wait_for_current(lab, report)
    # The open tab shows an older file; a new export must replace what it shows.
    written.write_text('{"stale": true}', encoding="utf-8")
    assert lab.page.evaluate(_DOCUMENT_TEXT_JS, [report, True]) == '{"stale": true}'
    dialog = open_dialog(lab)
    dialog.locator(".jp-mod-accept").click()  # json again: the last choice
    lab.page.wait_for_function(
        "(path) => !!window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.context"
        " && window.jupyterapp.shell.currentWidget.context.path === path"
        " && !window.jupyterapp.shell.currentWidget.context.model.toString().includes('stale')",
        arg=report,
        timeout=EXPORT_MS,
    )
    shown = lab.page.evaluate(_DOCUMENT_TEXT_JS, [report, False])
    assert shown == written.read_text(encoding="utf-8")


def test_a_format_the_server_cannot_write_is_greyed_out_and_refused(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A server on which pypandoc cannot be imported, as where the docx extra is not installed.
    shadow = tmp_path_factory.mktemp("no-pandoc")
    (shadow / "pypandoc").mkdir()
    (shadow / "pypandoc" / "__init__.py").write_text(
        'raise ImportError("No module named pypandoc (hidden for this test)")\n'
    )
    path = os.pathsep.join(filter(None, [str(shadow), os.environ.get("PYTHONPATH")]))
    base = tmp_path_factory.mktemp("lab-no-pandoc")
    with running_lab_server(base, extra_env={"PYTHONPATH": path}) as server:
        listed = server.api("GET", "nbmodelbook/api/formats")["formats"]
        if "docx" not in [entry["name"] for entry in listed]:
            pytest.skip("no Word format registered")
        make_workspace(server.root_dir / FOLDER, DECISION, RISK)
        with open_lab_session(browser, server) as session:
            session.open_notebook(NOTEBOOK)
            dialog = open_dialog(session)
            option = dialog.locator(".jp-ModelBook-format[data-format=docx]")
            assert option.locator("input").is_disabled()
            assert "jp-mod-disabled" in (option.get_attribute("class") or "")
            text = option.inner_text()
            assert "Not available on this server: Word reports need pandoc" in text, text
            assert "nbmodelbook[docx]" in text, text
            assert dialog.locator(".jp-ModelBook-format[data-format=html] input").is_enabled()
            for shot in screenshot_paths("lab-export-dialog-unavailable.png"):
                session.screenshot(shot, dialog.locator(".jp-Dialog-content"))
            dialog.locator(".jp-mod-reject").click()
            dialog.wait_for(state="detached", timeout=UI_MS)
            # Asked for by name (a shortcut, a script), the export says why and writes nothing.
            session.page.evaluate(
                "() => { window.jupyterapp.commands.execute('nbmodelbook:export-report', "
                "{ format: 'docx' }); }"
            )
            error = session.page.locator(".jp-Dialog", has_text="Review report not written")
            error.wait_for(timeout=EXPORT_MS)
            assert "this server cannot write docx reports" in error.inner_text()
            error.locator("button.jp-Dialog-button").last.click()  # Dismiss
            assert not (server.root_dir / FOLDER / "work" / "credit.review.docx").exists()
