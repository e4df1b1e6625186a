"""The `%%track` line: its options, and recognising a tracked cell from its raw text."""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from functools import lru_cache

from nbmodelbook.errors import TrackUsageError

TRACK_PREFIX = "%%track"

USAGE = (
    "%%track [NAME] [-t/--tag TAG]... [--note TEXT] [-p/--param NAME]... "
    "[-m/--metric NAME]... [-v/--verbose]"
)


@dataclass(frozen=True, slots=True)
class TrackArgs:
    name: str | None
    tags: tuple[str, ...]
    note: str | None
    params: tuple[str, ...]
    metrics: tuple[str, ...]
    verbose: bool


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise TrackUsageError(f"{message}\nusage: {USAGE}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%%track", add_help=False, usage=USAGE)
    parser.add_argument("name", nargs="?", help="run name; re-runs may share it")
    parser.add_argument("-t", "--tag", action="append", default=[], help="a tag (repeatable)")
    parser.add_argument("--note", help="a free-text note kept with the run")
    parser.add_argument(
        "-p", "--param", action="append", default=[], help="record this variable as a param"
    )
    parser.add_argument(
        "-m", "--metric", action="append", default=[], help="record this variable as a metric"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print a one-line summary of the run"
    )
    return parser


_PARSER = build_parser()


@lru_cache(maxsize=512)
def parse_track_line(line: str) -> TrackArgs:
    """Parse the options after `%%track`; raises TrackUsageError with a usage line."""
    try:
        tokens = shlex.split(line)
    except ValueError as exc:
        raise TrackUsageError(f"{exc}\nusage: {USAGE}") from None
    namespace = _PARSER.parse_args(tokens)
    return TrackArgs(
        name=namespace.name,
        tags=tuple(namespace.tag),
        note=namespace.note,
        params=tuple(namespace.param),
        metrics=tuple(namespace.metric),
        verbose=bool(namespace.verbose),
    )


_TRACK_LINE = re.compile(r"^\s*%%track(?:\s|$)")


def is_track_line(line: str) -> bool:
    """`%%track` followed by nothing or whitespace (IPython strips a cell's common indent)."""
    return _TRACK_LINE.match(line) is not None


def split_track_cell(raw: str) -> tuple[str, str] | None:
    """(option line, body) when the cell's first non-blank line is `%%track`, else None."""
    if TRACK_PREFIX not in raw[:4096]:
        return None
    lines = raw.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if not line.strip():
            continue  # IPython drops leading blank lines before looking for a cell magic
        if not is_track_line(line):
            return None
        return line.strip()[len(TRACK_PREFIX) :].strip(), "".join(lines[index + 1 :])
    return None


def parse_track_cell(raw: str) -> tuple[TrackArgs, str] | None:
    """(options, body) of a valid `%%track` cell; None when untracked or the options are bad."""
    parts = split_track_cell(raw)
    if parts is None:
        return None
    line, body = parts
    try:
        return parse_track_line(line), body
    except TrackUsageError:
        return None
