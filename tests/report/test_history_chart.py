"""The experiment history chart as a reviewer reads it: a time axis whose labels tell the runs
apart whatever their span, and every run of the history drawn as a mark."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest

from nbmodelbook.record import RunStatus
from nbmodelbook.report import charts
from nbmodelbook.report.charts import history_value
from nbmodelbook.report.model import Review
from nbmodelbook.report.view import ReviewContext, build_view
from tests.report.test_audit import SAME_DATA, annotation, review_of, saved_cell, tracked_run

SVG = "{http://www.w3.org/2000/svg}"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rows_over(span: float, count: int = 6, start: float = 1_796_216_667.0) -> list[dict[str, Any]]:
    """`count` runs spread over `span` seconds (the first on 2026-12-02 at 13:04:27 UTC)."""
    return [
        {
            "run": f"run-{index}",
            "group": "LogisticRegression",
            "started": iso(start + span * index / (count - 1)),
            "value": 0.9 + index / 1000,
            "failed": False,
        }
        for index in range(count)
    ]


def axis_labels(svg: str) -> list[str]:
    """The time axis's tick labels, as drawn (the axis whose labels are not numbers)."""
    root = ET.fromstring(svg)
    for group in root.iter(f"{SVG}g"):
        if "role-axis-label" not in group.get("class", ""):
            continue
        labels = ["".join(text.itertext()) for text in group.iter(f"{SVG}text")]
        try:
            [float(label) for label in labels]
        except ValueError:
            return labels
    raise AssertionError("no time axis")


def run_marks(chart: Any, svg: str) -> int:
    """Marks standing for runs: every symbol of every layer but the ring around the chosen."""
    layers = chart.to_dict()["layer"]
    rings = {
        position
        for position, layer in enumerate(layers)
        if "chosen" in str(layer.get("transform", ""))
    }
    root = ET.fromstring(svg)
    count = 0
    for group in root.iter(f"{SVG}g"):
        kind = group.get("class", "")
        if "mark-symbol role-mark" not in kind:
            continue
        position = int(kind.rsplit("layer_", 1)[1].split("_", 1)[0])
        if position not in rings:
            count += sum(1 for child in group if child.tag == f"{SVG}path")
    return count


SPANS = {
    "9 seconds": 9,
    "20 minutes": 20 * 60,
    "5 hours": 5 * 3600,
    "3 days": 3 * 86400,
    "8 months": 240 * 86400,
    "6 years": 6 * 365 * 86400,
}


@pytest.mark.parametrize("span", SPANS.values(), ids=SPANS.keys())
def test_time_labels_tell_the_ticks_apart_whatever_the_span(span: float) -> None:
    rows = rows_over(span)
    ticks, label, _title = charts.time_axis([row["started"] for row in rows])
    assert 2 <= len(ticks) <= charts.MAX_TIME_TICKS + 2
    texts = [datetime.fromtimestamp(tick / 1000, tz=UTC).strftime(label) for tick in ticks]
    assert len(set(texts)) == len(texts), texts
    starts = [datetime.fromisoformat(row["started"]).timestamp() * 1000 for row in rows]
    assert ticks[0] <= min(starts) and ticks[-1] >= max(starts)  # the axis spans the runs


def test_runs_seconds_apart_get_distinct_labels_and_the_date_in_the_title() -> None:
    chart = charts.history_chart(rows_over(9), "auc")
    svg = charts.to_svg(chart)
    labels = axis_labels(svg)
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    assert labels[0] == "13:04:26"  # whole steps of two seconds
    assert "Start time (UTC), 2026-12-02" in svg


def test_runs_days_apart_are_labelled_with_the_day() -> None:
    labels = axis_labels(charts.to_svg(charts.history_chart(rows_over(3 * 86400), "auc")))
    assert labels[0].startswith("Dec 02") and len(set(labels)) == len(labels), labels


def history_review() -> Review:
    """Five runs a minute apart: two scored on auc, a cross-validated sweep that records its
    figures as `cv_auc.lr=...`, one that failed and one that recorded no auc at all."""
    runs = [
        tracked_run(1, "logreg", metrics={"auc": 0.91}, inputs=SAME_DATA),
        tracked_run(2, "rf", metrics={"auc": 0.88}, inputs=SAME_DATA),
        tracked_run(
            3, "gbm-sweep", metrics={"cv_auc.lr=0.03": 0.86, "cv_auc.lr=0.3": 0.87, "best_lr": 0.3}
        ),
        tracked_run(4, "svm", status=RunStatus.ERROR),
        tracked_run(5, "timing", metrics={"fit_seconds": 2.5}),
    ]
    cells = [
        *map(saved_cell, runs),
        annotation("DECISION", "Logistic", "We chose run:logreg over run:rf."),
    ]
    return review_of(*cells, runs=runs)


def test_every_run_of_the_history_is_a_mark() -> None:
    review = history_review()
    page = build_view(review)
    image = page["history_chart"]
    found = ReviewContext(review).history_chart_rows()
    assert image is not None and found is not None
    rows, title = found
    chart = charts.history_chart(rows, "auc", title)
    assert image.svg == charts.to_svg(chart)  # the chart the report shows
    assert run_marks(chart, image.svg) == len(page["history"]) == 5
    assert "the best of a run's other auc figures (cv_auc.lr=0.3)" in image.svg
    assert "1 failed run" in image.svg and "1 run without auc" in image.svg


def test_a_sweep_is_drawn_by_its_best_figure_in_the_metrics_direction() -> None:
    metrics = {"cv_auc.lr=0.03": 0.86, "cv_auc.lr=0.3": 0.87, "best_lr": 0.3, "auction": 5.0}
    assert charts.history_value(metrics, "auc", lower_is_better=False) == (0.87, "cv_auc.lr=0.3")
    losses = {"val_log_loss": 0.31, "train_log_loss": 0.2}
    # The training rows' loss is lower, but it is not the figure the others are drawn by.
    assert charts.history_value(losses, "log_loss", lower_is_better=True) == (
        0.31,
        "val_log_loss",
    )
    assert charts.history_value({"fit_seconds": 1.0}, "auc", lower_is_better=False) is None


@pytest.mark.parametrize(
    ("metrics", "metric", "lower", "drawn"),
    [
        ({"cv_rmse_mean": 10.0, "cv_rmse_std": 0.5}, "rmse", True, (10.0, "cv_rmse_mean")),
        ({"train_auc": 0.99, "val_auc": 0.8}, "auc", False, (0.8, "val_auc")),
        ({"auc_lower": 0.7, "auc_upper": 0.99}, "auc", False, None),
    ],
)
def test_a_spread_or_a_training_figure_is_never_drawn_as_the_metric(
    metrics: dict[str, float], metric: str, lower: bool, drawn: tuple[float, str] | None
) -> None:
    assert history_value(metrics, metric, lower) == drawn
