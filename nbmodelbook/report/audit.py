"""The integrity audit: what a validator should know before trusting the evidence.

Each check is a function from the audit context to findings, kept in a registry; the report and
`nbmodelbook check` read the same findings.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from nbmodelbook.links import CellLink
from nbmodelbook.metric_names import lower_is_better
from nbmodelbook.record import LineageCell, RunRecord, RunStatus
from nbmodelbook.report.compare import FEATURES_DIFFER
from nbmodelbook.report.evidence import ReviewEvidence
from nbmodelbook.report.model import (
    Annotation,
    Decision,
    Finding,
    Rejection,
    Severity,
)
from nbmodelbook.report.resolve import resolve_ref

# Choosing the best of this many tries makes its score optimistic enough to say so.
SELECTION_EFFECT_RUNS = 10
MAX_CLOSE_METRICS = 3  # "did you mean" suggestions for a metric:NAME no cited run recorded
MAX_LISTED_METRICS = 12  # the cited runs' metric names a finding lists


@dataclass(frozen=True, slots=True)
class NotebookCell:
    index: int
    cell_id: str | None
    source_hash: str
    cell_type: str


@dataclass(slots=True)
class AuditContext:
    cells: list[NotebookCell]
    links: list[CellLink]
    runs: Mapping[str, RunRecord]
    annotations: list[Annotation]
    decisions: list[Decision]
    rejections: list[Rejection]
    unknown_refs: list[tuple[Annotation, str]]
    chosen_run_id: str | None
    evidence: ReviewEvidence | None = None  # the figures behind the decisions, when computed

    def cell_of_run(self, run_id: str) -> CellLink | None:
        return next((link for link in self.links if run_id in link.run_ids), None)

    def cited(self) -> list[str]:
        ids: list[str] = []
        for decision in self.decisions:
            ids.extend(decision.evidence.run_ids)
        for rejection in self.rejections:
            ids.extend(rejection.evidence.run_ids)
        return list(dict.fromkeys(ids))


Check = Callable[[AuditContext], Iterable[Finding]]
_CHECKS: list[Check] = []


def audit_check(check: Check) -> Check:
    _CHECKS.append(check)
    return check


def run_audit(context: AuditContext) -> list[Finding]:
    findings: list[Finding] = []
    for check in _CHECKS:
        findings.extend(check(context))
    order = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}
    return sorted(findings, key=lambda f: (order[f.severity], f.cell_index or 0, f.code))


def _label(run: RunRecord) -> str:
    return f"{run.name} ({run.short_id})"


def _cell_number(index: int | None) -> str:
    return f"cell {index + 1}" if index is not None else "an unknown cell"


@audit_check
def edited_after_run(context: AuditContext) -> Iterable[Finding]:
    """The notebook shows code that did not produce the recorded results."""
    cited = set(context.cited())
    chosen = {d.chosen_run_id for d in context.decisions if d.chosen_run_id}
    for link in context.links:
        linked = [context.runs[r] for r in link.run_ids if r in context.runs]
        if not linked:
            continue
        latest = max(linked, key=lambda run: run.started_at)
        if latest.code_hash != link.source_hash:
            important = any(run.run_id in cited for run in linked)
            yield Finding(
                code="edited-after-run",
                severity=Severity.HIGH if important else Severity.MEDIUM,
                title=f"{_cell_number(link.index).capitalize()} was edited after its last run",
                detail=(
                    f"The code in {_cell_number(link.index)} no longer matches the code that "
                    f"produced {_label(latest)}: the results in this report come from a "
                    "different version of the cell than the one shown in the notebook. Re-run "
                    "the cell, or review the recorded code in the methodology section."
                ),
                run_ids=(latest.run_id,),
                cell_index=link.index,
            )
        # A cited run of an earlier version of the cell (edited and run again since): the
        # latest run matching the cell says nothing about the code of the run the report cites.
        for run in linked:
            if run is latest or run.run_id not in cited or run.code_hash == link.source_hash:
                continue
            yield _earlier_version(run, link, is_chosen=run.run_id in chosen)


def _earlier_version(run: RunRecord, link: CellLink, *, is_chosen: bool) -> Finding:
    cell = _cell_number(link.index)
    if is_chosen:
        return Finding(
            code="edited-after-run",
            severity=Severity.HIGH,
            title=f"{cell.capitalize()} no longer shows the code of the chosen run",
            detail=(
                f"The chosen run {_label(run)} came from an earlier version of {cell}, which "
                "was edited and run again since: the code the cell shows now is not the code "
                "of the chosen model. Its recorded code is in the methodology section."
            ),
            run_ids=(run.run_id,),
            cell_index=link.index,
        )
    return Finding(
        code="edited-after-run",
        severity=Severity.MEDIUM,
        title=f"{cell.capitalize()} no longer shows the code of cited run {run.name}",
        detail=(
            f"{_label(run)}, cited as evidence, came from an earlier version of {cell}, which "
            "was edited and run again since: the notebook no longer shows the code that "
            "produced it."
        ),
        run_ids=(run.run_id,),
        cell_index=link.index,
    )


@audit_check
def stale_or_out_of_order_lineage(context: AuditContext) -> Iterable[Finding]:
    """The cited runs depended on state the notebook no longer shows in order."""
    by_id = {cell.cell_id: cell for cell in context.cells if cell.cell_id}
    by_hash: dict[str, NotebookCell] = {}
    for notebook_cell in context.cells:
        by_hash.setdefault(notebook_cell.source_hash, notebook_cell)
    subjects = list(dict.fromkeys([*context.cited(), *filter(None, [context.chosen_run_id])]))
    for run_id in subjects:
        run = context.runs.get(run_id)
        if run is None:
            continue
        own = context.cell_of_run(run_id)
        severity = Severity.HIGH if run_id == context.chosen_run_id else Severity.MEDIUM
        deleted: list[LineageCell] = []
        later: list[tuple[LineageCell, NotebookCell]] = []
        edited: list[tuple[LineageCell, NotebookCell]] = []
        for entry in run.lineage:
            cell: NotebookCell | None = by_id.get(entry.cell_id) if entry.cell_id else None
            if cell is None:
                cell = by_hash.get(entry.code_hash)
            if cell is None:
                deleted.append(entry)
                continue
            if cell.source_hash != entry.code_hash:
                edited.append((entry, cell))
            if own is not None and cell.index > own.index:
                later.append((entry, cell))
        if deleted:
            counts = ", ".join(f"In[{e.execution_count}]" for e in deleted if e.execution_count)
            yield Finding(
                code="lineage-deleted",
                severity=severity,
                title=f"{run.name} depended on code that is no longer in the notebook",
                detail=(
                    f"{_label(run)} used state defined by {len(deleted)} cell(s) "
                    f"({counts or 'executed earlier'}) that no longer exist in the notebook, "
                    "so the notebook alone cannot reproduce it. The recorded code is in the "
                    "methodology section."
                ),
                run_ids=(run_id,),
                cell_index=own.index if own else None,
            )
        if later:
            positions = ", ".join(_cell_number(cell.index) for _entry, cell in later)
            yield Finding(
                code="lineage-out-of-order",
                severity=severity,
                title=f"{run.name} depended on cells further down the notebook",
                detail=(
                    f"{_label(run)} read state defined by {positions}, which come after its own "
                    "cell: the notebook was executed out of order, so running it top to bottom "
                    "may not give the same result."
                ),
                run_ids=(run_id,),
                cell_index=own.index if own else None,
            )
        if edited:
            positions = ", ".join(_cell_number(cell.index) for _entry, cell in edited)
            yield Finding(
                code="lineage-edited",
                severity=severity,
                title=f"{run.name} depended on cells edited since",
                detail=(
                    f"{_label(run)} used state from {positions}, whose code has changed since it "
                    "ran: the notebook shows different preprocessing from what the run used."
                ),
                run_ids=(run_id,),
                cell_index=own.index if own else None,
            )


@audit_check
def compared_on_different_data(context: AuditContext) -> Iterable[Finding]:
    items: list[Decision | Rejection] = [*context.decisions, *context.rejections]
    for item in items:
        for difference in item.evidence.data:
            if difference.kind in ("same", "unknown", "different inputs"):
                continue
            features = difference.kind == FEATURES_DIFFER
            if features:
                # Often the very choice compared (feature selection): worth a note, not alarm.
                code, severity, title = (
                    "different-features",
                    Severity.LOW,
                    "Compared runs used different features",
                )
                consequence = (
                    " Expected when the choice of features is what was compared; otherwise "
                    "the comparison is not like-for-like."
                )
            else:
                code, title = "different-data", "Compared runs were trained on different data"
                severity = Severity.HIGH if isinstance(item, Decision) else Severity.MEDIUM
                consequence = (
                    " The comparison is not like-for-like: differences in metrics may come from "
                    "the data, not the model."
                )
            yield Finding(
                code=code,
                severity=severity,
                title=title,
                detail=difference.sentence + consequence,
                run_ids=(difference.run_a, difference.run_b),
                cell_index=item.annotation.cell_index,
            )


@audit_check
def chosen_not_best(context: AuditContext) -> Iterable[Finding]:
    for decision in context.decisions:
        chosen = context.runs.get(decision.chosen_run_id or "")
        if chosen is None:
            continue
        if chosen.status is not RunStatus.OK:
            yield Finding(
                code="chosen-failed",
                severity=Severity.HIGH,
                title="The chosen run did not finish successfully",
                detail=_unfinished(chosen),
                run_ids=(chosen.run_id,),
                cell_index=decision.annotation.cell_index,
            )
        metric = decision.headline_metric
        if metric is None or metric not in chosen.metrics:
            continue
        value = chosen.metrics[metric]
        lower = lower_is_better(metric)
        better = []
        for run_id in decision.alternative_run_ids:
            other = context.runs.get(run_id)
            other_value = other.metrics.get(metric) if other else None
            if other is None or other_value is None or math.isnan(other_value):
                continue
            if _beats(other_value, value, lower=lower):
                better.append((other, other_value))
        if better:
            listed = ", ".join(f"{_label(run)} has {val:.4g}" for run, val in better)
            scored = (
                f"has {metric} = {value:.4g}"
                if _finite(value)
                else f"has no usable {metric} (it recorded {value})"
            )
            yield Finding(
                code="chosen-not-best",
                severity=Severity.MEDIUM,
                title=f"The chosen run is not the best on its own headline metric ({metric})",
                detail=(
                    f"{_label(chosen)} {scored}, but {listed}. The rationale "
                    "should explain why the better-scoring alternative was not chosen."
                ),
                run_ids=(chosen.run_id, *(run.run_id for run, _ in better)),
                cell_index=decision.annotation.cell_index,
            )
        tried = [
            run
            for run in context.runs.values()
            if run.status is RunStatus.OK and _finite(run.metrics.get(metric))
        ]
        if len(tried) >= SELECTION_EFFECT_RUNS:
            values = [run.metrics[metric] for run in tried]
            best = min(values) if lower else max(values)
            if value == best:
                yield Finding(
                    code="selection-effect",
                    severity=Severity.LOW,
                    title=f"The chosen run is the best of {len(tried)} tries on {metric}",
                    detail=(
                        f"Picking the best of {len(tried)} runs on the same evaluation data makes "
                        f"its {metric} optimistic. Confirm it on data not used for the selection."
                    ),
                    run_ids=(chosen.run_id,),
                    cell_index=decision.annotation.cell_index,
                )


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _beats(other: float, chosen: float, *, lower: bool) -> bool:
    """Whether an alternative's value is better than the chosen run's; a chosen run without a
    usable (finite) value is beaten by any alternative that has one."""
    if not _finite(chosen):
        return _finite(other)
    return other < chosen if lower else other > chosen


def _unfinished(run: RunRecord) -> str:
    if run.status is RunStatus.RUNNING:
        return (
            f"{_label(run)} has not finished: it is still recorded as running, so its metrics "
            "and model may not be final."
        )
    return f"{_label(run)} ended with status '{run.status.value}'."


@audit_check
def unknown_references(context: AuditContext) -> Iterable[Finding]:
    for annotation, ref in context.unknown_refs:
        yield Finding(
            code="unknown-run",
            severity=Severity.HIGH,
            title=f"run:{ref} does not exist",
            detail=(
                f"The {annotation.kind.label.lower()} in {_cell_number(annotation.cell_index)} "
                f"cites run:{ref}, but no run of this notebook has that name or id: the cited "
                "evidence cannot be checked."
            ),
            cell_index=annotation.cell_index,
        )


@audit_check
def unknown_metrics(context: AuditContext) -> Iterable[Finding]:
    """A `metric:NAME` none of the decision's cited runs recorded (a typo, most often): the
    decision is then judged on another metric, or the one named cannot be checked."""
    for decision in context.decisions:
        cited = [context.runs[r] for r in decision.evidence.run_ids if r in context.runs]
        if not cited:
            continue  # nothing to look in: an unknown run or no evidence, found by other checks
        recorded = sorted({name for run in cited for name in run.metrics})
        for position, metric in enumerate(decision.named_metrics):
            if metric in recorded:
                continue
            close = _close_matches(metric, recorded)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            listed = ", ".join(recorded[:MAX_LISTED_METRICS]) + (
                f" and {len(recorded) - MAX_LISTED_METRICS} more"
                if len(recorded) > MAX_LISTED_METRICS
                else ""
            )
            runs = ", ".join(_label(run) for run in cited)
            headline = decision.headline_metric
            consequence = (
                f"The report judges the decision on {headline} instead."
                if position == 0 and headline
                else "The metric it names cannot be checked."
            )
            yield Finding(
                code="unknown-metric",
                severity=Severity.HIGH,
                title=f"metric:{metric} — no cited run recorded it{hint}",
                detail=(
                    f"The decision in {_cell_number(decision.annotation.cell_index)} is judged "
                    f"on metric:{metric}, but none of the runs it cites ({runs}) recorded a "
                    "metric of that name; "
                    + (f"they recorded {listed}. " if recorded else "they recorded no metric. ")
                    + consequence
                ),
                run_ids=tuple(run.run_id for run in cited),
                cell_index=decision.annotation.cell_index,
            )


def _close_matches(metric: str, recorded: Sequence[str]) -> list[str]:
    """Recorded metric names close to `metric`, ignoring case (`AUC` is close to `auc`)."""
    by_lower: dict[str, str] = {}
    for name in recorded:
        by_lower.setdefault(name.lower(), name)
    close = difflib.get_close_matches(metric.lower(), list(by_lower), n=MAX_CLOSE_METRICS)
    return [by_lower[name] for name in close]


@audit_check
def decisions_without_evidence(context: AuditContext) -> Iterable[Finding]:
    for decision in context.decisions:
        if not decision.annotation.refs:
            yield Finding(
                code="decision-without-evidence",
                severity=Severity.HIGH,
                title=f"Decision '{decision.annotation.title or 'untitled'}' cites no runs",
                detail=(
                    f"The decision in {_cell_number(decision.annotation.cell_index)} names no "
                    "run:NAME as evidence, so a reviewer cannot check what it rests on."
                ),
                cell_index=decision.annotation.cell_index,
            )


@audit_check
def failed_runs_unmentioned(context: AuditContext) -> Iterable[Finding]:
    mentioned = set(context.cited())
    refs = {ref for annotation in context.annotations for ref in annotation.refs}
    # Resolved as the report resolves them (full id, id prefix, name), so a run the report
    # links to from a note counts as discussed; a name stands for every run of that name.
    mentioned.update(filter(None, (resolve_ref(ref, context.runs) for ref in refs)))
    failed = [
        run
        for run in context.runs.values()
        if run.status.failed and run.run_id not in mentioned and run.name not in refs
    ]
    if failed:
        listed = ", ".join(f"{_label(run)} ({run.status.value})" for run in failed[:10])
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        yield Finding(
            code="failed-runs-unmentioned",
            severity=Severity.LOW,
            title=f"{len(failed)} failed run(s) are not discussed",
            detail=(
                f"{listed}{more} did not finish and no annotation mentions them. They are listed "
                "in the history; a sentence on why they failed helps the reviewer."
            ),
            run_ids=tuple(run.run_id for run in failed),
        )
