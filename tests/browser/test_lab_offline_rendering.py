"""What a real JupyterLab renders with the network closed.

A notebook written into the Lab root is opened in headless Chromium and run for real. It shows an
ipywidgets box, an anywidget whose front end is an inline `_esm` string, and one mime bundle that
offers Vega-Lite v5, an SVG fallback and plain text, both as a plain output and inside an
`ipywidgets.Output`. Lab must render the widgets (and sync the anywidget both ways), draw the
chart with its own bundled Vega (not a CDN, not the fallback image), show Vega's tooltip on hover,
ask nothing of any other host and raise no page error. The kernel must be this interpreter and
carry the environment the test handed it.

The screenshot is saved to build/screenshots/lab-offline-smoke.png.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from nbformat.v4 import new_code_cell, new_notebook

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from tests.browser.jupyterlab import LabServer, LabSession

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "build" / "screenshots" / "lab-offline-smoke.png"
NOTEBOOK = "smoke/offline-rendering.ipynb"
RENDER_TIMEOUT_MS = 30_000
VEGALITE = "application/vnd.vegalite.v5+json"

ENVIRONMENT = """\
import os, sys
print("executable:", sys.executable)
print("store:", os.environ.get("NBMODELBOOK_STORE"))
"""

WIDGETS = """\
import ipywidgets
ipywidgets.VBox([ipywidgets.Button(description="Hello button"), ipywidgets.HTML("<b>hi</b>")])
"""

ANYWIDGET = '''\
import anywidget
import traitlets

class Smoke(anywidget.AnyWidget):
    _esm = """
    function render({ model, el }) {
      const span = document.createElement("span");
      span.className = "nbmb-smoke";
      const draw = () => { span.textContent = `value=${model.get("value")}`; };
      draw();
      model.on("change:value", draw);
      span.addEventListener("click", () => {
        model.set("value", model.get("value") + 1);
        model.save_changes();
      });
      el.appendChild(span);
    }
    export default { render };
    """
    value = traitlets.Int(41).tag(sync=True)

smoke = Smoke()
smoke
'''

BUNDLE = """\
from IPython.display import display

spec = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "description": "nbmodelbook offline smoke chart",
    "width": 360,
    "height": 200,
    "data": {"values": [
        {"model": "baseline", "auc": 0.71},
        {"model": "gbm", "auc": 0.83},
        {"model": "logit", "auc": 0.78},
    ]},
    "mark": "bar",
    "encoding": {
        "x": {"field": "model", "type": "nominal"},
        "y": {"field": "auc", "type": "quantitative"},
        "tooltip": [
            {"field": "model", "type": "nominal"},
            {"field": "auc", "type": "quantitative"},
        ],
    },
}
svg = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40">'
    '<rect id="nbmb-fallback" width="160" height="40" fill="#c33"/>'
    '<text x="8" y="26" fill="#fff">svg fallback</text></svg>'
)
bundle = {
    "application/vnd.vegalite.v5+json": spec,
    "image/svg+xml": svg,
    "text/plain": "<nbmodelbook smoke chart>",
}
display(bundle, raw=True)
"""

OUTPUT_WIDGET = """\
chart_box = ipywidgets.Output()
with chart_box:
    display(bundle, raw=True)
chart_box
"""

CELLS = [ENVIRONMENT, WIDGETS, ANYWIDGET, BUNDLE, OUTPUT_WIDGET]

# Lab marks each rendered output with its renderer's class; Vega draws into a canvas (or svg).
REPRESENTATION_JS = """
(root) => {
  const renderers = [
    ['.jp-RenderedVegaLite', 'application/vnd.vegalite.v5+json'],
    ['.jp-RenderedSVG', 'image/svg+xml'],
    ['.jp-RenderedText', 'text/plain'],
  ];
  for (const [selector, mimetype] of renderers) {
    const node = root.querySelector(selector);
    if (!node) continue;
    if (mimetype !== 'application/vnd.vegalite.v5+json') return mimetype;
    const drawn = node.querySelector('.vega-embed canvas.marks, .vega-embed svg.marks');
    return drawn ? `${mimetype} (vega-embed ${drawn.tagName.toLowerCase()})` : null;
  }
  return null;
}
"""
CHART = ".vega-embed canvas.marks, .vega-embed svg.marks"


def write_smoke_notebook(server: LabServer) -> None:
    notebook = new_notebook(cells=[new_code_cell(source) for source in CELLS])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    server.write_notebook(NOTEBOOK, notebook)


def chosen_representation(lab: LabSession, root: Locator) -> str:
    """Which of the bundle's representations Lab drew inside `root`, once it has drawn one."""
    try:
        handle = root.element_handle(timeout=RENDER_TIMEOUT_MS)
        lab.page.wait_for_function(REPRESENTATION_JS, arg=handle, timeout=RENDER_TIMEOUT_MS)
    except Exception as error:
        html = root.evaluate("(node) => node.innerHTML.slice(0, 2000)") if root.count() else ""
        raise AssertionError(
            f"no representation of the bundle was drawn ({type(error).__name__}): {html}\n"
            f"{lab.describe()}"
        ) from None
    return str(handle.evaluate(REPRESENTATION_JS))


def tooltip_on_hover(lab: LabSession, chart: Locator) -> str | None:
    """Sweep the pointer over the chart; the tooltip text Vega showed, or None."""
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box is not None, "the chart has no layout box"
    tooltip = lab.page.locator("#vg-tooltip-element.visible")
    for fraction_y in (0.75, 0.6, 0.85, 0.5):
        y = box["y"] + box["height"] * fraction_y
        x = box["x"] + 4
        while x < box["x"] + box["width"]:
            lab.page.mouse.move(x, y)
            if tooltip.count() and tooltip.first.is_visible():
                return tooltip.first.inner_text()
            x += 12
    return None


def test_lab_renders_widgets_and_vegalite_offline(lab_page: LabSession, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    store = tmp_path / "store"
    lab_page.server.set_kernel_env({"NBMODELBOOK_STORE": str(store)})
    write_smoke_notebook(lab_page.server)

    lab_page.open_notebook(NOTEBOOK)
    lab_page.run_all_cells()

    printed = lab_page.cell_text(0)
    assert f"executable: {sys.executable}" in printed, printed
    assert f"store: {store}" in printed, printed

    button = lab_page.page.get_by_role("button", name="Hello button")
    expect(button).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(lab_page.cell(1).locator(".widget-html b")).to_have_text("hi")

    span = lab_page.page.locator(".nbmb-smoke")
    expect(span).to_have_text("value=41", timeout=RENDER_TIMEOUT_MS)
    span.click()
    expect(span).to_have_text("value=42")
    outputs = lab_page.append_and_run("print(smoke.value)")
    assert [o.get("text") for o in outputs] == ["42\n"], outputs
    lab_page.append_and_run("smoke.value = 100")
    expect(span).to_have_text("value=100")

    plain_output = lab_page.cell(3).locator(".jp-Cell-outputArea")
    widget_output = lab_page.cell(4).locator(".widget-output").first
    plain = chosen_representation(lab_page, plain_output)
    in_widget = chosen_representation(lab_page, widget_output)
    plain_tooltip = tooltip_on_hover(lab_page, plain_output.locator(CHART).first)
    lab_page.page.mouse.move(0, 0)
    widget_tooltip = tooltip_on_hover(lab_page, widget_output.locator(CHART).first)
    print(
        f"\nplain output drew: {plain}; tooltip: {plain_tooltip!r}"
        f"\nOutput widget drew: {in_widget}; tooltip: {widget_tooltip!r}"
        f"\nconsole errors: {lab_page.console_errors or 'none'}"
    )

    lab_page.page.mouse.move(0, 0)
    lab_page.screenshot(SCREENSHOT, full_notebook=True)

    assert plain.startswith(f"{VEGALITE} (vega-embed"), f"Lab drew {plain}, not the chart"
    assert in_widget.startswith(f"{VEGALITE} (vega-embed"), f"the Output widget drew {in_widget}"
    for where, tooltip in (("output", plain_tooltip), ("Output widget", widget_tooltip)):
        assert tooltip and "auc" in tooltip and "model" in tooltip, (
            f"no Vega tooltip on hover over the chart in the {where} ({tooltip!r})"
        )
    assert not lab_page.blocked_requests, (
        f"the Lab page tried to reach the network: {lab_page.blocked_requests}"
    )
    assert not lab_page.page_errors, f"page errors: {lab_page.page_errors}\n{lab_page.describe()}"
