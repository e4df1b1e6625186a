"""`compare()` as a widget: found by run name outside a kernel, figures laid out within budget."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbmodelbook
from nbmodelbook.errors import UnknownRunError
from nbmodelbook.record import RunRecord
from nbmodelbook.report.comparison import build_comparison
from nbmodelbook.store.store import RunStore
from nbmodelbook.widgets.compare_view import CompareView
from tests.widgets._runs import png_output, record


def forests() -> list[RunRecord]:
    return [
        record(0, "rf-100", params={"n_estimators": 100, "max_depth": 5}, metrics={"auc": 0.81}),
        record(1, "rf-300", params={"n_estimators": 300, "max_depth": 5}, metrics={"auc": 0.86}),
    ]


def test_compare_by_name_outside_a_kernel(tmp_path: Path) -> None:
    path = str(tmp_path / "runs.sqlite")
    store = RunStore.open(path)
    for run in forests():
        store.finish_run(run)
    view = nbmodelbook.compare("rf-100", "rf-300", store=path)
    assert isinstance(view, CompareView)
    assert view.comparison.labels == ["rf-100", "rf-300"]
    assert [row.name for row in view.comparison.params()] == ["n_estimators"]
    with pytest.raises(ValueError, match="two or more runs"):
        nbmodelbook.compare("rf-100", store=path)
    with pytest.raises(ValueError, match="name only one run"):
        nbmodelbook.compare("rf-100", "rf-100", store=path)
    with pytest.raises(UnknownRunError, match="did you mean 'rf-300'"):
        nbmodelbook.compare("rf-100", "rf-3000", store=path)


def test_figures_beyond_the_size_budget_are_left_out_and_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nbmodelbook.report import comparison as comparison_module
    from nbmodelbook.widgets.compare_html import figures_html

    one = len(
        build_comparison([record(0, "a", outputs=[png_output()]), record(1, "b")])
        .figures[0][0]
        .image_bytes
        or b""
    )
    monkeypatch.setattr(comparison_module, "MAX_FIGURE_BYTES", one * 3)
    runs = [record(index, f"r{index}", outputs=[png_output(), png_output()]) for index in range(3)]
    comparison = build_comparison(runs)
    assert [len(figures) for figures in comparison.figures] == [2, 1, 0]
    assert comparison.figures_left_out == 3
    assert "3 more figure(s) not shown" in figures_html(comparison)
