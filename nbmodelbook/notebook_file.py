"""Reading and writing notebook files, with errors that say what is wrong instead of a traceback."""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

from nbmodelbook.errors import NotebookUnreadable, PathRejected


def read_notebook(path: Path) -> Any:
    """The notebook as nbformat v4 (older versions upgraded), validated leniently."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookUnreadable(f"no such notebook: {path}") from None
    except IsADirectoryError:
        raise NotebookUnreadable(f"{path} is a folder, not a notebook") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookUnreadable(f"cannot read {path}: {exc}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookUnreadable(
            f"{path} is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise _nested_too_deeply(path) from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise NotebookUnreadable(f"{path} is JSON but not a Jupyter notebook (no 'nbformat')")
    if _SURROGATE_ESCAPE.search(text):
        # JSON may spell half a character (`"\\ud800"`); no UTF-8 writer takes it, so a
        # report would fail on it. Read as U+FFFD, like any undecodable text.
        text = json.dumps(_whole_characters(raw), ensure_ascii=False)
    try:
        with warnings.catch_warnings():
            # Missing or duplicate cell ids are repaired in memory; not the user's concern here.
            warnings.simplefilter("ignore")
            return nbformat.reads(text, as_version=4)
    except RecursionError:
        raise _nested_too_deeply(path) from None
    except Exception as exc:
        raise NotebookUnreadable(f"{path} could not be read as a notebook: {exc}") from None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole_characters(node: Any) -> Any:
    if isinstance(node, str):
        return _LONE_SURROGATE.sub("\ufffd", node)
    if isinstance(node, dict):
        return {_whole_characters(key): _whole_characters(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_whole_characters(value) for value in node]
    return node


def _nested_too_deeply(path: Path) -> NotebookUnreadable:
    return NotebookUnreadable(
        f"{path} is nested too deeply to be a notebook (lists or objects inside one another "
        "hundreds of levels deep)"
    )


def write_notebook(notebook: Any, path: Path) -> Path:
    """Write a notebook atomically: a failed write (full disk, interrupted) leaves the file that
    was there whole. A file replaced keeps its permissions."""
    import nbformat

    text = nbformat.writes(notebook)
    if not text.endswith("\n"):
        text += "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def check_output_file(path: Path, *, example_name: str) -> None:
    """Refuse a path a command must not write: a folder, a symbolic link (writing would either
    replace the link or, through it, another file the user never named), a path under a file.

    `example_name` is a file name the message suggests for a folder (`model.review.html`).
    """
    if path.is_symlink():
        raise PathRejected(
            f"{path} is a symbolic link (to {os.readlink(path)}): nothing is written through a "
            "link; give the path of a file, or remove the link first"
        )
    if path.is_dir():
        raise PathRejected(
            f"{path} is a folder, not a file: name the file to write, e.g. {path / example_name}"
        )
    for parent in path.parents:
        if parent.is_dir():
            break
        if parent.exists() or parent.is_symlink():
            raise PathRejected(f"cannot write {path}: {parent} is a file, not a folder")
