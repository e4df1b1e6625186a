"""The stores the server keeps open: never created by reading, shared, and kept honest."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from nbmodelbook.record import RunStatus
from nbmodelbook.server.stores import StoreAccess
from nbmodelbook.store.backends import resolve_store_url
from nbmodelbook.store.store import RunStore
from tests.widgets._runs import record


def _store(tmp_path: Path) -> tuple[str, RunStore]:
    url = resolve_store_url(str(tmp_path / "store" / "runs.sqlite"))
    return url, RunStore.open(url)


def test_a_missing_store_is_not_created(tmp_path: Path) -> None:
    url = resolve_store_url(str(tmp_path / "none" / ".nbmodelbook" / "runs.sqlite"))
    assert StoreAccess().existing(url) is None
    assert not (tmp_path / "none").exists()


def test_stores_are_shared_with_the_python_api(tmp_path: Path) -> None:
    from nbmodelbook.api import shared_store

    url, writer = _store(tmp_path)
    writer.close()
    access = StoreAccess()
    assert access.existing(url) is access.existing(url) is shared_store(url)


def test_a_store_file_replaced_since_it_was_opened_is_read_anew(tmp_path: Path) -> None:
    import shutil

    url, writer = _store(tmp_path)
    writer.finish_run(record(0, "old"))
    writer.close()
    access = StoreAccess()
    first = access.existing(url)
    assert first is not None and first.run_names() == ["old"]
    # Deleted and made anew (or a damaged file moved aside and a fresh one created).
    shutil.rmtree(tmp_path / "store")
    _url, replacement = _store(tmp_path)
    replacement.finish_run(record(1, "new-a"))
    replacement.finish_run(record(2, "new-b"))
    replacement.close()
    again = access.existing(url)
    assert again is not None and again is not first
    assert sorted(again.run_names()) == ["new-a", "new-b"]
    assert access.existing(url) is again  # unchanged since: kept


def test_runs_of_dead_kernels_are_marked_crashed_now_and_then(tmp_path: Path) -> None:
    url, writer = _store(tmp_path)
    access = StoreAccess(recovery_interval=0.0)
    store = access.existing(url)
    assert store is not None
    patient = StoreAccess(recovery_interval=3600.0)
    patient.existing(url)  # its first look: nothing to mark yet
    # A cell that started long ago in a kernel nobody has heard of since.
    orphan = record(0, "stuck", status=RunStatus.RUNNING, session_id="gone")
    orphan.ended_at = None
    writer.begin_run(orphan)
    before = store.write_counter()
    patient.existing(url)  # within its interval: no second look
    assert writer.get_runs([orphan.run_id])[orphan.run_id].status is RunStatus.RUNNING
    access.existing(url)
    assert writer.get_runs([orphan.run_id])[orphan.run_id].status is RunStatus.CRASHED
    assert store.write_counter() > before
    writer.close()


def test_write_counter_grows_with_every_write(tmp_path: Path) -> None:
    _url, writer = _store(tmp_path)
    assert writer.write_counter() == 0
    writer.finish_run(record(0, "a"))
    first = writer.write_counter()
    writer.finish_run(record(0, "a"))  # the same run again
    assert first >= 1 and writer.write_counter() > first
    writer.close()


def test_runs_are_found_by_id_or_unique_prefix_only(tmp_path: Path) -> None:
    _url, store = _store(tmp_path)
    ids = ["abcdef01" + "0" * 24, "abcdef02" + "1" * 24]
    for index, run_id in enumerate(ids):
        store.finish_run(record(index, "abcdef01", run_id=run_id))  # named like an id
    assert store.find_run_id(ids[0]) == ids[0]
    assert store.find_run_id("abcdef02") == ids[1]
    assert store.find_run_id("abcdef0") is None  # both start with it
    assert store.find_run_id("abcdef01") == ids[0]  # by id, not by the name of the other
    assert store.find_run_id("abcdef0_") is None  # no SQL wildcard
    assert store.find_run_id("f" * 32) is None
    store.close()


def test_repositories_are_looked_up_once_per_folder_for_a_while(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    cached = StoreAccess(repository_ttl=3600.0)
    fresh = StoreAccess(repository_ttl=0.0)
    assert cached.repository(folder) is None
    try:
        subprocess.run(["git", "init", "-q", str(folder)], check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("git is not available")
    time.sleep(0.01)
    assert cached.repository(folder) is None  # the folder's answer is kept
    from nbmodelbook.capture.environment import clear_cache

    clear_cache()
    assert fresh.repository(folder) == str(folder.resolve())


def test_the_first_request_already_marks_the_runs_of_dead_kernels(tmp_path: Path) -> None:
    url, writer = _store(tmp_path)
    orphan = record(0, "stuck", status=RunStatus.RUNNING, session_id="gone")
    orphan.ended_at = None
    writer.begin_run(orphan)
    StoreAccess(recovery_interval=3600.0).existing(url)
    assert writer.get_runs([orphan.run_id])[orphan.run_id].status is RunStatus.CRASHED
    writer.close()
