"""`nbmodelbook import-mlflow`: MLflow runs into a store, where they can be compared and cited.

An imported run's id is derived from its MLflow run id (`mlflow_mapping.import_run_id`), so
importing again finds it: an unchanged run is skipped, a changed one replaced. A run that came
from nbmodelbook (its `nbmodelbook.run_id` tag) is never copied back into a store that holds
it; into another store it comes back whole, from its `nbmodelbook/run.json` artifact. Runs that
have not finished are left for a later import.

A run an nbmodelbook export left evidence on (its `nbmodelbook.evidence` tag) gets it back from
its `nbmodelbook/evaluations/` artifacts: evaluations and candidates as they were, and its
fold-score metrics are not taken for run metrics. When those artifacts cannot be read, the run
is imported without its evidence, as a run whose `run.json` cannot be read is rebuilt from tags.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from nbmodelbook.interop.mlflow_client import (
    experiments,
    exported_record,
    location,
    mlflow_client,
    mlflow_errors,
    require_mlflow,
    search_runs,
)
from nbmodelbook.interop.mlflow_evidence import (
    EvidenceArtifactsUnreadable,
    ReadEvidence,
    read_evidence_folder,
)
from nbmodelbook.interop.mlflow_mapping import (
    EVIDENCE_ARTIFACT_DIR,
    DatasetSpec,
    MlflowRunData,
    has_evidence,
    import_run_id,
    import_status,
    imported_digest,
    record_from_mlflow,
)
from nbmodelbook.record import RunRecord
from nbmodelbook.store.backends import resolve_store_url, store_for_notebook
from nbmodelbook.store.store import RunStore

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

Progress = Callable[[int], None]


@dataclass(slots=True)
class ImportResult:
    imported: int = 0  # new in the store
    updated: int = 0  # changed in MLflow since the last import: replaced
    unchanged: int = 0  # imported before, unchanged
    already_held: int = 0  # exported from nbmodelbook, and the store holds the original
    unfinished: int = 0  # running or scheduled in MLflow: left for a later import
    # Of those imported or updated: the evidence an export left could not be read back.
    evidence_unreadable: int = 0
    experiments: list[str] = field(default_factory=list)
    tracking_uri: str = ""
    store: str = ""

    @property
    def total(self) -> int:
        return self.imported + self.updated + self.unchanged + self.already_held + self.unfinished


def import_from_mlflow(
    *,
    tracking_uri: str | None = None,
    experiment_names: Sequence[str] = (),
    store: str | None = None,
    notebook: Path | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the runs of the named experiments (every experiment when none is named).

    With `notebook`, the runs are filed under it, in its store unless `store` is given;
    without, they go to `store` (default: $NBMODELBOOK_STORE or this folder's store).
    """
    from nbmodelbook.repository import repository_of

    require_mlflow()
    client = mlflow_client(tracking_uri)
    path = repo = None
    if notebook is not None:
        resolved = notebook.expanduser().resolve()
        path, repo = str(resolved), repository_of(resolved.parent)
        store_url = store_for_notebook(resolved, store)
    else:
        store_url = resolve_store_url(store)
    run_store = RunStore.open(store_url, recover=False)  # a file that is not a store: left as it is
    try:
        result = import_runs(
            client,
            run_store,
            experiment_names=experiment_names,
            notebook=path,
            repo=repo,
            progress=progress,
        )
        result.store = run_store.location
        return result
    finally:
        run_store.close()


def import_runs(
    client: MlflowClient,
    store: RunStore,
    *,
    experiment_names: Sequence[str] = (),
    notebook: str | None = None,
    repo: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import MLflow runs into `store`; with `notebook`, filed under it and `repo`."""
    result = ImportResult(tracking_uri=location(client))
    with mlflow_errors(result.tracking_uri):
        chosen = experiments(client, experiment_names)
        result.experiments = [experiment.name for experiment in chosen]
        names = {str(experiment.experiment_id): experiment.name for experiment in chosen}
        if not names:
            return result
        seen = 0
        written: set[str] = set()
        for page in search_runs(client, list(names)):
            runs = [run_data(run, names) for run in page]
            _import_page(client, store, runs, result, written, notebook=notebook, repo=repo)
            seen += len(runs)
            if progress is not None:
                progress(seen)
    return result


def _import_page(
    client: MlflowClient,
    store: RunStore,
    runs: list[MlflowRunData],
    result: ImportResult,
    written: set[str],
    *,
    notebook: str | None,
    repo: str | None,
) -> None:
    finished = []
    for data in runs:
        if import_status(data) is None:
            result.unfinished += 1
        else:
            finished.append((data, import_run_id(data)))
    held = store.get_runs([run_id for _, run_id in finished], with_outputs=False)
    for data, run_id in finished:
        stored = held.get(run_id)
        if data.origin_run_id is not None:
            # Held already, or met twice (exported to two experiments): never copied back.
            if stored is not None or run_id in written:
                result.already_held += 1
                continue
            record = _original(client, data, notebook=notebook, repo=repo)
        else:
            record = None
        whole = record is not None
        if record is None:
            record = record_from_mlflow(
                data, notebook=notebook, repo=repo, tracking_uri=result.tracking_uri
            )
            assert record is not None  # finished runs always map
            if stored is not None and imported_digest(stored) == imported_digest(record):
                result.unchanged += 1
                continue
        if has_evidence(data.tags):
            found = exported_evidence(client, data.artifact_uri)
            if found is None:
                result.evidence_unreadable += 1
            else:
                record = _with_evidence(record, found, whole=whole)
        store.finish_run(record)
        written.add(run_id)
        if stored is None:
            result.imported += 1
        else:
            result.updated += 1


def _original(
    client: MlflowClient, data: MlflowRunData, *, notebook: str | None, repo: str | None
) -> RunRecord | None:
    """The record an nbmodelbook export kept in `nbmodelbook/run.json` (None when the
    artifact is missing, unreadable or of another run)."""
    record = exported_record(client, data.artifact_uri)
    if record is None or record.run_id != data.origin_run_id:
        return None
    return replace(record, notebook=notebook, repo=repo) if notebook is not None else record


def _with_evidence(record: RunRecord, found: ReadEvidence, *, whole: bool) -> RunRecord:
    """`record` with the evidence an export left on its MLflow run. A record rebuilt from
    MLflow's data (not `whole` from run.json) loses the fold-score metrics, which MLflow
    lists among the run's metrics."""
    metrics = record.metrics
    if not whole:
        metrics = {key: value for key, value in metrics.items() if key not in found.fold_keys}
    return replace(
        record, metrics=metrics, evaluations=found.evaluations, candidates=found.candidates
    )


def exported_evidence(client: MlflowClient, artifact_uri: str | None) -> ReadEvidence | None:
    """The evidence an nbmodelbook export left in a run's `nbmodelbook/evaluations/`
    artifacts; None when it cannot be downloaded or read."""
    from mlflow.artifacts import download_artifacts

    if not artifact_uri:
        return None
    artifact = f"{artifact_uri.rstrip('/')}/{EVIDENCE_ARTIFACT_DIR}"
    with tempfile.TemporaryDirectory(prefix="nbmodelbook-mlflow-") as folder:
        try:
            path = download_artifacts(
                artifact_uri=artifact, dst_path=folder, tracking_uri=client.tracking_uri
            )
        # Any failure, as for run.json (`exported_record`): each artifact store raises its own.
        except Exception:
            return None
        try:
            return read_evidence_folder(Path(path))
        except EvidenceArtifactsUnreadable:
            return None


def run_data(run: Run, experiment_names: dict[str, str]) -> MlflowRunData:
    """The plain values of an MLflow run that import maps."""
    info, data = run.info, run.data
    inputs = run.inputs.dataset_inputs if run.inputs is not None else []
    return MlflowRunData(
        run_id=info.run_id,
        experiment_id=str(info.experiment_id),
        experiment_name=experiment_names.get(str(info.experiment_id), ""),
        name=info.run_name,
        status=str(info.status),
        start_time=info.start_time,
        end_time=info.end_time,
        params=dict(data.params),
        metrics={key: float(value) for key, value in data.metrics.items()},
        tags=dict(data.tags),
        datasets=tuple(
            DatasetSpec(
                name=found.dataset.name,
                digest=found.dataset.digest,
                source_type=found.dataset.source_type,
                source=found.dataset.source,
                schema=found.dataset.schema,
                profile=found.dataset.profile,
            )
            for found in inputs
        ),
        artifact_uri=info.artifact_uri,
    )
