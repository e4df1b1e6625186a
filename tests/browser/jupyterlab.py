"""A real JupyterLab server, and a Lab page in headless Chromium with the network closed.

`running_lab_server` starts `jupyter lab` from this interpreter on a free local port with a random
token and throwaway config, data, runtime, IPython and root directories, so no run sees another
run's settings or layout. The Python environment's own `share/jupyter` stays on the data path, so
the prebuilt ipywidgets and anywidget lab extensions load as they would for a user. User settings
turn off everything that would pop up or reach the network by itself (news, update checks, the
extension manager, the kernel picker), and the server never fetches news or update information.

Kernels run this interpreter through a `python3` kernelspec written into the throwaway data dir
(`JUPYTER_PREFER_ENV_PATH=0` puts that user-level dir ahead of the environment's own kernelspec).
`LabServer.set_kernel_env` rewrites that kernelspec's `env`, so a test can hand the next kernel it
starts variables such as `NBMODELBOOK_STORE` without restarting the server.

`open_lab_session` opens a fresh browser context on the server where every request not aimed at
the server (or a `data:`/`blob:` URL) is aborted and recorded, and returns a `LabSession` whose
helpers wait on Lab's own state through `window.jupyterapp` rather than on sleeps.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Dialog,
        Locator,
        Page,
        Route,
        ViewportSize,
        WebSocketRoute,
    )

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"
DOCS_IMAGES = REPO / "docs" / "images"
UPDATE_DOCS_IMAGES = os.environ.get("NBMODELBOOK_UPDATE_DOCS_IMAGES") == "1"

LAB_READY_TIMEOUT_S = 90.0
NOTEBOOK_READY_TIMEOUT_S = 120.0
RUN_TIMEOUT_S = 180.0
SHUTDOWN_GRACE_S = 15.0
LAB_VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
LAB_DEFAULT_TIMEOUT_MS = 30_000
LOCAL_SCHEMES = ("data:", "blob:")
SCREENSHOT_MAX_HEIGHT = 4000
KERNEL_NAME = "python3"

USER_SETTINGS: dict[str, dict[str, Any]] = {
    # The news opt-in toast and the update check both ask a remote host.
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # The extension manager queries PyPI and shows a disclaimer.
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
    # No kernel picker dialog; every cell attached to the DOM so locators see all outputs.
    "@jupyterlab/notebook-extension/tracker": {
        "autoStartDefaultKernel": True,
        "windowingMode": "none",
    },
    # Autosave would race files a test rewrites and raise "file changed on disk" dialogs.
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}

SERVER_CONFIG: dict[str, Any] = {
    "LabApp": {
        "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
    },
}

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class LabError(AssertionError):
    """JupyterLab did not reach the state a test waited for."""


def screenshot_paths(name: str, docs_name: str | None = None) -> list[Path]:
    """build/screenshots/NAME, and the README's copy (docs/images/DOCS_NAME, else NAME) when
    NBMODELBOOK_UPDATE_DOCS_IMAGES=1, so ordinary test runs do not change tracked files."""
    paths = [SCREENSHOTS / name]
    if UPDATE_DOCS_IMAGES:
        paths.append(DOCS_IMAGES / (docs_name or name))
    return paths


def server_arguments(port: int, token: str, root: Path) -> list[str]:
    """Jupyter server options: 127.0.0.1:PORT only, token login, serving ROOT, root allowed."""
    return [
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def _write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1), encoding="utf-8")


def _native_kernel_dict() -> dict[str, Any]:
    """ipykernel's own spec for this interpreter (argv starts with `sys.executable`)."""
    try:
        from ipykernel.kernelspec import get_kernel_dict
    except ImportError:
        return {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "kernel_protocol_version": "5.5",
        }
    spec: dict[str, Any] = get_kernel_dict()
    return spec


def _write_kernelspec(data_dir: Path, env: Mapping[str, str]) -> None:
    """The `python3` kernelspec in the throwaway data dir: this interpreter, plus `env`."""
    spec = {**_native_kernel_dict(), "env": dict(env)}
    _write_json(data_dir / "kernels" / KERNEL_NAME / "kernel.json", spec)


@dataclass
class LabServer:
    """A running `jupyter lab`, its directories and a token-authenticated REST client."""

    process: subprocess.Popen[bytes]
    port: int
    token: str
    base_dir: Path
    root_dir: Path
    config_dir: Path
    data_dir: Path
    runtime_dir: Path
    log_path: Path
    env: dict[str, str]
    base_kernel_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lab_url(self, path: str = "lab", **query: str) -> str:
        """A Lab URL carrying the token, so a fresh browser context is logged in."""
        params = "&".join(f"{key}={quote(value)}" for key, value in query.items())
        suffix = f"&{params}" if params else ""
        return f"{self.url}/{path.lstrip('/')}?token={self.token}{suffix}"

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        """Call the server's REST API; returns the decoded JSON body (None when empty)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def set_kernel_env(self, env: Mapping[str, str] | None = None) -> None:
        """Variables every kernel started from now on gets, on top of the server's environment.

        Kernelspecs are read from disk at each kernel start, so this takes effect without a
        server restart; kernels already running keep what they had.
        """
        _write_kernelspec(self.data_dir, {**self.base_kernel_env, **(env or {})})

    def shutdown_kernels(self) -> None:
        """End every session and kernel, so the next test starts from an idle server."""
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            for session in self.api("GET", "api/sessions") or []:
                with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                    self.api("DELETE", f"api/sessions/{session['id']}", timeout=30)
            for kernel in self.api("GET", "api/kernels") or []:
                with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                    self.api("DELETE", f"api/kernels/{kernel['id']}", timeout=30)

    def write_notebook(self, relative_path: str, notebook: Any, trusted: bool = False) -> Path:
        """Write an nbformat notebook (or a plain dict) under the Lab root.

        Lab shows saved outputs of an untrusted notebook only partly (no SVG, no scripts);
        `trusted` signs it with this server's key, as `jupyter trust` would.
        """
        import nbformat
        from nbformat.sign import NotebookNotary

        target = self.root_dir / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        node = nbformat.from_dict(notebook)
        if trusted:
            NotebookNotary(data_dir=str(self.data_dir)).sign(node)
        nbformat.write(node, str(target))
        return target

    def stop(self) -> None:
        """Terminate the server (it shuts its kernels down), then kill whatever is left."""
        stop_server_process(self.process)


def stop_server_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a Jupyter server then shuts its kernels down), SIGKILL if it lingers, and
    SIGKILL to whatever is left of its process group (started with start_new_session)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=SHUTDOWN_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(timeout=SHUTDOWN_GRACE_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _wait_until_up(server: LabServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise LabError(
                f"jupyter lab exited with code {server.process.returncode} before answering "
                f"/api/status.\n--- server log (tail) ---\n{server.log_tail()}"
            )
        try:
            status = server.api("GET", "api/status", timeout=5)
        except (OSError, urllib.error.URLError, ValueError) as error:
            last_error = str(error)
        else:
            if isinstance(status, dict) and "started" in status:
                return
            last_error = f"unexpected /api/status body: {status!r}"
        time.sleep(0.25)
    raise LabError(
        f"jupyter lab did not answer {server.url}/api/status within {timeout:.0f} s "
        f"(last error: {last_error}).\n--- server log (tail) ---\n{server.log_tail()}"
    )


@contextlib.contextmanager
def running_lab_server(
    base_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    kernel_env: Mapping[str, str] | None = None,
    ready_timeout: float = LAB_READY_TIMEOUT_S,
) -> Iterator[LabServer]:
    """Start `jupyter lab` in fresh directories under `base_dir`; stop it on exit.

    `extra_env` goes to the server process and so to every kernel; `kernel_env` only to kernels
    (and can be changed later with `LabServer.set_kernel_env`).
    """
    base_dir = base_dir.resolve()
    dirs = {name: base_dir / name for name in ("root", "config", "data", "runtime", "ipython")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    config_dir = dirs["config"]
    for plugin, values in USER_SETTINGS.items():
        _write_json(config_dir / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings", values)
    _write_json(config_dir / "jupyter_server_config.json", SERVER_CONFIG)

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"JUPYTER_TOKEN", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"}
    }
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTER_DATA_DIR": str(dirs["data"]),
            "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
            "IPYTHONDIR": str(dirs["ipython"]),
            "JUPYTERLAB_SETTINGS_DIR": str(config_dir / "lab" / "user-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(config_dir / "lab" / "workspaces"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "JUPYTER_PREFER_ENV_PATH": "0",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env or {})

    base_kernel_env = dict(kernel_env or {})
    _write_kernelspec(dirs["data"], base_kernel_env)

    port = free_port()
    token = secrets.token_hex(24)
    log_path = base_dir / "jupyter-lab.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        *server_arguments(port, token, dirs["root"]),
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=dirs["root"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LabServer(
        process=process,
        port=port,
        token=token,
        base_dir=base_dir,
        root_dir=dirs["root"],
        config_dir=config_dir,
        data_dir=dirs["data"],
        runtime_dir=dirs["runtime"],
        log_path=log_path,
        env=env,
        base_kernel_env=base_kernel_env,
    )
    try:
        _wait_until_up(server, ready_timeout)
        yield server
    finally:
        server.stop()


def lab_extensions(env: Mapping[str, str]) -> str:
    """What `jupyter labextension list` reports under `env` (to check discovery)."""
    result = subprocess.run(
        [sys.executable, "-m", "jupyterlab.labextensions", "list"],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return strip_ansi(result.stdout + result.stderr)


_NOTEBOOK_READY_JS = """
(path) => {
  const app = window.jupyterapp;
  if (!app) return false;
  const widget = app.shell.currentWidget;
  if (!widget || !widget.context || widget.context.path !== path) return false;
  if (!widget.context.isReady || !widget.isVisible || !widget.content) return false;
  const kernel = widget.sessionContext && widget.sessionContext.session
    && widget.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}
"""

_OPEN_DOCUMENT_JS = """
async (path) => {
  await window.jupyterapp.commands.execute('docmanager:open', { path, factory: 'Notebook' });
  return true;
}
"""

_RUN_COMMAND_JS = """
async ([command, timeoutMs]) => {
  const app = window.jupyterapp;
  const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), timeoutMs));
  const run = app.commands.execute(command).then(
    (ok) => (ok === false ? 'failed' : 'ok'),
    (error) => 'exception: ' + error,
  );
  return await Promise.race([run, timer]);
}
"""

_APPEND_CELL_JS = """
([code]) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  const notebook = panel.content;
  const model = notebook.model;
  const index = model.cells.length;
  model.sharedModel.insertCell(index, { cell_type: 'code', source: code });
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  return index;
}
"""

_CELLS_SETTLED_JS = """
() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!widget || !widget.content || !widget.content.model) return false;
  const kernel = widget.sessionContext && widget.sessionContext.session
    && widget.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const cells = widget.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type === 'code' && cell.executionState === 'running') return false;
  }
  const prompts = widget.content.node.querySelectorAll('.jp-InputArea-prompt');
  return !Array.from(prompts).some((prompt) => prompt.textContent.includes('[*]'));
}
"""

_CELL_OUTPUTS_JS = """
(index) => {
  const widget = window.jupyterapp.shell.currentWidget;
  const cell = widget.content.model.cells.get(index);
  if (!cell || cell.type !== 'code') return null;
  const outputs = [];
  for (let j = 0; j < cell.outputs.length; j++) outputs.push(cell.outputs.get(j).toJSON());
  return { execution_count: cell.executionCount, outputs };
}
"""

_ERROR_OUTPUTS_JS = """
() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!widget || !widget.content || !widget.content.model) return [];
  const found = [];
  const cells = widget.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    for (let j = 0; j < cell.outputs.length; j++) {
      const output = cell.outputs.get(j).toJSON();
      if (output.output_type === 'error') {
        const trace = (output.traceback || []).join('\\n');
        found.push(['error', `cell ${i}: ${output.ename}: ${output.evalue}\\n${trace}`]);
      } else if (output.output_type === 'stream' && output.name === 'stderr') {
        const text = Array.isArray(output.text) ? output.text.join('') : output.text;
        found.push(['stderr', `cell ${i} stderr: ${text}`]);
      }
    }
  }
  return found;
}
"""

_NOTEBOOK_OVERFLOW_JS = """
() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const outer = widget && widget.node.querySelector('.jp-WindowedPanel-outer');
  return outer ? Math.max(outer.scrollHeight - outer.clientHeight, 0) : 0;
}
"""

_SCROLL_TOP_JS = """
() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const outer = widget && widget.node.querySelector('.jp-WindowedPanel-outer');
  if (outer) outer.scrollTop = 0;
}
"""

_LAB_STATE_JS = """
() => {
  const app = window.jupyterapp;
  if (!app) return { app: 'window.jupyterapp missing' };
  const widget = app.shell.currentWidget;
  const session = widget && widget.sessionContext;
  const kernel = session && session.session && session.session.kernel;
  const running = [];
  const cells = widget && widget.content && widget.content.model
    ? widget.content.model.cells : null;
  for (let i = 0; cells && i < cells.length; i++) {
    if (cells.get(i).executionState === 'running') running.push(i);
  }
  return {
    current: widget ? widget.title.label : null,
    path: widget && widget.context ? widget.context.path : null,
    kernel: kernel ? `${kernel.name} ${kernel.status} ${kernel.connectionStatus}` : null,
    running_cells: running,
    dialogs: Array.from(document.querySelectorAll('.jp-Dialog')).map((n) => n.innerText.trim()),
  };
}
"""


@dataclass
class LabSession:
    """One browser page on a Lab server, plus everything it did that a test may assert on."""

    page: Page
    server: LabServer
    blocked_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str, str]] = field(default_factory=list)  # (type, text, where)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[tuple[str, str]] = field(default_factory=list)  # (type, message), dismissed
    workspace: str = field(default_factory=lambda: f"test-{secrets.token_hex(4)}")
    _loaded: bool = False

    @property
    def console_errors(self) -> list[str]:
        return [f"{text} (at {where})" for kind, text, where in self.console if kind == "error"]

    def is_local(self, url: str) -> bool:
        return is_local_url(self.server.url, url)

    def lab_state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = self.page.evaluate(_LAB_STATE_JS)
        except Exception as error:
            return {"error": str(error)}
        return state

    def error_outputs(self, include_stderr: bool = True) -> list[str]:
        """Error tracebacks (and stderr text) of the current notebook's cells, ANSI stripped."""
        try:
            found: list[list[str]] = self.page.evaluate(_ERROR_OUTPUTS_JS)
        except Exception as error:
            return [f"(could not read outputs: {error})"]
        return [strip_ansi(text) for kind, text in found if include_stderr or kind == "error"]

    def describe(self) -> str:
        """Everything recorded, for a failure message."""
        lines = [
            f"lab state: {self.lab_state()}",
            f"error outputs: {self.error_outputs() or 'none'}",
            f"blocked requests: {self.blocked_requests or 'none'}",
            f"dialogs: {self.dialogs or 'none'}",
            f"page errors: {self.page_errors or 'none'}",
            f"console errors: {self.console_errors or 'none'}",
            "--- server log (tail) ---",
            self.server.log_tail(30),
        ]
        return "\n".join(lines)

    def _wait_for(self, script: str, arg: Any, timeout_s: float, what: str) -> None:
        try:
            self.page.wait_for_function(script, arg=arg, timeout=timeout_s * 1000, polling=100)
        except Exception as error:
            raise LabError(
                f"{what} within {timeout_s:.0f} s ({type(error).__name__}).\n{self.describe()}"
            ) from None

    def open_notebook(self, relative_path: str, timeout: float = NOTEBOOK_READY_TIMEOUT_S) -> None:
        """Open a notebook under the Lab root and wait until its panel shows and kernel is idle.

        The first call loads Lab in a workspace of its own (nothing restored from other tests);
        later calls open the document in the already loaded app.
        """
        path = relative_path.replace(os.sep, "/").lstrip("/")
        if not self._loaded:
            url = self.server.lab_url(f"lab/workspaces/{self.workspace}/tree/{quote(path)}")
            self.page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
            self._loaded = True
        else:
            self.page.evaluate(_OPEN_DOCUMENT_JS, path)
        self._wait_for(
            _NOTEBOOK_READY_JS,
            path,
            timeout,
            f"notebook {path!r} was not shown with an idle kernel",
        )

    def _settle(self, started: float, timeout: float, what: str) -> None:
        remaining = max(timeout - (time.monotonic() - started), 5.0)
        self._wait_for(_CELLS_SETTLED_JS, None, remaining, what)

    def _check_run(self, status: str, what: str, allow_errors: bool) -> None:
        if status == "timeout":
            raise LabError(f"{what}: still running at the timeout.\n{self.describe()}")
        if status.startswith("exception") or (status == "failed" and not allow_errors):
            errors = "\n".join(self.error_outputs()) or "(no error output)"
            raise LabError(f"{what}: {status}.\n{errors}\n{self.describe()}")

    def run_all_cells(self, timeout: float = RUN_TIMEOUT_S, allow_errors: bool = False) -> None:
        """Run every cell of the current notebook and wait until all have finished.

        Raises `LabError` on timeout, or when a cell failed unless `allow_errors`.
        """
        started = time.monotonic()
        status = self.page.evaluate(
            _RUN_COMMAND_JS, ["notebook:run-all-cells", int(timeout * 1000)]
        )
        self._check_run(str(status), "running all cells", allow_errors)
        self._settle(started, timeout, "cells did not all finish")
        if not allow_errors:
            errors = self.error_outputs(include_stderr=False)
            if errors:
                raise LabError("a cell raised:\n" + "\n".join(errors))

    def append_and_run(
        self, code: str, timeout: float = RUN_TIMEOUT_S, allow_errors: bool = False
    ) -> list[dict[str, Any]]:
        """Append a code cell to the current notebook, run it, and return its outputs (nbformat)."""
        started = time.monotonic()
        index = int(self.page.evaluate(_APPEND_CELL_JS, [code]))
        status = self.page.evaluate(_RUN_COMMAND_JS, ["notebook:run-cell", int(timeout * 1000)])
        self._check_run(str(status), f"running appended cell {index}", allow_errors)
        self._settle(started, timeout, f"appended cell {index} did not finish")
        outputs = self.cell_outputs(index)
        if not allow_errors:
            failures = [o for o in outputs if o.get("output_type") == "error"]
            if failures:
                trace = strip_ansi("\n".join(failures[0].get("traceback", [])))
                raise LabError(f"appended cell {index} raised:\n{trace}")
        return outputs

    def save(self) -> None:
        """Save the current notebook (autosave is off in the test settings)."""
        self.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")

    def notebook(self) -> Locator:
        """The current notebook panel."""
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first

    def cell(self, index: int) -> Locator:
        """The cell at `index` of the current notebook."""
        return self.notebook().locator(".jp-Notebook .jp-Cell").nth(index)

    def cell_outputs(self, index: int) -> list[dict[str, Any]]:
        """The outputs (nbformat dicts) of the code cell at `index` of the current notebook."""
        result = self.page.evaluate(_CELL_OUTPUTS_JS, index)
        return list(result["outputs"]) if result else []

    def cell_text(self, index: int) -> str:
        """The visible text of the outputs of the cell at `index`."""
        return self.cell(index).locator(".jp-Cell-outputArea").inner_text()

    def screenshot(
        self, path: Path | str, locator: Locator | None = None, full_notebook: bool = False
    ) -> Path:
        """Save a PNG of the page, of `locator`, or of the whole current notebook.

        Lab scrolls inside the notebook panel, so a full-page capture shows only the viewport;
        `full_notebook` grows the viewport to the notebook's height (up to a cap) for the shot.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if locator is not None:
            locator.screenshot(path=str(target))
            return target
        viewport = self.page.viewport_size
        if full_notebook and viewport is not None:
            hidden = int(self.page.evaluate(_NOTEBOOK_OVERFLOW_JS))
            height = min(viewport["height"] + hidden, SCREENSHOT_MAX_HEIGHT)
            self.page.set_viewport_size({"width": viewport["width"], "height": height})
            try:
                self.page.evaluate(_SCROLL_TOP_JS)
                self.page.wait_for_timeout(300)
                self.page.screenshot(path=str(target))
            finally:
                self.page.set_viewport_size(viewport)
        else:
            self.page.screenshot(path=str(target))
        return target


def is_local_url(origin: str, url: str) -> bool:
    """A URL of the Lab server at `origin` (http or websocket), or a local scheme."""
    ws_origin = origin.replace("http://", "ws://", 1)
    return (
        url.startswith(LOCAL_SCHEMES)
        or url in (origin, ws_origin)
        or url.startswith((f"{origin}/", f"{ws_origin}/"))
    )


def closed_page(
    browser: Browser,
    *,
    viewport: ViewportSize,
    timeout_ms: float,
    allowed: Callable[[str], bool],
    blocked: list[str],
    requests: list[str],
    console: list[tuple[str, str, str]],
    page_errors: list[str],
    dialogs: list[tuple[str, str]],
) -> tuple[BrowserContext, Page]:
    """A fresh context and page whose network reaches only `allowed` URLs (others are aborted
    and listed in `blocked`); requests, console messages, page errors and dialogs (dismissed)
    are recorded into the given lists."""
    context = browser.new_context(
        viewport=viewport,
        service_workers="block",
        accept_downloads=False,
        locale="en-US",
        timezone_id="UTC",
    )
    context.set_default_timeout(timeout_ms)
    page = context.new_page()

    def route(route: Route) -> None:
        url = route.request.url
        if allowed(url):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    def on_console(message: ConsoleMessage) -> None:
        location = message.location or {}
        where = f"{location.get('url', '?')}:{location.get('lineNumber', '?')}"
        console.append((message.type, message.text, where))

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append((dialog.type, dialog.message))
        with contextlib.suppress(Exception):  # the page may already be gone
            dialog.dismiss()

    context.route("**/*", route)
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", on_console)
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.on("dialog", on_dialog)
    return context, page


@contextlib.contextmanager
def open_lab_session(
    browser: Browser,
    server: LabServer,
    viewport: ViewportSize | None = None,
) -> Iterator[LabSession]:
    """A fresh browser context on `server` with the network closed; closed (kernels too) on exit."""
    requests: list[str] = []
    console: list[tuple[str, str, str]] = []
    page_errors: list[str] = []
    dialogs: list[tuple[str, str]] = []
    blocked: list[str] = []
    context, page = closed_page(
        browser,
        viewport=viewport or LAB_VIEWPORT,
        timeout_ms=LAB_DEFAULT_TIMEOUT_MS,
        allowed=lambda url: is_local_url(server.url, url),
        blocked=blocked,
        requests=requests,
        console=console,
        page_errors=page_errors,
        dialogs=dialogs,
    )
    session = LabSession(
        page=page,
        server=server,
        blocked_requests=blocked,
        requests=requests,
        console=console,
        page_errors=page_errors,
        dialogs=dialogs,
    )

    def route_socket(socket_route: WebSocketRoute) -> None:
        session.blocked_requests.append(socket_route.url)
        socket_route.close(code=1008, reason="network closed in tests")

    context.route_web_socket(lambda url: not session.is_local(url), route_socket)
    try:
        yield session
    finally:
        with contextlib.suppress(Exception):
            context.close()
        server.shutdown_kernels()
        server.set_kernel_env()


def lab_available() -> str | None:
    """Why a Lab server cannot start here, or None when it can."""
    try:
        import jupyterlab  # noqa: F401
    except ImportError as error:
        return f"jupyterlab is not installed ({error})"
    return None
