"""Acceptance criteria in words and rounded figures, for the report and the audit. Pure.

A figure beside a bar is printed with enough decimals that it falls on the same side of the bar
as the unrounded figure: "0.950" is never shown for an AUC of 0.9496 that misses 0.95.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from nbmodelbook.report.evidence_view import MAX_DECIMALS, decimals_for, format_level
from nbmodelbook.report.model import Criterion, CriterionCheck, CriterionStatus
from nbmodelbook.stats.results import Interval

__all__ = [
    "check_figure",
    "criteria_view",
    "criterion_detail",
    "criterion_sentence",
    "format_bar",
]

_MAX_SIDE_DECIMALS = MAX_DECIMALS + 2  # only to keep a figure on its side of the bar
_SYMBOLS = {">=": "≥", "<=": "≤"}
# The badge each status wears (the audit's severity colours).
STATUS_BADGE = {
    CriterionStatus.MET: "ok",
    CriterionStatus.MET_ON_POINT: "medium",
    CriterionStatus.NOT_MET: "high",
    CriterionStatus.NOT_EVALUATED: "high",
}


def format_bar(criterion: Criterion) -> str:
    """ "auc ≥ 0.95" (as written, with the operator as a symbol), or the rule as written."""
    if criterion.metric is None or criterion.operator is None or criterion.threshold is None:
        return criterion.text
    return f"{criterion.metric} {_SYMBOLS[criterion.operator]} {criterion.threshold:g}"


def check_figure(check: CriterionCheck, criterion: Criterion, level: float) -> str:
    """ "0.962 (95% CI 0.941–0.978)", on the right side of the bar; "—" without a figure."""
    if check.value is None or not math.isfinite(check.value):
        return "—"
    interval = _interval(check, level)
    digits = decimals_for(interval, check.value)
    threshold = criterion.threshold
    higher = criterion.operator != "<="
    while digits < MAX_DECIMALS and interval is not None and _prints_as_zero(interval, digits):
        digits += 1
    if threshold is not None:
        while digits < _MAX_SIDE_DECIMALS and not _same_side(check, threshold, higher, digits):
            digits += 1
    value = _fixed(check.value, digits)
    if interval is None:
        return value
    low = _floor(interval.low, digits)
    high = _ceil(interval.high, digits)
    separator = " to " if low < 0 else "–"
    return (
        f"{value} ({format_level(level)} CI {_fixed(low, digits)}{separator}{_fixed(high, digits)})"
    )


def criterion_sentence(criterion: Criterion, level: float, run_label: str | None) -> str:
    """One sentence for the audit and `check`: the bar, the verdict, the figures."""
    detail = criterion_detail(criterion, level, run_label)
    return f"{format_bar(criterion)}: {criterion.status.value}; {detail}"


def criterion_detail(criterion: Criterion, level: float, run_label: str | None) -> str:
    """The figures behind a criterion's verdict, for a line that shows the verdict already."""
    if criterion.status is CriterionStatus.NOT_EVALUATED and not criterion.checks:
        return f"not evaluated: {criterion.reason}."
    overall = criterion.checks[0] if criterion.checks else None
    on = f" of {run_label}" if run_label else ""
    figure = check_figure(overall, criterion, level) if overall is not None else "—"
    text = f"{criterion.metric}{on} is {figure}"
    failing = [check for check in criterion.checks[1:] if check.status is not CriterionStatus.MET]
    if criterion.segment is not None and len(criterion.checks) > 1:
        levels = len(criterion.checks) - 1
        if failing:
            shown = "; ".join(
                f"{check.scope}: {check_figure(check, criterion, level)} ({check.status.value})"
                for check in failing[:3]
            )
            more = f" and {len(failing) - 3} more" if len(failing) > 3 else ""
            text += (
                f"; {len(failing)} of {levels} levels of {criterion.segment} fall short "
                f"({shown}{more})"
            )
        else:
            text += f"; met on all {levels} levels of {criterion.segment}"
    if criterion.status is CriterionStatus.MET_ON_POINT and overall is not None:
        if overall.lower is None:
            text += " (no interval: the evidence cannot show the bar is reached)"
        elif not failing or overall.status is CriterionStatus.MET_ON_POINT:
            text += " (its interval reaches past the bar)"
    return text + "."


def criteria_view(
    criteria: Sequence[Criterion], level: float, labels: dict[str, str]
) -> dict[str, Any]:
    """The acceptance-criteria section: one row per criterion, one per scope inside it."""
    rows = []
    for number, criterion in enumerate(criteria, start=1):
        rows.append(
            {
                "number": number,
                "bar": format_bar(criterion),
                "status": criterion.status.value,
                "badge": STATUS_BADGE[criterion.status],
                "cell": criterion.annotation.cell_index + 1,
                "sentence": criterion_sentence(
                    criterion, level, labels.get(criterion.run_id or "")
                ),
                "detail": criterion_detail(criterion, level, labels.get(criterion.run_id or "")),
                "reason": criterion.reason,
                "body": criterion.annotation.body,
                "checks": [
                    {
                        "scope": check.scope,
                        "figure": check_figure(check, criterion, level),
                        "rows": f"{check.rows:,}" if check.rows is not None else "—",
                        "method": check.method or "no interval",
                        "status": check.status.value,
                        "badge": STATUS_BADGE[check.status],
                    }
                    for check in criterion.checks
                ],
            }
        )
    counts = {
        status.value: sum(1 for c in criteria if c.status is status) for status in CriterionStatus
    }
    return {
        "rows": rows,
        "level": format_level(level),
        "counts": [(name, count) for name, count in counts.items() if count],
        "all_met": bool(criteria) and all(c.status.passes for c in criteria),
    }


def _interval(check: CriterionCheck, level: float) -> Interval | None:
    if check.lower is None or check.upper is None:
        return None
    if not (math.isfinite(check.lower) and math.isfinite(check.upper)):
        return None
    return Interval(check.lower, check.upper, level, check.method or "")


def _prints_as_zero(interval: Interval, digits: int) -> bool:
    """Whether a bound that is not zero would print as zero, rounded outwards."""
    low, high = _floor(interval.low, digits), _ceil(interval.high, digits)
    return (interval.low != 0 and low == 0) or (interval.high != 0 and high == 0)


def _same_side(check: CriterionCheck, threshold: float, higher: bool, digits: int) -> bool:
    """Whether the printed value and the printed bound compare to the bar as the true ones."""
    assert check.value is not None
    shown = float(_fixed(check.value, digits))
    if (shown >= threshold) != (check.value >= threshold) or (shown <= threshold) != (
        check.value <= threshold
    ):
        return False
    bound = check.lower if higher else check.upper
    if bound is None or not math.isfinite(bound):
        return True
    printed = _floor(bound, digits) if higher else _ceil(bound, digits)
    if higher:
        return (printed >= threshold) == (bound >= threshold)
    return (printed <= threshold) == (bound <= threshold)


def _floor(value: float, digits: int) -> float:
    scale = 10.0**digits
    return math.floor(round(value * scale, 9)) / scale


def _ceil(value: float, digits: int) -> float:
    scale = 10.0**digits
    return math.ceil(round(value * scale, 9)) / scale


def _fixed(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text
