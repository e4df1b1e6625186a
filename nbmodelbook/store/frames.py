"""Run summaries as a pandas DataFrame: fixed columns first, then `params.*` and `metrics.*`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
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


def runs_frame(runs: Sequence[dict[str, Any]] | Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """One row per run; params keep their JSON values, metrics are floats (NaN when absent).

    Takes run summaries (one dict per run) or the store's column table.
    """
    table = runs if isinstance(runs, Mapping) else _columns(runs)
    count = len(table["run_id"])
    columns: dict[str, Any] = {}
    for name in FIXED_COLUMNS:
        values = table[name]
        if name in _TIMES:
            seconds = np.array(values, dtype="float64")  # None becomes NaN, then NaT
            columns[name] = pd.to_datetime(seconds, unit="s", utc=True)
        elif name == "duration":
            columns[name] = np.array(values, dtype="float64")
        elif name == "execution_count":
            columns[name] = pd.array(values, dtype="Int64")
        else:
            # Object columns as they come: inferring a string dtype for 10,000 rows costs more
            # than the whole query.
            column = np.empty(count, dtype=object)
            column[:] = values
            columns[name] = column
    fixed = pd.DataFrame(columns, index=pd.RangeIndex(count), copy=False)
    params = _wide(table["params"], "params.", numeric=False)
    metrics = _wide(table["metrics"], "metrics.", numeric=True)
    return pd.concat([fixed, params, metrics], axis=1)


_TIMES = ("started_at", "ended_at")


def _columns(summaries: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    names = [*FIXED_COLUMNS, "params", "metrics"]
    return {name: [row[name] for row in summaries] for name in names}


def _wide(dicts: Sequence[dict[str, Any]], prefix: str, *, numeric: bool) -> pd.DataFrame:
    """Dicts as columns (their keys' union, sorted). A plain loop: faster than from_records."""
    count = len(dicts)
    missing: Any = math.nan if numeric else None
    columns: dict[str, list[Any]] = {}
    for index, row in enumerate(dicts):
        for key, value in row.items():
            column = columns.get(key)
            if column is None:
                column = columns[key] = [missing] * count
            column[index] = value
    frame_columns: dict[str, Any] = {}
    for key in sorted(columns):
        series = pd.Series(columns[key], dtype=object, index=pd.RangeIndex(count), copy=False)
        # Metrics stored as "NaN"/"Infinity" become floats here; missing params stay None.
        frame_columns[prefix + key] = series.astype("float64") if numeric else series
    return pd.DataFrame(frame_columns, index=pd.RangeIndex(count), copy=False)
