"""The query side of the public API: which store and which runs a call means."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmodelbook.errors import StoreUnavailable
from nbmodelbook.magics import active_tracker
from nbmodelbook.store.store import RunStore

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

    from nbmodelbook.capture.tracker import Tracker
    from nbmodelbook.record import Candidate, Evaluation
    from nbmodelbook.widgets.browser import RunBrowser
    from nbmodelbook.widgets.compare_view import CompareView


def require_tracker(caller: str) -> Tracker:
    tracker = active_tracker()
    if tracker is None:
        raise RuntimeError(
            f"nbmodelbook.{caller}() needs the extension: run %load_ext nbmodelbook, then call "
            "it inside a cell that starts with %%track"
        )
    return tracker


def open_store(store: str | None = None) -> tuple[RunStore, Tracker | None]:
    """The store to read: the given one, else the kernel's (after its pending writes)."""
    tracker = active_tracker()
    if store is None and tracker is not None:
        tracker.flush()
        opened = tracker.writer.wait_ready(30.0)
        if opened is None:
            raise tracker.writer.open_error or StoreUnavailable("the run store is not available")
        return opened, tracker
    return shared_store(store), tracker


_OPEN_STORES: dict[str, tuple[RunStore, tuple[int, int] | None]] = {}


def _file_identity(url: str) -> tuple[int, int] | None:
    """Which file a SQLite store is (device, inode); None for a server store or no file."""
    from nbmodelbook.store.backends import sqlite_path

    path = sqlite_path(url)
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def shared_store(store: str | None) -> RunStore:
    """One open store per URL per process: it keeps its cache of decoded runs between calls.

    A store file replaced since it was opened (deleted and made anew, or a damaged one moved
    aside) is opened again: the old connections would go on reading the old file.
    """
    from nbmodelbook.store.backends import resolve_store_url

    url = resolve_store_url(store)
    identity = _file_identity(url)
    opened = _OPEN_STORES.get(url)
    if opened is not None and opened[1] == identity:
        return opened[0]
    if opened is not None:
        opened[0].close()
    fresh = RunStore.open_read_only(url)  # reading never creates, migrates or writes a store
    _OPEN_STORES[url] = (fresh, _file_identity(url))
    return fresh


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose runs a call means: a notebook (in its repository), a kernel session, or all."""

    notebook: str | None = None
    session_id: str | None = None
    repo: str | None = None
    marked: tuple[str, ...] = ()  # the runs the notebook's saved markers name
    cell_hashes: tuple[str, ...] = ()  # its tracked cells' code, for runs of no known notebook


def _notebook(tracker: Tracker | None, notebook: str | None) -> str | None:
    """The notebook a call means: the one given, else the kernel's own (when known)."""
    if notebook is not None:
        return str(Path(notebook).expanduser().resolve())
    return tracker.notebook if tracker is not None else None


def _scope(tracker: Tracker | None, notebook: str | None, all_notebooks: bool) -> Scope:
    from nbmodelbook.repository import repository_of

    if all_notebooks:
        return Scope()
    path = _notebook(tracker, notebook)
    if path is None:
        return Scope(session_id=tracker.session_id) if tracker is not None else Scope()
    from nbmodelbook.links import saved_links

    # Two people's notebooks at the same path (e.g. /home/jovyan/model.ipynb on a shared
    # server) are told apart by their repositories. A notebook executed by nbclient or
    # papermill filed its runs under no path: its saved run markers name them.
    marked, cell_hashes = saved_links(Path(path))
    return Scope(
        notebook=path,
        repo=repository_of(Path(path).parent),
        marked=marked,
        cell_hashes=cell_hashes,
    )


def runs(
    notebook: str | None = None, *, all_notebooks: bool = False, store: str | None = None
) -> pd.DataFrame:
    from nbmodelbook.store.frames import runs_frame

    run_store, tracker = open_store(store)
    scope = _scope(tracker, notebook, all_notebooks)
    table = run_store.run_table(
        notebook=scope.notebook,
        session_id=scope.session_id,
        repo=scope.repo,
        marked=scope.marked,
        cell_hashes=scope.cell_hashes,
    )
    return runs_frame(table)


def browse(
    notebook: str | None = None,
    *,
    all_notebooks: bool = False,
    store: str | None = None,
    page_size: int = 25,
    metrics: Sequence[str] | None = None,
    params: Sequence[str] | None = None,
) -> RunBrowser:
    from nbmodelbook.widgets.browser import RunBrowser

    run_store, tracker = open_store(store)
    scope = _scope(tracker, notebook, False)
    browser = RunBrowser(
        run_store,
        notebook=scope.notebook,
        session_id=scope.session_id,
        repo=scope.repo,
        marked=scope.marked,
        cell_hashes=scope.cell_hashes,
        all_notebooks=all_notebooks,
        page_size=page_size,
        metrics=metrics,
        params=params,
    )
    if tracker is not None and store is None:
        tracker.writer.add_listener(browser.on_run_written)
    return browser


def compare(
    refs: Sequence[str], *, store: str | None = None, notebook: str | None = None
) -> CompareView:
    from nbmodelbook.report.comparison import build_comparison, resolve_refs
    from nbmodelbook.widgets.compare_view import CompareView

    if len(refs) == 1 and isinstance(refs[0], list | tuple):
        refs = list(refs[0])  # compare(["a", "b"]) means compare("a", "b")
    if len(refs) < 2:
        raise ValueError(
            "compare() needs two or more runs: compare('rf-500', 'gbm-tuned'), by name "
            "(the latest run of that name) or run id"
        )
    run_store, tracker = open_store(store)
    # Only the notebook matters here (names resolve to its runs first): no repository lookup.
    run_ids = resolve_refs(run_store, refs, notebook=_notebook(tracker, notebook))
    if len(run_ids) < 2:
        raise ValueError(f"{', '.join(map(repr, refs))} name only one run: give two or more")
    records = run_store.get_runs(run_ids)
    return CompareView(build_comparison([records[run_id] for run_id in run_ids]))


def evaluations(
    ref: str, *, store: str | None = None, notebook: str | None = None
) -> dict[str, pd.DataFrame]:
    """The evidence behind one run's metrics as DataFrames (see `nbmodelbook.evaluations`)."""
    from nbmodelbook.report.comparison import resolve_refs

    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(
            "evaluations() takes one run: a run name or id, e.g. evaluations('logreg')"
        )
    run_store, tracker = open_store(store)
    run_ids = resolve_refs(run_store, [ref], notebook=_notebook(tracker, notebook))
    found, candidates = run_store.evidence(run_ids[0])
    return evidence_frames(found, candidates)


def evidence_frames(
    found: Sequence[Evaluation], candidates: Sequence[Candidate]
) -> dict[str, pd.DataFrame]:
    """One frame per evaluation (keyed by its metric) and `folds`, one row per candidate and
    fold, for cross-validations and searches."""
    import numpy as np
    import pandas as pd

    frames: dict[str, pd.DataFrame] = {}
    for evaluation in found:
        columns: dict[str, Any] = {"y_true": evaluation.y_true}
        for name in ("y_score", "y_pred", "sample_weight"):
            value = getattr(evaluation, name)
            if value is None:
                continue
            if getattr(value, "ndim", 1) == 2:
                for column in range(value.shape[1]):
                    columns[f"{name}_{column}"] = value[:, column]
            else:
                columns[name] = value
        for name, labels in evaluation.segments.items():
            codes = np.asarray(labels.codes, dtype=np.int64)
            key = name if name not in columns else f"segment.{name}"
            columns[key] = pd.Categorical.from_codes(codes, categories=pd.Index(labels.levels))
        frame = pd.DataFrame(columns)
        frame.attrs.update(
            function=evaluation.function,
            value=evaluation.value,
            n_total=evaluation.n_total,
            sampled=evaluation.sampled,
            options=dict(evaluation.options),
        )
        key, suffix = evaluation.metric, 2
        while key in frames:
            key, suffix = f"{evaluation.metric} ({suffix})", suffix + 1
        frames[key] = frame
    if candidates:
        rows = []
        for candidate in candidates:
            for fold, score in enumerate(candidate.fold_scores):
                rows.append(
                    {
                        "source": candidate.source,
                        "group": candidate.group,
                        "candidate": candidate.index,
                        **{f"params.{key}": value for key, value in candidate.params.items()},
                        "fold": fold,
                        "score": score,
                        "scorer": candidate.scorer,
                        "chosen": candidate.chosen,
                    }
                )
        frames["folds"] = pd.DataFrame(rows)
    return frames
