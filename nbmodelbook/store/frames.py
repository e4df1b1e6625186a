"""Run summaries as a pandas DataFrame: fixed columns first, then `params.*` and `metrics.*`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

FIXED_COLUMNS = (
    "run_id",
    "name",
    "status",
    "started_at",
    "ended_at",
    "duration",
    "notebook",
    "repo",
    "cell_id",
    "execution_count",
    "tags",
    "note",
    "user",
    "host",
    "session_id",
    "code_hash",
    "error_type",
    "error_message",
)


def runs_frame(summaries: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per run; params keep their JSON values, metrics are floats (NaN when absent)."""
    count = len(summaries)
    columns: dict[str, Any] = {name: [row[name] for row in summaries] for name in FIXED_COLUMNS}
    params: dict[str, list[Any]] = {}
    metrics: dict[str, list[float]] = {}
    for index, row in enumerate(summaries):
        for key, value in row["params"].items():
            column = params.get(key)
            if column is None:
                column = params[key] = [None] * count
            column[index] = value
        for key, value in row["metrics"].items():
            metric = metrics.get(key)
            if metric is None:
                metric = metrics[key] = [math.nan] * count
            metric[index] = math.nan if value is None else float(value)
    for key in sorted(params):
        columns[f"params.{key}"] = params[key]
    for key in sorted(metrics):
        columns[f"metrics.{key}"] = metrics[key]
    frame = pd.DataFrame(columns)
    for name in ("started_at", "ended_at"):
        frame[name] = pd.to_datetime(frame[name], unit="s", utc=True)
    frame["duration"] = frame["duration"].astype("float64")
    frame["execution_count"] = frame["execution_count"].astype("Int64")
    return frame
