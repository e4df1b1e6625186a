"""How a PostgreSQL store is named to people (messages, `info`, the server's store listing):
never with a credential, wherever the URL holds one."""

from __future__ import annotations

import pytest

from nbmodelbook.store.backends import backend_for


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bob:pw@db.example/runs", "postgresql://bob:***@db.example/runs"),
        ("postgresql://db.example/runs?password=pw", "postgresql://db.example/runs"),
        (
            "postgresql+psycopg://bob@db.example:5433/runs?sslmode=require&Password=pw",
            "postgresql+psycopg://bob@db.example:5433/runs?sslmode=require",
        ),
        (
            "postgres://db/runs?sslpassword=k&application_name=nb&token=t",
            "postgres://db/runs?application_name=nb",
        ),
        # SQLAlchemy cannot read this port: shown without its credentials all the same.
        ("postgresql://bob:pw@db:port/runs?password=pw", "postgresql://db:port/runs"),
    ],
)
def test_a_postgresql_store_is_described_without_credentials(url: str, shown: str) -> None:
    described = backend_for(url).describe(url)
    assert described == shown
    assert "pw" not in described.replace("***", "")
