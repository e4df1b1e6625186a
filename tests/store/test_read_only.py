"""Opening a store to read it creates, migrates, moves and writes nothing, on every backend; and
a store opened to write never takes over a file that is not a store."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from nbmodelbook.errors import NotAStore, StoreCorrupted, StoreUnavailable
from nbmodelbook.record import ProcessIdentity, RunStatus
from nbmodelbook.store import schema
from nbmodelbook.store.store import RunStore
from tests.widgets._runs import record


def listing(folder: Path) -> dict[str, tuple[int, int, str]]:
    return {
        path.name: (
            path.stat().st_size,
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(folder.iterdir())
    }


def idle_store(path: Path, *names: str) -> Path:
    """A store with these runs, closed by its writer: no -wal or -shm beside it."""
    writer = RunStore.open(str(path))
    for index, name in enumerate(names):
        writer.finish_run(record(index, name))
    writer.close()
    assert [entry.name for entry in path.parent.iterdir()] == [path.name]
    return path


def test_an_idle_store_is_read_without_making_any_file(tmp_path: Path) -> None:
    path = idle_store(tmp_path / "runs.sqlite", "a", "b")
    before = listing(tmp_path)
    reader = RunStore.open_read_only(str(path))
    assert sorted(reader.run_names()) == ["a", "b"]
    assert reader.get_run(reader.run_summaries()[0]["run_id"]) is not None
    assert listing(tmp_path) == before  # no -wal, no -shm, the file untouched
    reader.close()
    assert listing(tmp_path) == before


def test_a_reader_kept_open_sees_what_kernels_write_later(tmp_path: Path) -> None:
    """The server keeps one reader per store for hours: kernels that come and go, and one that
    stays, must all show up in it."""
    path = idle_store(tmp_path / "runs.sqlite", "a")
    reader = RunStore.open_read_only(str(path))
    assert reader.run_names() == ["a"]

    passing = RunStore.open(str(path))  # a kernel that writes and goes away
    passing.finish_run(record(1, "b"))
    passing.close()
    assert not (tmp_path / "runs.sqlite-shm").exists()
    assert sorted(reader.run_names()) == ["a", "b"]

    staying = RunStore.open(str(path))  # a kernel that keeps the store open
    staying.finish_run(record(2, "c"))
    assert (tmp_path / "runs.sqlite-shm").exists()
    assert sorted(reader.run_names()) == ["a", "b", "c"]
    staying.finish_run(record(3, "d"))  # in its WAL, not yet in the main file
    assert sorted(reader.run_names()) == ["a", "b", "c", "d"]
    assert reader.count() == 4
    staying.close()
    reader.close()


def test_a_store_opened_to_read_refuses_every_write(tmp_path: Path) -> None:
    path = idle_store(tmp_path / "runs.sqlite", "a")
    before = listing(tmp_path)
    reader = RunStore.open_read_only(str(path))
    with pytest.raises(StoreUnavailable, match="opened to read only"):
        reader.finish_run(record(5, "sneaky"))
    with pytest.raises(StoreUnavailable, match="opened to read only"):
        reader.register_kernel("k", ProcessIdentity.current(), time.time())
    reader.close()
    assert listing(tmp_path) == before


def test_a_reader_shows_a_dead_kernels_run_as_crashed_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    writer = RunStore.open(str(path))
    stuck = record(0, "stuck", status=RunStatus.RUNNING, session_id="gone", ended_at=None)
    writer.begin_run(stuck)
    writer.close()
    before = listing(tmp_path)
    reader = RunStore.open_read_only(str(path))
    [row] = reader.run_summaries()
    assert row["status"] == "crashed" and row["error_type"] == "KernelDied"
    assert row["ended_at"] == stuck.started_at
    [listed] = reader.notebook_summaries(str(stuck.notebook), run_ids=[stuck.run_id])
    assert listed["status"] == "crashed"  # what `nbmodelbook runs NOTEBOOK` lists
    shown = reader.get_run(stuck.run_id)
    assert shown is not None and shown.status is RunStatus.CRASHED
    assert shown.error is not None and "the kernel stopped" in shown.error.message
    reader.close()
    assert listing(tmp_path) == before  # shown, not written
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert raw.execute("SELECT status FROM nbmb_runs").fetchall() == [("running",)]
    raw.close()
    # A kernel opening it to write marks it, as before.
    assert RunStore.open(str(path)).run_summaries()[0]["status"] == "crashed"


def _text(path: Path) -> None:
    path.write_text("shopping list\n")


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    connection.close()


def _foreign_wal(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE contacts (name TEXT)")
    connection.commit()
    connection.close()


@pytest.mark.parametrize("make", [_text, _foreign, _foreign_wal], ids=["text", "db", "wal-db"])
def test_the_shared_store_of_the_api_and_server_changes_nothing(
    tmp_path: Path, make: object
) -> None:
    from nbmodelbook.api import shared_store

    path = tmp_path / "notes.sqlite"
    make(path)  # type: ignore[operator]
    before = listing(tmp_path)
    with pytest.raises(NotAStore, match=f"{path} is not a nbmodelbook store"):
        shared_store(str(path))
    assert listing(tmp_path) == before


@pytest.mark.parametrize("make", [_foreign, _foreign_wal], ids=["db", "wal-db"])
def test_a_kernel_never_adds_a_store_to_another_applications_database(
    tmp_path: Path, make: object
) -> None:
    path = tmp_path / "app.db"
    make(path)  # type: ignore[operator]
    before = listing(tmp_path)
    for recover in (True, False):
        with pytest.raises(NotAStore, match="a database of something else"):
            RunStore.open(str(path), recover=recover)
    assert listing(tmp_path) == before


def test_an_empty_file_may_become_a_store(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    path.touch()
    store = RunStore.open(str(path), recover=False)
    store.finish_run(record(0, "first"))
    assert store.run_names() == ["first"]
    store.close()


def test_only_a_kernel_moves_a_damaged_store_aside(tmp_path: Path) -> None:
    path = idle_store(tmp_path / "runs.sqlite", "a")
    damaged = path.read_bytes()[:100] + b"\x00garbage" * 2000  # a SQLite header, then noise
    path.write_bytes(damaged)
    before = listing(tmp_path)
    with pytest.raises(StoreCorrupted, match="reading it changed nothing"):
        RunStore.open_read_only(str(path))
    with pytest.raises(StoreCorrupted, match="nothing was changed"):
        RunStore.open(str(path), recover=False)
    assert listing(tmp_path) == before
    kernel = RunStore.open(str(path))  # the writer of a kernel: moves it aside, says so once
    assert len(kernel.notices) == 1 and "moved" in kernel.notices[0]
    kernel.close()
    [moved] = tmp_path.glob("runs.sqlite.corrupt-*")
    assert moved.read_bytes() == damaged


def test_a_missing_store_is_not_created_by_reading(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="no run store at"):
        RunStore.open_read_only(str(tmp_path / "none" / "runs.sqlite"))
    assert list(tmp_path.iterdir()) == []


def test_reading_an_empty_location_creates_no_schema(store_url: str) -> None:
    """SQLite: no file; PostgreSQL: a database without nbmodelbook's tables."""
    with pytest.raises((StoreUnavailable, NotAStore)):
        RunStore.open_read_only(store_url)
    if store_url.startswith("postgresql"):
        engine = create_engine(store_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as connection:
            assert inspect(connection).get_table_names() == []
        engine.dispose()
    else:
        assert not Path(store_url).exists()


def test_a_schema_2_store_is_read_as_it_is(store_url: str) -> None:
    writer = RunStore.open(store_url)
    writer.finish_run(record(0, "kept"))
    # What schema 2 left: no write counter row, the version 2.
    with writer.engine.begin() as connection:
        connection.execute(schema.meta.delete().where(schema.meta.c.key == schema.RUN_SEQ_KEY))
        connection.execute(
            schema.meta.update()
            .where(schema.meta.c.key == schema.SCHEMA_VERSION_KEY)
            .values(value="2")
        )
    writer.close()
    reader = RunStore.open_read_only(store_url)
    assert reader.run_names() == ["kept"]
    assert reader.write_counter() == 0
    reader.close()
    check = RunStore.open_read_only(store_url)
    with check.engine.connect() as connection:
        assert schema.current_version(connection) == 2  # not migrated by reading
        count = connection.execute(
            text("SELECT count(*) FROM nbmb_meta WHERE key = :key"), {"key": schema.RUN_SEQ_KEY}
        ).scalar_one()
        assert count == 0
    check.close()


def test_a_store_older_than_readable_says_how_to_upgrade(tmp_path: Path) -> None:
    from tests.store._layouts import write_version_1_store

    path = tmp_path / "old.sqlite"
    write_version_1_store(path)
    before = listing(tmp_path)
    with pytest.raises(StoreUnavailable, match="nbmodelbook store migrate"):
        RunStore.open_read_only(str(path))
    assert listing(tmp_path) == before
