"""Numbers as the report prints them: figures in its body rounded to what a reader can use,
full precision kept for the run log of the appendix (and the run browser).

Light and pure, so the review builder, the view and the chart builders all print a figure the
same way.
"""

from __future__ import annotations

import math

__all__ = ["MAX_DECIMALS", "SIGNIFICANT_DIGITS", "format_number", "format_precise"]

# A figure without an interval: four significant digits tell runs apart, and no more than
# four decimals (what a test set of a few thousand rows can support at best).
SIGNIFICANT_DIGITS = 4
MAX_DECIMALS = 4
_SMALLEST_FIXED = 10.0 ** -(MAX_DECIMALS - 1)  # below this, four decimals keep one digit
_LARGEST_FIXED = 1e7


def format_number(value: float | int | None) -> str:
    """A figure in the body of the report: four significant digits, at most four decimals,
    trailing zeros dropped; scientific only for magnitudes a fixed form cannot show."""
    if value is None:
        return "—"
    if isinstance(value, bool | int):
        return str(value)
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return str(number)
    if number == 0:
        return "0"
    size = abs(number)
    if size >= _LARGEST_FIXED:
        return f"{number:.{SIGNIFICANT_DIGITS}g}"
    if size < _SMALLEST_FIXED:
        mantissa, _, exponent = f"{number:.{SIGNIFICANT_DIGITS - 2}e}".partition("e")
        return mantissa.rstrip("0").rstrip(".") + "e" + exponent
    magnitude = math.floor(math.log10(size))
    decimals = min(MAX_DECIMALS, max(0, SIGNIFICANT_DIGITS - 1 - magnitude))
    text = f"{number:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_precise(value: float | int | None) -> str:
    """A value as recorded, for the run log: up to six significant digits, scientific only
    for extreme magnitudes."""
    if value is None:
        return "—"
    if isinstance(value, bool | int):
        return str(value)
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return str(number)
    if number != 0 and (abs(number) >= 1e7 or abs(number) < 1e-4):
        return f"{number:.4g}"
    return f"{number:.6g}"
