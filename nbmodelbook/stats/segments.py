"""A metric per segment (the levels of a column the evaluation is cut by), with intervals, and
the segments where the model is significantly worse than overall.

Methods.
- The per-level and overall figures are fairlearn's `MetricFrame` (Weerts et al. 2023,
  "Fairlearn: Assessing and Improving Fairness of AI Systems", JMLR 24(257)), the rows of a
  level being those whose code is the level's (code -1, a missing value, is its own level,
  "(missing)"). A metric that raises on a level's rows scores NaN there, with the reason.
- Each level's interval comes from `interval_fn` (DeLong for AUC, Wilson for accuracy, ...) or
  by default the bootstrap of `nbmodelbook.stats.bootstrap` on the level's rows. A level with
  fewer than `min_rows` rows gets its figure but no interval: "too few rows to judge".
- `weak_segments`: a level is weak when its interval lies wholly on the worse side of the
  overall figure, the intervals taken at the Bonferroni-adjusted level 1 - (1 - level) / k for
  the k levels judged. Each such check is a one-sided test, at (1 - level) / 2k, of "this
  level is no worse than the overall figure", the overall figure taken as known; the chance of
  calling any level weak when none is stays below (1 - level) / 2 (Bonferroni). Taking the
  overall figure as known ignores its own uncertainty, and a large level pulls the overall
  figure towards itself: both make the test conservative, never liberal.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from fairlearn.metrics import MetricFrame

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.bootstrap import bootstrap_estimate
from nbmodelbook.stats.results import Estimate, Interval

__all__ = [
    "DEFAULT_MIN_ROWS",
    "MISSING_LEVEL",
    "IntervalFunction",
    "SegmentEstimate",
    "WeakSegments",
    "segment_estimates",
    "weak_segments",
]

DEFAULT_MIN_ROWS = 30
SEGMENT_RESAMPLES = 1000  # per level: levels are many and each interval is a guide
MISSING_LEVEL = "(missing)"
TOO_FEW_ROWS = "too few rows to judge"


class IntervalFunction(Protocol):
    """An interval for a metric on some rows: `Estimate.interval` is used (its value is not:
    the figure is MetricFrame's)."""

    def __call__(
        self,
        y_true: npt.NDArray[Any],
        y_pred_or_score: npt.NDArray[Any],
        /,
        *,
        sample_weight: npt.NDArray[np.float64] | None,
        level: float,
    ) -> Estimate: ...


@dataclass(frozen=True, slots=True)
class SegmentEstimate:
    """The metric on one level's rows: `value` NaN when it cannot be computed there,
    `interval` None with `reason` when no interval is given."""

    column: str | None
    level: str
    n: int
    value: float
    interval: Interval | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class WeakSegments:
    """The outcome of `weak_segments`: the levels judged significantly worse than `overall`,
    the levels too small to judge, every level judged (intervals at `level`, the
    Bonferroni-adjusted confidence), and the test in words."""

    overall: float
    weak: list[SegmentEstimate]
    too_few_rows: list[SegmentEstimate]
    judged: list[SegmentEstimate]
    level: float
    test: str


def segment_estimates(
    metric: Callable[..., float],
    y_true: npt.ArrayLike,
    y_pred_or_score: npt.ArrayLike,
    segment_codes: npt.ArrayLike,
    levels: Sequence[str],
    *,
    column: str | None = None,
    sample_weight: npt.ArrayLike | None = None,
    level: float = 0.95,
    min_rows: int = DEFAULT_MIN_ROWS,
    resamples: int = SEGMENT_RESAMPLES,
    seed: int = 0,
    interval_fn: IntervalFunction | None = None,
) -> list[SegmentEstimate]:
    """`metric` on each level's rows (levels with rows, in `levels` order, then "(missing)"),
    with an interval for each level of at least `min_rows` rows."""
    frame = _Segmented.build(metric, y_true, y_pred_or_score, segment_codes, levels, sample_weight)
    return frame.estimates(column, level, min_rows, resamples, seed, interval_fn)


def weak_segments(
    metric: Callable[..., float],
    y_true: npt.ArrayLike,
    y_pred_or_score: npt.ArrayLike,
    segment_codes: npt.ArrayLike,
    levels: Sequence[str],
    *,
    higher_is_better: bool,
    column: str | None = None,
    sample_weight: npt.ArrayLike | None = None,
    level: float = 0.95,
    min_rows: int = DEFAULT_MIN_ROWS,
    resamples: int = SEGMENT_RESAMPLES,
    seed: int = 0,
    interval_fn: IntervalFunction | None = None,
) -> WeakSegments:
    """The levels whose metric is significantly worse than the overall figure (see the module
    docstring for the test), and those with too few rows to judge."""
    frame = _Segmented.build(metric, y_true, y_pred_or_score, segment_codes, levels, sample_weight)
    _check_level(level)
    judged_count = sum(1 for rows in frame.rows_by_level.values() if len(rows) >= min_rows)
    adjusted = 1 - (1 - level) / max(judged_count, 1)
    estimates = frame.estimates(column, adjusted, min_rows, resamples, seed, interval_fn)
    overall = frame.overall

    def worse(estimate: SegmentEstimate) -> bool:
        interval = estimate.interval
        if interval is None or not math.isfinite(overall):
            return False
        return interval.high < overall if higher_is_better else interval.low > overall

    side = "below" if higher_is_better else "above"
    test = (
        f"weak: the level's {adjusted:.4g} interval (Bonferroni over {judged_count} levels "
        f"of {level:g}) lies wholly {side} the overall figure {overall:.6g}; one-sided, the "
        "overall figure taken as known; "
        f"levels under {min_rows} rows are not judged"
    )
    return WeakSegments(
        overall=overall,
        weak=[e for e in estimates if worse(e)],
        too_few_rows=[e for e in estimates if e.n < min_rows],
        judged=[e for e in estimates if e.n >= min_rows],
        level=adjusted,
        test=test,
    )


@dataclass(frozen=True)
class _Segmented:
    metric: Callable[..., float]
    y_true: npt.NDArray[Any]
    y_pred_or_score: npt.NDArray[Any]
    weights: npt.NDArray[np.float64] | None
    names: dict[int, str]  # code -> level name, in report order
    rows_by_level: dict[int, npt.NDArray[np.intp]]
    values: dict[int, float]  # MetricFrame's by_group
    failures: dict[int, str]
    overall: float

    @classmethod
    def build(
        cls,
        metric: Callable[..., float],
        y_true: npt.ArrayLike,
        y_pred_or_score: npt.ArrayLike,
        segment_codes: npt.ArrayLike,
        levels: Sequence[str],
        sample_weight: npt.ArrayLike | None,
    ) -> _Segmented:
        truth = np.asarray(y_true)
        predicted = np.asarray(y_pred_or_score)
        codes = np.asarray(segment_codes)
        n = len(truth)
        if truth.ndim == 0 or n == 0 or len(predicted) != n or codes.shape != (n,):
            raise InvalidArgument(
                "y_true, y_pred_or_score and segment_codes need one entry per row, same rows"
            )
        if codes.dtype.kind not in "iu" or codes.min() < -1 or codes.max() >= len(levels):
            raise InvalidArgument(
                f"segment_codes must be whole numbers indexing levels ({len(levels)}), or -1"
            )
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if len(weights) != n:
                raise InvalidArgument(f"sample_weight has {len(weights)} values for {n} rows")

        def scored(y: Any, p: Any, **options: Any) -> float:
            # A metric that raises on a level's rows scores NaN there (why: see _failures).
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return float(metric(np.asarray(y), np.asarray(p), **options))
            except Exception:
                return math.nan

        frame = MetricFrame(
            metrics=scored,
            y_true=truth,
            y_pred=predicted,
            sensitive_features=pd.Series(codes, name="segment"),
            sample_params=None if weights is None else {"sample_weight": weights},
        )
        by_group = {int(code): float(value) for code, value in frame.by_group.items()}
        order = [code for code in range(len(levels)) if code in by_group]
        order += [-1] if -1 in by_group else []
        names = {code: (MISSING_LEVEL if code == -1 else str(levels[code])) for code in order}
        rows = {code: np.flatnonzero(codes == code) for code in order}
        return cls(
            metric,
            truth,
            predicted,
            weights,
            names,
            rows,
            by_group,
            _failures(metric, truth, predicted, weights, rows, by_group),
            float(frame.overall),
        )

    def estimates(
        self,
        column: str | None,
        level: float,
        min_rows: int,
        resamples: int,
        seed: int,
        interval_fn: IntervalFunction | None,
    ) -> list[SegmentEstimate]:
        _check_level(level)
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
            raise InvalidArgument(f"min_rows must be a whole number >= 1, not {min_rows!r}")
        found = []
        for code, name in self.names.items():
            rows = self.rows_by_level[code]
            value = self.values[code]
            interval, reason = None, None
            if len(rows) < min_rows:
                reason = f"{TOO_FEW_ROWS} ({len(rows)} < {min_rows})"
            elif not math.isfinite(value):
                reason = self.failures.get(code, "the metric is not defined on these rows")
            else:
                weights = None if self.weights is None else self.weights[rows]
                y, p = self.y_true[rows], self.y_pred_or_score[rows]
                if interval_fn is not None:
                    estimate = interval_fn(y, p, sample_weight=weights, level=level)
                else:
                    estimate = bootstrap_estimate(
                        self.metric,
                        y,
                        p,
                        sample_weight=weights,
                        level=level,
                        resamples=resamples,
                        seed=seed,
                    )
                interval, reason = estimate.interval, estimate.reason
            found.append(SegmentEstimate(column, name, len(rows), value, interval, reason))
        return found


def _failures(
    metric: Callable[..., float],
    truth: npt.NDArray[Any],
    predicted: npt.NDArray[Any],
    weights: npt.NDArray[np.float64] | None,
    rows: dict[int, npt.NDArray[np.intp]],
    values: dict[int, float],
) -> dict[int, str]:
    """Why a level scored NaN: the metric's error on its rows, asked again (rare)."""
    failures = {}
    for code, value in values.items():
        if math.isfinite(value) or code not in rows:
            continue
        options = {} if weights is None else {"sample_weight": weights[rows[code]]}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                metric(truth[rows[code]], predicted[rows[code]], **options)
            failures[code] = "the metric is not defined on these rows (NaN)"
        except Exception as error:
            failures[code] = f"the metric fails on these rows: {type(error).__name__}: {error}"
    return failures


def _check_level(level: float) -> None:
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
        raise InvalidArgument(f"level must be a number between 0 and 1 (exclusive), not {level!r}")
