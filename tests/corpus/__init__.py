"""Notebooks in the style of public machine-learning tutorials, run tracked and untracked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expected:
    """What the run of one corpus cell must record."""

    params: Mapping[str, object] = field(default_factory=dict)  # these keys, with these values
    absent: frozenset[str] = frozenset()  # param keys that must not be there
    absent_prefixes: tuple[str, ...] = ()  # nor any key starting with one of these
    metrics: frozenset[str] = frozenset()  # metric names that must be there
    evaluations: frozenset[str] = frozenset()  # the metrics of the evaluations kept, exactly
    candidates: int = 0  # configurations tried (fold scores kept), exactly
    folds: int = 0  # fold scores kept in all, exactly
