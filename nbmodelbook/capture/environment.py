"""Capture the environment a run executed in: interpreter, package versions, git state.

Everything here is called from a background thread of a live Jupyter kernel, so
it is cached (repeated captures must be cheap) and failures degrade to missing
data rather than exceptions.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from nbmodelbook.repository import clear_git_cache, git_state, repository

__all__ = [
    "capture_environment",
    "clear_cache",
    "git_state",
    "imported_top_level",
    "package_versions",
    "python_info",
    "repository",
]

# "builtins" is in stdlib_module_names already; listed for clarity.
_EXCLUDED = frozenset({"__main__", "builtins"})

# Per-import-name version results. A plain dict: item get/set is atomic under the
# GIL, and a duplicated lookup from a race is harmless.
_version_cache: dict[str, str | None] = {}


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


def clear_cache() -> None:
    """Forget all cached results (git state, package versions, distribution map, python info)."""
    clear_git_cache()
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
