"""What the run table shows: which columns, and each run as a row of text. Pure functions."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

from nbmodelbook.metric_names import HEADLINE_PREFERENCE, lower_is_better
from nbmodelbook.record import status_failed
from nbmodelbook.store.query import METRIC_PREFIX, PARAM_PREFIX, Facets

MAX_METRIC_COLUMNS = 4
MAX_PARAM_COLUMNS = 4
MAX_CELL_CHARS = 80


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # a run field, or "metrics.<name>" / "params.<name>"
    label: str
    numeric: bool = False
    sortable: bool = True
    # Clicking a new column sorts it best-first: newest, longest, highest (or lowest loss).
    descending_first: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


RUN_COLUMNS = (
    Column("name", "Run"),
    Column("status", "Status"),
    Column("tags", "Tags", sortable=False),
    Column("started_at", "Started", descending_first=True),
    Column("duration", "Duration", numeric=True, descending_first=True),
)
TEAM_COLUMNS = (Column("notebook", "Notebook"), Column("user", "User"))


def metric_column(name: str) -> Column:
    return Column(
        METRIC_PREFIX + name, name, numeric=True, descending_first=not lower_is_better(name)
    )


def param_column(name: str) -> Column:
    return Column(PARAM_PREFIX + name, name)


def key_metrics(facets: Facets, limit: int = MAX_METRIC_COLUMNS) -> list[str]:
    """The conventional headline metrics first, then the most frequent."""
    names = [name for name, _ in facets.metrics]
    preferred = [name for name in HEADLINE_PREFERENCE if name in names]
    return list(dict.fromkeys([*preferred, *names]))[:limit]


def varying_params(rows: Sequence[Mapping[str, Any]], limit: int = MAX_PARAM_COLUMNS) -> list[str]:
    """Params whose values differ among `rows` (what tells runs apart), most common first.

    Read from the page shown rather than from the whole store: cheap, and it is these runs a
    person is telling apart.
    """
    counts: dict[str, int] = {}
    for row in rows:
        for name in row["params"]:
            counts[name] = counts.get(name, 0) + 1
    varying = []
    for name in sorted(counts, key=lambda name: (-counts[name], name)):
        # Among the runs that have it: a run without params (one that failed early) does
        # not make every param look changed.
        values = {repr(row["params"][name]) for row in rows if name in row["params"]}
        if len(values) > 1:
            varying.append(name)
        if len(varying) == limit:
            break
    return varying


def choose_columns(
    facets: Facets,
    rows: Sequence[Mapping[str, Any]],
    *,
    metrics: Sequence[str] | None = None,
    params: Sequence[str] | None = None,
    team: bool = False,
) -> list[Column]:
    """Run columns, then the key metrics and the params that vary (or the ones asked for)."""
    chosen_metrics = list(metrics) if metrics is not None else key_metrics(facets)
    chosen_params = list(params) if params is not None else varying_params(rows)
    return [
        *RUN_COLUMNS,
        *(TEAM_COLUMNS if team else ()),
        *(metric_column(name) for name in chosen_metrics),
        *(param_column(name) for name in chosen_params),
    ]


def format_time(epoch: Any) -> str:
    """Local time: the person browsing is comparing with their own clock."""
    if not isinstance(epoch, int | float) or not math.isfinite(epoch):
        return ""
    try:
        return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return ""


def _clip(text: str) -> str:
    text = " ".join(text.split()) if "\n" in text else text
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def cell_text(row: Mapping[str, Any], key: str) -> str:
    from nbmodelbook.report.view import format_duration, format_precise, format_value

    if key.startswith(METRIC_PREFIX):
        value = row["metrics"].get(key[len(METRIC_PREFIX) :])
        return "" if value is None else format_precise(value)  # a run log: as recorded
    if key.startswith(PARAM_PREFIX):
        name = key[len(PARAM_PREFIX) :]
        return _clip(format_value(row["params"][name])) if name in row["params"] else ""
    value = row.get(key)
    if key == "tags":
        return _clip(", ".join(str(tag) for tag in value or ()))
    if key in ("started_at", "ended_at"):
        return format_time(value)
    if key == "duration":
        return format_duration(value) if value is not None else ""
    if key == "notebook":
        return PurePath(value).name if value else ""
    return "" if value is None else _clip(str(value))


def table_rows(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]
) -> list[dict[str, Any]]:
    """Each run as the table's front end wants it: id, status and one text per column."""
    return [
        {
            "id": str(row["run_id"]),
            "status": str(row["status"]),
            "failed": status_failed(row["status"]),
            "cells": [cell_text(row, column.key) for column in columns],
        }
        for row in rows
    ]


def parse_bound(text: str, which: str) -> float | None:
    """A range bound typed by a person: empty means open; anything else must be a number."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        value = float(stripped)
    except ValueError:
        raise ValueError(f"the {which} must be a number, not {stripped!r}") from None
    if math.isnan(value):
        raise ValueError(f"the {which} must be a number, not {stripped!r}")
    return value
