"""The SQLite run store: atomic writes, reading back, crash recovery, damaged files."""

from __future__ import annotations

import math
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbmodelbook.record import (
    CapturedOutput,
    LineageCell,
    ProcessIdentity,
    RunError,
    RunRecord,
    RunStatus,
    new_run_id,
)
from nbmodelbook.store import schema
from nbmodelbook.store.backends import StoreUnavailable, resolve_store_url
from nbmodelbook.store.store import RunStore
from tests.store._layouts import write_version_1_store


def make_record(name: str = "rf", **changes: object) -> RunRecord:
    started = time.time()
    record = RunRecord(
        run_id=new_run_id(started),
        name=name,
        started_at=started,
        code="%%track rf\nmodel.fit(X, y)",
        code_hash="c0de",
        notebook="/nb/model.ipynb",
        session_id="s1",
        tags=["baseline", "baseline", "forest"],
        params={"n_estimators": 500, "criterion": "gini", "layers": [64, 32]},
        metrics={"auc": 0.93, "loss": math.nan, "gain": math.inf, "drop": -math.inf},
    )
    for key, value in changes.items():
        setattr(record, key, value)
    return record


@pytest.fixture
def store(store_url: str) -> RunStore:
    return RunStore.open(store_url)


def test_finished_run_reads_back_whole(store: RunStore) -> None:
    record = make_record(
        status=RunStatus.ERROR,
        ended_at=time.time() + 2,
        error=RunError("ValueError", "bad C", "Traceback ...\nValueError: bad C"),
        inputs={"X": {"kind": "DataFrame", "shape": [10, 2], "hash": "ab"}},
        outputs=[CapturedOutput("image/png", "iVBORw0KGgo=", 12)],
        lineage=[LineageCell(3, "cell-a", "h3", "X = load()", ["X"], [], None)],
        environment={"python": {"version": "3.11"}},
    )
    store.finish_run(record)
    loaded = store.get_run(record.run_id)
    assert loaded is not None
    assert loaded.status is RunStatus.ERROR
    assert loaded.error == record.error
    assert loaded.params == record.params
    assert loaded.metrics["auc"] == 0.93
    assert math.isnan(loaded.metrics["loss"])
    assert loaded.metrics["gain"] == math.inf and loaded.metrics["drop"] == -math.inf
    assert loaded.tags == ["baseline", "baseline", "forest"]
    assert loaded.inputs == record.inputs
    assert loaded.outputs == record.outputs
    assert loaded.lineage[0].code == "X = load()"
    assert loaded.environment == {"python": {"version": "3.11"}}
    assert loaded.code == record.code
    assert loaded.duration == pytest.approx(2, abs=0.01)


def test_normalised_metrics_keep_nan_and_infinity(store: RunStore) -> None:
    from sqlalchemy import text

    record = make_record()
    store.finish_run(record)
    with store.engine.connect() as connection:
        query = text("SELECT key, value, special FROM nbmb_run_metrics ORDER BY key")
        rows = [tuple(row) for row in connection.execute(query)]
    assert rows == [
        ("auc", 0.93, None),
        ("drop", None, "-inf"),
        ("gain", None, "inf"),
        ("loss", None, "nan"),
    ]


def test_begin_then_finish_is_one_run(store: RunStore) -> None:
    record = make_record()
    store.begin_run(record)
    [running] = store.run_summaries()
    assert running["status"] == "running"
    record.status, record.ended_at = RunStatus.OK, time.time()
    store.finish_run(record)
    [finished] = store.run_summaries()
    assert finished["status"] == "ok"
    assert store.count() == 1


def test_summaries_filter_by_notebook_and_session(store: RunStore) -> None:
    store.finish_run(make_record("a", notebook="/x/one.ipynb", session_id="s1"))
    store.finish_run(make_record("b", notebook="/x/two.ipynb", session_id="s2"))
    assert [r["name"] for r in store.run_summaries(notebook="/x/one.ipynb")] == ["a"]
    assert [r["name"] for r in store.run_summaries(session_id="s2")] == ["b"]
    assert len(store.run_summaries()) == 2


def test_resolve_by_name_latest_id_and_prefix(store: RunStore) -> None:
    first = make_record("rf")
    store.finish_run(first)
    time.sleep(0.002)
    second = make_record("rf")
    store.finish_run(second)
    assert store.resolve("rf") == second.run_id
    assert store.resolve(first.run_id) == first.run_id
    assert store.resolve(first.run_id[:20]) == first.run_id
    assert store.resolve("no-such-run") is None


def test_running_run_of_a_dead_kernel_becomes_crashed(tmp_path: Path) -> None:
    url = str(tmp_path / "runs.sqlite")
    store = RunStore.open(url)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    identity = ProcessIdentity(ProcessIdentity.current().host, dead.pid, "1", "me")
    store.register_kernel("dead-session", identity, time.time())
    orphan = make_record(session_id="dead-session")
    store.begin_run(orphan)
    mine = make_record(session_id="live-session")
    store.register_kernel("live-session", ProcessIdentity.current(), time.time())
    store.begin_run(mine)

    reopened = RunStore.open(url)
    statuses = {r["run_id"]: r for r in reopened.run_summaries()}
    assert statuses[orphan.run_id]["status"] == "crashed"
    assert statuses[orphan.run_id]["error_type"] == "KernelDied"
    assert statuses[mine.run_id]["status"] == "running"  # its kernel (this process) lives


def test_remote_kernel_is_crashed_only_after_its_lease(store: RunStore) -> None:
    identity = ProcessIdentity("elsewhere.example", 12345, None, "colleague")
    store.register_kernel("remote", identity, time.time())
    record = make_record(session_id="remote")
    store.begin_run(record)
    assert store.recover_orphans() == []
    assert store.recover_orphans(now=time.time() + 16 * 60) == [record.run_id]


def test_damaged_file_is_moved_aside_not_deleted(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    garbage = b"this is not a database" * 500
    path.write_bytes(garbage)
    store = RunStore.open(str(path))
    assert len(store.notices) == 1
    assert "moved" in store.notices[0]
    [moved] = list(tmp_path.glob("runs.sqlite.corrupt-*"))
    assert moved.read_bytes() == garbage
    store.finish_run(make_record())
    assert store.count() == 1


def test_newer_schema_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore.open(str(path)).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE nbmb_meta SET value='999' WHERE key='schema_version'")
    with pytest.raises(schema.StoreVersionError, match="upgrade nbmodelbook"):
        RunStore.open(str(path))


def test_unwritable_location_gives_advice(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailable, match="NBMODELBOOK_STORE"):
        RunStore.open(str(blocker / "sub" / "runs.sqlite"))


def test_store_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBMODELBOOK_STORE", raising=False)
    assert resolve_store_url(cwd=tmp_path) == f"sqlite:///{tmp_path}/.nbmodelbook/runs.sqlite"
    monkeypatch.setenv("NBMODELBOOK_STORE", str(tmp_path / "team.sqlite"))
    assert resolve_store_url(cwd=tmp_path) == f"sqlite:///{tmp_path}/team.sqlite"
    monkeypatch.setenv("NBMODELBOOK_STORE", "postgresql://u@h/db")
    assert resolve_store_url() == "postgresql://u@h/db"
    assert resolve_store_url(str(tmp_path)) == f"sqlite:///{tmp_path}/runs.sqlite"


def _open_and_write(path: str, barrier_time: float) -> int:
    while time.time() < barrier_time:
        time.sleep(0.001)
    store = RunStore.open(path)
    store.finish_run(make_record(f"p{os.getpid()}"))
    return store.count()


def test_many_processes_creating_the_store_at_once(store_url: str) -> None:
    path = store_url  # nothing created yet: six processes race to create the schema
    start = time.time() + 1.0
    context = multiprocessing.get_context("spawn")
    with context.Pool(6) as pool:
        counts = pool.starmap(_open_and_write, [(path, start)] * 6)
    assert all(count >= 1 for count in counts)
    assert RunStore.open(path).count() == 6


def test_cached_table_sees_every_later_write(tmp_path: Path) -> None:
    path = str(tmp_path / "runs.sqlite")
    reader = RunStore.open(path)
    writer = RunStore.open(path)  # another process's view, as far as the reader can tell
    first = make_record("a")
    writer.begin_run(first)
    assert reader.run_table()["status"] == ["running"]
    first.status, first.ended_at = RunStatus.OK, time.time()
    writer.finish_run(first)
    second = make_record("b")
    writer.finish_run(second)
    table = reader.run_table()
    assert table["name"] == ["a", "b"] and table["status"] == ["ok", "running"]
    assert reader.run_table(notebook="/nb/model.ipynb")["name"] == ["a", "b"]
    assert reader.run_table(notebook="/elsewhere.ipynb")["name"] == []
    with sqlite3.connect(path) as connection:  # runs removed behind the store's back
        connection.execute("DELETE FROM nbmb_runs WHERE name = 'a'")
    assert reader.run_table()["name"] == ["b"]


def test_version_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    write_version_1_store(path)
    store = RunStore.open(str(path))
    assert store.run_table()["name"] == ["old"]
    store.finish_run(make_record("new"))
    assert store.run_table()["name"] == ["old", "new"]
    assert schema.current_version(store.engine.connect()) == schema.LATEST_VERSION


def test_a_read_sees_one_state_of_the_store_while_others_write(store_url: str) -> None:
    from sqlalchemy import func, select

    reader, writer = RunStore.open(store_url), RunStore.open(store_url)
    writer.finish_run(make_record("first"))
    count = select(func.count()).select_from(schema.runs)
    with reader._read() as connection:  # what one page of the browse widget reads in
        before = connection.execute(count).scalar()
        writer.finish_run(make_record("second"))  # another kernel, meanwhile
        assert connection.execute(count).scalar() == before == 1
    assert reader.count() == 2
