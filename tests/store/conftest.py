"""Store conformance: tests that ask for a store URL run against SQLite and a real PostgreSQL.

The PostgreSQL server (the `postgres_server` fixture of tests/conftest.py) is started once per
test session; each test or module gets a new database.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.postgres_server import PostgresServer

BACKENDS = ("sqlite", "postgresql")


def _url_factory(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], str]:
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return server.new_database
    return lambda: str(tmp_path_factory.mktemp("store") / "runs.sqlite")


@pytest.fixture(scope="module", params=BACKENDS)
def new_module_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], str]:
    """New empty stores for a whole module, on each backend in turn."""
    return _url_factory(request.param, request, tmp_path_factory)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A new empty store for one test, on each backend in turn."""
    return _url_factory(request.param, request, tmp_path_factory)()
