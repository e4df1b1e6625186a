"""Proportions (accuracy, a rate) with Wilson's interval, and McNemar's test for two classifiers
scored on the same rows.

Methods.
- Wilson (1927, "Probable inference, the law of succession, and statistical inference", JASA
  22:209-212): the score interval for one binomial proportion, without continuity correction.
- The difference of two paired proportions: Newcombe (1998, "Improved confidence intervals for the
  difference between binomial proportions based on paired data", Statistics in Medicine
  17:2635-2650), method 10: the Wilson limits of each proportion combined by "square and add",
  with the correlation of the two proportions estimated by the phi coefficient of the paired table,
  shrunk towards zero as the paper prescribes (Fagerland, Lydersen & Laake 2017, "Statistical
  Analysis of Contingency Tables", section 8.5, give the same recipe and a worked example).
- McNemar's test of "equal accuracy" (McNemar 1947, Psychometrika 12:153-157) on the b and c
  discordant rows: the exact conditional binomial test (two-sided: twice the smaller tail, at most
  1; no mid-p) when b + c < 25, otherwise the chi-square statistic with Edwards' continuity
  correction, (|b - c| - 1)^2 / (b + c) on one degree of freedom, the correction never taking
  |b - c| below zero (so b = c gives p = 1, as the exact test does).
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri
from scipy.stats import binom, chi2

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.results import Estimate, Interval, PairedComparison

__all__ = ["mcnemar_test", "proportion_estimate", "wilson_interval"]

WILSON = "Wilson"
NEWCOMBE_PAIRED = "Newcombe paired score (1998, method 10)"
MCNEMAR_EXACT = "McNemar exact"
MCNEMAR_CHI_SQUARE = "McNemar chi-square, continuity-corrected"

# Below this many discordant rows the chi-square approximation is poor: the exact test is used.
EXACT_BELOW_DISCORDANT = 25


def wilson_interval(successes: int, trials: int, *, level: float = 0.95) -> Interval:
    """Wilson's score interval for the proportion successes / trials (trials > 0)."""
    _check_level(level)
    successes, trials = _check_counts(successes, trials)
    if trials == 0:
        raise InvalidArgument("a proportion of zero trials has no interval")
    low, high = _wilson_limits(successes, trials, level)
    return Interval(low=low, high=high, level=level, method=WILSON)


def proportion_estimate(successes: int, trials: int, *, level: float = 0.95) -> Estimate:
    """The proportion successes / trials with its Wilson interval (none for zero trials)."""
    _check_level(level)
    successes, trials = _check_counts(successes, trials)
    if trials == 0:
        return Estimate(math.nan, 0, None, "no trials: the proportion is undefined")
    return Estimate(successes / trials, trials, wilson_interval(successes, trials, level=level))


def mcnemar_test(
    correct_a: npt.ArrayLike, correct_b: npt.ArrayLike, *, level: float = 0.95
) -> PairedComparison:
    """Two classifiers' per-row correctness on the same rows: the difference in accuracy a - b,
    Newcombe's interval for it, and McNemar's p-value (exact when fewer than 25 rows are
    discordant, continuity-corrected chi-square otherwise; `method` says which)."""
    _check_level(level)
    a = _correctness(correct_a, "correct_a")
    b = _correctness(correct_b, "correct_b")
    if len(a) != len(b):
        raise InvalidArgument(f"correct_a has {len(a)} rows but correct_b has {len(b)}")
    n_rows = len(a)
    both = int(np.count_nonzero(a & b))
    only_a = int(np.count_nonzero(a & ~b))
    only_b = int(np.count_nonzero(~a & b))
    neither = n_rows - both - only_a - only_b
    discordant = only_a + only_b
    method = MCNEMAR_EXACT if discordant < EXACT_BELOW_DISCORDANT else MCNEMAR_CHI_SQUARE
    if n_rows == 0:
        return PairedComparison(math.nan, None, None, method, 0)

    difference = (only_a - only_b) / n_rows
    low, high = _newcombe_paired_limits(both, only_a, only_b, neither, level)
    interval = Interval(low=low, high=high, level=level, method=NEWCOMBE_PAIRED)
    if discordant < EXACT_BELOW_DISCORDANT:
        p_value = _mcnemar_exact_p(only_a, only_b)
    else:
        p_value = _mcnemar_chi_square_p(only_a, only_b)
    return PairedComparison(difference, interval, p_value, method, n_rows)


# --- the formulas -------------------------------------------------------------------------------


def _wilson_limits(successes: int, trials: int, level: float) -> tuple[float, float]:
    z = float(ndtri(0.5 + level / 2))
    z2 = z * z
    denominator = trials + z2
    centre = (successes + z2 / 2) / denominator
    half_width = z * math.sqrt(successes * (trials - successes) / trials + z2 / 4) / denominator
    # At 0 and n the limits are exactly 0 and 1; rounding must not put them an ulp outside.
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == trials else min(1.0, centre + half_width)
    return low, high


def _newcombe_paired_limits(
    both: int, only_a: int, only_b: int, neither: int, level: float
) -> tuple[float, float]:
    """Newcombe's method 10 for p_a - p_b, the paired table [[both, only_a], [only_b, neither]]."""
    n = both + only_a + only_b + neither
    correct_a, correct_b = both + only_a, both + only_b
    p_a, p_b = correct_a / n, correct_b / n
    low_a, high_a = _wilson_limits(correct_a, n, level)
    low_b, high_b = _wilson_limits(correct_b, n, level)
    phi = _shrunk_phi(both, only_a, only_b, neither)
    below_a, above_a = p_a - low_a, high_a - p_a
    below_b, above_b = p_b - low_b, high_b - p_b
    difference = p_a - p_b
    lower_spread = below_a**2 - 2 * phi * below_a * above_b + above_b**2
    upper_spread = above_a**2 - 2 * phi * above_a * below_b + below_b**2
    low = difference - math.sqrt(max(0.0, lower_spread))
    high = difference + math.sqrt(max(0.0, upper_spread))
    return max(-1.0, low), min(1.0, high)


def _shrunk_phi(both: int, only_a: int, only_b: int, neither: int) -> float:
    """The phi coefficient of the paired table, its positive part reduced by n/2 (Newcombe's
    correction) and 0 when a margin is empty."""
    n = both + only_a + only_b + neither
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    if margins == 0:
        return 0.0
    cross = both * neither - only_a * only_b
    if cross > n / 2:
        shrunk = cross - n / 2
    elif cross >= 0:
        shrunk = 0.0
    else:
        shrunk = float(cross)
    return shrunk / math.sqrt(margins)


def _mcnemar_exact_p(only_a: int, only_b: int) -> float:
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    smaller_tail = float(binom.cdf(min(only_a, only_b), discordant, 0.5))
    return min(1.0, 2.0 * smaller_tail)


def _mcnemar_chi_square_p(only_a: int, only_b: int) -> float:
    corrected = max(0, abs(only_a - only_b) - 1)
    statistic = corrected**2 / (only_a + only_b)
    return float(chi2.sf(statistic, 1))


# --- checking the inputs ------------------------------------------------------------------------


def _check_level(level: float) -> None:
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise InvalidArgument(f"level must be a number between 0 and 1 (exclusive), not {level!r}")


def _check_counts(successes: int, trials: int) -> tuple[int, int]:
    try:
        if isinstance(successes, bool) or isinstance(trials, bool):
            raise TypeError
        successes, trials = operator.index(successes), operator.index(trials)
    except TypeError:
        raise InvalidArgument(
            f"successes and trials must be whole numbers, not {successes!r} and {trials!r}"
        ) from None
    if trials < 0 or not 0 <= successes <= trials:
        raise InvalidArgument(
            f"need 0 <= successes <= trials, not successes={successes}, trials={trials}"
        )
    return successes, trials


def _correctness(values: npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    correct = np.asarray(values)
    if correct.ndim != 1:
        raise InvalidArgument(f"{name} must be one value per row (1-D), not shape {correct.shape}")
    if correct.dtype.kind == "b":
        return np.asarray(correct, dtype=np.bool_)
    if correct.dtype.kind in "iuf" and bool(np.isin(correct, (0, 1)).all()):
        return np.asarray(correct == 1, dtype=np.bool_)
    raise InvalidArgument(f"{name} must be True/False (or 1/0) per row")
