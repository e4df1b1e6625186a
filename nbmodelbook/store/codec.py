"""JSON text for store columns: compact, fast (orjson), never raising on odd values.

Strict JSON has no NaN or infinities, and PostgreSQL's JSON types refuse them, so non-finite
floats are written as the strings "NaN", "Infinity" and "-Infinity". Metrics are always numbers,
so readers turn those strings back into floats; in params such a value reads back as its name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import orjson

from nbmodelbook.record import json_safe

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def dumps(value: Any) -> str:
    return orjson.dumps(json_safe(value), default=_fallback).decode("utf-8")


def loads(text: str | bytes | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # lenient: NaN tokens and other Python-json extensions


def loads_many(texts: Sequence[str]) -> list[Any]:
    """Parse many JSON documents in one call (each must be one JSON value)."""
    if not texts:
        return []
    try:
        values = orjson.loads("[" + ",".join(texts) + "]")
    except orjson.JSONDecodeError:
        return [loads(text) for text in texts]
    if len(values) != len(texts):
        return [loads(text) for text in texts]
    return list(values)


def metric_value(value: Any) -> float:
    """A stored metric back as a float (the non-finite names included)."""
    if isinstance(value, str):
        return _NON_FINITE.get(value, math.nan)
    return math.nan if value is None else float(value)


def _fallback(value: Any) -> Any:
    return f"<{type(value).__qualname__}>"


def split_metric(value: float) -> tuple[float | None, str | None]:
    """A metric as (finite REAL or None, special marker), since NaN/inf do not survive SQL REAL."""
    if math.isfinite(value):
        return value, None
    if math.isnan(value):
        return None, "nan"
    return None, "inf" if value > 0 else "-inf"


def numeric_or_none(value: Any) -> float | None:
    """The value as a finite float when it is a plain number (for sorting params in SQL)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
