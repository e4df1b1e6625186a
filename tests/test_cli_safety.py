"""The command line never destroys a user's file, and keeps its exit codes: 0 ok, 1 not ready,
2 unusable input (one clear line), 3 only for a bug.

Every test runs the real command on real files and compares the folder before and after.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbmodelbook.cli import main
from nbmodelbook.record import RunRecord, RunStatus, new_run_id
from nbmodelbook.store.store import RunStore

COMMAND = Path(sys.executable).with_name("nbmodelbook")

Snapshot = dict[str, tuple[str, int, int, str]]


def snapshot(folder: Path) -> Snapshot:
    """Every entry under `folder`: its kind, size, modification time and content hash."""
    entries: Snapshot = {}
    for path in sorted(folder.rglob("*")):
        info, name = path.lstat(), str(path.relative_to(folder))
        if path.is_symlink():
            entries[name] = ("link", 0, 0, str(path.readlink()))
        elif path.is_dir():
            entries[name] = ("dir", 0, info.st_mtime_ns, "")
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            entries[name] = ("file", info.st_size, info.st_mtime_ns, digest)
    return entries


@pytest.fixture(autouse=True)
def _no_store_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBMODELBOOK_STORE", raising=False)


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "model.ipynb"
    cells = [new_markdown_cell("# Credit model"), new_code_cell("x = 1")]
    nbformat.write(new_notebook(cells=cells), path)
    return path


def _run(name: str, notebook: Path, started: float, **fields: object) -> RunRecord:
    record = RunRecord(
        new_run_id(started), name, started, "x = 1", "h", status=RunStatus.OK,
        ended_at=started + 1.0, notebook=str(notebook.resolve()), metrics={"auc": 0.9},
    )  # fmt: skip
    for key, value in fields.items():
        setattr(record, key, value)
    return record


def write_store(path: Path, notebook: Path) -> Path:
    """A real store with two finished runs and one left `running` by a kernel long gone (a
    store opened for writing would mark it crashed), closed: no -wal or -shm beside it."""
    store = RunStore.open(str(path))
    now = time.time()
    store.finish_run(_run("rf", notebook, now - 20))
    store.finish_run(_run("gbm", notebook, now - 10))
    orphan = _run("stuck", notebook, now - 3600, status=RunStatus.RUNNING, ended_at=None)
    orphan.session_id = "a-kernel-long-gone"
    store.begin_run(orphan)
    store.close()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    return path


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert lines[0].startswith("nbmodelbook: ") and "internal error" not in lines[0]
    return lines[0]


# --- 4. a report never replaces a notebook or lands in the wrong format ------------------------


def test_report_refuses_to_write_over_its_own_notebook(
    notebook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(notebook.parent)
    assert main(["report", str(notebook), "-o", str(notebook)]) == 2
    message = one_line(capsys.readouterr().err)
    assert "its own notebook" in message and str(notebook) in message
    assert snapshot(notebook.parent) == before


def test_report_refuses_any_notebook_as_output(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("y = 2")]), other)
    before = snapshot(tmp_path)
    for target in (other, tmp_path / "new.ipynb", tmp_path / "LOUD.IPYNB"):
        assert main(["report", str(notebook), "-o", str(target)]) == 2
        assert "notebook" in one_line(capsys.readouterr().err)
    assert snapshot(tmp_path) == before


def test_report_format_follows_the_output_extension(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, starts in (
        ("a.html", "<!DOCTYPE html>"),
        ("b.htm", "<!DOCTYPE html>"),
        ("c.HTML", "<!DOCTYPE html>"),
        ("d.md", "# "),
        ("e.markdown", "# "),
    ):
        assert main(["report", str(notebook), "-o", str(tmp_path / name)]) == 0, name
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(starts), name
    capsys.readouterr()


@pytest.mark.parametrize(
    ("output", "options"),
    [
        ("review.rtf", []),
        ("review", []),
        ("review.txt", ["--format", "md"]),
        ("review.md", ["--format", "html"]),
        ("review.html", ["--format", "md"]),
    ],
)
def test_report_refuses_an_extension_that_is_unknown_or_of_another_format(
    notebook: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    output: str,
    options: list[str],
) -> None:
    before = snapshot(tmp_path)
    assert main(["report", str(notebook), "-o", str(tmp_path / output), *options]) == 2
    message = one_line(capsys.readouterr().err)
    # The message says which extensions go with which format.
    assert ".html" in message and ".htm" in message and ".md" in message
    assert ".markdown" in message
    assert snapshot(tmp_path) == before


def test_report_refuses_a_folder_as_output(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "out.html"  # a folder, even one named like a report
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    before = snapshot(tmp_path)
    assert main(["report", str(notebook), "-o", str(folder)]) == 2
    assert "is a folder" in one_line(capsys.readouterr().err)
    assert snapshot(tmp_path) == before


def test_report_refuses_an_output_inside_a_file(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    before = snapshot(tmp_path)
    assert main(["report", str(notebook), "-o", str(blocker / "review.html")]) == 2
    assert "notes.txt" in one_line(capsys.readouterr().err)
    assert snapshot(tmp_path) == before


def test_report_never_follows_a_symlinked_output(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = tmp_path / "precious.html"
    precious.write_text("<p>the only copy of my work</p>")
    link = tmp_path / "review.html"
    link.symlink_to(precious)
    dangling = tmp_path / "later.html"
    dangling.symlink_to(tmp_path / "nowhere" / "x.html")
    own = tmp_path / "own.html"
    own.symlink_to(notebook)
    before = snapshot(tmp_path)
    for target in (link, dangling, own):
        assert main(["report", str(notebook), "-o", str(target)]) == 2
        assert "symbolic link" in one_line(capsys.readouterr().err)
    assert snapshot(tmp_path) == before


def test_report_over_an_older_report_still_works(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "model.review.html"
    target.write_text("old report")
    assert main(["report", str(notebook)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_the_installed_command_refuses_to_replace_a_notebook(notebook: Path) -> None:
    before = snapshot(notebook.parent)
    done = subprocess.run(
        [str(COMMAND), "report", str(notebook), "-o", str(notebook)],
        capture_output=True,
        text=True,
        cwd=notebook.parent,
    )
    assert done.returncode == 2, done.stderr
    assert "its own notebook" in one_line(done.stderr)
    assert done.stdout == ""
    assert snapshot(notebook.parent) == before


# --- 5. commands that read change nothing -------------------------------------------------------


def _text_file(path: Path) -> None:
    path.write_text("my notes\nnothing to do with runs\n")


def _empty_file(path: Path) -> None:
    path.write_bytes(b"")


def _foreign_database(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        connection.execute("INSERT INTO invoices (total) VALUES (12.5)")
    connection.close()


def _foreign_wal_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE contacts (name TEXT)")
    connection.execute("INSERT INTO contacts VALUES ('Ana')")
    connection.commit()
    connection.close()
    assert not path.with_name(path.name + "-wal").exists()  # closed: folded back in


def _empty_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("VACUUM")  # a valid SQLite file without a single table
    connection.close()


NOT_STORES = {
    "text": (_text_file, "not a SQLite database"),
    "empty-file": (_empty_file, "empty"),
    "foreign-db": (_foreign_database, "invoices"),
    "foreign-wal-db": (_foreign_wal_database, "contacts"),
    "empty-db": (_empty_database, "no tables"),
}

READ_COMMANDS = {
    "runs": lambda notebook, store: ["runs", str(notebook), "--store", store],
    "runs-all": lambda notebook, store: ["runs", "--store", store],
    "report": lambda notebook, store: ["report", str(notebook), "--store", store],
    "check": lambda notebook, store: ["check", str(notebook), "--store", store],
    "store-info": lambda notebook, store: ["store", "info", store],
}


@pytest.mark.parametrize("kind", sorted(NOT_STORES))
@pytest.mark.parametrize("command", sorted(READ_COMMANDS))
def test_reading_a_file_that_is_not_a_store_changes_nothing(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, kind: str
) -> None:
    make, detail = NOT_STORES[kind]
    store = tmp_path / "data" / "notes.txt"
    store.parent.mkdir()
    make(store)
    before, notebook_folder = snapshot(tmp_path), notebook.read_bytes()
    assert main(READ_COMMANDS[command](notebook, str(store))) == 2
    captured = capsys.readouterr()
    message = one_line(captured.err)
    assert f"{store} is not a nbmodelbook store" in message and detail in message
    assert captured.out == ""
    assert snapshot(tmp_path) == before
    assert notebook.read_bytes() == notebook_folder


@pytest.mark.parametrize("command", sorted(READ_COMMANDS))
def test_reading_a_store_writes_nothing_and_creates_nothing(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    store = write_store(tmp_path / "data" / "runs.sqlite", notebook)
    before = snapshot(store.parent)
    code = main(READ_COMMANDS[command](notebook, str(store)))
    assert code in (0, 1)  # `check`: not ready (no decision yet)
    out = capsys.readouterr().out
    assert out
    # The run whose kernel died is shown as the store holds it: reading marked nothing.
    assert snapshot(store.parent) == before


def test_listing_a_store_changes_nothing_and_shows_a_dead_kernels_run_crashed(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = write_store(tmp_path / ".nbmodelbook" / "runs.sqlite", notebook)
    before = snapshot(tmp_path)
    assert main(["runs", str(notebook)]) == 0
    lines = capsys.readouterr().out.splitlines()
    shown = [line.split()[1:3] for line in lines[1:]]
    # The run its long-gone kernel left `running` is shown as crashed, and not written so.
    assert shown == [["stuck", "crashed"], ["rf", "ok"], ["gbm", "ok"]]
    assert snapshot(tmp_path) == before
    assert store.exists()


def test_an_old_store_is_not_migrated_by_reading(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.store._layouts import write_version_1_store

    store = tmp_path / "data" / "old.sqlite"
    store.parent.mkdir()
    write_version_1_store(store)
    before = snapshot(tmp_path)
    for command in ("runs", "report", "check"):
        assert main(READ_COMMANDS[command](notebook, str(store))) == 2
        message = one_line(capsys.readouterr().err)
        assert "nbmodelbook store migrate" in message
    assert main(["store", "info", str(store)]) == 0
    assert "run `nbmodelbook store migrate`" in capsys.readouterr().out
    assert snapshot(tmp_path) == before


def test_reading_a_missing_store_creates_nothing(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "runs.sqlite"
    assert main(["runs", "--store", str(missing)]) == 0
    assert capsys.readouterr().out.strip() == "no runs"
    assert main(["check", str(notebook), "--store", str(missing)]) == 1
    assert main(["store", "info", str(missing)]) == 2
    assert f"no run store at {missing}" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "nowhere").exists()
    assert not (tmp_path / ".nbmodelbook").exists()


def test_the_installed_command_leaves_a_text_file_alone(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    _text_file(notes)
    before = snapshot(tmp_path)
    done = subprocess.run(
        [str(COMMAND), "runs", "--store", str(notes)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert f"{notes} is not a nbmodelbook store" in one_line(done.stderr)
    assert done.stdout == ""
    assert snapshot(tmp_path) == before


def test_a_live_store_is_read_with_its_latest_runs(notebook: Path, tmp_path: Path) -> None:
    """A kernel holds the store open (its -wal and -shm exist): a reader sees every run it
    committed, also ones written after the reader started."""
    path = tmp_path / "data" / "runs.sqlite"
    kernel = RunStore.open(str(path))
    now = time.time()
    kernel.finish_run(_run("first", notebook, now - 5))
    assert path.with_name("runs.sqlite-shm").exists()  # held open, not yet checkpointed

    def listed() -> list[str]:
        done = subprocess.run(
            [str(COMMAND), "runs", "--store", str(path), "--format", "json"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        import json

        return [row["name"] for row in json.loads(done.stdout)]

    assert listed() == ["first"]
    kernel.finish_run(_run("second", notebook, now - 1))
    assert listed() == ["first", "second"]
    kernel.close()


def test_export_to_mlflow_only_reads_the_store(
    notebook: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("mlflow")
    (tmp_path / "mlflow").mkdir()
    monkeypatch.chdir(tmp_path / "mlflow")  # MLflow puts its artifacts in ./mlruns
    tracking = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    notes = tmp_path / "data" / "notes.txt"
    notes.parent.mkdir()
    _text_file(notes)
    store = write_store(tmp_path / "store" / "runs.sqlite", notebook)
    before = {"data": snapshot(notes.parent), "store": snapshot(store.parent)}
    command = ["export-mlflow", "--all", "--tracking-uri", tracking, "--store"]
    assert main([*command, str(notes)]) == 2
    assert f"{notes} is not a nbmodelbook store" in one_line(capsys.readouterr().err)
    assert main([*command, str(store)]) == 0
    # The run a dead kernel left is shown crashed (as a kernel would mark it) and goes too.
    assert "3 exported" in capsys.readouterr().out
    assert {"data": snapshot(notes.parent), "store": snapshot(store.parent)} == before


# --- stores a command writes: never a foreign file ---------------------------------------------


@pytest.mark.parametrize("kind", ["text", "foreign-db", "foreign-wal-db"])
def test_store_commands_that_write_refuse_a_file_that_is_not_a_store(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    make, _detail = NOT_STORES[kind]
    good = write_store(tmp_path / "good" / "runs.sqlite", notebook)
    target = tmp_path / "data" / "mine.db"
    target.parent.mkdir()
    make(target)
    before = snapshot(tmp_path)
    assert main(["store", "migrate", str(target)]) == 2
    assert f"{target} is not a nbmodelbook store" in one_line(capsys.readouterr().err)
    assert main(["store", "copy", str(good), str(target)]) == 2
    assert f"{target} is not a nbmodelbook store" in one_line(capsys.readouterr().err)
    assert main(["store", "copy", str(target), str(good)]) == 2
    assert f"{target} is not a nbmodelbook store" in one_line(capsys.readouterr().err)
    assert snapshot(tmp_path) == before


def test_store_copy_leaves_its_source_as_it_was(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_store(tmp_path / "source" / "runs.sqlite", notebook)
    before = snapshot(source.parent)
    assert main(["store", "copy", str(source), str(tmp_path / "team.sqlite")]) == 0
    assert "copied 3 run(s)" in capsys.readouterr().out
    assert snapshot(source.parent) == before


# --- 7. unusable input is exit 2 with one clear line, for every command -------------------------


def _invalid_json(path: Path) -> str:
    path.write_text('{"cells": [', encoding="utf-8")
    return "not valid notebook JSON"


def _deeply_nested(path: Path) -> str:
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    return "nested too deeply"


def _deep_metadata(path: Path) -> str:
    # Deep enough to pass the JSON parser, too deep for nbformat's validation.
    deep = "[" * 900 + "]" * 900
    path.write_text(
        '{"nbformat": 4, "nbformat_minor": 5, "cells": [], "metadata": {"x": ' + deep + "}}",
        encoding="utf-8",
    )
    return "nested too deeply"


def _not_utf8(path: Path) -> str:
    path.write_bytes(b'{"cells": "\xff\xfe"}')
    return "cannot read"


BAD_NOTEBOOKS = {
    "invalid-json": _invalid_json,
    "deeply-nested": _deeply_nested,
    "deep-metadata": _deep_metadata,
    "not-utf8": _not_utf8,
}

NOTEBOOK_COMMANDS = {
    "runs": lambda path: ["runs", str(path)],
    "report": lambda path: ["report", str(path)],
    "check": lambda path: ["check", str(path)],
    "execute": lambda path: ["execute", str(path)],
}


@pytest.mark.parametrize("bad", sorted(BAD_NOTEBOOKS))
@pytest.mark.parametrize("command", sorted(NOTEBOOK_COMMANDS))
def test_an_unreadable_notebook_is_exit_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, bad: str
) -> None:
    path = tmp_path / "broken.ipynb"
    detail = BAD_NOTEBOOKS[bad](path)
    before = snapshot(tmp_path)
    assert main(NOTEBOOK_COMMANDS[command](path)) == 2
    message = one_line(capsys.readouterr().err)
    assert detail in message and str(path) in message
    assert snapshot(tmp_path) == before


def test_execute_refuses_an_output_folder_before_running_anything(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    before = snapshot(tmp_path)
    started = time.perf_counter()
    assert main(["execute", str(notebook), "-o", str(folder)]) == 2
    assert time.perf_counter() - started < 5  # refused up front, no kernel started
    assert "is a folder" in one_line(capsys.readouterr().err)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["executed.html", "executed", "notes.txt"])
def test_execute_writes_only_a_notebook_file(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    assert main(["execute", str(notebook), "-o", str(tmp_path / name)]) == 2
    assert ".ipynb" in one_line(capsys.readouterr().err)
    assert snapshot(tmp_path) == before


def test_execute_never_follows_a_symlinked_output(
    notebook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.ipynb"
    nbformat.write(new_notebook(), other)
    link = tmp_path / "executed.ipynb"
    link.symlink_to(other)
    before = snapshot(tmp_path)
    assert main(["execute", str(notebook), "-o", str(link)]) == 2
    assert "symbolic link" in one_line(capsys.readouterr().err)
    assert snapshot(tmp_path) == before


def test_execute_with_an_unknown_kernel_is_exit_2(
    notebook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = notebook.read_bytes()
    assert main(["execute", str(notebook), "--kernel", "no-such-kernel-here"]) == 2
    assert "no-such-kernel-here" in one_line(capsys.readouterr().err)
    assert notebook.read_bytes() == before


def test_the_installed_command_says_a_nested_notebook_is_unusable(tmp_path: Path) -> None:
    path = tmp_path / "deep.ipynb"
    _deeply_nested(path)
    done = subprocess.run(
        [str(COMMAND), "execute", str(path)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 2
    assert "nested too deeply" in one_line(done.stderr)


def test_half_a_character_in_a_notebook_still_gives_a_report(tmp_path: Path) -> None:
    """JSON can spell a lone surrogate (`\\ud800`); no UTF-8 writer takes it."""
    notebook = tmp_path / "half.ipynb"
    notebook.write_text(
        '{"cells": [{"cell_type": "markdown", "metadata": {}, "source": '
        '"> [!DECISION] Forest \\ud800 wins\\n> [!RISK] one hospital"}], '
        '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
        encoding="utf-8",
    )
    before = notebook.read_bytes()
    assert main(["report", str(notebook), "-o", str(tmp_path / "half.review.html")]) == 0
    assert "Forest \ufffd wins" in (tmp_path / "half.review.html").read_text(encoding="utf-8")
    assert main(["report", str(notebook), "-o", str(tmp_path / "half.review.md")]) == 0
    assert notebook.read_bytes() == before
