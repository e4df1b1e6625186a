"""Capture the environment a run executed in: interpreter, package versions, git state.

Everything here is called from a background thread of a live Jupyter kernel, so
it is cached (repeated captures must be cheap) and failures degrade to missing
data rather than exceptions.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from nbmodelbook.redaction import redact_url

__all__ = [
    "capture_environment",
    "clear_cache",
    "git_state",
    "imported_top_level",
    "package_versions",
    "python_info",
]

GIT_TIMEOUT = 2.0
"""Seconds before a git subprocess is killed; a slow repo must not stall capture."""

DEFAULT_GIT_TTL = 10.0
"""Seconds a git_state result is reused; the user keeps editing, so keep it short."""

# "builtins" is in stdlib_module_names already; listed for clarity.
_EXCLUDED = frozenset({"__main__", "builtins"})

# Variables that would make git ignore `cwd` and inspect some other repository.
_GIT_REPO_OVERRIDES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")

# Per-import-name version results. A plain dict: item get/set is atomic under the
# GIL, and a duplicated lookup from a race is harmless.
_version_cache: dict[str, str | None] = {}

# Resolved directory -> (monotonic time stored, result).
_git_cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
_git_lock = threading.Lock()


@lru_cache(maxsize=1)
def _python_info() -> dict[str, str]:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "system": platform.system(),
        "release": platform.release(),
    }


def python_info() -> dict[str, str]:
    """Interpreter and OS description; computed once per process."""
    # Copy so a caller mutating its record cannot corrupt the cached value.
    return dict(_python_info())


def imported_top_level(modules: Iterable[str]) -> list[str]:
    """Sorted third-party top-level package names among ``modules`` (e.g. ``sys.modules``)."""
    names: list[Any] = []
    # Another thread may import while we copy sys.modules; retry rather than fail.
    for _ in range(3):
        try:
            names = list(modules)
            break
        except RuntimeError:
            continue
    top: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            continue
        head = name.partition(".")[0]
        if (
            not head.isidentifier()
            or head.startswith("_")
            or head in _EXCLUDED
            or head in sys.stdlib_module_names
        ):
            continue
        top.add(head)
    return sorted(top)


@lru_cache(maxsize=1)
def _distributions() -> Mapping[str, list[str]]:
    # Scans every installed distribution (~0.1-0.3 s), hence computed once. Packages
    # installed later in the session fall back to ``__version__``.
    try:
        return metadata.packages_distributions()
    except Exception:
        return {}


def _canonical(dist: str) -> str:
    return dist.lower().replace("_", "-").replace(".", "-")


def _lookup_version(name: str) -> str | None:
    dists: list[str] = []
    seen: set[str] = set()
    for dist in _distributions().get(name, ()):
        # The same distribution can be listed twice (e.g. user site + venv).
        if _canonical(dist) not in seen:
            seen.add(_canonical(dist))
            dists.append(dist)
    found: list[tuple[str, str]] = []
    for dist in dists:
        try:
            found.append((dist, metadata.version(dist)))
        except Exception:  # stale or broken metadata
            continue
    if len(found) == 1:
        return found[0][1]
    if found:
        # Namespace packages (e.g. ``google``) are shipped by several distributions.
        return ", ".join(f"{d}=={v}" for d, v in sorted(found))
    module = sys.modules.get(name)
    version = getattr(module, "__version__", None)
    if isinstance(version, str) and version:
        return version
    return None


def package_versions(top_level: Iterable[str]) -> dict[str, str]:
    """Map import names to installed versions; names without a known version are skipped.

    The value is the distribution's version (``sklearn`` -> scikit-learn's), the
    module's ``__version__`` when no distribution provides the name, or
    ``"dist-a==1.0, dist-b==2.0"`` when several distributions provide it. Results
    are cached per name, so later calls cost a dict lookup.
    """
    result: dict[str, str] = {}
    for name in top_level:
        try:
            if name in _version_cache:
                version = _version_cache[name]
            else:
                version = _lookup_version(name)
                # A miss for a module not imported yet may become a hit later; don't pin it.
                if version is not None or name in sys.modules:
                    _version_cache[name] = version
        except Exception:
            continue
        if version is not None:
            result[name] = version
    return result


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


def clear_cache() -> None:
    """Forget all cached results (git state, package versions, distribution map, python info)."""
    with _git_lock:
        _git_cache.clear()
    _version_cache.clear()
    _distributions.cache_clear()
    _python_info.cache_clear()


def _short_error(section: str, exc: BaseException) -> str:
    return f"{section}: {type(exc).__name__}: {exc}"[:200]


def capture_environment(modules: Iterable[str], notebook_dir: str | Path | None) -> dict[str, Any]:
    """Environment record for a run; never raises, failures are listed under ``"errors"``."""
    env: dict[str, Any] = {"python": {}, "packages": {}, "git": None}
    errors: list[str] = []
    try:
        env["python"] = python_info()
    except Exception as exc:
        errors.append(_short_error("python", exc))
    try:
        env["packages"] = package_versions(imported_top_level(modules))
    except Exception as exc:
        errors.append(_short_error("packages", exc))
    if notebook_dir is not None:
        try:
            env["git"] = git_state(notebook_dir)
        except Exception as exc:
            errors.append(_short_error("git", exc))
    if errors:
        env["errors"] = errors
    return env
