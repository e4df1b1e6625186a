"""When a chart of a metric against the one parameter that varies is drawn, and its points.

One rule for the compare widget and the review report, so the same runs get the same chart:

- only runs that recorded `metric` as a finite number take part (a run without it, failed or
  not scored, can be no point of the chart and does not count);
- there are 3 or more of them, and exactly one param differs between them, with models held
  in different variables lined up (`forest.max_depth` and `model.max_depth` are one param, as
  in the comparison tables) and a param set by some runs only counting as a difference;
- 3 or more of them set that param, to 3 or more distinct values (a recorded None is a value:
  `max_depth=None` is a setting). Two values are a comparison, which the metric bars show.

Each point is one run that set the param: a run that did not has no place on its axis.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

import orjson

from nbmodelbook.record import RunRecord
from nbmodelbook.report.compare import comparable_params, compared_params
from nbmodelbook.report.labels import run_labels

__all__ = ["MIN_SWEEP_RUNS", "MIN_SWEEP_VALUES", "sweep_parameter", "sweep_rows"]

MIN_SWEEP_RUNS = 3
MIN_SWEEP_VALUES = 3
MAX_AXIS_CHARS = 40  # a value that is not a number, as text on the chart's axis


def sweep_parameter(runs: Sequence[RunRecord], metric: str | None) -> str | None:
    """The param to plot `metric` against for these runs, or None when no chart is drawn."""
    if not metric:
        return None
    scored = [run for run in runs if _finite(run.metrics.get(metric))]
    if len(scored) < MIN_SWEEP_RUNS:
        return None
    varying = [row for row in compared_params(scored) if row.differs]
    if len(varying) != 1:
        return None
    [row] = varying
    values = [value for position, value in enumerate(row.values) if row.is_set(position)]
    if len(values) < MIN_SWEEP_RUNS or len({_key(value) for value in values}) < MIN_SWEEP_VALUES:
        return None
    return row.name


def sweep_rows(
    runs: Sequence[RunRecord],
    param: str,
    metric: str,
    *,
    labels: Sequence[str] | None = None,
    chosen_run_id: str | None = None,
) -> list[dict[str, Any]]:
    """The points of the chart `sweep_parameter` decided on, in run order, as
    `report.charts.param_vs_metric` takes them: `run` (its label), `param_value`, `value` and
    `chosen`. `labels` name `runs` (by default `run_labels(runs)`); values stay numbers when every
    plotted one is a finite number, else each is short text."""
    names = list(labels) if labels is not None else run_labels(runs)
    if len(names) != len(runs):
        raise ValueError(f"{len(names)} labels for {len(runs)} runs")
    points: list[tuple[str, Any, float, bool]] = []
    for run, label in zip(runs, names, strict=True):
        value = run.metrics.get(metric)
        params = comparable_params(run)
        if param in params and _finite(value):
            points.append((label, params[param], float(value), run.run_id == chosen_run_id))
    numeric = all(_finite(param_value) for _, param_value, _, _ in points)
    return [
        {
            "run": label,
            "param_value": param_value if numeric else _axis_text(param_value),
            "value": value,
            "chosen": chosen,
        }
        for label, param_value, value, chosen in points
    ]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(value: Any) -> TypeGuard[float]:
    return _is_number(value) and math.isfinite(value)


def _key(value: Any) -> bytes | str:
    """Equal for equal values, as the comparison tables tell them (JSON, keys sorted)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return repr(value)


def _axis_text(value: Any) -> str:
    """A param value as a category on the axis: its text, a stand-in's repr, JSON otherwise."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, Mapping) and isinstance(value.get("repr"), str) and "type" in value:
        text = str(value["repr"])
    elif value is None or isinstance(value, bool | int | float):
        text = str(value)
    else:
        try:
            text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(value)
    return text if len(text) <= MAX_AXIS_CHARS else text[: MAX_AXIS_CHARS - 1] + "…"
