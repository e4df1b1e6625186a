"""The run table: an anywidget whose front end draws one page and reports sorts and selections.

ipywidgets has no sortable, selectable table, and building one from hundreds of small widgets
costs a message per cell per page. This widget receives a page as one list of text cells; its
front end (static/run_table.js, no dependencies, no network) sets every value as text.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets

_STATIC = Path(__file__).parent / "static"


class RunTable(anywidget.AnyWidget):  # type: ignore[misc]
    _esm = _STATIC / "run_table.js"
    _css = _STATIC / "run_table.css"

    columns: traitlets.List[dict[str, object]] = traitlets.List(
        help="[{key, label, numeric, sortable, descending_first}] in display order"
    ).tag(sync=True)
    rows: traitlets.List[dict[str, object]] = traitlets.List(
        help="[{id, status, failed, cells: [text per column]}]"
    ).tag(sync=True)
    sort = traitlets.Unicode("started_at", help="the key of the column sorted by").tag(sync=True)
    descending = traitlets.Bool(True).tag(sync=True)
    selected = traitlets.List(traitlets.Unicode(), help="selected run ids, in order").tag(sync=True)
    empty_message = traitlets.Unicode("No runs yet.").tag(sync=True)
