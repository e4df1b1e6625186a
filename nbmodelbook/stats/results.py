"""What the statistics return: figures that say how they were computed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval: [low, high] at `level` (0.95), computed by `method`
    ("DeLong", "Wilson", "bootstrap BCa", "bootstrap percentile", ...)."""

    low: float
    high: float
    level: float
    method: str

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class Estimate:
    """A metric's value on `n` rows with its interval (None when none can be computed; then
    `reason` says why)."""

    value: float
    n: int
    interval: Interval | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """The difference `a - b` of one metric between two models evaluated on the same rows,
    with its interval and the two-sided p-value of "no difference"."""

    difference: float
    interval: Interval | None
    p_value: float | None
    method: str  # "DeLong paired", "paired bootstrap", "McNemar exact", ...
    n: int
