"""The review renderers: content, order, determinism, safety with hostile text, speed."""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from nbmodelbook.record import CapturedOutput, RunError, RunRecord, RunStatus
from nbmodelbook.report.formats import REPORT_FORMATS, ReportFormat, get_format, register_format
from nbmodelbook.report.model import (
    Annotation,
    AnnotationKind,
    AnnotationProblem,
    DataDifference,
    Decision,
    Evidence,
    Finding,
    Methodology,
    MetricRow,
    ParamRow,
    Rejection,
    Review,
    SearchEffort,
    Severity,
    Summary,
)
from nbmodelbook.report.render_html import CSP, render_html
from nbmodelbook.report.render_markdown import md_body, md_code, md_text, render_markdown
from nbmodelbook.report.view import OPTIONAL_SECTIONS, SECTIONS

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "javascript:alert(1)",
    "[click](javascript:alert(1))",
    "<svg onload=alert(1)>",
    '<iframe src="http://evil.example/"></iframe>',
    '<a href="http://evil.example/">x</a>',
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    "</svg><script>alert(1)</script>",
    "| pipe `tick` # hash *star* {{ 7*7 }}",
]


# ---------------------------------------------------------------------------
# Review factory


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def make_run(
    index: int,
    name: str,
    *,
    status: RunStatus = RunStatus.OK,
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    **extra: Any,
) -> RunRecord:
    run_id = f"{int((T0 + index * 60) * 1000):012x}{index:020x}"
    return RunRecord(
        run_id=run_id,
        name=name,
        started_at=T0 + index * 60,
        ended_at=T0 + index * 60 + 12.5 if status is not RunStatus.RUNNING else None,
        code=f"model.fit(X, y)  # {index}",
        code_hash=f"h{index}",
        status=status,
        params=params or {},
        metrics=metrics or {},
        cell_id=extra.pop("cell_id", f"cell-{index}"),
        **extra,
    )


def _rf_params(n_estimators: int, depth: int, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": "RandomForestClassifier",
        "model.n_estimators": n_estimators,
        "model.max_depth": depth,
        "model.random_state": 0,
        "test_size": 0.2,
        **extra,
    }


def make_review(payload: str = "", extra_runs: int = 0) -> Review:
    """Two decisions, one rejection, notes, findings; `payload` planted in every text field."""
    p = payload
    vega = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": p,
        "data": {"values": [{"a": p or "x", "b": 1}, {"a": "y", "b": 2}]},
        "mark": "bar",
        "encoding": {
            "x": {"field": "a", "type": "nominal"},
            "y": {"field": "b", "type": "quantitative"},
        },
    }
    hostile_svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)">'
        f"<script>alert(1)</script><text>{p}</text></svg>"
    )
    outputs = [
        CapturedOutput("image/png", base64.b64encode(tiny_png()).decode(), 100),
        CapturedOutput("image/svg+xml", hostile_svg, len(hostile_svg)),
        CapturedOutput("application/vnd.vegalite.v5+json", json.dumps(vega), 300),
        CapturedOutput(
            "text/html",
            f'<table class="dataframe"><tr><th>{p}</th><td onclick="x()">0.91</td></tr></table>'
            '<a href="http://evil.example/">link</a><iframe src="http://evil.example/"></iframe>'
            "<script>alert(1)</script><style>body{}</style>",
            300,
        ),
        CapturedOutput("text/x-stdout", f"epoch 1 loss 0.5\n{p}\n", 40),
    ]
    chosen = make_run(
        1,
        f"random-forest{p}",
        params=_rf_params(200, 8, {f"key{p}": f"value{p}"}),
        metrics={"accuracy": 0.91, "log_loss": 0.25, f"metric{p}": 1.0},
        tags=[f"tag{p}"],
        note=f"note{p}",
        inputs={
            f"X_train{p}": {
                "kind": "DataFrame",
                "shape": [1000, 3],
                "columns": ["age", "income", f"col{p}"],
                "hash": "0123456789abcdef0123456789abcdef",
            }
        },
        outputs=outputs,
        environment={
            "python": {"version": "3.11.9", "implementation": "CPython", "platform": f"Linux{p}"},
            "packages": {"scikit-learn": "1.5.0", f"pkg{p}": f"1.0{p}"},
            "git": {"commit": "a" * 40, "dirty": True, "branch": f"main{p}", "remote": p or None},
        },
    )
    gbm = make_run(
        2,
        "gradient-boosting",
        params={
            "model": "GradientBoostingClassifier",
            "model.learning_rate": 0.1,
            "model.random_state": 0,
            "test_size": 0.2,
            f"key{p}": f"other{p}",
        },
        metrics={"accuracy": 0.89, "log_loss": 0.28},
    )
    logistic = make_run(
        3,
        "logistic",
        params={"model": "LogisticRegression", "model.C": 1.0, "test_size": 0.2},
        metrics={"accuracy": 0.85, "log_loss": 0.35},
    )
    shallow = make_run(
        4, "random-forest-shallow", params=_rf_params(200, 4, {}), metrics={"accuracy": 0.88}
    )
    failed = make_run(
        5,
        "random-forest-deep",
        status=RunStatus.ERROR,
        params=_rf_params(200, 64, {}),
        error=RunError("MemoryError", f"out of memory{p}", "Traceback..."),
    )
    interrupted = make_run(6, "svm", status=RunStatus.INTERRUPTED)
    crashed = make_run(7, "svm", status=RunStatus.CRASHED)
    runs_list = [chosen, gbm, logistic, shallow, failed, interrupted, crashed]
    families = ["RandomForestClassifier", "GradientBoostingClassifier", "LogisticRegression"]
    for extra in range(extra_runs):
        status = RunStatus.ERROR if extra % 23 == 0 else RunStatus.OK
        family = families[extra % 3]
        runs_list.append(
            make_run(
                10 + extra,
                f"sweep-{extra % 40}",
                status=status,
                params={
                    "model": family,
                    "model.n_estimators": 10 + extra,
                    "model.max_depth": extra % 12,
                    "model.random_state": 0,
                    **{f"model.p{k}": k for k in range(25)},
                },
                metrics={}
                if status is RunStatus.ERROR
                else {
                    "accuracy": 0.7 + (extra % 97) / 500,
                    "log_loss": 0.5 - (extra % 89) / 400,
                },
                tags=["sweep"],
            )
        )
    runs = {run.run_id: run for run in runs_list}

    def note(
        kind: AnnotationKind, title: str, body: str, refs: tuple[str, ...], cell: int
    ) -> Annotation:
        return Annotation(kind, title, body, refs, cell, f"c{cell}")

    family_params = [
        ParamRow(
            "model",
            ("RandomForestClassifier", "GradientBoostingClassifier", "LogisticRegression"),
            True,
        ),
        ParamRow("model.random_state", (0, 0, None), True),
        ParamRow("test_size", (0.2, 0.2, 0.2), False),
        ParamRow(f"key{p}", (f"value{p}", f"other{p}", None), True),
        ParamRow("identical_flag", (True, True, True), False),
    ]
    decision_family = Decision(
        annotation=note(
            AnnotationKind.DECISION,
            f"Which model family?{p}",
            f"We prefer **run:random-forest** over run:gradient-boosting; see [docs](https://example.org/why).\n\n{p}\n\n"
            "[bad](javascript:alert(1)) <img src=x onerror=alert(1)>",
            ("random-forest", "gradient-boosting"),
            4,
        ),
        chosen_run_id=chosen.run_id,
        alternative_run_ids=[gbm.run_id, logistic.run_id],
        headline_metric="accuracy",
        evidence=Evidence(
            run_ids=[chosen.run_id, gbm.run_id, logistic.run_id],
            params=family_params,
            metrics=[
                MetricRow("accuracy", (0.91, 0.89, 0.85), False, (0,)),
                MetricRow("log_loss", (0.25, 0.28, 0.35), True, (0,)),
            ],
            data=[DataDifference(chosen.run_id, gbm.run_id, "same", f"Same training data.{p}")],
        ),
    )
    decision_depth = Decision(
        annotation=note(
            AnnotationKind.DECISION, "Tree depth", "Depth 8 beats depth 4.", (chosen.short_id,), 6
        ),
        chosen_run_id=chosen.run_id,
        alternative_run_ids=[shallow.run_id],
        headline_metric="accuracy",
        evidence=Evidence(
            run_ids=[chosen.run_id, shallow.run_id],
            params=[
                ParamRow("model.max_depth", (8, 4), True),
                ParamRow("model.n_estimators", (200, 200), False),
            ],
            metrics=[MetricRow("accuracy", (0.91, 0.88), False, (0,))],
            missing_refs=[f"ghost{p}"],
        ),
    )
    rejection = Rejection(
        annotation=note(
            AnnotationKind.REJECTED,
            f"Logistic regression{p}",
            f"Too weak: run:logistic.{p}",
            ("logistic",),
            8,
        ),
        evidence=Evidence(
            run_ids=[logistic.run_id, chosen.run_id],
            params=[ParamRow("model", ("LogisticRegression", "RandomForestClassifier"), True)],
            metrics=[MetricRow("accuracy", (0.85, 0.91), False, (1,))],
        ),
    )
    notes = [
        note(
            AnnotationKind.RISK,
            f"Drift{p}",
            f"Income drifts. run:random-forest {p}",
            ("random-forest",),
            10,
        ),
        note(AnnotationKind.LIMITATION, "Small sample", "Only 1,000 rows.", (), 11),
        note(AnnotationKind.ASSUMPTION, "Stationarity", "We assume *stationarity*.", (), 12),
        note(AnnotationKind.RISK, "Proxy variables", "Postcode may proxy ethnicity.", (), 13),
    ]
    findings = [
        Finding("seed-unset", Severity.LOW, f"Seed not fixed{p}", f"Detail{p}", (gbm.run_id,), 3),
        Finding(
            "edited-after-run",
            Severity.HIGH,
            "Cell edited after its run",
            "The chosen cell's code changed after the run that is cited.",
            (chosen.run_id,),
            4,
        ),
        Finding(
            f"code{p}", Severity.MEDIUM, "Selected on test set", "Repeated test-set use.", (), None
        ),
    ]
    history = [run.run_id for run in sorted(runs_list, key=lambda run: run.started_at)]
    effort = SearchEffort(
        total_runs=len(runs_list),
        failed_runs=3,
        families=families,
        runs_of_chosen_family=3,
        sentence=f"The chosen model is the best of {len(runs_list)} runs of 3 model families.{p}",
    )
    return Review(
        title=f"Credit default model{p}",
        notebook=f"credit{p}.ipynb",
        summary=Summary(
            chosen_run_id=chosen.run_id,
            chosen_name=f"random-forest{p}",
            headline_metric="accuracy",
            headline_value=0.91,
            alternatives=[(gbm.run_id, 0.89), (logistic.run_id, 0.85)],
            open_risks=2,
            sentences=[f"A random forest was chosen for its accuracy.{p}"],
        ),
        decisions=[decision_family, decision_depth],
        rejections=[rejection],
        notes=notes,
        history=history,
        runs=runs,
        effort=effort,
        methodology=Methodology(
            inputs=dict(chosen.inputs),
            reproducible_code=f"import pandas as pd\nX = load()  # {p}\nmodel.fit(X, y)\n",
            lineage_cells=1,
        ),
        findings=findings,
        annotation_problems=[AnnotationProblem(14, "c14", f"Unknown kind [!RISKY]{p}")],
        chosen_run_id=chosen.run_id,
        store_location=".nbmodelbook/runs.sqlite",
    )


def empty_review() -> Review:
    return Review(
        title="Nothing yet",
        notebook="empty.ipynb",
        summary=Summary(None, None, None, None, [], 0, []),
        decisions=[],
        rejections=[],
        notes=[],
        history=[],
        runs={},
        effort=None,
        methodology=None,
        findings=[],
        annotation_problems=[],
    )


# ---------------------------------------------------------------------------
# An HTML safety audit of a whole document


DATA_IMAGE = re.compile(r"data:image/(png|jpeg|svg\+xml);base64,[A-Za-z0-9+/]*={0,2}")
FORBIDDEN_TAGS = {
    "script", "iframe", "object", "embed", "form", "svg", "math", "base", "link", "frame",
    "frameset", "applet", "input", "button", "textarea", "select", "video", "audio", "source",
    "template", "noscript", "portal",
}  # fmt: skip
FORBIDDEN_ATTRIBUTES = {
    "style",
    "srcdoc",
    "formaction",
    "action",
    "background",
    "poster",
    "xlink:href",
}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.style_text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style_text.append(data)


def audit_html(document: str) -> list[tuple[str, dict[str, str | None]]]:
    """Fail on anything that could run script, load a resource or restyle the page."""
    lowered = document.lower()
    assert "<script" not in lowered
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", document, re.IGNORECASE)
    collector = _Collector()
    collector.feed(document)
    collector.close()
    tags = collector.tags
    styles = [attrs for tag, attrs in tags if tag == "style"]
    assert len(styles) == 1, "only the report's own stylesheet"
    css = "".join(collector.style_text).lower()
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
    metas = [attrs for tag, attrs in tags if tag == "meta"]
    assert {"http-equiv": "Content-Security-Policy", "content": CSP} in metas
    assert not any(m.get("http-equiv", "") == "refresh" for m in metas)
    for tag, attrs in tags:
        assert tag not in FORBIDDEN_TAGS, tag
        for name, value in attrs.items():
            value = (value or "").strip()
            assert not name.startswith("on"), (tag, name)
            assert name not in FORBIDDEN_ATTRIBUTES, (tag, name)
            assert "javascript:" not in value.lower().replace(" ", ""), (tag, name, value)
            if name == "href":
                assert tag == "a", tag
                if value.startswith("#"):
                    assert re.fullmatch(r"#[A-Za-z0-9_.:-]+", value), value
                else:
                    # Only links a user wrote in an annotation, sanitized: never from outputs.
                    assert re.match(r"(https?://|mailto:)", value), value
                    assert attrs.get("rel") == "noopener noreferrer"
                    assert "evil" not in value, value
            elif name == "src":
                assert tag == "img", tag
                assert DATA_IMAGE.fullmatch(value), value[:80]
            elif "http" in value.lower() and not (tag == "meta" and name == "content"):
                pytest.fail(f"URL-like attribute {tag}[{name}]={value[:80]!r}")
    return tags


def chart_svgs(document: str) -> list[str]:
    """The SVG documents of our own charts (their <img> alt text describes the chart)."""
    found = []
    for match in re.finditer(
        r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]*)">', document
    ):
        if match.group(2).startswith(("Bar chart", "accuracy of every run", "accuracy against")):
            found.append(base64.b64decode(match.group(1)).decode("utf-8"))
    return found


def assert_inert_svg(svg: str) -> None:
    root = ET.fromstring(svg)
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1].lower()
        assert local not in {"script", "foreignobject", "iframe", "a"}, local
        for name in element.attrib:
            assert not name.rsplit("}", 1)[-1].lower().startswith("on"), name


@pytest.fixture(scope="module")
def review() -> Review:
    return make_review()


@pytest.fixture(scope="module")
def html(review: Review) -> str:
    return render_html(review)


# ---------------------------------------------------------------------------
# HTML content


def test_sections_in_order(html: str) -> None:
    shown = [(a, h) for a, h in SECTIONS if a not in OPTIONAL_SECTIONS]
    positions = [html.index(f'<section class="section" id="{anchor}">') for anchor, _ in shown]
    assert positions == sorted(positions)
    headings = re.findall(r"<h2>(\d+)\. ([^<]+)</h2>", html)
    assert [heading for _, heading in headings] == [heading for _, heading in shown]
    assert [int(n) for n, _ in headings] == list(range(1, len(shown) + 1))


def test_summary_is_first_and_complete(html: str, review: Review) -> None:
    summary = html[html.index('id="summary"') : html.index('id="decisions"')]
    assert "chose <strong>random-forest</strong>" in summary
    assert "It is judged mainly on <strong>accuracy</strong> (higher is better)" in summary
    assert '<span class="best">0.91</span> <span class="best-mark">best</span>' in summary
    assert "0.89" in summary and "0.85" in summary
    assert "The chosen model is the best of 7 runs of 3 model families." in summary
    # The risks by name, and a line for each finding that needs an answer.
    assert "<li><strong>Risk:</strong> Drift</li>" in summary
    assert "<li><strong>Limitation:</strong> Small sample</li>" in summary
    assert "Cell edited after its run" in summary and "Selected on test set" in summary
    assert "Seed not fixed" not in summary  # low-severity findings stay in the audit section
    assert "1 high-severity, 1 medium-severity, 1 low-severity</strong> findings" in summary


def _section(html: str, anchor: str) -> str:
    anchors = [a for a, _ in SECTIONS if f'<section class="section" id="{a}">' in html]
    start = html.index(f'id="{anchor}"')
    following = anchors.index(anchor) + 1
    end = html.index(f'id="{anchors[following]}"') if following < len(anchors) else len(html)
    return html[start:end]


def test_decision_shows_only_differing_params(html: str) -> None:
    decision = html[html.index('id="decision-1"') : html.index('id="decision-2"')]
    visible, _, details = decision.partition("<details>")
    table = visible[visible.index("Parameters that differ") :]
    assert "<code>model</code>" in table and "<code>model.random_state</code>" in table
    assert "test_size" not in table and "identical_flag" not in table
    assert (
        "1 of the 3 shared parameters differs, 2 are identical; 2 more are set by random-forest "
        "and gradient-boosting only." in visible
    )
    full = details[: details.index("</details>")]
    assert "All 5 parameters" in full
    assert "<code>test_size</code>" in full and "<code>identical_flag</code>" in full
    assert "(not set)" in table  # logistic has no random_state


def test_metrics_side_by_side_best_marked(html: str) -> None:
    decision = html[html.index('id="decision-1"') : html.index('id="decision-2"')]
    metrics = decision[decision.index("<h5>Metrics") :]
    row = re.search(r"<tr><th scope=\"row\"><code>log_loss</code>.*?</tr>", metrics).group(0)
    assert "lower is better" in row
    assert '<span class="best">0.25</span> <span class="best-mark">best</span>' in row
    assert row.count("best-mark") == 1
    assert "0.28" in row and "0.35" in row
    assert 'alt="Bar chart of accuracy, log_loss' in decision
    assert "Same training data." in decision


def test_decision_rationale_rendered_with_run_links(html: str, review: Review) -> None:
    decision = html[html.index('id="decision-1"') : html.index('id="decision-2"')]
    chosen = review.runs[review.chosen_run_id or ""]
    link = f'<a href="#run-{chosen.short_id}" rel="noopener noreferrer">run:random-forest</a>'
    assert f"<strong>{link}</strong>" in decision
    assert '<a href="https://example.org/why" rel="noopener noreferrer">docs</a>' in decision
    assert "&lt;img src=x onerror=alert(1)&gt;" in decision
    # depth decision cites a short id: resolved; a missing ref is reported
    depth = html[html.index('id="decision-2"') : html.index('id="rejected"')]
    assert "Cited but not found" in depth and "ghost" in depth


def test_rejection_and_notes(html: str) -> None:
    rejected = _section(html, "rejected")
    assert "Logistic regression" in rejected and "Too weak" in rejected
    risks = _section(html, "risks")
    order = [risks.index(label) for label in ("<h3>Risks", "<h3>Limitations", "<h3>Assumptions")]
    assert order == sorted(order)
    assert "Drift" in risks and "Proxy variables" in risks and "<em>stationarity</em>" in risks
    assert 'cites <a href="#run-' in risks


def test_history_all_runs_in_time_order_failed_marked(html: str, review: Review) -> None:
    history = _section(html, "history")
    rows = re.findall(
        r"<tr(?: class=\"chosen-row\")?><td class=\"num\">(\d+)</td>(.*?)</tr>", history
    )
    assert [int(n) for n, _ in rows] == list(range(1, len(review.runs) + 1))
    started = re.findall(r'<td class="mono">(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)</td>', history)
    assert started == sorted(started) and started[0] == "2023-11-14T22:14:20Z"
    assert '<td class="status-failed">FAILED</td>' in history
    assert '<td class="status-failed">INTERRUPTED</td>' in history
    assert '<td class="status-failed">CRASHED</td>' in history
    assert "3 failed, were interrupted or crashed" in history
    assert 'alt="accuracy of every run over time, failed runs marked"' in history
    assert "12.5 s" in history


def test_methodology_performance_appendix(html: str, review: Review) -> None:
    methodology = _section(html, "methodology")
    assert "<code>X_train</code>" in methodology and "1,000 × 3" in methodology
    assert "0123456789abcdef<" in methodology and "0123456789abcdef0" not in methodology
    assert "<pre><code>import pandas as pd" in methodology
    performance = _section(html, "performance")
    assert performance.count('src="data:image/png;base64,') == 1
    assert performance.count('src="data:image/svg+xml;base64,') == 2  # captured SVG + Vega-Lite
    assert "<th>x</th>" not in performance and "<td>0.91</td>" in performance
    assert "epoch 1 loss 0.5" in performance
    appendix = _section(html, "appendix")
    assert "3.11.9" in appendix and "a" * 40 in appendix and "scikit-learn" in appendix
    assert "Uncommitted changes</th><td>yes" in appendix
    for run in review.runs.values():
        assert f'<tr id="run-{run.short_id}"' in appendix
    assert "MemoryError: out of memory" in appendix
    assert "model.max_depth=8" in appendix


def test_audit_findings_most_severe_first(html: str, review: Review) -> None:
    audit = _section(html, "audit")
    high = audit.index("badge-high")
    assert high < audit.index("badge-medium") < audit.index("badge-low")
    assert "Cell edited after its run" in audit and "Notebook cell 5" in audit
    chosen = review.runs[review.chosen_run_id or ""]
    assert f'<a href="#run-{chosen.short_id}">random-forest ({chosen.short_id})</a>' in audit
    assert "Unknown kind [!RISKY]" in audit


def test_every_run_link_has_a_target(html: str) -> None:
    targets = set(re.findall(r'id="([^"]+)"', html))
    for link in re.findall(r'href="#([^"]+)"', html):
        assert link in targets, link


def test_document_is_inert(html: str) -> None:
    audit_html(html)
    for svg in chart_svgs(html):
        assert_inert_svg(svg)
    assert len(chart_svgs(html)) >= 3


def test_deterministic_bytes(review: Review, html: str) -> None:
    assert render_html(review) == html
    assert render_html(make_review()) == html


def test_deterministic_across_processes(tmp_path: Path) -> None:
    script = tmp_path / "render.py"
    script.write_text(
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('tr', {str(Path(__file__))!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "from nbmodelbook.report.render_html import render_html\n"
        "sys.stdout.buffer.write(render_html(module.make_review()).encode())\n"
    )
    outputs = [
        subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            check=True,
            env={"TZ": tz, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path.cwd())},
            timeout=120,
        ).stdout
        for tz in ("UTC", "America/New_York")
    ]
    assert outputs[0] == outputs[1]
    assert outputs[0].decode() == render_html(make_review())


def test_empty_review() -> None:
    document = render_html(empty_review())
    audit_html(document)
    assert "No model is marked as chosen" in document
    assert "The integrity audit found no problems." in document
    assert "The notebook documents no risks, limitations or assumptions." in document
    assert "No decision is documented" in document


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_everywhere_html(payload: str) -> None:
    review = make_review(payload)
    document = render_html(review)
    audit_html(document)
    for svg in chart_svgs(document):
        assert_inert_svg(svg)
    # The text is shown, escaped, not silently dropped (title, run name, param key, note).
    from markupsafe import escape

    shown = str(escape(payload))
    assert f"<h1>Credit default model{shown}</h1>" in document
    assert f"key{shown}" in document and f"note{shown}" in document
    assert "49" not in re.sub(r"[0-9a-f]{12,}", "", document.split("<style>")[0])  # no templating


def test_run_name_cannot_escape_a_chart() -> None:
    review = make_review("</svg><script>alert(1)</script>")
    document = render_html(review)
    svgs = chart_svgs(document)
    assert svgs
    for svg in svgs:
        assert_inert_svg(svg)
    assert any("&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in svg for svg in svgs)


def test_unknown_output_kinds_degrade() -> None:
    review = make_review()
    chosen = review.runs[review.chosen_run_id or ""]
    chosen.outputs = [
        CapturedOutput("image/png", base64.b64encode(b"GIF89a not a png").decode(), 20),
        CapturedOutput("image/png", "%%% not base64 %%%", 20),
        CapturedOutput("image/svg+xml", "<html><script>alert(1)</script></html>", 40),
        CapturedOutput(
            "application/vnd.vegalite.v5+json",
            json.dumps({"data": {"url": "https://evil.example/d.csv"}, "mark": "point"}),
            80,
        ),
        CapturedOutput("application/vnd.vegalite.v5+json", "{not json", 9),
        CapturedOutput("image/png", "summary text <b>", 9_000_000, truncated=True),
    ]
    document = render_html(review)
    audit_html(document)
    performance = _section(document, "performance")
    assert "not a valid image" in performance
    assert "not a valid SVG image" in performance
    assert performance.count("could not be drawn offline") == 2
    assert "Output too large to keep (9,000,000 bytes of image/png)" in performance
    assert "summary text &lt;b&gt;" in performance
    assert "data:image" not in performance


def test_thousand_runs_fast() -> None:
    review = make_review(extra_runs=1000)
    render_html(make_review())  # warm: chart engine started once per process
    start = time.perf_counter()
    document = render_html(review)
    elapsed = time.perf_counter() - start
    print(f"\nrender_html with {len(review.runs)} runs: {elapsed:.3f} s, {len(document):,} chars")
    assert elapsed < 5.0
    assert document.count('<tr id="run-') == len(review.runs)
    start = time.perf_counter()
    text, _ = render_markdown(review, Path("big_files"))
    print(f"render_markdown with {len(review.runs)} runs: {time.perf_counter() - start:.3f} s")
    assert time.perf_counter() - start < 5.0
    assert text.count('<a id="run-') == len(review.runs)


# ---------------------------------------------------------------------------
# Markdown


def test_markdown_sections_images_and_determinism(review: Review) -> None:
    text, files = render_markdown(review, Path("credit.review_files"))
    headings = re.findall(r"^## (\d+)\. (.+)$", text, re.MULTILINE)
    assert [h for _, h in headings] == [h for a, h in SECTIONS if a not in OPTIONAL_SECTIONS]
    assert "chart-decision-1.svg" in " ".join(files)
    assert sorted(files) == list(files)
    for name, data in files.items():
        assert name.startswith("credit.review_files/")
        assert f"]({name})" in text
        if name.endswith(".svg"):
            assert_inert_svg(data.decode())
        else:
            assert data.startswith(b"\x89PNG")
    assert "credit.review_files/figure-1.png" in files
    assert render_markdown(review, Path("credit.review_files")) == (text, files)
    assert "| `log_loss` | lower is better | **0.25** (best) | 0.28 | 0.35 |" in text
    assert "\n1 of the 3 shared parameters differs, 2 are identical; 2 more are set by" in text
    assert "**FAILED**" in text and "**INTERRUPTED**" in text and "**CRASHED**" in text
    assert "The integrity audit found no problems." not in text


def test_markdown_without_image_dir_is_self_contained(review: Review) -> None:
    text, files = render_markdown(review, None)
    assert files == {}
    assert '<img alt="Bar chart of accuracy' in text and "data:image/svg+xml;base64," in text


def outside_code_blocks(markdown: str) -> str:
    """The Markdown without its fenced code blocks (where text is literal by design)."""
    kept, fence = [], None
    for line in markdown.splitlines():
        match = re.match(r"^(`{3,})", line)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            kept.append(line)
    assert fence is None, "unclosed code block"
    # Inline code spans are literal text too (`md_code` keeps `<` and `&` out of them).
    return re.sub(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", "CODE", "\n".join(kept))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_everywhere_markdown(payload: str) -> None:
    full, _ = render_markdown(make_review(payload), Path("r_files"))
    text = outside_code_blocks(full)
    assert len(text) < len(full)
    assert "<script" not in text.lower()
    assert "<iframe" not in text.lower() and "<svg" not in text.lower()
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", text, re.IGNORECASE)
    assert not re.search(r"(?<!\\)\]\(\s*<?\s*javascript:", text, re.IGNORECASE)
    assert not re.search(r"<a\s+href", text, re.IGNORECASE)
    # Our raw HTML: anchors, details, images (data URIs / files) and the sanitized output tables.
    raw_tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", text))
    assert raw_tags <= {
        "a",
        "details",
        "summary",
        "img",
        "div",
        "table",
        "tbody",
        "tr",
        "th",
        "td",
        "thead",
    }
    for src in re.findall(r'<img alt="[^"]*" src="([^"]*)"', text):
        assert DATA_IMAGE.fullmatch(src)
    for match in re.finditer(r"<a ([^>]*)>", text):
        assert re.fullmatch(r'id="run-[0-9a-f]+"', match.group(1)), match.group(0)


def test_markdown_escaping() -> None:
    assert md_text("a|b") == "a\\|b"
    assert md_text("# title") == "\\# title"
    assert md_text("`x`") == "\\`x\\`"
    assert md_text("<b>&") == "&lt;b&gt;&amp;"
    assert md_text("1. item") == "1\\. item"
    assert md_text("- item") == "\\- item"
    assert md_text("[x](javascript:alert(1))") == "\\[x\\](javascript:alert(1))"
    assert md_text("two\nlines") == "two lines"
    assert md_code("a`b") == "`` a`b ``"
    assert md_code("<b>") == "&lt;b&gt;"
    body = md_body(
        "# Head\n<script>x</script>\n[a](javascript:alert(1)) [b](https://ok.example)\n"
        "```\n<kept in code>\n```\n![i](http://track.example/p.png)\n[r]: javascript:x"
    )
    assert body.startswith("> # Head")
    assert "&lt;script>" in body and "<script" not in body
    assert "[a\\](javascript:" in body and "[b](https://ok.example)" in body
    assert "> <kept in code>" in body
    assert "\\![i](http://track.example/p.png)" in body
    assert "[r\\]: javascript:x" in body
    unclosed = md_body("```\n<script>")
    assert unclosed.endswith("> ```")


def test_markdown_table_cells_escape_pipes() -> None:
    review = make_review("|x|")
    text, _ = render_markdown(review, None)
    for line in text.splitlines():
        if line.startswith("| `key"):
            assert "\\|x\\|" in line


# ---------------------------------------------------------------------------
# Formats


def test_format_registry_writes_files(tmp_path: Path, review: Review) -> None:
    assert REPORT_FORMATS["html"].suffix == ".review.html"
    assert REPORT_FORMATS["md"].suffix == ".review.md"
    html_format = get_format("html")
    out = html_format.path_for("nb/credit.ipynb", tmp_path)
    assert out == tmp_path / "credit.review.html"
    assert html_format.render(review, out) == [out]
    assert out.read_text(encoding="utf-8") == render_html(review)
    md_out = tmp_path / "credit.review.md"
    written = REPORT_FORMATS["md"].render(review, md_out)
    assert written[0] == md_out and len(written) > 1
    assert all(path.exists() for path in written)
    assert (tmp_path / "credit.review_files" / "chart-decision-1.svg").exists()
    assert not list(tmp_path.glob("**/*.tmp"))
    with pytest.raises(ValueError, match="unknown report format"):
        get_format("rtf")


def test_register_format() -> None:
    def render(review: Review, out_path: Path) -> list[Path]:
        return [out_path]

    custom = ReportFormat("txt-test", ".review.txt", "test", render)
    try:
        assert register_format(custom) is custom
        assert REPORT_FORMATS["txt-test"] is custom
        with pytest.raises(ValueError, match="already registered"):
            register_format(custom)
        register_format(custom, replace=True)
    finally:
        REPORT_FORMATS.pop("txt-test", None)


def test_templates_ship_in_the_package() -> None:
    from importlib.resources import files

    folder = files("nbmodelbook.report") / "templates"
    names = {entry.name for entry in folder.iterdir()}
    assert {"review.html.j2", "macros.html.j2", "review.css"} <= names


def test_run_refs_follow_the_builders_resolution() -> None:
    """`run:NAME` for a name several runs share links to the run `resolve_ref` picks."""
    from nbmodelbook.report.resolve import resolve_ref

    review = make_review()
    again = make_run(
        8, "logistic", params={"model": "LogisticRegression"}, metrics={"accuracy": 0.8}
    )
    review.runs[again.run_id] = again
    review.history.append(again.run_id)
    document = render_html(review)
    target = review.runs[resolve_ref("logistic", review.runs) or ""]
    assert target is again
    rejected = _section(document, "rejected")
    assert f'<a href="#run-{again.short_id}" rel="noopener noreferrer">run:logistic</a>' in rejected


def test_odd_and_partial_reviews_still_render() -> None:
    """Missing pieces everywhere: the report says so instead of failing."""
    review = make_review()
    chosen = review.runs[review.chosen_run_id or ""]
    chosen.environment = {}
    chosen.outputs = [CapturedOutput("text/x-stdout", "tail of a long log", 90_000, truncated=True)]
    odd = make_run(9, "odd", status=RunStatus.RUNNING)
    odd.status = "paused"  # type: ignore[assignment]  # a status this version does not know
    odd.started_at = float("nan")
    review.runs[odd.run_id] = odd
    review.history.append("not-a-run")
    review.decisions[0].chosen_run_id = None
    review.decisions[0].evidence = Evidence(run_ids=[], missing_refs=["ghost"])
    review.decisions[1].evidence.params.append(ParamRow("short_row", (1,), True))
    review.decisions[1].evidence.metrics.append(MetricRow("short", (), False, ()))
    review.summary.headline_metric = None
    review.methodology = Methodology(inputs={}, reproducible_code="", lineage_cells=0)
    review.findings = [Finding("x", Severity.LOW, "t", "d")]
    document = render_html(review)
    audit_html(document)
    assert "No runs are cited as evidence." in document
    assert "no run named as chosen" in document
    assert "No package versions were recorded." in document
    assert "Printed output was cut: the last 18 of 90,000 characters are kept." in document
    assert ">paused<" in document and "not-a-run" not in document
    text, _ = render_markdown(review, Path("odd_files"))
    assert "*No runs are cited as evidence.*" in text


def test_sweep_charts_when_one_parameter_varies() -> None:
    review = make_review()
    chosen = review.runs[review.chosen_run_id or ""]
    sweep = [
        make_run(
            20 + k,
            chosen.name,
            params={**chosen.params, "model.n_estimators": n},
            metrics={"accuracy": 0.85 + k / 100, "log_loss": float("inf")},
            cell_id=chosen.cell_id,
        )
        for k, n in enumerate((10, 50, 100))
    ]
    for run in sweep:
        review.runs[run.run_id] = run
        review.history.append(run.run_id)
    review.rejections[0].evidence = Evidence(
        run_ids=[chosen.run_id, *(run.run_id for run in sweep)],
        params=[ParamRow("model.n_estimators", (200, 10, 50, 100), True)],
        metrics=[MetricRow("accuracy", (0.91, 0.85, 0.86, 0.87), False, (0,))],
    )
    document = render_html(review)
    history = _section(document, "history")
    assert 'alt="accuracy against model.n_estimators for 4 runs"' in history
    rejected = _section(document, "rejected")
    assert 'alt="accuracy against model.n_estimators for 4 runs"' in rejected
    for svg in chart_svgs(document):
        assert_inert_svg(svg)


def test_a_markdown_output_full_of_markup_is_shown_as_text() -> None:
    """Rendering 2 MB of brackets as Markdown took about a minute: past the bound it is text."""
    from nbmodelbook.report.view import MAX_OUTPUT_MARKUP, figure_of

    heavy = CapturedOutput("text/markdown", "[" * (MAX_OUTPUT_MARKUP + 1), MAX_OUTPUT_MARKUP + 1)
    figure = figure_of(heavy)
    assert figure.kind == "text" and figure.text == heavy.data
    assert figure.note is not None and "too much markup" in figure.note
    light = figure_of(CapturedOutput("text/markdown", "**bold** [x](https://example.org)", 9))
    assert light.kind == "markdown" and "<strong>bold</strong>" in (light.html or "")
