"""`export-mlflow` / `import-mlflow` against real MLflow tracking stores in a temporary folder.

Exports land in a real MLflow SQLite store (and the file store), read back with MLflow's own
client; imports go into real nbmodelbook stores, then through `compare` and the review report.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

mlflow = pytest.importorskip(
    "mlflow", reason="MLflow is not installed: pip install 'nbmodelbook[mlflow]'"
)

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import DatasetInput, Metric, Param, Run, RunTag  # noqa: E402

import nbmodelbook  # noqa: E402
from bench._records import RecordFactory, fail  # noqa: E402
from nbmodelbook.capture.fingerprint import fingerprint  # noqa: E402
from nbmodelbook.cli import main  # noqa: E402
from nbmodelbook.interop.mlflow_client import MlflowInteropError, mlflow_errors  # noqa: E402
from nbmodelbook.interop.mlflow_mapping import (  # noqa: E402
    LOGGED_TAG,
    RUN_ID_TAG,
    metric_from_mlflow,
    param_text,
)
from nbmodelbook.record import RunRecord, RunStatus  # noqa: E402
from nbmodelbook.report.load import load_review  # noqa: E402
from nbmodelbook.store.journal import record_from_json  # noqa: E402
from nbmodelbook.store.store import RunStore  # noqa: E402

STATUSES = {"ok": "FINISHED", "error": "FAILED", "crashed": "FAILED", "interrupted": "KILLED"}
DECISION = (
    "> [!DECISION] Gradient boosting for the churn model\n"
    "> We chose run:xgb-300 over run:rf-200: it ranks customers better. metric:auc"
)


@pytest.fixture(scope="module", autouse=True)
def quiet_mlflow() -> Iterator[None]:
    """No telemetry from MLflow, and no tracking store or run store from the environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        patch.setenv("DO_NOT_TRACK", "true")
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("NBMODELBOOK_STORE", raising=False)
        yield


@pytest.fixture(scope="module")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store, created once: creating one takes seconds, a copy none."""
    path = tmp_path_factory.mktemp("mlflow") / "template.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # MLflow keeps a SQLite store's artifacts under ./mlruns


@pytest.fixture
def sqlite_uri(tmp_path: Path, mlflow_template: Path) -> str:
    database = tmp_path / "mlflow.db"
    shutil.copy(mlflow_template, database)
    return f"sqlite:///{database}"


@pytest.fixture(params=["sqlite", "file"])
def tracking_uri(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Both MLflow tracking stores: SQLite, and the file store MLflow 3 keeps on request."""
    if request.param == "file":
        monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        return (tmp_path / "mlruns").as_uri()
    uri: str = request.getfixturevalue("sqlite_uri")
    return uri


def store_url(notebook: Path) -> str:
    return str(notebook.parent / ".nbmodelbook" / "runs.sqlite")


def write_notebook(path: Path, *markdown: str) -> Path:
    cells = [new_markdown_cell("# Loan defaults"), new_code_cell("%load_ext nbmodelbook")]
    cells += [new_markdown_cell(text) for text in markdown]
    nbformat.write(new_notebook(cells=cells), path)
    return path


def loans_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(rows)
    return pd.DataFrame(
        {
            "income": rng.normal(50_000, 9_000, rows),
            "age": rng.integers(18, 80, rows),
            "region": rng.choice(["north", "south"], rows),
        }
    )


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    """A notebook with its store beside it: five ended runs (ok, error, crashed, interrupted,
    one with NaN and infinite metrics) with real data fingerprints, and one still running."""
    path = write_notebook(tmp_path / "loans.ipynb")
    factory = RecordFactory([str(path.resolve())], seed=11)
    records = []
    for index in range(6):
        record = factory.make(index)
        frame = loans_frame(200 + index)
        record.name = f"gbm-{index}"
        record.inputs = {"X_train": fingerprint(frame), "y_train": fingerprint(frame["age"])}
        records.append(record)
    fail(records[1])
    records[2].status = RunStatus.CRASHED
    records[3].status = RunStatus.INTERRUPTED
    records[4].metrics.update(auc=math.nan, log_loss=math.inf, margin=-math.inf)
    records[5] = replace(records[5], status=RunStatus.RUNNING, started_at=time.time())
    records[5].ended_at = None
    store = RunStore.open(store_url(path))
    for record in records:
        store.finish_run(record)
    store.close()
    return path


def stored(notebook: Path) -> dict[str, RunRecord]:
    store = RunStore.open(store_url(notebook))
    try:
        return store.get_runs([row["run_id"] for row in store.run_summaries()])
    finally:
        store.close()


def mlflow_runs(uri: str, experiment: str) -> dict[str, Run]:
    """The active MLflow runs of an experiment, by the nbmodelbook run they came from."""
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    runs = client.search_runs([found.experiment_id], max_results=1000)
    return {run.data.tags.get(RUN_ID_TAG, run.info.run_id): run for run in runs}


def artifact_text(uri: str, run: Run, name: str, folder: Path) -> str:
    path = MlflowClient(uri).download_artifacts(run.info.run_id, f"nbmodelbook/{name}", str(folder))
    return Path(path).read_text(encoding="utf-8")


def export(notebook: Path, uri: str, capsys: pytest.CaptureFixture[str], *more: str) -> str:
    assert main(["export-mlflow", str(notebook), "--tracking-uri", uri, *more]) == 0
    return capsys.readouterr().out


# --- export ------------------------------------------------------------------------------------


def test_exported_runs_hold_what_nbmodelbook_recorded(
    notebook: Path, tracking_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = export(notebook, tracking_uri, capsys)
    assert "(experiment 'loans'): 5 exported, 0 updated, 0 already up to date" in out
    assert "1 still running, left for a later export" in out
    records = stored(notebook)
    runs = mlflow_runs(tracking_uri, "loans")
    ended = {run_id for run_id, record in records.items() if record.status != "running"}
    assert set(runs) == ended
    for run_id in ended:
        record, run = records[run_id], runs[run_id]
        info, data = run.info, run.data
        assert info.status == STATUSES[record.status.value]
        assert info.run_name == record.name == data.tags["mlflow.runName"]
        assert info.start_time == round(record.started_at * 1000)
        assert record.ended_at is not None and info.end_time == round(record.ended_at * 1000)
        assert data.params == {key: param_text(value) for key, value in record.params.items()}
        assert set(data.metrics) == set(record.metrics)
        for key, value in record.metrics.items():
            got = metric_from_mlflow(data.metrics[key])
            assert (math.isnan(got) and math.isnan(value)) or got == value
        assert all(data.tags[label] == "true" for label in record.tags)
        assert data.tags["mlflow.user"] == "analyst"
        assert data.tags["mlflow.source.name"] == record.notebook
        assert data.tags["mlflow.source.git.commit"] == record.environment["git"]["commit"]
        assert data.tags["nbmodelbook.status"] == record.status.value
        assert data.tags["nbmodelbook.cell_id"] == record.cell_id
        code = artifact_text(tracking_uri, run, "code.py", tmp_path / "download" / run_id)
        assert code == record.code
        kept = artifact_text(tracking_uri, run, "run.json", tmp_path / "download" / run_id)
        assert record_from_json(kept) == record
        datasets = {found.dataset.name: found.dataset for found in run.inputs.dataset_inputs}
        assert datasets.keys() == {"X_train", "y_train"}
        assert datasets["X_train"].digest == record.inputs["X_train"]["hash"]
        assert '"num_rows":' in datasets["X_train"].profile
        assert '"name":"region"' in datasets["X_train"].schema
    failed = next(record for record in records.values() if record.status is RunStatus.ERROR)
    assert runs[failed.run_id].data.tags["nbmodelbook.error"].startswith("ValueError: Input")


def test_exporting_again_duplicates_nothing_and_brings_what_changed(
    notebook: Path, sqlite_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    export(notebook, sqlite_uri, capsys)
    before = mlflow_runs(sqlite_uri, "loans")
    out = export(notebook, sqlite_uri, capsys)
    assert "0 exported, 0 updated, 5 already up to date" in out
    assert mlflow_runs(sqlite_uri, "loans").keys() == before.keys()

    records = stored(notebook)
    by_start = sorted(records.values(), key=lambda record: record.started_at)
    edited, retuned, running = by_start[0], by_start[4], by_start[5]
    assert running.status is RunStatus.RUNNING
    removed = set(edited.tags[1:])
    edited.note, edited.tags = "checked by the second line", edited.tags[:1]
    edited.metrics["accuracy"] = 0.75
    retuned.params["max_depth"] = 99  # MLflow never changes a logged param: a new run
    running.status, running.ended_at = RunStatus.OK, running.started_at + 3.0
    save(notebook, edited, retuned, running)

    out = export(notebook, sqlite_uri, capsys)
    assert "1 exported, 2 updated, 3 already up to date" in out
    after = mlflow_runs(sqlite_uri, "loans")
    assert len(after) == 6 and set(after) == set(records)
    # Changed in place: the same MLflow run, the new values, the removed label gone.
    moved = after[edited.run_id]
    assert moved.info.run_id == before[edited.run_id].info.run_id
    assert moved.data.tags["mlflow.note.content"] == "checked by the second line"
    assert moved.data.metrics["accuracy"] == 0.75
    assert set(before[edited.run_id].data.tags) - set(moved.data.tags) == removed
    # Replaced: a new MLflow run holds the new param, the old one is deleted.
    replaced = after[retuned.run_id]
    assert replaced.info.run_id != before[retuned.run_id].info.run_id
    assert replaced.data.params["max_depth"] == "99"
    old = MlflowClient(sqlite_uri).get_run(before[retuned.run_id].info.run_id)
    assert old.info.lifecycle_stage == "deleted"
    assert after[running.run_id].info.status == "FINISHED"
    assert "0 exported, 0 updated, 6 already up to date" in export(notebook, sqlite_uri, capsys)


def save(notebook: Path, *records: RunRecord) -> None:
    """Write changed runs back into the notebook's store."""
    store = RunStore.open(store_url(notebook))
    try:
        for record in records:
            store.finish_run(record)
    finally:
        store.close()


def two_earliest_finished(records: dict[str, RunRecord]) -> tuple[RunRecord, RunRecord]:
    first, second = sorted(
        (record for record in records.values() if record.status is RunStatus.OK),
        key=lambda record: record.started_at,
    )[:2]
    return first, second


def test_what_a_teammate_logged_on_an_exported_run_survives_the_next_export(
    notebook: Path, sqlite_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    export(notebook, sqlite_uri, capsys)
    before = mlflow_runs(sqlite_uri, "loans")
    records = stored(notebook)
    first, second = two_earliest_finished(records)
    client = MlflowClient(sqlite_uri)
    for record in (first, second):  # the teammate reviews two runs in MLflow's UI
        mlflow_id = before[record.run_id].info.run_id
        client.log_param(mlflow_id, "reviewed_by", "maria")
        client.log_metric(mlflow_id, "holdout_auc", 0.83)
        client.set_tag(mlflow_id, "review.verdict", "passed")
    # One run exported before nbmodelbook recorded which keys it logged: run.json says.
    client.delete_tag(before[second.run_id].info.run_id, LOGGED_TAG)

    first.tags, first.note = [*first.tags, "shortlisted"], "second look: fine"
    first.metrics["recall"] = 0.61
    second.note = "kept for the audit"
    save(notebook, first, second)

    assert "0 exported, 2 updated, 3 already up to date" in export(notebook, sqlite_uri, capsys)
    after = mlflow_runs(sqlite_uri, "loans")
    assert len(after) == 5
    for record in (first, second):
        run = after[record.run_id]
        assert run.info.run_id == before[record.run_id].info.run_id  # runs:/<id> still works
        assert run.data.params["reviewed_by"] == "maria"
        assert run.data.metrics["holdout_auc"] == 0.83
        assert run.data.tags["review.verdict"] == "passed"
        assert run.data.tags["mlflow.note.content"] == record.note
        assert LOGGED_TAG in run.data.tags
    assert after[first.run_id].data.tags["shortlisted"] == "true"
    assert after[first.run_id].data.metrics["recall"] == 0.61
    assert "0 exported, 0 updated, 5 already up to date" in export(notebook, sqlite_uri, capsys)


@pytest.mark.parametrize("with_tag", [True, False], ids=["tagged", "exported-before-the-tag"])
def test_a_param_or_metric_nbmodelbook_logged_and_dropped_replaces_the_run(
    with_tag: bool, notebook: Path, sqlite_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    export(notebook, sqlite_uri, capsys)
    before = mlflow_runs(sqlite_uri, "loans")
    records = stored(notebook)
    trimmed, shrunk = two_earliest_finished(records)
    client = MlflowClient(sqlite_uri)
    if not with_tag:
        for record in (trimmed, shrunk):
            client.delete_tag(before[record.run_id].info.run_id, LOGGED_TAG)
    param, metric = sorted(trimmed.params)[0], sorted(shrunk.metrics)[0]
    del trimmed.params[param], shrunk.metrics[metric]
    save(notebook, trimmed, shrunk)

    assert "0 exported, 2 updated, 3 already up to date" in export(notebook, sqlite_uri, capsys)
    after = mlflow_runs(sqlite_uri, "loans")
    assert len(after) == 5
    for record in (trimmed, shrunk):
        assert after[record.run_id].info.run_id != before[record.run_id].info.run_id
    assert param not in after[trimmed.run_id].data.params
    assert metric not in after[shrunk.run_id].data.metrics


def test_all_exports_each_notebooks_runs_to_its_own_experiment(
    tmp_path: Path, sqlite_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore.open(str(tmp_path / "team.sqlite"))
    factory = RecordFactory(["/team/churn.ipynb", "/team/fraud.ipynb"], seed=5)
    for index in range(4):
        store.finish_run(factory.make(index))
    store.close()
    args = ["export-mlflow", "--all", "--store", str(tmp_path / "team.sqlite")]
    assert main([*args, "--tracking-uri", sqlite_uri]) == 0
    assert "(experiment 'churn', 'fraud'): 4 exported" in capsys.readouterr().out
    assert len(mlflow_runs(sqlite_uri, "churn")) == len(mlflow_runs(sqlite_uri, "fraud")) == 2
    assert main([*args, "--tracking-uri", sqlite_uri, "--experiment", "all-models"]) == 0
    assert "4 exported" in capsys.readouterr().out
    assert len(mlflow_runs(sqlite_uri, "all-models")) == 4


# --- import ------------------------------------------------------------------------------------


def mlflow_native_runs(uri: str) -> dict[str, str]:
    """Runs logged with MLflow's own client, the way MLflow users log them; name -> id."""
    from mlflow.data import from_pandas

    client = MlflowClient(uri)
    experiment = client.create_experiment("churn")
    customers = from_pandas(loans_frame(120).astype({"age": float}), name="customers")
    ids = {}
    for name, status, auc in (("xgb-300", "FINISHED", 0.91), ("rf-200", "FAILED", 0.87)):
        run = client.create_run(experiment, run_name=name, tags={"mlflow.user": "maria"})
        run_id = run.info.run_id
        params = {"n_estimators": name.split("-")[1], "learning_rate": "0.05", "model": name[:2]}
        client.log_batch(
            run_id,
            metrics=[Metric("auc", auc - 0.1, 1, 0), Metric("auc", auc, 2, 1)],
            params=[Param(key, value) for key, value in params.items()],
            tags=[RunTag("team", "retention"), RunTag("candidate", "true")],
        )
        client.log_inputs(run_id, [DatasetInput(customers._to_mlflow_entity())])
        client.set_terminated(run_id, status=status)
        ids[name] = run_id
    ids["still-going"] = client.create_run(experiment, run_name="still-going").info.run_id
    return ids


def test_imported_runs_can_be_compared_and_cited_in_a_review(
    tmp_path: Path, sqlite_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = mlflow_native_runs(sqlite_uri)
    review_notebook = write_notebook(tmp_path / "churn.ipynb", DECISION)
    args = ["import-mlflow", "--tracking-uri", sqlite_uri, "--experiment", "churn"]
    assert main([*args, "--notebook", str(review_notebook)]) == 0
    out = capsys.readouterr().out
    assert "2 imported, 0 updated, 0 already up to date" in out
    assert "1 not finished, left for a later import" in out

    url = store_url(review_notebook)  # the notebook's own store
    store = RunStore.open(url)
    rows = {row["name"]: row for row in store.run_summaries()}
    store.close()
    assert set(rows) == {"xgb-300", "rf-200"}
    xgb = rows["xgb-300"]
    assert xgb["status"] == "ok" and rows["rf-200"]["status"] == "error"
    assert xgb["params"] == {"n_estimators": 300, "learning_rate": 0.05, "model": "xg"}
    assert xgb["metrics"] == {"auc": 0.91}  # the latest value
    assert xgb["user"] == "maria" and sorted(xgb["tags"]) == ["candidate", "team=retention"]
    assert xgb["notebook"] == str(review_notebook.resolve())

    view = nbmodelbook.compare("xgb-300", "rf-200", store=url)
    auc = next(row for row in view.comparison.evidence.metrics if row.name == "auc")
    assert auc.values == (0.91, 0.87) and auc.best == (0,)
    assert [row.name for row in view.comparison.params()] == ["model", "n_estimators"]
    assert view.comparison.data[0].kind == "same"  # the same MLflow dataset digest

    review = load_review(review_notebook, progress=lambda _message: None)
    decision = review.decisions[0]
    assert decision.chosen_run_id is not None and decision.evidence.missing_refs == []
    assert [review.runs[run_id].name for run_id in decision.evidence.run_ids] == [
        "xgb-300",
        "rf-200",
    ]
    assert main(["report", str(review_notebook), "-o", str(tmp_path / "churn.md")]) == 0
    report = (tmp_path / "churn.md").read_text(encoding="utf-8")
    assert "xgb-300" in report and "rf-200" in report and "0.91" in report

    # Again: nothing new. After a change in MLflow: that run is brought up to date.
    assert main([*args, "--notebook", str(review_notebook)]) == 0
    assert "0 imported, 0 updated, 2 already up to date" in capsys.readouterr().out
    MlflowClient(sqlite_uri).set_tag(ids["xgb-300"], "approved", "true")
    assert main([*args, "--notebook", str(review_notebook)]) == 0
    assert "0 imported, 1 updated, 1 already up to date" in capsys.readouterr().out
    store = RunStore.open(url)
    assert store.count() == 2
    updated = store.get_runs([row["run_id"] for row in store.run_summaries()])
    store.close()
    assert [sorted(record.tags) for record in updated.values() if record.name == "xgb-300"] == [
        ["approved", "candidate", "team=retention"]
    ]


def test_exported_runs_are_not_imported_back_and_restore_whole_elsewhere(
    notebook: Path, tracking_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export(notebook, tracking_uri, capsys)
    originals = stored(notebook)
    args = ["import-mlflow", "--tracking-uri", tracking_uri]
    assert main([*args, "--store", store_url(notebook)]) == 0
    out = capsys.readouterr().out
    assert "0 imported, 0 updated, 0 already up to date" in out
    assert "5 exported from this store, already in it" in out
    assert stored(notebook).keys() == originals.keys()

    fresh = str(tmp_path / "elsewhere.sqlite")
    assert main([*args, "--store", fresh]) == 0
    assert "5 imported" in capsys.readouterr().out
    store = RunStore.open(fresh)
    restored = store.get_runs([row["run_id"] for row in store.run_summaries()])
    store.close()
    assert len(restored) == 5
    for run_id, record in restored.items():
        assert record == originals[run_id]  # code, inputs, lineage, environment: all of it
    assert main([*args, "--store", fresh]) == 0
    assert "5 exported from this store, already in it" in capsys.readouterr().out


def test_an_exported_run_without_its_record_artifact_comes_back_from_its_tags(
    notebook: Path, sqlite_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export(notebook, sqlite_uri, capsys)
    originals = stored(notebook)
    runs = mlflow_runs(sqlite_uri, "loans")
    crashed = next(r for r in originals.values() if r.status is RunStatus.CRASHED)
    artifacts = Path(runs[crashed.run_id].info.artifact_uri.removeprefix("file://"))
    (artifacts / "nbmodelbook" / "run.json").unlink()
    fresh = str(tmp_path / "elsewhere.sqlite")
    assert main(["import-mlflow", "--tracking-uri", sqlite_uri, "--store", fresh]) == 0
    assert "5 imported" in capsys.readouterr().out
    store = RunStore.open(fresh)
    record = store.get_run(crashed.run_id)
    store.close()
    assert record is not None and record.status is RunStatus.CRASHED
    assert (record.name, record.params, record.tags) == (crashed.name, crashed.params, crashed.tags)
    assert record.metrics == crashed.metrics and record.cell_id == crashed.cell_id
    assert record.inputs["X_train"]["hash"] == crashed.inputs["X_train"]["hash"]
    assert record.code == ""  # the cell's code was in the missing artifact


class RemoteStoreError(RuntimeError):
    """Neither MLflow's nor an OS error: what a remote artifact store's client may raise."""


def test_a_failing_artifact_store_falls_back_to_the_runs_tags(
    notebook: Path,
    sqlite_uri: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    export(notebook, sqlite_uri, capsys)
    originals = stored(notebook)
    asked: list[str] = []

    def unreachable(*args: object, artifact_uri: str, **kwargs: object) -> str:
        asked.append(artifact_uri)
        raise RemoteStoreError("An error occurred (AccessDenied) when calling GetObject")

    monkeypatch.setattr("mlflow.artifacts.download_artifacts", unreachable)
    fresh = str(tmp_path / "elsewhere.sqlite")
    assert main(["import-mlflow", "--tracking-uri", sqlite_uri, "--store", fresh]) == 0
    assert "5 imported" in capsys.readouterr().out
    assert len(asked) == 5 and all(uri.endswith("nbmodelbook/run.json") for uri in asked)
    store = RunStore.open(fresh)
    restored = store.get_runs([row["run_id"] for row in store.run_summaries()])
    store.close()
    assert restored.keys() == {i for i, r in originals.items() if r.status != "running"}
    for run_id, record in restored.items():
        assert (record.name, record.params) == (originals[run_id].name, originals[run_id].params)
        assert record.code == ""  # rebuilt from MLflow's data: the cell's code was in run.json


# --- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export-mlflow"], "name the notebook whose runs to export, or --all"),
        (["export-mlflow", "x.ipynb", "--all"], "give a notebook or --all, not both"),
        (["export-mlflow", "missing.ipynb"], "no such notebook: missing.ipynb"),
        (["import-mlflow", "--notebook", "missing.ipynb"], "no such notebook: missing.ipynb"),
        (["export-mlflow", "--all", "--store", "nowhere/runs.sqlite"], "no run store at"),
    ],
)
def test_usage_errors_say_what_to_do(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_mlflow_refusals_are_one_line(
    notebook: Path, sqlite_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import-mlflow", "--tracking-uri", sqlite_uri, "--experiment", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no MLflow experiment named 'nope'" in err and "(known: Default)" in err
    client = MlflowClient(sqlite_uri)
    client.delete_experiment(client.create_experiment("loans"))
    assert main(["export-mlflow", str(notebook), "--tracking-uri", sqlite_uri]) == 2
    err = capsys.readouterr().err
    assert "the MLflow experiment 'loans'" in err and "is deleted: restore it" in err
    assert err.count("\n") == 1
    file_store = (tmp_path / "mlruns").as_uri()
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ
    assert main(["export-mlflow", str(notebook), "--tracking-uri", file_store]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nbmodelbook: MLflow at {file_store}: ") and err.count("\n") == 1


@pytest.mark.parametrize("command", ["export-mlflow", "import-mlflow"])
def test_without_mlflow_the_commands_name_the_extra(
    command: str,
    notebook: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what `import mlflow` meets uninstalled
    argv = [command, str(notebook)] if command == "export-mlflow" else [command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == "nbmodelbook: MLflow is not installed: pip install 'nbmodelbook[mlflow]'\n"
    assert not re.search(r"Traceback", err)


def test_mlflow_errors_never_show_the_tracking_stores_credentials() -> None:
    from mlflow.exceptions import MlflowException

    message = (
        "API request to http://alice:s3cret@mlflow.example:5000/api/2.0/mlflow/runs/search "
        "failed; see https://mlflow.example/help?token=s3cret&page=2\nTraceback: s3cret"
    )
    where = "http://alice:s3cret@mlflow.example:5000?password=s3cret"
    with pytest.raises(MlflowInteropError) as raised, mlflow_errors(where):
        raise MlflowException(message)
    assert str(raised.value) == (
        "MLflow at http://mlflow.example:5000: API request to "
        "http://mlflow.example:5000/api/2.0/mlflow/runs/search failed; see "
        "https://mlflow.example/help?page=2"
    )
    # Nor does a traceback (a notebook shows and keeps one): MLflow's message is not chained.
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_an_unreachable_tracking_server_is_named_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    uri = f"http://alice:s3cret@127.0.0.1:{port}"
    store = str(tmp_path / "s.sqlite")
    assert main(["import-mlflow", "--tracking-uri", uri, "--store", store]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nbmodelbook: MLflow at http://127.0.0.1:{port}: ")
    assert f"http://127.0.0.1:{port}/api/2.0/mlflow/" in err  # what MLflow said is kept
    assert "s3cret" not in err and "alice" not in err and err.count("\n") == 1


def test_imported_runs_lose_their_secrets(tmp_path: Path, sqlite_uri: str) -> None:
    """An MLflow run's params, tags, note and name pass the store's redaction like any run."""
    openai = "sk-proj-" + "Qw3rTy6uIo9pAs2dFg5hJk8lZx1cVb4n"
    password = "Tr0ub4dor-and-3"
    client = MlflowClient(sqlite_uri)
    experiment = client.create_experiment("leaky")
    run = client.create_run(
        experiment,
        run_name=f"model {openai}",
        tags={"mlflow.note.content": f"connect with password={password}", "env": openai},
    )
    client.log_batch(
        run.info.run_id,
        metrics=[Metric("auc", 0.9, 0, 0)],
        params=[Param("api_key", openai), Param("db_password", password), Param("depth", "4")],
    )
    client.set_terminated(run.info.run_id, status="FINISHED")
    notebook = write_notebook(tmp_path / "leaky.ipynb")
    args = ["import-mlflow", "--tracking-uri", sqlite_uri, "--experiment", "leaky"]
    assert main([*args, "--notebook", str(notebook)]) == 0

    store = RunStore.open(store_url(notebook))
    [record] = store.get_runs([row["run_id"] for row in store.run_summaries()]).values()
    store.close()
    assert record.params["depth"] == 4  # what is not secret stays
    assert record.metrics == {"auc": 0.9}
    for path in (tmp_path / ".nbmodelbook").rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            assert openai.encode() not in raw and password.encode() not in raw, path.name
    assert openai not in repr(record) and password not in repr(record)
