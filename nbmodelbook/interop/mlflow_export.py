"""`nbmodelbook export-mlflow`: runs of a store into an MLflow tracking store, safe to repeat.

Every exported MLflow run carries its nbmodelbook run id in the `nbmodelbook.run_id` tag, and
an export looks that tag up before it creates a run: exporting again creates no duplicate. A
run whose digest (see `mlflow_mapping.export_payload`) still matches is left alone; a run that
changed since is updated in place, or replaced when MLflow cannot change it in place (a param
nbmodelbook logged changed, or a param or metric it logged was removed). Params, metrics and
tags others logged on the MLflow run are theirs: kept, and never a reason to replace the run.
Runs still running are left for a later export.

A run's evidence (evaluations and candidates) is read from the store one run at a time, as it
is exported (it can be far larger than the rest of a run), and goes to its
`nbmodelbook/evaluations/` artifacts and its candidates' fold-score metrics (see
`mlflow_mapping`). Evidence that changed since an earlier export replaces the MLflow run:
MLflow can neither remove an artifact nor rewrite a metric's steps.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from nbmodelbook.interop.mlflow_client import (
    experiment_id,
    exported_record,
    exported_runs,
    location,
    mlflow_client,
    mlflow_errors,
    require_mlflow,
)
from nbmodelbook.interop.mlflow_evidence import (
    EVALUATIONS_DIR,
    EvidenceArtifacts,
    write_evidence_folder,
)
from nbmodelbook.interop.mlflow_mapping import (
    ARTIFACT_DIR,
    DIGEST_TAG,
    EVIDENCE_TAG,
    DatasetSpec,
    ExportPayload,
    LoggedKeys,
    changed_metrics,
    evidence_needs_new_run,
    experiment_name,
    export_payload,
    holds_other_keys,
    is_up_to_date,
    logged_keys,
    needs_new_run,
    stale_tags,
)
from nbmodelbook.record import RunRecord
from nbmodelbook.store.admin import COPY_BATCH, existing_store_url
from nbmodelbook.store.backends import store_for_notebook
from nbmodelbook.store.store import RunStore

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput, Run

Progress = Callable[[int, int], None]
Outcome = Literal["exported", "updated", "unchanged"]

# MLflow's log_batch limits (mlflow.utils.validation).
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000

Batch = tuple[list[tuple[str, str]], list[tuple[str, float]], list[tuple[str, str]]]


@dataclass(slots=True)
class ExportResult:
    exported: int = 0  # new MLflow runs
    updated: int = 0  # MLflow runs brought up to date with a changed run
    unchanged: int = 0  # already up to date
    running: int = 0  # still running: left for a later export
    experiments: dict[str, str] = field(default_factory=dict)  # name -> MLflow experiment id
    tracking_uri: str = ""
    store: str = ""

    @property
    def total(self) -> int:
        return self.exported + self.updated + self.unchanged + self.running

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def export_to_mlflow(
    *,
    notebook: Path | None,
    store: str | None = None,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Export a notebook's runs (every run of the store when `notebook` is None).

    The store is the notebook's (or `store`); it must exist. The experiment is `experiment`,
    else the notebook's name, else (exporting every run) each run's notebook's name.
    """
    from nbmodelbook.links import notebook_run_summaries
    from nbmodelbook.notebook_file import read_notebook

    require_mlflow()
    store_url = existing_store_url(
        store_for_notebook(notebook, store) if notebook is not None else store
    )
    # The store first: a store that cannot be read must not leave an MLflow database behind.
    run_store = RunStore.open_read_only(store_url)  # exporting only reads the store
    try:
        client = mlflow_client(tracking_uri)
        if notebook is not None:
            summaries = notebook_run_summaries(run_store, notebook, read_notebook(notebook))
            experiment = experiment or experiment_name(str(notebook))
        else:
            summaries = run_store.run_summaries()
        run_ids = [row["run_id"] for row in summaries]
        result = export_runs(run_store, run_ids, client, experiment=experiment, progress=progress)
        result.store = run_store.location
        return result
    finally:
        run_store.close()


def export_runs(
    store: RunStore,
    run_ids: Sequence[str],
    client: MlflowClient,
    *,
    experiment: str | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Export runs of `store` to MLflow: all into `experiment`, else each into the experiment
    named after its notebook (created when missing)."""
    result = ExportResult(tracking_uri=location(client))
    ids = list(dict.fromkeys(run_ids))
    done = 0
    with mlflow_errors(result.tracking_uri):
        for start in range(0, len(ids), COPY_BATCH):
            batch = ids[start : start + COPY_BATCH]
            by_experiment: dict[str, list[tuple[RunRecord, ExportPayload]]] = {}
            for record in store.get_runs(batch).values():
                payload = export_payload(record)
                if payload is None:
                    result.running += 1
                    continue
                name = experiment or experiment_name(record.notebook)
                by_experiment.setdefault(name, []).append((record, payload))
            for name, entries in by_experiment.items():
                if name not in result.experiments:
                    result.experiments[name] = experiment_id(client, name)
                _export_group(client, store, result.experiments[name], entries, result)
            done += len(batch)
            if progress is not None:
                progress(done, len(ids))
    return result


def _export_group(
    client: MlflowClient,
    store: RunStore,
    experiment: str,
    entries: list[tuple[RunRecord, ExportPayload]],
    result: ExportResult,
) -> None:
    """Export runs into one experiment, after one lookup of what earlier exports made."""
    started = [payload.start_time for _, payload in entries]
    held = exported_runs(
        client,
        experiment,
        [payload.run_id for _, payload in entries],
        (min(started), max(started)),
    )
    for record, payload in entries:
        evaluations, candidates = store.evidence(record.run_id)
        if evaluations or candidates:  # its arrays are let go once the run is exported
            with_evidence = replace(record, evaluations=evaluations, candidates=candidates)
            payload = export_payload(with_evidence) or payload
        result.count(export_run(client, experiment, payload, held.get(payload.run_id)))


def export_run(
    client: MlflowClient, experiment: str, payload: ExportPayload, existing: Run | None
) -> Outcome:
    """Bring the MLflow run of one nbmodelbook run up to date, given the MLflow run an
    earlier export made of it (if any)."""
    if existing is None:
        _create(client, experiment, payload)
        return "exported"
    info, data = existing.info, existing.data
    if is_up_to_date(payload, data.tags, info.status, info.end_time):
        return "unchanged"
    if evidence_needs_new_run(payload, data.tags, data.metrics) or needs_new_run(
        payload, data.params, data.metrics, _logged_before(client, existing, payload)
    ):
        client.delete_run(info.run_id)
        _create(client, experiment, payload)
    else:
        _update(client, existing, payload)
    return "updated"


def _logged_before(client: MlflowClient, existing: Run, payload: ExportPayload) -> LoggedKeys:
    """The param and metric keys an earlier export logged on `existing`: from its
    `nbmodelbook.logged` tag, else (a run exported before that tag, or one with too many keys
    for it) from the record that export left in `run.json`."""
    data = existing.data
    found = logged_keys(data.tags)
    if found is not None:
        return found
    if not holds_other_keys(payload, data.params, data.metrics):
        return LoggedKeys()  # nothing logged earlier is gone: nothing to look up
    record = exported_record(client, existing.info.artifact_uri)
    earlier = export_payload(record) if record is not None else None
    if earlier is None or earlier.run_id != payload.run_id:
        # Unknown: keep the run, and whatever others logged on it, rather than replace it
        # on a guess (a param or metric removed from the record then stays in MLflow).
        return LoggedKeys()
    return LoggedKeys.of(earlier)


def _create(client: MlflowClient, experiment: str, payload: ExportPayload) -> None:
    tags = {key: value for key, value in payload.tags.items() if key != DIGEST_TAG}
    run = client.create_run(experiment, start_time=payload.start_time, tags=tags)
    _complete(
        client,
        run.info.run_id,
        payload,
        params=payload.params,
        metrics=payload.metrics,
        tags={},
        datasets=payload.datasets,
        evidence=payload.evidence,
        metric_time=payload.end_time,
    )


def _update(client: MlflowClient, existing: Run, payload: ExportPayload) -> None:
    run_id, data = existing.info.run_id, existing.data
    inputs = existing.inputs.dataset_inputs if existing.inputs is not None else []
    known = {(found.dataset.name, found.dataset.digest) for found in inputs}
    for key in stale_tags(payload, data.tags):
        client.delete_tag(run_id, key)
    _complete(
        client,
        run_id,
        payload,
        params={key: text for key, text in payload.params.items() if key not in data.params},
        metrics=changed_metrics(payload, data.metrics),
        tags={
            key: value
            for key, value in payload.tags.items()
            if key != DIGEST_TAG and data.tags.get(key) != value
        },
        datasets=tuple(spec for spec in payload.datasets if (spec.name, spec.digest) not in known),
        # Evidence the run does not hold yet (evidence it holds otherwise replaced the run).
        evidence=payload.evidence
        if data.tags.get(EVIDENCE_TAG) != payload.tags.get(EVIDENCE_TAG)
        else None,
        # Later than any earlier export's values, so MLflow shows the new ones as the latest.
        metric_time=max(payload.end_time, int(time.time() * 1000)),
    )


def _complete(
    client: MlflowClient,
    run_id: str,
    payload: ExportPayload,
    *,
    params: dict[str, str],
    metrics: dict[str, float],
    tags: dict[str, str],
    datasets: tuple[DatasetSpec, ...],
    evidence: EvidenceArtifacts | None,
    metric_time: int,
) -> None:
    """Inputs, artifacts (with `evidence`, its files too), the fold scores of its candidates,
    then params, metrics and tags with the digest in the last batch, then the status: a run
    whose export was cut short never looks up to date, nor holds the evidence tag that says
    its fold scores are all there."""
    from mlflow.entities import Metric, Param, RunTag

    if datasets:
        client.log_inputs(run_id, datasets=_dataset_inputs(datasets))
    _log_artifacts(client, run_id, payload.artifacts, evidence)
    if evidence is not None:
        for batch in fold_batches(evidence.fold_metrics):
            client.log_batch(
                run_id,
                metrics=[Metric(key, value, metric_time, step) for key, value, step in batch],
                synchronous=True,
            )
    for batch_params, batch_metrics, batch_tags in log_batches(
        list(params.items()),
        list(metrics.items()),
        [*tags.items(), (DIGEST_TAG, payload.digest)],
    ):
        client.log_batch(
            run_id,
            metrics=[Metric(key, value, metric_time, 0) for key, value in batch_metrics],
            params=[Param(key, value) for key, value in batch_params],
            tags=[RunTag(key, value) for key, value in batch_tags],
            synchronous=True,
        )
    client.set_terminated(run_id, status=payload.status, end_time=payload.end_time)


def log_batches(
    params: list[tuple[str, str]], metrics: list[tuple[str, float]], tags: list[tuple[str, str]]
) -> list[Batch]:
    """Split what a run logs into `log_batch` calls within MLflow's limits; the last tag
    (the digest) goes in the last call."""
    last, tags = tags[-1:], tags[:-1]
    batches: list[Batch] = []
    while params or metrics or tags or not batches:
        batch_params, params = (
            params[:MAX_PARAMS_TAGS_PER_BATCH],
            params[MAX_PARAMS_TAGS_PER_BATCH:],
        )
        batch_tags, tags = tags[:MAX_PARAMS_TAGS_PER_BATCH], tags[MAX_PARAMS_TAGS_PER_BATCH:]
        room = MAX_ENTITIES_PER_BATCH - len(batch_params) - len(batch_tags)
        batch_metrics, metrics = metrics[:room], metrics[room:]
        batches.append((batch_params, batch_metrics, batch_tags))
    if len(batches[-1][2]) < MAX_PARAMS_TAGS_PER_BATCH and (
        len(batches[-1][0]) + len(batches[-1][1]) + len(batches[-1][2]) < MAX_ENTITIES_PER_BATCH
    ):
        batches[-1][2].extend(last)
    else:
        batches.append(([], [], last))
    return batches


def fold_batches(
    fold_metrics: dict[str, tuple[float, ...]],
) -> list[list[tuple[str, float, int]]]:
    """The fold scores as (key, value, step) in `log_batch` calls within MLflow's limit."""
    steps = [
        (key, value, step)
        for key, values in fold_metrics.items()
        for step, value in enumerate(values)
    ]
    return [
        steps[start : start + MAX_ENTITIES_PER_BATCH]
        for start in range(0, len(steps), MAX_ENTITIES_PER_BATCH)
    ]


def _dataset_inputs(datasets: Sequence[DatasetSpec]) -> list[DatasetInput]:
    from mlflow.entities import Dataset, DatasetInput

    return [
        DatasetInput(
            Dataset(
                name=spec.name,
                digest=spec.digest,
                source_type=spec.source_type,
                source=spec.source,
                schema=spec.schema,
                profile=spec.profile,
            )
        )
        for spec in datasets
    ]


def _log_artifacts(
    client: MlflowClient,
    run_id: str,
    artifacts: dict[str, str],
    evidence: EvidenceArtifacts | None,
) -> None:
    """The artifacts, and the evidence's files in their folder, in one upload (one request
    to a remote artifact store)."""
    with tempfile.TemporaryDirectory(prefix="nbmodelbook-mlflow-") as folder:
        for name, text in artifacts.items():
            (Path(folder) / name).write_text(text, encoding="utf-8", errors="replace")
        if evidence is not None:
            write_evidence_folder(evidence, Path(folder) / EVALUATIONS_DIR)
        client.log_artifacts(run_id, folder, artifact_path=ARTIFACT_DIR)
