"""User settings, as traitlets so they live in IPython config like any Jupyter option.

# ~/.ipython/profile_default/ipython_config.py
c.ModelBook.store = "postgresql://team@db/modelbook"
c.ModelBook.verbose = True
"""

from __future__ import annotations

from traitlets import Bool, Int, Unicode
from traitlets.config import Configurable


class ModelBook(Configurable):
    """nbmodelbook's notebook-side settings."""

    store = Unicode(
        None,
        allow_none=True,
        help="Run store: a SQLite file path or an SQLAlchemy URL. Default: $NBMODELBOOK_STORE, "
        "else .nbmodelbook/runs.sqlite in the kernel's working directory.",
    ).tag(config=True)

    verbose = Bool(
        False, help="Print a one-line summary after every tracked cell (like %%track -v)."
    ).tag(config=True)

    run_marker = Bool(
        True,
        help="Leave an invisible marker output holding the run id in each tracked cell, so the "
        "notebook keeps its link to its runs even when executed headless.",
    ).tag(config=True)

    max_output_bytes = Int(
        2_000_000, help="Largest single displayed output kept with a run, in bytes."
    ).tag(config=True)

    max_run_output_bytes = Int(
        8_000_000, help="Largest total size of the outputs kept with one run, in bytes."
    ).tag(config=True)

    wait_for_save_after_ms = Int(
        1000,
        help="A tracked cell that ran longer than this waits (at most a second) for its run to "
        "be saved, so a storage problem is reported in that very cell (quicker cells report it "
        "on the next tracked cell; -1: never wait).",
    ).tag(config=True)

    max_evaluation_rows = Int(
        1_000_000,
        help="Most rows kept of one evaluation's predictions; above it, a seeded stratified "
        "sample of this size is kept, recorded as a sample with the full number of rows.",
    ).tag(config=True)

    evidence = Bool(
        True,
        help="Keep the evidence behind metrics: the predictions each sklearn.metrics call of a "
        "tracked cell was computed from, and the fold scores of cross-validations and searches.",
    ).tag(config=True)
