"""Which notebook is this kernel running? Each frontend says it differently."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

NOTEBOOK_ENV_VAR = "NBMODELBOOK_NOTEBOOK"


def detect_notebook_path(
    user_ns: Mapping[str, object], environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> str | None:
    """The notebook's absolute path, or None when the frontend does not say (plain nbclient)."""
    env = os.environ if environ is None else environ
    candidates: list[object] = [
        env.get(NOTEBOOK_ENV_VAR),
        user_ns.get("__vsc_ipynb_file__"),  # VS Code
        user_ns.get("__session__"),  # ipykernel, from the Jupyter server's session
        env.get("JPY_SESSION_NAME"),  # Jupyter Server 2
    ]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            resolved = resolve_notebook_path(candidate.strip(), cwd)
            if resolved is not None:
                return resolved
    return None


def resolve_notebook_path(candidate: str, cwd: Path | None = None) -> str | None:
    """An absolute path for a session path that may be relative to the server root, not cwd."""
    base = cwd if cwd is not None else Path.cwd()
    if candidate.startswith(("http://", "https://", "untitled:")):
        return None
    path = Path(candidate).expanduser()
    if path.is_absolute():
        # Resolved like every other reader of the store (`runs(notebook=...)`, the Lab panel),
        # so a root reached through a symlink files runs under the one real path.
        return str(path.resolve())
    direct = base / path
    if direct.exists():
        return str(direct.resolve())
    # The server's session path is relative to its root; the kernel runs in the notebook's folder.
    sibling = base / path.name
    if sibling.exists():
        return str(sibling.resolve())
    return str(direct.resolve())
