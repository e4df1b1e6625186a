"""The run record: what one execution of a tracked cell leaves behind.

A plain data model shared by capture (which fills it), the store (which persists it) and every
reader. Values are JSON-safe by the time a record reaches the store.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

# What a model saw in `fit` (its feature names), kept among a run's inputs beside the data
# fingerprints, so readers can tell "trained on different features".
FEATURES_KIND: Final = "features seen in fit"


def _hasher() -> Callable[[bytes], str]:
    try:
        import xxhash
    except ImportError:  # pragma: no cover - xxhash is a declared dependency
        return lambda data: hashlib.blake2b(data, digest_size=16).hexdigest()
    return xxhash.xxh3_128_hexdigest  # type: ignore[no-any-return]


_HASH: Final = _hasher()


def code_hash(code: str) -> str:
    """128-bit hex digest of the UTF-8 source (xxh3_128, or blake2b without xxhash): how a
    run names its code, and how a reader tells whether a cell still shows that code."""
    # surrogatepass: a lone surrogate pasted into a cell must not make hashing raise.
    return _HASH(code.encode("utf-8", "surrogatepass"))


def json_safe(value: Any) -> Any:
    """`value` with its non-finite floats (nested too) as their JSON names ("NaN",
    "Infinity", "-Infinity"): strict JSON, as the store and the run marker write it."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


class RunStatus(StrEnum):
    """Run lifecycle: running -> ok | error | interrupted, or crashed when its kernel died."""

    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    INTERRUPTED = "interrupted"
    CRASHED = "crashed"

    @property
    def failed(self) -> bool:
        """Ended without completing: an exception, Ctrl-C or a dead kernel."""
        return self in (RunStatus.ERROR, RunStatus.INTERRUPTED, RunStatus.CRASHED)


def status_failed(status: str) -> bool:
    """A stored status (text from a store or a record) that means the run failed; a status
    this version does not know is not counted as a failure."""
    try:
        return RunStatus(status).failed
    except ValueError:
        return False


def new_run_id(now: float | None = None) -> str:
    """A 32-hex-digit id whose first 12 digits are the start time in ms, so ids sort by time."""
    millis = int((time.time() if now is None else now) * 1000)
    return f"{millis:012x}{secrets.token_hex(10)}"


@dataclass(slots=True)
class RunError:
    type: str
    message: str
    traceback: str


@dataclass(slots=True)
class CapturedOutput:
    """One displayed output kept with the run (size-bounded; `data` is text or base64)."""

    mime: str
    data: str
    size: int
    truncated: bool = False


@dataclass(slots=True)
class LineageCell:
    """An earlier cell of the same kernel session that the run depends on."""

    execution_count: int | None
    cell_id: str | None
    code_hash: str
    code: str
    defines: list[str]
    reads: list[str]
    run_id: str | None = None


@dataclass(slots=True)
class SegmentLabels:
    """The segment each evaluated row belongs to, for one segmenting column.

    Only labels are kept, never feature values: `codes[i]` indexes `levels` (-1: missing).
    Numeric columns are cut into quartiles, whose levels name their ranges."""

    codes: Any  # 1-D numpy integer array, one code per evaluated row
    levels: list[str]
    source: str = "automatic"  # "declared" (%modelbook segments) or "automatic"


@dataclass(slots=True)
class Evaluation:
    """The evidence behind one metric of a run: the predictions it was computed from.

    Arrays are 1-D numpy arrays, copied when the metric was computed. Above the configured
    bound they hold a seeded stratified sample of `n_total` rows (`sampled`)."""

    function: str  # what computed it: "roc_auc_score", "RocCurveDisplay.from_predictions",
    # or "log_predictions" for an explicit call
    metric: str  # the run metric it backs: the variable that received it, else the function's
    value: float | None  # what the call returned (None when it returned no single number)
    y_true: Any
    y_score: Any | None = None  # scores or probabilities (AUC, average precision, log loss)
    y_pred: Any | None = None  # predicted labels, or a regression's predictions
    sample_weight: Any | None = None
    options: dict[str, Any] = field(default_factory=dict)  # pos_label, average, threshold...
    segments: dict[str, SegmentLabels] = field(default_factory=dict)
    n_total: int = 0  # rows the metric was computed on (>= len(y_true) when sampled)
    rows_fingerprint: str | None = None  # of the full y_true: same rows, same fingerprint
    features_fingerprint: str | None = None  # of the frame the predictions came from, if known

    @property
    def n(self) -> int:
        return len(self.y_true)

    @property
    def sampled(self) -> bool:
        return self.n < self.n_total


@dataclass(slots=True)
class Candidate:
    """One configuration a run tried: a search's candidate, a cross-validation, a model of a
    loop. `fold_scores` are its scores on each fold (held-out folds), by `scorer`."""

    source: str  # "GridSearchCV", "cross_val_score", "cross_validate", ...
    group: int  # which search or call of the run it came from (0, 1, ...)
    index: int  # its position within that group
    params: dict[str, Any]
    scorer: str  # "roc_auc", "accuracy", "score" (the estimator's default)...
    fold_scores: list[float]
    chosen: bool = False  # the configuration the search refitted
    mean_score: float | None = None


@dataclass(slots=True)
class RunRecord:
    run_id: str
    name: str
    started_at: float
    code: str
    code_hash: str
    status: RunStatus = RunStatus.RUNNING
    notebook: str | None = None
    repo: str | None = None
    cell_id: str | None = None
    execution_count: int | None = None
    session_id: str | None = None
    user: str | None = None
    host: str | None = None
    ended_at: float | None = None
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: list[CapturedOutput] = field(default_factory=list)
    lineage: list[LineageCell] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    error: RunError | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The evidence behind the metrics; stored beside the run, read only by what needs it.
    evaluations: list[Evaluation] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        if self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.started_at)

    @property
    def short_id(self) -> str:
        return self.run_id[:12]


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """Who is writing: lets a later reader tell whether a `running` run's kernel is still alive."""

    host: str
    pid: int
    pid_start: str | None
    user: str | None

    @classmethod
    def current(cls) -> ProcessIdentity:
        return cls(
            host=_hostname(),
            pid=os.getpid(),
            pid_start=process_start_marker(os.getpid()),
            user=_username(),
        )


def _proc_stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            raw = stat.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name may contain spaces and parentheses; fields resume after the last ')'.
    return raw.rsplit(")", 1)[-1].split()


def process_start_marker(pid: int) -> str | None:
    """The boot-relative start tick of `pid`: tells a reused pid from the original process."""
    fields = _proc_stat_fields(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def process_alive(pid: int, pid_start: str | None) -> bool:
    """True when `pid` still runs and is the same process that recorded `pid_start`."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    fields = _proc_stat_fields(pid)
    if fields is None:
        return True  # no /proc: the signal probe is all we can know
    if fields and fields[0] in ("Z", "X"):
        return False  # killed, waiting to be reaped
    return pid_start is None or len(fields) <= 19 or fields[19] == pid_start


def _hostname() -> str:
    import socket

    return socket.gethostname()


def _username() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return None
