"""E[max of k iid N(0, 1)] against its known values and a seeded simulation; the optimism."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.stats.selection import expected_max_standard_normal, selection_optimism


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, 0.0),
        (2, 1 / math.sqrt(math.pi)),  # exact
        (3, 1.5 / math.sqrt(math.pi)),  # exact
        (5, 1.16296),  # tables of normal order statistics (Harter 1961)
        (10, 1.53875),
        (100, 2.50759),
    ],
)
def test_expected_maximum_matches_known_values(k: int, expected: float) -> None:
    assert expected_max_standard_normal(k) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("k", [2, 4, 7, 20, 50])
def test_expected_maximum_matches_a_seeded_simulation(k: int) -> None:
    draws = np.random.default_rng(k).standard_normal((200_000, k)).max(axis=1)
    standard_error = draws.std(ddof=1) / math.sqrt(len(draws))
    assert abs(expected_max_standard_normal(k) - draws.mean()) < 4 * standard_error


def test_expected_maximum_grows_with_k() -> None:
    values = [expected_max_standard_normal(k) for k in range(1, 60)]
    assert all(b > a for a, b in itertools.pairwise(values))


def test_optimism_is_the_standard_error_times_the_expected_maximum() -> None:
    assert selection_optimism(0.02, 10) == pytest.approx(0.02 * 1.5387527, rel=1e-6)
    assert selection_optimism(0.02, 1) == 0.0
    assert selection_optimism(0.0, 10) == 0.0


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_k_must_be_a_whole_number_of_at_least_one(k: object) -> None:
    with pytest.raises(InvalidArgument):
        expected_max_standard_normal(k)  # type: ignore[arg-type]


@pytest.mark.parametrize("se", [-0.1, math.nan, math.inf])
def test_standard_error_must_be_finite_and_not_negative(se: float) -> None:
    with pytest.raises(InvalidArgument):
        selection_optimism(se, 3)
