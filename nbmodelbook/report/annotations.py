"""Annotations: the `> [!KIND] title` blocks and tagged markdown cells of a notebook. Pure.

Syntax (GitHub-alert style, parsed with markdown-it-py, CommonMark plus tables/strikethrough):

- `> [!DECISION] Title` starts an annotation on a plain line of a top-level quote. The kind is
  case-insensitive; `>[!KIND]`, `[!KIND]Title` and spaces inside the brackets are accepted. A
  backslash-escaped `\\[!KIND]` is literal text.
- The annotation runs to the next marker line of the same quote or to the end of the quote (a blank
  line without `>`). So two `> [!KIND]` lines in one quote are two annotations (GitHub would show
  one alert; the intent is plain); continuation lines without a marker belong to the annotation.
- Title: the rest of the marker line as plain text (Markdown stripped, `run:` refs kept as
  written). `> [!KIND]` alone on its line gives an empty title; the body is then everything below.
- Body: the Markdown source of the following lines, without the quote's `> ` prefix, line breaks
  kept (normalised to `\\n`), leading and trailing blank lines dropped.
- GitHub's own kinds (NOTE, TIP, IMPORTANT, WARNING, CAUTION) are ordinary quotes. Any other
  kind at a marker position is an `AnnotationProblem` with a did-you-mean suggestion, and so is
  an annotation with neither title nor body. One of our kinds in a place where it cannot start an
  annotation (outside a quote, in a heading, a list or a nested quote) is a problem too, so a
  modeller's note is never dropped without a word.
- A markdown cell tagged with a kind (`decision`, `Risk`, ...) is one annotation as a whole: title
  is the first block's text if it is a heading or a paragraph (its first line), body the rest of
  the cell. Marker blocks inside a tagged cell are part of it, not annotations of their own; one
  of another kind is reported. Several kind tags: the first wins, with a problem.
- `run:NAME` / `run:ID` refs (case-insensitive prefix; NAME is letters, digits, `-`, `_`, `.`; a
  trailing `.` is punctuation) are collected from the title and body: from text, inline code,
  link targets and HTML, but not from fenced or indented code blocks, which show code rather
  than cite evidence.

Problems name cells by number (index + 1), as the audit does.

Bounds: a cell is read up to MAX_CELL_CHARS; the cells a notebook's annotations are read from
may hold MAX_NOTEBOOK_MARKUP characters that can open markup in all (the parser's cost is in
those). A cell that would go past it is not read, and says so ("annotation too large").
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from nbmodelbook.report.model import Annotation, AnnotationKind, AnnotationProblem

__all__ = [
    "GITHUB_ALERT_KINDS",
    "MAX_CELL_CHARS",
    "MAX_NOTEBOOK_MARKUP",
    "find_run_refs",
    "markup_count",
    "parse_annotations",
    "parse_cell",
]

GITHUB_ALERT_KINDS = frozenset({"NOTE", "TIP", "IMPORTANT", "WARNING", "CAUTION"})
MAX_CELL_CHARS = 2_000_000
# markdown-it-py is linear, but spends up to ~25 µs on each character that may open markup
# (`[`, `*`, `<`, `|`, a line break...) against 0.1 µs on plain text, however they are arranged.
# A notebook's annotations may hold this many in all (a few MB of ordinary annotation text), so
# a crafted notebook gets a finding in seconds instead of a `check` that runs for minutes.
MAX_NOTEBOOK_MARKUP = 100_000
_MARKUP_CHARS = tuple("\n!#$%&*+-:<=>@[\\]^_`{|}~")
_MAX_TAGS = 1_000
_TAG_CUTOFF = 0.85  # "decisions" -> decision, but "metadata" is not "data"

_KINDS = {kind.marker: kind for kind in AnnotationKind}
_KIND_NAMES = [kind.marker for kind in AnnotationKind]
_KINDS_BY_VALUE = {kind.value: kind for kind in AnnotationKind}
_MARKER = re.compile(r"\[!\s*([A-Za-z][A-Za-z0-9_-]{0,63})\s*\]")
_QUOTE_PREFIX = re.compile(r" {0,3}>[ \t]?")
# Not after a letter or digit ("rerun:x" is no ref); `_` before is allowed for `_run:x_`.
_RUN_REF = re.compile(r"(?<![^\W_])run:([\w.-]+)", re.IGNORECASE)
_NEWLINES = re.compile(r"\r\n?")
# Where refs are read. `fence` and `code_block` are left out on purpose: code shown, not cited.
_TEXT_TOKENS = frozenset({"text", "text_special", "code_inline", "html_inline", "html_block"})

_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# Block structure only: where quotes and paragraphs are, without reading their inline text.
_MD_BLOCKS = MarkdownIt("commonmark").enable(["table", "strikethrough"]).disable("inline")


def _marker_name(written: str) -> str:
    """`intended_use` and `Intended-Use` are both the INTENDED-USE marker."""
    return written.upper().replace("_", "-")


def find_run_refs(text: str) -> tuple[str, ...]:
    """The `run:REF` refs in plain text, as written, in order, without duplicates."""
    if not isinstance(text, str):
        return ()
    found: dict[str, None] = {}
    for match in _RUN_REF.finditer(text):
        name = match.group(1)
        if match.start() > 0 and text[match.start() - 1] == "_":
            name = name.rstrip("_")  # `_run:x_` is emphasis around the ref
        name = name.rstrip(".")  # `run:rf-500.` ends a sentence
        if name and name.strip("._-"):
            found.setdefault(name, None)
    return tuple(found)


@dataclass(slots=True)
class _Budget:
    """What is left of a notebook's MAX_NOTEBOOK_MARKUP."""

    left: int = MAX_NOTEBOOK_MARKUP


def markup_count(text: str) -> int:
    """How many characters of `text` may open Markdown markup (what the parser is slow on)."""
    return sum(text.count(char) for char in _MARKUP_CHARS)


def parse_cell(
    source: str | Sequence[str] | None,
    cell_index: int,
    cell_id: str | None,
    tags: Sequence[str] | None = (),
) -> tuple[list[Annotation], list[AnnotationProblem]]:
    """The annotations of one markdown cell, and what is wrong with them. Never raises.

    The cell may use the whole of a notebook's MAX_NOTEBOOK_MARKUP.
    """
    return _parse_cell(source, cell_index, cell_id, tags, _Budget())


def _parse_cell(
    source: str | Sequence[str] | None,
    cell_index: int,
    cell_id: str | None,
    tags: Sequence[str] | None,
    budget: _Budget,
) -> tuple[list[Annotation], list[AnnotationProblem]]:
    cell_id = cell_id if isinstance(cell_id, str) else None
    where = _cell_label(cell_index)
    messages: list[str] = []
    annotations: list[Annotation] = []
    text = _normalise(_as_text(source))
    tag = _tag_kind(tags, where, messages)
    # Most cells have neither a marker nor a kind tag: they never reach the (slow) parser.
    if tag is not None or "[!" in text:
        if len(text) > MAX_CELL_CHARS:
            cut = text.rfind("\n", 0, MAX_CELL_CHARS)
            text = text[: cut if cut > 0 else MAX_CELL_CHARS]
            messages.append(
                f"{where} is very long: only its first {MAX_CELL_CHARS:,} characters "
                "were read for annotations"
            )
        markup = markup_count(text)
        if markup > budget.left:
            messages.append(_too_large(where, markup, budget.left))
        else:
            budget.left -= markup
            annotations = _read(text, tag, cell_index, cell_id, where, messages)
    problems = [AnnotationProblem(cell_index, cell_id, m) for m in dict.fromkeys(messages)]
    return annotations, problems


def _read(
    text: str,
    tag: AnnotationKind | None,
    cell_index: int,
    cell_id: str | None,
    where: str,
    messages: list[str],
) -> list[Annotation]:
    try:
        if tag is None:
            return _alerts(_scan(text, inline=False), cell_index, cell_id, where, messages)
        return _tagged(_scan(text, inline=True), tag, cell_index, cell_id, where, messages)
    except Exception as error:  # a parser bug must not cost the whole report
        messages.append(f"the annotations in {where} could not be read ({type(error).__name__})")
        return []


def _too_large(where: str, markup: int, left: int) -> str:
    return (
        f"annotation too large: {where} was not read: it holds {markup:,} characters that may "
        "be Markdown markup (brackets, asterisks, pipes, line breaks...), and the annotations "
        f"of a notebook may hold {MAX_NOTEBOOK_MARKUP:,} in all ({left:,} were left for this "
        "cell); shorten it, or move long text out of annotated cells"
    )


def parse_annotations(
    notebook: Mapping[str, Any],
) -> tuple[list[Annotation], list[AnnotationProblem]]:
    """The annotations of every markdown cell of an nbformat v4 notebook dict, in cell order."""
    annotations: list[Annotation] = []
    problems: list[AnnotationProblem] = []
    if not isinstance(notebook, Mapping):
        return annotations, problems
    budget = _Budget()  # shared by the notebook's cells, in order
    for index, cell in enumerate(_cells_of(notebook)):
        if not isinstance(cell, Mapping):
            continue
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, Mapping) else None
        raw_id = cell.get("id")
        cell_id = raw_id if isinstance(raw_id, str) else None
        cell_type = cell.get("cell_type")
        if cell_type != "markdown":
            # A tag on a code cell is a natural slip; say that only markdown cells count.
            for kind in _kind_tags(tags):
                kind_type = cell_type if isinstance(cell_type, str) else "non-markdown"
                problems.append(
                    AnnotationProblem(
                        index,
                        cell_id,
                        f"{_cell_label(index)} is a {kind_type} cell tagged '{kind.value}': "
                        "only markdown cells are read as annotations",
                    )
                )
            continue
        found, issues = _parse_cell(cell.get("source"), index, cell_id, tags, budget)
        annotations.extend(found)
        problems.extend(issues)
    return annotations, problems


# --- scanning -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Marker:
    """A `[!KIND]` at the start of a line of the cell."""

    kind: str  # as written
    rest: str  # raw Markdown after the marker, on the same line
    alert: bool  # a plain line of a top-level quote, where an annotation can start
    in_quote: bool = True
    line: int = -1  # source line (alert markers)
    end: int = -1  # alert markers: end (exclusive) of the annotation's source lines


@dataclass(slots=True)
class _Scan:
    lines: list[str]
    tokens: list[Token]
    env: dict[str, Any]  # link reference definitions, for titles and bodies parsed later
    markers: list[_Marker]


def _scan(text: str, inline: bool) -> _Scan:
    """Markers, tokens and link definitions of a cell; `inline`: also parse the inline text
    (tagged cells read refs from the tokens; alert cells parse titles and bodies separately)."""
    env: dict[str, Any] = {}
    tokens = (_MD if inline else _MD_BLOCKS).parse(text, env)
    lines = text.split("\n")  # markdown-it's own line split, so token maps index this list
    markers: list[_Marker] = []
    depth = 0
    quote: list[_Marker] = []  # alert markers of the current top-level quote
    quote_end = len(lines)
    for index, token in enumerate(tokens):
        if token.type == "blockquote_open":
            depth += 1
            if token.level == 0:
                quote, quote_end = [], _end_line(token, len(lines))
        elif token.type == "blockquote_close":
            depth -= 1
            if token.level == 0:
                for position, marker in enumerate(quote):
                    last = position + 1 == len(quote)
                    marker.end = quote_end if last else quote[position + 1].line
                quote = []
        elif token.type == "inline":
            opener = tokens[index - 1] if index > 0 else None
            if (
                depth == 1
                and opener is not None
                and opener.type == "paragraph_open"
                and opener.level == 1
                and opener.map is not None
            ):
                # Read source lines, not `token.content`: its strip() can drop a leading line
                # (e.g. a lone U+00A0), which would shift every line number after it.
                start, stop = opener.map
                for number in range(start, min(stop, len(lines))):
                    line = lines[number]
                    prefix = _QUOTE_PREFIX.match(line)
                    line = line[prefix.end() :] if prefix else line  # lazy lines have none
                    match = _MARKER.match(line.lstrip(" \t"))
                    if match:
                        rest = line.lstrip(" \t")[match.end() :]
                        marker = _Marker(match.group(1), rest, alert=True, line=number)
                        markers.append(marker)
                        quote.append(marker)
            else:
                for line in token.content.split("\n"):
                    match = _MARKER.match(line.lstrip())
                    if match:
                        rest = line.lstrip()[match.end() :]
                        markers.append(_Marker(match.group(1), rest, False, in_quote=depth > 0))
    return _Scan(lines, tokens, env, markers)


def _end_line(token: Token, default: int) -> int:
    return token.map[1] if token.map is not None else default


# --- alert blocks -------------------------------------------------------------------------------


def _alerts(
    scan: _Scan, cell_index: int, cell_id: str | None, where: str, messages: list[str]
) -> list[Annotation]:
    annotations: list[Annotation] = []
    for marker in scan.markers:
        name = _marker_name(marker.kind)
        kind = _KINDS.get(name)
        if not marker.alert:
            if kind is not None:
                messages.append(_misplaced(marker, where))
            continue
        if name in GITHUB_ALERT_KINDS:
            continue
        if kind is None:
            messages.append(_unknown(marker.kind, where))
            continue
        title, title_refs = _title_and_refs(marker.rest, scan.env)
        end = marker.end if marker.end >= 0 else len(scan.lines)
        body = _trim_blank(_unquote(line) for line in scan.lines[marker.line + 1 : end])
        if not title and not body:
            messages.append(f"empty {name} annotation in {where}")
            continue
        refs = _merge(title_refs, _markdown_refs(body, scan.env))
        annotations.append(Annotation(kind, title, body, refs, cell_index, cell_id, "alert"))
    return annotations


def _unquote(line: str) -> str:
    prefix = _QUOTE_PREFIX.match(line)
    return line[prefix.end() :] if prefix else line


def _misplaced(marker: _Marker, where: str) -> str:
    name = _marker_name(marker.kind)
    if not marker.in_quote:
        return (
            f"[!{name}] in {where} is not read as an annotation because it is not in a quote; "
            f"write it as '> [!{name}] title' on a line of its own"
        )
    return (
        f"[!{name}] in {where} is not read as an annotation: only a plain line of a top-level "
        f"quote ('> [!{name}] title') starts one, not a line in a heading, a list or a nested quote"
    )


def _unknown(kind: str, where: str) -> str:
    known = [*_KIND_NAMES, *GITHUB_ALERT_KINDS]
    close = difflib.get_close_matches(_marker_name(kind), known, 1, 0.6)
    if close:
        return f"unknown annotation kind {kind} in {where}; did you mean {close[0]}?"
    return f"unknown annotation kind {kind} in {where}; use one of {', '.join(_KIND_NAMES)}"


# --- tagged cells -------------------------------------------------------------------------------


def _tagged(
    scan: _Scan,
    kind: AnnotationKind,
    cell_index: int,
    cell_id: str | None,
    where: str,
    messages: list[str],
) -> list[Annotation]:
    for marker in scan.markers:
        name = _marker_name(marker.kind)
        if name == kind.marker or name in GITHUB_ALERT_KINDS:
            continue
        if name in _KINDS:
            messages.append(
                f"{where} is tagged '{kind.value}', so its [!{name}] block is read as part of "
                f"that {kind.value} annotation; remove the tag or move the block to its own cell"
            )
        elif marker.alert:
            messages.append(_unknown(marker.kind, where))
    title, used = _first_line_title(scan)
    body = _trim_blank(line for number, line in enumerate(scan.lines) if number not in used)
    if not title and not body:
        messages.append(f"empty {kind.marker} annotation in {where} (tagged '{kind.value}')")
        return []
    refs = _merge(_token_refs(scan.tokens))
    return [Annotation(kind, title, body, refs, cell_index, cell_id, "tag")]


def _first_line_title(scan: _Scan) -> tuple[str, range]:
    """The title of a tagged cell and the source lines it came from."""
    for index, token in enumerate(scan.tokens):
        if token.type != "inline":
            continue
        opener = scan.tokens[index - 1] if index > 0 else None
        if opener is None or opener.map is None:
            return "", range(0)
        if opener.type == "heading_open":
            raw, used = token.content, range(*opener.map)
        elif opener.type == "paragraph_open":
            raw, used = token.content.split("\n", 1)[0], range(opener.map[0], opener.map[0] + 1)
        else:  # a table cell: no sensible title, keep the whole cell as body
            return "", range(0)
        match = _MARKER.match(raw.lstrip())
        if match and _marker_name(match.group(1)) in _KINDS:
            raw = raw.lstrip()[match.end() :]
        return _title(raw, scan.env), used
    return "", range(0)


def _tag_kind(tags: object, where: str, messages: list[str]) -> AnnotationKind | None:
    kinds = _kind_tags(tags)
    for tag in _tag_strings(tags):
        word = tag.strip().lower().replace("_", "-")
        if word in _KINDS_BY_VALUE or len(word) > 40:
            continue
        close = difflib.get_close_matches(word, list(_KINDS_BY_VALUE), 1, _TAG_CUTOFF)
        if close:
            messages.append(
                f"tag '{tag}' on {where} is not an annotation kind; did you mean '{close[0]}'?"
            )
    if len(kinds) > 1:
        listed = ", ".join(kind.value for kind in kinds)
        messages.append(
            f"{where} has several annotation tags ({listed}); it is read as one "
            f"{kinds[0].value} annotation"
        )
    return kinds[0] if kinds else None


def _kind_tags(tags: object) -> list[AnnotationKind]:
    found: dict[AnnotationKind, None] = {}
    for tag in _tag_strings(tags):
        kind = _KINDS_BY_VALUE.get(tag.strip().lower().replace("_", "-"))
        if kind is not None:
            found.setdefault(kind, None)
    return list(found)


def _tag_strings(tags: object) -> list[str]:
    if isinstance(tags, str):
        return [tags]  # one tag, not its characters
    if isinstance(tags, Mapping) or not isinstance(tags, Iterable):
        return []
    try:
        return [tag for tag in itertools.islice(tags, _MAX_TAGS) if isinstance(tag, str)]
    except Exception:  # a broken iterable is no tags, not a crash
        return []


# --- text helpers -------------------------------------------------------------------------------


def _title(raw: str, env: dict[str, Any]) -> str:
    return _title_and_refs(raw, env)[0]


def _title_and_refs(raw: str, env: dict[str, Any]) -> tuple[str, list[str]]:
    """A title as plain text, and the refs in it (one parse: a title can be a long line)."""
    raw = raw.strip()
    if raw.endswith("\\") and not raw.endswith("\\\\"):
        raw = raw[:-1].rstrip()  # a trailing backslash is a hard break, not text
    if not raw:
        return "", []
    tokens = _MD.parseInline(raw, env)
    if not tokens:
        return "", []
    return " ".join(_plain(tokens[0].children or []).split()), _token_refs(tokens)


def _plain(tokens: Sequence[Token]) -> str:
    parts: list[str] = []
    for token in tokens:
        if token.type in ("text", "text_special", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.type == "image":
            parts.append(_plain(token.children or []))  # its alt text
        # Emphasis, link and HTML tokens are markup, not text.
    return "".join(parts)


def _markdown_refs(markdown: str, env: dict[str, Any]) -> Iterable[str]:
    return _token_refs(_MD.parse(markdown, env)) if markdown else ()


def _token_refs(tokens: Sequence[Token]) -> list[str]:
    refs: list[str] = []
    for token in tokens:
        if token.type in _TEXT_TOKENS:
            refs.extend(find_run_refs(token.content))
        elif token.type in ("link_open", "image"):
            target = token.attrGet("href" if token.type == "link_open" else "src")
            if isinstance(target, str):
                refs.extend(find_run_refs(target))
        if token.children:
            refs.extend(_token_refs(token.children))
    return refs


def _merge(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ref for group in groups for ref in group))


def _trim_blank(lines: Iterable[str]) -> str:
    kept = list(lines)
    while kept and not kept[0].strip():
        kept.pop(0)
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)


def _normalise(text: str) -> str:
    # The same normalisation markdown-it applies, so its line numbers index our lines.
    return _NEWLINES.sub("\n", text).replace("\0", "\ufffd")


def _as_text(source: object) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, bytes | bytearray):
        return bytes(source).decode("utf-8", "replace")
    if isinstance(source, list | tuple):  # nbformat allows a list of lines
        return "".join(part for part in source if isinstance(part, str))
    return ""


def _cell_label(index: object) -> str:
    if isinstance(index, int) and not isinstance(index, bool):
        return f"cell {index + 1}"
    return "an unknown cell"


def _cells_of(notebook: Mapping[str, Any]) -> list[Any]:
    cells = notebook.get("cells")
    if isinstance(cells, list | tuple):
        return list(cells)
    worksheets = notebook.get("worksheets")  # an nbformat v3 dict read without conversion
    if isinstance(worksheets, list | tuple):
        return [
            cell
            for sheet in worksheets
            if isinstance(sheet, Mapping) and isinstance(sheet.get("cells"), list | tuple)
            for cell in sheet["cells"]
        ]
    return []
