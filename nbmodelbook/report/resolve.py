"""Resolving `run:REF` references (names or ids) against the notebook's runs. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from nbmodelbook.record import RunRecord

MIN_ID_PREFIX = 6


def resolve_ref(ref: str, runs: Mapping[str, RunRecord]) -> str | None:
    """A run id for a full id, a unique id prefix (≥ 6 digits) or a name (its latest run)."""
    if ref in runs:
        return ref
    named = [run for run in runs.values() if run.name == ref]
    if named:
        return max(named, key=lambda run: (run.started_at, run.run_id)).run_id
    lowered = ref.lower()
    if len(lowered) >= MIN_ID_PREFIX and all(ch in "0123456789abcdef" for ch in lowered):
        matches = [run_id for run_id in runs if run_id.startswith(lowered)]
        if len(matches) == 1:
            return matches[0]
    return None
