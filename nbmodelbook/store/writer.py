"""A background writer: runs reach the store without the notebook waiting for the database.

The kernel's main thread only enqueues. This thread opens the store as soon as the extension
loads (so SQLAlchemy's import cost never lands on a cell, and the first tracked cell does not
wait for it), writes runs in order, heartbeats while a run is open and keeps any run it could not
write so a later attempt, or the final flush, can still save it.

A finished run is written a moment after its cell ends, not at once: while the cell's reply and
outputs leave the kernel, its threads hand work to each other, and each hand-off waits for the
GIL that a busy writer holds (up to 5 ms each).

Nor is the thread woken for every run: waking it makes it take the GIL in the middle of the
cell. It is woken only when it would otherwise sleep past the time the run is needed by; while
cells follow each other it is always about to wake for the one before, and takes the next runs
along then.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nbmodelbook.errors import StoreUnavailable
from nbmodelbook.record import ProcessIdentity, RunRecord
from nbmodelbook.store import journal
from nbmodelbook.store.arrays import ArrayNotEncodable

if TYPE_CHECKING:
    from nbmodelbook.store.store import RunStore

# A cell that ends sooner than this is written once, as a finished run, instead of twice.
BEGIN_DELAY_SECONDS = 0.1
# A finished run is written this long after its cell ended (at once when the cell waits for it),
# once the kernel has sent the cell's reply and gone idle.
FINISH_DELAY_SECONDS = 0.03
# ... and at the latest this long after (the thread is not woken for it before).
FINISH_LATEST_SECONDS = 0.25
RETRY_SECONDS = 5.0
# The store opens this long after the extension loads (or as soon as someone waits for it).
OPEN_DELAY_SECONDS = 0.0
# While a run is open, the kernel says it is alive this often (other hosts' crash detection).
HEARTBEAT_SECONDS = 60.0

Prepare = Callable[[RunRecord], RunRecord]


@dataclass(slots=True)
class _Op:
    kind: str  # "begin" | "finish" | "flush" | "stop"
    record: RunRecord | None = None
    prepare: Prepare | None = None
    done: threading.Event = field(default_factory=threading.Event)
    due: float = 0.0


MAX_LISTENERS = 8


class StoreWriter:
    """Owns one store connection on a daemon thread; the only writer of this kernel."""

    def __init__(self, url: str | None, session_id: str) -> None:
        self.url = url
        self.session_id = session_id
        self.ready = threading.Event()
        self.store: RunStore | None = None
        self.open_error: StoreUnavailable | None = None
        self._problems: deque[str] = deque(maxlen=20)
        self._ops: deque[_Op] = deque()
        self._signal = threading.Event()
        # When the thread will next wake by itself; -inf while it is awake (and will look at
        # the queue before it sleeps again).
        self._sleep_until = -math.inf
        self._delayed: dict[str, _Op] = {}
        self._finishing: deque[_Op] = deque()
        self._open_runs: set[str] = set()
        self._unsaved: list[_Op] = []
        self._stopped = False
        self._listeners: list[weakref.WeakMethod[Callable[[RunRecord], None]]] = []
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._main, name="nbmodelbook-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # --- called from the kernel's main thread --------------------------------------------------

    def _put(self, op: _Op, latest: float = -math.inf) -> None:
        """Queue `op`; wake the thread only if it would sleep past `latest` (-inf: now)."""
        self._ops.append(op)
        # Read after the append, as the thread sets its wake-up time before it looks at the
        # queue: one of the two sees the other, so no op is left waiting past `latest`.
        if latest < self._sleep_until:
            self._signal.set()
        if not self.ready.is_set():
            self._wake.set()  # cuts the opening delay short

    def begin(self, record: RunRecord, prepare: Prepare | None = None) -> None:
        due = time.monotonic() + BEGIN_DELAY_SECONDS
        self._put(_Op("begin", record, prepare, due=due), latest=due)

    def finish(
        self, record: RunRecord, prepare: Prepare | None = None, *, urgent: bool = False
    ) -> threading.Event:
        """Write the finished run: shortly, or at once when `urgent` (the caller waits)."""
        now = time.monotonic()
        op = _Op("finish", record, prepare, due=now + (0 if urgent else FINISH_DELAY_SECONDS))
        self._put(op, latest=-math.inf if urgent else now + FINISH_LATEST_SECONDS)
        return op.done

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything enqueued so far is written (or failed); False on timeout."""
        if self._stopped or not self._thread.is_alive():
            return True
        op = _Op("flush")
        self._put(op)
        return op.done.wait(timeout)

    def wait_ready(self, timeout: float = 30.0) -> RunStore | None:
        self._wake.set()
        self.ready.wait(timeout)
        return self.store

    def add_listener(self, method: Callable[[RunRecord], None]) -> None:
        """Call a bound method (on the writer thread) after each run is written.

        Held weakly: a widget that listens goes away with its last reference.
        """
        self._listeners.append(weakref.WeakMethod(method))
        # Widgets are kept alive by the widget registry until closed; re-running a cell that
        # shows one adds another. Only the newest few stay live.
        del self._listeners[:-MAX_LISTENERS]

    def _tell_listeners(self, record: RunRecord) -> None:
        alive = []
        for reference in self._listeners:
            method = reference()
            if method is None:
                continue
            alive.append(reference)
            with contextlib.suppress(Exception):  # a listener must never stop the writer
                method(record)
        self._listeners = alive

    def take_problems(self) -> list[str]:
        """Messages about failures since the last call (each to be shown once)."""
        problems = []
        while self._problems:
            problems.append(self._problems.popleft())
        return problems

    @property
    def unsaved_count(self) -> int:
        return len(self._unsaved)

    def close(self, timeout: float = 10.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        op = _Op("stop")
        self._put(op)
        op.done.wait(timeout)

    # --- the writer thread ---------------------------------------------------------------------

    def _main(self) -> None:
        self._wake.wait(OPEN_DELAY_SECONDS)
        try:
            from nbmodelbook.store.store import RunStore

            self.store = RunStore.open(self.url)
            self.store.register_kernel(self.session_id, ProcessIdentity.current(), time.time())
            for notice in self.store.notices:
                self._problems.append(notice)
            self._replay_journal()
        except StoreUnavailable as exc:
            self.open_error = exc
            self._problems.append(str(exc))
        except Exception as exc:  # never let the thread die silently
            self.open_error = StoreUnavailable(f"could not open the run store: {exc}")
            self._problems.append(str(self.open_error))
        finally:
            self.ready.set()
        last_heartbeat = last_retry = time.monotonic()
        while True:
            op = self._next_op()
            # Everything queued meanwhile (e.g. while the store opened) is taken in first, so a
            # run that has finished already is not written as running before.
            while op is not None:
                if op.kind == "stop":
                    self._write_finishing(force=True)
                    self._write_delayed(force=True)
                    self._retry_unsaved()
                    op.done.set()
                    return
                self._handle(op)
                op = self._queued_op()
            self._write_finishing(force=False)
            self._write_delayed(force=False)
            now = time.monotonic()
            if self._unsaved and now - last_retry >= RETRY_SECONDS:
                self._retry_unsaved()
                last_retry = now
            if self._open_runs and now - last_heartbeat >= HEARTBEAT_SECONDS:
                self._safely(lambda store: store.heartbeat(self.session_id, time.time()))
                last_heartbeat = now

    def _queued_op(self) -> _Op | None:
        try:
            return self._ops.popleft()
        except IndexError:
            return None

    def _next_op(self) -> _Op | None:
        """The next queued op, sleeping until one is signalled or something is due (None)."""
        op = self._queued_op()
        if op is not None:
            return op
        deadline = self._deadline()
        self._signal.clear()
        self._sleep_until = deadline
        try:
            if not self._ops:  # else queued while the wake-up time was set: no sleep
                now = time.monotonic()
                self._signal.wait(None if deadline == math.inf else max(0.0, deadline - now))
        finally:
            self._sleep_until = -math.inf
        return self._queued_op()

    def _deadline(self) -> float:
        """When the thread must wake by itself (inf: only when signalled)."""
        now = time.monotonic()
        dues = [now + HEARTBEAT_SECONDS] if self._open_runs else []
        if self._unsaved:
            dues.append(now + RETRY_SECONDS)
        if self._delayed:
            dues.append(min(op.due for op in self._delayed.values()))
        if self._finishing:
            dues.append(self._finishing[0].due)
        return min(dues, default=math.inf)

    def _handle(self, op: _Op) -> None:
        record = op.record
        if op.kind == "begin" and record is not None:
            self._delayed[record.run_id] = op
        elif op.kind == "finish" and record is not None:
            begun = self._delayed.pop(record.run_id, None)
            if begun is not None:
                begun.done.set()  # superseded: the finished run is written in one go
            self._finishing.append(op)
            if op.due <= time.monotonic():
                self._write_finishing(force=True)  # in order: the runs before it first
        elif op.kind == "flush":
            self._write_finishing(force=True)
            self._write_delayed(force=True)
            self._retry_unsaved()
            op.done.set()

    def _write_finishing(self, *, force: bool) -> None:
        now = time.monotonic()
        while self._finishing and (force or self._finishing[0].due <= now):
            self._write_finish(self._finishing.popleft())

    def _write_delayed(self, *, force: bool) -> None:
        now = time.monotonic()
        for run_id, op in list(self._delayed.items()):
            if force or op.due <= now:
                del self._delayed[run_id]
                record = self._prepared(op)
                if record is None:
                    op.done.set()
                    continue
                if self._safely(lambda store, r=record: store.begin_run(r)):  # type: ignore[misc]
                    self._open_runs.add(run_id)
                op.done.set()

    def _prepared(self, op: _Op) -> RunRecord | None:
        """The op's record after its preparation (redaction); None if that failed: an
        unredacted run must never be written."""
        if op.prepare is not None:
            assert op.record is not None
            try:
                op.record = op.prepare(op.record)
            except Exception as exc:
                self._problems.append(
                    f"a run was saved without its details (preparing them failed: {exc})"
                )
                op.record = _bare(op.record)  # nothing textual left that could hold a secret
            op.prepare = None
        return op.record

    def _write_finish(self, op: _Op) -> None:
        if self._prepared(op) is None:
            op.done.set()
            return
        saved = self._safely(lambda store: self._finish(store, op))
        assert op.record is not None
        record = op.record  # without its evidence, if the store could not keep that
        if saved:
            self._open_runs.discard(record.run_id)
            op.done.set()
            self._tell_listeners(record)
        else:
            self._unsaved.append(op)
            self._journal(record)
            op.done.set()

    def _finish(self, store: RunStore, op: _Op) -> None:
        """Write the op's finished run; one whose evidence holds an array the store cannot
        keep is written without its evidence (the run matters more), and the user told."""
        assert op.record is not None
        try:
            store.finish_run(op.record)
        except ArrayNotEncodable as exc:
            op.record = _without_evidence(op.record)
            store.finish_run(op.record)
            self._problems.append(
                f"the run {op.record.name!r} was saved without the evidence behind its "
                f"metrics: {exc}"
            )

    def _store_url(self) -> str:
        from nbmodelbook.store.backends import resolve_store_url

        return self.store.url if self.store is not None else resolve_store_url(self.url)

    def _journal(self, record: RunRecord) -> None:
        """Keep a run the store refused on this machine's disk too: the kernel may end before
        the store is back."""
        try:
            try:
                journal.keep(self._store_url(), record)
            except ArrayNotEncodable:
                journal.keep(self._store_url(), _without_evidence(record))
        except Exception as exc:  # no journal: the run is still held in memory
            self._problems.append(f"could not keep the run in the local journal either: {exc}")

    def _replay_journal(self) -> None:
        """Write runs journalled earlier (by this kernel or one that ended) to the store."""
        try:
            self._write_journalled()
        except Exception as exc:  # the journal is a safety net: never let it stop the writer
            self._problems.append(f"could not read the local journal: {exc}")

    def _write_journalled(self) -> None:
        if self.store is None:
            return
        url = self.store.url
        saved = 0
        for path, record in journal.pending(url):
            if record is None:
                self._problems.append(f"an unreadable journal file was left as it is: {path}")
                continue
            try:
                self.store.finish_run(record)
            except Exception:
                return  # still unavailable: try again later
            journal.forget(url, record.run_id)
            saved += 1
            self._tell_listeners(record)
        if saved:
            self._problems.append(
                f"{saved} run(s) kept in the local journal were saved to {self.store.location}"
            )

    def _retry_unsaved(self) -> None:
        if not self._unsaved:
            return
        pending, self._unsaved = self._unsaved, []
        for op in pending:
            if self._safely(lambda store, o=op: self._finish(store, o), report=False):  # type: ignore[misc]
                record = op.record
                assert record is not None
                self._open_runs.discard(record.run_id)
                journal.forget(self._store_url(), record.run_id)
                self._tell_listeners(record)
            else:
                self._unsaved.append(op)
        if not self._unsaved and pending:
            self._problems.append(
                f"the run store is writable again; {len(pending)} held-back run(s) were saved"
            )
            self._replay_journal()  # runs other kernels could not save meanwhile

    def _safely(self, action: Callable[[RunStore], None], *, report: bool = True) -> bool:
        if self.store is None and (not report or self.open_error is None):
            self._reopen()
        if self.store is None:
            if report and self.open_error is not None:
                self._problems.append(str(self.open_error))
            return False
        try:
            action(self.store)
            return True
        except Exception as exc:
            if report:
                self._problems.append(_describe_failure(self.store, exc))
            if self.store.backend.is_corruption(exc):
                # Damaged under us: drop it; the retry reopens, which moves the file aside.
                self.store.close()
                self.store = None
            return False

    def _reopen(self) -> None:
        from nbmodelbook.store.store import RunStore

        try:
            self.store = RunStore.open(self.url)
            self.store.register_kernel(self.session_id, ProcessIdentity.current(), time.time())
            self.open_error = None
            self._problems.extend(self.store.notices)
            self._replay_journal()
        except Exception:
            self.store = None


def _bare(record: RunRecord) -> RunRecord:
    """The run's outcome without any captured text: what is always safe to write."""
    from dataclasses import replace

    from nbmodelbook.record import RunError

    error = RunError(record.error.type, "", "") if record.error else None
    return replace(
        record, code="", note=None, tags=[], params={}, inputs={}, outputs=[], lineage=[],
        environment={}, extra={"capture_error": "details could not be prepared"}, error=error,
        evaluations=[], candidates=[],
    )  # fmt: skip


def _without_evidence(record: RunRecord) -> RunRecord:
    from dataclasses import replace

    return replace(record, evaluations=[], candidates=[])


def _describe_failure(store: RunStore, exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", exc)).strip() or type(exc).__name__
    lowered = detail.lower()
    if store.backend.is_corruption(exc):
        return (
            f"the run store {store.location} is damaged; it will be moved aside and a new one "
            "started, and the held-back runs saved there"
        )
    if "full" in lowered or "no space" in lowered:
        cause = "the disk is full"
    elif "readonly" in lowered.replace(" ", "") or "read-only" in lowered:
        cause = "the store is read-only"
    elif "locked" in lowered or "busy" in lowered:
        cause = "the store stayed locked by another process"
    elif "connection" in lowered or "server" in lowered:
        return (
            f"could not save the run to {store.location}: the server does not answer "
            f"({detail.splitlines()[0]}). It is kept in a local journal and written when the "
            "server is back."
        )
    else:
        cause = detail
    return (
        f"could not save the run to {store.location}: {cause}. It is kept in a local journal "
        "and retried; free space or fix access, or set NBMODELBOOK_STORE elsewhere."
    )
