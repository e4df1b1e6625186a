"""Send a display output from a cell's post-run hook without stalling the kernel's thread.

ipykernel's `display_pub.publish` first flushes stdout and stderr, and each flush waits until
the IOPub thread has sent the text: two cross-thread hand-offs per display, each one waiting
for the GIL (1-4 ms on a busy machine, for the run marker of every tracked cell). What those
flushes protect — text printed before the display reaches the frontend before it — holds
without waiting: one call queued on the IOPub thread flushes the streams, then sends, and that
thread sends what it is handed in order. There the display goes out through the thread's own
socket when nothing else waits in its queue (a send from that thread would otherwise queue
itself once more). Anything this does not recognise (another kernel, a
display hook capturing outputs, a redirected stream) is left to the normal `publish`.
"""

from __future__ import annotations

import sys
from collections.abc import Sized
from typing import Any

__all__ = ["publish_behind_streams"]


def publish_behind_streams(
    display_pub: Any, data: dict[str, Any], metadata: dict[str, Any]
) -> bool:
    """Queue `data` as a display_data message after what the cell printed; False (nothing
    sent) when this kernel is not one where that is known to keep the order."""
    try:
        plan = _plan(display_pub)
        if plan is None:
            return False
        session, socket, io_thread, flushes = plan
        content = {"data": data, "metadata": metadata, "transient": {}}
        # Built here: the parent header is the executing cell's (a per-thread context value).
        message = session.msg("display_data", content, parent=display_pub.parent_header)
        topic = display_pub.topic
    except Exception:
        return False

    def flush_then_send() -> None:
        # On the IOPub thread: the flushes queue the streams' text, then the display follows.
        try:
            before = _waiting(io_thread)
            for flush in flushes:
                flush()
            # Sending through the thread's own socket saves a second trip through its queue,
            # but only while nothing waits there (the text just flushed) that must go first.
            direct = getattr(io_thread, "socket", None)
            if direct is not None and before is not None and _waiting(io_thread) == before:
                session.send(direct, message, ident=topic)
            else:
                session.send(socket, message, ident=topic)
        except Exception as exc:
            # Raised here, it would stop the thread's queue (and the kernel's own flush behind
            # it); the run is saved all the same, only this display is lost.
            print(f"nbmodelbook: a display could not be sent: {exc!r}", file=sys.__stderr__)

    io_thread.schedule(flush_then_send)  # one hand-off to the IOPub thread, not three
    return True


def _waiting(io_thread: Any) -> int | None:
    """How many calls wait in the IOPub thread's queue (None: not a queue this knows)."""
    events = getattr(io_thread, "_events", None)
    return len(events) if isinstance(events, Sized) else None


def _plan(display_pub: Any) -> tuple[Any, Any, Any, list[Any]] | None:
    """(session, IOPub socket, IOPub thread, stream flushes) of an ipykernel display
    publisher in its ordinary state, else None."""
    session = getattr(display_pub, "session", None)
    socket = getattr(display_pub, "pub_socket", None)
    io_thread = getattr(socket, "io_thread", None)
    if session is None or io_thread is None or not callable(getattr(io_thread, "schedule", None)):
        return None
    if getattr(display_pub, "_hooks", None) or getattr(display_pub, "store_display_history", False):
        return None  # something captures or records displays: let publish() do its part
    flushes = []
    for stream in (sys.stdout, sys.stderr):
        flush = getattr(stream, "_flush", None)
        if getattr(stream, "pub_thread", None) is not io_thread or not callable(flush):
            return None
        flushes.append(flush)
    return session, socket, io_thread, flushes
