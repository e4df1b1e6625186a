"""Chart builders for the review report, and their conversion to SVG.

Builders are pure: plain rows (a sequence of mappings, or a pandas DataFrame) in, an Altair chart
out; pandas is never imported here. `to_svg` draws a chart
with vl-convert (which bundles Vega: no browser, no network). Charts are small, labelled, readable
in black-and-white print, and use the Okabe-Ito palette (safe for the common colour-vision
deficiencies). Altair and vl-convert are imported inside the functions: importing this module is
cheap.

`untrusted_vegalite_to_svg` draws a Vega-Lite spec a run captured: refused when it asks for
external data, converted with every external URL blocked, never inlined (callers embed the result
as an `<img>` data URI).
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from nbmodelbook.report.numbers import format_number

if TYPE_CHECKING:  # pragma: no cover - typing only
    import altair as alt
    import pandas as pd

    from nbmodelbook.report.model import MetricRow

__all__ = [
    "BEST_COLOUR",
    "OTHER_COLOUR",
    "PALETTE",
    "history_chart",
    "metric_bar_rows",
    "metric_bars",
    "param_vs_metric",
    "to_svg",
    "untrusted_vegalite_to_svg",
    "warm_up",
]

# Okabe & Ito (2008), without yellow (invisible on white paper); black is kept for failures.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
OTHER_COLOUR = "#999999"
# One shape per colour, so groups stay apart in black-and-white print; the upward triangle is
# kept for failed runs.
GROUP_SHAPES = ("circle", "square", "diamond", "cross", "triangle-down", "triangle-right")
BEST_COLOUR = "#0072B2"
FAILED_COLOUR = "#000000"
FONT = "sans-serif"  # generic family: no web font is ever requested
WIDTH = 420
HISTORY_HEIGHT = 220
MAX_GROUPS = len(PALETTE)  # more groups than colours: the rest are drawn grey as "other"
MAX_BAR_METRICS = 6  # metric panels in one bar chart
MAX_SEQUENCE = 100_000  # largest `sequence` generator an untrusted spec may ask for
MAX_SVG_CHARS = 8_000_000

_lock = threading.Lock()
P = ParamSpec("P")
R = TypeVar("R")


def _configure(chart: Any) -> Any:
    """Fonts, colours and sizes for print, set in one step (each Altair `configure_*` copies)."""
    import altair as alt

    config = alt.Config(
        font=FONT,
        background="white",
        view=alt.ViewConfig(stroke=None),
        axis=alt.AxisConfig(
            labelFontSize=10, titleFontSize=11, labelColor="#000", titleColor="#000"
        ),
        header=alt.HeaderConfig(labelFontSize=11, labelColor="#000"),
        legend=alt.LegendConfig(labelFontSize=10, titleFontSize=10, labelLimit=220),
        title=alt.TitleConfig(
            fontSize=12, subtitleFontSize=10, anchor="start", subtitleColor="#333"
        ),
    )
    chart.config = config  # the chart was just built here and is not shared: no copy needed
    return chart


Rows = Sequence[Mapping[str, Any]]


def _records(data: pd.DataFrame | Rows) -> list[dict[str, Any]]:
    """Rows as plain dicts, from a DataFrame or from any sequence of mappings."""
    to_dict = getattr(data, "to_dict", None)
    if to_dict is not None and hasattr(data, "columns"):
        records: list[dict[str, Any]] = to_dict(orient="records")
        return [dict(row) for row in records]
    return [dict(row) for row in cast("Rows", data)]


def _missing(value: Any) -> bool:
    """None, NaN, infinite or not a number: nothing to draw."""
    if value is None or isinstance(value, bool):
        return value is None
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return True


def _built_quietly(builder: Callable[P, R]) -> Callable[P, R]:
    """Build without Altair's validate-every-object-on-creation mode: with inline data, every
    intermediate copy would be validated row by row (most of a chart's cost). Tests validate the
    finished specs instead."""

    @functools.wraps(builder)
    def build(*args: P.args, **kwargs: P.kwargs) -> R:
        from altair.utils.schemapi import debug_mode

        with debug_mode(False):
            return builder(*args, **kwargs)

    return build


def _data(rows: list[dict[str, Any]]) -> Any:
    """Inline data, attached to the top-level chart only (Altair deep-copies sub-charts)."""
    import altair as alt

    return alt.Data(values=rows)


def metric_bar_rows(
    metrics: Sequence[MetricRow], labels: Sequence[str], limit: int = MAX_BAR_METRICS
) -> list[dict[str, Any]]:
    """Rows for `metric_bars` from compared metrics (in the order given, the first `limit`)
    and the label of each compared run; values that cannot be drawn are left out."""
    rows: list[dict[str, Any]] = []
    for metric in metrics[:limit]:
        for position, label in enumerate(labels):
            value = metric.values[position] if position < len(metric.values) else None
            if _missing(value):
                continue
            rows.append(
                {
                    "run": label,
                    "metric": metric.name,
                    "value": float(value),  # type: ignore[arg-type]
                    "best": position in metric.best,
                    "lower_is_better": metric.lower_is_better,
                }
            )
    return rows


@_built_quietly
def metric_bars(evidence_frame: pd.DataFrame | Rows) -> alt.FacetChart:
    """One horizontal bar per compared run, one small panel per metric, best value highlighted.

    Rows (a DataFrame or a sequence of mappings) with `run` (label), `metric`, `value` (float),
    `best` (bool) and optionally `lower_is_better` (bool). Panels keep their own scales (metrics
    are in different units); runs and metrics keep the input's order; missing values are left
    out.
    """
    import altair as alt

    records = _records(evidence_frame)
    runs = list(dict.fromkeys(str(row["run"]) for row in records))
    rows: list[dict[str, Any]] = []
    for row in records:
        if _missing(row.get("value")):
            continue
        panel = str(row["metric"])
        if "lower_is_better" in row:
            better = "lower" if bool(row["lower_is_better"]) else "higher"
            panel += f" ({better} is better)"
        best = bool(row.get("best"))
        value = float(row["value"])
        label = format_number(value) + (" best" if best else "")  # rounded, as in the tables
        rows.append(
            {"run": str(row["run"]), "panel": panel, "value": value, "best": best, "label": label}
        )
    panels = list(dict.fromkeys(row["panel"] for row in rows))
    y = alt.Y("run:N", sort=runs, title=None, axis=alt.Axis(labelLimit=200))
    bars = (
        alt.Chart()
        .mark_bar(height={"band": 0.7})
        .encode(
            y=y,
            x=alt.X("value:Q", title=None, axis=alt.Axis(tickCount=4, grid=True)),
            color=alt.Color(
                "best:N",
                scale=alt.Scale(domain=[True, False], range=[BEST_COLOUR, "#C8C8C8"]),
                legend=None,
            ),
        )
    )
    labels = (
        alt.Chart()
        .mark_text(align="left", dx=3, fontSize=10, color="#000")
        .encode(y=y, x=alt.X("value:Q"), text=alt.Text("label:N"))
    )
    chart = (
        alt.layer(bars, labels)
        .properties(width=WIDTH - 160, height=alt.Step(16))
        .facet(
            row=alt.Row(
                "panel:N",
                sort=panels,
                title=None,
                header=alt.Header(
                    labelAngle=0, labelOrient="top", labelAnchor="start", labelFontWeight="bold"
                ),
            ),
            spacing=8,
            data=_data(rows),
        )
        .resolve_scale(x="independent")
    )
    return _configure(chart)  # type: ignore[no-any-return]


# Tick steps of the history's time axis, finest first: the first that gives at most
# MAX_TIME_TICKS ticks over the runs' span is used, and the labels show that unit, so no two
# labels read the same (runs minutes apart once got six labels of the same minute).
_TIME_STEPS: tuple[tuple[str, float, tuple[int, ...]], ...] = (
    ("second", 1, (1, 2, 5, 10, 15, 30)),
    ("minute", 60, (1, 2, 5, 10, 15, 30)),
    ("hour", 3600, (1, 2, 3, 6, 12)),
    ("day", 86400, (1, 2, 7, 14)),
    ("month", 30 * 86400, (1, 2, 3, 6)),
    ("year", 365.25 * 86400, (1, 2, 5, 10, 20, 50, 100)),
)
MAX_TIME_TICKS = 6


def _epoch(text: str) -> float | None:
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def time_axis(started: Sequence[str]) -> tuple[list[float], str, str]:
    """(tick times in epoch milliseconds, label format, axis title) for runs started at these
    ISO-8601 UTC times: the unit and step from the span of the runs, whole units apart so no
    two labels read the same, the date in the title when the runs share it. (Ticks are given
    as values: Vega's own time-interval ticks are spelt differently from Vega-Lite's schema.)"""
    from datetime import UTC, datetime

    times = sorted(t for t in (_epoch(text) for text in started) if t is not None)
    if not times:
        return [], "%Y-%m-%d %H:%M", "Start time (UTC)"
    span = times[-1] - times[0]
    unit, seconds, step = "year", _TIME_STEPS[-1][1], 100
    for name, unit_seconds, steps in _TIME_STEPS:
        fitting = [n for n in steps if span / (n * unit_seconds) <= MAX_TIME_TICKS]
        if fitting:
            unit, seconds, step = name, unit_seconds, fitting[0]
            break
    first = datetime.fromtimestamp(times[0], tz=UTC)
    last = datetime.fromtimestamp(times[-1], tz=UTC)
    ticks = (
        _calendar_ticks(first, last, 12 * step if unit == "year" else step)
        if unit in ("month", "year")
        else _even_ticks(times[0], times[-1], step * seconds)
    )
    title = "Start time (UTC)"
    if unit in ("second", "minute", "hour"):
        label = "%H:%M:%S" if unit == "second" else "%H:%M"
        if first.date() == last.date():
            title += f", {first:%Y-%m-%d}"
        else:
            label = "%b %d " + label
    elif unit == "day":
        label = "%b %d" if first.year == last.year else "%Y-%m-%d"
        if first.year == last.year:
            title += f", {first:%Y}"
    else:
        label = "%b %Y" if unit == "month" else "%Y"
    return [tick * 1000 for tick in ticks], label, title


def _even_ticks(low: float, high: float, every: float) -> list[float]:
    """Multiples of `every` seconds (UTC-aligned) from at or below `low` to at or above `high`."""
    start = math.floor(low / every) * every
    stop = max(math.ceil(high / every) * every, start + every)
    return [start + every * index for index in range(round((stop - start) / every) + 1)]


def _calendar_ticks(first: Any, last: Any, months: int) -> list[float]:
    """The first of every `months`-th month from the one `first` falls in to past `last`."""
    from datetime import UTC, datetime

    index = (first.year * 12 + first.month - 1) // months * months
    ticks: list[float] = []
    while True:
        tick = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
        ticks.append(tick.timestamp())
        if tick > last:
            return ticks
        index += months


# Names of a spread, an error or the training rows' figure: never drawn as the metric itself.
_NOT_THE_FIGURE = re.compile(
    r"(?:^|[^A-Za-z0-9])(?:std|stdev|sd|sem|se|err|error|var|ci|lower|upper|low|high|train|"
    r"training|fit)(?:$|[^A-Za-z0-9])",
    re.IGNORECASE,
)


def history_value(
    metrics: Mapping[str, float], metric: str, lower_is_better: bool
) -> tuple[float, str] | None:
    """The figure a run without `metric` can still be drawn with: the best of its metrics
    named with `metric` as a word (a sweep's `cv_auc.lr=0.1`, a `val_auc`), and its name."""
    words = re.compile(rf"(?:^|[^A-Za-z0-9]){re.escape(metric)}(?:$|[^A-Za-z0-9])")
    related = [
        (float(value), name)
        for name, value in metrics.items()
        if name != metric
        and words.search(name)
        and not _NOT_THE_FIGURE.search(name.replace(metric, " "))
        and not _missing(value)
    ]
    if not related:
        return None
    return min(related) if lower_is_better else max(related, key=lambda item: (item[0], item[1]))


@_built_quietly
def history_chart(
    history_frame: pd.DataFrame | Rows,
    metric: str,
    colour_title: str = "Run",
    *,
    tooltips: bool = False,
) -> alt.LayerChart:
    """A metric over time for every run; failed runs marked on the time axis.

    Rows with `run` (label), `group` (colour: model family or run name), `started` (ISO-8601
    UTC text), `value` (float, or None/NaN), `failed` (bool) and optionally `chosen` (bool,
    circled), `value_metric` (the name the value was recorded under when it is not `metric`:
    drawn hollow) and `unmeasured` (a run that finished without a value: marked on the time
    axis; without it such a row is left out). Beyond six groups the least frequent are drawn
    grey as "other". Time is shown in UTC, so the picture does not depend on the reader's time
    zone; the axis's unit follows the span of the runs. `tooltips` adds hover details for live
    charts (a static image has no hover).
    """
    import altair as alt

    rows: list[dict[str, Any]] = []
    for row in _records(history_frame):
        failed = bool(row.get("failed"))
        missing = _missing(row.get("value"))
        other = row.get("value_metric")
        if failed:
            kind = "failed"
        elif not missing:
            kind = "other" if other and other != metric else "measured"
        elif row.get("unmeasured"):
            kind = "unmeasured"
        else:
            continue
        rows.append(
            {
                "run": str(row["run"]),
                "group": str(row["group"]),
                "started": str(row["started"]),
                # Vega-Lite turns `started` into a timestamp for the time axis: the tooltip
                # reads this untouched copy.
                "started_text": str(row["started"]).replace("T", " ").rstrip("Z"),
                "value": None if kind in ("failed", "unmeasured") else float(row["value"]),
                "value_metric": str(other) if kind == "other" else metric,
                "kind": kind,
                "chosen": bool(row.get("chosen")) and kind == "measured",
            }
        )
    valued = [row for row in rows if row["kind"] in ("measured", "other")]
    counts: dict[str, int] = {}
    for row in valued:
        counts[row["group"]] = counts.get(row["group"], 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    keep = [name for name, _ in ranked[:MAX_GROUPS]]
    folded = len(ranked) > MAX_GROUPS
    if folded:
        for row in valued:
            row["group"] = row["group"] if row["group"] in keep else "other"
    domain = [*keep, *(["other"] if folded else [])]
    colours = [*PALETTE[: len(keep)], *([OTHER_COLOUR] if folded else [])]
    shapes = [*GROUP_SHAPES[: len(keep)], *(["circle"] if folded else [])]
    measured = sum(1 for row in valued if row["kind"] == "measured")
    others = sorted({row["value_metric"] for row in valued if row["kind"] == "other"})
    failed_count = sum(1 for row in rows if row["kind"] == "failed")
    unmeasured_count = sum(1 for row in rows if row["kind"] == "unmeasured")
    chosen_count = sum(1 for row in valued if row["chosen"])
    ticks, label_format, time_title = time_axis([row["started"] for row in rows])
    x = alt.X(
        "started:T",
        title=time_title,
        # Padding keeps the first and last runs off the frame.
        scale=alt.Scale(
            type="utc", domain=[ticks[0], ticks[-1]] if ticks else alt.Undefined, padding=12
        ),
        axis=alt.Axis(
            format=label_format,
            labelAngle=-30,
            labelOverlap=True,
            values=ticks if ticks else alt.Undefined,
        ),
    )
    y = alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False, padding=8))
    colour = alt.Color(
        "group:N",
        title=colour_title,
        scale=alt.Scale(domain=domain, range=colours),
        legend=alt.Legend(orient="bottom", columns=3, symbolLimit=len(domain)),
    )
    shape = alt.Shape("group:N", scale=alt.Scale(domain=domain, range=shapes), legend=None)
    hover = [
        alt.Tooltip("run:N", title="Run"),
        alt.Tooltip("group:N", title=colour_title),
        alt.Tooltip("started_text:N", title="Started (UTC)"),
        alt.Tooltip("value:Q", title=metric, format=".4~g"),
    ]
    measured_hover = {"tooltip": hover} if tooltips else {}
    # A figure recorded under another name says which on hover.
    other_hover = (
        {"tooltip": [*hover, alt.Tooltip("value_metric:N", title="Recorded as")]}
        if tooltips
        else {}
    )
    layers: list[Any] = [
        alt.Chart()
        .transform_filter("datum.kind === 'measured'")
        .mark_point(filled=True, size=36, opacity=0.85)
        .encode(x=x, y=y, color=colour, shape=shape, **measured_hover)
    ]
    if others:
        layers.append(
            alt.Chart()
            .transform_filter("datum.kind === 'other'")
            .mark_point(filled=False, size=60, strokeWidth=1.5)
            .encode(x=x, y=y, color=colour, shape=shape, **other_hover)
        )
    if chosen_count:
        layers.append(
            alt.Chart()
            .transform_filter("datum.kind === 'measured' && datum.chosen")
            .mark_point(shape="circle", size=220, filled=False, stroke="#000", strokeWidth=1.5)
            .encode(x=x, y=y)
        )
    if failed_count:
        layers.append(
            alt.Chart()
            .transform_filter("datum.kind === 'failed'")
            .mark_point(shape="triangle-up", size=50, filled=True, color=FAILED_COLOUR)
            .encode(x=x, y=alt.value(HISTORY_HEIGHT))
        )
    if unmeasured_count:
        layers.append(
            alt.Chart()
            .transform_filter("datum.kind === 'unmeasured'")
            .mark_point(shape="square", size=40, filled=False, color=FAILED_COLOUR)
            .encode(x=x, y=alt.value(HISTORY_HEIGHT))
        )
    subtitle = [f"{measured} runs with a value"]
    if others:
        shown = ", ".join(others[:2]) + (f" and {len(others) - 2} more" if len(others) > 2 else "")
        subtitle.append(f"hollow: the best of a run's other {metric} figures ({shown})")
    if chosen_count:
        subtitle.append("circled: the chosen run")
    if failed_count:
        plural = "s" if failed_count != 1 else ""
        subtitle.append(f"black triangles on the time axis: {failed_count} failed run{plural}")
    if unmeasured_count:
        plural = "s" if unmeasured_count != 1 else ""
        subtitle.append(
            f"open squares on the time axis: {unmeasured_count} run{plural} without {metric}"
        )
    chart = alt.layer(*layers, data=_data(rows)).properties(
        width=WIDTH,
        height=HISTORY_HEIGHT,
        title=alt.Title(f"{metric} of every run, in time order", subtitle=_lines(subtitle)),
    )
    return _configure(chart)  # type: ignore[no-any-return]


def _lines(parts: Sequence[str], width: int = 90) -> list[str]:
    """The subtitle's parts joined with "; ", wrapped into lines that fit the chart."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 2 + len(part) <= width:
            lines[-1] += "; " + part
        else:
            lines.append(part)
    return lines


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@_built_quietly
def param_vs_metric(frame: pd.DataFrame | Rows, param: str, metric: str) -> alt.LayerChart:
    """How `metric` moved when only `param` changed: one point per run.

    Rows with `run` (label), `param_value`, `value` (float) and optionally `chosen` (bool,
    circled). Numeric parameters get a continuous axis (logarithmic when positive and spanning
    two decades or more) and a connecting line; others get one column per value.
    """
    import altair as alt

    rows = [
        {
            "run": str(row["run"]),
            "param_value": row["param_value"],
            "value": float(row["value"]),
            "chosen": bool(row.get("chosen")),
        }
        for row in _records(frame)
        if not _missing(row.get("value"))
    ]
    numeric = bool(rows) and all(_is_number(row["param_value"]) for row in rows)
    if numeric:
        values = [float(row["param_value"]) for row in rows]
        positive = all(v > 0 for v in values)
        log = positive and len(values) > 1 and max(values) / min(values) >= 100
        x: Any = alt.X(
            "param_value:Q",
            title=param,
            scale=alt.Scale(type="log" if log else "linear", zero=False),
        )
        rows.sort(key=lambda row: float(row["param_value"]))
    else:
        for row in rows:
            row["param_value"] = _number(row["param_value"])
        order = list(dict.fromkeys(row["param_value"] for row in rows))
        x = alt.X("param_value:N", title=param, sort=order, axis=alt.Axis(labelAngle=0))
    y = alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False, padding=8))
    layers: list[Any] = []
    if numeric:
        layers.append(alt.Chart().mark_line(color=OTHER_COLOUR).encode(x=x, y=y))
    layers.append(alt.Chart().mark_point(filled=True, size=40, color=BEST_COLOUR).encode(x=x, y=y))
    if any(row["chosen"] for row in rows):
        layers.append(
            alt.Chart()
            .transform_filter("datum.chosen")
            .mark_point(shape="circle", size=220, filled=False, stroke="#000", strokeWidth=1.5)
            .encode(x=x, y=y)
        )
    chart = alt.layer(*layers, data=_data(rows)).properties(
        width=WIDTH - 100,
        height=180,
        title=alt.Title(
            f"{metric} against {param}",
            subtitle=f"{len(rows)} runs that differ only in {param}",
        ),
    )
    return _configure(chart)  # type: ignore[no-any-return]


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
            return f"{value:.4g}"
        return f"{value:.6g}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return _number(number)


# ---------------------------------------------------------------------------
# Conversion


def _vl_version(schema: object = None) -> str | None:
    """The Vega-Lite version to draw with: the spec's major version when vl-convert has it."""
    import vl_convert

    available: list[str] = list(vl_convert.get_vegalite_versions())
    if isinstance(schema, str) and "/vega-lite/v" in schema:
        major = schema.split("/vega-lite/v", 1)[1].split(".", 1)[0]
        same = [v for v in available if v.split(".", 1)[0] == major]
        return same[-1] if same else None
    return available[-1] if available else None


def _flush() -> None:
    """Draw a trivial chart after a failure: vl-convert 1.9 can report a failed conversion's
    error again on the next call; this absorbs it so the following real chart is unaffected."""
    import vl_convert

    trivial = {"data": {"values": [{"x": 1}]}, "mark": "point", "encoding": {}}
    for _ in range(2):
        try:
            vl_convert.vegalite_to_svg(trivial, allowed_base_urls=[])
            return
        except Exception:
            continue


# Characters XML 1.0 cannot hold. vl-convert's SVG writer does not refuse them: it panics, and
# its panic aborts the whole process (a run named "a\x00b" would kill the report).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_text(node: Any) -> Any:
    """`node` (a spec) with every character XML cannot hold replaced by U+FFFD, keys too."""
    if isinstance(node, str):
        return _NOT_XML.sub("\ufffd", node)
    if isinstance(node, dict):
        return {_xml_text(key): _xml_text(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_xml_text(value) for value in node]
    return node


def _convert(spec: Mapping[str, Any], retry: bool) -> str:
    import vl_convert

    version = _vl_version(spec.get("$schema"))
    drawable = _xml_text(dict(spec))
    with _lock:
        for attempt in range(2 if retry else 1):
            try:
                return str(
                    vl_convert.vegalite_to_svg(
                        drawable, vl_version=version, allowed_base_urls=[], show_warnings=False
                    )
                )
            except Exception:
                _flush()
                if attempt == 1 or not retry:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Draw one of our charts as an SVG document (deterministic; no external URL is allowed)."""
    spec = chart.to_dict(validate=False)
    return _convert(spec, retry=True)


def warm_up() -> None:
    """Start vl-convert's JavaScript engine (about a second, once per process)."""
    import vl_convert

    trivial = {"data": {"values": [{"x": 1}]}, "mark": "point", "encoding": {}}
    with _lock:
        try:
            vl_convert.vegalite_to_svg(trivial, vl_version=_vl_version(), allowed_base_urls=[])
        except Exception:
            _flush()


def _refused(node: Any, depth: int = 0) -> bool:
    """What an untrusted spec may not do: fetch data, reference images or links (even though
    the drawing is shown as an inert image), or generate more rows than we care to draw."""
    if depth > 60:
        return True
    if isinstance(node, dict):
        if isinstance(node.get("url"), str):
            return True  # data fetched from elsewhere
        mark = node.get("mark")
        mark_type = mark.get("type") if isinstance(mark, dict) else mark
        if mark_type == "image":
            return True
        encoding = node.get("encoding")
        if isinstance(encoding, dict) and ("url" in encoding or "href" in encoding):
            return True
        sequence = node.get("sequence")
        if isinstance(sequence, dict):
            try:
                start = float(sequence.get("start", 0))
                stop = float(sequence.get("stop", 0))
                step = float(sequence.get("step", 1))
                if step == 0 or abs((stop - start) / step) > MAX_SEQUENCE:
                    return True
            except (TypeError, ValueError, OverflowError, ZeroDivisionError):
                return True
        return any(_refused(value, depth + 1) for value in node.values())
    if isinstance(node, list):
        return any(_refused(value, depth + 1) for value in node)
    return False


def untrusted_vegalite_to_svg(spec_text: str | Mapping[str, Any]) -> str | None:
    """Draw a Vega-Lite spec captured from a run; None when it cannot or should not be drawn.

    The result is untrusted (a spec can put arbitrary links and text in it): embed it only as an
    image (`sanitize.safe_svg`), never inline.
    """
    try:
        spec = json.loads(spec_text) if isinstance(spec_text, str) else dict(spec_text)
    except (ValueError, RecursionError, TypeError):
        return None
    if not isinstance(spec, dict) or _refused(spec):
        return None
    try:
        svg = _convert(spec, retry=False)
    except Exception:
        return None
    return svg if len(svg) <= MAX_SVG_CHARS else None
