"""The query side of the public API: which store and which runs a call means."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nbmodelbook.magics import active_tracker
from nbmodelbook.store.backends import StoreUnavailable
from nbmodelbook.store.store import RunStore

if TYPE_CHECKING:
    import pandas as pd

    from nbmodelbook.capture.tracker import Tracker


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
    return _shared_store(store), tracker


_OPEN_STORES: dict[str, RunStore] = {}


def _shared_store(store: str | None) -> RunStore:
    """One open store per URL per process: it keeps its cache of decoded runs between calls."""
    from nbmodelbook.store.backends import resolve_store_url

    url = resolve_store_url(store)
    opened = _OPEN_STORES.get(url)
    if opened is None:
        opened = _OPEN_STORES[url] = RunStore.open(url)
    return opened


def runs(
    notebook: str | None = None, *, all_notebooks: bool = False, store: str | None = None
) -> pd.DataFrame:
    from nbmodelbook.store.frames import runs_frame

    run_store, tracker = open_store(store)
    if all_notebooks:
        table = run_store.run_table()
    elif notebook is not None:
        table = run_store.run_table(notebook=str(Path(notebook).expanduser().resolve()))
    elif tracker is not None and tracker.notebook is not None:
        table = run_store.run_table(notebook=tracker.notebook)
    elif tracker is not None:
        table = run_store.run_table(session_id=tracker.session_id)
    else:
        table = run_store.run_table()
    return runs_frame(table)
