"""Store backends by URL scheme: how to connect, lock for schema changes and start a write.

Adding a backend means registering a `Backend` for its scheme; nothing else switches on it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmodelbook.errors import StoreUnavailable

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Insert, Table

DEFAULT_STORE_DIR = ".nbmodelbook"
DEFAULT_STORE_FILE = "runs.sqlite"
STORE_ENV_VAR = "NBMODELBOOK_STORE"


@dataclass(frozen=True, slots=True)
class Backend:
    scheme: str
    create_engine: Callable[[str], Engine]
    begin_write: Callable[[Connection], None]
    lock_schema: Callable[[Connection], None]
    insert_ignore: Callable[[Table], Insert]
    is_corruption: Callable[[BaseException], bool]
    quarantine: Callable[[str], str | None]
    describe: Callable[[str], str]
    # Prepare a read transaction: a page is read with several statements, which must see
    # one state of the store (SQLite's read transactions already do).
    begin_read: Callable[[Connection], Connection] = lambda connection: connection
    # Case-insensitive "column contains text" (ILIKE unless the engine has a faster way).
    contains: Callable[[Any, str], Any] = lambda column, text: column.icontains(
        text, autoescape=True
    )


_BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> None:
    _BACKENDS[backend.scheme] = backend


def backend_for(url: str) -> Backend:
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    try:
        return _BACKENDS[scheme]
    except KeyError:
        known = ", ".join(sorted(_BACKENDS))
        raise StoreUnavailable(
            f"no nbmodelbook store backend for '{scheme}://' URLs (known: {known}). "
            f"Set {STORE_ENV_VAR} to a file path or one of those URLs."
        ) from None


def resolve_store_url(value: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> str:
    """The store URL from an explicit value, then $NBMODELBOOK_STORE, then the default file."""
    raw = os.fspath(value) if value is not None else os.environ.get(STORE_ENV_VAR, "").strip()
    base = cwd if cwd is not None else Path.cwd()
    if not raw:
        return _sqlite_url(base / DEFAULT_STORE_DIR / DEFAULT_STORE_FILE)
    if "://" in raw:
        return raw
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = base / path
    if path.is_dir() or raw.endswith(("/", os.sep)):
        path = path / DEFAULT_STORE_FILE
    return _sqlite_url(path)


def store_for_notebook(notebook: Path, store: str | None = None) -> str:
    """The store holding a notebook's runs: given, else $NBMODELBOOK_STORE, else the default
    store of the folder its kernel ran in (the notebook's own folder)."""
    if store is not None:
        return resolve_store_url(store)
    if os.environ.get(STORE_ENV_VAR):
        return resolve_store_url()
    return resolve_store_url(
        str(notebook.resolve().parent / DEFAULT_STORE_DIR / DEFAULT_STORE_FILE)
    )


def store_exists(url: str) -> bool:
    """False only for a store file that was never created (a server store is assumed)."""
    path = sqlite_path(url)
    return path is None or path.exists()


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


# --- SQLite: the embedded default -----------------------------------------------------------

_SQLITE_BUSY_MS = 30_000
_CORRUPTION_MARKERS = ("file is not a database", "database disk image is malformed")


def _sqlite_engine(url: str) -> Engine:
    from sqlalchemy import create_engine, event

    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as exc:
            blocker = next((p for p in path.parents if p.is_file()), path.parent)
            raise StoreUnavailable(
                f"cannot create the store folder {path.parent}: {blocker} is a file, not a "
                f"folder. Point {STORE_ENV_VAR} at a writable location."
            ) from exc
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot create the store folder {path.parent} ({exc.strerror or exc}). "
                f"Point {STORE_ENV_VAR} at a writable location."
            ) from exc
    engine = create_engine(
        url,
        connect_args={"timeout": _SQLITE_BUSY_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Driver autocommit: transactions are started explicitly below, so a write can
        # take the write lock up front (BEGIN IMMEDIATE) instead of failing on upgrade.
        dbapi_connection.isolation_level = None
        # SQLite folds only ASCII case; text filters with other letters use Python's folding.
        dbapi_connection.create_function(_CASEFOLD_FUNCTION, 1, _casefold, deterministic=True)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
            _set_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get("nbmb_write") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _set_wal(cursor: Any) -> None:
    # Switching to WAL needs a moment of exclusive access; a second kernel creating the
    # store at the same instant can see SQLITE_BUSY here despite the busy timeout.
    import sqlite3

    deadline = time.monotonic() + _SQLITE_BUSY_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_begin_write(connection: Connection) -> None:
    connection.execution_options(nbmb_write=True)


def _sqlite_lock_schema(connection: Connection) -> None:
    """Schema changes run in a BEGIN IMMEDIATE transaction, which already serialises them."""


def _sqlite_insert_ignore(table: Table) -> Insert:
    from sqlalchemy.dialects.sqlite import insert

    return insert(table).on_conflict_do_nothing()


def _sqlite_is_corruption(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return any(marker in text for marker in _CORRUPTION_MARKERS)


def _sqlite_quarantine(url: str) -> str | None:
    """Move a damaged store (and its WAL) aside under a dated name; never delete it."""
    path = sqlite_path(url)
    if path is None or not path.exists():
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    try:
        path.rename(target)
    except FileNotFoundError:
        return None  # another kernel moved it first
    for suffix in ("-wal", "-shm", "-journal"):
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            with contextlib.suppress(OSError):
                sidecar.rename(target.with_name(target.name + suffix))
    return str(target)


def _sqlite_describe(url: str) -> str:
    path = sqlite_path(url)
    return str(path) if path is not None else url


_CASEFOLD_FUNCTION = "nbmb_casefold"


def _casefold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _sqlite_contains(column: Any, text: str) -> Any:
    from sqlalchemy import func

    if text.isascii():
        # SQLite's LIKE already ignores ASCII case; lower() on both sides would halve its speed.
        return column.contains(text, autoescape=True)
    folded = getattr(func, _CASEFOLD_FUNCTION)(column)
    return folded.contains(text.casefold(), autoescape=True)


register_backend(
    Backend(
        scheme="sqlite",
        create_engine=_sqlite_engine,
        begin_write=_sqlite_begin_write,
        lock_schema=_sqlite_lock_schema,
        insert_ignore=_sqlite_insert_ignore,
        is_corruption=_sqlite_is_corruption,
        quarantine=_sqlite_quarantine,
        describe=_sqlite_describe,
        contains=_sqlite_contains,
    )
)

# Other backends register themselves on import; their drivers load only when used.
import nbmodelbook.store.postgres  # noqa: E402, F401
