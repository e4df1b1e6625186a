"""Review -> GitHub-flavoured Markdown, with its images returned as files to write beside it.

Same content and order as the HTML report, and inert in renderers that pass raw HTML through
(GitHub, JupyterLab, nbconvert). Untrusted text is escaped for Markdown (`\\|`, `\\*`, `\\``, a
leading `#`, `<` as `&lt;`...); code goes in fences longer than any backtick run inside.
Annotation bodies stay Markdown (the modeller's formatting survives) inside a block quote: they
are parsed and written out again as inert Markdown (`safe_markdown`), never patched as text.
Our own charts are written as SVG files; figures a run captured are written as PNG/JPEG files
(checked), while captured SVG and Vega-Lite figures, which are untrusted vector documents, are
embedded as `<img src="data:...">` so they never exist as a stand-alone file a browser would
open (and run) directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from nbmodelbook.record import RunStatus
from nbmodelbook.report.model import Annotation, Evidence, ParamRow, Review
from nbmodelbook.report.render_html import (
    SECTIONS,
    ChartImage,
    ReviewContext,
    RunRef,
    environment_view,
    format_duration,
    format_number,
    format_time,
    format_value,
    is_failed,
    kind_heading,
    pad,
    param_cells,
    status_of,
    status_text,
)

__all__ = ["md_code", "md_text", "render_markdown"]

_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]{}|~$!#])")
# What would start a list item, a thematic break or a setext underline at the start of a line.
_LINE_START = re.compile(r"^(\d{0,9})([.)]|(?<![0-9])[-+])(?=\s|$)|^()([-=])(?=[-=\s]*$)")
_IMAGE_EXT = {"image/png": "png", "image/jpeg": "jpg"}


def md_text(text: object) -> str:
    """Untrusted text as inline Markdown that renders as exactly that text, on one line."""
    value = " ".join(str(text).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _INLINE_SPECIAL.sub(r"\\\1", value)
    return _LINE_START.sub(lambda m: (m.group(1) or "") + "\\" + (m.group(2) or m.group(4)), value)


def md_code(text: object) -> str:
    """Untrusted text as an inline code span (a fence longer than any backtick run inside).

    Text holding `<` or `&` is given as escaped plain text instead: inside a code span it would
    have to stay raw, and a non-CommonMark consumer could take it for markup.
    """
    value = " ".join(str(text).split())
    if not value:
        return ""
    if "<" in value or "&" in value:
        return md_text(value)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or longest else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def md_cell(text: str) -> str:
    """Content for a GFM table cell: `|` escaped (also inside code spans, as GFM requires)."""
    return text.replace("|", "\\|")


def code_block(code: str, language: str = "") -> str:
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.rstrip()}\n{fence}"


def _table(
    header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()
) -> str:
    align = ["---:" if index in numeric else "---" for index in range(len(header))]
    lines = [
        "| " + " | ".join(md_cell(cell) for cell in header) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines.extend("| " + " | ".join(md_cell(cell) for cell in row) + " |" for row in rows)
    return "\n".join(lines)


def md_body(
    markdown: str, run_links: Mapping[str, str] | None = None, heading_offset: int = 0
) -> str:
    """An annotation body as a block quote of inert Markdown (see `safe_markdown`)."""
    from nbmodelbook.report.safe_markdown import safe_markdown

    text = safe_markdown(markdown, run_links, heading_offset)
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n")) if text else ""


class _Writer:
    def __init__(self, review: Review, image_dir: Path | None) -> None:
        self.review = review
        self.ctx = ReviewContext(review)
        self.image_dir = PurePosixPath(image_dir.as_posix()) if image_dir is not None else None
        self.files: dict[str, bytes] = {}
        self.out: list[str] = []

    # -- helpers -------------------------------------------------------------

    def add(self, *blocks: str) -> None:
        self.out.extend(block for block in blocks if block)

    def link(self, ref: RunRef) -> str:
        if ref.anchor is None:
            return md_text(ref.label) + " (not a run of this notebook)"
        return f"[{md_text(ref.label)}](#{ref.anchor})"

    def links(self, refs: Sequence[RunRef], empty: str = "none") -> str:
        return ", ".join(self.link(ref) for ref in refs) if refs else f"*{empty}*"

    def image(self, name: str, mime: str, data: bytes, alt: str) -> str:
        from nbmodelbook.report.sanitize import image_data_uri

        extension = {"image/svg+xml": "svg", **_IMAGE_EXT}[mime]
        if self.image_dir is None:
            return f'<img alt="{_attr(alt)}" src="{image_data_uri(mime, data)}">'
        path = str(self.image_dir / f"{name}.{extension}")
        self.files[path] = data
        return f"![{md_text(alt)}]({_url_path(path)})"

    def chart(self, chart: ChartImage | None, caption: str) -> None:
        if chart is not None:
            self.add(
                self.image(chart.name, "image/svg+xml", chart.svg.encode("utf-8"), chart.alt),
                f"*{md_text(caption)}*",
            )

    def body(self, annotation: Annotation, empty: str) -> str:
        if not annotation.body.strip():
            return f"*{empty}*"
        return md_body(annotation.body, self.ctx.run_links(annotation.refs), heading_offset=3)

    # -- sections --------------------------------------------------------------

    def render(self) -> str:
        review, ctx = self.review, self.ctx
        runs = len(ctx.order)
        self.add(
            f"# {md_text(review.title)} — model review",
            f"Model review of notebook {md_code(review.notebook)}"
            + (f" · runs from {md_code(review.store_location)}" if review.store_location else "")
            + f" · {runs} recorded run{'s' if runs != 1 else ''}",
            "**Contents:** "
            + " · ".join(
                f"[{number}. {heading}](#{_slug(f'{number}. {heading}')})"
                for number, (_anchor, heading) in enumerate(SECTIONS, start=1)
            ),
        )
        for number, (anchor, heading) in enumerate(SECTIONS, start=1):
            self.add(f"## {number}. {heading}")
            getattr(self, f"_{anchor}")()
        self.add(
            "---",
            f"*Generated by nbmodelbook from {md_code(review.notebook)}. "
            "Cell numbers count the notebook's cells from 1, top to bottom.*",
        )
        return "\n\n".join(self.out) + "\n"

    def _summary(self) -> None:
        ctx, summary = self.ctx, self.review.summary
        headline = summary.headline_metric
        if summary.chosen_run_id:
            chosen = ctx.ref(summary.chosen_run_id)
            name = summary.chosen_name or chosen.label
            self.add(f"**The notebook's authors chose {md_text(name)}** (run {self.link(chosen)}).")
            if headline:
                self.add(
                    f"It is judged mainly on **{md_text(headline)}** ({ctx.direction(headline)}),"
                    f" where it scores **{format_number(summary.headline_value)}**."
                )
        else:
            self.add(
                "**No model is marked as chosen in this notebook.** "
                "The rest of this report shows what was tried."
            )
        rows: list[tuple[RunRef, float | None, bool]] = []
        if summary.chosen_run_id:
            rows.append((ctx.ref(summary.chosen_run_id), summary.headline_value, True))
        rows.extend((ctx.ref(run_id), value, False) for run_id, value in summary.alternatives)
        if headline and rows:
            finite = [value for _, value, _ in rows if isinstance(value, int | float)]
            best = None
            if finite:
                best = min(finite) if ctx.lower_is_better(headline) else max(finite)
            table = [
                (
                    self.link(ref) + (" (chosen)" if chosen_row else ""),
                    _best(format_number(value), best is not None and value == best),
                )
                for ref, value, chosen_row in rows
            ]
            self.add(_table(["Model", md_text(headline)], table, numeric=[1]))
        self.add(*(md_text(sentence) for sentence in summary.sentences))
        effort = self.review.effort
        counts = ctx.finding_counts()
        audit = (
            ", ".join(f"{count} {severity}-severity" for severity, count in counts)
            + f" finding{'s' if len(self.review.findings) != 1 else ''} (section 8)"
            if counts
            else "no findings"
        )
        facts = [
            "**At a glance**",
            "- Experiments behind this choice: "
            + (md_text(effort.sentence) if effort else f"{len(ctx.order)} recorded runs."),
            f"- Decisions documented: {len(self.review.decisions)}; "
            f"alternatives explicitly rejected: {len(self.review.rejections)}.",
            f"- Open risks written down by the authors: **{summary.open_risks}** (section 7).",
            f"- Integrity audit: {audit}.",
        ]
        self.add("\n".join(facts))

    def _evidence(self, evidence: Evidence, name: str, title: str, chosen: str | None) -> None:
        ctx = self.ctx
        refs = [ctx.ref(run_id) for run_id in evidence.run_ids]
        missing = evidence.missing_refs
        if missing:
            self.add(
                "**Cited but not found** among this notebook's runs: "
                + ", ".join(md_code(f"run:{ref}") for ref in missing)
            )
        if not refs:
            self.add("*No runs are cited as evidence.*")
            return
        header = [self.link(ref) + (" (chosen)" if ref.run_id == chosen else "") for ref in refs]

        def param_rows(rows: Iterable[ParamRow], same: bool) -> list[list[str]]:
            return [
                [md_code(row.name)]
                + [md_text(cell) for cell in param_cells(row, len(refs))]
                + (["no" if row.differs else "yes"] if same else [])
                for row in rows
            ]

        self.add(f"**Compared runs:** {self.links(refs)}", "#### Parameters that differ")
        sentence = md_text(ctx.params_sentence(evidence))
        self.add(sentence if evidence.params else f"*{sentence}*")
        differing = evidence.compared_params
        if differing:
            self.add(_table(["Parameter", *header], param_rows(differing, False)))
        if len(differing) < len(evidence.params):
            self.add(
                f"<details>\n<summary>All {len(evidence.params)} parameters</summary>",
                _table(["Parameter", *header, "Same in all?"], param_rows(evidence.params, True)),
                "</details>",
            )
        self.add("#### Metrics")
        if evidence.metrics:
            rows = []
            for row in evidence.metrics:
                cells = [
                    _best(format_number(value), position in row.best)
                    for position, value in enumerate(pad(row.values, len(refs)))
                ]
                direction = "lower is better" if row.lower_is_better else "higher is better"
                label = md_code(row.name) + (" (headline)" if row.name == ctx.headline else "")
                rows.append([label, direction, *cells])
            numeric = list(range(2, 2 + len(refs)))
            self.add(_table(["Metric", "Direction", *header], rows, numeric=numeric))
            self.chart(
                ctx.evidence_chart(evidence, f"chart-{name}", title),
                "Metrics of the compared runs; the best value of each metric is highlighted.",
            )
            self.chart(
                ctx.sweep_chart(evidence.run_ids, f"chart-{name}-sweep", ctx.headline),
                "The headline metric against the one parameter that varies across these runs.",
            )
        else:
            self.add("*The compared runs share no recorded metric.*")
        if evidence.data:
            self.add(
                "#### Data",
                "\n".join(f"- {md_text(difference.sentence)}" for difference in evidence.data),
            )

    def _decisions(self) -> None:
        ctx = self.ctx
        if not self.review.decisions:
            self.add("*No decision is documented in the notebook.*")
        for number, decision in enumerate(self.review.decisions, start=1):
            annotation = decision.annotation
            self.add(
                f"### Decision {number}: {md_text(annotation.title or f'Decision {number}')}",
                f"*Written in notebook cell {annotation.cell_index + 1}.*",
            )
            chosen = (
                self.link(ctx.ref(decision.chosen_run_id))
                if decision.chosen_run_id
                else "*no run named as chosen*"
            )
            alternatives = self.links(
                [ctx.ref(run_id) for run_id in decision.alternative_run_ids], "none cited"
            )
            lines = [f"- **Chosen:** {chosen}", f"- **Alternatives:** {alternatives}"]
            if decision.headline_metric:
                lines.append(f"- **Judged on:** {md_code(decision.headline_metric)}")
            self.add(
                "\n".join(lines),
                "#### Rationale",
                self.body(annotation, "No rationale was written."),
            )
            self.add("#### Evidence")
            self._evidence(
                decision.evidence,
                f"decision-{number}",
                f"decision {number}",
                decision.chosen_run_id,
            )

    def _rejected(self) -> None:
        if not self.review.rejections:
            self.add("*No rejected alternative is documented in the notebook.*")
        for number, rejection in enumerate(self.review.rejections, start=1):
            annotation = rejection.annotation
            self.add(
                f"### {md_text(annotation.title or f'Rejected alternative {number}')}",
                f"*Written in notebook cell {annotation.cell_index + 1}.*",
                *(
                    ["#### Reason", self.body(annotation, "No reason was written.")]
                    if annotation.body.strip() or not annotation.title
                    else []
                ),
                "#### Evidence",
            )
            self._evidence(rejection.evidence, f"rejection-{number}", f"rejection {number}", None)

    def _history(self) -> None:
        ctx = self.ctx
        if self.review.effort is not None:
            self.add(md_text(self.review.effort.sentence))
        failed = sum(1 for run_id in ctx.order if is_failed(ctx.runs[run_id]))
        runs = len(ctx.order)
        self.add(
            f"{runs} run{'s' if runs != 1 else ''} in time order"
            + (f", of which **{failed} failed, were interrupted or crashed**" if failed else "")
            + ". Times are UTC."
        )
        self.chart(
            ctx.history_chart(),
            "Every run's headline metric over time. Failed runs have no value and are marked on "
            "the time axis.",
        )
        self.chart(
            ctx.history_sweep_chart(),
            "The chosen cell's runs: the headline metric against the one parameter they vary.",
        )
        if not ctx.order:
            self.add("*No runs were recorded for this notebook.*")
            return
        rows = []
        for position, run_id in enumerate(ctx.order, start=1):
            run = ctx.runs[run_id]
            status = status_text(run)
            if is_failed(run) or status_of(run) is RunStatus.RUNNING:
                status = f"**{status}**"
            name = f"[{md_text(run.name)}](#{ctx.anchors[run_id]}) {md_code(run.short_id)}"
            if run_id == ctx.chosen_id:
                name += " (chosen)"
            rows.append(
                [
                    str(position),
                    name,
                    status,
                    format_time(run.started_at),
                    md_text(format_duration(run.duration)),
                    md_text(ctx.headline_value(run)),
                ]
            )
        headline = md_text(ctx.headline) if ctx.headline else "Headline metric"
        self.add(
            _table(["#", "Run", "Status", "Started (UTC)", "Duration", headline], rows, [0, 4, 5])
        )

    def _methodology(self) -> None:
        methodology = self.review.methodology
        if methodology is None:
            self.add("*No methodology could be assembled: no run is marked as chosen.*")
            return
        self.add("### Data used by the chosen run")
        if methodology.inputs:
            rows = []
            for name in sorted(methodology.inputs):
                fp = methodology.inputs[name]
                shape = fp.get("shape")
                columns = fp.get("columns")
                digest = fp.get("hash")
                rows.append(
                    [
                        md_code(name),
                        md_text(format_value(fp.get("kind"), 40)),
                        " × ".join(f"{int(d):,}" for d in shape)
                        if isinstance(shape, list) and all(isinstance(d, int) for d in shape)
                        else "—",
                        str(len(columns)) if isinstance(columns, list) else "—",
                        md_code(str(digest)[:16])
                        if isinstance(digest, str) and digest
                        else "not computed",
                    ]
                )
            self.add(
                _table(["Input", "Kind", "Shape", "Columns", "Content hash (prefix)"], rows, [3]),
                "*A content hash identifies the exact data: the same hash means the same values, "
                "in the same order.*",
            )
        else:
            self.add("*The chosen run read no recorded data set.*")
        cells = methodology.lineage_cells
        self.add(
            "### Code that reproduces the chosen run",
            (
                f"The {cells} earlier cell{'s' if cells != 1 else ''} the chosen run depends on, "
                "then the chosen cell, in execution order."
            )
            if cells
            else "The chosen cell (it depends on no earlier cell).",
            code_block(methodology.reproducible_code, "python"),
        )

    def _performance(self) -> None:
        ctx = self.ctx
        chosen = ctx.chosen
        if chosen is None:
            self.add("*No run is marked as chosen.*")
            return
        self.add(f"Run {self.link(ctx.ref(chosen.run_id))}.")
        if chosen.metrics:
            self.add(
                _table(
                    ["Metric", "Value", "Direction"],
                    [
                        [md_code(name), format_number(chosen.metrics[name]), ctx.direction(name)]
                        for name in sorted(chosen.metrics)
                    ],
                    [1],
                )
            )
        else:
            self.add("*The chosen run recorded no metrics.*")
        figures = ctx.figures()
        if not figures:
            self.add("*The chosen run displayed no figures or tables.*")
            return
        self.add("### Outputs of the chosen run")
        for position, figure in enumerate(figures, start=1):
            caption = f"*Output {position} ({md_text(figure.mime)})*"
            if figure.kind == "image" and figure.image_bytes is not None and figure.image_mime:
                alt = f"Figure {position} of the chosen run"
                if figure.image_mime in _IMAGE_EXT:
                    self.add(
                        self.image(f"figure-{position}", figure.image_mime, figure.image_bytes, alt)
                    )
                else:  # untrusted vector image: only ever as an inline data-URI image
                    from nbmodelbook.report.sanitize import image_data_uri

                    uri = image_data_uri(figure.image_mime, figure.image_bytes)
                    self.add(f'<img alt="{_attr(alt)}" src="{uri}">')
            elif figure.kind in ("html", "markdown"):
                # One HTML block (no blank line ends it early); brackets as entities so no
                # Markdown reader could take the output's text for link syntax.
                html = "\n".join(line for line in (figure.html or "").splitlines() if line.strip())
                html = html.replace("[", "&#91;").replace("]", "&#93;")
                self.add(f"<div>\n{html}\n</div>" if html else "")
            elif figure.text:
                self.add(code_block(figure.text, "text"))
            self.add(f"*{md_text(figure.note)}*" if figure.note else caption)

    def _risks(self) -> None:
        ctx = self.ctx
        groups = ctx.notes_by_kind()
        if not groups:
            self.add("**The notebook documents no risks, limitations or assumptions.**")
            return
        for kind, notes in groups:
            self.add(f"### {md_text(kind_heading(kind))}")
            for note in notes:
                cited, missing = ctx.cited(note)
                meta = f"*Notebook cell {note.cell_index + 1}*"
                if cited:
                    meta += f" · cites {self.links(cited)}"
                self.add(
                    f"#### [{md_text(kind.label.upper())}] {md_text(note.title or kind.label)}",
                    meta,
                    md_body(note.body, ctx.run_links(note.refs), heading_offset=3)
                    if note.body.strip()
                    else "",
                )
                if missing:
                    self.add(
                        "**Cited but not found:** "
                        + ", ".join(md_code(f"run:{ref}") for ref in missing)
                    )

    def _audit(self) -> None:
        ctx = self.ctx
        findings = ctx.findings()
        if findings:
            counts = ", ".join(f"{n} {severity}-severity" for severity, n in ctx.finding_counts())
            self.add(f"{counts} finding{'s' if len(findings) != 1 else ''}, most severe first.")
            for finding in findings:
                meta = []
                if finding.run_ids:
                    meta.append("Runs: " + self.links([ctx.ref(r) for r in finding.run_ids]))
                if finding.cell_index is not None:
                    meta.append(f"Notebook cell {finding.cell_index + 1}")
                meta.append(f"Check {md_code(finding.code)}")
                self.add(
                    f"#### **{str(finding.severity).upper()}** {md_text(finding.title)}",
                    md_text(finding.detail),
                    "*" + " · ".join(meta) + "*",
                )
        else:
            self.add("**The integrity audit found no problems.**")
        self.add("### Annotation problems")
        problems = self.review.annotation_problems
        if problems:
            self.add(
                "\n".join(
                    f"- Notebook cell {problem.cell_index + 1}: {md_text(problem.message)}"
                    for problem in problems
                )
            )
        else:
            self.add("None: every annotation was understood.")

    def _appendix(self) -> None:
        ctx = self.ctx
        self.add("### Environment of the chosen run")
        env = environment_view(ctx.chosen)
        if env is None:
            self.add("*No run is marked as chosen.*")
        else:
            rows = [[md_text(label), md_text(value)] for label, value in env["python"]]
            git = env["git"]
            if git is None:
                rows.append(["Git", "not in a git repository (or git unavailable)"])
            else:
                rows += [
                    ["Git commit", md_code(git["commit"])],
                    ["Uncommitted changes", md_text(git["dirty"])],
                    ["Branch", md_text(git["branch"])],
                    ["Remote", md_code(git["remote"])],
                ]
            self.add(_table(["Item", "Value"], rows))
            if env["errors"]:
                self.add(
                    "*Environment capture problems: " + md_text("; ".join(env["errors"])) + "*"
                )
            if env["packages"]:
                self.add(
                    _table(
                        ["Package", "Version"],
                        [[md_text(name), md_code(version)] for name, version in env["packages"]],
                    )
                )
            else:
                self.add("*No package versions were recorded.*")
        self.add("### Run log")
        if not ctx.order:
            self.add("*No runs.*")
            return
        rows = []
        for run_id in ctx.order:
            run = ctx.runs[run_id]
            status = status_text(run)
            if run.error is not None:
                status += ": " + format_value(f"{run.error.type}: {run.error.message}", 300)
            params = "; ".join(
                f"{key}={format_value(run.params[key], 80)}" for key in sorted(run.params)
            )
            metrics = "; ".join(
                f"{key}={format_number(run.metrics[key])}" for key in sorted(run.metrics)
            )
            extra = (
                ", ".join(run.tags) + (" — " if run.tags and run.note else "") + (run.note or "")
            )
            rows.append(
                [
                    f'<a id="{ctx.anchors[run_id]}"></a>{md_text(run.name)} {md_code(run.run_id)}',
                    md_text(status),
                    format_time(run.started_at),
                    md_text(format_duration(run.duration)),
                    md_text(params),
                    md_text(metrics),
                    md_text(extra),
                ]
            )
        self.add(
            _table(
                [
                    "Run",
                    "Status",
                    "Started (UTC)",
                    "Duration",
                    "Parameters",
                    "Metrics",
                    "Tags and note",
                ],
                rows,
            )
        )


def _best(text: str, best: bool) -> str:
    return f"**{text}** (best)" if best else text


def _attr(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def _url_path(path: str) -> str:
    """A relative file path as a Markdown link destination (spaces and brackets escaped)."""
    from urllib.parse import quote

    return quote(path, safe="/._-~")


def _slug(heading: str) -> str:
    """GitHub's heading anchor for one of our own section headings."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")


def render_markdown(review: Review, image_dir: Path | None) -> tuple[str, dict[str, bytes]]:
    """The review as GitHub-flavoured Markdown, and the image files it links to.

    `image_dir` is the folder for images, relative to the Markdown file (e.g.
    `Path("model.review_files")`); the returned dict maps `"<image_dir>/<name>"` (POSIX
    separators, deterministic names such as `chart-decision-1.svg`, `figure-2.png`) to the bytes
    the caller writes. With `image_dir=None` nothing is returned and every image is embedded as
    an `<img src="data:...">` instead, making the Markdown self-contained.
    """
    writer = _Writer(review, image_dir)
    text = writer.render()
    return text, dict(sorted(writer.files.items()))
