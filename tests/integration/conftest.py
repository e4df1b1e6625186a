"""Execute real notebooks in a real kernel (nbclient) against a throwaway store."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from nbmodelbook.run_marker import RUN_MIMETYPE
from nbmodelbook.store.store import RunStore

KERNEL_TIMEOUT = 120


@dataclass
class Executed:
    notebook: nbformat.NotebookNode
    path: Path
    store_path: Path

    def store(self) -> RunStore:
        return RunStore.open(str(self.store_path))

    def code_cells(self) -> list[Any]:
        return [cell for cell in self.notebook.cells if cell.cell_type == "code"]

    def run_ids(self) -> list[str]:
        """The run ids left in the cells' outputs by the run markers, in cell order."""
        found = []
        for cell in self.code_cells():
            for output in cell.get("outputs", []):
                marker = output.get("data", {}).get(RUN_MIMETYPE)
                if marker:
                    found.append(marker["run_id"])
        return found

    def stderr(self) -> str:
        return "".join(
            output.get("text", "")
            for cell in self.code_cells()
            for output in cell.get("outputs", [])
            if output.get("output_type") == "stream" and output.get("name") == "stderr"
        )


def make_notebook(*sources: str | tuple[str, list[str]]) -> nbformat.NotebookNode:
    cells = []
    for source in sources:
        if isinstance(source, tuple):
            text, tags = source
            cells.append(new_code_cell(text, metadata={"tags": tags}))
        else:
            cells.append(new_code_cell(source))
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


Runner = Callable[..., Executed]


def kernel_env(store: Path, notebook: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a test kernel: a throwaway store, the notebook it runs, inline plots."""
    env = dict(os.environ)
    env.update(
        {
            "NBMODELBOOK_STORE": str(store),
            "NBMODELBOOK_NOTEBOOK": str(notebook),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        }
    )
    env.update(extra or {})
    return env


@pytest.fixture
def run_notebook(tmp_path: Path) -> Runner:
    """Execute cells (strings, or (source, tags)) in a fresh kernel in tmp_path; keep the store."""
    counter = {"n": 0}

    def run(
        *sources: str | tuple[str, list[str]],
        store_path: Path | None = None,
        allow_errors: bool = False,
        env: dict[str, str] | None = None,
        name: str | None = None,
    ) -> Executed:
        counter["n"] += 1
        notebook = make_notebook(*sources)
        path = tmp_path / (name or f"nb{counter['n']}.ipynb")
        nbformat.write(notebook, path)
        store = store_path or tmp_path / "store" / "runs.sqlite"
        client = NotebookClient(
            notebook,
            timeout=KERNEL_TIMEOUT,
            allow_errors=allow_errors,
            resources={"metadata": {"path": str(tmp_path)}},
        )
        try:
            client.execute(env=kernel_env(store, path, env))
        finally:
            nbformat.write(notebook, path)
        return Executed(notebook, path, store)

    return run


def visible_outputs(cell: Any) -> list[dict[str, Any]]:
    """A cell's outputs without nbmodelbook's invisible run marker."""
    kept = []
    for output in cell.get("outputs", []):
        if RUN_MIMETYPE in output.get("data", {}):
            continue
        kept.append(output)
    return kept
