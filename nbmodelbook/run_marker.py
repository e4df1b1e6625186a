"""The run marker: the invisible output a tracked cell leaves in the notebook.

It carries the run's id (so a saved notebook links its cells to their runs however it was
executed) and what a cell badge shows without asking the server. Capture writes it; the report,
the links to a notebook and the JupyterLab extension read it.
"""

from __future__ import annotations

import itertools
from typing import Any, Final

from nbmodelbook.metric_names import headline_metric
from nbmodelbook.record import RunRecord, json_safe

__all__ = ["MARKER_METRICS", "RUN_MIMETYPE", "run_marker"]

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
