"""A run's evidence as MLflow artifacts and fold-score metrics: the pure mappings and the files,
checked without MLflow (the round trip through a real MLflow store is in
test_mlflow_evidence_roundtrip.py)."""

from __future__ import annotations

import gzip
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench._records import RecordFactory
from nbmodelbook.interop.mlflow_evidence import (
    CANDIDATES_FILE,
    CSV_GZ,
    INDEX_FILE,
    PARQUET,
    EvidenceArtifactsUnreadable,
    EvidenceNotExportable,
    default_table_format,
    evidence_artifacts,
    read_evidence_folder,
    write_evidence_folder,
)
from nbmodelbook.interop.mlflow_export import MAX_ENTITIES_PER_BATCH, fold_batches
from nbmodelbook.interop.mlflow_mapping import (
    EVIDENCE_TAG,
    ExportPayload,
    evidence_needs_new_run,
    export_payload,
    fold_metric_keys,
    holds_other_keys,
)
from nbmodelbook.record import Candidate, Evaluation, RunRecord, SegmentLabels
from nbmodelbook.store import codec
from nbmodelbook.store.journal import record_from_json

ROWS = 40


def multiclass_evaluation() -> Evaluation:
    """Probabilities of three classes (a 2-D y_score), weighted, on a sample of the rows."""
    rng = np.random.default_rng(3)
    return Evaluation(
        function="roc_auc_score",
        metric="auc",
        value=0.84,
        y_true=rng.integers(0, 3, ROWS),
        y_score=rng.dirichlet(np.ones(3), size=ROWS),
        sample_weight=rng.random(ROWS).astype(np.float32),
        options={"multi_class": "ovr", "labels": [0, 1, 2]},
        n_total=1_000,
        rows_fingerprint="rows-1",
        features_fingerprint="features-1",
    )


def labelled_evaluation() -> Evaluation:
    """String labels, a segment with missing rows, a value that is NaN."""
    rng = np.random.default_rng(4)
    codes = rng.integers(-1, 3, ROWS).astype(np.int8)
    return Evaluation(
        function="accuracy_score",
        metric="accuracy",
        value=math.nan,
        y_true=np.array(rng.choice(["bad", "good"], ROWS), dtype=object),
        y_pred=rng.choice(["bad", "good", "unsure, maybe"], ROWS),
        segments={"region": SegmentLabels(codes, ["north", "south", "east"], "declared")},
        n_total=ROWS,
    )


def search(size: int = 12, folds: int = 3) -> list[Candidate]:
    return [
        Candidate(
            source="GridSearchCV",
            group=0,
            index=index,
            params={"C": 10.0 ** (index - 6), "penalty": "l2"},
            scorer="roc_auc",
            fold_scores=[
                math.nan if (index, fold) == (5, 1) else 0.7 + index / 100 + fold / 1000
                for fold in range(folds)
            ],
            chosen=index == 7,
            mean_score=math.nan if index == 5 else 0.7 + index / 100,
        )
        for index in range(size)
    ]


def a_record(**changes: Any) -> RunRecord:
    record = RecordFactory(["/home/analyst/loans.ipynb"], seed=7, start=1_760_000_000.0).make(0)
    record.run_id = "0199d3a0b2c4" + "5e6f708192a3b4c5d6e7"
    return replace(record, **changes)


def with_evidence(**changes: Any) -> RunRecord:
    return a_record(
        evaluations=[multiclass_evaluation(), labelled_evaluation()],
        candidates=search(),
        **changes,
    )


def payload_of(record: RunRecord, table_format: str | None = None) -> ExportPayload:
    payload = export_payload(record, table_format=table_format)
    assert payload is not None
    return payload


def exactly(read: Any, original: Any) -> None:
    """The same array: dtype (strings as strings), shape and values, NaN equal to NaN."""
    original = np.asarray(original)
    assert read.dtype == original.dtype and read.shape == original.shape
    if original.dtype == object:
        assert all(isinstance(item, str) for item in read.flat)
        assert read.tolist() == original.tolist()
    else:
        assert np.array_equal(read, original, equal_nan=original.dtype.kind == "f")


def same_number(got: float | None, wanted: float | None) -> bool:
    if got is None or wanted is None:
        return got is wanted
    return (math.isnan(got) and math.isnan(wanted)) or got == wanted


def assert_same_evidence(
    got: tuple[list[Evaluation], list[Candidate]],
    wanted: tuple[list[Evaluation], list[Candidate]],
) -> None:
    """Equal evidence: every field of every evaluation and candidate, arrays exactly."""
    evaluations, candidates = got
    assert len(evaluations) == len(wanted[0]) and len(candidates) == len(wanted[1])
    for read, original in zip(evaluations, wanted[0], strict=True):
        assert (read.function, read.metric, read.n_total, read.options) == (
            original.function,
            original.metric,
            original.n_total,
            original.options,
        )
        assert (read.rows_fingerprint, read.features_fingerprint) == (
            original.rows_fingerprint,
            original.features_fingerprint,
        )
        assert same_number(read.value, original.value)
        for name in ("y_true", "y_score", "y_pred", "sample_weight"):
            if getattr(original, name) is None:
                assert getattr(read, name) is None, name
            else:
                exactly(getattr(read, name), getattr(original, name))
        assert list(read.segments) == list(original.segments)
        for name, labels in original.segments.items():
            assert read.segments[name].levels == labels.levels
            assert read.segments[name].source == labels.source
            exactly(read.segments[name].codes, labels.codes)
    for read_candidate, original_candidate in zip(candidates, wanted[1], strict=True):
        assert (read_candidate.source, read_candidate.group, read_candidate.index) == (
            original_candidate.source,
            original_candidate.group,
            original_candidate.index,
        )
        assert (read_candidate.params, read_candidate.scorer, read_candidate.chosen) == (
            original_candidate.params,
            original_candidate.scorer,
            original_candidate.chosen,
        )
        np.testing.assert_equal(read_candidate.fold_scores, original_candidate.fold_scores)
        assert same_number(read_candidate.mean_score, original_candidate.mean_score)


# --- the files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("table_format", [PARQUET, CSV_GZ])
def test_evidence_reads_back_exactly_from_its_files(table_format: str, tmp_path: Path) -> None:
    record = with_evidence()
    evidence = payload_of(record, table_format).evidence
    assert evidence is not None and evidence.table_format == table_format
    write_evidence_folder(evidence, tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [INDEX_FILE, CANDIDATES_FILE, f"0-auc.{table_format}", f"1-accuracy.{table_format}"]
    )
    found = read_evidence_folder(tmp_path)
    assert_same_evidence(
        (found.evaluations, found.candidates), (record.evaluations, record.candidates)
    )
    assert found.fold_keys == {f"cv/roc_auc/0-{index}" for index in range(12)}


def test_parquet_tables_hold_a_column_per_array_and_segment(tmp_path: Path) -> None:
    record = with_evidence()
    evidence = payload_of(record, PARQUET).evidence
    assert evidence is not None
    write_evidence_folder(evidence, tmp_path)
    scored = pd.read_parquet(tmp_path / "0-auc.parquet")
    assert list(scored.columns) == [
        "y_true",
        "y_score_0",
        "y_score_1",
        "y_score_2",
        "sample_weight",
    ]
    assert len(scored) == ROWS
    np.testing.assert_array_equal(
        scored["y_score_2"], np.asarray(record.evaluations[0].y_score)[:, 2]
    )
    labelled = pd.read_parquet(tmp_path / "1-accuracy.parquet")
    assert list(labelled.columns) == ["y_true", "y_pred", "segment_region"]
    region = labelled["segment_region"]
    assert isinstance(region.dtype, pd.CategoricalDtype)
    assert list(region.cat.categories) == ["north", "south", "east"]
    codes = record.evaluations[1].segments["region"].codes
    assert region.isna().tolist() == (codes == -1).tolist()
    assert region[codes == 2].eq("east").all()
    schema = pq.read_schema(tmp_path / "1-accuracy.parquet")
    assert pa.types.is_dictionary(schema.field("segment_region").type)


def test_csv_tables_are_plain_gzipped_csv_with_labels(tmp_path: Path) -> None:
    record = with_evidence()
    evidence = payload_of(record, CSV_GZ).evidence
    assert evidence is not None
    write_evidence_folder(evidence, tmp_path)
    with gzip.open(tmp_path / "1-accuracy.csv.gz", "rt", encoding="utf-8") as handle:
        header = handle.readline().strip()
    assert header == "y_true,y_pred,segment_region"
    labelled = pd.read_csv(tmp_path / "1-accuracy.csv.gz", keep_default_na=False)
    codes = record.evaluations[1].segments["region"].codes
    expected = np.array(["north", "south", "east", ""], dtype=object)[codes]
    assert labelled["segment_region"].tolist() == expected.tolist()
    assert labelled["y_pred"].tolist() == np.asarray(record.evaluations[1].y_pred).tolist()
    scored = pd.read_csv(tmp_path / "0-auc.csv.gz")
    np.testing.assert_array_equal(
        scored["y_score_1"], np.asarray(record.evaluations[0].y_score)[:, 1]
    )


def test_the_index_describes_every_evaluation(tmp_path: Path) -> None:
    record = with_evidence()
    evidence = payload_of(record, PARQUET).evidence
    assert evidence is not None
    index = codec.loads(evidence.index)
    assert index["version"] == 1 and index["table_format"] == PARQUET
    first, second = index["evaluations"]
    assert {key: first[key] for key in ("function", "metric", "value", "n", "n_total")} == {
        "function": "roc_auc_score",
        "metric": "auc",
        "value": 0.84,
        "n": ROWS,
        "n_total": 1_000,
    }
    assert first["sampled"] is True and second["sampled"] is False
    assert (first["rows_fingerprint"], first["features_fingerprint"]) == ("rows-1", "features-1")
    assert first["options"] == {"multi_class": "ovr", "labels": [0, 1, 2]}
    assert first["file"] == "0-auc.parquet"
    assert first["arrays"]["y_score"] == {
        "columns": ["y_score_0", "y_score_1", "y_score_2"],
        "dtype": "<f8",
        "shape": [ROWS, 3],
    }
    assert second["value"] == "NaN"  # strict JSON
    assert second["segments"]["region"] == {
        "column": "segment_region",
        "levels": ["north", "south", "east"],
        "source": "declared",
        "dtype": "|i1",
    }
    listed = codec.loads(evidence.candidates)["candidates"]
    assert len(listed) == 12 and listed[7]["chosen"] and listed[5]["fold_scores"][1] == "NaN"
    assert listed[3]["metric"] == "cv/roc_auc/0-3"


def test_the_default_table_format_is_parquet_with_pyarrow() -> None:
    assert default_table_format() == PARQUET  # pyarrow is installed with the test extra


def test_empty_and_multidimensional_arrays_keep_their_shapes(tmp_path: Path) -> None:
    empty = Evaluation("log_loss", "loss", 0.3, y_true=np.array([], dtype=np.int64))
    cube = Evaluation(
        "log_predictions",
        "cube",
        None,
        y_true=np.arange(4, dtype=np.uint16),
        y_score=np.arange(24, dtype=np.float16).reshape(4, 3, 2),
        y_pred=np.array([True, False, True, True]),
    )
    for table_format in (PARQUET, CSV_GZ):
        folder = tmp_path / table_format
        write_evidence_folder(evidence_artifacts([empty, cube], [], [], table_format), folder)
        found = read_evidence_folder(folder)
        assert_same_evidence((found.evaluations, found.candidates), ([empty, cube], []))
        assert not (folder / CANDIDATES_FILE).exists()  # no candidates: no candidates.json


def test_arrays_that_do_not_line_up_are_refused_with_the_evaluation_named() -> None:
    short = replace(multiclass_evaluation(), sample_weight=np.ones(ROWS - 1))
    with pytest.raises(EvidenceNotExportable, match=r"evaluation 0 \(roc_auc_score for 'auc'\)"):
        evidence_artifacts([short], [], [])
    labels = SegmentLabels(np.full(ROWS, 3, dtype=np.int8), ["a", "b", "c"])
    stray = replace(labelled_evaluation(), segments={"region": labels})
    with pytest.raises(EvidenceNotExportable, match="codes that name none of its 3 levels"):
        evidence_artifacts([stray], [], [])


def test_unreadable_or_newer_files_are_refused(tmp_path: Path) -> None:
    evidence = payload_of(with_evidence(), PARQUET).evidence
    assert evidence is not None
    write_evidence_folder(evidence, tmp_path)
    (tmp_path / "1-accuracy.parquet").write_bytes(b"not parquet")
    with pytest.raises(EvidenceArtifactsUnreadable, match="cannot be read back"):
        read_evidence_folder(tmp_path)
    index = codec.loads((tmp_path / INDEX_FILE).read_text())
    (tmp_path / INDEX_FILE).write_text(codec.dumps({**index, "version": 2}))
    with pytest.raises(EvidenceArtifactsUnreadable, match="upgrade nbmodelbook"):
        read_evidence_folder(tmp_path)
    with pytest.raises(EvidenceArtifactsUnreadable):
        read_evidence_folder(tmp_path / "missing")


# --- the payload -------------------------------------------------------------------------------


def test_a_run_without_evidence_has_no_evidence_in_its_payload() -> None:
    payload = payload_of(a_record())
    assert payload.evidence is None and payload.fold_metrics == {}
    assert EVIDENCE_TAG not in payload.tags
    assert not any(key.startswith("cv/") for key in payload.metrics)


def test_evidence_goes_to_its_artifacts_and_fold_metrics_not_to_run_json() -> None:
    record = with_evidence()
    payload = payload_of(record)
    assert payload.evidence is not None
    kept = record_from_json(payload.artifacts["run.json"])
    assert kept.evaluations == [] and kept.candidates == []
    assert kept.metrics == record.metrics
    assert payload.fold_metrics["cv/roc_auc/0-4"] == tuple(record.candidates[4].fold_scores)
    assert len(payload.fold_metrics) == 12 and not set(payload.fold_metrics) & set(payload.metrics)
    summary = codec.loads(payload.tags[EVIDENCE_TAG])
    assert summary == {
        "evaluations": 2,
        "candidates": 12,
        "format": PARQUET,
        "digest": payload.evidence.digest,
    }


def test_the_digest_follows_the_evidence() -> None:
    digest = payload_of(with_evidence()).digest
    assert payload_of(with_evidence()).digest == digest
    assert payload_of(a_record()).digest != digest
    record = with_evidence()
    scores = record.evaluations[0].y_score
    assert scores is not None
    scores[3, 1] += 0.01  # one probability
    assert payload_of(record).digest != digest
    record = with_evidence()
    record.candidates[11].fold_scores[2] = 0.5
    assert payload_of(record).digest != digest
    record = with_evidence()
    record.evaluations[1].segments["region"].levels[0] = "north-west"
    assert payload_of(record).digest != digest


def test_fold_metric_keys_are_mlflow_keys_apart_from_the_runs_metrics() -> None:
    candidates = [
        replace(search(1)[0], scorer="neg log loss?", group=1, index=0),
        replace(search(1)[0], scorer="roc_auc", group=0, index=0),
    ]
    assert fold_metric_keys(candidates, {"cv/roc_auc/0-0"}) == [
        "cv/neg log loss_/1-0",
        "cv/roc_auc/0-0_2",
    ]
    record = with_evidence(metrics={"cv/roc_auc/0-0": 0.5})
    payload = payload_of(record)
    assert payload.metrics == {"cv/roc_auc/0-0": 0.5}
    assert "cv/roc_auc/0-0_2" in payload.fold_metrics


def test_fold_scores_are_not_taken_for_keys_others_logged() -> None:
    payload = payload_of(with_evidence())
    folds = {key: values[-1] for key, values in payload.fold_metrics.items()}
    assert not holds_other_keys(payload, payload.params, {**payload.metrics, **folds})
    assert holds_other_keys(payload, payload.params, {**payload.metrics, "holdout": 0.8})


def test_changed_or_partial_evidence_replaces_the_run_and_new_evidence_does_not() -> None:
    payload = payload_of(with_evidence())
    folds = {key: values[-1] for key, values in payload.fold_metrics.items()}
    tag = {EVIDENCE_TAG: payload.tags[EVIDENCE_TAG]}
    # Already there: nothing to replace.
    assert not evidence_needs_new_run(payload, tag, {**payload.metrics, **folds})
    # Exported before it had evidence: added in place.
    assert not evidence_needs_new_run(payload, {}, payload.metrics)
    # Fold scores there but no tag (an export cut short): their steps are unknown.
    assert evidence_needs_new_run(payload, {}, {**payload.metrics, **folds})
    # Other evidence, or none any more: MLflow cannot remove artifacts or steps.
    record = with_evidence()
    record.candidates[0].fold_scores[0] = 0.1
    assert evidence_needs_new_run(payload_of(record), tag, payload.metrics)
    assert evidence_needs_new_run(payload_of(a_record()), tag, payload.metrics)
    assert not evidence_needs_new_run(payload_of(a_record()), {}, payload.metrics)


def test_fold_scores_are_logged_in_batches_within_mlflows_limit() -> None:
    folds: dict[str, tuple[float, ...]] = {
        f"cv/roc_auc/0-{index}": (0.1, 0.2, 0.3, 0.4, 0.5) for index in range(450)
    }
    batches = fold_batches(folds)
    assert [len(batch) for batch in batches] == [MAX_ENTITIES_PER_BATCH] * 2 + [250]
    steps = [entry for batch in batches for entry in batch]
    assert steps[:5] == [
        ("cv/roc_auc/0-0", value, step) for step, value in enumerate(folds["cv/roc_auc/0-0"])
    ]
    assert fold_batches({}) == []
