"""Acceptance criteria in words and rounded figures, for the report and the audit. Pure.

A figure beside a bar is printed with enough decimals that it falls on the same side of the bar
as the unrounded figure: "0.950" is never shown for an AUC of 0.9496 that misses 0.95.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from nbmodelbook.report.evidence_view import decimals_for, format_level
from nbmodelbook.report.model import Criterion, CriterionCheck, CriterionStatus
from nbmodelbook.stats.results import Interval

__all__ = [
    "check_figure",
    "criteria_view",
    "criterion_detail",
    "criterion_sentence",
    "format_bar",
]

_MAX_DIGITS = 17  # enough for any float to print as itself
_SYMBOLS = {">=": "≥", "<=": "≤"}
# The badge each status wears (the audit's severity colours).
_LEVEL_WORDS = {
    CriterionStatus.NOT_MET: "fall short",
    CriterionStatus.MET_ON_POINT: "meet it on the point estimate only",
    CriterionStatus.NOT_EVALUATED: "could not be checked",
}
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
    return f"{criterion.metric} {_SYMBOLS[criterion.operator]} {criterion.threshold:.15g}"


def check_figure(check: CriterionCheck, criterion: Criterion, level: float) -> str:
    """ "0.962 (95% CI 0.941–0.978)", on the right side of the bar; "—" without a figure.

    Decimals as the interval supports, more while a figure that is not zero would print as
    zero or a printed figure would sit on the other side of the bar than the true one; figures
    below 1e-4 or from 1e6 up are written with significant digits instead."""
    if check.value is None or math.isnan(check.value):
        return "—"
    if math.isinf(check.value):
        return "∞" if check.value > 0 else "−∞"
    interval = _interval(check, level)
    figures = [check.value] + ([interval.low, interval.high] if interval is not None else [])
    scientific = any(x != 0 and not 1e-4 <= abs(x) < 1e6 for x in figures)
    digits = 3 if scientific else decimals_for(interval, check.value)
    while digits < _MAX_DIGITS and not _readable(check, interval, criterion, digits, scientific):
        digits += 1
    value = _text(check.value, digits, scientific)
    if interval is None:
        return value
    low = _shown(interval.low, digits, scientific, down=True)
    high = _shown(interval.high, digits, scientific, down=False)
    separator = " to " if low < 0 else "–"
    low_text, high_text = _text(low, digits, scientific), _text(high, digits, scientific)
    return f"{value} ({format_level(level)} CI {low_text}{separator}{high_text})"


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
        for status, words in _LEVEL_WORDS.items():
            these = [check for check in failing if check.status is status]
            if not these:
                continue
            shown = "; ".join(
                f"{check.scope}: {check_figure(check, criterion, level)}" for check in these[:3]
            )
            more = f" and {len(these) - 3} more" if len(these) > 3 else ""
            text += (
                f"; {len(these)} of {levels} levels of {criterion.segment} {words} ({shown}{more})"
            )
        if not failing:
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


def _shown(value: float, digits: int, scientific: bool, *, down: bool) -> float:
    """The figure as printed: a bound rounded outwards (fixed decimals), else to nearest."""
    if scientific:
        return float(f"{value:.{digits}g}")
    if down:
        return _floor(value, digits)
    return _ceil(value, digits)


def _readable(
    check: CriterionCheck,
    interval: Interval | None,
    criterion: Criterion,
    digits: int,
    scientific: bool,
) -> bool:
    """No figure that is not zero prints as zero, and each printed figure compares to the bar
    as the true one does."""
    assert check.value is not None
    value = float(f"{check.value:.{digits}g}") if scientific else round(check.value, digits)
    shown = [(check.value, value)]
    if interval is not None:
        shown.append((interval.low, _shown(interval.low, digits, scientific, down=True)))
        shown.append((interval.high, _shown(interval.high, digits, scientific, down=False)))
    if any(true != 0 and printed == 0 for true, printed in shown):
        return False
    threshold = criterion.threshold
    if threshold is None:
        return True
    if criterion.operator == "<=":
        return all((printed <= threshold) == (true <= threshold) for true, printed in shown)
    return all((printed >= threshold) == (true >= threshold) for true, printed in shown)


def _text(value: float, digits: int, scientific: bool) -> str:
    if scientific:
        return f"{value:.{digits}g}".replace("-", "\u2212")
    return _fixed(value, digits)


def _floor(value: float, digits: int) -> float:
    scale = 10.0**digits
    return math.floor(round(value * scale, 9)) / scale


def _ceil(value: float, digits: int) -> float:
    scale = 10.0**digits
    return math.ceil(round(value * scale, 9)) / scale


def _fixed(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text
