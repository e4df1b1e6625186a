"""What changed since the last review: runs, decisions, criteria, the chosen model, findings.

A committee reviews the same model several times. `review_changes(previous, review)` compares the
JSON of the earlier review (`nbmodelbook report NB --format json`, read by `read_previous_review`)
with the review being built, and keeps only what a reader needs: the changes themselves, never the
earlier review. Pure: no I/O but the loader's.

Both sides are compared in the JSON's own terms (the current review is put through the same
`review_payload`), so rounding and wording can never make an unchanged figure look changed.
Runs are matched by id, decisions by title (then position), criteria by their rule as written
(then metric and segment), findings by code and runs (then their wording).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from nbmodelbook.errors import NotFound, UsageError
from nbmodelbook.report.model import Annotation, Criterion, Review

__all__ = [
    "SCHEMA_FAMILY",
    "SCHEMA_VERSION",
    "Change",
    "ChosenChange",
    "ChosenFigure",
    "CriterionChange",
    "DecisionChange",
    "FieldChange",
    "FindingChange",
    "Measured",
    "ReviewChanges",
    "RunEntry",
    "read_previous_review",
    "review_changes",
    "text_sha256",
]

SCHEMA_FAMILY = "nbmodelbook.review/"
SCHEMA_VERSION = 1  # the newest review schema this nbmodelbook reads (render_json.SCHEMA's)
_HOW = (
    "--since takes the JSON of an earlier review, as `nbmodelbook report NB --format json` "
    "writes it"
)


class Change(StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"
    OPENED = "opened"  # findings
    CLOSED = "closed"
    SEVERITY = "severity changed"


@dataclass(frozen=True, slots=True)
class RunEntry:
    run_id: str
    label: str  # "name (short id)"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One thing that differs, in words: "chosen run", "rf (018bcf…)" -> "gbm (018bd0…)"."""

    name: str  # "title" | "chosen run" | "alternatives" | "judged on" | "rationale" | ...
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class DecisionChange:
    change: Change  # added | changed | removed
    title: str  # the decision's title now (its earlier title when removed)
    chosen: str | None  # the chosen run's label (now; before when removed)
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class Measured:
    """A figure as the JSON holds it: the value and its interval's bounds when it has one."""

    value: float | None
    lower: float | None = None
    upper: float | None = None
    level: float | None = None
    method: str | None = None


@dataclass(frozen=True, slots=True)
class CriterionChange:
    change: Change  # added | changed | removed
    text: str  # the rule as written now (before when removed)
    status_before: str | None
    status_after: str | None
    figure_before: Measured | None
    figure_after: Measured | None
    fields: tuple[FieldChange, ...] = ()  # the rule's parts that changed


@dataclass(frozen=True, slots=True)
class ChosenFigure:
    run_id: str
    label: str
    metric: str | None
    figure: Measured


@dataclass(frozen=True, slots=True)
class ChosenChange:
    before: ChosenFigure | None
    after: ChosenFigure | None

    @property
    def run_changed(self) -> bool:
        return _run_id(self.before) != _run_id(self.after)

    @property
    def metric_changed(self) -> bool:
        return _metric(self.before) != _metric(self.after)

    @property
    def figure_changed(self) -> bool:
        before = self.before.figure if self.before else None
        after = self.after.figure if self.after else None
        if before is None or after is None:
            return before is not after
        return not _same_figure(before, after) or not _same_number(before.level, after.level)


@dataclass(frozen=True, slots=True)
class FindingChange:
    change: Change  # opened | closed | severity changed
    code: str
    title: str
    run_ids: tuple[str, ...]
    runs: tuple[str, ...]  # the runs' labels
    severity_before: str | None
    severity_after: str | None


@dataclass(frozen=True, slots=True)
class ReviewChanges:
    previous_title: str | None
    previous_notebook: str | None
    previous_runs: int
    runs_added: tuple[RunEntry, ...]
    runs_removed: tuple[RunEntry, ...]
    decisions: tuple[DecisionChange, ...]
    chosen: ChosenChange
    findings: tuple[FindingChange, ...]
    # None: the earlier review recorded no criteria (older JSON), so none could be compared.
    criteria: tuple[CriterionChange, ...] | None
    # False: the earlier review kept no hash of the decisions' rationale, so edits to it are not
    # seen (only the chosen run, the alternatives and the metric are compared).
    rationale_compared: bool = True
    notebook_changed: bool = False  # the earlier review was of another notebook
    # The confidence levels of the earlier and this review's intervals, when they differ.
    levels: tuple[float, float] | None = None

    @property
    def nothing_changed(self) -> bool:
        return not (
            self.runs_added
            or self.runs_removed
            or self.decisions
            or self.criteria
            or self.findings
            or self.chosen.run_changed
            or self.chosen.metric_changed
            or self.chosen.figure_changed
        )

    def as_dict(self) -> dict[str, Any]:
        """The changes as JSON-ready values (the JSON report's `"changes"`)."""

        def fields(items: Sequence[FieldChange]) -> list[dict[str, str]]:
            return [{"field": f.name, "before": f.before, "after": f.after} for f in items]

        def measured(figure: Measured | None) -> dict[str, Any] | None:
            if figure is None:
                return None
            return {
                "value": figure.value,
                "lower": figure.lower,
                "upper": figure.upper,
                "level": figure.level,
                "method": figure.method,
            }

        def chosen(figure: ChosenFigure | None) -> dict[str, Any] | None:
            if figure is None:
                return None
            return {
                "run_id": figure.run_id,
                "label": figure.label,
                "metric": figure.metric,
                **(measured(figure.figure) or {}),
            }

        def runs(entries: Sequence[RunEntry]) -> list[dict[str, str]]:
            return [{"run_id": entry.run_id, "label": entry.label} for entry in entries]

        return {
            "previous": {
                "title": self.previous_title,
                "notebook": self.previous_notebook,
                "runs": self.previous_runs,
                "other_notebook": self.notebook_changed,
            },
            "runs_added": runs(self.runs_added),
            "runs_removed": runs(self.runs_removed),
            "decisions": [
                {
                    "change": d.change.value,
                    "title": d.title,
                    "chosen": d.chosen,
                    "fields": fields(d.fields),
                }
                for d in self.decisions
            ],
            "rationale_compared": self.rationale_compared,
            "criteria_recorded_before": self.criteria is not None,
            "criteria": [
                {
                    "change": c.change.value,
                    "text": c.text,
                    "status_before": c.status_before,
                    "status_after": c.status_after,
                    "before": measured(c.figure_before),
                    "after": measured(c.figure_after),
                    "fields": fields(c.fields),
                }
                for c in self.criteria or ()
            ],
            "chosen": {
                "before": chosen(self.chosen.before),
                "after": chosen(self.chosen.after),
                "run_changed": self.chosen.run_changed,
                "figure_changed": self.chosen.figure_changed,
            },
            "findings": [
                {
                    "change": f.change.value,
                    "code": f.code,
                    "title": f.title,
                    "run_ids": list(f.run_ids),
                    "severity_before": f.severity_before,
                    "severity_after": f.severity_after,
                }
                for f in self.findings
            ],
        }


def _run_id(figure: ChosenFigure | None) -> str | None:
    return figure.run_id if figure else None


def _metric(figure: ChosenFigure | None) -> str | None:
    return figure.metric if figure else None


# ---------------------------------------------------------------------------------------------
# Reading the earlier review


def read_previous_review(path: Path) -> dict[str, Any]:
    """The earlier review's JSON, read whole (it may be the very file about to be overwritten)
    and checked to be a review this nbmodelbook can compare with; else a UsageError (or
    NotFound) that says what to give instead."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no such file: {path} ({_HOW})") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a review: {_HOW}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UsageError(f"{path} is not JSON ({_short(exc)}): {_HOW}") from None
    if not isinstance(payload, dict):
        raise UsageError(f'{path} is not an nbmodelbook review (it has no "schema"): {_HOW}')
    schema = payload.get("schema")
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_FAMILY):
        said = f'its "schema" is {schema!r}' if isinstance(schema, str) else 'it has no "schema"'
        raise UsageError(f"{path} is not an nbmodelbook review ({said}): {_HOW}")
    version = schema.removeprefix(SCHEMA_FAMILY)
    if not version.isdigit():
        raise UsageError(f"{path} has an unknown review schema {schema!r}: {_HOW}")
    if int(version) > SCHEMA_VERSION:
        raise UsageError(
            f"{path} was written by a newer nbmodelbook (schema {schema}; this one reads up to "
            f"{SCHEMA_FAMILY}{SCHEMA_VERSION}): upgrade nbmodelbook to compare with it"
        )
    for key in ("runs", "decisions", "findings"):
        items = payload.get(key)
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise UsageError(
                f'{path} is not a complete nbmodelbook review: its "{key}" is not a list of '
                f"objects. {_HOW}"
            )
    if not all(isinstance(run.get("run_id"), str) for run in payload["runs"]):
        raise UsageError(f"{path} is not a complete nbmodelbook review: a run has no id. {_HOW}")
    criteria = payload.get("criteria")
    if criteria is not None and (
        not isinstance(criteria, list) or not all(isinstance(item, dict) for item in criteria)
    ):
        raise UsageError(f'{path}: its "criteria" is not a list of objects. {_HOW}')
    if payload.get("chosen") is not None and not isinstance(payload["chosen"], dict):
        raise UsageError(f'{path}: its "chosen" is not an object. {_HOW}')
    problem = _odd_value(payload)
    if problem is not None:
        raise UsageError(f"{path} holds {problem}, which nbmodelbook never writes. {_HOW}")
    return payload


# Keys whose values this module reads as text.
_TEXT_KEYS = frozenset(
    {
        "code",
        "message",
        "severity",
        "text",
        "segment",
        "metric",
        "status",
        "name",
        "title",
        "run_id",
        "operator",
        "method",
        "label",
        "reason",
        "text_sha256",
        "notebook",
    }
)
_LARGEST = 1e300  # past this a figure is no figure (and formatting it overflows)


def _odd_value(value: Any, key: str = "", depth: int = 0) -> str | None:
    """The first value of a shape no review holds: text that is not text, a number out of
    range, nesting deeper than any review's."""
    if depth > 40:
        return "values nested too deep"
    if key in _TEXT_KEYS and not (value is None or isinstance(value, str)):
        return f'a "{key}" that is not text'
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int | float):
        return None if abs(value) <= _LARGEST else f'a number out of range under "{key}"'
    if isinstance(value, list):
        return next((p for item in value if (p := _odd_value(item, key, depth + 1))), None)
    if isinstance(value, dict):
        return next(
            (p for k, item in value.items() if (p := _odd_value(item, str(k), depth + 1))), None
        )
    return None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:119] + "…"


def text_sha256(annotation: Annotation) -> str:
    """A stable hash of an annotation's text (its body), blind to line endings and trailing
    spaces: a later review sees the rationale was edited without carrying the text."""
    lines = [line.rstrip() for line in annotation.body.replace("\r\n", "\n").split("\n")]
    return hashlib.sha256("\n".join(lines).strip("\n").encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Comparing


def review_changes(previous: Mapping[str, Any], review: Review) -> ReviewChanges:
    """What changed between the earlier review's JSON and `review` (not yet carrying changes)."""
    # Imported here: render_json writes `review.changes`, and so reaches this module.
    from nbmodelbook.report.render_json import review_payload

    current = review_payload(review)
    previous_names = {
        str(run["run_id"]): str(run.get("name") or "")
        for run in _objects(previous.get("runs"))
        if isinstance(run.get("run_id"), str)
    }

    def label(run_id: str) -> str:
        if run_id in review.runs:
            return review.run_label(run_id)
        name = previous_names.get(run_id)
        return f"{name} ({run_id[:12]})" if name else run_id

    before_ids = list(previous_names)
    after_ids = [run_id for run_id in review.history if run_id in review.runs]
    before_set, after_set = set(before_ids), set(after_ids)
    decisions, rationale_compared = _decision_changes(
        _objects(previous.get("decisions")), _objects(current.get("decisions")), label
    )
    criteria = None
    if isinstance(previous.get("criteria"), list):
        now = current.get("criteria")
        criteria = _criterion_changes(
            _objects(previous["criteria"]),
            _objects(now) if isinstance(now, list) else _criteria_entries(review.criteria),
        )
    notebook = previous.get("notebook")
    return ReviewChanges(
        previous_title=_text(previous.get("title")),
        previous_notebook=_text(notebook),
        previous_runs=len(before_ids),
        runs_added=tuple(RunEntry(i, label(i)) for i in after_ids if i not in before_set),
        runs_removed=tuple(RunEntry(i, label(i)) for i in before_ids if i not in after_set),
        decisions=tuple(decisions),
        chosen=ChosenChange(
            _chosen(previous.get("chosen"), label), _chosen(current.get("chosen"), label)
        ),
        findings=tuple(
            _finding_changes(_objects(previous.get("findings")), review, current, label)
        ),
        criteria=None if criteria is None else tuple(criteria),
        rationale_compared=rationale_compared,
        notebook_changed=isinstance(notebook, str) and notebook != review.notebook,
        levels=_levels(previous.get("level"), current.get("level")),
    )


def _levels(before: Any, after: Any) -> tuple[float, float] | None:
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (before, after))
    return (float(before), float(after)) if numbers and before != after else None


def _objects(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    """A figure as the JSON writes it: a number, or "NaN"/"Infinity"/"-Infinity"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if value in ("NaN", "Infinity", "-Infinity"):
        return float(str(value).lower().replace("infinity", "inf"))
    return None


def _same_number(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


Item = TypeVar("Item")


def _pair(
    before: Sequence[Item],
    after: Sequence[Item],
    keys: Sequence[Callable[[Item], Any]],
    *,
    by_position: bool = True,
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Match items of two lists: by each key in turn (in order, each item once; a key of None
    matches nothing), then those left at the same position. Returns the pairs (before index,
    after index) in the order of `after`, and the indices left unmatched on each side."""
    matched: dict[int, int] = {}  # after index -> before index
    taken: set[int] = set()
    for key in keys:
        waiting: dict[Any, list[int]] = {}
        for index, item in enumerate(before):
            value = key(item)
            if index not in taken and value is not None:
                waiting.setdefault(value, []).append(index)
        for index, item in enumerate(after):
            value = key(item)
            if index in matched or value is None or not waiting.get(value):
                continue
            partner = waiting[value].pop(0)
            matched[index] = partner
            taken.add(partner)
    if by_position:
        for index in range(min(len(before), len(after))):
            if index not in matched and index not in taken:
                matched[index] = index
                taken.add(index)
    pairs = sorted(((b, a) for a, b in matched.items()), key=lambda pair: pair[1])
    return (
        pairs,
        [index for index in range(len(before)) if index not in taken],
        [index for index in range(len(after)) if index not in matched],
    )


def _ids(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _labels(run_ids: Iterable[str], label: Callable[[str], str]) -> str:
    return ", ".join(label(run_id) for run_id in run_ids) or "none"


def _decision_changes(
    before: Sequence[Mapping[str, Any]],
    after: Sequence[Mapping[str, Any]],
    label: Callable[[str], str],
) -> tuple[list[DecisionChange], bool]:
    def title(item: Mapping[str, Any]) -> str:
        return str(item.get("title") or "")

    def chosen(item: Mapping[str, Any]) -> str | None:
        run_id = item.get("chosen_run_id")
        return label(run_id) if isinstance(run_id, str) else None

    rationale_compared = all(isinstance(item.get("text_sha256"), str) for item in before)
    pairs, removed, added = _pair(before, after, [lambda item: title(item) or None])
    changes: dict[int, DecisionChange] = {}  # by position now, removed ones after
    for b, a in pairs:
        old, new = before[b], after[a]
        found: list[FieldChange] = []
        if title(old) != title(new):
            found.append(FieldChange("title", title(old), title(new)))
        if old.get("chosen_run_id") != new.get("chosen_run_id"):
            found.append(FieldChange("chosen run", chosen(old) or "none", chosen(new) or "none"))
        old_alt, new_alt = (
            _ids(old.get("alternative_run_ids")),
            _ids(new.get("alternative_run_ids")),
        )
        if set(old_alt) != set(new_alt):
            found.append(
                FieldChange("alternatives", _labels(old_alt, label), _labels(new_alt, label))
            )
        if old.get("metric") != new.get("metric"):
            found.append(
                FieldChange(
                    "judged on", str(old.get("metric") or "none"), str(new.get("metric") or "none")
                )
            )
        old_hash, new_hash = old.get("text_sha256"), new.get("text_sha256")
        if isinstance(old_hash, str) and isinstance(new_hash, str) and old_hash != new_hash:
            found.append(FieldChange("rationale", "as written before", "edited"))
        if found:
            changes[a] = DecisionChange(Change.CHANGED, title(new), chosen(new), tuple(found))
    for a in added:
        changes[a] = DecisionChange(Change.ADDED, title(after[a]), chosen(after[a]))
    ordered = [changes[a] for a in sorted(changes)]
    ordered += [
        DecisionChange(Change.REMOVED, title(before[b]), chosen(before[b])) for b in removed
    ]
    return ordered, rationale_compared


def _criteria_entries(criteria: Sequence[Criterion]) -> list[Mapping[str, Any]]:
    """The review's criteria in the JSON's terms, for a JSON that does not write them: the
    figure is the check on the whole evaluation, else the first check."""
    entries: list[Mapping[str, Any]] = []
    for criterion in criteria:
        checks = criterion.checks
        check = next((c for c in checks if c.scope == "overall"), checks[0] if checks else None)
        entries.append(
            {
                "text": criterion.text,
                "metric": criterion.metric,
                "operator": criterion.operator,
                "threshold": criterion.threshold,
                "segment": criterion.segment,
                "status": criterion.status.value,
                "value": check.value if check else None,
                "lower": check.lower if check else None,
                "upper": check.upper if check else None,
            }
        )
    return entries


def _criterion_figure(item: Mapping[str, Any]) -> Measured:
    return Measured(
        _number(item.get("value")), _number(item.get("lower")), _number(item.get("upper"))
    )


def _same_figure(a: Measured, b: Measured) -> bool:
    return all(
        _same_number(x, y) for x, y in ((a.value, b.value), (a.lower, b.lower), (a.upper, b.upper))
    )


_RULE_PARTS = ("metric", "operator", "threshold", "segment")


def _criterion_changes(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[CriterionChange]:
    def text(item: Mapping[str, Any]) -> str:
        return str(item.get("text") or "")

    def status(item: Mapping[str, Any]) -> str | None:
        return _text(item.get("status"))

    def scope(item: Mapping[str, Any]) -> tuple[Any, Any] | None:
        metric = item.get("metric")
        return (metric, item.get("segment")) if isinstance(metric, str) else None

    def words(value: Any) -> str:
        number = _number(value)
        if number is not None:
            return f"{number:g}"
        return "none" if value is None else str(value)

    # Not by position: two rules on different metrics are two criteria, not one edited.
    pairs, removed, added = _pair(
        before, after, [lambda item: text(item) or None, scope], by_position=False
    )
    changes: dict[int, CriterionChange] = {}
    for b, a in pairs:
        old, new = before[b], after[a]
        found: list[FieldChange] = []
        if text(old) != text(new):  # the rule as written says it all
            found.append(FieldChange("rule", text(old), text(new)))
        for part in () if found else _RULE_PARTS:
            old_part, new_part = old.get(part), new.get(part)
            if part == "threshold":
                same = _same_number(_number(old_part), _number(new_part))
            else:
                same = old_part == new_part
            if not same:
                found.append(FieldChange(part, words(old_part), words(new_part)))
        old_figure, new_figure = _criterion_figure(old), _criterion_figure(new)
        if found or status(old) != status(new) or not _same_figure(old_figure, new_figure):
            changes[a] = CriterionChange(
                Change.CHANGED,
                text(new),
                status(old),
                status(new),
                old_figure,
                new_figure,
                tuple(found),
            )
    for a in added:
        new = after[a]
        changes[a] = CriterionChange(
            Change.ADDED, text(new), None, status(new), None, _criterion_figure(new)
        )
    ordered = [changes[a] for a in sorted(changes)]
    ordered += [
        CriterionChange(
            Change.REMOVED,
            text(before[b]),
            status(before[b]),
            None,
            _criterion_figure(before[b]),
            None,
        )
        for b in removed
    ]
    return ordered


def _chosen(value: Any, label: Callable[[str], str]) -> ChosenFigure | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("run_id"), str):
        return None
    interval = value.get("interval")
    interval = interval if isinstance(interval, Mapping) else {}
    run_id = value["run_id"]
    return ChosenFigure(
        run_id,
        label(run_id),
        _text(value.get("metric")),
        Measured(
            _number(value.get("value")),
            _number(interval.get("low")),
            _number(interval.get("high")),
            _number(interval.get("level")),
            _text(interval.get("method")),
        ),
    )


def _finding_changes(
    before: Sequence[Mapping[str, Any]],
    review: Review,
    current: Mapping[str, Any],
    label: Callable[[str], str],
) -> list[FindingChange]:
    after = _objects(current.get("findings"))
    titles = [finding.title for finding in review.findings]  # in the payload's order

    def runs(item: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(_ids(item.get("run_ids")))

    def key(item: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
        return (str(item.get("code") or ""), runs(item))

    def worded(item: Mapping[str, Any]) -> tuple[Any, ...]:
        return (*key(item), item.get("message"))

    def change(
        item: Mapping[str, Any], kind: Change, title: str, old: Any, new: Any
    ) -> FindingChange:
        run_ids = runs(item)
        return FindingChange(
            kind,
            key(item)[0],
            title,
            run_ids,
            tuple(label(run_id) for run_id in run_ids),
            _text(old),
            _text(new),
        )

    def previous_title(item: Mapping[str, Any]) -> str:
        # The JSON keeps "title: detail"; the title is what a table row needs.
        return str(item.get("message") or "").partition(": ")[0]

    pairs, closed, opened = _pair(before, after, [worded, key], by_position=False)
    found: list[FindingChange] = []
    for a in opened:
        item = after[a]
        title = titles[a] if a < len(titles) else previous_title(item)
        found.append(change(item, Change.OPENED, title, None, item.get("severity")))
    for b, a in pairs:
        old, new = before[b], after[a]
        if old.get("severity") != new.get("severity"):
            title = titles[a] if a < len(titles) else previous_title(new)
            found.append(
                change(new, Change.SEVERITY, title, old.get("severity"), new.get("severity"))
            )
    for b in closed:
        item = before[b]
        found.append(change(item, Change.CLOSED, previous_title(item), item.get("severity"), None))
    return found
