"""Tables of the run store and the versioned migrations that create them.

The schema is plain SQLAlchemy Core so one definition serves SQLite and PostgreSQL. Wide,
frequently read fields (params, metrics, tags) live as JSON text on the run row for fast bulk
reads; normalised copies in `run_params` / `run_metrics` / `run_tags` let queries filter and sort
in the database. Code is stored once per distinct hash.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    select,
)

from nbmodelbook.errors import NotAStore, StoreUnavailable, StoreVersionError

metadata = MetaData()

meta = Table(
    "nbmb_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

kernels = Table(
    "nbmb_kernels",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("pid_start", String(32)),
    Column("user", String(255)),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
)

runs = Table(
    "nbmb_runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("notebook", Text),
    Column("repo", Text),
    Column("cell_id", String(128)),
    Column("execution_count", Integer),
    Column("session_id", String(64)),
    Column("user", String(255)),
    Column("host", String(255)),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("duration", Float),
    Column("code_hash", String(40)),
    Column("tags", Text, nullable=False, default="[]"),
    Column("note", Text),
    Column("params", Text, nullable=False, default="{}"),
    Column("metrics", Text, nullable=False, default="{}"),
    Column("error_type", String(255)),
    Column("error_message", Text),
    Column("env_hash", String(40)),
    # Bumped on every write of the row, from the store-wide counter in nbmb_meta: readers
    # fetch only what changed since their last read.
    Column("seq", Integer, nullable=False, default=0),
    Index("ix_nbmb_runs_notebook_started", "notebook", "started_at"),
    Index("ix_nbmb_runs_seq", "seq"),
    Index("ix_nbmb_runs_session", "session_id"),
    Index("ix_nbmb_runs_name", "name"),
    Index("ix_nbmb_runs_started", "started_at"),
    Index("ix_nbmb_runs_status", "status"),
    Index("ix_nbmb_runs_code_hash", "code_hash"),
)


def _run_id_key() -> Column[str]:
    """The key of a run's child rows: deleted with the run (a finished run replaces them)."""
    return Column(
        "run_id", String(32), ForeignKey("nbmb_runs.run_id", ondelete="CASCADE"), primary_key=True
    )


run_details = Table(
    "nbmb_run_details",
    metadata,
    _run_id_key(),
    Column("error_traceback", Text),
    Column("inputs", Text, nullable=False, default="{}"),
    Column("lineage", Text, nullable=False, default="[]"),
    Column("extra", Text, nullable=False, default="{}"),
)

run_params = Table(
    "nbmb_run_params",
    metadata,
    _run_id_key(),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Column("num", Float),
    Index("ix_nbmb_run_params_key_num", "key", "num"),
)

run_metrics = Table(
    "nbmb_run_metrics",
    metadata,
    _run_id_key(),
    Column("key", String(255), primary_key=True),
    # NaN and infinities do not survive a REAL column everywhere: they go to `special`.
    Column("value", Float),
    Column("special", String(8)),
    Index("ix_nbmb_run_metrics_key_value", "key", "value"),
)

run_tags = Table(
    "nbmb_run_tags",
    metadata,
    _run_id_key(),
    Column("tag", String(255), primary_key=True),
    Index("ix_nbmb_run_tags_tag", "tag"),
)

run_outputs = Table(
    "nbmb_run_outputs",
    metadata,
    _run_id_key(),
    Column("position", Integer, primary_key=True),
    Column("mime", String(255), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("truncated", Integer, nullable=False, default=0),
)

environments = Table(
    "nbmb_environments",
    metadata,
    Column("env_hash", String(40), primary_key=True),
    Column("data", Text, nullable=False),
)

code_blobs = Table(
    "nbmb_code",
    metadata,
    Column("code_hash", String(40), primary_key=True),
    Column("code", Text, nullable=False),
)


# --- evidence (schema version 4) --------------------------------------------------------------

ARRAY_HASH_LENGTH = 32  # xxh3_128, hex

arrays = Table(
    "nbmb_arrays",
    metadata,
    Column("hash", String(ARRAY_HASH_LENGTH), primary_key=True),
    Column("dtype", String(32), nullable=False),  # what it reads back as ("<f8", "<U7")
    Column("shape", Text, nullable=False),  # JSON list
    Column("nbytes", BigInteger, nullable=False),  # raw size before compression
    Column("data", LargeBinary, nullable=False),  # the codec's bytes (store/arrays.py)
)

run_arrays = Table(
    "nbmb_run_arrays",
    metadata,
    _run_id_key(),
    Column("hash", String(ARRAY_HASH_LENGTH), primary_key=True),
    Index("ix_nbmb_run_arrays_hash", "hash"),
)

evaluations = Table(
    "nbmb_evaluations",
    metadata,
    _run_id_key(),
    Column("position", Integer, primary_key=True),
    Column("function", Text, nullable=False),
    Column("metric", Text, nullable=False),
    # As in nbmb_run_metrics: NaN and infinities in `special`; both NULL when no number.
    Column("value", Float),
    Column("special", String(8)),
    Column("n_total", BigInteger, nullable=False),
    Column("rows_fingerprint", Text),
    Column("features_fingerprint", Text),
    Column("y_true", String(ARRAY_HASH_LENGTH), nullable=False),
    Column("y_score", String(ARRAY_HASH_LENGTH)),
    Column("y_pred", String(ARRAY_HASH_LENGTH)),
    Column("sample_weight", String(ARRAY_HASH_LENGTH)),
    # {name: {"levels": [...], "source": "declared", "codes": hash}}
    Column("segments", Text, nullable=False, default="{}"),
    Column("options", Text, nullable=False, default="{}"),
)

candidates = Table(
    "nbmb_candidates",
    metadata,
    _run_id_key(),
    Column("group", Integer, primary_key=True),
    Column("index", Integer, primary_key=True),
    Column("source", Text, nullable=False),
    Column("params", Text, nullable=False, default="{}"),
    Column("scorer", Text, nullable=False),
    Column("fold_scores", Text, nullable=False, default="[]"),  # JSON; NaN as "NaN"
    Column("chosen", Integer, nullable=False, default=0),
    Column("mean_score", Float),
    Column("mean_special", String(8)),
)

EVIDENCE_TABLES = (arrays, run_arrays, evaluations, candidates)


def of_repository(repo: str) -> Any:
    """Runs of a repository, and runs whose repository is unknown (recorded outside git)."""
    return runs.c.repo.is_(None) | (runs.c.repo == repo)


SCHEMA_VERSION_KEY = "schema_version"
RUN_SEQ_KEY = "run_seq"

Migration = Callable[[Connection], None]


def _create_v1(connection: Connection) -> None:
    metadata.create_all(connection, checkfirst=True)


def _add_run_seq_v2(connection: Connection) -> None:
    """Version 2: the write counter that lets readers fetch only what changed."""
    from sqlalchemy import inspect

    metadata.create_all(connection, checkfirst=True)  # any table a partial store lacks
    columns = {column["name"] for column in inspect(connection).get_columns(runs.name)}
    if "seq" not in columns:  # stores created at version 1 (new stores have it already)
        connection.exec_driver_sql(
            "ALTER TABLE nbmb_runs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0"
        )
        connection.exec_driver_sql("CREATE INDEX ix_nbmb_runs_seq ON nbmb_runs (seq)")


def _start_run_seq_v3(connection: Connection) -> None:
    """Version 3: the write counter exists from the start (at the highest `seq` written), so
    the first writers after an upgrade never race to create it."""
    from sqlalchemy import func, select

    if connection.execute(read_seq()).scalar_one_or_none() is None:
        highest = connection.execute(select(func.max(runs.c.seq))).scalar_one_or_none()
        connection.execute(meta.insert().values(key=RUN_SEQ_KEY, value=str(int(highest or 0))))


def _add_evidence_v4(connection: Connection) -> None:
    """Version 4: the evidence behind metrics (evaluations, candidates) and their arrays."""
    metadata.create_all(connection, tables=list(EVIDENCE_TABLES), checkfirst=True)


def next_seq(connection: Connection) -> int:
    """The next value of the store-wide write counter, in the caller's write transaction.

    A counter in nbmb_meta rather than MAX(seq) + 1: it never goes back when a row is replaced
    or removed, so a reader that saw value N can trust that every later write is above N.
    """
    bumped = connection.execute(_bump_seq()).scalar_one_or_none()
    if bumped is None:  # the counter row was removed by hand: start it above every row
        from sqlalchemy import func, select

        highest = connection.execute(select(func.max(runs.c.seq))).scalar_one_or_none()
        value = int(highest or 0) + 1
        connection.execute(meta.insert().values(key=RUN_SEQ_KEY, value=str(value)))
        return value
    return int(bumped)


@cache
def _bump_seq() -> Any:
    # Built once: constructing the statement costs more than running it.
    from sqlalchemy import Integer as SqlInteger
    from sqlalchemy import cast

    return (
        meta.update()
        .where(meta.c.key == RUN_SEQ_KEY)
        .values(value=cast(cast(meta.c.value, SqlInteger) + 1, String))
        .returning(meta.c.value)
    )


@cache
def read_seq() -> Any:
    """The store-wide write counter's current value (a text cell; None before any write)."""
    return select(meta.c.value).where(meta.c.key == RUN_SEQ_KEY)


# Ordered: migration N brings a store from version N-1 to N. Append, never edit.
MIGRATIONS: list[Migration] = [_create_v1, _add_run_seq_v2, _start_run_seq_v3, _add_evidence_v4]
LATEST_VERSION = len(MIGRATIONS)
# The oldest schema read as it is, without migrating: version 2 added `seq`, which every read
# uses; version 3 only starts the write counter, which readers take as 0 when it is missing;
# a store before version 4 has no evidence, which readers then find none of.
OLDEST_READABLE_VERSION = 2
EVIDENCE_VERSION = 4
# The version that brought each table (the others were there from version 1).
_TABLE_SINCE = {table.name: EVIDENCE_VERSION for table in EVIDENCE_TABLES}
_TABLES_LISTED = 5  # a foreign database's tables named in the message


def current_version(connection: Connection) -> int:
    """The store's schema version, 0 when it has no schema yet."""
    if not connection.dialect.has_table(connection, meta.name):
        return 0
    row = connection.execute(
        select(meta.c.value).where(meta.c.key == SCHEMA_VERSION_KEY)
    ).scalar_one_or_none()
    return int(row) if row is not None else 0


def _newer_store(version: int) -> StoreVersionError:
    return StoreVersionError(
        f"this store was written by a newer nbmodelbook (schema {version}, this version "
        f"knows {LATEST_VERSION}); upgrade nbmodelbook to read it"
    )


def _table_names(connection: Connection) -> list[str]:
    from sqlalchemy import inspect

    return sorted(inspect(connection).get_table_names())


def _not_a_store(tables: list[str], where: str) -> NotAStore | None:
    """Why a database with these tables is not a store (None: it holds nbmodelbook's)."""
    if any(name in metadata.tables for name in tables):
        return None
    if not tables:
        what = "it is a database with no tables"
    else:
        listed = ", ".join(tables[:_TABLES_LISTED])
        more = ", ..." if len(tables) > _TABLES_LISTED else ""
        what = f"it is a database of something else (tables {listed}{more})"
    return NotAStore(f"{where} is not a nbmodelbook store: {what} (nothing was changed)")


def store_version(connection: Connection, where: str) -> int:
    """The schema version of the store behind `connection`, 0 for a store whose schema was
    never finished. NotAStore when the database holds no nbmodelbook table at all: an empty
    database, or one of another application (`where` names it in the message)."""
    tables = _table_names(connection)
    problem = _not_a_store(tables, where)
    if problem is not None:
        raise problem
    return current_version(connection) if meta.name in tables else 0


def refuse_foreign_database(connection: Connection, where: str) -> None:
    """NotAStore when the database has tables and none is nbmodelbook's: a store's tables are
    never added to another application's database. An empty one may become a store."""
    tables = _table_names(connection)
    problem = _not_a_store(tables, where) if tables else None
    if problem is not None:
        raise problem


def check_readable(connection: Connection, where: str) -> int:
    """The store's schema version, when this nbmodelbook can read the store as it is.

    Nothing is created or upgraded: a store of an older schema that cannot be read as it is
    says how to upgrade it; a newer one says to upgrade nbmodelbook.
    """
    version = store_version(connection, where)
    if version > LATEST_VERSION:
        raise _newer_store(version)
    expected = {name for name in metadata.tables if _TABLE_SINCE.get(name, 1) <= version}
    missing = expected - set(_table_names(connection))
    if version < OLDEST_READABLE_VERSION or missing:
        raise StoreUnavailable(
            f"the store {where} has an older schema (version {version}; this nbmodelbook "
            f"reads {OLDEST_READABLE_VERSION} to {LATEST_VERSION} as they are): upgrade it "
            f"with `nbmodelbook store migrate {where}` (reading it changed nothing)"
        )
    return version


def has_evidence(connection: Connection) -> bool:
    """Whether the store has the evidence tables (an older one is read without them)."""
    return current_version(connection) >= EVIDENCE_VERSION


def migrate(connection: Connection) -> tuple[int, int]:
    """Apply pending migrations inside the caller's (locked) transaction; returns (from, to)."""
    start = current_version(connection)
    if start > LATEST_VERSION:
        raise _newer_store(start)
    for version in range(start, LATEST_VERSION):
        MIGRATIONS[version](connection)
    if start != LATEST_VERSION:
        if start == 0:
            connection.execute(
                meta.insert().values(key=SCHEMA_VERSION_KEY, value=str(LATEST_VERSION))
            )
        else:
            connection.execute(
                meta.update()
                .where(meta.c.key == SCHEMA_VERSION_KEY)
                .values(value=str(LATEST_VERSION))
            )
    return start, LATEST_VERSION
