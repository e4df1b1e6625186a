"""Adjusting p-values for multiple comparisons.

Method. Holm (1979, "A simple sequentially rejective multiple test procedure", Scandinavian Journal
of Statistics 6:65-70), the step-down Bonferroni procedure, as adjusted p-values (Wright 1992,
"Adjusted p-values for simultaneous inference", Biometrics 48:1005-1013): with the m p-values
sorted, p(1) <= ... <= p(m), the adjusted value of p(k) is the largest of min(1, (m - j + 1) p(j))
over j <= k. Rejecting where the adjusted value is <= alpha controls the family-wise error rate
at alpha, under any dependence between the tests.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from nbmodelbook.errors import InvalidArgument

__all__ = ["holm_adjust"]


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    The result is monotone in the sorted order, capped at 1 and never below the raw value. A NaN
    (a comparison that produced no p-value) stays NaN and is not counted in the family.
    """
    values = [_checked(p, index) for index, p in enumerate(p_values)]
    present = sorted((p, index) for index, p in enumerate(values) if not math.isnan(p))
    family_size = len(present)
    adjusted = list(values)
    running_max = 0.0
    for rank, (p, index) in enumerate(present):
        # Monotone: a smaller raw p-value is never adjusted above a larger one.
        running_max = max(running_max, min(1.0, (family_size - rank) * p))
        adjusted[index] = running_max
    return adjusted


def _checked(p: float, index: int) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise InvalidArgument(f"p-value {index} is not a number: {p!r}")
    value = float(p)
    if not math.isnan(value) and not 0.0 <= value <= 1.0:
        raise InvalidArgument(f"p-value {index} is {value}, outside [0, 1]")
    return value
