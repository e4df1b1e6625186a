"""Keep what a tracked cell displays: figures, charts, tables, printed text — size-bounded."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from nbmodelbook.record import CapturedOutput
from nbmodelbook.run_marker import RUN_MIMETYPE

# Most telling representation first: one is kept per displayed object.
_PREFERENCE = (
    "application/vnd.vegalite.v6+json",
    "application/vnd.vegalite.v5+json",
    "application/vnd.vegalite.v4+json",
    "application/vnd.vegalite.v3+json",
    "image/png",
    "image/svg+xml",
    "image/jpeg",
    "text/html",
    "text/markdown",
    "text/plain",
)
STREAM_MIMETYPE = "text/x-stdout"


class OutputCollector:
    """Collects one cell's displays while active; bounded per output and per run."""

    def __init__(
        self,
        max_output_bytes: int = 2_000_000,
        max_total_bytes: int = 8_000_000,
        max_stream_chars: int = 64_000,
    ) -> None:
        self.max_output_bytes = max_output_bytes
        self.max_total_bytes = max_total_bytes
        self.max_stream_chars = max_stream_chars
        self.active = False
        self._outputs: list[CapturedOutput] = []
        self._total = 0
        self._stream: list[str] = []
        self._stream_chars = 0
        self._stream_total = 0
        self._restore_stdout: Callable[[], None] | None = None

    def start(self) -> None:
        self._outputs, self._total, self._stream = [], 0, []
        self._stream_chars = self._stream_total = 0
        self.active = True
        self._tee_stdout()

    def stop(self) -> list[CapturedOutput]:
        self.active = False
        if self._restore_stdout is not None:
            self._restore_stdout()
            self._restore_stdout = None
        outputs = self._outputs
        if self._stream:
            text = "".join(self._stream)
            truncated = self._stream_total > self.max_stream_chars
            outputs.append(
                CapturedOutput(
                    STREAM_MIMETYPE, text[-self.max_stream_chars :], self._stream_total, truncated
                )
            )
        self._outputs, self._stream = [], []
        return outputs

    def add_bundle(self, data: Mapping[str, Any]) -> None:
        """Keep the best representation of one displayed object (called by display hooks)."""
        if not self.active or RUN_MIMETYPE in data:
            return
        mime = next((m for m in _PREFERENCE if m in data), None)
        if mime is None:
            return
        text = _as_text(mime, data[mime])
        size = len(text)
        room = min(self.max_output_bytes, self.max_total_bytes - self._total)
        if size > room:
            # Too big to keep whole: a bounded plain-text stand-in says what it was.
            summary = _as_text("text/plain", data.get("text/plain", ""))[:2_000]
            self._outputs.append(CapturedOutput(mime, summary, size, truncated=True))
            return
        self._total += size
        self._outputs.append(CapturedOutput(mime, text, size))

    def _tee_stdout(self) -> None:
        stream = sys.stdout
        try:
            previous = stream.write
        except AttributeError:
            return

        def write(data: str, *args: Any, **kwargs: Any) -> Any:
            result = previous(data, *args, **kwargs)
            if self.active and isinstance(data, str) and data:
                self._stream_chars += len(data)
                self._stream_total += len(data)
                self._stream.append(data)
                # Keep the tail: a long training log's last lines are the ones that matter.
                while self._stream_chars > 2 * self.max_stream_chars and len(self._stream) > 1:
                    self._stream_chars -= len(self._stream.pop(0))
            return result

        try:
            stream.write = write  # type: ignore[method-assign]
        except (AttributeError, TypeError):
            return

        def restore() -> None:
            try:
                if stream.write is write:
                    stream.write = previous  # type: ignore[method-assign]
            except (AttributeError, TypeError):
                pass

        self._restore_stdout = restore


def _as_text(mime: str, value: Any) -> str:
    if isinstance(value, bytes):
        if mime.startswith("image/") and mime != "image/svg+xml":
            return base64.b64encode(value).decode("ascii")
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    try:
        return json.dumps(value, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        return str(value)
