"""The tracker in an in-process IPython shell: fast checks of what the kernel tests cover."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbmodelbook.capture.fingerprint as fingerprint_module
from nbmodelbook.capture.tracker import Tracker


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Objects fully hashed, in order (the cache's misses)."""
    calls: list[object] = []
    real = fingerprint_module.fingerprint

    def counting(obj: object) -> dict[str, object]:
        calls.append(obj)
        return real(obj)

    monkeypatch.setattr(fingerprint_module, "fingerprint", counting)
    return calls


def tracker_of(shell: InteractiveShell) -> Tracker:
    tracker = shell._nbmodelbook_tracker  # type: ignore[attr-defined]
    assert isinstance(tracker, Tracker)
    return tracker


def run(shell: InteractiveShell, code: str) -> None:
    result = shell.run_cell(code, store_history=True)
    assert result.error_in_exec is None, result.error_in_exec


def test_unchanged_data_is_hashed_once(shell: InteractiveShell, hashed: list[object]) -> None:
    run(shell, "import numpy as np\ndata = np.arange(1_000_000.0)")
    for _ in range(3):
        run(shell, "%%track m\nm = float(data.mean())")
    assert len(hashed) == 1


def test_in_place_change_is_rehashed(shell: InteractiveShell, hashed: list[object]) -> None:
    run(shell, "import numpy as np\ndata = np.zeros(100)")
    run(shell, "%%track m\nm = float(data.sum())")
    run(shell, "data[3] = 1.0")
    run(shell, "%%track m\nm = float(data.sum())")
    assert len(hashed) == 2
    tracker_of(shell).flush()
    first, second = (
        tracker_of(shell).writer.store.get_run(r["run_id"])  # type: ignore[union-attr]
        for r in tracker_of(shell).writer.store.run_summaries()  # type: ignore[union-attr]
    )
    assert first and second
    assert first.inputs["data"]["hash"] != second.inputs["data"]["hash"]


def test_user_functions_and_script_magics_invalidate_everything(
    shell: InteractiveShell, hashed: list[object]
) -> None:
    run(shell, "import numpy as np\ndata = np.zeros(10)\ndef poke():\n    data[0] = 5")
    run(shell, "%%track m\nm = float(data.sum())")
    run(shell, "poke()")  # changes data without naming it
    run(shell, "%%track m\nm = float(data.sum())")
    assert len(hashed) == 2


def test_nested_run_cell_magic_is_tracked_and_raises(shell: InteractiveShell) -> None:
    result = shell.run_cell("get_ipython().run_cell_magic('track', 'nested', 'v = 1/0')")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    tracker = tracker_of(shell)
    tracker.flush()
    [row] = tracker.writer.store.run_summaries()  # type: ignore[union-attr]
    assert row["name"] == "nested" and row["status"] == "error"


def test_status_magic(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_line_magic("modelbook", "")
    out = capsys.readouterr().out
    assert "runs.sqlite" in out and "nb.ipynb" in out


def test_switching_store(
    shell: InteractiveShell, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(shell, "%%track a\nx = sum([1])")
    shell.run_line_magic("modelbook", f"store {tmp_path / 'other.sqlite'}")
    run(shell, "%%track b\nx = sum([2])")
    tracker_of(shell).flush()
    import nbmodelbook

    assert list(nbmodelbook.runs()["name"]) == ["b"]
    assert list(nbmodelbook.runs(store=str(tmp_path / "runs.sqlite"))["name"]) == ["a"]
    assert "other.sqlite" in capsys.readouterr().out


def test_tracked_call_inside_a_tracked_cell_keeps_the_outer_run(shell: InteractiveShell) -> None:
    run(shell, "def inner():\n    get_ipython().run_cell_magic('track', 'inner', 'y = 2')")
    run(shell, "%%track outer\nimport time\ntime.sleep(0.2)\ninner()")
    tracker = tracker_of(shell)
    tracker.flush()
    rows = tracker.writer.store.run_summaries()  # type: ignore[union-attr]
    assert [(r["name"], r["status"]) for r in rows] == [("outer", "ok")]


def test_details_that_cannot_be_read_cost_only_the_details(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        shell,
        "from collections.abc import Mapping\n"
        "class Hostile(Mapping):\n"
        "    def __getitem__(self, key): raise KeyError(key)\n"
        "    def __len__(self): return 1\n"
        "    def __iter__(self): raise RuntimeError('no iterating me')",
    )
    run(shell, "%%track weird\nimport time\ntime.sleep(0.2)\nresult = Hostile()\nscore = abs(-2)")
    tracker = tracker_of(shell)
    tracker.flush()
    [row] = tracker.writer.store.run_summaries()  # type: ignore[union-attr]
    assert row["status"] == "ok"
    saved = tracker.writer.store.get_run(row["run_id"])  # type: ignore[union-attr]
    assert saved is not None and "no iterating me" in saved.extra["capture_error"]
    assert "your cell ran normally" in capsys.readouterr().err


def test_verbose_prints_one_summary_line(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    run(shell, "%%track loud -v\nscore = abs(-0.5)")
    err = capsys.readouterr().err
    assert "run 'loud'" in err and "1 metrics" in err and "evaluations" not in err
    run(
        shell,
        "%%track scored -v\nfrom sklearn.metrics import accuracy_score\n"
        "acc = accuracy_score([0, 1, 1], [0, 1, 0])",
    )
    err = capsys.readouterr().err
    assert "run 'scored'" in err and "1 evaluations" in err


def saved_output(shell: InteractiveShell, run_name: str) -> str:
    """The text the run of that name kept of its first output, once saved."""
    tracker = tracker_of(shell)
    tracker.flush()
    store = tracker.writer.store
    assert store is not None
    [row] = [r for r in store.run_summaries() if r["name"] == run_name]
    saved = store.get_run(row["run_id"])
    assert saved is not None
    return saved.outputs[0].data


def test_secrets_bound_between_tracked_cells_are_still_found(shell: InteractiveShell) -> None:
    tracker = tracker_of(shell)
    run(shell, "%%track first\nx = 1")
    # Consecutive tracked cells follow each other's bindings without comparing namespaces...
    assert tracker.secrets.since() == set()
    # ...and an untracked cell's: the names it bound are looked at, not the whole namespace...
    run(shell, "db_password = 'hunter2-correct-horse'")
    assert tracker.secrets.since() == {"db_password"}
    run(shell, "%%track second\nprint('connecting with', db_password)")
    kept = saved_output(shell, "second")
    assert "hunter2-correct-horse" not in kept and "[REDACTED]" in kept
    # ...unless it can bind names its code does not show: then everything is compared again.
    run(shell, "exec(\"other_password = 'swordfish-' + 'battery-staple'\")")
    assert tracker.secrets.since() is None
    run(shell, "%%track third\nprint('connecting with', other_password)")
    kept = saved_output(shell, "third")
    assert "battery-staple" not in kept and "[REDACTED]" in kept


def test_a_secret_a_tracked_cell_binds_is_found_by_the_next_one(shell: InteractiveShell) -> None:
    run(shell, "%%track first\napi_token = 'tok-' + 'abcdefgh1234'")
    run(shell, "%%track second\nprint(api_token)")
    assert "abcdefgh1234" not in saved_output(shell, "second")


def test_a_secret_bound_silently_is_found_when_a_cell_uses_it(shell: InteractiveShell) -> None:
    run(shell, "%%track first\nx = 1")
    # Frontends' silent executions (and widget callbacks) fire no cell events.
    shell.run_cell("service_token = 'tok-' + 'zyxwvut98765'", silent=True)
    run(shell, "%%track second\nprint(service_token)")
    assert "zyxwvut98765" not in saved_output(shell, "second")
