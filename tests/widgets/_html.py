"""Reading HTML fragments the way a browser would, for assertions."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """What a browser would make of a fragment: elements with attributes, text, table rows."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[tuple[str, str]]] = []  # (cell class, cell text) per row
        self.texts: list[str] = []
        self._cell: list[str] | None = None
        self._cell_class = ""
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag == "style":
            self._in_style = True
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell, self._cell_class = [], dict(attrs).get("class") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append((self._cell_class, "".join(self._cell).strip()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_style:
            return
        self.texts.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def table(self) -> list[list[str]]:
        return [[text for _, text in row] for row in self.rows]


def assert_inert(html: str) -> None:
    """No element from a run: no script, no event handler, images only as data URIs."""
    assert "<img src=x" not in html
    for tag, attrs in Page(html).elements:
        assert tag not in ("script", "iframe", "object", "embed"), tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "img":
            assert (attrs.get("src") or "").startswith("data:image/"), attrs
