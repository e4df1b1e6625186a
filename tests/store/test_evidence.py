"""The evidence behind metrics in the store, on SQLite and PostgreSQL alike: evaluations and
candidates written with their run, arrays kept once, read only when asked for."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event, func, select

from nbmodelbook.record import Candidate, Evaluation, RunRecord, RunStatus, SegmentLabels
from nbmodelbook.store import journal, schema
from nbmodelbook.store.admin import copy_runs
from nbmodelbook.store.arrays import ArrayNotEncodable
from nbmodelbook.store.backends import resolve_store_url
from nbmodelbook.store.query import RunQuery
from nbmodelbook.store.store import RunStore
from nbmodelbook.store.writer import StoreWriter
from tests.postgres_server import PostgresServer
from tests.store._layouts import back_to_version_3
from tests.store.test_store import make_record

RNG = np.random.default_rng(7)
ROWS = 150
Y_TRUE = RNG.integers(0, 2, ROWS)  # the test set every run is scored on
REGIONS = RNG.integers(-1, 3, ROWS).astype(np.int8)


def evaluations(seed: int, y_true: Any = Y_TRUE) -> list[Evaluation]:
    rng = np.random.default_rng(seed)
    scores = rng.random(ROWS)
    return [
        Evaluation(
            function="roc_auc_score",
            metric="auc",
            value=np.float64(0.81),  # as scikit-learn returns it
            y_true=y_true,
            y_score=scores,
            sample_weight=rng.random(ROWS).astype(np.float32),
            options={"average": "macro", "pos_label": np.int64(1), "labels": np.array([0, 1])},
            segments={
                "region": SegmentLabels(REGIONS, ["north", "south", "east"], "declared"),
                "income": SegmentLabels(
                    rng.integers(0, 4, ROWS).astype(np.int8),
                    ["[0, 20k)", "[20k, 45k)", "[45k, 80k)", "[80k, 1.2M]"],
                ),
            },
            n_total=1_000,
            rows_fingerprint="rows-fp",
            features_fingerprint="features-fp",
        ),
        Evaluation(
            function="accuracy_score",
            metric="accuracy",
            value=math.nan,
            y_true=y_true,
            y_pred=scores > 0.5,
            n_total=ROWS,
        ),
        Evaluation(
            function="RocCurveDisplay.from_predictions",
            metric="RocCurveDisplay.from_predictions",
            value=None,
            y_true=np.array(["bad", "good", "good"], dtype=object),
            y_score=rng.dirichlet(np.ones(3), size=3),
            y_pred=np.array(["good", "good", "bad"]),
        ),
    ]


def search(group: int = 0) -> list[Candidate]:
    return [
        Candidate(
            source="GridSearchCV",
            group=group,
            index=index,
            params={"C": np.float64(10.0**index), "penalty": "l2"},
            scorer="roc_auc",
            fold_scores=[0.7 + index / 100, math.nan if index == 2 else 0.72, 0.71],
            chosen=index == 1,
            mean_score=math.nan if index == 2 else 0.71 + index / 100,
        )
        for index in range(4)
    ]


def with_evidence(name: str, seed: int, **changes: Any) -> RunRecord:
    record = make_record(name, status=RunStatus.OK, ended_at=time.time())
    record.evaluations = evaluations(seed)
    record.candidates = search()
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def rows(store: RunStore, table: Any) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def exactly(read: Any, original: Any) -> None:
    expected = np.asarray(original.tolist()) if original.dtype == object else original
    assert read.dtype == expected.dtype and read.shape == expected.shape
    assert np.array_equal(read, expected, equal_nan=read.dtype.kind == "f")


def assert_same_evidence(read: tuple[list[Evaluation], list[Candidate]], record: RunRecord) -> None:
    found, tried = read
    assert len(found) == len(record.evaluations)
    for got, wanted in zip(found, record.evaluations, strict=True):
        assert (got.function, got.metric, got.n_total) == (
            wanted.function,
            wanted.metric,
            wanted.n_total,
        )
        assert (got.rows_fingerprint, got.features_fingerprint) == (
            wanted.rows_fingerprint,
            wanted.features_fingerprint,
        )
        if wanted.value is None or not math.isnan(wanted.value):
            assert got.value == wanted.value
        else:
            assert got.value is not None and math.isnan(got.value)
        for name in ("y_true", "y_score", "y_pred", "sample_weight"):
            if getattr(wanted, name) is None:
                assert getattr(got, name) is None
            else:
                exactly(getattr(got, name), getattr(wanted, name))
        assert list(got.segments) == list(wanted.segments)
        for segment, labels in wanted.segments.items():
            assert got.segments[segment].levels == labels.levels
            assert got.segments[segment].source == labels.source
            exactly(got.segments[segment].codes, labels.codes)
    assert len(tried) == len(record.candidates)
    for got_candidate, wanted_candidate in zip(tried, record.candidates, strict=True):
        assert got_candidate.params == {
            key: value.item() if isinstance(value, np.generic) else value
            for key, value in wanted_candidate.params.items()
        }
        assert (got_candidate.source, got_candidate.group, got_candidate.index) == (
            wanted_candidate.source,
            wanted_candidate.group,
            wanted_candidate.index,
        )
        assert got_candidate.scorer == wanted_candidate.scorer
        assert got_candidate.chosen == wanted_candidate.chosen
        np.testing.assert_equal(got_candidate.fold_scores, wanted_candidate.fold_scores)
        np.testing.assert_equal(got_candidate.mean_score, wanted_candidate.mean_score)


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    opened = RunStore.open(store_url)
    yield opened
    opened.close()


def test_evidence_reads_back_exactly(store: RunStore) -> None:
    record = with_evidence("rf", seed=1)
    store.finish_run(record)
    read = store.evidence(record.run_id)
    assert_same_evidence(read, record)
    [scored, accuracy, curve] = read[0]
    assert scored.options == {"average": "macro", "pos_label": 1, "labels": [0, 1]}
    assert scored.sampled and not accuracy.sampled
    assert curve.y_true.dtype == np.dtype("<U4")  # object labels come back as strings
    assert curve.y_score.shape == (3, 3)
    assert [candidate.chosen for candidate in read[1]] == [False, True, False, False]


def test_evidence_is_read_only_when_asked_for(store: RunStore) -> None:
    record = with_evidence("rf", seed=2)
    plain = make_record("plain")
    store.finish_run(record)
    store.finish_run(plain)
    listed = store.get_runs([record.run_id, plain.run_id])
    assert listed[record.run_id].evaluations == [] and listed[record.run_id].candidates == []
    loaded = store.get_runs([record.run_id, plain.run_id], evidence=True)
    assert_same_evidence(
        (loaded[record.run_id].evaluations, loaded[record.run_id].candidates), record
    )
    assert loaded[plain.run_id].evaluations == [] and loaded[plain.run_id].candidates == []
    one = store.get_run(record.run_id, evidence=True)
    assert one is not None and len(one.evaluations) == 3 and len(one.candidates) == 4
    assert store.evidence(plain.run_id) == ([], [])
    assert store.evidence("no-such-run") == ([], [])


def test_the_same_array_is_stored_once_for_many_runs(store: RunStore) -> None:
    first, second = with_evidence("a", seed=3), with_evidence("b", seed=4)
    store.finish_run(first)
    after_one = rows(store, schema.arrays)
    store.finish_run(second)
    # The second run brings only its own scores, weights, predictions, income codes and
    # curve scores: the test set's labels, the region codes and the curve's labels and
    # predictions are there already.
    assert after_one == 9
    assert rows(store, schema.arrays) == after_one + 5
    with store.engine.connect() as connection:
        shared = connection.execute(
            select(func.count())
            .select_from(schema.run_arrays)
            .where(
                schema.run_arrays.c.hash
                == select(schema.evaluations.c.y_true).limit(1).scalar_subquery()
            )
        ).scalar_one()
    assert shared == 2
    a, b = store.evidence(first.run_id)[0][0], store.evidence(second.run_id)[0][0]
    exactly(a.y_true, Y_TRUE)
    exactly(b.y_true, Y_TRUE)
    assert not np.array_equal(a.y_score, b.y_score)


def test_a_replaced_run_takes_its_old_evidence_and_unshared_arrays_with_it(
    store: RunStore,
) -> None:
    record = with_evidence("rf", seed=5)
    store.begin_run(replace(record, status=RunStatus.RUNNING, ended_at=None))
    store.finish_run(record)
    other = with_evidence("other", seed=6)
    store.finish_run(other)
    before = rows(store, schema.arrays)
    again = replace(record, evaluations=evaluations(seed=99)[:1], candidates=search()[:2])
    store.finish_run(again)
    found, tried = store.evidence(record.run_id)
    assert len(found) == 1 and len(tried) == 2
    assert rows(store, schema.evaluations) == 3 + 1
    assert rows(store, schema.candidates) == 4 + 2
    # Gone: the first state's own scores, weights, income codes, predictions and curve scores
    # (the labels, region codes and the curve's labels and predictions, which the other run
    # uses too, stay). Added: the new state's scores, weights and income codes.
    assert rows(store, schema.arrays) == before - 5 + 3
    assert_same_evidence(store.evidence(other.run_id), other)


def test_removing_runs_removes_only_the_arrays_no_run_uses(store: RunStore) -> None:
    first, second = with_evidence("a", seed=7), with_evidence("b", seed=8)
    store.finish_run(first)
    store.finish_run(second)
    store.finish_run(make_record("plain"))
    assert store.remove_runs([first.run_id, "no-such-run"]) == 1
    assert store.count() == 2
    assert rows(store, schema.arrays) == 9  # the other run's arrays, shared ones included
    assert rows(store, schema.evaluations) == 3 and rows(store, schema.candidates) == 4
    assert_same_evidence(store.evidence(second.run_id), second)
    assert store.remove_runs([second.run_id]) == 1
    assert rows(store, schema.arrays) == rows(store, schema.run_arrays) == 0
    assert [row["name"] for row in store.run_summaries()] == ["plain"]


def test_arrays_left_by_runs_deleted_by_hand_can_be_swept(store: RunStore) -> None:
    record = with_evidence("a", seed=9)
    store.finish_run(record)
    with store.engine.begin() as connection:
        connection.execute(schema.runs.delete())
    assert rows(store, schema.arrays) == 9
    assert store.remove_unreferenced_arrays() == 9
    assert rows(store, schema.arrays) == 0


def test_an_array_that_cannot_be_kept_stops_the_run_and_writes_nothing(store: RunStore) -> None:
    record = with_evidence("rf", seed=10)
    store.finish_run(record)  # a first, good state of the run
    counts = [rows(store, table) for table in (schema.runs, *schema.EVIDENCE_TABLES)]
    bad = replace(record, name="changed", evaluations=evaluations(seed=11))
    bad.evaluations[1] = replace(bad.evaluations[1], y_pred=np.array([1 + 1j] * ROWS))
    with pytest.raises(ArrayNotEncodable, match=r"y_pred of evaluation 1 \(accuracy_score"):
        store.finish_run(bad)
    assert [rows(store, table) for table in (schema.runs, *schema.EVIDENCE_TABLES)] == counts
    assert store.run_summaries()[0]["name"] == "rf"
    assert_same_evidence(store.evidence(record.run_id), record)


@contextmanager
def statements_seen(store: RunStore) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


EVIDENCE_NAMES = tuple(table.name for table in schema.EVIDENCE_TABLES)


def test_listing_and_querying_runs_never_touch_the_evidence(store_url: str) -> None:
    from nbmodelbook import api

    writer = RunStore.open(store_url)
    records = [with_evidence(f"run{index}", seed=index) for index in range(3)]
    for record in records:
        writer.finish_run(record)
    writer.close()
    reader = api.shared_store(store_url)  # what runs() and the server read through
    with statements_seen(reader) as seen:
        frame = api.runs(all_notebooks=True, store=store_url)
        table = reader.run_table(notebook="/nb/model.ipynb")
        summaries = reader.run_summaries(limit=2)
        page = reader.query_runs(RunQuery(sort="metrics.auc", text="run"))
        reader.facets(RunQuery())
        reader.notebook_summaries("/nb/model.ipynb")
        held = reader.get_runs([record.run_id for record in records])
    assert len(frame) == 3 and sorted(frame["name"]) == ["run0", "run1", "run2"]
    assert len(table["run_id"]) == 3 and len(summaries) == 2 and page.total == 3
    assert all(not run.evaluations for run in held.values())
    assert seen and not [text for text in seen if any(name in text for name in EVIDENCE_NAMES)]
    with statements_seen(reader) as seen:
        reader.evidence(records[0].run_id)
    assert any("nbmb_evaluations" in text for text in seen)


def test_a_version_3_store_is_read_as_it_is_and_upgraded_by_a_writer(store_url: str) -> None:
    writer = RunStore.open(store_url)
    kept = make_record("kept", status=RunStatus.OK, ended_at=time.time())
    writer.finish_run(kept)
    writer.close()
    back_to_version_3(store_url)

    reader = RunStore.open_read_only(store_url)
    assert reader.run_names() == ["kept"]
    assert reader.evidence(kept.run_id) == ([], [])
    loaded = reader.get_run(kept.run_id, evidence=True)
    assert loaded is not None and loaded.evaluations == [] and loaded.params == kept.params
    with reader.engine.connect() as connection:
        assert schema.current_version(connection) == 3  # reading migrated nothing
        assert not connection.dialect.has_table(connection, schema.evaluations.name)
    with pytest.raises(Exception, match="opened to read only"):
        reader.finish_run(with_evidence("no", seed=0))

    upgraded = RunStore.open(store_url)
    with upgraded.engine.connect() as connection:
        assert schema.current_version(connection) == schema.LATEST_VERSION
    assert upgraded.run_names() == ["kept"]
    record = with_evidence("new", seed=12)
    upgraded.finish_run(record)
    assert_same_evidence(reader.evidence(record.run_id), record)  # the old reader sees it
    upgraded.close()
    reader.close()


def test_copy_carries_evidence_to_postgresql_and_back(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    laptop = RunStore.open(str(tmp_path / "laptop.sqlite"))
    records = [with_evidence(f"run{index}", seed=20 + index) for index in range(3)]
    records.append(make_record("plain"))
    for record in records:
        laptop.finish_run(record)
    team = RunStore.open(postgres_server.new_database())
    assert copy_runs(laptop, team).copied == 4
    assert copy_runs(laptop, team).copied == 0
    back = RunStore.open(str(tmp_path / "back.sqlite"))
    assert copy_runs(team, back).copied == 4
    for copy in (team, back):
        for record in records:
            assert_same_evidence(copy.evidence(record.run_id), record)
        assert rows(copy, schema.arrays) == rows(laptop, schema.arrays)  # still kept once
    for opened in (laptop, team, back):
        opened.close()


def test_the_journal_keeps_evidence_and_replays_it(tmp_path: Path, store_url: str) -> None:
    record = with_evidence("held back", seed=30)
    back = journal.record_from_json(journal.record_to_json(record))
    assert_same_evidence((back.evaluations, back.candidates), record)
    assert back.evaluations[1].value is not None and math.isnan(back.evaluations[1].value)
    assert back.evaluations[2].value is None
    assert back.evaluations[0].options["pos_label"] == 1

    url = resolve_store_url(store_url)
    journal.keep(url, record)  # as a writer does when the store refused the run
    writer = StoreWriter(store_url, "next-kernel")  # the next kernel replays it on opening
    try:
        assert writer.wait_ready(30) is not None and writer.flush(30)
        store = writer.store
        assert store is not None
        assert_same_evidence(store.evidence(record.run_id), record)
        assert journal.pending(url) == []
    finally:
        writer.close()


def test_a_kernel_saves_a_run_whose_evidence_cannot_be_kept_without_it(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "runs.sqlite")
    writer = StoreWriter(url, "kernel")
    try:
        assert writer.wait_ready(30) is not None
        record = with_evidence("odd", seed=31)
        record.evaluations[0] = replace(
            record.evaluations[0], y_true=np.array([object()] * ROWS, dtype=object)
        )
        writer.finish(record, urgent=True).wait(30)
        assert writer.flush(30) and writer.unsaved_count == 0
        store = writer.store
        assert store is not None
        saved = store.get_run(record.run_id, evidence=True)
        assert saved is not None and saved.metrics["auc"] == 0.93
        assert saved.evaluations == [] and saved.candidates == []
        problems = writer.take_problems()
        assert any(
            "without the evidence" in problem and "y_true" in problem for problem in problems
        )
    finally:
        writer.close()


def test_candidate_counts_count_each_runs_candidates_without_reading_them(
    store: RunStore,
) -> None:
    searched = with_evidence("searched", seed=3)
    twice = with_evidence("twice", seed=4, candidates=[*search(0), *search(1)])
    plain = make_record("plain", status=RunStatus.OK, ended_at=time.time())
    for record in (searched, twice, plain):
        store.finish_run(record)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        counts = store.candidate_counts([searched.run_id, twice.run_id, plain.run_id, "nope"])
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert counts == {searched.run_id: 4, twice.run_id: 8}
    counting = [s for s in statements if "nbmb_candidates" in s]
    assert len(counting) == 1 and "GROUP BY" in counting[0].upper()
    assert not any("nbmb_evaluations" in s or "nbmb_arrays" in s for s in statements)
    assert store.candidate_counts([]) == {}


def test_candidate_counts_of_a_store_older_than_the_evidence_are_empty(store_url: str) -> None:
    writer = RunStore.open(store_url)
    kept = make_record("kept", status=RunStatus.OK, ended_at=time.time())
    writer.finish_run(kept)
    writer.close()
    back_to_version_3(store_url)
    reader = RunStore.open_read_only(store_url)
    try:
        assert reader.candidate_counts([kept.run_id]) == {}
    finally:
        reader.close()
