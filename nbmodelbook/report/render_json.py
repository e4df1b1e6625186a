"""The review model as JSON (`"schema": "nbmodelbook.review/1"`): for pipelines and later reviews.

Deterministic bytes for the same inputs: keys sorted, floats rounded to 6 significant digits
(the runs' own start and end times, epoch seconds, are kept whole), non-finite numbers as the
strings "NaN", "Infinity", "-Infinity" (as the store writes them), no time but the runs' own.
Pure: `review_json(review)` returns the text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nbmodelbook.record import RunRecord
from nbmodelbook.report.changes import ReviewChanges, text_sha256
from nbmodelbook.report.changes_view import changes_summary
from nbmodelbook.report.coverage import coverage_payload
from nbmodelbook.report.evidence import (
    Comparison,
    EvaluationFigures,
    FoldScores,
    ReviewEvidence,
    RunFigures,
    SearchFigures,
    SelectionEffect,
    WeakSegment,
)
from nbmodelbook.report.evidence_view import baseline_sentence
from nbmodelbook.report.model import Criterion, Fact, Review
from nbmodelbook.stats.results import Estimate, Interval

__all__ = ["SCHEMA", "review_json", "review_payload"]

SCHEMA = "nbmodelbook.review/1"
SIGNIFICANT_DIGITS = 6
_EXACT_KEYS = frozenset({"started_at", "ended_at"})  # times, not figures: never rounded


def review_json(review: Review) -> str:
    """The review as JSON text, sorted keys, two-space indent, a final newline."""
    return json.dumps(review_payload(review), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def review_payload(review: Review) -> dict[str, Any]:
    evidence = review.evidence
    payload: dict[str, Any] = _clean(
        {
            "schema": SCHEMA,
            "title": review.title,
            "notebook": review.notebook,
            "level": evidence.level if evidence else None,
            "chosen": _chosen(review, evidence),
            "decisions": [
                {
                    "title": decision.annotation.title,
                    "chosen_run_id": decision.chosen_run_id,
                    "alternative_run_ids": list(decision.alternative_run_ids),
                    "metric": decision.headline_metric,
                    "missing_refs": list(decision.evidence.missing_refs),
                    "text_sha256": text_sha256(decision.annotation),
                }
                for decision in review.decisions
            ],
            "runs": [
                _run(review.runs[run_id], evidence.runs.get(run_id) if evidence else None)
                for run_id in review.history
                if run_id in review.runs
            ],
            "comparisons": [_comparison(c) for c in evidence.comparisons] if evidence else [],
            "baseline": _baseline(evidence),
            "search_effort": _effort(evidence),
            "selection_effect": _selection(evidence.selection_effect) if evidence else None,
            "searches": [_search(s) for s in evidence.searches] if evidence else [],
            "weak_segments": [_weak(w) for w in evidence.weak_segments] if evidence else [],
            "findings": [
                {
                    "code": finding.code,
                    "severity": finding.severity.value,
                    "run_ids": list(finding.run_ids),
                    "message": f"{finding.title}: {finding.detail}",
                }
                for finding in review.findings
            ],
            "evidence_reason": evidence.reason if evidence else "no evidence figures",
            "facts": [_fact(fact) for fact in review.facts],
            "criteria": [_criterion(criterion) for criterion in review.criteria],
            "coverage": coverage_payload(review.coverage),
        }
    )
    if review.changes is not None:  # only with an earlier review: otherwise the same bytes
        payload["changes"] = _clean(_changes(review.changes))
    return payload


def _changes(changes: ReviewChanges) -> dict[str, Any]:
    return {**changes.as_dict(), "summary": changes_summary(changes)}


def _fact(fact: Fact) -> dict[str, Any]:
    return {
        "key": fact.key,
        "label": fact.label,
        "text": fact.text,
        "source": fact.source,
        "cell": fact.cell_index + 1 if fact.cell_index is not None else None,
    }


def _criterion(criterion: Criterion) -> dict[str, Any]:
    overall = criterion.checks[0] if criterion.checks else None
    return {
        "text": criterion.text,
        "metric": criterion.metric,
        "operator": criterion.operator,
        "threshold": criterion.threshold,
        "segment": criterion.segment,
        "status": criterion.status.value,
        "run_id": criterion.run_id,
        "value": overall.value if overall else None,
        "lower": overall.lower if overall else None,
        "upper": overall.upper if overall else None,
        "reason": criterion.reason,
        "cell": criterion.annotation.cell_index + 1,
        "checks": [
            {
                "scope": check.scope,
                "value": check.value,
                "lower": check.lower,
                "upper": check.upper,
                "method": check.method,
                "rows": check.rows,
                "status": check.status.value,
            }
            for check in criterion.checks
        ],
    }


def _interval(interval: Interval | None) -> dict[str, Any] | None:
    if interval is None:
        return None
    return {
        "low": interval.low,
        "high": interval.high,
        "level": interval.level,
        "method": interval.method,
    }


def _chosen(review: Review, evidence: ReviewEvidence | None) -> dict[str, Any] | None:
    run_id = review.chosen_run_id
    if run_id is None:
        return None
    metric = review.summary.headline_metric
    figures = evidence.chosen_estimate() if evidence else None
    estimate = figures.estimate if figures else None
    value = estimate.value if estimate else review.summary.headline_value
    return {
        "run_id": run_id,
        "metric": metric,
        "value": value,
        "n": estimate.n if estimate else None,
        "interval": _interval(estimate.interval) if estimate else None,
        "reason": _estimate_reason(figures, estimate, evidence),
    }


def _estimate_reason(
    figures: EvaluationFigures | None, estimate: Estimate | None, evidence: ReviewEvidence | None
) -> str | None:
    if figures is None:
        return (evidence.reason if evidence else None) or "no predictions kept for this metric"
    if estimate is None or estimate.interval is None:
        return figures.reason or (estimate.reason if estimate else None)
    return None


def _run(run: RunRecord, figures: RunFigures | None) -> dict[str, Any]:
    if figures is None:
        reason: str | None = "not cited by a decision: its evidence is not read"
    else:
        reason = figures.reason
    return {
        "run_id": run.run_id,
        "name": run.name,
        "status": run.status.value,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "metrics": dict(run.metrics),
        "evaluations": [_evaluation(e) for e in figures.evaluations] if figures else [],
        "candidates": [_fold(f) for f in figures.folds] if figures else [],
        "evidence_reason": reason,
    }


def _evaluation(figures: EvaluationFigures) -> dict[str, Any]:
    estimate = figures.estimate
    confusion = figures.confusion
    return {
        "metric": figures.metric,
        "function": figures.function,
        "value": figures.value,
        "n": figures.n,
        "n_total": figures.n_total,
        "rows_fingerprint": figures.rows_fingerprint,
        "interval": _interval(estimate.interval) if estimate else None,
        "reason": figures.reason,
        "confusion": None
        if confusion is None
        else {
            "tp": confusion.tp,
            "fp": confusion.fp,
            "tn": confusion.tn,
            "fn": confusion.fn,
            "positive_label": confusion.positive_label,
            "negative_label": confusion.negative_label,
            "sensitivity": confusion.sensitivity,
            "specificity": confusion.specificity,
            "sentence": confusion.sentence,
        },
        "segments": [
            {
                "column": segment.segment,
                "level": segment.level,
                "n": segment.n,
                "value": segment.estimate.value if segment.estimate else None,
                "interval": _interval(segment.estimate.interval) if segment.estimate else None,
                "reason": segment.reason or (segment.estimate.reason if segment.estimate else None),
            }
            for segment in figures.segments
        ],
        "folds": list(figures.folds),
    }


def _fold(fold: FoldScores) -> dict[str, Any]:
    return {
        "source": fold.source,
        "group": fold.group,
        "index": fold.index,
        "params": fold.params,
        "scorer": fold.scorer,
        "folds": list(fold.scores),
        "mean": fold.mean,
        "std": fold.std,
        "chosen": fold.chosen,
    }


def _comparison(comparison: Comparison) -> dict[str, Any]:
    result = comparison.result
    return {
        "run_id": comparison.run_id,
        "other_run_id": comparison.other_run_id,
        "metric": comparison.metric,
        "difference": result.difference if result else None,
        "interval": _interval(result.interval) if result else None,
        "p_value": result.p_value if result else None,
        "p_value_holm": comparison.adjusted_p_value,
        "n": result.n if result else None,
        "method": result.method if result else None,
        "verdict": comparison.verdict,
        "reason": comparison.reason,
    }


def _baseline(evidence: ReviewEvidence | None) -> dict[str, Any] | None:
    baseline = evidence.baseline if evidence else None
    if baseline is None or evidence is None:
        return None
    return {
        "metric": baseline.metric,
        "value": baseline.value,
        "strategy": baseline.strategy,
        "model_value": baseline.model_value,
        "sentence": baseline_sentence(evidence),  # as page 1 words it
    }


def _effort(evidence: ReviewEvidence | None) -> dict[str, Any] | None:
    if evidence is None:
        return None
    effort = evidence.effort
    return {
        "runs": effort.runs,
        "candidates": effort.candidates,
        "configurations": effort.configurations,
        "model_families": list(effort.model_families),
        "family_configurations": [
            {"family": family, "configurations": count}
            for family, count in effort.family_configurations
        ],
    }


def _selection(effect: SelectionEffect | None) -> dict[str, Any] | None:
    if effect is None:
        return None
    return {
        "configurations": effect.configurations,
        "k": effect.k,
        "same_rows": effect.same_rows,
        "runs_on_same_rows": effect.runs_on_same_rows,
        "standard_error": effect.standard_error,
        "expected_max": effect.expected_max,
        "optimism": effect.optimism,
        "method": effect.method,
    }


def _search(search: SearchFigures) -> dict[str, Any]:
    return {
        "run_id": search.run_id,
        "source": search.source,
        "group": search.group,
        "scorer": search.scorer,
        "chosen_index": search.chosen_index,
        "chosen_rank": search.chosen_rank,
        "candidates": [
            {
                "index": candidate.index,
                "params": candidate.params,
                "mean": candidate.mean,
                "rank": candidate.rank,
                "chosen": candidate.chosen,
            }
            for candidate in search.candidates
        ],
        "grid_edges": [
            {
                "param": edge.param,
                "value": edge.value,
                "values": list(edge.values),
                "side": edge.side,
            }
            for edge in search.edges
        ],
    }


def _weak(weak: WeakSegment) -> dict[str, Any]:
    return {
        "column": weak.segment,
        "level": weak.level,
        "n": weak.n,
        "value": weak.value,
        "interval": _interval(weak.interval),
        "overall": weak.overall,
        "test": weak.test,
    }


def _clean(value: Any) -> Any:
    """JSON-ready and reproducible: floats rounded, non-finite ones named, numpy scalars and
    arrays as Python values, mapping keys as text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, np.generic):
        return _clean(value.item())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, Mapping):
        return {
            str(key): item if key in _EXACT_KEYS and isinstance(item, float) else _clean(item)
            for key, item in value.items()
        }
    if isinstance(value, Sequence):
        return [_clean(item) for item in value]
    return str(value)
