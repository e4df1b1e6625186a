"""`nbmodelbook store info|migrate|copy`: inspect without changing, upgrade, copy safely again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench._records import RecordFactory, fail
from nbmodelbook.cli import main
from nbmodelbook.record import RunStatus
from nbmodelbook.store import schema
from nbmodelbook.store.admin import copy_runs, inspect_store
from nbmodelbook.store.store import RunStore
from tests.postgres_server import PostgresServer
from tests.store._layouts import write_version_1_store

NOTEBOOKS = ["/team/a.ipynb", "/team/b.ipynb"]


def filled(path: Path, runs: int = 12) -> RunStore:
    store = RunStore.open(str(path))
    factory = RecordFactory(NOTEBOOKS, seed=4)
    for index in range(runs):
        record = factory.make(index)
        store.finish_run(fail(record) if index % 4 == 0 else record)
    return store


def test_info_counts_what_the_store_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    filled(tmp_path / "runs.sqlite")
    info = inspect_store(str(tmp_path / "runs.sqlite"))
    assert info.runs == 12 and info.statuses == {"error": 3, "ok": 9}
    assert info.notebooks == 2 and info.version == info.latest == schema.LATEST_VERSION
    assert info.size_bytes and info.size_bytes > 0
    assert main(["store", "info", str(tmp_path / "runs.sqlite"), "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["runs"] == 12 and shown["statuses"] == {"error": 3, "ok": 9}
    assert main(["store", "info", str(tmp_path / "runs.sqlite")]) == 0
    text = capsys.readouterr().out
    assert "12 (3 error, 9 ok)" in text and "notebooks  2" in text


def test_info_on_a_missing_store_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "runs.sqlite"
    assert main(["store", "info", str(missing)]) == 2
    assert f"no run store at {missing}" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_info_reports_an_old_schema_and_migrate_upgrades_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.sqlite"
    write_version_1_store(path)
    assert main(["store", "info", str(path)]) == 0
    assert "schema 1 (this nbmodelbook writes" in capsys.readouterr().out
    assert inspect_store(str(path)).version == 1  # looking changed nothing
    assert main(["store", "migrate", str(path)]) == 0
    assert f"from schema 1 to {schema.LATEST_VERSION}" in capsys.readouterr().out
    info = inspect_store(str(path))
    assert info.version == schema.LATEST_VERSION and info.runs == 1
    assert main(["store", "migrate", str(path)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_copy_is_safe_to_repeat_and_brings_later_states(tmp_path: Path) -> None:
    source = filled(tmp_path / "laptop.sqlite")
    target = RunStore.open(str(tmp_path / "team.sqlite"))
    first = copy_runs(source, target)
    assert (first.copied, first.unchanged) == (12, 0)
    again = copy_runs(source, target)
    assert (again.copied, again.unchanged) == (0, 12)
    assert target.count() == 12
    # A run that was running at the first copy and has ended since replaces its copy.
    factory = RecordFactory(NOTEBOOKS, seed=9)
    running = factory.make(0)
    running.status, running.ended_at = RunStatus.RUNNING, None
    source.finish_run(running)
    copy_runs(source, target)
    running.status, running.ended_at = RunStatus.OK, running.started_at + 3
    source.finish_run(running)
    last = copy_runs(source, target)
    assert (last.copied, last.unchanged) == (1, 12)
    copied = target.get_run(running.run_id)
    assert copied is not None and copied.status == RunStatus.OK
    assert copied.code == running.code and copied.lineage and copied.environment
    assert target.count() == 13


def test_copy_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    filled(tmp_path / "laptop.sqlite", runs=5)
    source, target = str(tmp_path / "laptop.sqlite"), str(tmp_path / "team.sqlite")
    assert main(["store", "copy", source, target]) == 0
    assert "copied 5 run(s)" in capsys.readouterr().out
    assert main(["store", "copy", source, target]) == 0
    second = capsys.readouterr().out
    assert "copied 0 run(s)" in second and "5 already there" in second
    assert main(["store", "copy", source, source]) == 2
    assert "the same store" in capsys.readouterr().err
    assert main(["store", "copy", str(tmp_path / "missing.sqlite"), target]) == 2


def test_copy_from_a_laptop_store_to_a_postgresql_team_store(
    tmp_path: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    filled(tmp_path / "laptop.sqlite", runs=6)
    team = postgres_server.new_database()
    for _ in range(2):
        assert main(["store", "copy", str(tmp_path / "laptop.sqlite"), team]) == 0
    assert "copied 0 run(s)" in capsys.readouterr().out.splitlines()[-1]
    info = inspect_store(team)
    assert (info.backend, info.runs, info.notebooks) == ("postgresql", 6, 2)
    assert info.size_bytes is None and "@127.0.0.1" in info.location


def _back_to_version_1(url: str) -> None:
    """Take a current store back to schema version 1: no write counter, no `seq` column, no
    evidence tables."""
    from sqlalchemy import create_engine, delete, update

    from nbmodelbook.store.backends import resolve_store_url

    url = resolve_store_url(url).replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.begin() as connection:
        for table in schema.EVIDENCE_TABLES:
            table.drop(connection)
        connection.exec_driver_sql("DROP INDEX IF EXISTS ix_nbmb_runs_seq")
        connection.exec_driver_sql("ALTER TABLE nbmb_runs DROP COLUMN seq")
        connection.execute(delete(schema.meta).where(schema.meta.c.key == schema.RUN_SEQ_KEY))
        connection.execute(
            update(schema.meta)
            .where(schema.meta.c.key == schema.SCHEMA_VERSION_KEY)
            .values(value="1")
        )
    engine.dispose()


def _open_count_and_write(url: str, start: float) -> int:
    import os
    import time

    while time.time() < start:
        time.sleep(0.001)
    store = RunStore.open(url)  # the first to get the migration lock upgrades; others wait
    store.finish_run(RecordFactory(NOTEBOOKS, seed=os.getpid()).make(0))
    return store.count()


def test_an_old_store_is_upgraded_once_when_several_clients_open_it_at_once(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import multiprocessing
    import time

    store = RunStore.open(store_url)
    factory = RecordFactory(NOTEBOOKS, seed=9)
    for index in range(5):
        store.finish_run(factory.make(index))
    store.engine.dispose()
    _back_to_version_1(store_url)
    assert inspect_store(store_url).version == 1
    assert main(["store", "info", store_url]) == 0
    assert "schema 1 (this nbmodelbook writes" in capsys.readouterr().out

    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        counts = pool.starmap(_open_count_and_write, [(store_url, time.time() + 1.0)] * 4)
    assert all(count >= 6 for count in counts)
    info = inspect_store(store_url)
    assert info.version == schema.LATEST_VERSION and info.runs == 9
    reopened = RunStore.open(store_url)
    with reopened.engine.connect() as connection:
        for table in schema.EVIDENCE_TABLES:  # created once, by whichever client came first
            assert connection.dialect.has_table(connection, table.name)
    reopened.close()
    assert main(["store", "migrate", store_url]) == 0
    assert "up to date" in capsys.readouterr().out
    # The write counter works again: a reader sees the later writes.
    reopened = RunStore.open(store_url)
    before = reopened.write_counter()
    reopened.finish_run(factory.make(5))
    assert reopened.write_counter() > before and reopened.count() == 10


def test_a_write_counter_removed_by_hand_starts_again_above_every_run(store_url: str) -> None:
    from sqlalchemy import delete

    store = RunStore.open(store_url)
    factory = RecordFactory(NOTEBOOKS, seed=3)
    store.finish_run(factory.make(0))
    before = store.write_counter()
    with store.engine.begin() as connection:
        connection.execute(delete(schema.meta).where(schema.meta.c.key == schema.RUN_SEQ_KEY))
    store.finish_run(factory.make(1))
    assert store.write_counter() > before and store.count() == 2
