"""The pure parts of the API: request arguments and JSON payloads."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from nbmodelbook.record import RunError, RunStatus
from nbmodelbook.report.comparison import MAX_COMPARED_RUNS, build_comparison
from nbmodelbook.server.arguments import (
    DEFAULT_LIMIT,
    MAX_BODY_BYTES,
    MAX_SEARCH_CHARS,
    MAX_SEARCH_WORDS,
    InvalidArgument,
    decode_json_body,
    parse_export_body,
    parse_limit,
    parse_run_id,
    parse_run_ids,
    parse_search,
)
from nbmodelbook.server.payloads import (
    comparison_payload,
    environment_summary,
    json_number,
    json_value,
    listing_etag,
    run_detail,
    run_summary,
    summary_row,
)
from tests.widgets._runs import frame_input, record


def strict_json(value: Any) -> Any:
    return json.loads(json.dumps(value, allow_nan=False))


# --- arguments -------------------------------------------------------------------------------


def test_limit() -> None:
    assert parse_limit(None) == parse_limit("") == DEFAULT_LIMIT
    assert parse_limit("1") == 1 and parse_limit("1000") == 1000
    for bad in ("0", "1001", "-1", "x", "1e3"):
        with pytest.raises(InvalidArgument, match="limit"):
            parse_limit(bad)


def test_run_ids() -> None:
    full = "018bcfe568005feceb66ffc86f38d952"
    assert parse_run_id(full.upper()) == full
    assert parse_run_id(full[:8]) == full[:8]
    for bad in (full[:7], full + "0", "z" * 32, "", "../" + full, full[:10] + "-" + full[11:]):
        with pytest.raises(InvalidArgument, match="not a run id"):
            parse_run_id(bad)
    other = "f" * 32
    assert parse_run_ids(f" {full} , {other},{full},") == [full, other]
    with pytest.raises(InvalidArgument, match="2 to"):
        parse_run_ids(full)
    with pytest.raises(InvalidArgument, match="2 to"):
        parse_run_ids(",".join(f"{n:032x}" for n in range(MAX_COMPARED_RUNS + 1)))
    assert len(parse_run_ids(",".join(f"{n:032x}" for n in range(MAX_COMPARED_RUNS)))) == 20
    with pytest.raises(InvalidArgument, match="'ids'"):
        parse_run_ids(None)


def test_export_body() -> None:
    assert parse_export_body({"path": "a.ipynb"}).format == "html"
    assert parse_export_body({"path": "a.ipynb", "format": None}).format == "html"
    assert parse_export_body({"path": "a.ipynb", "format": "md"}).format == "md"
    for bad in (None, [], "a.ipynb", {"path": ""}, {"path": 3}, {"path": "a", "format": 1}):
        with pytest.raises(InvalidArgument):
            parse_export_body(bad)


# --- payloads --------------------------------------------------------------------------------


def test_numbers_and_values_are_strict_json() -> None:
    assert json_number(None) is None
    assert json_number(1.5) == 1.5
    assert [json_number(x) for x in (math.nan, math.inf, -math.inf)] == [
        "NaN",
        "Infinity",
        "-Infinity",
    ]
    value = {"a": (1, math.nan), 2: {"b": [math.inf, True, None]}, "c": object}
    assert strict_json(json_value(value)) == {
        "a": [1, "NaN"],
        "2": {"b": ["Infinity", True, None]},
        "c": "<class 'object'>",
    }


def test_a_failed_run_in_full_is_strict_json() -> None:
    run = record(
        0,
        "hostile <b>",
        status=RunStatus.ERROR,
        error=RunError("ValueError", "bad", "Traceback (most recent call last): ..."),
        params={"alpha": math.nan, "grid": [1, math.inf]},
        metrics={"auc": math.nan},
        inputs={"X": frame_input(["a"], 10, "h"), "broken": "not a fingerprint"},
        environment={"python": "garbage", "packages": ["x"], "git": 3, "errors": "x"},
    )
    detail = strict_json(run_detail(run, notebook="credit/scorecard.ipynb"))
    assert detail["name"] == "hostile <b>"  # data, not markup: the frontend escapes it
    assert detail["notebook"] == "credit/scorecard.ipynb"  # not the path the run recorded
    assert detail["failed"] is True
    assert detail["error"] == "ValueError: bad"
    assert detail["params"] == {"alpha": "NaN", "grid": [1, "Infinity"]}
    assert detail["metrics"] == {"auc": "NaN"}
    assert [item["name"] for item in detail["inputs"]] == ["X"]
    assert detail["environment"] == {"python": {}, "packages": {}, "git": None, "errors": []}
    assert environment_summary({}) is None


def test_summary_of_a_record_matches_its_row() -> None:
    run = record(3, "rf", params={f"p{n}": n for n in range(15)}, metrics={"auc": 0.9})
    summary = run_summary(summary_row(run))
    assert summary["started"] == run.started_at
    assert len(summary["params"]) == 12 and summary["params_left_out"] == 3
    assert run_summary(summary_row(run), max_params=None)["params_left_out"] == 0
    running = record(4, "rf", status=RunStatus.RUNNING)
    running.ended_at = None
    assert run_summary(summary_row(running))["duration"] is None


def test_comparison_payload() -> None:
    same = frame_input(["a", "b"], 100, "same")
    runs = [
        record(0, "rf", params={"depth": 3, "seed": 1}, metrics={"auc": 0.8, "loss": 0.5}),
        record(1, "gbm", params={"depth": 5, "seed": 1}, metrics={"auc": 0.9, "loss": 0.6}),
        record(2, "lr", params={"seed": 1}, metrics={"auc": 0.9}, code="other code"),
    ]
    for run in runs[:2]:
        run.inputs = {"X": same}
        run.code = "model.fit(X, y)\n"
    runs[2].inputs = {"X": frame_input(["a"], 50, "different")}
    payload = strict_json(comparison_payload(build_comparison(runs)))
    assert payload["headline"] == "auc"
    assert [row["name"] for row in payload["metrics"]] == ["auc", "loss"]
    auc, loss = payload["metrics"]
    assert auc["best"] == 1 and auc["best_runs"] == [1, 2]  # a tie: the first is `best`
    assert loss["best"] == 0 and loss["higher_is_better"] is False
    assert loss["values"] == [0.5, 0.6, None]
    assert payload["params"] == [
        {"name": "depth", "values": [3, 5, None], "differs": True},
        {"name": "seed", "values": [1, 1, 1], "differs": False},
    ]
    assert payload["data_kinds"][0] == "same" and payload["data_kinds"][1] != "same"
    assert "different" in payload["data"][1]
    assert payload["code_changed"] == [False, True]
    assert payload["code_diff"][0] == {"added": 0, "removed": 0}


def test_etags_change_with_any_part() -> None:
    parts = ("0.1.0", "sqlite:///x", "/nb.ipynb", None, "", 200, True, 7)
    tag = listing_etag(*parts)
    assert tag == listing_etag(*parts)
    assert tag.startswith('"') and tag.endswith('"')
    for index in range(len(parts)):
        changed = list(parts)
        changed[index] = "other" if not isinstance(parts[index], int) else 8
        assert listing_etag(*changed) != tag


def test_searches_are_bounded() -> None:
    assert parse_search(None) == ""
    most = " ".join(["w"] * MAX_SEARCH_WORDS)
    assert parse_search(most) == most
    assert parse_search("x" * MAX_SEARCH_CHARS) == "x" * MAX_SEARCH_CHARS
    with pytest.raises(InvalidArgument, match="at most 500"):
        parse_search("x" * (MAX_SEARCH_CHARS + 1))
    with pytest.raises(InvalidArgument, match="21 words"):
        parse_search(most + " w")
    with pytest.raises(InvalidArgument, match="'ids'"):
        parse_run_ids("," * 5000)


def test_request_bodies_are_decoded_or_refused() -> None:
    assert decode_json_body(b"") is None
    assert decode_json_body('{"path": "crédit.ipynb"}'.encode()) == {"path": "crédit.ipynb"}
    refusals = {
        b'{"path": "cr\xe9dit.ipynb"}': "UTF-8",  # Latin-1
        b"{ not json": "not valid JSON",
        b"[" * 100_000: "too large",
        b"[" * (MAX_BODY_BYTES - 1): "nests too deeply",
    }
    for raw, reason in refusals.items():
        with pytest.raises(InvalidArgument, match=reason):
            decode_json_body(raw)
