"""Run records and MLflow runs, translated both ways by pure functions (no MLflow, no I/O).

Export: `export_payload` turns a `RunRecord` into what one MLflow run holds — params and tags as
text, metrics, status, times, artifacts and dataset inputs — with a digest of all of it. The
digest is kept in the MLflow run's `nbmodelbook.digest` tag, so a later export tells a run that
is up to date from one that changed; the `nbmodelbook.logged` tag lists the param and metric keys
nbmodelbook logged, so it tells them from keys others logged on the run since.

A run's evidence (`mlflow_evidence`) goes to its `nbmodelbook/evaluations/` artifacts, and each
candidate's fold scores to the metric `cv/<scorer>/<group>-<index>` (the candidate's search or
cross-validation in the run, then its position there), one step per fold from step 0, so
MLflow's UI charts them. The `nbmodelbook.evidence` tag sums the evidence up (counts, table
format, digest); a run without evidence is exported with neither artifacts nor tag.

Import: `record_from_mlflow` turns `MlflowRunData` (an MLflow run read into plain values) into a
`RunRecord`. Its id comes from the MLflow run id (or, for a run nbmodelbook exported, is the
original id), so importing again finds the run instead of adding it twice. URLs in MLflow's
texts lose their credentials on the way in.
"""

from __future__ import annotations

import math
import re
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import orjson
import xxhash

from nbmodelbook.interop.mlflow_evidence import (
    EVALUATIONS_DIR,
    EvidenceArtifacts,
    evidence_artifacts,
)
from nbmodelbook.record import Candidate, RunError, RunRecord, RunStatus, code_hash
from nbmodelbook.redaction import redact_url, redact_urls
from nbmodelbook.store import codec
from nbmodelbook.store.journal import record_to_json

# --- names -------------------------------------------------------------------------------------

TAG_PREFIX = "nbmodelbook."
RUN_ID_TAG = "nbmodelbook.run_id"
DIGEST_TAG = "nbmodelbook.digest"
# The param and metric keys nbmodelbook logged on the run (JSON), told apart from keys others
# logged on it later; like the digest, not part of the digest.
LOGGED_TAG = "nbmodelbook.logged"
STATUS_TAG = "nbmodelbook.status"
LABELS_TAG = "nbmodelbook.tags"
CELL_ID_TAG = "nbmodelbook.cell_id"
EXECUTION_COUNT_TAG = "nbmodelbook.execution_count"
SESSION_TAG = "nbmodelbook.session_id"
HOST_TAG = "nbmodelbook.host"
REPO_TAG = "nbmodelbook.repo"
CODE_HASH_TAG = "nbmodelbook.code_hash"
ERROR_TAG = "nbmodelbook.error"
GIT_DIRTY_TAG = "nbmodelbook.git.dirty"
# What evidence the run carries (JSON: counts, table format, digest); only on runs with some.
EVIDENCE_TAG = "nbmodelbook.evidence"

# MLflow's own tags (mlflow.utils.mlflow_tags): its UI shows these as the run's name, user,
# source, git commit and description.
MLFLOW_PREFIX = "mlflow."
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
SOURCE_NAME_TAG = "mlflow.source.name"
SOURCE_TYPE_TAG = "mlflow.source.type"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
GIT_BRANCH_TAG = "mlflow.source.git.branch"
GIT_REPO_TAG = "mlflow.source.git.repoURL"
NOTE_TAG = "mlflow.note.content"
_EXPORTED_MLFLOW_TAGS = frozenset(
    {RUN_NAME_TAG, USER_TAG, SOURCE_NAME_TAG, SOURCE_TYPE_TAG, GIT_COMMIT_TAG, GIT_BRANCH_TAG,
     GIT_REPO_TAG, NOTE_TAG}
)  # fmt: skip

ARTIFACT_DIR = "nbmodelbook"
CODE_ARTIFACT = "code.py"
RECORD_ARTIFACT = "run.json"
EVIDENCE_ARTIFACT_DIR = f"{ARTIFACT_DIR}/{EVALUATIONS_DIR}"
FOLD_METRIC_PREFIX = "cv"
DATASET_SOURCE_TYPE = "nbmodelbook"
DEFAULT_EXPERIMENT = "nbmodelbook"

# MLflow's limits (mlflow.utils.validation and its SQL schema), here so mapping needs no MLflow.
MAX_KEY_LENGTH = 250
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
MAX_DATASET_NAME = 500
MAX_DATASET_DIGEST = 36
# nbmodelbook's own columns: run names and tag labels.
MAX_NAME_LENGTH = 255
MAX_LABEL_LENGTH = 255

# --- status ------------------------------------------------------------------------------------

# A `running` run is not exported (MLflow would show it running for good): the first export
# after it ends (or is found crashed) brings it.
EXPORT_STATUS: dict[RunStatus, str] = {
    RunStatus.OK: "FINISHED",
    RunStatus.ERROR: "FAILED",
    RunStatus.CRASHED: "FAILED",
    RunStatus.INTERRUPTED: "KILLED",
}
# RUNNING and SCHEDULED MLflow runs are not imported either, for the same reason.
IMPORT_STATUS: dict[str, RunStatus] = {
    "FINISHED": RunStatus.OK,
    "FAILED": RunStatus.ERROR,
    "KILLED": RunStatus.INTERRUPTED,
}


def mlflow_status(status: RunStatus) -> str | None:
    """The MLflow status of a run in this state; None for a run still running."""
    return EXPORT_STATUS.get(status)


# --- keys, params, metrics, labels ---------------------------------------------------------------

_KEY_REJECTS = re.compile(r"[^/\w.\- ]")
_HEX_ID = re.compile(r"[0-9a-f]{32}")
_INTEGER = re.compile(r"-?(?:0|[1-9]\d*)")
_DECIMAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_WORDS: dict[str, Any] = {
    "True": True, "true": True, "False": False, "false": False, "None": None, "null": None,
}  # fmt: skip

V = TypeVar("V")


def mlflow_key(name: str) -> str:
    """A param, metric or tag key MLflow accepts: letters, digits and `_-. /` only, no path
    tricks (empty, `.` or `..` segments, a leading `/`), at most 250 characters."""
    cleaned = _KEY_REJECTS.sub("_", str(name))[:MAX_KEY_LENGTH]
    parts = ["_" if part in (".", "..") else part for part in cleaned.split("/") if part]
    return "/".join(parts) or "_"


def _unique_keys(items: Iterable[tuple[str, V]]) -> dict[str, V]:
    """MLflow keys for names; two names that clean up alike get `_2`, `_3`, ... suffixes."""
    found: dict[str, V] = {}
    for name, value in items:
        key = base = mlflow_key(name)
        number = 2
        while key in found:
            key = f"{base[: MAX_KEY_LENGTH - 8]}_{number}"
            number += 1
        found[key] = value
    return found


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def param_text(value: Any) -> str:
    """A param as MLflow text: strings as they are, numbers, booleans and None as
    `mlflow.log_param` writes them (`0.1`, `True`, `None`), lists and dicts as JSON."""
    if isinstance(value, str):
        text = value
    elif value is None or isinstance(value, bool | int | float):
        text = str(value)
    else:
        text = codec.dumps(value)
    return _truncate(text, MAX_PARAM_LENGTH)


def param_value(text: str) -> Any:
    """A param read from MLflow text: numbers, booleans, None and JSON lists or dicts become
    values again (so they sort and compare as numbers); anything else stays text."""
    if text in _WORDS:
        return _WORDS[text]
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    if text[:1] in ("[", "{"):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
        return parsed if isinstance(parsed, list | dict) else text
    return text


def metric_from_mlflow(value: float) -> float:
    """A metric read from MLflow. Its SQL stores keep ±infinity as ± the largest float: read
    back as the infinity it was. NaN stays NaN."""
    number = float(value)
    if math.isfinite(number) and abs(number) >= sys.float_info.max:
        return math.copysign(math.inf, number)
    return number


def same_metric(left: float, right: float) -> bool:
    """Equal as metrics: NaN equals NaN, and MLflow's stand-in for infinity equals infinity."""
    a, b = metric_from_mlflow(left), metric_from_mlflow(right)
    return (math.isnan(a) and math.isnan(b)) or a == b


def label_tag(label: str) -> tuple[str, str]:
    """An nbmodelbook tag label as an MLflow tag: `key=value` labels keep their value, any
    other label becomes `label = "true"`."""
    key, sep, value = label.partition("=")
    if sep and key.strip() and value:
        return mlflow_key(key.strip()), value
    return mlflow_key(label), "true"


def tag_label(key: str, value: str) -> str:
    """An MLflow tag as an nbmodelbook label (the reverse of `label_tag`)."""
    label = key if value in ("", "true", "True") else f"{key}={value}"
    return label[:MAX_LABEL_LENGTH]


def _reserved(key: str) -> bool:
    return key.startswith((TAG_PREFIX, MLFLOW_PREFIX))


def _labels_of(tags: Mapping[str, str]) -> list[str]:
    """The labels an exported run carries in its `nbmodelbook.tags` tag."""
    labels = codec.loads(tags.get(LABELS_TAG), [])
    return [str(label) for label in labels] if isinstance(labels, list) else []


# --- datasets ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """An MLflow dataset input (mlflow.entities.Dataset): `digest` is its content hash."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


# pandas/numpy dtype (before any `[...]`, lower case) -> MLflow column type; others are strings.
_COLUMN_TYPES: dict[str, str] = {
    "bool": "boolean", "boolean": "boolean",
    "int8": "integer", "int16": "integer", "int32": "integer",
    "uint8": "integer", "uint16": "integer",
    "int64": "long", "uint32": "long", "uint64": "long",
    "float16": "float", "float32": "float", "float64": "double",
    "datetime64": "datetime", "bytes": "binary",
}  # fmt: skip


def mlflow_column_type(dtype: str) -> str:
    """The MLflow schema type of a pandas dtype (`string` when MLflow has no closer one; the
    exact dtype stays in run.json)."""
    return _COLUMN_TYPES.get(str(dtype).split("[", 1)[0].strip().lower(), "string")


def _schema(fingerprint: Mapping[str, Any], name: str) -> str | None:
    """MLflow's column schema (`{"mlflow_colspec": [...]}`) where the dtypes are known."""
    columns, dtypes = fingerprint.get("columns"), fingerprint.get("dtypes")
    if isinstance(columns, list) and isinstance(dtypes, dict):
        specs = [
            {"type": mlflow_column_type(str(dtypes.get(str(column), ""))), "name": str(column)}
            for column in columns
        ]
    elif fingerprint.get("kind") == "Series" and isinstance(fingerprint.get("dtype"), str):
        label = fingerprint.get("name")
        specs = [{"type": mlflow_column_type(fingerprint["dtype"]), "name": str(label or name)}]
    else:
        return None
    return codec.dumps({"mlflow_colspec": [{**spec, "required": True} for spec in specs]})


def _profile(fingerprint: Mapping[str, Any]) -> str | None:
    shape = fingerprint.get("shape")
    profile: dict[str, Any] = {}
    if isinstance(shape, list) and shape and all(isinstance(n, int) for n in shape):
        profile["num_rows"] = shape[0]
        profile["num_elements"] = math.prod(shape)
        profile["shape"] = shape
    for key in ("kind", "nbytes"):
        if fingerprint.get(key) is not None:
            profile[key] = fingerprint[key]
    return codec.dumps(profile) if profile else None


def dataset_spec(
    name: str, fingerprint: Mapping[str, Any], notebook: str | None
) -> DatasetSpec | None:
    """A data input as an MLflow dataset whose digest is its nbmodelbook fingerprint (None
    for an input that could not be hashed)."""
    digest = fingerprint.get("hash")
    if not isinstance(digest, str) or not digest:
        return None
    return DatasetSpec(
        name=name[:MAX_DATASET_NAME],
        digest=digest[:MAX_DATASET_DIGEST],
        source_type=DATASET_SOURCE_TYPE,
        source=codec.dumps({"notebook": notebook, "variable": name}),
        schema=_schema(fingerprint, name),
        profile=_profile(fingerprint),
    )


def input_from_dataset(spec: DatasetSpec) -> dict[str, Any]:
    """An MLflow dataset input as an nbmodelbook data input (hash, shape and columns where
    MLflow knows them), so compared runs tell the same data from different data."""
    found: dict[str, Any] = {"kind": "dataset", "hash": spec.digest, "source": spec.source_type}
    profile = codec.loads(spec.profile, {}) if spec.profile else {}
    if isinstance(profile, dict):
        if isinstance(profile.get("kind"), str):
            found["kind"] = profile["kind"]
        if isinstance(profile.get("shape"), list):
            found["shape"] = profile["shape"]
        elif isinstance(profile.get("num_rows"), int):
            found["shape"] = [profile["num_rows"]]
    schema = codec.loads(spec.schema, {}) if spec.schema else {}
    columns = schema.get("mlflow_colspec") if isinstance(schema, dict) else None
    if isinstance(columns, list):
        found["columns"] = [
            str(column["name"])
            for column in columns
            if isinstance(column, dict) and "name" in column
        ]
    return found


# --- export ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportPayload:
    """Everything one exported MLflow run holds, ready for MlflowClient calls."""

    run_id: str  # nbmodelbook's
    name: str
    status: str
    start_time: int  # ms since the epoch, as MLflow keeps times
    end_time: int
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]  # the digest and logged-keys tags included
    artifacts: dict[str, str]  # file name under ARTIFACT_DIR -> text
    datasets: tuple[DatasetSpec, ...]
    digest: str
    evidence: EvidenceArtifacts | None = None  # under EVIDENCE_ARTIFACT_DIR

    @property
    def fold_metrics(self) -> dict[str, tuple[float, ...]]:
        """The candidates' fold scores: MLflow metric key -> its value at each step."""
        return self.evidence.fold_metrics if self.evidence is not None else {}


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


def _digest(payload: Any) -> str:
    return xxhash.xxh3_128_hexdigest(codec.dumps(payload).encode("utf-8"))


def record_json(record: RunRecord) -> str:
    """The whole record as nbmodelbook keeps it (the `run.json` artifact), indented."""
    return orjson.dumps(orjson.loads(record_to_json(record)), option=orjson.OPT_INDENT_2).decode()


def export_tags(record: RunRecord) -> dict[str, str]:
    """The MLflow tags of a record: MLflow's own (name, user, source, git, note), the
    record's facts under `nbmodelbook.*`, and each label as a tag of its own."""
    git = record.environment.get("git")
    git = git if isinstance(git, dict) else {}
    dirty = git.get("dirty")
    tags: dict[str, Any] = {
        RUN_ID_TAG: record.run_id,
        STATUS_TAG: record.status.value,
        LABELS_TAG: codec.dumps(record.tags),
        RUN_NAME_TAG: record.name,
        USER_TAG: record.user,
        SOURCE_NAME_TAG: record.notebook,
        SOURCE_TYPE_TAG: "NOTEBOOK" if record.notebook else None,
        NOTE_TAG: record.note,
        GIT_COMMIT_TAG: git.get("commit"),
        GIT_BRANCH_TAG: git.get("branch"),
        GIT_REPO_TAG: git.get("remote") or record.repo,
        GIT_DIRTY_TAG: str(dirty).lower() if isinstance(dirty, bool) else None,
        CELL_ID_TAG: record.cell_id,
        EXECUTION_COUNT_TAG: record.execution_count,
        SESSION_TAG: record.session_id,
        HOST_TAG: record.host,
        REPO_TAG: record.repo,
        CODE_HASH_TAG: record.code_hash or None,
        ERROR_TAG: f"{record.error.type}: {record.error.message}" if record.error else None,
    }
    for label in record.tags:
        key, value = label_tag(label)
        if not _reserved(key):
            tags.setdefault(key, value)
    return {
        key: _truncate(str(value), MAX_TAG_LENGTH)
        for key, value in tags.items()
        if value is not None and value != ""
    }


def fold_metric_keys(candidates: Iterable[Candidate], taken: Iterable[str]) -> list[str]:
    """The MLflow metric of each candidate's fold scores, `cv/<scorer>/<group>-<index>`,
    none of them one of the `taken` keys (the run's own metrics)."""
    used = set(taken)
    keys = []
    for candidate in candidates:
        name = f"{FOLD_METRIC_PREFIX}/{candidate.scorer}/{candidate.group}-{candidate.index}"
        key = base = mlflow_key(name)
        number = 2
        while key in used:
            key = f"{base[: MAX_KEY_LENGTH - 8]}_{number}"
            number += 1
        used.add(key)
        keys.append(key)
    return keys


def export_payload(record: RunRecord, *, table_format: str | None = None) -> ExportPayload | None:
    """What the MLflow run of `record` holds; None while the run is still running. The
    record's evaluations and candidates (if any) are its evidence artifacts and fold-score
    metrics, written as `table_format` tables (default: Parquet when pyarrow is installed);
    run.json holds the rest of the record."""
    status = mlflow_status(record.status)
    if status is None:
        return None
    start = _millis(record.started_at)
    # An ended run without an end time (old records) ends when it started, not at export time.
    end = _millis(record.ended_at) if record.ended_at is not None else start
    params = _unique_keys((key, param_text(value)) for key, value in record.params.items())
    metrics = _unique_keys((key, float(value)) for key, value in record.metrics.items())
    evidence = None
    if record.evaluations or record.candidates:
        evidence = evidence_artifacts(
            record.evaluations,
            record.candidates,
            fold_metric_keys(record.candidates, metrics),
            table_format,
        )
        record = replace(record, evaluations=[], candidates=[])
    tags = export_tags(record)
    if evidence is not None:  # in the digest with the other tags
        tags[EVIDENCE_TAG] = codec.dumps(evidence.summary)
    artifacts = {CODE_ARTIFACT: record.code, RECORD_ARTIFACT: record_json(record)}
    datasets = tuple(
        spec
        for name, fingerprint in sorted(record.inputs.items())
        if isinstance(fingerprint, dict)
        and (spec := dataset_spec(name, fingerprint, record.notebook)) is not None
    )
    digest = _digest(
        {
            "status": status,
            "times": [start, end],
            "params": params,
            "metrics": metrics,
            "tags": tags,
            "artifacts": artifacts,
            "datasets": [_dataset_row(spec) for spec in datasets],
        }
    )
    tags[DIGEST_TAG] = digest
    logged = logged_tag(LoggedKeys(frozenset(params), frozenset(metrics)))
    if logged is not None:
        tags[LOGGED_TAG] = logged
    return ExportPayload(
        run_id=record.run_id,
        name=record.name,
        status=status,
        start_time=start,
        end_time=end,
        params=params,
        metrics=metrics,
        tags=tags,
        artifacts=artifacts,
        datasets=datasets,
        digest=digest,
        evidence=evidence,
    )


def _dataset_row(spec: DatasetSpec) -> list[str | None]:
    return [spec.name, spec.digest, spec.source_type, spec.source, spec.schema, spec.profile]


def experiment_name(notebook: str | None) -> str:
    """The default MLflow experiment of a notebook's runs: its file name without `.ipynb`."""
    if not notebook:
        return DEFAULT_EXPERIMENT
    name = notebook.replace("\\", "/").rsplit("/", 1)[-1]
    return name.removesuffix(".ipynb") or DEFAULT_EXPERIMENT


def is_up_to_date(
    payload: ExportPayload, tags: Mapping[str, str], status: str, end_time: int | None
) -> bool:
    """An MLflow run already holds this payload: same digest, and it was completed (the
    digest is written before the status, so a run cut short in between is done again)."""
    return tags.get(DIGEST_TAG) == payload.digest and (status, end_time) == (
        payload.status,
        payload.end_time,
    )


@dataclass(frozen=True, slots=True)
class LoggedKeys:
    """The param and metric keys nbmodelbook logged on an MLflow run."""

    params: frozenset[str] = frozenset()
    metrics: frozenset[str] = frozenset()

    @classmethod
    def of(cls, payload: ExportPayload) -> LoggedKeys:
        return cls(frozenset(payload.params), frozenset(payload.metrics))


def logged_tag(keys: LoggedKeys) -> str | None:
    """The `nbmodelbook.logged` tag's text; None when it would not fit in an MLflow tag
    (then the `run.json` artifact an export leaves says which keys it logged)."""
    text = codec.dumps({"params": sorted(keys.params), "metrics": sorted(keys.metrics)})
    return text if len(text) <= MAX_TAG_LENGTH else None


def logged_keys(tags: Mapping[str, str]) -> LoggedKeys | None:
    """The keys an earlier export logged, from its `nbmodelbook.logged` tag; None when the
    run has no such tag (exported before nbmodelbook kept it) or an unreadable one."""
    try:
        found = codec.loads(tags.get(LOGGED_TAG))
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    params, metrics = found.get("params"), found.get("metrics")
    if not isinstance(params, list) or not isinstance(metrics, list):
        return None
    return LoggedKeys(frozenset(map(str, params)), frozenset(map(str, metrics)))


def holds_other_keys(
    payload: ExportPayload, params: Mapping[str, str], metrics: Mapping[str, float]
) -> bool:
    """The MLflow run holds params or metrics the payload does not log (removed from the
    record since an earlier export, or logged on the run by someone else)."""
    folds = payload.fold_metrics
    return any(key not in payload.params for key in params) or any(
        key not in payload.metrics and key not in folds for key in metrics
    )


def needs_new_run(
    payload: ExportPayload,
    params: Mapping[str, str],
    metrics: Mapping[str, float],
    logged: LoggedKeys,
) -> bool:
    """Whether the MLflow run must be replaced rather than updated: MLflow cannot change a
    logged param, nor remove a param or a metric. So: a param the payload logs holds another
    value, or a param or metric nbmodelbook logged earlier (`logged`) is gone from the record.
    Keys others logged on the run are theirs: never a reason to replace it."""
    return (
        any(key in params and params[key] != text for key, text in payload.params.items())
        or any(key in params and key not in payload.params for key in logged.params)
        or any(key in metrics and key not in payload.metrics for key in logged.metrics)
    )


def evidence_needs_new_run(
    payload: ExportPayload, tags: Mapping[str, str], metrics: Mapping[str, float]
) -> bool:
    """Whether the MLflow run must be replaced because of its evidence: an earlier export
    wrote evidence other than the payload's (MLflow can neither remove artifacts nor rewrite
    a metric's steps), or fold-score metrics are there without the tag that says they are
    complete (an export cut short). A run whose evidence comes for the first time keeps its
    place: its artifacts and metrics are added."""
    earlier = tags.get(EVIDENCE_TAG)
    if earlier is not None:
        return earlier != payload.tags.get(EVIDENCE_TAG)
    return any(key in metrics for key in payload.fold_metrics)


def has_evidence(tags: Mapping[str, str]) -> bool:
    """The MLflow run carries evidence an nbmodelbook export wrote."""
    return EVIDENCE_TAG in tags


def changed_metrics(payload: ExportPayload, metrics: Mapping[str, float]) -> dict[str, float]:
    """The payload's metrics MLflow does not hold with the same value."""
    return {
        key: value
        for key, value in payload.metrics.items()
        if key not in metrics or not same_metric(metrics[key], value)
    }


def stale_tags(payload: ExportPayload, tags: Mapping[str, str]) -> list[str]:
    """Tags an earlier export wrote that the record no longer has (a removed label, a note
    that was cleared); tags set in MLflow by hand are left alone."""
    earlier_labels = {label_tag(label)[0] for label in _labels_of(tags)}
    return sorted(
        key
        for key in tags
        if key not in payload.tags
        and (key.startswith(TAG_PREFIX) or key in _EXPORTED_MLFLOW_TAGS or key in earlier_labels)
    )


# --- import ------------------------------------------------------------------------------------

# Ids of imported runs: uuid5 of the MLflow run id in this namespace.
MLFLOW_RUN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://mlflow.org/nbmodelbook/run")


@dataclass(frozen=True, slots=True)
class MlflowRunData:
    """An MLflow run as plain values (what `mlflow.entities.Run` holds that import uses)."""

    run_id: str
    experiment_id: str
    experiment_name: str
    name: str | None
    status: str
    start_time: int | None
    end_time: int | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # latest values
    tags: dict[str, str] = field(default_factory=dict)
    datasets: tuple[DatasetSpec, ...] = ()
    artifact_uri: str | None = None

    @property
    def origin_run_id(self) -> str | None:
        """The nbmodelbook run this MLflow run was exported from, if it was."""
        found = self.tags.get(RUN_ID_TAG, "")
        return found if _HEX_ID.fullmatch(found) else None


def import_run_id(data: MlflowRunData) -> str:
    """The nbmodelbook id of an MLflow run: the original id of a run nbmodelbook exported,
    else the start time in ms (so ids sort by time, as nbmodelbook's own do) followed by 20
    digits of a uuid5 of the MLflow run id. The same MLflow run always gets the same id."""
    origin = data.origin_run_id
    if origin is not None:
        return origin
    millis = data.start_time if data.start_time is not None else data.end_time or 0
    stable = uuid.uuid5(MLFLOW_RUN_NAMESPACE, data.run_id).hex
    return f"{max(0, millis) % 16**12:012x}{stable[:20]}"


def import_digest(data: MlflowRunData, notebook: str | None, repo: str | None) -> str:
    """A digest of what an import of `data` writes: unchanged means nothing to do."""
    return _digest(
        {
            "run": [data.run_id, data.experiment_id, data.experiment_name, data.name],
            "state": [data.status, data.start_time, data.end_time],
            "params": data.params,
            "metrics": data.metrics,
            "tags": data.tags,
            "datasets": [_dataset_row(spec) for spec in data.datasets],
            "filed": [notebook, repo],
        }
    )


def import_status(data: MlflowRunData) -> RunStatus | None:
    """The nbmodelbook status of an MLflow run (None for one not finished); a run exported
    from nbmodelbook keeps its exact status (crashed and error are both FAILED in MLflow)."""
    status = IMPORT_STATUS.get(data.status)
    if status is None:
        return None
    if data.origin_run_id is not None:
        try:
            return RunStatus(data.tags.get(STATUS_TAG, ""))
        except ValueError:
            pass
    return status


def _imported_labels(tags: Mapping[str, str]) -> list[str]:
    """An MLflow run's labels: the ones nbmodelbook exported, else its other tags as labels."""
    if LABELS_TAG in tags:
        return [label[:MAX_LABEL_LENGTH] for label in _labels_of(tags)]
    return [tag_label(key, value) for key, value in tags.items() if not _reserved(key)]


def _environment(tags: Mapping[str, str]) -> dict[str, Any]:
    git: dict[str, Any] = {
        "commit": tags.get(GIT_COMMIT_TAG),
        "branch": tags.get(GIT_BRANCH_TAG),
        "remote": tags.get(GIT_REPO_TAG),
    }
    if GIT_DIRTY_TAG in tags:
        git["dirty"] = tags[GIT_DIRTY_TAG] == "true"
    return {"git": git} if any(value is not None for value in git.values()) else {}


def _error(data: MlflowRunData, status: RunStatus) -> RunError | None:
    text = data.tags.get(ERROR_TAG)
    if text:
        kind, _, message = text.partition(": ")
        return RunError(kind, message, "")
    if status is RunStatus.ERROR:
        return RunError("MlflowRunFailed", "the MLflow run ended with status FAILED", "")
    return None


def _inputs(datasets: Iterable[DatasetSpec]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for spec in datasets:
        name, number = spec.name, 2
        while name in found:  # MLflow names many datasets just "dataset"
            name = f"{spec.name} ({number})"
            number += 1
        found[name] = input_from_dataset(spec)
    return found


def _number(text: str | None) -> int | None:
    return int(text) if text is not None and _INTEGER.fullmatch(text) else None


def record_from_mlflow(
    data: MlflowRunData,
    *,
    notebook: str | None = None,
    repo: str | None = None,
    tracking_uri: str | None = None,
) -> RunRecord | None:
    """The nbmodelbook record of an MLflow run; None for a run that has not finished.

    With `notebook`, the run is filed under that notebook and `repo` (its repository);
    without, it belongs to no notebook and keeps the repository MLflow names. The MLflow run
    (id, experiment, tracking store, source) is kept in `extra["mlflow"]`.
    """
    status = import_status(data)
    if status is None:
        return None
    data = without_credentials(data)
    tags = data.tags
    start = data.start_time if data.start_time is not None else data.end_time or 0
    name = tags.get(RUN_NAME_TAG) or data.name or data.run_id[:8]
    digest = import_digest(data, notebook, repo)
    origin = data.origin_run_id is not None
    return RunRecord(
        run_id=import_run_id(data),
        name=name[:MAX_NAME_LENGTH],
        started_at=start / 1000,
        code="",  # MLflow keeps no cell code; an empty cell's hash, never another cell's
        code_hash=code_hash(""),
        status=status,
        notebook=notebook
        if notebook is not None
        else (tags.get(SOURCE_NAME_TAG) if origin else None),
        repo=repo if notebook is not None else tags.get(REPO_TAG) or tags.get(GIT_REPO_TAG),
        cell_id=tags.get(CELL_ID_TAG),
        execution_count=_number(tags.get(EXECUTION_COUNT_TAG)),
        session_id=tags.get(SESSION_TAG),
        user=tags.get(USER_TAG),
        host=tags.get(HOST_TAG),
        ended_at=data.end_time / 1000 if data.end_time is not None else None,
        tags=list(dict.fromkeys(_imported_labels(tags))),
        note=tags.get(NOTE_TAG) or None,
        params={key: param_value(text) for key, text in data.params.items()},
        metrics={key: metric_from_mlflow(value) for key, value in data.metrics.items()},
        inputs=_inputs(data.datasets),
        environment=_environment(tags),
        error=_error(data, status),
        extra={
            "mlflow": {
                "run_id": data.run_id,
                "experiment_id": data.experiment_id,
                "experiment": data.experiment_name,
                "tracking_uri": redact_url(tracking_uri) if tracking_uri else tracking_uri,
                "source": tags.get(SOURCE_NAME_TAG),
                "digest": digest,
            }
        },
    )


def without_credentials(data: MlflowRunData) -> MlflowRunData:
    """The MLflow run with every URL in its names, params and tags stripped of credentials
    (a param that holds a database URL, a git remote with its token): nothing MLflow holds
    writes a password into a store."""
    return replace(
        data,
        experiment_name=redact_urls(data.experiment_name),
        name=redact_urls(data.name) if data.name is not None else None,
        params={key: redact_urls(text) for key, text in data.params.items()},
        tags={key: redact_urls(text) for key, text in data.tags.items()},
    )


def imported_digest(record: RunRecord) -> str | None:
    """The import digest a stored record was written with (None for a run not imported)."""
    found = record.extra.get("mlflow")
    digest = found.get("digest") if isinstance(found, dict) else None
    return digest if isinstance(digest, str) else None
