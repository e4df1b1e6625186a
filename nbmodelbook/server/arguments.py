"""The API's request arguments, checked and converted. Pure: text in, values or InvalidArgument."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nbmodelbook.errors import InvalidArgument
from nbmodelbook.store.query import MAX_SEARCH_CHARS, MAX_SEARCH_WORDS

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_BODY_BYTES",
    "MAX_LIMIT",
    "MAX_SEARCH_CHARS",
    "MAX_SEARCH_WORDS",
    "MIN_ID_PREFIX",
    "ExportRequest",
    "InvalidArgument",
    "decode_json_body",
    "parse_export_body",
    "parse_limit",
    "parse_run_id",
    "parse_run_ids",
    "parse_search",
    "required",
]

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
RUN_ID_LENGTH = 32  # nbmodelbook.record.new_run_id: 12 hex digits of time, 20 random
MIN_ID_PREFIX = 8
_HEX = re.compile(r"[0-9a-f]+")
DEFAULT_REPORT_FORMAT = "html"
# Room for far more ids than compare takes, with spaces: only absurd lists are cut short.
MAX_IDS_CHARS = 4096
# An export request is `{"path": ..., "format": ...}`: a path holds at most 4096 bytes.
MAX_BODY_BYTES = 64 * 1024


def required(name: str, value: str | None) -> str:
    if value is None or value == "":
        raise InvalidArgument(f"the '{name}' argument is missing")
    return value


def parse_limit(value: str | None) -> int:
    """How many runs a listing returns: DEFAULT_LIMIT when not given, 1 to MAX_LIMIT."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise InvalidArgument(f"'limit' must be a whole number, not {value!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument(f"'limit' must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def parse_search(value: str | None) -> str:
    """The free text of a listing's search (`q`): at most MAX_SEARCH_CHARS characters and
    MAX_SEARCH_WORDS words (the store's bounds for any search), empty when not given."""
    text = value or ""
    if len(text) > MAX_SEARCH_CHARS:
        raise InvalidArgument(
            f"'q' is {len(text)} characters long: a search holds at most {MAX_SEARCH_CHARS}"
        )
    words = len(text.split())
    if words > MAX_SEARCH_WORDS:
        raise InvalidArgument(
            f"'q' has {words} words: a search matches at most {MAX_SEARCH_WORDS} words "
            "(every one must appear in the run)"
        )
    return text


def parse_run_id(value: str) -> str:
    """A run id (32 hex digits) or a prefix of one (at least MIN_ID_PREFIX digits), lowercase."""
    run_id = value.strip().lower()
    if not (MIN_ID_PREFIX <= len(run_id) <= RUN_ID_LENGTH and _HEX.fullmatch(run_id)):
        shown = value if len(value) <= 80 else value[:80] + "…"
        raise InvalidArgument(
            f"{shown!r} is not a run id: a run id is {RUN_ID_LENGTH} hexadecimal digits "
            f"(or a unique prefix of at least {MIN_ID_PREFIX})"
        )
    return run_id


def parse_run_ids(value: str | None) -> list[str]:
    """Comma-separated run ids to compare: 2 to MAX_COMPARED_RUNS distinct ones, in order."""
    from nbmodelbook.report.comparison import MAX_COMPARED_RUNS

    text = required("ids", value)
    if len(text) > MAX_IDS_CHARS:
        raise InvalidArgument(
            f"'ids' is {len(text)} characters long: compare takes 2 to {MAX_COMPARED_RUNS} "
            f"run ids, separated by commas (at most {MAX_IDS_CHARS} characters)"
        )
    ids = list(dict.fromkeys(parse_run_id(part) for part in text.split(",") if part.strip()))
    if not 2 <= len(ids) <= MAX_COMPARED_RUNS:
        raise InvalidArgument(
            f"compare takes 2 to {MAX_COMPARED_RUNS} different run ids, separated by commas; "
            f"got {len(ids)}"
        )
    return ids


@dataclass(frozen=True, slots=True)
class ExportRequest:
    path: str
    format: str


def decode_json_body(raw: bytes) -> Any:
    """A request body as JSON (None when empty): at most MAX_BODY_BYTES of UTF-8."""
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidArgument(
            f"the request body is too large ({len(raw)} bytes): at most {MAX_BODY_BYTES}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(
            f"the request body is not UTF-8 text (byte {exc.start}): send JSON encoded as UTF-8"
        ) from None
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidArgument("the request body is not valid JSON: it nests too deeply") from None


def parse_export_body(body: Any) -> ExportRequest:
    """`{"path": NOTEBOOK, "format": NAME}` (a registered format; optional, html by default)."""
    if not isinstance(body, Mapping):
        raise InvalidArgument(
            'the request body must be a JSON object: {"path": "<notebook>", "format": "html"}'
        )
    path = body.get("path")
    if not isinstance(path, str) or not path:
        raise InvalidArgument("'path' must be the notebook's path, as a string")
    report_format = body.get("format", DEFAULT_REPORT_FORMAT)
    if report_format is None:
        report_format = DEFAULT_REPORT_FORMAT
    if not isinstance(report_format, str):
        raise InvalidArgument("'format' must be a string such as 'html' or 'md'")
    return ExportRequest(path=path, format=report_format)
