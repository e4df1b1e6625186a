"""Fixtures shared by every test tier."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from nbmodelbook.magics import load_ipython_extension, unload_ipython_extension
from tests.postgres_server import PostgresServer, binaries, running_server


@pytest.fixture(scope="session", autouse=True)
def private_journal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Runs held back by failing stores go to a temporary journal, not the home folder
    (kernels started by the tests inherit the variable)."""
    from nbmodelbook.store.journal import JOURNAL_ENV_VAR

    previous = os.environ.get(JOURNAL_ENV_VAR)
    os.environ[JOURNAL_ENV_VAR] = str(tmp_path_factory.mktemp("journal"))
    yield
    if previous is None:
        os.environ.pop(JOURNAL_ENV_VAR, None)
    else:
        os.environ[JOURNAL_ENV_VAR] = previous


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session, started only when a test asks for it.

    Without PostgreSQL installed, tests that need it are skipped on a developer machine and
    fail under CI, where a missing server is a broken setup.
    """
    reason = None
    if binaries() is None:
        reason = "PostgreSQL is not installed (scripts/ensure_postgres.sh installs it)"
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            reason = "the psycopg driver is not installed (pip install -e '.[test]')"
    if reason is not None:
        if _in_ci():
            pytest.fail(f"{reason}, and CI is set: the store tests need it", pytrace=False)
        pytest.skip(reason)
    with running_server() as server:
        yield server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser tier runs last. Playwright's sync API keeps an asyncio loop running on the
    main thread while its (session-wide) browser is open, and tests on Jupyter Server's own
    loop (tests/server) cannot start theirs next to it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """A real in-process IPython shell with the extension loaded, on a throwaway store."""
    monkeypatch.setenv("NBMODELBOOK_STORE", str(tmp_path / "runs.sqlite"))
    monkeypatch.setenv("NBMODELBOOK_NOTEBOOK", str(tmp_path / "nb.ipynb"))
    instance = InteractiveShell.instance()
    load_ipython_extension(instance)
    yield instance
    unload_ipython_extension(instance)
    InteractiveShell.clear_instance()
