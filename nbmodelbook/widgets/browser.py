"""The browse widget: a filtered, sorted, paged run table; selecting runs compares them.

Every interaction changes one field of a `RunQuery` and asks the store for one page, so it costs
the same on 100 runs as on 100,000. Names, facets and columns are read once per scope (this
notebook / every notebook), not on every keystroke.
"""

from __future__ import annotations

import functools
import threading
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ParamSpec

import ipywidgets as widgets

from nbmodelbook.errors import InvalidQuery
from nbmodelbook.record import RunRecord, status_failed
from nbmodelbook.store.query import Facets, MetricRange, RunPage, RunQuery
from nbmodelbook.store.store import RunStore
from nbmodelbook.widgets.chart_area import ChartArea
from nbmodelbook.widgets.columns import (
    Column,
    choose_columns,
    key_metrics,
    parse_bound,
    table_rows,
)
from nbmodelbook.widgets.table import RunTable

PAGE_SIZES = (10, 25, 50, 100, 250)
HISTORY_LIMIT = 2000  # newest runs drawn in the history chart
HISTORY_SETTLE_SECONDS = 0.4  # redraw once interactions pause
# Metric names and tags offered as choices come from the newest runs in scope: what a person
# is working on, read in bounded time however large the store.
FACET_SAMPLE = 1000
STATUS_OPTIONS = (
    ("Any status", ""),
    ("ok", "ok"),
    ("failed (error, interrupted, crashed)", "failed"),
    ("running", "running"),
    ("error", "error"),
    ("interrupted", "interrupted"),
    ("crashed", "crashed"),
)
NO_METRIC = ""
P = ParamSpec("P")


def _shows_errors(handler: Callable[P, None]) -> Callable[P, None]:
    """A widget callback's exception would only reach the browser's log: show it instead."""

    @functools.wraps(handler)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        browser = args[0]
        assert isinstance(browser, RunBrowser)
        try:
            handler(*args, **kwargs)
        except InvalidQuery as error:
            browser.show_message(str(error), error=True)
        except Exception as error:
            browser.show_message(
                f"Could not read the runs: {type(error).__name__}: {error}", error=True
            )
            browser.last_error = traceback.format_exc()

    return guarded


class RunBrowser(widgets.VBox):  # type: ignore[misc]
    def __init__(
        self,
        store: RunStore,
        *,
        notebook: str | None = None,
        session_id: str | None = None,
        repo: str | None = None,
        marked: Sequence[str] = (),
        cell_hashes: Sequence[str] = (),
        all_notebooks: bool = False,
        page_size: int = 25,
        metrics: Sequence[str] | None = None,
        params: Sequence[str] | None = None,
    ) -> None:
        self.store = store
        self.scope_notebook = notebook
        self.scope_session = session_id
        self.scope_repo = repo
        # A notebook's runs also include those its saved markers name (see NotebookRuns).
        self.scope_marked = tuple(marked)
        self.scope_hashes = tuple(cell_hashes)
        self.chosen_metrics = metrics
        self.chosen_params = params
        self.last_error: str | None = None
        # Runs written by the kernel's writer thread refresh the table from that thread.
        self._refresh_lock = threading.RLock()
        self.page: RunPage | None = None
        self.facets = Facets()
        self.columns: list[Column] = []
        has_scope = notebook is not None or session_id is not None
        self.query = RunQuery(limit=page_size)

        self.text = widgets.Text(
            placeholder="Filter: name, tag, note, parameter value, status…",
            continuous_update=True,
            layout=widgets.Layout(width="22em"),
        )
        self.status = widgets.Dropdown(options=STATUS_OPTIONS, value="", layout={"width": "14em"})
        self.tags = widgets.TagsInput(
            value=[],
            allowed_tags=[],
            allow_duplicates=False,
            placeholder="Tags…",
            tooltip="Only runs with every tag listed here",
            layout=widgets.Layout(width="18em"),
        )
        self.all_notebooks = widgets.Checkbox(
            value=all_notebooks or not has_scope,
            description="All notebooks",
            disabled=not has_scope,
            indent=False,
            layout={"width": "auto"},
        )
        self.range_metric = widgets.Dropdown(
            options=[("Metric range…", NO_METRIC)], value=NO_METRIC, layout={"width": "14em"}
        )
        self.range_low = widgets.Text(placeholder="min", layout={"width": "7em"})
        self.range_high = widgets.Text(placeholder="max", layout={"width": "7em"})
        self.refresh_button = widgets.Button(
            description="Refresh", icon="refresh", tooltip="Read new runs from the store"
        )
        self.message = widgets.HTML()
        self.table = RunTable()
        self.previous = widgets.Button(description="Previous", icon="chevron-left")
        self.next = widgets.Button(description="Next", icon="chevron-right")
        self.position = widgets.Label()
        sizes = sorted({*PAGE_SIZES, page_size})
        self.page_size = widgets.Dropdown(
            options=[(f"{size} per page", size) for size in sizes],
            value=page_size,
            layout={"width": "9em"},
        )
        self.clear_selection = widgets.Button(description="Clear selection", disabled=True)
        self.comparison = widgets.VBox()
        self.history_metric = widgets.Dropdown(description="Metric", layout={"width": "18em"})
        self.history_colour = widgets.Dropdown(
            description="Colour by", options=["name", "tag"], value="name"
        )
        self.history_chart = ChartArea()
        self.history = widgets.Accordion(
            children=[
                widgets.VBox(
                    [widgets.HBox([self.history_metric, self.history_colour]), self.history_chart]
                )
            ],
            titles=("History: a metric over time",),
            selected_index=None,
        )

        self.text.observe(self._on_text, names="value")
        self.status.observe(self._on_status, names="value")
        self.tags.observe(self._on_tags, names="value")
        self.all_notebooks.observe(self._on_scope, names="value")
        for control in (self.range_metric, self.range_low, self.range_high):
            control.observe(self._on_range, names="value")
        self.table.observe(self._on_sort, names=["sort", "descending"])
        self.table.observe(self._on_select, names="selected")
        self.previous.on_click(lambda _: self.turn_page(-1))
        self.next.on_click(lambda _: self.turn_page(1))
        self.page_size.observe(self._on_page_size, names="value")
        self.refresh_button.on_click(lambda _: self.refresh(rescan=True))
        self.clear_selection.on_click(lambda _: self.select([]))
        self.history.observe(self._on_history, names="selected_index")
        for control in (self.history_metric, self.history_colour):
            control.observe(self._on_history, names="value")

        super().__init__(
            children=[
                widgets.HBox([self.text, self.status, self.tags, self.all_notebooks]),
                widgets.HBox(
                    [self.range_metric, self.range_low, self.range_high, self.refresh_button]
                ),
                self.message,
                self.table,
                widgets.HBox(
                    [
                        self.previous,
                        self.position,
                        self.next,
                        self.page_size,
                        self.clear_selection,
                    ]
                ),
                self.history,
                self.comparison,
            ]
        )
        self.add_class("nbmb-browse")
        self._rescope()
        self._show_comparison()

    # --- state -----------------------------------------------------------------------------

    def _scope_query(self) -> RunQuery:
        if self.all_notebooks.value:
            return self.query.with_changes(
                notebook=None, session_id=None, repo=None, marked=(), cell_hashes=()
            )
        return self.query.with_changes(
            notebook=self.scope_notebook,
            session_id=self.scope_session,
            repo=self.scope_repo,
            marked=self.scope_marked,
            cell_hashes=self.scope_hashes,
        )

    def show_message(self, text: str, *, error: bool = False) -> None:
        from html import escape

        if not text:
            self.message.value = ""
            return
        colour = "var(--jp-error-color1, #b00020)" if error else "var(--jp-ui-font-color2, #555)"
        self.message.value = f'<span style="color: {colour}">{escape(text)}</span>'

    @_shows_errors
    def on_run_written(self, record: RunRecord) -> None:
        """A tracked cell finished and its run is in the store: show it (live table)."""
        notebook_runs = self.query.notebook_runs
        in_scope = self.query.session_id in (None, record.session_id) and (
            notebook_runs.holds(record.run_id, record.notebook, record.repo, record.code_hash)
            if notebook_runs is not None
            else record.repo is None or self.query.repo in (None, record.repo)
        )
        if in_scope:
            known_tags = {tag for tag, _ in self.facets.tags}
            known_metrics = {name for name, _ in self.facets.metrics}
            news = not set(record.tags) <= known_tags or not set(record.metrics) <= known_metrics
            # New tags or metrics: read the choices and columns again, so they can be used.
            self.refresh(rescan=news or self.facets.total == 0)

    @_shows_errors
    def _rescope(self) -> None:
        """New scope: facets, tag choices, metric choices and columns are read again."""
        self.query = self._scope_query()
        scope_only = RunQuery(
            notebook=self.query.notebook,
            session_id=self.query.session_id,
            repo=self.query.repo,
            marked=self.query.marked,
            cell_hashes=self.query.cell_hashes,
        )
        self.facets = self.store.facets(scope_only, params=False, newest=FACET_SAMPLE)
        # Tags in use keep working even when only older runs have them.
        tags = [tag for tag, _ in self.facets.tags]
        self.tags.allowed_tags = list(dict.fromkeys([*tags, *self.tags.value]))
        names = [name for name, _ in self.facets.metrics]
        keep = self.range_metric.value if self.range_metric.value in names else NO_METRIC
        self.range_metric.options = [("Metric range…", NO_METRIC), *((n, n) for n in names)]
        self.range_metric.value = keep
        preferred = key_metrics(self.facets, limit=1)
        self.history_metric.options = names
        self.history_metric.value = preferred[0] if preferred else None
        self.refresh(new_columns=True)

    def refresh(self, *, new_columns: bool = False, rescan: bool = False) -> None:
        with self._refresh_lock:
            if rescan:
                self._rescope()
            else:
                self._show_page(new_columns)

    def _show_page(self, new_columns: bool) -> None:
        page = self.store.query_runs(self.query)
        if page.total and not page.rows and self.query.offset:
            # Runs went away under us: show the last page that exists.
            last = max(0, (page.total - 1) // self.query.limit * self.query.limit)
            self.query = self.query.with_changes(offset=last)
            page = self.store.query_runs(self.query)
        self.page = page
        if new_columns or not self.columns:
            self.columns = choose_columns(
                self.facets,
                page.rows,
                metrics=self.chosen_metrics,
                params=self.chosen_params,
                team=self.query.notebook is None and self.query.session_id is None,
            )
            self.table.columns = [column.as_dict() for column in self.columns]
        self.table.sort = self.query.sort
        self.table.descending = self.query.descending
        self.table.empty_message = self._empty_message()
        self.table.rows = table_rows(page.rows, self.columns)
        self.previous.disabled = not page.has_previous
        self.next.disabled = not page.has_next
        noun = "run" if page.total == 1 else "runs"
        self.position.value = (
            f"{page.first:,}–{page.last:,} of {page.total:,} {noun}"
            if page.rows
            else f"0 of {page.total:,} {noun}"
        )
        if self.history.selected_index == 0:
            self._draw_history()

    def _empty_message(self) -> str:
        if self.facets.total == 0:
            every = self.query.notebook is None and self.query.session_id is None
            where = "in the store" if every else "for this notebook"
            return f"No runs {where} yet: run a cell that starts with %%track."
        return "No run matches these filters."

    def change_query(self, **changes: Any) -> None:
        """Change the query (back to the first page unless paging) and show the new page."""
        with self._refresh_lock:
            self.query = self.query.with_changes(**changes)
            self.show_message("")
            self.refresh()

    def turn_page(self, step: int) -> None:
        offset = max(0, self.query.offset + step * self.query.limit)
        self._guarded_change(offset=offset)

    def select(self, run_ids: Sequence[str]) -> None:
        self.table.selected = list(run_ids)

    # --- events ----------------------------------------------------------------------------

    @_shows_errors
    def _guarded_change(self, **changes: Any) -> None:
        self.change_query(**changes)

    def _on_text(self, change: dict[str, Any]) -> None:
        self._guarded_change(text=str(change["new"]))

    def _on_status(self, change: dict[str, Any]) -> None:
        self._guarded_change(statuses=(change["new"],) if change["new"] else ())

    def _on_tags(self, change: dict[str, Any]) -> None:
        self._guarded_change(tags=tuple(change["new"]))

    def _on_scope(self, change: dict[str, Any]) -> None:
        self.refresh(rescan=True)

    @_shows_errors
    def _on_range(self, change: dict[str, Any]) -> None:
        metric = self.range_metric.value
        if metric == NO_METRIC:
            self.change_query(metric_ranges=())
            return
        try:
            low = parse_bound(self.range_low.value, "minimum")
            high = parse_bound(self.range_high.value, "maximum")
        except ValueError as error:
            self.show_message(str(error), error=True)
            return
        self.change_query(metric_ranges=(MetricRange(metric, low, high),))

    def _on_sort(self, change: dict[str, Any]) -> None:
        if (self.table.sort, self.table.descending) != (self.query.sort, self.query.descending):
            self._guarded_change(sort=self.table.sort, descending=self.table.descending)

    def _on_page_size(self, change: dict[str, Any]) -> None:
        self._guarded_change(limit=int(change["new"]), offset=0)

    def _on_select(self, change: dict[str, Any]) -> None:
        self._show_comparison()

    @_shows_errors
    def _show_comparison(self) -> None:
        from nbmodelbook.report.comparison import MAX_COMPARED_RUNS, build_comparison
        from nbmodelbook.widgets.compare_view import CompareView

        selected = list(self.table.selected)
        self.clear_selection.disabled = not selected
        if len(selected) < 2:
            hint = (
                "Select two or more runs (tick their rows) to compare them here."
                if not selected
                else "Select one more run to compare."
            )
            self.comparison.children = [widgets.HTML(f"<i>{hint}</i>")]
            return
        shown = selected[:MAX_COMPARED_RUNS]
        records = self.store.get_runs(shown)
        runs = [records[run_id] for run_id in shown if run_id in records]
        if len(runs) < 2:
            self.comparison.children = [widgets.HTML("<i>The selected runs are gone.</i>")]
            return
        note = []
        if len(selected) > len(shown):
            note = [
                widgets.HTML(
                    f"<i>{len(selected)} runs are selected: the first {len(shown)} selected are "
                    "compared. Untick some to compare others.</i>"
                )
            ]
        self.comparison.children = [*note, CompareView(build_comparison(runs))]

    @_shows_errors
    def _on_history(self, change: dict[str, Any]) -> None:
        if self.history.selected_index == 0:
            self._draw_history()

    def _draw_history(self) -> None:
        from nbmodelbook.widgets.charts import history_display

        metric = self.history_metric.value
        if not metric:
            self.history_chart.outputs = ()
            self.history_chart.append_stdout("These runs recorded no metrics.\n")
            return
        newest = self.query.with_changes(
            sort="started_at", descending=True, offset=0, limit=HISTORY_LIMIT
        )
        colour_by = self.history_colour.value
        title = "Run" if colour_by == "name" else "Tag"

        def build() -> list[Any]:
            rows = history_rows(self.store.query_runs(newest).rows, metric, colour_by)
            return [history_display(rows, metric, title)]

        # Reading and drawing thousands of runs takes a while: never inside an interaction.
        self.history_chart.draw(build, background=True, settle=HISTORY_SETTLE_SECONDS)


def history_rows(
    runs: Sequence[dict[str, Any]], metric: str, colour_by: str
) -> list[dict[str, Any]]:
    """Rows for the history chart: one per run, grouped by name or by first tag."""
    rows = []
    for run in runs:
        tags = run.get("tags") or []
        group = str(run["name"]) if colour_by == "name" else str(tags[0] if tags else "(no tag)")
        rows.append(
            {
                "run": str(run["name"]),
                "group": group,
                "started": datetime.fromtimestamp(run["started_at"], tz=UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "value": run["metrics"].get(metric),
                "failed": status_failed(run["status"]),
            }
        )
    return rows
