"""Reading a PDF report back the way a reader would: its pages' text (poppler's pdftotext), its
words' boxes, its fonts (pypdf); and the table cells of an HTML report to compare it with."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

# A4 in PDF points, as WeasyPrint writes it.
A4 = (595.28, 841.89)


def require_pdftotext() -> None:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: run `bash scripts/ensure_pdf.sh` (poppler-utils)")


def pdftotext(pdf: Path, *options: str) -> str:
    require_pdftotext()
    done = subprocess.run(
        ["pdftotext", *options, str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def page_texts(pdf: Path) -> list[str]:
    """Each page's text in drawing order (`-raw`: a table cell's lines stay together)."""
    pages = pdftotext(pdf, "-raw").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def squash(text: str) -> str:
    """Text with every space, line break and soft hyphen gone: a cell wrapped over three lines
    reads as the cell."""
    return re.sub(r"[\s\u00ad]+", "", text)


def words_outside(pdf: Path, margin: float = 0.5) -> list[str]:
    """Words whose box is not inside their page (a clipped column, an overflowing line)."""
    page_box = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')
    word_box = re.compile(
        r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">(.*?)</word>'
    )
    outside = []
    width = height = 0.0
    for line in pdftotext(pdf, "-bbox").splitlines():
        if found := page_box.search(line):
            width, height = float(found[1]), float(found[2])
        elif found := word_box.search(line):
            x_min, y_min, x_max, y_max = (float(found[i]) for i in range(1, 5))
            if (
                x_min < -margin
                or y_min < -margin
                or x_max > width + margin
                or (y_max > height + margin)
            ):
                outside.append(found[5])
    return outside


def fonts_without_file(data: bytes) -> list[str]:
    """The fonts the PDF uses that it does not embed (a FontFile, FontFile2 or FontFile3)."""
    from pypdf import PdfReader

    missing: list[str] = []
    seen: set[int] = set()

    def visit(resources: object) -> None:
        if resources is None:
            return
        resources = resources.get_object()  # type: ignore[attr-defined]
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            if id(font) in seen:
                continue
            seen.add(id(font))
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described.get("/FontDescriptor")
            if font.get("/Subtype") == "/Type3":
                continue  # drawn from glyph procedures in the file itself
            has_file = descriptor is not None and any(
                key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            if not has_file:
                missing.append(str(font.get("/BaseFont")))
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Form":
                visit(xobject.get("/Resources"))

    reader = PdfReader(io.BytesIO(data))
    for page in reader.pages:
        visit(page.get("/Resources"))
    assert seen, "the PDF uses no font at all"
    return missing


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self._open: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("td", "th"):
            self._open.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._open:
            self.cells.append("".join(self._open.pop()))

    def handle_data(self, data: str) -> None:
        for cell in self._open:
            cell.append(data)


def table_cells(html: str) -> list[str]:
    """The text of every table cell of an HTML document, in order."""
    parser = _Cells()
    parser.feed(html)
    parser.close()
    return parser.cells


def missing_cells(html: str, pdf_text: str) -> list[str]:
    """The HTML's table cells whose text the PDF's text does not hold (whitespace aside)."""
    text = squash(pdf_text)
    return [cell for cell in table_cells(html) if squash(cell) and squash(cell) not in text]


# A child Python in which `import weasyprint` fails as it does on a machine without it (or,
# with "oserror", as it does when WeasyPrint is there but the Pango library is not).
BLOCK_WEASYPRINT = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == "weasyprint" or name.startswith("weasyprint."):
            if {kind!r} == "oserror":
                raise OSError("cannot load library 'libpango-1.0-0': No such file")
            raise ModuleNotFoundError("No module named 'weasyprint'", name=name)
        return None
sys.meta_path.insert(0, _Block())
sys.modules.pop("weasyprint", None)
"""


def python_without_weasyprint(kind: str, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_WEASYPRINT.format(kind=kind) + code],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
