"""The format-neutral view of a review: what each section shows, numbers already rounded, labels
and anchors decided. Built from a `Review` (no I/O), rendered by one template per format
(`templates/review.html.j2`, `templates/review.md.j2`); a renderer only escapes and lays out.

Strings in the view are still untrusted text: annotation bodies stay Markdown (`Body`), charts stay
SVG (`ChartImage`), captured outputs stay `Figure`s; each format makes them safe its own way.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nbmodelbook.metric_names import lower_is_better
from nbmodelbook.record import CapturedOutput, RunRecord, RunStatus, status_failed
from nbmodelbook.report.build import NOTE_KINDS
from nbmodelbook.report.changes_view import changes_view
from nbmodelbook.report.compare import model_family, params_sentence, same_setting
from nbmodelbook.report.coverage import coverage_view
from nbmodelbook.report.criteria_view import criteria_view
from nbmodelbook.report.evidence_view import (
    comparison_view,
    evaluation_for,
    metric_with_interval,
    missing_intervals,
    performance_view,
    rounded_with_interval,
    summary_view,
)
from nbmodelbook.report.facts_view import fact_text, facts_view
from nbmodelbook.report.labels import run_labels
from nbmodelbook.report.model import (
    Annotation,
    AnnotationKind,
    Decision,
    Evidence,
    Finding,
    MetricRow,
    ParamRow,
    Review,
    Severity,
)
from nbmodelbook.report.numbers import format_number, format_precise
from nbmodelbook.report.sweep import sweep_parameter, sweep_rows

__all__ = [
    "SECTIONS",
    "Body",
    "ChartImage",
    "Figure",
    "ReviewContext",
    "RunRef",
    "build_view",
    "environment_view",
    "format_duration",
    "format_number",
    "format_precise",
    "format_time",
    "format_value",
    "kind_heading",
]

# The report's sections in order. Those in OPTIONAL_SECTIONS are left out (and the others
# numbered without them) when the view has nothing for them.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("changes", "Changes since the last review"),
    ("facts", "Model facts"),
    ("criteria", "Acceptance criteria"),
    ("decisions", "Decisions"),
    ("rejected", "Rejected alternatives"),
    ("history", "Experiment history"),
    ("methodology", "Methodology"),
    ("performance", "Performance of the chosen model"),
    ("risks", "Risks, limitations and assumptions"),
    ("audit", "Integrity audit"),
    ("coverage", "Framework coverage"),
    ("appendix", "Appendix: environment and run log"),
)
OPTIONAL_SECTIONS = frozenset({"changes", "coverage"})

SEVERITY_ORDER = (Severity.HIGH, Severity.MEDIUM, Severity.LOW)
STATUS_TEXT = {
    RunStatus.OK: "ok",
    RunStatus.ERROR: "FAILED",
    RunStatus.INTERRUPTED: "INTERRUPTED",
    RunStatus.CRASHED: "CRASHED",
    RunStatus.RUNNING: "unfinished",
}
MAX_VALUE_CHARS = 300
# The Markdown parser spends ~25 µs on a character that may open markup: a captured output of
# 2 MB of brackets would hold the report for a minute; past this it is shown as its text.
MAX_OUTPUT_MARKUP = 20_000
_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
VEGALITE_MIME = re.compile(r"^application/vnd\.vegalite\.v\d+\+json$")


# ---------------------------------------------------------------------------
# Formatting (shared with the Markdown renderer)


def _clip(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_value(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A parameter value as short plain text (JSON for containers, `repr` for stand-ins)."""
    if value is None:
        return "—"
    if isinstance(value, bool | int | float):
        return format_precise(value)  # a setting is shown as set, not rounded like a figure
    if isinstance(value, str):
        return _clip(value, limit)
    if isinstance(value, Mapping) and isinstance(value.get("repr"), str) and "type" in value:
        return _clip(str(value["repr"]), limit)
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = str(value)
    return _clip(text, limit)


def format_time(epoch: float | None) -> str:
    """Epoch seconds as UTC ISO-8601 (no reader time zone in the report)."""
    if epoch is None or not math.isfinite(epoch):
        return "—"
    try:
        return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return "—"


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds < 1:
        return "<1 s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def status_of(run: RunRecord) -> RunStatus | None:
    try:
        return RunStatus(run.status)
    except ValueError:
        return None


def status_text(run: RunRecord) -> str:
    status = status_of(run)
    return STATUS_TEXT[status] if status is not None else format_value(str(run.status), 40)


def is_failed(run: RunRecord) -> bool:
    return status_failed(run.status)


def metric_lower_is_better(name: str, known: Mapping[str, bool]) -> bool:
    if name in known:
        return known[name]
    return lower_is_better(name)


# ---------------------------------------------------------------------------
# The context both renderers share


@dataclass(frozen=True, slots=True)
class RunRef:
    run_id: str
    label: str
    anchor: str | None  # None: not a run of this review


@dataclass(frozen=True, slots=True)
class ChartImage:
    name: str  # deterministic file stem, e.g. "chart-decision-1"
    svg: str
    alt: str


@dataclass(frozen=True, slots=True)
class Figure:
    """One captured output of the chosen run, made safe for display."""

    kind: str  # "image" | "html" | "text" | "markdown" | "omitted"
    mime: str
    image_mime: str | None = None  # for kind "image": image/png | image/jpeg | image/svg+xml
    image_bytes: bytes | None = None
    html: str | None = None  # sanitized, for "html" and "markdown"
    text: str | None = None  # for "text" and "omitted" (a stand-in or the reason)
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Body:
    """An annotation's Markdown, with where its `run:REF` tokens link (REF -> anchor)."""

    markdown: str
    links: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.markdown.strip())

    @classmethod
    def of(cls, ctx: ReviewContext, annotation: Annotation) -> Body:
        return cls(annotation.body, ctx.run_links(annotation.refs))


class ReviewContext:
    """Run anchors, labels, reference resolution, metric directions and charts of one Review."""

    def __init__(self, review: Review) -> None:
        self.review = review
        self.runs = review.runs
        seen = set()
        order: list[str] = []
        for run_id in review.history:
            if run_id in self.runs and run_id not in seen:
                seen.add(run_id)
                order.append(run_id)
        rest = sorted(
            (run for run_id, run in self.runs.items() if run_id not in seen),
            key=lambda run: (_finite(run.started_at), run.run_id),
        )
        order.extend(run.run_id for run in rest)
        self.order = order
        self.anchors = self._anchors(order)
        self.chosen_id = review.chosen_run_id or review.summary.chosen_run_id
        self.chosen = self.runs.get(self.chosen_id) if self.chosen_id else None
        directions: dict[str, bool] = {}
        for evidence in self._all_evidence():
            for row in evidence.metrics:
                directions.setdefault(row.name, row.lower_is_better)
        self.directions = directions
        self.headline = review.summary.headline_metric

    # -- runs ---------------------------------------------------------------

    def _anchors(self, order: Sequence[str]) -> dict[str, str]:
        anchors: dict[str, str] = {}
        used: set[str] = set()
        for run_id in order:
            short = _ANCHOR_UNSAFE.sub("_", self.runs[run_id].short_id) or "run"
            anchor = f"run-{short}"
            if anchor in used:  # two runs started in the same millisecond
                anchor = f"run-{_ANCHOR_UNSAFE.sub('_', run_id)}"
                suffix = 2
                while anchor in used:
                    anchor, suffix = f"run-{_ANCHOR_UNSAFE.sub('_', run_id)}-{suffix}", suffix + 1
            used.add(anchor)
            anchors[run_id] = anchor
        return anchors

    def ref(self, run_id: str) -> RunRef:
        return RunRef(run_id, self.review.run_label(run_id), self.anchors.get(run_id))

    def names(self, run_ids: Sequence[str]) -> list[str]:
        """Labels of runs shown together (`report.labels.run_labels`); an id that is not a run
        of this review stands for itself."""
        known = [self.runs[run_id] for run_id in run_ids if run_id in self.runs]
        labels = iter(run_labels(known))
        return [next(labels) if run_id in self.runs else run_id for run_id in run_ids]

    def params_sentence(self, evidence: Evidence) -> str:
        return params_sentence(evidence, self.names(evidence.run_ids))

    def resolve(self, token: str) -> str | None:
        """A `run:REF` token's run, by the builder's own rule (`report.resolve.resolve_ref`), so a
        link in the text always points at the run the evidence tables show."""
        from nbmodelbook.report.resolve import resolve_ref

        return resolve_ref(token, self.runs)

    def run_links(self, refs: Iterable[str]) -> dict[str, str]:
        """REF -> anchor for the `run:REF` tokens that match a run."""
        links: dict[str, str] = {}
        for token in refs:
            run_id = self.resolve(token)
            if run_id is not None:
                links[token] = self.anchors[run_id]
        return links

    def cited(self, annotation: Annotation) -> tuple[list[RunRef], list[str]]:
        found: list[RunRef] = []
        missing: list[str] = []
        for token in annotation.refs:
            run_id = self.resolve(token)
            if run_id is None:
                missing.append(token)
            elif all(ref.run_id != run_id for ref in found):
                found.append(self.ref(run_id))
        return found, missing

    def _all_evidence(self) -> list[Evidence]:
        return [d.evidence for d in self.review.decisions] + [
            r.evidence for r in self.review.rejections
        ]

    def lower_is_better(self, metric: str) -> bool:
        return metric_lower_is_better(metric, self.directions)

    def direction(self, metric: str) -> str:
        return "lower is better" if self.lower_is_better(metric) else "higher is better"

    def headline_value(self, run: RunRecord) -> str:
        """The run's headline figure, rounded to what its interval supports when it has one
        (as the evidence tables print it)."""
        if not self.headline:
            return "—"
        value = run.metrics.get(self.headline)
        if not isinstance(value, int | float):
            return "—"
        shown = rounded_with_interval(self.review.evidence, run.run_id, self.headline)
        return shown[0] if shown is not None else format_number(value)

    # -- findings ------------------------------------------------------------

    def findings(self) -> list[Finding]:
        rank = {severity: position for position, severity in enumerate(SEVERITY_ORDER)}
        return sorted(self.review.findings, key=lambda f: rank.get(f.severity, len(rank)))

    def finding_counts(self) -> list[tuple[Severity, int]]:
        counts = Counter(finding.severity for finding in self.review.findings)
        return [(severity, counts[severity]) for severity in SEVERITY_ORDER if counts[severity]]

    def notes_by_kind(self) -> list[tuple[AnnotationKind, list[Annotation]]]:
        grouped: dict[AnnotationKind, list[Annotation]] = {}
        for note in self.review.notes:
            grouped.setdefault(note.kind, []).append(note)
        known = [(kind, grouped.pop(kind)) for kind in NOTE_KINDS if kind in grouped]
        return known + sorted(grouped.items(), key=lambda item: str(item[0]))

    # -- charts --------------------------------------------------------------

    def evidence_chart(self, evidence: Evidence, name: str, title: str) -> ChartImage | None:
        """Metric bars of an evidence block (headline metric first, at most six metrics)."""
        from nbmodelbook.report import charts

        # Stable sort: the headline metric first, the others in their order.
        ordered = sorted(evidence.metrics, key=lambda row: row.name != self.headline)
        labels = [self.review.run_label(run_id) for run_id in evidence.run_ids]
        rows = charts.metric_bar_rows(ordered, labels)
        if not rows:
            return None

        svg = _draw(lambda: charts.to_svg(charts.metric_bars(rows)))
        if svg is None:
            return None
        metrics = ", ".join(dict.fromkeys(str(row["metric"]) for row in rows))
        return ChartImage(name, svg, f"Bar chart of {metrics} for the runs compared in {title}")

    def sweep_chart(
        self, run_ids: Sequence[str], name: str, metric: str | None
    ) -> ChartImage | None:
        """`metric` against the one parameter that varies across `run_ids`, when
        `report.sweep.sweep_parameter` says a chart is due (the rule the widgets follow too)."""
        runs = [self.runs[run_id] for run_id in run_ids if run_id in self.runs]
        param = sweep_parameter(runs, metric)
        if param is None or metric is None:
            return None
        from nbmodelbook.report import charts

        rows = sweep_rows(
            runs, param, metric, labels=run_labels(runs), chosen_run_id=self.chosen_id
        )
        svg = _draw(lambda: charts.to_svg(charts.param_vs_metric(rows, param, metric)))
        if svg is None:
            return None
        return ChartImage(name, svg, f"{metric} against {param} for {len(rows)} runs")

    def history_chart(self) -> ChartImage | None:
        metric = self.headline
        found = self.history_chart_rows()
        if metric is None or found is None:
            return None
        from nbmodelbook.report import charts

        rows, title = found
        svg = _draw(lambda: charts.to_svg(charts.history_chart(rows, metric, title)))
        if svg is None:
            return None
        return ChartImage(
            "chart-history", svg, f"{metric} of every run over time, failed runs marked"
        )

    def history_chart_rows(self) -> tuple[list[dict[str, Any]], str] | None:
        """The history chart's rows (`report.charts.history_chart`), one per run with a start
        time, and its colour title; None when no run has a figure to draw."""
        metric = self.headline
        if not metric or not self.order:
            return None
        from nbmodelbook.report import charts

        families = {run_id: model_family(self.runs[run_id]) for run_id in self.order}
        by_family = any(families.values())
        lower = self.lower_is_better(metric)
        rows: list[dict[str, Any]] = []
        for run_id in self.order:
            run = self.runs[run_id]
            value = run.metrics.get(metric)
            started = format_time(run.started_at)
            if started == "—":
                continue
            group = (families[run_id] or "(no model found)") if by_family else run.name
            recorded_as = metric
            if not isinstance(value, int | float):
                # Every run is a mark: a sweep's `cv_auc.lr=0.1` by its best figure (hollow),
                # a run with no such figure on the time axis.
                related = charts.history_value(run.metrics, metric, lower)
                value, recorded_as = related if related is not None else (None, metric)
            rows.append(
                {
                    "run": self.review.run_label(run_id),
                    "group": group,
                    "started": started,
                    "value": float(value) if value is not None else math.nan,
                    "value_metric": recorded_as,
                    "failed": is_failed(run),
                    "unmeasured": value is None,
                    "chosen": run_id == self.chosen_id,
                }
            )
        if not any(not math.isnan(row["value"]) for row in rows):
            return None
        return rows, "Model family" if by_family else "Run name"

    def history_sweep_chart(self) -> ChartImage | None:
        """The chosen cell's own runs, when they differ in exactly one parameter."""
        chosen = self.chosen
        if chosen is None:
            return None
        siblings = [
            run_id
            for run_id in self.order
            if status_of(self.runs[run_id]) is RunStatus.OK
            and (
                (chosen.cell_id is not None and self.runs[run_id].cell_id == chosen.cell_id)
                or self.runs[run_id].name == chosen.name
            )
        ]
        return self.sweep_chart(siblings, "chart-history-sweep", self.headline)

    # -- evidence charts ---------------------------------------------------------

    def interval_chart(self, decision: Decision, name: str) -> ChartImage | None:
        """The decision's metric for each compared run, with its interval as an error bar."""
        evidence, metric = self.review.evidence, decision.headline_metric
        if evidence is None or metric is None:
            return None
        rows = []
        run_ids = [r for r in decision.evidence.run_ids if r in self.runs]
        for run_id, label in zip(run_ids, self.names(run_ids), strict=True):
            found = evaluation_for(evidence, run_id, metric)
            estimate = found.estimate if found is not None else None
            if estimate is None or estimate.interval is None:
                continue
            rows.append(
                {
                    "run": label,
                    "value": estimate.value,
                    "low": estimate.interval.low,
                    "high": estimate.interval.high,
                    "chosen": run_id == decision.chosen_run_id,
                }
            )
        if len(rows) < 2:
            return None
        from nbmodelbook.report import charts, evidence_charts

        level = evidence.level
        svg = _draw(
            lambda: charts.to_svg(evidence_charts.interval_bars(rows, metric=metric, level=level))
        )
        if svg is None:
            return None
        return ChartImage(name, svg, f"{metric} of each compared run with its {level:.0%} interval")

    def curve_charts(self) -> dict[str, Any]:
        """ROC and precision-recall curves of the chosen run and its alternatives, the chosen
        run's reliability diagram (or residuals), and its confusion matrix."""
        evidence = self.review.evidence
        if evidence is None or not evidence.curves:
            return {}
        from nbmodelbook.report import charts, evidence_charts

        run_ids = list(evidence.curves)
        labels = dict(zip(run_ids, self.names(run_ids), strict=True))
        chosen = labels.get(evidence.chosen_run_id or "")
        roc = {labels[r]: c.roc for r, c in evidence.curves.items() if c.roc is not None}
        pr = {
            labels[r]: c.precision_recall
            for r, c in evidence.curves.items()
            if c.precision_recall is not None
        }
        mine = evidence.curves.get(evidence.chosen_run_id or "")
        found: dict[str, Any] = {
            "roc": None,
            "pr": None,
            "calibration": None,
            "residuals": None,
            "sampled": [],
            "reasons": [],
        }
        for run_id, figures in evidence.curves.items():
            if figures.sampled:
                found["sampled"].append(
                    f"{labels[run_id]}: curves drawn from {figures.n:,} of its "
                    f"{figures.n_total:,} rows (a seeded sample)"
                )
            if figures.reason:
                found["reasons"].append(f"{labels[run_id]}: {figures.reason}")

        def chart(name: str, alt: str, build: Callable[[], Any]) -> ChartImage | None:
            svg = _draw(lambda: charts.to_svg(build()))
            return ChartImage(name, svg, alt) if svg is not None else None

        if roc:
            found["roc"] = chart(
                "chart-roc",
                f"ROC curves of {len(roc)} runs",
                lambda: evidence_charts.roc_chart(roc, chosen=chosen),
            )
        if pr:
            found["pr"] = chart(
                "chart-precision-recall",
                f"Precision-recall curves of {len(pr)} runs",
                lambda: evidence_charts.pr_chart(pr, chosen=chosen),
            )
        if mine is not None and mine.calibration is not None:
            calibration = mine.calibration
            found["calibration"] = chart(
                "chart-calibration",
                "Reliability diagram of the chosen run",
                lambda: evidence_charts.calibration_chart(
                    calibration.bins, calibration.ece, label=chosen
                ),
            )
        if mine is not None and mine.residuals is not None:
            residuals = mine.residuals
            found["residuals"] = chart(
                "chart-residuals",
                "Residuals of the chosen run against its predictions",
                lambda: evidence_charts.residual_chart(residuals, label=chosen),
            )
        return found

    def confusion_chart(self, confusion: Mapping[str, Any] | None) -> ChartImage | None:
        if confusion is None:
            return None
        from nbmodelbook.report import charts, evidence_charts

        svg = _draw(
            lambda: charts.to_svg(
                evidence_charts.confusion_chart(
                    confusion["tp"],
                    confusion["fp"],
                    confusion["tn"],
                    confusion["fn"],
                    confusion["positive"],
                    confusion["negative"],
                )
            )
        )
        if svg is None:
            return None
        return ChartImage("chart-confusion", svg, "Confusion matrix of the chosen run")

    # -- captured outputs --------------------------------------------------------

    def figures(self) -> list[Figure]:
        if self.chosen is None:
            return []
        return [figure_of(output) for output in self.chosen.outputs]


def pad(values: Sequence[Any], width: int) -> list[Any]:
    """`values` cut or filled with None to exactly one per compared run."""
    return [values[index] if index < len(values) else None for index in range(width)]


NOT_APPLICABLE = "not applicable"
NOT_SET = "(not set)"


def param_cells(row: ParamRow, width: int) -> list[str]:
    """A param's value in each of `width` compared runs, as text: "not applicable" where the
    run's model has no such param, "(not set)" where it has but the run recorded none (a run
    that recorded None shows it)."""
    return [
        format_value(value)
        if row.is_set(position)
        else NOT_SET
        if row.applies_to(position)
        else NOT_APPLICABLE
        for position, value in enumerate(pad(row.values, width))
    ]


def param_sameness(row: ParamRow, width: int) -> str:
    """The "Same in all?" answer, true where some runs' models have no such param."""
    if row.differs:
        return "no"
    having = sum(row.applies_to(position) for position in range(width))
    shown = [row.values[p] for p in range(min(width, len(row.values))) if row.is_set(p)]
    if not same_setting(shown):
        # Bookkeeping (seeds, verbosity...) is compared within a model family only.
        return "no, but only across model families (bookkeeping)"
    if having == width:
        return "yes"
    return "yes, where it applies" if having > 1 else "only one run's model has it"


def _finite(value: float | None) -> float:
    return value if isinstance(value, int | float) and math.isfinite(value) else math.inf


def _draw(build: Callable[[], str]) -> str | None:
    """Run a chart build-and-convert; a chart that cannot be drawn is left out, not fatal."""
    try:
        svg = build()
    except Exception:
        return None
    return svg if isinstance(svg, str) else None


def figure_of(output: CapturedOutput) -> Figure:
    """Make one captured output of a run safe to show (or say why it is not shown)."""
    from nbmodelbook.report import sanitize

    mime = output.mime
    if output.truncated and mime != "text/x-stdout":
        return Figure(
            "omitted",
            mime,
            text=_clip(output.data, 2000),
            note=f"Output too large to keep ({output.size:,} bytes of {mime}); "
            "its text form is shown instead.",
        )
    if mime in ("image/png", "image/jpeg"):
        raw = sanitize.image_bytes(mime, output.data)
        if raw is None:
            return Figure("omitted", mime, note=f"A {mime} output that is not a valid image.")
        return Figure("image", mime, image_mime=mime, image_bytes=raw)
    if mime == "image/svg+xml":
        svg = sanitize.svg_bytes(output.data)
        if svg is None:
            return Figure("omitted", mime, note="An SVG output that is not a valid SVG image.")
        return Figure("image", mime, image_mime="image/svg+xml", image_bytes=svg)
    if VEGALITE_MIME.match(mime):
        from nbmodelbook.report import charts

        drawn = charts.untrusted_vegalite_to_svg(output.data)
        svg = sanitize.svg_bytes(drawn) if drawn is not None else None
        if svg is None:
            return Figure(
                "omitted",
                mime,
                note="A Vega-Lite chart that could not be drawn offline "
                "(invalid, too large, or it loads data from elsewhere).",
            )
        return Figure("image", mime, image_mime="image/svg+xml", image_bytes=svg)
    if mime == "text/html":
        return Figure("html", mime, html=sanitize.html_output_to_safe_html(output.data))
    if mime == "text/markdown":
        from nbmodelbook.report.annotations import markup_count  # loads the Markdown parser

        if markup_count(output.data) > MAX_OUTPUT_MARKUP:
            return Figure(
                "text",
                mime,
                text=output.data,
                note="Markdown output shown as its text: it holds too much markup to render "
                f"(more than {MAX_OUTPUT_MARKUP:,} brackets, stars and the like).",
            )
        return Figure(
            "markdown", mime, html=sanitize.markdown_to_safe_html(output.data, heading_offset=3)
        )
    note = None
    if output.truncated:
        note = f"Printed output was cut: the last {len(output.data):,} of {output.size:,} "
        note += "characters are kept."
    return Figure("text", mime, text=output.data, note=note)


def _evidence_view(
    ctx: ReviewContext, evidence: Evidence, name: str, title: str, chosen_id: str | None
) -> dict[str, Any]:
    runs = [ctx.ref(run_id) for run_id in evidence.run_ids]
    all_params = [
        {
            "name": row.name,
            "values": param_cells(row, len(runs)),
            "differs": row.differs,
            "same": param_sameness(row, len(runs)),
        }
        for row in evidence.params
    ]
    compared = {row.name for row in evidence.compared_params}
    differing = [row for row in all_params if row["name"] in compared]
    metrics = [_metric_view(ctx, row, evidence.run_ids) for row in evidence.metrics]
    return {
        "runs": runs,
        "chosen_id": chosen_id,
        "params": all_params,
        "params_sentence": ctx.params_sentence(evidence),
        "differing": differing,
        # The full table, when the one of differences leaves params out.
        "all_hidden": len(differing) < len(all_params),
        "metrics": metrics,
        "data": [difference.sentence for difference in evidence.data],
        "missing": list(evidence.missing_refs),
        "chart": (ctx.evidence_chart(evidence, f"chart-{name}", title)),
        "sweep": (ctx.sweep_chart(evidence.run_ids, f"chart-{name}-sweep", ctx.headline)),
    }


def _metric_view(ctx: ReviewContext, row: MetricRow, run_ids: Sequence[str]) -> dict[str, Any]:
    cells = []
    for position, run_id in enumerate(run_ids):
        value = row.values[position] if position < len(row.values) else None
        text, interval = format_number(value), None
        shown = rounded_with_interval(ctx.review.evidence, run_id, row.name)
        if shown is not None and value is not None:
            text, interval = shown  # rounded to what its interval supports
        cells.append({"text": text, "best": position in row.best, "interval": interval})
    return {
        "name": row.name,
        "direction": "lower is better" if row.lower_is_better else "higher is better",
        "headline": row.name == ctx.headline,
        "cells": cells,
    }


def _summary_view(ctx: ReviewContext) -> dict[str, Any]:
    summary = ctx.review.summary
    headline = summary.headline_metric
    rows: list[dict[str, Any]] = []
    if summary.chosen_run_id is not None:
        rows.append(
            {"run": ctx.ref(summary.chosen_run_id), "value": summary.headline_value, "chosen": True}
        )
    for run_id, value in summary.alternatives:
        rows.append({"run": ctx.ref(run_id), "value": value, "chosen": False})
    finite = [row["value"] for row in rows if isinstance(row["value"], int | float)]
    best = None
    if headline and finite:
        best = min(finite) if ctx.lower_is_better(headline) else max(finite)
    for row in rows:
        row["text"] = format_number(row["value"])
        row["best"] = best is not None and row["value"] == best
        row["estimate"] = (
            metric_with_interval(ctx.review.evidence, row["run"].run_id, headline)
            if headline
            else None
        )
    effort = ctx.review.effort
    # Risks before limitations, each in notebook order.
    risks = sorted(
        (note for note in ctx.review.notes if note.kind in RISK_KINDS),
        key=lambda note: RISK_KINDS.index(note.kind),
    )
    return {
        "chosen": ctx.ref(summary.chosen_run_id) if summary.chosen_run_id else None,
        "chosen_name": summary.chosen_name,
        "headline": headline,
        "direction": ctx.direction(headline) if headline else None,
        "headline_text": format_number(summary.headline_value),
        "rows": rows,
        "sentences": list(summary.sentences),
        "effort": effort.sentence if effort is not None else None,
        "open_risks": summary.open_risks,
        # By name: a reader of page 1 learns what the risks are, not only how many.
        "risks": [
            {
                "kind": note.kind.label,
                "title": note.title or note.kind.label,
                "cell": note.cell_index + 1,
            }
            for note in risks
        ],
        "risk_counts": _risk_counts(risks),
        "serious": [
            {"severity": str(finding.severity), "title": finding.title, "code": finding.code}
            for finding in ctx.findings()
            if finding.severity in (Severity.HIGH, Severity.MEDIUM)
        ],
        "finding_counts": [(str(sev), count) for sev, count in ctx.finding_counts()],
        "total_findings": len(ctx.review.findings),
        "decisions": len(ctx.review.decisions),
        "rejections": len(ctx.review.rejections),
    }


RISK_KINDS = (AnnotationKind.RISK, AnnotationKind.LIMITATION)
_RISK_NOUNS = {AnnotationKind.RISK: "risk", AnnotationKind.LIMITATION: "limitation"}


def _risk_counts(notes: Sequence[Annotation]) -> str:
    """ "1 risk and 2 limitations": what page 1's list holds, kind by kind."""
    counts = Counter(note.kind for note in notes)
    parts = [
        f"{counts[kind]} {_RISK_NOUNS[kind]}{'s' if counts[kind] != 1 else ''}"
        for kind in RISK_KINDS
        if counts[kind]
    ]
    return " and ".join(parts)


def _performance_evidence(ctx: ReviewContext) -> dict[str, Any] | None:
    view = performance_view(ctx.review.evidence)
    if view is None or view.get("reason"):
        return view
    view["curves"] = ctx.curve_charts()
    view["confusion_chart"] = ctx.confusion_chart(view.get("confusion"))
    return view


def _labels(ctx: ReviewContext) -> dict[str, str]:
    return {run_id: ctx.review.run_label(run_id) for run_id in ctx.order}


def _decision_comparisons(ctx: ReviewContext, decision: Decision) -> list[dict[str, Any]]:
    """The paired comparisons behind a decision: its chosen run against each alternative."""
    evidence = ctx.review.evidence
    if evidence is None or decision.chosen_run_id is None:
        return []
    wanted = set(decision.alternative_run_ids)
    found = [
        comparison
        for comparison in evidence.comparisons
        if comparison.run_id == decision.chosen_run_id and comparison.other_run_id in wanted
    ]
    rows = []
    for comparison in found:
        row = comparison_view(comparison, ctx.review.run_label(comparison.other_run_id), len(found))
        row["ref"] = ctx.ref(comparison.other_run_id)
        rows.append(row)
    return rows


def _decision_missing_intervals(ctx: ReviewContext, decision: Decision) -> list[str]:
    metric = decision.headline_metric
    if metric is None or ctx.review.evidence is None:
        return []
    names = {
        run_id: [metric]
        for run_id in decision.evidence.run_ids
        if run_id in ctx.runs and isinstance(ctx.runs[run_id].metrics.get(metric), int | float)
    }
    return missing_intervals(ctx.review.evidence, _labels(ctx), names)


def _params_compact(run: RunRecord) -> str:
    return "; ".join(f"{key}={format_value(run.params[key], 80)}" for key in sorted(run.params))


def _metrics_compact(run: RunRecord) -> str:
    # The run log keeps each figure as recorded; the body rounds them.
    return "; ".join(f"{key}={format_precise(run.metrics[key])}" for key in sorted(run.metrics))


def _history_rows(ctx: ReviewContext) -> list[dict[str, Any]]:
    rows = []
    for position, run_id in enumerate(ctx.order, start=1):
        run = ctx.runs[run_id]
        rows.append(
            {
                "n": position,
                "ref": ctx.ref(run_id),
                "name": run.name,
                "short_id": run.short_id,
                "anchor": ctx.anchors[run_id],
                "status": status_text(run),
                "failed": is_failed(run),
                "unfinished": status_of(run) is RunStatus.RUNNING,
                "started": format_time(run.started_at),
                "duration": format_duration(run.duration),
                "headline": ctx.headline_value(run),
                "chosen": run_id == ctx.chosen_id,
            }
        )
    return rows


def _run_log_rows(ctx: ReviewContext, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for row in history:
        run = ctx.runs[row["ref"].run_id]
        error = None
        if run.error is not None:
            error = _clip(f"{run.error.type}: {run.error.message}", 500)
        rows.append(
            {
                **row,
                "run_id": run.run_id,
                "params": _params_compact(run),
                "metrics": _metrics_compact(run),
                "tags": ", ".join(run.tags),
                "note": run.note or "",
                "error": error,
            }
        )
    return rows


def _inputs_view(inputs: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    rows = []
    for name in sorted(inputs):
        fp = inputs[name]
        shape = fp.get("shape")
        columns = fp.get("columns")
        digest = fp.get("hash")
        rows.append(
            {
                "name": name,
                "kind": format_value(fp.get("kind"), 40),
                "shape": " × ".join(f"{int(d):,}" for d in shape)
                if isinstance(shape, list) and all(isinstance(d, int) for d in shape)
                else "—",
                "columns": str(len(columns)) if isinstance(columns, list) else "—",
                "hash": str(digest)[:16] if isinstance(digest, str) and digest else "not computed",
                "error": format_value(fp.get("error"), 200) if fp.get("error") else "",
            }
        )
    return rows


def environment_view(run: RunRecord | None) -> dict[str, Any] | None:
    if run is None:
        return None
    env = run.environment or {}
    python = env.get("python") if isinstance(env.get("python"), Mapping) else {}
    packages = env.get("packages") if isinstance(env.get("packages"), Mapping) else {}
    git = env.get("git") if isinstance(env.get("git"), Mapping) else None
    assert isinstance(python, Mapping) and isinstance(packages, Mapping)
    dirty = None
    if git is not None:
        flag = git.get("dirty")
        dirty = "unknown" if flag is None else ("yes" if flag else "no")
    return {
        "python": [
            (label, format_value(python.get(key), 200))
            for key, label in (
                ("version", "Python"),
                ("implementation", "Implementation"),
                ("platform", "Platform"),
            )
            if python.get(key)
        ],
        "packages": [(str(name), format_value(packages[name], 80)) for name in sorted(packages)],
        "git": None
        if git is None
        else {
            "commit": format_value(git.get("commit"), 80),
            "branch": format_value(git.get("branch"), 200),
            "dirty": dirty,
            "remote": format_value(git.get("remote"), 300),
        },
        "errors": [format_value(error, 300) for error in env.get("errors", []) or []],
    }


def _figure_view(figure: Figure, position: int) -> dict[str, Any]:
    return {
        "figure": figure,
        "kind": figure.kind,
        "mime": figure.mime,
        "note": figure.note,
        "position": position,
        "name": f"figure-{position}",
        "alt": f"Figure {position} of the chosen run ({figure.mime})",
    }


def build_view(review: Review) -> dict[str, Any]:
    """Everything a report shows, as plain values (strings are still untrusted)."""
    ctx = ReviewContext(review)
    history = _history_rows(ctx)
    decisions: list[dict[str, Any]] = [
        {
            "number": number,
            "title": decision.annotation.title or f"Decision {number}",
            "cell": decision.annotation.cell_index + 1,
            "chosen": ctx.ref(decision.chosen_run_id) if decision.chosen_run_id else None,
            "alternatives": [ctx.ref(run_id) for run_id in decision.alternative_run_ids],
            "headline": decision.headline_metric,
            "body": Body.of(ctx, decision.annotation),
            "evidence": _evidence_view(
                ctx,
                decision.evidence,
                f"decision-{number}",
                f"decision {number}",
                decision.chosen_run_id,
            ),
            "comparisons": _decision_comparisons(ctx, decision),
            "interval_chart": ctx.interval_chart(decision, f"chart-decision-{number}-intervals"),
            "no_interval": _decision_missing_intervals(ctx, decision),
        }
        for number, decision in enumerate(review.decisions, start=1)
    ]
    for decision_view in decisions:
        if decision_view["interval_chart"] is not None:
            # The intervals say what the bars would, and whether the gaps are real.
            decision_view["evidence"]["chart"] = None
    rejections = [
        {
            "number": number,
            "title": rejection.annotation.title or f"Rejected alternative {number}",
            "has_title": bool(rejection.annotation.title.strip()),
            "cell": rejection.annotation.cell_index + 1,
            "body": Body.of(ctx, rejection.annotation),
            "evidence": _evidence_view(
                ctx, rejection.evidence, f"rejection-{number}", f"rejection {number}", None
            ),
        }
        for number, rejection in enumerate(review.rejections, start=1)
    ]
    notes = []
    for kind, kind_notes in ctx.notes_by_kind():
        items = []
        for note in kind_notes:
            cited, missing = ctx.cited(note)
            items.append(
                {
                    "title": note.title or kind.label,
                    "cell": note.cell_index + 1,
                    "body": Body.of(ctx, note),
                    "cited": cited,
                    "missing": missing,
                }
            )
        notes.append({"kind": str(kind), "label": kind_heading(kind), "items": items})
    findings = [
        {
            "severity": str(finding.severity),
            "code": finding.code,
            "title": finding.title,
            "detail": finding.detail,
            "runs": [ctx.ref(run_id) for run_id in finding.run_ids],
            "cell": finding.cell_index + 1 if finding.cell_index is not None else None,
        }
        for finding in ctx.findings()
    ]
    problems = [
        {"cell": problem.cell_index + 1, "message": problem.message}
        for problem in review.annotation_problems
    ]
    methodology = review.methodology
    chosen = ctx.chosen
    performance = None
    if chosen is not None:
        evidenced = {
            name
            for name in chosen.metrics
            if evaluation_for(review.evidence, chosen.run_id, name) is not None
        }
        performance = {
            "run": ctx.ref(chosen.run_id),
            "evidence": _performance_evidence(ctx),
            # Metrics the evidence table shows with their intervals are not repeated here.
            "metrics": [
                {
                    "name": name,
                    "value": format_number(chosen.metrics[name]),
                    "direction": ctx.direction(name),
                }
                for name in sorted(chosen.metrics)
                if name not in evidenced
            ],
            "evidenced": len(evidenced),
            "figures": [
                _figure_view(figure, position)
                for position, figure in enumerate(ctx.figures(), start=1)
            ],
        }
    failed = sum(1 for row in history if row["failed"])
    page: dict[str, Any] = {
        "title": review.title,
        "notebook": review.notebook,
        "store": review.store_location,
        "summary": _summary_view(ctx),
        "evidence_summary": summary_view(review.evidence, _labels(ctx)),
        "decisions": decisions,
        "rejections": rejections,
        "history": history,
        "history_failed": failed,
        "headline": ctx.headline,
        "effort": review.effort.sentence if review.effort is not None else None,
        "history_chart": (ctx.history_chart()),
        "sweep_chart": (ctx.history_sweep_chart()),
        "methodology": None
        if methodology is None
        else {
            "inputs": _inputs_view(methodology.inputs),
            "code": methodology.reproducible_code,
            "lineage_cells": methodology.lineage_cells,
        },
        "chosen": ctx.ref(chosen.run_id) if chosen is not None else None,
        "performance": performance,
        "notes": notes,
        "open_risks": review.summary.open_risks,
        "findings": findings,
        "finding_counts": [(str(sev), count) for sev, count in ctx.finding_counts()],
        "problems": problems,
        "environment": environment_view(chosen),
        "run_log": _run_log_rows(ctx, history),
        # Filled in by the sections still to come; None or empty leaves them out.
        "changes": changes_view(review, ctx.ref),
        "facts": facts_view(review.facts),
        "criteria": criteria_view(
            review.criteria, review.evidence.level if review.evidence else 0.95, _labels(ctx)
        ),
        "coverage": coverage_view(review.coverage),
        "page_one_facts": _page_one_facts(review),
    }
    # Annotation bodies are Markdown, rendered by each format as the other annotations are.
    for fact in page["facts"]["written"]:
        fact["body"] = Body(fact["body"])
    for criterion_row in page["criteria"]["rows"]:
        criterion_row["body"] = Body(criterion_row["body"])
    page["sections"] = numbered_sections(page)
    page["n"] = {section["anchor"]: section["number"] for section in page["sections"]}
    return page


def _page_one_facts(review: Review) -> dict[str, str | None]:
    """The facts page 1 names: what the model predicts, for what, whose, which version."""
    return {
        key: fact_text(review.facts, key) for key in ("target", "intended-use", "owner", "version")
    }


def numbered_sections(page: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The sections the page shows, numbered in order (an optional one only with content)."""
    shown = [
        (anchor, heading)
        for anchor, heading in SECTIONS
        if anchor not in OPTIONAL_SECTIONS or page.get(anchor)
    ]
    return [
        {"anchor": anchor, "number": number, "heading": heading}
        for number, (anchor, heading) in enumerate(shown, start=1)
    ]


def kind_heading(kind: AnnotationKind) -> str:
    return {
        AnnotationKind.RISK: "Risks",
        AnnotationKind.LIMITATION: "Limitations",
        AnnotationKind.ASSUMPTION: "Assumptions",
        AnnotationKind.DATA: "Data notes",
        AnnotationKind.METHOD: "Method notes",
        AnnotationKind.CONTEXT: "Context",
    }.get(kind, kind.label)
