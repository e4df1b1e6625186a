"""The HTML review report, opened in a real browser.

One small notebook is executed for real (nbclient, a real kernel, three `%%track` runs, one of them
carrying XSS payloads in its name, tag, note and output), annotated with a decision and a hostile
risk note, and turned into a report with `nbmodelbook report`. The report is then opened from
`file://` in headless Chromium, where every request that is not `file:` or `data:` is blocked and
recorded. A report must render its heading, decision, charts and figure; run no script; keep no
`javascript:` link; ask nothing of the network; log no console error; and still render for print.

The full-page screenshot is saved to build/screenshots/report.png (the README's copy lives in
docs/images/ and is refreshed by hand, so test runs do not change tracked files).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbmodelbook.cli import main as cli_main
from nbmodelbook.run_marker import RUN_MIMETYPE
from tests.integration.conftest import kernel_env

if TYPE_CHECKING:
    from tests.browser.conftest import BrowserPage

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "build" / "screenshots" / "report.png"
KERNEL_TIMEOUT = 120
TITLE = "Credit default model review"
DECISION_TEXT = "far easier to explain to the validation committee"

# Every payload, if it ever ran, would open a dialog numbered by where it came from.
XSS_NAME = 'xss-"><svg onload=alert(5)>'
XSS_TAG = "<img src=x onerror=alert(1)>"
XSS_NOTE = "</script><script>alert(2)</script>"

SETUP = """\
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

rng = np.random.default_rng(0)
n = 600
df = pd.DataFrame(
    {
        "income": rng.normal(50, 15, n),
        "debt": rng.normal(20, 8, n),
        "age": rng.integers(21, 70, n),
    }
)
logit = 0.12 * df["debt"] - 0.06 * df["income"] + 0.01 * df["age"]
df["default"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
features = ["income", "debt", "age"]
X_train, X_test, y_train, y_test = train_test_split(
    df[features], df["default"], test_size=0.25, random_state=0
)
"""

LOGREG = """\
%%track logreg --tag baseline --note "interpretable baseline"
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import HTML, display
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

model = LogisticRegression(C=1.0, max_iter=500)
model.fit(X_train, y_train)
scores = model.predict_proba(X_test)[:, 1]
auc = roc_auc_score(y_test, scores)
fig, ax = plt.subplots(figsize=(5, 3))
ax.hist(scores[y_test.to_numpy() == 0], bins=20, alpha=0.6, label="repaid")
ax.hist(scores[y_test.to_numpy() == 1], bins=20, alpha=0.6, label="default")
ax.set_xlabel("predicted probability of default")
ax.legend()
plt.show()
display(HTML(Path("checks.html").read_text()))  # the data-quality tool's summary
"""

FOREST = """\
%%track forest --tag challenger
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

forest = RandomForestClassifier(n_estimators=30, max_depth=4, random_state=0)
forest.fit(X_train, y_train)
auc = roc_auc_score(y_test, forest.predict_proba(X_test)[:, 1])
"""

XSS = f"""\
%%track '{XSS_NAME}' --tag "{XSS_TAG}" --note "{XSS_NOTE}"
from sklearn.metrics import roc_auc_score
from sklearn.tree import DecisionTreeClassifier

tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X_train, y_train)
auc = roc_auc_score(y_test, tree.predict_proba(X_test)[:, 1])
print("<script>alert(9)</script>")
"""

DECISION = f"""\
> [!DECISION] Ship run:logreg over run:forest
> The logistic regression matches the forest on metric:auc and is {DECISION_TEXT}.
"""

# An HTML output of the chosen run, read from a file so the notebook's code stays clean.
HOSTILE_OUTPUT = (
    "<p onmouseover=alert(6)>Coefficients <img src=x onerror=alert(7)>"
    "<script>alert(8)</script>look sane.</p>"
)

RISK = """\
> [!RISK] <script>alert(3)</script> [click](javascript:alert(4))
> Income is self-reported <img src=x onerror=alert(10)>
> and <a href="javascript:alert(11)">unchecked</a>.
"""

# The README's screenshot: the same real runs, without the hostile cell and note.
CLEAN_RISK = """\
> [!RISK] Income is self-reported
> About one applicant in eight has no payslip on file; run:logreg leans on income.
"""


@dataclass(frozen=True)
class Report:
    html: Path
    notebook: Path
    store: Path

    @property
    def url(self) -> str:
        return self.html.as_uri()

    def text(self) -> str:
        return self.html.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Reports:
    hostile: Report  # every cell and note above, XSS payloads included
    clean: Report  # the same notebook without the XSS cell and the hostile note


def _kernel_failures(notebook: nbformat.NotebookNode) -> str:
    """Errors and stderr the kernel left in the cells (nbmodelbook's warnings go to stderr)."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append(f"cell {index} stderr: {output.get('text', '').strip()}")
    return "\n".join(found)


def _run_markers(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        output["data"][RUN_MIMETYPE]["run_id"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if RUN_MIMETYPE in output.get("data", {})
    ]


def _write_report(notebook: nbformat.NotebookNode, path: Path, store: Path) -> Report:
    """Save the annotated notebook at `path` and run `nbmodelbook report` on it."""
    nbformat.write(notebook, path)
    out = path.with_name(path.stem + ".review.html")
    argv = ["report", str(path), "--store", str(store), "-o", str(out)]
    code = cli_main(argv)
    assert code == 0, f"`nbmodelbook {' '.join(argv)}` exited {code}"
    assert out.is_file() and out.stat().st_size > 0, f"no report written at {out}"
    return Report(out, path, store)


@pytest.fixture(scope="module")
def reports(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """Execute the notebook for real, annotate it, write its HTML reports.

    Depends on `browser` so that a missing browser skips (or fails) before the kernel starts.
    """
    folder = tmp_path_factory.mktemp("browser-report")
    path = folder / "credit.ipynb"
    store = folder / "store" / "runs.sqlite"
    notebook = new_notebook(
        cells=[
            new_markdown_cell(f"# {TITLE}"),
            new_code_cell("%load_ext nbmodelbook"),
            new_code_cell(SETUP),
            new_code_cell(LOGREG),
            new_code_cell(FOREST),
            new_code_cell(XSS),
        ]
    )
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, path)
    (folder / "checks.html").write_text(HOSTILE_OUTPUT, encoding="utf-8")
    client = NotebookClient(
        notebook, timeout=KERNEL_TIMEOUT, resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=kernel_env(store, path))
    problems = _kernel_failures(notebook)
    assert not problems, f"the notebook did not run cleanly:\n{problems}"
    markers = _run_markers(notebook)
    assert len(markers) == 3, f"expected 3 tracked runs, the cells carry markers {markers}"

    # A clean copy first (its runs are found through the run markers its cells carry)...
    clean = copy.deepcopy(notebook)
    clean.cells = [cell for cell in clean.cells if "%%track 'xss-" not in cell.source]
    clean.cells += [new_markdown_cell(DECISION), new_markdown_cell(CLEAN_RISK)]
    clean_report = _write_report(clean, folder / "credit-clean.ipynb", store)
    # ...then annotate the executed notebook, as a modeller would before asking for a review.
    notebook.cells += [new_markdown_cell(DECISION), new_markdown_cell(RISK)]
    return Reports(_write_report(notebook, path, store), clean_report)


@pytest.fixture
def report(reports: Reports) -> Report:
    return reports.hostile


def _open(page: BrowserPage, report: Report) -> None:
    response = page.page.goto(report.url, wait_until="load")
    assert response is None or response.ok, f"could not open {report.url}: {response}"


def _broken_images(page: BrowserPage) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(broken images, all images) of the page."""
    images: list[dict[str, Any]] = page.page.evaluate(
        """() => Array.from(document.images, (img) => ({
            src: img.currentSrc.slice(0, 80),
            alt: img.alt,
            complete: img.complete,
            width: img.naturalWidth,
            height: img.naturalHeight,
            box: img.getBoundingClientRect().width * img.getBoundingClientRect().height,
        }))"""
    )
    broken = [image for image in images if not (image["complete"] and image["width"] > 0)]
    return broken, images


def _assert_quiet(page: BrowserPage) -> None:
    """No network, no dialog, no console error, no uncaught error."""
    assert not page.blocked, (
        f"the report tried to load {len(page.blocked)} resource(s) from the network:\n"
        + "\n".join(page.blocked)
    )
    assert not page.external_requests(), f"requests left file: / data:\n{page.describe()}"
    assert not page.dialogs, f"a payload ran and opened dialogs:\n{page.describe()}"
    assert not page.page_errors, f"uncaught errors in the page:\n{page.describe()}"
    assert not page.console_errors(), f"console errors:\n{page.describe()}"


# --- the guard itself ---------------------------------------------------------------------------


def test_the_page_guard_sees_network_dialogs_and_console(page: BrowserPage, tmp_path: Path) -> None:
    """The assertions below are only worth something if the recorders record: prove they do."""
    probe = tmp_path / "probe.html"
    probe.write_text(
        "<!doctype html><title>probe</title>"
        '<img src="http://192.0.2.1/tracker.png">'
        "<script>console.error('probe error'); alert('probe dialog');</script>",
        encoding="utf-8",
    )
    page.page.goto(probe.as_uri(), wait_until="load")
    assert any("192.0.2.1" in url for url in page.blocked), page.describe()
    assert page.dialogs == [("alert", "probe dialog")], page.describe()
    assert any("probe error" in text for text in page.console_errors()), page.describe()


# --- what the reviewer sees ---------------------------------------------------------------------


def test_heading_and_decision_are_visible(page: BrowserPage, report: Report) -> None:
    _open(page, report)
    title = page.page.title()
    assert TITLE in title, f"page <title> is {title!r}, expected it to name {TITLE!r}"
    heading = page.page.locator("h1").first
    assert heading.is_visible(), "the report has no visible <h1>"
    assert TITLE in heading.inner_text(), f"<h1> reads {heading.inner_text()!r}"
    decision = page.page.get_by_text(DECISION_TEXT).first
    assert decision.count() and decision.is_visible(), (
        f"the decision text {DECISION_TEXT!r} is not visible in the report"
    )
    summary = page.page.locator("#summary").inner_text()
    assert "recommended model is logreg" in summary, (
        f"the decision's run:logreg did not become the recommended model; summary:\n{summary}"
    )
    assert "forest" in summary, f"the alternative run:forest is not in the summary:\n{summary}"


def test_every_image_loads_and_charts_render(page: BrowserPage, report: Report) -> None:
    _open(page, report)
    broken, images = _broken_images(page)
    assert not broken, f"{len(broken)} of {len(images)} images did not load: {broken}"
    svgs = page.page.evaluate(
        """() => Array.from(document.querySelectorAll('svg'), (svg) => {
            const box = svg.getBoundingClientRect();
            return box.width * box.height;
        })"""
    )
    charts = [image for image in images if image["src"].startswith("data:image/svg+xml")]
    drawn = [image for image in charts if image["box"] > 0] + [area for area in svgs if area > 0]
    assert drawn, (
        f"no chart is drawn: {len(images)} <img> ({images}), {len(svgs)} inline <svg> ({svgs})"
    )
    external = [image["src"] for image in images if not image["src"].startswith("data:")]
    assert not external, f"images not embedded as data: URIs: {external}"


def test_captured_figure_is_visible(page: BrowserPage, report: Report) -> None:
    """The matplotlib figure of the chosen (logreg) run is embedded as a PNG and shown."""
    _open(page, report)
    figures = page.page.locator("img[src^='data:image/png']")
    count = figures.count()
    assert count >= 1, "the captured matplotlib figure (a PNG) is not in the report"
    visible = [i for i in range(count) if figures.nth(i).is_visible()]
    assert visible, f"{count} PNG figure(s) in the report, none visible"
    first = figures.nth(visible[0])
    first.scroll_into_view_if_needed()
    size = first.evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
    assert size[0] > 100 and size[1] > 100, f"the figure is suspiciously small: {size}"


# --- untrusted content stays inert --------------------------------------------------------------


def test_the_evidence_renders_offline(page: BrowserPage, report: Report) -> None:
    """The figures behind the decision, computed from the predictions the cells scored: the
    headline with its interval on page 1, the paired comparison in the decision, the estimates
    of the chosen run, all drawn with nothing from the network."""
    _open(page, report)
    summary = page.page.locator("#summary").inner_text()
    assert re.search(r"scores [01]\.\d+ \(95% CI [01]\.\d+–[01]\.\d+, DeLong\)", summary), summary
    assert re.search(r"(lead over|gap to|worse than) forest", summary), summary
    comparisons = page.page.locator("#decisions table.comparisons")
    assert comparisons.count() == 1 and comparisons.is_visible(), "no paired comparison table"
    assert "DeLong paired" in comparisons.inner_text()
    performance = page.page.locator("#performance")
    assert performance.get_by_text("Evidence behind the figures").is_visible()
    evaluations = performance.locator("table.evaluations")
    assert evaluations.is_visible() and "roc_auc_score" in evaluations.inner_text()
    broken, images = _broken_images(page)
    assert not broken, f"{len(broken)} of {len(images)} images did not load: {broken}"
    _assert_quiet(page)


def test_untrusted_content_is_inert(page: BrowserPage, report: Report) -> None:
    _open(page, report)
    # Give any handler that slipped through a chance to fire: hover over what could carry one.
    for element in page.page.locator("p, b, img, a, td, h4").all()[:300]:
        if element.is_visible():
            element.hover(force=True, timeout=2_000)
    page.page.wait_for_timeout(200)
    assert not page.dialogs, f"a payload ran and opened dialogs: {page.dialogs}"
    scripts = page.page.evaluate("() => document.querySelectorAll('script').length")
    assert scripts == 0, f"the report's DOM holds {scripts} <script> element(s)"
    active = page.page.evaluate(
        """() => {
            const found = [];
            for (const el of document.querySelectorAll('*')) {
                for (const attr of el.attributes) {
                    const value = attr.value.replace(/[\\s\\u0000-\\u001f]+/g, '').toLowerCase();
                    if (attr.name.toLowerCase().startsWith('on')
                        || value.startsWith('javascript:')
                        || value.startsWith('vbscript:')
                        || (value.startsWith('data:') && !value.startsWith('data:image/'))) {
                        const shown = attr.value.slice(0, 80);
                        found.push(`<${el.tagName.toLowerCase()} ${attr.name}="${shown}">`);
                    }
                }
            }
            return found;
        }"""
    )
    assert not active, f"active attributes survived sanitising: {active}"
    links = page.page.evaluate(
        "() => Array.from(document.links).filter((a) => a.protocol === 'javascript:').length"
    )
    assert not links, f"{links} javascript: link(s) in the report"
    for tag in ("iframe", "object", "embed", "form", "base", "meta[http-equiv=refresh]"):
        assert page.page.locator(tag).count() == 0, f"the report contains <{tag}>"
    # Hostile text reaches the reviewer as text: not dropped, not interpreted.
    body = page.page.locator("body").inner_text()
    for shown in (XSS_NAME, XSS_TAG, XSS_NOTE, "onerror=alert(10)"):
        assert shown in body, f"{shown!r} is not shown as text in the report"
    # The chosen run's hostile HTML output keeps its text and loses everything active.
    assert "Coefficients look sane." in body, "the chosen run's HTML output is not shown"
    _assert_quiet(page)


def test_self_contained_no_network_no_console_errors(page: BrowserPage, report: Report) -> None:
    _open(page, report)
    page.page.emulate_media(media="print")
    page.page.emulate_media(media="screen")
    page.page.wait_for_timeout(100)
    _assert_quiet(page)
    html = report.text()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//[^"'\s>]+""", html)
    assert not urls, f"the report's HTML references external URLs: {urls[:10]}"


# --- print and screenshot -----------------------------------------------------------------------


def test_print_media_still_renders(page: BrowserPage, report: Report, tmp_path: Path) -> None:
    _open(page, report)
    page.page.emulate_media(media="print")
    state = page.page.evaluate(
        """() => ({
            print: matchMedia('print').matches,
            height: document.body.getBoundingClientRect().height,
            text: document.body.innerText.length,
            images: Array.from(document.images).filter((img) => img.naturalWidth > 0
                && img.getBoundingClientRect().width > 0).length,
        })"""
    )
    assert state["print"], "emulate_media(print) did not take effect"
    assert state["height"] > 0, f"the body collapses in print media: {state}"
    assert state["text"] > 200, f"almost no text is left in print media: {state}"
    assert state["images"] >= 1, f"no chart or figure is shown in print media: {state}"
    assert page.page.get_by_text(DECISION_TEXT).first.is_visible(), (
        "the decision is hidden in print media"
    )
    pdf = page.page.pdf(path=str(tmp_path / "report.pdf"), format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000, f"printing gave {len(pdf)} bytes"
    _assert_quiet(page)


def test_full_page_screenshot(page: BrowserPage, reports: Reports) -> None:
    """The README's picture: the clean report, which must render as well as the hostile one."""
    _open(page, reports.clean)
    broken, images = _broken_images(page)
    assert not broken, f"{len(broken)} of {len(images)} images did not load: {broken}"
    assert page.page.get_by_text(DECISION_TEXT).first.is_visible()
    assert "alert(" not in page.page.locator("body").inner_text(), "hostile text in the clean one"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(SCREENSHOT), full_page=True)
    data = SCREENSHOT.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000, (
        f"the screenshot at {SCREENSHOT} looks empty ({len(data)} bytes)"
    )
    _assert_quiet(page)
