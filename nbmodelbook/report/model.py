"""The review model: plain data describing what a committee needs to see.

Built from a notebook and its runs by `report.build` (no I/O), read by the renderers (which only
format it), by the audit and by `nbmodelbook check`. Every string here came from a notebook, a run
or a user: renderers must treat all of it as untrusted text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from nbmodelbook.record import RunRecord
from nbmodelbook.report.labels import run_label

if TYPE_CHECKING:
    from nbmodelbook.report.changes import ReviewChanges
    from nbmodelbook.report.evidence import ReviewEvidence


class AnnotationKind(StrEnum):
    DECISION = "decision"
    REJECTED = "rejected"
    RISK = "risk"
    LIMITATION = "limitation"
    ASSUMPTION = "assumption"
    DATA = "data"
    METHOD = "method"
    CONTEXT = "context"
    # Model facts: what the model is for and who answers for it (Model Cards, SR 11-7, Annex IV).
    INTENDED_USE = "intended-use"
    OUT_OF_SCOPE = "out-of-scope"
    TARGET = "target"
    OWNER = "owner"
    VERSION = "version"
    OVERSIGHT = "oversight"
    MONITORING = "monitoring"
    # An acceptance criterion, machine-checked: `> [!CRITERION] auc >= 0.95 on segment region`.
    CRITERION = "criterion"

    @property
    def label(self) -> str:
        return self.value.replace("-", " ").capitalize()

    @property
    def marker(self) -> str:
        """How the kind is written in a notebook: `[!INTENDED-USE]`."""
        return self.value.upper()


# The model facts a committee reads first, in the order a model card lists them.
FACT_KINDS = (
    AnnotationKind.INTENDED_USE,
    AnnotationKind.OUT_OF_SCOPE,
    AnnotationKind.TARGET,
    AnnotationKind.OWNER,
    AnnotationKind.VERSION,
    AnnotationKind.OVERSIGHT,
    AnnotationKind.MONITORING,
)


@dataclass(frozen=True, slots=True)
class Annotation:
    """One `> [!KIND] title` block (or a tagged markdown cell) of the notebook."""

    kind: AnnotationKind
    title: str  # plain text, the rest of the first line
    body: str  # Markdown source of the rest of the block
    refs: tuple[str, ...]  # `run:REF` tokens as written (names or ids), in order, deduplicated
    cell_index: int
    cell_id: str | None
    source: str = "alert"  # "alert" (a `> [!KIND]` block) or "tag" (a cell tag)


@dataclass(frozen=True, slots=True)
class AnnotationProblem:
    """Something in the annotations a reviewer would trip over (e.g. an unknown kind)."""

    cell_index: int
    cell_id: str | None
    message: str


class Severity(StrEnum):
    HIGH = "high"  # the evidence may not support the conclusion
    MEDIUM = "medium"  # the evidence is weaker than it looks
    LOW = "low"  # worth a sentence in the review


@dataclass(frozen=True, slots=True)
class Finding:
    """One integrity-audit (or readiness) finding: what, about which runs, and why it matters."""

    code: str  # stable identifier, e.g. "edited-after-run"
    severity: Severity
    title: str  # short, plain language
    detail: str  # one or two sentences: what was found and why it matters
    run_ids: tuple[str, ...] = ()
    cell_index: int | None = None


@dataclass(frozen=True, slots=True)
class ParamRow:
    name: str
    values: tuple[Any, ...]  # one per compared run, None when the run has no such param
    differs: bool
    # Which runs set the param: a run can record None (`max_depth=None`), which `values` alone
    # cannot tell from not setting it. Empty: a run set it when its value is not None.
    set_in: tuple[bool, ...] = ()
    # Which runs' models have the param at all: False where a run recorded a model whose
    # family has no such parameter ("not applicable", no difference). Empty: every run's.
    applies: tuple[bool, ...] = ()

    def applies_to(self, position: int) -> bool:
        return not self.applies or position >= len(self.applies) or self.applies[position]

    def is_set(self, position: int) -> bool:
        if self.set_in:
            return position < len(self.set_in) and self.set_in[position]
        return position < len(self.values) and self.values[position] is not None

    def setters(self, runs: int) -> tuple[int, ...]:
        """The positions, among `runs` compared runs, of those that set the param."""
        return tuple(position for position in range(runs) if self.is_set(position))


@dataclass(frozen=True, slots=True)
class MetricRow:
    name: str
    values: tuple[float | None, ...]  # one per compared run
    lower_is_better: bool
    best: tuple[int, ...]  # positions (in the compared runs) holding the best value


@dataclass(frozen=True, slots=True)
class DataDifference:
    """How two compared runs' inputs differ, in words."""

    run_a: str
    run_b: str
    kind: str  # "same" | "different content" | "different shape" | "different columns" | ...
    sentence: str


@dataclass(slots=True)
class Evidence:
    """The runs an annotation cites, compared side by side (chosen or first-cited first)."""

    run_ids: list[str]
    params: list[ParamRow] = field(default_factory=list)
    metrics: list[MetricRow] = field(default_factory=list)
    data: list[DataDifference] = field(default_factory=list)
    missing_refs: list[str] = field(default_factory=list)  # refs that match no run

    @property
    def differing_params(self) -> list[ParamRow]:
        return [row for row in self.params if row.differs]

    @property
    def shared_params(self) -> list[ParamRow]:
        """Params every compared run sets (identical or not)."""
        runs = len(self.run_ids)
        return [row for row in self.params if len(row.setters(runs)) == runs]

    @property
    def partial_params(self) -> list[ParamRow]:
        """Params only some of the compared runs set (another model's settings, say)."""
        runs = len(self.run_ids)
        return [row for row in self.params if len(row.setters(runs)) < runs]

    @property
    def compared_params(self) -> list[ParamRow]:
        """Differing params that at least two runs have: the like-for-like differences."""
        runs = len(self.run_ids)
        return [row for row in self.params if row.differs and len(row.setters(runs)) >= 2]


@dataclass(frozen=True, slots=True)
class Fact:
    """One model fact: written by the authors (an annotation) or read from the runs (captured)."""

    key: str  # an annotation kind's value ("intended-use") or a captured key ("training-data")
    label: str  # "Intended use"
    text: str  # plain text: the annotation's title, or the captured value in words
    body: str = ""  # Markdown source of an annotation's body
    source: str = "annotation"  # "annotation" (written) | "captured" (filled in automatically)
    cell_index: int | None = None


class CriterionStatus(StrEnum):
    MET = "met"
    MET_ON_POINT = "met on the point estimate only"  # the interval reaches past the bar
    NOT_MET = "not met"
    NOT_EVALUATED = "not evaluated"  # unreadable, or no figure to check it on

    @property
    def passes(self) -> bool:
        return self is CriterionStatus.MET


@dataclass(frozen=True, slots=True)
class CriterionCheck:
    """A criterion checked on one scope: the whole evaluation, or one level of a segment."""

    scope: str  # "overall" or "region = north"
    value: float | None
    lower: float | None  # the interval's bounds, when the figure has one
    upper: float | None
    status: CriterionStatus
    rows: int | None = None
    method: str | None = None  # how the interval was computed ("DeLong", "Wilson", ...)


@dataclass(frozen=True, slots=True)
class Criterion:
    """An acceptance criterion (`> [!CRITERION] auc >= 0.95 on segment region`), checked."""

    annotation: Annotation
    text: str  # the rule as written
    metric: str | None
    operator: str | None  # ">=" | "<="
    threshold: float | None
    segment: str | None  # the segment column whose every level must meet it
    status: CriterionStatus
    checks: tuple[CriterionCheck, ...]
    reason: str  # one sentence: what was checked on which run, or why it could not be
    run_id: str | None = None


class CoverageStatus(StrEnum):
    COVERED = "covered"
    PARTLY = "partly covered"
    MISSING = "missing"
    # What the framework asks for cannot live in a notebook (a declaration of conformity, the
    # hardware it runs on): listed, with its clause, but never counted as missing.
    OUTSIDE = "outside the notebook"


@dataclass(frozen=True, slots=True)
class ElementCoverage:
    """One element of a framework (a model card section, an SR 11-7 expectation, an Annex IV
    point) and what in the review covers it."""

    element_id: str
    title: str
    clause: str  # where the framework asks for it, e.g. "Annex IV §2(b)"
    status: CoverageStatus
    covered_by: tuple[str, ...]  # sections, annotations or captured facts, in words
    missing: tuple[str, ...]  # what to write, naming the annotation kind that fills it


@dataclass(frozen=True, slots=True)
class FrameworkCoverage:
    framework_id: str  # "eu-ai-act", or the stem of an organisation's own file
    title: str
    source: str  # the document the clauses cite
    elements: tuple[ElementCoverage, ...]

    def count(self, status: CoverageStatus) -> int:
        return sum(1 for element in self.elements if element.status is status)


@dataclass(slots=True)
class Decision:
    annotation: Annotation
    chosen_run_id: str | None
    alternative_run_ids: list[str]
    headline_metric: str | None
    evidence: Evidence
    # The `metric:NAME` tokens of the decision, as written, in order; the first (when the
    # chosen run recorded it) is the headline metric.
    named_metrics: tuple[str, ...] = ()


@dataclass(slots=True)
class Rejection:
    annotation: Annotation
    evidence: Evidence


@dataclass(slots=True)
class SearchEffort:
    """The search behind the chosen run, disclosed: how many tries, of how many kinds."""

    total_runs: int
    failed_runs: int
    families: list[str]  # model families tried (class names), most used first
    runs_of_chosen_family: int
    sentence: str


@dataclass(slots=True)
class Summary:
    """The first page, in plain language, for a reader who reads nothing else."""

    chosen_run_id: str | None
    chosen_name: str | None
    headline_metric: str | None
    headline_value: float | None
    alternatives: list[tuple[str, float | None]]  # (run id, value on the headline metric)
    open_risks: int
    sentences: list[str]


@dataclass(slots=True)
class Methodology:
    inputs: dict[str, dict[str, Any]]  # the chosen run's data fingerprints
    reproducible_code: str  # lineage cells then the chosen cell, in execution order
    lineage_cells: int


@dataclass(slots=True)
class Review:
    title: str
    notebook: str  # file name as given (not an absolute path, which would change per machine)
    summary: Summary
    decisions: list[Decision]
    rejections: list[Rejection]
    notes: list[Annotation]  # risks, limitations, assumptions, data, method, context
    history: list[str]  # every run id of the notebook, oldest first
    runs: dict[str, RunRecord]
    effort: SearchEffort | None
    methodology: Methodology | None
    findings: list[Finding]
    annotation_problems: list[AnnotationProblem]
    chosen_run_id: str | None = None
    store_location: str | None = None
    # The figures behind the decisions (intervals, paired comparisons, confusion counts,
    # baseline, effort, folds), from the evidence of the runs the decisions cite.
    evidence: ReviewEvidence | None = None
    # Model facts, authored then captured, in FACT_KINDS order; acceptance criteria, checked;
    # framework coverage, for the frameworks the notebook or the command line names.
    facts: list[Fact] = field(default_factory=list)
    criteria: list[Criterion] = field(default_factory=list)
    coverage: list[FrameworkCoverage] = field(default_factory=list)
    # What changed since an earlier review (`report --since`); None: no earlier review given.
    changes: ReviewChanges | None = None

    def run_label(self, run_id: str) -> str:
        """A run named on its own (`report.labels.run_label`), or the id of a run not here."""
        run = self.runs.get(run_id)
        return run_label(run) if run is not None else run_id
