"""Build the review model from a notebook, its annotations and its runs. Pure: no I/O."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from nbmodelbook.links import link_cells
from nbmodelbook.metric_names import headline_metric
from nbmodelbook.record import FEATURES_KIND, RunRecord, code_hash
from nbmodelbook.report.audit import AuditContext, NotebookCell, run_audit
from nbmodelbook.report.compare import compare_runs, model_family
from nbmodelbook.report.criteria import check_criteria
from nbmodelbook.report.evidence import ReviewEvidence, review_evidence
from nbmodelbook.report.facts import model_facts
from nbmodelbook.report.model import (
    Annotation,
    AnnotationKind,
    AnnotationProblem,
    Decision,
    Methodology,
    Rejection,
    Review,
    SearchEffort,
    Summary,
)
from nbmodelbook.report.numbers import format_number
from nbmodelbook.report.resolve import resolve_ref
from nbmodelbook.track_args import split_track_cell

_METRIC_HINT = re.compile(r"\bmetric:([A-Za-z0-9_.\-]+[A-Za-z0-9_])")
NOTE_KINDS = (
    AnnotationKind.RISK,
    AnnotationKind.LIMITATION,
    AnnotationKind.ASSUMPTION,
    AnnotationKind.DATA,
    AnnotationKind.METHOD,
    AnnotationKind.CONTEXT,
)


def build_review(
    notebook: Mapping[str, Any],
    notebook_name: str,
    runs: Mapping[str, RunRecord],
    annotations: Sequence[Annotation],
    problems: Sequence[AnnotationProblem] = (),
    *,
    store_location: str | None = None,
    level: float = 0.95,
    candidate_counts: Mapping[str, int] | None = None,
) -> Review:
    """The review of `notebook`, given all its runs (and any other runs its annotations cite).

    The evidence figures come from the evaluations and candidates of the runs the decisions
    cite (`report.load` reads only those); a run without them gets no figures and a reason.
    `candidate_counts` says how many candidates each other run tried (for the search effort)."""
    ordered = sorted(runs.values(), key=lambda run: (run.started_at, run.run_id))
    unknown: list[tuple[Annotation, str]] = []

    def resolved(annotation: Annotation) -> tuple[list[str], list[str]]:
        found, missing = [], []
        for ref in annotation.refs:
            run_id = resolve_ref(ref, runs)
            if run_id is None:
                missing.append(ref)
                unknown.append((annotation, ref))
            elif run_id not in found:
                found.append(run_id)
        return found, missing

    decisions: list[Decision] = []
    rejections: list[Rejection] = []
    for annotation in annotations:
        if annotation.kind is AnnotationKind.DECISION:
            found, missing = resolved(annotation)
            chosen = runs[found[0]] if found else None
            named = named_metrics(annotation)
            metric = headline_metric(chosen, named[0] if named else None) if chosen else None
            decisions.append(
                Decision(
                    annotation=annotation,
                    chosen_run_id=chosen.run_id if chosen else None,
                    alternative_run_ids=found[1:],
                    headline_metric=metric,
                    evidence=compare_runs([runs[r] for r in found], missing),
                    named_metrics=named,
                )
            )
    chosen_id = next((d.chosen_run_id for d in decisions if d.chosen_run_id), None)
    for annotation in annotations:
        if annotation.kind is AnnotationKind.REJECTED:
            found, missing = resolved(annotation)
            compared = ([chosen_id] if chosen_id and chosen_id not in found else []) + found
            rejections.append(
                Rejection(annotation, compare_runs([runs[r] for r in compared], missing))
            )
    notes = [a for a in annotations if a.kind in NOTE_KINDS]
    for note in notes:
        resolved(note)  # unknown references in notes are findings too

    links = link_cells(notebook, [_summary(run) for run in ordered])
    decision = next((d for d in decisions if d.chosen_run_id == chosen_id), None)
    figures = review_evidence(
        runs,
        chosen_id,
        decision.alternative_run_ids if decision else [],
        decision.headline_metric if decision else None,
        all_runs=ordered,
        cited=decision_run_ids(decisions),
        candidate_counts=candidate_counts,
        level=level,
    )
    criteria = check_criteria(annotations, runs, chosen_id, figures)
    context = AuditContext(
        cells=_cells(notebook),
        links=links,
        runs=runs,
        annotations=list(annotations),
        decisions=decisions,
        rejections=rejections,
        unknown_refs=unknown,
        chosen_run_id=chosen_id,
        evidence=figures,
        criteria=criteria,
    )
    findings = run_audit(context)
    chosen = runs.get(chosen_id or "")
    effort = search_effort(ordered, chosen)
    summary = _summary_of(decision, runs, notes, figures)
    return Review(
        title=notebook_title(notebook, notebook_name),
        notebook=notebook_name,
        summary=summary,
        decisions=decisions,
        rejections=rejections,
        notes=notes,
        history=[run.run_id for run in ordered],
        runs=dict(runs),
        effort=effort,
        methodology=methodology(chosen) if chosen else None,
        findings=findings,
        annotation_problems=list(problems),
        chosen_run_id=chosen_id,
        store_location=store_location,
        evidence=figures,
        facts=model_facts(annotations, chosen),
        criteria=criteria,
    )


def decision_run_ids(decisions: Sequence[Decision]) -> list[str]:
    """Every run a decision cites, chosen or alternative, once each in order."""
    found: dict[str, None] = {}
    for decision in decisions:
        if decision.chosen_run_id:
            found[decision.chosen_run_id] = None
        found.update(dict.fromkeys(decision.alternative_run_ids))
    return list(found)


def named_metrics(annotation: Annotation) -> tuple[str, ...]:
    """The `metric:NAME` tokens of an annotation's title and body, in order, once each."""
    text = f"{annotation.title}\n{annotation.body}"
    return tuple(dict.fromkeys(match.group(1) for match in _METRIC_HINT.finditer(text)))


def _summary(run: RunRecord) -> dict[str, Any]:
    return {"run_id": run.run_id, "cell_id": run.cell_id, "code_hash": run.code_hash}


def _cells(notebook: Mapping[str, Any]) -> list[NotebookCell]:
    cells = []
    for index, cell in enumerate(notebook.get("cells", []) or []):
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        cells.append(
            NotebookCell(index, cell.get("id"), code_hash(text), cell.get("cell_type", ""))
        )
    return cells


def notebook_title(notebook: Mapping[str, Any], fallback: str) -> str:
    """The notebook's first Markdown heading (or its metadata title), else its file name."""
    metadata_title = (notebook.get("metadata") or {}).get("title")
    if isinstance(metadata_title, str) and metadata_title.strip():
        return metadata_title.strip()
    for cell in notebook.get("cells", []) or []:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("#"):
                heading = stripped.lstrip("#").strip()
                if heading:
                    return heading
    return fallback


def search_effort(ordered: Sequence[RunRecord], chosen: RunRecord | None) -> SearchEffort | None:
    if not ordered:
        return None
    families = Counter(family for run in ordered if (family := model_family(run)))
    family_names = [name.rsplit(".", 1)[-1] for name, _ in families.most_common()]
    failed = sum(1 for run in ordered if run.status.failed)
    chosen_family = model_family(chosen) if chosen else None
    same_family = families.get(chosen_family, 0) if chosen_family else 0
    total = len(ordered)
    parts = [f"{total} run{'s' if total != 1 else ''}"]
    if family_names:
        parts.append(
            f"of {len(family_names)} model famil{'ies' if len(family_names) != 1 else 'y'}"
        )
    sentence = ("The chosen run was selected from " if chosen else "This notebook records ") + (
        " ".join(parts)
    )
    sentence += f" ({total - failed} finished, {failed} failed or interrupted)."
    if chosen and chosen_family:
        sentence += (
            f" {same_family} of them were {chosen_family.rsplit('.', 1)[-1]} models, the "
            "chosen family."
        )
    return SearchEffort(total, failed, family_names, same_family, sentence)


def methodology(chosen: RunRecord) -> Methodology:
    """The chosen run's data and the code that reproduces it, in execution order."""
    blocks = []
    for cell in chosen.lineage:
        label = f"In[{cell.execution_count}]" if cell.execution_count else "earlier cell"
        blocks.append(f"# --- {label}\n{_without_track_line(cell.code).rstrip()}")
    label = f"In[{chosen.execution_count}]" if chosen.execution_count else "tracked cell"
    blocks.append(f"# --- {label}: {chosen.name}\n{_without_track_line(chosen.code).rstrip()}")
    return Methodology(
        # Data fingerprints only: what the fitted model saw is a list of names, not data.
        inputs={
            name: found
            for name, found in chosen.inputs.items()
            if not (isinstance(found, dict) and found.get("kind") == FEATURES_KIND)
        },
        reproducible_code="\n\n".join(blocks) + "\n",
        lineage_cells=len(chosen.lineage),
    )


def _without_track_line(code: str) -> str:
    parts = split_track_cell(code)
    return parts[1] if parts is not None else code


def _summary_of(
    decision: Decision | None,
    runs: Mapping[str, RunRecord],
    notes: Sequence[Annotation],
    evidence: ReviewEvidence,
) -> Summary:
    """Page 1's facts. Effort, risks and findings are said there by name from the review
    itself; a headline with an interval is shown with it, so it is not repeated bare here."""
    open_risks = sum(
        1 for note in notes if note.kind in (AnnotationKind.RISK, AnnotationKind.LIMITATION)
    )
    sentences: list[str] = []
    chosen = runs.get(decision.chosen_run_id or "") if decision else None
    metric = decision.headline_metric if decision else None
    value = chosen.metrics.get(metric) if chosen and metric else None
    alternatives: list[tuple[str, float | None]] = []
    if decision is None or chosen is None:
        sentences.append(
            "No model has been chosen yet: the notebook has no decision annotation citing a run."
        )
    else:
        family = model_family(chosen)
        what = f"{chosen.name}" + (f" ({family.rsplit('.', 1)[-1]})" if family else "")
        sentence = f"The recommended model is {what}"
        for run_id in decision.alternative_run_ids:
            other = runs[run_id]
            alternatives.append((run_id, other.metrics.get(metric) if metric else None))
        headline = evidence.chosen_estimate()
        estimate = headline.estimate if headline is not None else None
        if metric and value is not None and (estimate is None or estimate.interval is None):
            sentence += f", with {metric} = {_fmt(value)}"
            if alternatives:
                compared = ", ".join(
                    f"{_fmt(alt)} for {runs[run_id].name}" for run_id, alt in alternatives
                )
                sentence += f", against {compared}"
        sentences.append(sentence + ".")
    return Summary(
        chosen_run_id=chosen.run_id if chosen else None,
        chosen_name=chosen.name if chosen else None,
        headline_metric=metric,
        headline_value=value,
        alternatives=alternatives,
        open_risks=open_risks,
        sentences=sentences,
    )


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return format_number(value)
