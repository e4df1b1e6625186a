"""Acceptance criteria: `> [!CRITERION] auc >= 0.95 [on segment region]`, checked. Pure.

A criterion is a rule on one captured metric of the chosen run:

- `METRIC >= NUMBER` (higher is better) or `METRIC <= NUMBER` (lower is better); `≥`/`≤` are
  accepted, a number may be a percentage (`90%` is 0.9), `metric:auc` is `auc`.
- `... on segment COLUMN` asks for it on every level of a captured segment column as well as
  overall.

Each scope is checked against the figure's interval (the evidence's level, two-sided):

- met: the whole interval is on the right side of the bar (for `>=`, its lower bound is at or
  above it);
- met on the point estimate only: the figure meets the bar but its interval reaches past it, or
  the figure has no interval (no predictions were kept for it), so the evidence cannot show it;
- not met: the figure itself misses the bar;
- not evaluated: the rule cannot be read, no run was chosen, or the chosen run has no such figure.

The criterion's status is its worst scope's, in that order (not met is worst).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nbmodelbook.metric_names import lower_is_better
from nbmodelbook.record import RunRecord
from nbmodelbook.report.evidence import MAX_SEGMENT_LEVELS, EvaluationFigures, ReviewEvidence
from nbmodelbook.report.evidence_view import evaluation_for
from nbmodelbook.report.model import (
    Annotation,
    AnnotationKind,
    Criterion,
    CriterionCheck,
    CriterionStatus,
)
from nbmodelbook.stats.results import Estimate

__all__ = ["RULE_HELP", "check_criteria", "check_criterion", "parse_rule"]

RULE_HELP = (
    "write it as `METRIC >= NUMBER` or `METRIC <= NUMBER`, e.g. `auc >= 0.95 on segment region`"
)

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf"
# The metric is whatever precedes the operator: names the capture makes up, such as
# `accuracy (2)` for a second unassigned call, hold spaces and brackets.
_RULE = re.compile(
    rf"""^\s*(?:metric:)?(?P<metric>[^<>=≤≥]*?[^\s<>=≤≥])\s*
    (?P<op><=|>=|≤|≥|=<|=>|<|>|==|=)\s*
    (?P<number>{_NUMBER})\s*(?P<percent>%)?
    (?:\s+on\s+(?:segment\s+)?(?P<segment>[\w.\-]*[\w\-]))?
    \s*\.?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Metrics whose bar is a floor; those `metric_names.lower_is_better` knows have a ceiling.
_HIGHER_IS_BETTER = frozenset(
    {
        "auc",
        "roc_auc",
        "val_auc",
        "test_auc",
        "gini",
        "accuracy",
        "balanced_accuracy",
        "f1",
        "precision",
        "recall",
        "sensitivity",
        "specificity",
        "average_precision",
        "r2",
    }
)
_OPERATORS = {">=": ">=", "≥": ">=", "=>": ">=", "<=": "<=", "≤": "<=", "=<": "<="}
# Worst first: a criterion is as good as its worst scope.
_SEVERITY = (
    CriterionStatus.NOT_MET,
    CriterionStatus.NOT_EVALUATED,
    CriterionStatus.MET_ON_POINT,
    CriterionStatus.MET,
)


@dataclass(frozen=True, slots=True)
class Rule:
    metric: str
    operator: str  # ">=" | "<="
    threshold: float
    segment: str | None
    percent: bool = False  # written as a percentage: the figure must be a share, not 0-100


def parse_rule(text: str) -> Rule | str:
    """The rule in `text`, or a sentence saying why it cannot be read."""
    match = _RULE.match(text.replace("\u2212", "-"))
    if match is None:
        return f"the rule {text.strip()!r} could not be read: {RULE_HELP}"
    operator = _OPERATORS.get(match.group("op"))
    if operator is None:
        return (
            f"the rule {text.strip()!r} uses {match.group('op')!r}: a criterion is a bar to "
            "reach, so use >= (higher is better) or <= (lower is better)"
        )
    threshold = float(match.group("number")) / (100.0 if match.group("percent") else 1.0)
    if not math.isfinite(threshold):
        return f"the rule {text.strip()!r} has no finite bar: {RULE_HELP}"
    metric = match.group("metric").strip()
    if metric.lower() in _HIGHER_IS_BETTER and operator == "<=":
        return f"{metric} is higher-is-better, so its bar is `{metric} >= NUMBER`, not `<=`"
    if lower_is_better(metric) and operator == ">=":
        return f"{metric} is lower-is-better, so its bar is `{metric} <= NUMBER`, not `>=`"
    return Rule(metric, operator, threshold, match.group("segment"), bool(match.group("percent")))


def check_criteria(
    annotations: Sequence[Annotation],
    runs: Mapping[str, RunRecord],
    chosen_run_id: str | None,
    evidence: ReviewEvidence | None,
) -> list[Criterion]:
    """Every `CRITERION` annotation, checked on the chosen run, in notebook order."""
    chosen = runs.get(chosen_run_id) if chosen_run_id else None
    return [
        check_criterion(annotation, chosen, evidence)
        for annotation in annotations
        if annotation.kind is AnnotationKind.CRITERION
    ]


def check_criterion(
    annotation: Annotation, chosen: RunRecord | None, evidence: ReviewEvidence | None
) -> Criterion:
    text, rule = _rule_of(annotation)
    if isinstance(rule, str):
        return _unchecked(annotation, text, None, rule)
    if chosen is None:
        return _unchecked(
            annotation, text, rule, "no run was chosen: a decision must cite the chosen run"
        )
    metric = _metric_name(rule.metric, chosen, evidence)
    if metric is None:
        return _unchecked(annotation, text, rule, _unknown_metric(rule.metric, chosen), chosen)
    figures: EvaluationFigures | None = evaluation_for(evidence, chosen.run_id, metric)
    recorded = chosen.metrics.get(metric)
    reasons = [f"checked on run {chosen.name}"]
    shown = figures.value if figures is not None else None
    if (
        figures is not None
        and recorded is not None
        and shown is not None
        and not _same(shown, recorded)
    ):
        # `gini = 2 * roc_auc_score(...) - 1`: the evidence is the call's, not the metric's.
        reasons.append(
            f"the figure behind {metric} is what {figures.function} returned "
            f"({shown:.4g}), not {metric} ({recorded:.4g}), so it has no interval"
        )
        figures = None
    estimate = figures.estimate if figures is not None else None
    if estimate is not None:
        overall = _check("overall", estimate, rule)
    elif recorded is not None and not math.isnan(recorded):
        overall = CriterionCheck(
            "overall", recorded, None, None, _status(recorded, None, None, rule)
        )
    else:
        return _unchecked(annotation, text, rule, f"run {chosen.name} has no {metric}", chosen)
    if rule.percent and overall.value is not None and abs(overall.value) > 1:
        return _unchecked(
            annotation,
            text,
            rule,
            f"the bar is a percentage ({rule.threshold * 100:g}% = {rule.threshold:g}) but "
            f"{metric} is {overall.value:.4g}: on a 0-100 scale write the bar without %",
            chosen,
        )
    if estimate is None or estimate.interval is None:
        why = (estimate.reason if estimate is not None else None) or (
            figures.reason if figures is not None else None
        )
        if why is None and figures is None and len(reasons) == 1:
            why = "no predictions were kept for it"
        if why:
            reasons.append(f"{metric} has no interval ({why})")
    checks = [overall]
    if rule.segment is not None:
        level_checks, problem = _segment_checks(rule, figures, chosen, metric)
        checks.extend(level_checks)
        if problem:
            reasons.append(problem)
    status = min((check.status for check in checks), key=_SEVERITY.index)
    return Criterion(
        annotation=annotation,
        text=text,
        metric=metric,
        operator=rule.operator,
        threshold=rule.threshold,
        segment=rule.segment,
        status=status,
        checks=tuple(checks),
        reason="; ".join(reasons),
        run_id=chosen.run_id,
    )


def _rule_of(annotation: Annotation) -> tuple[str, Rule | str]:
    """The rule of a criterion: its title, else the first line of its body that reads as one
    (`[!CRITERION] Discrimination` then `auc >= 0.9`)."""
    title = annotation.title.strip()
    lines = [line.strip() for line in annotation.body.split("\n") if line.strip()]
    first = title or (lines[0] if lines else "")
    rule = parse_rule(first)
    if isinstance(rule, str) and title:
        for line in lines[:5]:
            found = parse_rule(line)
            if isinstance(found, Rule):
                return line, found
    return first, rule


def _segment_checks(
    rule: Rule, figures: EvaluationFigures | None, chosen: RunRecord, metric: str
) -> tuple[list[CriterionCheck], str | None]:
    """A check per level of the rule's segment column, and what kept any from being checked."""
    assert rule.segment is not None
    levels = [s for s in (figures.segments if figures else ()) if s.segment == rule.segment]
    if not levels:
        captured = sorted({s.segment for s in (figures.segments if figures else ())})
        raw = next(
            (
                labels
                for evaluation in chosen.evaluations
                if evaluation.metric == metric
                for name, labels in evaluation.segments.items()
                if name == rule.segment
            ),
            None,
        )
        if raw is not None:
            problem = (
                f"segment {rule.segment!r} has {len(raw.levels):,} levels, more than the "
                f"{MAX_SEGMENT_LEVELS} checked one by one"
            )
        else:
            problem = (
                f"{metric} of run {chosen.name} has no segment {rule.segment!r}"
                + (f" (captured: {', '.join(captured)})" if captured else " (none captured)")
                + "; pass the column to the metric call or log_predictions(segments=...)"
            )
        scope = f"{rule.segment} (every level)"
        return [CriterionCheck(scope, None, None, None, CriterionStatus.NOT_EVALUATED)], problem
    checks = []
    reasons: list[str] = []
    for level in levels:
        scope = f"{rule.segment} = {level.level}"
        if level.estimate is None:
            checks.append(
                CriterionCheck(scope, None, None, None, CriterionStatus.NOT_EVALUATED, level.n)
            )
            if level.reason:
                reasons.append(level.reason)
        else:
            checks.append(_check(scope, level.estimate, rule))
    if not reasons:
        return checks, None
    listed = "; ".join(dict.fromkeys(reasons))
    return checks, f"{metric} could not be checked on every level of {rule.segment}: {listed}"


def _same(a: float | None, b: float) -> bool:
    if a is None:
        return False
    return a == b or abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _check(scope: str, estimate: Estimate, rule: Rule) -> CriterionCheck:
    interval = estimate.interval
    lower = interval.low if interval is not None else None
    upper = interval.high if interval is not None else None
    return CriterionCheck(
        scope,
        estimate.value,
        lower,
        upper,
        _status(estimate.value, lower, upper, rule),
        estimate.n,
        interval.method if interval is not None else None,
    )


def _status(value: float, lower: float | None, upper: float | None, rule: Rule) -> CriterionStatus:
    if math.isnan(value):
        return CriterionStatus.NOT_EVALUATED
    higher = rule.operator == ">="
    if (value < rule.threshold) if higher else (value > rule.threshold):
        return CriterionStatus.NOT_MET
    bound = lower if higher else upper
    if bound is None or not math.isfinite(bound):
        return CriterionStatus.MET_ON_POINT
    if (bound >= rule.threshold) if higher else (bound <= rule.threshold):
        return CriterionStatus.MET
    return CriterionStatus.MET_ON_POINT


def _metric_name(written: str, run: RunRecord, evidence: ReviewEvidence | None) -> str | None:
    """The run's metric the rule names: exactly, else ignoring case."""
    names = set(run.metrics)
    figures = evidence.runs.get(run.run_id) if evidence is not None else None
    if figures is not None:
        names.update(item.metric for item in figures.evaluations)
    if written in names:
        return written
    folded = [name for name in sorted(names) if name.lower() == written.lower()]
    return folded[0] if folded else None


def _unknown_metric(written: str, run: RunRecord) -> str:
    names = sorted(run.metrics)
    close = difflib.get_close_matches(written, names, 1, 0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    listed = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "") if names else "none"
    return f"run {run.name} recorded no metric {written!r}{hint} (it recorded: {listed})"


def _unchecked(
    annotation: Annotation,
    text: str,
    rule: Rule | None,
    reason: str,
    chosen: RunRecord | None = None,
) -> Criterion:
    return Criterion(
        annotation=annotation,
        text=text,
        metric=rule.metric if rule else None,
        operator=rule.operator if rule else None,
        threshold=rule.threshold if rule else None,
        segment=rule.segment if rule else None,
        status=CriterionStatus.NOT_EVALUATED,
        checks=(),
        reason=reason,
        run_id=chosen.run_id if chosen else None,
    )
