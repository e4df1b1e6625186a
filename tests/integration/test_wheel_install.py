"""The wheel a user installs carries the JupyterLab extension prebuilt: no Node needed.

The package's tracked files are built into a wheel as a packager would (build isolation; the
extension's JavaScript is built from labextension/ during the build), then installed with
JupyterLab into a fresh virtual environment whose PATH holds nothing but that environment, so
no Node can be found. There, `jupyter labextension list` and `jupyter server extension list` must
show nbmodelbook enabled and OK, and a Jupyter server started from it must answer nbmodelbook's
API.

Building (the extension's npm packages) and installing JupyterLab into a new environment take a
few minutes, mostly from pip's and the package registries' caches.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from nbmodelbook import __version__
from tests.browser.jupyterlab import free_port, server_arguments, strip_ansi

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
EXTENSION_FILES = ("package.json", "install.json", "static/style.js")


def run(command: list[str], env: dict[str, str], timeout: float = 600) -> str:
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = strip_ansi(result.stdout + result.stderr)
    assert result.returncode == 0, f"{' '.join(command)} failed ({result.returncode}):\n{output}"
    return output


def source_tree(target: Path) -> Path:
    """The project's tracked files, as a clean clone has them: no build output, no node_modules."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return target


def build_wheel(source: Path, out: Path) -> Path:
    """`pip wheel` as a packager runs it: build isolation, so the build brings its own JupyterLab
    (and jlpm) and builds the extension from labextension/; only Node comes from the machine."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out)]
    run([*command, str(source)], dict(os.environ), timeout=900)
    (wheel,) = out.glob("nbmodelbook-*.whl")
    return wheel


def isolated_env(venv: Path, home: Path) -> dict[str, str]:
    """Only the new environment on PATH, and Jupyter paths of its own."""
    keep = {key: os.environ[key] for key in ("LANG", "LC_ALL", "TMPDIR") if key in os.environ}
    # pip's cache and configuration (where packages come from) stay the user's.
    for key in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE"):
        if key in os.environ:
            keep[key] = os.environ[key]
    return {
        **keep,
        "PATH": str(venv / "bin"),
        "HOME": os.environ.get("HOME", str(home)),
        "VIRTUAL_ENV": str(venv),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }


def wait_for_api(url: str, token: str, process: subprocess.Popen[bytes], log: Path) -> dict:
    deadline = time.monotonic() + 90
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter server exited early:\n{log.read_text(errors='replace')}")
        request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return dict(json.loads(response.read()))
        except (OSError, urllib.error.URLError) as error:
            last = str(error)
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer ({last}):\n{log.read_text(errors='replace')[-3000:]}")


def test_wheel_installs_a_prebuilt_extension_that_needs_no_node(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("building from the project's tracked files needs git and a clone")
    wheel = build_wheel(source_tree(tmp_path / "source"), tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    data = f"nbmodelbook-{__version__}.data/data"
    for name in EXTENSION_FILES:
        assert f"{data}/share/jupyter/labextensions/nbmodelbook/{name}" in names, name
    assert f"{data}/etc/jupyter/jupyter_server_config.d/nbmodelbook.json" in names

    venv = tmp_path / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=120)
    env = isolated_env(venv, tmp_path / "home")
    assert shutil.which("node", path=env["PATH"]) is None
    assert shutil.which("jlpm", path=env["PATH"]) is None
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    run([*pip, str(wheel), "jupyterlab>=4.2,<5"], env, timeout=900)
    assert shutil.which("node", path=env["PATH"]) is None  # nothing brought Node along

    labextensions = run([str(venv / "bin" / "jupyter"), "labextension", "list"], env)
    assert re.search(r"nbmodelbook v\S+ enabled\s+OK", labextensions), labextensions
    assert str(venv / "share" / "jupyter" / "labextensions") in labextensions
    server_extensions = run([str(venv / "bin" / "jupyter"), "server", "extension", "list"], env)
    assert re.search(r"nbmodelbook enabled", server_extensions), server_extensions
    assert re.search(rf"nbmodelbook {re.escape(__version__)} OK", server_extensions)

    # A server started from the new environment serves the extension's API.
    port, token = free_port(), secrets.token_hex(16)
    root = tmp_path / "root"
    root.mkdir()
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(venv / "bin" / "jupyter"), "server", *server_arguments(port, token, root)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        info = wait_for_api(f"http://127.0.0.1:{port}/nbmodelbook/api/info", token, process, log)
        assert info["version"] == __version__
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/lab/api/extensions?token={token}", timeout=10
        ) as response:
            extensions = json.loads(response.read())
        found = {entry["name"]: entry for entry in extensions}
        assert found["nbmodelbook"]["enabled"] and found["nbmodelbook"]["installed"]
    finally:
        process.terminate()
        process.wait(timeout=30)
