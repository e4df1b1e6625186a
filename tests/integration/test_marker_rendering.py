"""The run marker shows nothing where it is not known: a tracked notebook executed in a real
kernel converts with nbconvert to the same HTML and Markdown output areas as the same notebook
without its markers (the markers the only difference between the two)."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import nbformat
import pytest
from bs4 import BeautifulSoup, Tag
from nbconvert import HTMLExporter, MarkdownExporter

from nbmodelbook.run_marker import RUN_MIMETYPE
from tests.integration.conftest import Executed, Runner

pytestmark = pytest.mark.integration

TRACKED_CELLS = [
    "%%track quiet\nvalue = 1",
    "%%track printed\nprint('a line')\nprint('another')",
    "%%track shown\nfrom IPython.display import HTML, display\n"
    "display(HTML('<b>bold</b>'))\n41 + 1",
    "%%track figure\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
    ("%%track failed\nraise ValueError('bad hyperparameter')", ["raises-exception"]),
]


@pytest.fixture
def tracked_notebook(run_notebook: Runner) -> Executed:
    return run_notebook("%load_ext nbmodelbook", *TRACKED_CELLS, name="tracked.ipynb")


def without_markers(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    twin = copy.deepcopy(notebook)
    for cell in twin.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if RUN_MIMETYPE not in o.get("data", {})]
    return twin


def convert(exporter: type[HTMLExporter | MarkdownExporter], notebook: Any) -> str:
    with warnings.catch_warnings():
        # nbconvert warns once per output whose only MIME type it does not know.
        warnings.simplefilter("ignore", UserWarning)
        body, _resources = exporter().from_notebook_node(notebook)
    return str(body)


def output_children(html: str) -> list[list[Tag]]:
    """Each code cell's output items (`jp-OutputArea-child`), in order."""
    soup = BeautifulSoup(html, "html.parser")
    return [
        cell.select("div.jp-OutputArea-child") for cell in soup.select("div.jp-Cell.jp-CodeCell")
    ]


def shows_nothing(child: Tag) -> bool:
    """An output item with no text and no element but its empty prompt: the prompt matches
    the template's `.jp-OutputArea-prompt:empty` rule (no padding, no border), so the item
    takes no room."""
    elements = child.find_all(True)
    return (
        child.get_text(strip=True) == ""
        and len(elements) == 1
        and "jp-OutputArea-prompt" in (elements[0].get("class") or [])
        and not elements[0].contents
    )


def test_markers_carry_only_their_own_mime_type(tracked_notebook: Executed) -> None:
    markers = [
        output
        for cell in tracked_notebook.code_cells()
        for output in cell.outputs
        if RUN_MIMETYPE in output.get("data", {})
    ]
    assert len(markers) == len(TRACKED_CELLS)
    for marker in markers:
        assert marker.output_type == "display_data"
        assert set(marker.data) == {RUN_MIMETYPE}  # no text/plain: no empty block on GitHub
        assert marker.metadata == {RUN_MIMETYPE: {"run_id": marker.data[RUN_MIMETYPE]["run_id"]}}
    # Readers still find every run from the saved notebook.
    assert len(set(tracked_notebook.run_ids())) == len(TRACKED_CELLS)


def test_html_output_areas_are_those_of_the_notebook_without_markers(
    tracked_notebook: Executed,
) -> None:
    plain = output_children(convert(HTMLExporter, without_markers(tracked_notebook.notebook)))
    tracked = output_children(convert(HTMLExporter, tracked_notebook.notebook))
    assert len(tracked) == len(plain) == 1 + len(TRACKED_CELLS)
    for plain_cell, tracked_cell in zip(plain[1:], tracked[1:], strict=True):
        shown = [child for child in tracked_cell if not shows_nothing(child)]
        assert [str(child) for child in shown] == [str(child) for child in plain_cell]
        assert len(tracked_cell) == len(plain_cell) + 1  # the marker's item, empty
        assert not any(shows_nothing(child) for child in plain_cell)
    # The cells' own outputs are all there: text, HTML, the figure, the traceback.
    text = "".join(child.get_text() for cell in tracked for child in cell)
    assert "a line" in text and "another" in text and "bold" in text and "42" in text
    assert "ValueError" in text and "bad hyperparameter" in text
    assert any(child.find("img") for child in tracked[4])


def test_markdown_is_that_of_the_notebook_without_markers(tracked_notebook: Executed) -> None:
    plain = convert(MarkdownExporter, without_markers(tracked_notebook.notebook))
    tracked = convert(MarkdownExporter, tracked_notebook.notebook)
    # A marker adds blank lines at most, which Markdown renders as nothing.
    assert [line for line in tracked.splitlines() if line] == [
        line for line in plain.splitlines() if line
    ]
    assert "a line" in tracked and "ValueError" in tracked and "![png]" in tracked


def test_in_vs_code_the_marker_also_carries_an_empty_text(run_notebook: Runner) -> None:
    """VS Code shows a "no renderer" note for an output none of whose types it can render,
    and nothing for an empty text/plain."""
    executed = run_notebook(
        "%load_ext nbmodelbook",
        "__vsc_ipynb_file__ = __import__('os').environ['NBMODELBOOK_NOTEBOOK']",
        "%%track in-vs-code\nvalue = 1",
    )
    [marker] = executed.code_cells()[2].outputs
    assert marker.data.keys() == {RUN_MIMETYPE, "text/plain"}
    assert marker.data["text/plain"] == ""
    assert executed.run_ids() == [marker.data[RUN_MIMETYPE]["run_id"]]
