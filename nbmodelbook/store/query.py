"""Paged, filtered and sorted run queries, answered by the database.

The browse widget asks for one page at a time of a store that may hold 100,000 runs, so filters,
sorting and counting are SQL (on the normalised params / metrics / tags tables and their
indexes), never pandas over every run. `RunQuery` is a plain value: the widget changes one field
per interaction and asks again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from nbmodelbook.errors import InvalidQuery
from nbmodelbook.record import RunStatus
from nbmodelbook.store import schema

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Connection, Select

# Columns of the runs table a page can be sorted by, besides `metrics.<name>` and `params.<name>`.
SORTABLE_COLUMNS = (
    "name",
    "status",
    "started_at",
    "ended_at",
    "duration",
    "user",
    "host",
    "notebook",
    "execution_count",
)
METRIC_PREFIX = "metrics."
PARAM_PREFIX = "params."
# A status filter may name a group: "failed" is every way of ending without completing.
STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    "failed": tuple(status.value for status in RunStatus if status.failed),
}
MAX_PAGE_SIZE = 10_000
# A search is a few words typed into a filter box. Every word becomes a set of LIKE conditions:
# unbounded, a long text outgrows SQLite's pattern and expression-depth limits (an error, after
# seconds of building the query), so the query refuses it before the store is asked.
MAX_SEARCH_CHARS = 500
MAX_SEARCH_WORDS = 20


# A backend's case-insensitive "column contains text" (`Backend.contains`).
Contains = Callable[[Any, str], Any]


@dataclass(frozen=True, slots=True)
class MetricRange:
    """Runs whose metric lies in [low, high]; either bound may be open (None)."""

    metric: str
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise InvalidQuery(
                f"the range for {self.metric} is empty: minimum {self.low} is above "
                f"maximum {self.high}"
            )


@dataclass(frozen=True, slots=True)
class NotebookRuns:
    """Which runs are a notebook's — one rule for the API, the widgets, the Lab panel, the CLI
    and the report: those filed under its path (in its repository or none, when the repository
    is known: two people's `/home/jovyan/model.ipynb` in a team store are two notebooks), those
    its saved run markers name (a notebook executed by nbclient or papermill, whose kernel was
    never told its path, or one moved since), and runs of no known notebook whose code is one
    of its tracked cells."""

    path: str
    repo: str | None = None
    marked: tuple[str, ...] = ()
    cell_hashes: tuple[str, ...] = ()

    def condition(self) -> ColumnElement[bool]:
        """The rule as a WHERE clause on `nbmb_runs`."""
        from sqlalchemy import or_

        runs = schema.runs
        filed = runs.c.notebook == self.path
        if self.repo is not None:
            filed = filed & schema.of_repository(self.repo)
        either = [filed]
        if self.marked:
            either.append(runs.c.run_id.in_(self.marked))
        if self.cell_hashes:
            either.append(runs.c.notebook.is_(None) & runs.c.code_hash.in_(self.cell_hashes))
        return or_(*either)

    def holds(
        self, run_id: str, notebook: str | None, repo: str | None, code_hash: str | None
    ) -> bool:
        """The rule for one run (what `condition` selects)."""
        if notebook == self.path and (self.repo is None or repo in (None, self.repo)):
            return True
        if run_id in self.marked:
            return True
        return notebook is None and code_hash is not None and code_hash in self.cell_hashes


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Which runs, in which order, which page. Every field narrows; defaults mean "all"."""

    notebook: str | None = None
    session_id: str | None = None
    repo: str | None = None  # with a notebook: that repository's (or unknown) runs only
    # With a notebook: the runs its saved markers name, and unfiled runs of its cells' code.
    marked: tuple[str, ...] = ()
    cell_hashes: tuple[str, ...] = ()
    text: str = ""
    tags: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    metric_ranges: tuple[MetricRange, ...] = ()
    sort: str = "started_at"
    descending: bool = True
    offset: int = 0
    limit: int = 25

    def __post_init__(self) -> None:
        if not (
            self.sort in SORTABLE_COLUMNS
            or (self.sort.startswith(METRIC_PREFIX) and len(self.sort) > len(METRIC_PREFIX))
            or (self.sort.startswith(PARAM_PREFIX) and len(self.sort) > len(PARAM_PREFIX))
        ):
            allowed = ", ".join(SORTABLE_COLUMNS)
            raise InvalidQuery(
                f"cannot sort by {self.sort!r}: use one of {allowed}, "
                "'metrics.<name>' or 'params.<name>'"
            )
        if self.offset < 0:
            raise InvalidQuery(f"offset must be 0 or more, not {self.offset}")
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise InvalidQuery(f"a page holds 1 to {MAX_PAGE_SIZE} runs, not {self.limit}")
        if len(self.text) > MAX_SEARCH_CHARS:
            raise InvalidQuery(
                f"the search is {len(self.text)} characters long: "
                f"it may hold at most {MAX_SEARCH_CHARS}"
            )
        words = len(self.text.split())
        if words > MAX_SEARCH_WORDS:
            raise InvalidQuery(
                f"the search has {words} words: at most {MAX_SEARCH_WORDS} "
                "(every one must appear in the run)"
            )
        known = {status.value for status in RunStatus} | set(STATUS_GROUPS)
        unknown = [status for status in self.statuses if status not in known]
        if unknown:
            raise InvalidQuery(
                f"unknown status {unknown[0]!r}: use one of {', '.join(sorted(known))}"
            )

    def with_changes(self, **changes: Any) -> RunQuery:
        """A copy with some fields changed; any change but paging goes back to the first page."""
        if "offset" not in changes and set(changes) - {"limit"}:
            changes["offset"] = 0
        return replace(self, **changes)

    @property
    def notebook_runs(self) -> NotebookRuns | None:
        """The notebook whose runs the query means, if it means one."""
        if self.notebook is None:
            return None
        return NotebookRuns(self.notebook, self.repo, self.marked, self.cell_hashes)

    @property
    def filter_key(self) -> tuple[Any, ...]:
        """What selects the runs (not their order or page): equal keys, equal totals."""
        return (
            self.notebook,
            self.session_id,
            self.repo,
            self.marked,
            self.cell_hashes,
            self.text,
            self.tags,
            self.statuses,
            self.metric_ranges,
        )


@dataclass(slots=True)
class RunPage:
    """One page of runs (summary rows, as `RunStore.run_summaries` gives) and the total count."""

    query: RunQuery
    rows: list[dict[str, Any]]
    total: int

    @property
    def first(self) -> int:
        """1-based position of the first row shown (0 when the page is empty)."""
        return self.query.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.query.offset + len(self.rows)

    @property
    def has_previous(self) -> bool:
        return self.query.offset > 0

    @property
    def has_next(self) -> bool:
        return self.last < self.total


@dataclass(slots=True)
class Facets:
    """What there is to filter and sort by in a scope, most frequent first."""

    metrics: list[tuple[str, int]] = field(default_factory=list)
    params: list[tuple[str, int]] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)
    statuses: list[tuple[str, int]] = field(default_factory=list)
    total: int = 0


def _statuses(requested: Sequence[str]) -> list[str]:
    expanded: list[str] = []
    for status in requested:
        expanded.extend(STATUS_GROUPS.get(status, (status,)))
    return list(dict.fromkeys(expanded))


def _in_range(metrics: Any, wanted: MetricRange) -> list[list[ColumnElement[bool]]]:
    """Alternatives (each a list of conditions, all indexable on (key, value)) for a metric in
    range: finite values within the bounds; +inf lies above every bound, -inf below, NaN
    nowhere. Separate alternatives rather than one OR, so each can use the index."""
    finite = [metrics.c.key == wanted.metric, metrics.c.value.is_not(None)]
    if wanted.low is not None:
        finite.append(metrics.c.value >= wanted.low)
    if wanted.high is not None:
        finite.append(metrics.c.value <= wanted.high)
    alternatives = [finite]
    for open_bound, special in ((wanted.high, "inf"), (wanted.low, "-inf")):
        if open_bound is None:
            alternatives.append(
                [
                    metrics.c.key == wanted.metric,
                    metrics.c.value.is_(None),
                    metrics.c.special == special,
                ]
            )
    return alternatives


def _has(table: Any, where: Sequence[Any], correlated: bool) -> ColumnElement[bool]:
    """The run has a row in `table` (params, metrics, tags) matching `where`."""
    from sqlalchemy import exists, select

    runs = schema.runs
    if correlated:
        return exists().where(table.c.run_id == runs.c.run_id, *where)
    return runs.c.run_id.in_(select(table.c.run_id).where(*where))


def conditions(
    query: RunQuery, contains: Contains, *, correlated: bool = True
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a query on `nbmb_runs`.

    Tags and metric ranges are correlated EXISTS for pages: a page sorted by an indexed column
    stops after `limit` matches. Counting visits every match anyway, and then `run_id IN
    (ids from the tag or metric index)` is cheaper (`correlated=False`).
    """
    from sqlalchemy import or_

    runs = schema.runs
    where: list[ColumnElement[bool]] = []
    notebook_runs = query.notebook_runs
    if notebook_runs is not None:
        where.append(notebook_runs.condition())
    elif query.repo is not None:
        where.append(schema.of_repository(query.repo))
    if query.session_id is not None:
        where.append(runs.c.session_id == query.session_id)
    if query.statuses:
        where.append(runs.c.status.in_(_statuses(query.statuses)))
    # Aliases: a page sorted by a metric also joins nbmb_run_metrics, and an EXISTS on the
    # bare table would correlate with that join instead of with the run.
    for tag in dict.fromkeys(query.tags):
        tags = schema.run_tags.alias()
        where.append(_has(tags, [tags.c.tag == tag], correlated))
    for wanted in query.metric_ranges:
        metrics = schema.run_metrics.alias()
        where.append(or_(*(_has(metrics, each, correlated) for each in _in_range(metrics, wanted))))
    for word in query.text.split():
        # Every word must appear somewhere a person would look for it (case-insensitive).
        where.append(
            or_(
                *(
                    contains(column, word)
                    for column in (
                        runs.c.name,
                        runs.c.tags,
                        runs.c.note,
                        runs.c.params,
                        runs.c.error_type,
                        runs.c.error_message,
                    )
                ),
                runs.c.status == word.lower(),
                runs.c.run_id.startswith(word.lower(), autoescape=True),
            )
        )
    return where


def page_ids(connection: Connection, query: RunQuery, contains: Contains) -> list[str]:
    """The ids of the page's runs, filtered, sorted and paged.

    Only ids: sorting 100,000 narrow rows is much cheaper than sorting them with their params
    and metrics; the page's full rows are fetched by id afterwards.
    """
    if query.sort.startswith((METRIC_PREFIX, PARAM_PREFIX)):
        return _segmented_page(connection, query, _ranked_segments(query, contains))
    from sqlalchemy import select

    runs = schema.runs
    column = runs.c[query.sort]
    order = column.desc() if query.descending else column.asc()
    statement = (
        select(runs.c.run_id)
        .where(*conditions(query, contains))
        .order_by(order.nulls_last(), _tie(runs.c.run_id, query))
        .limit(query.limit)
        .offset(query.offset)
    )
    return [str(run_id) for run_id in connection.execute(statement).scalars()]


def _tie(column: Any, query: RunQuery) -> Any:
    return column.desc() if query.descending else column.asc()


def _ranked_segments(query: RunQuery, contains: Contains) -> list[Select[Any]]:
    """A metric or param sort as consecutive segments, each an ordered SELECT of run ids.

    Metrics, descending: +inf, finite values, -inf, NaN, missing (ascending swaps the
    infinities). Params: numbers, then other values by their text, then missing. The numbers
    segment walks the (key, number) index in order, so the first pages of 100,000 runs cost a
    few index steps instead of a sort of every run.
    """
    from sqlalchemy import and_, case, exists, func, select

    runs = schema.runs
    key = query.sort.split(".", 1)[1]
    where = conditions(query, contains)
    is_metric = query.sort.startswith(METRIC_PREFIX)
    table = (schema.run_metrics if is_metric else schema.run_params).alias("ranked")
    number = table.c.value if is_metric else table.c.num
    tie = _tie(table.c.run_id, query)

    def having(*condition: Any) -> Select[Any]:
        return (
            select(table.c.run_id)
            .join(runs, runs.c.run_id == table.c.run_id)
            .where(table.c.key == key, *condition, *where)
        )

    numbers = having(number.is_not(None)).order_by(
        number.desc() if query.descending else number.asc(), tie
    )
    present = schema.run_metrics if is_metric else schema.run_params
    missing = (
        select(runs.c.run_id)
        .where(
            ~exists().where(and_(present.c.run_id == runs.c.run_id, present.c.key == key)),
            *where,
        )
        .order_by(_tie(runs.c.run_id, query))
    )
    if is_metric:
        first, last = ("inf", "-inf") if query.descending else ("-inf", "inf")
        special = table.c.special
        # `value IS NULL` first: the non-finite values are a short range of the index.
        return [
            having(number.is_(None), special == first).order_by(tie),
            numbers,
            having(number.is_(None), special == last).order_by(tie),
            having(number.is_(None), special == "nan").order_by(tie),
            missing,
        ]
    # Text values sort by their text: strings are stored as JSON, so drop the quotes.
    value = table.c.value
    text = case(
        (value.like('"%'), func.rtrim(func.substr(value, 2), '"')),
        else_=value,
    )
    texts = having(number.is_(None)).order_by(text.desc() if query.descending else text.asc(), tie)
    return [numbers, texts, missing]


def _segmented_page(
    connection: Connection, query: RunQuery, segments: Sequence[Select[Any]]
) -> list[str]:
    """Page through consecutive segments; a segment is counted only when the page starts
    beyond it."""
    from sqlalchemy import func, select

    ids: list[str] = []
    offset = query.offset
    for segment in segments:
        wanted = query.limit - len(ids)
        if wanted == 0:
            break
        found = [
            str(run_id)
            for run_id in connection.execute(segment.limit(wanted).offset(offset)).scalars()
        ]
        if found:
            ids.extend(found)
            offset = 0
        elif offset:
            size = connection.execute(
                select(func.count()).select_from(segment.order_by(None).subquery())
            ).scalar()
            offset = max(0, offset - int(size or 0))
    return ids


def count_statement(query: RunQuery, contains: Contains) -> Select[Any]:
    from sqlalchemy import func, select

    return (
        select(func.count())
        .select_from(schema.runs)
        .where(*conditions(query, contains, correlated=False))
    )


def facet_statements(
    query: RunQuery, contains: Contains, newest: int | None = None
) -> dict[str, Select[Any]]:
    """Counts per metric name, param name, tag and status among the runs a query selects
    (its text, tag, status and range filters included), or among the `newest` of them."""
    from sqlalchemy import func, select

    runs = schema.runs
    scope = conditions(query, contains)
    selected: Any = None
    if newest is not None:
        selected = (
            select(runs.c.run_id).where(*scope).order_by(runs.c.started_at.desc()).limit(newest)
        )
    elif scope:
        selected = select(runs.c.run_id).where(*scope)
    statements: dict[str, Select[Any]] = {}
    for name, table, column in (
        ("metrics", schema.run_metrics, schema.run_metrics.c.key),
        ("params", schema.run_params, schema.run_params.c.key),
        ("tags", schema.run_tags, schema.run_tags.c.tag),
    ):
        counted = select(column, func.count().label("n"))
        if selected is not None:
            counted = counted.where(table.c.run_id.in_(selected))
        statements[name] = counted.group_by(column).order_by(func.count().desc(), column)
    status_source: Any = runs
    if newest is not None:
        status_source = (
            select(runs.c.status).where(*scope).order_by(runs.c.started_at.desc()).limit(newest)
        ).subquery()
    elif scope:
        status_source = select(runs.c.status).where(*scope).subquery()
    status = status_source.c.status
    statements["statuses"] = (
        select(status, func.count().label("n"))
        .group_by(status)
        .order_by(func.count().desc(), status)
    )
    return statements
