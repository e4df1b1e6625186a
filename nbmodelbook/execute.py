"""Execute a notebook headless (nbclient) so that its runs are filed under its own path.

nbclient and papermill do not tell the kernel which notebook it runs; this does, through the
environment, so `runs()`, the report and the CLI find the runs by notebook path.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbmodelbook.capture.notebook import NOTEBOOK_ENV_VAR
from nbmodelbook.errors import KernelNotFound
from nbmodelbook.notebook_file import read_notebook, write_notebook


class _CellIdSender:
    """Send each cell's id with its execute request, as JupyterLab does and nbclient does not,
    so runs recorded headless know their cell."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.cell_id: str | None = None
        self.patched: Any = None

    def __call__(self, cell: Any, cell_index: int) -> None:
        self.cell_id = cell.get("id")
        kc = self.client.kc
        if kc is None or self.patched is kc:
            return
        self.patched = kc
        send_plain = kc.execute
        sender = self

        def execute(
            code: str,
            silent: bool = False,
            store_history: bool = True,
            user_expressions: dict[str, Any] | None = None,
            allow_stdin: bool | None = None,
            stop_on_error: bool = True,
        ) -> str:
            if sender.cell_id is None:
                return str(
                    send_plain(
                        code, silent, store_history, user_expressions, allow_stdin, stop_on_error
                    )
                )
            content = {
                "code": code,
                "silent": silent,
                "store_history": store_history,
                "user_expressions": user_expressions or {},
                "allow_stdin": kc.allow_stdin if allow_stdin is None else allow_stdin,
                "stop_on_error": stop_on_error,
            }
            message = kc.session.msg(
                "execute_request", content, metadata={"cellId": sender.cell_id}
            )
            kc.shell_channel.send(message)
            return str(message["header"]["msg_id"])

        kc.execute = execute


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
        from jupyter_client.kernelspec import NoSuchKernel
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as exc:
        raise ImportError(
            "executing notebooks needs nbclient and ipykernel: pip install 'nbmodelbook[demo]'"
        ) from exc

    source = source.resolve()
    output = (target or source).resolve()  # a symlinked notebook: its file is written, in place
    notebook = read_notebook(source)
    env = dict(os.environ)
    env[NOTEBOOK_ENV_VAR] = str(source)
    env.update(extra_env or {})
    client = NotebookClient(
        notebook,
        timeout=timeout,
        resources={"metadata": {"path": str(source.parent)}},
    )
    if kernel_name:
        client.kernel_name = kernel_name
    # Local sockets rather than TCP: nothing leaves the machine, and the kernel stays quiet.
    client.km = client.create_kernel_manager()
    client.km.transport = "ipc"
    # An ipc "address" is a socket path: absolute, since the kernel starts in the notebook's
    # folder and this process may be elsewhere (a relative one never connects).
    client.km.ip = _socket_prefix()
    client.on_cell_execute = _CellIdSender(client)
    started = time.perf_counter()
    error: str | None = None
    ran = True
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    except NoSuchKernel as exc:
        ran = False
        name = exc.args[0] if exc.args else client.kernel_name
        raise KernelNotFound(
            f"no Jupyter kernel named '{name}' is installed (`jupyter kernelspec list` shows "
            "the installed ones); nothing was run or written"
        ) from None
    finally:
        if ran:  # what ran is kept, also when a cell failed or the run was interrupted
            write_notebook(notebook, output)
    code_cells = sum(1 for cell in notebook.cells if cell.cell_type == "code")
    return ExecutionSummary(code_cells, time.perf_counter() - started, error)


def _socket_prefix() -> str:
    """A fresh absolute path prefix for a kernel's local sockets, in Jupyter's runtime folder."""
    import uuid

    from jupyter_core.paths import jupyter_runtime_dir

    folder = Path(jupyter_runtime_dir())
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"nbmodelbook-{uuid.uuid4().hex[:12]}")
