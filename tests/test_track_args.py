from __future__ import annotations

import pytest

from nbmodelbook.magics import strip_track_line
from nbmodelbook.track_args import (
    TrackArgs,
    TrackUsageError,
    parse_track_cell,
    parse_track_line,
    split_track_cell,
)


def test_full_option_line() -> None:
    args = parse_track_line(
        'rf-500 -t baseline --tag forest --note "first forest" -p seed -m auc -v'
    )
    assert args == TrackArgs(
        name="rf-500",
        tags=("baseline", "forest"),
        note="first forest",
        params=("seed",),
        metrics=("auc",),
        verbose=True,
    )


def test_everything_is_optional() -> None:
    assert parse_track_line("") == TrackArgs(None, (), None, (), (), False)


@pytest.mark.parametrize("line", ["--bogus", "a b", '--note "unclosed', "-t"])
def test_bad_lines_explain_usage(line: str) -> None:
    with pytest.raises(TrackUsageError, match="usage: %%track"):
        parse_track_line(line)


def test_split_recognises_only_a_leading_track_line() -> None:
    assert split_track_cell("\n\n%%track a\nx = 1\n") == ("a", "x = 1\n")
    assert split_track_cell("%%track\nx = 1") == ("", "x = 1")
    assert split_track_cell("x = 1\n%%track a\n") is None
    assert split_track_cell("%%tracking a\nx = 1") is None
    assert split_track_cell("# %%track a\nx = 1") is None


def test_parse_cell_ignores_bad_options() -> None:
    assert parse_track_cell("%%track --bogus\nx = 1") is None
    parsed = parse_track_cell("%%track a -t b\nx = 1")
    assert parsed is not None and parsed[0].tags == ("b",)


def test_transformer_strips_only_a_valid_header() -> None:
    assert strip_track_line(["%%track a\n", "x = 1\n"]) == ["x = 1\n"]
    assert strip_track_line(["%%track --bogus\n", "x = 1\n"]) == ["%%track --bogus\n", "x = 1\n"]
    assert strip_track_line(["x = 1\n"]) == ["x = 1\n"]
    assert strip_track_line([]) == []


def test_whitespace_variants_agree_between_transformer_and_tracker() -> None:
    for header in ("%%track\tname", "  %%track name", "%%track  name  "):
        cell = f"{header}\nx = 1\n"
        parsed = parse_track_cell(cell)
        assert parsed is not None and parsed[0].name == "name", header
        assert strip_track_line([f"{header}\n", "x = 1\n"]) == ["x = 1\n"], header
