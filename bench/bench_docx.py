"""Writing the review report as Word (.docx): the demo notebook and a 1,000-run review.

Run: python bench/bench_docx.py [--runs 1000] [--rows 10000] [--calls 3] [--no-demo]

The large review is the one `bench_export.py` times as HTML (1,000 runs, a decision citing six,
evidence on a 10,000-row test set); the demo is `demo.ipynb`, executed headless first (not
timed). Timed: the review's view (charts drawn), the HTML pandoc reads (charts as PNG), pandoc
(and its CPU time, which a busy machine does not inflate), restamping the .docx; the HTML
report of the same review beside it; and the whole export (load + build the review, render and
write the .docx) against the report budget (5 s). The bench fails when two renders of one
review differ by a byte.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from _common import REPO_ROOT, Figure, Result, finish, ms, quiet_third_party, table
from bench_export import prepare

from nbmodelbook.report.formats import REPORT_FORMATS
from nbmodelbook.report.load import load_review
from nbmodelbook.report.model import Review
from nbmodelbook.report.render_docx import _run_pandoc, _subtitle, docx_html, finish_package
from nbmodelbook.report.render_docx import review_date as docx_date
from nbmodelbook.report.view import build_view

BUDGET_S = 5.0


def _steps(review: Review, calls: int) -> dict[str, list[float]]:
    """Seconds of each step of a Word render, `calls` times; the HTML report's for comparison."""
    steps: dict[str, list[float]] = {
        "view": [], "html for pandoc": [], "pandoc": [], "pandoc cpu": [], "restamp": [],
        "docx": [], "html": [],
    }  # fmt: skip
    documents = set()
    for _ in range(calls):
        start = time.perf_counter()
        page = build_view(review)
        viewed = time.perf_counter()
        html, pictures = docx_html(page)
        drawn = time.perf_counter()
        cpu = os.times()
        raw = _run_pandoc(html, _subtitle(page))
        converted = time.perf_counter()
        after = os.times()
        # pandoc's own CPU time: what it costs on a machine that is not shared.
        steps["pandoc cpu"].append(
            after.children_user - cpu.children_user + after.children_system - cpu.children_system
        )
        documents.add(finish_package(raw, docx_date(review), pictures.real))
        done = time.perf_counter()
        steps["view"].append(viewed - start)
        steps["html for pandoc"].append(drawn - viewed)
        steps["pandoc"].append(converted - drawn)
        steps["restamp"].append(done - converted)
        steps["docx"].append(done - start)
        with tempfile.TemporaryDirectory() as scratch:
            start = time.perf_counter()
            REPORT_FORMATS["html"].render(review, Path(scratch) / "r.review.html")
            steps["html"].append(time.perf_counter() - start)
    if len(documents) != 1:
        raise SystemExit("two Word renders of the same review differ")
    return steps


def _export(notebook: Path, store: Path, output: Path, calls: int) -> list[float]:
    totals = []
    for _ in range(calls):
        start = time.perf_counter()
        review = load_review(notebook, str(store), progress=lambda _message: None)
        REPORT_FORMATS["docx"].render(review, output)
        totals.append(time.perf_counter() - start)
    return totals


def _demo(folder: Path) -> tuple[Path, Path]:
    notebook = folder / "demo.ipynb"
    shutil.copy(REPO_ROOT / "demo.ipynb", notebook)
    store = folder / "demo.sqlite"
    command = [sys.executable, "-m", "nbmodelbook.cli", "execute", str(notebook)]
    env = {**os.environ, "NBMODELBOOK_STORE": str(store), "PYTHONPATH": str(REPO_ROOT)}
    # From the notebook's folder, as a user runs it (started from bench/ the kernel timed out).
    subprocess.run(command, check=True, env=env, capture_output=True, cwd=folder)
    return notebook, store


def _pictures(path: Path) -> int:
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as package:
        return sum(1 for name in package.namelist() if name.startswith("word/media/"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=10_000, help="test-set rows per evaluation")
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--no-demo", action="store_true", help="skip the demo notebook")
    args = parser.parse_args()
    quiet_third_party()
    result = Result("docx")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        cases = [("large", *prepare(folder, args.runs, args.rows))]
        if not args.no_demo:
            cases.append(("demo", *_demo(folder)))
        for label, notebook, store in cases:
            review = load_review(notebook, str(store), progress=lambda _message: None)
            REPORT_FORMATS["docx"].render(review, folder / "warm.docx")  # vl-convert starts once
            steps = {name: ms(values) for name, values in _steps(review, args.calls).items()}
            output = folder / f"{label}.review.docx"
            total = ms(_export(notebook, store, output, args.calls))
            for name, summary in steps.items():
                rows.append((f"{label}: {name}", summary.median, summary.p90))
            rows.append((f"{label}: load + review + docx + write", total.median, total.p90))
            runs = len(review.history)
            budget = BUDGET_S if label == "large" else None
            result.add(Figure(f"Word report export, {label} ({runs} runs), median",
                              total.median / 1000, "s", budget=budget))  # fmt: skip
            result.add(Figure(f"Word render alone, {label}, median", steps["docx"].median / 1000,
                              "s"))  # fmt: skip
            result.add(Figure(f"Word report size, {label}", output.stat().st_size / 1024, "KB"))
            result.details[label] = {
                "runs": runs,
                "pictures": _pictures(output),
                **{f"{name}_ms": summary.as_dict() for name, summary in steps.items()},
                "export_ms": total.as_dict(),
            }
    print(table(("step", "median ms", "p90 ms"), rows))
    return finish(result)


if __name__ == "__main__":
    raise SystemExit(main())
