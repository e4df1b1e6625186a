"""The comparison widget: sections laid out with standard ipywidgets."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from nbmodelbook.report.code_diff import render_diff_html
from nbmodelbook.report.comparison import Comparison
from nbmodelbook.widgets import compare_html
from nbmodelbook.widgets.chart_area import ChartArea


def _heading(text: str) -> widgets.HTML:
    return widgets.HTML(compare_html.section(text, ""))


class CompareView(widgets.VBox):  # type: ignore[misc]
    """Header, params (only the differences, or all), metrics with charts, code diff, data
    differences and figures, one under the other so a screenshot shows the whole story."""

    def __init__(self, comparison: Comparison, **kwargs: Any) -> None:
        from nbmodelbook.widgets.charts import comparison_charts

        self.comparison = comparison
        self.only_differences = widgets.ToggleButtons(
            options=[("Only differences", True), ("All parameters", False)],
            value=True,
            tooltips=["Parameters whose values differ", "Every parameter"],
            style={"button_width": "auto"},
        )
        self.params = widgets.HTML(compare_html.params_html(comparison, True))
        self.only_differences.observe(self._show_params, names="value")
        labels = comparison.labels
        diffs = [
            render_diff_html(diff, labels[0], label)
            for diff, label in zip(comparison.code_diffs, labels[1:], strict=True)
        ]
        self.charts = ChartArea()
        self.charts.draw(lambda: comparison_charts(comparison))
        super().__init__(
            children=[
                widgets.HTML(compare_html.header_html(comparison)),
                _heading("Parameters"),
                self.only_differences,
                self.params,
                _heading("Metrics"),
                widgets.HTML(compare_html.metrics_html(comparison)),
                self.charts,
                _heading("Code"),
                widgets.HTML("".join(diffs)),
                _heading("Data"),
                widgets.HTML(compare_html.data_html(comparison)),
                _heading("Figures"),
                widgets.HTML(compare_html.figures_html(comparison)),
            ],
            **kwargs,
        )
        self.add_class("nbmb-compare-view")

    def _show_params(self, change: dict[str, Any]) -> None:
        self.params.value = compare_html.params_html(self.comparison, bool(change["new"]))
