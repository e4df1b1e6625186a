"""The REST handlers of the JupyterLab extension: HTTP in and out, nothing else.

Every method is authenticated (a request without a token or login cookie gets 403) and asks
Jupyter's authorizer for `contents` (read for GET, write for the export). A POST authenticated
by cookie must also pass Jupyter's XSRF check. Store and file work runs in a thread, so a slow
store or a long export never stalls the server. Errors are JSON like Jupyter's own:
`{"message": ..., "reason": null}`, plus `items` when an export is refused for its annotations.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler

from nbmodelbook import __version__
from nbmodelbook.errors import ModelBookError
from nbmodelbook.server import operations
from nbmodelbook.server.arguments import (
    decode_json_body,
    parse_export_body,
    parse_limit,
    parse_run_id,
    parse_run_ids,
    parse_search,
    required,
)
from nbmodelbook.server.operations import ApiContext

__all__ = ["REPORT_CSP", "ROUTES", "ApiError", "api_error"]

# Added to Jupyter's policy (frame-ancestors 'self', default-src 'none') for a served report:
# a sandbox (no script, no same-origin access, no forms or popups even if markup slipped
# through) and only what the report uses, inline styles and data: images. Its fonts are the
# system's, so no font source is allowed.
REPORT_CSP = (
    "sandbox; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
)


class ApiError(tornado.web.HTTPError):
    """An error answered as JSON `{"message", "reason", **extra}` with its status."""

    def __init__(
        self, status_code: int, message: str, extra: Mapping[str, Any] | None = None
    ) -> None:
        # Tornado %-formats log_message when it logs the error: a '%' in a path stays a '%'.
        super().__init__(status_code, message.replace("%", "%%"))
        self.message = message
        self.extra = dict(extra or {})


def api_error(exc: Exception, root: Path | None = None) -> ApiError | None:
    """The HTTP error a project error means (None for anything else: a bug, answered 500).

    Paths under `root` are named relative to it, as the API names files: a message (a store's
    own, say) does not show where the server keeps its files.
    """
    if not isinstance(exc, ModelBookError):
        return None
    message = str(exc)
    if root is not None:
        message = message.replace(f"{root}{os.sep}", "")
    return ApiError(exc.http_status, message, exc.details())


@contextmanager
def http_errors(root: Path | None = None) -> Iterator[None]:
    """Turn the project's errors raised inside the block into their HTTP errors."""
    try:
        yield
    except tornado.web.HTTPError:
        raise
    except Exception as exc:
        error = api_error(exc, root)
        if error is None:
            raise
        raise error from exc


class _Handler(APIHandler):
    auth_resource = "contents"
    context: ApiContext

    def initialize(self, context: ApiContext) -> None:
        self.context = context

    def query(self, name: str) -> str | None:
        """A query argument as sent (decoded once, not stripped), None when absent."""
        return self.get_query_argument(name, None, strip=False)

    def send_json(self, payload: Any) -> None:
        self.finish(json.dumps(payload, allow_nan=False, separators=(",", ":")))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if not isinstance(error, ApiError):
            super().write_error(status_code, **kwargs)
            return
        self.log.warning("wrote error: %r", error.message)
        reply = {"message": error.message, "reason": error.reason, **error.extra}
        self.finish(json.dumps(reply, allow_nan=False))


class InfoHandler(_Handler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.send_json({"version": __version__})


class RunsHandler(_Handler):
    """The notebook's runs. The ETag is known from the store's write counter before any run
    is read, so a refresh that finds nothing new is answered 304 at the cost of one query."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        with http_errors(self.context.root):
            path = required("path", self.query("path"))
            text = parse_search(self.query("q"))
            limit = parse_limit(self.query("limit"))
            listing = await asyncio.to_thread(
                operations.prepare_listing, self.context, path, text, limit
            )
            self.set_header("Etag", listing.etag)
            self.set_header("Cache-Control", "no-cache")
            if self.check_etag_header():
                self.set_status(304)
                self.finish()
                return
            payload = await asyncio.to_thread(operations.listing_payload, listing)
        self.send_json(payload)


class RunHandler(_Handler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        with http_errors(self.context.root):
            path = required("path", self.query("path"))
            ref = parse_run_id(run_id)
            payload = await asyncio.to_thread(operations.run_payload, self.context, path, ref)
        self.send_json(payload)


class CompareHandler(_Handler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        with http_errors(self.context.root):
            path = required("path", self.query("path"))
            refs = parse_run_ids(self.query("ids"))
            payload = await asyncio.to_thread(
                operations.comparison_payload, self.context, path, refs
            )
        self.send_json(payload)


class FormatsHandler(_Handler):
    """The report formats an export can ask for, and whether this server can write each."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        # Asking a format whether it can be written may import its renderer: not on the loop.
        payload = await asyncio.to_thread(operations.report_formats_payload)
        self.set_header("Cache-Control", "no-cache")
        self.send_json(payload)


class ExportHandler(_Handler):
    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        with http_errors(self.context.root):
            request = parse_export_body(decode_json_body(self.request.body))
            payload = await asyncio.to_thread(
                operations.export_report, self.context, request.path, request.format
            )
        self.send_json(payload)


class ReportHandler(_Handler):
    """A written report, for a sandboxed iframe: nothing in it runs or reaches the server."""

    @property
    def content_security_policy(self) -> str:
        return f"{super().content_security_policy}; {REPORT_CSP}"

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        with http_errors(self.context.root):
            path = required("path", self.query("path"))
            data, media_type = await asyncio.to_thread(operations.read_report, self.context, path)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")
        self.finish(data, set_content_type=media_type)


# (pattern under <base_url>/nbmodelbook/api/, handler)
ROUTES: tuple[tuple[str, type[_Handler]], ...] = (
    ("info", InfoHandler),
    ("runs", RunsHandler),
    ("runs/([^/]+)", RunHandler),
    ("compare", CompareHandler),
    ("formats", FormatsHandler),
    ("export", ExportHandler),
    ("report", ReportHandler),
)
