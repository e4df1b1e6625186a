"""Model facts as the report shows them: written ones first, what is missing, then captured."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbmodelbook.report.model import FACT_KINDS, Fact

__all__ = ["FACT_HINTS", "facts_view"]

# What each authored fact answers, for the author who has not written it yet.
FACT_HINTS = {
    "intended-use": "what the model is for, who uses its output and for which decision",
    "out-of-scope": "uses the model is not fit for (populations, products, decisions)",
    "target": "what is predicted, which class is positive, the unit of decision",
    "owner": "who answers for the model (person or team)",
    "version": "the model's version, as the inventory knows it",
    "oversight": "how a person reviews, overrides or stops its decisions",
    "monitoring": "what is watched in production, the thresholds, and who acts",
}


def facts_view(facts: Sequence[Fact]) -> dict[str, Any]:
    written = [fact for fact in facts if fact.source == "annotation"]
    captured = [fact for fact in facts if fact.source == "captured"]
    present = {fact.key for fact in written}
    return {
        "written": [
            {
                "key": fact.key,
                "label": fact.label,
                "text": fact.text,
                "body": fact.body,
                "cell": fact.cell_index + 1 if fact.cell_index is not None else None,
            }
            for fact in written
        ],
        "missing": [
            {"label": kind.label, "marker": kind.marker, "hint": FACT_HINTS[kind.value]}
            for kind in FACT_KINDS
            if kind.value not in present
        ],
        "captured": [{"key": f.key, "label": f.label, "text": f.text} for f in captured],
    }


def fact_text(facts: Sequence[Fact], key: str) -> str | None:
    """The first written fact of `key` ("version", "owner"...), as plain text."""
    return next((f.text for f in facts if f.key == key and f.source == "annotation"), None)
