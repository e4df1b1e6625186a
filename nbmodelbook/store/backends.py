"""Store backends by URL scheme: how to connect (to write, or only to read), lock for schema
changes and start a write.

Adding a backend means registering a `Backend` for its scheme; nothing else switches on it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmodelbook.errors import NotAStore, StoreUnavailable

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
    # An engine for an existing store that can only read: it creates, changes and moves
    # nothing (None: the engine above, used by code that only reads).
    create_read_engine: Callable[[str], Engine] | None = None
    # Refuse, before connecting, a location that cannot hold a store (a text file): raises
    # NotAStore, changes nothing.
    check_location: Callable[[str], None] = lambda url: None
    # True when the database is the store (a SQLite file): tables of something else mean the
    # location is not a store. A server database also holds other applications' tables.
    owns_database: bool = False

    def read_engine(self, url: str) -> Engine:
        factory = self.create_read_engine or self.create_engine
        return factory(url)


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


def sqlite_sidecar(path: Path, suffix: str) -> Path:
    """A SQLite database's -wal, -shm or -journal file."""
    return path.with_name(path.name + suffix)


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
        cursor = _sqlite_connection_basics(dbapi_connection)
        try:
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


def _sqlite_connection_basics(dbapi_connection: Any) -> Any:
    """What every SQLite connection of a store needs, reading or writing; returns a cursor
    for the rest of its set-up (the caller closes it)."""
    # Driver autocommit: transactions are started explicitly (`begin` events), so a write can
    # take the write lock up front (BEGIN IMMEDIATE) instead of failing on upgrade.
    dbapi_connection.isolation_level = None
    # SQLite folds only ASCII case; text filters with other letters use Python's folding.
    dbapi_connection.create_function(_CASEFOLD_FUNCTION, 1, _casefold, deterministic=True)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
    except BaseException:
        cursor.close()
        raise
    return cursor


# --- SQLite, read only: nothing created, nothing changed --------------------------------------

_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_BYTES = 100
_WAL_FORMAT = 2  # header bytes 18 and 19 (write and read format versions): 2 in WAL mode


def _sqlite_header(path: Path) -> bytes:
    """The first bytes of an existing store file; NotAStore when it cannot be a SQLite one."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            reason = "it is not a regular file"
        else:
            with path.open("rb") as stream:
                header = stream.read(_HEADER_BYTES)
            if header.startswith(_SQLITE_MAGIC):
                return header
            reason = "it is an empty file" if not header else "it is not a SQLite database"
    except OSError as exc:
        raise StoreUnavailable(f"cannot read the store {path} ({exc.strerror or exc})") from exc
    raise NotAStore(f"{path} is not a nbmodelbook store: {reason} (nothing was changed)")


def _sqlite_check_location(url: str) -> None:
    """An existing file must be a SQLite database; an empty file may become a store."""
    path = sqlite_path(url)
    if path is None or not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return
    _sqlite_header(path)


def _sqlite_file_state(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return info.st_ino, info.st_size, info.st_mtime_ns


class _ReadOnlyConnection(sqlite3.Connection):
    """A read-only connection; `snapshot_of` is set when it reads the file as immutable."""

    snapshot_of: tuple[int, int, int] | None = None


def _connect_read_only(path: Path) -> _ReadOnlyConnection:
    """Open the store file read-only (`mode=ro`).

    SQLite needs a WAL database's -shm to read it, and makes -wal and -shm files when they are
    missing, even read-only. A store in use has them: it is read through them, so the latest
    commits of a running kernel are seen. A store nobody has open has no -shm and an empty or
    no WAL, so the file alone is the whole store: it is read as `immutable`, which makes no
    file. Such a connection is a snapshot; the pool replaces it as soon as the store is in
    use again or its file changed (`_still_current`). Only a WAL with commits but no -shm
    (left by a crash) is read through SQLite's recovery, which makes the -shm it needs.
    """
    header = _sqlite_header(path)
    query = "mode=ro"
    snapshot = None
    wal, shm = sqlite_sidecar(path, "-wal"), sqlite_sidecar(path, "-shm")
    in_wal_mode = header[18] == header[19] == _WAL_FORMAT
    if in_wal_mode and not shm.exists() and (not wal.exists() or wal.stat().st_size == 0):
        query += "&immutable=1"
        snapshot = _sqlite_file_state(path)
    connection = sqlite3.connect(
        f"file:{urllib.parse.quote(str(path))}?{query}",
        uri=True,
        timeout=_SQLITE_BUSY_MS / 1000,
        check_same_thread=False,
        factory=_ReadOnlyConnection,
    )
    connection.snapshot_of = snapshot
    return connection


def _still_current(path: Path, connection: _ReadOnlyConnection) -> bool:
    snapshot = connection.snapshot_of
    if snapshot is None:
        return True
    try:
        return not sqlite_sidecar(path, "-shm").exists() and _sqlite_file_state(path) == snapshot
    except OSError:
        return False


def _sqlite_read_engine(url: str) -> Engine:
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import DisconnectionError

    path = sqlite_path(url)
    if path is None:
        raise StoreUnavailable(f"{url} names no store file: a store to read is a file")
    if not path.exists():
        raise StoreUnavailable(f"no run store at {path}")
    _sqlite_header(path)  # a file that is not a database is refused before SQLite sees it
    engine = create_engine(url, creator=lambda: _connect_read_only(path))

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = _sqlite_connection_basics(dbapi_connection)
        try:
            cursor.execute("PRAGMA query_only=ON")  # belt and braces: mode=ro refuses already
        finally:
            cursor.close()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not _still_current(path, dbapi_connection):
            raise DisconnectionError("the store changed since this snapshot was opened")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN DEFERRED")  # one state of the store per read

    return engine


def _set_wal(cursor: Any) -> None:
    # Switching to WAL needs a moment of exclusive access; a second kernel creating the
    # store at the same instant can see SQLITE_BUSY here despite the busy timeout.
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
        create_read_engine=_sqlite_read_engine,
        check_location=_sqlite_check_location,
        owns_database=True,
    )
)

# Other backends register themselves on import; their drivers load only when used.
import nbmodelbook.store.postgres  # noqa: E402, F401
