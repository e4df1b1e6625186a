"""Execute a notebook headless (nbclient) so that its runs are filed under its own path.

nbclient and papermill do not tell the kernel which notebook it runs; this does, through the
environment, so `runs()`, the report and the CLI find the runs by notebook path.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from nbmodelbook.capture.notebook import NOTEBOOK_ENV_VAR


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    cells: int
    seconds: float
    error: str | None


def execute_notebook(
    source: Path,
    target: Path | None = None,
    *,
    timeout: int = 600,
    kernel_name: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> ExecutionSummary:
    """Run every cell of `source` in a fresh kernel started in the notebook's folder."""
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as exc:
        raise ImportError(
            "executing notebooks needs nbclient and ipykernel: pip install 'nbmodelbook[demo]'"
        ) from exc

    source = source.resolve()
    notebook = nbformat.read(source, as_version=4)
    env = dict(os.environ)
    env[NOTEBOOK_ENV_VAR] = str(source)
    env.update(extra_env or {})
    options: dict[str, object] = {"timeout": timeout, "resources": {"metadata": {"path": str(source.parent)}}}
    if kernel_name:
        options["kernel_name"] = kernel_name
    client = NotebookClient(notebook, **options)
    started = time.perf_counter()
    error: str | None = None
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    finally:
        output = (target or source).resolve()
        output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, output)
    code_cells = sum(1 for cell in notebook.cells if cell.cell_type == "code")
    return ExecutionSummary(code_cells, time.perf_counter() - started, error)
