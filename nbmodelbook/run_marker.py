"""The run marker: the invisible output a tracked cell leaves in the notebook.

It carries the run's id (so a saved notebook links its cells to their runs however it was
executed) and what a cell badge shows without asking the server. Capture writes it; the report,
the links to a notebook and the JupyterLab extension read it.

Its output holds its own MIME type alone: what does not know that type shows nothing for it
(nbconvert's HTML and Markdown, GitHub's notebook view, JupyterLab without the extension),
where an empty text/plain beside it would be an empty output block. VS Code is the exception:
it shows a "no renderer" note for an output none of whose types it can render, so a marker
written there also carries the empty text/plain, which VS Code shows as nothing.
"""

from __future__ import annotations

import itertools
from typing import Any, Final

from nbmodelbook.metric_names import headline_metric
from nbmodelbook.record import RunRecord, json_safe

__all__ = ["MARKER_METRICS", "RUN_MIMETYPE", "marker_output", "run_marker"]

RUN_MIMETYPE: Final = "application/vnd.nbmodelbook.run+json"
# Metrics a run marker carries, so a cell badge can show the one its user prefers.
MARKER_METRICS: Final = 8


def run_marker(record: RunRecord) -> dict[str, Any]:
    """The run marker's payload: what a cell badge shows without asking the server."""
    metrics = dict(itertools.islice(record.metrics.items(), MARKER_METRICS))
    headline = headline_metric(record)
    if headline is not None:  # the badge's default metric travels even beyond the first few
        metrics[headline] = record.metrics[headline]
    first = next(iter(metrics.items()), None)
    payload: dict[str, Any] = json_safe(
        {
            "run_id": record.run_id,
            "name": record.name,
            "status": record.status.value,
            "duration": record.duration,
            "metric": {"name": first[0], "value": first[1]} if first else None,
            "metrics": metrics,
            "headline": headline,
        }
    )
    return payload


def marker_output(
    payload: dict[str, Any], *, plain_text: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(data, metadata) of the display output that carries a run marker; `plain_text` adds an
    empty text/plain, for frontends that show a note for an output they cannot render."""
    data: dict[str, Any] = {RUN_MIMETYPE: payload}
    if plain_text:
        data["text/plain"] = ""
    return data, {RUN_MIMETYPE: {"run_id": payload["run_id"]}}
