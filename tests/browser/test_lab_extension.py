"""The JupyterLab extension in a real JupyterLab, in headless Chromium, network closed.

`demo.ipynb` is copied into the Lab root and run once for the module, as a modeller would run it;
then, in order:

- the Model Book panel lists its five runs newest first (the failed SVM marked), with the key
  metric, and takes a new run without being refreshed by hand;
- every tracked cell wears a badge (name, status, key metric) whose link finds the run in the
  panel;
- clicking a run selects its cell; an edited cell and a deleted one are told apart;
- ticking two runs and pressing Compare shows them side by side, best metric starred;
- Export review report (the toolbar button, then Export in its format dialog) writes the report
  beside the notebook and opens it in a sandboxed tab showing the decision; a notebook with a
  mistyped annotation gets a dialog listing the finding instead, and no report;
- Insert annotation adds a `> [!KIND]` cell citing the ticked runs.

Screenshots go to build/screenshots/; with NBMODELBOOK_UPDATE_DOCS_IMAGES=1 also to
docs/images/ (the README's copies).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests.browser.jupyterlab import LabError, LabSession, open_lab_session, screenshot_paths

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator

    from tests.browser.jupyterlab import LabServer

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "extension/demo.ipynb"
REPORT = "extension/demo.review.html"
DEMO_RUNS = ["svm-rbf", "gbm-tuned", "gbm-sweep", "rf-500", "logreg"]  # newest first
UI_MS = 30_000
DECISION = "Regularised logistic regression as the production model"

PANEL = "#nbmodelbook-panel"
ROWS = f"{PANEL} .jp-ModelBook-run"


def shot(session: LabSession, name: str, locator: Locator | None = None) -> None:
    for path in screenshot_paths(name):
        session.screenshot(path, locator)


def command(session: LabSession, name: str, args: dict[str, Any] | None = None) -> Any:
    return session.page.evaluate(
        "([name, args]) => window.jupyterapp.commands.execute(name, args)", [name, args or {}]
    )


def row(session: LabSession, name: str) -> Locator:
    return session.page.locator(ROWS).filter(
        has=session.page.locator(".jp-ModelBook-name", has_text=name)
    )


def row_names(session: LabSession) -> list[str]:
    return session.page.locator(f"{ROWS} .jp-ModelBook-name").all_inner_texts()


def wait_for_rows(session: LabSession, count: int) -> None:
    try:
        session.page.wait_for_function(
            "([selector, count]) => document.querySelectorAll(selector).length === count",
            arg=[ROWS, count],
            timeout=UI_MS,
        )
    except Exception:
        raise LabError(
            f"the panel did not list {count} runs: {row_names(session)}\n{session.describe()}"
        ) from None


def active_cell_index(session: LabSession) -> int:
    return int(
        session.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex")
    )


def cell_index(session: LabSession, starts_with: str) -> int:
    sources: list[str] = session.page.evaluate(
        """() => {
          const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
          const source = (i) => cells.get(i).sharedModel.getSource();
          return Array.from({ length: cells.length }, (_, i) => source(i));
        }"""
    )
    return next(i for i, source in enumerate(sources) if source.startswith(starts_with))


def panel_message(session: LabSession) -> Locator:
    return session.page.locator(f"{PANEL} .jp-ModelBook-message")


def wait_for_message(session: LabSession, text: str) -> None:
    try:
        session.page.wait_for_function(
            "([selector, text]) => document.querySelector(selector).textContent.includes(text)",
            arg=[f"{PANEL} .jp-ModelBook-message", text],
            timeout=UI_MS,
        )
    except Exception:
        shown = panel_message(session).inner_text()
        raise LabError(f"the panel never said {text!r} (it says {shown!r})") from None


def focus_notebook(session: LabSession, path: str) -> None:
    """Bring an open notebook's tab to the front (the report tab takes it on export)."""
    session.page.evaluate(
        """(path) => {
          const app = window.jupyterapp;
          for (const widget of app.shell.widgets('main')) {
            if (widget.context && widget.context.path === path) app.shell.activateById(widget.id);
          }
        }""",
        path,
    )


@pytest.fixture(scope="module")
def lab(browser: Browser, lab_server: LabServer) -> Iterator[LabSession]:
    """One Lab page on the demo notebook, after all its cells have run."""
    demo = nbformat.read(REPO / "demo.ipynb", as_version=4)
    lab_server.write_notebook(NOTEBOOK, demo)
    with open_lab_session(browser, lab_server) as session:
        session.open_notebook(NOTEBOOK)
        session.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        command(session, "nbmodelbook:show-panel")
        session.run_all_cells(allow_errors=True)
        session.save()
        yield session


def test_the_extension_is_installed_and_its_api_answers(lab: LabSession) -> None:
    info = lab.server.api("GET", "nbmodelbook/api/info")
    from nbmodelbook import __version__

    assert info["version"] == __version__
    plugins = lab.page.evaluate("() => window.jupyterapp.hasPlugin('nbmodelbook:plugin')")
    assert plugins, "the nbmodelbook plugin is not loaded in Lab"


def test_panel_lists_the_notebooks_runs_and_follows_new_ones(lab: LabSession) -> None:
    wait_for_rows(lab, len(DEMO_RUNS))
    assert row_names(lab) == DEMO_RUNS
    failed = row(lab, "svm-rbf")
    # Its last refresh may still be on its way: the run's end is written after the cell ends.
    failed.and_(lab.page.locator(".jp-ModelBook-status-error")).wait_for(timeout=UI_MS)
    assert failed.locator(".jp-ModelBook-statusIcon").inner_text() == "✗"
    summary = lab.page.locator(f"{PANEL} .jp-ModelBook-summary").inner_text()
    assert summary.startswith("5 runs") and "key metric" in summary, summary
    metric = row(lab, "logreg").locator(".jp-ModelBook-metric").inner_text()
    assert metric.startswith(("auc 0.9", "accuracy 0.9")), metric
    assert "★" in lab.page.locator(f"{ROWS}.jp-ModelBook-bestRun").inner_text()
    shot(lab, "lab-panel.png", lab.page.locator(PANEL))

    # A new run shows up when its cell finishes: nobody presses refresh.
    lab.append_and_run('%%track late-idea --tag quick\nauc = 0.5\nprint("tracked")')
    wait_for_rows(lab, len(DEMO_RUNS) + 1)
    assert row_names(lab)[0] == "late-idea"

    # The filter narrows the list on tags, names and statuses.
    lab.page.locator(f"{PANEL} .jp-ModelBook-filter").fill("boosting")
    assert sorted(row_names(lab)) == ["gbm-sweep", "gbm-tuned"]
    lab.page.locator(f"{PANEL} .jp-ModelBook-filter").fill("failed")
    assert row_names(lab) == ["svm-rbf"]
    lab.page.locator(f"{PANEL} .jp-ModelBook-filter").fill("")


def test_tracked_cells_wear_badges_that_lead_to_the_panel(lab: LabSession) -> None:
    badges = lab.page.locator(".jp-Notebook .jp-ModelBook-badge")
    badges.first.wait_for(timeout=UI_MS)
    names = badges.locator(".jp-ModelBook-badgeName").all_inner_texts()
    assert set(DEMO_RUNS) <= set(names), names
    failed = lab.page.locator(".jp-ModelBook-badge", has_text="svm-rbf")
    assert "jp-ModelBook-status-error" in (failed.get_attribute("class") or "")
    rf = lab.page.locator(".jp-ModelBook-badge", has_text="rf-500")
    # The headline metric (auc), not merely the first one the cell computed (accuracy).
    assert rf.locator(".jp-ModelBook-badgeMetric").inner_text().startswith("auc 0.9")
    rf.scroll_into_view_if_needed()
    shot(lab, "lab-badge.png", lab.cell(cell_index(lab, "%%track rf-500")))

    rf.locator(".jp-ModelBook-badgeLink").click()
    highlighted = lab.page.locator(f"{ROWS}.jp-mod-highlighted .jp-ModelBook-name")
    highlighted.wait_for(timeout=UI_MS)
    assert highlighted.inner_text() == "rf-500"


def test_clicking_a_run_selects_its_cell_and_says_when_it_changed(lab: LabSession) -> None:
    focus_notebook(lab, NOTEBOOK)
    rf_cell = cell_index(lab, "%%track rf-500")
    row(lab, "rf-500").locator(".jp-ModelBook-name").click()
    wait_for_message(lab, f"came from cell {rf_cell + 1}")
    assert active_cell_index(lab) == rf_cell

    # Edit the logreg cell: its run is still found, and the panel says the code changed.
    logreg_cell = cell_index(lab, "%%track logreg")
    lab.page.evaluate(
        """(index) => {
          const cell = window.jupyterapp.shell.currentWidget.content.model.cells.get(index);
          cell.sharedModel.setSource(cell.sharedModel.getSource().replace('C = 1.0', 'C = 0.5'));
        }""",
        logreg_cell,
    )
    row(lab, "logreg").locator(".jp-ModelBook-name").click()
    wait_for_message(lab, f"Cell {logreg_cell + 1} was edited")
    assert active_cell_index(lab) == logreg_cell
    assert panel_message(lab).get_attribute("data-level") == "warning"

    # The appended late-idea cell deleted: its run stays listed, its cell is gone.
    late = cell_index(lab, "%%track late-idea")
    lab.page.evaluate(
        """(index) => {
          window.jupyterapp.shell.currentWidget.content.model.sharedModel.deleteCell(index);
        }""",
        late,
    )
    row(lab, "late-idea").locator(".jp-ModelBook-name").click()
    wait_for_message(lab, "is no longer in this notebook")


def test_ticked_runs_compare_side_by_side(lab: LabSession) -> None:
    for name in ("logreg", "gbm-tuned"):
        row(lab, name).locator("input[type=checkbox]").check()
    compare = lab.page.locator(f"{PANEL} .jp-ModelBook-compare")
    assert compare.inner_text() == "Compare (2)"
    compare.click()
    table = lab.page.locator(f"{PANEL} .jp-ModelBook-comparison table")
    table.wait_for(timeout=UI_MS)
    headers = table.locator("thead th").all_inner_texts()
    assert any("logreg" in text for text in headers) and any("gbm-tuned" in t for t in headers)
    assert table.locator("td.jp-ModelBook-best").count() >= 1
    assert "★" in table.locator("td.jp-ModelBook-best").first.inner_text()
    shot(lab, "lab-panel-compare.png", lab.page.locator(PANEL))


def test_annotation_cell_cites_the_ticked_runs(lab: LabSession) -> None:
    focus_notebook(lab, NOTEBOOK)
    before = int(
        lab.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.length")
    )
    assert command(lab, "nbmodelbook:insert-annotation", {"kind": "RISK"}) is True
    index = active_cell_index(lab)
    cell: dict[str, Any] = lab.page.evaluate(
        """(index) => {
          const cell = window.jupyterapp.shell.currentWidget.content.model.cells.get(index);
          return { type: cell.type, source: cell.sharedModel.getSource() };
        }""",
        index,
    )
    assert cell["type"] == "markdown"
    assert cell["source"].startswith("> [!RISK] ")
    assert "run:logreg" in cell["source"] and "run:gbm-tuned" in cell["source"]
    total = lab.page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.model.cells.length"
    )
    assert total == before + 1

    # Without a kind, a dialog asks for one.
    lab.page.evaluate(
        "() => { window.jupyterapp.commands.execute('nbmodelbook:insert-annotation'); }"
    )
    dialog = lab.page.locator(".jp-Dialog")
    dialog.wait_for(timeout=UI_MS)
    dialog.locator("select").select_option("Decision")
    dialog.locator(".jp-mod-accept").click()
    lab.page.wait_for_function(
        """() => {
          const source = window.jupyterapp.shell.currentWidget.content.activeCell.model
            .sharedModel.getSource();
          return source.startsWith('> [!DECISION] Chose run:logreg');
        }""",
        timeout=UI_MS,
    )


def test_export_writes_the_report_and_opens_it_sandboxed(lab: LabSession) -> None:
    focus_notebook(lab, NOTEBOOK)
    report = lab.server.root_dir / REPORT
    report.unlink(missing_ok=True)
    lab.notebook().locator(".jp-ModelBook-exportButton").click()
    lab.page.locator(".jp-Dialog .jp-mod-accept").click()  # the format dialog, on html
    frame_element = lab.page.locator(".jp-ModelBook-report iframe")
    frame_element.wait_for(timeout=120_000)
    assert frame_element.get_attribute("sandbox") == ""  # no script, no same-origin access
    frame = lab.page.frame_locator(".jp-ModelBook-report iframe")
    frame.locator("body").get_by_text(DECISION).first.wait_for(timeout=UI_MS)
    assert report.is_file() and DECISION in report.read_text(encoding="utf-8")
    # The report's own links stay inside the report (the contents jump to its sections).
    frame.get_by_role("link", name="Decisions").first.click()
    lab.page.wait_for_timeout(500)
    assert frame.locator("body").get_by_text(DECISION).first.is_visible()
    assert frame.locator(".jp-LabShell").count() == 0, "the link loaded JupyterLab in the frame"
    toast = lab.page.locator(".Toastify__toast", has_text="Review report written")
    toast.first.wait_for(timeout=UI_MS)
    shot(lab, "lab-report.png")
    assert not lab.blocked_requests, lab.blocked_requests


def test_export_of_a_notebook_with_a_broken_annotation_lists_the_findings(
    lab: LabSession,
) -> None:
    notebook = new_notebook(
        cells=[
            new_markdown_cell("> [!DECISON] Logistic regression, see run:logreg"),
            new_code_cell("x = 1"),
        ]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    lab.server.write_notebook("extension/typo.ipynb", notebook)
    lab.open_notebook("extension/typo.ipynb")
    # Not awaited: the command ends when its dialog is closed.
    lab.page.evaluate(
        "() => { window.jupyterapp.commands.execute('nbmodelbook:export-report', "
        "{ format: 'html' }); }"
    )
    dialog = lab.page.locator(".jp-Dialog", has_text="Review report not written")
    dialog.wait_for(timeout=UI_MS)
    text = dialog.inner_text()
    assert "DECISON" in text and "DECISION" in text, text  # the finding and its suggestion
    dialog.locator(".jp-mod-accept").click()
    assert not (lab.server.root_dir / "extension/typo.review.html").exists()
    assert not lab.page_errors, lab.page_errors
    saved = json.loads((lab.server.root_dir / "extension/typo.ipynb").read_text())
    assert len(saved["cells"]) == 2  # the notebook is left as it was
