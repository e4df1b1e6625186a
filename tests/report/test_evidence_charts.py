"""Charts of the performance evidence: offline SVG, the same bytes for the same input, the
titles and labels a reader needs, a bounded number of points, an honest interval axis."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest

from nbmodelbook.record import Evaluation
from nbmodelbook.report import evidence_charts as ec
from nbmodelbook.report.charts import to_svg
from nbmodelbook.report.curves import CurveFigures, curve_figures
from nbmodelbook.stats.curves import MAX_POINTS, PrecisionRecallPoints, RocPoints

HOSTILE = "</svg><script>alert(1)</script>"


def _figures(seed: int, noise: float = 0.0, n: int = 20_000) -> CurveFigures:
    rng = np.random.default_rng(seed)
    p = rng.beta(2.0, 3.0, n)
    y = (rng.random(n) < p**1.2).astype(int)
    scores = np.clip(p + rng.normal(0, noise, n), 0, 1) if noise else p
    figures = curve_figures(
        Evaluation("roc_auc_score", "auc", 0.0, y, y_score=scores), level=0.95, seed=0
    )
    assert figures is not None
    return figures


@pytest.fixture(scope="module")
def runs() -> dict[str, CurveFigures]:
    return {"rf (0001)": _figures(1), "logit (0002)": _figures(2, noise=0.2)}


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert not any(e.tag.rsplit("}", 1)[-1] in {"script", "foreignObject"} for e in root.iter())
    texts = []
    for element in root.iter():
        if element.tag.endswith("}text"):
            lines = [t for t in element if t.tag.endswith("}tspan")]
            if lines:
                texts.extend(t.text or "" for t in lines)
            else:
                texts.append(element.text or "")
    return texts


def _rows(chart: Any, field: str) -> list[dict[str, Any]]:
    """Every inline data row of the spec that has `field`."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            values = node.get("values")
            if isinstance(values, list):
                found.extend(row for row in values if isinstance(row, dict) and field in row)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(chart.to_dict(validate=True))
    return found


def test_roc_chart_names_each_run_with_its_auc(runs: dict[str, CurveFigures]) -> None:
    curves = {label: f.roc for label, f in runs.items() if f.roc is not None}
    svg = to_svg(ec.roc_chart(curves, chosen="rf (0001)"))
    texts = _texts(svg)
    assert "ROC curve" in texts
    assert "False positive rate (1 - specificity)" in texts
    assert "True positive rate (sensitivity)" in texts
    for label, figures in runs.items():
        assert figures.roc is not None and f"{label} (AUC {figures.roc.auc:.3f})" in texts
    assert svg == to_svg(ec.roc_chart(curves, chosen="rf (0001)"))


def test_pr_chart_draws_the_prevalence_baseline(runs: dict[str, CurveFigures]) -> None:
    curves = {label: f.precision_recall for label, f in runs.items() if f.precision_recall}
    chart = ec.pr_chart(curves)
    prevalences = {row["prevalence"] for row in _rows(chart, "prevalence")}
    assert prevalences == {c.prevalence for c in curves.values()}
    texts = _texts(to_svg(chart))
    assert {"Precision-recall curve", "Recall", "Precision"} <= set(texts)
    assert any("prevalence of the positive class" in t for t in texts)
    first = curves["rf (0001)"]
    assert f"rf (0001) (AP {first.average_precision:.3f})" in texts


def test_curves_are_bounded_whatever_they_are_given() -> None:
    # A curve of 5,000 points given directly is thinned to at most MAX_POINTS.
    x = np.linspace(0, 1, 5000)
    y = np.sqrt(x)
    long_roc = RocPoints(tuple(x), tuple(y), tuple(np.linspace(1, 0, 5000)), 0.66, 5000)
    long_pr = PrecisionRecallPoints(
        tuple(x[::-1]), tuple(1 - 0.5 * x), tuple(np.linspace(0, 1, 5000)), 0.7, 0.3, 5000
    )
    many = {f"run {i}": long_roc for i in range(9)}
    chart = ec.roc_chart(many)
    rows = _rows(chart, "tpr")
    per_curve: dict[str, int] = {}
    for row in rows:
        per_curve[row["curve"]] = per_curve.get(row["curve"], 0) + 1
    assert len(per_curve) == ec.MAX_CURVES
    assert max(per_curve.values()) <= MAX_POINTS
    svg = to_svg(chart)
    assert "3 more runs not drawn" in " ".join(_texts(svg))
    # and the drawing itself holds no more vertices than that: one path per curve
    pr_rows = _rows(ec.pr_chart({"a": long_pr}), "precision")
    assert len(pr_rows) <= MAX_POINTS


def test_calibration_chart_shows_the_ece_and_its_interval(runs: dict[str, CurveFigures]) -> None:
    calibration = runs["rf (0001)"].calibration
    assert calibration is not None and calibration.ece.interval is not None
    chart = ec.calibration_chart(calibration.bins, calibration.ece, label="rf (0001)")
    assert len(_rows(chart, "observed")) == len(calibration.bins)
    svg = to_svg(chart)
    texts = _texts(svg)
    assert "Reliability diagram: rf (0001)" in texts
    assert {"Mean predicted probability", "Observed rate of positives"} <= set(texts)
    interval = calibration.ece.interval
    ece = next(t for t in texts if t.startswith("ECE "))
    assert f"{calibration.ece.value:.3f}" in ece and f"{interval.low:.3f}" in ece
    assert "95% interval" in ece and "bootstrap" in ece
    assert svg == to_svg(ec.calibration_chart(calibration.bins, calibration.ece, label="rf (0001)"))


def test_residual_chart_draws_a_bounded_sample_and_the_binned_means() -> None:
    rng = np.random.default_rng(3)
    predicted = rng.normal(5, 2, 30_000)
    observed = predicted + rng.normal(size=30_000)
    figures = curve_figures(
        Evaluation("mean_absolute_error", "mae", 0.8, observed, y_pred=predicted),
        level=0.95,
        seed=1,
    )
    assert figures is not None and figures.residuals is not None
    chart = ec.residual_chart(figures.residuals, label="ridge")
    assert len(_rows(chart, "count")) == len(figures.residuals.bins)
    assert len(_rows(chart, "residual")) - len(figures.residuals.bins) <= MAX_POINTS
    texts = _texts(to_svg(chart))
    assert "Residuals against predictions: ridge" in texts
    assert {"Prediction", "Residual (observed - predicted)"} <= set(texts)
    assert any("200 of 30,000 rows" in t for t in texts)


def test_confusion_chart_has_the_counts_and_class_names() -> None:
    svg = to_svg(ec.confusion_chart(52, 1, 89, 1, "malignant", "benign"))
    texts = _texts(svg)
    assert {"Confusion matrix", "Predicted", "Actual", "malignant", "benign"} <= set(texts)
    assert {"52", "1", "89"} <= set(texts)
    assert "true positives, 98.1% of actual" in texts
    assert svg == to_svg(ec.confusion_chart(52, 1, 89, 1, "malignant", "benign"))


def test_labels_are_text_never_markup() -> None:
    svg = to_svg(ec.confusion_chart(3, 1, 4, 1, HOSTILE, "benign"))
    assert HOSTILE in _texts(svg) and "<script" not in svg
    roc = _figures(4).roc
    assert roc is not None
    assert f"{HOSTILE} (AUC {roc.auc:.3f})" in _texts(to_svg(ec.roc_chart({HOSTILE: roc})))


INTERVAL_ROWS = [
    {"run": "rf", "value": 0.962, "low": 0.951, "high": 0.973, "chosen": True},
    {"run": "gbm", "value": 0.958, "low": 0.946, "high": 0.970, "chosen": False},
    {"run": "logit", "value": 0.941, "low": 0.925, "high": 0.957, "chosen": False},
]


def test_the_interval_axis_covers_every_interval_without_starting_at_zero() -> None:
    low, high = ec.interval_domain(INTERVAL_ROWS) or (0.0, 0.0)
    assert low <= 0.925 and high >= 0.973  # every interval fully inside
    assert low > 0.9 and high <= 1.0  # values near 1 are not flattened against zero
    span = 0.973 - 0.925
    assert high - low == pytest.approx(1.2 * span)  # a tenth of the span each side, no more
    # kept inside [0, 1] for proportions, free outside it
    near_one = [{"run": "a", "value": 0.99, "low": 0.98, "high": 1.0}]
    assert ec.interval_domain(near_one) == (pytest.approx(0.978), 1.0)
    losses = [{"run": "a", "value": 12.0, "low": 10.0, "high": 14.0}]
    assert ec.interval_domain(losses) == (pytest.approx(9.6), pytest.approx(14.4))
    assert ec.interval_domain([{"run": "a", "value": None}]) is None


def test_interval_bars_draws_every_run_on_that_axis() -> None:
    rows = [*INTERVAL_ROWS, {"run": "tree", "value": 0.93, "low": None, "high": None}]
    chart = ec.interval_bars(rows, metric="roc_auc")
    spec = chart.to_dict(validate=True)
    domains = [
        layer["encoding"]["x"]["scale"]["domain"]
        for layer in spec["layer"]
        if "scale" in layer["encoding"]["x"]
    ]
    assert domains and all(d == list(ec.interval_domain(rows) or ()) for d in domains)
    svg = to_svg(chart)
    texts = _texts(svg)
    assert "roc_auc of each run, with 95% intervals" in texts and "roc_auc" in texts
    assert {"rf", "gbm", "logit", "tree"} <= set(texts)
    assert "1 run without an interval" in texts
    assert svg == to_svg(ec.interval_bars(rows, metric="roc_auc"))
