"""What each endpoint does, apart from HTTP: blocking work the handlers run off the event loop.

A notebook's runs are those filed under its real path and, when it lies in a git repository,
that repository (as `nbmodelbook.runs()` sees them), in the store `nbmodelbook report` would
read; a run of any other notebook is not found. Every file the server derives from a notebook's
place (the store beside it and its journals, the report, the report's images folder) is
confined to the root before anything opens or writes it; a store the server's operator chose
(NBMODELBOOK_STORE) is theirs to place. Answers name files relative to the root, never by the
server's own paths. Errors are the project's own (`PathRejected`, `UnknownRunError`,
`StoreUnavailable`, ...); the handlers turn them into HTTP statuses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmodelbook import __version__
from nbmodelbook.errors import (
    AnnotationsInvalid,
    FormatUnavailable,
    PathRejected,
    UnknownRunError,
)
from nbmodelbook.links import saved_links
from nbmodelbook.server import payloads
from nbmodelbook.server.arguments import MAX_LIMIT, InvalidArgument
from nbmodelbook.server.paths import (
    api_path_of,
    confine,
    require_file,
    resolve_api_path,
    shown_path,
    within,
)
from nbmodelbook.server.stores import StoreAccess

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from nbmodelbook.record import RunRecord
    from nbmodelbook.report.formats import ReportFormat
    from nbmodelbook.store.store import RunStore

__all__ = [
    "REPORT_MEDIA_TYPES",
    "AnnotationsInvalid",
    "ApiContext",
    "Listing",
    "comparison_payload",
    "export_report",
    "listing_payload",
    "prepare_listing",
    "read_report",
    "report_formats_payload",
    "run_payload",
]

NOTEBOOK_SUFFIX = ".ipynb"
# The reports the API serves, by the ending of their name, with the media type they are sent as.
# Markdown goes as plain text: the frontend shows its source, nothing in it is rendered.
REPORT_MEDIA_TYPES: dict[str, str] = {
    ".review.html": "text/html; charset=utf-8",
    ".review.md": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class ApiContext:
    """What every request shares: the root folder (real path) and the open stores."""

    root: Path
    allow_hidden: bool = False
    stores: StoreAccess = field(default_factory=StoreAccess)

    def file(self, api_path: str, suffixes: Sequence[str], kind: str) -> Path:
        """The real path of an existing file of that kind inside the root."""
        path = resolve_api_path(self.root, api_path, allow_hidden=self.allow_hidden)
        return require_file(path, api_path, suffixes, kind)

    def notebook(self, api_path: str) -> Path:
        return self.file(api_path, (NOTEBOOK_SUFFIX,), "a notebook")


# SQLite writes these beside a store file (following links): confined with it.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _store_url(context: ApiContext, notebook: Path) -> str:
    """The notebook's store, as `nbmodelbook report` finds it. The store beside the notebook
    must lie in the root, and its journals too; the operator's NBMODELBOOK_STORE is theirs."""
    from nbmodelbook.store.backends import (
        DEFAULT_STORE_DIR,
        DEFAULT_STORE_FILE,
        STORE_ENV_VAR,
        sqlite_path,
        store_for_notebook,
    )

    if os.environ.get(STORE_ENV_VAR, "").strip():
        return store_for_notebook(notebook)
    what = "the run store"
    # Link by link first, so the message names the link that leads out.
    confine(context.root, notebook.parent / DEFAULT_STORE_DIR, f"{what}'s folder")
    confine(context.root, notebook.parent / DEFAULT_STORE_DIR / DEFAULT_STORE_FILE, what)
    url = store_for_notebook(notebook)
    path = sqlite_path(url)
    if path is not None:  # the file the store opens, whatever the rule that chose it
        real = confine(context.root, path, what)
        for suffix in SQLITE_SIDE_FILES:
            confine(context.root, real.with_name(real.name + suffix), f"{what}'s journal")
    return url


def _shown_store(context: ApiContext, url: str) -> str:
    """Where a store is, for people, without the server's own paths: a file relative to the
    root, a file elsewhere by its name, a server's URL without its password."""
    from nbmodelbook.store.backends import backend_for, sqlite_path

    path = sqlite_path(url)
    if path is None:
        return backend_for(url).describe(url)
    real = Path(os.path.realpath(path))
    if within(context.root, real):
        return api_path_of(context.root, real)
    return f"{path.name} (outside the server's root folder)"


# --- the run listing -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listing:
    """A listing request, resolved: cheap to build, enough to answer 304 Not Modified."""

    api_path: str
    notebook: str
    repo: str | None
    store_url: str
    store_shown: str
    store: RunStore | None
    text: str
    limit: int
    seq: int
    etag: str
    marked: tuple[str, ...] = ()
    cell_hashes: tuple[str, ...] = ()


def prepare_listing(context: ApiContext, api_path: str, text: str, limit: int) -> Listing:
    """Which runs a listing means and the store's write counter: no run is read yet."""
    notebook = context.notebook(api_path)
    url = _store_url(context, notebook)
    store = context.stores.existing(url)
    repo = context.stores.repository(notebook.parent)
    seq = store.write_counter() if store is not None else 0
    marked, cell_hashes = saved_links(notebook)
    etag = payloads.listing_etag(
        __version__, url, str(notebook), repo, text, limit, store is not None, seq, marked
    )
    shown = _shown_store(context, url)
    return Listing(
        api_path,
        str(notebook),
        repo,
        url,
        shown,
        store,
        text,
        limit,
        seq,
        etag,
        marked,
        cell_hashes,
    )


def _headline(metric_names: list[str]) -> str | None:
    """The metric the panel shows by default: a conventional headline, else the most common."""
    from nbmodelbook.metric_names import conventional_headline

    return conventional_headline(metric_names) or next(iter(metric_names), None)


def _lower_is_better(metric_names: list[str]) -> list[str]:
    """The metrics whose smaller values are better, by the report's reading of their names."""
    from nbmodelbook.metric_names import lower_is_better

    return [name for name in metric_names if lower_is_better(name)]


def listing_payload(listing: Listing) -> dict[str, Any]:
    """The notebook's runs, newest first, with the metric names most of them have."""
    from nbmodelbook.store.query import RunQuery

    runs: list[dict[str, Any]] = []
    total = 0
    metric_names: list[str] = []
    if listing.store is not None:
        scope = RunQuery(
            notebook=listing.notebook,
            repo=listing.repo,
            marked=listing.marked,
            cell_hashes=listing.cell_hashes,
        )
        page = listing.store.query_runs(scope.with_changes(text=listing.text, limit=listing.limit))
        runs = [payloads.run_summary(row) for row in page.rows]
        total = page.total
        facets = listing.store.facets(scope, params=False, newest=MAX_LIMIT)
        metric_names = [name for name, _count in facets.metrics]
    return {
        "notebook": listing.api_path,
        "store": listing.store_shown,
        "seq": listing.seq,
        "total": total,
        "metric_names": metric_names,
        "headline": _headline(metric_names),
        "lower_is_better": _lower_is_better(metric_names),
        "runs": runs,
    }


# --- one run, several runs -------------------------------------------------------------------


def _records(
    context: ApiContext, notebook: Path, api_path: str, refs: Sequence[str]
) -> list[RunRecord]:
    """Full records (no outputs) of the notebook's runs given by id or id prefix, in order.

    A run of another notebook is not found, as if it were not in the store."""
    url = _store_url(context, notebook)
    store = context.stores.existing(url)
    if store is None:
        raise UnknownRunError(
            f"no run with id {', '.join(refs)}: the notebook has no run store yet "
            f"({_shown_store(context, url)})"
        )
    from nbmodelbook.store.query import NotebookRuns

    scope = NotebookRuns(
        str(notebook), context.stores.repository(notebook.parent), *saved_links(notebook)
    )
    found = {ref: store.find_run_id(ref) for ref in refs}
    run_ids = list(dict.fromkeys(run_id for run_id in found.values() if run_id is not None))
    records = {
        run_id: record
        for run_id, record in store.get_runs(run_ids, with_outputs=False).items()
        if scope.holds(record.run_id, record.notebook, record.repo, record.code_hash)
    }
    unknown = [ref for ref, run_id in found.items() if run_id not in records]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise UnknownRunError(
            f"no run with id{plural} {', '.join(unknown)} among the runs of "
            f"{shown_path(api_path)} in {_shown_store(context, url)} "
            "(or a prefix that more than one run shares)"
        )
    return [records[run_id] for run_id in run_ids]


def run_payload(context: ApiContext, api_path: str, ref: str) -> dict[str, Any]:
    """One run in full, its notebook named as the API names files."""
    notebook = context.notebook(api_path)
    (record,) = _records(context, notebook, api_path, [ref])
    return payloads.run_detail(record, notebook=api_path_of(context.root, notebook))


def comparison_payload(context: ApiContext, api_path: str, refs: Sequence[str]) -> dict[str, Any]:
    """Two or more runs compared, as `compare()` compares them (the first is the reference)."""
    from nbmodelbook.report.comparison import build_comparison

    records = _records(context, context.notebook(api_path), api_path, refs)
    run_ids = list(dict.fromkeys(record.run_id for record in records))
    if len(run_ids) < 2:
        raise InvalidArgument(
            f"{', '.join(refs)} name only one run: compare takes two or more different runs"
        )
    return payloads.comparison_payload(build_comparison(records))


# --- the review report -----------------------------------------------------------------------


def _quiet(_message: str) -> None:
    """No progress lines: the server's log is not a terminal someone watches."""


def _side_folders() -> dict[str, Callable[[Path], Path]]:
    """The folder each format writes beside its report, by format: Markdown's images."""
    from nbmodelbook.report.formats import markdown_image_dir

    return {"md": markdown_image_dir}


def _report_path(context: ApiContext, report_format: ReportFormat, notebook: Path) -> Path:
    """Where the notebook's report goes, once it and the folder its format writes beside it
    (Markdown's images) are known to lie in the root with every link followed."""
    report = report_format.path_for(notebook)
    if confine(context.root, report, "the report").is_dir():
        raise PathRejected(
            f"the report {api_path_of(context.root, report)!r} cannot be written: a folder "
            "has its name"
        )
    side_folder = _side_folders().get(report_format.name)
    if side_folder is not None:
        folder = report.parent / side_folder(report)
        real = confine(context.root, folder, "the report's images folder")
        if real.exists() and not real.is_dir():
            raise PathRejected(
                f"the report's images folder {api_path_of(context.root, folder)!r} cannot be "
                "written: a file has its name"
            )
    return report


def report_formats_payload() -> dict[str, Any]:
    """Every registered report format, in the registry's order, with whether this server can
    write it: a format missing a package or library is listed with the reason, not left out."""
    from nbmodelbook.report.formats import REPORT_FORMATS

    return {
        "formats": [
            payloads.report_format_entry(report_format, report_format.available())
            for report_format in REPORT_FORMATS.values()
        ]
    }


def _writable_format(format_name: str) -> ReportFormat:
    """The format named, once this server is known to be able to write it."""
    from nbmodelbook.report.formats import REPORT_FORMATS

    report_format = REPORT_FORMATS.get(format_name)
    if report_format is None:
        known = ", ".join(sorted(REPORT_FORMATS))
        raise InvalidArgument(f"unknown report format {format_name!r}: use one of {known}")
    reason = report_format.available()
    if reason is not None:
        others = ", ".join(
            name for name, other in REPORT_FORMATS.items() if other.available() is None
        )
        reason = reason.rstrip(".")
        raise FormatUnavailable(
            f"this server cannot write {format_name} reports: {reason}. Install what it needs "
            f"and restart Jupyter, or export as {others}"
        )
    return report_format


def export_report(context: ApiContext, api_path: str, format_name: str) -> dict[str, Any]:
    """Write the notebook's review report beside it, as `nbmodelbook report NOTEBOOK` does.

    Annotations with problems write nothing (`AnnotationsInvalid`); a notebook that only lacks
    a decision or a risk section is written, and reported not ready.
    """
    from nbmodelbook.report.load import load_review
    from nbmodelbook.report.readiness import is_ready, readiness

    report_format = _writable_format(format_name)
    notebook = context.notebook(api_path)
    store_url = _store_url(context, notebook)
    report = _report_path(context, report_format, notebook)
    review = load_review(notebook, store_url, progress=_quiet)
    items = readiness(review)
    listed = [item.as_dict() for item in items]
    if review.annotation_problems:
        raise AnnotationsInvalid(listed)
    written = report_format.render(review, report)
    return {
        "report": api_path_of(context.root, written[0]),
        "ready": is_ready(items),
        "items": listed,
    }


def read_report(context: ApiContext, api_path: str) -> tuple[bytes, str]:
    """A written report's bytes and the media type to send them as."""
    path = context.file(api_path, tuple(REPORT_MEDIA_TYPES), "a review report")
    media_type = next(
        media for suffix, media in REPORT_MEDIA_TYPES.items() if path.name.endswith(suffix)
    )
    return path.read_bytes(), media_type
