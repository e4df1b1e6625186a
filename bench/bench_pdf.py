"""Writing the review report as an A4 PDF (WeasyPrint), for a notebook with many runs.

Run: python bench/bench_pdf.py [--runs 200] [--rows 10000] [--calls 2]
                              [--notebook build/demo.ipynb --store .nbmodelbook/runs.sqlite]

The large review is the export bench's (`bench_export.prepare`): a decision citing six of the
notebook's runs, each scored on the same test set, one run in ten a grid search. With
`--notebook` (an executed notebook, e.g. the demo after `make demo`) that notebook's review is
timed as well. The review is built once; timed, per call: the HTML of the print layout (view and
template), WeasyPrint's layout of the pages, and the PDF written from them (fonts subset,
charts drawn). Wall and CPU time are both given: WeasyPrint is single-threaded Python, so CPU
time is what it costs on a quiet machine. No budget: the figures are reported.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import Figure, Result, finish, ms, quiet_third_party, table
from bench_export import prepare

from nbmodelbook.report.load import load_review
from nbmodelbook.report.model import Review


def _time_pdf(review: Review, calls: int) -> dict[str, object]:
    import weasyprint

    from nbmodelbook.report.render_pdf import render_html_for_print

    steps: dict[str, list[float]] = {"html": [], "layout": [], "write": [], "total": [], "cpu": []}
    pages = size = 0
    for _ in range(calls):
        cpu = time.process_time()
        start = time.perf_counter()
        html = render_html_for_print(review)
        built = time.perf_counter()
        document = weasyprint.HTML(string=html).render()
        laid_out = time.perf_counter()
        data = document.write_pdf()
        done = time.perf_counter()
        steps["html"].append(built - start)
        steps["layout"].append(laid_out - built)
        steps["write"].append(done - laid_out)
        steps["total"].append(done - start)
        steps["cpu"].append(time.process_time() - cpu)
        pages, size = len(document.pages), len(data)
    return {"steps": {name: ms(values) for name, values in steps.items()}, "pages": pages,
            "size_kb": size / 1024}  # fmt: skip


def _report(result: Result, label: str, timed: dict[str, object]) -> None:
    steps = timed["steps"]
    assert isinstance(steps, dict)
    print(f"\n{label}: {timed['pages']} pages, {timed['size_kb']:.0f} KB")
    print(table(("step", "median ms", "p90 ms"),
                [("view + template (HTML)", steps["html"].median, steps["html"].p90),
                 ("WeasyPrint layout", steps["layout"].median, steps["layout"].p90),
                 ("write PDF", steps["write"].median, steps["write"].p90),
                 ("total (wall)", steps["total"].median, steps["total"].p90),
                 ("total (CPU)", steps["cpu"].median, steps["cpu"].p90)]))  # fmt: skip
    result.add(Figure(f"PDF, {label}, median wall", steps["total"].median / 1000, "s"))
    result.add(Figure(f"PDF, {label}, median CPU", steps["cpu"].median / 1000, "s"))
    result.add(Figure(f"PDF, {label}, pages", float(str(timed["pages"])), "pages"))
    result.details[label] = {name: summary.as_dict() for name, summary in steps.items()} | {
        "pages": timed["pages"],
        "size_kb": timed["size_kb"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rows", type=int, default=10_000, help="test-set rows per evaluation")
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--notebook", type=Path, help="an executed notebook to time as well")
    parser.add_argument("--store", help="its store (default: the notebook's)")
    args = parser.parse_args()
    quiet_third_party()
    result = Result("pdf")
    if args.notebook is not None:
        review = load_review(args.notebook, args.store, progress=lambda _message: None)
        _report(result, args.notebook.name, _time_pdf(review, args.calls))
    with tempfile.TemporaryDirectory() as scratch:
        notebook, store_path = prepare(Path(scratch), args.runs, args.rows)
        review = load_review(notebook, str(store_path), progress=lambda _message: None)
        if len(review.history) != args.runs:
            result.error = f"the review holds {len(review.history)} runs, expected {args.runs}"
        _report(result, f"{args.runs} runs", _time_pdf(review, args.calls))
    return finish(result)


if __name__ == "__main__":
    raise SystemExit(main())
