"""Gather what a review needs from disk: the notebook, its annotations and its runs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbmodelbook.links import notebook_run_summaries
from nbmodelbook.notebook_file import read_notebook
from nbmodelbook.record import RunRecord
from nbmodelbook.report.annotations import parse_annotations
from nbmodelbook.report.build import build_review
from nbmodelbook.report.coverage import (
    Framework,
    FrameworkError,
    frameworks_coverage,
    load_framework,
    notebook_frameworks,
)
from nbmodelbook.report.model import AnnotationKind, Review
from nbmodelbook.report.resolve import resolve_ref
from nbmodelbook.store.backends import store_exists, store_for_notebook

Progress = Callable[[str], None]


def terminal_progress(message: str) -> None:
    """Progress lines on stderr, only for a person watching a terminal."""
    if sys.stderr.isatty():
        print(f"nbmodelbook: {message}", file=sys.stderr, flush=True)


@dataclass(slots=True)
class LoadedRuns:
    runs: dict[str, RunRecord]
    location: str | None
    # Candidates each run without its evidence read tried, counted by the store.
    candidate_counts: dict[str, int] = field(default_factory=dict)


def load_runs_with_counts(
    notebook_path: Path,
    notebook: Mapping[str, Any],
    refs: list[str],
    store_url: str,
    *,
    evidence_refs: Sequence[str] = (),
) -> LoadedRuns:
    """The notebook's runs plus any other run its annotations cite, the store's location, and
    how many candidates every run whose evidence is not read tried (one grouped count in the
    store, so the search effort counts every run's candidates).

    The runs `evidence_refs` name (a decision's chosen run and alternatives) also get their
    evidence (evaluations and candidates); no other run's evidence is read.
    A store that does not exist yet is not created: the notebook simply has no runs.
    """
    if not store_exists(store_url):
        return LoadedRuns({}, None)
    from nbmodelbook.store.store import RunStore

    store = RunStore.open_read_only(store_url)  # a report changes nothing in the store
    try:
        summaries = notebook_run_summaries(store, notebook_path, notebook)
        ids = [row["run_id"] for row in summaries]
        runs = store.get_runs(ids)
        for ref in refs:
            if resolve_ref(ref, runs) is None:
                found = store.resolve(ref, notebook=str(notebook_path.resolve()))
                if found is not None and found not in runs:
                    runs.update(store.get_runs([found]))
        cited = dict.fromkeys(filter(None, (resolve_ref(ref, runs) for ref in evidence_refs)))
        for run_id in cited:
            runs[run_id].evaluations, runs[run_id].candidates = store.evidence(run_id)
        counts = store.candidate_counts([run_id for run_id in runs if run_id not in cited])
        return LoadedRuns(runs, store.location, counts)
    finally:
        store.close()


def load_review(
    notebook_path: Path,
    store: str | None = None,
    progress: Progress = terminal_progress,
    *,
    level: float = 0.95,
    frameworks: Sequence[str] = (),
) -> Review:
    """Read the notebook and its runs, and build the review model (intervals at `level`, the
    coverage of `frameworks` and of those the notebook's metadata names)."""
    progress(f"reading {notebook_path.name}")
    notebook = read_notebook(notebook_path)
    return review_of_notebook(
        notebook,
        notebook_path,
        store_for_notebook(notebook_path, store),
        progress,
        level=level,
        frameworks=frameworks,
    )


def review_of_notebook(
    notebook: Mapping[str, Any],
    notebook_path: Path,
    store_url: str,
    progress: Progress = terminal_progress,
    *,
    level: float = 0.95,
    frameworks: Sequence[str] = (),
) -> Review:
    """The review model of a notebook already read (the CLI, the server and the nbconvert
    exporter all build it here): its annotations, its runs and the cited runs' evidence, and
    its coverage of the frameworks its metadata names and `frameworks` adds."""
    # Read first: a misspelt framework is refused before any run is read.
    framework_specs = _frameworks(notebook, notebook_path, frameworks)
    annotations, problems = parse_annotations(notebook)
    refs = [ref for annotation in annotations for ref in annotation.refs]
    decision_refs = [
        ref
        for annotation in annotations
        if annotation.kind is AnnotationKind.DECISION
        for ref in annotation.refs
    ]
    loaded = load_runs_with_counts(
        notebook_path, notebook, refs, store_url, evidence_refs=decision_refs
    )
    progress(f"building the review from {len(loaded.runs)} runs")
    review = build_review(
        notebook,
        notebook_path.name,
        loaded.runs,
        annotations,
        problems,
        store_location=loaded.location,
        candidate_counts=loaded.candidate_counts,
        level=level,
    )
    review.coverage = frameworks_coverage(framework_specs, review)
    return review


def _frameworks(
    notebook: Mapping[str, Any], notebook_path: Path, given: Sequence[str]
) -> list[Framework]:
    """The notebook's frameworks (paths relative to the notebook), then those given (paths
    relative to the working folder), each once."""
    asked: list[tuple[str, Path | None]] = [
        (name, notebook_path.parent) for name in notebook_frameworks(notebook)
    ]
    asked += [(name, None) for name in given]
    unique: dict[str, tuple[str, Framework]] = {}
    for name, base in asked:
        framework = load_framework(name, base)
        seen = unique.setdefault(framework.framework_id, (name, framework))
        if seen[1] != framework:
            # An edited copy of a framework that kept its id would be silently dropped.
            raise FrameworkError(
                f"two different frameworks have the id {framework.framework_id!r}: {seen[0]} and "
                f"{name}; give your own file an id of its own"
            )
    return [framework for _, framework in unique.values()]
