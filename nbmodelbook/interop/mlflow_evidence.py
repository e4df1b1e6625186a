"""The evidence behind a run's metrics as files any tool can read, and back.

An exported MLflow run keeps it under `nbmodelbook/evaluations/`:

- one table per evaluation: Parquet when pyarrow is installed, else gzipped CSV. A row per
  evaluated row; the columns `y_true`, `y_score`, `y_pred` and `sample_weight` the evaluation
  has (a 2-D array as `y_score_0` … `y_score_{k-1}`), and `segment_<name>` for each segment,
  holding its labels (missing: null in Parquet, an empty field in CSV). In Parquet a segment is
  a dictionary column: pandas reads it as a categorical with the segment's levels.
- `index.json`: for each evaluation, what computed it (function, metric, value, n, n_total,
  sampled, rows and features fingerprints, options), its file, and how its columns read back
  (each array's dtype and shape; each segment's column, levels, source and codes' dtype).
- `candidates.json` (a run with candidates): each candidate of the run's cross-validations and
  searches, with the MLflow metric whose steps are its fold scores.

`read_evidence_folder` gives the evaluations and candidates back exactly: arrays with their
dtypes and shapes, segments with their levels and codes. No MLflow here: the caller uploads
and downloads the folder.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import xxhash

from nbmodelbook.errors import InvalidArgument, UsageError
from nbmodelbook.record import Candidate, Evaluation, SegmentLabels
from nbmodelbook.store import codec
from nbmodelbook.store.arrays import array_hash

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "ARRAY_COLUMNS",
    "CANDIDATES_FILE",
    "CSV_GZ",
    "EVALUATIONS_DIR",
    "INDEX_FILE",
    "PARQUET",
    "EvidenceArtifacts",
    "EvidenceArtifactsUnreadable",
    "EvidenceNotExportable",
    "ReadEvidence",
    "default_table_format",
    "evidence_artifacts",
    "read_evidence_folder",
    "write_evidence_folder",
]

EVALUATIONS_DIR: Final = "evaluations"
INDEX_FILE: Final = "index.json"
CANDIDATES_FILE: Final = "candidates.json"
PARQUET: Final = "parquet"
CSV_GZ: Final = "csv.gz"
LAYOUT_VERSION: Final = 1  # of index.json and candidates.json: a reader refuses a newer one
ARRAY_COLUMNS: Final = ("y_true", "y_score", "y_pred", "sample_weight")
SEGMENT_PREFIX: Final = "segment_"
_FILE_STEM: Final = re.compile(r"[^A-Za-z0-9_-]+")
_STEM_LENGTH: Final = 60


class EvidenceNotExportable(UsageError):
    """An evaluation whose arrays do not line up row by row (or a segment whose codes name no
    level): it cannot be one table. The message names the run's evaluation."""


class EvidenceArtifactsUnreadable(UsageError):
    """The `nbmodelbook/evaluations/` files of an MLflow run are not what an export wrote."""


@cache
def default_table_format() -> str:
    """Parquet when pyarrow can be imported, else gzipped CSV."""
    return PARQUET if importlib.util.find_spec("pyarrow") is not None else CSV_GZ


# --- export ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceArtifacts:
    """A run's evidence as an export writes it: its evaluations (their arrays are written to
    tables only when uploaded), the texts of index.json and candidates.json, the fold scores
    as MLflow metrics, and a digest of all of it (independent of how the tables encode)."""

    evaluations: tuple[Evaluation, ...]
    files: tuple[str, ...]  # the table of each evaluation, in order
    table_format: str
    index: str  # index.json
    candidates: str | None  # candidates.json; None for a run without candidates
    candidate_count: int
    fold_metrics: dict[str, tuple[float, ...]]  # MLflow metric key -> its value at each step
    digest: str

    @property
    def summary(self) -> dict[str, Any]:
        """What the run's `nbmodelbook.evidence` tag says (the digest tells changes apart)."""
        return {
            "evaluations": len(self.evaluations),
            "candidates": self.candidate_count,
            "format": self.table_format,
            "digest": self.digest,
        }


def evidence_artifacts(
    evaluations: Sequence[Evaluation],
    candidates: Sequence[Candidate],
    fold_keys: Sequence[str],
    table_format: str | None = None,
) -> EvidenceArtifacts:
    """The artifacts of a run's evidence; `fold_keys[i]` is the MLflow metric that holds the
    fold scores of `candidates[i]`. EvidenceNotExportable for an evaluation whose arrays are
    not one row each."""
    fmt = table_format or default_table_format()
    if fmt not in (PARQUET, CSV_GZ):
        raise InvalidArgument(f"unknown table format {fmt!r}: {PARQUET!r} or {CSV_GZ!r}")
    files = tuple(_file_name(position, ev.metric, fmt) for position, ev in enumerate(evaluations))
    entries = [
        _index_entry(position, evaluation, name)
        for position, (evaluation, name) in enumerate(zip(evaluations, files, strict=True))
    ]
    index = codec.dumps({"version": LAYOUT_VERSION, "table_format": fmt, "evaluations": entries})
    listed = None
    if candidates:
        listed = codec.dumps(
            {
                "version": LAYOUT_VERSION,
                "candidates": [
                    _candidate_entry(candidate, key)
                    for candidate, key in zip(candidates, fold_keys, strict=True)
                ],
            }
        )
    fold_metrics = {
        key: tuple(float(score) for score in candidate.fold_scores)
        for candidate, key in zip(candidates, fold_keys, strict=True)
        if candidate.fold_scores
    }
    contents = [
        [array_hash(array) for _, array in _arrays(evaluation)]
        + [array_hash(np.asarray(labels.codes)) for labels in evaluation.segments.values()]
        for evaluation in evaluations
    ]
    digest = xxhash.xxh3_128_hexdigest(
        codec.dumps({"index": index, "candidates": listed, "arrays": contents}).encode()
    )
    return EvidenceArtifacts(
        evaluations=tuple(evaluations),
        files=files,
        table_format=fmt,
        index=index,
        candidates=listed,
        candidate_count=len(candidates),
        fold_metrics=fold_metrics,
        digest=digest,
    )


def _file_name(position: int, metric: str, table_format: str) -> str:
    stem = _FILE_STEM.sub("_", metric).strip("_")[:_STEM_LENGTH] or "evaluation"
    return f"{position}-{stem}.{table_format}"


def _arrays(evaluation: Evaluation) -> list[tuple[str, NDArray[Any]]]:
    """The evaluation's arrays that are there, by field name."""
    return [
        (name, np.asarray(array))
        for name in ARRAY_COLUMNS
        if (array := getattr(evaluation, name)) is not None
    ]


def _columns_of(name: str, array: NDArray[Any]) -> list[str]:
    if array.ndim <= 1:
        return [name]
    width = int(np.prod(array.shape[1:]))
    return [f"{name}_{position}" for position in range(width)]


def _segment_column(name: str) -> str:
    return f"{SEGMENT_PREFIX}{name}"


def _index_entry(position: int, evaluation: Evaluation, file: str) -> dict[str, Any]:
    where = f"evaluation {position} ({evaluation.function} for {evaluation.metric!r})"
    rows = len(evaluation.y_true)
    arrays: dict[str, Any] = {}
    for name, array in _arrays(evaluation):
        if (len(array) if array.ndim else 1) != rows:
            raise EvidenceNotExportable(
                f"{where}: {name} has {len(array) if array.ndim else 1} rows, y_true {rows}: "
                "its arrays must hold one row per evaluated row"
            )
        arrays[name] = {
            "columns": _columns_of(name, array),
            "dtype": array.dtype.str,
            "shape": list(array.shape),
        }
    segments: dict[str, Any] = {}
    for name, labels in evaluation.segments.items():
        codes = np.asarray(labels.codes)
        if codes.shape != (rows,) or codes.dtype.kind not in "iu":
            raise EvidenceNotExportable(
                f"{where}: segment {name!r} needs one integer code per row ({rows}), not "
                f"{codes.dtype} of shape {list(codes.shape)}"
            )
        if codes.size and (codes.min() < -1 or codes.max() >= len(labels.levels)):
            raise EvidenceNotExportable(
                f"{where}: segment {name!r} has codes that name none of its "
                f"{len(labels.levels)} levels"
            )
        segments[name] = {
            "column": _segment_column(name),
            "levels": list(labels.levels),
            "source": labels.source,
            "dtype": codes.dtype.str,
        }
    return {
        "file": file,
        "function": evaluation.function,
        "metric": evaluation.metric,
        "value": evaluation.value,
        "n": rows,
        "n_total": int(evaluation.n_total),
        "sampled": rows < int(evaluation.n_total),
        "rows_fingerprint": evaluation.rows_fingerprint,
        "features_fingerprint": evaluation.features_fingerprint,
        "options": evaluation.options,
        "arrays": arrays,
        "segments": segments,
    }


def _candidate_entry(candidate: Candidate, metric: str) -> dict[str, Any]:
    return {
        "source": candidate.source,
        "group": int(candidate.group),
        "index": int(candidate.index),
        "scorer": candidate.scorer,
        "params": candidate.params,
        "fold_scores": [float(score) for score in candidate.fold_scores],
        "mean_score": None if candidate.mean_score is None else float(candidate.mean_score),
        "chosen": bool(candidate.chosen),
        "metric": metric if candidate.fold_scores else None,
    }


def write_evidence_folder(evidence: EvidenceArtifacts, folder: Path) -> None:
    """Write index.json, candidates.json and the evaluation tables into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / INDEX_FILE).write_text(evidence.index, encoding="utf-8")
    if evidence.candidates is not None:
        (folder / CANDIDATES_FILE).write_text(evidence.candidates, encoding="utf-8")
    for evaluation, name in zip(evidence.evaluations, evidence.files, strict=True):
        columns = _table_columns(evaluation)
        if evidence.table_format == PARQUET:
            _write_parquet(columns, folder / name)
        else:
            _write_csv(columns, folder / name)


def _table_columns(evaluation: Evaluation) -> dict[str, Any]:
    """The table's columns by name: arrays, and (codes, levels) for each segment."""
    columns: dict[str, Any] = {}
    for name, array in _arrays(evaluation):
        if array.ndim <= 1:
            columns[name] = array.reshape(-1)
        else:
            flat = array.reshape(len(array), -1)
            for position, column in enumerate(_columns_of(name, array)):
                columns[column] = flat[:, position]
    for name, labels in evaluation.segments.items():
        columns[_segment_column(name)] = (np.asarray(labels.codes), list(labels.levels))
    return columns


def _write_parquet(columns: Mapping[str, Any], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for name, column in columns.items():
        if isinstance(column, tuple):
            codes, levels = column
            codes = codes.astype(np.int64) if codes.dtype.kind == "u" else codes
            arrays[name] = pa.DictionaryArray.from_arrays(
                pa.array(codes, mask=codes < 0), pa.array(levels, type=pa.string())
            )
        elif column.dtype.kind in "UO":
            arrays[name] = pa.array(column.astype(str), type=pa.string())
        else:
            arrays[name] = pa.array(column)
    pq.write_table(pa.table(arrays), path, compression="zstd")


def _write_csv(columns: Mapping[str, Any], path: Path) -> None:
    texts = []
    for column in columns.values():
        if isinstance(column, tuple):
            codes, levels = column
            # The last entry is the missing label: a code of -1 picks it.
            texts.append(np.array([*levels, ""], dtype=object)[codes])
        else:
            # numpy writes floats in their shortest form that reads back to the same value.
            texts.append(column.astype(str))
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(columns))
        writer.writerows(zip(*texts, strict=True))


# --- import ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadEvidence:
    """The evidence read back from an export's folder."""

    evaluations: list[Evaluation]
    candidates: list[Candidate]
    fold_keys: frozenset[str]  # the MLflow metrics that hold fold scores, not run metrics


def read_evidence_folder(folder: Path) -> ReadEvidence:
    """The evaluations and candidates an export wrote into `folder`.
    EvidenceArtifactsUnreadable when its files are missing, damaged or of a newer layout."""
    try:
        index = codec.loads((folder / INDEX_FILE).read_bytes())
        _check_layout(index, INDEX_FILE)
        table_format = index["table_format"]
        evaluations = [
            _evaluation_from(entry, _read_table(folder / entry["file"], table_format))
            for entry in index["evaluations"]
        ]
        listed = folder / CANDIDATES_FILE
        candidates: list[Candidate] = []
        fold_keys: set[str] = set()
        if listed.exists():
            document = codec.loads(listed.read_bytes())
            _check_layout(document, CANDIDATES_FILE)
            for entry in document["candidates"]:
                candidates.append(_candidate_from(entry))
                if entry.get("metric"):
                    fold_keys.add(str(entry["metric"]))
    except EvidenceArtifactsUnreadable:
        raise
    # What a damaged or hand-edited file raises: missing keys or files, bad JSON, tables that
    # are not what the index says (pyarrow's errors derive from these too).
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, csv.Error) as exc:
        raise EvidenceArtifactsUnreadable(
            f"the evaluations in {folder} cannot be read back ({type(exc).__name__}: {exc})"
        ) from exc
    return ReadEvidence(evaluations, candidates, frozenset(fold_keys))


def _check_layout(document: Any, name: str) -> None:
    if not isinstance(document, dict):
        raise EvidenceArtifactsUnreadable(f"{name} is not a JSON object")
    version = document.get("version")
    if not isinstance(version, int) or version > LAYOUT_VERSION:
        raise EvidenceArtifactsUnreadable(
            f"{name} has layout version {version!r}; this nbmodelbook reads up to "
            f"{LAYOUT_VERSION}: upgrade nbmodelbook"
        )


def _read_table(path: Path, table_format: str) -> dict[str, Any]:
    """The table's columns by name: arrays, or (for dictionary columns) (codes, levels)."""
    if table_format == PARQUET:
        return _read_parquet(path)
    if table_format == CSV_GZ:
        return _read_csv(path)
    raise EvidenceArtifactsUnreadable(f"unknown table format {table_format!r}")


def _read_parquet(path: Path) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    columns: dict[str, Any] = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            merged = column.combine_chunks()
            codes = pc.fill_null(merged.indices, -1).to_numpy(zero_copy_only=False)
            columns[name] = (codes, [str(level) for level in merged.dictionary.to_pylist()])
        else:
            columns[name] = column.to_numpy()
    return columns


def _read_csv(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    values = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    if len(values) != len(header):
        raise EvidenceArtifactsUnreadable(f"{path.name} has rows of another width than its header")
    return {
        name: np.array(column, dtype=object) for name, column in zip(header, values, strict=True)
    }


def _typed(values: NDArray[Any], dtype: np.dtype[Any]) -> NDArray[Any]:
    """A column read back in the dtype it was written from."""
    if values.dtype == dtype:
        return values
    if dtype.kind == "b" and values.dtype.kind == "O":  # CSV: "True" / "False"
        return np.asarray(values == "True", dtype=dtype)
    if dtype.kind in "biuf" and values.dtype.kind == "O":
        return values.astype(str).astype(dtype)
    if dtype.kind == "O":
        return np.array([str(value) for value in values], dtype=object)
    return values.astype(dtype)


def _evaluation_from(entry: Mapping[str, Any], table: Mapping[str, Any]) -> Evaluation:
    arrays: dict[str, Any] = {}
    for name, layout in entry["arrays"].items():
        if name not in ARRAY_COLUMNS:
            raise EvidenceArtifactsUnreadable(f"{entry['file']}: unknown array {name!r}")
        dtype = np.dtype(layout["dtype"])
        parts = [_typed(np.asarray(table[column]), dtype) for column in layout["columns"]]
        shape = tuple(int(size) for size in layout["shape"])
        stacked = parts[0] if len(parts) == 1 else np.column_stack(parts)
        arrays[name] = np.ascontiguousarray(stacked).reshape(shape)
    if "y_true" not in arrays:
        raise EvidenceArtifactsUnreadable(f"{entry['file']}: no y_true")
    segments = {
        name: _segment_from(layout, table[layout["column"]])
        for name, layout in entry["segments"].items()
    }
    value = entry.get("value")
    return Evaluation(
        function=str(entry["function"]),
        metric=str(entry["metric"]),
        value=None if value is None else codec.metric_value(value),
        **arrays,
        options=dict(entry.get("options") or {}),
        segments=segments,
        n_total=int(entry["n_total"]),
        rows_fingerprint=entry.get("rows_fingerprint"),
        features_fingerprint=entry.get("features_fingerprint"),
    )


def _segment_from(layout: Mapping[str, Any], column: Any) -> SegmentLabels:
    levels = [str(level) for level in layout["levels"]]
    dtype = np.dtype(layout["dtype"])
    if isinstance(column, tuple) and column[1] == levels:  # Parquet: its own codes
        codes = np.asarray(column[0])
    else:
        # Labels (CSV, or a dictionary rewritten by another tool): an empty one is missing.
        labels = column[1] if isinstance(column, tuple) else None
        texts = (
            [labels[code] if code >= 0 else "" for code in column[0]]
            if labels is not None
            else [str(value) for value in column]
        )
        position = {level: code for code, level in reversed(list(enumerate(levels)))}
        codes = np.array([position[text] if text else -1 for text in texts], dtype=np.int64)
    return SegmentLabels(
        codes=codes.astype(dtype, copy=False),
        levels=levels,
        source=str(layout.get("source", "automatic")),
    )


def _candidate_from(entry: Mapping[str, Any]) -> Candidate:
    mean = entry.get("mean_score")
    return Candidate(
        source=str(entry["source"]),
        group=int(entry["group"]),
        index=int(entry["index"]),
        params=dict(entry.get("params") or {}),
        scorer=str(entry["scorer"]),
        fold_scores=[codec.metric_value(score) for score in entry.get("fold_scores", [])],
        chosen=bool(entry.get("chosen", False)),
        mean_score=None if mean is None else codec.metric_value(mean),
    )
