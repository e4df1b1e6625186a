"""Line-level code diff of two cells: rows, numbering, collapsing, normalisation, safe HTML."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbmodelbook.report import code_diff
from nbmodelbook.report.code_diff import CodeDiff, DiffLine, diff_code, render_diff_html

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"

ROW = re.compile(
    r'<tr class="nbmb-diff-(\w+)">'
    r'<td class="nbmb-diff-num">(\d*)</td>'
    r'<td class="nbmb-diff-num">(\d*)</td>'
    r'<td class="nbmb-diff-marker">(.)</td>'
    r'<td class="nbmb-diff-code">(.*?)</td>'
    r"</tr>"
)


def same(old: int, new: int, text: str) -> DiffLine:
    return DiffLine("same", old, new, text)


def removed(old: int, text: str) -> DiffLine:
    return DiffLine("removed", old, None, text)


def added(new: int, text: str) -> DiffLine:
    return DiffLine("added", None, new, text)


def skipped(count: int) -> DiffLine:
    return DiffLine("skipped", None, None, f"{count} unchanged {'line' if count == 1 else 'lines'}")


def numbered(count: int) -> list[str]:
    return [f"line_{n} = {n}" for n in range(1, count + 1)]


def code(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def rows(fragment: str) -> list[tuple[str, str, str, str, str]]:
    return ROW.findall(fragment)


class _Collector(HTMLParser):
    """Records the tags and the text a browser would see in a fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(fragment: str) -> _Collector:
    collector = _Collector()
    collector.feed(fragment)
    collector.close()
    return collector


# --- diff_code: rows and numbers -------------------------------------------------------------


def test_replaced_line_is_removed_then_added_with_both_numbers() -> None:
    diff = diff_code("a = 1\nb = 2\nc = 3\n", "a = 1\nb = 20\nc = 3\n")

    assert diff.lines == (
        same(1, 1, "a = 1"),
        removed(2, "b = 2"),
        added(2, "b = 20"),
        same(3, 3, "c = 3"),
    )
    assert (diff.added, diff.removed, diff.identical) == (1, 1, False)


def test_added_lines_shift_the_new_numbers_only() -> None:
    diff = diff_code("a\nb\nc", "a\nx\ny\nb\nc")

    assert diff.lines == (
        same(1, 1, "a"),
        added(2, "x"),
        added(3, "y"),
        same(2, 4, "b"),
        same(3, 5, "c"),
    )
    assert (diff.added, diff.removed) == (2, 0)


def test_removed_lines_shift_the_old_numbers_only() -> None:
    diff = diff_code("a\nx\nb\ny\nc", "a\nb\nc")

    assert diff.lines == (
        same(1, 1, "a"),
        removed(2, "x"),
        same(3, 2, "b"),
        removed(4, "y"),
        same(5, 3, "c"),
    )
    assert (diff.added, diff.removed) == (0, 2)


def test_empty_old_code_means_every_line_added() -> None:
    diff = diff_code("", "x = 1\ny = 2\n")

    assert diff.lines == (added(1, "x = 1"), added(2, "y = 2"))
    assert (diff.added, diff.removed) == (2, 0)


def test_empty_new_code_means_every_line_removed() -> None:
    diff = diff_code("x = 1\n", "")

    assert diff.lines == (removed(1, "x = 1"),)
    assert (diff.added, diff.removed) == (0, 1)


def test_track_magic_line_is_compared_so_a_renamed_run_is_a_change() -> None:
    diff = diff_code("%%track rf-500\nmodel.fit(X, y)\n", "%%track gbm-tuned\nmodel.fit(X, y)\n")

    assert diff.lines == (
        removed(1, "%%track rf-500"),
        added(1, "%%track gbm-tuned"),
        same(2, 2, "model.fit(X, y)"),
    )


# --- diff_code: context and collapsing -------------------------------------------------------


def test_long_unchanged_stretches_collapse_with_exact_counts() -> None:
    old = numbered(20)
    new = list(old)
    new[9] = "line_10 = 'changed'"

    diff = diff_code(code(old), code(new))

    assert diff.lines == (
        skipped(6),
        same(7, 7, "line_7 = 7"),
        same(8, 8, "line_8 = 8"),
        same(9, 9, "line_9 = 9"),
        removed(10, "line_10 = 10"),
        added(10, "line_10 = 'changed'"),
        same(11, 11, "line_11 = 11"),
        same(12, 12, "line_12 = 12"),
        same(13, 13, "line_13 = 13"),
        skipped(7),
    )


def test_stretch_between_two_changes_keeps_context_on_both_sides() -> None:
    old = numbered(30)
    new = list(old)
    new[4] = "five"
    new[24] = "twenty-five"

    diff = diff_code(code(old), code(new), context=2)

    assert [(line.kind, line.old_number, line.new_number) for line in diff.lines] == [
        ("skipped", None, None),
        ("same", 3, 3),
        ("same", 4, 4),
        ("removed", 5, None),
        ("added", None, 5),
        ("same", 6, 6),
        ("same", 7, 7),
        ("skipped", None, None),
        ("same", 23, 23),
        ("same", 24, 24),
        ("removed", 25, None),
        ("added", None, 25),
        ("same", 26, 26),
        ("same", 27, 27),
        ("skipped", None, None),
    ]
    assert [line.text for line in diff.lines if line.kind == "skipped"] == [
        "2 unchanged lines",
        "15 unchanged lines",
        "3 unchanged lines",
    ]


def test_a_single_hidden_line_is_shown_rather_than_summarised() -> None:
    old = numbered(9)
    new = list(old)
    new[0] = "first"
    new[8] = "last"

    diff = diff_code(code(old), code(new), context=3)

    assert all(line.kind != "skipped" for line in diff.lines)
    assert [line.old_number for line in diff.lines if line.kind == "same"] == list(range(2, 9))


def test_context_zero_shows_only_the_changes() -> None:
    old = numbered(10)
    new = list(old)
    new[4] = "changed"

    diff = diff_code(code(old), code(new), context=0)

    assert diff.lines == (
        skipped(4),
        removed(5, "line_5 = 5"),
        added(5, "changed"),
        skipped(5),
    )


def test_negative_context_is_rejected() -> None:
    with pytest.raises(ValueError, match="context"):
        diff_code("a", "b", context=-1)


# --- diff_code: identical code and normalisation ---------------------------------------------


def test_identical_code_is_one_summary_row() -> None:
    diff = diff_code("a = 1\nb = 2\nc = 3\n", "a = 1\nb = 2\nc = 3\n")

    assert diff.identical
    assert diff.lines == (skipped(3),)
    assert (diff.added, diff.removed) == (0, 0)


def test_identical_single_line_uses_the_singular() -> None:
    assert diff_code("x", "x").lines == (skipped(1),)


def test_two_empty_cells_have_no_rows() -> None:
    diff = diff_code("", "")

    assert diff.identical
    assert diff.lines == ()


def test_crlf_line_endings_are_not_a_change() -> None:
    diff = diff_code("a = 1\r\nb = 2\r\n", "a = 1\nb = 2\n")

    assert diff.identical
    assert diff.lines == (skipped(2),)


def test_lone_cr_line_endings_are_split_into_lines() -> None:
    diff = diff_code("a\rb\rc", "a\nB\nc")

    assert diff.lines == (same(1, 1, "a"), removed(2, "b"), added(2, "B"), same(3, 3, "c"))


def test_trailing_whitespace_and_final_newline_are_not_a_change() -> None:
    old = "x = 1   \nif x:\t\n    y = 2"
    new = "x = 1\nif x:\n    y = 2\n\n  \n"

    assert diff_code(old, new).identical


def test_whitespace_only_line_equals_empty_line() -> None:
    assert diff_code("a\n        \nb", "a\n\nb").identical


def test_leading_whitespace_is_a_change() -> None:
    diff = diff_code("if x:\n    y = 1\n", "if x:\n        y = 1\n")

    assert (diff.added, diff.removed) == (1, 1)
    assert diff.lines[1:] == (removed(2, "    y = 1"), added(2, "        y = 1"))


def test_tabs_are_kept_in_the_text() -> None:
    diff = diff_code("def f():\n\treturn 1\n", "def f():\n\treturn 2\n")

    assert diff.lines[1:] == (removed(2, "\treturn 1"), added(2, "\treturn 2"))


def test_diff_lines_are_frozen() -> None:
    line = same(1, 1, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.text = "y"  # type: ignore[misc]
    diff = diff_code("a", "b")
    assert isinstance(diff, CodeDiff)
    with pytest.raises(dataclasses.FrozenInstanceError):
        diff.added = 5  # type: ignore[misc]


# --- diff_code: long inputs ------------------------------------------------------------------


def test_ten_thousand_lines_with_a_few_changes() -> None:
    # Realistic code: mostly distinct lines with a blank line every fifth line, which is the
    # kind of repetition that makes unanchored matching slow.
    old = [f"value_{n} = compute({n}, alpha={n % 7})" if n % 5 else "" for n in range(1, 10_001)]
    new = list(old)
    new[99] = "value_100 = compute(100, alpha=0)  # tuned"
    new[4_999] = "value_5000 = 'renamed'"  # a blank line (5000 % 5 == 0) becomes code
    del new[7_000]  # old line 7001
    new.insert(2_000, "inserted = True")  # new line 2001

    diff = diff_code(code(old), code(new))

    changes = [line for line in diff.lines if line.kind in ("removed", "added")]
    assert changes == [
        removed(100, old[99]),
        added(100, "value_100 = compute(100, alpha=0)  # tuned"),
        added(2001, "inserted = True"),
        removed(5000, ""),
        added(5001, "value_5000 = 'renamed'"),
        removed(7001, old[7_000]),
    ]
    assert (diff.added, diff.removed) == (3, 3)
    # Four change sites, each with 3 + 3 context rows, between 5 collapsed stretches.
    assert len(diff.lines) == 6 + 4 * 6 + 5
    # Line 10,000 is blank, and trailing blank lines are not compared: 9,999 old lines count.
    hidden = sum(int(line.text.split()[0]) for line in diff.lines if line.kind == "skipped")
    assert hidden == 9_999 - diff.removed - sum(line.kind == "same" for line in diff.lines)
    assert diff.lines[-1] == skipped(9_999 - 7_004)


def test_ten_thousand_repeated_lines_changed_at_both_ends() -> None:
    # No line is unique: the worst case for SequenceMatcher, handled by Myers' algorithm. Either
    # of the shortest alignments is right, so check the totals and that the rows add up.
    old = ["pass"] * 10_000
    new = ["start()", *old[1:-1], "end()"]

    diff = diff_code(code(old), code(new))

    assert (diff.added, diff.removed) == (2, 2)
    assert [line.text for line in diff.lines if line.kind == "added"] == ["start()", "end()"]
    assert [line.text for line in diff.lines if line.kind == "removed"] == ["pass", "pass"]
    kept = [line for line in diff.lines if line.kind == "same"]
    assert all(line.text == "pass" for line in kept)
    hidden = sum(int(line.text.split()[0]) for line in diff.lines if line.kind == "skipped")
    assert hidden + len(kept) == 9_998
    assert len(kept) <= 12


LINES = st.lists(st.sampled_from(["a", "b", "c", "x = 1", "", "pass"]), max_size=40)


def _check_reconstructs(old: list[str], new: list[str]) -> None:
    """With unlimited context the rows spell out both sides, numbered 1, 2, 3, ..."""
    diff = diff_code("\n".join(old), "\n".join(new), context=10**6)
    while old and not old[-1]:
        old = old[:-1]
    while new and not new[-1]:
        new = new[:-1]
    if old == new:
        assert diff.identical
        return
    old_rows = [line for line in diff.lines if line.kind in ("same", "removed")]
    new_rows = [line for line in diff.lines if line.kind in ("same", "added")]
    assert [line.text for line in old_rows] == old
    assert [line.text for line in new_rows] == new
    assert [line.old_number for line in old_rows] == list(range(1, len(old) + 1))
    assert [line.new_number for line in new_rows] == list(range(1, len(new) + 1))
    assert diff.added == len(new) - sum(line.kind == "same" for line in diff.lines)
    assert diff.removed == len(old) - sum(line.kind == "same" for line in diff.lines)


@settings(max_examples=300, deadline=None)
@given(LINES, LINES)
def test_rows_reconstruct_both_sides(old: list[str], new: list[str]) -> None:
    _check_reconstructs(old, new)


@settings(max_examples=300, deadline=None)
@given(LINES, LINES, st.sampled_from([0, 10, 10**9]))
def test_rows_reconstruct_both_sides_on_the_long_input_paths(
    old: list[str], new: list[str], myers_budget: int
) -> None:
    # Force the paths normally taken only by long repetitive input: unique-line anchors, then
    # Myers' algorithm, then (with no budget) a wholesale replacement.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(code_diff, "_MATCH_BUDGET", 0)
        patch.setattr(code_diff, "_MYERS_BUDGET", myers_budget)
        _check_reconstructs(old, new)


# --- render_diff_html ------------------------------------------------------------------------


def test_caption_names_both_runs_with_the_totals() -> None:
    diff = diff_code("a\nb\n", "a\nB\nc\nd\n")

    fragment = render_diff_html(diff, "rf-500", "gbm-tuned")

    assert fragment.startswith('<div class="nbmb-code-diff">')
    assert fragment.endswith("</div>")
    assert "rf-500 → gbm-tuned: 3 lines added, 1 removed" in fragment


@pytest.mark.parametrize(
    ("old", "new", "summary"),
    [
        ("a", "a\nb", "1 line added"),
        ("a\nb\nc", "a", "2 lines removed"),
        ("a", "b", "1 line added, 1 removed"),
    ],
)
def test_caption_wording(old: str, new: str, summary: str) -> None:
    assert f"A → B: {summary}</div>" in render_diff_html(diff_code(old, new), "A", "B")


def test_rows_have_numbers_markers_and_code() -> None:
    old = numbered(12)
    new = list(old)
    new[5] = "six = 6"
    new.insert(8, "extra = 1")

    fragment = render_diff_html(diff_code(code(old), code(new), context=1), "a", "b")

    assert rows(fragment) == [
        ("skipped", "", "", " ", "4 unchanged lines"),
        ("same", "5", "5", " ", "line_5 = 5"),
        ("removed", "6", "", "-", '<span class="nbmb-diff-char">line_6</span> = 6'),
        ("added", "", "6", "+", '<span class="nbmb-diff-char">six</span> = 6'),
        ("same", "7", "7", " ", "line_7 = 7"),
        ("same", "8", "8", " ", "line_8 = 8"),
        ("added", "", "9", "+", "extra = 1"),
        ("same", "9", "10", " ", "line_9 = 9"),
        ("skipped", "", "", " ", "3 unchanged lines"),
    ]


def test_identical_code_is_a_sentence_not_a_table() -> None:
    fragment = render_diff_html(diff_code("x = 1\n", "x = 1\r\n"), "rf-500", "rf-501")

    assert "The code of rf-500 and rf-501 is identical." in fragment
    assert "<table" not in fragment
    assert fragment.startswith('<div class="nbmb-code-diff">')


def test_style_is_scoped_and_themed() -> None:
    fragment = render_diff_html(diff_code("a", "b"), "A", "B")
    style = fragment[fragment.index("<style>") : fragment.index("</style>")]

    rules = [rule.strip() for rule in style.removeprefix("<style>").split("}") if rule.strip()]
    assert rules
    assert all(".nbmb-code-diff" in rule.split("{")[0] for rule in rules)
    assert "white-space: pre" in style
    assert "#ffebe9" in style
    assert "#e6ffec" in style
    assert "font-style: italic" in style
    assert "var(--jp-content-font-color1, #000)" in style
    assert 'body[data-jp-theme-light="false"] .nbmb-code-diff tr.nbmb-diff-removed' in style


# --- render_diff_html: safety ----------------------------------------------------------------


def test_code_is_escaped_and_shown_as_text() -> None:
    old = "x = 1\n"
    new = f"x = 1\nhtml = '{HOSTILE}'\nprint(\"a\" & 'b' > c)\n"

    fragment = render_diff_html(diff_code(old, new), "a", "b")

    assert "<img" not in fragment
    assert HOSTILE_ESCAPED in fragment
    assert "print(&quot;a&quot; &amp; &#x27;b&#x27; &gt; c)" in fragment
    parsed = parse(fragment)
    assert parsed.tags <= {"div", "style", "table", "tr", "td", "span", "p"}
    assert parsed.attributes == {"class"}
    assert f"html = '{HOSTILE}'" in parsed.text
    assert "print(\"a\" & 'b' > c)" in parsed.text


def test_removed_hostile_code_is_escaped_too() -> None:
    fragment = render_diff_html(
        diff_code(f"{HOSTILE}\n</table></div><script>x()</script>", ""), "a", "b"
    )

    assert "<img" not in fragment
    assert "<script" not in fragment
    assert HOSTILE_ESCAPED in fragment
    assert "&lt;/table&gt;&lt;/div&gt;&lt;script&gt;x()&lt;/script&gt;" in fragment


def test_labels_are_escaped_in_the_caption() -> None:
    label = f'run "{HOSTILE}" & co'

    fragment = render_diff_html(diff_code("a", "b"), label, "<b>new</b>")

    assert "<img" not in fragment
    assert "<b>" not in fragment
    assert (
        f"run &quot;{HOSTILE_ESCAPED}&quot; &amp; co → &lt;b&gt;new&lt;/b&gt;: "
        "1 line added, 1 removed"
    ) in fragment
    assert f'run "{HOSTILE}" & co → <b>new</b>: 1 line added, 1 removed' in parse(fragment).text


def test_labels_are_escaped_in_the_identical_sentence() -> None:
    fragment = render_diff_html(diff_code("a", "a"), HOSTILE, "it's")

    assert "<img" not in fragment
    assert f"The code of {HOSTILE_ESCAPED} and it&#x27;s is identical." in fragment


# --- render_diff_html: changed characters ----------------------------------------------------


def test_changed_characters_of_a_replaced_line_are_marked() -> None:
    fragment = render_diff_html(diff_code("n_estimators = 500\n", "n_estimators = 800\n"), "a", "b")

    assert [row[4] for row in rows(fragment)] == [
        'n_estimators = <span class="nbmb-diff-char">5</span>00',
        'n_estimators = <span class="nbmb-diff-char">8</span>00',
    ]


def test_marked_characters_are_escaped_inside_and_outside_the_spans() -> None:
    fragment = render_diff_html(diff_code("if a < b & c:\n", "if a <= b & c:\n"), "a", "b")

    assert [row[4] for row in rows(fragment)] == [
        "if a &lt; b &amp; c:",
        'if a &lt;<span class="nbmb-diff-char">=</span> b &amp; c:',
    ]


def test_a_changed_special_character_is_escaped_inside_its_span() -> None:
    fragment = render_diff_html(diff_code("s = '<a>'\n", "s = '<b>'\n"), "a", "b")

    assert [row[4] for row in rows(fragment)] == [
        's = &#x27;&lt;<span class="nbmb-diff-char">a</span>&gt;&#x27;',
        's = &#x27;&lt;<span class="nbmb-diff-char">b</span>&gt;&#x27;',
    ]


def test_short_equal_runs_between_changes_are_marked_with_them() -> None:
    fragment = render_diff_html(diff_code("max_depth=3\n", "min_depth=5\n"), "a", "b")

    assert [row[4] for row in rows(fragment)] == [
        'm<span class="nbmb-diff-char">ax</span>_depth=<span class="nbmb-diff-char">3</span>',
        'm<span class="nbmb-diff-char">in</span>_depth=<span class="nbmb-diff-char">5</span>',
    ]
    confetti = render_diff_html(diff_code("abcdefgh = 1\n", "aXcXeXgh = 1\n"), "a", "b")
    assert [row[4] for row in rows(confetti)] == [
        'a<span class="nbmb-diff-char">bcdef</span>gh = 1',
        'a<span class="nbmb-diff-char">XcXeX</span>gh = 1',
    ]


def test_no_character_marks_for_unrelated_lines_or_multi_line_blocks() -> None:
    unrelated = render_diff_html(diff_code("x = 1\n", "print('hello world')\n"), "a", "b")
    block = render_diff_html(diff_code("x = 1\ny = 2\n", "x = 10\n"), "a", "b")

    assert "<span" not in unrelated
    assert "<span" not in block
    assert [row[4] for row in rows(block)] == ["x = 1", "y = 2", "x = 10"]
