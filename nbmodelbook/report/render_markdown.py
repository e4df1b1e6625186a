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
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from nbmodelbook.report.model import Review
from nbmodelbook.report.view import Body, ChartImage, Figure, build_view

if TYPE_CHECKING:  # pragma: no cover - typing only
    import jinja2

__all__ = ["md_code", "md_text", "render_markdown"]

_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]{}|~$!#])")
# What would start a list item, a thematic break or a setext underline at the start of a line.
_LINE_START = re.compile(r"^(\d{0,9})([.)]|(?<![0-9])[-+])(?=\s|$)|^()([-=])(?=[-=\s]*$)")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_BARE_URL = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*:|\bwww)([/.])")
_IMAGE_EXT = {"image/png": "png", "image/jpeg": "jpg"}


def md_text(text: object) -> str:
    """Untrusted text as inline Markdown that renders as exactly that text, on one line."""
    value = " ".join(str(text).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _INLINE_SPECIAL.sub(r"\\\1", value)
    # Renderers that link bare URLs (GFM's autolinks, mistune's url plugin) take the escapes
    # after one into the URL, and the brackets they escaped come alive: an entity for the
    # slash or dot reads the same and starts no link.
    value = _BARE_URL.sub(lambda m: m.group(1) + ("&#47;" if m.group(2) == "/" else "&#46;"), value)
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
    """Content for a GFM table cell: `|` escaped (also inside code spans, as GFM requires),
    once: a pipe `md_text` already escaped stays `\\|` (a second backslash would end the cell
    in renderers that read `\\\\` first, such as mistune)."""
    return _UNESCAPED_PIPE.sub(r"\\|", text)


def code_block(code: str, language: str = "") -> str:
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.rstrip()}\n{fence}"


def md_body(
    markdown: str, run_links: Mapping[str, str] | None = None, heading_offset: int = 0
) -> str:
    """An annotation body as a block quote of inert Markdown (see `safe_markdown`)."""
    from nbmodelbook.report.safe_markdown import safe_markdown

    text = safe_markdown(markdown, run_links, heading_offset)
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n")) if text else ""


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


class _Images:
    """Where the template's images go: files beside the Markdown, or inline data URIs."""

    def __init__(self, image_dir: Path | None) -> None:
        self.image_dir = PurePosixPath(image_dir.as_posix()) if image_dir is not None else None
        self.files: dict[str, bytes] = {}

    def _image(self, name: str, mime: str, data: bytes, alt: str) -> str:
        from nbmodelbook.report.sanitize import image_data_uri

        extension = {"image/svg+xml": "svg", **_IMAGE_EXT}[mime]
        if self.image_dir is None:
            return f'<img alt="{_attr(alt)}" src="{image_data_uri(mime, data)}">'
        path = str(self.image_dir / f"{name}.{extension}")
        self.files[path] = data
        return f"![{md_text(alt)}]({_url_path(path)})"

    def chart(self, chart: ChartImage) -> str:
        return self._image(chart.name, "image/svg+xml", chart.svg.encode("utf-8"), chart.alt)

    def figure(self, view: Mapping[str, Any]) -> str:
        figure: Figure = view["figure"]
        if figure.image_bytes is None or not figure.image_mime:
            return ""
        alt = f"Figure {view['position']} of the chosen run"
        if figure.image_mime in _IMAGE_EXT:
            return self._image(view["name"], figure.image_mime, figure.image_bytes, alt)
        # An untrusted vector image: only ever as an inline data-URI image, never a file.
        from nbmodelbook.report.sanitize import image_data_uri

        uri = image_data_uri(figure.image_mime, figure.image_bytes)
        return f'<img alt="{_attr(alt)}" src="{uri}">'


def _html_block(figure: Figure) -> str:
    """Sanitized captured HTML as one HTML block (no blank line ends it early), brackets as
    entities so no Markdown reader could take the output's text for link syntax."""
    html = "\n".join(line for line in (figure.html or "").splitlines() if line.strip())
    html = html.replace("[", "&#91;").replace("]", "&#93;")
    return f"<div>\n{html}\n</div>" if html else ""


def _body(body: Body, empty: str) -> str:
    if not body:
        return f"*{empty}*" if empty else ""
    return md_body(body.markdown, body.links, heading_offset=3)


_FENCE = re.compile(r"^(`{3,})")


def _normalise_blank_lines(text: str) -> str:
    """One blank line between blocks, none at the start, one newline at the end; code fences
    are left exactly as written (a cell's own blank lines are part of its code)."""
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        if fence is not None:
            out.append(line)
            if line == fence:
                fence = None
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = opening.group(1)
        elif not line.strip():
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nbmodelbook.report", "templates"),
        autoescape=False,  # Markdown: every value goes through an escaping filter instead
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        t=md_text,
        c=md_code,
        cell=md_cell,
        slug=_slug,
        body=_body,
        code_block=code_block,
        html_block=_html_block,
    )
    return env


def render_markdown(review: Review, image_dir: Path | None) -> tuple[str, dict[str, bytes]]:
    """The review as GitHub-flavoured Markdown, and the image files it links to.

    `image_dir` is the folder for images, relative to the Markdown file (e.g.
    `Path("model.review_files")`); the returned dict maps `"<image_dir>/<name>"` (POSIX
    separators, deterministic names such as `chart-decision-1.svg`, `figure-2.png`) to the bytes
    the caller writes. With `image_dir=None` nothing is returned and every image is embedded as
    an `<img src="data:...">` instead, making the Markdown self-contained.
    """
    images = _Images(image_dir)
    page = build_view(review)
    text = _environment().get_template("review.md.j2").render(page=page, images=images)
    return _normalise_blank_lines(text), dict(sorted(images.files.items()))
