"""Which runs belong to which cells of a notebook file.

Three links, strongest first: the run marker a tracked cell leaves in its saved outputs (survives
renames, moves and headless execution), the cell id the frontend sent with the execution, and the
hash of the cell's source (a last resort, for runs whose notebook is unknown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from nbmodelbook.record import code_hash
from nbmodelbook.run_marker import RUN_MIMETYPE
from nbmodelbook.track_args import TRACK_PREFIX

if TYPE_CHECKING:
    from pathlib import Path

    from nbmodelbook.store.store import RunStore


@dataclass(slots=True)
class CellLink:
    """The runs of one code cell, oldest first, and how each was linked."""

    index: int
    cell_id: str | None
    source_hash: str
    run_ids: list[str] = field(default_factory=list)
    how: dict[str, str] = field(default_factory=dict)  # run id -> "marker" | "cell_id" | "code"


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def marker_run_ids(cell: Mapping[str, Any]) -> list[str]:
    """Run ids held by the invisible run markers in a cell's saved outputs."""
    found = []
    for output in cell.get("outputs", []) or []:
        data = output.get("data", {}) if isinstance(output, Mapping) else {}
        marker = data.get(RUN_MIMETYPE) if isinstance(data, Mapping) else None
        if isinstance(marker, Mapping) and isinstance(marker.get("run_id"), str):
            found.append(marker["run_id"])
    return found


def tracked_cells(notebook: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    """The code cells that carry a run marker or start with `%%track`."""
    cells = notebook.get("cells", []) or []
    return [
        (index, cell)
        for index, cell in enumerate(cells)
        if cell.get("cell_type") == "code"
        and (marker_run_ids(cell) or _source(cell).lstrip().startswith(TRACK_PREFIX))
    ]


def link_cells(
    notebook: Mapping[str, Any], summaries: Sequence[Mapping[str, Any]]
) -> list[CellLink]:
    """Attach each run summary to at most one tracked cell of `notebook` (pure; no I/O)."""
    links = [
        CellLink(index, cell.get("id"), code_hash(_source(cell)))
        for index, cell in tracked_cells(notebook)
    ]
    cells = dict(tracked_cells(notebook))
    by_marker = {rid: link for link in links for rid in marker_run_ids(cells[link.index])}
    by_cell_id = {link.cell_id: link for link in links if link.cell_id}
    by_hash: dict[str, CellLink] = {}
    for entry in links:
        by_hash.setdefault(entry.source_hash, entry)
    for summary in summaries:
        run_id = summary["run_id"]
        link: CellLink | None = by_marker.get(run_id)
        how = "marker"
        if link is None and summary.get("cell_id"):
            link, how = by_cell_id.get(summary["cell_id"]), "cell_id"
        if link is None and summary.get("code_hash"):
            link, how = by_hash.get(summary["code_hash"]), "code"
        if link is not None:
            link.run_ids.append(run_id)
            link.how[run_id] = how
    return links


def notebook_lookup(notebook: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(run ids from markers, source hashes of tracked cells): what a store query needs."""
    run_ids: list[str] = []
    hashes: list[str] = []
    for _index, cell in tracked_cells(notebook):
        run_ids.extend(marker_run_ids(cell))
        hashes.append(code_hash(_source(cell)))
    return run_ids, hashes


def saved_links(notebook_path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`notebook_lookup` of a notebook file as saved; nothing when it cannot be read as one
    (missing, not JSON): then its runs are only those filed under its path. Read again only
    when the file changed (a panel or `runs()` asks often; a notebook may be megabytes)."""
    try:
        stat = notebook_path.stat()
    except OSError:
        return (), ()
    return _saved_links(str(notebook_path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _saved_links(path: str, _mtime_ns: int, _size: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    import json

    try:
        with open(path, encoding="utf-8") as stream:
            notebook = json.load(stream)
        run_ids, hashes = notebook_lookup(notebook)
    except (OSError, ValueError, RecursionError, TypeError, AttributeError):
        return (), ()
    return tuple(dict.fromkeys(run_ids)), tuple(dict.fromkeys(hashes))


def notebook_run_summaries(
    store: RunStore, notebook_path: Path, notebook: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """A notebook's runs: filed under its path, named by its saved run markers (a moved or
    headless-executed notebook), or unfiled runs whose code matches one of its cells."""
    from nbmodelbook.repository import repository_of

    run_ids, hashes = notebook_lookup(notebook)
    return store.notebook_summaries(
        str(notebook_path.resolve()),
        repo=repository_of(notebook_path.resolve().parent),
        run_ids=run_ids,
        orphan_code_hashes=hashes,
    )
