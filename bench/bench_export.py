"""Exporting the review report of a notebook with 1,000 runs (budget: 5 s).

Run: python bench/bench_export.py [--runs 1000] [--calls 3]

A notebook whose decision cites three of its runs, a store holding its 1,000 runs (10 params,
5 metrics, lineage, environment each): the time of `nbmodelbook report` end to end (read the
notebook, load the runs, build the review, render and write the HTML), and of each step.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat
from _common import Figure, Result, finish, ms, quiet_third_party, table
from _records import RecordFactory
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbmodelbook.report.formats import REPORT_FORMATS
from nbmodelbook.report.load import load_review
from nbmodelbook.store.store import RunStore

BUDGET_S = 5.0


def prepare(folder: Path, runs: int) -> tuple[Path, Path]:
    notebook = folder / "model.ipynb"
    store_path = folder / "runs.sqlite"
    store = RunStore.open(str(store_path))
    factory = RecordFactory([str(notebook.resolve())], seed=3)
    names = []
    for index in range(runs):
        record = factory.make(index)
        names.append(record.name)
        store.finish_run(record)
    store.close()
    cited = list(dict.fromkeys(names))[:3]
    decision = (
        f"> [!DECISION] Gradient boosting\n> We chose run:{cited[0]} over run:{cited[1]} and "
        f"run:{cited[2]}. metric:auc\n\n> [!RISK] Only one data source."
    )
    cells = [new_markdown_cell("# Loan default model"), new_code_cell("%load_ext nbmodelbook")]
    cells.append(new_markdown_cell(decision))
    nbformat.write(new_notebook(cells=cells), notebook)
    return notebook, store_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    quiet_third_party()
    result = Result("export")
    with tempfile.TemporaryDirectory() as scratch:
        notebook, store_path = prepare(Path(scratch), args.runs)
        output = Path(scratch) / "model.review.html"
        totals, loads, renders = [], [], []
        for _ in range(args.calls):
            start = time.perf_counter()
            review = load_review(notebook, str(store_path), progress=lambda _message: None)
            loaded = time.perf_counter()
            REPORT_FORMATS["html"].render(review, output)
            done = time.perf_counter()
            totals.append(done - start)
            loads.append(loaded - start)
            renders.append(done - loaded)
        if len(review.history) != args.runs:
            result.error = f"the review holds {len(review.history)} runs, expected {args.runs}"
        size_kb = output.stat().st_size / 1024
    total, load, render = ms(totals), ms(loads), ms(renders)
    print(table(("step", "median ms", "p90 ms"),
                [("load + build review", load.median, load.p90),
                 ("render + write HTML", render.median, render.p90),
                 ("total", total.median, total.p90)]))  # fmt: skip
    result.add(Figure(f"report export, {args.runs} runs, median", total.median / 1000, "s",
                      budget=BUDGET_S))  # fmt: skip
    result.add(Figure("report size", size_kb, "KB"))
    result.details = {"load_ms": load.as_dict(), "render_ms": render.as_dict()}
    return finish(result)


if __name__ == "__main__":
    raise SystemExit(main())
