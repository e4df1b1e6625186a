"""Browsing and comparing runs: the widgets' Python side on a store of 100,000 runs.

Run: python bench/bench_browse.py [--runs 100000] [--calls 7] [--fresh]

The store (20 notebooks, realistic records, 4% failed runs) is filled once through
`RunStore.finish_run` and kept in bench/results/stores/ for later runs (`--fresh` rebuilds it).
A `RunBrowser` is driven as a person would drive it, by setting its controls; each figure is the
median of several interactions, every one with a new value (a new filter text, a new sort
column, the next page), so no cached total is reused where a person would not reuse it:

- opening `browse()` (facets for the scope, first page, columns) for all notebooks and for one;
- typing a filter, choosing a tag, a status, a metric range; sorting by a run column, a metric,
  a param; turning pages, jumping to the last page; typing a filter with the History panel open
  (its chart is redrawn off the notebook's thread);
- `compare()` of 10 runs: records read, comparison built, widget created (charts are drawn
  afterwards off the notebook's thread; their build time is reported separately).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, BenchFailure, Figure, Result, finish, ms, quiet_third_party, table
from _records import RecordFactory, fail

from nbmodelbook.store.query import RunQuery
from nbmodelbook.store.store import RunStore

INTERACTION_BUDGET_MS = 200.0
COMPARE_BUDGET_MS = 300.0
STORE_VERSION = 1  # bump when the records or the schema change
NOTEBOOKS = [f"/team/project/notebook-{n:02d}.ipynb" for n in range(20)]


def store_path(runs: int) -> Path:
    return RESULTS_DIR / "stores" / f"browse-{runs}-v{STORE_VERSION}.sqlite"


def fill(path: Path, runs: int) -> float:
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    store = RunStore.open(str(path))
    factory = RecordFactory(NOTEBOOKS, seed=3)
    chance = random.Random(5)
    start = time.perf_counter()
    for index in range(runs):
        record = factory.make(index)
        store.finish_run(fail(record) if chance.random() < 0.04 else record)
        if index and index % 10_000 == 0:
            print(f"  {index:,} runs written", flush=True)
    elapsed = time.perf_counter() - start
    if store.count() != runs:
        raise BenchFailure(f"the store holds {store.count()} runs, expected {runs}")
    store.close()
    return elapsed


def timed(actions: list[Callable[[], Any]], before: Callable[[], Any] | None = None) -> list[float]:
    samples = []
    for action in actions:
        if before is not None:
            before()  # not timed: what happens between two interactions
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=7, help="interactions timed per kind")
    parser.add_argument("--fresh", action="store_true", help="rebuild the store")
    args = parser.parse_args(argv)
    quiet_third_party()
    result = Result("browse")
    result.details["parameters"] = vars(args)

    path = store_path(args.runs)
    if args.fresh or not path.exists():
        print(f"filling {args.runs:,} runs into {path} (kept for later runs)…", flush=True)
        result.details["fill_s"] = fill(path, args.runs)
    store = RunStore.open(str(path))
    if store.count() != args.runs:
        raise BenchFailure(f"{path} holds {store.count()} runs, not {args.runs}: use --fresh")

    from nbmodelbook.report.comparison import build_comparison
    from nbmodelbook.widgets.browser import RunBrowser
    from nbmodelbook.widgets.charts import comparison_charts
    from nbmodelbook.widgets.compare_view import CompareView

    calls = args.calls
    rows: list[tuple[object, ...]] = []
    figures: dict[str, list[float]] = {}

    def record(label: str, samples: list[float], budget: float | None) -> None:
        summary = ms(samples)
        figures[label] = samples
        rows.append((label, f"{summary.median:.1f}", f"{summary.maximum:.1f}", len(samples)))
        result.add(Figure(label, summary.median, "ms", budget))

    # Opening: a new widget each time (facets and columns are read per widget).
    record(
        f"browse() open, all notebooks ({args.runs:,} runs)",
        timed([lambda: RunBrowser(store, all_notebooks=True) for _ in range(calls)]),
        INTERACTION_BUDGET_MS,
    )
    record(
        f"browse() open, one notebook ({args.runs // len(NOTEBOOKS):,} runs)",
        timed([lambda nb=nb: RunBrowser(store, notebook=nb) for nb in NOTEBOOKS[:calls]]),
        INTERACTION_BUDGET_MS,
    )

    browser = RunBrowser(store, all_notebooks=True)

    def set_value(control: Any, value: Any) -> Callable[[], None]:
        def change() -> None:
            control.value = value
            if browser.message.value and "Could not" in browser.message.value:
                raise BenchFailure(browser.message.value)

        return change

    def reset() -> None:
        browser.text.value = ""
        browser.tags.value = []
        browser.status.value = ""
        browser.range_metric.value = ""

    words = ["gbm", "full", "base-3", "champion", "error", "review", "nomatch", "gbm-full-7"]
    reset()
    record(
        "type a filter text (new words)",
        timed([set_value(browser.text, word) for word in words[:calls]]),
        INTERACTION_BUDGET_MS,
    )
    reset()
    tags = [tag for tag, _ in store.facets(RunQuery()).tags]
    record(
        "choose a tag",
        timed([set_value(browser.tags, [tags[i % len(tags)]]) for i in range(calls)]),
        INTERACTION_BUDGET_MS,
    )
    reset()
    statuses = ["failed", "ok", "error", "", "running", "ok", "failed"]
    record(
        "choose a status",
        timed([set_value(browser.status, statuses[i % len(statuses)]) for i in range(calls)]),
        INTERACTION_BUDGET_MS,
    )
    reset()
    browser.range_metric.value = "auc"

    def bound(low: float) -> Callable[[], None]:
        return set_value(browser.range_low, str(low))

    record(
        "metric range (auc ≥ x)",
        timed([bound(round(0.5 + i * 0.06, 2)) for i in range(calls)]),
        INTERACTION_BUDGET_MS,
    )
    reset()
    browser.range_low.value = ""

    def sort(key: str, descending: bool) -> Callable[[], None]:
        def click() -> None:
            # The front end sends both in one message; the widget applies them together.
            with browser.table.hold_trait_notifications():
                browser.table.descending = descending
                browser.table.sort = key

        return click

    for label, keys in (
        ("sort by a run column", ["name", "duration", "started_at", "status", "user"]),
        ("sort by a metric", ["metrics.auc", "metrics.log_loss", "metrics.f1", "metrics.brier"]),
        ("sort by a param", ["params.max_depth", "params.learning_rate", "params.n_estimators"]),
    ):
        clicks = [sort(keys[i % len(keys)], i % 2 == 0) for i in range(calls)]
        record(label, timed(clicks), INTERACTION_BUDGET_MS)
    sort("started_at", True)()
    record("next page", timed([browser.next.click for _ in range(calls)]), INTERACTION_BUDGET_MS)

    def last_page() -> None:
        total = browser.page.total if browser.page else 0
        browser.change_query(
            offset=max(0, (total - 1) // browser.query.limit * browser.query.limit)
        )

    def first_page() -> None:
        browser.change_query(offset=0)

    record(
        "jump to the last page",
        timed([last_page for _ in range(calls)]),
        INTERACTION_BUDGET_MS,
    )
    first_page()

    # With the History panel open, its chart is redrawn off the notebook's thread.
    browser.history.selected_index = 0
    browser.history_chart.wait(120)
    more_words = ["base", "gbm-base", "review", "tuned", "v2", "candidate", "full-3"]

    def pause() -> None:
        # A person pauses between interactions; the chart is redrawn meanwhile.
        browser.history_chart.wait(120)

    record(
        "type a filter text, History panel open",
        timed([set_value(browser.text, word) for word in more_words[:calls]], before=pause),
        INTERACTION_BUDGET_MS,
    )
    browser.history.selected_index = None
    reset()

    ids = [row["run_id"] for row in store.query_runs(RunQuery(limit=10, statuses=("ok",))).rows]

    def compare() -> None:
        records = store.get_runs(ids)
        CompareView(build_comparison([records[run_id] for run_id in ids]))

    compare()  # the first call imports the widget modules
    record("compare() of 10 runs", timed([compare for _ in range(calls)]), COMPARE_BUDGET_MS)
    records = store.get_runs(ids)
    comparison = build_comparison([records[run_id] for run_id in ids])
    start = time.perf_counter()
    comparison_charts(comparison)  # imports Altair: seconds in a JupyterLab environment
    first_charts = time.perf_counter() - start
    record(
        "  compare() charts, drawn off the notebook's thread",
        timed([lambda: comparison_charts(comparison) for _ in range(calls)]),
        None,
    )
    result.details["first_charts_s"] = first_charts

    print(table(("interaction", "median ms", "max ms", "n"), rows))
    print(f"\nfirst chart build in this process (Altair import included): {first_charts:.2f} s")
    return finish(result)


if __name__ == "__main__":
    sys.exit(main())
