"""Wilson intervals against statsmodels; Newcombe's paired interval against an implementation
written here from the paper and a published example; McNemar's p-value against statsmodels."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import numpy.typing as npt
import pytest
from statsmodels.stats.contingency_tables import mcnemar as statsmodels_mcnemar
from statsmodels.stats.proportion import proportion_confint

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.proportions import (
    MCNEMAR_CHI_SQUARE,
    MCNEMAR_EXACT,
    NEWCOMBE_PAIRED,
    mcnemar_test,
    proportion_estimate,
    wilson_interval,
)

# --- Wilson ---------------------------------------------------------------------------------------

GRID = [
    (k, n)
    for n in (1, 2, 3, 5, 10, 17, 50, 100, 999, 10_000)
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n})
]


@pytest.mark.parametrize(("successes", "trials"), GRID)
@pytest.mark.parametrize("level", [0.95, 0.9, 0.99])
def test_wilson_equals_statsmodels(successes: int, trials: int, level: float) -> None:
    low, high = proportion_confint(successes, trials, alpha=1 - level, method="wilson")
    interval = wilson_interval(successes, trials, level=level)
    assert interval.low == pytest.approx(low, abs=1e-12)
    assert interval.high == pytest.approx(high, abs=1e-12)
    assert (interval.level, interval.method) == (level, "Wilson")


def test_wilson_limits_are_exact_at_zero_and_all() -> None:
    assert wilson_interval(0, 40).low == 0.0
    assert wilson_interval(40, 40).high == 1.0


def test_proportion_estimate() -> None:
    estimate = proportion_estimate(37, 50)
    assert (estimate.value, estimate.n) == (0.74, 50)
    assert estimate.interval == wilson_interval(37, 50)
    empty = proportion_estimate(0, 0)
    assert math.isnan(empty.value) and empty.interval is None and empty.reason is not None


def test_bad_counts_are_refused() -> None:
    for successes, trials in [(3, 2), (-1, 5), (1, -1), (1.5, 3), (True, 3)]:
        with pytest.raises(InvalidArgument):
            wilson_interval(successes, trials)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="zero trials"):
        wilson_interval(0, 0)
    with pytest.raises(InvalidArgument, match="level"):
        proportion_estimate(1, 2, level=1.0)
    assert wilson_interval(np.int64(3), np.int64(9)) == wilson_interval(3, 9)  # type: ignore[arg-type]


# --- Newcombe's method 10, written here from Newcombe (1998), section 2, method 10 -------------


def _newcombe_reference(a: int, b: int, c: int, d: int, level: float) -> tuple[float, float]:
    """a = both correct, b = only the first, c = only the second, d = neither. The Wilson limits
    solve |p - k/n| = z sqrt(p (1 - p) / n) (the roots of a quadratic); phi is (ad - bc) over the
    root of the margins' product, with Newcombe's adjustment of its positive part."""
    z = NormalDist().inv_cdf(0.5 + level / 2)
    n = a + b + c + d

    def wilson_roots(k: int) -> tuple[float, float]:
        # (1 + z^2/n) p^2 - (2k/n + z^2/n) p + (k/n)^2 = 0
        q = k / n
        qa, qb, qc = 1 + z * z / n, -(2 * q + z * z / n), q * q
        root = math.sqrt(qb * qb - 4 * qa * qc)
        return (-qb - root) / (2 * qa), (-qb + root) / (2 * qa)

    p1, p2 = (a + b) / n, (a + c) / n
    l2, u2 = wilson_roots(a + b)
    l3, u3 = wilson_roots(a + c)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    if margins == 0:
        phi = 0.0
    elif cross > 0:
        phi = max(cross - n / 2, 0) / math.sqrt(margins)
    else:
        phi = cross / math.sqrt(margins)
    delta = math.sqrt((p1 - l2) ** 2 - 2 * phi * (p1 - l2) * (u3 - p2) + (u3 - p2) ** 2)
    epsilon = math.sqrt((u2 - p1) ** 2 - 2 * phi * (u2 - p1) * (p2 - l3) + (p2 - l3) ** 2)
    return p1 - p2 - delta, p1 - p2 + epsilon


def _rows(a: int, b: int, c: int, d: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per-row correctness of two classifiers giving the paired table [[a, b], [c, d]], shuffled."""
    first = np.array([True] * a + [True] * b + [False] * c + [False] * d)
    second = np.array([True] * a + [False] * b + [True] * c + [False] * d)
    order = np.random.default_rng(a * 1000 + b * 100 + c * 10 + d).permutation(first.size)
    return first[order], second[order]


TABLES = [
    (59, 6, 16, 80),
    (1, 1, 7, 12),
    (10, 15, 5, 20),
    (0, 3, 0, 5),
    (8, 0, 0, 4),
    (30, 12, 12, 30),
    (2, 0, 9, 1),
    (0, 0, 0, 7),
    (5, 0, 0, 0),
    (400, 31, 18, 551),
    (3, 40, 2, 0),
]


@pytest.mark.parametrize(("a", "b", "c", "d"), TABLES)
@pytest.mark.parametrize("level", [0.95, 0.9])
def test_newcombe_interval_equals_the_papers_recipe(
    a: int, b: int, c: int, d: int, level: float
) -> None:
    result = mcnemar_test(*_rows(a, b, c, d), level=level)
    low, high = _newcombe_reference(a, b, c, d, level)
    assert result.difference == pytest.approx((b - c) / (a + b + c + d), abs=1e-15)
    assert result.interval is not None
    assert result.interval.low == pytest.approx(low, abs=1e-12)
    assert result.interval.high == pytest.approx(high, abs=1e-12)
    assert result.interval.method == NEWCOMBE_PAIRED
    assert result.n == a + b + c + d


def test_newcombe_interval_equals_the_published_example() -> None:
    # Fagerland, Lydersen & Laake (2017), Statistical Analysis of Contingency Tables, chapter 8:
    # complete response before/after consolidation therapy (Cavo et al. 2012), [[59, 6], [16, 80]];
    # Newcombe square-and-add: -0.0621 (95% CI -0.1186 to -0.0046); McNemar exact P = 0.052479.
    result = mcnemar_test(*_rows(59, 6, 16, 80))
    assert result.interval is not None
    assert round(result.difference, 4) == -0.0621
    assert (round(result.interval.low, 4), round(result.interval.high, 4)) == (-0.1186, -0.0046)
    assert result.p_value is not None and round(result.p_value, 6) == 0.052479
    assert result.method == MCNEMAR_EXACT


# --- McNemar's p-value --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c"),
    [
        *[(0, 0), (0, 1), (1, 0), (3, 9), (6, 16), (12, 12), (0, 24), (11, 13), (24, 0)],  # exact
        *[(12, 13), (20, 5), (31, 18), (40, 2), (100, 130), (500, 450), (1000, 1001)],  # chi2
    ],
)
def test_mcnemar_p_value_equals_statsmodels(b: int, c: int) -> None:
    a, d = 17, 23
    result = mcnemar_test(*_rows(a, b, c, d))
    exact = b + c < 25
    reference = statsmodels_mcnemar([[a, b], [c, d]], exact=exact, correction=True).pvalue
    assert result.p_value == pytest.approx(reference, rel=1e-12, abs=1e-15)
    assert result.method == (MCNEMAR_EXACT if exact else MCNEMAR_CHI_SQUARE)


def test_mcnemar_equal_discordance_has_p_one() -> None:
    # statsmodels (and R's mcnemar.test) give (0 - 1)^2 / (b + c) here; the continuity correction
    # never takes |b - c| below zero, so p = 1, as the exact test has it.
    result = mcnemar_test(*_rows(10, 30, 30, 10))
    assert result.method == MCNEMAR_CHI_SQUARE and result.p_value == 1.0
    assert result.difference == 0.0


def test_mcnemar_input() -> None:
    assert mcnemar_test([1, 0, 1], [1, 1, 0]) == mcnemar_test(
        [True, False, True], [True, True, False]
    )
    empty = mcnemar_test([], [])
    assert empty.n == 0 and empty.interval is None and empty.p_value is None
    with pytest.raises(InvalidArgument, match="rows"):
        mcnemar_test([True, False], [True])
    with pytest.raises(InvalidArgument, match="True/False"):
        mcnemar_test([0.5, 1.0], [1, 0])
    with pytest.raises(InvalidArgument, match="1-D"):
        mcnemar_test([[True]], [[True]])


def test_mcnemar_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    first, second = rng.random(5000) < 0.8, rng.random(5000) < 0.78
    assert mcnemar_test(first, second) == mcnemar_test(first.copy(), second.copy())
