"""JSON text for store columns: compact, NaN and infinities kept, never raising on odd values."""

from __future__ import annotations

import json
import math
from typing import Any

_SPECIAL_TO_TEXT = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_TEXT_TO_FLOAT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=True, default=_fallback)


def loads(text: str | bytes | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    return json.loads(text)


def _fallback(value: Any) -> Any:
    return f"<{type(value).__qualname__}>"


def split_metric(value: float) -> tuple[float | None, str | None]:
    """A metric as (finite REAL or None, special marker), since NaN/inf do not survive SQL REAL."""
    if math.isfinite(value):
        return value, None
    if math.isnan(value):
        return None, "nan"
    return None, "inf" if value > 0 else "-inf"


def join_metric(value: float | None, special: str | None) -> float:
    if special is not None:
        return _TEXT_TO_FLOAT[_SPECIAL_TO_TEXT[special]]
    return math.nan if value is None else float(value)


def numeric_or_none(value: Any) -> float | None:
    """The value as a finite float when it is a plain number (for sorting params in SQL)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
