"""The PostgreSQL backend: a team's shared store on a server it already runs.

`postgresql://user@host/db` URLs (any SQLAlchemy driver suffix; plain ones use psycopg 3).
Writers need no extra lock: the write counter's UPDATE … RETURNING holds its row until commit,
which orders concurrent writes. Reads run in REPEATABLE READ, one snapshot per read. Schema
changes take a transaction-scoped advisory lock, so several clients opening a new store at once
create it once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbmodelbook.errors import StoreUnavailable
from nbmodelbook.redaction import is_credential_param, redact_url
from nbmodelbook.store.backends import Backend, register_backend

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Insert, Table

_SCHEMA_LOCK_KEY = 0x6E626D62  # "nbmb": one advisory lock id for schema changes
_CONNECT_TIMEOUT_S = 10


def _driver_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else url


def _engine(url: str) -> Engine:
    from sqlalchemy import create_engine

    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise StoreUnavailable(
            "a PostgreSQL store needs the psycopg driver: pip install 'nbmodelbook[postgres]'"
        ) from exc
    return create_engine(
        _driver_url(url),
        pool_pre_ping=True,  # a restarted server: reconnect instead of failing the next write
        connect_args={"connect_timeout": _CONNECT_TIMEOUT_S},
    )


def _begin_write(connection: Connection) -> None:
    """Nothing to do: row locks taken by the write order concurrent writers."""


def _begin_read(connection: Connection) -> Connection:
    """Reads see one snapshot: a page assembled from several statements cannot show a run
    twice or miss one that moved between them while another kernel wrote."""
    return connection.execution_options(isolation_level="REPEATABLE READ")


def _lock_schema(connection: Connection) -> None:
    from sqlalchemy import text

    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})


def _insert_ignore(table: Table) -> Insert:
    from sqlalchemy.dialects.postgresql import insert

    return insert(table).on_conflict_do_nothing()


def _is_corruption(exc: BaseException) -> bool:
    return False  # a server repairs its own storage; never move a team's store aside


def _quarantine(url: str) -> str | None:
    return None


def _describe(url: str) -> str:
    """The store's URL for people: the password masked, query parameters that hold a
    credential (`?password=`, `?sslpassword=`, ...) left out."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        secret = [name for name in parsed.query if is_credential_param(name)]
        return parsed.difference_update_query(secret).render_as_string(hide_password=True)
    except Exception:  # never show credentials, even of a URL SQLAlchemy cannot read
        redacted = redact_url(url)
        return redacted if "://" in redacted else redacted.rpartition("@")[2]


for _scheme in ("postgresql", "postgres"):
    register_backend(
        Backend(
            scheme=_scheme,
            create_engine=_engine,
            begin_write=_begin_write,
            lock_schema=_lock_schema,
            insert_ignore=_insert_ignore,
            is_corruption=_is_corruption,
            quarantine=_quarantine,
            describe=_describe,
            begin_read=_begin_read,
        )
    )
