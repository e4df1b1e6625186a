"""Compare what a notebook showed untracked with what it showed with every code cell tracked."""

from __future__ import annotations

import pprint
import re
from typing import Any

from tests.integration.conftest import Executed, visible_outputs

# Where IPython compiled a cell: a file named after the kernel's pid and the cell's text,
# which differ between the two runs (the tracked cell's text has the %%track line).
_CELL_FILE = re.compile(r"/tmp/ipykernel_\d+/\d+\.py|\b\d{6,}\.py\b")
_IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")


def tracked(source: str, name: str) -> str:
    """The cell `source` tracked as run `name` (magic and `%load_ext` cells stay as they are)."""
    if source.startswith("%"):
        return source
    return f"%%track {name}\n{source}"


def normalised_outputs(cell: Any) -> list[dict[str, Any]]:
    """A cell's visible outputs in a comparable form: compiled-cell file names replaced, adjacent
    stream messages joined, images reduced to their type (matplotlib's PNG bytes are not
    reproducible across processes)."""
    found = []
    for output in visible_outputs(cell):
        kind = output["output_type"]
        if kind == "stream":
            text = _CELL_FILE.sub("<cell>", output["text"])
            if found and found[-1].get("stream") == output["name"]:
                # One text on screen, however the kernel's flushes cut it into messages.
                found[-1]["text"] += text
            else:
                found.append({"stream": output["name"], "text": text})
        elif kind == "error":
            found.append(
                {
                    "error": output["ename"],
                    "value": _CELL_FILE.sub("<cell>", output["evalue"]),
                    "traceback": [_CELL_FILE.sub("<cell>", line) for line in output["traceback"]],
                }
            )
        else:
            data = {
                mime: ("<image>" if mime in _IMAGE_TYPES else value)
                for mime, value in output.get("data", {}).items()
            }
            found.append({kind: data, "count": output.get("execution_count")})
    return found


def assert_same_outputs(plain: Executed, with_track: Executed) -> None:
    """Cell by cell: the same streams, displays, results and errors, the same execution counts."""
    plain_cells, tracked_cells = plain.code_cells(), with_track.code_cells()
    assert len(plain_cells) == len(tracked_cells)
    for plain_cell, tracked_cell in zip(plain_cells, tracked_cells, strict=True):
        expected, shown = normalised_outputs(plain_cell), normalised_outputs(tracked_cell)
        if shown != expected or tracked_cell.execution_count != plain_cell.execution_count:
            raise AssertionError(
                f"cell {plain_cell.source!r}\n"
                f"untracked [{plain_cell.execution_count}]: {pprint.pformat(expected)}\n"
                f"tracked   [{tracked_cell.execution_count}]: {pprint.pformat(shown)}"
            )
