"""What the tracker records for cells run in a real (in-process) IPython shell."""

from __future__ import annotations

from IPython.core.interactiveshell import InteractiveShell

from nbmodelbook.capture.tracker import Tracker
from nbmodelbook.record import RunRecord


def last_run(shell: InteractiveShell) -> RunRecord:
    tracker = shell._nbmodelbook_tracker  # type: ignore[attr-defined]
    assert isinstance(tracker, Tracker)
    tracker.flush()
    store = tracker.writer.store
    assert store is not None
    latest = max(store.run_summaries(), key=lambda row: row["started_at"])
    run = store.get_run(latest["run_id"])
    assert run is not None
    return run


SETUP = (
    "from sklearn.datasets import load_iris\n"
    "from sklearn.svm import SVC\n"
    "from sklearn.cluster import KMeans\n"
    "from sklearn.model_selection import cross_val_score\n"
    "X, y = load_iris(return_X_y=True)\n"
    "model = SVC(C=5.0)"
)


def test_a_cell_failing_before_its_model_does_not_record_the_old_one(
    shell: InteractiveShell,
) -> None:
    shell.run_cell(SETUP, store_history=True)
    result = shell.run_cell(
        "%%track retry\nlr = 0.1\nmodel = SVC(C=undefined_value)\naccuracy = 0.5",
        store_history=True,
    )
    assert isinstance(result.error_in_exec, NameError)
    run = last_run(shell)
    assert run.status.value == "error"
    assert run.params == {"lr": 0.1}
    assert run.metrics == {}


def test_positional_and_used_models_through_the_tracker(shell: InteractiveShell) -> None:
    shell.run_cell(SETUP, store_history=True)
    shell.run_cell(
        "%%track clusters\nlabels = KMeans(3, random_state=0, n_init=1).fit_predict(X)",
        store_history=True,
    )
    assert last_run(shell).params == {"n_clusters": 3, "random_state": 0, "n_init": 1}
    shell.run_cell(
        "%%track validate\nscores = cross_val_score(model, X, y, cv=3)\nmean = scores.mean()",
        store_history=True,
    )
    run = last_run(shell)
    assert run.params["cv"] == 3 and run.params["model.C"] == 5.0
    assert 0.9 < run.metrics["mean"] <= 1.0
