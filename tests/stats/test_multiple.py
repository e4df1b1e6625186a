"""Holm's adjusted p-values against statsmodels' multipletests(method="holm")."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.multiple import holm_adjust


def _statsmodels_holm(p_values: list[float]) -> list[float]:
    return [float(p) for p in multipletests(p_values, method="holm")[1]]


@pytest.mark.parametrize("seed", range(8))
def test_holm_equals_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 40))
    p_values = rng.uniform(0, 0.2, size=size) ** rng.uniform(0.5, 3)
    p_values[rng.random(size) < 0.2] = 0.01  # ties
    listed = [float(p) for p in p_values]
    assert holm_adjust(listed) == pytest.approx(_statsmodels_holm(listed), abs=1e-15)


def test_holm_worked_example() -> None:
    # Sorted 0.01, 0.02, 0.03, 0.04 times 4, 3, 2, 1 = 0.04, 0.06, 0.06, 0.04 -> monotone 0.04,
    # 0.06, 0.06, 0.06; given in another order, returned in that order.
    assert holm_adjust([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm_adjust([0.5, 0.6]) == [1.0, 1.0]
    assert holm_adjust([]) == []
    assert holm_adjust([0.2]) == [0.2]


def test_nan_passes_through_and_is_not_counted() -> None:
    with_nan = holm_adjust([0.01, math.nan, 0.04, 0.03])
    assert math.isnan(with_nan[1])
    assert [with_nan[0], with_nan[2], with_nan[3]] == pytest.approx(
        _statsmodels_holm([0.01, 0.04, 0.03])
    )


def test_adjusted_values_are_monotone_capped_and_not_below_raw() -> None:
    rng = np.random.default_rng(42)
    raw = [float(p) for p in rng.uniform(size=50)]
    adjusted = holm_adjust(raw)
    pairs = sorted(zip(raw, adjusted, strict=True))
    assert all(low[1] <= high[1] for low, high in itertools.pairwise(pairs))
    assert all(p <= q <= 1.0 for p, q in zip(raw, adjusted, strict=True))


def test_values_outside_zero_one_are_refused() -> None:
    for bad in ([1.2], [-0.1], ["0.1"], [True]):
        with pytest.raises(InvalidArgument):
            holm_adjust(bad)  # type: ignore[arg-type]
    # numpy scalars are numbers too: 0 * 2, then max(0, 0.25 * 1)
    assert holm_adjust([np.float32(0.25), 0]) == [0.25, 0.0]  # type: ignore[list-item]
