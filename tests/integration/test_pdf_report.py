"""`nbmodelbook report --format pdf` on the demo notebook, executed for real in a kernel: what
a validation committee receives, read back with pdftotext and pypdf."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nbmodelbook.cli import main
from tests.report.pdf_checks import (
    fonts_without_file,
    missing_cells,
    page_texts,
    python_without_weasyprint,
    words_outside,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MAX_DEMO_PAGES = 12


class Demo:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.notebook = folder / "demo.ipynb"
        self.store = folder / "runs.sqlite"

    def report(self, *options: str) -> int:
        return main(["report", str(self.notebook), "--store", str(self.store), *options])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    demo = Demo(tmp_path_factory.mktemp("demo"))
    shutil.copyfile(ROOT / "demo.ipynb", demo.notebook)
    env = {**os.environ, "NBMODELBOOK_STORE": str(demo.store)}
    command = [sys.executable, "-m", "nbmodelbook", "execute", str(demo.notebook)]
    for _attempt in range(3):
        done = subprocess.run(
            command, env=env, cwd=demo.folder, capture_output=True, text=True, timeout=900
        )
        # On a loaded machine a kernel can take longer than nbclient's 60 s to start.
        if "Kernel didn't respond" not in done.stderr:
            break
    assert done.returncode == 0, done.stderr
    return demo


@pytest.fixture(scope="module")
def pdf(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pdf") / "x.pdf"
    assert demo.report("-o", str(out)) == 0
    return out


def test_o_x_pdf_writes_one_pdf_and_nothing_else(pdf: Path) -> None:
    assert sorted(path.name for path in pdf.parent.iterdir()) == ["x.pdf"]
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_format_pdf_writes_beside_the_notebook_the_same_bytes(demo: Demo, pdf: Path) -> None:
    target = demo.folder / "demo.review.pdf"
    # Another process (another hash seed): the same file, byte for byte.
    command = ["report", str(demo.notebook), "--store", str(demo.store), "--format", "pdf"]
    done = subprocess.run(
        [sys.executable, "-m", "nbmodelbook", *command],
        env={**os.environ, "PYTHONHASHSEED": "7"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target)
    assert target.read_bytes() == pdf.read_bytes()


def test_the_demo_fits_a_committee_pack(pdf: Path) -> None:
    from pypdf import PdfReader

    pages = len(PdfReader(pdf).pages)
    assert 3 <= pages <= MAX_DEMO_PAGES, f"the demo's PDF has {pages} pages"


def test_page_one_is_the_summary_and_only_the_summary(pdf: Path) -> None:
    pages = page_texts(pdf)
    first = pages[0]
    assert first.startswith("Breast-cancer diagnosis: choosing a classifier")
    assert "1. Summary" in first and "At a glance" in first
    assert "Integrity audit:" in first, "the summary's last item is not on page 1"
    for later in ("Contents", "2. Decisions", "Decision 1:", "Rationale"):
        assert later not in first, f"{later!r} is on page 1"
    assert "Contents" in pages[1]


def test_no_table_is_clipped(demo: Demo, pdf: Path, tmp_path: Path) -> None:
    html = tmp_path / "demo.review.html"
    assert demo.report("-o", str(html)) == 0
    missing = missing_cells(html.read_text(encoding="utf-8"), "".join(page_texts(pdf)))
    assert not missing, f"{len(missing)} table cells of the HTML report are not in the PDF"
    assert not words_outside(pdf), "text runs past the page's edge"


def test_fonts_are_embedded(pdf: Path) -> None:
    assert fonts_without_file(pdf.read_bytes()) == []


def test_without_weasyprint_the_command_says_what_to_install(demo: Demo, tmp_path: Path) -> None:
    out = tmp_path / "refused.pdf"
    argv = ["report", str(demo.notebook), "--store", str(demo.store), "-o", str(out)]
    code = f"import sys\nfrom nbmodelbook.cli import main\nsys.exit(main({argv!r}))\n"
    done = python_without_weasyprint("missing", code, ROOT)
    assert done.returncode == 2, done.stderr
    assert "pip install 'nbmodelbook[pdf]'" in done.stderr
    assert "libpango-1.0-0 libpangoft2-1.0-0" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
