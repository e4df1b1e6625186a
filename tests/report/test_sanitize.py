"""Sanitizing untrusted Markdown, captured HTML and captured figures."""

from __future__ import annotations

import base64
import re
import struct
import zlib
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from nbmodelbook.report.sanitize import (
    html_output_to_safe_html,
    image_bytes,
    markdown_to_safe_html,
    safe_png,
    safe_svg,
)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


MARKDOWN_TAGS = {
    "p", "a", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "br", "hr", "s",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


def assert_safe_markdown_html(html: str) -> None:
    assert "<script" not in html.lower()
    for tag, attrs in tags_of(html):
        assert tag in MARKDOWN_TAGS, tag
        for name, value in attrs.items():
            assert name in {"href", "title", "rel", "colspan", "rowspan"}, (tag, name)
            if name == "href":
                assert tag == "a"
                assert re.match(r"(https?://|mailto:|#[A-Za-z0-9_.:-]+$)", value or ""), value
                assert attrs.get("rel") == "noopener noreferrer"


def test_markdown_basics() -> None:
    html = markdown_to_safe_html(
        "# Title\n\nSome *em* and **strong** and `code`.\n\n- a\n- b\n\n> quote\n\n"
        "```python\nx = 1 < 2\n```\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n~~gone~~\n"
    )
    assert "<h1>Title</h1>" in html
    assert "<em>em</em>" in html and "<strong>strong</strong>" in html
    assert "<code>code</code>" in html
    assert "<ul>\n<li>a</li>" in html and "<blockquote>" in html
    assert "<pre><code>x = 1 &lt; 2\n</code></pre>" in html  # no class="language-python"
    assert "<table>" in html and "<td>2</td>" in html and "style" not in html
    assert "<s>gone</s>" in html
    assert_safe_markdown_html(html)


def test_heading_offset() -> None:
    html = markdown_to_safe_html("# One\n\n###### Six", heading_offset=3)
    assert "<h4>One</h4>" in html and "<h6>Six</h6>" in html


def test_raw_html_is_escaped_not_rendered() -> None:
    html = markdown_to_safe_html(
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n<svg onload=alert(1)>\n\n"
        '<iframe src="http://evil.example/"></iframe> <a href="http://evil.example/">x</a>'
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html and "<iframe" not in html and "<svg" not in html
    assert '<a href="http://evil' not in html
    assert_safe_markdown_html(html)


def test_dangerous_link_targets_are_dropped() -> None:
    sources = [
        "[a](javascript:alert(1))",
        "[a](JaVaScRiPt:alert(1))",
        "[a](jav&#x61;script:alert(1))",
        "[a](  javascript:alert(1))",
        "[a](vbscript:msgbox(1))",
        "[a](data:text/html;base64,PHNjcmlwdD4=)",
        "[a](file:///etc/passwd)",
        "[a](//evil.example/x)",
        "[a](evil.html)",
        "[a](/absolute/path)",
        "[a][r]\n\n[r]: javascript:alert(1)",
        "<javascript:alert(1)>",
    ]
    for source in sources:
        html = markdown_to_safe_html(source)
        assert "href" not in html, (source, html)
        assert_safe_markdown_html(html)


def test_good_links_kept_with_rel() -> None:
    html = markdown_to_safe_html(
        "[w](https://example.org/a?b=1&c=2) [m](mailto:risk@example.org) [s](#audit) "
        "<https://example.org/auto>"
    )
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">w</a>' in html
    assert '<a href="mailto:risk@example.org" rel="noopener noreferrer">m</a>' in html
    assert '<a href="#audit" rel="noopener noreferrer">s</a>' in html
    assert 'href="https://example.org/auto"' in html
    assert_safe_markdown_html(html)


def test_images_never_load() -> None:
    html = markdown_to_safe_html(
        "![pixel](http://track.example/p.png) ![x](data:image/png;base64,AA==)"
    )
    assert "<img" not in html
    assert '!<a href="http://track.example/p.png" rel="noopener noreferrer">pixel</a>' in html
    assert_safe_markdown_html(html)


def test_run_refs_become_anchor_links() -> None:
    links = {"rf-3": "run-000000000003", "rf-30": "run-000000000030"}
    html = markdown_to_safe_html(
        "See run:rf-3, run:rf-30 and run:rf-300. `run:rf-3` [run:rf-3](https://x.example) "
        "run:unknown",
        links,
    )
    assert '<a href="#run-000000000003" rel="noopener noreferrer">run:rf-3</a>,' in html
    assert '<a href="#run-000000000030" rel="noopener noreferrer">run:rf-30</a>' in html
    assert "run:rf-300" in html and "rf-300</a>" not in html  # not a known ref: plain text
    assert "<code>run:rf-3</code>" in html  # code stays code
    assert '<a href="https://x.example" rel="noopener noreferrer">run:rf-3</a>' in html
    assert "run:unknown" in html
    assert_safe_markdown_html(html)


def test_run_ref_with_markup_characters() -> None:
    ref = "x<b>"
    html = markdown_to_safe_html("run:x&lt;b&gt; and run:x<b>", {ref: "run-1"})
    assert_safe_markdown_html(html)
    assert "<b>" not in html


def test_empty_markdown() -> None:
    assert markdown_to_safe_html("") == ""
    assert markdown_to_safe_html("   \n") == ""


FRAGMENTS = [
    "<", ">", "&", '"', "'", "[", "]", "(", ")", "!", "`", "*", "\n", " ", ":", "#",
    "script", "img", "svg", "onerror=", "onload=", "javascript", "data", "href=", "src=",
    "http://evil", "<a ", "</", "run:r1", "style=", "iframe", "&#x6A;", "\\", "|", "-",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_markdown_property_never_active(source: str) -> None:
    assert_safe_markdown_html(markdown_to_safe_html(source, {"r1": "run-1"}))


# ---------------------------------------------------------------------------
# Captured HTML outputs


def test_pandas_table_survives_as_plain_table() -> None:
    pandas_html = (
        "<div>\n<style scoped>\n    .dataframe tbody tr th:only-of-type {vertical-align: middle;}\n"
        '</style>\n<table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: '
        'right;">\n      <th></th>\n      <th>accuracy</th>\n    </tr>\n  </thead>\n  <tbody>\n'
        "    <tr>\n      <th>0</th>\n      <td>0.91</td>\n    </tr>\n  </tbody>\n</table>\n</div>"
    )
    html = html_output_to_safe_html(pandas_html)
    assert "<table>" in html and "<th>accuracy</th>" in html and "<td>0.91</td>" in html
    assert "style" not in html and "class" not in html and "border" not in html
    assert "vertical-align" not in html


def test_html_output_hostile_content_removed() -> None:
    html = html_output_to_safe_html(
        '<table><tr><td onclick="x()" colspan="2">a</td></tr></table>'
        '<a href="http://evil.example/">link text</a><iframe src="http://evil.example/">i</iframe>'
        "<script>alert(1)</script><img src=x onerror=alert(1)><svg onload=alert(1)><text>s</text>"
        '</svg><form action="http://evil.example/"><input name=q></form><object data=x></object>'
        '<math><mi>m</mi></math><p style="position:fixed">para</p><base href="http://evil/">'
        '<meta http-equiv="refresh" content="0;url=http://evil/"><link rel=stylesheet href=x>'
    )
    assert '<td colspan="2">a</td>' in html
    assert "link text" in html and "<a" not in html
    lowered = html.lower()
    for needle in ("evil", "<iframe", "<script", "alert", "<img", "<svg", "<form", "<input",
                   "<object", "<math", "style", "<base", "<meta", "<link", "onclick"):  # fmt: skip
        assert needle not in lowered, needle
    assert "<p>para</p>" in html


# ---------------------------------------------------------------------------
# Figures


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\0"))


def test_safe_png() -> None:
    raw = _png()
    encoded = base64.b64encode(raw).decode()
    uri = safe_png(encoded)
    assert uri == "data:image/png;base64," + encoded
    wrapped = "\n".join(encoded[i : i + 16] for i in range(0, len(encoded), 16))
    assert safe_png(wrapped) == uri  # Jupyter wraps base64 in lines
    assert safe_png(base64.b64encode(b"GIF89a....").decode()) is None
    assert safe_png("not base64 !!") is None
    assert safe_png('iVBORw0KGgo="><script>') is None
    assert safe_png("") is None
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0 jpeg").decode()
    assert safe_png(jpeg, "image/jpeg") == "data:image/jpeg;base64," + jpeg
    assert safe_png(jpeg) is None
    assert image_bytes("image/gif", encoded) is None


def test_safe_svg_is_an_opaque_data_uri() -> None:
    hostile = (
        '<?xml version="1.0"?>\n<!-- made by hand -->\n<svg xmlns="http://www.w3.org/2000/svg" '
        'onload="alert(1)"><script>alert(1)</script><foreignObject><iframe src="http://evil"/>'
        "</foreignObject></svg>"
    )
    uri = safe_svg(hostile)
    assert uri is not None and uri.startswith("data:image/svg+xml;base64,")
    payload = uri.split(",", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9+/]+=*", payload)
    assert base64.b64decode(payload).decode() == hostile
    assert safe_svg('<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n<svg></svg>')
    assert safe_svg("<html><script>alert(1)</script></html>") is None
    assert safe_svg("plain text") is None
    bomb = '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>'
    assert safe_svg(bomb) is None
    assert safe_svg('<svg><!ENTITY a "x"></svg>') is None
