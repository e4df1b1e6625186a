"""Untrusted Markdown -> Markdown that shows the same text and structure, and nothing active.

The Markdown report keeps the formatting of annotation bodies, and many readers of it (GitHub,
JupyterLab, nbconvert) render Markdown with raw HTML on. Patching the source line by line cannot
be made safe: a line scanner never sees the document the way a renderer does (a fence opened
after a list marker, an escaped bracket turned live by one more escape). So the body is parsed
with markdown-it as the HTML report parses it (CommonMark, tables, strikethrough; raw HTML and
images off) and written out again from the syntax tree:

* text can only be text: `&` and `<` become entities, every other character that could start
  markup is backslash-escaped, and so is what would open a block at the start of a line;
* links survive only to http/https/mailto URLs and `#anchors` (others keep just their text);
  an image is its `!`, then a link, as in the HTML report; `run:REF` becomes a link;
* code spans and blocks are fenced by more backticks than any run inside them; a code block's
  info string is kept only when it names a plain language (`mermaid` and the like make some
  renderers run the block); a code span holding `<` or `&` is written as escaped text, as
  `md_code` does, so no consumer can take it for markup;
* a list, quote or table is rebuilt with markers of our own choosing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from markdown_it.tree import SyntaxTreeNode

__all__ = ["escape_text", "safe_markdown"]

_SPECIAL = re.compile(r"([\\`*_\[\]{}|~$!#])")
# What opens a block (list item, quote, setext underline, definition) at the start of a line.
_BLOCK_START = re.compile(r"^(\d{1,9})([.)])(?=[ \t]|$)|^()([-+=:>])")
_SAFE_SCHEME = re.compile(r"(?:https?|mailto):", re.IGNORECASE)
_FRAGMENT = re.compile(r"#[A-Za-z0-9_.:-]{1,200}")
# Kept as they are in a link destination; everything else is percent-encoded, so a destination
# can neither end early nor carry markup.
_URL_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#@!$&*+,;=%"
)
# Code block info strings we keep: plain languages. Unknown ones may trigger a renderer plugin.
_LANGUAGES = frozenset(
    {"python", "py", "python3", "ipython", "pycon", "text", "txt", "console", "bash", "sh"}
    | {"shell", "json", "yaml", "yml", "toml", "ini", "sql", "r", "julia", "diff", "csv"}
)
_ALIGNMENT = {"text-align:left": ":---", "text-align:right": "---:", "text-align:center": ":---:"}


def escape_text(text: str) -> str:
    """Text as inline Markdown that renders as exactly that text (line starts aside)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _SPECIAL.sub(r"\\\1", text)


def _escape_line_start(escaped: str) -> str:
    """Escaped text placed at the start of a line: nothing in it may open a block."""
    escaped = escaped.lstrip(" \t")
    return _BLOCK_START.sub(
        lambda m: (m.group(1) or "") + "\\" + (m.group(2) or m.group(4)), escaped, count=1
    )


def _destination(url: str) -> str | None:
    """A link target we keep, written so it cannot end early; None for any other target."""
    if not (_SAFE_SCHEME.match(url) or _FRAGMENT.fullmatch(url)):
        return None
    return "".join(
        char if char in _URL_CHARS else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for char in url
    )


def _code_span(content: str, line_start: bool, in_table: bool) -> str:
    if not content.strip(" "):
        return escape_text(content)
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    # `<`/`&` must stay raw inside a span; a fence at a line start could read as a code block.
    if "<" in content or "&" in content or (line_start and longest >= 2):
        text = escape_text(content)
        return _escape_line_start(text) if line_start else text
    if in_table:
        content = content.replace("|", "\\|")  # GFM splits cells before it sees code spans
    fence = "`" * (longest + 1)
    pad = " " if content[0] in "` " or content[-1] in "` " else ""
    return f"{fence}{pad}{content}{pad}{fence}"


@dataclass
class _Inline:
    """Writes one paragraph's (heading's, cell's) inline nodes back as Markdown."""

    run_links: Mapping[str, str]
    pattern: re.Pattern[str] | None
    in_table: bool = False
    one_line: bool = False

    def __post_init__(self) -> None:
        self.parts: list[str] = []
        self.line_start = not self.one_line  # a heading's or cell's text opens no block
        self.link_depth = 0

    def render(self, nodes: Sequence[SyntaxTreeNode]) -> str:
        self.write_nodes(nodes)
        return "".join(self.parts).rstrip(" \t")

    def emit(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.line_start = False

    def text(self, text: str) -> None:
        if not text:
            return
        escaped = escape_text(text)
        if self.line_start:
            escaped = _escape_line_start(escaped)
            if not escaped:
                return
        self.emit(escaped)

    def text_with_refs(self, text: str) -> None:
        if self.pattern is None or self.link_depth or "run:" not in text:
            self.text(text)
            return
        position = 0
        for match in self.pattern.finditer(text):
            self.text(text[position : match.start()])
            anchor = self.run_links[match.group(0)[len("run:") :]]
            self.emit(f"[{escape_text(match.group(0))}](#{anchor})")
            position = match.end()
        self.text(text[position:])

    def newline(self) -> None:
        if self.one_line:
            self.emit(" ")
            return
        while self.parts and self.parts[-1].endswith((" ", "\t")):
            self.parts[-1] = self.parts[-1].rstrip(" \t")
        self.parts.append("\n")
        self.line_start = True

    def write_nodes(self, nodes: Sequence[SyntaxTreeNode]) -> None:
        for node in nodes:
            self.write(node)

    def write(self, node: SyntaxTreeNode) -> None:
        kind = node.type
        if kind == "text":
            self.text_with_refs(node.content)
        elif kind == "softbreak":
            self.newline()
        elif kind == "hardbreak":
            if self.one_line:
                self.emit(" ")
            else:
                self.emit("\\")
                self.newline()
        elif kind == "code_inline":
            self.emit(_code_span(node.content, self.line_start, self.in_table))
        elif kind in ("em", "strong", "s"):
            default = {"em": "*", "strong": "**", "s": "~~"}[kind]
            markup = node.markup if node.markup in ("*", "_", "**", "__", "~~") else default
            self.emit(markup)
            self.write_nodes(node.children)
            self.emit(markup)
        elif kind == "link":
            self.link(node)
        else:  # html (never produced with HTML off), images (off): their text only
            if node.children:
                self.write_nodes(node.children)
            else:
                self.text(node.content)

    def link(self, node: SyntaxTreeNode) -> None:
        href = node.attrs.get("href")
        target = _destination(href) if isinstance(href, str) and not self.link_depth else None
        if target is None:
            self.write_nodes(node.children)
            return
        self.emit("[")
        self.link_depth += 1
        self.write_nodes(node.children)
        self.link_depth -= 1
        self.emit(f"]({target})")


@dataclass
class _Blocks:
    run_links: Mapping[str, str]
    pattern: re.Pattern[str] | None
    heading_offset: int

    def inline(
        self, node: SyntaxTreeNode, *, in_table: bool = False, one_line: bool = False
    ) -> str:
        children = node.children[0].children if node.children else []
        writer = _Inline(self.run_links, self.pattern, in_table, one_line)
        return writer.render(children)

    def blocks(self, nodes: Sequence[SyntaxTreeNode], blank: bool = True) -> list[str]:
        """Sibling blocks as lines (`blank`: a blank line between them); lists next to each
        other get different markers, so they do not merge into one."""
        rendered: list[str] = []
        previous: tuple[str, str] | None = None
        for node in nodes:
            marker = ""
            if node.type in ("bullet_list", "ordered_list"):
                usual = "-" if node.type == "bullet_list" else "."
                other = "*" if node.type == "bullet_list" else ")"
                marker = other if previous == (node.type, usual) else usual
            lines = self.block(node, marker)
            if not lines:
                continue
            if rendered and blank:
                rendered.append("")
            rendered.extend(lines)
            previous = (node.type, marker)
        return rendered

    def block(self, node: SyntaxTreeNode, marker: str = "") -> list[str]:
        kind = node.type
        if kind == "paragraph":
            text = self.inline(node)
            return text.split("\n") if text else []
        if kind == "heading":
            level = min(6, int(node.tag[1:]) + self.heading_offset)
            text = self.inline(node, one_line=True)
            return ["#" * level + (f" {text}" if text else "")]
        if kind == "blockquote":
            return [f"> {line}" if line else ">" for line in self.blocks(node.children)]
        if kind in ("bullet_list", "ordered_list"):
            return self.list_block(node, marker)
        if kind in ("fence", "code_block"):
            return self.code_block(node)
        if kind == "hr":
            return ["___"]  # never a setext underline, nor a list item's marker
        if kind == "table":
            return self.table_block(node)
        if node.children:
            return self.blocks(node.children)
        text = escape_text(" ".join(node.content.split()))
        return [_escape_line_start(text)] if text.strip() else []

    def list_block(self, node: SyntaxTreeNode, marker: str) -> list[str]:
        items = [child for child in node.children if child.type == "list_item"]
        tight = all(
            child.hidden for item in items for child in item.children if child.type == "paragraph"
        )
        start = node.attrs.get("start", 1)
        number = start if isinstance(start, int) else 1
        lines: list[str] = []
        for item in items:
            bullet = marker if node.type == "bullet_list" else f"{min(number, 999_999_999)}{marker}"
            number += 1
            body = self.blocks(item.children, blank=not tight)
            if lines and not tight:
                lines.append("")
            if not body:
                lines.append(bullet)
                continue
            indent = " " * (len(bullet) + 1)
            lines.append(f"{bullet} {body[0]}" if body[0] else bullet)
            lines.extend(f"{indent}{line}" if line else "" for line in body[1:])
        return lines

    def code_block(self, node: SyntaxTreeNode) -> list[str]:
        content = node.content[:-1] if node.content.endswith("\n") else node.content
        longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
        fence = "`" * max(3, longest + 1)
        words = node.info.split() if node.type == "fence" else []
        language = words[0].lower() if words and words[0].lower() in _LANGUAGES else ""
        return [fence + language, *(content.split("\n") if content else []), fence]

    def table_block(self, node: SyntaxTreeNode) -> list[str]:
        rows = [
            row
            for section in node.children
            for row in section.children
            if section.type in ("thead", "tbody") and row.type == "tr"
        ]
        if not rows:
            return []
        header = rows[0].children
        align = []
        for cell in header:
            style = cell.attrs.get("style")
            align.append(_ALIGNMENT.get(style, "---") if isinstance(style, str) else "---")
        lines = [
            "| "
            + " | ".join(self.inline(cell, in_table=True, one_line=True) for cell in row.children)
            + " |"
            for row in rows
        ]
        lines.insert(1, "| " + " | ".join(align) + " |")
        return lines


def safe_markdown(
    markdown: str, run_links: Mapping[str, str] | None = None, heading_offset: int = 0
) -> str:
    """Untrusted Markdown written again as inert Markdown of the same text and structure.

    `run_links` maps a `run:REF` token's REF to an anchor id of the report (without `#`): those
    tokens, outside code and links, become links to it. `heading_offset` demotes headings
    (1 + 3 -> h4) so they nest under the report's own. Returns lines joined by `\\n`.
    """
    from markdown_it.tree import SyntaxTreeNode

    from nbmodelbook.report.sanitize import markdown_parser, ref_pattern

    if not markdown.strip():
        return ""
    links = {ref: anchor for ref, anchor in (run_links or {}).items() if ref}
    pattern = ref_pattern(list(links)) if links else None
    # The HTML report's reading of annotation Markdown: the same parser, the same tree.
    tree = SyntaxTreeNode(markdown_parser().parse(markdown))
    lines = _Blocks(links, pattern, heading_offset).blocks(tree.children)
    return "\n".join(lines).strip("\n")
