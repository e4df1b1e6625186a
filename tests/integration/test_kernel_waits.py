"""What a tracked cell makes the user wait for in a real kernel, and that what is saved in the
notebook stays in the order the cell produced it."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from nbmodelbook.run_marker import RUN_MIMETYPE
from nbmodelbook.store.store import RunStore
from tests.integration.conftest import Runner, visible_outputs

pytestmark = pytest.mark.integration

LOCK_SECONDS = 8.0


def _idle_at(cell: object) -> float:
    """When the kernel said the cell was done (nbclient's timing record)."""
    stamp = cell.metadata["execution"]["iopub.status.idle"]  # type: ignore[attr-defined]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_first_tracked_cell_does_not_wait_for_the_store_to_open(
    run_notebook: Runner, tmp_path: Path
) -> None:
    """The store opens in the background from %load_ext on; here it cannot open for a while
    (another process holds it locked), yet the first tracked cell answers at once, the run is
    saved once the lock is gone, and nobody is warned about a lock that was waited out."""
    store = tmp_path / "store" / "runs.sqlite"
    RunStore.open(str(store)).close()
    locker = sqlite3.connect(store, isolation_level=None, timeout=30, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    released: dict[str, float] = {}

    def release() -> None:
        locker.execute("ROLLBACK")
        locker.close()
        released["at"] = time.time()

    timer = threading.Timer(LOCK_SECONDS, release)
    timer.start()
    try:
        executed = run_notebook(
            "%load_ext nbmodelbook",
            "%%track first\nvalue = 1",
            "import nbmodelbook\nprint(sorted(nbmodelbook.runs()['name']))",
            store_path=store,
        )
    finally:
        timer.join()
    _load, first, listing = executed.code_cells()
    assert _idle_at(first) < released["at"] - LOCK_SECONDS / 2
    assert visible_outputs(first) == []
    assert listing.outputs[0]["text"] == "['first']\n"
    assert executed.stderr() == ""


def test_marker_comes_after_everything_the_cell_printed(run_notebook: Runner) -> None:
    """The marker is queued behind the cell's text without waiting for it to be sent: text
    printed before a stream flush, a display and text still buffered as the cell ends all keep
    their places; the saved outputs are the untracked cell's plus the marker, last."""
    body = (
        "import sys, time\n"
        "from IPython.display import Markdown, display\n"
        "print('before the flush')\n"
        "print('to stderr', file=sys.stderr)\n"
        "time.sleep(0.3)\n"  # longer than ipykernel's flush interval: a stream message goes
        "display(Markdown('*shown*'))\n"
        "print('still buffered as the cell ends')"
    )
    plain = run_notebook("%load_ext nbmodelbook", body, name="plain.ipynb")
    tracked = run_notebook("%load_ext nbmodelbook", f"%%track ordered\n{body}", name="t.ipynb")
    plain_outputs = plain.code_cells()[1].outputs
    tracked_outputs = tracked.code_cells()[1].outputs
    assert RUN_MIMETYPE in tracked_outputs[-1].get("data", {})
    assert tracked_outputs[:-1] == plain_outputs
    assert [o.get("name", o.output_type) for o in plain_outputs] == [
        "stdout",
        "stderr",
        "display_data",
        "stdout",
    ]
