"""`jupyter nbconvert --to modelbook NB`: the review report as an nbconvert exporter."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from nbconvert.exporters import Exporter
from traitlets import Unicode

from nbmodelbook.report.formats import REPORT_FORMATS


class ModelBookExporter(Exporter):  # type: ignore[misc]
    """Exports the notebook's review report (HTML) instead of the notebook itself."""

    export_from_notebook = "Model Book review"
    output_mimetype = "text/html"

    store = Unicode(
        None, allow_none=True, help="Run store path or URL (default: the notebook's folder's)."
    ).tag(config=True)

    def _file_extension_default(self) -> str:
        return ".review.html"

    def from_notebook_node(  # type: ignore[override]
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:  # type: ignore[override]
        from nbmodelbook.report.load import review_of_notebook
        from nbmodelbook.store.backends import store_for_notebook

        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        metadata = resources.get("metadata", {})
        folder = Path(metadata.get("path") or ".")
        name = str(metadata.get("name") or "notebook")
        notebook_path = folder / f"{name}.ipynb"
        review = review_of_notebook(
            nb_copy,
            notebook_path,
            store_for_notebook(notebook_path, self.store),
            progress=lambda _message: None,
        )
        with tempfile.TemporaryDirectory() as scratch:
            target = Path(scratch) / "report.review.html"
            REPORT_FORMATS["html"].render(review, target)
            return target.read_text(encoding="utf-8"), resources
