"""The background writer: one write for quick cells, nothing lost when writes fail."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import pytest

from nbmodelbook.record import RunRecord, RunStatus, new_run_id
from nbmodelbook.store import writer as writer_module
from nbmodelbook.store.store import RunStore
from nbmodelbook.store.writer import StoreWriter
from tests.postgres_server import PostgresServer


def record(name: str = "r") -> RunRecord:
    now = time.time()
    return RunRecord(new_run_id(now), name, now, "x = 1", "h", session_id="s")


def finished(run: RunRecord) -> RunRecord:
    run.status, run.ended_at = RunStatus.OK, time.time()
    return run


@pytest.fixture
def writer(tmp_path: Path) -> StoreWriter:
    started = StoreWriter(str(tmp_path / "runs.sqlite"), "session")
    assert started.wait_ready(30) is not None
    yield started
    started.close()


def test_quick_cell_is_written_once(writer: StoreWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    begun: list[str] = []
    store = writer.store
    assert store is not None
    real_begin = store.begin_run
    monkeypatch.setattr(store, "begin_run", lambda r: (begun.append(r.run_id), real_begin(r)))
    run = record()
    writer.begin(run)
    writer.finish(finished(run))
    assert writer.flush(10)
    assert begun == []
    assert [r["status"] for r in store.run_summaries()] == ["ok"]


def test_slow_cell_is_visible_as_running(writer: StoreWriter) -> None:
    run = record()
    writer.begin(run)
    store = writer.store
    assert store is not None
    deadline = time.monotonic() + 10
    while not store.run_summaries() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r["status"] for r in store.run_summaries()] == ["running"]
    writer.finish(finished(run))
    writer.flush(10)
    assert [r["status"] for r in store.run_summaries()] == ["ok"]


def test_failed_write_is_kept_reported_and_retried(
    writer: StoreWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = writer.store
    assert store is not None
    real_finish = store.finish_run
    failures = {"left": 1}

    def flaky(run: RunRecord) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise OSError("database or disk is full")
        real_finish(run)

    monkeypatch.setattr(store, "finish_run", flaky)
    run = finished(record())
    writer.finish(run).wait(10)
    assert writer.unsaved_count == 1
    [problem] = writer.take_problems()
    assert "disk is full" in problem and "kept in a local journal" in problem
    writer.flush(10)  # a flush retries what is held back
    assert writer.unsaved_count == 0
    assert [r["run_id"] for r in store.run_summaries()] == [run.run_id]
    assert any("writable again" in p for p in writer.take_problems())


def test_a_run_whose_details_cannot_be_prepared_is_saved_bare(writer: StoreWriter) -> None:
    def broken(_run: RunRecord) -> RunRecord:
        raise ValueError("redaction failed")

    run = finished(record())
    run.code, run.params, run.metrics = "secret = 'x'", {"p": "v"}, {"auc": 0.5}
    writer.finish(run, broken).wait(10)
    writer.flush(10)
    assert writer.store is not None
    saved = writer.store.get_run(run.run_id)
    assert saved is not None and saved.status is RunStatus.OK  # never left `running`
    assert saved.code == "" and saved.params == {} and saved.metrics == {"auc": 0.5}
    assert any("redaction failed" in p for p in writer.take_problems())


def test_store_damaged_after_opening_is_moved_aside_and_runs_kept(
    writer: StoreWriter, tmp_path: Path
) -> None:
    writer.finish(finished(record("before"))).wait(10)
    path = tmp_path / "runs.sqlite"
    assert writer.store is not None
    writer.store.engine.dispose()  # the damage is seen by the next connection
    with path.open("r+b") as damaged:
        damaged.write(b"garbage!" * 16)
    writer.finish(finished(record("after"))).wait(10)
    writer.flush(10)
    problems = " ".join(writer.take_problems())
    assert "damaged" in problems
    assert list(tmp_path.glob("runs.sqlite.corrupt-*"))
    assert writer.store is not None
    assert [r["name"] for r in writer.store.run_summaries()] == ["after"]


def test_unopenable_store_reports_once_and_keeps_runs(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    broken = StoreWriter(str(blocker / "runs.sqlite"), "session")
    try:
        assert broken.wait_ready(30) is None
        assert broken.open_error is not None
        assert "NBMODELBOOK_STORE" in str(broken.open_error)
        broken.finish(finished(record())).wait(10)
        assert broken.unsaved_count == 1
    finally:
        broken.close()


def test_open_is_deferred_until_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "OPEN_DELAY_SECONDS", 30.0)
    lazy = StoreWriter(str(tmp_path / "runs.sqlite"), "session")
    try:
        assert not lazy.ready.wait(0.3)
        lazy.finish(finished(record()))
        assert lazy.flush(10)
        assert lazy.store is not None and lazy.store.count() == 1
    finally:
        lazy.close()


def test_finished_run_is_saved_without_a_flush(writer: StoreWriter) -> None:
    # Written a moment after the cell ended (once the kernel has sent its reply), by itself.
    saved = writer.finish(finished(record("later")))
    assert saved.wait(10)
    assert writer.store is not None
    assert [run["name"] for run in writer.store.run_summaries()] == ["later"]


def test_an_urgent_run_is_saved_after_the_runs_before_it(writer: StoreWriter) -> None:
    """A cell that waits for its run is not overtaken by, nor overtakes, earlier runs."""
    listener = _Listener()
    writer.add_listener(listener.on_run_written)
    writer.finish(finished(record("first")))
    writer.finish(finished(record("second")))
    assert writer.finish(finished(record("waited-for")), urgent=True).wait(10)
    assert listener.heard == ["first", "second", "waited-for"]
    assert writer.store is not None and writer.store.count() == 3


def test_a_run_that_ended_while_the_store_opened_is_not_written_as_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore.open(str(path)).close()
    begun: list[str] = []
    real_begin = RunStore.begin_run
    monkeypatch.setattr(
        RunStore, "begin_run", lambda store, r: (begun.append(r.run_id), real_begin(store, r))[1]
    )
    # Another process holds the store: the writer cannot finish opening it for a while.
    locker = sqlite3.connect(path, isolation_level=None, timeout=30)
    locker.execute("BEGIN EXCLUSIVE")
    writer = StoreWriter(str(path), "session")
    try:
        run = record()
        writer.begin(run)
        time.sleep(3 * writer_module.BEGIN_DELAY_SECONDS)  # its "running" is due meanwhile
        writer.finish(finished(run))
        locker.execute("ROLLBACK")
        locker.close()
        assert writer.flush(30)
        assert begun == []
        assert writer.store is not None
        assert [r["status"] for r in writer.store.run_summaries()] == ["ok"]
    finally:
        writer.close()


def _asleep(writer: StoreWriter, until_done: bool = False, timeout: float = 10.0) -> float:
    """Wait until the writer thread sleeps with nothing queued (and, `until_done`, nothing
    due); when it will wake by itself."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        until = writer._sleep_until
        if until != -math.inf and not writer._ops and (until == math.inf) == until_done:
            return until
        time.sleep(0.001)
    return writer._sleep_until


def test_cells_in_a_row_do_not_wake_the_writer(
    writer: StoreWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the thread is about to wake for the run before, the next cell's start and end
    are queued without waking it (a wake makes it take the GIL in the middle of a cell); it
    takes them along when it wakes, and saves them. (The delays are stretched so that a slow
    machine cannot let the thread wake by itself before the check.)"""
    monkeypatch.setattr(writer_module, "FINISH_DELAY_SECONDS", 1.0)
    monkeypatch.setattr(writer_module, "BEGIN_DELAY_SECONDS", 3.0)
    monkeypatch.setattr(writer_module, "FINISH_LATEST_SECONDS", 5.0)
    listener = _Listener()
    writer.add_listener(listener.on_run_written)
    writer.finish(finished(record("first")))
    assert _asleep(writer) < math.inf  # due to save "first" in a moment
    second = record("second")
    writer.begin(second)
    writer.finish(finished(second))
    assert not writer._signal.is_set()
    deadline = time.monotonic() + 10
    while len(listener.heard) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert listener.heard == ["first", "second"]


def test_an_idle_writer_is_woken_for_what_cannot_wait(writer: StoreWriter) -> None:
    """Idle, the thread sleeps until signalled: a cell's start wakes it (its "running" row
    is due), and so do a flush and a run its cell waits for."""
    assert _asleep(writer, until_done=True) == math.inf
    run = record("slow")
    writer.begin(run)
    # Woken, it took the start in: it sleeps until the "running" row is due (or, written
    # already, until the next heartbeat), no longer until signalled.
    assert _asleep(writer) < math.inf
    writer.finish(finished(run))
    assert writer.flush(10)
    assert _asleep(writer, until_done=True) == math.inf
    assert writer.finish(finished(record("waited-for")), urgent=True).wait(10)
    assert writer.store is not None and writer.store.count() == 2


def test_no_run_is_left_waiting_however_the_calls_fall(writer: StoreWriter) -> None:
    """Runs begun and finished at every pace, with no flush: each reaches the store by
    itself (an op queued just as the thread goes to sleep is never left behind)."""
    import random

    pace = random.Random(7)
    runs = []
    for index in range(300):
        run = record(f"run-{index}")
        writer.begin(run)
        if pace.random() < 0.3:
            time.sleep(pace.random() * 0.004)
        writer.finish(finished(run))
        runs.append(run)
        if pace.random() < 0.2:
            time.sleep(pace.random() * 0.05)
    store = writer.store
    assert store is not None
    deadline = time.monotonic() + 20
    while store.count() < len(runs) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.count() == len(runs)
    assert {r["status"] for r in store.run_summaries()} == {"ok"}


def test_close_writes_what_is_pending(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    closing = StoreWriter(str(path), "session")
    run = record()
    closing.begin(run)
    closing.finish(finished(run))
    closing.close()
    assert RunStore.open(str(path)).count() == 1


class _Listener:
    def __init__(self) -> None:
        self.heard: list[str] = []

    def on_run_written(self, run: RunRecord) -> None:
        self.heard.append(run.name)

    def broken(self, run: RunRecord) -> None:
        raise RuntimeError("a widget failed")


def test_listeners_hear_each_written_run_and_a_failing_one_stops_nothing(
    writer: StoreWriter,
) -> None:
    listener, failing = _Listener(), _Listener()
    writer.add_listener(failing.broken)
    writer.add_listener(listener.on_run_written)
    writer.finish(finished(record("first")))
    writer.finish(finished(record("second")))
    assert writer.flush(30)
    assert listener.heard == ["first", "second"]
    assert writer.store is not None and writer.store.count() == 2


def test_listeners_are_held_weakly_and_only_the_newest_stay(writer: StoreWriter) -> None:
    listeners = [_Listener() for _ in range(writer_module.MAX_LISTENERS + 2)]
    for listener in listeners:
        writer.add_listener(listener.on_run_written)
    gone = _Listener()
    writer.add_listener(gone.on_run_written)
    del gone  # a widget nobody holds any more
    writer.finish(finished(record("run")))
    assert writer.flush(30)
    heard = [bool(listener.heard) for listener in listeners]
    # The newest MAX_LISTENERS - 1 of these plus the dropped one filled the slots.
    assert heard[: len(listeners) - writer_module.MAX_LISTENERS + 1] == [False] * (
        len(listeners) - writer_module.MAX_LISTENERS + 1
    )
    assert all(heard[len(listeners) - writer_module.MAX_LISTENERS + 1 :])


def test_a_postgresql_restart_loses_no_run(postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    writer = StoreWriter(url, "session")
    try:
        assert writer.wait_ready(30) is not None
        writer.finish(finished(record("before")))
        assert writer.flush(30)
        postgres_server.stop()
        try:
            writer.finish(finished(record("while-down")))
            assert writer.flush(30)
            assert writer.unsaved_count == 1  # held back, not dropped
            (problem,) = writer.take_problems()
            assert "the server does not answer" in problem
            assert "written when the server is back" in problem
        finally:
            postgres_server.start()
        writer.finish(finished(record("after")))  # the pool reconnects by itself
        assert writer.flush(30)
        assert writer.unsaved_count == 0
        names = sorted(run["name"] for run in RunStore.open(url).run_summaries())
        assert names == ["after", "before", "while-down"]
        assert any("writable again" in problem for problem in writer.take_problems())
    finally:
        writer.close()


def test_a_run_held_back_when_the_kernel_ends_is_saved_by_the_next_one(
    postgres_server: PostgresServer,
) -> None:
    from nbmodelbook.store import journal

    url = postgres_server.new_database()
    first = StoreWriter(url, "first-kernel")
    assert first.wait_ready(30) is not None
    postgres_server.stop()
    try:
        run = finished(record("orphan"))
        first.finish(run)
        assert first.flush(30) and first.unsaved_count == 1
        first.close()  # the kernel ends while the server is still down
        assert [path.name for path, _ in journal.pending(url)] == [f"{run.run_id}.json"]
    finally:
        postgres_server.start()
    second = StoreWriter(url, "next-kernel")
    try:
        assert second.wait_ready(30) is not None
        assert second.flush(30)
        saved = RunStore.open(url).get_run(run.run_id)
        assert saved is not None and saved.name == "orphan" and saved.status == RunStatus.OK
        assert journal.pending(url) == []
        assert any("kept in the local journal were saved" in p for p in second.take_problems())
    finally:
        second.close()


def test_journal_records_read_back_whole() -> None:
    import math

    from nbmodelbook.record import CapturedOutput, LineageCell, RunError
    from nbmodelbook.store.journal import record_from_json, record_to_json

    run = finished(record("whole"))
    run.status = RunStatus.ERROR
    run.error = RunError("ValueError", "bad", "Traceback ...")
    run.metrics = {"auc": 0.9, "loss": math.inf, "gap": math.nan}
    run.params = {"layers": [64, 32], "name": "x"}
    run.outputs = [CapturedOutput("image/png", "iVBORw0KGgo=", 12, truncated=True)]
    run.lineage = [LineageCell(1, "c1", "h", "X = 1", ["X"], [], None)]
    back = record_from_json(record_to_json(run))
    assert back.metrics["auc"] == 0.9 and back.metrics["loss"] == math.inf
    assert math.isnan(back.metrics["gap"])
    assert back.status == RunStatus.ERROR and back.error == run.error
    assert back.outputs == run.outputs and back.lineage == run.lineage
    assert back.params == run.params and back.run_id == run.run_id
