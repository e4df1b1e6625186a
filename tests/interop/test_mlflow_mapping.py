"""Run records <-> MLflow runs: the pure mappings, checked without MLflow or a server."""

from __future__ import annotations

import math
import posixpath
import re
import sys
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench._records import RecordFactory, fail
from nbmodelbook.capture.fingerprint import fingerprint
from nbmodelbook.interop.mlflow_export import (
    MAX_ENTITIES_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
    log_batches,
)
from nbmodelbook.interop.mlflow_mapping import (
    CODE_ARTIFACT,
    DIGEST_TAG,
    LOGGED_TAG,
    MAX_TAG_LENGTH,
    RECORD_ARTIFACT,
    RUN_ID_TAG,
    ExportPayload,
    LoggedKeys,
    MlflowRunData,
    changed_metrics,
    dataset_spec,
    experiment_name,
    export_payload,
    holds_other_keys,
    import_digest,
    import_run_id,
    imported_digest,
    input_from_dataset,
    is_up_to_date,
    label_tag,
    logged_keys,
    metric_from_mlflow,
    mlflow_column_type,
    mlflow_key,
    needs_new_run,
    param_text,
    param_value,
    record_from_mlflow,
    same_metric,
    stale_tags,
    tag_label,
)
from nbmodelbook.record import RunError, RunRecord, RunStatus, code_hash
from nbmodelbook.store.journal import record_from_json, record_to_json

NOTEBOOK = "/home/analyst/credit-models/loans.ipynb"
MLFLOW_KEY = re.compile(r"^[/\w.\- ]*$")  # what MLflow accepts on every platform


def a_record(**changes: Any) -> RunRecord:
    record = RecordFactory([NOTEBOOK], seed=7, start=1_760_000_000.0).make(0)
    frame = pd.DataFrame({"income": np.arange(5.0), "region": list("abcab"), "n": np.arange(5)})
    record.inputs = {"X_train": fingerprint(frame), "y_train": fingerprint(frame["n"])}
    record.note = "first try"
    record.run_id = "0199d3a0b2c4" + "5e6f708192a3b4c5d6e7"  # fixed: digests are compared
    return replace(record, **changes)


def payload_of(record: RunRecord) -> ExportPayload:
    payload = export_payload(record)
    assert payload is not None
    return payload


# --- status ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (RunStatus.OK, "FINISHED"),
        (RunStatus.ERROR, "FAILED"),
        (RunStatus.CRASHED, "FAILED"),
        (RunStatus.INTERRUPTED, "KILLED"),
    ],
)
def test_ended_runs_map_to_mlflow_statuses(status: RunStatus, expected: str) -> None:
    assert payload_of(a_record(status=status)).status == expected


def test_a_running_run_is_not_exported() -> None:
    assert export_payload(a_record(status=RunStatus.RUNNING, ended_at=None)) is None


def test_an_ended_run_without_end_time_ends_when_it_started() -> None:
    payload = payload_of(a_record(ended_at=None))
    assert payload.end_time == payload.start_time


# --- keys, params, metrics, labels ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("learning_rate", "learning_rate"),
        ("model.n_estimators", "model.n_estimators"),
        ("auc:valid", "auc_valid"),
        ("f1 (macro)", "f1 _macro_"),
        ("/abs//path/", "abs/path"),
        ("../up", "_/up"),
        ("", "_"),
        ("précision", "précision"),
    ],
)
def test_keys_are_what_mlflow_accepts(name: str, key: str) -> None:
    assert mlflow_key(name) == key


@given(st.text(max_size=300))
def test_any_name_becomes_a_valid_mlflow_key(name: str) -> None:
    key = mlflow_key(name)
    assert MLFLOW_KEY.match(key) and 0 < len(key) <= 250
    assert posixpath.normpath(key) == key and not key.startswith(("/", ".."))


def test_names_that_clean_up_alike_keep_both_values() -> None:
    payload = payload_of(a_record(params={"a:b": 1, "a_b": 2}, metrics={"x y": 1.0}))
    assert payload.params == {"a_b": "1", "a_b_2": "2"}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (500, "500"),
        (0.05, "0.05"),
        (1e-07, "1e-07"),
        (True, "True"),
        (None, "None"),
        ("friedman_mse", "friedman_mse"),
        ([1, 2, 3], "[1,2,3]"),
        ({"a": 1}, '{"a":1}'),
    ],
)
def test_params_are_written_as_mlflow_shows_them_and_read_back(value: Any, text: str) -> None:
    assert param_text(value) == text
    assert param_value(text) == value


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)  # what the store holds (JSON numbers, 64-bit)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(json_values)
def test_param_values_survive_the_round_trip(value: Any) -> None:
    assert param_value(param_text(value)) == value


@pytest.mark.parametrize("text", ["007", "nan", "inf", "v2", "1,000", "[not json", "'quoted'"])
def test_texts_that_are_not_plain_values_stay_text(text: str) -> None:
    assert param_value(text) == text


def test_long_params_and_tags_are_cut_to_mlflows_limits() -> None:
    payload = payload_of(a_record(params={"big": "x" * 10_000}, note="n" * 9_000))
    assert len(payload.params["big"]) == 6000 and payload.params["big"].endswith("…")
    assert len(payload.tags["mlflow.note.content"]) == 8000


def test_infinite_metrics_come_back_from_mlflows_stand_in() -> None:
    biggest = sys.float_info.max
    assert metric_from_mlflow(biggest) == math.inf
    assert metric_from_mlflow(-biggest) == -math.inf
    assert math.isnan(metric_from_mlflow(math.nan))
    assert metric_from_mlflow(0.25) == 0.25
    assert same_metric(math.nan, math.nan) and same_metric(biggest, math.inf)
    assert not same_metric(0.5, 0.6) and not same_metric(math.nan, 0.0)


@pytest.mark.parametrize(
    ("label", "tag"),
    [("baseline", ("baseline", "true")), ("team=risk", ("team", "risk")), ("=x", ("=x", "true"))],
)
def test_labels_become_tags_and_back(label: str, tag: tuple[str, str]) -> None:
    key, value = label_tag(label)
    assert (key, value) == (mlflow_key(tag[0]), tag[1])
    if label != "=x":
        assert tag_label(key, value) == label


# --- datasets ----------------------------------------------------------------------------------


def test_a_dataframe_input_is_a_dataset_whose_digest_is_its_fingerprint() -> None:
    frame = pd.DataFrame(
        {"income": np.arange(4.0), "n": np.arange(4), "ok": [True] * 4, "name": list("abcd")}
    )
    found = fingerprint(frame)
    spec = dataset_spec("X_train", found, NOTEBOOK)
    assert spec is not None
    assert spec.digest == found["hash"] and spec.name == "X_train"
    assert spec.source_type == "nbmodelbook" and NOTEBOOK in spec.source
    assert '"num_rows":4' in (spec.profile or "")
    back = input_from_dataset(spec)
    assert back["hash"] == found["hash"] and back["shape"] == [4, 4]
    assert back["columns"] == ["income", "n", "ok", "name"] and back["kind"] == "DataFrame"
    types = re.findall(r'"type":"(\w+)"', spec.schema or "")
    assert types == ["double", "long", "boolean", "string"]


def test_series_arrays_and_unhashed_inputs() -> None:
    series = dataset_spec("y", fingerprint(pd.Series([1.5, 2.5], name="target")), None)
    assert series is not None and '"name":"target"' in (series.schema or "")
    array = dataset_spec("X", fingerprint(np.zeros((3, 2))), None)
    assert (
        array is not None and array.schema is None and '"num_elements":6' in (array.profile or "")
    )
    assert dataset_spec("broken", {"kind": "DataFrame", "hash": None}, None) is None


@pytest.mark.parametrize(
    ("dtype", "kind"),
    [("float32", "float"), ("Int64", "long"), ("datetime64[ns, UTC]", "datetime"),
     ("category", "string"), ("string[pyarrow]", "string"), ("int8", "integer")],
)  # fmt: skip
def test_column_types(dtype: str, kind: str) -> None:
    assert mlflow_column_type(dtype) == kind


# --- the export payload ------------------------------------------------------------------------


def test_the_payload_holds_what_the_record_holds() -> None:
    record = a_record(
        error=RunError("ValueError", "bad input", "Traceback ..."), status=RunStatus.ERROR
    )
    payload = payload_of(record)
    tags = payload.tags
    assert tags[RUN_ID_TAG] == record.run_id and tags["mlflow.runName"] == record.name
    assert tags["mlflow.user"] == "analyst" and tags["mlflow.source.name"] == NOTEBOOK
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    assert tags["mlflow.source.git.commit"] == record.environment["git"]["commit"]
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["nbmodelbook.git.dirty"] == "true"
    assert tags["nbmodelbook.cell_id"] == record.cell_id
    assert tags["nbmodelbook.execution_count"] == str(record.execution_count)
    assert tags["nbmodelbook.host"] == "workstation-17"
    assert tags["nbmodelbook.error"] == "ValueError: bad input"
    assert tags["mlflow.note.content"] == "first try"
    assert all(tags[label] == "true" for label in record.tags)
    assert tags[DIGEST_TAG] == payload.digest
    assert payload.params["n_estimators"] == str(record.params["n_estimators"])
    assert payload.params["class_weight"] == "None"
    assert payload.metrics == record.metrics
    assert payload.start_time == round(record.started_at * 1000)
    assert payload.artifacts[CODE_ARTIFACT] == record.code
    assert record_from_json(payload.artifacts[RECORD_ARTIFACT]) == record
    assert {spec.name for spec in payload.datasets} == {"X_train", "y_train"}


def test_labels_cannot_overwrite_mlflows_or_nbmodelbooks_tags() -> None:
    record = a_record(tags=["mlflow.runName=evil", "nbmodelbook.run_id", "ok"])
    payload = payload_of(record)
    assert payload.tags["mlflow.runName"] == record.name
    assert payload.tags[RUN_ID_TAG] == record.run_id and payload.tags["ok"] == "true"
    assert record_from_mlflow(mlflow_run(tags=payload.tags)) is not None


def test_nan_and_infinite_metrics_are_kept() -> None:
    payload = payload_of(a_record(metrics={"auc": math.nan, "loss": math.inf, "gain": -math.inf}))
    assert math.isnan(payload.metrics["auc"]) and payload.metrics["loss"] == math.inf
    assert (
        payload_of(a_record(metrics={"auc": math.nan})).digest
        == payload_of(a_record(metrics={"auc": math.nan})).digest
    )


def test_the_digest_changes_exactly_when_the_run_does() -> None:
    record = a_record()
    digest = payload_of(record).digest
    assert payload_of(a_record()).digest == digest
    for changed in (
        a_record(note="second thoughts"),
        a_record(tags=["baseline"]),
        a_record(metrics={**record.metrics, "auc": 0.5}),
        a_record(status=RunStatus.CRASHED),
        a_record(code=record.code + "\n# more"),
        a_record(inputs={}),
    ):
        assert payload_of(changed).digest != digest


def test_experiment_names() -> None:
    assert experiment_name(NOTEBOOK) == "loans"
    assert experiment_name("C:\\work\\churn model.ipynb") == "churn model"
    assert experiment_name(None) == "nbmodelbook"


# --- updating an exported run ------------------------------------------------------------------


def test_what_an_update_changes() -> None:
    before = payload_of(a_record(tags=["baseline", "tuned"], note="first try"))
    after = payload_of(
        a_record(tags=["baseline"], note=None, metrics={**a_record().metrics, "auc": math.inf})
    )
    held_tags = dict(before.tags)
    held_tags["set-in-mlflow-by-hand"] = "keep me"
    assert stale_tags(after, held_tags) == ["mlflow.note.content", "tuned"]
    held_metrics = {**before.metrics, "auc": sys.float_info.max}
    assert changed_metrics(after, held_metrics) == {}  # MLflow's infinity is the same value
    assert changed_metrics(after, before.metrics) == {"auc": math.inf}
    logged = LoggedKeys.of(before)
    assert not needs_new_run(after, before.params, before.metrics, logged)
    params = {**before.params, "max_depth": "99"}
    assert needs_new_run(after, params, before.metrics, logged)  # MLflow never changes a param
    assert is_up_to_date(before, before.tags, "FINISHED", before.end_time)
    assert not is_up_to_date(before, before.tags, "RUNNING", None)  # cut short
    assert not is_up_to_date(after, before.tags, "FINISHED", before.end_time)


def test_only_what_nbmodelbook_logged_can_replace_the_mlflow_run() -> None:
    before = payload_of(a_record())
    logged = logged_keys(before.tags)
    assert logged == LoggedKeys.of(before) and logged.params and logged.metrics
    # A teammate logged a param and a metric on the run: theirs, kept, no reason to replace.
    params = {**before.params, "reviewed_by": "maria"}
    metrics = {**before.metrics, "holdout_auc": 0.8}
    after = payload_of(a_record(note="checked"))
    assert holds_other_keys(after, params, metrics)
    assert not needs_new_run(after, params, metrics, logged)
    # What nbmodelbook logged and the record no longer has can only go with the run.
    param, metric = sorted(before.params)[0], sorted(before.metrics)[0]
    record = a_record()
    del record.params[param], record.metrics[metric]
    without = payload_of(record)
    assert needs_new_run(without, before.params, before.metrics, logged)
    assert needs_new_run(without, before.params, {}, logged)
    assert needs_new_run(without, {}, before.metrics, logged)
    # Keys nbmodelbook's own export left unknown (an old run): only a changed value counts.
    assert not needs_new_run(without, before.params, before.metrics, LoggedKeys())
    assert not holds_other_keys(before, before.params, before.metrics)


def test_the_logged_keys_tag_is_outside_the_digest_and_read_leniently() -> None:
    payload = payload_of(a_record())
    assert LOGGED_TAG in payload.tags
    legacy = {key: value for key, value in payload.tags.items() if key != LOGGED_TAG}
    assert is_up_to_date(payload, legacy, payload.status, payload.end_time)  # runs exported before
    assert logged_keys(legacy) is None
    assert logged_keys({LOGGED_TAG: "not json"}) is None
    assert logged_keys({LOGGED_TAG: '{"params": 1}'}) is None
    many = a_record(params={f"param_{n:04d}_{'x' * 200}": n for n in range(60)})
    assert LOGGED_TAG not in payload_of(many).tags  # too long for a tag: run.json says
    assert all(len(value) <= MAX_TAG_LENGTH for value in payload_of(many).tags.values())


def test_log_batches_keep_mlflows_limits_and_send_the_digest_last() -> None:
    params = [(f"p{n}", "1") for n in range(250)]
    metrics = [(f"m{n}", 1.0) for n in range(1500)]
    tags = [(f"t{n}", "x") for n in range(230)] + [(DIGEST_TAG, "d")]
    batches = log_batches(params, metrics, tags)
    for batch_params, batch_metrics, batch_tags in batches:
        assert len(batch_params) <= MAX_PARAMS_TAGS_PER_BATCH
        assert len(batch_tags) <= MAX_PARAMS_TAGS_PER_BATCH
        assert len(batch_params) + len(batch_metrics) + len(batch_tags) <= MAX_ENTITIES_PER_BATCH
    assert [p for batch in batches for p in batch[0]] == params
    assert [m for batch in batches for m in batch[1]] == metrics
    assert [t for batch in batches for t in batch[2]] == tags
    assert batches[-1][2][-1] == (DIGEST_TAG, "d")
    assert log_batches([], [], [(DIGEST_TAG, "d")]) == [([], [], [(DIGEST_TAG, "d")])]


# --- import ------------------------------------------------------------------------------------


def mlflow_run(**changes: Any) -> MlflowRunData:
    data = MlflowRunData(
        run_id="5f0c2b8e9d4a4c7f8b1e2d3c4b5a6978",
        experiment_id="3",
        experiment_name="churn",
        name="clever-owl-42",
        status="FINISHED",
        start_time=1_760_000_000_000,
        end_time=1_760_000_042_500,
        params={"n_estimators": "300", "lr": "0.05", "model": "xgboost", "early": "True"},
        metrics={"auc": 0.91, "loss": sys.float_info.max},
        tags={
            "mlflow.runName": "xgb-300",
            "mlflow.user": "maria",
            "mlflow.source.name": "train.py",
            "mlflow.source.git.commit": "abc123",
            "mlflow.note.content": "best so far",
            "team": "risk",
            "candidate": "true",
        },
    )
    return replace(data, **changes)


def test_an_mlflow_run_becomes_a_record() -> None:
    record = record_from_mlflow(mlflow_run(), tracking_uri="sqlite:///mlflow.db")
    assert record is not None
    assert record.name == "xgb-300" and record.status is RunStatus.OK
    assert record.params == {"n_estimators": 300, "lr": 0.05, "model": "xgboost", "early": True}
    assert record.metrics == {"auc": 0.91, "loss": math.inf}
    assert record.user == "maria" and record.note == "best so far"
    assert record.tags == ["team=risk", "candidate"]
    assert record.started_at == 1_760_000_000.0 and record.duration == pytest.approx(42.5)
    assert record.environment == {"git": {"commit": "abc123", "branch": None, "remote": None}}
    assert record.code == "" and record.code_hash == code_hash("")
    assert record.notebook is None and record.error is None
    assert record.extra["mlflow"]["run_id"] == mlflow_run().run_id
    assert record.extra["mlflow"]["source"] == "train.py"


def test_an_imported_run_keeps_no_credential_of_a_url_mlflow_holds() -> None:
    tags = {
        **mlflow_run().tags,
        "mlflow.source.git.repoURL": "https://alice:ghp_s3cret@github.com/org/churn.git",
        "mlflow.note.content": "data from postgresql://etl:pw-s3cret@db/warehouse?sslmode=require",
    }
    params = {**mlflow_run().params, "source": "s3://AKIA:s3cret@bucket/x?token=s3cret&v=2"}
    data = mlflow_run(tags=tags, params=params, name="from http://u:s3cret@h/x")
    record = record_from_mlflow(data, tracking_uri="http://alice:s3cret@mlflow.example:5000")
    assert record is not None
    assert "s3cret" not in record_to_json(record)
    assert record.repo == "https://github.com/org/churn.git"
    assert record.environment["git"]["remote"] == "https://github.com/org/churn.git"
    assert record.note == "data from postgresql://db/warehouse?sslmode=require"
    assert record.params["source"] == "s3://bucket/x?v=2"
    assert record.extra["mlflow"]["tracking_uri"] == "http://mlflow.example:5000"
    # The digest is of what is stored: a run an earlier import kept with its secret is
    # replaced by the next import; a run without one is left alone.
    assert imported_digest(record) != import_digest(data, None, None)
    plain = record_from_mlflow(mlflow_run(), tracking_uri="sqlite:///mlflow.db")
    assert plain is not None and imported_digest(plain) == import_digest(mlflow_run(), None, None)


def test_imported_ids_are_stable_and_sort_by_time() -> None:
    first = import_run_id(mlflow_run())
    assert first == import_run_id(mlflow_run()) and re.fullmatch(r"[0-9a-f]{32}", first)
    assert first[:12] == f"{1_760_000_000_000:012x}"
    assert import_run_id(mlflow_run(run_id="0" * 32)) != first


@pytest.mark.parametrize(
    ("status", "expected"),
    [("FINISHED", RunStatus.OK), ("FAILED", RunStatus.ERROR), ("KILLED", RunStatus.INTERRUPTED),
     ("RUNNING", None), ("SCHEDULED", None)],
)  # fmt: skip
def test_mlflow_statuses(status: str, expected: RunStatus | None) -> None:
    record = record_from_mlflow(mlflow_run(status=status))
    assert (record.status if record is not None else None) == expected
    if expected is RunStatus.ERROR:
        assert record is not None and record.error is not None


def test_a_run_exported_from_nbmodelbook_keeps_its_identity() -> None:
    original = a_record(status=RunStatus.CRASHED)
    payload = payload_of(original)
    data = mlflow_run(status="FAILED", tags=payload.tags, params=payload.params, metrics={})
    record = record_from_mlflow(data)
    assert record is not None
    assert record.run_id == original.run_id and record.status is RunStatus.CRASHED
    assert record.tags == original.tags and record.cell_id == original.cell_id
    assert record.notebook == NOTEBOOK and record.host == original.host


def test_filing_under_a_notebook_changes_the_import_digest() -> None:
    data = mlflow_run()
    filed = record_from_mlflow(data, notebook=NOTEBOOK, repo="https://git.example.com/r.git")
    assert filed is not None and filed.notebook == NOTEBOOK
    assert filed.repo == "https://git.example.com/r.git"
    assert import_digest(data, None, None) != import_digest(data, NOTEBOOK, None)
    assert import_digest(data, None, None) == import_digest(mlflow_run(), None, None)
    assert import_digest(data, None, None) != import_digest(
        mlflow_run(metrics={"auc": 0.92}), None, None
    )


def test_datasets_of_an_mlflow_run_become_inputs() -> None:
    spec = dataset_spec("dataset", fingerprint(pd.DataFrame({"a": [1, 2]})), None)
    assert spec is not None
    record = record_from_mlflow(mlflow_run(datasets=(spec, replace(spec, digest="other"))))
    assert record is not None
    assert list(record.inputs) == ["dataset", "dataset (2)"]
    assert record.inputs["dataset"]["hash"] == spec.digest


def test_failed_records_map_without_metrics() -> None:
    record = fail(a_record())
    payload = payload_of(record)
    assert payload.metrics == {} and payload.status == "FAILED"
