"""Review -> a Word document (.docx), from the same view and the same template as the HTML report.

Why pandoc (the `pypandoc-binary` wheel, pandoc inside) and not python-docx: `review.html.j2`
already lays out every section, table and figure of the view; pandoc's HTML reader turns it into
real Word structure — Heading 1-4 styles (the report's `<h2>` sections are Heading 1), Word tables
with their captions, embedded pictures with captions, bullet lists, links to the run log — so a
section added to the HTML template appears in Word with no extra work. With python-docx every
section would need a second, hand-kept layout. The document has pandoc's default styles, its
tables ruled.

What differs from the HTML is only in this module and `templates/review.docx.lua`:

* Figures are PNG (older Word cannot show SVG): our charts and captured SVG figures are drawn
  with vl-convert after every reference to something outside the SVG is removed (resvg would
  read a local file an `<image href>` names); captured PNG and JPEG figures are kept as they are.
  pandoc is given PNG stand-ins of the same size and the pictures are put in afterwards
  (`Pictures`): it reads base64 slowly.
* pandoc reads only the HTML's `<main>`: the title comes from `<title>`, the header line becomes
  the subtitle (a plain metadata string, never parsed), the contents list and footer are left
  out (Word's navigation pane lists the headings).
* The Lua filter writes badges as `[HIGH]` and marks as `(best)`, which the HTML does with CSS.

Untrusted text cannot become markup: the HTML is the HTML report's (every string escaped, bodies
sanitized), pandoc reads it with raw HTML off (`html-raw_html`, so no raw block reaches the
writer, and only raw `openxml` blocks could pass into a .docx), and runs with `--sandbox`, so
no link or image reference in the content can make it read a file or a URL.

The same Review gives the same bytes: the sandbox stamps every file of the .docx with a fixed
date; it is replaced by the review's own date (its newest run's), never the clock.
"""

from __future__ import annotations

import io
import re
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmodelbook.errors import Unavailable
from nbmodelbook.report.model import Review
from nbmodelbook.report.view import ChartImage, Figure, build_view

if TYPE_CHECKING:  # pragma: no cover - typing only
    import jinja2

__all__ = [
    "Pictures",
    "docx_html",
    "finish_package",
    "inert_svg",
    "render_docx",
    "review_date",
    "ruled_tables",
    "svg_to_png",
]

INSTALL_HINT = "pip install 'nbmodelbook[docx]'"
PANDOC_TIMEOUT_S = 300
# Zip dates start in 1980; a review with no run at all is stamped with that first day.
_ZIP_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_INERT_DATA = re.compile(r"(?i)^\s*data:image/(png|jpeg|gif);")
_CORE_DATE = re.compile(
    r"(<dcterms:(created|modified) xsi:type=\"dcterms:W3CDTF\">)[^<]*(</dcterms:\2>)"
)
_BASE64_IMAGE = {"image/png", "image/jpeg"}
# pandoc names each picture after its source: for a data URI, the whole base64 again.
_SOURCE_AS_NAME = re.compile(r'(<pic:cNvPr descr=")data:[^"]*(")')
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _pandoc() -> str:
    try:
        import pypandoc
    except ImportError as exc:
        raise Unavailable(
            f"Word reports need pandoc, which is not installed: {INSTALL_HINT}"
        ) from exc
    try:
        return str(pypandoc.get_pandoc_path())
    except OSError as exc:
        raise Unavailable(
            f"Word reports need pandoc, which cannot be found ({exc}): {INSTALL_HINT}"
        ) from exc


# ---------------------------------------------------------------------------
# Figures as PNG


def inert_svg(svg_text: str) -> str | None:
    """`svg_text` without any reference outside itself (hrefs other than `#id` and PNG, JPEG or
    GIF data), ready to draw; None when it is not well-formed XML or declares entities."""
    import xml.etree.ElementTree as ET

    if "<!ENTITY" in svg_text.upper():
        return None
    try:
        root = ET.fromstring(svg_text)
    except ET.ParseError:
        return None
    for element in root.iter():
        for name in ("href", _XLINK_HREF):
            value = element.get(name)
            if value is not None and not (value.startswith("#") or _INERT_DATA.match(value)):
                del element.attrib[name]
    return ET.tostring(root, encoding="unicode")


def svg_to_png(svg_text: str) -> bytes | None:
    """An SVG drawn as PNG at twice its CSS pixel size (192 ppi: the same size on the page,
    sharp when printed), after `inert_svg`; None when it cannot be drawn."""
    import vl_convert

    inert = inert_svg(svg_text)
    if inert is None:
        return None
    try:
        # vl-convert counts an SVG pixel as a point: 0.75 makes it a CSS pixel (1/96 inch).
        return bytes(vl_convert.svg_to_png(inert, 0.75, 192))
    except Exception:  # a figure that cannot be drawn is left out, never fatal
        return None


class Pictures:
    """The PNG pictures of one document, handed to pandoc as stand-ins.

    pandoc reads a data URI's base64 slowly (about 2 s for the half megabyte of a report's
    charts), yet only needs a picture's size: each PNG goes in as a stand-in with the same
    header (width, height, resolution) and a number, and `finish_package` puts the real bytes
    in the .docx where pandoc stored the stand-in, unchanged.
    """

    def __init__(self) -> None:
        self.real: dict[bytes, bytes] = {}  # stand-in -> the picture

    def src(self, mime: str, data: bytes | None) -> str:
        from nbmodelbook.report.sanitize import image_data_uri

        if data is None:
            return ""  # pandoc, in its sandbox, shows the image's description instead
        stand_in = _png_stand_in(data, len(self.real)) if mime == "image/png" else None
        if stand_in is None:
            return image_data_uri(mime, data)
        self.real[stand_in] = data
        return image_data_uri(mime, stand_in)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def _png_stand_in(png: bytes, number: int) -> bytes | None:
    """A PNG with `png`'s size and resolution (IHDR, pHYs), numbered, without its pixels; None
    if `png` has no IHDR."""
    if not png.startswith(_PNG_SIGNATURE):
        return None
    kept: list[bytes] = []
    position = len(_PNG_SIGNATURE)
    while position + 12 <= len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        if kind in (b"IHDR", b"pHYs"):
            kept.append(png[position : position + 12 + length])
        if kind in (b"IDAT", b"IEND"):
            break
        position += 12 + length
    if not kept or kept[0][4:8] != b"IHDR":
        return None
    number_chunk = _png_chunk(b"tEXt", b"nbmodelbook-picture\x00" + str(number).encode())
    # pandoc reads the size up to the first IDAT: an empty one ends its reading.
    pixels = _png_chunk(b"IDAT", zlib.compress(b""))
    return _PNG_SIGNATURE + b"".join(kept) + number_chunk + pixels + _png_chunk(b"IEND", b"")


# The pictures of the document being rendered (the macros' filters have no render context).
_PICTURES: ContextVar[Pictures] = ContextVar("nbmodelbook_docx_pictures")


def _chart_src(chart: ChartImage) -> str:
    return _PICTURES.get().src("image/png", svg_to_png(chart.svg))


def _figure_src(figure: Figure) -> str:
    pictures = _PICTURES.get()
    if figure.image_bytes is None or not figure.image_mime:
        return ""
    if figure.image_mime in _BASE64_IMAGE:
        return pictures.src(figure.image_mime, figure.image_bytes)
    return pictures.src("image/png", svg_to_png(figure.image_bytes.decode("utf-8", "replace")))


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    from nbmodelbook.report.render_html import template_environment

    # The HTML report's template and settings, with figures as PNG.
    return template_environment(_chart_src, _figure_src)


def docx_html(page: dict[str, Any]) -> tuple[str, Pictures]:
    """The HTML pandoc reads: the HTML report of `page`, its figures PNG stand-ins; and the
    pictures that replace them."""
    from nbmodelbook.report.render_html import CSP

    pictures = Pictures()
    token = _PICTURES.set(pictures)
    try:
        html = _environment().get_template("review.html.j2").render(page={**page, "csp": CSP})
    finally:
        _PICTURES.reset(token)
    return html, pictures


# ---------------------------------------------------------------------------
# The document


def review_date(review: Review) -> datetime:
    """The date a review's document is stamped with: when its newest run ended (or started)."""
    times = [
        run.ended_at if run.ended_at is not None else run.started_at for run in review.runs.values()
    ]
    finite = [t for t in times if t == t and 0 <= t < 253_402_300_800]  # no NaN, before 10000
    if not finite:
        return _ZIP_EPOCH
    return max(_ZIP_EPOCH, datetime.fromtimestamp(int(max(finite)), tz=UTC))


def _subtitle(page: dict[str, Any]) -> str:
    """The HTML report's header line, as plain text."""
    runs = len(page["history"])
    parts = [f"Model review of notebook {page['notebook']}"]
    if page["store"]:
        parts.append(f"runs from {page['store']}")
    parts.append(f"{runs} recorded run{'s' if runs != 1 else ''}")
    return " · ".join(" ".join(str(part).split()) for part in parts)


def _filter_path() -> Path:
    from importlib.resources import files

    return Path(str(files("nbmodelbook.report") / "templates" / "review.docx.lua"))


def _run_pandoc(html: str, subtitle: str) -> bytes:
    command = [
        _pandoc(),
        "--sandbox",  # reads its input and filter only: no file, no URL from the content
        "--from=html-raw_html",
        "--to=docx",
        "--shift-heading-level-by=-1",  # the report's <h2> sections are Word's Heading 1
        f"--lua-filter={_filter_path()}",
        # A metadata value given here is a plain string: never read as Markdown.
        "--metadata",
        f"subtitle={subtitle}",
        "--output=-",
    ]
    try:
        completed = subprocess.run(
            command, input=html.encode("utf-8"), capture_output=True, timeout=PANDOC_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"pandoc could not write the Word report: {exc}") from exc
    if completed.returncode != 0 or not completed.stdout:
        message = completed.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise Unavailable(
            f"pandoc could not write the Word report (exit {completed.returncode}): {message}"
        )
    return completed.stdout


_TABLE_STYLE = re.compile(r'(<w:style [^>]*w:styleId="Table" [^>]*>.*?<w:tblInd [^>]*/>)', re.S)
# Every cell ruled: pandoc's default table style has none, and a committee reads across rows.
_RULES = "".join(
    f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="A0A0A0" />'
    for side in ("top", "left", "bottom", "right", "insideH", "insideV")
)


def ruled_tables(styles_xml: str) -> str:
    """pandoc's styles with borders on its table style (unchanged if that style is not found)."""
    return _TABLE_STYLE.sub(
        lambda m: f"{m.group(1)}<w:tblBorders>{_RULES}</w:tblBorders>", styles_xml, 1
    )


def finish_package(
    docx: bytes, when: datetime, pictures: Mapping[bytes, bytes] | None = None
) -> bytes:
    """`docx` with every file dated `when`, its properties created and modified then, its
    tables ruled, its picture stand-ins replaced by `pictures` (stand-in -> picture) and no
    picture named by its data URI: the same review gives the same bytes."""
    pictures = pictures or {}
    replaced = 0
    stamp = when.astimezone(UTC)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    date_time = stamp.timetuple()[:6]
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "docProps/core.xml":
                text = _CORE_DATE.sub(lambda m: f"{m.group(1)}{iso}{m.group(3)}", data.decode())
                data = text.encode("utf-8")
            elif entry.filename == "word/document.xml":
                data = _SOURCE_AS_NAME.sub(r"\1\2", data.decode("utf-8")).encode("utf-8")
            elif entry.filename == "word/styles.xml":
                data = ruled_tables(data.decode("utf-8")).encode("utf-8")
            elif entry.filename.startswith("word/media/") and data in pictures:
                data = pictures[data]
                replaced += 1
            info = zipfile.ZipInfo(entry.filename, date_time=date_time)
            info.compress_type = entry.compress_type
            info.external_attr = 0o644 << 16  # rw-r--r--, whatever the writer's umask was
            info.create_system = 0  # the same bytes whichever system wrote them
            target.writestr(info, data)
    if replaced != len(pictures):
        raise RuntimeError(f"pandoc kept {replaced} of the document's {len(pictures)} pictures")
    return out.getvalue()


def render_docx(review: Review) -> bytes:
    """The review as a Word document: title, summary, then every section the view shows."""
    _pandoc()  # fail before any work when pandoc is missing
    page = build_view(review)
    html, pictures = docx_html(page)
    document = _run_pandoc(html, _subtitle(page))
    return finish_package(document, review_date(review), pictures.real)
