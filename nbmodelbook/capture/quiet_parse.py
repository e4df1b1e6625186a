"""Parse a cell without issuing any warning, and without touching the warnings filters.

Python's parser reports a few things through the warnings machinery: invalid escape sequences
(`"\\d"`), octal escapes above 0o377 (`"\\777"`) and a number run into a keyword (`1if x else 2`).
IPython compiles the cell itself right after we parse it, and the user sees its warnings; ours
would be extra ones. None of the usual ways to silence them is transparent:

- ``warnings.catch_warnings()`` + ``simplefilter("ignore")`` changes the filters on the way in
  and out; every change bumps the filters' version, and that empties each module's
  ``__warningregistry__``, so a warning the "default" action already showed once is shown again
  in the next cell (also a warning raised by another thread meanwhile is lost);
- replacing ``warnings.showwarning`` leaves the filters in charge: under "error" the parser still
  raises, and under "once" our parse takes the one showing of that message away from the user.

So the parser is never given anything to warn about: the source is rewritten into one that
parses to the same tree (same values, same line numbers) and has nothing that warns: an invalid
escape `\\d` becomes `\\\\d` (the same two characters), an octal escape above 0o377 becomes the
`\\u`/`\\x` escape of the value Python gives it, and `1if` becomes `1 if`. Almost every cell has
neither an escape that may warn nor a number touching a keyword, and is compiled as it is.
"""

from __future__ import annotations

import ast
import re
import tokenize
from typing import Final

__all__ = ["parse_quietly"]

_PARSE_FLAGS: Final = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT

# The keywords a number may run into with only a warning (CPython's verify_end_of_number).
_KEYWORD_AFTER_NUMBER: Final = "and|else|for|if|in|is|not|or"
_NUMBER_BEFORE_KEYWORD: Final = re.compile(
    rf"(?<![\w.])(?:{tokenize.Number})(?=(?:{_KEYWORD_AFTER_NUMBER}))"
)
# Cheap test for the above (a superset: it also matches `1.5.is_integer()`): a run of word
# characters and dots that starts with a digit not preceded by a word character.
_MAYBE_NUMBER_BEFORE_KEYWORD: Final = re.compile(
    rf"[0-9](?<![\w][0-9])[\w.]*?(?:{_KEYWORD_AFTER_NUMBER})"
)
# Cheap test for an escape that may warn (a superset: it also matches inside raw strings and
# after an escaped backslash): a backslash before a character that starts no valid escape, an
# octal escape above 0o377; and `\N`, `\u`, `\U`, which are invalid in bytes literals.
_MAYBE_WARNING_ESCAPE: Final = re.compile(r"\\(?:[^\n\r\\'\"abfnrtv0-7xNuU]|[4-7][0-7][0-7])")
_TEXT_ONLY_ESCAPE: Final = re.compile(r"\\[NuU]")
_BYTES_LITERAL: Final = re.compile(r"(?<![\w])(?:[bB][rR]?|[rR][bB])['\"]")
# A string literal's opening (with its prefix), or a comment.
_STRING_OR_COMMENT: Final = re.compile(
    r"""#[^\r\n]*|(?:(?<![\w])(?P<prefix>[rRbBuUfFtT]{1,2}))?(?P<quote>'''|\"\"\"|'|")"""
)
# The rest of a string literal after its opening quote, up to (not including) the closing one.
_STRING_REST: Final = {
    "'": re.compile(r"(?:[^'\\\n]|\\.)*", re.DOTALL),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*', re.DOTALL),
    "'''": re.compile(r"(?:[^'\\]|\\.|'(?!''))*", re.DOTALL),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*', re.DOTALL),
}
_ESCAPE: Final = re.compile(r"\\(?:(?P<octal>[0-7]{1,3})|(?P<char>.))", re.DOTALL)
_VALID_ESCAPES: Final = frozenset("\n\r\\'\"abfnrtvx")
_TEXT_ONLY_ESCAPES: Final = frozenset("NuU")  # valid in str literals, not in bytes


def parse_quietly(code: str) -> ast.Module | None:
    """The tree of `code`, or None if it does not parse. Issues no warning, whatever the filters."""
    if _may_warn(code):
        code = _without_parse_warnings(code)
    try:
        tree = compile(code, "<cell>", "exec", _PARSE_FLAGS, dont_inherit=True)
    except Exception:  # SyntaxError, ValueError (NUL bytes, surrogates), RecursionError
        return None
    return tree if isinstance(tree, ast.Module) else None


def _may_warn(code: str) -> bool:
    if "\\" in code and (
        _MAYBE_WARNING_ESCAPE.search(code)
        or (_TEXT_ONLY_ESCAPE.search(code) and _BYTES_LITERAL.search(code))
    ):
        return True
    return _MAYBE_NUMBER_BEFORE_KEYWORD.search(code) is not None


def _without_parse_warnings(code: str) -> str:
    """`code` with every construct the parser warns about written the way it does not.

    A light scan, not a tokenizer (the tokenize module shares the parser's warnings on newer
    Pythons): comments and string literals are found by their openings; only raw string
    literals are left alone, as they have no escapes. Outside strings a backslash is valid only
    before a line break, which is kept. (Python 3.12 lets an f-string's field hold a string in
    the same quotes; the scan then cuts the f-string short, which matters only if that nested
    string is raw or warns.)
    """
    pieces: list[str] = []
    position = 0
    while True:
        found = _STRING_OR_COMMENT.search(code, position)
        if found is None:
            pieces.append(_quiet_code(code[position:]))
            return "".join(pieces)
        pieces.append(_quiet_code(code[position : found.start()]))
        quote = found.group("quote")
        if quote is None:  # a comment: the parser never looks inside
            pieces.append(found.group())
            position = found.end()
            continue
        prefix = (found.group("prefix") or "").lower()
        rest = _STRING_REST[quote].match(code, found.end())
        end = rest.end() if rest is not None else found.end()
        body = code[found.end() : end]
        if "r" not in prefix and "\\" in body:
            body = _quiet_escapes(body, is_bytes="b" in prefix)
        if ("f" in prefix or "t" in prefix) and _MAYBE_NUMBER_BEFORE_KEYWORD.search(body):
            body = _quiet_fields(body)
        closing = quote if code.startswith(quote, end) else ""  # unterminated: a SyntaxError
        pieces.append(found.group() + body + closing)
        position = end + len(closing)


def _quiet_code(text: str) -> str:
    if "\\" in text:
        text = _quiet_escapes(text, is_bytes=False)
    return _quiet_numbers(text) if _MAYBE_NUMBER_BEFORE_KEYWORD.search(text) else text


def _quiet_numbers(text: str) -> str:
    # `1if x else 2` is `1 if x else 2`; the space only separates what the parser separates.
    return _NUMBER_BEFORE_KEYWORD.sub(lambda number: number.group() + " ", text)


def _quiet_fields(body: str) -> str:
    """The numbers in an f-string's replacement fields, which are parsed as code, quieted."""
    if "{" not in body:
        return body
    pieces: list[str] = []
    depth = 0
    field_start = copied = index = 0
    while index < len(body):
        char = body[index]
        if depth == 0:
            if body.startswith("{{", index):
                index += 2
                continue
            if char == "{":
                depth, field_start = 1, index
        elif char in "'\"":  # a string inside the field: its braces do not count
            closing = body.find(char, index + 1)
            index = len(body) if closing < 0 else closing
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                pieces.append(body[copied:field_start])
                pieces.append(_quiet_numbers(body[field_start : index + 1]))
                copied = index + 1
        index += 1
    pieces.append(body[copied:])
    return "".join(pieces)


def _quiet_escapes(body: str, *, is_bytes: bool) -> str:
    def rewrite(escape: re.Match[str]) -> str:
        octal = escape.group("octal")
        if octal is not None:
            value = int(octal, 8)
            if value <= 0o377:
                return escape.group()
            # What Python makes of the out-of-range escape, written without it.
            return f"\\x{value & 0xFF:02x}" if is_bytes else f"\\u{value:04x}"
        char = escape.group("char")
        if char in _VALID_ESCAPES or (char in _TEXT_ONLY_ESCAPES and not is_bytes):
            return escape.group()
        return "\\\\" + char  # an invalid escape keeps its backslash: now explicitly

    return _ESCAPE.sub(rewrite, body)
