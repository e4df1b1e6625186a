"""Looking after a store: what is in it, upgrading its schema, copying its runs elsewhere.

`inspect_store` never creates or changes a store (it opens it read-only); `copy_runs` can be run
again safely: a run is written to the target only when the target lacks it or holds an older
state of it. Neither ever adds a store's tables to a file that is not a store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nbmodelbook.errors import ModelBookError, StoreUnavailable
from nbmodelbook.store import schema
from nbmodelbook.store.backends import (
    backend_for,
    resolve_store_url,
    sqlite_path,
    sqlite_sidecar,
    store_exists,
)
from nbmodelbook.store.store import RunStore

COPY_BATCH = 200  # runs read and written per step (their outputs are read too)


@dataclass(slots=True)
class StoreInfo:
    location: str
    backend: str
    version: int
    latest: int
    runs: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    notebooks: int = 0
    users: int = 0
    first_started: float | None = None
    last_started: float | None = None
    size_bytes: int | None = None

    @property
    def needs_migration(self) -> bool:
        return self.version < self.latest

    def as_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "backend": self.backend,
            "schema_version": self.version,
            "latest_schema_version": self.latest,
            "runs": self.runs,
            "statuses": self.statuses,
            "notebooks": self.notebooks,
            "users": self.users,
            "first_started": self.first_started,
            "last_started": self.last_started,
            "size_bytes": self.size_bytes,
        }


def existing_store_url(url: str | None) -> str:
    """The store's URL; an error when it names a store file that was never created."""
    resolved = resolve_store_url(url)
    if not store_exists(resolved):
        backend = backend_for(resolved)
        raise StoreUnavailable(f"no run store at {backend.describe(resolved)}")
    return resolved


def inspect_store(url: str | None = None) -> StoreInfo:
    """What a store holds, read without creating, upgrading or repairing anything."""
    from sqlalchemy import func, inspect, select

    resolved = existing_store_url(url)
    backend = backend_for(resolved)
    engine = backend.read_engine(resolved)
    try:
        with engine.connect() as connection:
            info = StoreInfo(
                location=backend.describe(resolved),
                backend=backend.scheme,
                version=schema.store_version(connection, backend.describe(resolved)),
                latest=schema.LATEST_VERSION,
            )
            # The runs table has the same columns in every version.
            if inspect(connection).has_table(schema.runs.name):
                runs = schema.runs
                info.statuses = {
                    str(status): int(count)
                    for status, count in connection.execute(
                        select(runs.c.status, func.count()).group_by(runs.c.status)
                    ).all()
                }
                info.runs = sum(info.statuses.values())
                info.notebooks, info.users, info.first_started, info.last_started = (
                    connection.execute(
                        select(
                            func.count(runs.c.notebook.distinct()),
                            func.count(runs.c.user.distinct()),
                            func.min(runs.c.started_at),
                            func.max(runs.c.started_at),
                        )
                    ).one()
                )
    except Exception as exc:
        if isinstance(exc, ModelBookError):
            raise
        raise StoreUnavailable(
            f"cannot read the run store {backend.describe(resolved)}: {exc}"
        ) from exc
    finally:
        engine.dispose()
    path = sqlite_path(resolved)
    if path is not None:
        info.size_bytes = sum(
            part.stat().st_size for part in (path, sqlite_sidecar(path, "-wal")) if part.exists()
        )
    return info


def migrate_store(url: str | None = None) -> tuple[int, int]:
    """Bring an existing store's schema up to date; returns (version before, version now).
    A file that is not a store is refused as it is (inspecting it first changes nothing)."""
    resolved = existing_store_url(url)
    before = inspect_store(resolved).version
    store = RunStore.open(resolved, recover=False)  # opening applies pending migrations
    store.close()
    return before, schema.LATEST_VERSION


@dataclass(slots=True)
class CopyResult:
    copied: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.copied + self.unchanged


def copy_runs(
    source: RunStore, target: RunStore, progress: Callable[[int, int], None] | None = None
) -> CopyResult:
    """Copy every run of `source` into `target`, with its evidence (evaluations, candidates
    and their arrays): what the target already holds in the same state is left alone, a run
    that changed since (it was running, now it ended) replaces its older copy, so copying
    again never duplicates a run."""
    wanted = {row["run_id"]: _state(row) for row in source.run_summaries()}
    held = {row["run_id"]: _state(row) for row in target.run_summaries()}
    todo = [run_id for run_id, state in wanted.items() if held.get(run_id) != state]
    result = CopyResult(unchanged=len(wanted) - len(todo))
    for start in range(0, len(todo), COPY_BATCH):
        batch = todo[start : start + COPY_BATCH]
        for record in source.get_runs(batch).values():
            # One run's evidence at a time: its arrays can be far larger than the runs.
            record.evaluations, record.candidates = source.evidence(record.run_id)
            target.finish_run(record)
            result.copied += 1
        if progress is not None:
            progress(result.copied, len(todo))
    return result


def _state(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["status"], row["ended_at"], row["name"], row["note"], tuple(row["tags"]))
