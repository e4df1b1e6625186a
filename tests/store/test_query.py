"""Paged, filtered, sorted run queries answered by a real SQLite store (`RunStore.query_runs`).

Two stores: a hand-made "zoo" of 17 runs whose every name, tag, status, param and metric is
known (NaN, ±inf, missing metrics, non-numeric params, duplicate names, two notebooks), and a
store of a few hundred realistic records (`bench/_records.py`) for paging and for checking the
filters against a plain-Python reading of the same records.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from bench._records import RecordFactory
from nbmodelbook.errors import InvalidQuery
from nbmodelbook.record import RunError, RunRecord, RunStatus
from nbmodelbook.store.query import MAX_PAGE_SIZE, MetricRange, RunPage, RunQuery
from nbmodelbook.store.store import RunStore

T0 = 1_700_000_000.0  # 2023-11-14, a fixed clock: every run starts a minute after the previous
NB_A = "/home/ana/credit/scorecard.ipynb"
NB_B = "/home/bo/credit/forest.ipynb"
INF, NAN = math.inf, math.nan


def run_id(index: int, started: float, salt: str = "") -> str:
    """An id like the tracker's: start time in ms (12 hex digits), then 20 unrelated digits."""
    tail = hashlib.sha256(f"{index}{salt}".encode()).hexdigest()[:20]
    return f"{int(started * 1000):012x}{tail}"


def make_run(index: int, name: str, **fields: Any) -> RunRecord:
    started = fields.pop("started_at", T0 + 60 * index)
    duration = fields.pop("duration", 1.0)
    record = RunRecord(
        run_id=fields.pop("run_id", run_id(index, started)),
        name=name,
        started_at=started,
        code=f"%%track {name}\nfit()",
        code_hash=f"hash-{index}",
        status=RunStatus.OK,
        ended_at=None if duration is None else started + duration,
    )
    for key, value in fields.items():
        setattr(record, key, value)
    return record


def zoo_records() -> list[RunRecord]:
    failed = RunStatus.ERROR
    return [
        make_run(0, "logreg-base", notebook=NB_A, session_id="s1", user="ana", host="h1",
                 execution_count=3, duration=2.5, tags=["baseline"], note="first try",
                 params={"C": 1.0, "solver": "lbfgs", "feature_set": "base"},
                 metrics={"auc": 0.71, "log_loss": 0.52}),
        make_run(1, "forest-300", notebook=NB_A, session_id="s1", user="ana", host="h1",
                 execution_count=5, duration=40.0, tags=["forest", "candidate"],
                 params={"n_estimators": 300, "max_depth": 8, "feature_set": "full"},
                 metrics={"auc": 0.83, "log_loss": 0.41}),
        make_run(2, "forest-50", notebook=NB_A, session_id="s2", user="bo", host="h2",
                 execution_count=2, duration=10.0, tags=["forest"],
                 params={"n_estimators": 50, "max_depth": 4, "feature_set": "wide"},
                 metrics={"auc": 0.79, "log_loss": 0.45}),
        make_run(3, "forest-1000", notebook=NB_B, session_id="s3", user="bo", host="h2",
                 execution_count=7, duration=300.0, tags=["forest", "tuned"],
                 note="Champion candidate",
                 params={"n_estimators": 1000, "max_depth": None, "feature_set": 2},
                 metrics={"auc": 0.83, "log_loss": 0.40}),
        make_run(4, "overflow", notebook=NB_B, session_id="s3", user=None, host=None,
                 execution_count=None, duration=1.0,
                 params={"n_estimators": "auto"}, metrics={"auc": INF, "log_loss": 0.9}),
        make_run(5, "diverged", notebook=NB_B, session_id="s3", user="cy", host="h3",
                 execution_count=9, duration=0.2, tags=["unstable"],
                 metrics={"auc": NAN, "log_loss": INF}),
        make_run(6, "underflow", notebook=NB_A, session_id="s2", user="cy", host="h3",
                 execution_count=11, duration=5.0,
                 params={"n_estimators": 10}, metrics={"auc": -INF}),
        make_run(7, "no-metrics", notebook=NB_A, session_id="s1", user="ana", host="h1",
                 execution_count=12, duration=0.5),
        make_run(8, "boom", notebook=NB_A, session_id="s1", user="ana", host="h1",
                 execution_count=13, duration=0.1, tags=["forest-v2"], params={"C": 0.0},
                 status=failed, error=RunError("ValueError", "C must be positive", "tb")),
        make_run(9, "killed", notebook=NB_B, session_id="s3", user="bo", host="h2",
                 execution_count=14, duration=60.0, tags=["forest"],
                 status=RunStatus.INTERRUPTED, error=RunError("KeyboardInterrupt", "", "tb")),
        make_run(10, "dead", notebook=NB_B, session_id="s4", user="bo", host="h2",
                 execution_count=15, duration=30.0, status=RunStatus.CRASHED,
                 error=RunError("KernelDied", "the kernel stopped", "")),
        make_run(11, "pending", notebook=NB_A, session_id="s2", user="ana", host="h1",
                 execution_count=16, duration=None, status=RunStatus.RUNNING),
        make_run(12, "top5%", notebook=NB_A, session_id="s1", user="ana", host="h1",
                 execution_count=17),
        make_run(13, "top5x", notebook=NB_A, session_id="s1", user="ana", host="h1",
                 execution_count=18),
        make_run(14, "lr_v1", notebook=NB_A, session_id="s1", user="ana", host="h1",
                 execution_count=19),
        make_run(15, "lrxv1", notebook=NB_A, session_id="s1", user="ana", host="h1",
                 execution_count=20),
        make_run(16, "forest-300", notebook=NB_B, session_id="s3", user="bo", host="h2",
                 execution_count=21, duration=41.0, tags=["forest"],
                 params={"n_estimators": 300, "max_depth": 8, "feature_set": "full"},
                 metrics={"auc": 0.84}),
    ]  # fmt: skip


ZOO = zoo_records()
BY_NAME: dict[str, list[RunRecord]] = {}
for _record in ZOO:
    BY_NAME.setdefault(_record.name, []).append(_record)


def one(name: str) -> RunRecord:
    [record] = BY_NAME[name]
    return record


@pytest.fixture(scope="module")
def zoo(new_module_store_url: Callable[[], str]) -> RunStore:
    store = RunStore.open(new_module_store_url())
    for record in ZOO:
        store.finish_run(record)
    return store


FACTORY_RUNS = 230  # not a multiple of the page size: the last page is partial
FACTORY_NOTEBOOKS = ["/team/churn.ipynb", "/team/credit.ipynb"]


def factory_records() -> list[RunRecord]:
    factory = RecordFactory(FACTORY_NOTEBOOKS, seed=11, start=T0)
    records = [factory.make(index) for index in range(FACTORY_RUNS)]
    for index, record in enumerate(records):
        if index % 23 == 5:
            record.status = RunStatus.ERROR
            record.error = RunError("ValueError", "Input contains NaN", "Traceback ...")
            record.metrics = {}
    return records


FACTORY = factory_records()


@pytest.fixture(scope="module")
def realistic(new_module_store_url: Callable[[], str]) -> RunStore:
    store = RunStore.open(new_module_store_url())
    for record in FACTORY:
        store.finish_run(record)
    return store


@pytest.fixture
def store(new_module_store_url: Callable[[], str]) -> RunStore:
    return RunStore.open(new_module_store_url())


def names(store: RunStore, **query: Any) -> list[str]:
    return [row["name"] for row in store.query_runs(RunQuery(limit=MAX_PAGE_SIZE, **query)).rows]


def ids(store: RunStore, **query: Any) -> list[str]:
    page = store.query_runs(RunQuery(limit=MAX_PAGE_SIZE, **query))
    return [row["run_id"] for row in page.rows]


def id_set(records: Iterable[RunRecord]) -> set[str]:
    return {record.run_id for record in records}


def expected_order(
    records: Iterable[RunRecord], value: Callable[[RunRecord], Any], descending: bool
) -> list[str]:
    """The order a person expects: by value (either way), ties by id, missing values last."""
    present = [record for record in records if value(record) is not None]
    missing = [record for record in records if value(record) is None]
    present.sort(key=lambda record: (value(record), record.run_id), reverse=descending)
    missing.sort(key=lambda record: record.run_id, reverse=descending)
    return [record.run_id for record in present + missing]


# --- sorting --------------------------------------------------------------------------------

RUN_COLUMNS: dict[str, Callable[[RunRecord], Any]] = {
    "name": lambda record: record.name,
    "status": lambda record: record.status.value,
    "started_at": lambda record: record.started_at,
    "ended_at": lambda record: record.ended_at,
    "duration": lambda record: record.duration,
    "user": lambda record: record.user,
    "host": lambda record: record.host,
    "notebook": lambda record: record.notebook,
    "execution_count": lambda record: record.execution_count,
}


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("column", sorted(RUN_COLUMNS))
def test_sort_by_every_run_column(zoo: RunStore, column: str, descending: bool) -> None:
    got = ids(zoo, sort=column, descending=descending)
    assert got == expected_order(ZOO, RUN_COLUMNS[column], descending)


def test_default_order_is_newest_first(zoo: RunStore) -> None:
    page = zoo.query_runs(RunQuery())
    assert [row["name"] for row in page.rows[:3]] == ["forest-300", "lrxv1", "lr_v1"]
    assert page.rows[0]["run_id"] == ZOO[-1].run_id


def test_sort_by_duration_puts_unfinished_runs_last_both_ways(zoo: RunStore) -> None:
    assert names(zoo, sort="duration", descending=True)[:2] == ["forest-1000", "killed"]
    assert names(zoo, sort="duration", descending=True)[-1] == "pending"
    assert names(zoo, sort="duration", descending=False)[0] == "boom"
    assert names(zoo, sort="duration", descending=False)[-1] == "pending"


def metric(name: str) -> Callable[[RunRecord], float | None]:
    def value(record: RunRecord) -> float | None:
        found = record.metrics.get(name)
        return None if found is None or math.isnan(found) else found

    return value


FINITE_AUC = ["forest-300", "forest-1000", "forest-300", "forest-50", "logreg-base"]  # best first
NO_AUC = {r.name for r in ZOO if metric("auc")(r) is None}  # NaN, or never recorded


def test_metric_sort_descending_puts_plus_infinity_first(zoo: RunStore) -> None:
    best_first = names(zoo, sort="metrics.auc", descending=True)
    assert best_first[0] == "overflow"  # auc = +inf is above every finite auc
    assert best_first[1:6] == FINITE_AUC


def test_metric_sort_ascending_puts_minus_infinity_first(zoo: RunStore) -> None:
    worst_first = names(zoo, sort="metrics.auc", descending=False)
    assert worst_first[0] == "underflow"  # auc = -inf is below every finite auc
    assert worst_first[1:6] == FINITE_AUC[::-1]


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_metric_sort_puts_nan_and_missing_values_last(zoo: RunStore, descending: bool) -> None:
    shown = names(zoo, sort="metrics.auc", descending=descending)
    assert set(shown[-len(NO_AUC) :]) == NO_AUC
    assert "diverged" in shown[-len(NO_AUC) :]  # NaN is not a value: with the runs that lack it
    valued = shown[: -len(NO_AUC)]
    assert [name for name in valued if name not in ("overflow", "underflow")] == (
        FINITE_AUC if descending else FINITE_AUC[::-1]
    )


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_metric_ties_are_in_id_order(zoo: RunStore, descending: bool) -> None:
    tied = {one("forest-1000").run_id, BY_NAME["forest-300"][0].run_id}  # both auc 0.83
    shown = [run_id for run_id in ids(zoo, sort="metrics.auc", descending=descending)]
    in_order = [run_id for run_id in shown if run_id in tied]
    assert in_order == sorted(tied, reverse=descending)


def test_sort_by_metric_nobody_recorded_keeps_every_run_in_id_order(zoo: RunStore) -> None:
    assert ids(zoo, sort="metrics.nope", descending=True) == sorted(id_set(ZOO), reverse=True)
    assert ids(zoo, sort="metrics.nope", descending=False) == sorted(id_set(ZOO))


def test_sort_by_param_numbers_numerically_then_strings_then_missing(zoo: RunStore) -> None:
    with_param = ["underflow", "forest-50", "forest-300", "forest-300", "forest-1000"]
    ascending = names(zoo, sort="params.n_estimators", descending=False)
    # 10 < 50 < 300 < 1000 as numbers (as text "1000" would come before "300")
    assert ascending[:6] == [*with_param, "overflow"]  # then the string "auto"
    first_300, second_300 = (r.run_id for r in BY_NAME["forest-300"])
    assert ids(zoo, sort="params.n_estimators", descending=False)[2:4] == [first_300, second_300]
    missing = [r for r in ZOO if "n_estimators" not in r.params]
    assert ids(zoo, sort="params.n_estimators", descending=False)[6:] == sorted(id_set(missing))

    descending = names(zoo, sort="params.n_estimators", descending=True)
    assert descending[:6] == [*reversed(with_param), "overflow"]
    assert ids(zoo, sort="params.n_estimators", descending=True)[1:3] == [second_300, first_300]
    assert ids(zoo, sort="params.n_estimators", descending=True)[6:] == sorted(
        id_set(missing), reverse=True
    )


def test_sort_by_param_mixing_a_number_and_words(zoo: RunStore) -> None:
    # feature_set: 2 (a number), "base", "full" (twice), "wide"
    ascending = names(zoo, sort="params.feature_set", descending=False)
    assert ascending[:5] == ["forest-1000", "logreg-base", "forest-300", "forest-300", "forest-50"]
    descending = names(zoo, sort="params.feature_set", descending=True)
    assert descending[:5] == ["forest-1000", "forest-50", "forest-300", "forest-300", "logreg-base"]


def test_sort_by_param_orders_words_as_text(store: RunStore) -> None:
    """A value that is a prefix of another comes first ("base" before "base plus")."""
    for index, value in enumerate(["full", "base plus", "base", "base-2"]):
        store.finish_run(make_run(index, f"run-{value}", params={"feature_set": value}))
    ascending = names(store, sort="params.feature_set", descending=False)
    assert ascending == ["run-base", "run-base plus", "run-base-2", "run-full"]
    descending = names(store, sort="params.feature_set", descending=True)
    assert descending == ["run-full", "run-base-2", "run-base plus", "run-base"]


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_ties_are_paged_in_a_stable_order(store: RunStore, descending: bool) -> None:
    records = [
        make_run(index, f"tie-{index}", metrics={"auc": [0.5, 0.7, 0.9][index % 3]})
        for index in range(40)
    ]
    for record in records:
        store.finish_run(record)
    query = RunQuery(sort="metrics.auc", descending=descending, limit=7)
    paged: list[str] = []
    for offset in range(0, 40, 7):
        paged += [row["run_id"] for row in store.query_runs(query.with_changes(offset=offset)).rows]
    assert len(paged) == len(set(paged)) == 40
    assert paged == ids(store, sort="metrics.auc", descending=descending)
    assert paged == expected_order(records, metric("auc"), descending)


# --- text filter ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lbfgs", {"logreg-base"}),  # a param value
        ("wide", {"forest-50"}),  # another param value
        ("tuned", {"forest-1000"}),  # a tag
        ("try", {"logreg-base"}),  # a word of a note
        ("champion", {"forest-1000"}),  # a note, whatever its case
        ("FOREST-V2", {"boom"}),  # a tag, whatever its case
        ("valueerror", {"boom"}),  # an error type
        ("KeyboardInterrupt", {"killed"}),
        ("crashed", {"dead"}),  # a status
        ("Running", {"pending"}),
        ("underflow", {"underflow"}),  # a name
        ("forest tuned", {"forest-1000"}),  # every word must match somewhere
        ("  forest   300 ", {"forest-300"}),
        ("forest nothing-like-this", set()),
    ],
)
def test_text_filter(zoo: RunStore, text: str, expected: set[str]) -> None:
    assert set(names(zoo, text=text)) == expected


def test_text_filter_matches_every_run_with_a_status(zoo: RunStore) -> None:
    ok = {r.run_id for r in ZOO if r.status is RunStatus.OK}
    assert set(ids(zoo, text="OK")) == ok
    assert zoo.query_runs(RunQuery(text="ok")).total == len(ok)


def test_text_filter_matches_a_run_id_prefix_only(zoo: RunStore) -> None:
    target = one("forest-50").run_id
    assert ids(zoo, text=target[:12]) == [target]
    assert ids(zoo, text=target[:12].upper()) == [target]
    assert ids(zoo, text=target) == [target]
    assert ids(zoo, text=target[14:26]) == []  # the middle of an id is not a prefix


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5%", {"top5%"}), ("top5%", {"top5%"}), ("%", {"top5%"}), ("lr_v1", {"lr_v1"})],
)
def test_percent_and_underscore_are_literal(zoo: RunStore, text: str, expected: set[str]) -> None:
    assert set(names(zoo, text=text)) == expected


def test_text_filter_ignores_case_of_accented_letters(store: RunStore) -> None:
    store.finish_run(make_run(0, "Été-forest", tags=["Équipe"]))
    store.finish_run(make_run(1, "winter-forest"))
    assert names(store, text="été") == ["Été-forest"]
    assert names(store, text="ÉQUIPE") == ["Été-forest"]


# --- tags, statuses, metric ranges, scope ---------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (("forest",), {"forest-300", "forest-50", "forest-1000", "killed"}),
        (("forest", "tuned"), {"forest-1000"}),
        (("forest", "forest"), {"forest-300", "forest-50", "forest-1000", "killed"}),
        (("forest-v2",), {"boom"}),
        (("fore",), set()),  # a tag that is part of another is not that tag
        (("Forest",), set()),  # tags are exact
        (("forest", "baseline"), set()),  # every tag is required
    ],
)
def test_tag_filter(zoo: RunStore, tags: tuple[str, ...], expected: set[str]) -> None:
    assert set(names(zoo, tags=tags)) == expected


def test_tag_filter_counts_each_duplicate_name(zoo: RunStore) -> None:
    page = zoo.query_runs(RunQuery(tags=("forest",)))
    assert page.total == 5
    assert [row["name"] for row in page.rows].count("forest-300") == 2


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (("error",), {"boom"}),
        (("failed",), {"boom", "killed", "dead"}),
        (("failed", "crashed"), {"boom", "killed", "dead"}),
        (("failed", "running"), {"boom", "killed", "dead", "pending"}),
        (("interrupted", "crashed"), {"killed", "dead"}),
        (("running",), {"pending"}),
    ],
)
def test_status_filter(zoo: RunStore, statuses: tuple[str, ...], expected: set[str]) -> None:
    assert set(names(zoo, statuses=statuses)) == expected


def test_status_filter_ok(zoo: RunStore) -> None:
    page = zoo.query_runs(RunQuery(statuses=("ok",), limit=100))
    assert {row["run_id"] for row in page.rows} == {
        r.run_id for r in ZOO if r.status is RunStatus.OK
    }
    assert page.total == 13


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        ((MetricRange("auc", 0.79, 0.83),), {"forest-50", "forest-300", "forest-1000"}),
        ((MetricRange("auc", 0.83, 0.83),), {"forest-300", "forest-1000"}),
        ((MetricRange("auc", 0.8, 0.84),), {"forest-300", "forest-1000"}),
        ((MetricRange("log_loss", None, 0.45),), {"forest-300", "forest-50", "forest-1000"}),
        ((MetricRange("auc", 0.8), MetricRange("log_loss", high=0.405)), {"forest-1000"}),
        ((MetricRange("accuracy", 0.0, 1.0),), set()),
    ],
)
def test_metric_ranges_are_inclusive(
    zoo: RunStore, ranges: tuple[MetricRange, ...], expected: set[str]
) -> None:
    assert set(names(zoo, metric_ranges=ranges)) == expected


def test_metric_range_with_open_bounds(zoo: RunStore) -> None:
    above = set(names(zoo, metric_ranges=(MetricRange("auc", low=0.8),)))
    assert {"forest-300", "forest-1000"} <= above
    assert not above & {"logreg-base", "forest-50", "underflow", "diverged", "no-metrics"}
    below = set(names(zoo, metric_ranges=(MetricRange("auc", high=0.75),)))
    assert "logreg-base" in below
    assert not below & {"forest-300", "forest-50", "overflow", "diverged", "no-metrics"}
    recorded = set(names(zoo, metric_ranges=(MetricRange("auc"),)))
    assert {"logreg-base", "forest-300", "forest-50", "forest-1000"} <= recorded
    # NaN lies in no range; a run without the metric neither
    assert not recorded & {"diverged", "no-metrics", "boom", "pending"}


def test_infinite_metrics_lie_beyond_every_finite_bound(zoo: RunStore) -> None:
    """Sorting puts auc=+inf above every finite auc, so "auc ≥ 0.8" must keep it too."""
    assert "overflow" in names(zoo, metric_ranges=(MetricRange("auc", low=0.8),))
    assert "underflow" in names(zoo, metric_ranges=(MetricRange("auc", high=0.75),))
    both_open = set(names(zoo, metric_ranges=(MetricRange("auc"),)))
    assert {"overflow", "underflow"} <= both_open


def test_empty_metric_range_is_refused_with_a_clear_message() -> None:
    message = r"the range for auc is empty: minimum 0\.9 is above maximum 0\.1"
    with pytest.raises(InvalidQuery, match=message):
        MetricRange("auc", 0.9, 0.1)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"notebook": NB_B}, {r.run_id for r in ZOO if r.notebook == NB_B}),
        ({"notebook": NB_A}, {r.run_id for r in ZOO if r.notebook == NB_A}),
        ({"session_id": "s3"}, {r.run_id for r in ZOO if r.session_id == "s3"}),
        (
            {"notebook": NB_A, "session_id": "s2"},
            id_set(map(one, ["forest-50", "underflow", "pending"])),
        ),
        ({"notebook": NB_B, "session_id": "s1"}, set()),
        ({"notebook": "/elsewhere.ipynb"}, set()),
    ],
)
def test_notebook_and_session_scope(
    zoo: RunStore, scope: dict[str, str], expected: set[str]
) -> None:
    page = zoo.query_runs(RunQuery(limit=100, **scope))
    assert {row["run_id"] for row in page.rows} == expected
    assert page.total == len(expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("metrics.auc", ["forest-300", "forest-1000", "forest-300"]),  # 0.83, 0.83, 0.84
        ("metrics.log_loss", ["forest-1000", "forest-300", "forest-300"]),  # 0.40, 0.41, none
    ],
)
def test_sort_by_a_metric_within_a_metric_range(
    zoo: RunStore, sort: str, expected: list[str]
) -> None:
    """Filter auc to [0.8, 0.9], then click the auc (or log_loss) header."""
    query = RunQuery(sort=sort, descending=False, metric_ranges=(MetricRange("auc", 0.8, 0.9),))
    page = zoo.query_runs(query)
    assert [row["name"] for row in page.rows] == expected
    assert page.total == 3


def test_filters_combine(zoo: RunStore) -> None:
    query = RunQuery(
        notebook=NB_A,
        statuses=("ok",),
        tags=("forest",),
        text="forest",
        metric_ranges=(MetricRange("auc", 0.5, None),),
        sort="duration",
    )
    page = zoo.query_runs(query)
    assert [row["name"] for row in page.rows] == ["forest-300", "forest-50"]
    assert page.total == 2


def test_rows_carry_what_the_table_shows(zoo: RunStore) -> None:
    [row] = zoo.query_runs(RunQuery(text="diverged")).rows
    assert row["name"] == "diverged" and row["status"] == "ok"
    assert row["tags"] == ["unstable"] and row["notebook"] == NB_B
    assert math.isnan(row["metrics"]["auc"]) and row["metrics"]["log_loss"] == INF
    [row] = zoo.query_runs(RunQuery(text="boom")).rows
    assert (row["error_type"], row["error_message"]) == ("ValueError", "C must be positive")
    assert row["params"] == {"C": 0.0}


# --- against a plain reading of realistic records -------------------------------------------


def _matches(record: RunRecord, query: RunQuery) -> bool:
    if query.notebook is not None and record.notebook != query.notebook:
        return False
    if query.tags and not set(query.tags) <= set(record.tags):
        return False
    if query.statuses:
        wanted = {s for s in query.statuses if s != "failed"}
        if "failed" in query.statuses:
            wanted |= {"error", "interrupted", "crashed"}
        if record.status.value not in wanted:
            return False
    for wanted_range in query.metric_ranges:
        value = record.metrics.get(wanted_range.metric)
        if value is None or math.isnan(value):
            return False
        if wanted_range.low is not None and value < wanted_range.low:
            return False
        if wanted_range.high is not None and value > wanted_range.high:
            return False
    haystack = " ".join([record.name, *record.tags, *(str(v) for v in record.params.values())])
    return all(word.lower() in haystack.lower() for word in query.text.split())


@pytest.mark.parametrize(
    "query",
    [
        RunQuery(text="gbm-full"),
        RunQuery(text="GBM base-4"),
        RunQuery(tags=("tuned", "v2")),
        RunQuery(tags=("champion",), statuses=("failed",)),
        RunQuery(notebook=FACTORY_NOTEBOOKS[1], statuses=("ok",)),
        RunQuery(metric_ranges=(MetricRange("auc", 0.25, 0.5),)),
        RunQuery(metric_ranges=(MetricRange("auc", 0.6), MetricRange("brier", high=0.3))),
        RunQuery(text="full", tags=("review",), metric_ranges=(MetricRange("f1", 0.5),)),
    ],
    ids=lambda query: repr(query.filter_key),
)
def test_filters_agree_with_the_records(realistic: RunStore, query: RunQuery) -> None:
    expected = [record for record in FACTORY if _matches(record, query)]
    assert expected, "the case should select some runs"
    page = realistic.query_runs(query.with_changes(limit=MAX_PAGE_SIZE))
    assert page.total == len(expected)
    assert {row["run_id"] for row in page.rows} == id_set(expected)


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("name", ["auc", "log_loss"])
def test_sort_by_metric_agrees_with_the_records(
    realistic: RunStore, name: str, descending: bool
) -> None:
    query = RunQuery(sort=f"metrics.{name}", descending=descending, limit=MAX_PAGE_SIZE)
    got = [row["run_id"] for row in realistic.query_runs(query).rows]
    assert got == expected_order(FACTORY, metric(name), descending)
    paged = [
        row["run_id"]
        for offset in range(0, FACTORY_RUNS, 40)
        for row in realistic.query_runs(query.with_changes(offset=offset, limit=40)).rows
    ]
    assert paged == got  # the pages that reach past the runs with a value too


# --- paging ---------------------------------------------------------------------------------


def page_at(store: RunStore, offset: int, limit: int = 25, **query: Any) -> RunPage:
    return store.query_runs(RunQuery(offset=offset, limit=limit, **query))


def test_first_page(realistic: RunStore) -> None:
    page = page_at(realistic, 0)
    assert (page.first, page.last, page.total) == (1, 25, FACTORY_RUNS)
    assert len(page.rows) == 25
    assert page.has_next and not page.has_previous
    newest = sorted(FACTORY, key=lambda record: record.started_at, reverse=True)
    assert [row["run_id"] for row in page.rows] == [record.run_id for record in newest[:25]]


def test_middle_page(realistic: RunStore) -> None:
    page = page_at(realistic, 100)
    assert (page.first, page.last) == (101, 125)
    assert page.has_next and page.has_previous


def test_last_page_is_partial(realistic: RunStore) -> None:
    page = page_at(realistic, 225)
    assert (page.first, page.last, page.total) == (226, 230, 230)
    assert len(page.rows) == 5
    assert page.has_previous and not page.has_next


def test_page_that_ends_exactly_at_the_last_run(realistic: RunStore) -> None:
    page = page_at(realistic, 200, limit=30)
    assert (page.first, page.last) == (201, 230)
    assert not page.has_next


def test_offset_beyond_the_end_is_an_empty_page(realistic: RunStore) -> None:
    page = page_at(realistic, 1000)
    assert page.rows == [] and page.total == FACTORY_RUNS
    assert page.first == 0
    assert not page.has_next and page.has_previous


def test_pages_cover_every_run_once(realistic: RunStore) -> None:
    seen: list[str] = []
    for offset in range(0, FACTORY_RUNS, 50):
        seen += [row["run_id"] for row in page_at(realistic, offset, 50, sort="name").rows]
    assert len(seen) == FACTORY_RUNS and set(seen) == id_set(FACTORY)


def test_paging_a_filtered_query(realistic: RunStore) -> None:
    failed = [record for record in FACTORY if record.status is RunStatus.ERROR]
    page = page_at(realistic, 0, 4, statuses=("failed",))
    assert page.total == len(failed) == 10
    assert (page.first, page.last, page.has_next) == (1, 4, True)
    last = page_at(realistic, 8, 4, statuses=("failed",))
    assert (last.first, last.last, last.has_next) == (9, 10, False)


def test_empty_store_page(store: RunStore) -> None:
    page = store.query_runs(RunQuery())
    assert page.rows == [] and page.total == 0
    assert (page.first, page.last) == (0, 0)
    assert not page.has_next and not page.has_previous


# --- totals stay true as runs are written ---------------------------------------------------


def test_total_grows_when_runs_are_written_between_identical_queries(store: RunStore) -> None:
    query = RunQuery(text="forest", limit=2)
    for index in range(3):
        store.finish_run(make_run(index, f"forest-{index}"))
    assert store.query_runs(query).total == 3
    assert store.query_runs(query).total == 3  # asked twice: same answer
    for index in range(3, 6):
        store.finish_run(make_run(index, f"forest-{index}"))
    store.finish_run(make_run(6, "logreg"))  # does not match
    page = store.query_runs(query)
    assert page.total == 6
    assert page.has_next and page.last == 2


def test_total_counts_runs_written_by_another_kernel(store: RunStore) -> None:
    query = RunQuery(statuses=("ok",))
    store.finish_run(make_run(0, "mine"))
    assert store.query_runs(query).total == 1
    other_kernel = RunStore.open(store.url)
    other_kernel.finish_run(make_run(1, "theirs"))
    assert store.query_runs(query).total == 2


def test_total_follows_a_run_from_running_to_failed(store: RunStore) -> None:
    record = make_run(0, "fit", duration=None, status=RunStatus.RUNNING)
    store.begin_run(record)
    running, failed = RunQuery(statuses=("running",)), RunQuery(statuses=("failed",))
    assert (store.query_runs(running).total, store.query_runs(failed).total) == (1, 0)
    record.status, record.ended_at = RunStatus.ERROR, record.started_at + 3
    record.error = RunError("ValueError", "no", "")
    store.finish_run(record)
    assert (store.query_runs(running).total, store.query_runs(failed).total) == (0, 1)


def test_sorting_and_paging_keep_the_total(zoo: RunStore) -> None:
    base = RunQuery(tags=("forest",), limit=2)
    totals = {
        zoo.query_runs(base.with_changes(**changes)).total
        for changes in ({}, {"sort": "name"}, {"offset": 2}, {"sort": "metrics.auc", "offset": 4})
    }
    assert totals == {5}


# --- facets ---------------------------------------------------------------------------------


def test_facets_of_the_whole_store(zoo: RunStore) -> None:
    facets = zoo.facets(RunQuery())
    assert facets.total == len(ZOO) == 17
    assert facets.statuses == [
        ("ok", 13),
        ("crashed", 1),
        ("error", 1),
        ("interrupted", 1),
        ("running", 1),
    ]
    assert facets.metrics == [("auc", 8), ("log_loss", 6)]
    assert facets.tags == [
        ("forest", 5),
        ("baseline", 1),
        ("candidate", 1),
        ("forest-v2", 1),
        ("tuned", 1),
        ("unstable", 1),
    ]
    param_counts = Counter(key for record in ZOO for key in record.params)
    assert dict(facets.params) == dict(param_counts)
    assert facets.params[0] == ("n_estimators", 6)
    counts = [n for _, n in facets.params]
    assert counts == sorted(counts, reverse=True)


def test_facets_follow_the_filters(zoo: RunStore) -> None:
    facets = zoo.facets(RunQuery(statuses=("failed",)))
    assert facets.total == 3
    assert dict(facets.statuses) == {"error": 1, "interrupted": 1, "crashed": 1}
    assert facets.params == [("C", 1)]
    assert facets.metrics == []
    assert facets.tags == [("forest", 1), ("forest-v2", 1)]

    scoped = zoo.facets(RunQuery(notebook=NB_B, text="forest"))
    assert scoped.total == 3  # forest-1000, killed, the second forest-300
    assert dict(scoped.tags) == {"forest": 3, "tuned": 1}
    assert dict(scoped.metrics) == {"auc": 2, "log_loss": 1}


def test_facets_of_the_newest_runs(zoo: RunStore) -> None:
    newest = zoo.facets(RunQuery(), newest=3)  # the second forest-300, lrxv1, lr_v1
    assert newest.total == 3
    assert newest.statuses == [("ok", 3)]
    assert newest.metrics == [("auc", 1)]
    assert newest.tags == [("forest", 1)]
    assert dict(newest.params) == {"n_estimators": 1, "max_depth": 1, "feature_set": 1}
    assert zoo.facets(RunQuery(notebook=NB_A), newest=2).total == 2
    assert zoo.facets(RunQuery(), params=False).params == []


def test_facets_of_an_empty_store(store: RunStore) -> None:
    facets = store.facets(RunQuery())
    assert (facets.total, facets.metrics, facets.params, facets.tags, facets.statuses) == (
        0,
        [],
        [],
        [],
        [],
    )


# --- queries that cannot be answered --------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sort": "tags"}, r"cannot sort by 'tags': use one of name, status, started_at"),
        ({"sort": "bogus"}, r"cannot sort by 'bogus'.*'metrics\.<name>' or 'params\.<name>'"),
        ({"sort": "metrics."}, r"cannot sort by 'metrics\.'"),
        ({"sort": "params."}, r"cannot sort by 'params\.'"),
        ({"sort": ""}, r"cannot sort by ''"),
        ({"offset": -1}, r"offset must be 0 or more, not -1"),
        ({"limit": 0}, rf"a page holds 1 to {MAX_PAGE_SIZE} runs, not 0"),
        ({"limit": -5}, rf"a page holds 1 to {MAX_PAGE_SIZE} runs, not -5"),
        (
            {"limit": MAX_PAGE_SIZE + 1},
            rf"a page holds 1 to {MAX_PAGE_SIZE} runs, not {MAX_PAGE_SIZE + 1}",
        ),
        ({"statuses": ("ok", "broken")}, r"unknown status 'broken': use one of .*failed.*ok"),
        ({"statuses": ("OK",)}, r"unknown status 'OK'"),
    ],
)
def test_invalid_queries_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        RunQuery(**fields)


def test_invalid_change_is_refused_too() -> None:
    query = RunQuery()
    with pytest.raises(InvalidQuery, match="cannot sort by 'duration_ms'"):
        query.with_changes(sort="duration_ms")
    with pytest.raises(InvalidQuery, match="offset must be 0 or more"):
        query.with_changes(offset=-25)
    assert RunQuery(limit=MAX_PAGE_SIZE).limit == MAX_PAGE_SIZE
    assert issubclass(InvalidQuery, ValueError)


def test_changing_a_filter_or_the_order_goes_back_to_the_first_page() -> None:
    query = RunQuery(offset=75)
    assert query.with_changes(text="forest").offset == 0
    assert query.with_changes(sort="name").offset == 0
    assert query.with_changes(tags=("tuned",)).offset == 0
    assert query.with_changes(offset=100).offset == 100
    assert query.with_changes(offset=100).text == ""
    assert query.filter_key == query.with_changes(sort="name", offset=25, limit=50).filter_key
    assert query.filter_key != query.with_changes(text="forest").filter_key


# --- names ----------------------------------------------------------------------------------


def test_run_names_are_distinct_and_sorted(zoo: RunStore, store: RunStore) -> None:
    found = zoo.run_names()
    assert found == sorted({record.name for record in ZOO})
    assert found.count("forest-300") == 1
    assert len(found) == 16
    assert store.run_names() == []


def test_a_search_is_bounded() -> None:
    RunQuery(text=" ".join(["word"] * 20))
    with pytest.raises(InvalidQuery, match="21 words: at most 20"):
        RunQuery(text=" ".join(["word"] * 21))
    with pytest.raises(InvalidQuery, match="501 characters long"):
        RunQuery(text="x" * 501)


# --- which runs are a notebook's: one rule, whichever way it is asked ------------------------

NB = "/srv/team/credit.ipynb"
TEAM = "git@example.com:team/credit.git"


def test_a_notebooks_runs_are_the_same_however_they_are_asked(store: RunStore) -> None:
    """Filed under its path (in its repository or none), named by its saved markers (a
    notebook nbclient or papermill ran: filed under no path), or unfiled with one of its
    cells' code: the SQL of pages, the cached table, the limited table and the summaries
    the CLI and the report read all select the same runs."""
    runs = {
        "filed": make_run(1, "filed", notebook=NB, repo=TEAM),
        "filed-no-repo": make_run(2, "filed-no-repo", notebook=NB),
        "fork": make_run(3, "fork", notebook=NB, repo="git@example.com:fork/credit.git"),
        "other": make_run(4, "other", notebook="/srv/team/other.ipynb", repo=TEAM),
        "headless": make_run(5, "headless"),  # its kernel never knew the notebook
        "unfiled-code": make_run(6, "unfiled-code", code_hash="cell-hash"),
        "elsewhere-code": make_run(7, "elsewhere-code", notebook="/x.ipynb", code_hash="cell-hash"),
    }
    for record in runs.values():
        store.finish_run(record)
    marked = (runs["headless"].run_id,)
    hashes = ("cell-hash",)
    expected = {"filed", "filed-no-repo", "headless", "unfiled-code"}

    scope = {"notebook": NB, "repo": TEAM, "marked": marked, "cell_hashes": hashes}
    page = store.query_runs(RunQuery(**scope, limit=100))
    assert {row["name"] for row in page.rows} == expected and page.total == len(expected)
    assert set(store.run_table(**scope)["name"]) == expected
    assert set(store.run_table(**scope, limit=100)["name"]) == expected
    summaries = store.notebook_summaries(NB, repo=TEAM, run_ids=marked, orphan_code_hashes=hashes)
    assert {row["name"] for row in summaries} == expected
    notebook_runs = RunQuery(**scope).notebook_runs
    assert notebook_runs is not None
    held = {
        name
        for name, record in runs.items()
        if notebook_runs.holds(record.run_id, record.notebook, record.repo, record.code_hash)
    }
    assert held == expected
    # Without the saved notebook's links: only what is filed under the path.
    assert set(store.run_table(notebook=NB, repo=TEAM)["name"]) == {"filed", "filed-no-repo"}
