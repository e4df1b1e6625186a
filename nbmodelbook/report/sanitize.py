"""Untrusted text and outputs -> HTML that is safe to put in a review report.

Everything a notebook, a run or a user wrote is untrusted here: annotation bodies (Markdown),
captured HTML outputs (pandas tables), captured SVG/PNG figures. The rules:

* Markdown is rendered with raw HTML *off* (so `<script>` in Markdown becomes text), then the
  HTML goes through `nh3` with a strict allow-list: no `style`, no event handlers, no images,
  iframes, objects or forms, links only to http/https/mailto or to an anchor of the report.
* Figures are never inlined: they become `data:` URIs for an `<img>` element. A browser runs no
  script and loads no external resource in an image document, so even a hostile SVG is inert.
* Captured HTML keeps its table structure and text, nothing else (links are unwrapped).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import nh3
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

__all__ = [
    "MAX_IMAGE_BYTES",
    "html_output_to_safe_html",
    "image_data_uri",
    "markdown_to_safe_html",
    "ref_pattern",
    "safe_png",
    "safe_svg",
]

MAX_IMAGE_BYTES = 8_000_000  # decoded size above which a figure is not embedded

_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_FRAGMENT = re.compile(r"#[A-Za-z0-9_.:-]{1,200}")

_TABLE_TAGS = frozenset({"table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption"})
_MARKDOWN_TAGS = frozenset(
    {"p", "a", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "br", "hr", "s"}
    | {f"h{level}" for level in range(1, 7)}
    | _TABLE_TAGS
)
# What a captured text/html output may keep: its structure and text, nothing active, no links.
_OUTPUT_TAGS = (_MARKDOWN_TAGS - {"a", "h1", "h2"}) | {"div", "span", "sub", "sup", "b", "i"}
_CELL_ATTRIBUTES = {"th": {"colspan", "rowspan"}, "td": {"colspan", "rowspan"}}
# Dropped together with their content (the rest of an unknown tag's text is kept).
_CLEAN_CONTENT = frozenset(
    {"script", "style", "template", "textarea", "title", "noscript", "iframe", "object"}
    | {"embed", "svg", "math", "select", "xmp", "noembed", "noframes", "head", "button"}
)


def _relative_url(url: str) -> str | None:
    """Only in-report anchors survive as relative links (no `//host`, no file paths)."""
    return url if _FRAGMENT.fullmatch(url) else None


@lru_cache(maxsize=1)
def _markdown_cleaner() -> nh3.Cleaner:
    import nh3

    return nh3.Cleaner(
        tags=set(_MARKDOWN_TAGS),
        clean_content_tags=set(_CLEAN_CONTENT),
        attributes={"a": {"href", "title"}, **_CELL_ATTRIBUTES},
        url_schemes=set(_LINK_SCHEMES),
        url_relative=_relative_url,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


@lru_cache(maxsize=1)
def _output_cleaner() -> nh3.Cleaner:
    import nh3

    return nh3.Cleaner(
        tags=set(_OUTPUT_TAGS),
        clean_content_tags=set(_CLEAN_CONTENT),
        attributes=dict(_CELL_ATTRIBUTES),
        url_schemes=set(_LINK_SCHEMES),
        url_relative="deny",
        strip_comments=True,
    )


@lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    """How untrusted Markdown is read, for the HTML report and the Markdown one alike."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    # `![alt](url)` then reads as "!" and a visible link: no image is ever fetched.
    parser.disable("image")
    return parser


def ref_pattern(refs: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(ref) for ref in sorted(set(refs), key=lambda r: (-len(r), r)))
    # Longest first, and not followed by more of a name: `run:rf-3` never matches `run:rf-30`.
    return re.compile(rf"run:(?:{alternatives})(?![A-Za-z0-9_-])")


def _link_run_refs(tokens: list[Token], run_links: Mapping[str, str]) -> None:
    """Turn `run:REF` in plain text (not code, not inside a link) into in-report links."""
    from markdown_it.token import Token

    pattern = ref_pattern([ref for ref in run_links if ref])
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        link_depth = 0
        for child in block.children:
            if child.type == "link_open":
                link_depth += 1
            elif child.type == "link_close":
                link_depth = max(0, link_depth - 1)
            if child.type != "text" or link_depth or "run:" not in child.content:
                children.append(child)
                continue
            text, position = child.content, 0
            for match in pattern.finditer(text):
                if match.start() > position:
                    children.append(_text_token(text[position : match.start()]))
                ref = match.group(0)[len("run:") :]
                opening = Token("link_open", "a", 1)
                opening.attrSet("href", "#" + run_links[ref])
                children.extend(
                    [opening, _text_token(match.group(0)), Token("link_close", "a", -1)]
                )
                position = match.end()
            if position < len(text):
                children.append(_text_token(text[position:]))
        block.children = children


def _text_token(content: str) -> Token:
    from markdown_it.token import Token

    token = Token("text", "", 0)
    token.content = content
    return token


def _shift_headings(tokens: list[Token], offset: int) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + offset)}"


def markdown_to_safe_html(
    markdown: str, run_links: Mapping[str, str] | None = None, heading_offset: int = 0
) -> str:
    """Render untrusted Markdown to sanitized HTML.

    CommonMark plus tables and strikethrough; raw HTML is escaped, never rendered; images become
    plain links; then `nh3` keeps only text-level tags, lists, quotes, code, headings and tables,
    and links to http/https/mailto URLs (with `rel="noopener noreferrer"`) or `#anchors`.

    `run_links` maps a `run:REF` token's REF to an anchor id of the report (without `#`): those
    tokens, outside code and links, become links to that anchor. `heading_offset` demotes the
    text's headings (1 + 3 -> h4) so they nest under the report's own.
    """
    if not markdown.strip():
        return ""
    parser = markdown_parser()
    env: dict[str, Any] = {}
    tokens = parser.parse(markdown, env)
    if run_links:
        _link_run_refs(tokens, run_links)
    if heading_offset > 0:
        _shift_headings(tokens, heading_offset)
    rendered = parser.renderer.render(tokens, parser.options, env)
    return _markdown_cleaner().clean(rendered).strip()


def html_output_to_safe_html(html: str) -> str:
    """A captured text/html output (e.g. a pandas table) reduced to inert structure and text."""
    return _output_cleaner().clean(html).strip()


# ---------------------------------------------------------------------------
# Figures: data URIs for <img>, never inline markup.

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_WHITESPACE = re.compile(r"\s+")
_SVG_START = re.compile(
    r"\A\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*(?:<!DOCTYPE svg[^>\[]*>\s*)?(?:<!--.*?-->\s*)*"
    r"<svg[\s>]",
    re.DOTALL | re.IGNORECASE,
)


def _decode_base64(data: str) -> bytes | None:
    compact = _WHITESPACE.sub("", data)
    if not compact or len(compact) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        return None
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def image_bytes(mime: str, data: str) -> bytes | None:
    """The decoded bytes of a captured base64 PNG or JPEG output, or None if not one."""
    raw = _decode_base64(data)
    if raw is None or len(raw) > MAX_IMAGE_BYTES:
        return None
    magic = {"image/png": _PNG_MAGIC, "image/jpeg": _JPEG_MAGIC}.get(mime)
    if magic is None or not raw.startswith(magic):
        return None
    return raw


def image_data_uri(mime: str, raw: bytes) -> str:
    """`data:<mime>;base64,...` of bytes we checked (the base64 alphabet needs no escaping)."""
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def safe_png(data: str, mime: str = "image/png") -> str | None:
    """A data URI for a captured base64 PNG (or JPEG) output, or None when it is not one."""
    raw = image_bytes(mime, data)
    return None if raw is None else image_data_uri(mime, raw)


def svg_bytes(svg_text: str) -> bytes | None:
    """The UTF-8 bytes of a plausible SVG document, or None (not SVG, too big, or has entities).

    Entity declarations are refused: an image viewer expanding nested entities can be made to
    hang ("billion laughs"); real figures have no use for them.
    """
    if not isinstance(svg_text, str) or not _SVG_START.match(svg_text[:4096]):
        return None
    if "<!ENTITY" in svg_text.upper():
        return None
    raw = svg_text.encode("utf-8", "replace")
    return raw if len(raw) <= MAX_IMAGE_BYTES else None


def safe_svg(svg_text: str) -> str | None:
    """A `data:image/svg+xml;base64,...` URI for an untrusted SVG, to show with `<img src>`.

    SVG loaded as an image runs no script and fetches nothing, so the document's content does not
    need cleaning; it is only checked to be SVG. Returns None when it is not.
    """
    raw = svg_bytes(svg_text)
    return None if raw is None else image_data_uri("image/svg+xml", raw)
