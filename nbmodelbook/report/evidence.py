"""The figures behind a review's claims, from the evidence its runs recorded. Pure: no I/O.

    figures = review_evidence(runs, chosen_id, [alternative_ids...], "auc", all_runs=ordered)

For each cited run and each of its evaluations: the metric's estimate with the field's standard
interval (DeLong for ROC AUC, Wilson for accuracy, recall, precision and zero-one loss on their
counts, the bootstrap for anything else), the confusion counts in words for a binary
classifier's predictions, and per-segment figures. Then the chosen run against each alternative
on the decision's metric, only when both were evaluated on the same rows: the paired difference,
its interval, p-value and method (DeLong paired for AUC, McNemar for accuracy, the paired
bootstrap otherwise), Holm-adjusted across the alternatives, and a verdict. Also the trivial
baseline of the chosen run's metric, the search effort (runs and the candidates inside them) and
the fold scores of each cross-validated candidate.

Deterministic: every resampling is seeded (`seed`, the same for every figure). Bounded: DeLong and
Wilson are O(n log n) and O(n); the bootstrap is bounded by stats.bootstrap itself; segment
figures use only the closed-form intervals (a bootstrap per segment level would multiply its cost).
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from nbmodelbook.metric_names import REGRESSION_METRIC_FUNCTIONS, lower_is_better
from nbmodelbook.record import Candidate, Evaluation, RunRecord
from nbmodelbook.report.compare import model_family
from nbmodelbook.report.curves import CurveFigures, review_curves
from nbmodelbook.stats.auc import auc_estimate, paired_auc_test
from nbmodelbook.stats.auc_shared import SharedRowsAUC
from nbmodelbook.stats.bootstrap import bootstrap_estimate, paired_bootstrap
from nbmodelbook.stats.multiple import holm_adjust
from nbmodelbook.stats.positive import binary_truth, scores_the_greater_class
from nbmodelbook.stats.proportions import mcnemar_test, proportion_estimate
from nbmodelbook.stats.results import Estimate, Interval, PairedComparison
from nbmodelbook.stats.selection import (
    OPTIMISM_METHOD,
    expected_max_standard_normal,
)

__all__ = [
    "Baseline",
    "Comparison",
    "Confusion",
    "EffortFigures",
    "EvaluationFigures",
    "FoldScores",
    "GridEdge",
    "RankedCandidate",
    "ReviewEvidence",
    "RunFigures",
    "SearchFigures",
    "SegmentFigure",
    "SelectionEffect",
    "WeakSegment",
    "review_evidence",
]

SIGNIFICANTLY_BETTER = "significantly better"
NOT_DISTINGUISHABLE = "not distinguishable"
SIGNIFICANTLY_WORSE = "significantly worse"
DIFFERENT_ROWS = "evaluated on different rows"
NO_EVIDENCE = "no evaluations recorded (a run imported from MLflow, or recorded before evidence)"
NOT_CITED = "not cited by a decision: its evidence is not read"

# scikit-learn metric functions whose value is a proportion of counted rows (Wilson applies).
_PROPORTIONS = frozenset({"accuracy_score", "recall_score", "precision_score", "zero_one_loss"})
_AUC_FUNCTIONS = frozenset({"roc_auc_score"})
# Options capture keeps that are not arguments of the metric function.
_NOT_ARGUMENTS = frozenset({"threshold", "threshold_op"})
_MAX_CLASSES = 20  # a y_true with more distinct values than this is not a label column
MAX_SEGMENT_LEVELS = 50
# What unusable kept predictions raise (ragged, mismatched, mixed types, NaN scores...).
_UNUSABLE = (ValueError, TypeError, ArithmeticError, IndexError)


# --- the figures ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Confusion:
    """A binary classifier's predictions at its threshold, counted and said in words."""

    tp: int
    fp: int
    tn: int
    fn: int
    positive_label: str  # the positive class as written in y_true, else "positive"
    negative_label: str
    sentence: str  # "misses 1 of 53 malignant cases; 1 false alarm in 90 benign ones"

    @property
    def sensitivity(self) -> float | None:
        positives = self.tp + self.fn
        return self.tp / positives if positives else None

    @property
    def specificity(self) -> float | None:
        negatives = self.tn + self.fp
        return self.tn / negatives if negatives else None


@dataclass(frozen=True, slots=True)
class SegmentFigure:
    """The metric on the rows of one level of a segmenting column."""

    segment: str
    level: str
    n: int
    estimate: Estimate | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class FoldScores:
    """One cross-validated configuration of a run: its score on each held-out fold."""

    source: str
    group: int
    index: int
    params: dict[str, Any]
    scorer: str
    scores: tuple[float, ...]
    mean: float | None
    std: float | None
    chosen: bool


@dataclass(frozen=True, slots=True)
class EvaluationFigures:
    """One evaluation of a run: its estimate (with interval, or the reason there is none)."""

    metric: str
    function: str
    estimate: Estimate | None  # None: no number to estimate (a curve), `reason` says so
    n: int  # rows kept (a sample when n < n_total)
    n_total: int
    rows_fingerprint: str | None
    confusion: Confusion | None = None
    segments: tuple[SegmentFigure, ...] = ()
    folds: tuple[float, ...] = ()  # the same scorer's fold scores of the configuration evaluated
    reason: str | None = None

    @property
    def value(self) -> float | None:
        return self.estimate.value if self.estimate is not None else None


@dataclass(slots=True)
class RunFigures:
    run_id: str
    evaluations: list[EvaluationFigures] = field(default_factory=list)
    folds: list[FoldScores] = field(default_factory=list)
    reason: str | None = None  # why there are no figures


@dataclass(frozen=True, slots=True)
class Comparison:
    """The chosen run against one alternative on `metric`: `result.difference` is chosen - other."""

    run_id: str
    other_run_id: str
    metric: str
    result: PairedComparison | None
    adjusted_p_value: float | None = None  # Holm, across the alternatives
    verdict: str | None = None
    reason: str | None = None  # why there is no comparison (or no verdict)


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a model that ignores its inputs scores on the chosen run's rows."""

    metric: str
    value: float
    strategy: str  # "prior", "majority class", "mean"
    model_value: float | None
    sentence: str


@dataclass(frozen=True, slots=True)
class EffortFigures:
    runs: int
    candidates: int  # configurations tried inside the runs (searches, CV, loops)
    configurations: int  # distinct (model family, params) over runs and candidates
    model_families: tuple[str, ...]
    # Configurations per model family (short class name), most first.
    family_configurations: tuple[tuple[str, int], ...] = ()

    def configurations_of(self, family: str) -> int:
        return dict(self.family_configurations).get(family, 0)


@dataclass(frozen=True, slots=True)
class RankedCandidate:
    """One candidate of a search with its rank by mean score (1 = best; ties share the better
    rank, as scikit-learn's rank_test_score; None without a finite mean)."""

    index: int
    params: dict[str, Any]
    mean: float | None
    rank: int | None
    chosen: bool


@dataclass(frozen=True, slots=True)
class GridEdge:
    """A numeric parameter searched over 3+ values whose chosen value is the lowest or the
    highest of them: the best may lie outside the range searched."""

    param: str
    value: float
    values: tuple[float, ...]  # the distinct values searched, ascending
    side: str  # "lowest" or "highest"


@dataclass(frozen=True, slots=True)
class SearchFigures:
    """One search of a run (a `source` and `group` of its candidates): the candidate table with
    ranks, the chosen (refit) candidate's rank, and the parameters it has at a grid edge."""

    run_id: str
    source: str
    group: int
    scorer: str
    candidates: tuple[RankedCandidate, ...]
    chosen_index: int | None
    chosen_rank: int | None
    edges: tuple[GridEdge, ...]


@dataclass(frozen=True, slots=True)
class SelectionEffect:
    """How many configurations stand behind the chosen run and, when other runs were scored
    by the same metric on the same rows that report the chosen figure (the choice was made on
    the test set), how optimistic that figure can be: `optimism` = `standard_error` (from the
    chosen interval) x `expected_max` (E[max of k iid N(0, 1)], k = `k`: the runs scored on
    those rows)."""

    configurations: int  # every configuration tried (runs and the candidates inside them)
    same_rows: bool
    runs_on_same_rows: int  # other runs scored by the metric on the chosen run's rows
    standard_error: float | None
    expected_max: float | None
    optimism: float | None
    method: str
    # The choice the optimism is about: the chosen run and the other runs scored by the metric
    # on its rows (configurations scored on training folds were not chosen on these rows).
    k: int = 1


@dataclass(frozen=True, slots=True)
class WeakSegment:
    """A segment level of the chosen evaluation whose metric is significantly worse than the
    overall figure (stats.segments.weak_segments; `interval` at the Bonferroni level)."""

    segment: str
    level: str
    n: int
    value: float
    interval: Interval
    overall: float
    test: str


@dataclass(slots=True)
class ReviewEvidence:
    level: float
    seed: int
    chosen_run_id: str | None
    metric: str | None
    runs: dict[str, RunFigures]
    comparisons: list[Comparison]
    baseline: Baseline | None
    effort: EffortFigures
    reason: str | None = None  # why the chosen run has no figures
    searches: list[SearchFigures] = field(default_factory=list)  # of the runs with figures
    selection_effect: SelectionEffect | None = None
    weak_segments: list[WeakSegment] = field(default_factory=list)  # of the chosen evaluation
    # Curves of the chosen run and its alternatives on the decision's metric (run id -> figures).
    curves: dict[str, CurveFigures] = field(default_factory=dict)

    def chosen_estimate(self) -> EvaluationFigures | None:
        if self.chosen_run_id is None or self.metric is None:
            return None
        figures = self.runs.get(self.chosen_run_id)
        if figures is None:
            return None
        found: EvaluationFigures | None = _for_metric(figures.evaluations, self.metric)
        return found


class _DeLong:
    """DeLong's figures per set of rows, each model's placements computed once per review."""

    def __init__(self) -> None:
        self._shared: dict[tuple[str, str], SharedRowsAUC] = {}

    def for_rows(self, evaluation: Evaluation) -> SharedRowsAUC | None:
        if evaluation.rows_fingerprint is None or evaluation.sample_weight is not None:
            return None
        pos_label = evaluation.options.get("pos_label")
        key = (evaluation.rows_fingerprint, repr(pos_label))
        shared = self._shared.get(key)
        y_true = np.asarray(evaluation.y_true)
        if shared is None:
            shared = self._shared[key] = SharedRowsAUC(y_true, pos_label=pos_label)
        elif not shared.same_rows(y_true):
            return None
        return shared


# --- building them -------------------------------------------------------------------------------


def review_evidence(
    runs: Mapping[str, RunRecord],
    chosen_run_id: str | None,
    alternative_run_ids: Sequence[str],
    metric: str | None,
    *,
    all_runs: Sequence[RunRecord] | None = None,
    cited: Sequence[str] = (),
    candidate_counts: Mapping[str, int] | None = None,
    level: float = 0.95,
    seed: int = 0,
    curves: bool = True,
) -> ReviewEvidence:
    """The evidence figures of a review. `runs` hold the cited runs with their evaluations and
    candidates; `all_runs` every run of the notebook (for the search effort; default: `runs`);
    `cited` further runs to give figures for (a rejection's); `candidate_counts` how many
    candidates each run whose candidates were not read tried (the store counts them);
    `curves=False` leaves the curves out (the figures alone)."""
    wanted = [r for r in (chosen_run_id, *alternative_run_ids, *cited) if r and r in runs]
    delong = _DeLong()
    figures: dict[str, RunFigures] = {}
    for run_id in dict.fromkeys(wanted):
        figures[run_id] = run_figures(runs[run_id], level=level, seed=seed, delong=delong)
    chosen = runs.get(chosen_run_id or "")
    comparisons: list[Comparison] = []
    baseline = None
    reason = None
    if chosen is not None and metric is not None:
        others = [runs[r] for r in dict.fromkeys(alternative_run_ids) if r in runs]
        comparisons = compare_with_alternatives(
            chosen, others, metric, level=level, seed=seed, delong=delong
        )
        try:
            baseline = baseline_of(chosen, metric)
        except _UNUSABLE:
            baseline = None
        if not chosen.evaluations:
            reason = NO_EVIDENCE
    effort = effort_of(
        list(all_runs) if all_runs is not None else list(runs.values()),
        runs,
        candidate_counts or {},
    )
    searches = [
        search
        for run_id, run_figures_ in figures.items()
        for search in searches_of(run_id, run_figures_.folds)
    ]
    selection = None
    weak: list[WeakSegment] = []
    if chosen is not None and metric is not None:
        others = [runs[r] for r in dict.fromkeys((*alternative_run_ids, *cited)) if r in runs]
        selection = selection_effect_of(chosen, others, metric, figures, effort)
        mine = _for_metric(chosen.evaluations, metric)
        if mine is not None:
            weak = weak_segments_of(mine, level=level)
    drawn_curves = {}
    if curves and chosen is not None and metric is not None:
        drawn = [chosen.run_id, *(r for r in alternative_run_ids if r in runs)]
        drawn_curves = review_curves(
            {run_id: _curve_evaluation(runs[run_id], metric) for run_id in dict.fromkeys(drawn)},
            chosen.run_id,
            level=level,
            seed=seed,
        )
    return ReviewEvidence(
        level=level,
        seed=seed,
        chosen_run_id=chosen.run_id if chosen else None,
        metric=metric,
        runs=figures,
        comparisons=comparisons,
        baseline=baseline,
        effort=effort,
        reason=reason,
        searches=searches,
        selection_effect=selection,
        weak_segments=weak,
        curves=drawn_curves,
    )


def _curve_evaluation(run: RunRecord, metric: str) -> Evaluation | None:
    """The evaluation a run's curves are drawn from: the one behind `metric` when it kept
    scores, else the run's last one that kept scores, else the one behind `metric` (a
    regression's predictions give residuals)."""
    backing: Evaluation | None = _for_metric(run.evaluations, metric)
    if backing is not None and backing.y_score is not None:
        return backing
    scored = [evaluation for evaluation in run.evaluations if evaluation.y_score is not None]
    return scored[-1] if scored else backing


def run_figures(
    run: RunRecord, *, level: float = 0.95, seed: int = 0, delong: _DeLong | None = None
) -> RunFigures:
    if not run.evaluations and not run.candidates:
        return RunFigures(run.run_id, reason=NO_EVIDENCE)
    folds = [_fold_scores(candidate) for candidate in run.candidates]
    evaluations = [
        _evaluation_figures(evaluation, folds, level=level, seed=seed, delong=delong)
        for evaluation in run.evaluations
    ]
    return RunFigures(run.run_id, evaluations, folds)


def _fold_scores(candidate: Candidate) -> FoldScores:
    scores = tuple(float(score) for score in candidate.fold_scores)
    finite = [score for score in scores if math.isfinite(score)]
    mean = candidate.mean_score
    if mean is None and finite:
        mean = float(np.mean(finite))
    std = float(np.std(finite)) if len(finite) >= 2 else None
    return FoldScores(
        source=candidate.source,
        group=candidate.group,
        index=candidate.index,
        params=dict(candidate.params),
        scorer=candidate.scorer,
        scores=scores,
        mean=None if mean is None else float(mean),
        std=std,
        chosen=candidate.chosen,
    )


def _evaluation_figures(
    evaluation: Evaluation,
    folds: Sequence[FoldScores],
    *,
    level: float,
    seed: int,
    delong: _DeLong | None = None,
) -> EvaluationFigures:
    try:
        return _figures_of(evaluation, folds, level=level, seed=seed, delong=delong)
    except _UNUSABLE as error:  # evidence a report cannot use is said, never a failed report
        value = evaluation.value
        return EvaluationFigures(
            metric=evaluation.metric,
            function=evaluation.function,
            estimate=None if value is None else Estimate(float(value), evaluation.n, None),
            n=evaluation.n,
            n_total=max(evaluation.n_total, evaluation.n),
            rows_fingerprint=evaluation.rows_fingerprint,
            reason=f"the kept predictions cannot be used: {error}",
        )


def _figures_of(
    evaluation: Evaluation,
    folds: Sequence[FoldScores],
    *,
    level: float,
    seed: int,
    delong: _DeLong | None,
) -> EvaluationFigures:
    estimate, reason = estimate_of(evaluation, level=level, seed=seed, delong=delong)
    return EvaluationFigures(
        metric=evaluation.metric,
        function=evaluation.function,
        estimate=estimate,
        n=evaluation.n,
        n_total=max(evaluation.n_total, evaluation.n),
        rows_fingerprint=evaluation.rows_fingerprint,
        confusion=confusion_of(evaluation),
        segments=tuple(_segment_figures(evaluation, level)),
        folds=_matching_folds(evaluation, folds),
        reason=reason if reason is not None else (estimate.reason if estimate else None),
    )


def _matching_folds(evaluation: Evaluation, folds: Sequence[FoldScores]) -> tuple[float, ...]:
    """The fold scores, by the evaluation's scorer, of the configuration the run kept: the
    search's refit choice, else a cross-validation's only configuration."""
    scorer = _scorer_name(evaluation.function)
    same = [fold for fold in folds if fold.scorer == scorer]
    kept = [fold for fold in same if fold.chosen] or (same if len(same) == 1 else [])
    return kept[0].scores if kept else ()


def _scorer_name(function: str) -> str:
    """scikit-learn's scorer name for a metric function: roc_auc_score -> "roc_auc", a loss or
    an error -> "neg_log_loss" (scorers are greater-is-better)."""
    if function.endswith("_score"):
        return function[: -len("_score")]
    if function.endswith(("_error", "_loss", "_deviance")):
        return f"neg_{function}"
    return function


# --- one metric's estimate -----------------------------------------------------------------------


def estimate_of(
    evaluation: Evaluation, *, level: float = 0.95, seed: int = 0, delong: _DeLong | None = None
) -> tuple[Estimate | None, str | None]:
    """The evaluation's metric with its interval by the right method; (None, reason) when the
    evaluation holds no single number."""
    if evaluation.value is None:
        return None, "a curve or a table, not a single number"
    value = float(evaluation.value)
    y_true = np.asarray(evaluation.y_true)
    n = len(y_true)
    if n == 0:
        return Estimate(value, 0, None, "no rows kept"), None
    try:
        shared = delong.for_rows(evaluation) if delong and _is_auc(evaluation) else None
        if shared is not None:
            found = shared.estimate(np.asarray(evaluation.y_score), level=level)
            return _recorded(found, value, evaluation), None
        if _is_auc(evaluation):
            found = auc_estimate(
                y_true,
                np.asarray(evaluation.y_score),
                level=level,
                pos_label=evaluation.options.get("pos_label"),
                sample_weight=evaluation.sample_weight,
            )
            if found.interval is not None or evaluation.sample_weight is None:
                return _recorded(found, value, evaluation), None
        elif (counts := _proportion_counts(evaluation)) is not None:
            successes, trials = counts
            found = proportion_estimate(successes, trials, level=level)
            return _recorded(found, value, evaluation), None
        return _bootstrapped(evaluation, value, level, seed), None
    except _UNUSABLE as error:
        return Estimate(value, n, None, f"no interval: {error}"), None


def _recorded(found: Estimate, value: float, evaluation: Evaluation) -> Estimate:
    """The recomputed estimate; when the kept rows are a sample, the value the call returned on
    all rows, with the sample's interval."""
    if evaluation.sampled and math.isfinite(value):
        return Estimate(value, found.n, found.interval, found.reason)
    return found


def _is_auc(evaluation: Evaluation) -> bool:
    if evaluation.y_score is None or np.ndim(evaluation.y_score) != 1:
        return False
    if evaluation.function in _AUC_FUNCTIONS:
        return evaluation.options.get("max_fpr") is None  # a partial AUC is not DeLong's
    return evaluation.function == "log_predictions" and "auc" in evaluation.metric.lower()


def _positive_of(evaluation: Evaluation) -> tuple[npt.NDArray[np.bool_], Any, Any] | None:
    """Each row's truth as positive or not, the positive label and the negative one, for a
    binary y_true (None otherwise): `stats.positive.binary_truth`, the rule curves use too."""
    truth = binary_truth(
        evaluation.y_true,
        evaluation.options.get("pos_label"),
        greater_is_positive=scores_the_greater_class(evaluation.function, evaluation.metric),
    )
    if truth is None:
        return None
    return truth.positive, truth.pos_label, truth.neg_label


def _predicted_positive(evaluation: Evaluation, pos_label: Any) -> npt.NDArray[np.bool_] | None:
    if evaluation.y_pred is not None:
        y_pred = np.asarray(evaluation.y_pred)
        if y_pred.ndim != 1 or len(y_pred) != evaluation.n:
            return None
        if y_pred.dtype.kind == "b":
            return np.asarray(y_pred, dtype=np.bool_)
        try:
            return np.asarray(y_pred == pos_label, dtype=np.bool_)
        except (TypeError, ValueError):
            return None
    threshold = evaluation.options.get("threshold")
    if evaluation.y_score is None or threshold is None or np.ndim(evaluation.y_score) != 1:
        return None
    scores = np.asarray(evaluation.y_score, dtype=np.float64)
    operation = evaluation.options.get("threshold_op") or ">"
    compare: dict[str, Callable[[Any, Any], Any]] = {
        ">": np.greater,
        ">=": np.greater_equal,
        "<": np.less,
        "<=": np.less_equal,
    }
    if operation not in compare:
        return None
    return np.asarray(compare[operation](scores, float(threshold)), dtype=np.bool_)


def _binary_default_average(evaluation: Evaluation) -> bool:
    return bool(evaluation.options.get("average", "binary") == "binary")


def _proportion_counts(evaluation: Evaluation) -> tuple[int, int] | None:
    """(successes, trials) of a proportion metric computed on unweighted rows, else None."""
    if evaluation.function not in _PROPORTIONS or evaluation.sample_weight is not None:
        return None
    if evaluation.options.get("normalize", True) is False or evaluation.y_pred is None:
        return None
    y_true, y_pred = np.asarray(evaluation.y_true), np.asarray(evaluation.y_pred)
    if y_true.ndim != 1 or y_pred.shape != y_true.shape:
        return None
    if evaluation.function in ("accuracy_score", "zero_one_loss"):
        correct = int(np.count_nonzero(_same_labels(y_true, y_pred)))
        n = len(y_true)
        return (correct, n) if evaluation.function == "accuracy_score" else (n - correct, n)
    if not _binary_default_average(evaluation):
        return None
    positive = _positive_of(evaluation)
    if positive is None:
        return None
    truth, pos_label, _ = positive
    predicted = _predicted_positive(evaluation, pos_label)
    if predicted is None:
        return None
    tp = int(np.count_nonzero(truth & predicted))
    if evaluation.function == "recall_score":
        return tp, int(np.count_nonzero(truth))
    return tp, int(np.count_nonzero(predicted))


def _same_labels(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if y_pred.dtype.kind == "b" and y_true.dtype.kind != "b":
        return np.asarray(y_true == y_pred.astype(y_true.dtype), dtype=np.bool_)
    return np.asarray(y_true == y_pred, dtype=np.bool_)


def _sklearn_metric(evaluation: Evaluation) -> tuple[Callable[..., float] | None, str | None]:
    """The scikit-learn function that computed the evaluation, with its recorded options."""
    if evaluation.function == "log_predictions":
        return None, "computed outside scikit-learn (log_predictions): no metric to resample"
    if "." in evaluation.function:
        return None, "a curve or a table, not a single number"
    try:
        import sklearn.metrics
    except ImportError:  # pragma: no cover - the evidence came from scikit-learn
        return None, "scikit-learn is not installed here: no bootstrap interval"
    function = getattr(sklearn.metrics, evaluation.function, None)
    if not callable(function):
        return None, f"{evaluation.function} is not a scikit-learn metric here"
    options = _metric_options(function, evaluation.options)
    if not options:
        return function, None
    return functools.partial(function, **options), None


def _metric_options(function: Callable[..., Any], options: Mapping[str, Any]) -> dict[str, Any]:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return {}
    kept = {}
    for key, value in options.items():
        if key in _NOT_ARGUMENTS or key not in parameters or key == "sample_weight":
            continue
        if parameters[key].default is not inspect.Parameter.empty:
            default = parameters[key].default
            try:
                if default == value:
                    continue
            except (TypeError, ValueError):
                pass
        kept[key] = value
    return kept


def _predictions(evaluation: Evaluation) -> Any:
    uses_scores = evaluation.function in (
        "roc_auc_score",
        "average_precision_score",
        "log_loss",
        "brier_score_loss",
        "top_k_accuracy_score",
        "det_curve",
    )
    if uses_scores and evaluation.y_score is not None:
        return evaluation.y_score
    return evaluation.y_pred if evaluation.y_pred is not None else evaluation.y_score


def _bootstrapped(evaluation: Evaluation, value: float, level: float, seed: int) -> Estimate:
    metric, reason = _sklearn_metric(evaluation)
    predictions = _predictions(evaluation)
    if metric is None or predictions is None:
        return Estimate(value, evaluation.n, None, reason or "no predictions kept")
    truth = np.asarray(evaluation.y_true)
    found = bootstrap_estimate(
        metric,
        truth,
        np.asarray(predictions),
        sample_weight=evaluation.sample_weight,
        level=level,
        seed=seed,
        strata=_strata_for(truth),
    )
    return _recorded(found, value, evaluation)


# --- confusion counts in words --------------------------------------------------------------------


def confusion_of(evaluation: Evaluation) -> Confusion | None:
    """The confusion counts of a binary classifier's predictions at a threshold (predicted
    labels, or scores with the threshold capture saw), unweighted; None otherwise."""
    if evaluation.y_pred is None and evaluation.options.get("threshold") is None:
        return None
    positive = _positive_of(evaluation)
    if positive is None:
        return None
    truth, pos_label, negative = positive
    predicted = _predicted_positive(evaluation, pos_label)
    if predicted is None or len(predicted) != len(truth):
        return None
    tp = int(np.count_nonzero(truth & predicted))
    fp = int(np.count_nonzero(~truth & predicted))
    fn = int(np.count_nonzero(truth & ~predicted))
    tn = len(truth) - tp - fp - fn
    textual = np.asarray(evaluation.y_true).dtype.kind in "OUS"
    positive_name = str(pos_label) if textual else "positive"
    negative_name = str(negative) if textual and negative is not None else "negative"
    alarms = "false alarm" if fp == 1 else "false alarms"
    sentence = (
        f"misses {fn} of {tp + fn} {positive_name} cases; {fp} {alarms} in {tn + fp} "
        f"{negative_name} ones"
    )
    if evaluation.sampled:
        sentence += f" (a sample of {len(truth):,} of {evaluation.n_total:,} rows)"
    return Confusion(tp, fp, tn, fn, positive_name, negative_name, sentence)


# --- segments ------------------------------------------------------------------------------------


def _segment_figures(evaluation: Evaluation, level: float) -> list[SegmentFigure]:
    """The metric on each level of each segment, with the closed-form intervals (DeLong,
    Wilson); other metrics get no per-segment figure here."""
    if evaluation.value is None or not evaluation.segments:
        return []
    analytic = _is_auc(evaluation) or _proportion_counts(evaluation) is not None
    found: list[SegmentFigure] = []
    for name, labels in sorted(evaluation.segments.items()):
        codes = np.asarray(labels.codes)
        if codes.shape != (evaluation.n,) or len(labels.levels) > MAX_SEGMENT_LEVELS:
            continue
        for code, level_name in enumerate(labels.levels):
            rows = codes == code
            count = int(np.count_nonzero(rows))
            if not analytic:
                found.append(
                    SegmentFigure(
                        name,
                        level_name,
                        count,
                        None,
                        "segment figures need DeLong or Wilson; this metric has none",
                    )
                )
                continue
            if count == 0:
                found.append(SegmentFigure(name, level_name, 0, None, "no rows"))
                continue
            part = _subset(evaluation, rows)
            estimate, reason = estimate_of(part, level=level)
            found.append(SegmentFigure(name, level_name, count, estimate, reason))
    return found


def _subset(evaluation: Evaluation, rows: npt.NDArray[np.bool_]) -> Evaluation:
    def take(values: Any) -> Any:
        return None if values is None else np.asarray(values)[rows]

    return Evaluation(
        function=evaluation.function,
        metric=evaluation.metric,
        value=math.nan,
        y_true=take(evaluation.y_true),
        y_score=take(evaluation.y_score),
        y_pred=take(evaluation.y_pred),
        sample_weight=take(evaluation.sample_weight),
        options=dict(evaluation.options),
        n_total=int(np.count_nonzero(rows)),
    )


# --- paired comparisons --------------------------------------------------------------------------


def _for_metric(evaluations: Sequence[Any], metric: str) -> Any:
    """The last evaluation backing `metric` (a loop keeps its last value in the variable)."""
    found = [evaluation for evaluation in evaluations if evaluation.metric == metric]
    return found[-1] if found else None


def compare_with_alternatives(
    chosen: RunRecord,
    alternatives: Sequence[RunRecord],
    metric: str,
    *,
    level: float = 0.95,
    seed: int = 0,
    delong: _DeLong | None = None,
) -> list[Comparison]:
    """The chosen run against each alternative on `metric`, Holm-adjusted, with verdicts."""
    mine = _for_metric(chosen.evaluations, metric)
    raw: list[Comparison] = []
    for other in alternatives:
        theirs = _for_metric(other.evaluations, metric)
        if mine is None or theirs is None:
            missing = chosen if mine is None else other
            reason = f"{missing.name} kept no predictions for {metric}"
            raw.append(Comparison(chosen.run_id, other.run_id, metric, None, reason=reason))
            continue
        if not _same_rows(mine, theirs):
            raw.append(Comparison(chosen.run_id, other.run_id, metric, None, reason=DIFFERENT_ROWS))
            continue
        try:
            result = paired_comparison(mine, theirs, level=level, seed=seed, delong=delong)
        except _UNUSABLE as error:
            raw.append(Comparison(chosen.run_id, other.run_id, metric, None, reason=str(error)))
            continue
        raw.append(Comparison(chosen.run_id, other.run_id, metric, result))
    p_values = [
        c.result.p_value if c.result is not None and c.result.p_value is not None else math.nan
        for c in raw
    ]
    adjusted = holm_adjust(p_values)
    alpha = 1 - level
    decided = []
    for comparison, p in zip(raw, adjusted, strict=True):
        if comparison.result is None:
            decided.append(comparison)
            continue
        if math.isnan(p):
            decided.append(
                Comparison(
                    comparison.run_id,
                    comparison.other_run_id,
                    metric,
                    comparison.result,
                    reason="no p-value could be computed",
                )
            )
            continue
        decided.append(
            Comparison(
                comparison.run_id,
                comparison.other_run_id,
                metric,
                comparison.result,
                adjusted_p_value=p,
                verdict=_verdict(comparison.result.difference, p, alpha, lower_is_better(metric)),
            )
        )
    return decided


def _verdict(difference: float, adjusted_p: float, alpha: float, lower_better: bool) -> str:
    if adjusted_p >= alpha or difference == 0 or math.isnan(difference):
        return NOT_DISTINGUISHABLE
    better = difference < 0 if lower_better else difference > 0
    return SIGNIFICANTLY_BETTER if better else SIGNIFICANTLY_WORSE


def _same_rows(a: Evaluation, b: Evaluation) -> bool:
    if a.rows_fingerprint is None or a.rows_fingerprint != b.rows_fingerprint:
        return False
    if a.n != b.n or a.n_total != b.n_total:
        return False
    return bool(np.array_equal(np.asarray(a.y_true), np.asarray(b.y_true)))


def paired_comparison(
    a: Evaluation,
    b: Evaluation,
    *,
    level: float = 0.95,
    seed: int = 0,
    delong: _DeLong | None = None,
) -> PairedComparison:
    """metric(a) - metric(b) on the same rows: DeLong paired for AUC, McNemar for accuracy, the
    paired bootstrap otherwise."""
    y_true = np.asarray(a.y_true)
    if _is_auc(a) and _is_auc(b) and a.sample_weight is None:
        shared = delong.for_rows(a) if delong is not None else None
        if shared is not None and shared.same_rows(y_true):
            return shared.paired(np.asarray(a.y_score), np.asarray(b.y_score), level=level)
        return paired_auc_test(
            y_true,
            np.asarray(a.y_score),
            np.asarray(b.y_score),
            level=level,
            pos_label=a.options.get("pos_label"),
        )
    if (
        a.function == b.function == "accuracy_score"
        and a.sample_weight is None
        and a.y_pred is not None
        and b.y_pred is not None
        and a.options.get("normalize", True) is not False
    ):
        return mcnemar_test(
            _same_labels(y_true, np.asarray(a.y_pred)),
            _same_labels(y_true, np.asarray(b.y_pred)),
            level=level,
        )
    metric, reason = _sklearn_metric(a)
    pred_a, pred_b = _predictions(a), _predictions(b)
    if metric is None or pred_a is None or pred_b is None or a.function != b.function:
        raise ValueError(reason or "the two runs' metrics were computed differently")
    return paired_bootstrap(
        metric,
        y_true,
        np.asarray(pred_a),
        np.asarray(pred_b),
        sample_weight=a.sample_weight,
        level=level,
        seed=seed,
        strata=_strata_for(np.asarray(y_true)),
    )


# Below this many rows in the rarest class, resamples keep the class counts (else too many
# would miss a class); above, rows are drawn freely: a test set drawn at random varies in its
# class mix too, and holding it fixed makes the interval too narrow (log loss, 20% positives,
# 2,000 rows: 90% coverage at 95% nominal; see tests/stats/test_bootstrap.py).
MIN_ROWS_PER_CLASS_UNSTRATIFIED: Final = 20


def _strata_for(y_true: Any) -> str:
    """'none' (unstratified) unless a class is too rare for it; classification only."""
    labels = np.asarray(y_true)
    if labels.ndim != 1 or labels.size == 0:
        return "none"
    _, counts = np.unique(labels, return_counts=True)
    if len(counts) > 20:
        return "none"  # a regression target: no classes to hold
    return "classes" if int(counts.min()) < MIN_ROWS_PER_CLASS_UNSTRATIFIED else "none"


# --- the trivial baseline ------------------------------------------------------------------------


def baseline_of(run: RunRecord, metric: str) -> Baseline | None:
    """The run's metric for a model that ignores its inputs: the class prior as scores, the
    majority class as labels (classification), the mean of y_true (regression)."""
    evaluation = _for_metric(run.evaluations, metric)
    if evaluation is None or evaluation.value is None:
        return None
    y_true = np.asarray(evaluation.y_true)
    if y_true.ndim != 1 or len(y_true) == 0:
        return None
    function, _ = _sklearn_metric(evaluation)
    if function is None and not _is_auc(evaluation):
        return None
    n = len(y_true)
    if evaluation.function in REGRESSION_METRIC_FUNCTIONS:
        if y_true.dtype.kind not in "biuf":
            return None
        predictions: Any = np.full(n, float(np.mean(y_true)))
        strategy = "mean"
    else:
        found = _class_counts(y_true)
        if found is None:
            return None
        classes, counts = found
        if len(classes) > _MAX_CLASSES:
            return None
        scores = _predictions(evaluation) is evaluation.y_score and evaluation.y_score is not None
        if scores:
            shares = counts / n
            score_shape = np.ndim(evaluation.y_score)
            if score_shape == 2:
                predictions = np.tile(shares, (n, 1))
            else:
                positive = _positive_of(evaluation)
                if positive is None:
                    return None
                prior = float(np.mean(positive[0]))
                predictions = np.full(n, prior)
            strategy = "prior"
        else:
            majority = classes[int(np.argmax(counts))]
            y_pred = evaluation.y_pred
            if y_pred is not None and np.asarray(y_pred).dtype.kind == "b":
                majority = bool(majority == _positive_label(evaluation))
            predictions = np.full(
                n, majority, dtype=np.asarray(y_pred).dtype if y_pred is not None else y_true.dtype
            )
            strategy = "majority class"
    try:
        if _is_auc(evaluation) and strategy == "prior":
            value = 0.5 if len(classes) == 2 else math.nan  # a constant score ties every pair
        elif function is None:
            value = auc_estimate(y_true, predictions).value
        else:
            value = float(function(y_true, predictions))
    except _UNUSABLE:
        return None
    model = float(evaluation.value)
    sentence = (
        f"A model that ignores its inputs ({strategy}) scores {metric} = {value:.4g} on the same "
        f"rows; the chosen model scores {model:.4g}."
    )
    return Baseline(metric, value, strategy, model, sentence)


def _class_counts(y_true: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]] | None:
    """The distinct values of a label column, sorted, with their counts (O(n), no sort, for
    whole numbers in a small range)."""
    if y_true.dtype.kind in "biu" and len(y_true):
        low, high = int(y_true.min()), int(y_true.max())
        if high - low <= _MAX_CLASSES:
            counts = np.bincount(y_true.astype(np.int64) - low)
            present = np.flatnonzero(counts)
            values = present + low
            kind = bool if y_true.dtype.kind == "b" else y_true.dtype
            return values.astype(kind), counts[present]
    try:
        classes, counts = np.unique(y_true, return_counts=True)
    except TypeError:
        return None
    return classes, counts


def _positive_label(evaluation: Evaluation) -> Any:
    positive = _positive_of(evaluation)
    return positive[1] if positive is not None else 1


# --- search effort -------------------------------------------------------------------------------


def effort_of(
    all_runs: Sequence[RunRecord],
    cited: Mapping[str, RunRecord],
    candidate_counts: Mapping[str, int] | None = None,
) -> EffortFigures:
    """Runs, the candidates inside every run, distinct configurations (model family and params,
    a candidate's params over its run's) and model families, with configurations per family.

    A run whose candidates were not read (not cited) counts `candidate_counts[run_id]` of them,
    each a configuration of its own (their params are not read)."""
    counts = candidate_counts or {}
    configurations: set[str] = set()
    by_family: dict[str, set[str]] = {}
    families: dict[str, int] = {}
    candidates = 0
    for run in all_runs:
        family = model_family(run)
        short = family.rsplit(".", 1)[-1] if family else None
        if short:
            families[short] = families.get(short, 0) + 1
        tried = cited[run.run_id].candidates if run.run_id in cited else run.candidates
        unread = 0 if tried else counts.get(run.run_id, 0)
        candidates += len(tried) + unread
        if tried:
            keys = {_configuration(family, {**run.params, **c.params}) for c in tried}
        elif unread:
            keys = {json.dumps([run.run_id, position]) for position in range(unread)}
        else:
            keys = {_configuration(family, run.params)}
        configurations |= keys
        if short:
            by_family.setdefault(short, set()).update(keys)
    ordered = sorted(families.items(), key=lambda item: (-item[1], item[0]))
    per_family = sorted(
        ((name, len(keys)) for name, keys in by_family.items()),
        key=lambda item: (-item[1], item[0]),
    )
    return EffortFigures(
        runs=len(all_runs),
        candidates=candidates,
        configurations=len(configurations),
        model_families=tuple(name for name, _ in ordered),
        family_configurations=tuple(per_family),
    )


def _configuration(family: str | None, params: Mapping[str, Any]) -> str:
    return json.dumps([family, params], sort_keys=True, default=repr)


# --- searches: ranks and grid edges --------------------------------------------------------------


def searches_of(run_id: str, folds: Sequence[FoldScores]) -> list[SearchFigures]:
    """Each search of a run (candidates sharing a source and group, at least two of them):
    candidates ranked by mean score, the chosen one's rank, its parameters at a grid edge."""
    groups: dict[tuple[str, int], list[FoldScores]] = {}
    for fold in folds:
        groups.setdefault((fold.source, fold.group), []).append(fold)
    found = []
    for (source, group), members in sorted(groups.items(), key=lambda item: item[0][1]):
        if len(members) < 2:
            continue
        members = sorted(members, key=lambda fold: fold.index)
        # Scorers are greater-is-better; a loop's candidates carry the metric itself.
        lower = source == "loop" and lower_is_better(members[0].scorer)
        ranks = _ranks([fold.mean for fold in members], lower=lower)
        ranked = tuple(
            RankedCandidate(fold.index, dict(fold.params), fold.mean, rank, fold.chosen)
            for fold, rank in zip(members, ranks, strict=True)
        )
        chosen = next((c for c in ranked if c.chosen), None)
        found.append(
            SearchFigures(
                run_id=run_id,
                source=source,
                group=group,
                scorer=members[0].scorer,
                candidates=ranked,
                chosen_index=chosen.index if chosen else None,
                chosen_rank=chosen.rank if chosen else None,
                edges=grid_edges(ranked) if chosen else (),
            )
        )
    return found


def _ranks(means: Sequence[float | None], *, lower: bool = False) -> list[int | None]:
    """Rank 1 for the highest mean (the lowest with `lower`); ties share the better rank
    ("min" ranking); no rank without a finite mean."""
    finite = [m for m in means if m is not None and math.isfinite(m)]
    return [
        None
        if m is None or not math.isfinite(m)
        else 1 + sum(1 for o in finite if (o < m if lower else o > m))
        for m in means
    ]


def _number(value: Any) -> float | None:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def grid_edges(candidates: Sequence[RankedCandidate]) -> tuple[GridEdge, ...]:
    """The chosen candidate's numeric parameters that took 3+ distinct values in the search
    and whose chosen value is the lowest or the highest of them."""
    chosen = next((c for c in candidates if c.chosen), None)
    if chosen is None:
        return ()
    edges = []
    for param in sorted(chosen.params):
        value = _number(chosen.params[param])
        if value is None:
            continue
        values = {_number(c.params.get(param)) for c in candidates if param in c.params}
        if None in values or len(values) < 3:
            continue  # not a numeric grid (or too few values for an edge to mean anything)
        searched = tuple(sorted(v for v in values if v is not None))
        if value in (searched[0], searched[-1]):
            side = "lowest" if value == searched[0] else "highest"
            edges.append(GridEdge(param, value, searched, side))
    return tuple(edges)


# --- the selection effect ------------------------------------------------------------------------


def selection_effect_of(
    chosen: RunRecord,
    others: Sequence[RunRecord],
    metric: str,
    figures: Mapping[str, RunFigures],
    effort: EffortFigures,
) -> SelectionEffect:
    """The configurations behind the chosen run and, when the choice was made on the rows that
    report its figure, the optimism of that figure (see `SelectionEffect`)."""
    mine = _for_metric(chosen.evaluations, metric)
    same = 0
    if mine is not None and mine.rows_fingerprint is not None:
        for other in others:
            theirs = _for_metric(other.evaluations, metric)
            if (
                other.run_id != chosen.run_id
                and theirs is not None
                and theirs.function == mine.function
                and theirs.rows_fingerprint == mine.rows_fingerprint
            ):
                same += 1
    configurations = max(effort.configurations, same + 1, 1)
    k = same + 1
    own = figures.get(chosen.run_id)
    chosen_figures = _for_metric(own.evaluations, metric) if own is not None else None
    interval = (
        chosen_figures.estimate.interval if chosen_figures and chosen_figures.estimate else None
    )
    if not same:
        return SelectionEffect(
            configurations,
            False,
            0,
            None,
            None,
            None,
            "no other run was scored by this metric on these rows",
            k=1,
        )
    value = chosen_figures.estimate.value if chosen_figures and chosen_figures.estimate else None
    standard_error = _standard_error(interval, value)
    if standard_error is None:
        return SelectionEffect(
            configurations,
            True,
            same,
            None,
            None,
            None,
            "the chosen figure has no interval to size it",
            k=k,
        )
    expected = expected_max_standard_normal(k)
    return SelectionEffect(
        configurations,
        True,
        same,
        standard_error,
        expected,
        standard_error * expected,
        OPTIMISM_METHOD,
        k=k,
    )


def _standard_error(interval: Interval | None, value: float | None) -> float | None:
    """The standard error an interval implies, read as normal: its wider half over z. (An AUC
    interval cut at 1.0 is narrow on that side only: its width would understate it.)"""
    if interval is None or not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return None
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + interval.level / 2))
    if value is None or not math.isfinite(value):
        return (interval.high - interval.low) / (2 * z)
    return max(value - interval.low, interval.high - value) / z


# --- weak segments -------------------------------------------------------------------------------


def weak_segments_of(evaluation: Evaluation, *, level: float = 0.95) -> list[WeakSegment]:
    """The segment levels of an evaluation whose metric is significantly worse than overall.

    The rule of stats.segments.weak_segments, with the closed-form intervals of the segment
    figures (DeLong, Wilson) and without its per-row MetricFrame (too slow at a million rows):
    per column, the levels of at least DEFAULT_MIN_ROWS rows are judged; a level is weak when
    its interval at the Bonferroni-adjusted level 1 - (1 - level) / k (k levels judged) lies
    wholly on the worse side of the overall figure on the kept rows. Metrics with neither
    interval, and weighted rows, are not judged."""
    from nbmodelbook.stats.segments import DEFAULT_MIN_ROWS, MISSING_LEVEL

    if evaluation.value is None or not evaluation.segments or evaluation.sample_weight is not None:
        return []
    if not _is_auc(evaluation) and _proportion_counts(evaluation) is None:
        return []
    higher_is_better = evaluation.function != "zero_one_loss"
    try:
        overall_estimate, _ = estimate_of(_subset(evaluation, np.ones(evaluation.n, dtype=bool)))
    except _UNUSABLE:
        return []
    overall = overall_estimate.value if overall_estimate is not None else math.nan
    if not math.isfinite(overall):
        return []
    side = "below" if higher_is_better else "above"
    found: list[WeakSegment] = []
    for name, labels in sorted(evaluation.segments.items()):
        codes = np.asarray(labels.codes)
        if codes.shape != (evaluation.n,) or len(labels.levels) > MAX_SEGMENT_LEVELS:
            continue
        names = {code: str(level_name) for code, level_name in enumerate(labels.levels)}
        names[-1] = MISSING_LEVEL
        counts = {code: int(np.count_nonzero(codes == code)) for code in names}
        judged = [code for code, count in counts.items() if count >= DEFAULT_MIN_ROWS]
        if not judged:
            continue
        adjusted = 1 - (1 - level) / len(judged)
        test = (
            f"weak: the level's {adjusted:.4g} interval (Bonferroni over {len(judged)} levels "
            f"of {level:g}) lies wholly {side} the overall figure {overall:.6g}; one-sided, the "
            f"overall figure taken as known; levels under {DEFAULT_MIN_ROWS} rows are not judged"
        )
        for code in judged:
            try:
                estimate, _ = estimate_of(_subset(evaluation, codes == code), level=adjusted)
            except _UNUSABLE:
                continue
            interval = estimate.interval if estimate is not None else None
            if estimate is None or interval is None or not math.isfinite(estimate.value):
                continue
            worse = interval.high < overall if higher_is_better else interval.low > overall
            if worse:
                found.append(
                    WeakSegment(
                        name, names[code], counts[code], estimate.value, interval, overall, test
                    )
                )
    return found
