"""The git repository a notebook lives in: its commit, branch, dirtiness and identity.

Shared by capture (a run's environment) and every reader that files runs under a notebook's
repository (the API, the links to a notebook, imports, the server). Results are cached for a
few seconds per folder, git is never allowed to block or take the user's index lock, and a
failure is a missing answer, never an exception.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from nbmodelbook.redaction import redact_url

__all__ = [
    "DEFAULT_GIT_TTL",
    "GIT_TIMEOUT",
    "clear_git_cache",
    "git_state",
    "repository",
    "repository_of",
]

GIT_TIMEOUT = 2.0
"""Seconds before a git subprocess is killed; a slow repo must not stall capture."""

DEFAULT_GIT_TTL = 10.0
"""Seconds a git_state result is reused; the user keeps editing, so keep it short."""

# Variables that would make git ignore `cwd` and inspect some other repository.
_GIT_REPO_OVERRIDES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")

# Resolved directory -> (monotonic time stored, result).
_git_cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
_git_lock = threading.Lock()


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_REPO_OVERRIDES}
    # Never take index.lock in the user's repo (status would otherwise refresh the
    # index), and never block on a credential prompt.
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def _git(cwd: str, *args: str) -> str | None:
    """Stdout of ``git args`` in ``cwd``; None on non-zero exit, timeout or missing git."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_git_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=GIT_TIMEOUT,
            # Without this, each call flashes a console window under Windows kernels.
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout


def _query_git(directory: str) -> dict[str, Any] | None:
    top = _git(directory, "rev-parse", "--show-toplevel")
    if top is None or not top.strip():
        return None  # not a repository, git missing, or git too slow
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None
    # One call yields commit, branch and dirtiness. Untracked files are ignored:
    # notebooks litter checkpoints and outputs, and skipping the scan is cheaper.
    status = _git(directory, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status is not None:
        dirty = False
        for line in status.splitlines():
            if line.startswith("# branch.oid "):
                oid = line[len("# branch.oid ") :].strip()
                commit = None if oid == "(initial)" else oid
            elif line.startswith("# branch.head "):
                head = line[len("# branch.head ") :].strip()
                branch = None if head == "(detached)" else head
            elif line and not line.startswith("#"):
                dirty = True
    else:
        # status failed, typically a timeout on a huge repo: keep the cheap facts and
        # report dirtiness as unknown rather than guessing.
        commit = (_git(directory, "rev-parse", "-q", "--verify", "HEAD") or "").strip() or None
        branch = (_git(directory, "symbolic-ref", "-q", "--short", "HEAD") or "").strip() or None
    remote = _git(directory, "config", "--get", "remote.origin.url")
    return {
        "root": str(Path(top.strip())),
        "commit": commit,
        "branch": branch,
        "dirty": dirty,
        "remote": redact_url(remote.strip()) if remote and remote.strip() else None,
    }


def git_state(path: str | Path, ttl: float = DEFAULT_GIT_TTL) -> dict[str, Any] | None:
    """Git facts for the repository containing directory ``path``, or None.

    Returns ``{"root", "commit", "branch", "dirty", "remote"}``. ``branch`` is None
    on a detached HEAD, ``commit`` None before the first commit, ``dirty`` (tracked
    files modified or staged; untracked files ignored) None if ``git status`` timed
    out, and ``remote`` is origin's URL without credentials. Results are reused for
    ``ttl`` seconds per directory.
    """
    try:
        p = Path(path).expanduser()
        if p.is_file():
            p = p.parent
        if not p.is_dir():
            return None
        key = str(p.resolve())
        now = time.monotonic()
        with _git_lock:
            cached = _git_cache.get(key)
        if cached is not None and now - cached[0] < ttl:
            result = cached[1]
        else:
            result = _query_git(key)
            with _git_lock:
                _git_cache[key] = (time.monotonic(), result)
        return dict(result) if result is not None else None
    except Exception:
        return None


def repository(git: dict[str, Any] | None) -> str | None:
    """The project a run belongs to: origin's URL, else the repository's folder."""
    if not git:
        return None
    found = git.get("remote") or git.get("root")
    return str(found) if found else None


def repository_of(path: str | Path) -> str | None:
    """The repository identity of a notebook's folder (cached like `git_state`)."""
    return repository(git_state(path))


def clear_git_cache() -> None:
    """Forget every cached git answer."""
    with _git_lock:
        _git_cache.clear()
