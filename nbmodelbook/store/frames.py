"""Run summaries as a pandas DataFrame: fixed columns first, then `params.*` and `metrics.*`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def runs_frame(runs: Sequence[dict[str, Any]] | Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """One row per run; params keep their JSON values, metrics are floats (NaN when absent).

    Takes run summaries (one dict per run) or the store's column table.
    """
    table = runs if isinstance(runs, Mapping) else _columns(runs)
    fixed = pd.DataFrame({name: table[name] for name in FIXED_COLUMNS}, columns=list(FIXED_COLUMNS))
    for name in ("started_at", "ended_at"):
        fixed[name] = pd.to_datetime(fixed[name].astype("float64"), unit="s", utc=True)
    fixed["duration"] = fixed["duration"].astype("float64")
    fixed["execution_count"] = fixed["execution_count"].astype("Int64")
    params = _wide(list(table["params"]), "params.", numeric=False)
    metrics = _wide(list(table["metrics"]), "metrics.", numeric=True)
    return pd.concat([fixed, params, metrics], axis=1)


def _columns(summaries: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    names = [*FIXED_COLUMNS, "params", "metrics"]
    return {name: [row[name] for row in summaries] for name in names}


def _wide(dicts: list[dict[str, Any]], prefix: str, *, numeric: bool) -> pd.DataFrame:
    """Dicts as columns (their keys' union, sorted), built by pandas' C record parser."""
    if not dicts or not any(dicts):
        return pd.DataFrame(index=pd.RangeIndex(len(dicts)))
    wide = pd.DataFrame.from_records(dicts, index=pd.RangeIndex(len(dicts)))
    wide = wide.reindex(columns=sorted(wide.columns))
    if numeric:
        wide = wide.astype("float64")
    else:
        # Missing params stay None (not NaN): "not recorded" differs from a NaN value.
        wide = wide.astype(object).where(wide.notna(), None)
    return wide.add_prefix(prefix)
