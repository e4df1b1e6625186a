"""Exporting the review report of a notebook with 1,000 runs (budget: 5 s).

Run: python bench/bench_export.py [--runs 1000] [--rows 10000] [--calls 3]

A notebook whose decision cites six of its runs (the chosen one and 5 alternatives), a store
holding its 1,000 runs (10 params, 5 metrics, lineage, environment each) with the evidence a
tracked model-fitting cell leaves: every run scored the same 10,000-row test set through
`roc_auc_score`, `log_loss` and `brier_score_loss` on its probabilities and `accuracy_score`
and `f1_score` on its labels at 0.5 (the rows' fingerprint and a `region` segment kept), and one
run in ten a 12-candidate x 3-fold grid search. The models are correlated, as models of one test
set are: each scores a shared latent risk plus its own noise, the chosen one with the least.

Timed: `nbmodelbook report` end to end (read the notebook, load the runs, read the cited runs'
arrays, compute the evidence — intervals, paired comparisons, baseline, segments, search effort —
build the review, render and write the HTML), and each step. The bench fails when the review
holds no interval for the chosen run or fewer than 5 paired comparisons: the budget is measured
with the evidence section computed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
from _common import Figure, Result, finish, ms, quiet_third_party, table
from _records import RecordFactory, grid_search_candidates
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from scipy.special import expit
from scipy.stats import rankdata

from nbmodelbook.record import Evaluation, RunRecord, SegmentLabels
from nbmodelbook.report.formats import REPORT_FORMATS
from nbmodelbook.report.load import load_review
from nbmodelbook.report.model import Review
from nbmodelbook.store.store import RunStore

BUDGET_S = 5.0
ALTERNATIVES = 5
REGIONS = ["north", "south", "east", "west"]
GRID = [(depth, rate) for depth in (2, 3, 4, 6) for rate in (0.03, 0.1, 0.3)]


class TestSet:
    """One held-out test set, scored by every run: labels, a latent risk, a segment column."""

    def __init__(self, rows: int, seed: int = 5) -> None:
        self.rng = np.random.default_rng(seed)
        self.rows = rows
        self.risk = self.rng.normal(size=rows)
        # About 30% positives, driven by the latent risk.
        self.y_true = (self.risk + self.rng.normal(size=rows) > 0.75).astype(np.int64)
        self.regions = SegmentLabels(
            self.rng.integers(0, len(REGIONS), rows).astype(np.int8), list(REGIONS), "automatic"
        )

    def evaluate(self, record: RunRecord, noise: float, search: bool) -> RunRecord:
        """Give `record` the evaluations (and, for a search, the candidates) of a cell whose
        model sees the latent risk through `noise`; its metrics are the ones computed here."""
        rng, y_true = self.rng, self.y_true
        proba = expit(1.6 * (self.risk + noise * rng.normal(size=self.rows)) - 1.2)
        labels = (proba > 0.5).astype(np.int64)
        values = {
            "auc": _auc(y_true, proba),
            "log_loss": float(-np.mean(y_true * np.log(proba) + (1 - y_true) * np.log1p(-proba))),
            "brier": float(np.mean((proba - y_true) ** 2)),
            "accuracy": float(np.mean(labels == y_true)),
            "f1": _f1(y_true, labels),
        }
        functions = {
            "auc": "roc_auc_score",
            "log_loss": "log_loss",
            "brier": "brier_score_loss",
            "accuracy": "accuracy_score",
            "f1": "f1_score",
        }
        record.metrics = dict(values)
        record.evaluations = [
            Evaluation(
                functions[metric],
                metric,
                value,
                y_true=y_true,
                y_score=proba if metric in ("auc", "log_loss", "brier") else None,
                y_pred=labels if metric in ("accuracy", "f1") else None,
                options={"threshold": 0.5} if metric in ("accuracy", "f1") else {},
                segments={"region": self.regions},
                n_total=self.rows,
                rows_fingerprint=f"test-set-{self.rows}",
            )
            for metric, value in values.items()
        ]
        record.candidates = grid_search_candidates(rng, GRID, (0.78, 0.84), 3) if search else []
        return record


def _auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    ranks = rankdata(scores)
    positives = int(y_true.sum())
    negatives = len(y_true) - positives
    return float(
        (ranks[y_true == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def _f1(y_true: np.ndarray, labels: np.ndarray) -> float:
    true_positives = int(np.sum((labels == 1) & (y_true == 1)))
    return 2 * true_positives / (int(labels.sum()) + int(y_true.sum()))


def prepare(folder: Path, runs: int, rows: int) -> tuple[Path, Path]:
    notebook = folder / "model.ipynb"
    store_path = folder / "runs.sqlite"
    store = RunStore.open(str(store_path))
    factory = RecordFactory([str(notebook.resolve())], seed=3)
    test_set = TestSet(rows)
    records = [factory.make(index) for index in range(runs)]
    # The decision cites the last run of six names (`run:NAME` is the latest run of a name):
    # the chosen one, the best model of the notebook, and 5 alternatives.
    last_of_name = {record.name: index for index, record in enumerate(records)}
    cited = list(last_of_name)[: 1 + ALTERNATIVES]
    chosen = last_of_name[cited[0]]
    for index, record in enumerate(records):
        noise = 0.8 if index == chosen else 0.82 + 0.5 * float(test_set.rng.random())
        store.finish_run(test_set.evaluate(record, noise, search=index % 10 == 0))
    store.close()
    others = " and ".join(f"run:{name}" for name in cited[1:])
    decision = (
        f"> [!DECISION] Gradient boosting\n> We chose run:{cited[0]} over {others}. "
        "metric:auc\n\n> [!RISK] Only one data source."
    )
    cells = [new_markdown_cell("# Loan default model"), new_code_cell("%load_ext nbmodelbook")]
    cells.append(new_markdown_cell(decision))
    nbformat.write(new_notebook(cells=cells), notebook)
    return notebook, store_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=10_000, help="test-set rows per evaluation")
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    quiet_third_party()
    result = Result("export")
    with tempfile.TemporaryDirectory() as scratch:
        fill_start = time.perf_counter()
        notebook, store_path = prepare(Path(scratch), args.runs, args.rows)
        fill_s = time.perf_counter() - fill_start
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
        else:
            result.error = _missing_evidence(review)
        size_kb = output.stat().st_size / 1024
    total, load, render = ms(totals), ms(loads), ms(renders)
    print(table(("step", "median ms", "p90 ms"),
                [("load + build review", load.median, load.p90),
                 ("render + write HTML", render.median, render.p90),
                 ("total", total.median, total.p90)]))  # fmt: skip
    result.add(Figure(f"report export, {args.runs} runs, median", total.median / 1000, "s",
                      budget=BUDGET_S))  # fmt: skip
    result.add(Figure("report size", size_kb, "KB"))
    result.details = {
        "load_ms": load.as_dict(),
        "render_ms": render.as_dict(),
        "rows": args.rows,
        "fill_s": fill_s,
    }
    return finish(result)


def _missing_evidence(review: Review) -> str | None:
    """Why the review's evidence section is not what the bench means to time, if it is not."""
    evidence = review.evidence
    if evidence is None:
        return "the review computed no evidence"
    chosen = evidence.chosen_estimate()
    if chosen is None or chosen.estimate is None or chosen.estimate.interval is None:
        return "the chosen run's AUC has no interval"
    if chosen.n != chosen.n_total or chosen.n < 1:
        return f"the chosen run's AUC rests on {chosen.n} of {chosen.n_total} rows"
    paired = [c for c in evidence.comparisons if c.result is not None and c.verdict is not None]
    if len(paired) != ALTERNATIVES:
        return f"{len(paired)} paired comparisons with a verdict, expected {ALTERNATIVES}"
    return None


if __name__ == "__main__":
    raise SystemExit(main())
