"""Tests for nbmodelbook.capture.environment."""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbmodelbook.capture import environment as envmod
from nbmodelbook.capture.environment import (
    capture_environment,
    clear_cache,
    git_state,
    imported_top_level,
    package_versions,
    python_info,
)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git CLI not installed")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


@pytest.fixture(autouse=True)
def _isolated_git(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The developer's global git config (signing, hooks, default branch) must not leak in,
    # and tmp dirs must not be discovered as part of some enclosing repository.
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(Path(tmp_path_factory.getbasetemp()).parent))
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout
    return out.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "symbolic-ref", "HEAD", "refs/heads/main")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")
    git(root, "config", "commit.gpgsign", "false")
    (root / "analysis.ipynb").write_text("{}\n")
    (root / "sub").mkdir()
    (root / "sub" / "model.py").write_text("x = 1\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


# --- python_info -----------------------------------------------------------------------


def test_python_info_fields() -> None:
    info = python_info()
    assert set(info) == {
        "version",
        "implementation",
        "executable",
        "platform",
        "machine",
        "system",
        "release",
    }
    assert all(isinstance(v, str) for v in info.values())
    assert info["version"] == platform.python_version()
    assert info["executable"] == sys.executable


def test_python_info_is_cached_and_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = platform.platform

    def counting() -> str:
        nonlocal calls
        calls += 1
        return real()

    monkeypatch.setattr(platform, "platform", counting)
    first = python_info()
    first["version"] = "mutated"
    second = python_info()
    assert calls == 1
    assert second["version"] == platform.python_version()


# --- imported_top_level ----------------------------------------------------------------


def test_imported_top_level_filters_and_sorts() -> None:
    modules = [
        "os",
        "os.path",
        "json.decoder",
        "builtins",
        "__main__",
        "_thread",
        "_private_pkg.sub",
        "numpy",
        "numpy.linalg",
        "sklearn.ensemble._forest",
        "pandas",
        "IPython.core",
        "not-an-identifier",
    ]
    assert imported_top_level(modules) == ["IPython", "numpy", "pandas", "sklearn"]


def test_imported_top_level_from_live_sys_modules() -> None:
    import numpy  # noqa: F401

    names = imported_top_level(sys.modules)
    assert "numpy" in names
    assert "pytest" in names
    assert not {"os", "sys", "json", "builtins", "__main__"} & set(names)
    assert not any(n.startswith("_") for n in names)
    assert names == sorted(names)


# --- package_versions ------------------------------------------------------------------


def test_package_versions_maps_import_name_to_distribution() -> None:
    import numpy
    import pandas
    import sklearn

    versions = package_versions(["sklearn", "numpy", "pandas"])
    assert versions == {
        "sklearn": sklearn.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
    }
    assert versions["sklearn"] == importlib.metadata.version("scikit-learn")


def test_package_versions_falls_back_to_dunder_version(monkeypatch: pytest.MonkeyPatch) -> None:
    with_version = types.ModuleType("nbmb_fake_with_version")
    with_version.__version__ = "9.8.7"  # type: ignore[attr-defined]
    without_version = types.ModuleType("nbmb_fake_without_version")
    odd_version = types.ModuleType("nbmb_fake_odd_version")
    odd_version.__version__ = (1, 2)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nbmb_fake_with_version", with_version)
    monkeypatch.setitem(sys.modules, "nbmb_fake_without_version", without_version)
    monkeypatch.setitem(sys.modules, "nbmb_fake_odd_version", odd_version)

    versions = package_versions(
        [
            "nbmb_fake_with_version",
            "nbmb_fake_without_version",
            "nbmb_fake_odd_version",
            "nbmb_not_imported_anywhere",
        ]
    )
    assert versions == {"nbmb_fake_with_version": "9.8.7"}


def test_package_versions_namespace_package(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = {"nbmbns": ["dist-b", "dist_a", "Dist-A"]}
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: fake)
    monkeypatch.setattr(importlib.metadata, "version", lambda d: {"dist-b": "2", "dist_a": "1"}[d])
    assert package_versions(["nbmbns"]) == {"nbmbns": "dist-b==2, dist_a==1"}


def test_package_versions_caches_distribution_map_and_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sklearn

    real_pd = importlib.metadata.packages_distributions
    real_version = importlib.metadata.version
    calls = {"pd": 0, "version": 0}

    def counting_pd() -> Any:
        calls["pd"] += 1
        return real_pd()

    def counting_version(dist: str) -> str:
        calls["version"] += 1
        return real_version(dist)

    monkeypatch.setattr(importlib.metadata, "packages_distributions", counting_pd)
    monkeypatch.setattr(importlib.metadata, "version", counting_version)

    first = package_versions(["sklearn", "numpy"])
    assert calls == {"pd": 1, "version": 2}
    second = package_versions(["sklearn", "numpy", "pandas"])
    assert calls == {"pd": 1, "version": 3}  # only pandas is new
    assert first["sklearn"] == second["sklearn"] == sklearn.__version__


def test_package_versions_survives_broken_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> Any:
        raise RuntimeError("corrupt site-packages")

    monkeypatch.setattr(importlib.metadata, "packages_distributions", boom)
    monkeypatch.setattr(importlib.metadata, "version", boom)
    import numpy

    # Distribution map unavailable -> __version__ fallback still works.
    assert package_versions(["numpy"]) == {"numpy": numpy.__version__}


# --- git_state -------------------------------------------------------------------------


@needs_git
def test_git_state_clean_repo(repo: Path) -> None:
    state = git_state(repo)
    assert state is not None
    assert state == {
        "root": str(repo.resolve()),
        "commit": git(repo, "rev-parse", "HEAD"),
        "branch": "main",
        "dirty": False,
        "remote": None,
    }
    assert len(state["commit"]) == 40


@needs_git
def test_git_state_from_subdirectory_and_file(repo: Path) -> None:
    expected = git(repo, "rev-parse", "HEAD")
    from_sub = git_state(repo / "sub")
    from_file = git_state(repo / "analysis.ipynb")
    assert from_sub is not None and from_file is not None
    assert from_sub["root"] == from_file["root"] == str(repo.resolve())
    assert from_sub["commit"] == from_file["commit"] == expected


@needs_git
def test_git_state_dirty_after_modifying_tracked_file(repo: Path) -> None:
    assert git_state(repo)["dirty"] is False  # type: ignore[index]
    (repo / "sub" / "model.py").write_text("x = 2\n")
    # Still within the TTL: the cached clean state is returned.
    assert git_state(repo)["dirty"] is False  # type: ignore[index]
    clear_cache()
    assert git_state(repo)["dirty"] is True  # type: ignore[index]
    git(repo, "checkout", "--", "sub/model.py")
    assert git_state(repo)["dirty"] is True  # type: ignore[index]
    assert git_state(repo, ttl=0)["dirty"] is False  # type: ignore[index]


@needs_git
def test_git_state_staged_change_is_dirty(repo: Path) -> None:
    (repo / "new_tracked.py").write_text("y = 1\n")
    git(repo, "add", "new_tracked.py")
    assert git_state(repo, ttl=0)["dirty"] is True  # type: ignore[index]


@needs_git
def test_git_state_untracked_file_is_not_dirty(repo: Path) -> None:
    (repo / "scratch.csv").write_text("a,b\n")
    (repo / ".ipynb_checkpoints").mkdir()
    (repo / ".ipynb_checkpoints" / "analysis-checkpoint.ipynb").write_text("{}\n")
    assert git_state(repo, ttl=0)["dirty"] is False  # type: ignore[index]


@needs_git
def test_git_state_detached_head(repo: Path) -> None:
    (repo / "sub" / "model.py").write_text("x = 3\n")
    git(repo, "commit", "-q", "-am", "second")
    first = git(repo, "rev-parse", "HEAD~1")
    git(repo, "checkout", "-q", "--detach", first)
    state = git_state(repo, ttl=0)
    assert state is not None
    assert state["branch"] is None
    assert state["commit"] == first
    assert state["dirty"] is False


@needs_git
def test_git_state_repo_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    state = git_state(tmp_path)
    assert state is not None
    assert state["commit"] is None
    assert state["dirty"] is False


@needs_git
def test_git_state_remote_credentials_stripped(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://alice:s3cr3t-token@git.example.com/org/x.git")
    state = git_state(repo)
    assert state is not None
    assert state["remote"] == "https://git.example.com/org/x.git"
    assert "s3cr3t" not in repr(state)


@needs_git
def test_git_state_not_a_repo(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert git_state(plain) is None
    assert git_state(tmp_path / "does-not-exist") is None


@needs_git
def test_git_state_without_git_on_path(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = repo.parent / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert git_state(repo) is None
    env = capture_environment(["numpy"], repo)
    assert env["git"] is None
    assert "errors" not in env


@needs_git
def test_git_state_ttl_cache_avoids_subprocess(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_run = subprocess.run
    seen: list[dict[str, Any]] = []

    def counting_run(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting_run)
    first = git_state(repo, ttl=60)
    cold_calls = len(seen)
    assert cold_calls >= 1
    second = git_state(repo, ttl=60)
    assert len(seen) == cold_calls
    assert second == first
    git_state(repo, ttl=0)
    assert len(seen) == 2 * cold_calls

    # Every call is bounded and lock/prompt free.
    for kwargs in seen:
        assert kwargs["timeout"] == 2.0
        assert kwargs["env"]["GIT_OPTIONAL_LOCKS"] == "0"
        assert kwargs["env"]["GIT_TERMINAL_PROMPT"] == "0"
        assert kwargs["stdin"] is subprocess.DEVNULL


@needs_git
def test_git_state_returns_copy(repo: Path) -> None:
    state = git_state(repo)
    assert state is not None
    state["dirty"] = "tampered"
    assert git_state(repo)["dirty"] is False  # type: ignore[index]


def test_git_state_timeout_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def hanging(*args: Any, **kwargs: Any) -> Any:
        raise subprocess.TimeoutExpired(cmd="git", timeout=kwargs.get("timeout", 0))

    monkeypatch.setattr(subprocess, "run", hanging)
    assert git_state(tmp_path) is None


@needs_git
def test_git_state_status_timeout_keeps_commit(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_run = subprocess.run

    def slow_status(cmd: list[str], *args: Any, **kwargs: Any) -> Any:
        if "status" in cmd:
            raise subprocess.TimeoutExpired(cmd=cmd, timeout=kwargs["timeout"])
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", slow_status)
    state = git_state(repo)
    assert state is not None
    assert state["commit"] == git(repo, "rev-parse", "HEAD")
    assert state["branch"] == "main"
    assert state["dirty"] is None


# --- capture_environment ---------------------------------------------------------------


@needs_git
def test_capture_environment_full(repo: Path) -> None:
    import numpy

    env = capture_environment(list(sys.modules), repo)
    assert set(env) == {"python", "packages", "git"}
    assert env["python"] == python_info()
    assert env["packages"]["numpy"] == numpy.__version__
    assert "os" not in env["packages"]
    assert env["git"]["commit"] == git(repo, "rev-parse", "HEAD")


def test_capture_environment_without_notebook_dir() -> None:
    env = capture_environment(["numpy"], None)
    assert env["git"] is None
    assert "errors" not in env


def test_capture_environment_partial_on_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> Any:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(envmod, "python_info", boom)
    monkeypatch.setattr(envmod, "git_state", boom)
    import numpy

    env = capture_environment(["numpy"], tmp_path)
    assert env["python"] == {}
    assert env["git"] is None
    assert env["packages"] == {"numpy": numpy.__version__}
    assert env["errors"] == ["python: RuntimeError: kaboom", "git: RuntimeError: kaboom"]


def test_capture_environment_bad_module_iterable() -> None:
    def modules() -> Iterator[str]:
        yield "numpy"
        raise ValueError("iteration broke")

    env = capture_environment(modules(), None)
    assert env["packages"] == {}
    assert env["errors"] == ["packages: ValueError: iteration broke"]
    assert env["python"]["version"] == platform.python_version()
