"""The Word report: structure (headings, tables, figures) from the view, safety, determinism."""

from __future__ import annotations

import io
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from nbmodelbook.errors import Unavailable
from nbmodelbook.report.formats import format_for_output, get_format
from nbmodelbook.report.model import Review
from nbmodelbook.report.render_docx import (
    finish_package,
    inert_svg,
    render_docx,
    review_date,
    svg_to_png,
)
from nbmodelbook.report.render_html import render_html
from nbmodelbook.report.view import build_view
from tests.report.test_render import PAYLOADS, empty_review, make_review, tiny_png

docx = pytest.importorskip("docx")
pytest.importorskip("pypandoc")

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class Word:
    """A rendered .docx, opened with python-docx and as the zip it is."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.document = docx.Document(io.BytesIO(data))
        self.zip = zipfile.ZipFile(io.BytesIO(data))

    def styled(self, prefix: str) -> list[tuple[str, str]]:
        return [
            (p.style.name, p.text)
            for p in self.document.paragraphs
            if p.style is not None and p.style.name.startswith(prefix)
        ]

    def headings(self, level: int) -> list[str]:
        return [
            text for style, text in self.styled(f"Heading {level}") if style.endswith(f" {level}")
        ]

    def table_after(self, heading: str, header: list[str]) -> list[list[str]]:
        """The cells of the first table with `header` below the heading `heading`."""
        body = self.document.element.body
        seen = False
        for child in body.iterchildren():
            if (
                child.tag == f"{W}p"
                and "".join(t.text or "" for t in child.iter(f"{W}t")) == heading
            ):
                seen = True
            elif seen and child.tag == f"{W}tbl":
                rows = [
                    [
                        "".join(t.text or "" for t in cell.iter(f"{W}t"))
                        for cell in row.iter(f"{W}tc")
                    ]
                    for row in child.iter(f"{W}tr")
                ]
                if rows and rows[0] == header:
                    return rows[1:]
        raise AssertionError(f"no table {header} after {heading!r}")

    def all_text(self) -> str:
        return "\n".join(
            "".join(t.text or "" for t in node.iter(f"{W}t"))
            for node in self.document.element.body.iter(f"{W}p")
        )

    def media(self) -> list[bytes]:
        return [self.zip.read(n) for n in self.zip.namelist() if n.startswith("word/media/")]


@pytest.fixture(scope="module")
def review() -> Review:
    return make_review()


@pytest.fixture(scope="module")
def page(review: Review) -> dict[str, Any]:
    return build_view(review)


@pytest.fixture(scope="module")
def word(review: Review) -> Word:
    return Word(render_docx(review))


def test_title_then_the_sections_in_the_views_order(word: Word, page: dict[str, Any]) -> None:
    [(_, title)] = word.styled("Title")
    assert title == "Credit default model — model review"
    [(_, subtitle)] = word.styled("Subtitle")
    assert subtitle.startswith("Model review of notebook credit.ipynb")
    expected = [f"{section['number']}. {section['heading']}" for section in page["sections"]]
    assert word.headings(1) == expected
    assert expected[0] == "1. Summary"
    # Decisions and rejections one level down, in the order of the view.
    assert [h for h in word.headings(2) if h.startswith("Decision ")] == [
        f"Decision {d['number']}: {d['title']}" for d in page["decisions"]
    ]
    assert "Logistic regression" in word.headings(2)


def test_the_summary_comes_first(word: Word, page: dict[str, Any]) -> None:
    texts = [p.text for p in word.document.paragraphs]
    summary = texts.index("1. Summary")
    decisions = texts.index(f"{page['n']['decisions']}. Decisions")
    chosen = next(i for i, text in enumerate(texts) if text.startswith("The notebook's authors"))
    assert [style for style, _ in word.styled("")][:3] == ["Title", "Subtitle", "Heading 1"]
    assert summary < chosen < decisions
    assert "random-forest" in texts[chosen]


def test_tables_hold_the_views_cells(word: Word, page: dict[str, Any]) -> None:
    history = word.table_after(
        f"{page['n']['history']}. Experiment history",
        ["#", "Run", "Status", "Started (UTC)", "Duration", "accuracy"],
    )
    assert [[row[0], row[2], row[3], row[4], row[5]] for row in history] == [
        [str(r["n"]), r["status"], r["started"], r["duration"], r["headline"]]
        for r in page["history"]
    ]
    assert all(
        row[1].startswith(r["name"]) for row, r in zip(history, page["history"], strict=True)
    )
    decision = page["decisions"][0]
    runs = [ref.label for ref in decision["evidence"]["runs"]]
    metrics = word.table_after("Metrics", ["Metric", "Direction", *runs])
    assert [row[:2] for row in metrics] == [
        [f"{m['name']} (headline)" if m["headline"] else m["name"], m["direction"]]
        for m in decision["evidence"]["metrics"]
    ]
    assert metrics[0][2] == "0.91 (best)"  # the best value is marked in words, not by CSS
    perf = word.table_after(
        f"{page['n']['performance']}. Performance of the chosen model",
        ["Metric", "Value", "Direction"],
    )
    assert perf == [[m["name"], m["value"], m["direction"]] for m in page["performance"]["metrics"]]
    table_style = word.zip.read("word/styles.xml").decode()
    assert re.search(r'w:styleId="Table".*?<w:tblBorders>.*?</w:style>', table_style, re.S)


def test_figures_are_embedded_as_png_with_captions(review: Review, word: Word) -> None:
    from PIL import Image

    html_images = render_html(review).count("<img ")
    assert html_images >= 4  # charts and the chosen run's PNG and SVG figures
    assert len(word.document.inline_shapes) == html_images
    media = word.media()
    assert len(media) == html_images
    assert all(data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")) for data in media)
    assert not any(name.endswith(".svg") for name in word.zip.namelist())
    assert not any(b"nbmodelbook-picture" in data for data in media)  # no stand-in left
    assert "data:image" not in word.zip.read("word/document.xml").decode()
    assert tiny_png() in media  # the captured PNG, byte for byte
    for shape in word.document.inline_shapes:
        rid = shape._inline.graphic.graphicData.pic.blipFill.blip.embed
        width, height = Image.open(io.BytesIO(word.document.part.related_parts[rid].blob)).size
        # The picture is laid out at its own proportions (pandoc read them from the stand-in).
        assert shape.width / shape.height == pytest.approx(width / height, rel=0.02)
    captions = [text for _, text in word.styled("Image Caption")]
    assert any(text.startswith("Every run's headline metric over time") for text in captions)
    assert "Output 1 (image/png)" in captions


def test_findings_most_severe_first(word: Word) -> None:
    severities = ("[HIGH]", "[MEDIUM]", "[LOW]")
    findings = [h for h in word.headings(3) if h.startswith(severities)]
    assert findings == [
        "[HIGH] Cell edited after its run",
        "[MEDIUM] Selected on test set",
        "[LOW] Seed not fixed",
    ]


def test_same_review_same_bytes_dated_by_the_review(review: Review, word: Word) -> None:
    again = render_docx(make_review())
    assert again == word.data
    when = review_date(review)
    newest = max(r.ended_at or r.started_at for r in review.runs.values())
    assert when == datetime.fromtimestamp(int(newest), tz=UTC)  # the runs' time, not the clock
    stamps = {info.date_time for info in word.zip.infolist()}
    assert stamps == {when.timetuple()[:6]}
    core = word.zip.read("docProps/core.xml").decode()
    iso = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f">{iso}</dcterms:created>" in core and f">{iso}</dcterms:modified>" in core


def test_a_review_without_runs_renders() -> None:
    empty = Word(render_docx(empty_review()))
    assert empty.headings(1)[0] == "1. Summary"
    assert {info.date_time for info in empty.zip.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert "No model is marked as chosen" in empty.all_text()


OPENXML = "</w:t></w:r></w:p><w:p><w:r><w:t>INJECTED</w:t></w:r></w:p><w:p><w:r><w:t>"
RAW_BLOCK = "\n\n```{=openxml}\n<w:p><w:r><w:t>RAWXML</w:t></w:r></w:p>\n```\n\n<b>raw html</b>"
HOSTILE = [PAYLOADS[0], PAYLOADS[4], OPENXML, RAW_BLOCK, '<div custom-style="Title">styled</div>']


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_stays_text(payload: str) -> None:
    word = Word(render_docx(make_review(payload)))
    document = word.zip.read("word/document.xml").decode()
    ET.fromstring(document)  # still well-formed
    # A captured HTML output keeps its text and loses its tags (the sanitizer), so the payload's
    # words can stand alone in that output's table; anywhere else they would be passed-through
    # Word markup.
    root = ET.fromstring(document)
    in_tables = {id(t) for table in root.iter(f"{W}tbl") for t in table.iter(f"{W}t")}
    for node in root.iter(f"{W}t"):
        if node.text in ("INJECTED", "RAWXML"):
            assert id(node) in in_tables, f"{node.text} became Word markup"
    text = word.all_text()

    def flat(text: str) -> str:
        return " ".join(text.split())

    # Where a name is shown it is the name as written, markup and all.
    assert flat(f"random-forest{payload}") in flat(text)
    [(_, title)] = word.styled("Title")
    assert flat(title) == flat(f"Credit default model{payload} — model review")
    [(_, subtitle)] = word.styled("Subtitle")
    assert flat(subtitle).startswith(flat(f"Model review of notebook credit{payload}.ipynb ·"))
    if payload == RAW_BLOCK:  # a fenced block in an annotation's Markdown is shown as code
        code = [p.text for p in word.document.paragraphs if p.style.name == "Source Code"]
        assert "<w:p><w:r><w:t>RAWXML</w:t></w:r></w:p>" in code
        assert "<b>raw html</b>" in text
    rels = word.zip.read("word/_rels/document.xml.rels").decode()
    targets = re.findall(r'Target="([^"]*)" TargetMode="External"', rels)
    assert all(target.startswith(("https://", "http://")) for target in targets), targets
    assert "javascript" not in rels.lower()
    assert len(word.styled("Title")) == 1


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_a_captured_svg_cannot_pull_a_local_file_into_the_document(tmp_path: Path) -> None:
    from PIL import Image

    secret = tmp_path / "secret.png"
    secret.write_bytes(_png(8, 8, (255, 0, 0)))
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        ' width="40" height="40"><rect width="40" height="40" fill="white"/>'
        f'<image href="file://{secret}" width="40" height="40"/>'
        f'<image xlink:href="{secret}" width="40" height="40"/>'
        '<filter id="f"><feImage href="http://127.0.0.1:9/x.png"/></filter></svg>'
    )
    cleaned = inert_svg(svg)
    assert cleaned is not None and str(secret) not in cleaned and "127.0.0.1" not in cleaned
    png = svg_to_png(svg)
    assert png is not None
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert (255, 0, 0) not in {pixel for _, pixel in image.getcolors(1 << 16) or []}
    # Inline PNG data and links to the SVG's own elements are kept.
    inline = (
        '<svg xmlns="http://www.w3.org/2000/svg"><use href="#a"/>'
        '<image href="data:image/png;base64,AAAA"/></svg>'
    )
    assert 'href="#a"' in (inert_svg(inline) or "") and "data:image/png" in (
        inert_svg(inline) or ""
    )
    assert (
        inert_svg('<!DOCTYPE s [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"/>') is None
    )
    assert inert_svg("<svg") is None


def test_tables_are_ruled_once() -> None:
    from nbmodelbook.report.render_docx import ruled_tables

    styles = (
        '<w:styles><w:style w:styleId="Table" w:type="table"><w:tblPr><w:tblInd w:w="0" />'
        "<w:tblCellMar/></w:tblPr></w:style></w:styles>"
    )
    ruled = ruled_tables(styles)
    assert ruled.count("<w:tblBorders>") == 1
    assert ruled.index("<w:tblInd") < ruled.index("<w:tblBorders>") < ruled.index("<w:tblCellMar")
    assert ruled_tables("<w:styles/>") == "<w:styles/>"


def test_restamping_sets_every_entry(word: Word) -> None:
    when = datetime(2030, 5, 6, 7, 8, 10, tzinfo=UTC)
    again = zipfile.ZipFile(io.BytesIO(finish_package(word.data, when)))
    assert {info.date_time for info in again.infolist()} == {(2030, 5, 6, 7, 8, 10)}
    assert again.namelist() == word.zip.namelist()
    assert "2030-05-06T07:08:10Z" in again.read("docProps/core.xml").decode()


def test_docx_format_writes_exactly_one_file(tmp_path: Path, review: Review) -> None:
    fmt = get_format("docx")
    assert fmt.suffix == ".review.docx"
    assert format_for_output(Path("x.docx")) is fmt
    out = tmp_path / "x.docx"
    assert fmt.render(review, out) == [out]
    assert [p.name for p in tmp_path.iterdir()] == ["x.docx"]
    assert Word(out.read_bytes()).headings(1)[0] == "1. Summary"


def test_without_pandoc_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, review: Review
) -> None:
    monkeypatch.setitem(sys.modules, "pypandoc", None)  # as if the extra were not installed
    with pytest.raises(Unavailable, match=re.escape("pip install 'nbmodelbook[docx]'")):
        render_docx(review)


def test_every_run_link_reaches_its_bookmark(word: Word, page: dict[str, Any]) -> None:
    document = word.zip.read("word/document.xml").decode()
    bookmarks = set(re.findall(r'<w:bookmarkStart w:id="\d+" w:name="([^"]+)"', document))
    anchors = set(re.findall(r'w:anchor="([^"]+)"', document))
    assert {row["anchor"] for row in page["run_log"]} <= anchors  # the decisions link to runs
    assert anchors <= bookmarks
