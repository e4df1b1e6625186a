"""The run stores the API reads, kept open between requests. Blocking: call off the event loop.

Stores are the process-wide ones `nbmodelbook.api` shares (one per URL, with its cache of
decoded runs). A store that does not exist is never created here: a notebook without runs has
no store yet. Repositories are looked up once per folder for a while (a `git` call each), and
`running` runs whose kernel died are marked crashed now and then, as a kernel opening the store
does (the only write the server makes to a store).
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nbmodelbook.store.backends import store_exists

if TYPE_CHECKING:
    from nbmodelbook.store.store import RunStore

__all__ = ["RECOVERY_INTERVAL", "REPOSITORY_TTL", "StoreAccess"]

REPOSITORY_TTL = 300.0  # seconds a folder's repository is trusted before git is asked again
RECOVERY_INTERVAL = 30.0  # seconds between two looks for runs whose kernel died, per store


class StoreAccess:
    """Open stores by URL, repositories by folder, and the reads the API makes of a store."""

    def __init__(
        self, repository_ttl: float = REPOSITORY_TTL, recovery_interval: float = RECOVERY_INTERVAL
    ) -> None:
        self._repository_ttl = repository_ttl
        self._recovery_interval = recovery_interval
        self._open_lock = threading.Lock()
        self._repositories: dict[str, tuple[float, str | None]] = {}
        self._repositories_lock = threading.Lock()
        self._recovered: dict[str, float] = {}

    def existing(self, url: str) -> RunStore | None:
        """The open store at `url`, or None when it was never created."""
        if not store_exists(url):
            return None
        from nbmodelbook.api import shared_store

        with self._open_lock:
            store = shared_store(url)
            now = time.monotonic()
            last = self._recovered.get(url)
            if last is not None and now - last < self._recovery_interval:
                return store
            self._recovered[url] = now
        # The shared store only reads. Marking crashed runs is the one write the server makes,
        # through a handle of its own, only when there is a crash to mark and the store is at
        # the current schema (the server never migrates one); a store this server may not
        # write is still read.
        with contextlib.suppress(Exception):
            if store.orphaned_runs() and store.schema_is_current():
                from nbmodelbook.store.store import RunStore

                writer = RunStore.open(url, recover=False)
                try:
                    writer.recover_orphans()
                finally:
                    writer.close()
        return store

    def repository(self, folder: Path) -> str | None:
        """The repository a folder's notebooks file their runs under (None outside git)."""
        from nbmodelbook.repository import repository_of

        key = str(folder)
        now = time.monotonic()
        with self._repositories_lock:
            cached = self._repositories.get(key)
        if cached is not None and now - cached[0] < self._repository_ttl:
            return cached[1]
        found = repository_of(folder)
        with self._repositories_lock:
            self._repositories[key] = (now, found)
        return found
