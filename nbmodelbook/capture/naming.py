"""A default run name when `%%track` is given none: stable across re-runs of the same cell."""

from __future__ import annotations

import re

from nbmodelbook.capture.code_analysis import CellAnalysis

_COMMENT = re.compile(r"^\s*#\s*(?P<text>[^\n]+)")
_CLASS_LIKE = re.compile(r"^[A-Z][A-Za-z0-9]+$")
_SLUG_DROP = re.compile(r"[^a-z0-9]+")
MAX_NAME = 60


def default_run_name(code: str, analysis: CellAnalysis, fallback: str) -> str:
    """From the cell's leading comment, else the model class it builds, else `fallback`."""
    for line in code.splitlines():
        if not line.strip():
            continue
        match = _COMMENT.match(line)
        if match is not None:
            slug = slugify(match.group("text"))
            if slug:
                return slug
        break
    for kwarg in analysis.literal_kwargs:
        last = kwarg.callee.rsplit(".", 1)[-1]
        if _CLASS_LIKE.match(last):
            return slugify(_split_camel(last))
    return fallback


def slugify(text: str) -> str:
    return _SLUG_DROP.sub("-", text.lower()).strip("-")[:MAX_NAME].rstrip("-")


def _split_camel(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
