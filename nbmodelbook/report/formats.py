"""The report formats: a registry from a short name to how a Review is written to disk.

    fmt = REPORT_FORMATS["html"]
    written = fmt.render(review, fmt.path_for("credit.ipynb"))  # [Path("credit.review.html")]

Renderers are imported when a report is written, not when this module is imported. A format
that needs an optional package or a system library says so through `available()`: the reason it
cannot be written here, or None when it can (the server lists it, greyed out, with that reason).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbmodelbook.errors import PathRejected
from nbmodelbook.notebook_file import check_output_file
from nbmodelbook.report.model import Review

__all__ = [
    "REPORT_FORMATS",
    "Availability",
    "ReportFormat",
    "always_available",
    "check_report_output",
    "format_for_output",
    "get_format",
    "register_format",
    "write_file",
]

Renderer = Callable[[Review, Path], list[Path]]
# Why a format cannot be written here (a missing package or system library, said with how to
# get it), or None when it can.
Availability = Callable[[], str | None]


def always_available() -> None:
    """The availability of a format that needs nothing beyond nbmodelbook's own dependencies."""
    return None


@dataclass(frozen=True, slots=True)
class ReportFormat:
    name: str  # "html", "md"
    suffix: str  # appended to the notebook's stem: ".review.html"
    description: str
    render: Renderer  # (review, out_path) -> the files written, the report itself first
    # The extensions a file of this format may have, lower case (default: the suffix's last).
    extensions: tuple[str, ...] = ()
    # Asked before writing and by frontends offering a choice: cheap after its first call.
    available: Availability = always_available

    def __post_init__(self) -> None:
        if not self.extensions:
            last = "." + self.suffix.rsplit(".", 1)[-1].lower()
            object.__setattr__(self, "extensions", (last,))  # frozen: set once, here

    def path_for(self, notebook: str | Path, directory: str | Path | None = None) -> Path:
        """Where the report of `notebook` goes: beside it (or in `directory`), `<stem><suffix>`."""
        source = Path(notebook)
        folder = Path(directory) if directory is not None else source.parent
        return folder / f"{source.stem}{self.suffix}"


REPORT_FORMATS: dict[str, ReportFormat] = {}


def register_format(report_format: ReportFormat, *, replace: bool = False) -> ReportFormat:
    """Add a format (a name already taken raises ValueError unless `replace`)."""
    if not replace and report_format.name in REPORT_FORMATS:
        raise ValueError(f"report format {report_format.name!r} is already registered")
    if not report_format.suffix.startswith("."):
        raise ValueError(f"a report suffix starts with '.': {report_format.suffix!r}")
    for extension in report_format.extensions:
        if not extension.startswith(".") or extension != extension.lower():
            raise ValueError(f"a report extension is '.' and lower case letters: {extension!r}")
    REPORT_FORMATS[report_format.name] = report_format
    return report_format


def get_format(name: str) -> ReportFormat:
    try:
        return REPORT_FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(REPORT_FORMATS))
        raise ValueError(f"unknown report format {name!r} (known: {known})") from None


def _extensions_help() -> str:
    return "; ".join(
        f"{fmt.name} reports end in {' or '.join(fmt.extensions)}"
        for fmt in REPORT_FORMATS.values()
    )


def format_for_output(output: Path, name: str | None = None) -> ReportFormat:
    """The format of a report written to `output`: the one named (`output`'s extension must be
    one of its), else the one `output`'s extension stands for. Anything else is refused rather
    than guessed: a `.pdf` holding HTML is a file nobody can open."""
    extension = output.suffix.lower()
    if name is None:
        for report_format in REPORT_FORMATS.values():
            if extension in report_format.extensions:
                return report_format
        raise PathRejected(
            f"cannot tell which report format {output.name} is meant to be: {_extensions_help()}"
        )
    report_format = get_format(name)
    if extension not in report_format.extensions:
        raise PathRejected(
            f"{output.name} is not a file name for the {name} format: {_extensions_help()}"
        )
    return report_format


def check_report_output(output: Path, notebook: Path) -> None:
    """Refuse to write a report where it would destroy something: over its own notebook or any
    notebook, into a folder's place, through a symbolic link, under a file."""
    check_output_file(output, example_name=f"{notebook.stem}{REPORT_FORMATS['html'].suffix}")
    if output.exists() and notebook.exists() and os.path.samefile(output, notebook):
        raise PathRejected(
            f"{output} is the notebook itself: a report is never written over its own notebook; "
            f"write it to e.g. {get_format('html').path_for(notebook)}"
        )
    if output.suffix.lower() == ".ipynb":
        raise PathRejected(
            f"{output} is a notebook's name: a report is never written as a notebook; "
            f"write it to e.g. {output.with_suffix('.review.html')}"
        )


def write_file(path: Path, data: bytes) -> Path:
    """Write atomically: a reader never sees half a report, a failed write leaves the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        # mkstemp creates 0600; a report is meant to be shared like any file the user writes.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _render_html(review: Review, out_path: Path) -> list[Path]:
    from nbmodelbook.report.render_html import render_html

    return [write_file(Path(out_path), render_html(review).encode("utf-8"))]


def markdown_image_dir(out_path: Path) -> Path:
    """The images folder of a Markdown report, relative to it: `x.review.md` -> `x.review_files`."""
    name = out_path.name
    stem = name[: -len(".md")] if name.endswith(".md") else out_path.stem
    return Path(f"{stem}_files")


def _render_markdown(review: Review, out_path: Path) -> list[Path]:
    from nbmodelbook.report.render_markdown import render_markdown

    out_path = Path(out_path)
    text, files = render_markdown(review, markdown_image_dir(out_path))
    written = [write_file(out_path, text.encode("utf-8"))]
    for relative, data in files.items():
        target = out_path.parent / relative
        # Names come from our own renderer, but keep every write inside the images folder.
        if ".." in Path(relative).parts or Path(relative).is_absolute():
            raise ValueError(f"refusing to write outside the report folder: {relative!r}")
        written.append(write_file(target, data))
    return written


def _render_pdf(review: Review, out_path: Path) -> list[Path]:
    from nbmodelbook.report.render_pdf import render_pdf

    return [write_file(Path(out_path), render_pdf(review))]


def _pdf_available() -> str | None:
    """PDF reports need WeasyPrint and the Pango library it loads (asked once, about 2 s)."""
    from nbmodelbook.report.render_pdf import pdf_unavailable

    return pdf_unavailable()


def _render_docx(review: Review, out_path: Path) -> list[Path]:
    from nbmodelbook.report.render_docx import render_docx

    return [write_file(Path(out_path), render_docx(review))]


_DOCX_HINT = "pip install 'nbmodelbook[docx]'"


def _docx_available() -> str | None:
    """Word reports need pandoc: the `pypandoc-binary` wheel carries it. (Asked without
    importing the renderer, which takes seconds: a dialog waits for the answer.)"""
    try:
        import pypandoc
    except ImportError:
        return f"Word reports need pandoc, which is not installed: {_DOCX_HINT}"
    try:
        pypandoc.get_pandoc_path()
    except OSError as exc:
        return f"Word reports need pandoc, which cannot be found ({exc}): {_DOCX_HINT}"
    return None


def _render_json(review: Review, out_path: Path) -> list[Path]:
    from nbmodelbook.report.render_json import review_json

    return [write_file(Path(out_path), review_json(review).encode("utf-8"))]


register_format(
    ReportFormat(
        "html",
        ".review.html",
        "One self-contained HTML file (no script, no network), print-friendly.",
        _render_html,
        extensions=(".html", ".htm"),
    )
)
register_format(
    ReportFormat(
        "md",
        ".review.md",
        "GitHub-flavoured Markdown, with its charts and figures in a `<name>_files` folder.",
        _render_markdown,
        extensions=(".md", ".markdown"),
    )
)
register_format(
    ReportFormat(
        "json",
        ".review.json",
        'The review model as JSON ("schema": "nbmodelbook.review/1"): figures, comparisons, '
        "findings.",
        _render_json,
    )
)
register_format(
    ReportFormat(
        "pdf",
        ".review.pdf",
        "An A4 PDF for a review committee (WeasyPrint: the pdf extra and the Pango library).",
        _render_pdf,
        available=_pdf_available,
    )
)
register_format(
    ReportFormat(
        "docx",
        ".review.docx",
        "A Word document (Heading styles, Word tables, PNG figures), made with pandoc "
        "(pip install 'nbmodelbook[docx]').",
        _render_docx,
        available=_docx_available,
    )
)
