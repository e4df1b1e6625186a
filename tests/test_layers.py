"""The one-way layers of the package (pyproject's [tool.importlinter] contracts) hold."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=package_parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_package_keeps_its_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def copy_of_package(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "nbmodelbook",
        tmp_path / "nbmodelbook",
        ignore=shutil.ignore_patterns("__pycache__", "labextension", "templates"),
    )
    return tmp_path


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    parent = copy_of_package(tmp_path)
    codec = parent / "nbmodelbook" / "store" / "codec.py"
    codec.write_text(codec.read_text() + "\nimport nbmodelbook.capture.tracker  # noqa\n")
    result = lint_imports(parent)
    assert result.returncode != 0
    assert "One-way layers BROKEN" in result.stdout
    assert "nbmodelbook.store.codec -> nbmodelbook.capture.tracker" in result.stdout


def test_a_reader_reaching_into_capture_is_refused(tmp_path: Path) -> None:
    parent = copy_of_package(tmp_path)
    build = parent / "nbmodelbook" / "report" / "build.py"
    build.write_text(build.read_text() + "\nfrom nbmodelbook.capture import models  # noqa\n")
    result = lint_imports(parent)
    assert result.returncode != 0
    assert "never through capture BROKEN" in result.stdout
