"""The PDF report: the HTML report's view and template laid out for A4 by WeasyPrint.

One review, rendered once for the module: a decision comparing six runs on twenty differing
parameters (wider than a page holds, longer than a section should show), a model version and
owner, the shared factory's hostile-free review around it.
"""

from __future__ import annotations

import io
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from nbmodelbook.errors import FormatUnavailable
from nbmodelbook.report.formats import REPORT_FORMATS, format_for_output
from nbmodelbook.report.model import (
    Annotation,
    AnnotationKind,
    Decision,
    Evidence,
    Fact,
    MetricRow,
    ParamRow,
    Review,
)
from nbmodelbook.report.render_html import render_html
from nbmodelbook.report.render_pdf import (
    MAX_INLINE_PARAM_ROWS,
    MAX_RUN_COLUMNS,
    pdf_unavailable,
    print_layout,
    render_html_for_print,
    render_pdf,
    review_date,
)
from nbmodelbook.report.view import build_view
from tests.report.pdf_checks import (
    A4,
    fonts_without_file,
    missing_cells,
    page_texts,
    pdftotext,
    python_without_weasyprint,
    squash,
    words_outside,
)
from tests.report.test_render import PAYLOADS, audit_html, empty_review, make_review

ROOT = Path(__file__).resolve().parents[2]
WIDE_RUNS = 6
WIDE_PARAMS = 20
VERSION = "2.3.0-rc1"
OWNER = "Credit Risk Analytics"


def wide_review() -> Review:
    review = make_review(extra_runs=8)
    run_ids = review.history[-WIDE_RUNS:]
    params = [
        ParamRow(
            f"model.param_with_a_rather_long_name_{k:02d}",
            tuple(f"value-{k}-{position}-" + "x" * (k % 5) * 9 for position in range(WIDE_RUNS)),
            True,
        )
        for k in range(WIDE_PARAMS)
    ]
    review.decisions.append(
        Decision(
            annotation=Annotation(
                AnnotationKind.DECISION, "Sweep width", "Six sweeps compared.", (), 20, "c20"
            ),
            chosen_run_id=run_ids[0],
            alternative_run_ids=run_ids[1:],
            headline_metric="accuracy",
            evidence=Evidence(
                run_ids=list(run_ids),
                params=params,
                metrics=[
                    MetricRow(
                        "accuracy", tuple(0.7 + i / 100 for i in range(WIDE_RUNS)), False, (5,)
                    )
                ],
            ),
        )
    )
    review.facts = [
        Fact("version", "Version", VERSION),
        Fact("owner", "Owner", OWNER),
    ]
    return review


@pytest.fixture(scope="module")
def review() -> Review:
    return wide_review()


@pytest.fixture(scope="module")
def pdf(review: Review, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "credit.review.pdf"
    written = REPORT_FORMATS["pdf"].render(review, path)
    assert written == [path]
    return path


@pytest.fixture(scope="module")
def pages(pdf: Path) -> list[str]:
    return page_texts(pdf)


# --- the print layout (pure) ---------------------------------------------------------------


def test_a_wide_long_table_is_cut_by_run_columns_and_moved_to_the_appendix(review: Review) -> None:
    page = build_view(review)
    layout = print_layout(page, review)
    wide = page["decisions"][-1]["evidence"]["print"]
    assert wide["parts"] == [], "a table of 20 rows stays in its decision"
    table = wide["table"]
    assert table is not None and WIDE_PARAMS > MAX_INLINE_PARAM_ROWS
    appendix = next(t for t in layout["param_tables"] if t["number"] == table["number"])
    parts = appendix["parts"]
    assert [len(part["runs"]) for part in parts] == [MAX_RUN_COLUMNS, WIDE_RUNS - MAX_RUN_COLUMNS]
    assert [part["caption"] for part in parts] == ["Runs 1–4 of 6", "Runs 5–6 of 6"]
    # Every value of every run is in exactly one part, in order.
    for index, row in enumerate(page["decisions"][-1]["evidence"]["differing"]):
        joined = [value for part in parts for value in part["rows"][index]["values"]]
        assert joined == row["values"]
    # The appendix is a section of its own, numbered after the last one, in the contents.
    last = page["sections"][-1]
    assert last["anchor"] == "parameters" and last["number"] == len(page["sections"])
    assert page["n"]["parameters"] == last["number"]
    assert layout["version"] == VERSION


def test_a_short_table_stays_in_place_and_the_full_one_goes_to_the_appendix(
    review: Review,
) -> None:
    page = build_view(review)
    layout = print_layout(page, review)
    depth = page["decisions"][1]["evidence"]
    placed = depth["print"]
    assert len(placed["parts"]) == 1
    assert [row["name"] for row in placed["parts"][0]["rows"]] == ["model.max_depth"]
    # The view hides one of its two params (the same in both runs): the appendix has both.
    assert depth["all_hidden"]
    full = next(t for t in layout["param_tables"] if t["number"] == placed["table"]["number"])
    assert [row["name"] for row in full["parts"][0]["rows"]] == [
        "model.max_depth",
        "model.n_estimators",
    ]
    assert full["parts"][0]["mark_same"]


def test_a_review_without_decisions_has_no_parameter_appendix() -> None:
    review = empty_review()
    page = build_view(review)
    layout = print_layout(page, review)
    assert layout["param_tables"] == [] and layout["appendix_section"] is None
    assert "parameters" not in page["n"]
    assert layout["version"] is None


def test_review_date_is_the_newest_run_never_the_clock(review: Review) -> None:
    newest = max(
        max(run.started_at, run.ended_at or run.started_at) for run in review.runs.values()
    )
    assert review_date(review) == datetime.fromtimestamp(newest, tz=UTC).replace(microsecond=0)
    assert review_date(empty_review()) is None


def test_the_print_html_is_as_safe_as_the_html_report() -> None:
    for payload in PAYLOADS:
        audit_html(render_html_for_print(make_review(payload)))


# --- the PDF --------------------------------------------------------------------------------


def test_pdf_format_is_registered_and_inferred_from_the_extension() -> None:
    assert REPORT_FORMATS["pdf"].suffix == ".review.pdf"
    assert REPORT_FORMATS["pdf"].path_for("credit.ipynb") == Path("credit.review.pdf")
    assert format_for_output(Path("x.PDF")).name == "pdf"


def test_pages_are_a4_and_page_one_is_the_summary_alone(pdf: Path, pages: list[str]) -> None:
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    assert len(reader.pages) == len(pages) >= 3
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width, 1), round(height, 1)) == (round(A4[0], 1), round(A4[1], 1))
    first = pages[0]
    assert "Credit default model" in first and "1. Summary" in first
    assert "At a glance" in first and "Integrity audit:" in first
    assert "Contents" not in first
    assert "2. Decisions" not in first and "Decision 1:" not in first
    assert pages[1].lstrip().splitlines()[1:2] == ["Contents"] or "Contents" in pages[1][:200]


def test_running_header_and_footer(pages: list[str]) -> None:
    total = len(pages)
    assert f"Page 1 of {total}" in pages[0]
    for number, text in enumerate(pages[1:], start=2):
        assert f"Page {number} of {total}" in text
        assert "Credit default model" in text, f"page {number} has no running title"
        assert f"Model version {VERSION}" in text, f"page {number} has no running version"
        assert "Model review of credit.ipynb" in text


def test_contents_give_each_section_its_page(review: Review, pdf: Path, pages: list[str]) -> None:
    contents = pdftotext(pdf, "-layout", "-f", "2", "-l", "2")
    listed = {
        heading: int(number)
        for heading, number in re.findall(r"^\s*(\d+\. .+?) \.{3,}\s*(\d+)\s*$", contents, re.M)
    }
    page = build_view(review)
    print_layout(page, review)
    assert len(listed) == len(page["sections"]), contents
    for section in page["sections"]:
        heading = f"{section['number']}. {section['heading']}"
        starts = next(i for i, text in enumerate(pages, start=1) if heading in text.splitlines())
        assert listed[heading] == starts, heading


def test_no_table_cell_is_clipped(review: Review, pdf: Path, pages: list[str]) -> None:
    text = "".join(pages)
    assert not missing_cells(render_html(review), text), "a cell of the HTML report is lost"
    assert not missing_cells(render_html_for_print(review), text)
    assert not words_outside(pdf), "text runs past the page's edge"


def test_long_tables_wait_in_the_appendix_with_a_link(pages: list[str]) -> None:
    appendix_start = next(
        i for i, text in enumerate(pages) if "Appendix: parameters of the compared runs\n" in text
    )
    before, after = "".join(pages[:appendix_start]), "".join(pages[appendix_start:])
    long_name = "model.param_with_a_rather_long_name_07"
    assert squash(long_name) not in squash(before)
    assert squash(long_name) in squash(after)
    # Each table is linked from its decision with the page it is on.
    links = re.findall(
        r"parameter table (\d+) \(page (\d+)\) in the appendix", " ".join(before.split())
    )
    assert {number for number, _ in links} >= {"1", "2", "3"}, links
    for number, on_page in links:
        heading = f"Parameter table {number}. "
        assert heading in " ".join(pages[int(on_page) - 1].split()), (number, on_page)
    assert "Runs 1–4 of 6" in after and "Runs 5–6 of 6" in after


def test_fonts_are_embedded(pdf: Path) -> None:
    assert fonts_without_file(pdf.read_bytes()) == []


def test_same_review_same_bytes_and_metadata_from_the_review(review: Review, pdf: Path) -> None:
    from pypdf import PdfReader

    again = render_pdf(review)
    assert again == pdf.read_bytes()
    metadata: Any = PdfReader(io.BytesIO(again)).metadata
    assert metadata.title == "Credit default model — model review"
    assert metadata.author == OWNER
    date = review_date(review)
    assert date is not None
    stamp = "D:" + date.strftime("%Y%m%d%H%M%S")
    assert metadata["/CreationDate"].startswith(stamp)
    assert metadata["/ModDate"].startswith(stamp)


def test_fonts_subset_by_fonttools_carry_the_review_date_not_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without HarfBuzz's subsetter WeasyPrint has fontTools subset the fonts, which stamps
    each with the time it is saved: the same review written a second later must still be the
    same file."""
    import types

    import fontTools.misc.timeTools as font_times
    import weasyprint.pdf.fonts as weasyprint_fonts

    monkeypatch.setattr(weasyprint_fonts, "harfbuzz_subset", None)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    review = make_review()
    written = []
    for clock in (1_700_000_000.0, 1_800_000_000.0):
        monkeypatch.setattr(font_times, "time", types.SimpleNamespace(time=lambda c=clock: c))
        written.append(render_pdf(review))
    assert written[0] == written[1]
    assert "SOURCE_DATE_EPOCH" not in os.environ


def test_a_source_date_epoch_the_user_set_is_theirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    render_pdf(make_review())
    assert os.environ["SOURCE_DATE_EPOCH"] == "1234567890"


@pytest.mark.parametrize("kind", ["missing", "oserror"])
def test_without_weasyprint_the_error_says_what_to_install(kind: str, tmp_path: Path) -> None:
    code = (
        "from tests.report.test_render import empty_review\n"
        "from nbmodelbook.report.formats import REPORT_FORMATS\n"
        "from nbmodelbook.errors import FormatUnavailable\n"
        "try:\n"
        f"    REPORT_FORMATS['pdf'].render(empty_review(), {str(tmp_path / 'x.pdf')!r})\n"
        "except FormatUnavailable as exc:\n"
        "    print('FormatUnavailable', exc.exit_code, exc)\n"
        "from nbmodelbook.report.render_pdf import pdf_unavailable\n"
        "print('unavailable:', pdf_unavailable())\n"
    )
    done = python_without_weasyprint(kind, code, ROOT)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"FormatUnavailable {FormatUnavailable.exit_code} "), out
    assert "pip install 'nbmodelbook[pdf]'" in out
    assert "libpango-1.0-0 libpangoft2-1.0-0" in out and "brew install pango" in out
    assert ("could not be loaded" in out) == (kind == "oserror")
    assert not (tmp_path / "x.pdf").exists()
    # What a frontend asks before offering the format: the same reason.
    assert "unavailable: PDF reports need" in out


def test_pdf_is_available_here() -> None:
    assert pdf_unavailable() is None


def test_hostile_text_is_printed_as_text(tmp_path: Path) -> None:
    payload = "<img src=x onerror=alert(1)>"
    path = tmp_path / "hostile.review.pdf"
    REPORT_FORMATS["pdf"].render(make_review(payload), path)
    text = " ".join("".join(page_texts(path)).split())
    assert f"Credit default model{payload}" in text
