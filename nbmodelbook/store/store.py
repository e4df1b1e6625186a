"""The run store: open (create, migrate, recover), write runs atomically, read them back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import xxhash

from nbmodelbook.errors import ModelBookError, StoreCorrupted, StoreUnavailable
from nbmodelbook.record import (
    Candidate,
    CapturedOutput,
    Evaluation,
    LineageCell,
    ProcessIdentity,
    RunError,
    RunRecord,
    RunStatus,
    process_alive,
)
from nbmodelbook.redaction import redact_record
from nbmodelbook.store import codec, schema
from nbmodelbook.store.backends import (
    Backend,
    backend_for,
    resolve_store_url,
)
from nbmodelbook.store.evidence import (
    evidence_rows,
    plain_evidence,
    read_evidence,
    referenced_arrays,
    remove_unreferenced_arrays,
    write_evidence,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from nbmodelbook.store.query import Facets, RunPage, RunQuery

# A `running` run on another host is declared crashed once its kernel has been silent this long.
REMOTE_LEASE_SECONDS = 15 * 60

SUMMARY_COLUMNS = (
    "run_id",
    "name",
    "status",
    "notebook",
    "repo",
    "cell_id",
    "execution_count",
    "session_id",
    "user",
    "host",
    "started_at",
    "ended_at",
    "duration",
    "code_hash",
    "tags",
    "note",
    "params",
    "metrics",
    "error_type",
    "error_message",
)


_WRITTEN_MEMORY = 4096
_COUNT_MEMORY = 64
_RUN_ID = SUMMARY_COLUMNS.index("run_id")
_NOTEBOOK = SUMMARY_COLUMNS.index("notebook")
_CODE_HASH = SUMMARY_COLUMNS.index("code_hash")
_SESSION = SUMMARY_COLUMNS.index("session_id")
_REPO = SUMMARY_COLUMNS.index("repo")
_TAGS = SUMMARY_COLUMNS.index("tags")
_PARAMS = SUMMARY_COLUMNS.index("params")
_METRICS = SUMMARY_COLUMNS.index("metrics")


class RunStore:
    """One store, shared safely by kernels, the Jupyter server and the CLI."""

    def __init__(self, url: str, backend: Backend, engine: Engine) -> None:
        self.url = url
        self.backend = backend
        self.engine = engine
        self.read_only = False  # opened by `open_read_only`: every write is refused
        self.notices: list[str] = []
        self._prepared: _Statements | None = None
        self._last_environment: tuple[dict[str, Any], str, str] | None = None
        self._cache: dict[str, tuple[Any, ...]] = {}
        self._written: dict[tuple[str, str | None], None] = {}
        self._cache_seq = -1
        self._cached_rows: list[tuple[Any, ...]] = []
        self._cache_lock = threading.Lock()
        # Totals of recent filters, with the write counter they were counted at.
        self._counts: dict[tuple[Any, ...], tuple[Any, int]] = {}
        self._counts_lock = threading.Lock()  # browse widgets refresh from the writer thread

    @property
    def location(self) -> str:
        return self.backend.describe(self.url)

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None, *, recover: bool = True) -> RunStore:
        """Open to write runs, creating the store or upgrading its schema.

        `recover` is for a kernel recording runs: a damaged SQLite file is moved aside (never
        deleted) and a new store started, and runs left `running` by dead kernels are marked
        crashed. Without it, a damaged file or one that is not a store is refused as it is.
        A database of another application is always refused, never given a store's tables.
        """
        resolved = resolve_store_url(url)
        backend = backend_for(resolved)
        if not recover:
            backend.check_location(resolved)
        if backend.owns_database:
            cls._refuse_foreign_database(resolved, backend)
        notices: list[str] = []
        store = cls._connect(resolved, backend, notices, quarantine=recover)
        store.notices.extend(notices)
        if recover:
            try:
                store.recover_orphans()
            except Exception as exc:  # e.g. a read-only store: reading it must still work
                store.notices.append(f"could not mark crashed runs in {store.location}: {exc}")
        return store

    @classmethod
    def open_read_only(cls, url: str | None = None) -> RunStore:
        """Open an existing store only to read it: nothing is created, migrated, moved aside or
        written, not even the crashed state of a run whose kernel died (its readers are shown
        it as crashed; a kernel opening the store writes it).

        A location that is not a nbmodelbook store (a text file, an empty file, a database of
        something else) raises NotAStore; a missing store file or a damaged one raises
        StoreUnavailable; a store of an older schema that cannot be read as it is says to run
        `nbmodelbook store migrate`.
        """
        from sqlalchemy.exc import DBAPIError

        resolved = resolve_store_url(url)
        backend = backend_for(resolved)
        engine = backend.read_engine(resolved)
        store = cls(resolved, backend, engine)
        store.read_only = True
        try:
            with store._read() as connection:
                schema.check_readable(connection, store.location)
        except DBAPIError as exc:
            engine.dispose()
            raise cls._unreadable(backend, resolved, exc) from exc
        except BaseException:
            engine.dispose()
            raise
        return store

    @staticmethod
    def _unreadable(backend: Backend, url: str, exc: BaseException) -> StoreUnavailable:
        detail = str(getattr(exc, "orig", exc)) or type(exc).__name__
        where = backend.describe(url)
        if backend.is_corruption(exc):
            return StoreCorrupted(
                f"the run store {where} is damaged ({detail}); reading it changed nothing. "
                "A kernel that records a run moves it aside and starts a new store"
            )
        return StoreUnavailable(f"the store {where} could not be read ({detail})")

    @staticmethod
    def _refuse_foreign_database(url: str, backend: Backend) -> None:
        """Before a write connection touches an existing file (switching it to WAL already
        writes), make sure it is not another application's database."""
        from sqlalchemy.exc import DBAPIError

        try:
            engine = backend.read_engine(url)
        except ModelBookError:
            return  # no file yet, or not a database: the write path creates or refuses it
        try:
            with engine.connect() as connection:
                schema.refuse_foreign_database(connection, backend.describe(url))
        except DBAPIError:
            return  # damaged: the write path moves it aside or refuses it
        finally:
            engine.dispose()

    @classmethod
    def _connect(
        cls, url: str, backend: Backend, notices: list[str], *, quarantine: bool
    ) -> RunStore:
        from sqlalchemy.exc import DBAPIError

        for attempt in range(2):
            engine = backend.create_engine(url)
            store = cls(url, backend, engine)
            try:
                store._ensure_schema()
                return store
            except DBAPIError as exc:
                engine.dispose()
                if not quarantine and backend.is_corruption(exc):
                    raise StoreCorrupted(
                        f"the run store {backend.describe(url)} is damaged "
                        f"({getattr(exc, 'orig', exc)}); nothing was changed"
                    ) from exc
                if attempt == 0 and backend.is_corruption(exc):
                    moved = backend.quarantine(url)
                    if moved is not None:
                        notices.append(
                            f"the run store {backend.describe(url)} was damaged; it was moved "
                            f"to {moved} (nothing deleted) and a new store was started"
                        )
                    continue
                raise _unavailable(backend, url, exc) from exc
        raise StoreCorrupted(f"the run store {backend.describe(url)} is damaged")

    def _ensure_schema(self) -> None:
        with self.engine.connect() as connection:
            if schema.current_version(connection) == schema.LATEST_VERSION:
                return
        with self._write() as connection:
            self.backend.lock_schema(connection)
            schema.migrate(connection)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self.read_only:
            raise StoreUnavailable(
                f"the store {self.location} was opened to read only: nothing is written to it"
            )
        with self.engine.connect() as connection:
            self.backend.begin_write(connection)
            with connection.begin():
                yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            reading = self.backend.begin_read(connection)
            with reading.begin():
                yield reading

    # --- kernels -----------------------------------------------------------------------------

    def register_kernel(self, session_id: str, identity: ProcessIdentity, now: float) -> None:
        with self._write() as connection:
            connection.execute(
                schema.kernels.delete().where(schema.kernels.c.session_id == session_id)
            )
            connection.execute(
                schema.kernels.insert().values(
                    session_id=session_id,
                    host=identity.host,
                    pid=identity.pid,
                    pid_start=identity.pid_start,
                    user=identity.user,
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    def heartbeat(self, session_id: str, now: float) -> None:
        with self._write() as connection:
            connection.execute(
                schema.kernels.update()
                .where(schema.kernels.c.session_id == session_id)
                .values(heartbeat_at=now)
            )

    def schema_is_current(self) -> bool:
        """Whether the store is at this nbmodelbook's schema (opening it to write changes
        nothing of its tables then)."""
        with self._read() as connection:
            return schema.current_version(connection) == schema.LATEST_VERSION

    def orphaned_runs(self, now: float | None = None) -> dict[str, float]:
        """`running` runs whose kernel is gone, with when each was last seen (reads only)."""
        from sqlalchemy import select

        now = time.time() if now is None else now
        here = ProcessIdentity.current().host
        runs, kernels = schema.runs, schema.kernels
        query = (
            select(
                runs.c.run_id,
                runs.c.started_at,
                kernels.c.host,
                kernels.c.pid,
                kernels.c.pid_start,
                kernels.c.heartbeat_at,
            )
            .select_from(runs.outerjoin(kernels, runs.c.session_id == kernels.c.session_id))
            .where(runs.c.status == RunStatus.RUNNING.value)
        )
        with self._read() as connection:
            candidates = connection.execute(query).all()
        orphans: dict[str, float] = {}
        for run_id, started_at, host, pid, pid_start, heartbeat_at in candidates:
            last_seen = max(started_at, heartbeat_at or 0.0)
            if host == here:
                dead = not process_alive(int(pid), pid_start)
            else:  # another host, or no kernel row: only silence tells
                dead = now - last_seen > REMOTE_LEASE_SECONDS
            if dead:
                orphans[run_id] = last_seen
        return orphans

    def recover_orphans(self, now: float | None = None) -> list[str]:
        """Mark `running` runs whose kernel is gone as `crashed`; returns their ids."""
        now = time.time() if now is None else now
        crashed = self.orphaned_runs(now)
        if not crashed:
            return []
        message = _kernel_died_message(now)
        runs = schema.runs
        with self._write() as connection:
            for run_id, last_seen in crashed.items():
                connection.execute(
                    runs.update()
                    .where(runs.c.run_id == run_id, runs.c.status == RunStatus.RUNNING.value)
                    .values(
                        seq=schema.next_seq(connection),
                        status=RunStatus.CRASHED.value,
                        ended_at=last_seen,
                        error_type=KERNEL_DIED,
                        error_message=message,
                    )
                )
        return list(crashed)

    def _seen_crashed(self) -> dict[str, float]:
        """A read-only store writes no `crashed` state: its readers are shown it instead."""
        return self.orphaned_runs() if self.read_only else {}

    # --- writing -----------------------------------------------------------------------------

    def begin_run(self, record: RunRecord) -> None:
        """Record that a run started, so a kernel death mid-cell is visible later."""
        record = redact_record(record)
        statements = self._statements()
        with self._write() as connection:
            connection.execute(
                statements.insert_code, [{"code_hash": record.code_hash, "code": record.code}]
            )
            row = _run_row(record, None)
            row["seq"] = schema.next_seq(connection)
            replaced = self._delete_run(connection, record.run_id)
            connection.execute(statements.insert_run, row)
            if replaced:
                remove_unreferenced_arrays(connection, replaced)

    def finish_run(self, record: RunRecord) -> None:
        """Write the whole run in one transaction: all of it becomes visible, or none.

        Whatever wrote the record (a kernel, an import, a copy, the journal), its secrets are
        redacted here, on the way in. Its evidence (evaluations, candidates) is written with
        it, and any of its arrays the store does not hold yet; ArrayNotEncodable, with nothing
        written, for an array the store cannot keep."""
        record = self._redacted(plain_evidence(record))
        statements = self._statements()
        run_id = record.run_id
        evidence = evidence_rows(run_id, record.evaluations, record.candidates)
        # Encoded before the write lock is taken (the slow part of a large array), unless
        # this store wrote it lately: then it is most likely there already.
        encoded = {
            key: array.encode()
            for key, array in evidence.arrays.items()
            if ("array", key) not in self._written
        }
        environment, env_hash = self._encoded_environment(record.environment)
        codes = {record.code_hash: record.code}
        for cell in record.lineage:
            codes.setdefault(cell.code_hash, cell.code)
        # Code and environments are content-addressed: what this store wrote once is there.
        new_codes = [
            {"code_hash": key, "code": code}
            for key, code in codes.items()
            if ("code", key) not in self._written
        ]
        new_environment = environment is not None and ("env", env_hash) not in self._written
        with self._write() as connection:
            if new_codes:
                connection.execute(statements.insert_code, new_codes)
            if new_environment:
                connection.execute(
                    statements.insert_environment, {"env_hash": env_hash, "data": environment}
                )
            # The write counter first: on PostgreSQL it orders this write after every other
            # (what the arrays' bookkeeping below relies on).
            row = _run_row(record, env_hash)
            row["seq"] = schema.next_seq(connection)
            # Replaces the `running` row, if any; its children go with it (ON DELETE CASCADE).
            replaced = self._delete_run(connection, run_id)
            connection.execute(statements.insert_run, row)
            connection.execute(
                statements.insert_details,
                {
                    "run_id": run_id,
                    "error_traceback": record.error.traceback if record.error else None,
                    "inputs": codec.dumps(record.inputs),
                    "lineage": codec.dumps([_lineage_row(cell) for cell in record.lineage]),
                    "extra": codec.dumps(record.extra),
                },
            )
            if record.params:
                connection.execute(
                    statements.insert_param,
                    [
                        {
                            "run_id": run_id,
                            "key": key,
                            "value": codec.dumps(value),
                            "num": codec.numeric_or_none(value),
                        }
                        for key, value in record.params.items()
                    ],
                )
            if record.metrics:
                rows = []
                for key, value in record.metrics.items():
                    number, special = codec.split_metric(float(value))
                    rows.append({"run_id": run_id, "key": key, "value": number, "special": special})
                connection.execute(statements.insert_metric, rows)
            if record.tags:
                connection.execute(
                    statements.insert_tag,
                    [{"run_id": run_id, "tag": tag} for tag in dict.fromkeys(record.tags)],
                )
            if record.outputs:
                connection.execute(
                    statements.insert_output,
                    [
                        {
                            "run_id": run_id,
                            "position": position,
                            "mime": output.mime,
                            "data": output.data.encode("utf-8"),
                            "size": output.size,
                            "truncated": int(output.truncated),
                        }
                        for position, output in enumerate(record.outputs)
                    ],
                )
            if not evidence.empty:
                write_evidence(connection, run_id, evidence, statements.insert_array, encoded)
            if replaced:  # arrays only the replaced state of the run used
                remove_unreferenced_arrays(connection, replaced)
        # Only after the commit: a rolled-back write must not be remembered as done.
        self._remember_written(
            *(("code", key) for key in codes),
            ("env", env_hash),
            *(("array", key) for key in evidence.arrays),
        )

    def _delete_run(self, connection: Connection, run_id: str) -> list[str]:
        """Delete a run and its children (ON DELETE CASCADE); returns the arrays it used,
        which the caller removes once no run uses them."""
        statements = self._statements()
        used = list(connection.execute(statements.select_run_arrays, {"id": run_id}).scalars())
        connection.execute(statements.delete_run, {"id": run_id})
        return used

    def remove_runs(self, run_ids: Sequence[str]) -> int:
        """Delete these runs, with their details, outputs and evidence, in one transaction;
        the arrays no remaining run uses go with them. Returns how many runs were removed."""
        runs = schema.runs
        removed = 0
        with self._write() as connection:
            schema.next_seq(connection)  # readers see a change; orders writers (PostgreSQL)
            for chunk in _chunks(run_ids):
                used = referenced_arrays(connection, chunk)
                deleted = connection.execute(runs.delete().where(runs.c.run_id.in_(chunk)))
                removed += int(deleted.rowcount or 0)
                remove_unreferenced_arrays(connection, used)
        return removed

    def remove_unreferenced_arrays(self) -> int:
        """Delete every array no run uses (left by runs removed behind the store's back, by
        hand); returns how many went."""
        with self._write() as connection:
            schema.next_seq(connection)
            return remove_unreferenced_arrays(connection, None)

    def _remember_written(self, *keys: tuple[str, str | None]) -> None:
        for key in keys:
            self._written[key] = None
        while len(self._written) > _WRITTEN_MEMORY:
            self._written.pop(next(iter(self._written)))

    def _redacted(self, record: RunRecord) -> RunRecord:
        """`redact_record`, but the environment this store wrote last time is not walked
        again: a kernel hands the same (unchanged) dict for run after run, and what is written
        of it is that earlier encoding (see `_encoded_environment`)."""
        last = self._last_environment
        if last is None or record.environment is not last[0]:
            return redact_record(record)
        redacted = redact_record(replace(record, environment={}))
        redacted.environment = record.environment
        return redacted

    def _encoded_environment(self, env: dict[str, Any]) -> tuple[str | None, str | None]:
        """JSON and hash of a run's environment; the same dict as last time is not re-encoded."""
        if not env:
            return None, None
        cached = self._last_environment
        if cached is not None and cached[0] is env:
            return cached[1], cached[2]
        text = codec.dumps(env)
        encoded = (env, text, _hash_text(text))
        self._last_environment = encoded
        return encoded[1], encoded[2]

    def _statements(self) -> _Statements:
        # Built once: constructing SQLAlchemy statements per run costs more than running them.
        if self._prepared is None:
            self._prepared = _Statements.build(self.backend)
        return self._prepared

    # --- reading -----------------------------------------------------------------------------

    def run_summaries(
        self,
        *,
        notebook: str | None = None,
        session_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Run rows (no code or details), oldest first, optionally of one notebook or session."""
        return table_rows(self.run_table(notebook=notebook, session_id=session_id, limit=limit))

    def run_table(
        self,
        *,
        notebook: str | None = None,
        session_id: str | None = None,
        repo: str | None = None,
        marked: Sequence[str] = (),
        cell_hashes: Sequence[str] = (),
        limit: int | None = None,
    ) -> dict[str, list[Any]]:
        """The same runs column by column (what a DataFrame is built from, without row dicts).

        With a notebook, its runs as `NotebookRuns` says (`marked`: the ids its saved run
        markers name; `cell_hashes`: its tracked cells' code hashes). Non-finite metrics stay
        as their JSON names ("NaN", "Infinity"), which pandas reads as floats;
        `run_summaries` converts them.
        """
        from nbmodelbook.store.query import NotebookRuns

        runs = schema.runs
        scope = None
        if notebook is not None:
            scope = NotebookRuns(notebook, repo, tuple(marked), tuple(cell_hashes))
        if limit is not None:
            conditions = []
            if scope is not None:
                conditions.append(scope.condition())
            elif repo is not None:
                conditions.append(schema.of_repository(repo))
            if session_id is not None:
                conditions.append(runs.c.session_id == session_id)
            return self._as_seen(self._table(*conditions, limit=limit))
        with self._cache_lock:
            self._refresh_cache()
            rows = self._cached_rows
        if scope is not None:
            rows = [
                row
                for row in rows
                if scope.holds(row[_RUN_ID], row[_NOTEBOOK], row[_REPO], row[_CODE_HASH])
            ]
        elif repo is not None:
            rows = [row for row in rows if row[_REPO] in (None, repo)]
        if session_id is not None:
            rows = [row for row in rows if row[_SESSION] == session_id]
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(SUMMARY_COLUMNS)
        table = {name: list(values) for name, values in zip(SUMMARY_COLUMNS, columns, strict=True)}
        return self._as_seen(table)

    def _as_seen(self, table: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """The run table with the crash of a run whose kernel died (see `_seen_crashed`)."""
        crashed = self._seen_crashed()
        if not crashed:
            return table
        message = _kernel_died_message(time.time())
        for index, run_id in enumerate(table["run_id"]):
            if run_id in crashed:
                table["status"][index] = RunStatus.CRASHED.value
                table["ended_at"][index] = crashed[run_id]
                table["duration"][index] = max(0.0, crashed[run_id] - table["started_at"][index])
                table["error_type"][index] = KERNEL_DIED
                table["error_message"][index] = message
        return table

    def _refresh_cache(self) -> None:
        """Fetch only the runs written since the last read (every write bumps `seq`)."""
        from sqlalchemy import func, select

        runs = schema.runs
        query = select(*(runs.c[name] for name in SUMMARY_COLUMNS), runs.c.seq).where(
            runs.c.seq > self._cache_seq
        )
        with self._read() as connection:
            fetched = connection.execute(query).all()
            total = connection.execute(select(func.count()).select_from(runs)).scalar() or 0
        if fetched:
            decoded = self._decode([row[:-1] for row in fetched])
            for row in decoded:
                self._cache[row[0]] = row
            self._cache_seq = max(self._cache_seq, max(row[-1] for row in fetched))
        if len(self._cache) != total:
            # Rows vanished (another tool deleted runs): start over rather than guess.
            self._cache.clear()
            self._cache_seq = -1
            self._refresh_cache()
            return
        if fetched:
            self._cached_rows = [self._cache[run_id] for run_id in sorted(self._cache)]

    @staticmethod
    def _decode(rows: Sequence[Any]) -> list[tuple[Any, ...]]:
        if not rows:
            return []
        columns = [list(values) for values in zip(*rows, strict=True)]
        # One JSON parse per column instead of one per cell: an order of magnitude faster.
        for index, empty in ((_TAGS, "[]"), (_PARAMS, "{}"), (_METRICS, "{}")):
            columns[index] = codec.loads_many([text or empty for text in columns[index]])
        return list(zip(*columns, strict=True))

    def _table(self, *conditions: Any, limit: int | None = None) -> dict[str, list[Any]]:
        from sqlalchemy import select

        runs = schema.runs
        # Run ids start with their start time in ms, so the primary key is the time order;
        # ordering by it avoids a sort of every row.
        query = select(*(runs.c[name] for name in SUMMARY_COLUMNS)).order_by(runs.c.run_id)
        if conditions:
            query = query.where(*conditions)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as connection:
            rows = self._decode(connection.execute(query).all())
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(SUMMARY_COLUMNS)
        return {name: list(values) for name, values in zip(SUMMARY_COLUMNS, columns, strict=True)}

    def notebook_summaries(
        self,
        notebook: str,
        *,
        repo: str | None = None,
        run_ids: Sequence[str] = (),
        orphan_code_hashes: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """A notebook's runs (the rule of `NotebookRuns`): filed under its path (and, when
        known, its repository), named by its run markers, or (last resort) runs of an unknown
        notebook whose code hash matches one of its cells."""
        from nbmodelbook.store.query import NotebookRuns

        scope = NotebookRuns(notebook, repo, tuple(run_ids), tuple(orphan_code_hashes))
        return table_rows(self._as_seen(self._table(scope.condition())))

    def query_runs(self, query: RunQuery) -> RunPage:
        """One page of runs, filtered and sorted in the database, with the total that match.

        The total is counted again only when the filters or the store's contents changed:
        sorting and paging, most of a person's clicks, cost one page query.
        """
        from sqlalchemy import select

        from nbmodelbook.store.query import RunPage, count_statement, page_ids

        contains = self.backend.contains
        runs = schema.runs
        with self._read() as connection:
            ids = page_ids(connection, query, contains)
            fetched = connection.execute(
                select(*(runs.c[name] for name in SUMMARY_COLUMNS)).where(runs.c.run_id.in_(ids))
            ).all()
            position = {run_id: index for index, run_id in enumerate(ids)}
            rows = self._decode(sorted(fetched, key=lambda row: position[row[0]]))
            seq = connection.execute(schema.read_seq()).scalar_one_or_none()
            with self._counts_lock:
                cached = self._counts.get(query.filter_key)
            if len(ids) < query.limit and (ids or not query.offset):
                # The page holds the last match: the total is known without a second scan
                # (what makes a filter that matches little as cheap as one that matches much).
                total = query.offset + len(ids)
            elif cached is not None and cached[0] == seq and seq is not None:
                total = cached[1]
            else:
                total = int(connection.execute(count_statement(query, contains)).scalar() or 0)
                with self._counts_lock:
                    while len(self._counts) >= _COUNT_MEMORY:
                        self._counts.pop(next(iter(self._counts)))
                    self._counts[query.filter_key] = (seq, total)
        table = {name: [row[index] for row in rows] for index, name in enumerate(SUMMARY_COLUMNS)}
        return RunPage(query=query, rows=table_rows(table), total=total)

    def facets(self, query: RunQuery, *, params: bool = True, newest: int | None = None) -> Facets:
        """Metric and param names, tags and statuses of the runs a query selects, by frequency.

        `newest` counts only the newest runs (what a person is working on now, and bounded
        time on a large store); `params=False` skips the param names, the costliest count.
        """
        from nbmodelbook.store.query import Facets, facet_statements

        found = Facets()
        statements = facet_statements(query, self.backend.contains, newest)
        if not params:
            del statements["params"]
        with self._read() as connection:
            for name, statement in statements.items():
                counts = [(str(key), int(n)) for key, n in connection.execute(statement).all()]
                setattr(found, name, counts)
        found.total = sum(n for _, n in found.statuses)
        return found

    def run_names(self) -> list[str]:
        """Every distinct run name (for suggestions when a name matches no run)."""
        from sqlalchemy import select

        with self._read() as connection:
            names = connection.execute(select(schema.runs.c.name).distinct()).scalars().all()
        return sorted(str(name) for name in names)

    def count(self) -> int:
        from sqlalchemy import func, select

        with self._read() as connection:
            total = connection.execute(select(func.count()).select_from(schema.runs)).scalar()
            return int(total or 0)

    def resolve(self, ref: str, *, notebook: str | None = None) -> str | None:
        """A run id from a full id, an id prefix (≥ 6 digits) or a name (its latest run)."""
        from sqlalchemy import select

        runs = schema.runs
        with self._read() as connection:
            exact = connection.execute(
                select(runs.c.run_id).where(runs.c.run_id == ref)
            ).scalar_one_or_none()
            if exact is not None:
                return str(exact)
            by_name = select(runs.c.run_id).where(runs.c.name == ref)
            if notebook is not None:
                scoped = connection.execute(
                    by_name.where(runs.c.notebook == notebook)
                    .order_by(runs.c.started_at.desc())
                    .limit(1)
                ).scalar_one_or_none()
                if scoped is not None:
                    return str(scoped)
            latest = connection.execute(
                by_name.order_by(runs.c.started_at.desc()).limit(1)
            ).scalar_one_or_none()
            if latest is not None:
                return str(latest)
            if len(ref) >= 6 and all(ch in "0123456789abcdef" for ch in ref.lower()):
                return _run_id_by_prefix(connection, ref.lower())
        return None

    def find_run_id(self, prefix: str) -> str | None:
        """The run whose id is `prefix` or starts with it (None when none or several do).

        Ids only: unlike `resolve`, a run *named* like a hex string is not found here.
        """
        with self._read() as connection:
            return _run_id_by_prefix(connection, prefix)

    def write_counter(self) -> int:
        """The store-wide write counter: it grows with every run written or changed."""
        with self._read() as connection:
            value = connection.execute(schema.read_seq()).scalar_one_or_none()
        return int(value or 0)

    def get_run(self, run_id: str, *, evidence: bool = False) -> RunRecord | None:
        """The full record of one run, with code, lineage, inputs, outputs and environment
        (and its evaluations and candidates, with `evidence`)."""
        return self.get_runs([run_id], evidence=evidence).get(run_id)

    def evidence(self, run_id: str) -> tuple[list[Evaluation], list[Candidate]]:
        """The evidence behind a run's metrics: its evaluations (arrays decoded, read-only)
        and the candidates its searches tried. Empty for a run without any, an unknown run
        or a store older than the evidence tables."""
        with self._read() as connection:
            found = read_evidence(connection, [run_id])
        return found.get(run_id, ([], []))

    def candidate_counts(self, run_ids: Sequence[str]) -> dict[str, int]:
        """How many candidates (configurations of searches and cross-validations) each run
        tried, counted in the store without reading them: one grouped query per chunk of ids.
        Runs with none are left out; a store older than the evidence tables has none."""
        from sqlalchemy import func, select

        table = schema.candidates
        counts: dict[str, int] = {}
        with self._read() as connection:
            if not run_ids or not schema.has_evidence(connection):
                return {}
            for chunk in _chunks(run_ids):
                rows = connection.execute(
                    select(table.c.run_id, func.count())
                    .where(table.c.run_id.in_(chunk))
                    .group_by(table.c.run_id)
                )
                counts.update((str(run_id), int(count)) for run_id, count in rows)
        return counts

    def get_runs(
        self, run_ids: Sequence[str], *, with_outputs: bool = True, evidence: bool = False
    ) -> dict[str, RunRecord]:
        """Full records of many runs in a handful of queries (missing ids are left out).

        Their evidence (evaluations and candidates, arrays decoded) is read only when asked
        for: it can be far larger than the rest of a run."""
        from sqlalchemy import select

        runs, details, outputs_table = schema.runs, schema.run_details, schema.run_outputs
        rows: list[Any] = []
        outputs: dict[str, list[CapturedOutput]] = {}
        with self._read() as connection:
            for chunk in _chunks(run_ids):
                rows.extend(
                    connection.execute(
                        select(
                            runs,
                            details.c.error_traceback,
                            details.c.inputs,
                            details.c.lineage,
                            details.c.extra,
                        )
                        .select_from(runs.outerjoin(details, runs.c.run_id == details.c.run_id))
                        .where(runs.c.run_id.in_(chunk))
                    )
                    .mappings()
                    .all()
                )
                if with_outputs:
                    for output in connection.execute(
                        select(outputs_table)
                        .where(outputs_table.c.run_id.in_(chunk))
                        .order_by(outputs_table.c.run_id, outputs_table.c.position)
                    ).mappings():
                        outputs.setdefault(output["run_id"], []).append(
                            CapturedOutput(
                                mime=output["mime"],
                                data=bytes(output["data"]).decode("utf-8"),
                                size=output["size"],
                                truncated=bool(output["truncated"]),
                            )
                        )
            lineages = {row["run_id"]: codec.loads(row["lineage"], []) for row in rows}
            code_hashes = [row["code_hash"] for row in rows if row["code_hash"]]
            code_hashes += [entry["code_hash"] for lin in lineages.values() for entry in lin]
            codes = self._codes(connection, code_hashes)
            environments = self._environments(
                connection, [row["env_hash"] for row in rows if row["env_hash"]]
            )
            evidence_of = read_evidence(connection, run_ids) if evidence else {}
        records = {}
        for row in rows:
            run_id = row["run_id"]
            error = None
            if row["error_type"] is not None:
                error = RunError(
                    type=row["error_type"],
                    message=row["error_message"] or "",
                    traceback=row["error_traceback"] or "",
                )
            records[run_id] = RunRecord(
                run_id=run_id,
                name=row["name"],
                started_at=row["started_at"],
                code=codes.get(row["code_hash"] or "", ""),
                code_hash=row["code_hash"] or "",
                status=RunStatus(row["status"]),
                notebook=row["notebook"],
                repo=row["repo"],
                cell_id=row["cell_id"],
                execution_count=row["execution_count"],
                session_id=row["session_id"],
                user=row["user"],
                host=row["host"],
                ended_at=row["ended_at"],
                tags=codec.loads(row["tags"], []),
                note=row["note"],
                params=codec.loads(row["params"], {}),
                metrics={
                    key: codec.metric_value(value)
                    for key, value in codec.loads(row["metrics"], {}).items()
                },
                inputs=codec.loads(row["inputs"], {}),
                outputs=outputs.get(run_id, []),
                lineage=[
                    LineageCell(code=codes.get(entry["code_hash"], ""), **entry)
                    for entry in lineages[run_id]
                ],
                environment=environments.get(row["env_hash"] or "", {}),
                error=error,
                extra=codec.loads(row["extra"], {}),
            )
            if run_id in evidence_of:
                records[run_id].evaluations, records[run_id].candidates = evidence_of[run_id]
        crashed = self._seen_crashed()
        if crashed:
            message = _kernel_died_message(time.time())
            for run_id in crashed.keys() & records.keys():
                records[run_id].status = RunStatus.CRASHED
                records[run_id].ended_at = crashed[run_id]
                records[run_id].error = RunError(KERNEL_DIED, message, "")
        return records

    def _environments(self, connection: Connection, hashes: Sequence[str]) -> dict[str, Any]:
        from sqlalchemy import select

        table = schema.environments
        found: dict[str, Any] = {}
        for chunk in _chunks(hashes):
            for env_hash, data in connection.execute(
                select(table.c.env_hash, table.c.data).where(table.c.env_hash.in_(chunk))
            ):
                found[env_hash] = codec.loads(data, {})
        return found

    def _codes(self, connection: Connection, hashes: Sequence[str]) -> dict[str, str]:
        from sqlalchemy import select

        blobs = schema.code_blobs
        found: dict[str, str] = {}
        for chunk in _chunks(hashes):
            rows = connection.execute(
                select(blobs.c.code_hash, blobs.c.code).where(blobs.c.code_hash.in_(chunk))
            ).all()
            found.update({code_hash: code for code_hash, code in rows})
        return found


KERNEL_DIED = "KernelDied"


def _kernel_died_message(detected_at: float) -> str:
    detected = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(detected_at))
    return (
        "the kernel stopped while this cell was running (killed, out of memory or crashed); "
        f"detected {detected}"
    )


def table_rows(table: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Columns back to one dict per run, metrics as floats."""
    names = list(table)
    rows = [dict(zip(names, row, strict=True)) for row in zip(*table.values(), strict=True)]
    for row in rows:
        row["metrics"] = {key: codec.metric_value(value) for key, value in row["metrics"].items()}
    return rows


def _chunks(values: Sequence[str], size: int = 500) -> list[list[str]]:
    """IN-lists in bounded pieces: SQL engines cap the number of bound parameters."""
    unique = list(dict.fromkeys(values))
    return [unique[start : start + size] for start in range(0, len(unique), size)]


def _run_row(record: RunRecord, env_hash: str | None) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "name": record.name,
        "status": record.status.value,
        "notebook": record.notebook,
        "repo": record.repo,
        "cell_id": record.cell_id,
        "execution_count": record.execution_count,
        "session_id": record.session_id,
        "user": record.user,
        "host": record.host,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "duration": record.duration,
        "code_hash": record.code_hash,
        "tags": codec.dumps(record.tags),
        "note": record.note,
        "params": codec.dumps(record.params),
        "metrics": codec.dumps(record.metrics),
        "error_type": record.error.type if record.error else None,
        "error_message": record.error.message if record.error else None,
        "env_hash": env_hash,
    }


def _lineage_row(cell: LineageCell) -> dict[str, Any]:
    row = asdict(cell)
    del row["code"]  # stored once in the code table
    return row


def _hash_text(text: str) -> str:
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class _Statements:
    insert_code: Any
    insert_environment: Any
    delete_run: Any
    insert_run: Any
    insert_details: Any
    insert_param: Any
    insert_metric: Any
    insert_tag: Any
    insert_output: Any
    insert_array: Any
    select_run_arrays: Any

    @classmethod
    def build(cls, backend: Backend) -> _Statements:
        from sqlalchemy import bindparam, insert, select

        return cls(
            insert_code=backend.insert_ignore(schema.code_blobs),
            insert_environment=backend.insert_ignore(schema.environments),
            delete_run=schema.runs.delete().where(schema.runs.c.run_id == bindparam("id")),
            insert_run=insert(schema.runs),
            insert_details=insert(schema.run_details),
            insert_param=insert(schema.run_params),
            insert_metric=insert(schema.run_metrics),
            insert_tag=insert(schema.run_tags),
            insert_output=insert(schema.run_outputs),
            insert_array=backend.insert_ignore(schema.arrays),
            select_run_arrays=select(schema.run_arrays.c.hash).where(
                schema.run_arrays.c.run_id == bindparam("id")
            ),
        )


def _unavailable(backend: Backend, url: str, exc: BaseException) -> StoreUnavailable:
    detail = str(getattr(exc, "orig", exc)) or type(exc).__name__
    where = backend.describe(url)
    if "readonly" in detail.replace(" ", "").lower() or "unable to open" in detail.lower():
        hint = f"the store {where} is not writable ({detail})"
    else:
        hint = f"the store {where} could not be used ({detail})"
    return StoreUnavailable(f"{hint}. Set NBMODELBOOK_STORE to a writable path or URL.")


def _run_id_by_prefix(connection: Connection, prefix: str) -> str | None:
    from sqlalchemy import select

    runs = schema.runs
    found = connection.execute(
        select(runs.c.run_id).where(runs.c.run_id.startswith(prefix, autoescape=True)).limit(2)
    ).all()
    return str(found[0][0]) if len(found) == 1 else None
