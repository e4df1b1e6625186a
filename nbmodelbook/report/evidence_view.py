"""The evidence of a review as the report shows it: estimates rounded to what their intervals
support, verdicts in words, the tables of the Performance evidence section. Pure: no I/O, no
statistics (those are computed in `report.evidence`); a template only lays this out.

Rounding: a figure with an interval gets as many decimals as the interval's half-width has
leading zeros (half-width 0.003 -> 3 decimals: "0.998 (0.994–1.000)"), at most four; a figure
without one keeps three significant digits. Six-digit numbers stay in the appendix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from nbmodelbook.metric_names import lower_is_better
from nbmodelbook.report.evidence import (
    NOT_DISTINGUISHABLE,
    SIGNIFICANTLY_BETTER,
    SIGNIFICANTLY_WORSE,
    Comparison,
    EvaluationFigures,
    ReviewEvidence,
    RunFigures,
    SearchFigures,
)
from nbmodelbook.stats.results import Interval

__all__ = [
    "decimals_for",
    "format_difference",
    "format_estimate",
    "format_interval",
    "format_level",
    "format_p",
]

MAX_DECIMALS = 4
_MINUS = "−"


def decimals_for(interval: Interval | None, value: float | None = None) -> int:
    """Decimals a figure deserves: the leading zeros of its interval's half-width (at most 4);
    without an interval, enough for three significant digits of `value`."""
    if interval is not None:
        half = (interval.high - interval.low) / 2
        if math.isfinite(half) and half > 0:
            return max(0, min(MAX_DECIMALS, -math.floor(math.log10(half))))
        return MAX_DECIMALS
    if value is None or not math.isfinite(value) or value == 0:
        return 3
    return max(0, min(MAX_DECIMALS, 2 - math.floor(math.log10(abs(value)))))


def _fixed(value: float, decimals: int, *, signed: bool = False) -> str:
    if not math.isfinite(value):
        return str(value)
    text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    if text.lstrip("+-").strip("0.") == "":  # -0.000 is 0.000
        text = ("+" if signed else "") + text.lstrip("+-")
    return text.replace("-", _MINUS)


def format_level(level: float) -> str:
    return f"{level * 100:g}%"


def _bounds(interval: Interval, decimals: int) -> tuple[float, float, int]:
    """The interval rounded outwards (low down, high up) at `decimals`, with more decimals (up
    to `MAX_DECIMALS`) while a bound that is not zero would print as zero: a printed interval
    never claims less uncertainty than the computed one. (A bound still rounding to zero keeps
    its sign when printed: `_signed_bound`.) Non-finite bounds are left as they are."""
    digits = decimals
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return interval.low, interval.high, digits
    while True:
        scale = 10.0**digits
        low = math.floor(interval.low * scale + 1e-9) / scale
        high = math.ceil(interval.high * scale - 1e-9) / scale
        crosses = (interval.low > 0 >= low) or (interval.high < 0 <= high)
        if not crosses or digits >= MAX_DECIMALS:
            return low, high, digits
        digits += 1


def _signed_bound(rounded: float, true: float, digits: int) -> str:
    """A signed bound; one that rounds to zero shows the side of zero it lies on ("−0.000")."""
    text = _fixed(rounded, digits, signed=True)
    if rounded == 0 and true < 0:
        return _MINUS + text.lstrip("+")
    return text


def format_interval(interval: Interval | None, decimals: int | None = None) -> str:
    """ "0.993–1.000" (en dash; rounded outwards, see `_bounds`), or "—" without one."""
    if interval is None:
        return "—"
    low, high, digits = _bounds(interval, decimals_for(interval) if decimals is None else decimals)
    separator = " to " if low < 0 else "–"
    return f"{_fixed(low, digits)}{separator}{_fixed(high, digits)}"


def format_estimate(value: float | None, interval: Interval | None, *, method: bool = False) -> str:
    """ "0.998 (95% CI 0.994–1.000)" ("..., DeLong)" with `method`), or the value alone when
    there is no interval."""
    if value is None:
        return "—"
    digits = decimals_for(interval, value)
    if interval is None:
        return _fixed(value, digits)
    digits = _bounds(interval, digits)[2]
    by = f", {interval.method}" if method else ""
    return (
        f"{_fixed(value, digits)} ({format_level(interval.level)} CI "
        f"{format_interval(interval, digits)}{by})"
    )


def format_difference(difference: float, interval: Interval | None) -> str:
    """ "+0.003 (95% CI −0.003 to +0.008)": signed, the interval's bounds signed too (rounded
    outwards, see `_bounds`)."""
    digits = decimals_for(interval, difference)
    if interval is not None:
        low, high, digits = _bounds(interval, digits)
    # A difference that is not zero never prints as zero ("+0.00" beside the word "lead").
    shown = digits
    while difference != 0 and round(difference, shown) == 0 and shown < MAX_DECIMALS:
        shown += 1
    text = _fixed(difference, shown, signed=True)
    if interval is None:
        return text
    return (
        f"{text} ({format_level(interval.level)} CI "
        f"{_signed_bound(low, interval.low, digits)} to "
        f"{_signed_bound(high, interval.high, digits)})"
    )


def format_p(p_value: float | None) -> str:
    if p_value is None or not math.isfinite(p_value):
        return "—"
    if p_value < 0.001:
        return "p < 0.001"
    return f"p = {p_value:.2g}" if p_value < 0.1 else f"p = {p_value:.2f}"


# --- reading the evidence ------------------------------------------------------------------------


def evaluation_for(evidence: ReviewEvidence | None, run_id: str, metric: str) -> Any:
    """The last evaluation of `run_id` backing `metric` (a loop keeps its last value)."""
    if evidence is None:
        return None
    figures = evidence.runs.get(run_id)
    if figures is None:
        return None
    found = [item for item in figures.evaluations if item.metric == metric]
    return found[-1] if found else None


def metric_with_interval(evidence: ReviewEvidence | None, run_id: str, metric: str) -> str | None:
    """`metric` of a run with its interval, when the evidence has one."""
    found: EvaluationFigures | None = evaluation_for(evidence, run_id, metric)
    if found is None or found.estimate is None or found.estimate.interval is None:
        return None
    return format_estimate(found.estimate.value, found.estimate.interval)


def rounded_with_interval(
    evidence: ReviewEvidence | None, run_id: str, metric: str
) -> tuple[str, str] | None:
    """(value rounded to what its interval supports, "95% CI low–high"), when there is one."""
    found: EvaluationFigures | None = evaluation_for(evidence, run_id, metric)
    if found is None or found.estimate is None or found.estimate.interval is None:
        return None
    interval = found.estimate.interval
    digits = _bounds(interval, decimals_for(interval, found.estimate.value))[2]
    return (
        _fixed(found.estimate.value, digits),
        f"{format_level(interval.level)} CI {format_interval(interval, digits)}",
    )


def comparison_view(comparison: Comparison, label: str, alternatives: int) -> dict[str, Any]:
    """One paired comparison as a table row and a sentence for a reader who reads nothing else."""
    result = comparison.result
    row: dict[str, Any] = {
        "other": comparison.other_run_id,
        "metric": comparison.metric,
        "difference": "—",
        "p": "—",
        "method": "",
        "verdict": comparison.verdict or "no verdict",
        "reason": comparison.reason,
        "significant": comparison.verdict in (SIGNIFICANTLY_BETTER, SIGNIFICANTLY_WORSE),
        "worse": comparison.verdict == SIGNIFICANTLY_WORSE,
    }
    if result is None:
        reason = comparison.reason or "no paired figure could be computed"
        row["sentence"] = f"It cannot be compared with {label} on the same rows: {reason}."
        return row
    p_value = comparison.adjusted_p_value
    if p_value is None:
        p_value = result.p_value
    holm = alternatives > 1 and comparison.adjusted_p_value is not None
    row["difference"] = format_difference(result.difference, result.interval)
    row["p"] = format_p(p_value) + (" (Holm)" if holm else "")
    row["method"] = result.method
    row["n"] = result.n
    adjusted = f" after Holm's adjustment for {alternatives} alternatives" if holm else ""
    figures = (
        f"{row['difference']}; {result.method} on {result.n:,} rows, {format_p(p_value)}{adjusted}"
    )
    metric = comparison.metric
    lower = lower_is_better(metric)
    ahead = (result.difference < 0) if lower else (result.difference > 0)
    if comparison.verdict == SIGNIFICANTLY_BETTER:
        row["sentence"] = f"Its lead over {label} on {metric} is real: {figures}."
    elif comparison.verdict == SIGNIFICANTLY_WORSE:
        row["sentence"] = f"It is significantly worse than {label} on {metric}: {figures}."
    elif comparison.verdict == NOT_DISTINGUISHABLE:
        where = "lead over" if ahead else "gap to"
        row["sentence"] = (
            f"Its {where} {label} on {metric} is not distinguishable from chance: {figures}."
        )
    else:
        reason = comparison.reason or "no verdict could be reached"
        row["sentence"] = f"Against {label} on {metric}: {figures}; {reason}."
    return row


def missing_intervals(
    evidence: ReviewEvidence | None, labels: Mapping[str, str], metrics: Mapping[str, Sequence[str]]
) -> list[str]:
    """Which figures of the cited runs have no interval, and why: one sentence each."""
    if evidence is None:
        return []
    sentences: list[str] = []
    for run_id, names in metrics.items():
        label = labels.get(run_id, run_id)
        figures: RunFigures | None = evidence.runs.get(run_id)
        if figures is None or figures.reason:
            reason = figures.reason if figures is not None else "its evidence was not read"
            if names:
                sentences.append(f"{label}: no interval for {', '.join(names)}: {reason}.")
            continue
        for name in names:
            found: EvaluationFigures | None = evaluation_for(evidence, run_id, name)
            if found is None:
                sentences.append(
                    f"{label}: no interval for {name}: the run recorded the number, not the "
                    "predictions it was computed from."
                )
            elif found.estimate is None or found.estimate.interval is None:
                reason = found.reason or (found.estimate.reason if found.estimate else None)
                sentences.append(
                    f"{label}: no interval for {name}: {reason or 'none could be computed'}."
                )
    return sentences


def _below(value: float, overall: float, interval: Interval | None, metric: str) -> bool:
    """A segment's figure is significantly worse than the overall one: its interval excludes it."""
    if interval is None:
        return False
    if lower_is_better(metric):
        return interval.low > overall
    return interval.high < overall


def _evaluation_row(item: EvaluationFigures) -> dict[str, Any]:
    estimate = item.estimate
    interval = estimate.interval if estimate is not None else None
    rows = f"{item.n:,}" if item.n == item.n_total else f"{item.n:,} of {item.n_total:,} (sample)"
    reason = item.reason or (estimate.reason if estimate is not None else None)
    return {
        "metric": item.metric,
        "function": item.function,
        "value": _fixed(estimate.value, decimals_for(interval, estimate.value))
        if estimate is not None
        else "—",
        "interval": format_interval(interval, decimals_for(interval, estimate.value))
        if estimate is not None and interval is not None
        else "—",
        "method": interval.method if interval is not None else "",
        "rows": rows,
        "reason": reason if interval is None else None,
    }


def _segment_rows(
    item: EvaluationFigures, weak: set[tuple[str, str]] | None = None
) -> list[dict[str, Any]]:
    """Each segment level's figure; `weak` (column, level) pairs are the evidence's weak
    segments (Bonferroni across the levels), else a level whose interval excludes the overall
    figure is marked."""
    overall = item.value
    rows = []
    for segment in item.segments:
        estimate = segment.estimate
        interval = estimate.interval if estimate is not None else None
        rows.append(
            {
                "column": segment.segment,
                "level": segment.level,
                "n": f"{segment.n:,}",
                "value": format_estimate(estimate.value, interval) if estimate is not None else "—",
                "weak": (segment.segment, segment.level) in weak
                if weak is not None
                else estimate is not None
                and overall is not None
                and _below(estimate.value, overall, interval, item.metric),
                "reason": segment.reason,
            }
        )
    return rows


def _weakest(
    item: EvaluationFigures, weak: set[tuple[str, str]] | None = None
) -> dict[str, Any] | None:
    measured = [s for s in item.segments if s.estimate is not None]
    if not measured or item.value is None:
        return None
    lower = lower_is_better(item.metric)
    worst = max(measured, key=lambda s: s.estimate.value if s.estimate else 0.0)
    if not lower:
        worst = min(measured, key=lambda s: s.estimate.value if s.estimate else 0.0)
    assert worst.estimate is not None
    interval = worst.estimate.interval
    significant = (
        (worst.segment, worst.level) in weak
        if weak is not None
        else _below(worst.estimate.value, item.value, interval, item.metric)
    )
    overall = format_estimate(item.value, item.estimate.interval if item.estimate else None)
    sentence = (
        f"Weakest segment: {worst.segment} = {worst.level} ({worst.n:,} rows), {item.metric} "
        f"{format_estimate(worst.estimate.value, interval)} against {overall} overall; "
        + (
            "significantly below the overall figure."
            if significant
            else "not significantly below it, given the rows each level has."
        )
    )
    return {"sentence": sentence, "significant": significant}


def _fold_rows(figures: RunFigures) -> list[dict[str, Any]]:
    rows = []
    for fold in figures.folds:
        finite = [score for score in fold.scores if math.isfinite(score)]
        # A scorer is greater-is-better ("neg_" losses too); a loop's candidates carry the
        # metric itself.
        lower = fold.source == "loop" and lower_is_better(fold.scorer)
        worst = (max(finite) if lower else min(finite)) if finite else None
        params = ", ".join(f"{key}={value!r}" for key, value in sorted(fold.params.items()))
        rows.append(
            {
                "source": fold.source,
                "scorer": fold.scorer,
                "params": params,
                "folds": len(fold.scores),
                "mean": _fixed(fold.mean, 3) if fold.mean is not None else "—",
                "std": _fixed(fold.std, 3) if fold.std is not None else "—",
                "worst": _fixed(worst, 3) if worst is not None else "—",
                "chosen": fold.chosen,
            }
        )
    # A search's chosen configuration first, then the rest in their order; the table is bounded.
    rows.sort(key=lambda row: not row["chosen"])
    return rows


MAX_FOLD_ROWS = 20


def performance_view(evidence: ReviewEvidence | None) -> dict[str, Any] | None:
    """The chosen run's figures: estimates with intervals, counts, segments, folds, baseline."""
    if evidence is None or evidence.chosen_run_id is None:
        return None
    figures = evidence.runs.get(evidence.chosen_run_id)
    if figures is None or (figures.reason and not figures.evaluations and not figures.folds):
        reason = (figures.reason if figures is not None else None) or evidence.reason
        return {"reason": reason or "no evaluations were recorded for the chosen run"}
    headline = evidence.chosen_estimate()
    confusion = next(
        (item.confusion for item in [headline, *figures.evaluations] if item and item.confusion),
        None,
    )
    confusion_view = None
    if confusion is not None:
        positives, negatives = confusion.tp + confusion.fn, confusion.tn + confusion.fp
        confusion_view = {
            "tp": confusion.tp,
            "fp": confusion.fp,
            "tn": confusion.tn,
            "fn": confusion.fn,
            "positive": confusion.positive_label,
            "negative": confusion.negative_label,
            "sentence": confusion.sentence,
            "sensitivity": f"{confusion.tp} of {positives}" if positives else "—",
            "specificity": f"{confusion.tn} of {negatives}" if negatives else "—",
        }
    segmented = headline if headline is not None and headline.segments else None
    if segmented is None:
        segmented = next((item for item in figures.evaluations if item.segments), None)
    folds = _fold_rows(figures)
    baseline = evidence.baseline
    weak = _weak_pairs(evidence)
    return {
        "reason": None,
        "searches": [
            _search_view(search)
            for search in evidence.searches
            if search.run_id == evidence.chosen_run_id
        ],
        "selection": selection_sentence(evidence, method=True),
        "evaluations": [_evaluation_row(item) for item in figures.evaluations],
        "confusion": confusion_view,
        "segments_metric": segmented.metric if segmented is not None else None,
        "segments": _segment_rows(segmented, weak if segmented is headline else None)
        if segmented is not None
        else [],
        "folds": folds[:MAX_FOLD_ROWS],
        "folds_hidden": max(0, len(folds) - MAX_FOLD_ROWS),
        "baseline": None
        if baseline is None
        else {
            "metric": baseline.metric,
            "strategy": baseline.strategy,
            "value": _fixed(baseline.value, 3),
            "model": format_estimate(
                baseline.model_value,
                headline.estimate.interval if headline and headline.estimate else None,
            ),
            "sentence": baseline_sentence(evidence),
        },
    }


def summary_view(
    evidence: ReviewEvidence | None, labels: Mapping[str, str]
) -> dict[str, Any] | None:
    """Page 1's figures in plain words: the headline with its interval, what the model predicts,
    the baseline, whether each lead is real, the cases it gets wrong, the weakest segment."""
    if evidence is None or evidence.chosen_run_id is None or evidence.metric is None:
        return None
    headline = evidence.chosen_estimate()
    view: dict[str, Any] = {
        "metric": evidence.metric,
        "level": format_level(evidence.level),
        "headline": None,
        "method": None,
        "no_interval": None,
        "predicts": None,
        "errors": None,
        "baseline": None,
        "comparisons": [],
        "weakest": None,
    }
    estimate = headline.estimate if headline is not None else None
    if estimate is not None:
        view["headline"] = format_estimate(estimate.value, estimate.interval, method=True)
        view["method"] = estimate.interval.method if estimate.interval is not None else None
    if estimate is None or estimate.interval is None:
        reason = (
            (headline.reason or (estimate.reason if estimate else None)) if headline else None
        ) or evidence.reason
        if reason is None and headline is None:
            reason = "the run recorded the number, not the predictions it was computed from"
        view["no_interval"] = reason or "none could be computed"
    confusion = headline.confusion if headline is not None else None
    if confusion is None and evidence.chosen_run_id in evidence.runs:
        confusion = next(
            (
                item.confusion
                for item in evidence.runs[evidence.chosen_run_id].evaluations
                if item.confusion is not None
            ),
            None,
        )
    if confusion is not None:
        view["errors"] = confusion.sentence
        if confusion.positive_label != "positive":
            view["predicts"] = (
                f"{confusion.positive_label} (the positive class) against "
                f"{confusion.negative_label}"
            )
    if evidence.baseline is not None:
        view["baseline"] = baseline_sentence(evidence)
    alternatives = len({c.other_run_id for c in evidence.comparisons})
    view["comparisons"] = [
        comparison_view(c, labels.get(c.other_run_id, c.other_run_id), alternatives)
        for c in evidence.comparisons
    ]
    if headline is not None:
        view["weakest"] = _weakest(headline, _weak_pairs(evidence))
    view["selection"] = selection_sentence(evidence)
    return view


def baseline_sentence(evidence: ReviewEvidence) -> str | None:
    """What a model that ignores its inputs scores, beside the chosen run's figure, both rounded
    to what the chosen figure's interval supports."""
    baseline = evidence.baseline
    if baseline is None:
        return None
    headline = evidence.chosen_estimate()
    interval = headline.estimate.interval if headline and headline.estimate else None
    digits = decimals_for(interval, baseline.model_value)
    if interval is not None:
        digits = _bounds(interval, digits)[2]
    trivial = _fixed(baseline.value, digits)
    if "." in trivial:  # 0.5, not 0.500: the trivial figure is exact
        trivial = trivial.rstrip("0").rstrip(".")
    chosen = "—" if baseline.model_value is None else _fixed(baseline.model_value, digits)
    return (
        f"A model that ignores its inputs ({baseline.strategy}) scores {baseline.metric} = "
        f"{trivial} on the same rows; the chosen model scores {chosen}."
    )


def _weak_pairs(evidence: ReviewEvidence) -> set[tuple[str, str]]:
    return {(weak.segment, weak.level) for weak in evidence.weak_segments}


MAX_SEARCH_ROWS = 10


def _search_view(search: SearchFigures) -> dict[str, Any]:
    """A search's candidates, best first (the chosen one always shown), and its grid edges."""
    ranked = sorted(
        search.candidates,
        key=lambda c: (c.rank is None, c.rank if c.rank is not None else 0, c.index),
    )
    shown = ranked[:MAX_SEARCH_ROWS]
    shown += [c for c in ranked[MAX_SEARCH_ROWS:] if c.chosen]
    rows = [
        {
            "rank": str(candidate.rank) if candidate.rank is not None else "—",
            "params": ", ".join(f"{k}={v!r}" for k, v in sorted(candidate.params.items())),
            "mean": _fixed(candidate.mean, 3) if candidate.mean is not None else "—",
            "chosen": candidate.chosen,
        }
        for candidate in shown
    ]
    total = len(search.candidates)
    rank = (
        f"The refitted configuration ranks {search.chosen_rank} of {total} by mean {search.scorer}."
        if search.chosen_rank is not None
        else None
    )
    edges = [
        f"{edge.param} = {edge.value:g} is the {edge.side} value searched "
        f"({', '.join(f'{v:g}' for v in edge.values)}): the best may lie beyond it."
        for edge in search.edges
    ]
    return {
        "source": search.source,
        "scorer": search.scorer,
        "rows": rows,
        "hidden": total - len(rows),
        "rank": rank,
        "edges": edges,
    }


def format_optimism(evidence: ReviewEvidence) -> str:
    """The selection effect's optimism at the headline figure's decimals (at least one
    significant digit)."""
    effect = evidence.selection_effect
    if effect is None or effect.optimism is None:
        return "—"
    headline = evidence.chosen_estimate()
    interval = headline.estimate.interval if headline and headline.estimate else None
    digits = decimals_for(interval, effect.optimism)
    if interval is not None:
        digits = _bounds(interval, digits)[2]
    while effect.optimism and round(effect.optimism, digits) == 0 and digits < MAX_DECIMALS:
        digits += 1
    return _fixed(effect.optimism, digits)


def selection_sentence(evidence: ReviewEvidence, *, method: bool = False) -> str | None:
    """The selection effect in words, when the choice was made on the rows that report it
    (`method`: with how the optimism was computed)."""
    effect = evidence.selection_effect
    if effect is None or not effect.same_rows:
        return None
    metric = evidence.metric or "the metric"
    sentence = (
        f"The choice was made among {effect.k} runs scored on the same rows that report its "
        f"{metric} ({effect.configurations} configurations were tried in all)"
    )
    if effect.optimism is not None:
        optimism = format_optimism(evidence)
        sentence += (
            f": picking the best of {effect.k} makes the figure optimistic by up to about "
            f"{optimism}"
        )
        if method:
            sentence += f" ({effect.method})"
    return sentence + "."
