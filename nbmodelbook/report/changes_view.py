"""The "Changes since the last review" section of the view: `page["changes"]`.

Built from `review.changes` (None without `--since`: the section is left out). Figures are
rounded here, both sides of a change at the same decimals, so "0.998 → 0.997" never hides a
difference in rounding. Strings are still untrusted text (titles, rules, run names).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from nbmodelbook.report.changes import (
    Change,
    ChosenChange,
    CriterionChange,
    DecisionChange,
    FindingChange,
    Measured,
    ReviewChanges,
)
from nbmodelbook.report.evidence_view import decimals_for, format_interval, format_level
from nbmodelbook.report.model import Review, Severity
from nbmodelbook.stats.results import Interval

__all__ = ["MAX_RUNS_LISTED", "changes_summary", "changes_view", "figure_text"]

MAX_RUNS_LISTED = 30  # added or removed runs named one by one; past it, "and N more"
_MINUS = "−"
_SEVERITIES = frozenset(severity.value for severity in Severity)


def changes_view(review: Review, ref: Callable[[str], Any]) -> dict[str, Any] | None:
    """The section's content, or None when no earlier review was given. `ref` makes a run
    reference the templates link (`view.ReviewContext.ref`)."""
    changes = review.changes
    if changes is None:
        return None
    added = changes.runs_added
    removed = changes.runs_removed
    return {
        "summary": _sentence(changes, capital=True),
        "clause": _sentence(changes, capital=False),
        "previous": {
            "title": changes.previous_title,
            "notebook": changes.previous_notebook,
            "runs": changes.previous_runs,
            "other_notebook": changes.notebook_changed,
        },
        "chosen": _chosen_rows(changes.chosen),
        "runs_added": [ref(entry.run_id) for entry in added[:MAX_RUNS_LISTED]],
        "runs_added_more": max(0, len(added) - MAX_RUNS_LISTED),
        "runs_added_count": len(added),
        "runs_removed": [entry.label for entry in removed[:MAX_RUNS_LISTED]],
        "runs_removed_more": max(0, len(removed) - MAX_RUNS_LISTED),
        "runs_removed_count": len(removed),
        "decisions": [_decision_row(change) for change in changes.decisions],
        "rationale_note": None
        if changes.rationale_compared
        else "The earlier review did not record the decisions' text, so edits to a rationale "
        "cannot be seen; the chosen run, the alternatives and the metric are compared.",
        "criteria": [_criterion_row(change) for change in changes.criteria or ()],
        "criteria_note": "Acceptance criteria were not recorded in the earlier review, so "
        "they cannot be compared."
        if changes.criteria is None
        else None,
        "findings": [_finding_row(change) for change in changes.findings],
        "unchanged": _unchanged(changes),
        "level_note": None
        if changes.levels is None
        else f"The earlier review's intervals were at {format_level(changes.levels[0])}, this "
        f"one's at {format_level(changes.levels[1])}: intervals, verdicts and criteria may differ "
        "for that reason alone.",
    }


# ---------------------------------------------------------------------------------------------
# Figures


def _fixed(value: float, decimals: int) -> str:
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.{decimals}f}"
    if text.lstrip("-").strip("0.") == "":  # -0.000 is 0.000
        text = text.lstrip("-")
    return text.replace("-", _MINUS)


def _interval(figure: Measured) -> Interval | None:
    if figure.lower is None or figure.upper is None:
        return None
    return Interval(figure.lower, figure.upper, figure.level or 0.95, figure.method or "")


def _decimals(*figures: Measured | None) -> int:
    """Decimals both sides of a change are shown at: the finer of what each one deserves."""
    found = [
        decimals_for(_interval(figure), figure.value)
        for figure in figures
        if figure is not None and figure.value is not None
    ]
    return max(found, default=3)


def figure_text(figure: Measured | None, decimals: int | None = None) -> str:
    """ "0.998 (95% CI 0.994–1.000)", "0.998 (0.994–1.000)" without a level, or the value."""
    if figure is None or figure.value is None:
        return "—"
    digits = _decimals(figure) if decimals is None else decimals
    text = _fixed(figure.value, digits)
    interval = _interval(figure)
    if interval is None:
        return text
    bounds = format_interval(interval, digits)
    if figure.level is None:
        return f"{text} ({bounds})"
    return f"{text} ({format_level(figure.level)} CI {bounds})"


# ---------------------------------------------------------------------------------------------
# Rows


def _chosen_rows(chosen: ChosenChange) -> dict[str, Any] | None:
    before, after = chosen.before, chosen.after
    if before is None and after is None:
        return None
    digits = _decimals(before.figure if before else None, after.figure if after else None)
    metrics = [figure.metric for figure in (before, after) if figure and figure.metric]
    return {
        "before": before.label if before else "none",
        "after": after.label if after else "none",
        "run_changed": chosen.run_changed,
        "metric": " / ".join(dict.fromkeys(metrics)) or None,
        "metric_changed": chosen.metric_changed,
        "figure_before": _headline(before, digits, chosen.metric_changed),
        "figure_after": _headline(after, digits, chosen.metric_changed),
        "figure_changed": chosen.figure_changed,
    }


def _headline(figure: Any, digits: int, name_it: bool) -> str:
    if figure is None:
        return "—"
    text = figure_text(figure.figure, digits)
    return f"{figure.metric} {text}" if name_it and figure.metric else text


def _fields(items: Sequence[Any]) -> list[dict[str, str]]:
    return [{"field": item.name, "before": item.before, "after": item.after} for item in items]


def _decision_row(change: DecisionChange) -> dict[str, Any]:
    return {
        "change": change.change.value,
        "title": change.title or "untitled decision",
        "chosen": change.chosen,
        "fields": _fields(change.fields),
    }


def _status(status: str | None, figure: Measured | None, digits: int) -> str:
    if status is None:
        return "—"
    if figure is None or figure.value is None:
        return status
    return f"{status}: {figure_text(figure, digits)}"


def _criterion_row(change: CriterionChange) -> dict[str, Any]:
    digits = _decimals(change.figure_before, change.figure_after)
    return {
        "change": change.change.value,
        "text": change.text,
        "before": _status(change.status_before, change.figure_before, digits),
        "after": _status(change.status_after, change.figure_after, digits),
        "status_changed": change.status_before != change.status_after,
        "passes_now": change.status_after == "met",
        "fields": _fields(change.fields),
    }


def _finding_row(change: FindingChange) -> dict[str, Any]:
    severity = change.severity_after or change.severity_before or ""
    return {
        "change": change.change.value,
        "code": change.code,
        "title": change.title,
        "runs": list(change.runs),
        "severity": severity,
        # A badge's style, for a grade this nbmodelbook knows (the earlier file may say anything).
        "badge": severity if severity in _SEVERITIES else "kind",
        "before": change.severity_before or "—",
        "after": change.severity_after or "—",
    }


def _unchanged(changes: ReviewChanges) -> list[str]:
    """The parts with nothing to report, named once instead of a "no change" row each."""
    same = []
    if not changes.runs_added and not changes.runs_removed:
        same.append("runs")
    if not changes.decisions:
        same.append("decisions")
    if changes.criteria is not None and not changes.criteria:
        same.append("acceptance criteria")
    if not changes.findings:
        same.append("audit findings")
    return same


# ---------------------------------------------------------------------------------------------
# The one-line summary


def _count(items: Sequence[Any], kind: Change) -> int:
    return sum(1 for item in items if item.change is kind)


def _counted(number: int, noun: str, plural: str, verb: str) -> str:
    return f"{number} {noun if number == 1 else plural} {verb}"


def _chosen_clause(chosen: ChosenChange) -> list[str]:
    before, after = chosen.before, chosen.after
    parts: list[str] = []
    if before is None and after is None:
        return parts
    if not chosen.run_changed:
        parts.append("the chosen run is unchanged")
    elif before is None and after is not None:
        parts.append(f"a run is now chosen: {after.label}")
    elif after is None and before is not None:
        parts.append(f"no run is chosen any more; the earlier review's was {before.label}")
    elif before is not None and after is not None:
        # "instead of": a label ends in its short id's parentheses already.
        parts.append(f"the chosen run is now {after.label} instead of {before.label}")
    if before is None or after is None:
        return parts
    if chosen.metric_changed:
        parts.append(f"judged on {after.metric or 'no metric'} now (was {before.metric or 'none'})")
        return parts
    if before.figure.value is None or after.figure.value is None or after.metric is None:
        return parts
    digits = _decimals(before.figure, after.figure)
    old, new = _fixed(before.figure.value, digits), _fixed(after.figure.value, digits)
    parts.append(
        f"{after.metric} {old} → {new}" if old != new else f"{after.metric} {new} as before"
    )
    return parts


def _sentence(changes: ReviewChanges, *, capital: bool) -> str:
    parts: list[str] = []
    if changes.runs_added:
        parts.append(_counted(len(changes.runs_added), "run", "runs", "added"))
    if changes.runs_removed:
        parts.append(
            _counted(
                len(changes.runs_removed), "run", "runs", "no longer among this notebook's runs"
            )
        )
    parts += _chosen_clause(changes.chosen)
    for kind in (Change.ADDED, Change.CHANGED, Change.REMOVED):
        number = _count(changes.decisions, kind)
        if number:
            parts.append(_counted(number, "decision", "decisions", kind.value))
    for kind in (Change.ADDED, Change.CHANGED, Change.REMOVED):
        number = _count(changes.criteria or (), kind)
        if number:
            parts.append(_counted(number, "criterion", "criteria", kind.value))
    for kind, verb in (
        (Change.OPENED, "opened"),
        (Change.CLOSED, "closed"),
        (Change.SEVERITY, "changed severity"),
    ):
        number = _count(changes.findings, kind)
        if number:
            parts.append(_counted(number, "finding", "findings", verb))
    if changes.nothing_changed:
        parts = ["nothing changed", *parts]
    text = "; ".join(parts) or "nothing changed"
    if capital:
        return text[:1].upper() + text[1:] + "."
    return text


def changes_summary(changes: ReviewChanges) -> str:
    """The section's one line: "3 runs added; the chosen run is unchanged; auc 0.998 → 0.997;
    1 finding closed." """
    return _sentence(changes, capital=True)
