"""Line-level diff of the code of two notebook cells, rendered as safe HTML for a widget.

Comparing two runs usually starts with "what did I change in the cell?". The answer has to be
readable at a glance in a notebook, so this module produces a compact, GitHub-like diff: changed
lines with a few lines of context, and long unchanged stretches collapsed into one summary line.

Only the standard library is used (``difflib``, ``html``) so the diff works in any kernel, and
the computation (:func:`diff_code`) is kept apart from the presentation
(:func:`render_diff_html`) so the former can be tested without any HTML.

The HTML is inserted as-is into an ipywidgets ``HTML`` widget, where nothing is sanitised: every
piece of code text and every label is escaped with ``html.escape(..., quote=True)`` at the moment
it is written, and markup is only ever added around already-escaped text.
"""

from __future__ import annotations

import html
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

__all__ = ["CodeDiff", "DiffKind", "DiffLine", "diff_code", "render_diff_html"]

DiffKind = Literal["same", "removed", "added", "skipped"]

# Character-level marking compares the two lines character by character, which is quadratic in
# the worst case: beyond this length (minified data, huge literals) whole lines are shown instead.
_MAX_CHAR_DIFF_LENGTH = 2_000
# Below this similarity the two lines have little in common, and marking nearly every character
# would be noise rather than help: the whole line is shown as changed instead.
_MIN_CHAR_DIFF_RATIO = 0.5
# Equal runs shorter than this between two changed spans are marked as changed with them.
_MIN_EQUAL_RUN = 3

# SequenceMatcher is used directly while the pairs of equal lines it has to consider stay under
# this budget (tens of milliseconds); past it, the input is cut at unique lines first, or handed
# to Myers' algorithm for at most about this many steps. Only long, repetitive code gets there.
_MATCH_BUDGET = 200_000
_MYERS_BUDGET = 2_000_000

_Opcode = tuple[str, int, int, int, int]


@dataclass(frozen=True)
class DiffLine:
    """One row of the diff, in display order.

    Line numbers are 1-based so they match what JupyterLab shows next to the cell's code.
    ``old_number`` is ``None`` for lines that exist only in the new code (and the reverse), so a
    renderer can leave the column empty instead of inventing a number.
    """

    kind: DiffKind
    old_number: int | None  # 1-based line in the old code; None for "added" and "skipped"
    new_number: int | None  # 1-based line in the new code; None for "removed" and "skipped"
    text: str  # the line without newline; for "skipped" a summary such as "12 unchanged lines"


@dataclass(frozen=True)
class CodeDiff:
    """The rows of a diff and its totals.

    The totals are kept alongside the rows so a caption ("3 lines added, 1 removed") does not have
    to re-count them, and so collapsed stretches never hide a change from the summary.
    """

    lines: tuple[DiffLine, ...]
    added: int
    removed: int

    @property
    def identical(self) -> bool:
        """True when no line was added or removed (after normalising line endings and trailing
        whitespace), so the caller can say so in one sentence instead of showing a table."""
        return self.added == 0 and self.removed == 0


def _normalised_lines(code: str) -> list[str]:
    """Split code into lines that compare the way a reader would compare them.

    CRLF and lone CR become LF (a notebook edited on Windows is not "all lines changed"),
    trailing whitespace on each line is dropped (it is invisible and editors add or strip it at
    will), and trailing empty lines are dropped (a missing final newline, or an extra blank line
    at the end of a cell, is not a change). Only ``\\n`` splits lines: other characters that
    ``str.splitlines`` treats as breaks (form feed, U+2028, ...) are not line breaks in Python.
    """
    text = code.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _line_counts(lines: Sequence[str], lo: int, hi: int) -> tuple[dict[str, int], dict[str, int]]:
    """How often each line occurs in ``lines[lo:hi]``, and the position of its last occurrence."""
    counts: dict[str, int] = {}
    positions: dict[str, int] = {}
    for index in range(lo, hi):
        line = lines[index]
        counts[line] = counts.get(line, 0) + 1
        positions[line] = index
    return counts, positions


def _unique_anchors(
    old_counts: dict[str, int],
    old_positions: dict[str, int],
    new_counts: dict[str, int],
    new_positions: dict[str, int],
) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of lines that occur exactly once on each side, keeping the longest
    subsequence that is in order on both sides.

    This is the "patience diff" anchoring: a line that is unique on both sides (most lines of
    real code are) is almost certainly the same line, so it can be matched without searching.
    """
    pairs = sorted(
        (old_positions[line], new_positions[line])
        for line, count in old_counts.items()
        if count == 1 and new_counts.get(line) == 1
    )
    if not pairs:
        return []
    # Longest increasing subsequence of the new-side positions (patience sorting, n log n).
    tails: list[int] = []  # tails[k]: smallest new-side position ending an ordered run of k + 1
    tail_index: list[int] = []  # index into pairs of that run's last pair
    previous: list[int] = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_index.append(index)
        else:
            tails[k] = j
            tail_index[k] = index
        previous[index] = tail_index[k - 1] if k else -1
    chain: list[tuple[int, int]] = []
    index = tail_index[-1]
    while index != -1:
        chain.append(pairs[index])
        index = previous[index]
    chain.reverse()
    return chain


def _myers_blocks(
    old: Sequence[str], new: Sequence[str], alo: int, ahi: int, blo: int, bhi: int, max_edits: int
) -> list[tuple[int, int, int]] | None:
    """Matching runs of a shortest edit script (Myers' O(ND) algorithm), or ``None`` if it
    needs more than ``max_edits`` insertions and deletions.

    Only used for long stretches made of repeated lines, where ``SequenceMatcher`` is quadratic
    but a few edits (the usual case) make Myers' algorithm linear.
    """
    n, m = ahi - alo, bhi - blo
    furthest: dict[int, int] = {1: 0}  # diagonal k = x - y -> furthest x reached on it
    trace: list[dict[int, int]] = []
    for d in range(max_edits + 1):
        trace.append(dict(furthest))
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and furthest[k - 1] < furthest[k + 1]):
                x = furthest[k + 1]  # step down: insert a line of new
            else:
                x = furthest[k - 1] + 1  # step right: delete a line of old
            y = x - k
            while x < n and y < m and old[alo + x] == new[blo + y]:
                x += 1
                y += 1
            furthest[k] = x
            if x >= n and y >= m:
                return _myers_backtrack(trace, n, m, alo, blo)
    return None


def _myers_backtrack(
    trace: list[dict[int, int]], n: int, m: int, alo: int, blo: int
) -> list[tuple[int, int, int]]:
    """Walk the recorded frontiers back from the end to recover the diagonal runs (matches)."""
    blocks: list[tuple[int, int, int]] = []
    x, y = n, m
    for d in range(len(trace) - 1, -1, -1):
        furthest = trace[d]
        k = x - y
        if k == -d or (k != d and furthest[k - 1] < furthest[k + 1]):
            previous_k = k + 1
            start_x = furthest[previous_k]
        else:
            previous_k = k - 1
            start_x = furthest[previous_k] + 1
        if x > start_x:
            blocks.append((alo + start_x, blo + start_x - k, x - start_x))
        x = furthest[previous_k]
        y = x - previous_k
    blocks.reverse()
    return blocks


def _matching_blocks(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int, int]]:
    """Runs ``(i, j, size)`` of equal lines, in order, like ``SequenceMatcher`` reports them.

    ``SequenceMatcher(None, a, b, autojunk=False)`` does the matching; ``autojunk=False`` because
    code repeats lines a lot (blank lines, ``)``, ``else:``) and the automatic junk heuristic
    gives confusing diffs on cells over 200 lines. Without it, though, matching is quadratic in
    the number of repeated lines: a 10,000-line cell with a blank line every five lines took
    most of a second. So the common start and end are matched directly first, and a remaining
    stretch that would be expensive for ``SequenceMatcher`` is cut at lines unique on both sides
    (see :func:`_unique_anchors`), repeatedly, until the pieces are cheap. A long stretch with no
    unique line at all goes to :func:`_myers_blocks`. Cells of ordinary size never get past
    the first ``SequenceMatcher`` call.
    """
    blocks: list[tuple[int, int, int]] = []
    stack = [(0, len(old), 0, len(new))]  # an explicit stack: nesting can be deep
    while stack:
        alo, ahi, blo, bhi = stack.pop()
        head = 0
        while alo + head < ahi and blo + head < bhi and old[alo + head] == new[blo + head]:
            head += 1
        if head:
            blocks.append((alo, blo, head))
            alo, blo = alo + head, blo + head
        tail = 0
        while alo < ahi - tail and blo < bhi - tail and old[ahi - 1 - tail] == new[bhi - 1 - tail]:
            tail += 1
        if tail:
            ahi, bhi = ahi - tail, bhi - tail
            blocks.append((ahi, bhi, tail))
        if alo == ahi or blo == bhi:
            continue
        old_counts, old_positions = _line_counts(old, alo, ahi)
        new_counts, new_positions = _line_counts(new, blo, bhi)
        # Pairs of equal lines across the two sides: what SequenceMatcher has to look at.
        match_cost = sum(count * new_counts.get(line, 0) for line, count in old_counts.items())
        if match_cost <= _MATCH_BUDGET:
            matcher = SequenceMatcher(None, old[alo:ahi], new[blo:bhi], autojunk=False)
            blocks.extend(
                (i + alo, j + blo, size) for i, j, size in matcher.get_matching_blocks() if size
            )
            continue
        anchors = _unique_anchors(old_counts, old_positions, new_counts, new_positions)
        if anchors:
            for i, j in anchors:
                blocks.append((i, j, 1))
                stack.append((alo, i, blo, j))
                alo, blo = i + 1, j + 1
            stack.append((alo, ahi, blo, bhi))
            continue
        # Long and made of repeated lines: Myers' algorithm is linear when there are few edits.
        # Past its budget the stretch is shown without matches (all removed, all added): still
        # a correct diff, and the kernel stays responsive.
        max_edits = max(16, _MYERS_BUDGET // (ahi - alo + bhi - blo))
        blocks.extend(_myers_blocks(old, new, alo, ahi, blo, bhi, max_edits) or [])
    blocks.sort()
    merged: list[tuple[int, int, int]] = []
    for i, j, size in blocks:
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + size)
        else:
            merged.append((i, j, size))
    return merged


def _opcodes(old: Sequence[str], new: Sequence[str]) -> list[_Opcode]:
    """``SequenceMatcher.get_opcodes``-style edit script built from :func:`_matching_blocks`."""
    ops: list[_Opcode] = []
    i = j = 0
    for block_i, block_j, size in [*_matching_blocks(old, new), (len(old), len(new), 0)]:
        if i < block_i and j < block_j:
            ops.append(("replace", i, block_i, j, block_j))
        elif i < block_i:
            ops.append(("delete", i, block_i, j, block_j))
        elif j < block_j:
            ops.append(("insert", i, block_i, j, block_j))
        if size:
            ops.append(("equal", block_i, block_i + size, block_j, block_j + size))
        i, j = block_i + size, block_j + size
    return ops


def _plural(count: int) -> str:
    return "line" if count == 1 else "lines"


def _skipped(count: int) -> DiffLine:
    return DiffLine("skipped", None, None, f"{count} unchanged {_plural(count)}")


def _same(lines: Sequence[str], old_start: int, new_start: int, count: int) -> Iterator[DiffLine]:
    """Rows for ``count`` unchanged lines; ``lines`` is the new side (equal to the old one)."""
    for offset in range(count):
        yield DiffLine(
            "same", old_start + offset + 1, new_start + offset + 1, lines[new_start + offset]
        )


def diff_code(old: str, new: str, *, context: int = 3) -> CodeDiff:
    """Compare two pieces of cell code line by line.

    Up to ``context`` unchanged lines are kept before and after each change so the reader can
    tell where the change is; a longer unchanged stretch is collapsed into one ``"skipped"`` row
    ("N unchanged lines"). A stretch that would hide a single line is shown in full instead,
    because a summary row would take the same space and say less.

    Line endings (CRLF/CR), trailing whitespace and trailing blank lines are normalised away (see
    :func:`_normalised_lines`); everything else is compared, including a leading ``%%track``
    magic line, so renaming a run shows up as a change. Tabs are kept as they are.

    Identical code gives ``identical == True`` and ``lines`` holding a single ``"skipped"`` row
    summarising the whole cell ("12 unchanged lines"), or no row at all when both are empty, so
    a caller that lists rows still shows how long the unchanged code is.

    Raises ``ValueError`` for a negative ``context``.
    """
    if context < 0:
        raise ValueError(f"context must be >= 0, got {context}")
    old_lines = _normalised_lines(old)
    new_lines = _normalised_lines(new)
    ops = _opcodes(old_lines, new_lines)

    rows: list[DiffLine] = []
    added = removed = 0
    for index, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            length = i2 - i1
            keep_head = context if index > 0 else 0  # context after the previous change
            keep_tail = context if index < len(ops) - 1 else 0  # context before the next one
            hidden = length - keep_head - keep_tail
            if len(ops) == 1 or hidden > 1:
                rows.extend(_same(new_lines, i1, j1, keep_head))
                rows.append(_skipped(hidden))
                rows.extend(_same(new_lines, i2 - keep_tail, j2 - keep_tail, keep_tail))
            else:
                rows.extend(_same(new_lines, i1, j1, length))
            continue
        for i in range(i1, i2):
            rows.append(DiffLine("removed", i + 1, None, old_lines[i]))
        for j in range(j1, j2):
            rows.append(DiffLine("added", None, j + 1, new_lines[j]))
        removed += i2 - i1
        added += j2 - j1
    return CodeDiff(lines=tuple(rows), added=added, removed=removed)


# --- HTML ------------------------------------------------------------------------------------

# Scoped to .nbmb-code-diff so it cannot restyle the rest of the notebook. Colours follow the
# JupyterLab theme through its CSS variables (with fallbacks for other frontends); the light
# red/green row backgrounds are swapped for translucent ones in dark themes, which JupyterLab
# announces with data-jp-theme-light="false" on <body>.
_STYLE = """<style>
.nbmb-code-diff { color: var(--jp-content-font-color1, #000); }
.nbmb-code-diff .nbmb-diff-caption {
  margin: 0 0 4px; font-family: var(--jp-ui-font-family, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
}
.nbmb-code-diff table {
  border-collapse: collapse; color: inherit; font-family: var(--jp-code-font-family, monospace);
  font-size: var(--jp-code-font-size, 13px); line-height: 1.4;
}
.nbmb-code-diff td { padding: 0 6px; vertical-align: top; border: none; }
.nbmb-code-diff .nbmb-diff-num { text-align: right; opacity: 0.7; user-select: none; }
.nbmb-code-diff .nbmb-diff-marker { user-select: none; }
.nbmb-code-diff .nbmb-diff-code { white-space: pre; tab-size: 4; text-align: left; }
.nbmb-code-diff tr.nbmb-diff-removed { background: #ffebe9; color: #1f2328; }
.nbmb-code-diff tr.nbmb-diff-added { background: #e6ffec; color: #1f2328; }
.nbmb-code-diff tr.nbmb-diff-removed .nbmb-diff-char { background: #ffb8b0; }
.nbmb-code-diff tr.nbmb-diff-added .nbmb-diff-char { background: #a6ecb4; }
.nbmb-code-diff tr.nbmb-diff-skipped td {
  background: var(--jp-layout-color2, #eee); color: var(--jp-content-font-color2, #555);
  font-style: italic;
}
body[data-jp-theme-light="false"] .nbmb-code-diff tr.nbmb-diff-removed {
  background: rgba(248, 81, 73, 0.18); color: inherit;
}
body[data-jp-theme-light="false"] .nbmb-code-diff tr.nbmb-diff-added {
  background: rgba(46, 160, 67, 0.18); color: inherit;
}
body[data-jp-theme-light="false"] .nbmb-code-diff tr.nbmb-diff-removed .nbmb-diff-char {
  background: rgba(248, 81, 73, 0.45);
}
body[data-jp-theme-light="false"] .nbmb-code-diff tr.nbmb-diff-added .nbmb-diff-char {
  background: rgba(46, 160, 67, 0.45);
}
</style>"""

_MARKERS: dict[DiffKind, str] = {"same": " ", "removed": "-", "added": "+", "skipped": " "}


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _summary(diff: CodeDiff) -> str:
    """Plain-text totals for the caption: "3 lines added, 1 removed", "1 line removed", ..."""
    if diff.added and diff.removed:
        return f"{diff.added} {_plural(diff.added)} added, {diff.removed} removed"
    if diff.added:
        return f"{diff.added} {_plural(diff.added)} added"
    return f"{diff.removed} {_plural(diff.removed)} removed"


def _marked_pair(old: str, new: str) -> tuple[str, str] | None:
    """Escaped HTML for a one-line-for-one-line replacement, changed characters wrapped in spans.

    Each segment of code is escaped on its own and the ``<span>`` tags are added around the
    escaped text, so a changed ``<`` can never open a tag. A run of fewer than
    ``_MIN_EQUAL_RUN`` equal characters between two changes is marked as changed too: a stray
    ``i`` shared by ``line_6`` and ``six`` would otherwise chop one change into confetti.
    Returns ``None`` when marking would not help (lines too long to compare cheaply, or too
    different for the marks to mean anything).
    """
    if len(old) > _MAX_CHAR_DIFF_LENGTH or len(new) > _MAX_CHAR_DIFF_LENGTH:
        return None
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < _MIN_CHAR_DIFF_RATIO:
        return None
    opcodes = matcher.get_opcodes()
    changed = [tag != "equal" for tag, *_ in opcodes]
    for index in range(1, len(opcodes) - 1):
        _, i1, i2, _, _ = opcodes[index]
        if not changed[index] and i2 - i1 < _MIN_EQUAL_RUN:
            changed[index] = changed[index - 1] and changed[index + 1]
    sides: tuple[list[tuple[str, bool]], list[tuple[str, bool]]] = ([], [])
    for (_, i1, i2, j1, j2), is_changed in zip(opcodes, changed, strict=True):
        for segments, segment in zip(sides, (old[i1:i2], new[j1:j2]), strict=True):
            if not segment:
                continue
            if segments and segments[-1][1] == is_changed:
                segments[-1] = (segments[-1][0] + segment, is_changed)
            else:
                segments.append((segment, is_changed))
    old_html, new_html = (
        "".join(
            f'<span class="nbmb-diff-char">{_escape(segment)}</span>'
            if is_changed
            else _escape(segment)
            for segment, is_changed in segments
        )
        for segments in sides
    )
    return old_html, new_html


def _code_cells(lines: Sequence[DiffLine]) -> list[str]:
    """Escaped HTML for the code column of every row, with character marks where they apply.

    A block of exactly one removed row directly followed by exactly one added row is a line that
    was replaced by another: ``SequenceMatcher`` never emits a deletion next to an insertion (it
    merges them into one replacement), so the pair can be recognised from the rows alone.
    """
    cells = [_escape(line.text) for line in lines]
    for i in range(len(lines) - 1):
        if (
            lines[i].kind == "removed"
            and lines[i + 1].kind == "added"
            and (i == 0 or lines[i - 1].kind != "removed")
            and (i + 2 == len(lines) or lines[i + 2].kind != "added")
        ):
            marked = _marked_pair(lines[i].text, lines[i + 1].text)
            if marked is not None:
                cells[i], cells[i + 1] = marked
    return cells


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def render_diff_html(diff: CodeDiff, old_label: str, new_label: str) -> str:
    """A self-contained HTML fragment showing ``diff`` between two runs named by the labels.

    The fragment is a ``<div class="nbmb-code-diff">`` with its own scoped ``<style>``, a caption
    naming both runs with the totals, and a table of old line number, new line number, marker and
    code. The ``-``/``+`` marker column says what happened to a line without relying on colour.
    Identical code gets one sentence instead of an empty table. Labels and code are escaped, so
    the fragment is safe to insert as-is.
    """
    old_name = _escape(old_label)
    new_name = _escape(new_label)
    if diff.identical:
        return (
            f'<div class="nbmb-code-diff">{_STYLE}'
            f'<p class="nbmb-diff-caption">The code of {old_name} and {new_name} is identical.</p>'
            "</div>"
        )
    caption = f"{old_name} → {new_name}: {_escape(_summary(diff))}"
    rows: list[str] = []
    for line, code in zip(diff.lines, _code_cells(diff.lines), strict=True):
        rows.append(
            f'<tr class="nbmb-diff-{line.kind}">'
            f'<td class="nbmb-diff-num">{_number(line.old_number)}</td>'
            f'<td class="nbmb-diff-num">{_number(line.new_number)}</td>'
            f'<td class="nbmb-diff-marker">{_MARKERS[line.kind]}</td>'
            f'<td class="nbmb-diff-code">{code}</td>'
            "</tr>"
        )
    return (
        f'<div class="nbmb-code-diff">{_STYLE}'
        f'<div class="nbmb-diff-caption">{caption}</div>'
        f"<table>{''.join(rows)}</table>"
        "</div>"
    )
