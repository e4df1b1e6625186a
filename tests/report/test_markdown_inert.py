"""The Markdown report stays inert in renderers that pass raw HTML through.

GitHub, JupyterLab and nbconvert render Markdown with HTML on; the report's Markdown is run
through such renderers here (markdown-it-py with `html=True`, also without its link-scheme
filter, and nbconvert's mistune) with nothing sanitised afterwards, and the HTML they produce is
audited for anything that could run script or load a resource.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from nbmodelbook.report.model import Annotation, AnnotationKind
from nbmodelbook.report.render_markdown import md_body, render_markdown
from tests.report.test_render import make_review

# ---------------------------------------------------------------------------
# Renderers with raw HTML on, as a reader's tool would have them


def _markdown_it_permissive() -> MarkdownIt:
    """CommonMark + GFM tables, raw HTML on, and no check of link schemes at all."""
    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    return parser


_COMMONMARK = MarkdownIt("commonmark", {"html": True})
_PERMISSIVE = _markdown_it_permissive()

ENGINES: dict[str, Callable[[str], str]] = {
    "markdown-it": _COMMONMARK.render,
    "markdown-it-permissive": _PERMISSIVE.render,
    "nbconvert-mistune": markdown2html_mistune,
}

# ---------------------------------------------------------------------------
# What the produced HTML may not contain

FORBIDDEN_ELEMENTS = {
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "style", "svg", "math",
    "link", "meta", "base", "form", "input", "button", "textarea", "select", "video", "audio",
    "source", "track", "template", "noscript", "portal", "xmp", "noembed", "noframes", "image",
}  # fmt: skip
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "background",
    "data", "codebase", "cite", "longdesc", "lowsrc", "dynsrc", "ping", "manifest",
}  # fmt: skip
LOADING_ELEMENTS = {"img", "source", "link", "input", "video", "audio", "track", "image"}
OUR_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|svg\+xml);base64,[A-Za-z0-9+/]*={0,2}")
TABLE_ALIGNMENT = re.compile(r"text-align:\s*(left|right|center);?")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _url_problem(tag: str, name: str, value: str) -> str | None:
    # Browsers drop whitespace and control characters anywhere in a URL's scheme.
    url = re.sub(r"[\x00-\x20]", "", value).lower()
    scheme = _SCHEME.match(url)
    loads = tag in LOADING_ELEMENTS or name in ("src", "srcset", "background", "poster", "data")
    if scheme is None:
        if loads and url.replace("\\", "/").startswith("//"):
            return "protocol-relative load"
        return None
    if scheme.group(1) == "data":
        if tag == "img" and name == "src" and OUR_DATA_IMAGE.fullmatch(value.strip()):
            return None
        return "data: URL"
    if loads:
        return f"{scheme.group(1)}: load"
    if scheme.group(1) not in ("http", "https", "mailto"):
        return f"{scheme.group(1)}: link"
    return None


def html_problems(html: str) -> list[str]:
    """Everything in rendered HTML that could run script, restyle the page or fetch something."""
    problems = []
    if re.search(r"<\s*script", html, re.IGNORECASE):
        problems.append("<script")
    parser = _Elements()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.found:
        if tag in FORBIDDEN_ELEMENTS:
            problems.append(f"<{tag}> element")
        for name, raw in attrs:
            value = raw or ""
            if name.startswith("on"):
                problems.append(f"<{tag} {name}=...> event handler")
            elif name == "style" and not TABLE_ALIGNMENT.fullmatch(value.strip()):
                problems.append(f"<{tag} style={value[:60]!r}>")
            elif name in URL_ATTRIBUTES:
                problem = _url_problem(tag, name, value)
                if problem:
                    problems.append(f"<{tag} {name}={value[:60]!r}>: {problem}")
    return problems


def assert_inert(markdown: str) -> None:
    for engine, render in ENGINES.items():
        html = render(markdown)
        problems = html_problems(html)
        assert not problems, (engine, problems, html[:3000])


def annotation_review(body: str, title: str = "Attack") -> str:
    """The Markdown report of a review whose decision rationale and risk note are `body`."""
    review = make_review()
    decision = review.decisions[0].annotation
    review.decisions[0].annotation = Annotation(
        decision.kind, title, body, decision.refs, decision.cell_index, decision.cell_id
    )
    risk = review.notes[0]
    review.notes[0] = Annotation(
        AnnotationKind.RISK, title, body, risk.refs, risk.cell_index, risk.cell_id
    )
    text, _ = render_markdown(review, Path("r_files"))
    return text


# ---------------------------------------------------------------------------
# The audit itself catches what it is meant to


def test_audit_catches_active_html() -> None:
    assert html_problems("<p>x</p><img src=x onerror=alert(1)>")
    assert html_problems('<a href=" java\tscript:alert(1)">x</a>')
    assert html_problems('<a href="&#106;avascript:alert(1)">x</a>')
    assert html_problems('<img src="//evil.example/p.png">')
    assert html_problems('<img src="https://evil.example/p.png">')
    assert html_problems('<a href="data:text/html,x">x</a>')
    assert html_problems("<svg><text>x</text></svg>")
    assert not html_problems(
        '<p><a href="https://example.org/">x</a> <img src="r_files/a.svg"></p>'
    )
    assert not html_problems('<img src="data:image/png;base64,iVBORw0=" alt="x">')


# ---------------------------------------------------------------------------
# The three reported attacks, each on its own


ATTACKS = {
    # A fence the line scanner missed (it starts after a list marker) closed by a line it took
    # for an opening fence: what follows was passed through raw.
    "fence in a list item": "- ```\n  ```\n<script>alert(1)</script>\n```",
    # An escaped bracket: `\\](` was "escaped" once more into `\\\\](`, a live link.
    "escaped link bracket": "[x\\](javascript:alert(1))",
    # An escaped image marker: `\\![` became `\\\\![`, a live remote image.
    "escaped image marker": "\\![pixel](http://evil.example/p.png)",
    # A bare URL before an escaped bracket: a renderer that links bare URLs (mistune) took the
    # escapes into the URL and closed the run's link with `](javascript:...)`.
    "bare URL before a bracket": "[p]: http://evil.example/p.png[x\\](javascript:alert(1))",
}


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_reported_attacks_are_inert(attack: str) -> None:
    assert_inert(md_body(attack))
    assert_inert(annotation_review(f"Some text.\n\n{attack}\n\nMore text."))


def test_reported_attacks_in_every_field_are_inert() -> None:
    for attack in ATTACKS.values():
        text, _ = render_markdown(make_review(attack), Path("r_files"))
        assert_inert(text)


# ---------------------------------------------------------------------------
# Readability: an ordinary annotation still reads as the modeller wrote it


def test_ordinary_annotation_still_renders_as_markdown() -> None:
    body = (
        "We keep **run:random-forest** over run:gradient-boosting because:\n\n"
        "1. it is *more accurate* on the hold-out set;\n"
        "2. it is stable across seeds (see [the notes](https://example.org/notes?a=1&b=2)).\n\n"
        "- a bullet with `code[0] < 1`\n"
        "- and one with ~~struck~~ text\n\n"
        "```python\nmodel = RandomForestClassifier(max_depth=8)  # <b>not html</b>\n```\n\n"
        "| metric | value |\n| --- | ---: |\n| accuracy | 0.91 |"
    )
    text = annotation_review(body)
    html = _COMMONMARK.render(text)
    mistune = markdown2html_mistune(text)
    for rendered in (html, mistune):
        assert "<strong>" in rendered and "<em>more accurate</em>" in rendered
        assert "<ol>" in rendered and "<ul>" in rendered
        assert 'href="https://example.org/notes?a=1&amp;b=2"' in rendered
        assert "&lt;b&gt;not html&lt;/b&gt;" in rendered
        assert re.search(r'<a href="#run-[0-9a-f]+">run:gradient-boosting</a>', rendered)
        assert "0.91" in rendered
    assert "<table>" in mistune and "<del>struck</del>" in mistune
    assert_inert(text)


# ---------------------------------------------------------------------------
# Random Markdown with planted payloads, in every untrusted field

FRAGMENTS = [
    *ATTACKS.values(),
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>",
    "<iframe src=//evil.example>", "<style>*{}</style>", "<a href=javascript:alert(1)>x</a>",
    "<object data=x>", "<javascript:alert(1)>", "<http://evil.example/p.png>",
    "<vbscript:msgbox(1)>", "[x]: javascript:alert(1)", "[p]: http://evil.example/p.png",
    "[x]", "[x][]", "![p]", "![p][]", "![x](http://evil.example/p.png)",
    "![x](//evil.example/p.png)", "[x](javascript&#58;alert(1))", "javascript&#58;alert(1)",
    "[x](data:text/html;base64,PHNjcmlwdD4=)", "[x](vbscript:msgbox(1))",
    "[x](<javascript:alert(1)>)", "[x](java\\script:alert(1))", "[x](https://example.org/)",
    "[`x](javascript:alert(1))`](https://example.org/)", "`<b>`", "``<a href=x>`` `",
    "<!-- <script>alert(1)</script> -->", "<!--", "-->", "```", "````", "~~~", "```mermaid\n",
    "    <script>alert(1)</script>", "$$<script>$$", "$<img src=x onerror=alert(1)>$",
    "\\", "\\\\", "`", "``", "[", "]", "(", ")", "![", "](", "](javascript:alert(1))",
    "&", "&amp;", "&#60;script&#62;", "&lt;img src=x onerror=alert(1)&gt;", "<", ">", "> ",
    "- ", "* ", "1. ", "  ", "    ", "\t", "\n", "\n\n", "\r\n", "|", "| a |\n| - |\n",
    ": ", "#", "---", "===", "*", "_", "~", "run:random-forest", "run:logistic", "javascript:",
    "onerror=", "http://evil.example/", "www.evil.example", "a@b.example", "\u2028",
]  # fmt: skip


def payloads(fragments: list[str]) -> st.SearchStrategy[str]:
    return st.lists(
        st.sampled_from(fragments) | st.text(alphabet="[]()<>!`\\&#*_-:|~$ \n", max_size=4),
        max_size=24,
    ).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads([*FRAGMENTS, "\x00"]))
def test_annotation_markdown_property_never_active(source: str) -> None:
    assert_inert(md_body(source, {"random-forest": "run-1", "logistic": "run-2"}))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads([*FRAGMENTS, "\x00", "\x1f"]), payloads(FRAGMENTS))
def test_review_property_never_active(payload: str, body: str) -> None:
    """`payload` in every untrusted field of a review (names, params, metrics, tags, notes,
    errors, code, titles, annotation bodies), and `body` as two annotations' whole text."""
    review = make_review(payload)
    decision = review.decisions[1].annotation
    review.decisions[1].annotation = Annotation(
        decision.kind, payload, body, decision.refs, decision.cell_index, decision.cell_id
    )
    note = review.notes[1]
    review.notes[1] = Annotation(note.kind, body, body, note.refs, note.cell_index, note.cell_id)
    text, _ = render_markdown(review, Path("r_files"))
    assert_inert(text)


def test_a_pipe_in_untrusted_text_keeps_every_table_a_table() -> None:
    """A `|` in a run name or value is escaped once: renderers that read an escaped backslash
    first (mistune) broke the whole table on `\\\\|`."""
    text, _ = render_markdown(make_review("tree|`x` | y"), Path("r_files"))
    tables = MarkdownIt("commonmark").enable("table").render(text).count("<table")
    assert tables >= 10
    assert markdown2html_mistune(text).count("<table") == tables
    assert "tree|" in markdown2html_mistune(text)
