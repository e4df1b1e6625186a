from __future__ import annotations

import json
import os
from pathlib import Path

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nbmodelbook.links import link_cells, notebook_lookup, saved_links
from nbmodelbook.record import code_hash
from nbmodelbook.run_marker import RUN_MIMETYPE


def marked(source: str, *run_ids: str) -> object:
    cell = new_code_cell(source)
    cell.outputs = [
        new_output("display_data", data={RUN_MIMETYPE: {"run_id": rid}, "text/plain": ""})
        for rid in run_ids
    ]
    return cell


def test_marker_then_cell_id_then_code_hash() -> None:
    first = marked("%%track a\nx = 1", "r-marker")
    second = new_code_cell("%%track b\ny = 2")
    notebook = new_notebook(
        cells=[new_markdown_cell("# t"), first, new_code_cell("plain = 1"), second]
    )
    summaries = [
        {"run_id": "r-marker", "cell_id": "elsewhere", "code_hash": "zzz"},
        {"run_id": "r-id", "cell_id": second.id, "code_hash": "zzz"},
        {"run_id": "r-code", "cell_id": None, "code_hash": code_hash("%%track a\nx = 1")},
        {"run_id": "r-none", "cell_id": None, "code_hash": "nothing"},
    ]
    links = link_cells(notebook, summaries)
    assert [link.index for link in links] == [1, 3]
    assert links[0].run_ids == ["r-marker", "r-code"]
    assert links[0].how == {"r-marker": "marker", "r-code": "code"}
    assert links[1].run_ids == ["r-id"] and links[1].how["r-id"] == "cell_id"


def test_lookup_collects_markers_and_hashes() -> None:
    notebook = new_notebook(cells=[marked("%%track a\nx", "r1", "r2"), new_code_cell("no")])
    run_ids, hashes = notebook_lookup(notebook)
    assert run_ids == ["r1", "r2"] and hashes == [code_hash("%%track a\nx")]


def test_saved_links_are_read_again_when_the_notebook_changes(tmp_path: Path) -> None:

    def save(run_id: str, mtime: int) -> None:
        cell = {
            "cell_type": "code",
            "source": "%%track a\nx = 1",
            "outputs": [
                {"output_type": "display_data", "data": {RUN_MIMETYPE: {"run_id": run_id}}}
            ],
        }
        path.write_text(json.dumps({"cells": [cell], "nbformat": 4}), encoding="utf-8")
        os.utime(path, ns=(mtime, mtime))

    path = tmp_path / "model.ipynb"
    save("a" * 32, 1_000_000_000)
    assert saved_links(path)[0] == ("a" * 32,)
    save("b" * 32, 2_000_000_000)
    assert saved_links(path)[0] == ("b" * 32,)
    path.write_text("not json", encoding="utf-8")
    assert saved_links(path) == ((), ())
    assert saved_links(tmp_path / "missing.ipynb") == ((), ())
