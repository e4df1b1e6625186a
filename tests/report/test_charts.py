"""Chart builders and their offline, deterministic conversion to SVG."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from nbmodelbook.report import charts

HOSTILE = "</svg><script>alert(1)</script>"


def bars_frame(first_run: str = "rf (0001)") -> pd.DataFrame:
    rows = []
    for position, run in enumerate([first_run, "gbm (0002)", "logit (0003)"]):
        rows.append(
            {
                "run": run,
                "metric": "accuracy",
                "value": 0.91 - 0.02 * position,
                "best": position == 0,
                "lower_is_better": False,
            }
        )
        rows.append(
            {
                "run": run,
                "metric": "log_loss",
                "value": 0.25 + 0.05 * position,
                "best": position == 0,
                "lower_is_better": True,
            }
        )
    rows.append(
        {
            "run": "logit (0003)",
            "metric": "auc",
            "value": math.nan,
            "best": False,
            "lower_is_better": False,
        }
    )
    return pd.DataFrame(rows)


def history_frame(groups: int = 3, runs: int = 60) -> pd.DataFrame:
    rows = []
    for index in range(runs):
        failed = index % 10 == 9
        rows.append(
            {
                "run": f"run-{index}",
                "group": f"Family{index % groups}",
                "started": pd.Timestamp(1_700_000_000 + 600 * index, unit="s", tz="UTC").strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "value": math.nan if failed else 0.7 + (index % 7) / 50,
                "failed": failed,
                "chosen": index == 20,
            }
        )
    return pd.DataFrame(rows)


def _walk(node: Any) -> list[tuple[str, Any]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((key, value))
            found.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value))
    return found


def inline_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    if "datasets" in spec:
        return list(next(iter(spec["datasets"].values())))
    return list(spec["data"]["values"])


def assert_offline_svg(svg: str) -> ET.Element:
    """Parses as SVG, has no active element, fetches nothing, names only generic fonts."""
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1].lower()
        assert local not in {"script", "foreignobject", "image", "a", "iframe", "style"}, local
        for name, value in element.attrib.items():
            assert not name.rsplit("}", 1)[-1].lower().startswith("on"), name
            assert "url(http" not in value and "javascript:" not in value.lower()
    without_namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', "", svg)
    assert "http" not in without_namespaces  # no URL at all besides the XML namespaces
    assert not re.search(r"(href|src)=\"(?!#)", without_namespaces)
    assert "@import" not in svg and "@font-face" not in svg
    fonts = set(re.findall(r'font-family="([^"]*)"', svg))
    assert fonts <= {"sans-serif"}, fonts
    return root


def test_metric_bars_spec() -> None:
    chart = charts.metric_bars(bars_frame())
    spec = chart.to_dict()
    assert "facet" in spec and spec["resolve"]["scale"]["x"] == "independent"
    keys = {key for key, _ in _walk(spec)}
    assert "url" not in keys  # data inline, never fetched
    rows = inline_rows(spec)
    panels = {row["panel"] for row in rows}
    assert panels == {"accuracy (higher is better)", "log_loss (lower is better)"}
    assert not any(row["panel"].startswith("auc") for row in rows)  # NaN left out
    labels = {row["label"] for row in rows if row["best"]}
    assert labels == {"0.91 best", "0.25 best"}
    colour = next(
        v for k, v in _walk(spec) if k == "color" and isinstance(v, dict) and "scale" in v
    )
    assert colour["scale"]["range"][0] == charts.BEST_COLOUR


def test_to_svg_is_deterministic_offline_and_escapes_text() -> None:
    first = charts.to_svg(charts.metric_bars(bars_frame(HOSTILE)))
    second = charts.to_svg(charts.metric_bars(bars_frame(HOSTILE)))
    assert first == second
    root = assert_offline_svg(first)
    texts = [element.text for element in root.iter() if element.tag.endswith("text")]
    assert HOSTILE in texts  # shown as text, not markup
    assert "<script" not in first
    assert "0.91 best" in texts


def test_history_chart_marks_failed_and_chosen_runs() -> None:
    chart = charts.history_chart(history_frame(), "accuracy", "Model family")
    spec = chart.to_dict()
    layers = spec["layer"]
    assert len(layers) == 3
    failed_layer = layers[-1]
    assert failed_layer["encoding"]["y"] == {"value": charts.HISTORY_HEIGHT}
    assert failed_layer["mark"]["shape"] == "triangle-up"
    assert layers[0]["encoding"]["x"]["scale"]["type"] == "utc"
    svg = charts.to_svg(chart)
    assert_offline_svg(svg)
    assert "6 failed runs" in svg and "circled: the chosen run" in svg
    assert "Start time (UTC)" in svg


def test_history_chart_many_groups_fold_into_other() -> None:
    chart = charts.history_chart(history_frame(groups=12, runs=120), "accuracy")
    spec = chart.to_dict()
    colour = spec["layer"][0]["encoding"]["color"]
    domain = colour["scale"]["domain"]
    assert len(domain) == charts.MAX_GROUPS + 1 and domain[-1] == "other"
    assert colour["scale"]["range"][-1] == charts.OTHER_COLOUR
    assert len(set(colour["scale"]["range"])) == len(domain)


def test_history_chart_without_failures_or_choice() -> None:
    frame = history_frame()
    frame["failed"] = False
    frame["value"] = frame["value"].fillna(0.5)
    frame = frame.drop(columns=["chosen"])
    chart = charts.history_chart(frame, "auc")
    assert "layer" in chart.to_dict() and len(chart.to_dict()["layer"]) == 1
    assert_offline_svg(charts.to_svg(chart))


def test_param_vs_metric_numeric_log_and_nominal() -> None:
    frame = pd.DataFrame(
        {
            "run": [f"r{i}" for i in range(5)],
            "param_value": [1, 10, 100, 1000, 3],
            "value": [0.8, 0.85, 0.9, 0.88, 0.82],
            "chosen": [False, False, True, False, False],
        }
    )
    spec = charts.param_vs_metric(frame, "n_estimators", "accuracy").to_dict()
    x = spec["layer"][0]["encoding"]["x"]
    assert x["type"] == "quantitative" and x["scale"]["type"] == "log"
    assert len(spec["layer"]) == 3  # line, points, chosen ring
    narrow = frame.assign(param_value=[1, 2, 3, 4, 5])
    spec = charts.param_vs_metric(narrow, "k", "accuracy").to_dict()
    assert spec["layer"][0]["encoding"]["x"]["scale"]["type"] == "linear"
    words = frame.assign(param_value=["gini", "entropy", "log_loss", "gini2", HOSTILE])
    chart = charts.param_vs_metric(words, "criterion", "accuracy")
    spec = chart.to_dict()
    assert spec["layer"][0]["encoding"]["x"]["type"] == "nominal"
    assert_offline_svg(charts.to_svg(chart))


def test_untrusted_vegalite() -> None:
    good = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": [{"a": HOSTILE, "b": 1}]},
        "mark": "bar",
        "encoding": {
            "x": {"field": "a", "type": "nominal"},
            "y": {"field": "b", "type": "quantitative"},
        },
    }
    svg = charts.untrusted_vegalite_to_svg(json.dumps(good))
    assert svg is not None and svg.startswith("<svg")
    assert "<script" not in svg
    remote = {**good, "data": {"url": "https://evil.example/data.csv"}}
    assert charts.untrusted_vegalite_to_svg(json.dumps(remote)) is None
    local = {**good, "data": {"url": "file:///etc/passwd"}}
    assert charts.untrusted_vegalite_to_svg(local) is None
    image = {**good, "mark": {"type": "image"}, "encoding": {"url": {"value": "http://e/x.png"}}}
    assert charts.untrusted_vegalite_to_svg(image) is None
    link = {**good, "encoding": {**good["encoding"], "href": {"value": "javascript:alert(1)"}}}
    assert charts.untrusted_vegalite_to_svg(link) is None
    huge = {**good, "data": {"sequence": {"start": 0, "stop": 1e12}}}
    assert charts.untrusted_vegalite_to_svg(huge) is None
    assert charts.untrusted_vegalite_to_svg("{not json") is None
    assert charts.untrusted_vegalite_to_svg("[1, 2]") is None
    deep = "[" * 5000 + "]" * 5000
    assert charts.untrusted_vegalite_to_svg('{"a": ' + deep + "}") is None


def test_a_failed_conversion_does_not_poison_the_next() -> None:
    # vl-convert 1.9 reports this spec's error again on the following call unless flushed.
    breaking = {
        "data": {"values": [{"x": 1}]},
        "mark": "point",
        "encoding": {
            "x": {"field": "x", "type": "quantitative"},
            "href": {"value": "javascript:alert(1)"},
        },
    }
    import vl_convert

    with pytest.raises(ValueError):
        vl_convert.vegalite_to_svg(breaking, allowed_base_urls=[])
    charts._flush()
    svg = charts._convert(breaking | {"encoding": {}}, retry=False)  # the flush absorbed it
    assert svg.startswith("<svg")
    with pytest.raises(ValueError):
        charts._convert(breaking, retry=False)
    svg = charts.to_svg(charts.metric_bars(bars_frame()))
    assert svg.startswith("<svg")


@pytest.mark.parametrize(
    "module",
    [
        "nbmodelbook.report.charts",
        "nbmodelbook.report.sanitize",
        "nbmodelbook.report.render_html",
        "nbmodelbook.report.render_markdown",
        "nbmodelbook.report.formats",
    ],
)
def test_import_is_cheap(module: str) -> None:
    heavy = ["altair", "vl_convert", "pandas", "jinja2", "nh3", "markdown_it"]
    code = f"import sys, {module}; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_builders_take_plain_rows_too() -> None:
    rows = bars_frame().to_dict(orient="records")
    assert charts.metric_bars(rows).to_dict() == charts.metric_bars(bars_frame()).to_dict()
    history = history_frame().to_dict(orient="records")
    for row in history:
        if row["failed"]:
            row["value"] = None
    spec = charts.history_chart(history, "accuracy").to_dict()
    assert spec == charts.history_chart(history_frame(), "accuracy").to_dict()
    assert sum(1 for row in inline_rows(spec) if row["kind"] == "failed") == 6


def test_history_legend_lists_only_groups_with_values() -> None:
    frame = history_frame()
    frame.loc[frame["failed"], "group"] = "OnlyFailed"
    domain = charts.history_chart(frame, "accuracy").to_dict()["layer"][0]["encoding"]["color"]
    assert "OnlyFailed" not in domain["scale"]["domain"]


def test_control_characters_in_labels_do_not_abort_the_process(tmp_path: Path) -> None:
    """vl-convert aborts the whole process (a Rust panic) on a character XML cannot hold: a
    run named with a NUL must still give a report. Run apart, so an abort cannot take pytest."""
    script = tmp_path / "draw.py"
    script.write_text(
        "from tests.report.test_render import make_review\n"
        "from nbmodelbook.report.charts import untrusted_vegalite_to_svg\n"
        "from nbmodelbook.report.render_html import render_html\n"
        "html = render_html(make_review('rf\\x00\\x01\\x1f-500'))\n"
        "spec = {'data': {'values': [{'n': 'a\\x00b', 'x': 1}]}, 'mark': 'bar',\n"
        "        'encoding': {'x': {'field': 'n', 'type': 'nominal'}}}\n"
        "assert untrusted_vegalite_to_svg(spec) is not None\n"
        "print('drawn', len(html))\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("drawn")
