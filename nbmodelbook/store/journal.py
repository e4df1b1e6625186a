"""The local journal: runs a store could not take, kept on this machine until it can.

A run whose write fails (a server that is down, a full disk) is written here as one JSON file,
atomically, after redaction; the next writer of the same store — later in this kernel or in
another one after a restart — writes it to the store and removes the file. Nothing is lost when
the kernel exits before the store is back. A run's evidence is kept with it: its arrays as base64
of the store's array codec.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import xxhash

from nbmodelbook.errors import ModelBookError
from nbmodelbook.record import CapturedOutput, LineageCell, RunError, RunRecord, RunStatus
from nbmodelbook.redaction import redact_record
from nbmodelbook.store import codec
from nbmodelbook.store.evidence import evidence_from_json, evidence_to_json, plain_evidence

JOURNAL_ENV_VAR = "NBMODELBOOK_JOURNAL"


def journal_root() -> Path:
    configured = os.environ.get(JOURNAL_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".nbmodelbook" / "journal"


def journal_dir(store_url: str) -> Path:
    """This store's journal folder (keyed by its URL, which may hold no secret in its name)."""
    return journal_root() / xxhash.xxh3_64_hexdigest(store_url.encode("utf-8"))


def record_to_json(record: RunRecord) -> str:
    """The run as the journal keeps it: redacted, like everything that reaches a store."""
    redacted = redact_record(plain_evidence(record))
    # The arrays are encoded by the codec, not copied by asdict (which deep-copies them).
    payload = asdict(replace(redacted, evaluations=[], candidates=[]))
    payload["status"] = record.status.value
    payload["evaluations"], payload["candidates"] = evidence_to_json(
        redacted.evaluations, redacted.candidates
    )
    return codec.dumps(payload)


def record_from_json(text: str) -> RunRecord:
    data: dict[str, Any] = codec.loads(text)
    data["status"] = RunStatus(data["status"])
    data["error"] = RunError(**data["error"]) if data.get("error") else None
    data["outputs"] = [CapturedOutput(**output) for output in data.get("outputs", [])]
    data["lineage"] = [LineageCell(**cell) for cell in data.get("lineage", [])]
    data["metrics"] = {key: codec.metric_value(value) for key, value in data["metrics"].items()}
    data["evaluations"], data["candidates"] = evidence_from_json(
        data.get("evaluations", []), data.get("candidates", [])
    )
    return RunRecord(**data)


def keep(store_url: str, record: RunRecord) -> Path:
    """Write the run to the journal (atomically: a crash leaves it whole or absent)."""
    folder = journal_dir(store_url)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"{record.run_id}.json"
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(record_to_json(record))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return target


def forget(store_url: str, run_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (journal_dir(store_url) / f"{run_id}.json").unlink()


def pending(store_url: str) -> list[tuple[Path, RunRecord | None]]:
    """The journalled runs of a store, oldest first (None for a file that cannot be read)."""
    folder = journal_dir(store_url)
    if not folder.is_dir():
        return []
    found: list[tuple[Path, RunRecord | None]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            found.append((path, record_from_json(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError, KeyError, ModelBookError):
            found.append((path, None))
    return found
