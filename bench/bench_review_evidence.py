"""The evidence figures of a review: what computing them costs at the sizes the store keeps.

Run: python bench/bench_review_evidence.py [--rows 10000 1000000] [--calls 5] [--quick]

A chosen run and 5 alternatives, each with the evidence a tracked cell leaves for a binary
classifier scored on one shared test set: `roc_auc_score` on its scores and `accuracy_score` on
its predictions at 0.5 (both with their rows' fingerprint). `report.evidence.review_evidence`
computes, for all six runs, each metric's interval (DeLong, Wilson) and confusion counts, then the
chosen run against the 5 alternatives on the decision's metric (DeLong paired for AUC, McNemar
for accuracy), Holm, the baseline and the search effort. Reported, median of `--calls` calls
after a warm-up:

- decision on AUC: the figures (intervals, paired tests) within <= 100 ms at 10,000 rows and
  <= 2 s at 1,000,000 (the store keeps at most 1,000,000 rows per evaluation: above that a seeded
  sample); the whole section, with the ROC/precision-recall curves of the six runs and the chosen
  run's reliability diagram with its ECE interval, within <= 2 s at 1,000,000;
- decision on accuracy, reported only; and on log loss, each run also carrying a `log_loss`
  evaluation (bootstrap intervals and the paired bootstrap, the path of every metric without a
  closed form), reported only.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
from _common import BenchFailure, Figure, Result, finish, ms, quiet_third_party, table

from nbmodelbook.record import Evaluation, RunRecord, RunStatus, code_hash
from nbmodelbook.report.evidence import review_evidence

ALTERNATIVES = 5
BUDGETS_MS = {10_000: 100.0, 1_000_000: 2000.0}  # intervals and paired tests
SECTION_BUDGETS_MS = {1_000_000: 2000.0}  # the whole evidence section, curves included


def make_runs(rows: int, seed: int = 0, log_loss: bool = False) -> dict[str, RunRecord]:
    rng = np.random.default_rng(seed)
    y_true = (rng.random(rows) < 0.3).astype(np.int64)
    fingerprint = code_hash(f"rows-{rows}-{seed}")
    runs: dict[str, RunRecord] = {}
    for index in range(1 + ALTERNATIVES):
        signal = 1.2 - 0.1 * index  # the chosen run separates the classes best
        logits = signal * (2 * y_true - 1) + rng.normal(size=rows)
        scores = 1 / (1 + np.exp(-logits))
        predicted = scores > 0.5
        evaluations = [
            Evaluation(
                "roc_auc_score",
                "auc",
                0.0,
                y_true,
                y_score=scores,
                n_total=rows,
                rows_fingerprint=fingerprint,
            ),
            Evaluation(
                "accuracy_score",
                "accuracy",
                float(np.mean(predicted == y_true)),
                y_true,
                y_pred=predicted,
                options={"threshold": 0.5, "threshold_op": ">"},
                n_total=rows,
                rows_fingerprint=fingerprint,
            ),
        ]
        if log_loss:
            evaluations.append(
                Evaluation(
                    "log_loss",
                    "log_loss",
                    0.5,
                    y_true,
                    y_score=scores,
                    n_total=rows,
                    rows_fingerprint=fingerprint,
                )
            )
        run_id = f"{index:032x}"
        runs[run_id] = RunRecord(
            run_id=run_id,
            name=f"model-{index}",
            started_at=1_700_000_000.0 + index,
            code=f"%%track model-{index}",
            code_hash=code_hash(f"model-{index}"),
            status=RunStatus.OK,
            params={"model": "LogisticRegression", "model.C": 10.0**-index},
            metrics={e.metric: float(e.value or 0.0) for e in evaluations},
            evaluations=evaluations,
        )
    return runs


def timed(
    runs: dict[str, RunRecord], metric: str, calls: int, *, curves: bool
) -> tuple[list[float], Any]:
    ids = list(runs)
    chosen, alternatives = ids[0], ids[1:]
    figures = review_evidence(runs, chosen, alternatives, metric, curves=curves)  # warm-up
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        again = review_evidence(runs, chosen, alternatives, metric, curves=curves)
        samples.append(time.perf_counter() - start)
        if [c.result for c in again.comparisons] != [c.result for c in figures.comparisons]:
            raise BenchFailure("review_evidence is not deterministic")
    if len(figures.comparisons) != ALTERNATIVES or any(
        c.verdict is None for c in figures.comparisons
    ):
        raise BenchFailure(f"{metric}: not every alternative was compared")
    return samples, figures


def main() -> int:
    quiet_third_party()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer rows and calls")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.calls = [10_000, 100_000], 3
    result = Result("review_evidence")
    rows_table: list[tuple[object, ...]] = []
    try:
        for rows in args.rows:
            standard = make_runs(rows)
            with_loss = make_runs(rows, log_loss=True)
            for metric, curves in (
                ("auc", False),
                ("auc", True),
                ("accuracy", True),
                ("log_loss", True),
            ):
                runs = with_loss if metric == "log_loss" else standard
                samples, figures = timed(runs, metric, args.calls, curves=curves)
                summary = ms(samples)
                verdicts = ", ".join(sorted({c.verdict or "-" for c in figures.comparisons}))
                what = "with curves" if curves else "figures only"
                rows_table.append(
                    (
                        f"{rows:,} rows, decision on {metric}, {what}",
                        summary.n,
                        summary.median,
                        summary.p90,
                        verdicts,
                    )
                )
                result.details[f"{rows}:{metric}:{what}"] = summary.as_dict()
                budget = None
                if metric == "auc":
                    # The figures alone within the interval budget; the whole section, curves
                    # included, within the 1,000,000-row one.
                    budget = BUDGETS_MS.get(rows) if not curves else SECTION_BUDGETS_MS.get(rows)
                result.add(
                    Figure(
                        f"chosen vs {ALTERNATIVES} alternatives, {rows:,} rows, {metric}, {what}",
                        summary.median,
                        "ms",
                        budget,
                    )
                )
    except BenchFailure as exc:
        result.error = str(exc)
    print(table(("measure", "calls", "median ms", "p90 ms", "verdicts"), rows_table))
    return finish(result)


if __name__ == "__main__":
    sys.exit(main())
