"""Per-segment figures against a direct pandas group-by (exactly), intervals through the hook,
and the weak-segment rule on data built with one clearly worse and one slightly worse level."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.bootstrap import bootstrap_estimate
from nbmodelbook.stats.proportions import proportion_estimate
from nbmodelbook.stats.results import Estimate
from nbmodelbook.stats.segments import MISSING_LEVEL, segment_estimates, weak_segments

LEVELS = ["north", "south", "east", "west"]


def _rows(seed: int = 0, n: int = 4000) -> tuple[Any, Any, Any, Any]:
    rng = np.random.default_rng(seed)
    codes = rng.choice([0, 1, 2, 3, -1], size=n, p=[0.4, 0.3, 0.2, 0.08, 0.02])
    y = rng.integers(0, 2, n)
    scores = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.25 + 0.05 * codes, n), 0.001, 0.999)
    return y, scores, (scores > 0.5).astype(int), codes


@pytest.mark.parametrize(
    ("metric", "uses"),
    [(skm.accuracy_score, "labels"), (skm.roc_auc_score, "scores"), (skm.log_loss, "scores")],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_values_equal_a_pandas_group_by_exactly(metric: Any, uses: str, weighted: bool) -> None:
    y, scores, labels, codes = _rows()
    given = scores if uses == "scores" else labels
    weights = np.random.default_rng(1).uniform(0.5, 2, len(y)) if weighted else None
    found = segment_estimates(
        metric, y, given, codes, LEVELS, column="region", sample_weight=weights, resamples=200
    )
    frame = pd.DataFrame({"y": y, "given": given, "code": codes, "w": weights})

    def direct(group: pd.DataFrame) -> float:
        options = {} if weights is None else {"sample_weight": group["w"].to_numpy()}
        return float(metric(group["y"].to_numpy(), group["given"].to_numpy(), **options))

    groups = frame.groupby("code")
    expected = {int(code): direct(groups.get_group(code)) for code in np.unique(codes)}
    by_name = {e.level: e for e in found}
    assert [e.level for e in found] == [*LEVELS, MISSING_LEVEL]
    for code, value in expected.items():
        estimate = by_name[MISSING_LEVEL if code == -1 else LEVELS[code]]
        assert estimate.value == value  # exactly: the same rows, the same metric
        assert estimate.n == int(np.count_nonzero(codes == code))
        assert estimate.column == "region"


def test_intervals_default_to_the_bootstrap_of_each_levels_rows() -> None:
    y, _, labels, codes = _rows(2)
    found = segment_estimates(skm.accuracy_score, y, labels, codes, LEVELS, resamples=400)
    for estimate in found:
        rows = codes == (-1 if estimate.level == MISSING_LEVEL else LEVELS.index(estimate.level))
        if estimate.n < 30:
            assert estimate.interval is None and estimate.reason is not None
            assert "too few rows to judge" in estimate.reason
            continue
        expected = bootstrap_estimate(skm.accuracy_score, y[rows], labels[rows], resamples=400)
        assert estimate.interval == expected.interval


def test_the_interval_hook_gives_wilson_for_accuracy() -> None:
    y, _, labels, codes = _rows(3)
    calls = []

    def wilson(truth: Any, guess: Any, *, sample_weight: Any, level: float) -> Estimate:
        calls.append(level)
        return proportion_estimate(int(np.sum(truth == guess)), len(truth), level=level)

    found = segment_estimates(skm.accuracy_score, y, labels, codes, LEVELS, interval_fn=wilson)
    judged = [e for e in found if e.n >= 30]
    assert len(calls) == len(judged) and set(calls) == {0.95}
    for estimate in judged:
        assert estimate.interval is not None and estimate.interval.method == "Wilson"
        assert estimate.interval.contains(estimate.value)


def test_a_level_the_metric_cannot_score_gets_nan_and_the_reason() -> None:
    y = np.array([0, 1] * 40 + [1] * 40)
    scores = np.linspace(0, 1, 120)
    codes = np.array([0] * 80 + [1] * 40)  # level 1 has positives only: AUC is undefined
    found = segment_estimates(skm.roc_auc_score, y, scores, codes, ["mixed", "positives"])
    undefined = found[1]
    assert math.isnan(undefined.value) and undefined.interval is None
    assert undefined.reason is not None and "not defined" in undefined.reason

    def refuses_small(truth: Any, score: Any) -> float:
        if len(truth) < 50:
            raise ValueError("needs 50 rows")
        return 1.0

    found = segment_estimates(refuses_small, y, scores, codes, ["mixed", "positives"])
    assert found[0].value == 1.0
    assert found[1].reason is not None and "needs 50 rows" in found[1].reason


def _constructed() -> tuple[Any, Any, Any]:
    # Exactly constructed accuracy per level: "base" 6,000 rows at 90%, "poor" 800 at 70%
    # (clearly worse), "close" 800 at 86% (a little under the overall 87%), "tiny" 15 at 0%.
    sizes = {"base": (6000, 0.90), "poor": (800, 0.70), "close": (800, 0.86), "tiny": (15, 0.0)}
    y, predicted, codes = [], [], []
    rng = np.random.default_rng(4)
    for code, (size, accuracy) in enumerate(sizes.values()):
        truth = rng.integers(0, 2, size)
        right = np.zeros(size, dtype=bool)
        right[: round(size * accuracy)] = True
        rng.shuffle(right)
        y.append(truth)
        predicted.append(np.where(right, truth, 1 - truth))
        codes.append(np.full(size, code))
    return np.concatenate(y), np.concatenate(predicted), np.concatenate(codes)


def test_weak_segments_finds_the_clearly_worse_level_only() -> None:
    y, predicted, codes = _constructed()
    levels = ["base", "poor", "close", "tiny"]
    result = weak_segments(
        skm.accuracy_score, y, predicted, codes, levels, higher_is_better=True, resamples=2000
    )
    assert result.overall == pytest.approx(skm.accuracy_score(y, predicted))
    assert [e.level for e in result.weak] == ["poor"]
    close = next(e for e in result.judged if e.level == "close")
    assert close.value < result.overall  # below the overall figure, but not significantly
    assert close.interval is not None and close.interval.high > result.overall
    assert [e.level for e in result.too_few_rows] == ["tiny"]  # 0% right, but 15 rows
    assert result.level == pytest.approx(1 - 0.05 / 3)  # Bonferroni over the 3 judged levels
    assert "Bonferroni over 3 levels" in result.test and "below" in result.test


def test_weak_segments_of_a_loss_look_above_the_overall_figure() -> None:
    y, predicted, codes = _constructed()
    result = weak_segments(
        skm.zero_one_loss,
        y,
        predicted,
        codes,
        ["base", "poor", "close", "tiny"],
        higher_is_better=False,
        resamples=2000,
    )
    assert [e.level for e in result.weak] == ["poor"]
    assert "above" in result.test


def test_weak_segments_rarely_flags_a_level_when_none_is_worse() -> None:
    # Four equally good levels: the family-wise rate of false flags stays under 2.5%.
    flagged = 0
    for seed in range(120):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 2, 2000)
        predicted = np.where(rng.random(2000) < 0.85, y, 1 - y)
        codes = rng.integers(0, 4, 2000)
        result = weak_segments(
            skm.accuracy_score,
            y,
            predicted,
            codes,
            LEVELS,
            higher_is_better=True,
            resamples=400,
            seed=seed,
        )
        flagged += bool(result.weak)
    assert flagged / 120 <= 0.05, flagged


@pytest.mark.parametrize(
    ("codes", "levels"),
    [([0, 1, 5], ["a", "b"]), ([0, 1], ["a", "b"]), ([0.5, 1, 0], ["a", "b"])],
)
def test_codes_that_do_not_index_the_levels_are_refused(codes: Any, levels: Any) -> None:
    with pytest.raises(InvalidArgument):
        segment_estimates(skm.accuracy_score, [0, 1, 1], [0, 1, 0], codes, levels)
