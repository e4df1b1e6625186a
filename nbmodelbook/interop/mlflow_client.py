"""Reaching MLflow: the optional import, a client for a tracking store, experiments, search.

MLflow is imported only here and only when a transfer starts; without it, `MlflowMissing` says
which extra to install. MLflow's own errors become `MlflowInteropError`, one line that names the
tracking store.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from nbmodelbook.errors import MlflowInteropError, MlflowMissing
from nbmodelbook.interop.mlflow_mapping import ARTIFACT_DIR, RECORD_ARTIFACT, RUN_ID_TAG
from nbmodelbook.record import RunRecord
from nbmodelbook.redaction import redact_url, redact_urls
from nbmodelbook.store.journal import record_from_json

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Experiment, Run

MLFLOW_EXTRA = "pip install 'nbmodelbook[mlflow]'"
SEARCH_PAGE = 1000  # runs per search request (what every MLflow tracking store accepts)


def require_mlflow() -> None:
    """Fail early, with the extra to install, when MLflow cannot be imported."""
    try:
        import mlflow  # noqa: F401
    except ImportError as exc:
        raise MlflowMissing(f"MLflow is not installed: {MLFLOW_EXTRA}") from exc


def mlflow_client(tracking_uri: str | None = None) -> MlflowClient:
    """A client of the tracking store: `tracking_uri`, else $MLFLOW_TRACKING_URI, else
    MLflow's default (`mlflow.db` or `./mlruns` in the current folder)."""
    require_mlflow()
    from mlflow import MlflowClient

    with mlflow_errors(tracking_uri or "the default MLflow tracking store"):
        return MlflowClient(tracking_uri=tracking_uri)


def location(client: MlflowClient) -> str:
    """The client's tracking URI without any credentials (for messages and records)."""
    return redact_url(str(client.tracking_uri))


@contextmanager
def mlflow_errors(where: str) -> Iterator[None]:
    """MLflow's exceptions as one-line `MlflowInteropError`s naming the tracking store."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        first = (exc.message or str(exc)).strip().splitlines()
        # MLflow's message often quotes the URL it requested, credentials included.
        detail = redact_urls(first[0]) if first else type(exc).__name__
        raise MlflowInteropError(f"MLflow at {redact_url(where)}: {detail}") from None


def experiment_id(client: MlflowClient, name: str) -> str:
    """The id of the active experiment `name`, created when missing."""
    found = client.get_experiment_by_name(name)
    if found is not None and found.lifecycle_stage == "deleted":
        raise MlflowInteropError(
            f"the MLflow experiment '{name}' at {location(client)} is deleted: restore it "
            f"(mlflow experiments restore --experiment-id {found.experiment_id}) or choose "
            "another with --experiment"
        )
    if found is not None:
        return str(found.experiment_id)
    return str(client.create_experiment(name))


def experiments(client: MlflowClient, names: Sequence[str]) -> list[Experiment]:
    """The named experiments (every active one when no name is given); an unknown name is an
    error that lists the known ones."""
    known: list[Experiment] = []
    token: str | None = None
    while True:
        page = client.search_experiments(max_results=SEARCH_PAGE, page_token=token)
        known.extend(page)
        token = page.token
        if not token:
            break
    if not names:
        return known
    by_name = {experiment.name: experiment for experiment in known}
    missing = [name for name in names if name not in by_name]
    if missing:
        listed = ", ".join(sorted(by_name)) or "none"
        raise MlflowInteropError(
            f"no MLflow experiment named {', '.join(map(repr, missing))} at "
            f"{location(client)} (known: {listed})"
        )
    return [by_name[name] for name in dict.fromkeys(names)]


def search_runs(
    client: MlflowClient, experiment_ids: Sequence[str], filter_string: str = ""
) -> Iterator[list[Run]]:
    """Active runs of the experiments, page by page, oldest first."""
    token: str | None = None
    while True:
        page = client.search_runs(
            list(experiment_ids),
            filter_string=filter_string,
            max_results=SEARCH_PAGE,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        yield list(page)
        token = page.token
        if not token:
            return


def exported_runs(
    client: MlflowClient, experiment: str, run_ids: Collection[str], started: tuple[int, int]
) -> dict[str, Run]:
    """The MLflow runs earlier exports made of these nbmodelbook runs in `experiment`, by
    nbmodelbook run id. One search for many runs (MLflow's filter has no OR, nor IN on tags):
    the exported runs that started in the runs' time window (`started`, ms), which an exported
    run shares with the run it came from."""
    low, high = started
    query = (
        f"tags.`{RUN_ID_TAG}` != '' and attributes.start_time >= {int(low)} "
        f"and attributes.start_time <= {int(high)}"
    )
    wanted = set(run_ids)
    found: dict[str, Run] = {}
    for page in search_runs(client, [experiment], query):
        for run in page:
            run_id = run.data.tags.get(RUN_ID_TAG)
            if run_id in wanted:
                found.setdefault(run_id, run)
    return found


def exported_record(client: MlflowClient, artifact_uri: str | None) -> RunRecord | None:
    """The record an nbmodelbook export kept in a run's `nbmodelbook/run.json` artifact; None
    when the run has none, or it cannot be read (its caller then makes do without it)."""
    from mlflow.artifacts import download_artifacts

    if not artifact_uri:
        return None
    # From the run's artifact location directly: no request to look the run up again.
    artifact = f"{artifact_uri.rstrip('/')}/{ARTIFACT_DIR}/{RECORD_ARTIFACT}"
    with tempfile.TemporaryDirectory(prefix="nbmodelbook-mlflow-") as folder:
        try:
            path = download_artifacts(
                artifact_uri=artifact, dst_path=folder, tracking_uri=client.tracking_uri
            )
            return record_from_json(Path(path).read_text(encoding="utf-8"))
        # Any failure, not just MLflow's: each artifact store (S3, GCS, Azure, HTTP, ...)
        # raises its own errors (botocore's ClientError, requests' exceptions, ...), and a
        # missing or unreadable copy only means the run is rebuilt from MLflow's own data.
        except Exception:
            return None
