"""Crafted annotations cannot stall `nbmodelbook check` or the report export.

markdown-it-py spends tens of microseconds on every character that may open markup (`[`, `*`,
`<`, a line break...), so a notebook of a few megabytes of brackets took minutes to check. The
work is bounded per notebook: such a notebook is checked in seconds, with a finding that says
which annotation is too large.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from nbmodelbook.report.annotations import (
    MAX_NOTEBOOK_MARKUP,
    markup_count,
    parse_annotations,
    parse_cell,
)
from nbmodelbook.report.load import load_review
from nbmodelbook.report.model import AnnotationKind
from nbmodelbook.report.readiness import readiness

MILLION = 1_000_000
# Generous for a slow, shared two-core machine; before the bound these took 30 s to minutes.
CHECK_SECONDS = 10.0

CRAFTED = {
    "brackets": ("[" * MILLION, None),
    "bang brackets": ("[!" * (MILLION // 2), None),
    "run refs after a marker": ("> [!DECISION] " + "run:" * (MILLION // 4), None),
    "brackets in a title": ("> [!DECISION] " + "[" * MILLION, None),
    "brackets in a body": ("> [!DECISION] Title\n> " + "[" * MILLION, None),
    "nested brackets": ("> [!DECISION] " + "[" * (MILLION // 2) + "]" * (MILLION // 2), None),
    "image brackets": ("> [!RISK] t\n> " + "![" * (MILLION // 2), None),
    "emphasis": ("> [!RISK] t\n> " + "*a" * (MILLION // 2), None),
    "table cells": ("> [!RISK] t\n> | a |\n> | - |\n" + ("> " + "|" * 998 + "\n") * 1000, None),
    "tagged cell of brackets": ("[" * MILLION, ["decision"]),
}


def notebook(sources: list[tuple[str, list[str] | None]]) -> dict[str, Any]:
    cells = [
        {
            "cell_type": "markdown",
            "id": f"cell-{index}",
            "metadata": {"tags": tags} if tags else {},
            "source": source,
        }
        for index, (source, tags) in enumerate(sources)
    ]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.mark.parametrize("crafted", CRAFTED.values(), ids=CRAFTED.keys())
def test_crafted_notebook_is_checked_quickly(
    tmp_path: Path, crafted: tuple[str, list[str] | None]
) -> None:
    path = tmp_path / "crafted.ipynb"
    path.write_text(json.dumps(notebook([crafted] * 3)), encoding="utf-8")
    load_review(path, progress=lambda _message: None)  # nbformat's schema, loaded once
    start = time.perf_counter()
    review = load_review(path, progress=lambda _message: None)
    items = readiness(review)
    elapsed = time.perf_counter() - start
    print(f"\ncheck of 3 crafted cells: {elapsed:.2f} s")
    assert elapsed < CHECK_SECONDS
    too_large = [p for p in review.annotation_problems if p.message.startswith("annotation too")]
    # Either the annotation was read as usual, or it is refused with a finding that blocks.
    for problem in too_large:
        assert "cell " in problem.message and f"{MAX_NOTEBOOK_MARKUP:,}" in problem.message
        assert any(item.blocking and item.message == problem.message for item in items)


def test_crafted_notebook_is_refused_quickly_by_the_export(tmp_path: Path) -> None:
    """The JupyterLab export (the server operation behind the endpoint) answers in seconds:
    annotations with a problem write no report."""
    from nbmodelbook.errors import AnnotationsInvalid
    from nbmodelbook.server.operations import ApiContext, export_report

    (tmp_path / "crafted.ipynb").write_text(
        json.dumps(notebook([CRAFTED["brackets in a body"]] * 3)), encoding="utf-8"
    )
    context = ApiContext(root=tmp_path.resolve())
    start = time.perf_counter()
    with pytest.raises(AnnotationsInvalid) as refused:
        export_report(context, "crafted.ipynb", "html")
    elapsed = time.perf_counter() - start
    print(f"\nexport of 3 crafted cells: {elapsed:.2f} s")
    assert elapsed < CHECK_SECONDS
    assert any("annotation too large" in str(item["message"]) for item in refused.value.items)
    assert not list(tmp_path.glob("*.review.*"))


def test_the_budget_is_per_notebook_and_names_each_refused_cell() -> None:
    """Cells are read in order while the notebook's budget lasts; a cell that would go past it
    is refused with a finding, and the cells after it are still read if they fit."""
    big = "> [!RISK] Drift\n> " + "[x] " * (MAX_NOTEBOOK_MARKUP // 3)  # about 2/3 of it
    small = "> [!DECISION] Keep run:rf\n> It wins."
    annotations, problems = parse_annotations(notebook([(big, None), (big, None), (small, None)]))
    assert [(a.kind, a.cell_index) for a in annotations] == [
        (AnnotationKind.RISK, 0),
        (AnnotationKind.DECISION, 2),
    ]
    assert len(problems) == 1
    assert problems[0].cell_index == 1
    assert problems[0].message.startswith("annotation too large: cell 2 was not read")
    assert f"{MAX_NOTEBOOK_MARKUP:,}" in problems[0].message


def test_ordinary_notebook_is_untouched_by_the_budget() -> None:
    cell = (
        "> [!DECISION] Gradient boosting, run:gbm\n"
        "> We chose **run:gbm** over [the baseline](https://example.org) because:\n"
        "> - it has the best `auc`;\n> - it is *calibrated*.\n"
    )
    annotations, problems = parse_annotations(notebook([(cell, None)] * 200))
    assert problems == []
    assert len(annotations) == 200
    assert annotations[0].refs == ("gbm",)


def test_one_cell_may_use_the_whole_budget_and_not_one_character_more() -> None:
    head = "> [!RISK] Wide table\n> | a |\n> | - |\n> "
    fits = head + "|" * (MAX_NOTEBOOK_MARKUP - markup_count(head))
    assert markup_count(fits) == MAX_NOTEBOOK_MARKUP
    annotations, problems = parse_cell(fits, 4, "c4")
    assert problems == [] and [a.title for a in annotations] == ["Wide table"]
    annotations, problems = parse_cell(fits + "|", 4, "c4")
    assert annotations == []
    assert [p.message.split(": it holds")[0] for p in problems] == [
        "annotation too large: cell 5 was not read"
    ]
