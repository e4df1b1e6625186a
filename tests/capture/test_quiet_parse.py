"""Parsing a cell issues no warning and leaves the warnings machinery exactly as it was."""

from __future__ import annotations

import ast
import warnings

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nbmodelbook.capture.code_analysis import analyze_cell
from nbmodelbook.capture.quiet_parse import parse_quietly

# Each of these makes Python's parser warn (DeprecationWarning or SyntaxWarning).
WARNING_SOURCES = [
    'pattern = "\\d+"',
    'raw = b"\\d"',
    'label = f"{name}\\s"',
    'spec = f"{value:\\d}"',
    'high = "\\777"',
    'high_bytes = b"\\477"',
    'name = b"\\N{BULLET}"',
    'brace = f"\\{name}"',
    'joined = "\\z" "\\q"',
    'block = """\\\n\\d"""',
    "choice = 1if flag else 2",
    "number = [0x1for x in y]",
    "mixed = [1e5or 2, 1jif flag else 0]",
    "inside = f'{1if flag else 2}'",
]


def reference_tree(code: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.dump(compile(code, "<ref>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True))
        except SyntaxError:
            return None


def quiet_tree(code: str) -> tuple[str | None, list[str]]:
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        tree = parse_quietly(code)
    return (ast.dump(tree) if tree is not None else None), [str(w.message) for w in shown]


@pytest.mark.parametrize("code", WARNING_SOURCES)
def test_same_tree_as_python_and_no_warning(code: str) -> None:
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        compile(code, "<ref>", "exec", ast.PyCF_ONLY_AST)
    assert shown, "the source is meant to make Python warn"
    tree, warned = quiet_tree(code)
    assert warned == []
    assert tree == reference_tree(code)


@pytest.mark.parametrize("code", WARNING_SOURCES)
def test_no_error_under_an_error_filter(code: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_quietly(code) is not None


def test_raw_strings_comments_and_continuations_are_left_alone() -> None:
    code = 'a = r"\\d+" + rb"\\w"  # "\\q\'\nb = 1 + \\\n    2\nc = "#" + "\\d"\n'
    tree, warned = quiet_tree(code)
    assert warned == [] and tree == reference_tree(code)


def test_analysis_keeps_the_registry_of_warnings_already_shown() -> None:
    # A warning the "default" action showed once must not show again after a cell is parsed:
    # changing the filters, even and back, would reset every module's registry.
    def warn_here() -> None:
        warnings.warn("shown once per place", UserWarning, stacklevel=1)

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")
        warn_here()
        analyze_cell('registry_probe = "\\d"  # a cell not analysed before\n')
        analyze_cell("registry_probe = 2  # another\n")
        warn_here()
    assert [str(w.message) for w in shown] == ["shown once per place"]


def test_analysis_leaves_a_once_warning_to_the_real_compile() -> None:
    code = 'once_probe = "\\y"\n'
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("once")
        analysis = analyze_cell(code)
        compile(code, "<ipython-cell>", "exec")  # what IPython does next
    assert analysis.syntax_ok and analysis.literal_assignments == {"once_probe": "\\y"}
    assert [str(w.message) for w in shown] == ["invalid escape sequence '\\y'"]


_PIECES = [
    *("\\", "\\\\", "d", "n", "x4", "x", "0", "7", "47", "777", "8", "N{DASH}", "N", "u00e9"),
    *("U0001F600", "{", "}", "{y}", "{1if y else 2}", "'", '"', "a", "\n", "{{", "}}", "é"),
    " 1in ",
]
_PREFIXES = ["", "r", "b", "f", "rb", "br", "fr", "rf", "u", "B", "F", "R"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    prefix=st.sampled_from(_PREFIXES),
    quote=st.sampled_from(["'", '"', "'''", '"""']),
    body=st.lists(st.sampled_from(_PIECES), max_size=8).map("".join),
)
def test_any_string_literal_parses_as_python_parses_it(prefix: str, quote: str, body: str) -> None:
    code = f"x = {prefix}{quote}{body}{quote}\ny = 2"
    reference = reference_tree(code)
    assume(reference is not None)
    assert quiet_tree(code) == (reference, [])


_CODE_PIECES = [*"019.eE-+xXob_jfay()[],: ", "if", "in", "is", "or", "and", "not", "else", "for"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.lists(st.sampled_from(_CODE_PIECES), min_size=1, max_size=10).map("".join))
def test_numbers_next_to_keywords_parse_as_python_parses_them(expression: str) -> None:
    code = f"z = {expression}"
    reference = reference_tree(code)
    assume(reference is not None)
    assert quiet_tree(code) == (reference, [])
