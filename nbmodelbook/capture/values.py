"""Turn arbitrary Python values into bounded, JSON-safe values for the store."""

from __future__ import annotations

import math
import reprlib
from typing import Any

MAX_STRING = 2_000
MAX_ITEMS = 100
MAX_DEPTH = 4
MAX_REPR = 300

_repr = reprlib.Repr()
_repr.maxstring = MAX_REPR
_repr.maxother = MAX_REPR
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 20
_repr.maxlevel = 3


def bounded_repr(value: object, limit: int = MAX_REPR) -> str:
    """`repr` that cannot explode: bounded in size, and never raises."""
    try:
        text = _repr.repr(value)
    except Exception as exc:
        text = f"<{type(value).__qualname__} (repr failed: {type(exc).__name__})>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def type_name(value: object) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def numeric_value(value: object) -> float | None:
    """A plain or NumPy real number as float (NaN and ±inf kept); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    kind = type(value)
    if kind.__module__ == "numpy":
        if kind.__name__.startswith("bool"):
            return None
        dtype_kind = getattr(getattr(value, "dtype", None), "kind", "")
        if dtype_kind in ("i", "u", "f") and getattr(value, "ndim", 1) == 0:
            return float(value)  # type: ignore[arg-type]
    return None


def to_json_safe(value: object, depth: int = 0, _seen: set[int] | None = None) -> Any:
    """A JSON-safe copy: scalars as is, containers bounded, anything else as type + repr."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else bounded_repr(value)
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING else value[: MAX_STRING - 1] + "…"
    number = numeric_value(value)
    if number is not None:
        return int(number) if _is_numpy_integer(value) and math.isfinite(number) else number
    if type(value).__module__ == "numpy" and type(value).__name__.startswith("bool"):
        return bool(value)
    if depth < MAX_DEPTH and isinstance(value, list | tuple | dict | set | frozenset):
        seen = _seen if _seen is not None else set()
        if id(value) in seen:
            return {"type": type_name(value), "repr": "<circular reference>"}
        seen.add(id(value))
        try:
            if isinstance(value, dict):
                items = list(value.items())[:MAX_ITEMS]
                return {str(key): to_json_safe(item, depth + 1, seen) for key, item in items}
            sequence = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
            return [to_json_safe(item, depth + 1, seen) for item in list(sequence)[:MAX_ITEMS]]
        except Exception:
            return {"type": type_name(value), "repr": bounded_repr(value)}
        finally:
            seen.discard(id(value))
    return {"type": type_name(value), "repr": bounded_repr(value)}


def _is_numpy_integer(value: object) -> bool:
    return getattr(getattr(value, "dtype", None), "kind", "") in ("i", "u")
