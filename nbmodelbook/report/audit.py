"""The integrity audit: what a validator should know before trusting the evidence.

Each check is a function from the audit context to findings, kept in a registry; the report and
`nbmodelbook check` read the same findings.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from nbmodelbook.links import CellLink
from nbmodelbook.metric_names import lower_is_better
from nbmodelbook.record import LineageCell, RunRecord, RunStatus
from nbmodelbook.report.compare import FEATURES_DIFFER, model_family
from nbmodelbook.report.criteria_view import criterion_sentence
from nbmodelbook.report.evidence import (
    NOT_DISTINGUISHABLE,
    SIGNIFICANTLY_WORSE,
    Comparison,
    FoldScores,
    ReviewEvidence,
)
from nbmodelbook.report.evidence_view import format_difference, format_optimism, format_p
from nbmodelbook.report.model import (
    Annotation,
    Criterion,
    CriterionStatus,
    Decision,
    Finding,
    Rejection,
    Severity,
)
from nbmodelbook.report.resolve import resolve_ref
from nbmodelbook.stats.results import Interval

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
    criteria: list[Criterion] = field(default_factory=list)  # acceptance criteria, checked

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
        if len(tried) >= SELECTION_EFFECT_RUNS and not _selected_on_its_rows(context, chosen):
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


def _selected_on_its_rows(context: AuditContext, chosen: RunRecord) -> bool:
    """Whether the evidence shows the choice made on the rows that report the chosen figure:
    then `selected-on-test-set` says it, with the optimism sized."""
    evidence = context.evidence
    effect = evidence.selection_effect if evidence is not None else None
    return (
        evidence is not None
        and evidence.chosen_run_id == chosen.run_id
        and effect is not None
        and effect.same_rows
        and effect.k >= 2
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


# --- findings from the evidence figures ----------------------------------------------------------

# A configuration's folds are unstable when its worst fold lies more than this share of the
# mean's magnitude below the mean (scorers are greater-is-better; at least this many folds).
UNSTABLE_WORST_FOLD_DROP = 0.10
MIN_FOLDS_FOR_STABILITY = 3
# The chosen family had at least this many configurations while an alternative family had one.
UNEQUAL_EFFORT_CONFIGURATIONS = 5
# A hand-typed interval whose width differs from the computed one by more than this factor.
UNCERTAINTY_WIDTH_FACTOR = 2.0
# Error types of a run that failed on its own arguments (scikit-learn's InvalidParameterError
# is both a ValueError and a TypeError).
USAGE_ERROR_TYPES = frozenset({"TypeError", "ValueError", "InvalidParameterError"})
_USAGE_MESSAGE = re.compile(
    r"unexpected keyword argument|required (?:positional|keyword-only) argument|"
    r"takes \d+ positional arguments? but|multiple values for (?:keyword )?argument|"
    r"invalid parameter|parameter of \w+ must be|\bparameter\b.*\bmust be\b|"
    r"supports only|is not supported|not a valid (?:value|option|parameter)|"
    r"got an invalid|unrecognized (?:argument|option)|unknown (?:parameter|argument|solver|"
    r"penalty|kernel|criterion|loss)",
    re.IGNORECASE,
)


def _chosen_decision(context: AuditContext) -> tuple[Decision, ReviewEvidence] | None:
    evidence = context.evidence
    if evidence is None or evidence.chosen_run_id is None:
        return None
    decision = next(
        (d for d in context.decisions if d.chosen_run_id == evidence.chosen_run_id), None
    )
    return (decision, evidence) if decision is not None else None


def _run_label(context: AuditContext, run_id: str) -> str:
    run = context.runs.get(run_id)
    return _label(run) if run is not None else run_id


def _num(value: float | None, digits: int = 4) -> str:
    """A figure in a finding's text: `digits` significant digits."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}g}"


def _interval_words(interval: Interval | None) -> str:
    if interval is None:
        return "no interval"
    return (
        f"{interval.level:.0%} interval {_num(interval.low)} to {_num(interval.high)}, "
        f"{interval.method}"
    )


def _comparison_words(comparison: Comparison, metric: str) -> str:
    result = comparison.result
    assert result is not None  # only comparisons with a verdict are described
    p_value = comparison.adjusted_p_value
    adjusted = "Holm-adjusted " if p_value is not None else ""
    if p_value is None:
        p_value = result.p_value
    difference = format_difference(result.difference, result.interval)
    how = f"{result.method} on {result.n:,} rows"
    # "+0.003 (95% CI −0.003 to +0.008; DeLong paired on 143 rows)": one parenthesis.
    difference = (
        f"{difference[:-1]}; {how})" if difference.endswith(")") else f"{difference} ({how})"
    )
    return (
        f"the difference in {metric} is {difference}, {adjusted}{format_p(p_value)} over the "
        "decision's alternatives"
    )


@audit_check
def margin_not_significant(context: AuditContext) -> Iterable[Finding]:
    """The chosen run leads an alternative the decision says it beats, but the two are not
    distinguishable. (A chosen run behind an alternative is `chosen-not-best`; that the two
    are not distinguishable then supports an "as good" decision.)"""
    found = _chosen_decision(context)
    if found is None:
        return
    decision, evidence = found
    for comparison in evidence.comparisons:
        if comparison.verdict != NOT_DISTINGUISHABLE or comparison.result is None:
            continue
        difference = comparison.result.difference
        leads = difference < 0 if lower_is_better(comparison.metric) else difference > 0
        if not leads:
            continue  # no lead to question
        chosen = _run_label(context, comparison.run_id)
        other = _run_label(context, comparison.other_run_id)
        figures = _comparison_words(comparison, comparison.metric)
        pair = (comparison.run_id, comparison.other_run_id)
        names = [context.runs[r].name for r in pair if r in context.runs]
        if says_indistinguishable(decision.annotation, comparison.metric, names):
            # The decision itself says the metric cannot separate them and chooses on other
            # grounds: the evidence agrees, which is worth a sentence, not a block.
            yield Finding(
                code="margin-not-significant",
                severity=Severity.LOW,
                title=f"The lead over {other} is not significant, as the decision says",
                detail=(
                    f"On the same rows {figures}: {chosen} and {other} are not "
                    "distinguishable, and the decision says so and chooses on other grounds."
                ),
                run_ids=(comparison.run_id, comparison.other_run_id),
                cell_index=decision.annotation.cell_index,
            )
            continue
        yield Finding(
            code="margin-not-significant",
            severity=Severity.HIGH,
            title=f"The lead over {other} is not significant",
            detail=(
                f"The decision prefers {chosen} to {other}, but on the same rows {figures}: the "
                "two are not distinguishable, so the lead may be chance. Choose on other grounds "
                "(and say so in the decision: that the metric cannot tell them apart), or "
                "evaluate on more data."
            ),
            run_ids=(comparison.run_id, comparison.other_run_id),
            cell_index=decision.annotation.cell_index,
        )


# How a decision says that its metric does not separate the runs (matched in lower case, in a
# sentence that names the metric or one of the compared runs).
INDISTINGUISHABLE_PHRASES: tuple[str, ...] = (
    "not distinguishable",
    "indistinguishable",
    "cannot tell",
    "can not tell",
    "can't tell",
    "cannot be told apart",
    "not significant",
    "not statistically significant",
    "no significant",
    "not measurably",
    "no measurable",
    "within the noise",
    "equal discrimination",
    "equally good",
    "on par",
)
# A sentence ends at . ! or ? before a capital letter (or the end); not after "vs." and the like.
_SENTENCE_END = re.compile(r"(?<!\bvs\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<=[.!?])\s+(?=[A-Z])")
_METRIC_PREFIXES = ("roc_", "test_", "val_", "valid_", "holdout_", "cv_", "mean_")


def says_indistinguishable(annotation: Annotation, metric: str, runs: Sequence[str] = ()) -> bool:
    """Whether an annotation says, in a sentence naming `metric` (or `metric:NAME`, or "that
    metric") or one of the compared `runs`, that the metric cannot separate them. A phrase
    about something else ("calibration differences are not significant") does not count.
    Names match as whole words; a metric also under its short name (`roc_auc` as "AUC")."""
    text = " ".join(f"{annotation.title}. {annotation.body}".split())
    names = {metric, *(name for name in runs if name), "that metric", "this metric"}
    short = metric
    for prefix in _METRIC_PREFIXES:
        short = short.removeprefix(prefix)
    names.add(short)
    patterns = [
        re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
        for name in names
        if name
    ]
    for sentence in _SENTENCE_END.split(text):
        lowered = sentence.lower()
        if any(pattern.search(sentence) for pattern in patterns) and any(
            phrase in lowered for phrase in INDISTINGUISHABLE_PHRASES
        ):
            return True
    return False


@audit_check
def worse_than_alternative(context: AuditContext) -> Iterable[Finding]:
    """The chosen run is significantly worse than an alternative on the decision's metric."""
    found = _chosen_decision(context)
    if found is None:
        return
    decision, evidence = found
    for comparison in evidence.comparisons:
        if comparison.verdict != SIGNIFICANTLY_WORSE or comparison.result is None:
            continue
        chosen = _run_label(context, comparison.run_id)
        other = _run_label(context, comparison.other_run_id)
        yield Finding(
            code="worse-than-alternative",
            severity=Severity.HIGH,
            title=f"The chosen run is significantly worse than {other}",
            detail=(
                f"On the same rows {_comparison_words(comparison, comparison.metric)}: "
                f"{chosen} is significantly worse than {other}, which the decision rejects. "
                "The rationale must say what outweighs this."
            ),
            run_ids=(comparison.run_id, comparison.other_run_id),
            cell_index=decision.annotation.cell_index,
        )


@audit_check
def no_better_than_baseline(context: AuditContext) -> Iterable[Finding]:
    """The chosen run's interval does not exclude what a model that ignores its inputs scores."""
    found = _chosen_decision(context)
    if found is None:
        return
    decision, evidence = found
    baseline, figures = evidence.baseline, evidence.chosen_estimate()
    estimate = figures.estimate if figures is not None else None
    if baseline is None or estimate is None or not math.isfinite(baseline.value):
        return
    lower = lower_is_better(baseline.metric)
    value, interval = estimate.value, estimate.interval
    if not math.isfinite(value):
        return
    not_better = value >= baseline.value if lower else value <= baseline.value
    if not_better:
        why = "its value is no better than the baseline's"
    elif interval is not None and (
        interval.high >= baseline.value if lower else interval.low <= baseline.value
    ):
        why = "its interval includes the baseline's value"
    else:
        return
    chosen = _run_label(context, evidence.chosen_run_id or "")
    yield Finding(
        code="no-better-than-baseline",
        severity=Severity.HIGH,
        title=f"The chosen run is not shown to beat a trivial model on {baseline.metric}",
        detail=(
            f"{chosen} scores {baseline.metric} = {_num(value)} ({_interval_words(interval)}); "
            f"a model that ignores its inputs ({baseline.strategy}) scores "
            f"{_num(baseline.value)} on the same rows, and {why}: the evidence does not show "
            "that the model learned anything useful."
        ),
        run_ids=(evidence.chosen_run_id or "",),
        cell_index=decision.annotation.cell_index,
    )


@audit_check
def weak_segment(context: AuditContext) -> Iterable[Finding]:
    """A segment level where the chosen run's metric is significantly below the overall one."""
    found = _chosen_decision(context)
    if found is None:
        return
    decision, evidence = found
    metric = evidence.metric or "the metric"
    for weak in evidence.weak_segments:
        yield Finding(
            code="weak-segment",
            severity=Severity.MEDIUM,
            title=f"Weak on {weak.segment} = {weak.level}",
            detail=(
                f"On the {weak.n:,} rows where {weak.segment} is {weak.level}, "
                f"{_run_label(context, evidence.chosen_run_id or '')} scores {metric} = "
                f"{_num(weak.value)} ({_interval_words(weak.interval)}), significantly below "
                f"its overall {_num(weak.overall)} ({weak.test}). The headline figure hides "
                "how the model does for this group."
            ),
            run_ids=(evidence.chosen_run_id or "",),
            cell_index=decision.annotation.cell_index,
        )


@audit_check
def unstable_across_folds(context: AuditContext) -> Iterable[Finding]:
    """The chosen configuration's cross-validation folds spread widely (see the rule below)."""
    found = _chosen_decision(context)
    if found is None:
        return
    decision, evidence = found
    chosen_id = evidence.chosen_run_id or ""
    figures = evidence.runs.get(chosen_id)
    if figures is None:
        return
    groups: dict[tuple[str, int], list[FoldScores]] = {}
    for fold in figures.folds:
        groups.setdefault((fold.source, fold.group), []).append(fold)
    for (source, _group), members in groups.items():
        kept = [fold for fold in members if fold.chosen] or (members if len(members) == 1 else [])
        for fold in kept[:1]:
            scores = [score for score in fold.scores if math.isfinite(score)]
            if len(scores) < MIN_FOLDS_FOR_STABILITY:
                continue
            mean = sum(scores) / len(scores)
            worst = min(scores)
            if mean == 0 or (mean - worst) <= UNSTABLE_WORST_FOLD_DROP * abs(mean):
                continue
            std = math.sqrt(sum((score - mean) ** 2 for score in scores) / len(scores))
            yield Finding(
                code="unstable-across-folds",
                severity=Severity.MEDIUM,
                title=f"The chosen configuration is unstable across {source} folds",
                detail=(
                    f"Across its {len(scores)} folds, {_run_label(context, chosen_id)} scores "
                    f"{fold.scorer} {', '.join(_num(s) for s in scores)}: mean {_num(mean)}, "
                    f"standard deviation {_num(std)}, worst fold {_num(worst)}. The rule: the "
                    f"worst fold lies more than {UNSTABLE_WORST_FOLD_DROP:.0%} of the mean's "
                    "magnitude below the mean. A single test figure may be a lucky or unlucky "
                    "draw of how this model performs."
                ),
                run_ids=(chosen_id,),
                cell_index=decision.annotation.cell_index,
            )


@audit_check
def best_on_grid_edge(context: AuditContext) -> Iterable[Finding]:
    """The chosen run's search refitted a candidate at the edge of a numeric grid."""
    found = _chosen_decision(context)
    if found is None:
        return
    decision, evidence = found
    for search in evidence.searches:
        if search.run_id != evidence.chosen_run_id or not search.edges:
            continue
        edges = "; ".join(
            f"{edge.param} = {_num(edge.value)}, the {edge.side} of "
            f"{', '.join(_num(v) for v in edge.values)}"
            for edge in search.edges
        )
        rank = f" (rank {search.chosen_rank} of {len(search.candidates)} by mean {search.scorer})"
        yield Finding(
            code="best-on-grid-edge",
            severity=Severity.LOW,
            title=f"The {search.source} choice sits on the edge of its grid",
            detail=(
                f"The configuration {search.source} chose in {_run_label(context, search.run_id)}"
                f"{rank if search.chosen_rank else ''} has {edges}: the best value may lie "
                "outside the range searched. Widen the grid, or say why the range is enough."
            ),
            run_ids=(search.run_id,),
            cell_index=decision.annotation.cell_index,
        )


@audit_check
def selected_on_test_set(context: AuditContext) -> Iterable[Finding]:
    """The chosen run was picked among several by the metric on the rows that report it.

    MEDIUM when the optimism is at least the chosen run's smallest lead over an alternative
    (the selection alone could explain the lead), LOW otherwise."""
    found = _chosen_decision(context)
    if found is None:
        return
    decision, evidence = found
    effect = evidence.selection_effect
    if effect is None or not effect.same_rows or effect.k < 2:
        return
    metric = evidence.metric or "the metric"
    severity = Severity.LOW
    if effect.optimism is not None and effect.standard_error is not None:
        size = (
            f"Picking the best of k = {effect.k} makes the figure optimistic by up "
            f"to about {format_optimism(evidence)} (standard error {_num(effect.standard_error, 2)}"
            f" x E[max of {effect.k} independent N(0, 1)] = {_num(effect.expected_max, 3)}; "
            f"{effect.method})."
        )
        lower = lower_is_better(metric)
        leads = [
            -c.result.difference if lower else c.result.difference
            for c in evidence.comparisons
            if c.result is not None and math.isfinite(c.result.difference)
        ]
        if leads and min(leads) <= effect.optimism:
            severity = Severity.MEDIUM
            size += (
                f" That is as large as the chosen run's smallest lead ({_num(min(leads))}): the "
                "selection alone could explain it."
            )
    else:
        size = f"How optimistic cannot be sized: {effect.method}."
    yield Finding(
        code="selected-on-test-set",
        severity=severity,
        title=f"The chosen run was selected on the rows that report its {metric}",
        detail=(
            f"{_run_label(context, evidence.chosen_run_id or '')} was chosen over "
            f"{effect.runs_on_same_rows} other run(s) scored by {metric} on the same rows that "
            f"report the headline figure ({effect.configurations} configurations were tried in "
            f"all, runs and the candidates inside them). {size} Confirm the figure on rows not "
            "used for the choice."
        ),
        run_ids=(evidence.chosen_run_id or "",),
        cell_index=decision.annotation.cell_index,
    )


@audit_check
def unequal_tuning_effort(context: AuditContext) -> Iterable[Finding]:
    """The chosen family got many configurations, an alternative family only one."""
    found = _chosen_decision(context)
    if found is None:
        return
    decision, evidence = found
    chosen = context.runs.get(evidence.chosen_run_id or "")
    family = model_family(chosen) if chosen else None
    if chosen is None or family is None:
        return
    mine = family.rsplit(".", 1)[-1]
    effort = evidence.effort
    tried = effort.configurations_of(mine)
    if tried < UNEQUAL_EFFORT_CONFIGURATIONS:
        return
    once: dict[str, list[str]] = {}
    for run_id in decision.alternative_run_ids:
        other = context.runs.get(run_id)
        other_family = model_family(other) if other else None
        if other is None or other_family is None:
            continue
        short = other_family.rsplit(".", 1)[-1]
        if short != mine and effort.configurations_of(short) == 1:
            once.setdefault(short, []).append(run_id)
    if not once:
        return
    listed = ", ".join(f"{name}: 1 configuration" for name in once)
    yield Finding(
        code="unequal-tuning-effort",
        severity=Severity.MEDIUM,
        title=f"{mine} was tuned over {tried} configurations, its alternatives once",
        detail=(
            f"The chosen family {mine} was tried in {tried} configurations; {listed}. A tuned "
            "model beating untuned ones says little about the families: tune the alternatives "
            "too, or say why they need no tuning."
        ),
        run_ids=(chosen.run_id, *(r for ids in once.values() for r in ids)),
        cell_index=decision.annotation.cell_index,
    )


@audit_check
def rejected_on_usage_error(context: AuditContext) -> Iterable[Finding]:
    """A rejection cites a run that failed on its own arguments: it was never evaluated."""
    for rejection in context.rejections:
        cited = dict.fromkeys(
            filter(None, (resolve_ref(ref, context.runs) for ref in rejection.annotation.refs))
        )
        for run_id in cited:
            run = context.runs.get(run_id)
            if run is None or not _usage_error(run):
                continue
            error = run.error
            assert error is not None
            yield Finding(
                code="rejected-on-usage-error",
                severity=Severity.HIGH,
                title=f"The rejected {run.name} was never evaluated",
                detail=(
                    f"The rejection in {_cell_number(rejection.annotation.cell_index)} cites "
                    f"{_label(run)}, which failed with {error.type}: {error.message.strip()[:200]}"
                    " — an error in how it was called, not a result. The alternative was never "
                    "evaluated: fix the call and run it before rejecting it."
                ),
                run_ids=(run.run_id,),
                cell_index=rejection.annotation.cell_index,
            )


def _usage_error(run: RunRecord) -> bool:
    error = run.error
    if run.status is not RunStatus.ERROR or error is None:
        return False
    if error.type not in USAGE_ERROR_TYPES:
        return False
    return error.type == "InvalidParameterError" or bool(_USAGE_MESSAGE.search(error.message))


@audit_check
def hand_typed_uncertainty(context: AuditContext) -> Iterable[Finding]:
    """An annotation states an interval (or a ±) that the computed interval contradicts."""
    evidence = context.evidence
    if evidence is None:
        return
    for annotation in context.annotations:
        named = dict.fromkeys(
            filter(None, (resolve_ref(ref, context.runs) for ref in annotation.refs))
        )
        cited = [run_id for run_id in named if run_id in evidence.runs]
        if not annotation.refs and evidence.chosen_run_id in evidence.runs:
            cited = [evidence.chosen_run_id or ""]  # a note citing no run speaks of the chosen
        computed = _computed_intervals(evidence, cited)
        if not computed:
            continue
        text = f"{annotation.title}\n{annotation.body}"
        for stated in stated_uncertainties(text, {name for name, _run in computed}):
            found = _closest(stated, computed)
            if found is None:
                continue
            run_id, estimate, interval = found
            yield from _contradiction(context, annotation, stated, run_id, estimate, interval)


def _computed_intervals(
    evidence: ReviewEvidence, run_ids: Sequence[str]
) -> dict[tuple[str, str], tuple[float, Interval]]:
    """(name as an annotation may write it, run id) -> (estimate, interval), for the cited
    runs' evaluations with an interval; a metric's aliases ("AUC" for roc_auc_score) too."""
    found: dict[tuple[str, str], tuple[float, Interval]] = {}
    for run_id in run_ids:
        for figures in evidence.runs[run_id].evaluations:
            estimate = figures.estimate
            if estimate is None or estimate.interval is None or not math.isfinite(estimate.value):
                continue
            for name in (figures.metric, *_METRIC_ALIASES.get(figures.function, ())):
                found[(name.lower(), run_id)] = (estimate.value, estimate.interval)
    return found


_METRIC_ALIASES: dict[str, tuple[str, ...]] = {
    "roc_auc_score": ("auc", "roc auc", "auroc"),  # "ROC-AUC", "roc_auc": separators vary
    "accuracy_score": ("accuracy",),
    "recall_score": ("recall", "sensitivity"),
    "precision_score": ("precision",),
}


@dataclass(frozen=True, slots=True)
class StatedUncertainty:
    """An interval written in an annotation: `value` (None for a bare [low, high]) and bounds."""

    metric: str  # lower case, as matched
    value: float | None
    low: float
    high: float
    text: str


_NUMBER = r"(?<![\w.\-/])(\d+(?:\.\d+)?|\.\d+)(?![\w%]|\.\d|/)"
_FILLER = r"(?:\s+|\s*[:=]\s*|\s+(?:is|of|was|at|with|equals|score|value|reaches|gives)\s+)*"
_CI = r"(?:\d{2}(?:\.\d)?\s*%\s*)?(?:ci|confidence interval|interval)?\s*[:=]?\s*"
_TO = r"\s*(?:–|—|-|to|,)\s*"


def stated_uncertainties(text: str, metrics: set[str]) -> list[StatedUncertainty]:
    """The intervals `text` states right after the name of one of `metrics` (only filler words
    in between): `V ± W`, `V +/- W`, `V (L–H)`, `V (95% CI L to H)`, `V [L, H]`, `[L, H]`.
    Conservative: the bounds must be ordered around the value; nothing else is read."""
    if not metrics:
        return []
    names = "|".join(
        re.sub(r"(?:\\ |_|\\-)", r"[\\s_\\-]", re.escape(name))  # "roc auc" = "ROC-AUC"
        for name in sorted(metrics, key=len, reverse=True)
    )
    head = rf"(?<![\w\-])(?P<metric>{names})(?![\w\-]){_FILLER}"
    forms = [
        rf"{head}{_NUMBER}\s*(?:±|\+/-|\+-)\s*{_NUMBER}",
        rf"{head}{_NUMBER}\s*[(\[]\s*{_CI}{_NUMBER}{_TO}{_NUMBER}\s*[)\]]",
        rf"{head}[(\[]\s*{_CI}{_NUMBER}{_TO}{_NUMBER}\s*[)\]]",
    ]
    found: list[StatedUncertainty] = []
    seen: set[int] = set()
    for position, form in enumerate(forms):
        for match in re.finditer(form, text, flags=re.IGNORECASE):
            if match.start() in seen:
                continue
            numbers = [float(group) for group in match.groups()[1:]]
            if position == 0:
                value, half = numbers
                low, high = value - half, value + half
                stated: float | None = value
            elif position == 1:
                stated, low, high = numbers
            else:
                stated, (low, high) = None, numbers
            if not low < high or (stated is not None and not low <= stated <= high):
                continue
            seen.add(match.start())
            written = match.group("metric").lower()
            metric = next((m for m in metrics if _same_name(m, written)), written)
            found.append(StatedUncertainty(metric, stated, low, high, match.group(0)))
    return sorted(found, key=lambda item: text.find(item.text))


def _same_name(a: str, b: str) -> bool:
    return re.sub(r"[\s_\-]", " ", a.lower()) == re.sub(r"[\s_\-]", " ", b.lower())


def _closest(
    stated: StatedUncertainty, computed: Mapping[tuple[str, str], tuple[float, Interval]]
) -> tuple[str, float, Interval] | None:
    """The cited run whose computed figure the stated one is about: the nearest value."""
    target = stated.value if stated.value is not None else (stated.low + stated.high) / 2
    options = [
        (abs(estimate - target), run_id, estimate, interval)
        for (name, run_id), (estimate, interval) in computed.items()
        if name == stated.metric
    ]
    if not options:
        return None
    _distance, run_id, estimate, interval = min(options, key=lambda item: item[:2])
    return run_id, estimate, interval


def _contradiction(
    context: AuditContext,
    annotation: Annotation,
    stated: StatedUncertainty,
    run_id: str,
    estimate: float,
    interval: Interval,
) -> Iterable[Finding]:
    stated_width = stated.high - stated.low
    width = interval.high - interval.low
    excludes = not stated.low <= estimate <= stated.high
    narrower = width > 0 and stated_width * UNCERTAINTY_WIDTH_FACTOR < width
    wider = width > 0 and stated_width > UNCERTAINTY_WIDTH_FACTOR * width
    if not (excludes or narrower or wider):
        return
    reasons = []
    if excludes:
        reasons.append(f"the stated interval does not contain the computed {_num(estimate)}")
    if narrower or wider:
        reasons.append(
            f"it is {stated_width / width:.2g} times as wide as the computed one"
            + (" (it overstates the certainty)" if narrower else " (it understates it)")
        )
    yield Finding(
        code="hand-typed-uncertainty",
        severity=Severity.MEDIUM if excludes or narrower else Severity.LOW,
        title=f"A typed uncertainty for {stated.metric} contradicts the computed interval",
        detail=(
            f"The {annotation.kind.label.lower()} in {_cell_number(annotation.cell_index)} "
            f"states “{stated.text.strip()}” ({_num(stated.low)} to {_num(stated.high)}), but "
            f"the evidence of {_run_label(context, run_id)} gives {_num(estimate)} with a "
            f"{_interval_words(interval)}: {'; '.join(reasons)}. Quote the computed interval "
            "instead of a typed one."
        ),
        run_ids=(run_id,),
        cell_index=annotation.cell_index,
    )


# --- acceptance criteria ------------------------------------------------------------------------

_CRITERION_FINDINGS: dict[CriterionStatus, tuple[str, Severity, str, str]] = {
    CriterionStatus.NOT_MET: (
        "criterion-not-met",
        Severity.HIGH,
        "An acceptance criterion is not met",
        "The model does not reach the bar its authors set. Choose another model, or say in "
        "the decision why the committee should accept it anyway.",
    ),
    CriterionStatus.NOT_EVALUATED: (
        "criterion-not-evaluated",
        Severity.HIGH,
        "An acceptance criterion could not be checked",
        "A bar nobody can check is no evidence: fix the rule or capture the figure it names.",
    ),
    CriterionStatus.MET_ON_POINT: (
        "criterion-met-on-point-only",
        Severity.MEDIUM,
        "An acceptance criterion is met on the point estimate only",
        "The figure reaches the bar, but the evidence does not rule out that the model falls "
        "short of it: more evaluation rows, or a bar the committee accepts with that margin.",
    ),
}


@audit_check
def acceptance_criteria(context: AuditContext) -> Iterable[Finding]:
    level = context.evidence.level if context.evidence is not None else 0.95
    for criterion in context.criteria:
        found = _CRITERION_FINDINGS.get(criterion.status)
        if found is None:
            continue
        code, severity, title, advice = found
        label = _run_label(context, criterion.run_id) if criterion.run_id else None
        yield Finding(
            code=code,
            severity=severity,
            title=title,
            detail=f"{criterion_sentence(criterion, level, label)} {advice}",
            run_ids=(criterion.run_id,) if criterion.run_id else (),
            cell_index=criterion.annotation.cell_index,
        )


@audit_check
def decision_without_criterion(context: AuditContext) -> Iterable[Finding]:
    if context.criteria:
        return
    for decision in context.decisions:
        if decision.chosen_run_id is None:
            continue
        yield Finding(
            code="no-acceptance-criterion",
            severity=Severity.MEDIUM,
            title="The decision has no acceptance criterion",
            detail=(
                "Nothing says how good is good enough, so the committee cannot tell whether "
                f"{_run_label(context, decision.chosen_run_id)} is fit for use or only the "
                "best of those tried. Add a bar the evidence is checked against, e.g. "
                "'> [!CRITERION] auc >= 0.90'."
            ),
            run_ids=(decision.chosen_run_id,),
            cell_index=decision.annotation.cell_index,
        )
        return  # one is enough: the fix is the same
