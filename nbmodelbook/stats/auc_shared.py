"""DeLong's figures for several models scored on the same rows, each model's placements computed
once: the AUC of each with its interval, and any pair's paired test.

    shared = SharedRowsAUC(y_true)
    shared.estimate(scores_a)            # == auc_estimate(y_true, scores_a)
    shared.paired(scores_a, scores_b)    # == paired_auc_test(y_true, scores_a, scores_b)

The results equal `stats.auc`'s, which this module uses for the methods and every degenerate case
(one class, fewer than two rows of a class, tied or perfectly separated scores): only the regular
case is served from the cached placements. A review comparing its chosen model with k
alternatives then sorts k + 1 score arrays instead of 3k + 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from nbmodelbook.stats.auc import (
    _check_level,
    _Placements,
    _placements,
    _positive_rows,
    _scores,
    auc_estimate,
    delong_interval,
    delong_paired,
    paired_auc_test,
)
from nbmodelbook.stats.results import Estimate, PairedComparison

__all__ = ["SharedRowsAUC"]


class SharedRowsAUC:
    """DeLong on one set of rows (`y_true`, unweighted), placements cached per score array.

    A score array is recognised by identity: pass the same array object for the same model, and
    do not change it in place while this object is in use."""

    def __init__(self, y_true: npt.ArrayLike, *, pos_label: Any = None) -> None:
        self._y_true = np.asarray(y_true)
        self._pos_label = pos_label
        self._positive = _positive_rows(self._y_true, pos_label)
        self._n_positive = int(self._positive.sum())
        self._n_negative = len(self._positive) - self._n_positive
        # id -> (the score object itself, kept so its id is not reused; its values; placements)
        self._cache: dict[int, tuple[object, npt.NDArray[Any], _Placements]] = {}

    def same_rows(self, y_true: npt.ArrayLike) -> bool:
        """`y_true` holds this object's labels, row for row."""
        return bool(np.array_equal(np.asarray(y_true), self._y_true))

    @property
    def regular(self) -> bool:
        """At least two rows of each class: DeLong's variance can be computed."""
        return self._n_positive >= 2 and self._n_negative >= 2

    def _placements_of(self, score: npt.ArrayLike) -> tuple[npt.NDArray[Any], _Placements]:
        found = self._cache.get(id(score))
        if found is not None and found[0] is score:
            return found[1], found[2]
        values = _scores(score, "y_score", len(self._positive))
        placements = _placements(values[self._positive], values[~self._positive])
        self._cache[id(score)] = (score, values, placements)
        return values, placements

    def estimate(self, score: npt.ArrayLike, *, level: float = 0.95) -> Estimate:
        """`auc_estimate(y_true, score, level=level, pos_label=pos_label)`."""
        _check_level(level)
        if not self.regular:
            return auc_estimate(self._y_true, score, level=level, pos_label=self._pos_label)
        values, placements = self._placements_of(score)
        if np.ptp(np.asarray(values)) == 0 or placements.without_spread():
            return auc_estimate(self._y_true, score, level=level, pos_label=self._pos_label)
        return Estimate(placements.auc, len(self._positive), delong_interval(placements, level))

    def paired(
        self, score_a: npt.ArrayLike, score_b: npt.ArrayLike, *, level: float = 0.95
    ) -> PairedComparison:
        """`paired_auc_test(y_true, score_a, score_b, level=level, pos_label=pos_label)`."""
        _check_level(level)
        if not self.regular:
            return paired_auc_test(
                self._y_true, score_a, score_b, level=level, pos_label=self._pos_label
            )
        _, placements_a = self._placements_of(score_a)
        _, placements_b = self._placements_of(score_b)
        positive_diffs = placements_a.positive - placements_b.positive
        negative_diffs = placements_a.negative - placements_b.negative
        if np.ptp(positive_diffs) == 0 and np.ptp(negative_diffs) == 0:
            return paired_auc_test(
                self._y_true, score_a, score_b, level=level, pos_label=self._pos_label
            )
        return delong_paired(placements_a, placements_b, len(self._positive), level)
