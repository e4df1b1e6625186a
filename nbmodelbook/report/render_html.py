"""Review -> one self-contained, print-friendly HTML file.

No script, no external URL: CSS is inline, figures and charts are `data:` URI images, and a
Content-Security-Policy forbids everything else. The page is the format-neutral view
(`report.view`); every string in it is untrusted: the template escapes it (Jinja2 autoescape),
annotation bodies go through `sanitize.markdown_to_safe_html`, captured HTML was sanitized when the
view was built. The same Review gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from nbmodelbook.report.model import Review
from nbmodelbook.report.view import Body, ChartImage, Figure, build_view

if TYPE_CHECKING:  # pragma: no cover - typing only
    import jinja2

__all__ = ["CSP", "render_html", "render_page", "template_environment"]

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)


def template_environment(
    chart_src: Callable[[ChartImage], str], figure_src: Callable[[Figure], str]
) -> jinja2.Environment:
    """The HTML template's environment, its images given by `chart_src` and `figure_src`
    (data URIs of the SVG and captured images here; PNG for the Word report)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nbmodelbook.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        prose=_prose, chart_src=chart_src, figure_src=figure_src, figure_html=_figure_html
    )
    return env


def _markup(html: str) -> Any:
    from markupsafe import Markup

    return Markup(html)  # only ever called on sanitizer output


def _chart_src(chart: ChartImage) -> str:
    from nbmodelbook.report.sanitize import image_data_uri

    return image_data_uri("image/svg+xml", chart.svg.encode("utf-8"))


def _figure_src(figure: Figure) -> str:
    from nbmodelbook.report.sanitize import image_data_uri

    assert figure.image_mime is not None and figure.image_bytes is not None
    return image_data_uri(figure.image_mime, figure.image_bytes)


def _prose(body: Body) -> Any:
    from nbmodelbook.report.sanitize import markdown_to_safe_html

    return _markup(markdown_to_safe_html(body.markdown, body.links, heading_offset=3))


def _figure_html(figure: Figure) -> Any:
    return _markup(figure.html or "")  # sanitized when the view was built


@lru_cache(maxsize=1)
def _html_environment() -> jinja2.Environment:
    return template_environment(_chart_src, _figure_src)


def render_html(review: Review) -> str:
    """The review as one self-contained HTML document (no script, no external resource)."""
    page = build_view(review)
    page["csp"] = CSP
    return render_page(page)


def render_page(page: dict[str, Any]) -> str:
    """A view (`build_view`, perhaps laid out for print) through the HTML template."""
    return _html_environment().get_template("review.html.j2").render(page=page)
