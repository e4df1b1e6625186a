"""HTML for the sections of the comparison widget. Pure; every value from a run is escaped.

ipywidgets inserts an HTML widget's value as markup, so nothing from a run (names, params, tags,
code, column names, error messages) reaches it unescaped; figures are `<img>` data URIs, which
cannot run script.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from html import escape

from nbmodelbook.record import RunRecord, status_failed
from nbmodelbook.report.comparison import Comparison
from nbmodelbook.report.model import MetricRow, ParamRow

STYLE = """<style>
.nbmb-compare { font-family: var(--jp-ui-font-family, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px); color: var(--jp-ui-font-color1, #000); }
.nbmb-compare h4 { margin: 14px 0 6px; font-size: 1.1em; }
.nbmb-compare table { border-collapse: collapse; margin: 4px 0; }
.nbmb-compare th, .nbmb-compare td { padding: 3px 10px; text-align: left; vertical-align: top;
  border-bottom: 1px solid var(--jp-border-color3, #eee); }
.nbmb-compare th { background: var(--jp-layout-color2, #f5f5f5); }
.nbmb-compare td.nbmb-num { text-align: right; font-variant-numeric: tabular-nums; }
.nbmb-compare .nbmb-differs { background: var(--jp-warn-color3, #fff4d6); font-weight: 600; }
.nbmb-compare .nbmb-best { font-weight: 700; color: var(--jp-success-color1, #1a7f37); }
.nbmb-compare .nbmb-delta { color: var(--jp-ui-font-color2, #555); font-size: 0.9em; }
.nbmb-compare .nbmb-muted { color: var(--jp-ui-font-color2, #555); }
.nbmb-compare .nbmb-failed { color: var(--jp-error-color1, #b00020); font-weight: 600; }
.nbmb-compare ul { margin: 4px 0; padding-left: 1.4em; }
.nbmb-compare .nbmb-figures { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.nbmb-compare .nbmb-figure-column { flex: 1 1 280px; max-width: 520px; }
.nbmb-compare .nbmb-figure-column img { max-width: 100%; height: auto;
  border: 1px solid var(--jp-border-color3, #eee); margin-bottom: 6px; background: #fff; }
</style>"""

DATA_MARKS = {"same": "✓", "unknown": "?", "different inputs": "≈"}


def _code_spans(sentence: str) -> str:
    """A sentence whose `backticked` names become <code>; all of it escaped."""
    parts = sentence.split("`")
    if len(parts) % 2 == 0:  # unbalanced: show it as plain text
        return escape(sentence)
    return "".join(
        f"<code>{escape(part)}</code>" if index % 2 else escape(part)
        for index, part in enumerate(parts)
    )


def section(title: str, body: str) -> str:
    return f'<div class="nbmb-compare"><h4>{escape(title)}</h4>{body}</div>'


def _status_text(run: RunRecord) -> str:
    status = str(run.status)
    if run.error is not None:
        return f"{status}: {run.error.type}: {run.error.message}"[:300]
    return status


def header_html(comparison: Comparison) -> str:
    from nbmodelbook.report.view import format_duration
    from nbmodelbook.widgets.columns import format_time

    items = []
    for label, run in zip(comparison.labels, comparison.runs, strict=True):
        status_class = "nbmb-failed" if status_failed(run.status) else "nbmb-muted"
        where = f"cell [{run.execution_count}]" if run.execution_count is not None else ""
        details = " · ".join(
            part
            for part in (format_time(run.started_at), format_duration(run.duration), where)
            if part and part != "—"
        )
        items.append(
            f"<li><b>{escape(label)}</b> "
            f'<span class="{status_class}">{escape(_status_text(run))}</span> '
            f'<span class="nbmb-muted">{escape(details)} · id {escape(run.run_id)}</span></li>'
        )
    reference = escape(comparison.labels[0])
    return (
        f'{STYLE}<div class="nbmb-compare"><h4>Comparing {len(comparison.runs)} runs</h4>'
        f"<ul>{''.join(items)}</ul>"
        f'<div class="nbmb-muted">Code and data are compared with the first run, '
        f"<b>{reference}</b>.</div></div>"
    )


def _header_row(first: str, labels: Sequence[str]) -> str:
    cells = "".join(f"<th>{escape(label)}</th>" for label in labels)
    return f"<tr><th>{escape(first)}</th>{cells}</tr>"


def params_html(comparison: Comparison, only_differences: bool) -> str:
    from nbmodelbook.report.view import param_cells

    rows: list[ParamRow] = comparison.params(only_differences)
    if not comparison.evidence.params:
        return (
            '<div class="nbmb-compare nbmb-params nbmb-muted">'
            "None of these runs recorded parameters.</div>"
        )
    summary = escape(comparison.params_sentence)
    if not rows:
        return f'<div class="nbmb-compare nbmb-params nbmb-muted">{summary}</div>'
    body = []
    for row in rows:
        marker = "≠ " if row.differs and not only_differences else ""
        cells = "".join(
            f'<td class="{"nbmb-differs" if row.differs else ""}">{escape(cell)}</td>'
            for cell in param_cells(row, len(comparison.runs))
        )
        body.append(f"<tr><td>{escape(marker + row.name)}</td>{cells}</tr>")
    return (
        f'<div class="nbmb-compare nbmb-params"><div class="nbmb-muted">{summary}</div>'
        f"<table>{_header_row('Parameter', comparison.labels)}{''.join(body)}</table></div>"
    )


def _delta(value: float | None, reference: float | None) -> str:
    """The change against the first run, to three significant digits: enough to compare."""
    if (
        value is None
        or reference is None
        or not (math.isfinite(value) and math.isfinite(reference))
    ):
        return ""
    change = value - reference
    if change == 0:
        return ""
    sign = "+" if change > 0 else "−"
    return f' <span class="nbmb-delta">({sign}{abs(change):.3g})</span>'


def metrics_html(comparison: Comparison) -> str:
    from nbmodelbook.report.view import format_number

    metrics: list[MetricRow] = comparison.metrics
    if not metrics:
        return '<div class="nbmb-compare nbmb-muted">None of these runs recorded metrics.</div>'
    body = []
    for row in metrics:
        direction = "lower is better" if row.lower_is_better else "higher is better"
        cells = []
        reference = row.values[0] if row.values else None
        for position, value in enumerate(row.values):
            if value is None:
                cells.append('<td class="nbmb-num nbmb-muted">(not recorded)</td>')
                continue
            best = position in row.best
            text = ("★ " if best else "") + format_number(value)
            delta = _delta(value, reference) if position else ""
            css = "nbmb-num nbmb-best" if best else "nbmb-num"
            cells.append(f'<td class="{css}">{escape(text)}{delta}</td>')
        headline = " (headline)" if row.name == comparison.headline else ""
        body.append(
            f"<tr><td>{escape(row.name + headline)} "
            f'<span class="nbmb-muted">{direction}</span></td>{"".join(cells)}</tr>'
        )
    return (
        '<div class="nbmb-compare"><div class="nbmb-muted">★ marks the best value of each '
        "metric; differences are against the first run.</div>"
        f"<table>{_header_row('Metric', comparison.labels)}{''.join(body)}</table></div>"
    )


def data_html(comparison: Comparison) -> str:
    items = []
    for difference in comparison.data:
        mark = DATA_MARKS.get(difference.kind, "⚠")
        items.append(f"<li>{escape(mark)} {_code_spans(difference.sentence)}</li>")
    return f'<div class="nbmb-compare"><ul>{"".join(items)}</ul></div>'


def figures_html(comparison: Comparison) -> str:
    if not any(comparison.figures):
        return (
            '<div class="nbmb-compare nbmb-muted">None of these runs displayed a figure '
            "(images and charts shown by a tracked cell are kept with its run).</div>"
        )
    columns = []
    for label, figures in zip(comparison.labels, comparison.figures, strict=True):
        images = "".join(
            f'<img alt="{escape(f"Figure {index} of {label}")}" src="data:{figure.image_mime};'
            f'base64,{base64.b64encode(figure.image_bytes or b"").decode("ascii")}">'
            for index, figure in enumerate(figures, start=1)
        )
        shown = images or '<div class="nbmb-muted">No figure.</div>'
        columns.append(f'<div class="nbmb-figure-column"><b>{escape(label)}</b><br>{shown}</div>')
    left_out = ""
    if comparison.figures_left_out:
        left_out = (
            f'<div class="nbmb-muted">{comparison.figures_left_out} more figure(s) not shown: '
            "too large to embed together; compare fewer runs to see them.</div>"
        )
    return (
        f'<div class="nbmb-compare"><div class="nbmb-figures">{"".join(columns)}</div>'
        f"{left_out}</div>"
    )
