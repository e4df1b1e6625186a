"""Charts of the performance evidence: ROC, precision-recall, reliability, residuals, the
confusion matrix, and metric values with their intervals. Draw them with `charts.to_svg`.

Builders are pure: the statistics room's figures (or plain rows) in, an Altair chart out, data
inline. Each chart has a title, axis titles and a subtitle that says how to read it; colours
are the Okabe-Ito palette of `charts`, and curves also differ by dash so they stay apart in
black-and-white print. Bounded: at most `MAX_CURVES` curves, each of at most `MAX_POINTS`
points (a longer curve is thinned with `stats.curves.drawn_vertices`), at most `MAX_POINTS`
residual points. Deterministic: the same input gives the same spec, so the same SVG bytes.
Altair is imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

import numpy as np

from nbmodelbook.report.charts import BEST_COLOUR, OTHER_COLOUR, PALETTE
from nbmodelbook.stats.curves import MAX_POINTS, drawn_vertices

if TYPE_CHECKING:  # pragma: no cover - typing only
    import altair as alt

    from nbmodelbook.stats.calibration import ReliabilityBin
    from nbmodelbook.stats.curves import PrecisionRecallPoints, ResidualPoints, RocPoints
    from nbmodelbook.stats.results import Estimate

__all__ = [
    "MAX_CURVES",
    "calibration_chart",
    "confusion_chart",
    "interval_bars",
    "interval_domain",
    "pr_chart",
    "residual_chart",
    "roc_chart",
]

MAX_CURVES: Final = len(PALETTE)
MAX_INTERVAL_ROWS: Final = 40
SQUARE: Final = 300  # width and height of the unit-square charts
DASHES: Final = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3])
CHANCE_COLOUR: Final = "#666666"
FONT: Final = "sans-serif"

P = ParamSpec("P")
R = TypeVar("R")


def _quietly(builder: Callable[P, R]) -> Callable[P, R]:
    """Build without Altair's validate-on-creation mode (tests validate the finished specs)."""

    @functools.wraps(builder)
    def build(*args: P.args, **kwargs: P.kwargs) -> R:
        from altair.utils.schemapi import debug_mode

        with debug_mode(False):
            return builder(*args, **kwargs)

    return build


def _configured(chart: Any) -> Any:
    import altair as alt

    chart.config = alt.Config(
        font=FONT,
        background="white",
        view=alt.ViewConfig(stroke=None),
        axis=alt.AxisConfig(
            labelFontSize=10, titleFontSize=11, labelColor="#000", titleColor="#000"
        ),
        legend=alt.LegendConfig(labelFontSize=10, titleFontSize=10, labelLimit=260),
        title=alt.TitleConfig(
            fontSize=12, subtitleFontSize=10, anchor="start", subtitleColor="#333"
        ),
    )
    return chart


def _finite(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return False


def _thinned(x: Sequence[float], y: Sequence[float]) -> list[int]:
    if len(x) <= MAX_POINTS:
        return list(range(len(x)))
    kept: list[int] = drawn_vertices(
        np.asarray(x, float), np.asarray(y, float), MAX_POINTS
    ).tolist()
    return kept


def _ordered(labels: Sequence[str], chosen: str | None) -> tuple[list[str], int]:
    """The labels drawn (the chosen one first, then the input order, at most MAX_CURVES) and
    how many were left out."""
    order = [label for label in labels if label == chosen] + [
        label for label in labels if label != chosen
    ]
    return order[:MAX_CURVES], max(0, len(order) - MAX_CURVES)


def _curve_layers(
    rows: list[dict[str, Any]],
    names: list[str],
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    chosen_name: str | None,
) -> Any:
    import altair as alt

    return (
        alt.Chart(alt.Data(values=rows))
        .mark_line()
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(domain=[0, 1], nice=False)),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(domain=[0, 1], nice=False)),
            order=alt.Order("order:Q"),
            color=alt.Color(
                "curve:N",
                title=None,
                scale=alt.Scale(domain=names, range=list(PALETTE[: len(names)])),
                legend=alt.Legend(orient="bottom", columns=1, symbolType="stroke"),
            ),
            strokeDash=alt.StrokeDash(
                "curve:N",
                scale=alt.Scale(domain=names, range=[list(d) for d in DASHES[: len(names)]]),
                legend=None,
            ),
            strokeWidth=alt.condition(
                alt.datum.curve == (chosen_name or ""), alt.value(2.5), alt.value(1.5)
            ),
        )
    )


def _chance_line(points: list[dict[str, float]]) -> Any:
    import altair as alt

    return (
        alt.Chart(alt.Data(values=points))
        .mark_line(color=CHANCE_COLOUR, strokeDash=[3, 3], strokeWidth=1)
        .encode(x="x:Q", y="y:Q", order="x:Q")
    )


@_quietly
def roc_chart(
    curves_by_label: Mapping[str, RocPoints], *, chosen: str | None = None
) -> alt.LayerChart:
    """ROC curves, one per run (label -> `RocPoints`), each named with its AUC, the chosen
    run's drawn heavier, over the diagonal of random ranking."""
    import altair as alt

    labels, left_out = _ordered(list(curves_by_label), chosen)
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    chosen_name = None
    for label in labels:
        curve = curves_by_label[label]
        name = f"{label} (AUC {curve.auc:.3f})"
        names.append(name)
        chosen_name = name if label == chosen else chosen_name
        for order, i in enumerate(_thinned(curve.fpr, curve.tpr)):
            rows.append({"curve": name, "order": order, "fpr": curve.fpr[i], "tpr": curve.tpr[i]})
    subtitle = ["dashed grey diagonal: a model that ranks at random (AUC 0.5)"]
    if left_out:
        subtitle.append(f"{left_out} more runs not drawn")
    chart = alt.layer(
        _chance_line([{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 1.0}]),
        _curve_layers(
            rows,
            names,
            "fpr",
            "tpr",
            "False positive rate (1 - specificity)",
            "True positive rate (sensitivity)",
            chosen_name,
        ),
    ).properties(
        width=SQUARE,
        height=SQUARE,
        title=alt.Title("ROC curve", subtitle="; ".join(subtitle)),
    )
    return _configured(chart)  # type: ignore[no-any-return]


@_quietly
def pr_chart(
    curves_by_label: Mapping[str, PrecisionRecallPoints], *, chosen: str | None = None
) -> alt.LayerChart:
    """Precision-recall curves, one per run, each named with its average precision, with the
    prevalence of the positive class as the baseline (the precision of random ranking)."""
    import altair as alt

    labels, left_out = _ordered(list(curves_by_label), chosen)
    rows: list[dict[str, Any]] = []
    baselines: list[dict[str, Any]] = []
    names: list[str] = []
    chosen_name = None
    for label in labels:
        curve = curves_by_label[label]
        name = f"{label} (AP {curve.average_precision:.3f})"
        names.append(name)
        chosen_name = name if label == chosen else chosen_name
        for order, i in enumerate(_thinned(curve.recall, curve.precision)):
            rows.append(
                {
                    "curve": name,
                    "order": order,
                    "recall": curve.recall[i],
                    "precision": curve.precision[i],
                }
            )
        baselines.append({"curve": name, "prevalence": curve.prevalence})
    prevalences = sorted({round(b["prevalence"], 4) for b in baselines})
    said = ", ".join(f"{p:.4g}" for p in prevalences)
    subtitle = [f"dotted lines: the prevalence of the positive class ({said}), random ranking"]
    if left_out:
        subtitle.append(f"{left_out} more runs not drawn")
    baseline = (
        alt.Chart(alt.Data(values=baselines))
        .mark_rule(strokeDash=[1, 2], strokeWidth=1.2)
        .encode(
            y="prevalence:Q",
            color=alt.Color(
                "curve:N", scale=alt.Scale(domain=names, range=list(PALETTE[: len(names)]))
            ),
        )
    )
    chart = alt.layer(
        baseline,
        _curve_layers(rows, names, "recall", "precision", "Recall", "Precision", chosen_name),
    ).properties(
        width=SQUARE,
        height=SQUARE,
        title=alt.Title("Precision-recall curve", subtitle="; ".join(subtitle)),
    )
    return _configured(chart)  # type: ignore[no-any-return]


def _interval_words(estimate: Estimate) -> str:
    interval = estimate.interval
    if interval is None:
        return f"ECE {estimate.value:.3f} (no interval: {estimate.reason or 'not computed'})"
    method = interval.method.split(",", 1)[0]
    return (
        f"ECE {estimate.value:.3f} ({interval.level:.0%} interval {interval.low:.3f} to "
        f"{interval.high:.3f}, {method})"
    )


@_quietly
def calibration_chart(
    bins: Sequence[ReliabilityBin], ece: Estimate | None, *, label: str | None = None
) -> alt.LayerChart:
    """The reliability diagram: each bin's observed rate of positives against its mean
    predicted probability, with the rate's interval, over the diagonal of perfect calibration;
    the expected calibration error and its interval in the subtitle."""
    import altair as alt

    rows = [
        {
            "predicted": b.mean_predicted,
            "observed": b.observed_rate,
            "low": b.interval.low,
            "high": b.interval.high,
            "count": b.count,
        }
        for b in bins[:MAX_POINTS]
    ]
    level = f"{bins[0].interval.level:.0%} " if bins else ""
    subtitle = [_interval_words(ece)] if ece is not None else []
    subtitle.append(
        f"bars: each bin's {level}{bins[0].interval.method if bins else 'Wilson'} interval; "
        "dashed grey diagonal: perfect calibration"
    )
    x = alt.X(
        "predicted:Q",
        title="Mean predicted probability",
        scale=alt.Scale(domain=[0, 1], nice=False),
    )
    y_scale = alt.Scale(domain=[0, 1], nice=False)
    bars = (
        alt.Chart()
        .mark_rule(color=BEST_COLOUR, strokeWidth=1.2)
        .encode(
            x=x, y=alt.Y("low:Q", title="Observed rate of positives", scale=y_scale), y2="high:Q"
        )
    )
    line = alt.Chart().mark_line(color=BEST_COLOUR).encode(x=x, y=alt.Y("observed:Q"))
    points = (
        alt.Chart()
        .mark_point(filled=True, size=36, color=BEST_COLOUR, opacity=1)
        .encode(x=x, y=alt.Y("observed:Q"))
    )
    diagonal = (
        alt.Chart(alt.Data(values=[{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 1.0}]))
        .mark_line(color=CHANCE_COLOUR, strokeDash=[3, 3], strokeWidth=1)
        .encode(x="x:Q", y="y:Q")
    )
    title = "Reliability diagram" + (f": {label}" if label else "")
    chart = alt.layer(
        diagonal,
        alt.layer(bars, line, points, data=alt.Data(values=rows)),
    ).properties(width=SQUARE, height=SQUARE, title=alt.Title(title, subtitle=subtitle))
    return _configured(chart)  # type: ignore[no-any-return]


@_quietly
def residual_chart(points: ResidualPoints, *, label: str | None = None) -> alt.LayerChart:
    """Residuals (observed - predicted) against predictions: the sampled rows as grey dots,
    the mean residual of each bin of predictions as a line, zero as a rule."""
    import altair as alt

    count = len(points.predicted)
    keep = range(count) if count <= MAX_POINTS else np.linspace(0, count - 1, MAX_POINTS)
    dots = [
        {"predicted": points.predicted[int(i)], "residual": points.residual[int(i)]} for i in keep
    ]
    means = [
        {"predicted": b.mean_predicted, "residual": b.mean_residual, "count": b.count}
        for b in points.bins[:MAX_POINTS]
    ]
    x = alt.X("predicted:Q", title="Prediction", scale=alt.Scale(zero=False))
    y = alt.Y("residual:Q", title="Residual (observed - predicted)", scale=alt.Scale(zero=False))
    scatter = (
        alt.Chart(alt.Data(values=dots))
        .mark_point(filled=True, size=14, color=OTHER_COLOUR, opacity=0.6)
        .encode(x=x, y=y)
    )
    mean_line = (
        alt.Chart(alt.Data(values=means))
        .mark_line(color=BEST_COLOUR, strokeWidth=2, point=alt.OverlayMarkDef(color=BEST_COLOUR))
        .encode(x=x, y=y)
    )
    zero = (
        alt.Chart(alt.Data(values=[{"zero": 0.0}]))
        .mark_rule(color="#000", strokeDash=[3, 3])
        .encode(y="zero:Q")
    )
    subtitle = (
        f"dots: {len(dots):,} of {points.n:,} rows (a seeded sample); line: the mean residual "
        f"in {len(points.bins)} equal-count bins of the predictions; dashed: zero"
    )
    title = "Residuals against predictions" + (f": {label}" if label else "")
    chart = alt.layer(scatter, zero, mean_line).properties(
        width=SQUARE + 120, height=SQUARE - 60, title=alt.Title(title, subtitle=subtitle)
    )
    return _configured(chart)  # type: ignore[no-any-return]


@_quietly
def confusion_chart(
    tp: int, fp: int, tn: int, fn: int, positive_label: str, negative_label: str
) -> alt.LayerChart:
    """The 2 x 2 confusion matrix as a heatmap: actual class down, predicted across, each cell
    with its count and its share of the actual class."""
    import altair as alt

    positive, negative = str(positive_label), str(negative_label)
    if positive == negative:
        negative = f"not {negative}"
    cells = [
        (positive, positive, tp, "true positives"),
        (positive, negative, fn, "false negatives"),
        (negative, positive, fp, "false positives"),
        (negative, negative, tn, "true negatives"),
    ]
    largest = max(1, tp, fp, tn, fn)
    rows = []
    for actual, predicted, count, kind in cells:
        of_actual = tp + fn if actual == positive else tn + fp
        share = f"{count / of_actual:.1%} of actual" if of_actual else "no rows"
        rows.append(
            {
                "actual": actual,
                "predicted": predicted,
                "count": int(count),
                "text": f"{count:,}",
                "detail": f"{kind}, {share}",
                "dark": count > largest / 2,
            }
        )
    order = [positive, negative]
    x = alt.X("predicted:N", title="Predicted", sort=order, axis=alt.Axis(labelAngle=0))
    y = alt.Y("actual:N", title="Actual", sort=order)
    heat = (
        alt.Chart()
        .mark_rect(stroke="#fff", strokeWidth=2)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "count:Q",
                scale=alt.Scale(domain=[0, largest], range=["#f0f0f0", BEST_COLOUR]),
                legend=None,
            ),
        )
    )
    counts = (
        alt.Chart()
        .mark_text(fontSize=14, fontWeight="bold", dy=-7)
        .encode(
            x=x,
            y=y,
            text="text:N",
            color=alt.condition(alt.datum.dark, alt.value("#fff"), alt.value("#000")),
        )
    )
    details = (
        alt.Chart()
        .mark_text(fontSize=9, dy=9)
        .encode(
            x=x,
            y=y,
            text="detail:N",
            color=alt.condition(alt.datum.dark, alt.value("#fff"), alt.value("#000")),
        )
    )
    chart = alt.layer(heat, counts, details, data=alt.Data(values=rows)).properties(
        width=280,
        height=180,
        title=alt.Title(
            "Confusion matrix",
            subtitle=f"positive class: {positive}; {tp + fp + tn + fn:,} rows",
        ),
    )
    return _configured(chart)  # type: ignore[no-any-return]


def interval_domain(rows: Sequence[Mapping[str, Any]]) -> tuple[float, float] | None:
    """The value axis of `interval_bars`: from the lowest to the highest of every value and
    interval end, widened by a tenth of that span on each side (so the closest difference is
    neither blown up to the full width nor squeezed against an edge), kept within [0, 1] when
    every number is; zero is not forced in, so values near 1 are not flattened against it."""
    numbers = [
        float(row[key])
        for row in rows
        for key in ("value", "low", "high")
        if key in row and _finite(row[key])
    ]
    if not numbers:
        return None
    low, high = min(numbers), max(numbers)
    span = high - low
    pad = 0.1 * span if span > 0 else max(0.05 * abs(high), 0.01)
    start, end = low - pad, high + pad
    if low >= 0 and high <= 1:
        start, end = max(0.0, start), min(1.0, end)
    return start, end


@_quietly
def interval_bars(
    rows: Sequence[Mapping[str, Any]], *, metric: str = "value", level: float = 0.95
) -> alt.LayerChart:
    """A metric's value for each run (dots) with its interval (bars), the chosen run in colour.

    Rows: {run, value, low, high, chosen}; low/high may be None (no interval). Runs keep the
    input order (at most 40). The axis is `interval_domain(rows)`: every interval fully
    inside, not zero-based."""
    import altair as alt

    drawn: list[dict[str, Any]] = [
        {
            "run": str(row["run"]),
            "value": float(row["value"]),
            "low": float(row["low"]) if _finite(row.get("low")) else None,
            "high": float(row["high"]) if _finite(row.get("high")) else None,
            "chosen": bool(row.get("chosen")),
            "label": f"{float(row['value']):.4g}",
        }
        for row in rows[:MAX_INTERVAL_ROWS]
        if _finite(row.get("value"))
    ]
    domain = interval_domain(drawn) or (0.0, 1.0)
    runs = list(dict.fromkeys(str(row["run"]) for row in drawn))
    x_scale = alt.Scale(domain=list(domain), nice=False, zero=False)
    y = alt.Y("run:N", sort=runs, title=None, axis=alt.Axis(labelLimit=200))
    colour = alt.Color(
        "chosen:N",
        scale=alt.Scale(domain=[True, False], range=[BEST_COLOUR, "#555555"]),
        legend=None,
    )
    bars = (
        alt.Chart()
        .transform_filter("datum.low != null && datum.high != null")
        .mark_rule(strokeWidth=2)
        .encode(x=alt.X("low:Q", title=metric, scale=x_scale), x2="high:Q", y=y, color=colour)
    )
    dots = (
        alt.Chart()
        .mark_point(filled=True, size=60, opacity=1)
        .encode(x=alt.X("value:Q", scale=x_scale), y=y, color=colour)
    )
    labels = (
        alt.Chart()
        .mark_text(dy=-9, fontSize=9, color="#000")
        .encode(x=alt.X("value:Q", scale=x_scale), y=y, text="label:N")
    )
    missing = sum(1 for row in drawn if row["low"] is None or row["high"] is None)
    subtitle = [
        f"dots: the value; bars: its {level:.0%} interval; coloured: the chosen run",
        f"axis from {domain[0]:.4g} to {domain[1]:.4g}, covering every interval",
    ]
    if missing:
        subtitle.append(f"{missing} {'run' if missing == 1 else 'runs'} without an interval")
    chart = alt.layer(bars, dots, labels, data=alt.Data(values=drawn)).properties(
        width=360,
        height=alt.Step(28),
        title=alt.Title(f"{metric} of each run, with {level:.0%} intervals", subtitle=subtitle),
    )
    return _configured(chart)  # type: ignore[no-any-return]
