"""The evidence behind a run's metrics, in and out of the store: its evaluations (the arrays
a metric was computed from) and the candidates its searches tried.

Rows are built before the write transaction starts (an array the codec refuses stops the run
before anything is written), and written inside it, after the store-wide write counter: on
PostgreSQL that orders every writer, so an array another writer is removing meanwhile is never
taken for one already there. Arrays are stored once per content and counted by
`nbmb_run_arrays`; whatever removes runs removes the arrays no run uses any more with them.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from nbmodelbook.record import Candidate, Evaluation, RunRecord, SegmentLabels
from nbmodelbook.store import codec
from nbmodelbook.store.arrays import ArrayNotEncodable, PreparedArray, decode_array, prepare_array

# The schema (SQLAlchemy) is imported where it is used: the journal, which the extension loads
# on the notebook's thread, uses only the JSON half of this module.
if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = [
    "ARRAY_FIELDS",
    "EvidenceRows",
    "evidence_from_json",
    "evidence_rows",
    "evidence_to_json",
    "plain_evidence",
    "read_evidence",
    "referenced_arrays",
    "remove_unreferenced_arrays",
    "write_evidence",
]

# The arrays of an evaluation, as its fields and the evaluations table's columns are named.
ARRAY_FIELDS: Final = ("y_true", "y_score", "y_pred", "sample_weight")
_CHUNK: Final = 500  # IN-lists in bounded pieces: SQL engines cap bound parameters
# An option holding an array bigger than this is kept as its description, not its values.
_OPTION_ITEMS: Final = 10_000
# Arrays up to this size (encoded) are inserted in one statement; larger ones one by one.
_BATCHED_BYTES: Final = 256 * 1024

Evidence = tuple[list[Evaluation], list[Candidate]]


@dataclass(slots=True)
class EvidenceRows:
    """A run's evidence as the store writes it: rows, and the arrays they name by hash."""

    evaluations: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    arrays: dict[str, PreparedArray] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.evaluations or self.candidates)


# --- plain values --------------------------------------------------------------------------------


def plain_evidence(record: RunRecord) -> RunRecord:
    """The record with numpy scalars and small arrays in its evidence's options, candidate
    params and scores turned into plain values (a search's grid is often `np.logspace`), so
    they are stored as numbers and lists, and redacted as text where they are text. The
    record given is not changed; one without evidence is returned as it is."""
    if not (record.evaluations or record.candidates):
        return record
    evaluations = [
        replace(
            evaluation,
            value=_float_or_none(evaluation.value),
            options=_plain(evaluation.options),
            n_total=int(evaluation.n_total),
        )
        for evaluation in record.evaluations
    ]
    candidates = [
        replace(
            candidate,
            group=int(candidate.group),
            index=int(candidate.index),
            params=_plain(candidate.params),
            fold_scores=[_float_or_nan(score) for score in candidate.fold_scores],
            chosen=bool(candidate.chosen),
            mean_score=_float_or_none(candidate.mean_score),
        )
        for candidate in record.candidates
    ]
    return replace(record, evaluations=evaluations, candidates=candidates)


def _float_or_none(value: Any) -> float | None:
    """A score as a float; None for none, or for what is not one number."""
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _float_or_nan(value: Any) -> float:
    number = _float_or_none(value)
    return math.nan if number is None else number


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if type(value).__module__ == "numpy":
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            if value.size <= _OPTION_ITEMS:
                return _plain(value.tolist())
            return f"<array of shape {list(value.shape)} and dtype {value.dtype}>"
    return value


# --- writing -------------------------------------------------------------------------------------


def evidence_rows(
    run_id: str, evaluations: Sequence[Evaluation], candidates: Sequence[Candidate]
) -> EvidenceRows:
    """The rows of a run's evidence, its arrays hashed. ArrayNotEncodable, naming the
    evaluation and the array, for one the codec cannot keep."""
    rows = EvidenceRows()
    for position, evaluation in enumerate(evaluations):
        where = f"evaluation {position} ({evaluation.function} for {evaluation.metric!r})"
        hashes: dict[str, str | None] = {}
        for name in ARRAY_FIELDS:
            array = getattr(evaluation, name)
            if array is None:
                if name == "y_true":
                    raise ArrayNotEncodable(f"{where} has no y_true: every evaluation needs one")
                hashes[name] = None
                continue
            hashes[name] = _add(rows, array, f"{name} of {where}")
        segments = {
            name: {
                "levels": list(labels.levels),
                "source": labels.source,
                "codes": _add(rows, labels.codes, f"the codes of segment {name!r} of {where}"),
            }
            for name, labels in evaluation.segments.items()
        }
        value, special = (None, None)
        if evaluation.value is not None:
            value, special = codec.split_metric(float(evaluation.value))
        rows.evaluations.append(
            {
                "run_id": run_id,
                "position": position,
                "function": evaluation.function,
                "metric": evaluation.metric,
                "value": value,
                "special": special,
                "n_total": int(evaluation.n_total),
                "rows_fingerprint": evaluation.rows_fingerprint,
                "features_fingerprint": evaluation.features_fingerprint,
                **hashes,
                "segments": codec.dumps(segments),
                "options": codec.dumps(evaluation.options),
            }
        )
    for candidate in candidates:
        mean, mean_special = (None, None)
        if candidate.mean_score is not None:
            mean, mean_special = codec.split_metric(float(candidate.mean_score))
        rows.candidates.append(
            {
                "run_id": run_id,
                "group": int(candidate.group),
                "index": int(candidate.index),
                "source": candidate.source,
                "params": codec.dumps(candidate.params),
                "scorer": candidate.scorer,
                "fold_scores": codec.dumps([float(score) for score in candidate.fold_scores]),
                "chosen": int(bool(candidate.chosen)),
                "mean_score": mean,
                "mean_special": mean_special,
            }
        )
    return rows


def _add(rows: EvidenceRows, array: Any, what: str) -> str:
    prepared = prepare_array(array, what)
    rows.arrays.setdefault(prepared.hash, prepared)
    return prepared.hash


def write_evidence(
    connection: Connection,
    run_id: str,
    rows: EvidenceRows,
    insert_arrays: Any,
    encoded: dict[str, bytes],
) -> None:
    """Write the rows, and the arrays the store does not hold yet, in the caller's write
    transaction (after `schema.next_seq`). `encoded` holds arrays encoded beforehand, out of
    the transaction; any other missing one is encoded here. `insert_arrays` is the backend's
    insert-or-ignore of `nbmb_arrays`."""
    statements = _statements()
    held = _held(connection, list(rows.arrays))
    missing: list[dict[str, Any]] = [
        {
            "hash": key,
            "dtype": array.dtype,
            "shape": codec.dumps(list(array.shape)),
            "nbytes": array.nbytes,
            "data": encoded[key] if key in encoded else array.encode(),
        }
        for key, array in rows.arrays.items()
        if key not in held
    ]
    small = [row for row in missing if len(row["data"]) <= _BATCHED_BYTES]
    if small:
        connection.execute(insert_arrays, small)
    for row in missing:  # large ones one at a time: a batch would be held twice
        if len(row["data"]) > _BATCHED_BYTES:
            connection.execute(insert_arrays, row)
    if rows.arrays:
        connection.execute(
            statements.insert_uses, [{"run_id": run_id, "hash": key} for key in rows.arrays]
        )
    if rows.evaluations:
        connection.execute(statements.insert_evaluations, rows.evaluations)
    if rows.candidates:
        connection.execute(statements.insert_candidates, rows.candidates)


@dataclass(frozen=True, slots=True)
class _Statements:
    held: Any
    insert_uses: Any
    insert_evaluations: Any
    insert_candidates: Any


@cache
def _statements() -> _Statements:
    # Built once: constructing SQLAlchemy statements per run costs more than running them.
    from sqlalchemy import bindparam, insert, select

    from nbmodelbook.store import schema

    arrays = schema.arrays
    return _Statements(
        held=select(arrays.c.hash).where(arrays.c.hash.in_(bindparam("hashes", expanding=True))),
        insert_uses=insert(schema.run_arrays),
        insert_evaluations=insert(schema.evaluations),
        insert_candidates=insert(schema.candidates),
    )


def _held(connection: Connection, hashes: Sequence[str]) -> set[str]:
    held: set[str] = set()
    for chunk in _chunks(hashes):
        held.update(connection.execute(_statements().held, {"hashes": list(chunk)}).scalars())
    return held


def referenced_arrays(connection: Connection, run_ids: Sequence[str]) -> list[str]:
    """The arrays these runs use (to be checked again once they are removed)."""
    from sqlalchemy import select

    from nbmodelbook.store import schema

    table = schema.run_arrays
    found: dict[str, None] = {}
    for chunk in _chunks(run_ids):
        query = select(table.c.hash).where(table.c.run_id.in_(chunk))
        found.update(dict.fromkeys(connection.execute(query).scalars()))
    return list(found)


def remove_unreferenced_arrays(connection: Connection, hashes: Sequence[str] | None) -> int:
    """Delete those of `hashes` (every array when None) that no run uses any more; in the
    caller's write transaction, after `schema.next_seq`. Returns how many went."""
    from sqlalchemy import exists, select

    from nbmodelbook.store import schema

    arrays, uses = schema.arrays, schema.run_arrays
    unused = ~exists(select(uses.c.hash).where(uses.c.hash == arrays.c.hash))
    if hashes is None:
        return int(connection.execute(arrays.delete().where(unused)).rowcount or 0)
    removed = 0
    for chunk in _chunks(hashes):
        statement = arrays.delete().where(arrays.c.hash.in_(chunk), unused)
        removed += int(connection.execute(statement).rowcount or 0)
    return removed


# --- reading -------------------------------------------------------------------------------------


def read_evidence(connection: Connection, run_ids: Sequence[str]) -> dict[str, Evidence]:
    """The evidence of these runs, arrays decoded (read-only, shared by the evaluations that
    used the same data). Runs without any are left out; a store older than the evidence
    tables has none."""
    from sqlalchemy import select

    from nbmodelbook.store import schema

    if not run_ids or not schema.has_evidence(connection):
        return {}
    evaluations_table, candidates_table = schema.evaluations, schema.candidates
    evaluation_rows: list[Any] = []
    candidate_rows: list[Any] = []
    for chunk in _chunks(run_ids):
        evaluation_rows += (
            connection.execute(
                select(evaluations_table)
                .where(evaluations_table.c.run_id.in_(chunk))
                .order_by(evaluations_table.c.run_id, evaluations_table.c.position)
            )
            .mappings()
            .all()
        )
        candidate_rows += (
            connection.execute(
                select(candidates_table)
                .where(candidates_table.c.run_id.in_(chunk))
                .order_by(
                    candidates_table.c.run_id,
                    candidates_table.c["group"],
                    candidates_table.c["index"],
                )
            )
            .mappings()
            .all()
        )
    segments = [codec.loads(row["segments"], {}) for row in evaluation_rows]
    wanted = [row[name] for row in evaluation_rows for name in ARRAY_FIELDS if row[name]]
    wanted += [entry["codes"] for found in segments for entry in found.values()]
    decoded = _decoded_arrays(connection, wanted)
    evidence: dict[str, Evidence] = {}
    for row, row_segments in zip(evaluation_rows, segments, strict=True):
        arrays = {name: decoded[row[name]] if row[name] else None for name in ARRAY_FIELDS}
        evidence.setdefault(row["run_id"], ([], []))[0].append(
            Evaluation(
                function=row["function"],
                metric=row["metric"],
                value=_number(row["value"], row["special"]),
                **arrays,
                options=codec.loads(row["options"], {}),
                segments={
                    name: SegmentLabels(
                        codes=decoded[entry["codes"]],
                        levels=list(entry["levels"]),
                        source=entry["source"],
                    )
                    for name, entry in row_segments.items()
                },
                n_total=int(row["n_total"]),
                rows_fingerprint=row["rows_fingerprint"],
                features_fingerprint=row["features_fingerprint"],
            )
        )
    for row in candidate_rows:
        evidence.setdefault(row["run_id"], ([], []))[1].append(
            Candidate(
                source=row["source"],
                group=int(row["group"]),
                index=int(row["index"]),
                params=codec.loads(row["params"], {}),
                scorer=row["scorer"],
                fold_scores=[
                    codec.metric_value(score) for score in codec.loads(row["fold_scores"], [])
                ],
                chosen=bool(row["chosen"]),
                mean_score=_number(row["mean_score"], row["mean_special"]),
            )
        )
    return evidence


def _decoded_arrays(connection: Connection, hashes: Iterable[str]) -> dict[str, Any]:
    from sqlalchemy import select

    from nbmodelbook.errors import StoreCorrupted
    from nbmodelbook.store import schema

    table = schema.arrays
    wanted = list(dict.fromkeys(hashes))
    found: dict[str, Any] = {}
    for chunk in _chunks(wanted):
        query = select(table.c.hash, table.c.data).where(table.c.hash.in_(chunk))
        for key, data in connection.execute(query):
            found[key] = decode_array(bytes(data), f"the array {key}")
    lost = [key for key in wanted if key not in found]
    if lost:
        raise StoreCorrupted(
            f"the store lacks {len(lost)} array(s) its evaluations use (first {lost[0]}): it was "
            "changed by hand"
        )
    return found


_SPECIAL: Final = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _number(value: float | None, special: str | None) -> float | None:
    """A number stored as the metrics table stores it (`codec.split_metric`)."""
    if special is not None:
        return _SPECIAL.get(special, math.nan)
    return None if value is None else float(value)


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[start : start + _CHUNK] for start in range(0, len(values), _CHUNK)]


# --- the journal's JSON ------------------------------------------------------------------------


def evidence_to_json(
    evaluations: Sequence[Evaluation], candidates: Sequence[Candidate]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Evidence as JSON values: arrays as base64 of the codec's bytes (ArrayNotEncodable as
    for the store)."""
    from dataclasses import asdict

    encoded = []
    for position, evaluation in enumerate(evaluations):
        where = f"evaluation {position} ({evaluation.function} for {evaluation.metric!r})"
        entry: dict[str, Any] = {
            "function": evaluation.function,
            "metric": evaluation.metric,
            "value": evaluation.value,
            "options": evaluation.options,
            "n_total": evaluation.n_total,
            "rows_fingerprint": evaluation.rows_fingerprint,
            "features_fingerprint": evaluation.features_fingerprint,
        }
        for name in ARRAY_FIELDS:
            array = getattr(evaluation, name)
            entry[name] = None if array is None else _base64(array, f"{name} of {where}")
        entry["segments"] = {
            name: {
                "codes": _base64(labels.codes, f"the codes of segment {name!r} of {where}"),
                "levels": list(labels.levels),
                "source": labels.source,
            }
            for name, labels in evaluation.segments.items()
        }
        encoded.append(entry)
    return encoded, [asdict(candidate) for candidate in candidates]


def evidence_from_json(
    evaluations: Sequence[dict[str, Any]], candidates: Sequence[dict[str, Any]]
) -> Evidence:
    """What `evidence_to_json` wrote, arrays decoded."""
    read = []
    for entry in evaluations:
        arrays = {
            name: None if entry.get(name) is None else _from_base64(entry[name])
            for name in ARRAY_FIELDS
        }
        value = entry.get("value")
        read.append(
            Evaluation(
                function=entry["function"],
                metric=entry["metric"],
                value=None if value is None else codec.metric_value(value),
                **arrays,
                options=entry.get("options", {}),
                segments={
                    name: SegmentLabels(
                        codes=_from_base64(labels["codes"]),
                        levels=list(labels["levels"]),
                        source=labels.get("source", "automatic"),
                    )
                    for name, labels in entry.get("segments", {}).items()
                },
                n_total=int(entry.get("n_total", 0)),
                rows_fingerprint=entry.get("rows_fingerprint"),
                features_fingerprint=entry.get("features_fingerprint"),
            )
        )
    tried = []
    for entry in candidates:
        mean = entry.get("mean_score")
        tried.append(
            Candidate(
                **{
                    **entry,
                    "fold_scores": [codec.metric_value(score) for score in entry["fold_scores"]],
                    "mean_score": None if mean is None else codec.metric_value(mean),
                }
            )
        )
    return read, tried


def _base64(array: Any, what: str) -> str:
    return base64.b64encode(prepare_array(array, what).encode()).decode("ascii")


def _from_base64(text: str) -> Any:
    return decode_array(base64.b64decode(text), "an array in the journal")
