"""The evidence behind metrics through `export-mlflow` / `import-mlflow` and a real MLflow
tracking store: artifacts any tool reads, fold scores as metric steps MLflow charts, and the
same evidence back in another nbmodelbook store."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

mlflow = pytest.importorskip(
    "mlflow", reason="MLflow is not installed: pip install 'nbmodelbook[mlflow]'"
)

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Run  # noqa: E402

from bench._records import RecordFactory  # noqa: E402
from nbmodelbook.cli import main  # noqa: E402
from nbmodelbook.interop.mlflow_mapping import (  # noqa: E402
    EVIDENCE_TAG,
    RUN_ID_TAG,
    export_payload,
)
from nbmodelbook.record import RunRecord, RunStatus  # noqa: E402
from nbmodelbook.store import codec  # noqa: E402
from nbmodelbook.store.store import RunStore  # noqa: E402
from tests.interop.test_mlflow_evidence import (  # noqa: E402
    assert_same_evidence,
    labelled_evaluation,
    multiclass_evaluation,
    search,
)

EXPERIMENT = "loans"
EVALUATIONS = "nbmodelbook/evaluations"


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


def ended(name: str, seed: int, **changes: object) -> RunRecord:
    """A finished run of the loans notebook (params, metrics, code, environment...)."""
    record = RecordFactory(["/home/analyst/loans.ipynb"], seed=seed).make(seed)
    record.name, record.status = name, RunStatus.OK
    record.ended_at = record.started_at + 2.0
    for key, value in changes.items():
        setattr(record, key, value)
    return record


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A store with two finished runs: `searched` holds two evaluations (a 2-D y_score; string
    labels with a segment) and a 12-candidate, 3-fold search; `plain` holds no evidence."""
    url = str(tmp_path / "runs.sqlite")
    store = RunStore.open(url)
    store.finish_run(
        ended(
            "searched",
            1,
            evaluations=[multiclass_evaluation(), labelled_evaluation()],
            candidates=search(12, 3),
        )
    )
    store.finish_run(ended("plain", 2))
    store.close()
    return url


def runs_of(store_url: str) -> dict[str, RunRecord]:
    """The store's runs by name, with their evidence."""
    store = RunStore.open(store_url)
    try:
        ids = [row["run_id"] for row in store.run_summaries()]
        return {record.name: record for record in store.get_runs(ids, evidence=True).values()}
    finally:
        store.close()


def mlflow_runs(uri: str) -> dict[str, Run]:
    """The active MLflow runs of the experiment, by run name."""
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(EXPERIMENT)
    assert found is not None
    return {run.info.run_name: run for run in client.search_runs([found.experiment_id])}


def export(store_url: str, uri: str, capsys: pytest.CaptureFixture[str]) -> str:
    argv = ["export-mlflow", "--all", "--store", store_url, "--tracking-uri", uri]
    assert main([*argv, "--experiment", EXPERIMENT]) == 0
    return capsys.readouterr().out


def artifact_names(uri: str, run: Run, path: str) -> list[str]:
    listed = MlflowClient(uri).list_artifacts(run.info.run_id, path)
    return sorted(entry.path.rsplit("/", 1)[-1] for entry in listed)


def download(uri: str, run: Run, path: str, folder: Path) -> Path:
    return Path(MlflowClient(uri).download_artifacts(run.info.run_id, path, str(folder)))


def test_evidence_is_exported_as_tables_and_fold_metric_steps_and_imported_back(
    store_url: str, tracking_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "2 exported, 0 updated, 0 already up to date" in export(store_url, tracking_uri, capsys)
    originals = runs_of(store_url)
    searched = originals["searched"]
    run = mlflow_runs(tracking_uri)["searched"]

    assert artifact_names(tracking_uri, run, EVALUATIONS) == [
        "0-auc.parquet",
        "1-accuracy.parquet",
        "candidates.json",
        "index.json",
    ]
    folder = download(tracking_uri, run, EVALUATIONS, tmp_path / "download")
    scored = pd.read_parquet(folder / "0-auc.parquet")
    assert list(scored.columns) == [
        "y_true",
        "y_score_0",
        "y_score_1",
        "y_score_2",
        "sample_weight",
    ]
    assert len(scored) == len(searched.evaluations[0].y_true)
    np.testing.assert_array_equal(
        scored["y_score_1"], np.asarray(searched.evaluations[0].y_score)[:, 1]
    )
    labelled = pd.read_parquet(folder / "1-accuracy.parquet")
    assert list(labelled.columns) == ["y_true", "y_pred", "segment_region"]
    assert labelled["y_true"].tolist() == searched.evaluations[1].y_true.tolist()
    assert list(labelled["segment_region"].cat.categories) == ["north", "south", "east"]
    index = codec.loads((folder / "index.json").read_text())["evaluations"]
    assert [(entry["function"], entry["metric"], entry["n"]) for entry in index] == [
        ("roc_auc_score", "auc", 40),
        ("accuracy_score", "accuracy", 40),
    ]
    assert index[0]["n_total"] == 1_000 and index[0]["sampled"] is True
    listed = codec.loads((folder / "candidates.json").read_text())["candidates"]
    assert len(listed) == 12

    # Each candidate's fold scores: one metric, a step per fold, charted by MLflow's UI.
    client = MlflowClient(tracking_uri)
    history = client.get_metric_history(run.info.run_id, "cv/roc_auc/0-4")
    assert sorted((point.step, point.value) for point in history) == [
        (fold, score) for fold, score in enumerate(searched.candidates[4].fold_scores)
    ]
    with_nan = client.get_metric_history(run.info.run_id, "cv/roc_auc/0-5")
    assert math.isnan(sorted(with_nan, key=lambda point: point.step)[1].value)
    summary = codec.loads(run.data.tags[EVIDENCE_TAG])
    assert (summary["evaluations"], summary["candidates"]) == (2, 12)

    # Again: nothing changes, no step is logged twice.
    assert "0 exported, 0 updated, 2 already up to date" in export(store_url, tracking_uri, capsys)
    assert len(client.get_metric_history(run.info.run_id, "cv/roc_auc/0-4")) == 3

    fresh = str(tmp_path / "elsewhere.sqlite")
    assert main(["import-mlflow", "--tracking-uri", tracking_uri, "--store", fresh]) == 0
    assert "2 imported" in capsys.readouterr().out
    restored = runs_of(fresh)
    assert_same_evidence(
        (restored["searched"].evaluations, restored["searched"].candidates),
        (searched.evaluations, searched.candidates),
    )
    assert restored["searched"].metrics == searched.metrics  # no fold score became a metric
    assert restored["plain"].evaluations == [] and restored["plain"].candidates == []


def test_a_run_without_evidence_exports_as_it_always_did(
    store_url: str, sqlite_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    export(store_url, sqlite_uri, capsys)
    plain = runs_of(store_url)["plain"]
    run = mlflow_runs(sqlite_uri)["plain"]
    assert artifact_names(sqlite_uri, run, "nbmodelbook") == ["code.py", "run.json"]
    assert artifact_names(sqlite_uri, run, EVALUATIONS) == []
    payload = export_payload(plain)
    assert payload is not None and payload.evidence is None
    ours = {key: value for key, value in run.data.tags.items() if key.startswith("nbmodelbook.")}
    assert ours == {key: value for key, value in payload.tags.items() if key in ours}
    assert set(ours) == {key for key in payload.tags if key.startswith("nbmodelbook.")}
    assert EVIDENCE_TAG not in run.data.tags
    assert set(run.data.metrics) == set(payload.metrics)  # no fold-score metric
    client = MlflowClient(sqlite_uri)
    assert all(len(client.get_metric_history(run.info.run_id, key)) == 1 for key in payload.metrics)


def test_changed_evidence_replaces_the_mlflow_run_and_new_evidence_joins_it(
    store_url: str, sqlite_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    export(store_url, sqlite_uri, capsys)
    before = mlflow_runs(sqlite_uri)
    records = runs_of(store_url)
    searched, plain = records["searched"], records["plain"]
    searched.candidates[4].fold_scores = [0.5, 0.6, 0.55]  # the search was run again
    plain.candidates = search(2, 3)  # a run that had no evidence gets some
    store = RunStore.open(store_url)
    for record in (searched, plain):
        store.finish_run(record)
    store.close()

    assert "0 exported, 2 updated, 0 already up to date" in export(store_url, sqlite_uri, capsys)
    after = mlflow_runs(sqlite_uri)
    client = MlflowClient(sqlite_uri)
    # MLflow cannot rewrite a metric's steps: a new run, the old one deleted.
    replaced = after["searched"]
    assert replaced.info.run_id != before["searched"].info.run_id
    assert client.get_run(before["searched"].info.run_id).info.lifecycle_stage == "deleted"
    history = client.get_metric_history(replaced.info.run_id, "cv/roc_auc/0-4")
    assert sorted((point.step, point.value) for point in history) == [(0, 0.5), (1, 0.6), (2, 0.55)]
    # Evidence for the first time: added to the same run.
    joined = after["plain"]
    assert joined.info.run_id == before["plain"].info.run_id
    assert artifact_names(sqlite_uri, joined, EVALUATIONS) == ["candidates.json", "index.json"]
    assert len(client.get_metric_history(joined.info.run_id, "cv/roc_auc/0-1")) == 3
    assert joined.data.tags[RUN_ID_TAG] == plain.run_id
    assert "0 exported, 0 updated, 2 already up to date" in export(store_url, sqlite_uri, capsys)


def test_evidence_comes_back_when_run_json_is_lost(
    store_url: str, sqlite_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run rebuilt from MLflow's own data still gets its evidence, and its fold-score
    metrics are not taken for run metrics."""
    export(store_url, sqlite_uri, capsys)
    searched = runs_of(store_url)["searched"]
    run = mlflow_runs(sqlite_uri)["searched"]
    (Path(run.info.artifact_uri.removeprefix("file://")) / "nbmodelbook" / "run.json").unlink()
    fresh = str(tmp_path / "elsewhere.sqlite")
    assert main(["import-mlflow", "--tracking-uri", sqlite_uri, "--store", fresh]) == 0
    capsys.readouterr()
    restored = runs_of(fresh)["searched"]
    assert restored.code == ""  # rebuilt from the tags: the code was in run.json
    assert restored.metrics == searched.metrics
    assert_same_evidence(
        (restored.evaluations, restored.candidates), (searched.evaluations, searched.candidates)
    )


def test_unreadable_evidence_leaves_the_run_importable_without_it(
    store_url: str, sqlite_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export(store_url, sqlite_uri, capsys)
    run = mlflow_runs(sqlite_uri)["searched"]
    folder = Path(run.info.artifact_uri.removeprefix("file://")) / EVALUATIONS
    (folder / "1-accuracy.parquet").write_bytes(b"damaged")
    from nbmodelbook.interop.mlflow_import import import_runs

    fresh = RunStore.open(str(tmp_path / "elsewhere.sqlite"))
    try:
        result = import_runs(MlflowClient(sqlite_uri), fresh)
    finally:
        fresh.close()
    assert (result.imported, result.evidence_unreadable) == (2, 1)
    restored = runs_of(str(tmp_path / "elsewhere.sqlite"))["searched"]
    assert restored.evaluations == [] and restored.candidates == []
    assert restored.params == runs_of(store_url)["searched"].params
