from __future__ import annotations

import base64
import sys

from nbmodelbook.capture.outputs import STREAM_MIMETYPE, OutputCollector
from nbmodelbook.run_marker import RUN_MIMETYPE


def test_keeps_the_most_telling_representation() -> None:
    collector = OutputCollector()
    collector.start()
    collector.add_bundle({"image/png": b"\x89PNG...", "text/plain": "<Figure>"})
    collector.add_bundle({"text/html": "<table></table>", "text/plain": "df"})
    collector.add_bundle({"application/vnd.vegalite.v5+json": {"mark": "bar"}, "text/plain": ""})
    collector.add_bundle({RUN_MIMETYPE: {"run_id": "x"}, "text/plain": ""})
    collector.add_bundle({"application/x-unknown": "?"})
    outputs = collector.stop()
    assert [o.mime for o in outputs] == [
        "image/png",
        "text/html",
        "application/vnd.vegalite.v5+json",
    ]
    assert base64.b64decode(outputs[0].data) == b"\x89PNG..."
    assert outputs[2].data == '{"mark":"bar"}'


def test_size_bounds_keep_a_truncated_stand_in() -> None:
    collector = OutputCollector(max_output_bytes=100, max_total_bytes=150)
    collector.start()
    collector.add_bundle({"text/html": "x" * 101, "text/plain": "summary"})
    collector.add_bundle({"text/html": "y" * 90})
    collector.add_bundle({"text/html": "z" * 90})
    outputs = collector.stop()
    assert outputs[0].truncated and outputs[0].data == "summary" and outputs[0].size == 101
    assert not outputs[1].truncated
    assert outputs[2].truncated  # over the per-run total


def test_printed_text_is_kept_and_stdout_restored() -> None:
    original = sys.stdout.write
    collector = OutputCollector(max_stream_chars=10)
    collector.start()
    print("first line")
    print("second")
    outputs = collector.stop()
    assert sys.stdout.write == original
    [stream] = outputs
    assert stream.mime == STREAM_MIMETYPE
    assert stream.data == "first line\nsecond\n"[-10:]
    assert stream.truncated and stream.size == len("first line\nsecond\n")


def test_inactive_collector_ignores_displays() -> None:
    collector = OutputCollector()
    collector.add_bundle({"image/png": "abc"})
    collector.start()
    assert collector.stop() == []


def test_run_marker_carries_what_a_badge_shows_as_strict_json() -> None:
    import json
    import math

    from nbmodelbook.record import RunRecord, RunStatus
    from nbmodelbook.run_marker import MARKER_METRICS, run_marker

    metrics = {"loss": math.nan, "gain": math.inf} | {f"m{i}": i / 10 for i in range(20)}
    metrics["auc"] = 0.91  # the headline metric, beyond the first few
    record = RunRecord(
        run_id="0190" + "0" * 28,
        name="rf-500",
        started_at=1.0,
        code="%%track rf-500\nx = 1",
        code_hash="c0de",
        metrics=metrics,
    )
    record.status = RunStatus.OK
    marker = run_marker(record)
    json.dumps(marker, allow_nan=False)  # the kernel's message packer refuses NaN
    assert marker["run_id"] == record.run_id
    assert marker["name"] == "rf-500"
    assert marker["status"] == "ok"
    assert marker["metric"] == {"name": "loss", "value": "NaN"}
    assert len(marker["metrics"]) == MARKER_METRICS + 1
    assert marker["headline"] == "auc" and marker["metrics"]["auc"] == 0.91
    assert marker["metrics"]["gain"] == "Infinity"
    assert marker["metrics"]["m0"] == 0.0
