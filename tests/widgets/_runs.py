"""Run records for the widget tests: hand-made ones with known values, and realistic stores."""

from __future__ import annotations

import base64
import hashlib
import random
import struct
import zlib
from typing import Any

from bench._records import RecordFactory, fail
from nbmodelbook.record import CapturedOutput, RunRecord, RunStatus
from nbmodelbook.store.store import RunStore

T0 = 1_700_000_000.0  # a fixed clock: 2023-11-14
HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def run_id(index: int, started: float) -> str:
    """An id like the tracker's: start time in ms (12 hex digits), then 20 unrelated digits."""
    return f"{int(started * 1000):012x}{hashlib.sha256(str(index).encode()).hexdigest()[:20]}"


def record(index: int, name: str, **fields: Any) -> RunRecord:
    """A finished run started `index` minutes after T0 (fields override anything)."""
    started = fields.pop("started_at", T0 + 60 * index)
    run = RunRecord(
        run_id=fields.pop("run_id", run_id(index, started)),
        name=name,
        started_at=started,
        code=fields.pop("code", f"%%track {name}\nmodel.fit(X, y)\n"),
        code_hash=f"hash-{index}",
        status=RunStatus.OK,
        ended_at=started + fields.pop("duration", 2.0),
        notebook="/home/ana/credit/scorecard.ipynb",
        execution_count=index + 1,
    )
    for key, value in fields.items():
        setattr(run, key, value)
    return run


def frame_input(columns: list[str], rows: int, digest: str) -> dict[str, Any]:
    return {"kind": "DataFrame", "columns": columns, "shape": [rows, len(columns)], "hash": digest}


def tiny_png() -> str:
    """A valid 1×1 PNG, base64 (as a captured image/png output holds it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    raw = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(raw).decode("ascii")


def png_output() -> CapturedOutput:
    data = tiny_png()
    return CapturedOutput("image/png", data, len(data))


NOTEBOOK_A = "/team/credit/scorecard.ipynb"
NOTEBOOK_B = "/team/credit/forest.ipynb"


def fill_realistic(store: RunStore, runs: int, *, seed: int = 3) -> list[RunRecord]:
    """`runs` realistic records over two notebooks, one in 20 failed (no metrics)."""
    factory = RecordFactory([NOTEBOOK_A, NOTEBOOK_B], seed=seed, start=T0)
    chance = random.Random(seed)
    written = []
    for index in range(runs):
        run = factory.make(index)
        if chance.random() < 0.05:
            fail(run)
        store.finish_run(run)
        written.append(run)
    return written
