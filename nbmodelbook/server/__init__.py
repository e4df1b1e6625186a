"""The Jupyter Server extension: the REST API of the Model Book JupyterLab extension.

Under `<base_url>/nbmodelbook/api/`:

- `GET info`: the nbmodelbook version.
- `GET runs?path=NB[&q=TEXT][&limit=N]`: the notebook's runs, newest first (ETag, 304); `q`
  holds at most 500 characters and 20 words.
- `GET runs/RUN_ID?path=NB`: one of the notebook's runs in full.
- `GET compare?path=NB&ids=ID1,ID2[,...]`: runs compared as `compare()` compares them.
- `GET formats`: the report formats (name, description, file extension) and whether this
  server can write each (`available`, and `reason` when it cannot).
- `POST export` `{"path": NB, "format": NAME}`: write the review report beside the notebook, as
  `nbmodelbook report NB --format NAME` does; a format this server cannot write is refused (503)
  with the reason.
- `GET report?path=NB.review.html`: a written report, sandboxed.

Paths are relative to the server's root folder, as in Jupyter's contents API, and every file
the API reads or writes (the notebook, the run store beside it, the report and its images) must
lie inside that folder once links are followed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_server.serverapp import ServerApp

__all__ = ["API_PREFIX"]

API_PREFIX = ("nbmodelbook", "api")


def _load_jupyter_server_extension(serverapp: ServerApp) -> None:
    """Register the API's handlers (Jupyter Server calls this when the extension is enabled)."""
    import os
    from pathlib import Path

    from jupyter_server.utils import url_path_join

    from nbmodelbook.server.handlers import ROUTES
    from nbmodelbook.server.operations import ApiContext

    contents = serverapp.contents_manager
    root = getattr(contents, "root_dir", None) or serverapp.root_dir
    context = ApiContext(
        root=Path(os.path.realpath(root)),
        allow_hidden=bool(getattr(contents, "allow_hidden", False)),
    )
    web_app = serverapp.web_app
    prefix = url_path_join(web_app.settings["base_url"], *API_PREFIX)
    routes = [(url_path_join(prefix, pattern), handler) for pattern, handler in ROUTES]
    web_app.add_handlers(".*$", [(url, handler, {"context": context}) for url, handler in routes])
    serverapp.log.info("nbmodelbook: REST API at %s, notebooks under %s", prefix, context.root)
