"""`browse()` and `compare()` driven in a real JupyterLab, in headless Chromium, network closed.

One notebook is written into the Lab root and run once for the module: it loads the extension,
splits scikit-learn's bundled breast-cancer data, and tracks four models (`logreg`, `rf-50`,
`rf-200`, which also shows a matplotlib figure, and `rf-trimmed`, trained without the
`worst area` column), a run whose name is markup, and a run that fails. Its kernel stays up and
the tests append cells to it, as a person would:

- `mb.browse()`: one row per run, the failed run marked, the markup name shown as text (no
  element, no dialog); a metric header sorts best first; the filter box narrows the rows and the
  position label; ticking rows opens their comparison below; the History panel draws a chart.
- `mb.compare("rf-50", "rf-200", "rf-trimmed")`: only the differing params (then all), the best
  metric starred, Vega-Lite charts drawn, a code diff, the missing column named, the figures.
- `mb.compare("rf-5", "rf-200")`: an error naming the close match `rf-50`.

Each test ends by checking that the page asked no other host for anything and raised no error.
Screenshots go to build/screenshots/; with NBMODELBOOK_UPDATE_DOCS_IMAGES=1 also to
docs/images/ (the README's copies), so ordinary test runs do not change tracked files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests.browser.jupyterlab import LabSession, open_lab_session, screenshot_paths

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, ViewportSize

    from tests.browser.jupyterlab import LabServer

pytestmark = pytest.mark.browser

NOTEBOOK = "widgets/model-runs.ipynb"
RENDER_MS = 30_000
CHART_MS = 60_000  # the first chart imports Altair in the kernel: seconds
SHOT_MAX_HEIGHT = 3000
# Wide enough for the run table's every column (runs, 3 metrics, 4 params) without scrolling.
VIEWPORT: ViewportSize = {"width": 1680, "height": 1000}
HOSTILE = "<img src=x onerror=alert(1)>"
RF_RUNS = {"rf-50", "rf-200", "rf-trimmed"}

SETUP = """\
import matplotlib.pyplot as plt
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

data = load_breast_cancer(as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.25, random_state=42, stratify=data.target
)
"""

LOGREG = """\
%%track logreg --tag baseline
C = 1.0
model = LogisticRegression(C=C, max_iter=500, solver="liblinear")
model.fit(X_train, y_train)
proba = model.predict_proba(X_test)[:, 1]
auc = roc_auc_score(y_test, proba)
accuracy = accuracy_score(y_test, proba > 0.5)
"""


def forest(name: str, n_estimators: int, *, figure: bool = False) -> str:
    lines = [f"%%track {name} --tag forest"]
    lines += [
        f"n_estimators = {n_estimators}",
        "max_depth = 4",
        "model = RandomForestClassifier(",
        "    n_estimators=n_estimators, max_depth=max_depth, random_state=0",
        ")",
        "model.fit(X_train, y_train)",
        "proba = model.predict_proba(X_test)[:, 1]",
        "auc = roc_auc_score(y_test, proba)",
        "accuracy = accuracy_score(y_test, proba > 0.5)",
    ]
    if figure:
        lines += [
            "plt.figure(figsize=(4, 2.6), dpi=72)",
            "plt.plot(sorted(proba))",
            'plt.title("rf-200: sorted test-set scores")',
            "plt.show()",
        ]
    return "\n".join(lines) + "\n"


# A run records the data it reads as they are when it starts, so the trimmed frames are made
# before the tracked cell (a drop inside the cell would be recorded as the full frame).
TRIM = """\
X_train = X_train.drop(columns=["worst area"])
X_test = X_test.drop(columns=["worst area"])
"""

MARKUP_RUN = f"""\
%%track "{HOSTILE}" --tag odd
score = sum([0.25, 0.5])
"""

FAILING_RUN = """\
%%track logreg-bad --tag baseline
C = -1.0
raise ValueError("bad C")
"""

CELLS: list[tuple[str, list[str]]] = [
    ("%load_ext nbmodelbook", []),
    (SETUP, []),
    (LOGREG, []),
    (forest("rf-50", 50), []),
    (forest("rf-200", 200, figure=True), []),
    (TRIM, []),
    (forest("rf-trimmed", 200), []),
    (MARKUP_RUN, []),
    (FAILING_RUN, ["raises-exception"]),
]
RUN_COUNT = 6  # every %%track cell above

# Where each column of the run table sits, by its data-key.
COLUMN_INDEX_JS = """
(table) => Array.from(table.querySelectorAll('thead th')).map((th) => th.dataset.key || '')
"""


def write_notebook(server: LabServer) -> None:
    cells = []
    for source, tags in CELLS:
        cell = new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    server.write_notebook(NOTEBOOK, notebook)


@pytest.fixture(scope="module")
def lab(
    browser: Browser, lab_server: LabServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabSession]:
    """One Lab page and kernel for the module, after the tracked cells have all run."""
    store = tmp_path_factory.mktemp("widgets-store")
    lab_server.set_kernel_env({"NBMODELBOOK_STORE": str(store)})
    write_notebook(lab_server)
    with open_lab_session(browser, lab_server, viewport=VIEWPORT) as session:
        session.open_notebook(NOTEBOOK)
        # The file browser closed: the widgets get the page's width, as in the screenshots.
        session.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        session.run_all_cells(allow_errors=True)
        errors = session.error_outputs(include_stderr=False)
        assert len(errors) == 1 and "ValueError: bad C" in errors[0], errors
        session.append_and_run("import nbmodelbook as mb")
        yield session


def last_cell(lab: LabSession) -> Locator:
    return lab.notebook().locator(".jp-Notebook .jp-Cell").last


def assert_clean(lab: LabSession) -> None:
    """Nothing asked another host, nothing threw in the page, no dialog opened."""
    assert not lab.blocked_requests, f"the page tried to reach the network: {lab.blocked_requests}"
    assert not lab.page_errors, f"page errors: {lab.page_errors}\n{lab.describe()}"
    assert not lab.dialogs, f"dialogs opened: {lab.dialogs}"


def column_texts(table: Locator, key: str) -> list[str]:
    """The text of one column of the run table, top to bottom."""
    keys: list[str] = table.evaluate(COLUMN_INDEX_JS)
    index = keys.index(key) + 1  # nth-child counts from 1
    return [
        text.strip() for text in table.locator(f"tbody tr td:nth-child({index})").all_inner_texts()
    ]


# True once a numeric column of the run table reads highest first, empty cells last.
SORTED_DESCENDING_JS = """
([table, index]) => {
  const texts = Array.from(
    table.querySelectorAll(`tbody tr[data-run-id] td:nth-child(${index})`),
    (td) => td.textContent.trim(),
  );
  const filled = texts.filter((text) => text !== '');
  if (texts.slice(0, filled.length).some((text) => text === '')) return false;
  const values = filled.map(Number);
  return values.every((value, i) => i === 0 || values[i - 1] >= value);
}
"""


def wait_until_sorted(lab: LabSession, table: Locator, key: str) -> None:
    keys: list[str] = table.evaluate(COLUMN_INDEX_JS)
    handle = table.element_handle()
    try:
        lab.page.wait_for_function(
            SORTED_DESCENDING_JS, arg=[handle, keys.index(key) + 1], timeout=RENDER_MS
        )
    except Exception as error:
        raise AssertionError(
            f"the run table never read {key} highest first ({type(error).__name__}): "
            f"{column_texts(table, key)}"
        ) from None


# The right edge of what a widget draws (tables, charts, images, buttons), for a tight clip.
CONTENT_RIGHT_JS = """
(node) => Math.max(...Array.from(
  node.querySelectorAll('table, canvas, img, .widget-toggle-button'),
  (child) => child.getBoundingClientRect().right,
))
"""
NEXT_FRAME_JS = (
    "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
)


def save_shot(
    lab: LabSession,
    target: Locator,
    paths: list[Path],
    *,
    until: Locator | None = None,
    tight: bool = False,
) -> None:
    """PNGs of `target`, clipped to its box; cut just above `until` when given, and to the
    right edge of its content when `tight`.

    Lab scrolls inside the notebook panel, which clips whatever lies outside it, so the viewport
    grows for the shot until the widget fits, then comes back.
    """
    page = lab.page
    viewport = page.viewport_size
    assert viewport is not None
    box = target.bounding_box()
    assert box is not None, "the widget has no layout box"
    grown = min(max(viewport["height"], int(box["height"]) + 300), SHOT_MAX_HEIGHT)
    page.set_viewport_size({"width": viewport["width"], "height": grown})
    try:
        target.evaluate("(node) => node.scrollIntoView({block: 'start'})")
        page.mouse.move(0, 0)
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.evaluate(NEXT_FRAME_JS)
        box = target.bounding_box()
        assert box is not None
        height = box["height"]
        if until is not None:
            end = until.bounding_box()
            assert end is not None, "the element to cut at has no layout box"
            height = end["y"] - box["y"] - 4
        width = box["width"]
        if tight:
            width = min(width, float(target.evaluate(CONTENT_RIGHT_JS)) - box["x"] + 24)
        clip = {"x": box["x"], "y": box["y"], "width": width, "height": min(height, grown)}
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), clip=clip)
    finally:
        page.set_viewport_size(viewport)


# Points on a canvas chart, from its pixels: saturated colours are marks (and legend symbols);
# white, greys and black are background, axes and text. Centres at least 8 px apart.
COLOURED_PIXELS_JS = """
(canvas) => {
  const { width, height } = canvas;
  const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const rect = canvas.getBoundingClientRect();
  const found = [];
  for (let y = 0; y < height; y += 2) {
    for (let x = 0; x < width; x += 2) {
      const i = (y * width + x) * 4;
      const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
      if (a < 200 || Math.max(r, g, b) - Math.min(r, g, b) < 80) continue;
      const px = rect.left + (x * rect.width) / width;
      const py = rect.top + (y * rect.height) / height;
      if (found.every(([fx, fy]) => Math.hypot(fx - px, fy - py) >= 8)) found.push([px, py]);
    }
  }
  return found.slice(0, 60);
}
"""


def tooltip_on_hover(lab: LabSession, canvas: Locator) -> str | None:
    """Point at each coloured mark of a canvas chart; the text of Vega's tooltip, if one shows."""
    from playwright.sync_api import expect

    canvas.scroll_into_view_if_needed()
    tooltip = lab.page.locator("#vg-tooltip-element.visible")
    for x, y in canvas.evaluate(COLOURED_PIXELS_JS):
        lab.page.mouse.move(x, y)
        try:
            expect(tooltip).to_be_visible(timeout=300)
        except AssertionError:
            continue
        return tooltip.inner_text()
    return None


def test_browse_filters_sorts_selects_and_compares(lab: LabSession) -> None:
    from playwright.sync_api import expect

    lab.append_and_run("mb.browse()")
    widget = last_cell(lab).locator(".nbmb-browse")
    expect(widget).to_be_visible(timeout=RENDER_MS)
    table = widget.locator(".nbmb-run-table table")
    rows = table.locator("tr[data-run-id]")
    expect(rows).to_have_count(RUN_COUNT, timeout=RENDER_MS)
    position = widget.locator(".widget-label", has_text=re.compile(r"\bof \d+ runs?$"))
    expect(position).to_have_text(f"1–{RUN_COUNT} of {RUN_COUNT} runs")

    names = column_texts(table, "name")
    assert sorted(names) == sorted(
        ["logreg", "rf-50", "rf-200", "rf-trimmed", HOSTILE, "logreg-bad"]
    ), names

    # The failed run is marked, and only it.
    failed = table.locator("tr.nbmb-failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("logreg-bad")
    expect(failed.locator("td.nbmb-status")).to_contain_text("error")

    # A name that is markup is shown as text: no element made of it, no script run.
    hostile = table.locator("tr[data-run-id]", has_text=HOSTILE)
    expect(hostile).to_have_count(1)
    assert HOSTILE in hostile.inner_text()
    assert lab.page.locator('img[src="x"]').count() == 0
    assert not lab.dialogs, lab.dialogs

    # A metric header sorts best first (auc: highest), runs without the metric last.
    before = column_texts(table, "name")
    header = table.locator('th[data-key="metrics.auc"]')
    header.locator("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(header.locator(".nbmb-arrow")).to_have_text(" ▼")
    # The header changes at once; the rows follow when the kernel has queried the store.
    wait_until_sorted(lab, table, "metrics.auc")
    aucs = column_texts(table, "metrics.auc")
    measured = [float(text) for text in aucs if text]
    assert len(measured) == 4, aucs
    assert aucs[:4] == [text for text in aucs if text], f"runs without auc come last: {aucs}"
    assert measured == sorted(measured, reverse=True), f"not descending: {aucs}"
    after = column_texts(table, "name")
    assert after != before, f"sorting by auc left the order as it was: {after}"
    assert set(after[4:]) == {HOSTILE, "logreg-bad"}, after

    # The filter box narrows the rows (in the store) and the position label follows.
    search = widget.locator('input[placeholder^="Filter:"]')
    search.fill("rf")
    expect(rows).to_have_count(len(RF_RUNS))
    expect(position).to_have_text(f"1–{len(RF_RUNS)} of {len(RF_RUNS)} runs")
    assert set(column_texts(table, "name")) == RF_RUNS
    search.fill("")
    expect(rows).to_have_count(RUN_COUNT)
    expect(position).to_have_text(f"1–{RUN_COUNT} of {RUN_COUNT} runs")

    # Ticking runs opens their comparison below the table.
    comparison = widget.locator(".nbmb-compare-view")
    expect(comparison).to_have_count(0)
    expect(widget).to_contain_text("Select two or more runs")
    selected = table.locator("tr.nbmb-selected")
    for count, name in enumerate(("rf-50", "rf-200"), start=1):
        widget.get_by_role("checkbox", name=f"Select run {name}", exact=True).click()
        expect(selected).to_have_count(count)
    expect(selected.get_by_role("checkbox")).to_have_count(2)
    for box in selected.get_by_role("checkbox").all():
        expect(box).to_be_checked()
    expect(comparison).to_be_visible(timeout=RENDER_MS)
    expect(comparison).to_contain_text("Comparing 2 runs")
    # A click on the row itself selects too.
    table.locator("tr[data-run-id]", has_text="rf-trimmed").locator("td").nth(1).click()
    expect(selected).to_have_count(3)
    expect(comparison).to_contain_text("Comparing 3 runs")
    # The comparison sits below the table.
    table_box, comparison_box = table.bounding_box(), comparison.bounding_box()
    assert table_box and comparison_box
    assert comparison_box["y"] >= table_box["y"] + table_box["height"]

    # History: a metric over time, drawn by Vega, with tooltips.
    message = widget.locator(":scope > .widget-html")
    widget.locator(
        ".jupyter-widget-Collapse-header", has_text="History: a metric over time"
    ).click()
    history = widget.locator(".jupyter-widget-Collapse-contents")
    expect(history).to_be_visible()
    chart = history.locator(".vega-embed canvas, .vega-embed svg.marks").first
    expect(chart).to_be_visible(timeout=CHART_MS)
    expect(message).to_have_text("")  # e.g. an invalid history query would show here
    tooltip = tooltip_on_hover(lab, chart)
    assert tooltip is not None, "no Vega tooltip when pointing at the history chart's marks"
    assert "Run" in tooltip and "auc" in tooltip, tooltip

    # Every chart of the comparison is drawn too before the shot (no "Drawing charts…").
    expect(comparison.locator(".vega-embed canvas, .vega-embed svg.marks").first).to_be_visible(
        timeout=CHART_MS
    )
    expect(widget).not_to_contain_text("Drawing charts")
    # The shot: controls, table, history and the start of the comparison (compare.png has
    # the rest), cut just below its metrics table.
    save_shot(
        lab,
        widget,
        screenshot_paths("lab-browse.png", "browse.png"),
        until=comparison.locator(".widget-output").first,
    )
    assert_clean(lab)


def test_compare_shows_params_metrics_charts_code_data_and_figures(lab: LabSession) -> None:
    from playwright.sync_api import expect

    lab.append_and_run('mb.compare("rf-50", "rf-200", "rf-trimmed")')
    view = last_cell(lab).locator(".nbmb-compare-view")
    expect(view).to_be_visible(timeout=RENDER_MS)
    expect(view).to_contain_text("Comparing 3 runs")

    # Parameters: only those that differ, then all of them.
    params = view.locator(".nbmb-params")
    expect(params).to_contain_text("n_estimators")
    expect(params).not_to_contain_text("max_depth")
    view.get_by_role("button", name="All parameters").click()
    expect(params).to_contain_text("max_depth")
    expect(params).to_contain_text("n_estimators")
    view.get_by_role("button", name="Only differences").click()
    expect(params).not_to_contain_text("max_depth")

    # Metrics: side by side, the best value of each starred.
    metrics = view.locator(".nbmb-compare", has_text="marks the best value")
    expect(metrics.locator("td", has_text="auc")).not_to_have_count(0)
    best = metrics.locator("td.nbmb-best")
    expect(best.first).to_contain_text("★")

    # Charts: Vega-Lite drawn by Lab's own Vega into a canvas.
    charts = view.locator(".vega-embed")
    expect(charts.first.locator("canvas").first).to_be_visible(timeout=CHART_MS)
    expect(view).not_to_contain_text("Drawing charts")
    expect(view).not_to_contain_text("could not be drawn")

    # Code: each run's cell against the first run's, line by line.
    diffs = view.locator(".nbmb-code-diff")
    expect(diffs).to_have_count(2)
    removed = diffs.first.locator("tr.nbmb-diff-removed", has_text="n_estimators = 50")
    added = diffs.first.locator("tr.nbmb-diff-added", has_text="n_estimators = 200")
    expect(removed).to_have_count(1)
    expect(added).to_have_count(1)
    expect(diffs.nth(1).locator("tr.nbmb-diff-added", has_text="n_estimators = 200")).to_have_count(
        1
    )

    # Data: the difference stated in words, naming the missing column.
    data = view.locator(".nbmb-compare", has_text="trained on different data")
    expect(data).to_contain_text("rf-50 and rf-trimmed were trained on different data")
    expect(data.locator("code", has_text="worst area").first).to_be_visible()
    expect(data).to_contain_text("missing in rf-trimmed")
    expect(data).to_contain_text("rf-50 and rf-200 used the same data")

    # Figures: the image rf-200 displayed, under its name.
    figures = view.locator(".nbmb-figures")
    images = figures.locator("img")
    expect(images).to_have_count(1)
    expect(images.first).to_have_attribute("alt", "Figure 1 of rf-200")
    expect(images.first).to_have_js_property("complete", True)
    assert images.first.evaluate("(img) => img.naturalWidth") > 0, "the figure did not decode"

    # The shot: header, parameters, metrics, charts and code, cut above the Data section.
    save_shot(
        lab,
        view,
        screenshot_paths("lab-compare.png", "compare.png"),
        until=view.locator(".nbmb-compare h4", has_text="Data"),
        tight=True,
    )
    assert_clean(lab)


def test_compare_unknown_name_lists_close_matches(lab: LabSession) -> None:
    from playwright.sync_api import expect

    outputs: list[dict[str, Any]] = lab.append_and_run(
        'mb.compare("rf-5", "rf-200")', allow_errors=True
    )
    errors = [output for output in outputs if output.get("output_type") == "error"]
    assert len(errors) == 1, outputs
    assert errors[0]["ename"] == "UnknownRunError", errors[0]
    assert "'rf-5'" in errors[0]["evalue"] and "did you mean 'rf-50'" in errors[0]["evalue"]
    shown = last_cell(lab).locator(".jp-OutputArea-output")
    expect(shown.first).to_contain_text("UnknownRunError", timeout=RENDER_MS)
    expect(shown.first).to_contain_text("rf-50")
    assert_clean(lab)
