"""Reading notebook files, with errors that say what is wrong instead of a traceback."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from nbmodelbook.errors import NotebookUnreadable


def read_notebook(path: Path) -> Any:
    """The notebook as nbformat v4 (older versions upgraded), validated leniently."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookUnreadable(f"no such notebook: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookUnreadable(f"cannot read {path}: {exc}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookUnreadable(
            f"{path} is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise NotebookUnreadable(f"{path} is JSON but not a Jupyter notebook (no 'nbformat')")
    try:
        with warnings.catch_warnings():
            # Missing or duplicate cell ids are repaired in memory; not the user's concern here.
            warnings.simplefilter("ignore")
            return nbformat.reads(text, as_version=4)
    except Exception as exc:
        raise NotebookUnreadable(f"{path} could not be read as a notebook: {exc}") from None
