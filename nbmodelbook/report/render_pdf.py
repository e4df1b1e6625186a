"""Review -> PDF: the HTML report, laid out for A4 paper by WeasyPrint.

The same view and template as the HTML report, with a print layout on top (`print_layout`):
the contents after the summary page, parameter tables of at most `MAX_RUN_COLUMNS` run columns
(a wider one is cut into parts), long ones moved to an appendix with a link from where they were,
the run log two rows a run. The page itself (A4, running header and footer, page N of M, no
clipped table) is the `@page`/`@media print` part of `review.css`, which browsers print too.

The same Review gives the same bytes: the PDF's dates are the newest run's (never the clock), its
identifier a hash of the HTML, and nothing is fetched but the page's own `data:` images.
WeasyPrint (the `pdf` extra) and the Pango library it loads are imported when a PDF is written.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from nbmodelbook.errors import FormatUnavailable

if TYPE_CHECKING:  # pragma: no cover - typing only
    from nbmodelbook.report.model import Review

__all__ = [
    "MAX_INLINE_PARAM_ROWS",
    "MAX_RUN_COLUMNS",
    "model_version",
    "pdf_unavailable",
    "print_layout",
    "render_html_for_print",
    "render_pdf",
    "review_date",
]

# On A4 a parameter table stays readable with the parameter's name and four runs side by side.
MAX_RUN_COLUMNS = 4
# A table of differing parameters longer than this is read in the appendix, not mid-argument.
MAX_INLINE_PARAM_ROWS = 15
APPENDIX_ANCHOR = "parameters"
APPENDIX_HEADING = "Appendix: parameters of the compared runs"

_INSTALL_HINT = (
    "install the pdf extra (pip install 'nbmodelbook[pdf]') and the Pango library it needs "
    "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0; macOS: brew install "
    "pango), or write the report as HTML (--format html) and print that"
)


# ---------------------------------------------------------------------------
# The print layout: pure functions of the view


def model_version(review: Review) -> str | None:
    """The model's version, from a `> [!VERSION]` annotation when the notebook has one."""
    facts = getattr(review, "facts", None) or []
    return next((fact.text for fact in facts if fact.key == "version" and fact.text), None)


def _parts(
    runs: Sequence[Any], rows: Sequence[Mapping[str, Any]], mark_same: bool
) -> list[dict[str, Any]]:
    """A parameter table cut into tables of at most MAX_RUN_COLUMNS runs each."""
    width = len(runs)
    spans = [
        (start, min(start + MAX_RUN_COLUMNS, width)) for start in range(0, width, MAX_RUN_COLUMNS)
    ]
    spans = spans or [(0, 0)]
    parts = []
    for start, end in spans:
        parts.append(
            {
                "caption": f"Runs {start + 1}–{end} of {width}" if len(spans) > 1 else "",
                "runs": list(runs[start:end]),
                # Every key of the row (its "Same in all?" answer too), the values cut.
                "rows": [{**row, "values": list(row["values"][start:end])} for row in rows],
                # "Same in all?" answers for every compared run: said once, in the last part.
                "mark_same": mark_same and end == width,
            }
        )
    return parts


def _place_evidence(
    evidence: dict[str, Any], title: str, back: str, tables: list[dict[str, Any]]
) -> None:
    # `title` is "Decision 1: ..."; the appendix says where it is cited by its first words.
    where = title.split(":", 1)[0].lower()
    """Decide where one evidence's parameter tables go; appendix tables are added to `tables`."""
    runs, differing, every = evidence["runs"], evidence["differing"], evidence["params"]
    inline = len(differing) <= MAX_INLINE_PARAM_ROWS
    full = bool(evidence["all_hidden"])
    table = None
    if full or (differing and not inline):
        number = len(tables) + 1
        rows, mark_same = (every, True) if full else (differing, False)
        if full and inline:
            lead = f"All {len(every)} parameters of these runs, those the same in all included"
        elif full:
            lead = f"All {len(every)} parameters of these runs, the {len(differing)} that differ"
        else:
            lead = f"The {len(differing)} parameters that differ"
        table = {"number": number, "anchor": f"parameter-table-{number}", "lead": lead}
        tables.append(
            {
                **table,
                "title": title,
                "where": where,
                "back": back,
                "chosen_id": evidence["chosen_id"],
                "parts": _parts(runs, rows, mark_same),
            }
        )
    evidence["print"] = {
        "chosen_id": evidence["chosen_id"],
        "parts": _parts(runs, differing, False) if differing and inline else [],
        "table": table,
    }


def print_layout(page: dict[str, Any], review: Review) -> dict[str, Any]:
    """Lay `page` (a `build_view` result) out for paper; returns what the template reads as
    `page.print`, and marks each evidence view with where its parameter tables go (`print`).
    An appendix of parameter tables, when there is one, is numbered after the last section."""
    tables: list[dict[str, Any]] = []
    for decision in page["decisions"]:
        title = f"Decision {decision['number']}: {decision['title']}"
        _place_evidence(decision["evidence"], title, f"decision-{decision['number']}", tables)
    for rejection in page["rejections"]:
        title = f"Rejected alternative {rejection['number']}: {rejection['title']}"
        _place_evidence(rejection["evidence"], title, f"rejection-{rejection['number']}", tables)
    section = None
    if tables:
        section = {
            "anchor": APPENDIX_ANCHOR,
            "number": len(page["sections"]) + 1,
            "heading": APPENDIX_HEADING,
        }
        page["sections"] = [*page["sections"], section]
        page["n"] = {**page["n"], APPENDIX_ANCHOR: section["number"]}
    return {"version": model_version(review), "param_tables": tables, "appendix_section": section}


def review_date(review: Review) -> datetime | None:
    """The review's date: when its newest run started or ended (None without any run)."""
    moments = [
        moment
        for run in review.runs.values()
        for moment in (run.started_at, run.ended_at)
        if isinstance(moment, int | float) and math.isfinite(moment) and moment >= 0
    ]
    if not moments:
        return None
    try:
        return datetime.fromtimestamp(max(moments), tz=UTC).replace(microsecond=0)
    except (OverflowError, OSError, ValueError):
        return None


# ---------------------------------------------------------------------------
# WeasyPrint


def _weasyprint() -> Any:
    try:
        import weasyprint
    except ImportError as exc:
        raise FormatUnavailable(
            f"PDF reports need WeasyPrint, which is not installed: {_INSTALL_HINT}"
        ) from exc
    except OSError as exc:  # WeasyPrint is there, the Pango library it loads is not
        raise FormatUnavailable(
            f"PDF reports need the Pango library, which could not be loaded ({exc}): "
            f"{_INSTALL_HINT}"
        ) from exc
    return weasyprint


@lru_cache(maxsize=1)
def pdf_unavailable() -> str | None:
    """Why a PDF cannot be written here (what to install), or None when it can. Imports
    WeasyPrint once (about a second), so a frontend can ask before offering the format."""
    try:
        _weasyprint()
    except FormatUnavailable as exc:
        return str(exc)
    return None


def _authors(review: Review) -> list[str]:
    facts = getattr(review, "facts", None) or []
    owners = [fact.text for fact in facts if fact.key == "owner" and fact.text]
    return owners or ["nbmodelbook"]


def render_html_for_print(review: Review) -> str:
    """The HTML the PDF is made from: the report's template with the print layout."""
    from nbmodelbook.report.render_html import CSP, render_page
    from nbmodelbook.report.view import build_view

    page = build_view(review)
    page["csp"] = CSP
    page["print"] = print_layout(page, review)
    return render_page(page)


def render_pdf(review: Review) -> bytes:
    """The review as an A4 PDF (fonts embedded, bookmarks from the headings)."""
    weasyprint = _weasyprint()
    html = render_html_for_print(review)
    # Only the page's own data: images; no file, no network.
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    document = weasyprint.HTML(string=html, url_fetcher=fetcher, media_type="print").render()
    metadata = document.metadata
    metadata.title = f"{review.title} — model review"
    metadata.authors = _authors(review)
    metadata.description = f"Model review of notebook {review.notebook}"
    metadata.generator = "nbmodelbook"
    date = review_date(review)
    stamp = date.strftime("%Y-%m-%dT%H:%M:%SZ") if date is not None else None
    metadata.created = metadata.modified = stamp
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    with _fonts_dated(date):
        data: bytes = document.write_pdf(pdf_identifier=identifier)
    return data


_SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
_ENVIRONMENT_LOCK = threading.Lock()


@contextmanager
def _fonts_dated(date: datetime | None) -> Iterator[None]:
    """Embedded fonts carry the review's date, not the clock's.

    Where HarfBuzz cannot subset fonts, WeasyPrint has fontTools do it, which stamps each font
    with the time it was saved unless SOURCE_DATE_EPOCH (the reproducible-builds convention)
    says otherwise: without this, the same review written a second later is another file. A
    value the user set is left as it is."""
    with _ENVIRONMENT_LOCK:
        if _SOURCE_DATE_EPOCH in os.environ:
            yield
            return
        os.environ[_SOURCE_DATE_EPOCH] = str(int(date.timestamp()) if date is not None else 0)
        try:
            yield
        finally:
            os.environ.pop(_SOURCE_DATE_EPOCH, None)
