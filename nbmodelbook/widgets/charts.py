"""Charts for the widgets: the report's chart builders, shown as live Vega-Lite in the notebook.

Frontends render Vega-Lite offline from their own bundled copy of Vega (JupyterLab 4 and
Notebook 7 up to Vega-Lite 5, VS Code likewise), but not Altair 6's default output, which loads
Vega from a CDN or declares Vega-Lite 6. So charts are sent as the Vega-Lite 5 mimetype, with
the frontend's export menu off (it links to an online editor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nbmodelbook.report.comparison import Comparison

if TYPE_CHECKING:
    import altair as alt

VEGALITE_V5_MIME = "application/vnd.vegalite.v5+json"
VEGALITE_V5_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


class ChartDisplay:
    """A chart as a display object: `display(chart)` or `Output.append_display_data(chart)`."""

    def __init__(self, spec: Mapping[str, Any], description: str) -> None:
        self.spec = dict(spec)
        self.description = description

    @classmethod
    def of(cls, chart: alt.TopLevelMixin, description: str) -> ChartDisplay:
        spec = chart.to_dict(validate=False)
        spec["$schema"] = VEGALITE_V5_SCHEMA
        return cls(spec, description)

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        data = {VEGALITE_V5_MIME: self.spec, "text/plain": f"<chart: {self.description}>"}
        metadata = {VEGALITE_V5_MIME: {"embed_options": {"actions": False}}}
        return data, metadata


def comparison_charts(comparison: Comparison) -> list[ChartDisplay]:
    """Bars per metric; and the headline metric against the one parameter that varies, when the
    report's rule (`report.sweep.sweep_parameter`) draws that chart."""
    from nbmodelbook.report import charts
    from nbmodelbook.report.sweep import sweep_rows

    shown: list[ChartDisplay] = []
    bars = charts.metric_bar_rows(comparison.metrics, comparison.labels)
    if bars:
        shown.append(ChartDisplay.of(charts.metric_bars(bars), "metrics of the compared runs"))
    param, metric = comparison.sweep_param, comparison.headline
    if param is not None and metric is not None:
        rows = sweep_rows(comparison.runs, param, metric, labels=comparison.labels)
        chart = charts.param_vs_metric(rows, param, metric)
        shown.append(ChartDisplay.of(chart, f"{metric} against {param}"))
    return shown


def history_display(rows: Sequence[Mapping[str, Any]], metric: str, colour_by: str) -> ChartDisplay:
    """A metric over time, one point per run, coloured by run name or tag, with tooltips."""
    from nbmodelbook.report import charts

    chart = charts.history_chart(rows, metric, colour_title=colour_by, tooltips=True)
    return ChartDisplay.of(chart, f"{metric} of every run over time")
